"""Helpers shared by the emulator tests: scenario builders and raw HTTP requests."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from typing import Any

from ivs_realtime_emulator import Emulator, Scenario, generate_scenario

US_STAGE = "arn:aws:ivs:us-east-1:123456789012:stage/srcStage0001"
EU_STAGE = "arn:aws:ivs:eu-west-1:123456789012:stage/srcStage0002"


def replica(index: int, states: list[str | None] | None = None, region: str = "us-east-1") -> dict:
    """Return one scenario-file replica going to destination stage ``dst{index}``."""
    return {
        "source_session_id": "st-SRC0000000001" if region == "us-east-1" else "st-SRC0000000002",
        "destination_stage_arn": f"arn:aws:ivs:{region}:123456789012:stage/dst{index:05d}",
        "destination_session_id": f"st-DST{index:010d}",
        "states": states or ["ACTIVE"],
    }


def small_scenario_dict() -> dict[str, Any]:
    """A two-region scenario with a few participants and three epochs."""
    return {
        "name": "small",
        "epochs": 3,
        "participants": [
            {
                "source_stage_arn": US_STAGE,
                "participant_id": "alice",
                "replicas": [
                    replica(1, ["ACTIVE", "STOPPED", None]),
                    replica(2, [None, "ACTIVE", "ACTIVE"]),
                    replica(3),
                ],
            },
            {"source_stage_arn": US_STAGE, "participant_id": "bob", "replicas": []},
            {
                "source_stage_arn": EU_STAGE,
                "participant_id": "alice",
                "replicas": [replica(4, region="eu-west-1")],
            },
        ],
    }


def raw_post(
    emu: Emulator, path: str, body: bytes, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], dict[str, Any]]:
    """POST raw bytes and return (status, lower-cased headers, parsed JSON body)."""
    request = urllib.request.Request(emu.url + path, data=body, method="POST")
    for name, value in (headers or {}).items():
        request.add_header(name, value)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            status, head, raw = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        status, head, raw = exc.code, dict(exc.headers), exc.read()
    return status, {k.lower(): v for k, v in head.items()}, json.loads(raw or b"{}")


def signed_headers(region: str = "us-east-1", access_key: str = "AKIDTEST") -> dict[str, str]:
    """An Authorization header carrying a SigV4 credential scope (signature not checked)."""
    scope = f"{access_key}/20261130/{region}/ivs/aws4_request"
    return {
        "Authorization": f"AWS4-HMAC-SHA256 Credential={scope}, "
        "SignedHeaders=host;x-amz-date, Signature=00",
        "Content-Type": "application/json",
    }


def generated(count: int, **kwargs: Any) -> Scenario:
    """One participant with ``count`` replicas."""
    return generate_scenario(1, count, **kwargs)
