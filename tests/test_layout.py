"""Each machine's role needs only its own part (STYLE.md): the server's `load` never imports
`generate` or `publish`, the analytics machine's `warehouse` and `report` never import `load`,
the operator's `observe` never imports `load`, and nothing below the CLI imports it."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "frota"

FORBIDDEN = {
    "load": ("frota.generate", "frota.publish", "frota.warehouse", "frota.cli"),
    "warehouse": ("frota.load", "frota.generate", "frota.publish", "frota.cli"),
    "generate": ("frota.load", "frota.publish", "frota.warehouse", "frota.cli"),
    "publish": ("frota.load", "frota.generate", "frota.warehouse", "frota.cli"),
    "landing": ("frota.load", "frota.generate", "frota.publish", "frota.warehouse", "frota.cli"),
    "observe": ("frota.load", "frota.cli"),
    # an analytics step: it reads the warehouse (and the run history), never the loader
    "report": ("frota.load", "frota.generate", "frota.publish", "frota.cli"),
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_role_packages_import_only_their_side(package: str) -> None:
    for path in (SRC / package).rglob("*.py"):
        bad = [m for m in imports_of(path) if m.startswith(FORBIDDEN[package])]
        assert not bad, f"{path.relative_to(SRC)} imports {bad}"


def test_nothing_imports_the_cli() -> None:
    for path in SRC.rglob("*.py"):
        if "cli" not in path.relative_to(SRC).parts and path.name != "__main__.py":
            assert not any(m.startswith("frota.cli") for m in imports_of(path)), path


# ---------------------------------------------------------------- the loader's own boundaries

# What `load` may take from `observe`: its logger and the run history, nothing of the
# operator's views (status, checks, reports), which read the loader's tables themselves.
LOAD_USES_FROM_OBSERVE = ("frota.observe.log", "frota.observe.runs")


def test_load_imports_no_operator_commands_cli_or_observe_internals() -> None:
    for path in (SRC / "load").rglob("*.py"):
        for module in imports_of(path):
            where = f"{path.relative_to(SRC)} imports {module}"
            assert not module.startswith(("frota.ops", "frota.cli")), where
            if module.startswith("frota.observe"):
                assert module in LOAD_USES_FROM_OBSERVE, where


def test_ops_works_on_the_servers_side_only() -> None:
    """Operator commands act on the server's database and landing area, with the loader's
    rules: never through the CLI, never with the source's or the warehouse's code."""
    forbidden = ("frota.cli", "frota.generate", "frota.publish", "frota.warehouse")
    for path in (SRC / "ops").rglob("*.py"):
        bad = [m for m in imports_of(path) if m.startswith(forbidden)]
        assert not bad, f"{path.relative_to(SRC)} imports {bad}"


def module_name(path: Path) -> str:
    parts = path.relative_to(SRC.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path) -> set[str]:
    """Every module an import statement may load: `from a import b` names `a` and `a.b`."""
    package = module_name(path) if path.name == "__init__.py" else module_name(path.parent)
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the package, up level - 1
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            names.add(base)
            names.update(f"{base}.{a.name}" for a in node.names)
    return names


def import_cycles(package: str) -> list[list[str]]:
    """Cycles among the modules of `frota.<package>` (each found once, from its first node)."""
    files = {module_name(p): p for p in (SRC / package).rglob("*.py")}
    edges = {m: sorted(imported_modules(p) & files.keys() - {m}) for m, p in files.items()}
    return find_cycles(edges)


def find_cycles(edges: dict[str, list[str]]) -> list[list[str]]:
    """Cycles of a graph given as node -> sorted successors (depth first)."""
    cycles: list[list[str]] = []
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> None:
        for nxt in edges[module]:
            if nxt in path:
                cycles.append([*path[path.index(nxt) :], nxt])
            elif nxt not in done:
                visit(nxt, [*path, nxt])
        done.add(module)

    for start in sorted(edges):
        if start not in done:
            visit(start, [start])
    return cycles


def _package(root: Path, name: str, modules: dict[str, str]) -> None:
    (root / name).mkdir(parents=True)
    for module, text in modules.items():
        (root / name / f"{module}.py").write_text(text, encoding="utf-8")


def test_the_cycle_finder_finds_cycles(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sys.modules[__name__], "SRC", tmp_path / "frota")
    _package(
        tmp_path / "frota",
        "demo",
        {
            "__init__": "from frota.demo.a import A\n",
            "a": "from frota.demo.b import B\nA = 1\n",
            "b": "from .c import C\nB = 1\n",
            "c": "import frota.demo.a\n\nC = 1\n",
        },
    )
    assert import_cycles("demo") == [
        ["frota.demo.a", "frota.demo.b", "frota.demo.c", "frota.demo.a"]
    ]
    # `from the_package import submodule` runs the package's __init__ first: a cycle if that
    # __init__ imports the importer (transaction.py's old `from frota.load import faults`).
    _package(
        tmp_path / "frota",
        "step",
        {"__init__": "from frota.step.run import go\n", "run": "from frota.step import faults\n"},
    )
    (tmp_path / "frota" / "step" / "faults.py").write_text("", encoding="utf-8")
    assert import_cycles("step") == [["frota.step", "frota.step.run", "frota.step"]]


@pytest.mark.parametrize("package", ["load", "ops"])
def test_no_import_cycle_inside(package: str) -> None:
    assert import_cycles(package) == []


MAX_FUNCTION_LINES = 60  # a longer function is doing several jobs: split it by what it does


@pytest.mark.parametrize("package", ["load", "ops"])
def test_functions_stay_small(package: str) -> None:
    for path in (SRC / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                where = f"{path.relative_to(SRC)}:{node.lineno} {node.name}"
                assert lines <= MAX_FUNCTION_LINES, f"{where} has {lines} lines"


# ---------------------------------------------------------------- no cycle anywhere in frota


def test_no_import_cycle_between_modules() -> None:
    assert import_cycles(".") == []


def test_no_import_cycle_between_packages() -> None:
    """frota.db, frota.observe, frota.load…: each part of the flow sits above or below another."""
    files = {module_name(p): p for p in SRC.rglob("*.py")}
    edges: dict[str, set[str]] = {}
    for module, path in files.items():
        top = ".".join(module.split(".")[:2])
        imported = {".".join(m.split(".")[:2]) for m in imported_modules(path) & files.keys()}
        edges.setdefault(top, set()).update(imported - {top})
    assert find_cycles({node: sorted(nexts) for node, nexts in edges.items()}) == []


def test_the_warehouse_command_loads_no_loader_generator_or_publisher() -> None:
    """What `frota warehouse` imports at run time (the static rules above cannot see a
    module-level import in the shared orchestrator)."""
    import subprocess

    code = (
        "import sys, frota.cli.app, frota.orchestrate.run\n"
        "from frota.cli.pipeline import warehouse\n"
        "print(' '.join(m for m in sys.modules if m.split('.')[:2] in "
        "(['frota','load'], ['frota','generate'], ['frota','publish'])))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "", f"the warehouse command imported: {out}"
