"""SQLite: `executemany` of tuples on the raw cursor (no per-row SQLAlchemy dicts): into the
stage, or (direct) into manutencoes in a savepoint."""

from __future__ import annotations

import sqlite3
from array import array
from datetime import date
from decimal import Decimal
from typing import Any

from frota.load.bulk.base import COLUMNS, DIRECT, KEYED, REQUIRED, SAVEPOINT, STAGE, ChunkedWriter

# The page cache of the database file while chunks go straight to manutencoes. A row without
# a work order is keyed by a digest, which lands on a random leaf of the UNIQUE index on
# `chave`; once that index outgrows SQLite's default 2 MB cache, such an insert spills a dirty
# page to the WAL and reads another back (docs/benchmarks.md). Work-order keys are ordered
# since 0009 (one source's work orders side by side), so they mostly touch the same leaves.
# Only for the direct inserts: SQLite sizes its sorters by this cache too, and the stage's
# sorts with a larger cache raised peak RSS at 5M rows to 374 MB.
DIRECT_CACHE_KIB = 32 * 1024


class SqliteWriter(ChunkedWriter):
    """executemany of tuples, bound as SQLAlchemy would: dates as ISO text, decimals as float.

    Canonical cells are bound as they are: the statement turns '' into NULL, and the columns'
    affinity stores '850.00' exactly as the float 850.0 (tests/test_bulk_load.py compares)."""

    # SQLite runs in this process and takes the GIL back for every row it binds: a second
    # thread only adds lock hand-offs (measured: 60% slower), so chunks are written inline.
    threaded = False
    chunk_rows = 20_000  # tuples of Python objects: ~500 bytes a row
    _cache_before: int | None = None  # main's cache_size while the direct cache is raised

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        values = ["?" if c in REQUIRED else "NULLIF(?, '')" for c in COLUMNS]
        self.sql = f"INSERT INTO {STAGE} ({', '.join(COLUMNS)}) VALUES ({', '.join(values)})"
        lote = "'" + self.lote_id.replace("'", "''") + "'"  # a literal: one tuple a row, as is
        direct = [*values[: len(KEYED)], lote]
        self.direct_sql = (
            f"INSERT INTO manutencoes ({', '.join(DIRECT)}) VALUES ({', '.join(direct)})"
        )

    def _body(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(_bind(row.get(c)) for c in KEYED)

    def _key(self, body: tuple[Any, ...]) -> str:
        return body[-1] or ""

    def add_canonical(self, cells: tuple[str, ...], line: int) -> None:
        self.buffer.append(cells)
        self.lines.append(line)
        if len(self.buffer) >= self.chunk_rows:  # inline: once per row
            self.flush()

    def _write_stage(self, chunk: list[Any], lines: array[int]) -> None:
        self._restore_cache()
        cur = self.dbapi.cursor()
        try:
            rows = [(*row, line) for row, line in zip(chunk, lines, strict=True)]
            cur.executemany(self.sql, rows)
        finally:
            cur.close()

    def _write_direct(self, chunk: list[Any]) -> bool:
        cur = self.dbapi.cursor()
        try:
            if self._cache_before is None:
                self._cache_before = cur.execute("PRAGMA main.cache_size").fetchone()[0]
                cur.execute(f"PRAGMA main.cache_size = {-DIRECT_CACHE_KIB}")
            cur.execute(f"SAVEPOINT {SAVEPOINT}")
            try:
                cur.executemany(self.direct_sql, chunk)
            except sqlite3.IntegrityError as error:
                if "manutencoes.chave" not in str(error):
                    raise
                cur.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
                cur.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
                self._restore_cache()
                return False
            cur.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
            return True
        finally:
            cur.close()

    def _restore_cache(self) -> None:
        """Give main back its own page cache: before the stage, and when the writer closes."""
        if self._cache_before is not None:
            self.dbapi.execute(f"PRAGMA main.cache_size = {self._cache_before}")
            self._cache_before = None

    def close(self) -> None:
        self._restore_cache()


def _bind(value: Any) -> Any:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
