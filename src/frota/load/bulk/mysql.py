"""MySQL/MariaDB: multi-row INSERT statements of a few MB each by default; with the opt-in
(`mysql_local_infile = "allow-server-file-requests"`), `LOAD DATA LOCAL INFILE` of a chunk held
in memory, on a connection the guard (`infile_guard`) protects."""

from __future__ import annotations

from typing import Any

from frota.errors import ConfigError
from frota.i18n import _
from frota.load.bulk.base import COLUMNS, OPTIONAL, REQUIRED, STAGE, ChunkedWriter, TextWriter
from frota.load.bulk.infile_guard import allow_infile, check_local_infile_connection


class MysqlInsertWriter(ChunkedWriter):
    """Multi-row INSERT statements of at most `statement_bytes` each.

    Typed rows are quoted by PyMySQL (`escape`, which follows the server's sql_mode); the
    cells FastMaintenances lets through hold no quote, backslash or control character, so
    quoting them needs no escaping. Building the text here, not in executemany, keeps the
    background thread free to wait on the server while the main thread parses.
    """

    sql = f"INSERT INTO {STAGE} ({', '.join(COLUMNS)}) VALUES "
    statement_bytes = 4 * 1024 * 1024  # well below MariaDB's 16 MB max_allowed_packet default

    def add(self, row: dict[str, Any]) -> None:
        cells = [self.dbapi.escape(row.get(c)) for c in COLUMNS]
        self.buffer.append("(" + ", ".join(cells) + ")")
        self._added()

    def add_canonical(self, cells: tuple[str, ...]) -> None:
        p, t, d, c, k, g, e, o, ch, ln = cells
        t = "'" + t + "'" if t else "NULL"
        g = "'" + g + "'" if g else "NULL"
        e = "'" + e + "'" if e else "NULL"
        o = "'" + o + "'" if o else "NULL"
        ch = "'" + ch + "'" if ch else "NULL"
        self.buffer.append(
            f"('{p}', {t}, '{d}', {c or 'NULL'}, {k or 'NULL'}, {g}, {e}, {o}, {ch}, {ln})"
        )
        if len(self.buffer) >= self.chunk_rows:  # inline: once per row
            self.flush()

    def _write(self, chunk: list[str]) -> None:
        cur = self.dbapi.cursor()
        try:
            start, size = 0, 0
            for i, values in enumerate(chunk):
                size += len(values) + 2
                if size > self.statement_bytes:
                    cur.execute(self.sql + ", ".join(chunk[start:i]))
                    start, size = i, len(values) + 2
            cur.execute(self.sql + ", ".join(chunk[start:]))
        finally:
            cur.close()


class MysqlLoadDataWriter(TextWriter):
    """LOAD DATA LOCAL INFILE of a chunk frota holds in memory under a name of its own (the
    connection must be guarded: it answers only that name, with only those bytes; no file
    is written or read). The statement turns empty fields into NULL."""

    sql = (
        f"LOAD DATA LOCAL INFILE %s INTO TABLE {STAGE} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
        f"({', '.join(c if c in REQUIRED else '@' + c for c in COLUMNS)}) SET "
        + ", ".join(f"{c} = NULLIF(@{c}, '')" for c in OPTIONAL)
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check_local_infile_connection(self.dbapi)
        self._chunks = 0

    def _write(self, chunk: list[str]) -> None:
        self._chunks += 1
        name = f"frota-{self.lote_id}-{self._chunks}.tsv"
        cur = self.dbapi.cursor()
        try:
            with allow_infile(self.dbapi, name, "".join(chunk).encode()):
                loaded = cur.execute(self.sql, (name,))
            warnings = self.dbapi._result.warning_count if self.dbapi._result else 0
        finally:
            cur.close()
        # LOCAL turns data errors into warnings (the server cannot stop the upload), so any
        # warning or missing row fails the batch instead of loading something else.
        if loaded != len(chunk) or warnings:
            raise ConfigError(  # the LOAD DATA path does not suit this data on this server
                _(
                    "LOAD DATA loaded {loaded} of {rows} rows with {warnings} warning(s); the "
                    "batch was rolled back"
                ).format(loaded=loaded, rows=len(chunk), warnings=warnings),
                hint=_("load without mysql_local_infile to see the failing row"),
            )
