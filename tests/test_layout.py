"""Each machine's role needs only its own part (STYLE.md): the server's `load` never imports
`generate` or `publish`, the analytics machine's `warehouse` never imports `load`, and nothing
below `cli.py` imports it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).parent.parent / "src" / "frota"

FORBIDDEN = {
    "load": ("frota.generate", "frota.publish", "frota.warehouse", "frota.cli"),
    "warehouse": ("frota.load", "frota.generate", "frota.publish", "frota.cli"),
    "generate": ("frota.load", "frota.publish", "frota.warehouse", "frota.cli"),
    "publish": ("frota.load", "frota.generate", "frota.warehouse", "frota.cli"),
    "landing": ("frota.load", "frota.generate", "frota.publish", "frota.warehouse", "frota.cli"),
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
