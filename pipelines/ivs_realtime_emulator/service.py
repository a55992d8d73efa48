"""Request processing of the emulator, independent of sockets: bytes in, Reply out."""

from __future__ import annotations

import json
import logging
import threading
import time
from typing import Any, Protocol

from ivs_realtime_emulator import model, protocol
from ivs_realtime_emulator.faults import FaultPicker, Faults, FaultsError, Quotas
from ivs_realtime_emulator.listings import ScenarioListings
from ivs_realtime_emulator.operations import HANDLERS, Context, Encoded
from ivs_realtime_emulator.protocol import ApiError, Reply, error_reply
from ivs_realtime_emulator.scenario import Scenario, stage_region
from ivs_realtime_emulator.stats import Stats
from ivs_realtime_emulator.tokens import TokenCodec
from ivs_realtime_emulator.validation import InputValidator, summarize

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/_emulator/"
_MALFORMED_BODY = b'{"replicas":[{"sourceStageArn":"arn:aws:ivs:'
_FAULT_ERRORS = {
    "throttle": (protocol.THROTTLING, "Rate exceeded"),
    "error": (protocol.INTERNAL, "Internal server error"),
    "unavailable": (protocol.UNAVAILABLE, "Service unavailable"),
}


class Headers(Protocol):
    """Anything with a case-insensitive ``get`` for HTTP headers."""

    def get(self, name: str, default: None = None) -> str | None:
        """Return a header value."""


class Service:
    """Serves the IVS Real-Time operations of one scenario; safe to call from many threads."""

    def __init__(
        self, scenario: Scenario, faults: Faults | None = None, token_key: bytes | None = None
    ) -> None:
        self.scenario = scenario
        scenario.enter_epoch(0)
        self.listings = ScenarioListings(scenario)
        self.stats = Stats()
        self.tokens = TokenCodec(token_key)
        self._validator = InputValidator()
        self._paths = model.operation_paths()
        self._epoch = 0
        self._epoch_lock = threading.Lock()
        self.set_faults(faults if faults is not None else scenario.faults)

    # ---- state ---------------------------------------------------------------------------

    @property
    def epoch(self) -> int:
        """The current epoch."""
        return self._epoch

    def advance(self, steps: int = 1) -> int:
        """Move to a later epoch and return it."""
        if steps < 1:
            raise ValueError("steps must be >= 1")
        with self._epoch_lock:
            self._epoch += steps
            self.scenario.enter_epoch(self._epoch)
            return self._epoch

    @property
    def faults(self) -> Faults:
        """The faults in force."""
        return self._picker.faults

    def set_faults(self, faults: Faults) -> None:
        """Replace the faults; quotas and first-N counters start afresh."""
        self._quotas = Quotas(faults)
        self._picker = FaultPicker(faults)

    # ---- requests ------------------------------------------------------------------------

    def handle(self, method: str, path: str, headers: Headers, body: bytes) -> Reply:
        """Answer one HTTP request."""
        path = path.split("?", 1)[0]
        if path.startswith(ADMIN_PREFIX):
            return self._admin(method, path, body)
        operation = self._paths.get(path) if method == "POST" else None
        if operation is None:
            return error_reply(protocol.UNKNOWN_OPERATION, f"No operation at {method} {path}")
        try:
            return self._call(operation, headers, body)
        except ApiError as exc:
            return self._error(exc)
        except Exception:
            log.exception("emulator failed on %s", operation)
            return error_reply(protocol.INTERNAL, "Unexpected emulator failure")

    def _error(self, exc: ApiError) -> Reply:
        """Turn an ApiError into a reply and count it."""
        counter = {
            protocol.VALIDATION: "validation_errors",
            protocol.SERIALIZATION: "validation_errors",
            protocol.ACCESS_DENIED: "access_denied",
            protocol.UNRECOGNIZED_CLIENT: "auth_failures",
            protocol.THROTTLING: "throttled",
        }.get(exc.code)
        if counter:
            self.stats.bump(counter)
        return error_reply(exc.code, exc.message)

    def _call(self, operation: str, headers: Headers, body: bytes) -> Reply:
        """Authenticate, parse, limit, validate, inject faults and run one operation."""
        credential = protocol.parse_credential(headers.get("Authorization"))
        params = _parse_body(body)
        region = credential.region if credential else None
        self.stats.record(operation, region, params if isinstance(params, dict) else {})
        faults = self.faults
        if credential is None:
            raise ApiError(protocol.UNRECOGNIZED_CLIENT, "Missing Authentication Token")
        if credential.access_key_id in faults.rejected_access_key_ids:
            raise ApiError(
                protocol.UNRECOGNIZED_CLIENT,
                "The security token included in the request is invalid.",
            )
        if faults.latency_ms:
            time.sleep(faults.latency_ms / 1000.0)
        if not self._quotas.allow(credential.region, operation):
            raise ApiError(protocol.THROTTLING, "Rate exceeded")
        if not isinstance(params, dict):
            raise ApiError(protocol.SERIALIZATION, "Request body is not a valid JSON object")
        self._check(operation, params, credential.region)
        injected = self._inject(operation, params, credential.region)
        if injected is not None:
            return injected
        body, items = self._run(operation, params, credential.region)
        self.stats.bump("items_served", items)
        return Reply(200, body)

    def _run(self, operation: str, params: dict[str, Any], region: str) -> tuple[bytes, int]:
        """Run an operation; return the JSON body and the number of listed items."""
        context = Context(self.listings, self._epoch, self.tokens, self.faults, self.stats)
        result = HANDLERS[operation](context, params, region)
        if isinstance(result, Encoded):
            return result.body, result.items
        return protocol.encode(result), _count_items(result)

    def _check(self, operation: str, params: dict[str, Any], region: str) -> None:
        """Validate against the model, then the signing region and stage access."""
        problems = self._validator.problems(operation, params)
        if problems:
            raise ApiError(protocol.VALIDATION, summarize(problems))
        stage_arn = params.get("sourceStageArn") or params.get("stageArn")
        if stage_arn is None:
            return
        if stage_region(stage_arn) != region:
            self.stats.bump("region_mismatches")
            raise ApiError(
                protocol.VALIDATION,
                f"Stage {stage_arn} is in region {stage_region(stage_arn)}, "
                f"but the request was signed for region {region}",
            )
        if self.faults.denies(operation, stage_arn):
            raise ApiError(
                protocol.ACCESS_DENIED,
                f"User is not authorized to perform: ivs:{operation} on resource: {stage_arn}",
            )

    def _inject(self, operation: str, params: dict[str, Any], region: str) -> Reply | None:
        """Return a faulty reply if a fault is due for this request."""
        picker = self._picker
        stage_arn = params.get("sourceStageArn") or params.get("stageArn")
        if not picker.eligible(operation, stage_arn, params.get("participantId")):
            return None
        kind = picker.pick()
        if kind is None:
            return None
        self.stats.fault(kind)
        if kind in _FAULT_ERRORS:
            code, message = _FAULT_ERRORS[kind]
            if kind == "throttle":
                self.stats.bump("throttled")
            return error_reply(code, message)
        if kind == "drop":
            return Reply(0, b"", drop=True)
        if kind == "malformed":
            return Reply(200, _MALFORMED_BODY)
        reply = Reply(200, self._run(operation, params, region)[0])
        reply.delay = picker.faults.slow_ms / 1000.0
        return reply

    # ---- admin ---------------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        """Return the epoch, scenario facts, faults and stats."""
        return {
            "scenario": self.scenario.name,
            "epoch": self.epoch,
            "epochs": self.scenario.epochs,
            "faults": self.faults.to_dict(),
            "stats": self.stats.snapshot(),
        }

    def _admin(self, method: str, path: str, body: bytes) -> Reply:
        """Serve the ``/_emulator/`` admin endpoints."""
        action = path[len(ADMIN_PREFIX) :].strip("/")
        if method == "GET" and action == "state":
            return Reply(200, protocol.encode(self.state()))
        if method == "POST" and action == "advance":
            return Reply(200, protocol.encode({"epoch": self.advance()}))
        if method == "POST" and action == "reset_stats":
            self.stats.reset()
            return Reply(200, protocol.encode({"reset": True}))
        if method == "POST" and action == "faults":
            return self._replace_faults(body)
        return Reply(404, protocol.encode({"message": f"No admin endpoint {method} {path}"}))

    def _replace_faults(self, body: bytes) -> Reply:
        """Replace the faults with a JSON object of fault settings."""
        try:
            faults = Faults.from_dict(_parse_body(body))
        except FaultsError as exc:
            return Reply(400, protocol.encode({"message": str(exc)}))
        self.set_faults(faults)
        return Reply(200, protocol.encode({"faults": faults.to_dict()}))


def _parse_body(body: bytes) -> Any:
    """Parse a JSON request body; an empty body is an empty object, invalid JSON is None."""
    if not body.strip():
        return {}
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None


def _count_items(result: dict[str, Any]) -> int:
    """Count the list items in a response body."""
    return sum(len(v) for v in result.values() if isinstance(v, list))
