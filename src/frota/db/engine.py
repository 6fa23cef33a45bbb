"""Engines for the operational database: URL parsing, drivers, secrets kept out of sight."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Connection, Engine, make_url

from frota.errors import ConfigError, MissingExtra
from frota.i18n import _
from frota.redact import mask_url

if TYPE_CHECKING:
    from frota.config import Settings

# The URL with its password replaced by ***, safe for logs and errors (frota.redact).
mask = mask_url

# A child of frota's logger (frota.observe.log sets up its handlers): db stays below observe.
logger = logging.getLogger(__name__)

# Drivers frota knows, and the extra that installs each one.
_DRIVERS = {
    "sqlite": (None, None),
    "mysql": ("pymysql", "mysql"),
    "mariadb": ("pymysql", "mysql"),
    "postgresql": ("psycopg", "postgres"),
}


_LOOPBACK = {"localhost", "127.0.0.1", "::1"}


@dataclass(frozen=True)
class Tls:
    """TLS to the operational database (settings `db_ssl_*`, `require_tls`)."""

    ca: str | None = None
    cert: str | None = None
    key: str | None = None
    verify_identity: bool = True
    require: bool = False  # refuse a non-loopback host without verified TLS

    @classmethod
    def from_settings(cls, settings: Settings) -> Tls:
        return cls(
            ca=settings.db_ssl_ca,
            cert=settings.db_ssl_cert,
            key=settings.db_ssl_key,
            verify_identity=settings.db_ssl_verify_identity,
            require=settings.require_tls,
        )


def parse_url(url: str | URL, password: str | None = None) -> URL:
    """A SQLAlchemy URL with frota's default drivers; `password` (from a secret) wins."""
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(
            _("not a database URL: {url!r}").format(url=mask(str(url))),
            hint=_(
                "examples: sqlite:///data/frota.db, "
                "mysql+pymysql://user@host/logistica_fonte, "
                "postgresql+psycopg://user@host/frota"
            ),
        ) from None
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise ConfigError(
            _("unsupported database {backend!r}").format(backend=backend),
            hint=_("use sqlite, mysql or postgresql"),
        )
    if backend == "mariadb" or backend == "mysql" and "+" not in parsed.drivername:
        parsed = parsed.set(drivername="mysql+pymysql")
    elif backend == "postgresql" and "+" not in parsed.drivername:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if password:
        parsed = parsed.set(password=password)
    return parsed


def with_tls(url: URL, tls: Tls) -> URL:
    """`url` with the TLS options as its driver's parameters (unchanged if none set).

    MySQL/MariaDB (PyMySQL): ssl_ca, ssl_cert, ssl_key, ssl_check_hostname; with a CA the
    server certificate is verified and a server without TLS is refused. PostgreSQL (libpq):
    sslrootcert, sslcert, sslkey, sslmode=verify-full (verify-ca without identity check).
    """
    backend = url.get_backend_name()
    query: dict[str, str] = {}
    if backend in ("mysql", "mariadb"):
        names = {"ca": "ssl_ca", "cert": "ssl_cert", "key": "ssl_key"}
        if tls.ca:
            query["ssl_check_hostname"] = "true" if tls.verify_identity else "false"
    elif backend == "postgresql":
        names = {"ca": "sslrootcert", "cert": "sslcert", "key": "sslkey"}
        if tls.ca:
            query["sslmode"] = "verify-full" if tls.verify_identity else "verify-ca"
    else:
        return url  # SQLite: a local file, no network
    for option, value in (("ca", tls.ca), ("cert", tls.cert), ("key", tls.key)):
        if value:
            query[names[option]] = value
    return url.update_query_dict(query) if query else url


def database_url(settings: Settings) -> URL:
    """The operational database's URL as the driver gets it: the `database` setting, its
    password from the secrets, its TLS options as driver parameters."""
    return with_tls(
        parse_url(settings.database, settings.db_password()), Tls.from_settings(settings)
    )


def database_engine(settings: Settings, **kwargs: Any) -> Engine:
    """An engine for the operational database the settings name (password and TLS applied)."""
    return create_engine(
        settings.database, settings.db_password(), tls=Tls.from_settings(settings), **kwargs
    )


def tls_state(url: URL) -> str:
    """'local' (loopback or socket), 'verified', 'unverified' (encrypted, server not checked),
    or 'none'."""
    host = url.host or ""
    query = url.query
    if not host or host in _LOOPBACK or host.startswith("/") or "unix_socket" in query:
        return "local"
    if url.get_backend_name() == "postgresql":
        mode = str(query.get("sslmode", ""))
        if mode in ("verify-ca", "verify-full"):
            return "verified"
        return "unverified" if mode == "require" else "none"
    if "ssl_ca" in query or "ssl_capath" in query:
        return "verified"
    return "unverified" if "ssl_cert" in query else "none"


def _check_tls(parsed: URL, require: bool) -> None:
    """Warn loudly (or refuse, with require_tls) about a remote server without verified TLS."""
    state = tls_state(parsed)
    if state in ("local", "verified"):
        return
    what = "without TLS" if state == "none" else "with TLS but without verifying the server"
    if require:
        refused = (
            _("refusing to connect to {host} without TLS (require_tls is set)")
            if state == "none"
            else _(
                "refusing to connect to {host} with TLS but without verifying the server "
                "(require_tls is set)"
            )
        )
        raise ConfigError(
            refused.format(host=parsed.host),
            hint=_(
                "set db_ssl_ca to the CA that signed the server's certificate (see "
                "docs/operations.md, TLS)"
            ),
        )
    logger.warning(
        "SECURITY: connecting to %s %s: passwords and data can be read or altered on the "
        "network; set db_ssl_ca (and require_tls = true to refuse such connections)",
        parsed.host,
        what,
    )


def create_engine(
    url: str | URL, password: str | None = None, *, tls: Tls | None = None, **kwargs: Any
) -> Engine:
    """An engine for the URL; creates a SQLite file's folder; names a missing driver's extra.

    Code that has the settings calls `database_engine(settings)`: it passes the TLS options."""
    tls = tls or Tls()
    parsed = with_tls(parse_url(url, password), tls)
    backend = parsed.get_backend_name()
    if backend != "sqlite":
        _check_tls(parsed, tls.require)
    module, extra = _DRIVERS[backend]
    if module:
        try:
            __import__(module)
        except ImportError:
            raise MissingExtra(module, extra or backend) from None
    if backend == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        kwargs.setdefault("connect_args", {}).setdefault("timeout", 30)
    elif backend == "mysql":
        # LOAD DATA LOCAL INFILE stays off unless explicitly enabled (a rogue server could
        # otherwise ask for any file the client can read).
        kwargs.setdefault("connect_args", {}).setdefault("local_infile", False)
        kwargs.setdefault("pool_recycle", 3600)
    kwargs.setdefault("pool_pre_ping", backend != "sqlite")
    engine = sa.create_engine(parsed, **kwargs)
    if backend == "sqlite":
        _sqlite_pragmas(engine)
    return engine


def _sqlite_pragmas(engine: Engine) -> None:
    """Foreign keys on, WAL for concurrent readers, and transactions frota controls."""

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let SQLAlchemy's BEGIN be the only transaction control (pysqlite's own is buggy).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        # Writers take the write lock up front (no lock upgrade failing mid-transaction);
        # readers (status, warehouse replication) begin deferred and never wait for a load.
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(f"BEGIN {'IMMEDIATE' if mode == 'IMMEDIATE' else 'DEFERRED'}")
