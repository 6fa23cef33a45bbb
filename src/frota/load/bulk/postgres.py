"""PostgreSQL: `COPY manutencoes (...) FROM STDIN` in text format, on the same connection."""

from __future__ import annotations

from typing import Any

from frota.load.bulk.base import COLUMNS, TextWriter, escape_text


class PostgresCopyWriter(TextWriter):
    """COPY FROM STDIN on the transaction's own psycopg connection (lote_id on every line)."""

    sql = f"COPY manutencoes ({', '.join(COLUMNS)}) FROM STDIN (NULL '')"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tail = "\t" + escape_text(self.lote_id) + "\n"

    def _write(self, chunk: list[str]) -> None:
        with self.dbapi.cursor() as cur, cur.copy(self.sql) as copy:
            copy.write("".join(chunk))
