"""Replicate newly loaded batches from the operational database into the warehouse `raw` schema.

Exactly once: the warehouse keeps its own ledger (`raw.frota_replicated_batches`) and writes it
in the same transaction as the copied rows, so a crash leaves the warehouse as before or
complete, and a rerun copies nothing. The source is only read (SELECT), so the read-only
analytics user is enough.

New batches are the operational ledger's rows loaded since the last replicated `loaded_at`
(minus a safety margin) that the warehouse ledger does not hold yet: the cost follows what is
new, not the history. For each new batch, its `manutencoes` rows are appended to
`raw.manutencoes` and the vehicle states it applied (its `frota_veiculos_historico` rows, found
by lote_id: a load's or a quarantine retry's) to `raw.frota_veiculos_historico` — the history
the SCD2 vehicle dimension is built from. A late, older batch brings its states at their own
time; dbt puts them in place and re-points the facts they affect.
"""

from __future__ import annotations

import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from operator import itemgetter
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from frota.config import Settings
from frota.contract import MANUTENCOES, REPLAY_SOURCE, RETRY_SOURCE, UNDO_SOURCE
from frota.db import schema
from frota.db.engine import database_engine, database_url, mask
from frota.errors import DatabaseUnreachable, MissingExtra
from frota.i18n import _
from frota.warehouse.errors import WarehouseError
from frota.warehouse.raw import (
    HISTORY,
    LEDGER,
    LEDGER_COLUMNS,
    RAW_SCHEMA,
    REPLICATION_SEQ,
    history_columns,
    raw_columns,
)
from frota.warehouse.target import PAGE_ROWS, WarehouseConnection, json_pages

# A batch loaded this long before the newest replicated one is assumed replicated already.
# Loads are serialised by the loader's lock, so the ledger's loaded_at only moves forward;
# the margin absorbs clock adjustments on the database server.
MARGIN = timedelta(days=1)
_IDS_PER_QUERY = 500


@dataclass(frozen=True)
class ReplicationResult:
    """What one replication copied."""

    batches: tuple[str, ...] = ()
    rows: dict[str, int] = field(default_factory=lambda: {"veiculos": 0, "manutencoes": 0})
    replication_seq: int | None = None
    seconds: float = 0.0
    reread: tuple[str, ...] = ()  # batches whose maintenances were read whole, by lote_id


def source_engine(settings: Settings) -> Engine:
    """A read-only engine for the operational database the settings name."""
    parsed = database_url(settings)
    if parsed.get_backend_name() != "sqlite":
        return database_engine(settings)
    path = Path(parsed.database or "")
    if not path.is_file():
        raise DatabaseUnreachable(
            _("operational database not found: {path}").format(path=path),
            hint=_("run `frota load` first, or pass the right --database URL"),
        )
    # Read-only URI: the warehouse never writes the operational file; a deferred BEGIN gives
    # one consistent snapshot (WAL) without taking the writer's lock.
    engine = sa.create_engine(
        f"sqlite:///file:{path.resolve()}?mode=ro&uri=true", connect_args={"timeout": 30}
    )

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN")

    return engine


@contextmanager
def _read(engine: Engine) -> Iterator[Connection]:
    """One read transaction over the source, with a stable snapshot where the engine has one."""
    try:
        conn = engine.connect()
    except sa.exc.OperationalError as exc:
        raise DatabaseUnreachable(
            _("cannot connect to the operational database {database}: {error}").format(
                database=mask(engine.url), error=str(exc.orig).strip().splitlines()[0]
            ),
            hint=_("check the server and the URL (FROTA_DATABASE_PASSWORD for the password)"),
        ) from None
    with conn:
        if engine.dialect.name in ("postgresql", "mysql"):
            conn = conn.execution_options(isolation_level="REPEATABLE READ")
        with conn.begin():
            yield conn


def _utc(value: str | datetime) -> datetime:
    """A naive UTC datetime from the ledger's ISO text ('2024-05-01T12:00:00Z') or a datetime."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value.replace("Z", "+00:00"))
    if value.tzinfo is not None:
        value = value.astimezone(UTC).replace(tzinfo=None)
    return value


def _new_batches(src: Connection, wh: WarehouseConnection) -> list[sa.Row]:
    """Ledger rows of batches not replicated yet, oldest first (cost follows what is new)."""
    newest = wh.execute(f"SELECT max(loaded_at) FROM {RAW_SCHEMA}.{LEDGER}")[0][0]
    b = schema.batches
    query = sa.select(
        b.c.batch_id,
        b.c.source,
        b.c.created_at,
        b.c.loaded_at,
        b.c.as_of,
        b.c.manutencoes_inserted,
        b.c.released,
    )
    seen: set[str] = set()
    if newest is not None:
        since = newest - MARGIN
        query = query.where(b.c.loaded_at >= since)
        seen = {
            r[0]
            for r in wh.execute(
                f"SELECT batch_id FROM {RAW_SCHEMA}.{LEDGER} WHERE loaded_at >= ?", (since,)
            )
        }
    try:
        rows = src.execute(query.order_by(b.c.loaded_at, b.c.batch_id)).all()
    except sa.exc.ProgrammingError as exc:  # pragma: no cover - depends on the server
        raise _no_ledger(exc) from None
    except sa.exc.OperationalError as exc:
        if "no such table" in str(exc):
            raise _no_ledger(exc) from None
        raise
    return [r for r in rows if r.batch_id not in seen]


def _no_ledger(exc: Exception) -> WarehouseError:
    return WarehouseError(
        "the operational database has no frota ledger (frota_batches)",
        hint="run `frota db init` and `frota load` on the data server first",
    )


def _chunks(batch_ids: Sequence[str]) -> list[Sequence[str]]:
    return [batch_ids[i : i + _IDS_PER_QUERY] for i in range(0, len(batch_ids), _IDS_PER_QUERY)]


def _as_json(src: Connection, columns: Sequence[sa.ColumnElement[Any]]) -> sa.ColumnElement[Any]:
    """The columns as one JSON array text, written by the source engine: the driver then hands
    over one value per row instead of one per column, most of what reading costs in Python.
    The warehouse takes the values apart again and casts them (WarehouseConnection.copy_json);
    JSON keeps every text exactly and NULL apart from 'NULL'. A decimal goes as its exact text
    (a JSON number is a float to many readers; SQLite keeps 100.00 as 100, 12.50 as 12.5)."""
    stored = [
        sa.cast(c, sa.String)
        if isinstance(c.type, sa.Numeric) and not isinstance(c.type, sa.Float)
        else c
        for c in columns
    ]
    if src.dialect.name == "postgresql":  # its json type would come back parsed: as text
        return sa.cast(sa.func.json_build_array(*stored), sa.Text)
    return sa.func.json_array(*stored)  # SQLite (3.38+, or its JSON1 extension) and MariaDB


def _cursor(src: Connection) -> Any:
    """A cursor of the driver in the read's transaction that streams: server-side on
    PostgreSQL and MariaDB (SQLite's cursors step through the rows anyway)."""
    dbapi = src.connection.driver_connection
    assert dbapi is not None
    if src.dialect.name == "postgresql":
        return dbapi.cursor(name="frota_replicate")
    if src.dialect.name == "mysql":
        from pymysql.cursors import SSCursor

        return dbapi.cursor(SSCursor)
    return dbapi.cursor()


def _pages(
    src: Connection, query: sa.Select[Any], counts: Counter[str] | None = None
) -> Iterator[list[str]]:
    """The rows of `query` (a key to count them by in `counts`, if given; then the row as JSON
    text: _as_json) as pages of JSON texts. Straight from the driver's cursor: SQLAlchemy's
    result rows would cost more than the read itself."""
    compiled = query.compile(dialect=src.dialect, compile_kwargs={"render_postcompile": True})
    params = compiled.construct_params()
    args = tuple(params[n] for n in compiled.positiontup or ()) if compiled.positional else params
    cursor = _cursor(src)
    try:
        cursor.execute(str(compiled), args)
        while page := cursor.fetchmany(PAGE_ROWS):
            if counts is not None:
                counts.update(map(itemgetter(0), page))
            yield list(map(itemgetter(-1), page))
    finally:
        cursor.close()


def _joined_pages(
    src: Connection, query: sa.Select[Any], id_column: sa.ColumnElement[int], after_id: int | None
) -> Iterator[list[str]]:
    """SQLite: the rows of `query` (one column, the row as JSON text) with an id above
    `after_id`, as pages of JSON texts, by ranges of PAGE_ROWS ids. SQLite joins a range's rows
    into one text, a line a row (JSON never holds a raw line break), which Python splits: the
    driver hands over one value per page instead of a tuple per row, a fifth of what the read
    cost. A range is a slice of the table's b-tree (no sort), and each starts at the next id
    there is: a gap in the ids costs one lookup, whatever its width."""
    joined = query.with_only_columns(sa.func.group_concat(query.selected_columns[0], "\n"))
    next_id = sa.select(sa.func.min(id_column))
    start = after_id
    while True:
        first = src.execute(next_id.where(id_column > start) if start is not None else next_id)
        if (low := first.scalar()) is None:
            return
        start = int(low) + PAGE_ROWS - 1
        page = joined.where(id_column >= low, id_column <= start)
        if (text := src.execute(page).scalar()) is not None:
            yield text.split("\n")


def _source_rows(
    src: Connection, batch_ids: Sequence[str], after_id: int | None = None
) -> Iterator[list[str]]:
    """The maintenances written by `batch_ids` (with id > `after_id`): the contract columns and
    the batch that retired the record (if any); the copy as its batch wrote it (a NULL
    change). Pages of JSON texts, without a key: the warehouse counts them (_first_copies)."""
    m = schema.manutencoes
    row = _as_json(src, [*(m.c[c.name] for c in MANUTENCOES.columns), m.c.retirada_lote])
    for chunk in _chunks(batch_ids):
        query = sa.select(row).where(m.c.lote_id.in_(chunk))
        if src.dialect.name == "sqlite":
            yield from _joined_pages(src, query, m.c.id, after_id)
            continue
        if after_id is not None:
            query = query.where(m.c.id > after_id)
        yield from _pages(src, query)


def _change_rows(
    src: Connection, batch_ids: Sequence[str], counts: Counter[str]
) -> Iterator[list[str]]:
    """The changes `batch_ids` made to stored maintenances (frota_manutencoes_historico), each
    as a copy of its record for raw.manutencoes: the record's id and batch, the image after the
    change, the batch that retired it (a 'retire'), the kind of change and its history id."""
    h, m = schema.maintenance_history, schema.manutencoes
    columns = [
        m.c[c.name] if c.name in ("id", "lote_id") else h.c[c.name] for c in MANUTENCOES.columns
    ]
    retired = sa.case((h.c.mudanca == "retire", h.c.lote_id), else_=sa.null())
    row = _as_json(src, [*columns, retired, h.c.mudanca, h.c.id])
    for chunk in _chunks(batch_ids):
        query = (
            sa.select(h.c.lote_id, row)
            .join(m, m.c.chave == h.c.chave)
            # A 'stale' image (a late, older batch's version) never was the record's state.
            .where(h.c.lote_id.in_(chunk), h.c.mudanca != "stale")
        )
        yield from _pages(src, query, counts)


def _history_rows(
    src: Connection, batch_ids: Sequence[str], counts: Counter[str], first: bool
) -> Iterator[list[str]]:
    """The vehicle states `batch_ids` applied (and, on the `first` replication, the baseline
    states no batch wrote: vehicles adopted before frota kept a ledger), pages of JSON texts."""
    h = schema.vehicle_history
    row = _as_json(src, [h.c[name] for name in history_columns()[:-1]])
    # A state an undo withdrew is not history (frota.ops.batches.undo).
    queries = [
        sa.select(h.c.lote_id, row).where(h.c.lote_id.in_(chunk), h.c.desfeito_lote.is_(None))
        for chunk in _chunks(batch_ids)
    ]
    if first:
        queries.append(sa.select(h.c.lote_id, row).where(h.c.lote_id.is_(None)))
    for query in queries:
        yield from _pages(src, query, counts)


def _follow_operations(
    src: Connection, wh: WarehouseConnection, batches: Sequence[sa.Row], seq: int
) -> int:
    """An undo withdraws a batch's vehicle states, a replay puts them back: the batch's rows
    in raw.frota_veiculos_historico are copied again as they are in force now, and its
    vehicles' other rows take this run's seq, so that dbt re-points their facts. Returns the
    vehicle states copied. (The records they changed come as history rows, like a batch's.)"""
    ops = [b.batch_id for b in batches if b.source in (UNDO_SOURCE, REPLAY_SOURCE)]
    if not ops:
        return 0
    ledger, h = schema.batches.c, schema.vehicle_history.c
    acted_on = sa.select(ledger.operacao_de).where(ledger.batch_id.in_(ops))
    found: list[Any] = list(src.execute(acted_on).scalars())
    targets = sorted({str(t) for t in found})
    copied = 0
    for target in targets:
        wh.execute(f"DELETE FROM {RAW_SCHEMA}.{HISTORY} WHERE lote_id = ?", (target,))
        copied += wh.copy_json(
            HISTORY,
            history_columns(),
            _history_rows(src, [target], Counter(), first=False),
            (seq,),
        )
        of_target = sa.select(h.placa).where(h.lote_id == target).distinct()
        plates: list[Any] = list(src.execute(of_target).scalars())
        for start in range(0, len(plates), _IDS_PER_QUERY):
            chunk = plates[start : start + _IDS_PER_QUERY]
            wh.execute(
                f"UPDATE {RAW_SCHEMA}.{HISTORY} SET {REPLICATION_SEQ} = ? "
                f"WHERE placa IN ({', '.join('?' * len(chunk))})",
                (seq, *chunk),
            )
    return copied


def _maintenances_written(batch: sa.Row) -> int:
    """How many maintenance rows a ledger entry wrote (a retry counts its releases in
    manutencoes_inserted; a load counts them apart, in released)."""
    if batch.source == RETRY_SOURCE:
        return int(batch.manutencoes_inserted)
    return int(batch.manutencoes_inserted) + int(batch.released)


def _counted(pages: Iterator[list[str]], bar: Callable[[int], None] | None) -> Iterator[list[str]]:
    """The pages, telling `bar` how many rows went by (after each page and at the end)."""
    if bar is None:
        yield from pages
        return
    n = 0
    for page in pages:
        yield page
        n += len(page)
        bar(n)
    bar(n)


def _copy_maintenances(
    src: Connection,
    wh: WarehouseConnection,
    batches: Sequence[sa.Row],
    seq: int,
    bar: Callable[[int], None] | None = None,
) -> tuple[int, Counter[str], dict[str, int], list[str]]:
    """Append the new batches' maintenances to raw.manutencoes; (rows, rows per batch, rows
    with a data_conclusao per batch, batches read again whole).

    manutencoes.lote_id has no index (it would cost a fifth of every load), so the rows are
    found by primary key: above the highest id replicated so far, since batches commit one
    at a time under the loader's lock and ids only grow. A batch that comes up short of its
    ledger count is read again whole, by lote_id: SQLite hands out the ids of deleted rows
    again, and a writer that re-lineages older rows counts them in its ledger entry."""
    table, columns = MANUTENCOES.name, raw_columns(MANUTENCOES)
    after = wh.execute(f"SELECT max(id) FROM {RAW_SCHEMA}.{table}")[0][0] or 0
    ids = [b.batch_id for b in batches]
    found = _counted(_source_rows(src, ids, after), bar)
    first_copy = (None, 0, seq)  # _mudanca, _mudanca_id, _replication_seq: as its batch wrote it
    rows = wh.copy_json(table, columns, found, first_copy)
    written = _first_copies(wh, seq)
    short = [b.batch_id for b in batches if written[b.batch_id][0] < _maintenances_written(b)]
    if short:
        marks = ", ".join("?" * len(short))
        wh.execute(
            f"DELETE FROM {RAW_SCHEMA}.{table} WHERE _replication_seq = ? AND lote_id IN ({marks})",
            (seq, *short),
        )
        rows -= sum(written[b][0] for b in short)
        rows += wh.copy_json(table, columns, _source_rows(src, short), first_copy)
        written = _first_copies(wh, seq)
    counts = Counter({b: n for b, (n, _) in written.items()})
    # Then the changes the batches made to stored records: copies that come after the
    # record's earlier ones.
    rows += wh.copy_json(table, columns, _change_rows(src, ids, counts), (seq,))
    concluded = {b: done for b, (_, done) in written.items()}
    return rows, counts, concluded, short


def _first_copies(wh: WarehouseConnection, seq: int) -> defaultdict[str, tuple[int, int]]:
    """Per batch of replication run `seq`: its maintenances copied as the batch wrote them, and
    how many of those have a data_conclusao. Counted by the warehouse, after the copy: the
    rows come from the source without their batch as a key of their own."""
    return defaultdict(
        lambda: (0, 0),
        {
            batch: (int(n), int(done))
            for batch, n, done in wh.execute(
                "SELECT lote_id, count(*), count(data_conclusao) "
                f"FROM {RAW_SCHEMA}.{MANUTENCOES.name} "
                "WHERE _replication_seq = ? AND _mudanca IS NULL GROUP BY lote_id",
                (seq,),
            )
        },
    )


def replicate(
    source: Engine,
    wh: WarehouseConnection,
    *,
    progress: Callable[[str], None] | None = None,
    bar: Callable[[int], None] | None = None,
) -> ReplicationResult:
    """Copy every batch loaded since the last replication into `raw`, in one transaction.
    `bar` is told the maintenance rows copied (and their total first, via `set_total`)."""
    say = progress or (lambda _msg: None)
    started = time.perf_counter()
    if wh.ensure_raw():
        say("the raw layer's layout changed (a new frota version): replicating every batch again")
    with wh.transaction(), _read(source) as src:
        batches = _new_batches(src, wh)
        if not batches:
            say("no new batches to replicate")
            return ReplicationResult(seconds=time.perf_counter() - started)
        seq = (
            wh.execute(f"SELECT max(_replication_seq) FROM {RAW_SCHEMA}.{LEDGER}")[0][0] or 0
        ) + 1
        ids = [b.batch_id for b in batches]
        created = {b.batch_id: _utc(b.created_at) for b in batches}
        say(f"replicating {len(ids)} batch(es)")
        set_total = getattr(bar, "set_total", None)
        if set_total is not None:
            set_total(sum(_maintenances_written(b) for b in batches))
        m_rows, m_counts, concluded, reread = _copy_maintenances(src, wh, batches, seq, bar)
        if reread:
            say(f"{len(reread)} batch(es) read again by lote_id (ids reused by SQLite)")
        v_counts: Counter[str] = Counter()
        v_rows = wh.copy_json(
            HISTORY,
            history_columns(),
            _history_rows(src, ids, v_counts, first=seq == 1),
            (seq,),
        )
        v_rows += _follow_operations(src, wh, batches, seq)
        now = datetime.now(UTC).replace(tzinfo=None)
        wh.copy_json(
            LEDGER,
            tuple(n for n, _ in LEDGER_COLUMNS),
            json_pages(
                (
                    b.batch_id,
                    b.source,
                    created[b.batch_id],
                    _utc(b.loaded_at),
                    # when the batch's data were true (a generated batch's last simulated
                    # day, read as the end of that local day: frota.batch.day_as_of)
                    _utc(b.as_of) if b.as_of is not None else created[b.batch_id],
                    v_counts[b.batch_id],
                    m_counts[b.batch_id],
                    concluded.get(b.batch_id, 0),
                    seq,
                    now,
                )
                for b in batches
            ),
        )
    wh.analyze()
    say(f"replicated {len(ids)} batch(es): {v_rows} veiculos, {m_rows} manutencoes")
    return ReplicationResult(
        batches=tuple(ids),
        rows={"veiculos": v_rows, "manutencoes": m_rows},
        replication_seq=seq,
        seconds=time.perf_counter() - started,
        reread=tuple(reread),
    )


def replicated_batch_ids(settings: Settings) -> set[str] | None:
    """The batches the warehouse holds (its own ledger), read without writing anything: None
    if the warehouse does not exist yet. What `frota check` and the metrics measure the lag
    against (DatabaseUnreachable if it cannot be read, e.g. a build holds the DuckDB file)."""
    from frota.warehouse.target import warehouse_target

    target = warehouse_target(settings)
    if target.kind == "duckdb" and not (target.path and target.path.is_file()):
        return None
    try:
        connection = target.connect(read_only=True)
    except ImportError:
        raise MissingExtra("duckdb", "warehouse") from None
    with connection as wh:
        found = wh.execute(
            "SELECT count(*) FROM information_schema.tables "
            "WHERE table_schema = ? AND table_name = ?",
            (RAW_SCHEMA, LEDGER),
        )[0][0]
        if not found:
            return None
        return {r[0] for r in wh.execute(f"SELECT batch_id FROM {RAW_SCHEMA}.{LEDGER}")}
