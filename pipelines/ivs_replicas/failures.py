"""What went wrong, in one line: the root cause inside dlt's wrappers, with its exit code."""

from __future__ import annotations

import errno
import re
import signal
from collections.abc import Iterator

from ivs_replicas.errors import EXIT_FATAL, BadInputError, DatabaseBusyError, IvsReplicasError

LOCK_CONFLICT = "Could not set lock on file"
NOT_A_DATABASE = "not a valid DuckDB database file"
NO_SPACE = "No space left on device"


class Interrupted(KeyboardInterrupt):
    """The process was asked to stop by a signal (SIGINT or SIGTERM)."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(signal.Signals(signum).name)

    @property
    def exit_code(self) -> int:
        """128 plus the signal number, as shells report it."""
        return 128 + self.signum


def causes(error: BaseException) -> Iterator[BaseException]:
    """The error and every error it was raised from, outermost first."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None:
        seen.add(id(current))
        yield current
        wrapped = getattr(current, "exception", None)  # dlt's PipelineStepFailed
        candidates = (wrapped, current.__cause__, current.__context__)
        current = next(
            (c for c in candidates if isinstance(c, BaseException) and id(c) not in seen), None
        )


def interruption(error: BaseException) -> Interrupted | None:
    """The signal behind an error, when a signal stopped the run (dlt wraps it in its steps)."""
    for cause in causes(error):
        if isinstance(cause, Interrupted):
            return cause
        signum = getattr(cause, "signal_code", None)
        if isinstance(signum, int):
            return Interrupted(signum)
        if isinstance(cause, KeyboardInterrupt):
            return Interrupted(signal.SIGINT)
    return None


def explain(error: BaseException) -> IvsReplicasError:
    """The error a user can act on: the project's own one, or the root cause with an exit code."""
    chain = list(causes(error))
    for cause in chain:
        if isinstance(cause, IvsReplicasError):
            return cause
    root = chain[-1]
    message = first_line(root)
    for cause in chain:
        text = str(cause)
        if LOCK_CONFLICT in text:
            holder = re.search(r"\(PID (\d+)\)", text)
            who = f"process {holder[1]}" if holder else "another process"
            return DatabaseBusyError(f"the database is locked by {who}: {reason(text)}")
        if NOT_A_DATABASE in text:
            return BadInputError(f"--db is not a DuckDB database: {reason(text)}")
        if (isinstance(cause, OSError) and cause.errno == errno.ENOSPC) or NO_SPACE in text:
            return failure(f"no space left on device: {message}", EXIT_FATAL)
        if type(cause).__name__ == "TomlProviderReadException":
            detail = text.splitlines()[-1] if text.strip() else message
            return BadInputError(f"cannot read {getattr(cause, 'file_name', 'TOML')}: {detail}")
        if isinstance(cause, ValueError) and text.startswith("Invalid endpoint"):
            return BadInputError(f"the endpoint URL is not valid: {text} (endpoint_url setting)")
    return failure(f"{type(root).__name__}: {message}", EXIT_FATAL)


def failure(message: str, exit_code: int) -> IvsReplicasError:
    """A plain error with a message and an exit code."""
    error = IvsReplicasError(message)
    error.exit_code = exit_code
    return error


def first_line(error: BaseException) -> str:
    """The first non-empty line of an error's message, or its type's name."""
    lines = [line.strip() for line in str(error).splitlines() if line.strip()]
    return lines[0] if lines else type(error).__name__


def reason(text: str) -> str:
    """DuckDB's own words inside a wrapper's message ("... The actual reason given is: X")."""
    marker = "reason given is:"
    tail = text.split(marker, 1)[1] if marker in text else text
    return first_line(Exception(tail.strip()))
