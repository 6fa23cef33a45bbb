"""The analytics machine's step: replicate new batches into the warehouse, then run dbt.

`build_warehouse(settings)` is what `frota warehouse` (and the last step of `frota run`)
calls. One run at a time per warehouse, end to end (frota.warehouse.lock). Errors:
`LockHeld` (exit 4) when another run holds the warehouse, `DatabaseUnreachable` (exit 5) when a
database cannot be reached, `WarehouseError` (exit 8) naming the failing dbt model or test.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from frota.config import Settings
from frota.contract.categories import Categories
from frota.errors import ConfigError
from frota.i18n import _
from frota.observe.runs import recorded
from frota.warehouse.categories import mark_built, write_categories
from frota.warehouse.dbt import (
    DbtSummary,
    default_work_dir,
    invoke,
    project_fingerprint,
    stale_sources,
    summarise,
)
from frota.warehouse.dbt import work_dir as dbt_work_dir
from frota.warehouse.lock import warehouse_lock
from frota.warehouse.project import project_dir
from frota.warehouse.raw import BUILDS, LEDGER, RAW_SCHEMA, REPLICATION_SEQ
from frota.warehouse.replicate import ReplicationResult, replicate, source_engine
from frota.warehouse.target import (
    WarehouseConnection,
    WarehouseTarget,
    check_installed,
    warehouse_target,
)

Progress = Callable[[str], None]
_NO_UNIT_TESTS = ("--exclude-resource-type", "unit_test")
# An incremental build leaves frota's views as they are: a view's SQL changes only with the
# project or its variables, and either makes the build a full refresh; each node costs dbt
# its fixed overhead. Their tests still run (no indirect selection: excluding a model would
# exclude its tests too). frota's views read only sources, views and incremental tables,
# which such a build never drops (PostgreSQL drops the views on a table dbt replaces).
_KEEP_VIEWS = (
    "--exclude",
    "package:frota,config.materialized:view",
    "--indirect-selection",
    "empty",
)


@dataclass(frozen=True)
class WarehouseResult:
    """What one `build_warehouse` did."""

    batches_replicated: int
    rows_replicated: dict[str, int]
    models_built: int = 0
    tests_passed: int = 0
    tests_failed: int = 0
    tests_warned: int = 0
    batch_ids: tuple[str, ...] = ()
    freshness_warnings: tuple[str, ...] = ()
    replicate_seconds: float = 0.0
    dbt_seconds: float = 0.0
    warehouse: str = ""
    dbt_ran: bool = False
    full_refresh: bool = False  # every model rebuilt (asked for, or something changed)
    up_to_date: bool = False  # nothing new since the last build: dbt build not needed


@dataclass(frozen=True)
class _Plan:
    """What the next dbt build must be."""

    covered: int  # the newest replication run, which the build will cover
    variables: dict[str, Any]  # dbt's --vars
    fingerprint: str
    refresh_reason: str | None  # why every model must be rebuilt, if it must
    up_to_date: bool  # the last build covered all of it, with this project and these words


def replicate_only(
    settings: Settings,
    *,
    progress: Progress | None = None,
    bar: Callable[[int], None] | None = None,
) -> ReplicationResult:
    """Replicate new batches into the warehouse's `raw` schema, without running dbt; `bar`
    counts the maintenance rows copied."""
    target = warehouse_target(settings)
    check_installed(target)
    with warehouse_lock(target):
        return _replicate(settings, target, progress, bar)


def _replicate(
    settings: Settings,
    target: WarehouseTarget,
    progress: Progress | None,
    bar: Callable[[int], None] | None = None,
) -> ReplicationResult:
    engine = source_engine(settings)
    try:
        with target.connect() as wh:
            return replicate(engine, wh, progress=progress, bar=bar)
    finally:
        engine.dispose()


def transform(
    settings: Settings,
    *,
    dbt_dir: Path | None = None,
    freshness: bool = True,
    full_refresh: bool = False,
    select: Sequence[str] = (),
    progress: Progress | None = None,
) -> tuple[DbtSummary, tuple[str, ...]]:
    """`dbt build` (then `dbt source freshness`); return the build summary and stale sources.

    Before it, every word of the raw layer is classified with frota.contract.categories and
    the `[categories]` overrides (raw.frota_categorias, which the models join). The build is a
    full refresh when asked, when a word already built changed category, or when the project
    (or a variable it reads) differs from the last build's; it is skipped when the last build
    covered every replicated batch with the same project and words. A successful whole build
    is recorded in raw.frota_dbt_builds; the next build tests only what was replicated after
    it (a failed or `select`ed build records nothing). The project is the `warehouse_project`
    setting's, else the shipped one. `dbt_dir`: dbt's work folder (default: one per warehouse
    and project under the `cache_dir` setting); `select`: dbt node selectors.
    """
    target = warehouse_target(settings)
    check_installed(target)
    with warehouse_lock(target):
        return _transform(settings, target, dbt_dir, freshness, full_refresh, select, progress)


def _transform(
    settings: Settings,
    target: WarehouseTarget,
    dbt_dir: Path | None,
    freshness: bool,
    full_refresh: bool,
    select: Sequence[str],
    progress: Progress | None,
) -> tuple[DbtSummary, tuple[str, ...]]:
    say = progress or (lambda _msg: None)
    project = project_dir(settings)
    with dbt_work_dir(dbt_dir or default_work_dir(target, settings.cache_dir, project)) as work:
        started = time.perf_counter()
        plan = _plan(settings, target, project, full_refresh, whole=not select)
        refresh = full_refresh or plan.refresh_reason is not None
        if plan.up_to_date and not refresh and not select:
            say("nothing new since the last dbt build: the models are up to date")
            summary = DbtSummary(command="build", up_to_date=True)
        else:
            if plan.refresh_reason and not full_refresh:
                say(f"{plan.refresh_reason}: rebuilding every model (full refresh)")
            # The unit tests check the models' logic on hand-made rows, not the data: they run
            # when the project may have changed (every full refresh), not on each batch.
            command = ["build", "--full-refresh"] if refresh else ["build", *_NO_UNIT_TESTS]
            if select:
                command += ["--select", *select]
            elif not refresh:
                command += _KEEP_VIEWS
            res = invoke(
                target, command, work, project=project, variables=plan.variables, progress=progress
            )
            summary = summarise("build", res, work, target)
            if not select:
                _record_build(target, plan)
        stale: tuple[str, ...] = ()
        if freshness:
            stale = stale_sources(
                invoke(
                    target, ["source", "freshness"], work, project=project, variables=plan.variables
                )
            )
        seconds = time.perf_counter() - started
    return replace(summary, seconds=seconds, full_refresh=refresh), stale


def time_zone(settings: Settings) -> str:
    """The `timezone` setting, checked (ConfigError, exit 7, for a name the system lacks)."""
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            _("unknown time zone {timezone!r} (setting timezone)").format(
                timezone=settings.timezone
            ),
            hint=_("use an IANA name such as America/Sao_Paulo or America/Manaus"),
        ) from None
    return settings.timezone


def project_variables(settings: Settings) -> dict[str, Any]:
    """dbt's --vars for this warehouse as a build would pass them (for running dbt by hand)."""
    target = warehouse_target(settings)
    with target.connect() as wh:
        wh.ensure_raw()
        return _variables(wh, settings)


def _variables(wh: WarehouseConnection, settings: Settings) -> dict[str, Any]:
    """What the models read besides the data: the time zone, and the sources that record
    completion dates (a maintenance of theirs without one is an open visit)."""
    sources = wh.execute(
        f"SELECT DISTINCT source FROM {RAW_SCHEMA}.{LEDGER} "
        "WHERE manutencoes_concluidas > 0 ORDER BY source"
    )
    return {
        "fuso_horario": time_zone(settings),
        "fontes_com_conclusao": [s for (s,) in sources],
    }


def _plan(
    settings: Settings, target: WarehouseTarget, project: Path, refresh: bool, whole: bool
) -> _Plan:
    """Write the categories, and say what the next build must be. A full refresh of the whole
    project (`whole`: no selection) forgets the builds before it first, so that its tests
    check every row."""
    with target.connect() as wh:
        wh.ensure_raw()
        words_changed = write_categories(wh, Categories.from_settings(settings))
        variables = _variables(wh, settings)
        fingerprint = project_fingerprint(variables, project)
        (covered,) = wh.execute(f"SELECT max({REPLICATION_SEQ}) FROM {RAW_SCHEMA}.{LEDGER}")[0]
        last = wh.execute(
            f"SELECT replication_seq, projeto FROM {RAW_SCHEMA}.{BUILDS} "
            "ORDER BY built_at DESC, replication_seq DESC LIMIT 1"
        )
        reason = None
        if not last:
            reason = "no complete build recorded yet"
        elif words_changed:
            reason = "categories changed since the last build"
        elif last[0][1] != fingerprint:
            reason = (
                "the dbt project or its settings changed since the last build (a new frota "
                "version, the timezone setting, or a source's first completion date)"
            )
        if (reason or refresh) and whole:
            with wh.transaction():
                wh.execute(f"DELETE FROM {RAW_SCHEMA}.{BUILDS}")
    covered = covered or 0
    up_to_date = bool(last) and last[0][0] == covered and reason is None
    return _Plan(covered, variables, fingerprint, reason, up_to_date)


def _record_build(target: WarehouseTarget, plan: _Plan) -> None:
    """After a successful whole build: what it covered, and with which project and words."""
    with target.connect() as wh, wh.transaction():
        now = datetime.now(UTC).replace(tzinfo=None)
        wh.execute(
            f"INSERT INTO {RAW_SCHEMA}.{BUILDS} VALUES (?, ?, ?)",
            (plan.covered, now, plan.fingerprint),
        )
        mark_built(wh)


def _counts(result: WarehouseResult) -> dict[str, int]:
    return {
        "batches_replicated": result.batches_replicated,
        "rows_replicated": sum(result.rows_replicated.values()),
        "models_built": result.models_built,
        "tests_passed": result.tests_passed,
        "tests_warned": result.tests_warned,
    }


@recorded("warehouse", counts=_counts)
def build_warehouse(
    settings: Settings,
    *,
    run_dbt: bool = True,
    progress: Progress | None = None,
    dbt_dir: Path | None = None,
    freshness: bool = True,
    full_refresh: bool = False,
    select: Sequence[str] = (),
    bar: Callable[[int], None] | None = None,
) -> WarehouseResult:
    """Replicate what the operational DB received since the last run, then `dbt build`; one
    run at a time per warehouse (LockHeld, exit 4, for a second one)."""
    say = progress or (lambda _msg: None)
    target = warehouse_target(settings)
    check_installed(target)
    time_zone(settings)  # a bad setting fails before any work
    with warehouse_lock(target):
        rep = _replicate(settings, target, progress, bar)
        summary = DbtSummary(command="build")
        stale: tuple[str, ...] = ()
        if run_dbt:
            say(f"dbt build on {target.masked}")
            summary, stale = _transform(
                settings, target, dbt_dir, freshness, full_refresh, select, progress
            )
            if not summary.up_to_date:
                say(
                    f"{summary.models_built} models built, {summary.tests_passed} tests "
                    f"passed, {summary.tests_failed} failed"
                )
            for line in stale:
                say(f"stale source: {line}")
    return WarehouseResult(
        batches_replicated=len(rep.batches),
        rows_replicated=dict(rep.rows),
        models_built=summary.models_built,
        tests_passed=summary.tests_passed,
        tests_failed=summary.tests_failed,
        tests_warned=summary.tests_warned,
        batch_ids=rep.batches,
        freshness_warnings=stale,
        replicate_seconds=rep.seconds,
        dbt_seconds=summary.seconds,
        warehouse=target.masked,
        dbt_ran=run_dbt and not summary.up_to_date,
        full_refresh=summary.full_refresh,
        up_to_date=summary.up_to_date,
    )
