"""Engines for the operational database: URL parsing, drivers, secrets kept out of sight."""

from __future__ import annotations

import os
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url

from frota.errors import ConfigError, MissingExtra

# Drivers frota knows, and the extra that installs each one.
_DRIVERS = {
    "sqlite": (None, None),
    "mysql": ("pymysql", "mysql"),
    "mariadb": ("pymysql", "mysql"),
    "postgresql": ("psycopg", "postgres"),
}


def parse_url(url: str | URL, password: str | None = None) -> URL:
    """A SQLAlchemy URL with frota's default drivers; `password` (from a secret) wins."""
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(
            f"not a database URL: {mask(str(url))!r}",
            hint="examples: sqlite:///data/frota.db, mysql+pymysql://user@host/logistica_fonte, "
            "postgresql+psycopg://user@host/frota",
        ) from None
    backend = parsed.get_backend_name()
    if backend not in _DRIVERS:
        raise ConfigError(
            f"unsupported database {backend!r}", hint="use sqlite, mysql or postgresql"
        )
    if backend == "mariadb" or backend == "mysql" and "+" not in parsed.drivername:
        parsed = parsed.set(drivername="mysql+pymysql")
    elif backend == "postgresql" and "+" not in parsed.drivername:
        parsed = parsed.set(drivername="postgresql+psycopg")
    if password:
        parsed = parsed.set(password=password)
    return parsed


def mask(url: str | URL) -> str:
    """The URL with its password replaced by ***: safe for logs and errors."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:
        return "<unparseable URL>"


def create_engine(url: str | URL, password: str | None = None, **kwargs) -> Engine:
    """An engine for the URL; creates a SQLite file's folder; names a missing driver's extra."""
    parsed = parse_url(url, password)
    backend = parsed.get_backend_name()
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
    def _on_connect(dbapi_conn, _record):  # type: ignore[no-untyped-def]
        # Let SQLAlchemy's BEGIN be the only transaction control (pysqlite's own is buggy).
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA foreign_keys = ON")
        cur.execute("PRAGMA journal_mode = WAL")
        cur.execute("PRAGMA synchronous = FULL")
        cur.close()

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn):  # type: ignore[no-untyped-def]
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def env_password() -> str | None:
    """The database password from FROTA_DATABASE_PASSWORD, if set."""
    return os.environ.get("FROTA_DATABASE_PASSWORD") or None
