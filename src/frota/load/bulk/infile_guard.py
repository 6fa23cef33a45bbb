"""The guard around MySQL's `LOAD DATA LOCAL INFILE` (an opt-in: `mysql_local_infile =
"allow-server-file-requests"`).

`LOCAL` lets the *server* name the file the client sends, so frota connects through
`GuardedConnection` (PyMySQL's connection with its LOCAL INFILE answer replaced), which answers
only the name in frota's own statement, only during that statement, with the chunk it holds in
memory (it never opens a file for the server), and only over a loopback/socket or a
verified-TLS connection. Everything that reaches into PyMySQL's internals is in this module.
"""

from __future__ import annotations

import contextlib
import os
from typing import Any

from frota.errors import ConfigError
from frota.i18n import _

LOCAL_INFILE_OPT_IN = "allow-server-file-requests"
_LOOPBACK = ("127.0.0.1", "::1", "localhost")


class InfileRequestRefused(ConfigError):
    """The MySQL server asked for a file frota did not write for it (a rogue server, or the
    database URL names the wrong server: exit 7)."""


def check_local_infile_setting(value: str | None) -> bool:
    """True when the setting opts in; ConfigError for anything but off / the exact opt-in."""
    if value in (None, "", "off"):
        return False
    if value == LOCAL_INFILE_OPT_IN:
        return True
    raise ConfigError(
        _("mysql_local_infile must be 'off' or {LOCAL_INFILE_OPT_IN!r}, got {value!r}").format(
            LOCAL_INFILE_OPT_IN=LOCAL_INFILE_OPT_IN, value=value
        ),
        hint=_(
            "LOAD DATA LOCAL lets the server ask for any file this user can read; "
            "frota answers only its own statement, with rows it holds in memory, "
            "over loopback or verified TLS"
        ),
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
        _("mysql_local_infile needs a local or verified-TLS connection; {host} is neither").format(
            host=dbapi.host
        ),
        hint=_(
            "set db_ssl_ca (the server's CA) so the server is authenticated, or turn "
            "mysql_local_infile off"
        ),
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


_GUARDED: type[Any] | None = None


def _answer_file_request(result: Any, first_packet: Any) -> None:
    """PyMySQL's answer to the server's LOCAL INFILE request, replaced: the one name frota
    offered (`allow_infile`), with the bytes it holds, over a connection that may send them."""
    from pymysql.constants import CR
    from pymysql.err import MySQLError, OperationalError
    from pymysql.protocol import LoadLocalPacketWrapper

    conn = result.connection
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
            _(
                "the database server asked for the client file {requested!r}, which frota "
                "did not offer; nothing was sent"
            ).format(requested=requested),
            hint=_("is this the right server? A rogue server can try to read client files"),
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
    result._read_ok_packet(ok_packet)


def guarded_class() -> type[Any]:
    """GuardedConnection, built lazily (PyMySQL is an optional extra)."""
    global _GUARDED
    if _GUARDED is not None:
        return _GUARDED
    from pymysql.connections import Connection as PyMySQLConnection
    from pymysql.connections import MySQLResult

    class GuardedResult(MySQLResult):
        def _read_load_local_packet(self, first_packet: Any) -> None:
            _answer_file_request(self, first_packet)

    class GuardedConnection(PyMySQLConnection):
        """A PyMySQL connection that answers LOAD DATA LOCAL only with frota's own file."""

        _frota_infile: tuple[bytes, bytes] | None = None

        def _read_query_result(self, unbuffered: bool = False) -> int | None:
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

    cls = guarded_class()

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
