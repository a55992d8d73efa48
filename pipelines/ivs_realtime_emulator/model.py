"""The botocore service model of IVS Real-Time, loaded once per process."""

from __future__ import annotations

import functools

import botocore.session
from botocore.model import OperationModel, ServiceModel, Shape, StructureShape

SERVICE_NAME = "ivs-realtime"

LIST_PARTICIPANT_REPLICAS = "ListParticipantReplicas"
LIST_STAGES = "ListStages"
LIST_STAGE_SESSIONS = "ListStageSessions"
LIST_PARTICIPANTS = "ListParticipants"
LIST_PARTICIPANT_EVENTS = "ListParticipantEvents"

OPERATIONS = (
    LIST_PARTICIPANT_REPLICAS,
    LIST_STAGES,
    LIST_STAGE_SESSIONS,
    LIST_PARTICIPANTS,
    LIST_PARTICIPANT_EVENTS,
)


@functools.cache
def service_model() -> ServiceModel:
    """Return the ivs-realtime service model shipped with botocore."""
    return botocore.session.get_session().get_service_model(SERVICE_NAME)


def operation_model(name: str) -> OperationModel:
    """Return the model of one operation."""
    return service_model().operation_model(name)


def input_shape(operation: str) -> StructureShape:
    """Return the input shape of one operation."""
    found = operation_model(operation).input_shape
    if found is None:
        raise KeyError(f"{operation} has no input shape")
    return found


@functools.cache
def shape(name: str) -> Shape:
    """Return a named shape of the service model, the same object on every call."""
    # botocore builds a new Shape per lookup and caches its metadata on that object, so
    # validating thousands of scenario fields would otherwise rebuild it each time.
    return service_model().shape_for(name)


@functools.cache
def operation_paths() -> dict[str, str]:
    """Map each served operation's request URI to its name."""
    return {operation_model(op).http["requestUri"]: op for op in OPERATIONS}


def error_members(error_name: str) -> tuple[str, ...]:
    """Return the body members of a modeled error shape, e.g. ``exceptionMessage``."""
    error = shape(error_name)
    members = getattr(error, "members", {})
    return tuple(n for n, s in members.items() if s.serialization.get("location") is None)


def max_results_limit(operation: str) -> int:
    """Return the largest ``maxResults`` the model allows for an operation."""
    member = input_shape(operation).members["maxResults"]
    return int(member.metadata["max"])
