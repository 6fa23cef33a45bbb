"""The quarantine as sheets for a pt-BR Excel, and back: `frota quarantine export --format
excel-br DIR` writes one sheet per table (`DIR/veiculos.csv`, `DIR/manutencoes.csv`) with the
table's own columns, written as the company writes them (decimal comma, dd/mm/yyyy), then the
reason, the column it is about, the export's line and the quarantine id; `read_corrections`
reads a corrected sheet back for `frota quarantine retry --from FILE`.

A ragged row (no values kept) has its fields placed in the columns in order, the fields beyond
the header's in `excedente`, so a person can see and fix it.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from frota.config import Settings
from frota.contract import TABLES, TABLES_BY_NAME, Column, Table
from frota.contract.canonical import format_value
from frota.contract.sheet import ENCODING, QUARANTINE_ID, br_cell, sheet, unneutralise
from frota.contract.validate import BRAZILIAN, ValueProblem, parse_decimal, parse_value
from frota.contract.validate import canonical_text as rewritten
from frota.db.schema import quarantine
from frota.errors import BadInputError, ConfigError
from frota.i18n import _
from frota.ops.engine import database
from frota.ops.quarantine.rows import HeldRow, filters, pages

# After the table's own columns (fixed names: a sheet reads back in any language).
REASON, COLUMN, LINE, EXTRA, ID = "motivo", "coluna", "linha", "excedente", QUARANTINE_ID
META = (REASON, COLUMN, LINE, EXTRA, ID)
_ISO = re.compile(r"^([0-9]{4})-([0-9]{2})-([0-9]{2})$")


def br_text(col: Column, text: str | None) -> str:
    """A canonical cell as the company writes it: `1234.56` -> `1234,56`, `2026-01-05` ->
    `05/01/2026` (even an impossible date keeps the shape); anything else as it is."""
    if not text:
        return ""
    if col.kind == "date" and (m := _ISO.match(text)):
        return f"{m.group(3)}/{m.group(2)}/{m.group(1)}"
    if col.kind == "decimal":
        try:
            return br_cell(parse_decimal(text, scale=(col.precision or (10, 2))[1]))
        except ValueProblem:
            return text
    return text


def canonical_text(col: Column, text: str) -> str:
    """A cell of a corrected sheet as canonical text when it parses (`1.234,56` -> `1234.56`,
    `05/01/2026` -> `2026-01-05`); a bad value rewritten canonically where it can be
    (`-10,00` -> `-10.00`), so the retry names the same problem."""
    text = unneutralise(text.strip())
    if not text:
        return ""
    try:
        return format_value(parse_value(col, text, BRAZILIAN, date.max))
    except ValueProblem:
        return rewritten(col, text, BRAZILIAN)


def _cells(table: Table, row: HeldRow) -> list[str]:
    columns = table.csv_columns
    if row.values is not None:
        cells = [br_text(c, row.values.get(c.name)) for c in columns]
        extra = ""
    else:  # ragged: the raw record's fields, in order
        fields = next(csv.reader([row.raw or ""]), [])
        cells = (fields + [""] * len(columns))[: len(columns)]
        extra = " | ".join(fields[len(columns) :])
    return [*cells, row.reason, row.column_name or "", str(row.line or ""), extra, str(row.id)]


def export_excel_br(
    settings: Settings,
    folder: Path,
    *,
    batch: str | None = None,
    reason: str | None = None,
    status: str = "held",
    table: str | None = None,
) -> dict[str, int]:
    """One sheet per table with matching rows, in `folder`; rows written per table."""
    if table is not None and table not in TABLES_BY_NAME:
        raise ConfigError(
            _("unknown table {table!r}").format(table=table), hint=_("use veiculos or manutencoes")
        )
    folder.mkdir(parents=True, exist_ok=True)
    written: dict[str, int] = {}
    with database(settings) as conn:
        for t in [TABLES_BY_NAME[table]] if table else TABLES:
            where = [*filters(batch, reason, status), quarantine.c.table_name == t.name]
            rows = pages(conn, where)
            first = next(rows, None)
            if first is None:
                continue
            with sheet(folder / t.file_name) as out:
                out.header([*t.csv_header, *META])
                out.row(_cells(t, first))
                for row in rows:
                    out.row(_cells(t, row))
                written[t.name] = out.rows
    return written


@dataclass(frozen=True)
class Correction:
    """One row of a corrected sheet: the quarantine row and its values, canonical."""

    id: int
    table: str
    values: dict[str, str]
    line: int  # in the sheet, for messages
    extra: str = ""  # fields beyond the table's columns (a ragged row not fixed yet)


def as_read_back(table: Table, row: HeldRow) -> tuple[dict[str, str], str]:
    """A held row's values and extra fields as its exported sheet reads back untouched:
    what a correction is compared with to tell whether a person changed the row."""
    cells = _cells(table, row)
    columns = table.csv_columns
    values = {c.name: canonical_text(c, cell) for c, cell in zip(columns, cells, strict=False)}
    return values, cells[len(columns) + META.index(EXTRA)]


def read_corrections(path: Path) -> list[Correction]:
    """The rows of a sheet `export --format excel-br` wrote (the delimiter detected; UTF-8
    with or without BOM); BadInputError naming the line for what cannot be read."""
    path = Path(path)
    try:
        text = path.read_text(encoding=ENCODING)
    except UnicodeDecodeError:
        text = path.read_text(encoding="cp1252")  # saved again by Excel as "CSV"
    header_line = text.split("\n", 1)[0]
    delimiter = ";" if header_line.count(";") >= header_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    names = [n.strip() for n in reader.fieldnames or []]
    reader.fieldnames = names
    table = _table_of(names, path.name)
    corrections = []
    for row in reader:
        line = reader.line_num
        raw_id = (row.get(ID) or "").strip()
        if not raw_id:
            if not any((v or "").strip() for v in row.values() if isinstance(v, str)):
                continue  # a blank line
            raise BadInputError(
                _("no {ID}: frota cannot tell which held row this is").format(ID=ID),
                file=path.name,
                line=line,
                column=ID,
                hint=_("keep the column as exported; add no rows to the sheet"),
            )
        if not raw_id.isdigit():
            raise BadInputError(
                _("{ID} {raw_id!r} is not a number").format(ID=ID, raw_id=raw_id),
                file=path.name,
                line=line,
                column=ID,
            )
        values = {c.name: canonical_text(c, row.get(c.name) or "") for c in table.csv_columns}
        extra = unneutralise((row.get(EXTRA) or "").strip())
        corrections.append(Correction(int(raw_id), table.name, values, line, extra))
    return corrections


def _table_of(names: list[str], file: str) -> Table:
    """The table whose columns the sheet's header holds (with the id column)."""
    if ID not in names:
        raise BadInputError(
            _(
                "not a sheet from `frota quarantine export --format excel-br` (no {ID} column)"
            ).format(ID=ID),
            file=file,
            line=1,
            hint=_("export the rows with --format excel-br, correct them, and retry that file"),
        )
    for table in TABLES:
        if all(c in names for c in table.required_header):
            return table
    raise BadInputError(
        _("the header holds neither table's columns"), file=file, line=1, column=names[0]
    )
