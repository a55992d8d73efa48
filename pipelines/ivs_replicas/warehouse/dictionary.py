"""README's data dictionary, generated from sql/schema.yml and the columns DuckDB reports.

    python -m ivs_replicas.warehouse.dictionary             print it
    python -m ivs_replicas.warehouse.dictionary README.md   rewrite it between the markers

The column names and types come from DuckDB's `describe` of each table and view on an empty
dataset with the views applied; grains and descriptions come from the catalogue. Generation
fails when the catalogue and the database disagree on a table's or view's columns.
"""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path

import duckdb

from ivs_replicas.warehouse.catalog import Relation, catalogue
from ivs_replicas.warehouse.database import qualified
from ivs_replicas.warehouse.views import apply_views

START = "<!-- data-dictionary:start -->"
END = "<!-- data-dictionary:end -->"
NOTE = (
    "<!-- Generated from sql/schema.yml: edit that file, not this list, then run\n"
    "     python -m ivs_replicas.warehouse.dictionary README.md -->"
)
WIDTH = 100
DATASET = "data_dictionary"
TYPE_NAMES = {"timestamp with time zone": "timestamptz"}


def described_columns() -> dict[str, list[tuple[str, str]]]:
    """Each catalogued table's and view's (column, type), from DuckDB on an applied dataset."""
    with duckdb.connect() as connection:
        apply_views(connection, DATASET)
        return {
            name: [
                (column, type_name(kind))
                for column, kind, *_ in connection.execute(
                    f"describe {qualified(DATASET, name)}"
                ).fetchall()
            ]
            for name in catalogue()
        }


def type_name(duckdb_type: str) -> str:
    """A DuckDB type as the dictionary spells it: lower case, `timestamptz` for short."""
    name = duckdb_type.lower()
    return TYPE_NAMES.get(name, name)


def column_mismatch(relation: Relation, described: Sequence[str]) -> str | None:
    """How the catalogue's columns differ from the database's, or None when they agree."""
    documented = relation.column_names
    if documented == list(described):
        return None
    return (
        f"{relation.name}: sql/schema.yml lists {documented}, but DuckDB describes "
        f"{list(described)}"
    )


def paragraph(text: str) -> str:
    """Prose wrapped to the README's width."""
    return textwrap.fill(text, WIDTH, break_long_words=False, break_on_hyphens=False)


def since_sentence(relation: Relation) -> str:
    """What `report --since` does on this table or view."""
    if relation.since is None:
        return "`ivs-replicas report --since` does not apply."
    if relation.since == "day":
        return "`ivs-replicas report --since` keeps the days from the timestamp's UTC day on."
    return f"`ivs-replicas report --since` filters on `{relation.since}`."


def section(relation: Relation, columns: Sequence[tuple[str, str]]) -> str:
    """One table's or view's section: heading, grain, `--since`, and its columns."""
    mismatch = column_mismatch(relation, [name for name, _ in columns])
    if mismatch:
        raise ValueError(mismatch)
    grain = f"Grain: {relation.grain}. {relation.description}".strip()
    rows = [
        f"| {name} | {kind} | {documented.description} |"
        for (name, kind), documented in zip(columns, relation.columns, strict=True)
    ]
    table = ["| column | type | description |", "|---|---|---|", *rows]
    return "\n\n".join(
        [f"### {relation.name}", paragraph(grain), since_sentence(relation), "\n".join(table)]
    )


def markdown() -> str:
    """The whole generated dictionary: a note, then every table and view in catalogue order."""
    described = described_columns()
    sections = [section(relation, described[name]) for name, relation in catalogue().items()]
    return "\n\n".join([NOTE, *sections])


def replace_section(text: str, generated: str) -> str:
    """A README text with the part between the markers replaced by the generated dictionary."""
    start = text.index(START) + len(START)
    end = text.index(END)
    return f"{text[:start]}\n{generated}\n\n{text[end:]}"


def readme_section(text: str) -> str:
    """The part of a README text between the markers, as the generator writes it."""
    return text[text.index(START) + len(START) : text.index(END)].strip("\n")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the dictionary, or rewrite it in the README file given."""
    args = list(sys.argv[1:] if argv is None else argv)
    generated = markdown()
    if not args:
        print(generated)
        return 0
    readme = Path(args[0])
    readme.write_text(
        replace_section(readme.read_text(encoding="utf-8"), generated), encoding="utf-8"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
