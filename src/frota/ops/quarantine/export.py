"""`frota quarantine export`: the rows in a CSV Excel opens as is (UTF-8 with BOM, `;`), one
row per quarantine row with its values in the contract's columns; cells that start with `=`,
`+`, `-`, `@` are neutralised with a leading `'` so a spreadsheet never runs them as formulas.
"""

from __future__ import annotations

import csv
from pathlib import Path

from frota.config import Settings
from frota.contract import TABLES, TABLES_BY_NAME
from frota.contract.sheet import neutralise
from frota.db.schema import quarantine
from frota.errors import ConfigError
from frota.i18n import _
from frota.ops.engine import database
from frota.ops.quarantine.rows import filters, pages

EXPORT_META = (
    "frota_id",
    "frota_batch",
    "frota_file",
    "frota_line",
    "frota_reason",
    "frota_explanation",
    "frota_column",
    "frota_detail",
    "frota_status",
)


def export_quarantine(
    settings: Settings,
    path: Path,
    *,
    batch: str | None = None,
    reason: str | None = None,
    status: str = "held",
    table: str | None = None,
    delimiter: str = ";",
) -> int:
    """Write matching rows to a CSV for Excel (UTF-8 BOM); return the number of rows."""
    if table is not None and table not in TABLES_BY_NAME:
        raise ConfigError(
            _("unknown table {table!r}").format(table=table), hint=_("use veiculos or manutencoes")
        )
    where = filters(batch, reason, status)
    if table:
        where.append(quarantine.c.table_name == table)
    tables = [TABLES_BY_NAME[table]] if table else list(TABLES)
    data_columns = list(dict.fromkeys(c for t in tables for c in t.csv_header))
    written = 0
    part = Path(path).with_name(Path(path).name + ".part")
    try:
        with database(settings) as conn, open(part, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
            writer.writerow([*EXPORT_META, *data_columns, "frota_raw"])
            for row in pages(conn, where):
                values = row.values or {}
                meta = (
                    row.id,
                    row.batch_id,
                    row.file,
                    row.line,
                    row.reason,
                    row.explanation,
                    row.column_name,
                    row.detail,
                    row.status,
                )
                writer.writerow(
                    [
                        *(neutralise(None if v is None else str(v)) for v in meta),
                        *(neutralise(values.get(c)) for c in data_columns),
                        neutralise(row.raw),
                    ]
                )
                written += 1
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
    return written
