"""Errors of the ivs_realtime source, for callers to branch on; none of them carries a secret."""

from __future__ import annotations

from collections.abc import Sequence


class IvsRealtimeError(Exception):
    """Base class of the source's own errors."""


class InvalidSourceInput(IvsRealtimeError):
    """A setting or a participant entry is invalid; no API call was made.

    The message names every problem, each with where it is (setting, file and line).
    """

    def __init__(self, message: str, problems: Sequence[str] = ()) -> None:
        self.message = message
        self.problems = list(problems)
        details = "".join(f"\n  - {problem}" for problem in self.problems)
        super().__init__(f"{message}{details}")


class CredentialsRejected(IvsRealtimeError):
    """AWS refused the credentials: no participant can be scanned, so the extraction stops."""
