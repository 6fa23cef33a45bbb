"""One vehicle through one window, event by event.

Rather than stepping day by day (20,000 vehicles x 730 days is 14.6 M iterations), each vehicle
jumps straight to its next event: the next preventive service (odometer reaches the due km),
the next failure (an exponential draw whose rate grows with age and km) or retirement.
Exponential waiting times are memoryless, so redrawing them after every event is exact as long
as the rates are held constant in between, which is a fine approximation at one event every
few weeks.
"""

from __future__ import annotations

import random
from datetime import date
from decimal import Decimal
from typing import Any

from frota.generate.catalog import (
    ATIVO,
    CORRECTIVE_SCALE,
    CORRETIVA,
    EARLY_RETIREMENT_RATE,
    EM_MANUTENCAO,
    EOL_RETIREMENT_RATE,
    INATIVO,
    PREVENTIVA,
    PREVENTIVE_TOLERANCE,
    REPAIR_WEIGHTS,
    REPAIRS,
    repair_cost,
)
from frota.generate.fleet import Vehicle

Row = dict[str, Any]
RESEND_SHARE = 0.03  # chance, per vehicle and window, that the export repeats its last row


def _brl(rng: random.Random, lo: int, hi: int) -> Decimal:
    """A cost in [lo, hi] reais with centavos: exact, always two decimal places."""
    return Decimal(rng.randint(lo * 100, hi * 100)).scaleb(-2)


def simulate_vehicle(
    v: Vehicle, start: int, end: int, rng: random.Random
) -> tuple[list[Row], bool]:
    """Advance `v` through days [start, end] (ordinals) in place.

    Returns the window's maintenance rows (by date) and whether the vehicle's veiculos row
    changed. The odometer only grows; a visit still open at `end` leaves the vehicle
    "em manutenção" with an empty data_conclusao, and it returns to service in a later window:
    its rows are then sent again, closed (the same work orders: the loader updates them). Each
    row has its work order (`id_origem`); now and then an export overlaps the previous one and
    sends the vehicle's last closed row again, unchanged (the loader counts it as present).
    """
    if v.status == INATIVO:
        return [], False
    before = (v.status, v.km)
    # The clock is the last day already driven; a run repeating the last day (same-day rerun)
    # starts before the stored odometer's day, which only means one more day of driving.
    clock = max(start - 1, v.aquisicao)
    again: list[Row] = []
    if v.ultima is not None and rng.random() < RESEND_SHARE:
        again.append(_restored(v.ultima))
    if v.oficina_ate is not None:
        if v.oficina_ate > end:
            return again, False
        clock = max(clock, v.oficina_ate)
        closed = date.fromordinal(v.oficina_ate)
        again += [{**_restored(r), "data_conclusao": closed} for r in v.aberta]
        v.aberta = []
        v.oficina_ate = None
        v.status = ATIVO

    vtype = v.vtype
    failure_rate = CORRECTIVE_SCALE * vtype.failures_per_year / 365
    rows: list[Row] = []
    while True:
        age = (clock - v.aquisicao) / 365
        worn = age >= vtype.life_years or v.km >= vtype.life_km
        wear = 1 + 0.6 * age / vtype.life_years + 0.6 * v.km / vtype.life_km
        due_km = min(v.proximas.values())
        t_service = clock + max(1, -(-(due_km - v.km) // v.km_dia))
        t_failure = clock + 1 + int(rng.expovariate(failure_rate * wear))
        retire_rate = (EOL_RETIREMENT_RATE if worn else EARLY_RETIREMENT_RATE) / 365
        t_retire = clock + 1 + int(rng.expovariate(retire_rate))
        t = min(t_service, t_failure, t_retire)
        if t > end:
            _drive(v, end - clock, rng)
            break
        _drive(v, t - clock, rng)
        clock = t
        if t == t_retire:
            v.status = INATIVO
            v.proximas = {}
            break

        visit: list[Row] = []
        downtime = 0
        if t == t_failure:
            repair = rng.choices(REPAIRS, weights=REPAIR_WEIGHTS)[0]
            downtime = rng.randint(*repair.downtime)
            visit.append(_row(v, repair.name, t, _brl(rng, *repair_cost(vtype, repair)), CORRETIVA))
        # Services due now (or nearly: the shop does them while the vehicle is in) are done
        # at the same visit; the next one is due a full interval after today's odometer.
        for service in vtype.services:
            if v.proximas[service.name] <= v.km + service.interval_km * PREVENTIVE_TOLERANCE:
                downtime = max(downtime, rng.randint(*service.downtime))
                v.proximas[service.name] = v.km + service.interval_km
                visit.append(_row(v, service.name, t, _brl(rng, *service.cost), PREVENTIVA))
        if not visit:
            continue  # the odometer fell short of the due km: drive on
        release = t + downtime
        if release <= end:
            conclusao: date | None = date.fromordinal(release)
            clock = release
        else:
            conclusao = None
            v.oficina_ate = release
            v.status = EM_MANUTENCAO
        for row in visit:
            row["data_conclusao"] = conclusao
        rows.extend(visit)
        if conclusao is None:
            v.aberta = [_stored(row) for row in visit]
            break
    closed_rows = [r for r in rows if r["data_conclusao"] is not None]
    if closed_rows:
        v.ultima = _stored(closed_rows[-1])
    return again + rows, rows != [] or (v.status, v.km) != before


def _drive(v: Vehicle, days: int, rng: random.Random) -> None:
    # Day-to-day use varies around the vehicle's mean (routes, holidays, idle days).
    if days > 0:
        v.km += int(days * v.km_dia * rng.uniform(0.85, 1.15))


def _stored(row: Row) -> dict[str, Any]:
    """A row as the state file keeps it (JSON)."""
    return {k: (v if v is None or isinstance(v, int) else str(v)) for k, v in row.items()}


def _restored(data: dict[str, Any]) -> Row:
    row: Row = dict(data)
    for name in ("data_manutencao", "data_conclusao"):
        row[name] = None if row.get(name) is None else date.fromisoformat(row[name])
    row["custo"] = Decimal(row["custo"])
    return row


def _row(v: Vehicle, tipo: str, day: int, custo: Decimal, categoria: str) -> Row:
    v.ordens += 1
    return {
        "placa_veiculo": v.placa,
        "tipo_manutencao": tipo,
        "data_manutencao": date.fromordinal(day),
        "custo": custo,
        "quilometragem": v.km,
        "categoria": categoria,
        "data_conclusao": None,
        "id_origem": f"OS-{v.placa}-{v.ordens:05d}",  # the shop's work-order number
    }
