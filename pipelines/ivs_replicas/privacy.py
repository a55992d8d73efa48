"""Nothing secret on disk: dlt's run trace keeps no config values, and dlt's files stay private.

dlt pickles a trace of each run into its pipeline folder (`trace.pickle`), with every config
value it resolved. Values it reads as whole sections are not marked secret, so keys from
`.dlt/secrets.toml` would land there in plain text. During a run, dlt records no values at
all: the trace keeps its steps and timings, which is what it is read for.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Final

from dlt.common.configuration.container import Container
from dlt.common.configuration.utils import TraceLogContext, get_resolved_traces
from dlt.pipeline.trace import TRACE_FILE_NAME

# New files readable and writable by the owner only, new folders open to the owner only.
PRIVATE_UMASK: Final = 0o077
# Pipeline folders sit at most this deep in the work folder (`datasets/<dataset>/<pipeline>`).
TRACE_DEPTH: Final = 3


@contextmanager
def private_run(work_dir: Path) -> Iterator[None]:
    """Run dlt's steps with no config value traced and every new file private to the owner."""
    forget_old_traces(work_dir)
    previous = os.umask(PRIVATE_UMASK)
    try:
        with values_not_traced():
            yield
    finally:
        os.umask(previous)


@contextmanager
def values_not_traced() -> Iterator[None]:
    """Keep resolved config values out of dlt's trace, from before the block and within it."""
    get_resolved_traces().clear()
    silent = TraceLogContext()
    silent.logging_enabled = False
    with Container().injectable_context(silent):
        yield


def forget_old_traces(work_dir: Path) -> None:
    """Delete traces earlier versions saved with config values; each run saves a new one."""
    for depth in range(1, TRACE_DEPTH + 1):
        for trace in work_dir.glob("/".join(["*"] * depth + [TRACE_FILE_NAME])):
            trace.unlink(missing_ok=True)
