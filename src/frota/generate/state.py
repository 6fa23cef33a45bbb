"""The generator's memory between runs: `<outbox>/_generator_state.json`, and the window plan.

The leading `_` keeps the publisher away from it. It is written after the batch folder is in
place, atomically (temp file + `os.replace`), so a crash leaves either the old state (the next
run redoes the same step, byte for byte) or the new one.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from frota.errors import ConfigError
from frota.generate.fleet import Vehicle
from frota.i18n import _

STATE_NAME = "_generator_state.json"
STATE_FORMAT = 1


@dataclass
class GeneratorState:
    """The fleet and where the simulation stopped."""

    seed: int
    vehicles: int
    step: int
    last_end: date
    fleet: dict[str, Vehicle]

    def to_json(self) -> str:
        body = {
            "format": STATE_FORMAT,
            "seed": self.seed,
            "vehicles": self.vehicles,
            "step": self.step,
            "last_end": self.last_end.isoformat(),
            "fleet": {placa: v.to_json() for placa, v in self.fleet.items()},
        }
        return json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")) + "\n"


def load_state(outbox: Path) -> GeneratorState | None:
    """The state saved in `outbox`, or None before the first run."""
    path = outbox / STATE_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    try:
        body = json.loads(text)
        if body.get("format") != STATE_FORMAT:
            raise ValueError(f"unknown format {body.get('format')!r}")
        return GeneratorState(
            seed=int(body["seed"]),
            vehicles=int(body["vehicles"]),
            step=int(body["step"]),
            last_end=date.fromisoformat(body["last_end"]),
            fleet={p: Vehicle.from_json(p, v) for p, v in body["fleet"].items()},
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ConfigError(
            _("{path}: unreadable generator state ({exc})").format(path=path, exc=exc),
            hint=_("delete the file to start a new fleet, or use another outbox folder"),
        ) from None


def save_state(outbox: Path, state: GeneratorState) -> None:
    """Write the state atomically."""
    path = outbox / STATE_NAME
    tmp = outbox / f".{STATE_NAME}.tmp"
    with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(state.to_json())
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def plan_window(
    until: date, *, days: int | None, history_days: int, last_end: date | None
) -> tuple[date, date]:
    """The [start, end] days to simulate; never past `until`.

    First run: the last `days` (else `history_days`) days up to `until`. Later runs: from the
    day after the last window, up to `until` (at most `days` days). When the fleet is already
    at `until` (a second run the same day) one more day dated `until` is simulated, so the run
    still produces activity without inventing a future date.
    """
    if last_end is None:
        return until - timedelta(days=(days or history_days) - 1), until
    if last_end >= until:
        return until, until
    start = last_end + timedelta(days=1)
    end = until if days is None else min(until, last_end + timedelta(days=days))
    return start, end
