"""Dialect bulk paths for appending maintenances inside the batch transaction (DESIGN §5).

- SQLite: `executemany` of tuples on the raw cursor (no per-row SQLAlchemy dicts).
- PostgreSQL: `COPY manutencoes (...) FROM STDIN` in text format, on the same connection.
- MySQL/MariaDB, default: multi-row INSERT statements of a few MB each.
- MySQL/MariaDB, opt-in (`mysql_local_infile = "allow-server-file-requests"`): a chunk of
  validated rows is sent by `LOAD DATA LOCAL INFILE` straight into the table. `LOCAL` lets the
  *server* name the file the client sends, so frota connects through `GuardedConnection`,
  which answers only the name in frota's own statement, only during that statement, with the
  chunk it holds in memory (it never opens a file for the server), and only over a
  loopback/socket or a verified-TLS connection.

Every path runs on the batch transaction's own connection: no statement here commits, so
data, quarantine and ledger still commit together. On a server, a chunk is written by one
background thread while the main thread validates the next one (the server works while Python
parses); `wait()` must run before anything else uses the connection.

Rows arrive typed (`add`, from parse_row) or as the canonical text cells the fast path took
(`add_canonical`, from load/fastpath.py), which need no escaping and no conversion.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy.engine import Connection

from frota.contract import MANUTENCOES
from frota.contract.canonical import NEEDS_ESCAPE, format_value
from frota.errors import ConfigError, FrotaError

if TYPE_CHECKING:
    from concurrent.futures import Future, ThreadPoolExecutor

COLUMNS = (*MANUTENCOES.csv_header, "lote_id")
_REQUIRED = tuple(c.name for c in MANUTENCOES.csv_columns if c.required)
_OPTIONAL = tuple(c.name for c in MANUTENCOES.csv_columns if not c.required)  # '' means NULL
CHUNK_ROWS = 50_000  # rows per statement/COPY/file: a few MB in flight, two chunks at most
LOCAL_INFILE_OPT_IN = "allow-server-file-requests"
WRITER_SWITCH_INTERVAL = 0.0005  # seconds: how long the writer thread may wait for the GIL
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class InfileRequestRefused(FrotaError):
    """The MySQL server asked for a file frota did not write for it (a rogue server?)."""


# ----------------------------------------------------------------------------- writers


def _escape_text(value: Any) -> str:
    """One value in PostgreSQL COPY / MySQL LOAD DATA text format (both read these escapes);
    an empty field is NULL (the statements say so: a contract value is never empty text)."""
    if value is None:
        return ""
    text = format_value(value)
    if NEEDS_ESCAPE.search(text):
        text = (
            text.replace("\\", "\\\\")
            .replace("\t", "\\t")
            .replace("\n", "\\n")
            .replace("\r", "\\r")
        )
    return text


class MaintenanceWriter:
    """Appends maintenance rows in chunks, one chunk in flight on a background thread."""

    chunk_rows = CHUNK_ROWS

    threaded = True  # the server inserts one chunk while Python parses the next

    def __init__(
        self,
        conn: Connection,
        lote_id: str,
        chunk_rows: int | None = None,
        on_flush: Callable[[], None] | None = None,
    ) -> None:
        self.conn, self.lote_id, self.on_flush = conn, lote_id, on_flush
        self.chunk_rows = chunk_rows or min(CHUNK_ROWS, type(self).chunk_rows)
        self.dbapi = conn.connection.dbapi_connection
        self.buffer: list[Any] = []
        self.count = 0
        self._pool: ThreadPoolExecutor | None = None
        self._inflight: Future[None] | None = None

    # subclasses: how a row is held, and how a chunk is written
    def add(self, row: dict[str, Any]) -> None:
        """A typed row from parse_row."""
        raise NotImplementedError

    def add_canonical(self, cells: tuple[str, ...]) -> None:
        """A row FastMaintenances validated: canonical text cells, '' for NULL."""
        raise NotImplementedError

    def _write(self, chunk: list[Any]) -> None:
        raise NotImplementedError

    def _added(self) -> None:
        if len(self.buffer) >= self.chunk_rows:
            self.flush()

    def wait(self) -> None:
        """Block until the chunk in flight is written; re-raise its error."""
        if self._inflight is not None:
            inflight, self._inflight = self._inflight, None
            inflight.result()

    def flush(self) -> None:
        if not self.buffer:
            return
        chunk, self.buffer = self.buffer, []
        self.wait()
        if not self.threaded:
            self._write(chunk)
            self.count += len(chunk)
            if self.on_flush:
                self.on_flush()
            return
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(1, thread_name_prefix="frota-bulk")
            # The writer thread needs the GIL for moments (a packet, a reply) while the main
            # thread parses; by default it would wait up to 5 ms each time (measured: 0.5-1 s
            # of a 1M-row LOAD DATA). Restored on exit; frota loads one batch at a time.
            self._switch_interval = sys.getswitchinterval()
            sys.setswitchinterval(WRITER_SWITCH_INTERVAL)
        self._inflight = self._pool.submit(self._write, chunk)
        self.count += len(chunk)
        if self.on_flush:
            self.on_flush()

    def __enter__(self) -> MaintenanceWriter:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        try:
            if exc_type is None:
                self.flush()
            self.wait()  # even on error: the connection must be idle before ROLLBACK
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                sys.setswitchinterval(self._switch_interval)
            self.close()

    def close(self) -> None:
        pass


class _TupleWriter(MaintenanceWriter):
    """executemany of tuples on the raw DBAPI cursor."""

    sql = ""

    def add(self, row: dict[str, Any]) -> None:
        self.buffer.append(tuple(self._bind(row.get(c)) for c in MANUTENCOES.csv_header))
        if len(self.buffer) >= self.chunk_rows:  # inline: once per row
            self.flush()

    def _bind(self, value: Any) -> Any:
        return value

    def _write(self, chunk: list[Any]) -> None:
        cur = self.dbapi.cursor()
        try:
            cur.executemany(self.sql, chunk)
        finally:
            cur.close()


class SqliteWriter(_TupleWriter):
    """The values SQLAlchemy would bind: dates as ISO text, decimals as float.

    Canonical cells are bound as they are: the statement turns '' into NULL, and the columns'
    affinity stores '850.00' exactly as the float 850.0 (tests/test_bulk_load.py compares)."""

    # SQLite runs in this process and takes the GIL back for every row it binds: a second
    # thread only adds lock hand-offs (measured: 60% slower), so chunks are written inline.
    threaded = False
    chunk_rows = 20_000  # tuples of Python objects: ~500 bytes a row

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        values = ["?" if c in _REQUIRED else "NULLIF(?, '')" for c in MANUTENCOES.csv_header]
        lote = "'" + self.lote_id.replace("'", "''") + "'"
        self.sql = (
            f"INSERT INTO manutencoes ({', '.join(COLUMNS)}) VALUES ({', '.join(values)}, {lote})"
        )

    def _bind(self, value: Any) -> Any:
        if isinstance(value, Decimal):
            return float(value)
        if isinstance(value, date):
            return value.isoformat()
        return value

    def add_canonical(self, cells: tuple[str, ...]) -> None:
        self.buffer.append(cells)
        if len(self.buffer) >= self.chunk_rows:  # inline: once per row
            self.flush()


class MysqlInsertWriter(MaintenanceWriter):
    """Multi-row INSERT statements of at most STATEMENT_BYTES each.

    Typed rows are quoted by PyMySQL (`escape`, which follows the server's sql_mode); the
    cells FastMaintenances lets through hold no quote, backslash or control character, so
    quoting them needs no escaping. Building the text here, not in executemany, keeps the
    background thread free to wait on the server while the main thread parses.
    """

    sql = f"INSERT INTO manutencoes ({', '.join(COLUMNS)}) VALUES "
    statement_bytes = 4 * 1024 * 1024  # well below MariaDB's 16 MB max_allowed_packet default

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._tail = ", " + self.dbapi.escape(self.lote_id) + ")"

    def add(self, row: dict[str, Any]) -> None:
        cells = [self.dbapi.escape(row.get(c)) for c in MANUTENCOES.csv_header]
        self.buffer.append("(" + ", ".join(cells) + self._tail)
        self._added()

    def add_canonical(self, cells: tuple[str, ...]) -> None:
        p, t, d, c, k, g, e = cells
        t = "'" + t + "'" if t else "NULL"
        g = "'" + g + "'" if g else "NULL"
        e = "'" + e + "'" if e else "NULL"
        self.buffer.append(
            f"('{p}', {t}, '{d}', {c or 'NULL'}, {k or 'NULL'}, {g}, {e}{self._tail}"
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


class _TextWriter(MaintenanceWriter):
    """Rows as lines of tab-separated text, an empty field for NULL (COPY and LOAD DATA)."""

    tail = "\n"  # what ends a line after the contract's cells

    def add(self, row: dict[str, Any]) -> None:
        cells = [_escape_text(row.get(c)) for c in MANUTENCOES.csv_header]
        self.buffer.append("\t".join(cells) + self.tail)
        self._added()

    def add_canonical(self, cells: tuple[str, ...]) -> None:
        # FastMaintenances let no cell through that would need escaping.
        self.buffer.append("\t".join(cells) + self.tail)
        if len(self.buffer) >= self.chunk_rows:  # inline: once per row
            self.flush()


class PostgresCopyWriter(_TextWriter):
    """COPY FROM STDIN on the transaction's own psycopg connection (lote_id on every line)."""

    sql = f"COPY manutencoes ({', '.join(COLUMNS)}) FROM STDIN (NULL '')"

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tail = "\t" + _escape_text(self.lote_id) + "\n"

    def _write(self, chunk: list[str]) -> None:
        with self.dbapi.cursor() as cur, cur.copy(self.sql) as copy:
            copy.write("".join(chunk))


class MysqlLoadDataWriter(_TextWriter):
    """LOAD DATA LOCAL INFILE of a chunk frota holds in memory under a name of its own (the
    connection must be guarded: it answers only that name, with only those bytes; no file
    is written or read). The statement sets lote_id and turns empty fields into NULL."""

    sql = (
        "LOAD DATA LOCAL INFILE %s INTO TABLE manutencoes CHARACTER SET utf8mb4 "
        "FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' "
        f"({', '.join(c if c in _REQUIRED else '@' + c for c in MANUTENCOES.csv_header)}) SET "
        + ", ".join(f"{c} = NULLIF(@{c}, '')" for c in _OPTIONAL)
        + ", lote_id = %s"
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
                loaded = cur.execute(self.sql, (name, self.lote_id))
            warnings = self.dbapi._result.warning_count if self.dbapi._result else 0
        finally:
            cur.close()
        # LOCAL turns data errors into warnings (the server cannot stop the upload), so any
        # warning or missing row fails the batch instead of loading something else.
        if loaded != len(chunk) or warnings:
            raise FrotaError(
                f"LOAD DATA loaded {loaded} of {len(chunk)} rows with {warnings} warning(s); "
                "the batch was rolled back",
                hint="load without mysql_local_infile to see the failing row",
            )


def maintenance_writer(
    conn: Connection, lote_id: str, on_flush: Callable[[], None] | None = None
) -> MaintenanceWriter:
    """The bulk writer for this connection's dialect (LOAD DATA only on a guarded connection)."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        return SqliteWriter(conn, lote_id, on_flush=on_flush)
    if dialect == "postgresql":
        return PostgresCopyWriter(conn, lote_id, on_flush=on_flush)
    if dialect == "mysql":
        dbapi = conn.connection.dbapi_connection
        if isinstance(dbapi, _guarded_class()) and dbapi._local_infile:
            return MysqlLoadDataWriter(conn, lote_id, on_flush=on_flush)
        return MysqlInsertWriter(conn, lote_id, on_flush=on_flush)
    raise NotImplementedError(dialect)


# ----------------------------------------------------------------------------- LOCAL INFILE


def check_local_infile_setting(value: str | None) -> bool:
    """True when the setting opts in; ConfigError for anything but off / the exact opt-in."""
    if value in (None, "", "off"):
        return False
    if value == LOCAL_INFILE_OPT_IN:
        return True
    raise ConfigError(
        f"mysql_local_infile must be 'off' or {LOCAL_INFILE_OPT_IN!r}, got {value!r}",
        hint="LOAD DATA LOCAL lets the server ask for any file this user can read; frota answers "
        "only its own statement, with rows it holds in memory, over loopback or verified TLS",
    )


def _tls_verified(dbapi: Any) -> bool:
    import ssl

    sock, ctx = getattr(dbapi, "_sock", None), getattr(dbapi, "ctx", None)
    return (
        isinstance(sock, ssl.SSLSocket)
        and ctx is not None
        and ctx.verify_mode == ssl.CERT_REQUIRED
        and ctx.check_hostname
    )


def check_local_infile_connection(dbapi: Any) -> None:
    """ConfigError unless the connection is a socket, loopback, or verified TLS."""
    if getattr(dbapi, "unix_socket", None) or getattr(dbapi, "host", None) in _LOOPBACK:
        return
    if _tls_verified(dbapi):
        return
    raise ConfigError(
        f"mysql_local_infile needs a local or verified-TLS connection; {dbapi.host} is neither",
        hint="set db_ssl_ca (the server's CA) so the server is authenticated, or turn "
        "mysql_local_infile off",
    )


def allow_infile(dbapi: Any, name: str, data: bytes) -> Any:
    """Context: the one name the server may request from `dbapi` during the block, and the
    bytes frota answers it with."""

    @contextlib.contextmanager
    def scope() -> Any:
        dbapi._frota_infile = (os.fsencode(name), data)
        try:
            yield
        finally:
            dbapi._frota_infile = None

    return scope()


_GUARDED: type | None = None


def _guarded_class() -> type:
    """GuardedConnection, built lazily (PyMySQL is an optional extra)."""
    global _GUARDED
    if _GUARDED is not None:
        return _GUARDED
    from pymysql.connections import Connection as PyMySQLConnection
    from pymysql.connections import LoadLocalPacketWrapper, MySQLResult
    from pymysql.constants import CR
    from pymysql.err import MySQLError, OperationalError

    class GuardedResult(MySQLResult):
        def _read_load_local_packet(self, first_packet: Any) -> None:
            conn = self.connection
            requested = LoadLocalPacketWrapper(first_packet).filename
            allowed, data = getattr(conn, "_frota_infile", None) or (None, b"")
            if allowed is None or requested != allowed:
                # Send nothing (an empty file) and read the server's answer, so the protocol
                # stays in step, then fail: the batch transaction rolls back.
                conn.write_packet(b"")
                # The server's complaint about the empty file matters less than ours.
                with contextlib.suppress(MySQLError):
                    conn._read_packet()
                raise InfileRequestRefused(
                    f"the database server asked for the client file {requested!r}, which frota "
                    "did not offer; nothing was sent",
                    hint="is this the right server? A rogue server can try to read client files",
                )
            check_local_infile_connection(conn)
            # PyMySQL sends 16 KB packets, re-taking the GIL for each: from a writer thread
            # that means a wait of up to the switch interval per packet while the main thread
            # parses (measured: no overlap at all). 1 MB packets keep the server fed.
            size = min(conn.max_allowed_packet - 1024, 1 << 20)
            try:
                view = memoryview(data)
                for start in range(0, len(data), size):
                    conn.write_packet(view[start : start + size])
            finally:
                conn.write_packet(b"")  # end of file
                ok_packet = conn._read_packet()
            if not ok_packet.is_ok_packet():
                raise OperationalError(CR.CR_COMMANDS_OUT_OF_SYNC, "Commands Out of Sync")
            self._read_ok_packet(ok_packet)

    class GuardedConnection(PyMySQLConnection):
        """A PyMySQL connection that answers LOAD DATA LOCAL only with frota's own file."""

        _frota_infile: tuple[bytes, bytes] | None = None

        def _read_query_result(self, unbuffered: bool = False) -> int:
            self._result = None
            result = GuardedResult(self)
            if unbuffered:
                result.init_unbuffered_query()
            else:
                result.read()
            self._result = result
            if result.server_status is not None:
                self.server_status = result.server_status
            return result.affected_rows

    _GUARDED = GuardedConnection
    return GuardedConnection


def guard_engine(engine: Any) -> None:
    """Make `engine` open GuardedConnections with LOCAL INFILE on (MySQL/MariaDB)."""
    import sqlalchemy as sa

    cls = _guarded_class()

    @sa.event.listens_for(engine, "do_connect")
    def _connect(dialect: Any, conn_rec: Any, cargs: Any, cparams: Any) -> Any:
        cparams["local_infile"] = True
        conn = cls(*cargs, **cparams)
        try:
            check_local_infile_connection(conn)
        except ConfigError:
            conn.close()
            raise
        return conn
