"""What the wheel carries: the version from the package metadata, and every file the package
reads at run time (dbt project, migrations, catalogs) declared as package data.
scripts/wheel-test.sh builds and uses the real wheel; these checks are the fast part."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from importlib.metadata import version
from pathlib import Path

import frota
from frota.errors import EXIT_CODES

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


DOCS = ("README.md", "LEIAME.md", "docs/deployment.md")


def test_install_lines_name_this_version_s_wheel() -> None:
    """The docs install the wheel scripts/wheel-test.sh builds, installs and uses."""
    wheel = f"frota-{PYPROJECT['project']['version']}-py3-none-any.whl"
    script = (ROOT / "scripts" / "wheel-test.sh").read_text(encoding="utf-8")
    assert "-m build --outdir" in script and 'pip install "$WHEEL[$extras]"' in script
    for doc in DOCS:
        text = (ROOT / doc).read_text(encoding="utf-8")
        named = set(re.findall(r"frota-[^\s'\"\[]+\.whl", text))
        assert named == {wheel}, f"{doc} names {named}"


def test_the_two_readmes_link_each_other_and_list_the_exit_codes() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    leiame = (ROOT / "LEIAME.md").read_text(encoding="utf-8")
    assert "(LEIAME.md)" in readme.split("\n## ")[0]
    assert "(README.md)" in leiame.split("\n## ")[0]
    table = leiame[leiame.index("## Códigos de saída") :].split("\n## ")[0]
    assert [int(m) for m in re.findall(r"^\| (\d+) \|", table, re.M)] == sorted(EXIT_CODES)
    assert "## Suas próprias exportações do Excel" in leiame.split("## Os dois comandos")[0]
