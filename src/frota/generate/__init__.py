"""Seeded synthetic fleet simulator: a Brazilian logistics fleet and its maintenance, window
by window, as canonical batch folders in an outbox.

Each run continues the fleet saved in `<outbox>/_generator_state.json` and writes
`<outbox>/<step:06d>-<end:%Y%m%d>/{veiculos,manutencoes}.csv`, with `_batch.json` saying the
batch's data is as of its last simulated day (publish turns it into the manifest's as_of).
Same seed, parameters and sequence of windows give byte-identical files. See docs/generator.md.
"""

from __future__ import annotations

import random
import re
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from frota.batch import write_folder_info
from frota.config import Settings
from frota.contract import MANUTENCOES, VEICULOS
from frota.contract.canonical import CanonicalWriter
from frota.errors import ConfigError
from frota.generate.fleet import Vehicle, acquisitions, initial_fleet
from frota.generate.simulate import simulate_vehicle
from frota.generate.state import STATE_NAME, GeneratorState, load_state, plan_window, save_state
from frota.i18n import _

__all__ = ["GenerateResult", "generate_batch"]

_BATCH_DIR = re.compile(r"^(\d{6})-\d{8}$")


@dataclass(frozen=True)
class GenerateResult:
    """What one generator run wrote."""

    out_dir: Path  # the folder written: <outbox>/<step:06d>-<end:%Y%m%d>
    step: int  # 1 for the first run, then 2, 3, ...
    start: date  # first simulated day (inclusive)
    end: date  # last simulated day (inclusive)
    veiculos: int  # rows written to veiculos.csv
    manutencoes: int  # rows written to manutencoes.csv


def generate_batch(
    outbox: Path,
    *,
    seed: int = Settings.seed,
    vehicles: int = Settings.vehicles,
    until: date | None = None,
    days: int | None = None,
    history_days: int = 730,
    progress: Callable[[int], None] | None = None,
) -> GenerateResult:
    """Simulate the fleet's next window and write it as a new batch folder in `outbox`.

    The first run creates `vehicles` vehicles and simulates `history_days` (or `days`) days up
    to `until` (default: today); later runs continue from the saved state. `progress` gets the
    number of vehicles simulated so far, after each one (and, if it has `set_total`, the size
    of the fleet first: a bar then shows the time left).
    """
    if vehicles < 1:
        raise ConfigError(
            _("vehicles must be at least 1, not {vehicles}").format(vehicles=vehicles)
        )
    for name, value in (("days", days), ("history_days", history_days)):
        if value is not None and value < 1:
            raise ConfigError(
                _("{name} must be at least 1 day, not {value}").format(name=name, value=value)
            )
    outbox = Path(outbox)
    until = until or date.today()
    state = load_state(outbox)
    if state is not None and (state.seed, state.vehicles) != (seed, vehicles):
        raise ConfigError(
            _(
                "{file} holds a fleet made with seed={seed}, vehicles={vehicles}, not "
                "seed={asked_seed}, vehicles={asked_vehicles}"
            ).format(
                file=outbox / STATE_NAME,
                seed=state.seed,
                vehicles=state.vehicles,
                asked_seed=seed,
                asked_vehicles=vehicles,
            ),
            hint=_(
                "pass the same --seed/--vehicles to continue it, or use another "
                "outbox folder (or delete {STATE_NAME}) to start a new fleet"
            ).format(STATE_NAME=STATE_NAME),
        )
    start, end = plan_window(
        until,
        days=days,
        history_days=history_days,
        last_end=None if state is None else state.last_end,
    )
    step = 1 if state is None else state.step + 1
    rng = random.Random(f"{seed}:{step}")
    s, e = start.toordinal(), end.toordinal()
    if state is None:
        fleet = initial_fleet(rng, vehicles, s)
        new = set(fleet)
    else:
        fleet = state.fleet
        new = set()
    new.update(v.placa for v in acquisitions(rng, fleet, s, e))

    name = f"{step:06d}-{end:%Y%m%d}"
    out_dir, tmp = outbox / name, outbox / f".{name}.tmp"
    try:
        outbox.mkdir(parents=True, exist_ok=True)
        if tmp.exists():
            shutil.rmtree(tmp)  # left by a run that crashed mid-write
        tmp.mkdir()
        n_veiculos, n_manutencoes = _write(tmp, fleet, new, s, e, rng, progress)
        write_folder_info(tmp, end)  # the fleet's states are as of the last simulated day
        _remove_step_folders(outbox, step)  # a crashed run of this step may have left one
        tmp.rename(out_dir)
        last_end = end if state is None else max(end, state.last_end)
        save_state(outbox, GeneratorState(seed, vehicles, step, last_end, fleet))
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        raise ConfigError(
            _("cannot write the batch {folder}: {error}").format(
                folder=out_dir, error=exc.strerror or exc
            ),
            hint=_("check that the outbox folder is writable and has free space"),
        ) from None
    return GenerateResult(out_dir, step, start, end, n_veiculos, n_manutencoes)


def _write(
    folder: Path,
    fleet: dict[str, Vehicle],
    new: set[str],
    start: int,
    end: int,
    rng: random.Random,
    progress: Callable[[int], None] | None,
) -> tuple[int, int]:
    """Simulate every vehicle in plate order, streaming both files; return their row counts."""
    set_total = getattr(progress, "set_total", None)
    if set_total is not None:
        set_total(len(fleet))
    with (
        CanonicalWriter(folder / VEICULOS.file_name, VEICULOS) as veiculos,
        CanonicalWriter(folder / MANUTENCOES.file_name, MANUTENCOES) as manutencoes,
    ):
        for done, placa in enumerate(sorted(fleet), 1):
            vehicle = fleet[placa]
            rows, changed = simulate_vehicle(vehicle, start, end, rng)
            for row in rows:
                manutencoes.write(row)
            if progress is not None:
                progress(done)
            if changed or placa in new:
                veiculos.write(
                    {
                        "placa": placa,
                        "tipo_veiculo": vehicle.tipo,
                        "status": vehicle.status,
                        "quilometragem_total": vehicle.km,
                        "data_aquisicao": date.fromordinal(vehicle.aquisicao),
                    }
                )
    return veiculos.rows, manutencoes.rows


def _remove_step_folders(outbox: Path, step: int) -> None:
    # The content of a step is deterministic, so an earlier attempt's folder (same step, maybe
    # another end date if `until` changed since the crash) is stale and must not be published.
    for entry in outbox.iterdir():
        match = _BATCH_DIR.match(entry.name)
        if match and int(match.group(1)) == step and entry.is_dir():
            shutil.rmtree(entry)
