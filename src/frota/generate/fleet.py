"""The fleet: per-vehicle state, plates, the initial fleet and new acquisitions.

Dates are kept as proleptic ordinals (`date.toordinal()`) inside the simulator: plain ints
are cheaper than `date` objects in the hot loop and serialise as ISO dates in the state file.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from frota.generate.catalog import (
    ACQUISITION_RATE,
    ATIVO,
    INATIVO,
    MERCOSUL_FIRST,
    MERCOSUL_MANDATORY,
    TYPES_BY_NAME,
    VEHICLE_TYPES,
    VehicleType,
)

_LETTERS = string.ascii_uppercase
_TYPE_WEIGHTS = tuple(t.share for t in VEHICLE_TYPES)
_MERCOSUL_FIRST = date(*MERCOSUL_FIRST).toordinal()
_MERCOSUL_MANDATORY = date(*MERCOSUL_MANDATORY).toordinal()


@dataclass(slots=True)
class Vehicle:
    """The state of one vehicle between simulated windows."""

    placa: str
    tipo: str
    status: str
    km: int  # odometer at the end of the last simulated window
    km_dia: int  # this vehicle's mean km per calendar day
    aquisicao: int  # ordinal
    proximas: dict[str, int] = field(default_factory=dict)  # service -> odometer when due
    oficina_ate: int | None = None  # ordinal: leaves the shop then (an open maintenance)
    ordens: int = 0  # work orders issued so far: the next one is ordens + 1
    aberta: list[dict[str, Any]] = field(default_factory=list)  # the open visit's rows
    ultima: dict[str, Any] | None = None  # the last closed row (re-sent by overlapping exports)

    @property
    def vtype(self) -> VehicleType:
        return TYPES_BY_NAME[self.tipo]

    def to_json(self) -> dict[str, Any]:
        return {
            "tipo": self.tipo,
            "status": self.status,
            "km": self.km,
            "km_dia": self.km_dia,
            "aquisicao": date.fromordinal(self.aquisicao).isoformat(),
            "proximas": self.proximas,
            "oficina_ate": (
                None if self.oficina_ate is None else date.fromordinal(self.oficina_ate).isoformat()
            ),
            "ordens": self.ordens,
            "aberta": self.aberta,
            "ultima": self.ultima,
        }

    @classmethod
    def from_json(cls, placa: str, data: dict[str, Any]) -> Vehicle:
        oficina = data.get("oficina_ate")
        return cls(
            placa=placa,
            tipo=data["tipo"],
            status=data["status"],
            km=int(data["km"]),
            km_dia=int(data["km_dia"]),
            aquisicao=date.fromisoformat(data["aquisicao"]).toordinal(),
            proximas={k: int(v) for k, v in data.get("proximas", {}).items()},
            oficina_ate=None if oficina is None else date.fromisoformat(oficina).toordinal(),
            ordens=int(data.get("ordens", 0)),
            aberta=list(data.get("aberta", [])),
            ultima=data.get("ultima"),
        )


def new_plate(rng: random.Random, acquired: int, taken: set[str] | dict[str, Any]) -> str:
    """A plate not in `taken`, in the format issued on the acquisition date."""
    if acquired < _MERCOSUL_FIRST:
        mercosul = False
    elif acquired >= _MERCOSUL_MANDATORY:
        mercosul = True
    else:
        mercosul = rng.random() < 0.5
    while True:
        letters = "".join(rng.choices(_LETTERS, k=3))
        if mercosul:
            plate = f"{letters}{rng.randrange(10)}{rng.choice(_LETTERS)}{rng.randrange(100):02d}"
        else:
            plate = f"{letters}{rng.randrange(10_000):04d}"
        if plate not in taken:
            return plate


def _first_dues(vtype: VehicleType, km: int, rng: random.Random | None) -> dict[str, int]:
    """When each service is next due: a full interval away for a new vehicle, else a random
    phase (an existing fleet is never due for everything on the same day)."""
    return {
        s.name: km + (s.interval_km if rng is None else rng.randint(1, s.interval_km))
        for s in vtype.services
    }


def initial_fleet(rng: random.Random, size: int, start: int) -> dict[str, Vehicle]:
    """`size` vehicles bought new over the previous years, all before day `start`."""
    fleet: dict[str, Vehicle] = {}
    for vtype in rng.choices(VEHICLE_TYPES, weights=_TYPE_WEIGHTS, k=size):
        km_dia = rng.randint(*vtype.km_per_day)
        # Ages spread up to a little past the type's life (by years or by km, whichever comes
        # first), so some vehicles are already due to be retired.
        max_age = int(min(vtype.life_years * 365, vtype.life_km / km_dia) * 1.1)
        age = rng.randint(30, max(31, max_age))
        acquired = start - 1 - age
        km = int(age * km_dia * rng.uniform(0.85, 1.0))
        placa = new_plate(rng, acquired, fleet)
        fleet[placa] = Vehicle(
            placa, vtype.name, ATIVO, km, km_dia, acquired, _first_dues(vtype, km, rng)
        )
    return fleet


def acquisitions(
    rng: random.Random, fleet: dict[str, Vehicle], start: int, end: int
) -> list[Vehicle]:
    """New 0-km vehicles bought during [start, end], a Poisson process on the active fleet."""
    active = sum(1 for v in fleet.values() if v.status != INATIVO)
    per_day = max(active, 1) * ACQUISITION_RATE / 365
    bought: list[Vehicle] = []
    t = rng.expovariate(per_day)
    while start + int(t) <= end:
        acquired = start + int(t)
        vtype = rng.choices(VEHICLE_TYPES, weights=_TYPE_WEIGHTS)[0]
        placa = new_plate(rng, acquired, fleet)
        vehicle = Vehicle(
            placa, vtype.name, ATIVO, 0, rng.randint(*vtype.km_per_day), acquired,
            _first_dues(vtype, 0, None),
        )  # fmt: skip
        fleet[placa] = vehicle
        bought.append(vehicle)
        t += rng.expovariate(per_day)
    return bought
