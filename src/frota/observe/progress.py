"""Progress of long work: count, total, rate and time left — a bar on a terminal, a log line
every tenth of the way otherwise, nothing with -q.

A step reports to a `Progress`: `set_total(n)` once it knows how much there is (the manifests
say how many rows a load reads), then `progress(done)` as it goes. Steps only call these two;
how it shows is decided here.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from frota.observe.log import logger, quiet

REFRESH_PER_SECOND = 4


def _eta(seconds: float | None) -> str:
    if seconds is None:
        return "-:--:--"
    seconds = int(seconds)
    return f"{seconds // 3600}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


class Progress:
    """Counts of one piece of work; subclasses show them."""

    def __init__(self, description: str, unit: str, total: int | None = None) -> None:
        self.description, self.unit, self.total = description, unit, total
        self.done = 0
        self.started = time.monotonic()

    def set_total(self, total: int) -> None:
        self.total = total
        self.show()

    def __call__(self, done: int) -> None:
        self.done = done
        self.show()

    def rate(self) -> float | None:
        elapsed = time.monotonic() - self.started
        return self.done / elapsed if elapsed > 0 and self.done else None

    def eta(self) -> float | None:
        rate = self.rate()
        if not rate or not self.total:
            return None
        return max(self.total - self.done, 0) / rate

    def line(self) -> str:
        """'loading: 12,000 of 50,000 rows (24%), 3,100 rows/s, 0:00:12 left'."""
        rate, total = self.rate(), self.total
        of = f" of {total:,}" if total else ""
        share = f" ({100 * self.done // total}%)" if total else ""
        speed = f", {rate:,.0f} {self.unit}/s" if rate else ""
        left = f", {_eta(self.eta())} left" if total and rate else ""
        return f"{self.description}: {self.done:,}{of} {self.unit}{share}{speed}{left}"

    def show(self) -> None:
        """Nothing: what -q and tests without a terminal get."""


class LoggedProgress(Progress):
    """A log line at each tenth of the total (each 100,000 without one), at most one every
    `every` seconds: short work logs nothing, long work a line now and then."""

    def __init__(
        self, description: str, unit: str, total: int | None = None, every: float = 10.0
    ) -> None:
        super().__init__(description, unit, total)
        self.next, self.every, self.last = 0, every, self.started

    def show(self) -> None:
        step = max((self.total or 0) // 10, 1) if self.total else 100_000
        now = time.monotonic()
        if self.done >= max(self.next, step) and now - self.last >= self.every:
            logger.info("%s", self.line())
            self.next, self.last = (self.done // step + 1) * step, now


class BarProgress(Progress):
    """A rich bar on a terminal: description, bar, done/total, rate, time left."""

    def __init__(self, description: str, unit: str, total: int | None, console: Any) -> None:
        from rich.progress import BarColumn, TextColumn
        from rich.progress import Progress as RichProgress

        super().__init__(description, unit, total)
        self.bar = RichProgress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=None),
            TextColumn("{task.fields[counts]}"),
            console=console,
            transient=True,
            refresh_per_second=REFRESH_PER_SECOND,
            expand=False,
        )
        self.task = self.bar.add_task(description, total=total, counts="")

    def counts(self) -> str:
        """'12,000/50,000 rows 3,100/s 0:00:12': what stays when the bar is narrow."""
        rate = self.rate()
        total = f"/{self.total:,}" if self.total else ""
        speed = f" {rate:,.0f}/s" if rate else ""
        left = f" {_eta(self.eta())}" if self.total else ""
        return f"{self.done:,}{total} {self.unit}{speed}{left}"

    def show(self) -> None:
        self.bar.update(self.task, completed=self.done, total=self.total, counts=self.counts())


@contextmanager
def progress_bar(
    description: str, unit: str = "rows", total: int | None = None, *, console: Any = None
) -> Iterator[Progress]:
    """A Progress for one piece of work: a bar on a terminal (stderr, or `console`), a log
    line every tenth otherwise, nothing with -q."""
    if quiet():
        yield Progress(description, unit, total)
        return
    if console is None and not sys.stderr.isatty():
        yield LoggedProgress(description, unit, total)
        return
    if console is None:
        from rich.console import Console

        console = Console(stderr=True)
    bar = BarProgress(description, unit, total, console)
    with bar.bar:
        yield bar
