"""Sheets for people: CSV files a pt-BR Excel opens as they are, and reads back.

`;` between cells, UTF-8 with a BOM (so Excel does not guess cp1252), CRLF line ends, numbers
with a decimal comma, dates as dd/mm/yyyy; a cell that starts like a formula (`=`, `+`, `-`,
`@`) gets a leading `'` so a spreadsheet never runs it. Written through a `.part` file, so a
half-written sheet is never left under the real name.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"^[+-]?[0-9][0-9.,]*$")  # `-10,50` is a number to Excel, never a formula
DELIMITER = ";"
ENCODING = "utf-8-sig"
# The last column of a quarantine sheet (frota quarantine export --format excel-br): the held
# row's id, which `quarantine retry --from` releases; a sheet that has it is no export.
QUARANTINE_ID = "quarentena_id"


def neutralise(text: str | None) -> str:
    """A cell a spreadsheet shows as text: `=SUM(A1)` -> `'=SUM(A1)` (formula injection)."""
    if not text:
        return ""
    if text.startswith(FORMULA_START) and not _NUMBER.match(text):
        return "'" + text
    return text


def unneutralise(text: str) -> str:
    """A cell read back: the `'` that `neutralise` added taken off again."""
    if text.startswith("'") and text[1:].startswith(FORMULA_START) and not _NUMBER.match(text[1:]):
        return text[1:]
    return text


def br_cell(value: Any) -> str:
    """A typed value as pt-BR Excel writes it: `1234,56`, `05/01/2026`; text as it is."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if isinstance(value, Decimal | float):
        return str(value).replace(".", ",")
    return str(value)


class SheetWriter:
    """Rows into an open sheet; every cell neutralised."""

    def __init__(self, fh: Any, delimiter: str) -> None:
        self._csv = csv.writer(fh, delimiter=delimiter, lineterminator="\r\n")
        self.rows = 0

    def header(self, names: Sequence[str]) -> None:
        self._csv.writerow(names)

    def row(self, cells: Sequence[Any]) -> None:
        self._csv.writerow([neutralise(None if c is None else str(c)) for c in cells])
        self.rows += 1


@contextmanager
def sheet(path: Path, *, delimiter: str = DELIMITER) -> Iterator[SheetWriter]:
    """A sheet written to `path` (replaced only once it is whole)."""
    path = Path(path)
    part = path.with_name(path.name + ".part")
    try:
        with open(part, "w", encoding=ENCODING, newline="") as fh:
            yield SheetWriter(fh, delimiter)
        part.replace(path)
    finally:
        part.unlink(missing_ok=True)
