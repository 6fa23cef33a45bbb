"""The months a report covers: `--period 2025-01..2025-12`, `2025-03`, `2025`, or by default
the twelve months up to the newest maintenance (frota.report.data.default_period)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from frota.i18n import N_

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
DEFAULT_MONTHS = 12
# Why a report covers its months, by basis (KpiData.basis); {day}: the day it ends on.
WHY = {
    "asked": N_("the months asked for (--period)"),
    "maintenance": N_(
        "the twelve months up to the newest maintenance, on {day}; another period: --period"
    ),
    "reference": N_(
        "the twelve months up to the newest data, on {day}: the warehouse holds no maintenance"
    ),
    "today": N_("the twelve months up to today: the warehouse holds no data yet"),
}


def month_start(day: date) -> date:
    return day.replace(day=1)


def add_months(month: date, n: int) -> date:
    index = month.year * 12 + month.month - 1 + n
    return date(index // 12, index % 12 + 1, 1)


def month_end(month: date) -> date:
    return add_months(month, 1) - timedelta(days=1)


def months_between(first: date, last: date) -> list[date]:
    """First days of the months from `first`'s to `last`'s, inclusive."""
    months, current = [], month_start(first)
    while current <= last:
        months.append(current)
        current = add_months(current, 1)
    return months


@dataclass(frozen=True)
class Period:
    """Whole months, `first` and `last` being first days of months."""

    first: date
    last: date

    @property
    def start(self) -> date:
        return self.first

    @property
    def end(self) -> date:
        """The period's last day."""
        return month_end(self.last)

    def months(self) -> list[date]:
        return months_between(self.first, self.last)

    @classmethod
    def ending(cls, reference: date, months: int = DEFAULT_MONTHS) -> Period:
        last = month_start(reference)
        return cls(add_months(last, -(months - 1)), last)


def _month(text: str, *, last: bool) -> date:
    if match := _MONTH.match(text):
        year, month = int(match.group(1)), int(match.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"{text!r} has no month {month}")
        return date(year, month, 1)
    if match := _YEAR.match(text):
        return date(int(match.group(1)), 12 if last else 1, 1)
    raise ValueError(f"{text!r} is not a month (YYYY-MM) or a year (YYYY)")


def parse_period(text: str) -> Period:
    """`2025-01..2025-12`, `2025-03` or `2025`; ValueError saying what is wrong."""
    text = text.strip()
    first_text, sep, last_text = text.partition("..")
    if not sep:
        last_text = first_text
    period = Period(_month(first_text.strip(), last=False), _month(last_text.strip(), last=True))
    if period.first > period.last:
        raise ValueError(f"the period {text!r} ends before it starts")
    return period
