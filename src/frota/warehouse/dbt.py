"""Run a dbt project in-process (dbtRunner): the one that ships inside the package, or the
user's own on top of it (frota.warehouse.project).

The shipped project is package data (`frota/warehouse/dbt_project`), read-only when
installed: the profile, `target/` and logs go to a work folder. The profile is written at run
time; a password never lands in it (dbt reads it from a DBT_ENV_SECRET_ variable, which dbt
scrubs from logs).

`python -m frota.warehouse.dbt docs [--warehouse URL] [--dir DIR]` generates dbt's
documentation site (lineage graph included) for the warehouse; `... serve` serves it on
localhost:8080.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from frota.config import load_settings
from frota.i18n import _
from frota.warehouse.errors import WarehouseError
from frota.warehouse.integrity import describe as describe_integrity
from frota.warehouse.project import PACKAGE_ENV, PROJECT_DIR, ensure_package, project_dir
from frota.warehouse.raw import ANALYTICS_SCHEMA
from frota.warehouse.target import WarehouseTarget, check_installed, warehouse_target

PROFILE = "frota"
_QUIET_STATUSES = ("pass", "success", "skipped")
_SECRET_ENV = "DBT_ENV_SECRET_FROTA_WAREHOUSE_PASSWORD"
# What dbt writes when someone runs it inside the project folder: not part of the project.
_NOT_PROJECT = ("target", "logs", "dbt_packages")


@dataclass(frozen=True)
class DbtSummary:
    """What one dbt invocation did."""

    command: str
    models_built: int = 0
    tests_passed: int = 0
    tests_failed: int = 0
    tests_warned: int = 0
    seeds_loaded: int = 0
    skipped: int = 0
    warnings: tuple[str, ...] = ()
    failures: tuple[str, ...] = ()
    seconds: float = 0.0
    full_refresh: bool = False
    up_to_date: bool = False  # not run: the last build covered everything


def profile_yaml(target: WarehouseTarget, threads: int = 4) -> str:
    """profiles.yml for the target; no secret in it."""
    if target.kind == "duckdb":
        assert target.path is not None
        output = {
            "type": "duckdb",
            "path": str(target.path.resolve()),
            "schema": ANALYTICS_SCHEMA,
            "threads": threads,
        }
    else:
        output = {
            "type": "postgres",
            "host": target.host,
            "port": target.port,
            "user": target.user,
            "password": f"{{{{ env_var('{_SECRET_ENV}', '') }}}}",
            "dbname": target.database,
            "schema": ANALYTICS_SCHEMA,
            "threads": threads,
            "connect_timeout": 10,
        }
    lines = [f"{PROFILE}:", "  target: warehouse", "  outputs:", "    warehouse:"]
    lines += [f"      {key}: {_yaml_scalar(value)}" for key, value in output.items()]
    return "\n".join(lines) + "\n"


def _yaml_scalar(value: Any) -> str:
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def dbt_environment(target: WarehouseTarget) -> dict[str, str]:
    """What dbt's environment gets for one invocation, from the settings alone: usage stats
    off, the password as a secret dbt scrubs from its logs."""
    env = {
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
        _SECRET_ENV: target.password or "",
        PACKAGE_ENV: str(PROJECT_DIR),  # what a user's project depends on (packages.yml)
    }
    if target.kind == "postgres":
        # PostgreSQL's JIT compiles every query the planner prices high: on these models it
        # spent longer compiling (about 1.4 s a query) than running. libpq reads PGOPTIONS.
        env["PGOPTIONS"] = "-c jit=off"
    return env


def default_work_dir(
    target: WarehouseTarget, cache_dir: str | Path, project: Path = PROJECT_DIR
) -> Path:
    """A folder per warehouse (and per project of the user's) in the user's cache (setting
    `cache_dir`): dbt's partial parsing reuses it (a cold parse costs seconds), and its logs
    stay there for the next error message to point at."""
    own = "" if project == PROJECT_DIR else f" {project}"
    key = hashlib.sha256(f"{target.key}{own}".encode()).hexdigest()[:10]
    return Path(cache_dir) / f"dbt-{key}"


def project_fingerprint(
    variables: dict[str, Any] | None = None, project: Path = PROJECT_DIR
) -> str:
    """A hash of the dbt project's files (the shipped one's, and the user's own project's when
    it is another) and the variables a build gets: when it differs from the last build's (a
    new frota version changed a model, the user changed theirs, or a setting the models read
    changed), the incremental models must be rebuilt from scratch."""
    digest = hashlib.sha256()
    for root in dict.fromkeys((PROJECT_DIR, project)):
        for path in sorted(root.rglob("*")):
            relative = path.relative_to(root)
            if path.suffix not in (".sql", ".yml", ".csv") or relative.parts[0] in _NOT_PROJECT:
                continue
            digest.update(relative.as_posix().encode() + b"\0")
            digest.update(path.read_bytes() + b"\0")
    digest.update(json.dumps(variables or {}, sort_keys=True).encode())
    return digest.hexdigest()[:16]


@contextmanager
def work_dir(path: Path | None) -> Iterator[Path]:
    """The given folder (kept), or a temporary one removed afterwards."""
    if path is not None:
        path.mkdir(parents=True, exist_ok=True)
        yield path
        return
    tmp = Path(tempfile.mkdtemp(prefix="frota-dbt-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def invoke(
    target: WarehouseTarget,
    command: list[str],
    work: Path,
    *,
    project: Path = PROJECT_DIR,
    variables: dict[str, Any] | None = None,
    progress: Callable[[str], None] | None = None,
) -> Any:
    """Run one dbt command of `project` against the target (with the project's `variables`);
    return dbt's result object. A user's project gets the shipped one installed as its
    package first (`dbt deps`, when its link is missing or stale)."""
    from dbt.cli.main import dbtRunner

    (work / "profiles.yml").write_text(profile_yaml(target), encoding="utf-8")
    if command != ["deps"]:
        ensure_package(project, lambda: _deps(target, work, project))
    args = [
        *command,
        *(["--vars", json.dumps(variables, sort_keys=True)] if variables else []),
        "--project-dir",
        str(project),
        "--profiles-dir",
        str(work),
        "--log-path",
        str(work / "logs"),
        "--no-use-colors",
        "--log-level",
        "none",
        "--no-send-anonymous-usage-stats",
        # dbt's artifacts go to the work folder (`deps` has none, and refuses the option)
        *(["--target-path", str(work / "target")] if command != ["deps"] else []),
    ]
    callbacks = [_progress_callback(progress)] if progress else []
    # dbt runs in this process: its environment is set for the call, and restored after it.
    with mock.patch.dict(os.environ, dbt_environment(target)):
        try:
            return dbtRunner(callbacks=callbacks).invoke(args)
        finally:
            if target.kind == "duckdb":
                _release_duckdb()


def _deps(target: WarehouseTarget, work: Path, project: Path) -> None:
    res = invoke(target, ["deps"], work, project=project)
    if not res.success:
        raise WarehouseError(
            _("dbt deps could not install frota's models into {project}: {exception}").format(
                project=project, exception=res.exception
            ),
            hint=_("check {packages}; dbt's log: {log}").format(
                packages=project / "packages.yml", log=work / "logs" / "dbt.log"
            ),
        )


def _release_duckdb() -> None:
    """Close the DuckDB instance dbt-duckdb keeps open in-process after a run.

    dbt-duckdb caches it at class level; left open, it holds the warehouse file's lock for as
    long as this process lives (an Airflow worker, `frota run`), and a later connection with
    another configuration (read_only) fails.
    """
    try:
        from dbt.adapters.duckdb.connections import DuckDBConnectionManager as manager
    except ImportError:  # pragma: no cover
        return
    with manager._LOCK:
        if manager._ENV is not None:
            try:
                manager._ENV.close()
            finally:
                manager._ENV = None


def _progress_callback(progress: Callable[[str], None]) -> Callable[[Any], None]:
    def on_event(event: Any) -> None:
        if event.info.name != "NodeFinished":
            return
        node = event.data.node_info
        if node.resource_type in ("model", "seed") or node.node_status not in _QUIET_STATUSES:
            progress(f"dbt: {node.resource_type} {node.node_name}: {node.node_status}")

    return on_event


def summarise(
    command: str, res: Any, work: Path, target: WarehouseTarget | None = None
) -> DbtSummary:
    """Counts from a dbtRunner result; raise WarehouseError naming what failed (with the
    `target`, a failed `integridade` test also names its model and the checks it broke)."""
    log = work / "logs" / "dbt.log"
    if res.exception is not None and res.result is None:
        raise WarehouseError(
            _("dbt {command} could not run: {exception}").format(
                command=command, exception=res.exception
            ),
            hint=_("see dbt's log: {log}").format(log=log),
        )
    counts = {"model": 0, "pass": 0, "fail": 0, "warn": 0, "seed": 0, "skipped": 0}
    failures: list[str] = []
    warnings: list[str] = []
    for r in getattr(res.result, "results", []) or []:
        kind = str(r.node.resource_type).split(".")[-1].lower()
        status = str(r.status).split(".")[-1].lower()
        name = r.node.unique_id
        if status in ("error", "fail", "runtime error"):
            found = describe_integrity(target, r.node) if target and status == "fail" else None
            failures.append(f"{name}: {found or (r.message or status).strip()}")
            if kind in ("test", "unit_test"):
                counts["fail"] += 1
        elif status == "skipped":
            counts["skipped"] += 1
        elif status == "warn":
            warnings.append(f"{name}: {(r.message or status).strip()}")
            counts["warn"] += 1
        elif kind == "model":
            counts["model"] += 1
        elif kind in ("test", "unit_test"):
            counts["pass"] += 1
        elif kind == "seed":
            counts["seed"] += 1
    summary = DbtSummary(
        command=command,
        models_built=counts["model"],
        tests_passed=counts["pass"],
        tests_failed=counts["fail"],
        tests_warned=counts["warn"],
        seeds_loaded=counts["seed"],
        skipped=counts["skipped"],
        warnings=tuple(warnings),
        failures=tuple(failures),
    )
    if failures or not res.success:
        shown = "\n  ".join(failures[:10]) or str(res.exception or "unknown error")
        raise WarehouseError(
            _("dbt {command} failed ({n} node(s)):").format(command=command, n=len(failures))
            + f"\n  {shown}",
            failures=tuple(f.split(":", 1)[0] for f in failures),
            hint=_(
                "fix the model or the data, then rerun `frota warehouse`; dbt's log: {log}"
            ).format(log=log),
        )
    return summary


def stale_sources(res: Any) -> tuple[str, ...]:
    """Sources `dbt source freshness` found late (warn or error): reported, never fatal."""
    stale = []
    for r in getattr(res.result, "results", []) or []:
        status = str(r.status).split(".")[-1].lower()
        if status != "pass":
            age = getattr(r, "age", None)
            late = f" (last data {age / 3600:.0f} h ago)" if age else ""
            stale.append(f"{r.node.unique_id}: {status}{late}")
    return tuple(stale)


def main(argv: list[str] | None = None) -> int:
    """`python -m frota.warehouse.dbt {docs,serve,debug} [--warehouse URL] [--dir DIR]`.

    The warehouse and its password come from the settings (frota.toml, FROTA_* variables), as
    for `frota warehouse`; `--warehouse` overrides the URL."""
    parser = argparse.ArgumentParser(prog="python -m frota.warehouse.dbt")
    parser.add_argument("command", choices=["docs", "serve", "debug"])
    parser.add_argument("--warehouse", help="warehouse URL [default: the warehouse setting]")
    parser.add_argument("--dir", type=Path, help="dbt's work folder (default: the user cache)")
    opts = parser.parse_args(argv)
    settings = load_settings(warehouse=opts.warehouse)
    target = warehouse_target(settings)
    check_installed(target)
    project = project_dir(settings)
    work = (opts.dir or default_work_dir(target, settings.cache_dir, project)).resolve()
    work.mkdir(parents=True, exist_ok=True)
    command = {
        "docs": ["docs", "generate"],
        "serve": ["docs", "serve", "--port", "8080"],
        "debug": ["debug"],
    }[opts.command]
    res = invoke(
        target, command, work, project=project, variables={"fuso_horario": settings.timezone}
    )
    if opts.command == "docs":
        print(f"dbt docs written to {work / 'target' / 'index.html'}")
        again = f" --warehouse {target.masked}" if opts.warehouse else ""
        print(f"browse them: python -m frota.warehouse.dbt serve{again}")
    return 0 if res.success else 1


if __name__ == "__main__":
    raise SystemExit(main())
