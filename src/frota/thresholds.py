"""Durations ("90d", "3h", "1h30m") and the thresholds of `frota check` (`[check]` in
frota.toml): settings values, parsed where frota.config reads them (so a bad one fails at
start-up) and where frota.observe judges by them. Imports nothing of frota but its errors.

Every threshold is a pair `<name>_warning` / `<name>_critical`; `off` turns one off. Ages are
durations, the others are counts. `sources` lists the source machines that must keep sending
batches (default: every source seen in the landing area or the ledger).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from frota.errors import ConfigError
from frota.i18n import _

_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
_PART = re.compile(r"(\d+(?:\.\d+)?)([smhdw])")
OFF = ("off", "none", "0")


def parse_duration(text: str, key: str) -> timedelta:
    """`"90d"`, `"3h"`, `"1h30m"`, `"45s"` as a timedelta; a ConfigError naming `key` if not."""
    compact = str(text).strip().lower().replace(" ", "")
    parts = _PART.findall(compact)
    if not compact or "".join(n + u for n, u in parts) != compact:
        raise ConfigError(
            _("{key}: {text!r} is not a duration").format(key=key, text=text),
            hint=_("write a number and a unit: 45s, 30m, 3h, 2d, 1w (or 1h30m)"),
        )
    return timedelta(seconds=sum(float(n) * _UNITS[u] for n, u in parts))


def describe_duration(seconds: float) -> str:
    """A duration for people: '3 h 12 min', '2 d 4 h', '40 s'."""
    seconds = int(max(seconds, 0))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


@dataclass(frozen=True)
class Limit:
    """A warning and a critical threshold (None: off); a value at or above one trips it."""

    warning: float | None
    critical: float | None

    def judge(self, value: float) -> str:
        if self.critical is not None and value >= self.critical:
            return "CRITICAL"
        if self.warning is not None and value >= self.warning:
            return "WARNING"
        return "OK"

    @property
    def off(self) -> bool:
        return self.warning is None and self.critical is None


# name -> (kind, default warning, default critical)
DEFAULTS: dict[str, tuple[str, str, str]] = {
    "source_age": ("duration", "3h", "12h"),
    "load_age": ("duration", "1h", "6h"),
    "incomplete_age": ("duration", "1h", "24h"),
    "warehouse_lag": ("duration", "2h", "24h"),
    "rejected": ("count", "off", "1"),
    "quarantine_held": ("count", "1000", "off"),
    "quarantine_growth": ("count", "100", "off"),
}
KEYS = (*(f"{n}_{level}" for n in DEFAULTS for level in ("warning", "critical")), "sources")


def _number(name: str, key: str, value: Any) -> float | None:
    text = str(value).strip().lower()
    if text in OFF:
        return None
    if DEFAULTS[name][0] == "duration":
        return parse_duration(text, f"[check] {key}").total_seconds()
    try:
        number = int(text)
    except ValueError:
        raise ConfigError(
            _("[check] {key}: {value!r} is not a whole number").format(key=key, value=value),
            hint=_("write a count, or off"),
        ) from None
    if number < 0:
        raise ConfigError(
            _("[check] {key}: {value!r} must not be negative").format(key=key, value=value)
        )
    return float(number)


def check_table(values: Mapping[str, Any], where: str) -> tuple[tuple[str, str], ...]:
    """Validate `[check]` keys and values (at start-up); return them as text pairs."""
    unknown = sorted(set(values) - set(KEYS))
    if unknown:
        raise ConfigError(
            _("{where}: unknown [check] setting(s) {settings}").format(
                where=where, settings=", ".join(unknown)
            ),
            hint=_("known: {settings}").format(settings=", ".join(KEYS)),
        )
    pairs: list[tuple[str, str]] = []
    for key, value in values.items():
        if key == "sources":
            names = value if isinstance(value, list) else str(value).replace(",", " ").split()
            pairs.append((key, " ".join(str(n).strip() for n in names if str(n).strip())))
            continue
        name = key.rsplit("_", 1)[0]
        _number(name, key, value)
        pairs.append((key, str(value)))
    return tuple(pairs)


@dataclass(frozen=True)
class Thresholds:
    """The limits `frota check` judges by."""

    limits: dict[str, Limit]
    sources: tuple[str, ...] = ()

    def __getitem__(self, name: str) -> Limit:
        return self.limits[name]

    @classmethod
    def from_pairs(cls, pairs: Iterable[tuple[str, str]]) -> Thresholds:
        given = dict(pairs)
        limits = {
            name: Limit(
                _number(name, f"{name}_warning", given.get(f"{name}_warning", warning)),
                _number(name, f"{name}_critical", given.get(f"{name}_critical", critical)),
            )
            for name, (_kind, warning, critical) in DEFAULTS.items()
        }
        return cls(limits, tuple(given.get("sources", "").split()))
