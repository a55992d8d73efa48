"""One writer at a time: an exclusive, self-describing lock file held for a whole run."""

from __future__ import annotations

import fcntl
import json
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from ivs_replicas.errors import DatabaseBusyError


@contextmanager
def exclusive_lock(path: Path, purpose: str) -> Iterator[None]:
    """Hold an flock on `path` for the block; raise DatabaseBusyError naming the holder if taken."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = path.open("a+", encoding="utf-8")
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise DatabaseBusyError(
                f"{purpose} is already running ({describe_holder(path)}); "
                f"lock file {path}. Try again when it finishes."
            ) from None
        handle.seek(0)
        handle.truncate()
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        handle.write(json.dumps(holder))
        handle.flush()
        yield
    finally:
        handle.close()


def describe_holder(path: Path) -> str:
    """Who holds the lock, as written in the lock file."""
    try:
        holder = json.loads(path.read_text(encoding="utf-8"))
        return f"pid {holder['pid']} on {holder['host']}, since {holder['started_at']}"
    except (OSError, ValueError, KeyError, TypeError):
        return "holder unknown"
