"""Shared pieces of the benchmarks: offline environment, credentials, timing and figures."""

from __future__ import annotations

import os
import platform
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

FAKE_KEY_ID = "AKIABENCHFAKE0000001"
FAKE_SECRET = "bench-fake-secret-0000000000000000000000"
ACCOUNT_ID = "123456789012"

T = TypeVar("T")

_OFFLINE_ENV = {
    "RUNTIME__DLTHUB_TELEMETRY": "false",
    "AWS_ACCESS_KEY_ID": FAKE_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
    "AWS_CONFIG_FILE": "/nonexistent/aws-config",
    "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/aws-credentials",
    "AWS_EC2_METADATA_DISABLED": "true",
}
_UNSET_ENV = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_IVS_REALTIME",
)


def offline_environment() -> None:
    """Fake credentials, no AWS profile or metadata service, no telemetry."""
    for name in _UNSET_ENV:
        os.environ.pop(name, None)
    os.environ.update(_OFFLINE_ENV)


def credentials() -> Any:
    """dlt AWS credentials with the fake key pair."""
    from dlt.common.configuration.specs import AwsCredentials

    return AwsCredentials(aws_access_key_id=FAKE_KEY_ID, aws_secret_access_key=FAKE_SECRET)


@dataclass
class Figure:
    """One line of the summary: a measured value against its target."""

    name: str
    value: str
    target: str = "-"
    met: bool | None = None

    @property
    def verdict(self) -> str:
        """yes, no, or '-' when the figure has no target."""
        return "-" if self.met is None else ("yes" if self.met else "no")


def timed(function: Callable[[], T]) -> tuple[float, T]:
    """Wall seconds of one call, and its result."""
    started = time.perf_counter()
    result = function()
    return time.perf_counter() - started, result


def median(values: list[float]) -> float:
    """The median, or NaN for no values."""
    return statistics.median(values) if values else float("nan")


def spread(values: list[float]) -> str:
    """min-max of the values, for showing the noise around a median."""
    if not values:
        return "-"
    low, high = min(values), max(values)
    return f"{low:,.0f}-{high:,.0f}" if low >= 100 else f"{low:.3g}-{high:.3g}"


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory removed afterwards."""
    with tempfile.TemporaryDirectory(prefix=f"ivs-bench-{prefix}-") as name:
        yield Path(name)


def print_table(title: str, header: list[str], rows: list[list[str]]) -> None:
    """Print an aligned plain-text table."""
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows, strict=True)]
    print(f"\n{title}")
    for line in [header, ["-" * width for width in widths], *rows]:
        print(
            "  "
            + "  ".join(
                str(cell).ljust(width) for cell, width in zip(line, widths, strict=True)
            ).rstrip()
        )
    sys.stdout.flush()


def cpu_model() -> str:
    """The CPU model name from /proc/cpuinfo, when there is one."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def machine_lines() -> list[str]:
    """CPU, memory, load and library versions of this machine."""
    import boto3
    import dlt
    import duckdb
    import pyarrow

    return [
        f"cpus          {os.cpu_count()} x {cpu_model()}",
        f"memory        {memory_total_mb()} MB",
        f"load average  {' '.join(f'{value:.2f}' for value in os.getloadavg())} (at start)",
        f"python        {platform.python_version()} ({platform.platform()})",
        f"libraries     dlt {dlt.__version__}, duckdb {duckdb.__version__}, "
        f"boto3 {boto3.__version__}, pyarrow {pyarrow.__version__}",
    ]


def memory_total_mb() -> int:
    """Physical memory in MB, from /proc/meminfo."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) // 1024
    except OSError:
        pass
    return 0


def proc_status_mb(field: str) -> float:
    """A memory figure of this process from /proc/self/status (VmHWM, VmRSS), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{field}:"):
            return int(line.split()[1]) / 1024
    return float("nan")
