"""PostgreSQL: `COPY … FROM STDIN` in text format, on the same connection: into the stage, or
(direct) into manutencoes in a savepoint.

A direct chunk's text is made and sent a piece at a time: no copy of the whole chunk (as text,
then as bytes) is built beside it, and the server starts on the first piece while the next is
joined. A staged chunk's is joined whole: staged in pieces, a 5M-row batch (staged from its
first unsettled row on) peaked at 373 MB instead of 146 MB: freed blocks kept, it seems, by
the writer thread's malloc arena (MALLOC_ARENA_MAX=1: 126 MB; docs/benchmarks.md)."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any

from frota.load.bulk.base import (
    COLUMNS,
    DIRECT,
    SAVEPOINT,
    STAGE,
    TextWriter,
    escape_text,
)

PIECE_ROWS = 5_000  # rows a COPY write


class PostgresCopyWriter(TextWriter):
    """COPY FROM STDIN on the transaction's own psycopg connection."""

    sql = f"COPY {STAGE} ({', '.join(COLUMNS)}) FROM STDIN (NULL '')"
    direct_sql = f"COPY manutencoes ({', '.join(DIRECT)}) FROM STDIN (NULL '')"

    @staticmethod
    def _copy(cur: Any, sql: str, rows: int, text: Callable[[slice], str]) -> None:
        """COPY `rows` rows, `text` of a slice of them at a time."""
        with cur.copy(sql) as copy:
            for start in range(0, rows, PIECE_ROWS):
                copy.write(text(slice(start, start + PIECE_ROWS)))

    def _write_stage(self, chunk: list[str], lines: array[int]) -> None:
        with self.dbapi.cursor() as cur, cur.copy(self.sql) as copy:
            copy.write(self.staged_text(chunk, lines))

    def _write_direct(self, chunk: list[str]) -> bool:
        from psycopg.errors import UniqueViolation

        tail = f"\t{escape_text(self.lote_id)}\n"
        with self.dbapi.cursor() as cur:
            cur.execute(f"SAVEPOINT {SAVEPOINT}")
            try:
                self._copy(cur, self.direct_sql, len(chunk), lambda s: tail.join(chunk[s]) + tail)
            except UniqueViolation as error:
                if error.diag.constraint_name != "uq_manutencoes_chave":
                    raise
                cur.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
                cur.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
                return False
            cur.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
        return True
