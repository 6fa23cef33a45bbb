"""Role-sized installs: the base package is the source role (and the server on SQLite); dbt and
DuckDB come with the `warehouse` extra, and without it the warehouse steps say which extra to
install (exit 7) before doing anything. Checked by running frota with those packages hidden."""

from __future__ import annotations

import os
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
# numpy: the replication hands DuckDB its pages of rows (frota.warehouse.target)
WAREHOUSE_PACKAGES = {"dbt-core", "dbt-duckdb", "duckdb", "dbt-postgres", "numpy"}
REPORT_PACKAGES = {"matplotlib", "babel", "jinja2"}  # the analytics role also writes the report

# A sitecustomize that makes `import dbt…` / `import duckdb…` fail as if not installed.
HIDE = """
import sys

class _Hidden:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("dbt", "duckdb"):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None

sys.meta_path.insert(0, _Hidden())
"""


def _name(requirement: str) -> str:
    return requirement.split("[")[0].split("~")[0].split(">")[0].split("=")[0].strip()


def test_the_warehouse_is_an_extra() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    base = {_name(r) for r in project["dependencies"]}
    extras = project["optional-dependencies"]
    assert not base & (WAREHOUSE_PACKAGES | REPORT_PACKAGES)
    assert {_name(r) for r in extras["warehouse"]} == WAREHOUSE_PACKAGES | REPORT_PACKAGES
    assert not {_name(r) for r in extras["postgres"]} & WAREHOUSE_PACKAGES  # server stays lean
    [own] = [r for r in extras["test"] if r.startswith("frota[")]
    assert {"warehouse", "mysql", "postgres"} <= set(own[6:-1].split(","))


class Hidden:
    """frota run in a working folder of its own, with dbt and duckdb hidden."""

    def __init__(self, site: Path, work: Path) -> None:
        (site / "sitecustomize.py").write_text(HIDE, encoding="utf-8")
        self.work = work
        self.env = {
            **{k: v for k, v in os.environ.items() if not k.startswith("FROTA_")},
            "PYTHONPATH": os.pathsep.join([str(site), str(ROOT / "src")]),
            "FROTA_VEHICLES": "8",
        }

    def python(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, *args],
            cwd=self.work,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    def frota(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.python("-m", "frota", *args)


@pytest.fixture(scope="module")
def hidden(tmp_path_factory: pytest.TempPathFactory) -> Hidden:
    return Hidden(tmp_path_factory.mktemp("hide"), tmp_path_factory.mktemp("work"))


def test_packages_are_really_hidden(hidden: Hidden) -> None:
    for module in ("duckdb", "dbt.cli.main"):
        probe = hidden.python("-c", f"import {module}")
        assert probe.returncode != 0 and "No module named" in probe.stderr


@pytest.mark.parametrize(
    "args", [["warehouse"], ["warehouse", "--no-dbt"], ["run"], ["report"]], ids=" ".join
)
def test_warehouse_steps_name_the_extra(hidden: Hidden, args: list[str]) -> None:
    done = hidden.frota(*args)
    assert done.returncode == 7, done.stderr
    assert "error: the Python package 'duckdb' is not installed" in done.stderr
    assert "hint: pip install 'frota[warehouse]'" in done.stderr
    # `frota run` stopped before generating: nothing written but the failure, in the run history
    written = {p.name for p in (hidden.work / "data").rglob("*") if p.is_file()}
    assert written <= {"frota-runs.jsonl", "frota-runs.jsonl.lock", "frota.jsonl"}  # and its log


def test_source_and_server_roles_work_without_it(hidden: Hidden) -> None:
    source = hidden.frota("run", "--role", "source")
    assert source.returncode == 0, source.stderr
    server = hidden.frota("run", "--role", "server")
    assert server.returncode == 0, server.stderr
    assert "loaded batches" in server.stdout
    assert hidden.frota("run", "--no-warehouse").returncode == 0
