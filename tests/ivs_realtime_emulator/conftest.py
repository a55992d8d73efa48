"""Fixtures: small scenarios, a running emulator and real boto3 clients pointed at it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import boto3
import botocore.retries.standard
import pytest
from botocore.config import Config
from ivs_realtime_emulator import Emulator, Scenario, parse_scenario

from .support import small_scenario_dict

ClientFactory = Callable[..., Any]


@pytest.fixture(scope="session")
def boto_session() -> boto3.session.Session:
    """One boto3 session shared by all clients (loads the service model once)."""
    return boto3.session.Session()


@pytest.fixture(autouse=True)
def _no_retry_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Retries happen at once, so fault tests stay fast."""
    monkeypatch.setattr(botocore.retries.standard.ExponentialBackoff, "delay_amount", _zero)


def _zero(self: object, context: object) -> float:
    """No backoff delay."""
    return 0.0


@pytest.fixture
def small_scenario() -> Scenario:
    """The small two-region scenario."""
    return parse_scenario(small_scenario_dict())


@pytest.fixture
def emulator(small_scenario: Scenario) -> Iterator[Emulator]:
    """A running emulator serving the small scenario."""
    with Emulator(small_scenario) as emu:
        yield emu


@pytest.fixture
def make_client(boto_session: boto3.session.Session) -> ClientFactory:
    """Build ivs-realtime clients for an emulator: ``make_client(emu, region=..., **config)``."""

    def build(
        emu: Emulator, region: str = "us-east-1", access_key: str = "AKIDTEST", **config: Any
    ) -> Any:
        settings = {"retries": {"mode": "standard", "total_max_attempts": 4}, **config}
        return boto_session.client(
            "ivs-realtime",
            endpoint_url=emu.url,
            region_name=region,
            aws_access_key_id=access_key,
            aws_secret_access_key="secret-not-sent",
            config=Config(**settings),
        )

    return build
