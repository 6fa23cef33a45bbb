"""The operational tables: columns, types and rules. Everything else derives from them.

The DDL (`frota.db.schema`), the generator, the validator, the loader and the warehouse's
dbt sources all read these definitions; nothing else spells a column name by hand.

The original tables are kept exactly (names, types, keys, FK). frota adds nullable columns
only, so a CSV in the original format still loads: lineage (`lote_id`) and the KPI columns
the original schema cannot support (`quilometragem`, `categoria`, `data_conclusao`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal

Kind = Literal["str", "int", "date", "decimal", "serial"]


@dataclass(frozen=True)
class Column:
    """One column of an operational table."""

    name: str
    kind: Kind
    length: int | None = None  # VARCHAR length
    precision: tuple[int, int] | None = None  # DECIMAL(p, s)
    primary_key: bool = False
    references: str | None = None  # "table.column"
    original: bool = True  # part of the original schema (a CSV must carry it)
    in_csv: bool = True  # appears in canonical CSVs (False: assigned by the database/loader)
    required: bool = False  # a row without a value is quarantined
    minimum: int | Decimal | None = None
    maximum: int | Decimal | None = None
    aliases: tuple[str, ...] = ()  # other header names a CSV may use (any case, accents)
    doc: str = ""


@dataclass(frozen=True)
class Table:
    """One operational table and the CSV file that feeds it."""

    name: str
    columns: tuple[Column, ...]
    doc: str = ""

    @property
    def file_name(self) -> str:
        return f"{self.name}.csv"

    @property
    def csv_columns(self) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if c.in_csv)

    @property
    def csv_header(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.csv_columns)

    @property
    def required_header(self) -> tuple[str, ...]:
        """Columns a CSV must have: the original ones."""
        return tuple(c.name for c in self.csv_columns if c.original)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


LINEAGE = Column(
    "lote_id",
    "str",
    length=64,
    original=False,
    in_csv=False,
    doc="Batch that last wrote the row (frota_batches.batch_id).",
)

VEICULOS = Table(
    "veiculos",
    (
        Column(
            "placa",
            "str",
            length=10,
            primary_key=True,
            required=True,
            doc="Plate, uppercase, no hyphen: ABC1234 (old) or ABC1D23 (Mercosul).",
        ),
        Column("tipo_veiculo", "str", length=50, doc="The company's own word for the type."),
        Column("status", "str", length=50, doc="The company's own word for the status."),
        Column(
            "quilometragem_total",
            "int",
            minimum=0,
            maximum=5_000_000,
            doc="Odometer (km); never goes backwards.",
        ),
        Column("data_aquisicao", "date", doc="Acquisition date; not in the future."),
        LINEAGE,
    ),
    doc="One row per vehicle, upserted by placa.",
)

MANUTENCOES = Table(
    "manutencoes",
    (
        Column(
            "id",
            "serial",
            primary_key=True,
            in_csv=False,
            doc="Assigned by the database (AUTO_INCREMENT).",
        ),
        Column(
            "placa_veiculo",
            "str",
            length=10,
            references="veiculos.placa",
            required=True,
            doc="Plate of the serviced vehicle; it must exist in veiculos.",
        ),
        Column("tipo_manutencao", "str", length=100, doc="The company's own word for the service."),
        Column("data_manutencao", "date", required=True, doc="Service date; not in the future."),
        Column(
            "custo",
            "decimal",
            precision=(10, 2),
            minimum=Decimal("0"),
            maximum=Decimal("5000000"),
            doc="Cost in BRL.",
        ),
        Column(
            "quilometragem",
            "int",
            original=False,
            minimum=0,
            maximum=5_000_000,
            doc="Odometer at service (km).",
        ),
        Column("categoria", "str", length=20, original=False, doc="preventiva or corretiva."),
        Column(
            "data_conclusao",
            "date",
            original=False,
            doc="Date the vehicle left the shop (downtime); not before data_manutencao.",
        ),
        Column(
            "id_origem",
            "str",
            length=64,
            original=False,
            aliases=("OS", "Nº OS", "Nº da OS", "Número da OS", "Ordem de serviço"),
            doc="The source's work-order number: with it, a later batch updates the record "
            "(frota.contract.identity).",
        ),
        LINEAGE,
    ),
    doc="One row per maintenance: a record, identified by frota.contract.identity.",
)

TABLES: tuple[Table, ...] = (VEICULOS, MANUTENCOES)
TABLES_BY_NAME = {t.name: t for t in TABLES}
TABLES_BY_FILE = {t.file_name: t for t in TABLES}

CATEGORIAS = ("preventiva", "corretiva")

OLD_PLATE = re.compile(r"^[A-Z]{3}[0-9]{4}$")
MERCOSUL_PLATE = re.compile(r"^[A-Z]{3}[0-9][A-Z][0-9]{2}$")


def is_valid_plate(plate: str) -> bool:
    """True for a normalised plate in the old (ABC1234) or Mercosul (ABC1D23) format."""
    return bool(OLD_PLATE.match(plate) or MERCOSUL_PLATE.match(plate))


def display_plate(plate: str) -> str:
    """The plate as people write it: ABC-1234 for the old format, ABC1D23 for Mercosul."""
    return f"{plate[:3]}-{plate[3:]}" if OLD_PLATE.match(plate) else plate


# Bookkeeping tables (the pipeline's own, `frota_` prefix).
BATCHES_TABLE = "frota_batches"
RETRY_SOURCE = "quarantine-retry"  # the source of the ledger entries `quarantine retry` writes
UNDO_SOURCE = "batch-undo"  # … and of those `frota batch undo` writes
REPLAY_SOURCE = "batch-replay"  # … and `frota batch replay`
OPERATION_SOURCES = (RETRY_SOURCE, UNDO_SOURCE, REPLAY_SOURCE)  # entries no source published
QUARANTINE_TABLE = "frota_quarantine"
RUNS_TABLE = "frota_runs"
