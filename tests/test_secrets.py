"""No secret on disk: whatever the credentials come from, no file a run writes holds them."""

from __future__ import annotations

import csv
import os
import stat
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import duckdb
import pytest
from ivs_realtime_emulator import Emulator, Faults, Scenario, generate_scenario
from moto.server import ThreadedMotoServer
from moto.sts.models import sts_backends

from .helpers import FAKE_KEY_ID

StartFn = Callable[..., Emulator]
SCRIPT = str(Path(sys.executable).with_name("ivs-replicas"))
SECRET = "leakcheck-Secret-4hT9qW2zX7cV1bN6"
TOKEN = "leakcheck-Token-8kJ3mP5rL0sD9fG2"
ACCOUNTS = ("111111111111", "222222222222")
CREDENTIAL_NAMES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
)


def write_participants(scenario: Scenario, path: Path) -> None:
    """The scenario's participants as a CSV file."""
    with path.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=["source_stage_arn", "participant_id"])
        writer.writeheader()
        writer.writerows(scenario.participant_refs())


def base_env(emulator: Emulator) -> dict[str, str]:
    """The environment of a user of the local endpoint, with no AWS credentials in it."""
    env = {name: value for name, value in os.environ.items() if name not in CREDENTIAL_NAMES}
    return {
        **env,
        "AWS_ENDPOINT_URL_IVS_REALTIME": emulator.url,
        "SOURCES__IVS_REALTIME__REQUESTS_PER_SECOND": "0",
        "RUNTIME__DLTHUB_TELEMETRY": "false",
    }


def from_environment(project: Path, env: dict[str, str]) -> None:
    """Keys in the environment, as boto3 reads them."""
    env.update(AWS_ACCESS_KEY_ID=FAKE_KEY_ID, AWS_SECRET_ACCESS_KEY=SECRET, AWS_SESSION_TOKEN=TOKEN)


def from_secrets_toml(project: Path, env: dict[str, str]) -> None:
    """Keys in the project's .dlt/secrets.toml, as dlt reads them."""
    (project / ".dlt" / "secrets.toml").write_text(
        "[sources.ivs_realtime.credentials]\n"
        f'aws_access_key_id = "{FAKE_KEY_ID}"\n'
        f'aws_secret_access_key = "{SECRET}"\n'
        f'aws_session_token = "{TOKEN}"\n'
    )


def from_profile(project: Path, env: dict[str, str]) -> None:
    """Keys in a named profile of an AWS shared credentials file outside the project."""
    credentials = project.parent / "aws" / "credentials"
    credentials.parent.mkdir()
    credentials.write_text(
        "[reader]\n"
        f"aws_access_key_id = {FAKE_KEY_ID}\n"
        f"aws_secret_access_key = {SECRET}\n"
        f"aws_session_token = {TOKEN}\n"
    )
    env.update(AWS_SHARED_CREDENTIALS_FILE=str(credentials), AWS_PROFILE="reader")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project folder as a user keeps it: .dlt/ beside the participants file."""
    root = tmp_path / "project"
    (root / ".dlt").mkdir(parents=True)
    return root


@pytest.fixture
def sts_endpoint() -> Iterator[str]:
    """A local STS (moto) on loopback, in this process, so its issued keys can be read."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def run(project: Path, env: dict[str, str]) -> tuple[str, str]:
    """`ivs-replicas --debug run` in the project folder; its output, after it succeeded."""
    result = subprocess.run(
        [SCRIPT, "--debug", "run", "--participants", "participants.csv", "--db", "replicas.duckdb"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout, result.stderr


def assert_nothing_secret_written(
    project: Path, secrets: list[str], output: tuple[str, ...]
) -> None:
    """No secret in the output, in any byte of any file the run wrote, or in the database."""
    own_config = project / ".dlt"
    written = [path for path in project.rglob("*") if path.is_file() and path.parent != own_config]
    work_dir = project / "replicas.duckdb.dlt"
    assert [path.name for path in work_dir.rglob("trace.pickle")] == ["trace.pickle"]
    leaks = [
        (str(path.relative_to(project)), secret)
        for path in written
        for secret in secrets
        if secret.encode() in path.read_bytes()
    ]
    leaks += [("output", secret) for text in output for secret in secrets if secret in text]
    leaks += [("database", secret) for secret in secrets if database_mentions(project, secret)]
    assert leaks == []


def database_mentions(project: Path, secret: str) -> bool:
    """Whether any text column of the analysts' database holds the secret (stored compressed)."""
    with duckdb.connect(str(project / "replicas.duckdb"), read_only=True) as connection:
        columns = connection.execute(
            "select table_schema, table_name, column_name from information_schema.columns "
            "where data_type = 'VARCHAR'"
        ).fetchall()
        return any(
            connection.execute(
                f'select count(*) from "{schema}"."{table}" where contains("{column}", ?)',
                [secret],
            ).fetchone()
            != (0,)
            for schema, table, column in columns
        )


def assert_work_folder_private(project: Path) -> None:
    """Every folder and file in the work folder is closed to group and others.

    The run lock is the exception: it holds the process id, host and start time only.
    """
    work_dir = project / "replicas.duckdb.dlt"
    open_to_others = [
        f"{stat.S_IMODE(path.stat().st_mode):o} {path.relative_to(work_dir)}"
        for path in [work_dir, *work_dir.rglob("*")]
        if path.name != "run.lock" and path.stat().st_mode & 0o077
    ]
    assert open_to_others == []


@pytest.mark.slow
@pytest.mark.parametrize(
    "provide",
    [from_environment, from_secrets_toml, from_profile],
    ids=["environment", "secrets-toml", "aws-profile"],
)
def test_no_secret_is_written_whatever_the_credentials_come_from(
    start_emulator: StartFn, project: Path, provide: Callable[[Path, dict[str, str]], None]
) -> None:
    scenario = generate_scenario(participants=4, replicas_per_participant=3)
    emulator = start_emulator(scenario)
    write_participants(scenario, project / "participants.csv")
    env = base_env(emulator)
    provide(project, env)
    outputs = run(project, env)
    assert_nothing_secret_written(project, [SECRET, TOKEN], outputs)
    assert_work_folder_private(project)


@pytest.mark.slow
def test_no_assumed_role_secret_is_written(
    start_emulator: StartFn, project: Path, sts_endpoint: str
) -> None:
    scenario: Scenario = generate_scenario(
        participants=4, replicas_per_participant=3, accounts=ACCOUNTS, participants_per_stage=1
    )
    # The base key may only assume roles: used directly on IVS it is refused.
    emulator = start_emulator(scenario, Faults(rejected_access_key_ids=frozenset({FAKE_KEY_ID})))
    write_participants(scenario, project / "participants.csv")
    roles = ", ".join(
        f'{{ account_id = "{account}", role_arn = "arn:aws:iam::{account}:role/reader" }}'
        for account in ACCOUNTS
    )
    (project / ".dlt" / "config.toml").write_text(f"[sources.ivs_realtime]\naccounts = [{roles}]\n")
    env = base_env(emulator)
    from_environment(project, env)
    env["AWS_ENDPOINT_URL_STS"] = sts_endpoint
    outputs = run(project, env)
    issued = [
        role
        for account in ACCOUNTS
        for role in sts_backends[account]["aws"].assumed_roles
        if role.role_arn.endswith(":role/reader")
    ]
    assert {role.account_id for role in issued} == set(ACCOUNTS)
    secrets = [SECRET, TOKEN] + [
        value for role in issued for value in (role.secret_access_key, role.session_token)
    ]
    assert_nothing_secret_written(project, secrets, outputs)
    assert_work_folder_private(project)
