"""The emulator's modules import each other without cycles, hidden ones included."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import ivs_realtime_emulator

PACKAGE = "ivs_realtime_emulator"
PACKAGE_DIR = Path(ivs_realtime_emulator.__file__).parent


def _module_name(path: Path) -> str:
    """``ivs_realtime_emulator.service`` for service.py; the package itself for __init__.py."""
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def _targets(node: ast.Import | ast.ImportFrom, modules: set[str]) -> set[str]:
    """The package's modules that one import statement reaches."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    base = node.module or ""
    if node.level:  # relative: ``from . import x`` or ``from .x import y``
        base = f"{PACKAGE}.{base}".rstrip(".")
    if base not in modules:
        return set()
    # ``from package import name`` reaches the submodule ``name`` if there is one,
    # and the package's __init__ otherwise.
    found = {f"{base}.{alias.name}" for alias in node.names} & modules
    return found if found and base == PACKAGE else {base}


def import_graph(package_dir: Path) -> dict[str, set[str]]:
    """Map each module to the package modules it imports anywhere in its source.

    Imports under ``if TYPE_CHECKING:`` and inside functions count: they are how import
    cycles get hidden rather than removed.
    """
    files = {_module_name(path): path for path in sorted(package_dir.glob("*.py"))}
    modules = set(files)
    graph: dict[str, set[str]] = {}
    for name, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        edges: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                edges |= _targets(node, modules)
        graph[name] = edges - {name}
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """Return one import cycle as a list of modules (first == last), or None."""
    done: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> list[str] | None:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return None
        path.append(module)
        for target in sorted(graph.get(module, ())):
            cycle = visit(target)
            if cycle:
                return cycle
        path.pop()
        done.add(module)
        return None

    for module in sorted(graph):
        cycle = visit(module)
        if cycle:
            return cycle
    return None


def test_module_imports_have_no_cycle() -> None:
    graph = import_graph(PACKAGE_DIR)
    assert len(graph) > 10, "every module of the package was read"
    cycle = find_cycle(graph)
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_modules_do_not_import_the_package_root() -> None:
    graph = import_graph(PACKAGE_DIR)
    importers = sorted(m for m, targets in graph.items() if PACKAGE in targets)
    assert importers == [], "import the module itself, not the package's __init__"


def test_handlers_do_not_know_the_service() -> None:
    assert f"{PACKAGE}.service" not in import_graph(PACKAGE_DIR)[f"{PACKAGE}.operations"]


def test_scenario_data_imports_no_parser_and_no_topology() -> None:
    graph = import_graph(PACKAGE_DIR)
    assert graph[f"{PACKAGE}.scenario"] == {f"{PACKAGE}.faults"}


def readme_layers() -> list[str]:
    """The modules of the README's "Modules" table, in its order."""
    text = (PACKAGE_DIR / "README.md").read_text(encoding="utf-8")
    table = text.split("## Modules", 1)[1]
    firsts = [line.split("|")[1] for line in table.splitlines() if line.startswith("| `")]
    return [f"{PACKAGE}.{name}" for cell in firsts for name in re.findall(r"`(\w+)`", cell)]


def test_modules_import_only_those_listed_before_them_in_the_readme() -> None:
    graph = import_graph(PACKAGE_DIR)
    layers = readme_layers()
    entry_points = {PACKAGE, f"{PACKAGE}.__main__"}
    assert sorted(layers) == sorted(set(graph) - entry_points), "the table lists every module"
    late = [
        f"{module} imports {target}"
        for index, module in enumerate(layers)
        for target in sorted(graph[module])
        if target not in layers[:index]
    ]
    assert late == []


def test_the_cycle_finder_finds_hidden_cycles(tmp_path: Path) -> None:
    (tmp_path / "__init__.py").write_text("")
    (tmp_path / "a.py").write_text("from ivs_realtime_emulator.b import x\n")
    (tmp_path / "b.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n"
        "    from ivs_realtime_emulator import a\n"
        "def f():\n"
        "    from ivs_realtime_emulator.c import y\n"
    )
    (tmp_path / "c.py").write_text("x = 1\n")
    graph = import_graph(tmp_path)
    assert graph[f"{PACKAGE}.b"] == {f"{PACKAGE}.a", f"{PACKAGE}.c"}
    assert find_cycle(graph) == [f"{PACKAGE}.a", f"{PACKAGE}.b", f"{PACKAGE}.a"]
