"""The settings: one configspec, checked as it resolves, each problem naming its setting."""

from __future__ import annotations

import inspect
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from dlt.common.configuration import resolve_configuration
from dlt.common.configuration.specs import AwsCredentials
from ivs_replicas.sources.ivs_realtime import ivs_realtime
from ivs_replicas.sources.ivs_realtime.config import (
    IvsRealtimeConfiguration,
    check_known_keys,
    setting_names,
)
from ivs_replicas.sources.ivs_realtime.exceptions import InvalidSourceInput
from ivs_replicas.sources.ivs_realtime.tally import RunTally

ROOT = Path(__file__).resolve().parents[2]
STAGE = "arn:aws:ivs:us-east-1:123456789012:stage/AbCdEf123456"
SECTION = r"\[sources.ivs_realtime\]"


def resolve(**explicit: Any) -> IvsRealtimeConfiguration:
    """The configspec resolved in the source's section, with explicit values as a call gives."""
    return resolve_configuration(
        IvsRealtimeConfiguration(),
        sections=("sources", "ivs_realtime"),
        explicit_value=explicit,
    )


def defaults() -> dict[str, Any]:
    """Every setting's default, read from the configspec."""
    spec = IvsRealtimeConfiguration()
    return {name: getattr(spec, name) for name in setting_names()}


def test_defaults_resolve_and_pass_their_own_checks() -> None:
    config = resolve()
    assert {name: getattr(config, name) for name in setting_names() if name != "credentials"} == {
        name: value for name, value in defaults().items() if name != "credentials"
    }


def test_explicit_values_win_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCES__IVS_REALTIME__PAGE_SIZE", "9")
    assert resolve().page_size == 9
    assert resolve(page_size=7).page_size == 7


@pytest.mark.parametrize(
    ("setting", "value", "problem"),
    [
        ("page_size", 0, "is 0; it must be 1-50"),
        ("page_size", 51, "is 51; it must be 1-50"),
        ("page_size", "50", "must be an integer"),
        ("max_attempts", 0, "is 0; it must be 1-50"),
        ("requests_per_second", -1, "is -1; it must be 0 (no limit) or more"),
        ("requests_per_second", float("inf"), "is inf; it must be a finite number"),
        ("retry_mode", "eager", "is 'eager'; use one of standard, adaptive"),
        ("retry_mode", "legacy", "is 'legacy'; use one of standard, adaptive"),
        ("workers_per_region", True, "must be an integer"),
        ("read_timeout", -1, "is -1; it must be greater than 0"),
        ("read_timeout", float("inf"), "is inf; it must be a finite number"),
        ("read_timeout", float("nan"), "is nan; it must be a finite number"),
        ("connect_timeout", float("-inf"), "is -inf; it must be a finite number"),
        ("session_lookback_hours", float("nan"), "is nan; it must be a finite number"),
        ("max_run_seconds", -60, "is -60; it must be 0 (no limit) or more"),
        ("max_run_seconds", float("inf"), "is inf; it must be a finite number"),
    ],
    ids=[
        "page-0",
        "page-51",
        "page-string",
        "attempts-0",
        "rps-negative",
        "rps-inf",
        "retry-mode",
        "retry-mode-legacy",
        "workers-bool",
        "timeout-negative",
        "timeout-inf",
        "timeout-nan",
        "connect-minus-inf",
        "lookback-nan",
        "deadline-negative",
        "deadline-inf",
    ],
)
def test_bad_setting_is_named(setting: str, value: object, problem: str) -> None:
    with pytest.raises(InvalidSourceInput, match=rf"{SECTION} {setting} {re.escape(problem)}"):
        resolve(**{setting: value})


@pytest.mark.parametrize(
    ("variable", "value"),
    [("SOURCES__IVS_REALTIME__READ_TIMEOUT", "inf"), ("SOURCES__IVS_REALTIME__MAX_PAGES", "0")],
    ids=["inf", "zero-pages"],
)
def test_values_from_the_environment_are_checked_too(
    monkeypatch: pytest.MonkeyPatch, variable: str, value: str
) -> None:
    monkeypatch.setenv(variable, value)
    setting = variable.removeprefix("SOURCES__IVS_REALTIME__").lower()
    with pytest.raises(InvalidSourceInput, match=rf"{SECTION} {setting} is"):
        resolve()


def test_discovery_needs_a_scope() -> None:
    with pytest.raises(InvalidSourceInput, match="discovery_regions or discovery_stage_arns"):
        resolve(discover_stages=True)
    assert resolve(discover_stages=True, discovery_regions=["eu-west-1"]).events_enabled


@pytest.mark.parametrize(
    "variable",
    [
        "SOURCES__IVS_REALTIME__PAGE_SISE",
        "SOURCES__IVS_REALTIME__RUN_ID",
        "SOURCES__IVS_REALTIME__PAGE_SIZE__X",
        "SOURCES__IVS_REALTIME__CREDENTIALS__AWS_ACCES_KEY_ID",
        "SOURCES__IVS_REALTIME__CREDENTIALS__AWS_ACCESS_KEY_ID__X",
    ],
    ids=["misspelt", "run-id", "nested-under-a-setting", "misspelt-credential", "too-deep"],
)
def test_unknown_environment_variables_are_named(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    monkeypatch.setenv(variable, "1")
    with pytest.raises(InvalidSourceInput, match=f"environment variable {variable}: not a"):
        resolve()


def test_known_environment_variables_pass() -> None:
    check_known_keys(
        {
            "SOURCES__IVS_REALTIME__PAGE_SIZE": "25",
            "SOURCES__IVS_REALTIME__CREDENTIALS__AWS_ACCESS_KEY_ID": "x",
            "SOURCES__OTHER__PAGE_SISE": "1",
        }
    )


def test_a_misspelt_credentials_key_is_named_before_credentials_are_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("SOURCES__IVS_REALTIME__CREDENTIALS__AWS_ACCES_KEY_ID", "x")
    with pytest.raises(InvalidSourceInput, match="CREDENTIALS__AWS_ACCES_KEY_ID"):
        resolve()


def test_the_source_takes_every_setting_as_a_keyword_and_nothing_else() -> None:
    parameters = inspect.signature(ivs_realtime).parameters
    assert [name for name in parameters if name not in ("config", "tally")] == setting_names()
    assert parameters["page_size"].default == 50
    with pytest.raises(TypeError, match="page_sise"):
        ivs_realtime(page_sise=10)
    with pytest.raises(TypeError, match="run_id"):
        ivs_realtime(run_id="shared")


def test_run_ids_sort_by_time_and_are_unique() -> None:
    ids = [RunTally().run_id for _ in range(50)]
    assert len(set(ids)) == 50
    assert [i.split("-")[0] for i in ids] == sorted(i.split("-")[0] for i in ids)
    assert "run_id" not in setting_names()


def render_default(value: object) -> str:
    """A default as the README's configuration table writes it."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, str):
        return f"`{value}`"
    return repr(value)


def readme_settings() -> dict[str, str]:
    """Setting -> default cell of the table in the README's "## Configuration" section."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    table = section.split("| setting | default | meaning |\n", 1)[1].split("\n\n", 1)[0]
    rows = re.findall(r"^\| `(\w+)` \| ([^|]+) \|", table, flags=re.MULTILINE)
    return {name: default.strip() for name, default in rows}


def test_readme_table_documents_every_setting_with_its_default() -> None:
    assert readme_settings() == {name: render_default(value) for name, value in defaults().items()}


def test_config_toml_shows_every_setting_and_only_settings_with_their_defaults() -> None:
    path = ROOT / ".dlt" / "config.toml"
    active = tomllib.loads(path.read_text(encoding="utf-8"))["sources"]["ivs_realtime"]
    section = path.read_text(encoding="utf-8").split("[sources.ivs_realtime]", 1)[1]
    section = section.split("\n[", 1)[0]
    commented = set(re.findall(r"^# (\w+) =", section, flags=re.MULTILINE))
    assert active == {name: defaults()[name] for name in active}
    assert set(active) | commented | {"credentials"} == set(setting_names())
    assert not set(active) & commented


def test_example_secrets_shows_only_credentials_fields() -> None:
    text = (ROOT / ".dlt" / "example.secrets.toml").read_text(encoding="utf-8")
    keys = set(tomllib.loads(text)["sources"]["ivs_realtime"]["credentials"])
    keys |= set(re.findall(r"^# (\w+) =", text, flags=re.MULTILINE))
    assert keys <= set(AwsCredentials.get_resolvable_fields())


def cli_run(
    tmp_path: Path, config: str, secrets: str = "", env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """`ivs-replicas run` in a folder holding these .dlt files; the endpoint is a closed port."""
    dlt_dir = tmp_path / ".dlt"
    dlt_dir.mkdir()
    participants = f'participants = [{{source_stage_arn = "{STAGE}", participant_id = "p"}}]\n'
    (dlt_dir / "config.toml").write_text(f"[sources.ivs_realtime]\n{participants}{config}\n")
    if secrets:
        (dlt_dir / "secrets.toml").write_text(secrets)
    return subprocess.run(
        [str(Path(sys.executable).with_name("ivs-replicas")), "run"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        env={
            **os.environ,
            "RUNTIME__DLTHUB_TELEMETRY": "false",
            "AWS_ENDPOINT_URL_IVS_REALTIME": "http://127.0.0.1:9",
            **(env or {}),
        },
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    ("config", "secrets", "env", "named"),
    [
        ("read_timeout = inf", "", {}, "read_timeout is inf; it must be a finite number"),
        ("connect_timeout = nan", "", {}, "connect_timeout is nan; it must be a finite number"),
        ("", "", {"SOURCES__IVS_REALTIME__RETRY_MODE": "legacy"}, "retry_mode.*'legacy'"),
        (
            "",
            '[sources.ivs_realtime.credentials]\naws_acces_key_id = "AKIA"\n',
            {},
            r"\[sources.ivs_realtime.credentials\] aws_acces_key_id: not a setting",
        ),
        (
            "",
            "",
            {"SOURCES__IVS_REALTIME__WORKERS": "8"},
            "environment variable SOURCES__IVS_REALTIME__WORKERS: not a setting",
        ),
    ],
    ids=["inf", "nan", "legacy-retry-mode", "unknown-credentials-key", "unknown-variable"],
)
def test_refused_settings_exit_2_naming_them(
    tmp_path: Path, config: str, secrets: str, env: dict[str, str], named: str
) -> None:
    result = cli_run(tmp_path, config, secrets, env)
    assert result.returncode == 2, result.stderr
    assert re.search(named, result.stderr), result.stderr
    assert "[sources.ivs_realtime" in result.stderr
    assert "Traceback" not in result.stderr
    assert "aws_acces_key_id = " not in result.stderr
    assert not (tmp_path / "ivs_replicas.duckdb").exists()
