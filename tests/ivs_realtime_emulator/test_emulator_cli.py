"""``python -m ivs_realtime_emulator`` serves a scenario in the foreground."""

from __future__ import annotations

import json
import select
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from ivs_realtime_emulator import Scenario, cli
from ivs_realtime_emulator.cli import main

ROOT = Path(__file__).resolve().parents[2]


def serve_and_read_state(arguments: list[str], cwd: Path) -> dict[str, Any]:
    """Run the module as a user does, read its state, interrupt it and check that it exits 0."""
    command = [sys.executable, "-m", "ivs_realtime_emulator", "--port", "0", *arguments]
    proc = subprocess.Popen(
        command, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        ready, _, _ = select.select([proc.stdout], [], [], 60)
        assert ready, "the emulator printed nothing"
        line = proc.stdout.readline()
        url = line.rsplit(" ", 1)[-1].strip()
        assert url.startswith("http://127.0.0.1:"), proc.stderr.read() if proc.stderr else line
        with urllib.request.urlopen(url + "/_emulator/state", timeout=30) as response:
            state: dict[str, Any] = json.load(response)
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    assert code == 0, proc.stderr.read() if proc.stderr else ""
    return state


def test_module_serves_until_interrupted() -> None:
    flags = ["--scenario", "demo", "--rps", "5", "--error-rate", "0.1", "--latency-ms", "1"]
    state = serve_and_read_state(flags, cwd=ROOT)
    assert state["scenario"] == "demo"
    assert state["faults"] == {"latency_ms": 1.0, "requests_per_second": 5.0, "error_rate": 0.1}


def test_default_scenario_is_the_bundled_demo_beside_a_demo_folder(tmp_path: Path) -> None:
    # `make demo` leaves a demo/ folder in the repository root; it is not a scenario.
    (tmp_path / "demo").mkdir()
    assert serve_and_read_state([], cwd=tmp_path)["scenario"] == "demo"


@pytest.fixture
def served(monkeypatch: pytest.MonkeyPatch) -> list[Scenario]:
    """Scenarios ``main`` would serve, recorded instead of served."""
    found: list[Scenario] = []
    monkeypatch.setattr(cli, "serve", lambda scenario, *args: found.append(scenario))
    return found


@pytest.mark.parametrize(
    "make",
    [
        lambda here: (here / "demo").mkdir(),
        lambda here: (here / "demo").write_text("not a scenario", encoding="utf-8"),
    ],
    ids=["folder", "file"],
)
def test_demo_means_the_bundled_scenario_whatever_the_cwd_holds(
    make: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: list[Scenario]
) -> None:
    make(tmp_path)
    monkeypatch.chdir(tmp_path)
    assert main([]) == 0
    assert main(["--scenario", "demo"]) == 0
    assert [s.name for s in served] == ["demo", "demo"]


def test_a_scenario_file_is_named_by_its_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, served: list[Scenario]
) -> None:
    text = '{"name": "mine", "participants": []}'
    (tmp_path / "mine.json").write_text(text, encoding="utf-8")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "demo").write_text(text, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    for spec in ("mine.json", "sub/demo", str(tmp_path / "mine.json")):
        assert main(["--scenario", spec]) == 0
    assert [s.name for s in served] == ["mine"] * 3


def test_an_unknown_name_lists_the_bundled_scenarios(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    served: list[Scenario],
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(["--scenario", "demo2"])
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "no bundled scenario named 'demo2'; bundled: demo." in err
    assert "./demo2.json" in err
    assert served == []


def test_a_folder_given_as_a_path_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "demo").mkdir()
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SystemExit) as caught:
        main(["--scenario", "./demo"])
    assert caught.value.code == 2
    assert "cannot read scenario file demo: Is a directory" in capsys.readouterr().err


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
