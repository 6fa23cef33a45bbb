"""THE data contract, as a package: what the data is (`tables`) and how it travels as CSV.

- `tables`: the operational tables, their columns, types and rules; everything derives from it
  (the DDL, the generator, the validator, the loader, the warehouse's dbt sources).
- `canonical`: the canonical CSV of the landing area (what the source writes, the server reads).
- `tabular`: reading CSV records, with line numbers and the bad-input policy.
- `validate`: parsing one cell or one row against the contract, naming the problem.
- `categories`: the company's words for maintenance kinds and vehicle statuses, classified.

The table definitions are re-exported here: `from frota.contract import MANUTENCOES`.
"""

from frota.contract.tables import (
    BATCHES_TABLE,
    CATEGORIAS,
    LINEAGE,
    MANUTENCOES,
    MERCOSUL_PLATE,
    OLD_PLATE,
    OPERATION_SOURCES,
    QUARANTINE_TABLE,
    REPLAY_SOURCE,
    RETRY_SOURCE,
    RUNS_TABLE,
    TABLES,
    TABLES_BY_FILE,
    TABLES_BY_NAME,
    UNDO_SOURCE,
    VEICULOS,
    Column,
    Kind,
    Table,
    display_plate,
    is_valid_plate,
)

__all__ = [
    "BATCHES_TABLE",
    "CATEGORIAS",
    "LINEAGE",
    "MANUTENCOES",
    "MERCOSUL_PLATE",
    "OLD_PLATE",
    "QUARANTINE_TABLE",
    "OPERATION_SOURCES",
    "REPLAY_SOURCE",
    "RETRY_SOURCE",
    "UNDO_SOURCE",
    "RUNS_TABLE",
    "TABLES",
    "TABLES_BY_FILE",
    "TABLES_BY_NAME",
    "VEICULOS",
    "Column",
    "Kind",
    "Table",
    "display_plate",
    "is_valid_plate",
]
