"""Settings are checked before any API call, each problem naming its setting."""

from __future__ import annotations

from typing import Any

import pytest
from ivs_replicas.errors import BadInputError
from ivs_replicas.sources.ivs_realtime.config import check_settings, new_run_id

GOOD: dict[str, Any] = {
    "page_size": 50,
    "max_pages": 100,
    "requests_per_second": 5.0,
    "max_attempts": 8,
    "retry_mode": "standard",
    "connect_timeout": 1.0,
    "read_timeout": 1.0,
    "workers_per_region": 4,
    "batch_rows": 1000,
    "scan_attempts": 3,
}


def test_good_settings_pass() -> None:
    check_settings(**GOOD)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("page_size", 0),
        ("page_size", 51),
        ("page_size", "50"),
        ("max_attempts", 0),
        ("requests_per_second", -1),
        ("retry_mode", "eager"),
        ("workers_per_region", True),
        ("read_timeout", -1),
    ],
    ids=[
        "page-0",
        "page-51",
        "page-string",
        "attempts-0",
        "rps-negative",
        "retry-mode",
        "workers-bool",
        "timeout-negative",
    ],
)
def test_bad_setting_is_named(setting: str, value: object) -> None:
    with pytest.raises(BadInputError, match=rf"\[sources.ivs_realtime\] {setting}"):
        check_settings(**{**GOOD, setting: value})


def test_run_ids_sort_by_time_and_are_unique() -> None:
    ids = [new_run_id() for _ in range(50)]
    assert len(set(ids)) == 50
    assert [i.split("-")[0] for i in ids] == sorted(i.split("-")[0] for i in ids)
