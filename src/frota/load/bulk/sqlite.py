"""SQLite: `executemany` of tuples on the raw cursor (no per-row SQLAlchemy dicts)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from frota.load.bulk.base import COLUMNS, REQUIRED, STAGE, ChunkedWriter


class SqliteWriter(ChunkedWriter):
    """executemany of tuples, bound as SQLAlchemy would: dates as ISO text, decimals as float.

    Canonical cells are bound as they are: the statement turns '' into NULL, and the columns'
    affinity stores '850.00' exactly as the float 850.0 (tests/test_bulk_load.py compares)."""

    # SQLite runs in this process and takes the GIL back for every row it binds: a second
    # thread only adds lock hand-offs (measured: 60% slower), so chunks are written inline.
    threaded = False
    chunk_rows = 20_000  # tuples of Python objects: ~500 bytes a row

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        values = ["?" if c in REQUIRED else "NULLIF(?, '')" for c in COLUMNS]
        self.sql = f"INSERT INTO {STAGE} ({', '.join(COLUMNS)}) VALUES ({', '.join(values)})"

    def add(self, row: dict[str, Any]) -> None:
        self.buffer.append(tuple(_bind(row.get(c)) for c in COLUMNS))
        if len(self.buffer) >= self.chunk_rows:  # inline: once per row
            self.flush()

    def add_canonical(self, cells: tuple[str, ...]) -> None:
        self.buffer.append(cells)
        if len(self.buffer) >= self.chunk_rows:  # inline: once per row
            self.flush()

    def _write(self, chunk: list[Any]) -> None:
        cur = self.dbapi.cursor()
        try:
            cur.executemany(self.sql, chunk)
        finally:
            cur.close()


def _bind(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
