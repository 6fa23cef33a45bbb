"""PostgreSQL: `COPY … FROM STDIN` in text format, on the same connection: into the stage, or
(direct) into manutencoes in a savepoint."""

from __future__ import annotations

from array import array

from frota.load.bulk.base import (
    COLUMNS,
    DIRECT,
    SAVEPOINT,
    STAGE,
    TextWriter,
    escape_text,
)


class PostgresCopyWriter(TextWriter):
    """COPY FROM STDIN on the transaction's own psycopg connection."""

    sql = f"COPY {STAGE} ({', '.join(COLUMNS)}) FROM STDIN (NULL '')"
    direct_sql = f"COPY manutencoes ({', '.join(DIRECT)}) FROM STDIN (NULL '')"

    def _write_stage(self, chunk: list[str], lines: array[int]) -> None:
        with self.dbapi.cursor() as cur, cur.copy(self.sql) as copy:
            copy.write(self.staged_text(chunk, lines))

    def _write_direct(self, chunk: list[str]) -> bool:
        from psycopg.errors import UniqueViolation

        tail = f"\t{escape_text(self.lote_id)}\n"
        with self.dbapi.cursor() as cur:
            cur.execute(f"SAVEPOINT {SAVEPOINT}")
            try:
                with cur.copy(self.direct_sql) as copy:
                    copy.write(tail.join(chunk) + tail)
            except UniqueViolation as error:
                if error.diag.constraint_name != "uq_manutencoes_chave":
                    raise
                cur.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
                cur.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
                return False
            cur.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
        return True
