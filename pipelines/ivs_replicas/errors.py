"""Errors a user can act on, each mapped to the exit code a scheduler branches on."""

from __future__ import annotations

EXIT_OK = 0
EXIT_FATAL = 1
EXIT_BAD_INPUT = 2
EXIT_PARTIAL = 3
EXIT_BUSY = 4


class IvsReplicasError(Exception):
    """Base class: a failure with a one-line message and an exit code."""

    exit_code = EXIT_FATAL


class BadInputError(IvsReplicasError):
    """Configuration or participant input is invalid; nothing was called or written."""

    exit_code = EXIT_BAD_INPUT

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        self.problems = problems or []
        details = "".join(f"\n  - {problem}" for problem in self.problems)
        super().__init__(f"{message}{details}")


class FatalRunError(IvsReplicasError):
    """The whole run failed: no credentials, credentials rejected, every participant denied."""

    exit_code = EXIT_FATAL


class DatabaseBusyError(IvsReplicasError):
    """Another process holds the pipeline lock or the DuckDB write lock."""

    exit_code = EXIT_BUSY
