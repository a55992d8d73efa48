"""Constants of the IVS Real-Time source: service, paging, quotas, table names and columns."""

from typing import Final

SERVICE_NAME: Final = "ivs-realtime"
LIST_REPLICAS_OPERATION = "ListParticipantReplicas"

MAX_PAGE_SIZE = 50
DEFAULT_PAGE_SIZE = 50
DEFAULT_MAX_PAGES = 10_000

DEFAULT_REQUESTS_PER_SECOND = 5.0
DEFAULT_MAX_ATTEMPTS = 8
DEFAULT_RETRY_MODE = "standard"
DEFAULT_CONNECT_TIMEOUT = 5.0
DEFAULT_READ_TIMEOUT = 15.0
DEFAULT_WORKERS = 4

REPLICAS_TABLE = "participant_replicas"
SCANS_TABLE = "participant_scans"

SCAN_OK = "ok"
SCAN_FAILED = "failed"

REPLICA_KEY = (
    "source_stage_arn",
    "participant_id",
    "source_session_id",
    "destination_stage_arn",
    "destination_session_id",
)
DEFAULT_BATCH_ROWS = 5_000
DEFAULT_SCAN_ATTEMPTS = 3
DEFAULT_LOOKBACK_HOURS = 24.0
