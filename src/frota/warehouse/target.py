"""The warehouse: where it is, connections and bulk writes for DuckDB and PostgreSQL.

The `warehouse` setting: a DuckDB file (`duckdb:///…`, the default) or
`postgresql://user@host:5432/db` (password: the `warehouse_password` secret, else the URL's).
The raw layer lives in schema `raw`; dbt builds into schema `analytics`.
"""

from __future__ import annotations

import getpass
import importlib.util
import json
import re
import shutil
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from itertools import islice
from pathlib import Path
from queue import Queue
from threading import Thread
from typing import Any

from sqlalchemy.engine import make_url

from frota.config import Settings
from frota.contract import MANUTENCOES
from frota.db.engine import mask
from frota.errors import ConfigError, DatabaseUnreachable, MissingExtra
from frota.i18n import _
from frota.warehouse.raw import (
    DATA_TABLES,
    HISTORY,
    LAYOUT,
    LEDGER,
    META,
    RAW_SCHEMA,
    REPLICATION_SEQ,
    raw_ddl,
)


@dataclass(frozen=True)
class WarehouseTarget:
    """Where the warehouse lives: a DuckDB file or a PostgreSQL database."""

    kind: str  # "duckdb" | "postgres"
    path: Path | None = None
    host: str = "127.0.0.1"
    port: int = 5432
    user: str = "postgres"
    password: str | None = None
    database: str = "frota"
    url: str = ""

    @property
    def masked(self) -> str:
        return mask(self.url) if self.kind == "postgres" else self.url

    @property
    def key(self) -> str:
        """Which warehouse this is, whatever the URL's spelling: the resolved file, or the
        server, port, database and user (no password). dbt's work folder and the lock are
        keyed on it, so two projects with the same relative URL never share them."""
        if self.kind == "duckdb":
            assert self.path is not None
            return f"duckdb:{self.path.resolve()}"
        return f"postgres:{self.user}@{self.host}:{self.port}/{self.database}"

    @property
    def scratch(self) -> Path | None:
        """The folder where frota versions before 2026-12 put a DuckDB warehouse's copy files
        (None for PostgreSQL); replication no longer writes files, and each run removes what
        a run killed then left (clean_scratch)."""
        if self.path is None:
            return None
        return self.path.with_name(self.path.name + ".frota-copy")

    def connect(self, *, read_only: bool = False) -> WarehouseConnection:
        """An open connection (raises DatabaseUnreachable). `read_only` (DuckDB): never creates
        the file or its folder, and reads beside other readers (frota check, metrics)."""
        if self.kind == "duckdb":
            return DuckDBConnection(self, read_only=read_only)
        return PostgresConnection(self)


def warehouse_target(settings: Settings) -> WarehouseTarget:
    """The warehouse the settings name: `duckdb:///path.duckdb` or
    `postgresql[+driver]://user[:pw]@host[:port]/db` (the `warehouse_password` secret wins)."""
    url = settings.warehouse
    try:
        parsed = make_url(url)
    except Exception:
        raise ConfigError(
            _("not a warehouse URL: {url!r}").format(url=mask(url)),
            hint=_("examples: {warehouse}, postgresql://analytics@host:5432/frota").format(
                warehouse=Settings.warehouse
            ),
        ) from None
    backend = parsed.get_backend_name()
    if backend == "duckdb":
        if not parsed.database or parsed.database == ":memory:":
            raise ConfigError(
                _("the DuckDB warehouse must be a file"),
                hint=_("e.g. {warehouse}").format(warehouse=Settings.warehouse),
            )
        return WarehouseTarget("duckdb", path=Path(parsed.database), url=url)
    if backend == "postgresql":
        return WarehouseTarget(
            "postgres",
            host=parsed.host or "127.0.0.1",
            port=parsed.port or 5432,
            user=parsed.username or getpass.getuser(),  # libpq's own default
            password=settings.wh_password() or parsed.password or None,
            database=parsed.database or "frota",
            url=url,
        )
    raise ConfigError(
        _("unsupported warehouse {backend!r}").format(backend=backend),
        hint=_("use duckdb or postgresql"),
    )


# What the `warehouse` extra (pyproject.toml) brings, per warehouse kind: (module, package).
_EXTRA = {
    "duckdb": (
        ("duckdb", "duckdb"),
        ("dbt.cli", "dbt-core"),
        ("dbt.adapters.duckdb", "dbt-duckdb"),
    ),
    "postgres": (("dbt.cli", "dbt-core"), ("dbt.adapters.postgres", "dbt-postgres")),
}


def check_installed(target: WarehouseTarget) -> None:
    """MissingExtra (exit 7, naming `pip install 'frota[warehouse]'`) unless the packages this
    warehouse needs are installed: the source and server roles install without them."""
    for module, package in _EXTRA[target.kind]:
        try:
            found = importlib.util.find_spec(module) is not None
        except ImportError:  # a parent package is missing
            found = False
        if not found:
            raise MissingExtra(package, "warehouse")


class WarehouseConnection:
    """One connection to the warehouse; writes happen inside `transaction()`."""

    target: WarehouseTarget

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        raise NotImplementedError

    @contextmanager
    def transaction(self) -> Iterator[None]:
        raise NotImplementedError

    def copy_json(
        self,
        table: str,
        columns: tuple[str, ...],
        pages: Iterable[Sequence[str]],
        fixed: Sequence[Any] = (),
    ) -> int:
        """Bulk-append rows to raw.`table`, each row a JSON array text of its values (pages:
        lists of them); the last len(`fixed`) `columns` get the values `fixed` in every row.
        The table's column types cast the values. How many rows went in."""
        raise NotImplementedError

    def close(self) -> None:
        raise NotImplementedError

    def analyze(self) -> None:
        """Refresh the planner's statistics of the raw tables after a bulk copy."""

    def ensure_raw(self) -> bool:
        """Create the raw layer, or rebuild one of another layout (frota.warehouse.raw); True
        when it was rebuilt, and the next replication copies everything again."""
        layout = self._layout()
        with self.transaction():
            rebuilt = layout is not None and layout != LAYOUT
            if rebuilt:
                cascade = " CASCADE" if self.target.kind == "postgres" else ""
                for table in DATA_TABLES:
                    self.execute(f"DROP TABLE IF EXISTS {RAW_SCHEMA}.{table}{cascade}")
            if layout != LAYOUT:
                for statement in raw_ddl():
                    self.execute(statement)
                self.execute(f"INSERT INTO {RAW_SCHEMA}.{META} VALUES (?)", (LAYOUT,))
            self._raw_indexes()
        return rebuilt

    def _layout(self) -> int | None:
        """The raw layer's layout: None for none yet, 1 for one older than the version table."""
        found = {
            name
            for (name,) in self.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                (RAW_SCHEMA,),
            )
        }
        if META in found:
            row = self.execute(f"SELECT max(layout) FROM {RAW_SCHEMA}.{META}")
            return row[0][0] if row and row[0][0] is not None else 1
        return 1 if LEDGER in found else None

    def _raw_indexes(self) -> None:
        """Indexes the engine needs on the raw layer (inside ensure_raw's transaction)."""

    def __enter__(self) -> WarehouseConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# Copy files earlier frota versions wrote beside the warehouse (before the scratch folder).
_OLD_COPY_FILE = re.compile(r"^\.(veiculos|manutencoes|frota_[a-z_]+)-[a-z0-9_]{8}\.csv$")


def clean_scratch(target: WarehouseTarget) -> int:
    """Remove the copy files a run of an earlier frota left behind when it was killed; how
    many there were. Called holding the warehouse lock (frota.warehouse.lock)."""
    if target.kind != "duckdb":
        return 0
    assert target.path is not None and target.scratch is not None
    found = 0
    if target.scratch.is_dir():
        found += sum(1 for _ in target.scratch.iterdir())
        shutil.rmtree(target.scratch, ignore_errors=True)
    if target.path.parent.is_dir():
        for entry in target.path.parent.iterdir():
            if _OLD_COPY_FILE.match(entry.name) and entry.is_file():
                entry.unlink(missing_ok=True)
                found += 1
    return found


# Rows a page of copy_json holds: what replication reads from the source at a time.
PAGE_ROWS = 50_000


def json_pages(rows: Iterable[Sequence[Any]]) -> Iterator[list[str]]:
    """Rows of Python values (str, int, Decimal, date, datetime, None) as pages for copy_json."""
    texts = (json.dumps(list(row), ensure_ascii=False, default=_json_value) for row in rows)
    return iter(lambda: list(islice(texts, PAGE_ROWS)), [])


def _json_value(value: Any) -> str:
    """A value JSON has no type for, as text the warehouse casts back (a date, a decimal)."""
    if isinstance(value, date):  # a datetime too
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    raise TypeError(f"cannot copy a {type(value).__name__} to the warehouse")


def pipelined(pages: Iterable[Sequence[str]], write: Callable[[Sequence[str]], None]) -> int:
    """`write` each page in a thread of its own while the next page is read: the source's
    driver and the warehouse's engine both work outside Python's lock most of the time, so on
    two CPUs reading and writing overlap instead of taking turns. At most two pages wait in
    memory. An error on either side stops both; how many rows were written."""
    queue: Queue[Sequence[str] | None] = Queue(maxsize=2)
    failed: list[BaseException] = []
    written = 0

    def writer() -> None:
        nonlocal written
        while (page := queue.get()) is not None:
            if failed:
                continue  # drain, so that the reader never blocks on a writer that gave up
            try:
                write(page)
                written += len(page)
            except BaseException as exc:  # re-raised in the reader's thread
                failed.append(exc)

    thread = Thread(target=writer, name="frota-copy", daemon=True)
    thread.start()
    try:
        for page in pages:
            if failed:
                break
            queue.put(page)
    finally:
        queue.put(None)
        thread.join()
    if failed:
        raise failed[0]
    return written


class DuckDBConnection(WarehouseConnection):
    """DuckDB through its Python API; bulk rows go in as column chunks DuckDB scans natively."""

    def __init__(self, target: WarehouseTarget, *, read_only: bool = False) -> None:
        import duckdb

        self.target = target
        assert target.path is not None
        if not read_only:
            target.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.con = duckdb.connect(str(target.path), read_only=read_only)
        except duckdb.IOException as exc:
            raise DatabaseUnreachable(
                _("cannot open the DuckDB warehouse {path}: {exc}").format(
                    path=target.path, exc=exc
                ),
                hint=_("another process may hold it open (DuckDB allows one writer)"),
            ) from None

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self.con.execute(sql, list(params))
        try:
            return cur.fetchall()
        except Exception:  # statements without a result set
            return []

    @contextmanager
    def transaction(self) -> Iterator[None]:
        self.con.execute("BEGIN TRANSACTION")
        try:
            yield
        except BaseException:
            self.con.execute("ROLLBACK")
            raise
        self.con.execute("COMMIT")

    def copy_json(
        self,
        table: str,
        columns: tuple[str, ...],
        pages: Iterable[Sequence[str]],
        fixed: Sequence[Any] = (),
    ) -> int:
        # Each page goes in as one column of JSON texts that DuckDB scans natively and takes
        # apart in SQL (from_json: a list of texts; the INSERT casts each to its column's
        # type): one Python object per row, nothing through a file, memory bounded by the
        # page, and JSON null is NULL while every text — '', '\\N', 'NULL' — stays text.
        import numpy as np

        values = [f"r[{i}]" for i in range(1, len(columns) - len(fixed) + 1)]
        sql = (
            f"INSERT INTO {RAW_SCHEMA}.{table} ({', '.join(columns)}) "
            f"SELECT {', '.join([*values, *('?' * len(fixed))])} "
            """FROM (SELECT from_json(j, '["VARCHAR"]') AS r FROM frota_copy_page)"""
        )

        def insert(page: Sequence[str]) -> None:
            self.con.register("frota_copy_page", {"j": np.array(page, dtype=object)})
            try:
                self.con.execute(sql, list(fixed))
            finally:
                self.con.unregister("frota_copy_page")

        return pipelined(pages, insert)

    def close(self) -> None:
        self.con.close()


class PostgresConnection(WarehouseConnection):
    """PostgreSQL through psycopg; bulk rows go through COPY FROM STDIN."""

    def __init__(self, target: WarehouseTarget) -> None:
        try:
            import psycopg
        except ImportError:
            raise MissingExtra("psycopg", "postgres") from None
        self.target = target
        try:
            self.con = psycopg.connect(
                host=target.host,
                port=target.port,
                user=target.user,
                password=target.password,
                dbname=target.database,
                connect_timeout=10,
                autocommit=True,
            )
        except psycopg.OperationalError as exc:
            raise DatabaseUnreachable(
                _("cannot connect to the PostgreSQL warehouse {warehouse}: {error}").format(
                    warehouse=target.masked, error=str(exc).strip().splitlines()[0]
                ),
                hint=_("check the server, the URL and FROTA_WAREHOUSE_PASSWORD"),
            ) from None

    def execute(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        cur = self.con.execute(sql.replace("?", "%s"), params or None)
        return cur.fetchall() if cur.description else []

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self.con.transaction():
            yield

    def _raw_indexes(self) -> None:
        # dbt's incremental models find the new rows by _replication_seq and their other
        # copies by id: without these, each build scans all of raw.manutencoes twice. (DuckDB
        # needs none: rows arrive in _replication_seq order, its zone maps skip the rest.)
        for column in (REPLICATION_SEQ, "id"):
            self.execute(
                f"CREATE INDEX IF NOT EXISTS manutencoes_{column.strip('_')} "
                f"ON {RAW_SCHEMA}.{MANUTENCOES.name} ({column})"
            )
        self.execute(
            f"CREATE INDEX IF NOT EXISTS veiculos_historico_replication_seq "
            f"ON {RAW_SCHEMA}.{HISTORY} ({REPLICATION_SEQ})"
        )

    def analyze(self) -> None:
        # Right after a big COPY the planner still believes the tables are small or empty
        # (autovacuum comes later) and picks full sorts over index scans.
        for table in (MANUTENCOES.name, HISTORY, LEDGER):
            self.execute(f"ANALYZE {RAW_SCHEMA}.{table}")

    def copy_json(
        self,
        table: str,
        columns: tuple[str, ...],
        pages: Iterable[Sequence[str]],
        fixed: Sequence[Any] = (),
    ) -> int:
        # COPY's text format takes every value as text: the server casts dates and decimals.
        count, tail = 0, tuple(fixed)
        sql = f"COPY {RAW_SCHEMA}.{table} ({', '.join(columns)}) FROM STDIN"
        with self.con.cursor() as cur, cur.copy(sql) as copy:
            for page in pages:
                for text in page:
                    copy.write_row((*json.loads(text), *tail))
                count += len(page)
        return count

    def close(self) -> None:
        self.con.close()
