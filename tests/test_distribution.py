"""What the wheel carries: the version from the package metadata, and every file the package
reads at run time (dbt project, migrations, catalogs) declared as package data.
scripts/wheel-test.sh builds and uses the real wheel; these checks are the fast part."""

from __future__ import annotations

import tomllib
from fnmatch import fnmatch
from importlib.metadata import version
from pathlib import Path

import frota

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "src" / "frota"
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def test_version_comes_from_the_package_metadata() -> None:
    assert frota.__version__ == version("frota") == PYPROJECT["project"]["version"]


def test_every_data_file_is_package_data() -> None:
    patterns = PYPROJECT["tool"]["setuptools"]["package-data"]["frota"]
    data = [
        p.relative_to(PACKAGE).as_posix()
        for p in PACKAGE.rglob("*")
        if p.is_file() and p.suffix not in (".py", ".pyc", ".mo")
    ]
    assert "warehouse/dbt_project/dbt_project.yml" in data
    assert "db/migrations/script.py.mako" in data
    missing = [
        f
        for f in data
        if not any(fnmatch(f, p.replace("**/", "")) or fnmatch(f, p) for p in patterns)
    ]
    assert not missing, f"not in [tool.setuptools.package-data]: {missing}"
