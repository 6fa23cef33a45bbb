"""The pipeline's health on the page: what the warehouse received (batches and rows per day,
the newest batch of each source, the last build).

Times are stored in UTC and shown on the operator's calendar (the `timezone` setting).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import frota.report.charts as charts
from frota.i18n import N_
from frota.report.data import (
    ReplicatedBatch,
    Unavailable,
    read_batches,
    read_last_build,
    read_newest_by_source,
)
from frota.report.fmt import Formatter
from frota.report.page import Figure, Section, Table
from frota.report.warehouse import WarehouseReader

DAYS = 30  # the window of "batches and rows per day"
UTC_ZONE = ZoneInfo("UTC")


@dataclass
class HealthData:
    """What the warehouse says about the pipeline (naive UTC times)."""

    now: datetime
    batches: list[ReplicatedBatch] | Unavailable = field(default_factory=list)
    newest_by_source: dict[str, datetime] = field(default_factory=dict)
    last_build: datetime | None = None


def read_health(wh: WarehouseReader, now: datetime) -> HealthData:
    """`now`: naive UTC."""
    return HealthData(
        now=now,
        batches=read_batches(wh, now - timedelta(days=DAYS)),
        newest_by_source=read_newest_by_source(wh),
        last_build=read_last_build(wh),
    )


class HealthPage:
    """The health sections in one language, times on `zone`'s calendar."""

    def __init__(self, fmt: Formatter, t: Callable[[str], str], zone: ZoneInfo) -> None:
        self.fmt, self.t, self.zone = fmt, t, zone

    def local(self, when: datetime) -> datetime:
        return when.replace(tzinfo=UTC_ZONE).astimezone(self.zone).replace(tzinfo=None)

    def sections(self, data: HealthData) -> list[Section]:
        return [self.per_day(data), self.freshness(data)]

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

    def freshness(self, data: HealthData) -> Section:
        t = self.t
        s = Section(
            "atualizacao",
            t(N_("Freshness per source")),
            t(N_("The newest batch of each source that reached the warehouse, and its age.")),
        )
        if not data.newest_by_source:
            s.empty = t(N_("No batch has reached the warehouse yet."))
        else:
            sources = sorted(data.newest_by_source.items(), key=lambda kv: kv[1])
            s.table = Table(
                [t(N_("Source")), t(N_("Newest batch")), t(N_("Age"))],
                [False, False, True],
                [
                    [name, self.fmt.datetime(self.local(when)), self.age(data.now - when)]
                    for name, when in sources
                ],
                kpi="atualizacao",
                values=[
                    [name, when.isoformat(), (data.now - when).total_seconds()]
                    for name, when in sources
                ],
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
        return s

    def age(self, delta: timedelta) -> str:
        """`3 h`, `2 d 4 h`: how long ago, to the hour."""
        hours = max(0, int(delta.total_seconds() // 3600))
        if hours < 48:
            return f"{self.fmt.number(hours)} h"
        return f"{self.fmt.number(hours // 24)} d {hours % 24} h"
