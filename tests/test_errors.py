"""Every error frota raises on purpose is transient or terminal and has its own exit code:
nothing a user can trigger ends in exit 1, which is kept for bugs."""

from __future__ import annotations

import ast
import importlib
import pkgutil
from pathlib import Path

import frota
from frota.errors import (
    EXIT_CODES,
    EXIT_INTERNAL,
    FrotaError,
    TerminalError,
    TransientError,
)

SRC = Path(frota.__file__).parent
KINDS = {"FrotaError", "TransientError", "TerminalError"}


def _all_subclasses(cls: type) -> set[type]:
    found = set(cls.__subclasses__())
    for sub in list(found):
        found |= _all_subclasses(sub)
    return found


def test_every_error_is_transient_or_terminal_with_a_documented_exit_code() -> None:
    for info in pkgutil.walk_packages(frota.__path__, "frota."):
        # __main__ runs the CLI; the DAG imports only where Airflow is (scripts/airflow-test.sh).
        if info.name not in ("frota.__main__", "frota.orchestrate.airflow_dag"):
            importlib.import_module(info.name)
    errors = _all_subclasses(FrotaError) - {TransientError, TerminalError}
    assert len(errors) > 10
    for error in errors:
        assert issubclass(error, TransientError) != issubclass(error, TerminalError), error
        assert error.exit_code in EXIT_CODES and error.exit_code != EXIT_INTERNAL, error


def test_no_code_raises_an_error_without_a_kind() -> None:
    """`raise FrotaError(...)` (or a bare kind) would exit 1 as if it were a bug."""
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
                name = getattr(node.exc.func, "id", getattr(node.exc.func, "attr", None))
                assert name not in KINDS, f"{path.relative_to(SRC)}:{node.lineno} raises {name}"


def test_no_error_carries_a_transient_flag() -> None:
    """Transient or terminal is the class, never an attribute set on an instance."""
    for path in SRC.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and node.attr == "transient":
                raise AssertionError(f"{path.relative_to(SRC)}:{node.lineno} uses .transient")
