"""Several accounts: each participant's calls go to its own account, through an assumed role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from ivs_realtime_emulator import Emulator, Faults, generate_scenario
from ivs_replicas.errors import FatalRunError
from ivs_replicas.sources.ivs_realtime.accounts import parse_accounts
from ivs_replicas.sources.ivs_realtime.exceptions import InvalidSourceInput
from moto.server import ThreadedMotoServer

from .helpers import FAKE_KEY_ID, RunFn, loaded_replicas, sorted_rows

StartFn = Callable[..., Emulator]
ACCOUNTS = ("111111111111", "222222222222")


@pytest.fixture
def sts_endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A local STS (moto) on loopback, reached through boto3's standard endpoint override."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    url = f"http://{host}:{port}"
    monkeypatch.setenv("AWS_ENDPOINT_URL_STS", url)
    yield url
    server.stop()


@pytest.mark.slow
def test_each_account_is_reached_through_its_own_role(
    start_emulator: StartFn, run_against: RunFn, database: Path, sts_endpoint: str
) -> None:
    scenario = generate_scenario(
        participants=6, replicas_per_participant=4, accounts=ACCOUNTS, participants_per_stage=1
    )
    # The base key may only assume roles: used directly on IVS it is refused.
    emulator = start_emulator(scenario, Faults(rejected_access_key_ids=frozenset({FAKE_KEY_ID})))
    with pytest.raises(FatalRunError, match="credentials"):
        run_against(emulator)
    accounts = [
        {
            "account_id": account,
            "role_arn": f"arn:aws:iam::{account}:role/ivs-replicas-reader",
            "external_id": "ext-1",
        }
        for account in ACCOUNTS
    ]
    summary = run_against(emulator, accounts=accounts)
    assert summary.exit_code == 0
    assert loaded_replicas(database) == sorted_rows(scenario.expected_replicas(0))
    calls_by_account = {
        params["sourceStageArn"].split(":")[4] for _, _, params in emulator.requests
    }
    assert calls_by_account == set(ACCOUNTS)


@pytest.mark.parametrize(
    ("entry", "named"),
    [
        ({"account_id": "123"}, "12 digits"),
        (
            {"account_id": "111111111111", "role_arn": "arn:aws:iam::1:user/x"},
            "not an IAM role ARN",
        ),
        ({"account_id": "111111111111", "rol_arn": "x"}, "unknown key 'rol_arn'"),
    ],
    ids=["short-account", "not-a-role", "unknown-key"],
)
def test_bad_accounts_are_named(entry: dict[str, str], named: str) -> None:
    with pytest.raises(InvalidSourceInput, match=named):
        parse_accounts([entry])
