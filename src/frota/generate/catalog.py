"""What the simulated fleet is made of: vehicle types, services, rates and BRL cost ranges.

Every number the simulator uses lives here, so `docs/generator.md` and the tests can point at
one place. Names are the company's own Portuguese words, as the contract stores them.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

ATIVO = "ativo"
EM_MANUTENCAO = "em manutenção"
INATIVO = "inativo"

PREVENTIVA = "preventiva"
CORRETIVA = "corretiva"

# Mercosul plates started in Rio de Janeiro on 2018-09-11 and became mandatory nationwide
# (new registrations and ownership transfers) on 2020-01-31; in between both formats were issued.
MERCOSUL_FIRST = (2018, 9, 11)
MERCOSUL_MANDATORY = (2020, 1, 31)

# Fleet-level yearly rates (fractions of the active fleet).
ACQUISITION_RATE = 0.10  # renewal of retired vehicles (~9 %/year) plus a little growth
EARLY_RETIREMENT_RATE = 0.005  # total loss / early sale, any age
EOL_RETIREMENT_RATE = 1.0  # once past its age or km life: retired within ~a year on average

# Every corrective rate is multiplied by this: the knob to trade volume for realism.
CORRECTIVE_SCALE = 1.6

# At a shop visit, preventive services due within this share of their interval are done too.
PREVENTIVE_TOLERANCE = 0.1


@dataclass(frozen=True)
class Service:
    """A preventive service: done every `interval_km`, costs `cost` BRL, takes `downtime` days."""

    name: str
    interval_km: int
    cost: tuple[int, int]
    downtime: tuple[int, int]


@dataclass(frozen=True)
class Repair:
    """A corrective repair; `cost` is for a Caminhão Toco, scaled by the type's `repair_scale`."""

    name: str
    weight: int
    cost: tuple[int, int]
    downtime: tuple[int, int]


@dataclass(frozen=True)
class VehicleType:
    """One vehicle type with its usage, life and maintenance profile."""

    name: str
    share: int  # weight in the fleet mix
    km_per_day: tuple[int, int]  # range of a vehicle's mean km per calendar day
    life_years: int  # retirement becomes likely past this age...
    life_km: int  # ...or this odometer
    failures_per_year: float  # corrective visits per year of a new vehicle
    repair_scale: float  # repair costs relative to a Caminhão Toco
    services: tuple[Service, ...]


OLEO = "Troca de óleo e filtros"
REVISAO = "Revisão preventiva"
ALINHAMENTO = "Alinhamento e balanceamento"
PNEUS = "Troca de pneus"
FREIOS = "Revisão do sistema de freios"
RELACAO = "Troca do kit relação"


def _light(
    oleo: tuple[int, int],
    revisao: tuple[int, int],
    alinh: tuple[int, int],
    pneus: tuple[int, int],
    oleo_km: int,
    pneus_km: int,
) -> tuple[Service, ...]:
    return (
        Service(OLEO, oleo_km, oleo, (0, 1)),
        Service(REVISAO, oleo_km * 2, revisao, (1, 2)),
        Service(ALINHAMENTO, oleo_km, alinh, (0, 0)),
        Service(PNEUS, pneus_km, pneus, (0, 1)),
    )


def _heavy(
    oleo: tuple[int, int],
    revisao: tuple[int, int],
    alinh: tuple[int, int],
    pneus: tuple[int, int],
    freios: tuple[int, int],
    oleo_km: int,
    pneus_km: int,
) -> tuple[Service, ...]:
    return (
        *_light(oleo, revisao, alinh, pneus, oleo_km, pneus_km),
        Service(FREIOS, oleo_km * 2, freios, (1, 2)),
    )


VEHICLE_TYPES: tuple[VehicleType, ...] = (
    VehicleType("Moto", 12, (80, 150), 5, 250_000, 5.0, 0.12, (
        Service(OLEO, 3_000, (80, 200), (0, 0)),
        Service(REVISAO, 6_000, (250, 600), (0, 1)),
        Service(RELACAO, 15_000, (250, 600), (0, 1)),
        Service(PNEUS, 12_000, (250, 600), (0, 1)),
    )),
    VehicleType("Utilitário", 18, (100, 180), 8, 350_000, 3.0, 0.30,
                _light((250, 450), (600, 1_400), (120, 250), (1_600, 3_200), 10_000, 45_000)),
    VehicleType("Van", 14, (120, 200), 8, 450_000, 3.5, 0.40,
                _light((350, 650), (900, 2_000), (150, 300), (2_400, 4_400), 10_000, 50_000)),
    VehicleType("VUC", 18, (100, 180), 10, 500_000, 3.5, 0.55,
                _light((500, 900), (1_500, 3_500), (200, 400), (3_000, 6_000), 15_000, 60_000)),
    VehicleType("Caminhão 3/4", 14, (150, 250), 10, 600_000, 4.0, 0.70,
                _heavy((600, 1_100), (1_800, 4_000), (250, 500), (4_500, 9_000), (800, 2_000),
                       15_000, 70_000)),
    VehicleType("Caminhão Toco", 10, (200, 350), 12, 900_000, 4.5, 1.00,
                _heavy((900, 1_600), (2_500, 6_000), (300, 600), (9_000, 16_000),
                       (1_200, 3_000), 20_000, 80_000)),
    VehicleType("Caminhão Truck", 8, (300, 500), 12, 1_200_000, 5.0, 1.30,
                _heavy((1_200, 2_200), (3_500, 8_000), (400, 800), (15_000, 28_000),
                       (1_800, 4_000), 20_000, 90_000)),
    VehicleType("Cavalo Mecânico", 6, (400, 650), 10, 1_500_000, 6.0, 1.80,
                _heavy((1_500, 3_000), (4_000, 10_000), (500, 1_000), (18_000, 36_000),
                       (2_500, 5_500), 25_000, 100_000)),
)  # fmt: skip

TYPES_BY_NAME = {t.name: t for t in VEHICLE_TYPES}

REPAIRS: tuple[Repair, ...] = (
    Repair("Reparo no sistema de freios", 18, (800, 3_500), (1, 3)),
    Repair("Troca de pneu avariado", 16, (900, 2_200), (1, 1)),
    Repair("Reparo elétrico", 14, (300, 2_500), (1, 3)),
    Repair("Reparo de suspensão", 12, (1_200, 6_000), (1, 5)),
    Repair("Troca de embreagem", 8, (2_500, 7_000), (2, 5)),
    Repair("Reparo no sistema de arrefecimento", 8, (600, 3_000), (1, 4)),
    Repair("Troca de bateria", 7, (700, 1_500), (1, 1)),
    Repair("Reparo na injeção eletrônica", 6, (800, 4_000), (1, 5)),
    Repair("Reparo de motor", 5, (9_000, 33_000), (5, 15)),
    Repair("Reparo de câmbio", 4, (5_000, 20_000), (4, 12)),
    Repair("Funilaria e pintura", 4, (1_500, 12_000), (3, 15)),
)
REPAIR_WEIGHTS = tuple(r.weight for r in REPAIRS)


def repair_cost(vtype: VehicleType, repair: Repair) -> tuple[int, int]:
    """The repair's BRL range for this vehicle type, in whole reais."""
    lo, hi = repair.cost
    return round(lo * vtype.repair_scale), round(hi * vtype.repair_scale)


def cost_range(tipo_veiculo: str, tipo_manutencao: str) -> tuple[Decimal, Decimal]:
    """The BRL range the simulator draws `custo` from for this vehicle type and service."""
    vtype = TYPES_BY_NAME[tipo_veiculo]
    for service in vtype.services:
        if service.name == tipo_manutencao:
            lo, hi = service.cost
            return Decimal(lo), Decimal(hi)
    for repair in REPAIRS:
        if repair.name == tipo_manutencao:
            lo, hi = repair_cost(vtype, repair)
            return Decimal(lo), Decimal(hi)
    raise KeyError((tipo_veiculo, tipo_manutencao))


def categoria_of(tipo_manutencao: str) -> str:
    """`preventiva` or `corretiva` for a service name the simulator uses."""
    if any(tipo_manutencao == r.name for r in REPAIRS):
        return CORRETIVA
    return PREVENTIVA
