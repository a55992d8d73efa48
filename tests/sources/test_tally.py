"""The run's totals: which outcomes mean that no participant reached the endpoint."""

from __future__ import annotations

from collections import Counter

import pytest
from ivs_replicas.sources.ivs_realtime.tally import RunTally


@pytest.mark.parametrize(
    ("ok", "failures", "unreachable"),
    [
        (0, {"EndpointConnectionError": 3}, True),
        (0, {"ConnectTimeoutError": 1, "ReadTimeoutError": 2}, True),
        (0, {"ReadTimeoutError": 1, "RunDeadlineExceeded": 5}, True),
        (0, {"RunDeadlineExceeded": 4}, False),
        (1, {"EndpointConnectionError": 3}, False),
        (0, {"EndpointConnectionError": 2, "AccessDeniedException": 1}, False),
        (0, {"ResponseParserError": 2}, False),
        (0, {}, False),
    ],
    ids=[
        "refused",
        "timeouts",
        "timeouts-then-deadline",
        "deadline-only",
        "one-got-through",
        "one-answered",
        "answers-unreadable",
        "no-participants",
    ],
)
def test_unreachable_only_when_no_participant_got_an_answer(
    ok: int, failures: dict[str, int], unreachable: bool
) -> None:
    tally = RunTally(
        participants_ok=ok,
        participants_failed=sum(failures.values()),
        failures=Counter(failures),
    )
    assert tally.unreachable is unreachable
