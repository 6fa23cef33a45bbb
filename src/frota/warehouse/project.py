"""Which dbt project `frota warehouse` builds: the one shipped in the package, or the user's
own on top of it (`frota warehouse init-project DIR` writes one; the `warehouse_project`
setting points at it).

The project depends on the shipped one as the local dbt package `frota`. Its packages.yml
names it through FROTA_DBT_PROJECT, which frota sets to the installed package's project for
every dbt command (frota.warehouse.dbt); `dbt deps` links it under dbt_packages/ (a copy where
links are refused) and frota runs deps again whenever that link does not lead to the installed
project. So upgrading frota updates its models; frota never writes the user's files after
init-project, which refuses to overwrite any.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from frota.config import Settings
from frota.errors import ConfigError
from frota.i18n import _

# The shipped project (package data, read-only when installed) and the user's template.
PROJECT_DIR = Path(__file__).parent / "dbt_project"
TEMPLATE_DIR = Path(__file__).parent / "project_template"
PACKAGE = "frota"  # the shipped project's name, so a user's project cannot take it
# How a user's packages.yml finds the shipped project (frota.warehouse.dbt sets it).
PACKAGE_ENV = "FROTA_DBT_PROJECT"
_PLACEHOLDER = "__PROJECT__"
# Template files whose names a package or a repository would not keep as they are.
_RENAMED = {"gitignore": ".gitignore"}


@dataclass(frozen=True)
class NewProject:
    """What `init_project` wrote."""

    path: Path
    name: str
    files: tuple[str, ...]


def project_name(directory: Path) -> str:
    """A dbt project name from the folder's name: lowercase letters, digits and underscores,
    starting with a letter; `minha_frota` when nothing usable is left or it would be `frota`."""
    name = re.sub(r"[^a-z0-9_]+", "_", directory.resolve().name.lower()).strip("_")
    name = re.sub(r"^[0-9_]+", "", name)
    return name if name and name != PACKAGE else "minha_frota"


def init_project(directory: Path) -> NewProject:
    """Write a dbt project of the user's own into `directory` (created if needed); nothing is
    written if any of its files exists already."""
    name = project_name(directory)
    files: dict[Path, Path] = {}
    for source in sorted(p for p in TEMPLATE_DIR.rglob("*") if p.is_file()):
        relative = source.relative_to(TEMPLATE_DIR)
        files[relative.with_name(_RENAMED.get(relative.name, relative.name))] = source
    clashes = [str(directory / relative) for relative in files if (directory / relative).exists()]
    if clashes:
        raise ConfigError(
            _("{files} exist(s); frota never overwrites a file of yours").format(
                files=", ".join(clashes)
            ),
            hint=_("choose an empty or new folder"),
        )
    for relative, source in files.items():
        target = directory / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        text = source.read_text(encoding="utf-8").replace(_PLACEHOLDER, name)
        target.write_text(text, encoding="utf-8")
    return NewProject(directory, name, tuple(relative.as_posix() for relative in files))


def project_dir(settings: Settings) -> Path:
    """The dbt project `frota warehouse` builds: the `warehouse_project` setting, else the
    one shipped in the package."""
    if not settings.warehouse_project:
        return PROJECT_DIR
    project = Path(settings.warehouse_project).expanduser()
    if not (project / "dbt_project.yml").is_file():
        raise ConfigError(
            _("warehouse_project {project} is not a dbt project (no dbt_project.yml)").format(
                project=project
            ),
            hint=_("create one with `frota warehouse init-project {project}`").format(
                project=project
            ),
        )
    return project.resolve()


def ensure_package(project: Path, deps: Callable[[], None]) -> None:
    """Have `dbt deps` (the callable) install the shipped project into a user's project unless
    dbt_packages/frota already leads to the installed one."""
    if project == PROJECT_DIR:
        return
    installed = project / "dbt_packages" / PACKAGE
    if installed.is_symlink() and installed.resolve() == PROJECT_DIR.resolve():
        return
    deps()
