"""docs/scheduling.md as it would be used: each example parses, and maps exit codes as it says.

The shell in the examples is run against a stand-in `ivs-replicas` that exits with a chosen
code and records its arguments, which the real parser must accept. The systemd units go through
`systemd-analyze verify` where it exists, the workflow through a YAML parser, the DAG through
`py_compile`. Also here: what `make demo` installs, and the demo's hints run as printed.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import py_compile
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from croniter import croniter
from ivs_realtime_emulator import Emulator, generate_scenario
from ivs_replicas import cli
from ivs_replicas.settings import DEFAULT_DATASET, PIPELINE_NAME
from ivs_replicas.storage import DuckDbFile

from .helpers import Invocation, RunFn

ROOT = Path(__file__).parents[1]
DOC = ROOT / "docs" / "scheduling.md"
HOME = "/srv/ivs-replicas"
# A stand-in for the command: records its arguments, prints a summary line, exits with $CODE.
STAND_IN = f"""#!/bin/sh
{shlex.quote(sys.executable)} -c 'import json, sys; print(json.dumps(sys.argv[1:]))' "$@" > "$ARGS_FILE"
echo '{{"status": "stand-in"}}'
echo "progress 0:10 scanned 1/2 participants" >&2
exit "$CODE"
"""
# Each exit code, and what the scheduler's wrapper should make of it: its own exit code.
CRON_EXITS = [(0, 0), (3, 0), (4, 0), (130, 0), (143, 0), (1, 1), (2, 2)]


def blocks(language: str) -> list[str]:
    """The fenced code blocks of one language in docs/scheduling.md."""
    fenced = rf"^```{language}\n(.*?)^```$"
    return re.findall(fenced, DOC.read_text(encoding="utf-8"), re.S | re.M)


def stand_in(folder: Path) -> Path:
    """Write the stand-in `ivs-replicas` into folder/.venv/bin; return that bin folder."""
    bin_dir = folder / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "ivs-replicas"
    script.write_text(STAND_IN)
    script.chmod(0o755)
    return bin_dir


def parses(arguments: list[str]) -> None:
    """The real command line accepts the arguments a scheduler passes."""
    args = cli.build_parser().parse_args(arguments)
    assert args.command is cli.cmd_run
    assert args.json


@pytest.mark.parametrize(("code", "wrapper_exit"), CRON_EXITS, ids=[str(c) for c, _ in CRON_EXITS])
def test_cron_wrapper_maps_each_exit_code(tmp_path: Path, code: int, wrapper_exit: int) -> None:
    (wrapper,) = blocks("sh")
    stand_in(tmp_path)
    (tmp_path / "logs").mkdir()
    script = tmp_path / "run-hourly.sh"
    script.write_text(wrapper)
    environ = {
        **os.environ,
        "IVS_HOME": str(tmp_path),
        "LOG_DIR": str(tmp_path / "logs"),
        "CODE": str(code),
        "ARGS_FILE": str(tmp_path / "args.json"),
    }
    result = subprocess.run(
        ["sh", str(script)], env=environ, capture_output=True, text=True, check=False
    )
    assert result.returncode == wrapper_exit, result.stderr
    # cron mails what a run prints: nothing when all is well, one line when it needs a look.
    assert (result.stdout == "") == (code in (0, 4))
    assert (tmp_path / "logs" / "runs.jsonl").read_text() == '{"status": "stand-in"}\n'
    assert "progress" in (tmp_path / "logs" / "run.log").read_text()
    parses(json.loads((tmp_path / "args.json").read_text()))


def test_crontab_line_runs_the_wrapper_hourly() -> None:
    (crontab,) = blocks("cron")
    (wrapper,) = blocks("sh")
    entries = [line for line in crontab.splitlines() if line and "=" not in line.split()[0]]
    assert len(entries) == 1
    fields = entries[0].split()
    assert croniter.is_valid(" ".join(fields[:5]))
    # The command is the wrapper the page shows, by the path its first comment gives it.
    assert fields[5:] == [wrapper.splitlines()[1].split()[1].rstrip(":")]
    assert wrapper.startswith("#!/bin/sh\n")


def test_wrapper_calls_the_script_make_installs() -> None:
    """`.venv/bin/ivs-replicas` is where `make` puts the console script pyproject declares."""
    (wrapper,) = blocks("sh")
    assert ".venv/bin/ivs-replicas run " in wrapper
    assert 'ivs-replicas = "ivs_replicas.cli:main"' in (ROOT / "pyproject.toml").read_text()
    assert "VENV ?= .venv" in (ROOT / "Makefile").read_text()
    assert Path(sys.executable).with_name("ivs-replicas").is_file()


def units() -> dict[str, str]:
    """The systemd units of the page, by file name."""
    found = {}
    for block in blocks("ini"):
        name = re.match(r"# /etc/systemd/system/(\S+)\n", block)
        assert name, block
        found[name[1]] = block
    return found


def test_systemd_units_parse_and_keep_partial_and_busy_runs_from_failing() -> None:
    parsed = {}
    for name, text in units().items():
        parser = configparser.ConfigParser(interpolation=None, strict=True)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(text)
        parsed[name] = parser
    service, timer = parsed["ivs-replicas.service"], parsed["ivs-replicas.timer"]
    assert service["Service"]["Type"] == "oneshot"
    assert set(service["Service"]["SuccessExitStatus"].split()) == {"3", "4"}
    command = shlex.split(service["Service"]["ExecStart"])
    assert command[0] == f"{HOME}/.venv/bin/ivs-replicas"
    parses(command[1:])
    assert timer["Install"]["WantedBy"] == "timers.target"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze here")
def test_systemd_units_pass_systemd_analyze_verify(tmp_path: Path) -> None:
    """systemd's own check, with the service pointed at this checkout's script."""
    script = str(Path(sys.executable).with_name("ivs-replicas"))
    for name, text in units().items():
        pointed = text.replace(f"{HOME}/.venv/bin/ivs-replicas", script)
        pointed = pointed.replace(f"WorkingDirectory={HOME}", f"WorkingDirectory={tmp_path}")
        (tmp_path / name).write_text(pointed)
    result = subprocess.run(
        ["systemd-analyze", "verify", "--man=no", *sorted(map(str, tmp_path.iterdir()))],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def workflow() -> dict[object, object]:
    """The GitHub Actions workflow of the page, parsed."""
    (text,) = blocks("yaml")
    document = yaml.safe_load(text)
    assert isinstance(document, dict)
    return document


def test_github_workflow_is_valid_and_hourly() -> None:
    document = workflow()
    triggers = document.get("on", document.get(True))  # YAML 1.1 reads a bare `on` as true
    assert isinstance(triggers, dict)
    (schedule,) = triggers["schedule"]
    assert croniter.is_valid(schedule["cron"])
    assert document["concurrency"] == {"group": "ivs-replicas", "cancel-in-progress": False}
    job = document["jobs"]["run"]  # type: ignore[index]
    assert job["timeout-minutes"] == 55
    for step in job["steps"]:
        if "run" in step:
            check = subprocess.run(["bash", "-n"], input=step["run"], text=True, check=False)
            assert check.returncode == 0, step["run"]


@pytest.mark.parametrize(("code", "step_exit"), CRON_EXITS, ids=[str(c) for c, _ in CRON_EXITS])
def test_github_run_step_maps_each_exit_code(tmp_path: Path, code: int, step_exit: int) -> None:
    job = workflow()["jobs"]["run"]  # type: ignore[index]
    (step,) = [step for step in job["steps"] if step.get("name") == "Run"]
    bin_dir = stand_in(tmp_path)
    environ = {
        **os.environ,
        "PATH": f"{bin_dir}{os.pathsep}{os.environ['PATH']}",
        "LAKE_CATALOG": "postgres:dbname=ivs",
        "RUNNER_TEMP": str(tmp_path),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "step-summary.md"),
        "CODE": str(code),
        "ARGS_FILE": str(tmp_path / "args.json"),
    }
    result = subprocess.run(
        ["bash", "-c", step["run"]],
        cwd=tmp_path,
        env=environ,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == step_exit, result.stdout + result.stderr
    assert '{"status": "stand-in"}' in (tmp_path / "step-summary.md").read_text()
    if code == 3:
        assert result.stdout.startswith("::warning::")
    parses(json.loads((tmp_path / "args.json").read_text()))


def dag_source() -> str:
    """The Airflow DAG file of the page."""
    (source,) = blocks("python")
    return source


def test_airflow_dag_compiles(tmp_path: Path) -> None:
    path = tmp_path / "ivs_replicas_dag.py"
    path.write_text(dag_source())
    py_compile.compile(str(path), doraise=True)
    assert "skip_on_exit_code=4" in dag_source()


@pytest.mark.parametrize(
    ("code", "task_exit"),
    [(0, 0), (3, 0), (4, 4), (1, 1), (2, 2), (143, 143)],
    ids=["0", "3", "4-skipped-by-airflow", "1", "2", "143"],
)
def test_airflow_command_maps_each_exit_code(tmp_path: Path, code: int, task_exit: int) -> None:
    """The bash command: 3 passes, the rest keep their code (4 makes Airflow skip the task)."""
    (assignment,) = [
        node
        for node in ast.parse(dag_source()).body
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "RUN"
    ]
    command = ast.literal_eval(assignment.value).replace(HOME, str(tmp_path))
    stand_in(tmp_path)
    environ = {**os.environ, "CODE": str(code), "ARGS_FILE": str(tmp_path / "args.json")}
    result = subprocess.run(
        ["bash", "-c", command], env=environ, capture_output=True, text=True, check=False
    )
    assert result.returncode == task_exit, result.stderr
    # Airflow pushes the last line of stdout to XCom: the summary.
    assert result.stdout.splitlines()[-1] == '{"status": "stand-in"}'
    parses(json.loads((tmp_path / "args.json").read_text()))


def test_dlt_deploy_reads_the_scripts_pipeline_name_and_folder() -> None:
    """What `dlt deploy` parses out of the dlt-init-style script: its name and state folder."""
    helpers = pytest.importorskip("dlt._workspace.cli._deploy_command_helpers")
    script = ROOT / "pipelines" / "ivs_realtime_pipeline.py"
    visitor = helpers.get_visitors(script.read_text(), str(script))
    database = DuckDbFile(Path("ivs_replicas.duckdb"))
    assert helpers.parse_pipeline_info(visitor) == [(PIPELINE_NAME, database.work_dir.name)]


@pytest.mark.slow
def test_dlt_pipeline_info_finds_a_runs_pipeline_where_the_page_says(
    start_emulator: Callable[..., Emulator], run_against: RunFn, database: Path
) -> None:
    emulator = start_emulator(generate_scenario(participants=2, replicas_per_participant=1))
    run_against(emulator)
    documented = [line for line in blocks("console") if "dlt pipeline --pipelines-dir" in line]
    folder = shlex.split(documented[0].splitlines()[0])[3]
    example = DuckDbFile(Path("/var/lib/ivs-replicas/ivs_replicas.duckdb"))
    assert folder == str(example.pipelines_dir(DEFAULT_DATASET))
    result = subprocess.run(
        [
            str(Path(sys.executable).with_name("dlt")),
            "pipeline",
            "--pipelines-dir",
            str(DuckDbFile(database).pipelines_dir(DEFAULT_DATASET)),
            PIPELINE_NAME,
            "info",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "RUNTIME__DLTHUB_TELEMETRY": "false"},
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert f"Found pipeline {PIPELINE_NAME}" in result.stdout


@pytest.mark.skipif(shutil.which("make") is None, reason="no make here")
@pytest.mark.parametrize(
    ("target", "extras"), [("demo", "'.[timeline]'"), ("test", "'.[dev,timeline]'")]
)
def test_make_installs_the_dev_tools_only_for_the_tests(
    tmp_path: Path, target: str, extras: str
) -> None:
    """`make demo` installs the package (and the timeline it draws), `make test` the dev tools too."""
    result = subprocess.run(
        ["make", "-n", "-B", target, f"VENV={tmp_path / 'venv'}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    installs = [line for line in result.stdout.splitlines() if " -m pip install " in line]
    assert installs[-1].endswith(f"install --quiet -e {extras}")


@pytest.mark.slow
def test_demo_hints_run_as_printed(ivs_replicas: Callable[..., Invocation], tmp_path: Path) -> None:
    demo = ivs_replicas("demo", "--db", "demo/ivs_replicas.duckdb", "--runs", "1")
    assert demo.exit_code == 0, demo.err
    (hint,) = [line for line in demo.out.splitlines() if line.startswith("explore it: ")]
    command = shlex.split(hint.removeprefix("explore it: "))
    result = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "changed_at" in result.stdout
