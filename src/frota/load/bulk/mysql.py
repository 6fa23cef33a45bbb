"""MySQL/MariaDB: multi-row INSERT statements of a few MB each by default; with the opt-in
(`mysql_local_infile = "allow-server-file-requests"`), `LOAD DATA LOCAL INFILE` of a chunk held
in memory, on a connection the guard (`infile_guard`) protects. Into the stage, or (direct)
into manutencoes in a savepoint."""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any

from frota.errors import ConfigError
from frota.i18n import _
from frota.load.bulk.base import (
    COLUMNS,
    DIRECT,
    KEYED,
    OPTIONAL,
    REQUIRED,
    SAVEPOINT,
    STAGE,
    ChunkedWriter,
    TextWriter,
    kind,
)
from frota.load.bulk.infile_guard import allow_infile, check_local_infile_connection

DUPLICATE_KEY = 1062  # ER_DUP_ENTRY


def _values_sql() -> str:
    """A stored row as `MysqlInsertWriter._body` writes one: QUOTE gives 'text' (NULL for
    NULL), numbers as they are (a cell PyMySQL or QUOTE would escape holds a backslash: such
    a row is never judged equal)."""
    cells = [
        f"IFNULL({c}, 'NULL')" if kind(c) in ("int", "decimal") else f"QUOTE({c})" for c in KEYED
    ]
    return f"CONCAT('(', CONCAT_WS(', ', {', '.join(cells)}))"


def _text_sql() -> str:
    """A stored manutencoes row as LOAD DATA text: its `KEYED` cells, canonical, joined by
    tabs, NULL as an empty field (no escapes: a row that needs one is never judged equal)."""
    cells = ", ".join(f"IFNULL({c}, '')" for c in KEYED)
    return f"CONCAT_WS(CHAR(9 USING utf8mb4), {cells})"


# Separators of the server-joined stored rows (_fetch_stored): control characters, which no
# contract value holds (frota.contract.validate refuses them).
_UNIT_CHAR, _RECORD_CHAR, _NONE_CHAR = "\x1f", "\x1e", "\x1d"
_UNIT, _NONE = (f"CHAR({ord(c)} USING utf8mb4)" for c in (_UNIT_CHAR, _NONE_CHAR))
_RECORD = f"'{_RECORD_CHAR}'"  # SEPARATOR takes a literal only
GROUP_CONCAT_MAX_LEN = 32 * 1024 * 1024  # a page of joined rows (~1 MB) fits well below it


class _Probing(ChunkedWriter):
    """How a MySQL writer reads stored records to probe a re-sent export (base.py): joined
    into one text by the server."""

    def _prepare_probing(self) -> None:
        cur = self.dbapi.cursor()
        try:
            cur.execute(f"SET SESSION group_concat_max_len = {GROUP_CONCAT_MAX_LEN:d}")
        finally:
            cur.close()

    def _fetch_stored(self, cur: Any, where: str) -> Iterator[tuple[str, tuple[int, str | None]]]:
        """(key, (id, the record as this writer's text, None if retired or the batch's own))
        of the manutencoes rows `where` says. The server joins them into one text (a
        driver in Python decodes each field of each row: 6 µs a row with three fields, the
        most of a lookup), split here; the count beside it proves nothing was cut."""
        record = (
            f"CASE WHEN retirada_lote IS NULL AND id <= {self.last:d} THEN {self.stored_sql} END"
        )
        cur.execute(
            f"SELECT COUNT(*), GROUP_CONCAT(CONCAT_WS({_UNIT}, chave, id, IFNULL({record}, "
            f"{_NONE})) SEPARATOR {_RECORD}) FROM manutencoes WHERE {where}"
        )
        count, text = cur.fetchone()
        rows = text.split(_RECORD_CHAR) if count else []
        if len(rows) != count:
            raise RuntimeError(f"stored rows cut: {len(rows)} of {count} (group_concat_max_len)")
        for row in rows:
            key, id_, stored = row.split(_UNIT_CHAR)
            yield key, (int(id_), None if stored == _NONE_CHAR else stored)


class MysqlInsertWriter(_Probing):
    """Multi-row INSERT statements of at most `statement_bytes` each.

    Typed rows are quoted by PyMySQL (`escape`, which follows the server's sql_mode); the
    cells FastMaintenances lets through hold no quote, backslash or control character, so
    quoting them needs no escaping. A row is held as its VALUES tuple without its last value
    (the stage's line, or manutencoes' lote_id). Building the text here, not in executemany,
    keeps the background thread free to wait on the server while the main thread parses.
    """

    sql = f"INSERT INTO {STAGE} ({', '.join(COLUMNS)}) VALUES "
    direct_sql = f"INSERT INTO manutencoes ({', '.join(DIRECT)}) VALUES "
    statement_bytes = 4 * 1024 * 1024  # well below MariaDB's 16 MB max_allowed_packet default
    stored_sql = _values_sql()

    def _body(self, row: dict[str, Any]) -> str:
        return "(" + ", ".join([self.dbapi.escape(row.get(c)) for c in KEYED])

    def _key(self, body: str) -> str:
        return body[body.rfind(" ") + 2 : -1] if body[-1] == "'" else ""  # …, 'key' or NULL

    def add_canonical(self, cells: tuple[str, ...], line: int) -> None:
        p, t, d, c, k, g, e, o, ch = cells
        t = "'" + t + "'" if t else "NULL"
        g = "'" + g + "'" if g else "NULL"
        e = "'" + e + "'" if e else "NULL"
        o = "'" + o + "'" if o else "NULL"
        c, k = c or "NULL", k or "NULL"
        self.buffer.append(f"('{p}', {t}, '{d}', {c}, {k}, {g}, {e}, {o}, '{ch}'")
        self.lines.append(line)
        if len(self.buffer) >= self.chunk_rows:  # inline: once per row
            self.flush()

    def _statements(self, sql: str, rows: list[str], tail: str) -> list[str]:
        """INSERT statements of at most `statement_bytes`, each row's text ending in `tail`."""
        statements, start, size, sep = [], 0, 0, tail + ", "
        for i, values in enumerate(rows):
            size += len(values) + len(sep)
            if size > self.statement_bytes:
                statements.append(sql + sep.join(rows[start:i]) + tail)
                start, size = i, len(values) + len(sep)
        return [*statements, sql + sep.join(rows[start:]) + tail]

    def _write_stage(self, chunk: list[str], lines: array[int]) -> None:
        rows = [f"{body}, {line}" for body, line in zip(chunk, lines, strict=True)]
        cur = self.dbapi.cursor()
        try:
            for statement in self._statements(self.sql, rows, ")"):
                cur.execute(statement)
        finally:
            cur.close()

    def _write_direct(self, chunk: list[str]) -> bool:
        from pymysql.err import IntegrityError

        tail = f", {self.dbapi.escape(self.lote_id)})"
        cur = self.dbapi.cursor()
        try:
            cur.execute(f"SAVEPOINT {SAVEPOINT}")
            try:
                for statement in self._statements(self.direct_sql, chunk, tail):
                    cur.execute(statement)
            except IntegrityError as error:
                if error.args[0] != DUPLICATE_KEY:
                    raise
                cur.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
                return False
            cur.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
            return True
        finally:
            cur.close()


class MysqlLoadDataWriter(_Probing, TextWriter):
    """LOAD DATA LOCAL INFILE of a chunk frota holds in memory under a name of its own (the
    connection must be guarded: it answers only that name, with only those bytes; no file
    is written or read). The statement turns empty fields into NULL."""

    stored_sql = _text_sql()

    sql = (
        f"LOAD DATA LOCAL INFILE %s INTO TABLE {STAGE} CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
        f"({', '.join(c if c in REQUIRED else '@' + c for c in COLUMNS)}) SET "
        + ", ".join(f"{c} = NULLIF(@{c}, '')" for c in OPTIONAL)
    )
    direct_sql = (
        "LOAD DATA LOCAL INFILE %s INTO TABLE manutencoes CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
        f"({', '.join(c if c in REQUIRED else '@' + c for c in KEYED)}) SET "
        + ", ".join(f"{c} = NULLIF(@{c}, '')" for c in OPTIONAL if c in KEYED)
        + ", lote_id = %s"
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        check_local_infile_connection(self.dbapi)
        self._chunks = 0

    def _load(self, sql: str, text: str, *params: str) -> tuple[int, int]:
        """(rows loaded, warnings) of one LOAD DATA of `text`."""
        self._chunks += 1
        name = f"frota-{self.lote_id}-{self._chunks}.tsv"
        cur = self.dbapi.cursor()
        try:
            with allow_infile(self.dbapi, name, text.encode()):
                loaded = cur.execute(sql, (name, *params))
            warnings = self.dbapi._result.warning_count if self.dbapi._result else 0
        finally:
            cur.close()
        return loaded, warnings

    def _write_stage(self, chunk: list[str], lines: array[int]) -> None:
        loaded, warnings = self._load(self.sql, self.staged_text(chunk, lines))
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

    def _write_direct(self, chunk: list[str]) -> bool:
        # LOCAL skips a duplicate key with a warning (as IGNORE would): any warning or missing
        # row undoes the chunk, and the stage (which tells a data error apart) takes it.
        cur = self.dbapi.cursor()
        try:
            cur.execute(f"SAVEPOINT {SAVEPOINT}")
            text = "\n".join(chunk) + "\n"
            loaded, warnings = self._load(self.direct_sql, text, self.lote_id)
            if loaded != len(chunk) or warnings:
                cur.execute(f"ROLLBACK TO SAVEPOINT {SAVEPOINT}")
                return False
            cur.execute(f"RELEASE SAVEPOINT {SAVEPOINT}")
            return True
        finally:
            cur.close()
