"""PostgreSQL: `COPY … FROM STDIN` in text format, on the same connection: into the stage, or
(direct) into manutencoes in a savepoint. A chunk's text is made and sent a piece at a time,
so that no copy of the whole chunk (as text, then as bytes) is in memory beside it."""

from __future__ import annotations

from array import array
from collections.abc import Callable
from typing import Any

from frota.load.bulk.base import (
    COLUMNS,
    DIRECT,
    PRESENT,
    SAVEPOINT,
    STAGE,
    TextWriter,
    escape_text,
    text_stored_sql,
)

PIECE_ROWS = 5_000  # rows a COPY write


class PostgresCopyWriter(TextWriter):
    """COPY FROM STDIN on the transaction's own psycopg connection."""

    sql = f"COPY {STAGE} ({', '.join(COLUMNS)}) FROM STDIN (NULL '')"
    direct_sql = f"COPY manutencoes ({', '.join(DIRECT)}) FROM STDIN (NULL '')"
    present_sql = f"COPY {STAGE} (linha, chave, estado) FROM STDIN"
    stored_sql = text_stored_sql("postgresql")

    @staticmethod
    def _copy(cur: Any, sql: str, rows: int, text: Callable[[slice], str]) -> None:
        """COPY `rows` rows, `text` of a slice of them at a time."""
        with cur.copy(sql) as copy:
            for start in range(0, rows, PIECE_ROWS):
                copy.write(text(slice(start, start + PIECE_ROWS)))

    def _write_stage(self, chunk: list[str], lines: array[int]) -> None:
        with self.dbapi.cursor() as cur:
            self._copy(cur, self.sql, len(chunk), lambda s: self.staged_text(chunk[s], lines[s]))

    def _stored(self, keys: list[str]) -> dict[str, str | None]:
        # One statement a chunk. Its plan is set: an indexed lookup per key, in key order (as
        # `IN (…)`, the planner would scan the whole table for a few thousand keys).
        sql = (
            "SELECT k.chave, m.stored FROM unnest(%s::text[]) AS k (chave) CROSS JOIN LATERAL "
            f"(SELECT CASE WHEN retirada_lote IS NULL AND id <= {self.last:d} THEN "
            f"{self.stored_sql} END AS stored FROM manutencoes m WHERE m.chave = k.chave "
            "LIMIT 1) AS m"
        )
        with self.dbapi.cursor() as cur:
            cur.execute(sql, (sorted(keys),))
            return dict(cur.fetchall())

    def _write_present(self, lines: array[int], keys: list[str]) -> None:
        tail = f"\t{PRESENT}\n"

        def text(s: slice) -> str:
            return "".join([f"{n}\t{key}{tail}" for n, key in zip(lines[s], keys[s], strict=True)])

        with self.dbapi.cursor() as cur:
            self._copy(cur, self.present_sql, len(keys), text)

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
