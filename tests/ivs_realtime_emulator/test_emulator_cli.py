"""``python -m ivs_realtime_emulator`` serves a scenario in the foreground."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest
from ivs_realtime_emulator.cli import main

ROOT = Path(__file__).resolve().parents[2]


def test_module_serves_until_interrupted() -> None:
    command = [sys.executable, "-m", "ivs_realtime_emulator", "--scenario", "demo"]
    command += ["--port", "0", "--rps", "5", "--error-rate", "0.1", "--latency-ms", "1"]
    proc = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the emulator printed nothing"
        line = proc.stdout.readline()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url + "/_emulator/state", timeout=30) as response:
            state = json.load(response)
        assert state["scenario"] == "demo"
        assert state["faults"] == {"latency_ms": 1.0, "requests_per_second": 5.0, "error_rate": 0.1}
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    assert code == 0, proc.stderr.read() if proc.stderr else ""


def test_bad_scenario_exits_with_status_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"name": "x"}', encoding="utf-8")
    with pytest.raises(SystemExit) as caught:
        main(["--scenario", str(bad)])
    assert caught.value.code == 2
    assert "missing required field(s) ['participants']" in capsys.readouterr().err


@pytest.mark.parametrize("flag", ["--error-rate", "--drop-rate"])
def test_out_of_range_rates_are_refused(flag: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as caught:
        main([flag, "3"])
    assert caught.value.code == 2
    assert "a rate must be between 0 and 1" in capsys.readouterr().err
