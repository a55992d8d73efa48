"""Constants of the IVS Real-Time source: service, paging, table names and columns.

The settings a user can change, with their defaults, are the fields of
`IvsRealtimeConfiguration` in config.py.
"""

from typing import Final

SOURCE_NAME: Final = "ivs_realtime"
SECTION: Final = f"[sources.{SOURCE_NAME}]"
"""How messages name the source's config section."""
ENV_PREFIX: Final = f"SOURCES__{SOURCE_NAME.upper()}__"
"""Environment variables under this prefix set the source's settings."""

SERVICE_NAME: Final = "ivs-realtime"
LIST_REPLICAS_OPERATION = "ListParticipantReplicas"

MAX_PAGE_SIZE = 50
RETRY_MODES = ("standard", "adaptive")

REPLICAS_TABLE = "participant_replicas"
SCANS_TABLE = "participant_scans"
DISCOVERY_SCANS_TABLE = "discovery_scans"

SCAN_OK = "ok"
SCAN_FAILED = "failed"

REPLICA_KEY = (
    "source_stage_arn",
    "participant_id",
    "source_session_id",
    "destination_stage_arn",
    "destination_session_id",
)
