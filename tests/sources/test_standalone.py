"""The source stands alone: it imports nothing of the command line, and no module sets dlt config."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "pipelines" / "ivs_replicas"
SOURCE = PACKAGE / "sources" / "ivs_realtime"

# Imports every module of the package in a fresh interpreter and prints what changed in dlt's
# config providers and the environment; nothing is the only right answer.
IMPORT_EVERYTHING = """
import importlib, pkgutil
import ivs_replicas
from tests.sources.support import config_snapshot

before = config_snapshot()
for module in pkgutil.walk_packages(ivs_replicas.__path__, "ivs_replicas."):
    importlib.import_module(module.name)
print("changed" if config_snapshot() != before else "unchanged")
"""


def imported_modules(path: Path) -> set[str]:
    """Every module a Python file imports, by its absolute name."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


def test_the_source_imports_only_itself_from_the_project() -> None:
    outside = {
        f"{path.name}: {name}"
        for path in SOURCE.glob("*.py")
        for name in imported_modules(path)
        if name.startswith("ivs_replicas") and not name.startswith("ivs_replicas.sources")
    }
    assert outside == set()


def test_no_module_writes_dlt_config() -> None:
    writes = [
        f"{path.relative_to(ROOT)}:{number}"
        for path in [*PACKAGE.rglob("*.py"), ROOT / "pipelines" / "ivs_realtime_pipeline.py"]
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if "dlt.config[" in line or "dlt.secrets[" in line
    ]
    assert writes == []


def test_importing_every_module_leaves_dlt_config_and_environment_unchanged() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EVERYTHING],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "unchanged"
