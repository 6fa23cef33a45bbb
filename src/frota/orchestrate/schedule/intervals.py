"""Schedule intervals: `--every` / `--at` as cron, systemd and Task Scheduler spell them."""

from __future__ import annotations

import re
from dataclasses import dataclass

from frota.errors import ConfigError
from frota.i18n import _

# Intervals that divide an hour or a day evenly, so `*/N` fires at regular times.
_MINUTES = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30)
_HOURS = (1, 2, 3, 4, 6, 8, 12)
_ALIASES = {"hourly": "1h", "daily": "1d", "60m": "1h", "24h": "1d"}
DEFAULT_DAILY_AT = "02:00"


@dataclass(frozen=True)
class Interval:
    """A supported schedule interval, as each scheduler spells it."""

    every: str  # normalised: "15m", "6h", "1d"
    minutes: int  # period in minutes
    at: str | None  # "HH:MM" for daily intervals
    cron: str  # the five time fields
    on_calendar: str  # systemd OnCalendar=
    iso_duration: str  # ISO 8601 period for Task Scheduler: PT15M, PT6H, P1D


def parse_interval(every: str, at: str | None = None) -> Interval:
    """Parse `--every` (5m, 15m, 1h, 6h, 1d, hourly, daily…) and `--at HH:MM` (daily only)."""
    text = str(every).strip().lower()
    text = _ALIASES.get(text, text)
    match = re.fullmatch(r"(\d{1,3})([mhd])", text)
    if not match:
        raise _bad_interval(every)
    n, unit = int(match.group(1)), match.group(2)
    if unit == "m" and n == 60:
        n, unit = 1, "h"
    if unit == "h" and n == 24:
        n, unit = 1, "d"
    if at is not None and unit != "d":
        raise ConfigError(
            _("--at {at} only applies to daily schedules, not to every {every}").format(
                at=at, every=every
            ),
            hint=_("use --every 1d --at HH:MM, or drop --at"),
        )
    if unit == "m" and n in _MINUTES:
        return Interval(
            every=f"{n}m",
            minutes=n,
            at=None,
            cron=f"*/{n} * * * *" if n > 1 else "* * * * *",
            on_calendar=f"*:0/{n}" if n > 1 else "*:*",
            iso_duration=f"PT{n}M",
        )
    if unit == "h" and n in _HOURS:
        return Interval(
            every=f"{n}h",
            minutes=n * 60,
            at=None,
            cron=f"0 */{n} * * *" if n > 1 else "0 * * * *",
            on_calendar=f"*-*-* 0/{n}:00:00" if n > 1 else "hourly",
            iso_duration=f"PT{n}H",
        )
    if unit == "d" and n == 1:
        hour, minute = _parse_at(at or DEFAULT_DAILY_AT)
        return Interval(
            every="1d",
            minutes=24 * 60,
            at=f"{hour:02d}:{minute:02d}",
            cron=f"{minute} {hour} * * *",
            on_calendar=f"*-*-* {hour:02d}:{minute:02d}:00",
            iso_duration="P1D",
        )
    raise _bad_interval(every)


def _bad_interval(every: str) -> ConfigError:
    return ConfigError(
        f"unsupported interval {every!r}",
        hint="use Nm with N in "
        + ", ".join(map(str, _MINUTES))
        + "; Nh with N in "
        + ", ".join(map(str, _HOURS))
        + "; or 1d / daily (with --at HH:MM), hourly",
    )


def _parse_at(at: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", at.strip())
    if not match or int(match.group(1)) > 23 or int(match.group(2)) > 59:
        raise ConfigError(
            _("--at {at!r} is not a time of day").format(at=at),
            hint=_("use HH:MM, e.g. --at 02:30"),
        )
    return int(match.group(1)), int(match.group(2))
