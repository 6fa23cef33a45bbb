"""The pipeline's health on the page: what `frota check` concludes (frota.observe.check, called,
not re-implemented: landing area, database, schema, rejected batches, freshness per source, last
load, quarantine, warehouse lag, each with its status and next step), the quarantine by reason
(the facts the quarantine check counts) with what each reason means and what to do, the last
runs of each step, and what the warehouse received (batches and rows per day, the last build).

Times are stored in UTC and shown on the operator's calendar (the `timezone` setting).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import frota.report.charts as charts
from frota.config import Settings
from frota.contract.validate import FIXES, REASONS
from frota.errors import FrotaError
from frota.i18n import N_, speaking
from frota.observe.check import OK, Report, Result, run_checks
from frota.observe.runs import StepSummaries, step_summaries
from frota.report.data import ReplicatedBatch, Unavailable, read_batches, read_last_build
from frota.report.fmt import Formatter
from frota.report.page import Figure, Section, Table
from frota.report.warehouse import WarehouseReader

DAYS = 30  # the window of "batches and rows per day"
UTC_ZONE = ZoneInfo("UTC")
CHECK_ROLE = "all"  # every check: the page is the whole pipeline's picture
SOURCE_PREFIX = "source:"
# The parts the analytics machine may not reach, and how the page says so.
UNREACHABLE = {
    "landing": N_("The landing area cannot be read from this machine: {why}"),
    "database": N_("The operational database cannot be read from this machine: {why}"),
}


@dataclass
class HealthData:
    """What the warehouse says about the pipeline (naive UTC times), and what `frota check`
    and the run history say."""

    now: datetime
    batches: list[ReplicatedBatch] | Unavailable = field(default_factory=list)
    last_build: datetime | None = None
    checks: Report | Unavailable | None = None
    runs: StepSummaries | None = None


def read_health(wh: WarehouseReader, now: datetime) -> HealthData:
    """What the warehouse received; `now`: naive UTC."""
    return HealthData(
        now=now,
        batches=read_batches(wh, now - timedelta(days=DAYS)),
        last_build=read_last_build(wh),
    )


def read_checks(settings: Settings, data: HealthData, lang: str) -> None:
    """`frota check`'s verdicts and the run history, their messages in `lang`. Called outside
    the report's warehouse connection: the lag check opens the warehouse itself."""
    from frota.warehouse.replicate import replicated_batch_ids

    with speaking(lang):
        try:
            data.checks = run_checks(settings, CHECK_ROLE, warehouse=replicated_batch_ids)
        except FrotaError as exc:  # the checks' own configuration (thresholds) is wrong
            data.checks = Unavailable(str(exc))
        data.runs = step_summaries(settings)


class HealthPage:
    """The health sections in one language, times on `zone`'s calendar."""

    def __init__(self, fmt: Formatter, t: Callable[[str], str], zone: ZoneInfo) -> None:
        self.fmt, self.t, self.zone = fmt, t, zone

    def local(self, when: datetime) -> datetime:
        return when.replace(tzinfo=UTC_ZONE).astimezone(self.zone).replace(tzinfo=None)

    def sections(self, data: HealthData) -> list[Section]:
        return [
            self.checks(data),
            self.quarantine(data),
            self.freshness(data),
            self.runs(data),
            self.per_day(data),
        ]

    def checks(self, data: HealthData) -> Section:
        t = self.t
        s = Section(
            "verificacoes",
            t(N_("Health checks")),
            t(
                N_(
                    "What `frota check` concludes now (landing area, operational database, "
                    "schema, rejected batches, sources, last load, quarantine, warehouse lag): "
                    "OK, WARNING, CRITICAL or UNKNOWN (could not be judged), and the next step."
                )
            ),
        )
        report = data.checks
        if report is None or isinstance(report, Unavailable):
            s.unavailable = report.reason if report else t(N_("the checks were not run"))
            return s
        s.figures = [
            Figure(t(N_("Status")), "check_status", report.status, report.status),
            Figure(
                t(N_("Checked at")),
                "check_em",
                report.checked_at.isoformat(),
                self.fmt.datetime(self.local(report.checked_at)),
            ),
        ]
        s.warnings = {
            r.name: t(UNREACHABLE[r.name]).format(why=r.summary)
            for r in report.results
            if r.name in UNREACHABLE and r.status != OK
        }
        s.table = Table(
            [t(N_("Check")), t(N_("Status")), t(N_("What it found")), t(N_("Next step"))],
            [False, False, False, False],
            [[r.name, r.status, r.summary, r.hint or ""] for r in report.results],
            kpi="verificacoes",
            values=[[r.name, r.status, r.value, r.hint] for r in report.results],
            status_column=1,
        )
        return s

    def quarantine(self, data: HealthData) -> Section:
        """Held rows by reason, the most first: what the reason means and what to do."""
        t = self.t
        s = Section(
            "quarentena",
            t(N_("Quarantine by reason")),
            t(
                N_(
                    "Rows held in the quarantine now (the rows `frota check` counts), by "
                    "reason: what it means and what to do."
                )
            ),
        )
        report = data.checks
        if report is None or isinstance(report, Unavailable) or report.quarantine_held is None:
            s.unavailable = t(N_("the quarantine was not read (the operational database)"))
            return s
        held = report.quarantine_held
        total = sum(held.values())
        s.figures = [
            Figure(t(N_("Rows held")), "quarentena_retidas", total, self.fmt.number(total))
        ]
        if not total:
            s.empty = t(N_("No row is held in the quarantine."))
            return s
        reasons = sorted(held, key=lambda r: (-held[r], r))
        s.table = Table(
            [t(N_("Reason")), t(N_("What it means")), t(N_("Rows")), t(N_("What to do"))],
            [False, False, True, False],
            [[r, self.meaning(r), self.fmt.number(held[r]), self.what_to_do(r)] for r in reasons],
            kpi="quarentena",
            values=[[r, None, held[r], None] for r in reasons],
        )
        s.notes = [
            t(
                N_(
                    "`frota quarantine list --reason CODE` lists the rows held for a reason; "
                    "once fixed, `frota quarantine retry` loads them."
                )
            )
        ]
        return s

    def meaning(self, reason: str) -> str:
        return self.t(REASONS[reason]) if reason in REASONS else ""

    def what_to_do(self, reason: str) -> str:
        if reason in FIXES:
            return self.t(FIXES[reason])
        return self.t(N_("see `frota quarantine list --reason {reason}`")).format(reason=reason)

    def freshness(self, data: HealthData) -> Section:
        t = self.t
        s = Section(
            "atualizacao",
            t(N_("Freshness per source")),
            t(
                N_(
                    "The newest batch of each source, in the landing area or the ledger, its "
                    "age and `frota check`'s verdict on it."
                )
            ),
        )
        build = data.last_build
        s.figures = [
            Figure(
                t(N_("Last warehouse build")),
                "ultimo_build",
                build.isoformat() if build else None,
                self.fmt.datetime(self.local(build)) if build else "–",
            )
        ]
        report = data.checks
        if report is None or isinstance(report, Unavailable):
            s.unavailable = report.reason if report else t(N_("the checks were not run"))
            return s
        sources = [r for r in report.results if r.name.startswith(SOURCE_PREFIX)]
        if not sources:
            judged = next((r for r in report.results if r.name == "sources"), None)
            if judged is not None and judged.status != OK:
                s.unavailable = judged.summary
            else:
                s.empty = t(N_("No batch from any source yet."))
            return s
        s.table = Table(
            [t(N_("Source")), t(N_("Status")), t(N_("Newest batch")), t(N_("Age"))],
            [False, False, False, True],
            [self.source_row(report, r) for r in sources],
            kpi="atualizacao",
            values=[
                [r.name.removeprefix(SOURCE_PREFIX), r.status, self.newest(report, r), r.value]
                for r in sources
            ],
            status_column=1,
        )
        return s

    def newest(self, report: Report, result: Result) -> str | None:
        """When the source's newest batch was made (naive UTC, ISO), from its age (batch ids
        are to the second)."""
        if result.value is None:
            return None
        when = report.checked_at - timedelta(seconds=result.value)
        return (when + timedelta(microseconds=500_000)).replace(microsecond=0).isoformat()

    def source_row(self, report: Report, result: Result) -> list[str]:
        newest = self.newest(report, result)
        return [
            result.name.removeprefix(SOURCE_PREFIX),
            result.status,
            self.fmt.datetime(self.local(datetime.fromisoformat(newest))) if newest else "–",
            self.age(timedelta(seconds=result.value)) if result.value is not None else "–",
        ]

    def runs(self, data: HealthData) -> Section:
        t = self.t
        s = Section(
            "execucoes",
            t(N_("Last runs")),
            t(
                N_(
                    "The newest run of each step (what `frota runs` shows), its status and "
                    "its last success."
                )
            ),
        )
        summaries = data.runs
        if summaries is None:
            s.unavailable = t(N_("the run history was not read"))
            return s
        s.warnings = {f"runs:{i}": e.message for i, e in enumerate(summaries.errors)}
        if not summaries.steps:
            if not s.warnings:
                s.empty = t(N_("No run recorded yet."))
            return s
        steps = sorted(
            (
                x
                for x in summaries.steps.values()
                if not (x.step == "report" and x.last.status == "running")
            ),
            key=lambda x: x.last.started_at,
            reverse=True,
        )  # the report's own run, under way while it is written, is not news
        s.table = Table(
            [t(N_("Step")), t(N_("Started")), t(N_("Status")), t(N_("Last success"))],
            [False, False, False, False],
            [
                [
                    x.step,
                    self.fmt.datetime(self.local(x.last.started_at)),
                    t(x.last.status) + (f": {x.last.error}" if x.last.error else ""),
                    self.fmt.datetime(self.local(x.last_success)) if x.last_success else "–",
                ]
                for x in steps
            ],
            kpi="execucoes",
            values=[
                [
                    x.step,
                    x.last.started_at.isoformat(),
                    x.last.status,
                    x.last_success.isoformat() if x.last_success else None,
                ]
                for x in steps
            ],
            status_column=2,
        )
        return s

    def per_day(self, data: HealthData) -> Section:
        t = self.t
        s = Section(
            "lotes_por_dia",
            t(N_("Batches and rows per day")),
            t(N_("Rows loaded per day (the warehouse's ledger), the last 30 days.")),
        )
        if isinstance(data.batches, Unavailable):
            s.unavailable = data.batches.reason
            return s
        last = self.local(data.now).date()
        days = [last - timedelta(days=i) for i in range(DAYS - 1, -1, -1)]
        batches = dict.fromkeys(days, 0)
        rows = dict.fromkeys(days, 0)
        for b in data.batches:
            day = self.local(b.loaded_at or b.created_at).date()
            if day in batches:
                batches[day] += 1
                rows[day] += b.rows
        total_batches, total_rows = sum(batches.values()), sum(rows.values())
        s.figures = [
            Figure(
                t(N_("Batches")), "lotes_30_dias", total_batches, self.fmt.number(total_batches)
            ),
            Figure(t(N_("Rows")), "linhas_30_dias", total_rows, self.fmt.number(total_rows)),
        ]
        if not total_batches:
            s.empty = t(N_("No batch in the last 30 days."))
            return s
        s.chart = charts.render(
            "lotes_por_dia",
            charts.daily_bars,
            days,
            [float(rows[d]) for d in days],
            charts.COLORS["main"],
            self.fmt,
        )
        active = [d for d in days if batches[d]]
        s.table = Table(
            [t(N_("Day")), t(N_("Batches")), t(N_("Rows"))],
            [False, True, True],
            [
                [self.fmt.date(d), self.fmt.number(batches[d]), self.fmt.number(rows[d])]
                for d in reversed(active)
            ],
            kpi="lotes_por_dia",
            values=[[d.isoformat(), batches[d], rows[d]] for d in reversed(active)],
        )
        return s

    def age(self, delta: timedelta) -> str:
        """`3 h`, `2 d 4 h`: how long ago, to the hour."""
        hours = max(0, int(delta.total_seconds() // 3600))
        if hours < 48:
            return f"{self.fmt.number(hours)} h"
        return f"{self.fmt.number(hours // 24)} d {hours % 24} h"
