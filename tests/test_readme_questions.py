"""The README's analyst questions, run as printed on a hand-written history.

Only the literals a reader would change (the time T, the date range, "this week" and stage X)
are replaced with the history's; the rest of each query runs verbatim against the views.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from ivs_replicas.settings import DEFAULT_DATASET

from .views_fixtures import DST_X, DST_Y, active, at, history_database, ok, stopped

README = Path(__file__).parents[1] / "README.md"
HEADING = "**Questions and the view that answers each**"

# p1 replicates into X from its first scan (hour 0) and stops at hour 5. p2 has nothing at
# hours 0 and 1, replicates into Y from hour 2 and is gone at hour 5.
HISTORY = [
    *(ok(hour, "p1", active(DST_X)) for hour in range(5)),
    ok(5, "p1", stopped(DST_X)),
    ok(0, "p2"),
    ok(1, "p2"),
    *(ok(hour, "p2", active(DST_Y)) for hour in range(2, 5)),
    ok(5, "p2"),
]
HOUR = 3600


def readme_questions() -> dict[str, str]:
    """Each question of the README's block, by its first comment line, with its SQL."""
    text = README.read_text(encoding="utf-8").split(HEADING, 1)[1]
    block = text.split("```sql\n", 1)[1].split("```", 1)[0]
    questions = {}
    for statement in block.split(";\n"):
        lines = statement.strip().splitlines()
        if lines:
            questions[lines[0].removeprefix("-- ")] = "\n".join(lines)
    return questions


# The README's example literals, and what each becomes in HISTORY.
LITERALS = {
    "2026-11-02 12:00:00+00": f"{at(1):%Y-%m-%d %H:%M:%S}+00",
    "2026-11-01 00:00:00+00": f"{at(1):%Y-%m-%d %H:%M:%S}+00",
    "2026-11-08 00:00:00+00": f"{at(24 * 7):%Y-%m-%d %H:%M:%S}+00",
    "current_date - 7": f"date '{at(0).date() - timedelta(days=7)}'",
    "arn:aws:ivs:us-east-1:123456789012:stage/abcd": DST_X,
}


def as_in_the_history(sql: str) -> str:
    """The README's example literals replaced with moments and stages of HISTORY."""
    for printed, ours in LITERALS.items():
        sql = sql.replace(printed, ours)
    return sql


@pytest.fixture(scope="module")
def connection() -> Iterator[duckdb.DuckDBPyConnection]:
    """HISTORY derived, the dataset as default schema, as the README's block assumes."""
    connection = history_database(HISTORY)
    connection.execute(f"use {DEFAULT_DATASET}")
    yield connection
    connection.close()


def answer(connection: duckdb.DuckDBPyConnection, question: str) -> list[dict[str, object]]:
    """The README's query for the question, run on HISTORY, as dicts."""
    relation = connection.sql(as_in_the_history(readme_questions()[question]))
    return [dict(zip(relation.columns, row, strict=True)) for row in relation.fetchall()]


def test_the_readme_asks_the_four_questions_with_the_literals_replaced_here() -> None:
    block = "\n".join(readme_questions().values())
    assert [printed for printed in LITERALS if printed not in block] == []
    assert list(readme_questions()) == [
        "replicas active at a time T",
        "total replicated time per participant and destination stage in a date range (each period",
        "top destination stages this week",
        "when did replication to stage X start and stop",
    ]


def test_replicas_active_at_a_time(connection: duckdb.DuckDBPyConnection) -> None:
    # At hour 1 p1 replicates; p2 starts at hour 2.
    rows = answer(connection, "replicas active at a time T")
    assert [(row["participant_id"], row["destination_stage_arn"]) for row in rows] == [
        ("p1", DST_X)
    ]


def test_total_replicated_time(connection: duckdb.DuckDBPyConnection) -> None:
    question = next(q for q in readme_questions() if q.startswith("total replicated time"))
    rows = answer(connection, question)
    # From the first scan that saw it ACTIVE to the scan that saw it end, from hour 1 on: p1
    # hours 0 to 5 cut to 1 to 5, p2 hours 2 to 5.
    assert {row["participant_id"]: row["replicated_seconds"] for row in rows} == {
        "p1": 4 * HOUR,
        "p2": 3 * HOUR,
    }


def test_top_destination_stages(connection: duckdb.DuckDBPyConnection) -> None:
    rows = answer(connection, "top destination stages this week")
    assert {row["destination_stage_arn"]: row["replica_days"] for row in rows} == {
        DST_X: 1,
        DST_Y: 1,
    }


def test_when_replication_to_a_stage_started_and_stopped(
    connection: duckdb.DuckDBPyConnection,
) -> None:
    rows = answer(connection, "when did replication to stage X start and stop")
    assert len(rows) == 1
    assert rows[0]["count_participants"] == 1
    assert rows[0]["is_ongoing"] is False
