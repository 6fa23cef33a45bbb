"""The analytics machine's step: replicate new batches into the warehouse, then run dbt.

`build_warehouse(settings)` is what `frota warehouse` (and the last step of `frota run`)
calls. Errors: `DatabaseUnreachable` (exit 5) when a database cannot be reached,
`WarehouseError` (exit 8) naming the failing dbt model or test.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from frota.config import Settings
from frota.contract.categories import Categories
from frota.warehouse.categories import mark_built, write_categories
from frota.warehouse.dbt import DbtSummary, default_work_dir, invoke, stale_sources, summarise
from frota.warehouse.dbt import work_dir as dbt_work_dir
from frota.warehouse.replicate import ReplicationResult, replicate, source_engine
from frota.warehouse.target import (
    BUILDS,
    LEDGER,
    RAW_SCHEMA,
    REPLICATION_SEQ,
    WarehouseTarget,
    check_installed,
    warehouse_target,
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
    full_refresh: bool = False  # every model rebuilt (asked for, or the categories changed)


def replicate_only(
    settings: Settings, *, progress: Callable[[str], None] | None = None
) -> ReplicationResult:
    """Replicate new batches into the warehouse's `raw` schema, without running dbt."""
    target = warehouse_target(settings)
    check_installed(target)
    engine = source_engine(settings)
    try:
        with target.connect() as wh:
            return replicate(engine, wh, progress=progress)
    finally:
        engine.dispose()


def transform(
    settings: Settings,
    *,
    dbt_dir: Path | None = None,
    freshness: bool = True,
    full_refresh: bool = False,
    progress: Callable[[str], None] | None = None,
) -> tuple[DbtSummary, tuple[str, ...]]:
    """`dbt build` (then `dbt source freshness`); return the build summary and stale sources.

    Before it, every word of the raw layer is classified with frota.contract.categories and
    the `[categories]` overrides (raw.frota_categorias, which the models join); when a word
    already built changed category, the build is a full refresh. A successful build is
    recorded in raw.frota_dbt_builds with the replication run it covered; the next build
    tests only what was replicated after it (a failed build records nothing, so its failures
    are tested again). `dbt_dir`: dbt's work folder (default: one per warehouse under the
    `cache_dir` setting).
    """
    target = warehouse_target(settings)
    check_installed(target)
    say = progress or (lambda _msg: None)
    with dbt_work_dir(dbt_dir or default_work_dir(target, settings.cache_dir)) as work:
        started = time.perf_counter()
        covered, refresh = _prepare(target, Categories.from_settings(settings), full_refresh)
        if refresh and not full_refresh:
            say("categories changed since the last build: rebuilding every model (full refresh)")
        command = ["build", *(["--full-refresh"] if refresh else [])]
        summary = summarise("build", invoke(target, command, work, progress=progress), work)
        _record_build(target, covered)
        stale: tuple[str, ...] = ()
        if freshness:
            stale = stale_sources(invoke(target, ["source", "freshness"], work))
        seconds = time.perf_counter() - started
    return replace(summary, seconds=seconds, full_refresh=refresh), stale


def _prepare(
    target: WarehouseTarget, categories: Categories, full_refresh: bool
) -> tuple[int, bool]:
    """Write the categories; return the newest replication run and whether the build must be
    a full refresh (which also forgets past builds, so that its tests check every row)."""
    with target.connect() as wh:
        wh.ensure_raw()
        full_refresh = write_categories(wh, categories) or full_refresh
        with wh.transaction():
            if full_refresh:
                wh.execute(f"DELETE FROM {RAW_SCHEMA}.{BUILDS}")
            seq = wh.execute(f"SELECT max({REPLICATION_SEQ}) FROM {RAW_SCHEMA}.{LEDGER}")[0][0]
    return seq or 0, full_refresh


def _record_build(target: WarehouseTarget, seq: int) -> None:
    with target.connect() as wh, wh.transaction():
        now = datetime.now(UTC).replace(tzinfo=None)
        wh.execute(f"INSERT INTO {RAW_SCHEMA}.{BUILDS} VALUES (?, ?)", (seq, now))
        mark_built(wh)


def build_warehouse(
    settings: Settings,
    *,
    run_dbt: bool = True,
    progress: Callable[[str], None] | None = None,
    dbt_dir: Path | None = None,
    freshness: bool = True,
    full_refresh: bool = False,
) -> WarehouseResult:
    """Replicate what the operational DB received since the last run, then `dbt build`."""
    say = progress or (lambda _msg: None)
    target = warehouse_target(settings)
    rep = replicate_only(settings, progress=progress)
    summary = DbtSummary(command="build")
    stale: tuple[str, ...] = ()
    if run_dbt:
        say(f"dbt build on {target.masked}")
        summary, stale = transform(
            settings,
            dbt_dir=dbt_dir,
            freshness=freshness,
            full_refresh=full_refresh,
            progress=progress,
        )
        say(
            f"warehouse: {summary.models_built} models built, {summary.tests_passed} tests "
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
        dbt_ran=run_dbt,
        full_refresh=summary.full_refresh,
    )
