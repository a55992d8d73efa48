"""A DuckLake for teams: tables in a catalog (SQLite on one machine, Postgres for a team) and
Parquet files in a data folder or bucket; each commit is a snapshot that analysts read.

Runs load with dlt's `ducklake` destination and create the views in the lake. Every runner
keeps its own private work folder (run lock and dlt's pipeline folders). Runners of a
Postgres-catalog lake load at the same time, on any machine: a step that conflicts with
another runner's commit is repeated. A SQLite catalog takes one writer at a time, so the
runners of one (all on its machine) take turns through a lock file beside the catalog.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final, TypeVar
from urllib.parse import urlsplit, urlunsplit

import duckdb

from ivs_replicas.errors import BadInputError
from ivs_replicas.failures import causes
from ivs_replicas.storage import extensions

T = TypeVar("T")

LAKE_NAME: Final = "lake"
# The Postgres schema of the lake's own tables; one catalog database could hold several lakes.
METADATA_SCHEMA: Final = "lake"
# Catalogs beside the lake on every connection: a dataset of the same name would be ambiguous.
BUILT_IN_CATALOGS: Final = frozenset({"memory", "system", "temp"})
# Repeats of a step that conflicted with another runner's commit, and the longest wait between.
WRITE_ATTEMPTS: Final = 8
MAX_RETRY_WAIT_SECONDS: Final = 10.0
# Messages of a conflict with a concurrent writer: repeating the step succeeds.
CONFLICT_MARKERS: Final = (
    "conflict",  # DuckLake: "Transaction conflict - attempting to ..."
    "duplicate key value violates unique constraint",  # Postgres: two first ATTACHes
    "already exists",  # Postgres: two first ATTACHes create the lake's tables
    "could not serialize access",  # Postgres: serialization failure
)
KEY_VALUE = re.compile(r"(\w+)\s*=\s*('(?:[^'\\]|\\.)*'|\S+)")
CATALOG_FORMS = (
    "sqlite:PATH (one machine), postgres:'dbname=... host=... user=...' "
    "or postgresql://user@host:port/dbname (a team)"
)


@dataclass(frozen=True)
class Catalog:
    """Where the lake's tables are listed: a SQLite file, or a Postgres database."""

    kind: str  # "sqlite" | "postgres"
    sqlite_path: Path | None = None
    postgres_url: str = ""  # postgresql://... without a password: dlt and DuckDB both take it

    def attach_target(self) -> str:
        """The `ducklake:...` string of DuckDB's ATTACH."""
        if self.sqlite_path is not None:
            return f"ducklake:sqlite:{self.sqlite_path}"
        return f"ducklake:postgres:{self.postgres_url}"

    def dlt_catalog(self) -> str:
        """The catalog as dlt's connection string."""
        if self.sqlite_path is not None:
            return f"sqlite:///{self.sqlite_path}"
        return self.postgres_url

    def describe(self) -> str:
        """The catalog as users name it."""
        if self.sqlite_path is not None:
            return f"sqlite:{self.sqlite_path}"
        return self.postgres_url


@dataclass(frozen=True)
class DuckLake:
    """A DuckLake at `catalog` with its Parquet files under `data_path`, and this runner's folder.

    `catalog` and `data_path` are as the user gives them (see `parse_catalog`); a SQLite lake's
    data path defaults to `<catalog>.files/`, as DuckLake's own.
    """

    catalog: str
    data_path: str | None = None
    work_folder: Path | None = None
    parsed: Catalog = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "parsed", parse_catalog(self.catalog))

    @property
    def data(self) -> str:
        """The lake's data folder or bucket prefix, with a trailing slash."""
        if self.data_path:
            local = "://" not in self.data_path
            path = str(Path(self.data_path).expanduser().resolve()) if local else self.data_path
        elif self.parsed.sqlite_path is not None:
            path = f"{self.parsed.sqlite_path}.files"
        else:
            raise BadInputError(
                f"the lake {self.parsed.describe()} needs a data path: pass --lake-data "
                "(a folder every runner and analyst reaches, or s3://bucket/prefix) or set "
                "lake_data in the [storage] section of .dlt/config.toml"
            )
        return path.rstrip("/") + "/"

    @property
    def is_local_data(self) -> bool:
        """Whether the data path is a folder on this machine (not a bucket)."""
        return self.data_path is None or "://" not in self.data_path

    @property
    def work_dir(self) -> Path:
        """This runner's private folder: the run lock and dlt's pipeline folders."""
        if self.work_folder is not None:
            return self.work_folder.expanduser().resolve()
        return default_work_dir(self.parsed.describe())

    @property
    def lock_path(self) -> Path:
        """The lock one run of this runner holds from start to finish."""
        return self.work_dir / "run.lock"

    def pipelines_dir(self, dataset: str) -> Path:
        """dlt's working folder of one dataset, so a pending package resumes into its own."""
        return self.work_dir / "datasets" / dataset

    def describe(self) -> str:
        """The lake, as the run summary and error messages name it."""
        return f"ducklake {self.parsed.describe()}"

    def __str__(self) -> str:
        """The lake as error messages name it."""
        return self.describe()

    def reserved_names(self) -> set[str]:
        """The lake's catalog names and DuckDB's own: a dataset of that name is ambiguous."""
        return {LAKE_NAME, f"__ducklake_metadata_{LAKE_NAME}", *BUILT_IN_CATALOGS}

    def prepare(self) -> None:
        """Make the work folder private and the lake's folders, and create the lake if new.

        Two runners that find no lake both create it; one of them then retries and finds it.
        """
        self.work_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.work_dir, 0o700)
        if self.is_local_data:
            Path(self.data).mkdir(parents=True, exist_ok=True)
        if self.parsed.sqlite_path is not None:
            self.parsed.sqlite_path.parent.mkdir(parents=True, exist_ok=True)
        self.write(lambda: self.connect().close())

    def destination(self) -> Any:
        """dlt's ducklake destination on this lake, with the installed extensions."""
        import dlt
        from dlt.destinations.impl.ducklake.configuration import DuckLakeCredentials

        from ivs_replicas.pipeline import DUCKDB_MEMORY_LIMIT

        credentials = DuckLakeCredentials(
            ducklake_name=LAKE_NAME,
            metadata_schema=METADATA_SCHEMA,
            catalog=self.parsed.dlt_catalog(),
            storage=self.data,
        )
        # Set on every connection before dlt's ATTACH, which loads the extensions.
        credentials.global_config = {
            **extensions.offline_config(),
            "memory_limit": DUCKDB_MEMORY_LIMIT,
        }
        return dlt.destinations.ducklake(credentials=credentials)

    def connect(self) -> duckdb.DuckDBPyConnection:
        """A read-write connection with the lake attached as its default catalog."""
        return self.attach(read_only=False)

    def connect_read_only(self) -> duckdb.DuckDBPyConnection:
        """A connection that reads the lake's latest snapshot and cannot change it."""
        if self.parsed.sqlite_path is not None and not self.parsed.sqlite_path.is_file():
            raise BadInputError(
                f"no lake at {self.parsed.describe()}: run `ivs-replicas run --lake "
                f"{self.catalog}` first"
            )
        try:
            return self.attach(read_only=True)
        except duckdb.Error as error:
            if "does not exist" in str(error):
                raise BadInputError(
                    f"no lake in {self.parsed.describe()} (metadata schema {METADATA_SCHEMA!r}): "
                    "run `ivs-replicas run` into it first"
                ) from None
            raise

    def attach(self, read_only: bool) -> duckdb.DuckDBPyConnection:
        """A new connection with the lake attached and in use; readers take its data path."""
        options = ["read_only"] if read_only else []
        # Readers find the data path in the catalog; one they name must match it.
        if not read_only or self.data_path:
            options.append(f"data_path {sql_string(self.data)}")
        if self.parsed.kind == "postgres":
            options.append(f"metadata_schema {sql_string(METADATA_SCHEMA)}")
        elif not read_only:
            options.append("meta_journal_mode 'WAL'")  # as dlt's own ATTACH
        connection = extensions.connect()
        try:
            if not self.is_local_data:
                connection.execute(
                    "create secret if not exists lake_s3 (type s3, provider credential_chain)"
                )
            connection.execute(
                f"attach {sql_string(self.parsed.attach_target())} as {LAKE_NAME} "
                f"({', '.join(options)})"
            )
            connection.execute(f"use {LAKE_NAME}")
        except BaseException:
            connection.close()
            raise
        return connection

    def writing(self) -> AbstractContextManager[None]:
        """This runner's turn to write: a SQLite catalog takes one writer at a time."""
        if self.parsed.sqlite_path is None:
            return nullcontext()
        return turn(Path(f"{self.parsed.sqlite_path}.lock"))

    def write(self, step: Callable[[], T]) -> T:
        """Run one step that writes into the lake: in its turn, and again after a conflict."""
        from tenacity import Retrying, retry_if_exception, stop_after_attempt
        from tenacity.wait import wait_random_exponential

        retrying = Retrying(
            stop=stop_after_attempt(WRITE_ATTEMPTS),
            retry=retry_if_exception(is_conflict),
            wait=wait_random_exponential(multiplier=0.5, max=MAX_RETRY_WAIT_SECONDS),
            reraise=True,
        )
        for attempt in retrying:
            with attempt, self.writing():
                return step()
        raise AssertionError("unreachable: tenacity reraises the last error")

    def publish(self) -> None:
        """Nothing to do: each commit is already a snapshot analysts read.

        Files this run wrote into a local data folder become as readable as the folder
        itself: dlt's steps run with an owner-only umask.
        """
        if self.is_local_data:
            share_new_files(Path(self.data))


def parse_catalog(text: str) -> Catalog:
    """`sqlite:PATH`, `postgres:DSN` (libpq key=value or a URI), or a postgresql:// URI.

    A password is refused: DuckDB's errors quote the connection string. libpq reads it from
    PGPASSWORD or ~/.pgpass instead, for dlt's connections and ours alike.
    """
    kind, _, rest = text.partition(":")
    if kind == "sqlite" and rest:
        return Catalog("sqlite", sqlite_path=Path(rest).expanduser().resolve())
    if kind in ("postgres", "postgresql") and rest.startswith("//"):
        url = "postgresql:" + rest
    elif kind == "postgres" and rest.startswith(("postgres://", "postgresql://")):
        url = "postgresql:" + rest.partition(":")[2]
    elif kind == "postgres" and KEY_VALUE.search(rest):
        url = url_from_key_values(rest)
    else:
        raise BadInputError(
            f"lake catalog {without_password(text)!r} is not one: use {CATALOG_FORMS}"
        )
    if urlsplit(url).password:
        raise BadInputError(
            f"lake catalog {without_password(text)!r} holds a password: remove it, and give it to "
            "libpq in PGPASSWORD or ~/.pgpass, where error messages cannot quote it"
        )
    return Catalog("postgres", postgres_url=url)


def url_from_key_values(dsn: str) -> str:
    """A postgresql:// URL from libpq's `key=value` form (a socket folder goes as ?host=)."""
    from dlt.common.configuration.specs.connection_string_credentials import (
        ConnectionStringCredentials,
    )

    pairs = {key: unquote_value(value) for key, value in KEY_VALUE.findall(dsn)}
    host = pairs.pop("host", None)
    parts: dict[str, Any] = {
        "drivername": "postgresql",
        "database": pairs.pop("dbname", None),
        "username": pairs.pop("user", None),
        "password": pairs.pop("password", None),
        "port": int(pairs.pop("port")) if "port" in pairs else None,
        "host": None if host is None or host.startswith("/") else host,
        "query": {**pairs, **({"host": host} if host and host.startswith("/") else {})},
    }
    credentials = ConnectionStringCredentials(parts)
    return str(credentials.to_url().render_as_string(hide_password=False))


def unquote_value(value: str) -> str:
    """A libpq value without its single quotes and backslash escapes."""
    if len(value) >= 2 and value[0] == value[-1] == "'":
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def without_password(text: str) -> str:
    """A catalog string with any password in it replaced by ***."""
    text = re.sub(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", r"\1***", text)
    scheme, colon, rest = text.partition(":")
    if not rest.startswith("//"):
        return text
    parts = urlsplit(f"{scheme}{colon}{rest}")
    if not parts.password:
        return text
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def sql_string(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def default_work_dir(lake: str) -> Path:
    """`$XDG_STATE_HOME/ivs-replicas/lake-<id>`: one folder per lake for this user."""
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    digest = hashlib.sha256(lake.encode()).hexdigest()[:12]
    return Path(state) / "ivs-replicas" / f"lake-{digest}"


def is_conflict(error: BaseException) -> bool:
    """Whether another writer's concurrent commit made the step fail, so that a repeat succeeds."""
    from dlt.common.destination.exceptions import SchemaUpdateError
    from dlt.pipeline.exceptions import PipelineStepFailed

    if isinstance(error, PipelineStepFailed) and error.step not in ("sync", "load"):
        return False
    for cause in causes(error):
        if isinstance(cause, SchemaUpdateError | duckdb.TransactionException):
            return True
        text = str(cause).lower()
        if any(marker in text for marker in CONFLICT_MARKERS):
            return True
    return False


@contextmanager
def turn(path: Path) -> Iterator[None]:
    """Hold an flock on `path`, waiting while another process holds it."""
    with path.open("a", encoding="utf-8") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def share_new_files(folder: Path) -> None:
    """Give the files and folders under `folder` the read access of `folder` itself."""
    mode = folder.stat().st_mode
    for root, dirs, files in os.walk(folder):
        for names, bits in ((dirs, mode & 0o055), (files, mode & 0o044)):
            for name in names:
                path = os.path.join(root, name)
                current = os.stat(path).st_mode
                if current & bits != bits:
                    os.chmod(path, current | bits)
