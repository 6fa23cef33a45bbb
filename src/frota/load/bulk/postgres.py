"""PostgreSQL: `COPY frota_stage (...) FROM STDIN` in text format, on the same connection."""

from __future__ import annotations

from frota.load.bulk.base import COLUMNS, STAGE, TextWriter


class PostgresCopyWriter(TextWriter):
    """COPY FROM STDIN on the transaction's own psycopg connection."""

    sql = f"COPY {STAGE} ({', '.join(COLUMNS)}) FROM STDIN (NULL '')"

    def _write(self, chunk: list[str]) -> None:
        with self.dbapi.cursor() as cur, cur.copy(self.sql) as copy:
            copy.write("".join(chunk))
