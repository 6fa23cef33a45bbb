"""The canonical CSV format of the landing area: UTF-8, comma, header = contract column names,
ISO dates, dot decimal, `\\n` line ends, no index column.

Both sides of the hand-off use this module: the source writes canonical files (`generate`,
`publish --from`), the server reads them (`load`).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from frota.contract.tables import Table

# What PostgreSQL COPY, MySQL LOAD DATA or a SQL literal would have to escape in a cell.
NEEDS_ESCAPE = re.compile(r"[\\\t\n\r'\"]")


def format_value(value: Any) -> str:
    """One typed value as canonical CSV text (None -> empty)."""
    if value is None:
        return ""
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return f"{value:.2f}"
    return str(value)


class CanonicalWriter:
    """Streams rows of one table to a canonical CSV; use as a context manager.

    Writes to `<path>.part` and renames on a clean exit, so a crash never leaves a
    half-written file under the final name.
    """

    def __init__(self, path: Path, table: Table) -> None:
        self.path = Path(path)
        self.table = table
        self.rows = 0
        self._part = self.path.with_name(self.path.name + ".part")

    def __enter__(self) -> CanonicalWriter:
        self._fh = open(self._part, "w", encoding="utf-8", newline="")
        self._csv = csv.writer(self._fh, lineterminator="\n")
        self._csv.writerow(self.table.csv_header)
        return self

    def write(self, row: Mapping[str, Any]) -> None:
        self._csv.writerow([format_value(row.get(c)) for c in self.table.csv_header])
        self.rows += 1

    def write_many(self, rows: Iterable[Mapping[str, Any]]) -> None:
        for row in rows:
            self.write(row)

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        self._fh.close()
        if exc_type is None:
            os.replace(self._part, self.path)
        else:
            self._part.unlink(missing_ok=True)


def write_canonical_csv(path: Path, table: Table, rows: Iterable[Mapping[str, Any]]) -> int:
    """Write `rows` (dicts keyed by column name) as a canonical CSV; return the row count."""
    with CanonicalWriter(path, table) as writer:
        writer.write_many(rows)
    return writer.rows


def read_canonical_header(path: Path) -> list[str]:
    """The header line of a canonical CSV."""
    with open(path, encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh), [])


def iter_canonical_rows(path: Path) -> Iterator[dict[str, str]]:
    """Raw text rows of a canonical CSV (no parsing)."""
    with open(path, encoding="utf-8", newline="") as fh:
        yield from csv.DictReader(fh)
