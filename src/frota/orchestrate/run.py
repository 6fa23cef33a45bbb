"""`frota run`: the steps of one or all machine roles, chained, with one run id.

Roles: `source` (publish the new exports of a folder, or generate + publish), `server`
(load), `analytics` (warehouse, then the fleet report), `all`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frota.config import Settings
from frota.db.engine import database_engine
from frota.db.migrate import upgrade_schema
from frota.observe.log import logger
from frota.observe.runs import active_run, recorded

if TYPE_CHECKING:
    # Each step imports its own package when it runs: `frota warehouse` on the analytics
    # machine never imports the loader, the generator or the publisher (STYLE.md).
    from frota.generate import GenerateResult
    from frota.load import LoadResult
    from frota.publish import ExportsResult, PublishResult

ROLES = ("all", "source", "server", "analytics")
# frota.observe.progress.progress_bar: (description, unit) -> a progress callback's context.
ProgressFactory = Callable[[str, str], AbstractContextManager[Callable[[int], None] | None]]


@dataclass(frozen=True)
class RunResult:
    """What each step of a run did (None: the step was not part of the role)."""

    run_id: str
    role: str
    generated: GenerateResult | None = None
    published: tuple[PublishResult, ...] | None = None
    loaded: LoadResult | None = None
    warehouse: Any = None
    report: Any = None  # frota.report.ReportResult
    exports: ExportsResult | None = None  # the source's own exports (`--from`, `exports`)

    @property
    def problems(self) -> list[str]:
        """Exports refused and batches set aside by this run, one line each."""
        refused = self.exports.refused if self.exports else []
        lines = [f"export {folder}: {why}" for folder, why in refused]
        return lines + [x.message for x in (self.loaded.rejected if self.loaded else ())]


def _counts(result: RunResult) -> dict[str, int]:
    loaded = result.loaded
    return {
        "batches_published": len(result.published or ()),
        "batches_loaded": len(loaded.loaded) if loaded else 0,
        "rows_loaded": loaded.rows_loaded if loaded else 0,
        "batches_replicated": result.warehouse.batches_replicated if result.warehouse else 0,
    }


@recorded(
    "run",
    counts=_counts,
    status=lambda r: "rejected" if r.problems else "ok",
    error=lambda r: "; ".join(r.problems) or None,
)
def run_pipeline(
    settings: Settings,
    role: str = "all",
    *,
    run_id: str | None = None,
    today: date | None = None,
    warehouse: bool = True,
    progress: ProgressFactory | None = None,
    from_dir: str | Path | None = None,
) -> RunResult:
    """Run the steps of `role` in order; each step is the same call its own command makes,
    recorded as a step of this run (`frota runs show RUN_ID`). The source publishes the new
    exports of `from_dir` (default: the `exports` setting) or, with neither, generates."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    run = active_run()
    assert run is not None  # @recorded made it, with `run_id` if one was given
    bars = progress or _no_progress
    if role in ("all", "analytics") and warehouse:
        # Fail before generating or loading anything when the warehouse cannot be built.
        from frota.warehouse.target import check_installed, warehouse_target

        check_installed(warehouse_target(settings))
    generated = published = loaded = built = exports = None
    if role in ("all", "source"):
        from frota.publish.exports_dir import exports_folder

        folder = exports_folder(settings, from_dir)
        if folder is not None:
            exports = _exports_step(settings, folder)
            published = tuple(p for _, p in exports.published)
        else:
            generated, published = _source_steps(settings, today, bars)
    if role in ("all", "server"):
        if settings.database.startswith("sqlite"):
            # The embedded default needs no administrator: create or upgrade the schema.
            engine = database_engine(settings)
            try:
                upgrade_schema(engine)
            finally:
                engine.dispose()
        from frota.load import load_pending

        with bars("loading", "rows") as report:
            loaded = load_pending(settings, today=today, progress=report)
    reported = None
    if role in ("all", "analytics") and warehouse:
        with bars("replicating", "rows") as report:
            built = build_warehouse_step(settings, bar=report)
        reported = report_step(settings)
    return RunResult(run.run_id, role, generated, published, loaded, built, reported, exports)


@contextmanager
def _no_progress(_description: str, _unit: str) -> Iterator[None]:
    yield None


def _exports_step(settings: Settings, folder: Path) -> ExportsResult:
    from frota.publish import publish_new_exports

    result = publish_new_exports(folder, settings)
    logger.info(
        "exports in %s: %d published, %d refused, %d still being written, %d seen before",
        folder,
        len(result.published),
        len(result.refused),
        len(result.waiting),
        result.seen,
    )
    return result


def _source_steps(
    settings: Settings, today: date | None, bars: ProgressFactory
) -> tuple[GenerateResult, tuple[PublishResult, ...]]:
    with bars("generating", "vehicles") as report:
        generated = generate_step(settings, until=today, progress=report)
    logger.info(
        "generated %d vehicles and %d maintenances (%s to %s) in %s",
        generated.veiculos,
        generated.manutencoes,
        generated.start,
        generated.end,
        generated.out_dir,
    )
    from frota.publish import publish_outbox

    with bars("publishing", "batches") as report:
        published = tuple(publish_outbox(settings, progress=report))
    return generated, published


@recorded("generate", counts=lambda g: {"veiculos": g.veiculos, "manutencoes": g.manutencoes})
def generate_step(
    settings: Settings,
    *,
    until: date | None = None,
    days: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> GenerateResult:
    """Simulate the next window of the settings' fleet into the outbox (`frota generate`)."""
    from frota.generate import generate_batch

    return generate_batch(
        Path(settings.outbox),
        seed=settings.seed,
        vehicles=settings.vehicles,
        until=until,
        days=days,
        progress=progress,
    )


def build_warehouse_step(
    settings: Settings,
    *,
    run_dbt: bool = True,
    full_refresh: bool = False,
    select: tuple[str, ...] = (),
    bar: Callable[[int], None] | None = None,
) -> Any:
    """Replicate into the warehouse and run dbt (the analytics machine's step); `bar` counts
    the maintenance rows replicated."""
    from frota.warehouse import build_warehouse

    return build_warehouse(
        settings,
        run_dbt=run_dbt,
        full_refresh=full_refresh,
        select=select,
        progress=lambda message: logger.info("warehouse: %s", message),
        bar=bar,
    )


def report_step(settings: Settings) -> Any:
    """Write the fleet report where the settings say (the analytics machine's last step)."""
    from frota.report import build_report

    return build_report(settings, settings.report_path, publish=settings.report_publish)
