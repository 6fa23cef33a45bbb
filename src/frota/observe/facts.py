"""The facts `frota check`, `frota metrics` and the report read, each part read once: the landing
area, the operational database (schema, ledger, quarantine), the run history and the warehouse.
A part that cannot be read carries its error; nothing here raises for an unreachable part.

`gather(settings, ...)` reads only the parts asked for: a source machine never touches a
database, and nothing here creates a folder or a database file.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.batch import BATCH_ID_RE
from frota.config import Settings
from frota.contract import OPERATION_SOURCES
from frota.db.connect import connect
from frota.db.engine import database_engine, mask, parse_url
from frota.db.migrate import SchemaState, schema_state
from frota.db.schema import batches, manutencoes, quarantine, rejected_batches, veiculos
from frota.errors import DatabaseUnreachable, FrotaError
from frota.landing import open_landing
from frota.landing.discover import inspect_batch
from frota.observe.runs import StepSummary, step_summaries
from frota.observe.runstore import has_database, utcnow

GROWTH_WINDOW = timedelta(hours=24)
_LEDGER_COUNTS = (
    "rows_read",
    "veiculos_inserted",
    "veiculos_updated",
    "veiculos_stale",
    "manutencoes_inserted",
    "quarantined",
    "released",
    "duplicates",
)


def batch_time(batch_id: str) -> datetime:
    """When a batch was created, from its id (naive UTC)."""
    return datetime.strptime(batch_id[:16], "%Y%m%dT%H%M%SZ")


def batch_source(batch_id: str) -> str:
    match = BATCH_ID_RE.match(batch_id)
    return match.group(2) if match else ""


@dataclass
class LandingFacts:
    """The landing area: its batches, and the state of those the ledger does not hold."""

    display: str
    error: FrotaError | None = None
    batch_ids: list[str] = field(default_factory=list)  # well-formed ids, oldest first
    inspected: bool = False  # False: the ledger was not read, so completeness is unknown
    pending: list[str] = field(default_factory=list)  # complete, not loaded
    incomplete: list[tuple[str, str]] = field(default_factory=list)  # (batch id, why)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (batch id, why)


@dataclass
class DatabaseFacts:
    """The operational database: reachable, its schema, the ledger and the quarantine."""

    display: str
    error: FrotaError | None = None
    schema: SchemaState | None = None
    loaded: dict[str, datetime] = field(default_factory=dict)  # batch id -> loaded_at
    rows: dict[str, int] = field(default_factory=dict)  # rows per contract table
    ledger: dict[str, int] = field(default_factory=dict)  # sums of the ledger's counts
    quarantine_held: dict[str, int] = field(default_factory=dict)  # by reason
    quarantine_released: int = 0
    quarantine_new: int = 0  # held rows that arrived in the last GROWTH_WINDOW
    quarantined_by_table: dict[str, int] = field(default_factory=dict)  # ever, held or not
    # Batches the loader set aside (frota_rejected_batches, not loaded since): id -> (state,
    # why). State `rejected` waits for a person; `acknowledged` was looked at (frota batch
    # reject) and is no longer a problem.
    set_aside: dict[str, tuple[str, str]] = field(default_factory=dict)

    def waiting_for_a_person(self) -> list[tuple[str, str]]:
        """Rejected batches nobody has acknowledged: (batch id, why), oldest first."""
        return [(b, why) for b, (state, why) in self.set_aside.items() if state == "rejected"]

    @property
    def readable(self) -> bool:
        return self.error is None and self.schema is not None and self.schema.at_head


@dataclass
class WarehouseFacts:
    """The warehouse's lag: batches loaded in the operational database and not replicated."""

    display: str
    error: FrotaError | None = None
    not_replicated: list[tuple[str, datetime]] = field(default_factory=list)  # (id, loaded_at)


@dataclass
class Facts:
    now: datetime
    landing: LandingFacts | None = None
    database: DatabaseFacts | None = None
    warehouse: WarehouseFacts | None = None
    steps: dict[str, StepSummary] = field(default_factory=dict)
    steps_error: FrotaError | None = None

    def newest_batch_by_source(self) -> dict[str, datetime]:
        """When each source's newest batch was made, from the landing area and the ledger."""
        ids = list(self.landing.batch_ids if self.landing else [])
        ids += list(self.database.loaded if self.database else [])
        newest: dict[str, datetime] = {}
        for batch_id in ids:
            source = batch_source(batch_id)
            if source and source not in OPERATION_SOURCES:
                when = batch_time(batch_id)
                newest[source] = max(newest.get(source, when), when)
        return newest


def gather(
    settings: Settings,
    *,
    landing: bool = True,
    database: bool = True,
    warehouse: WarehouseReader | None = None,
    runs: bool = True,
) -> Facts:
    """Read the parts asked for (see the module's docstring); the warehouse's through
    `warehouse` (frota.warehouse.replicate.replicated_batch_ids), if given."""
    facts = Facts(now=utcnow())
    if database:
        facts.database = read_database(settings)
    if landing:
        facts.landing = read_landing(settings, facts.database)
    if warehouse is not None:
        facts.warehouse = read_warehouse(settings, facts.database, warehouse)
    if runs:
        summaries = step_summaries(settings)
        facts.steps = summaries.steps
        facts.steps_error = summaries.errors[0] if summaries.errors else None
    return facts


def read_landing(settings: Settings, db: DatabaseFacts | None) -> LandingFacts:
    """Batch ids, and (when the ledger was read) which unloaded batches are complete,
    incomplete or to be rejected."""
    try:
        landing = open_landing(settings.landing)
    except FrotaError as exc:
        return LandingFacts(display=str(settings.landing), error=exc)
    facts = LandingFacts(display=str(landing))
    try:
        facts.batch_ids = sorted(b for b in landing.list_batch_ids() if BATCH_ID_RE.match(b))
        if db is None or not db.readable:
            return facts  # without the ledger every batch would be inspected: too costly
        taken = db.loaded.keys() | db.set_aside.keys()  # the loader will not take these
        for batch_id in (b for b in facts.batch_ids if b not in taken):
            candidate = inspect_batch(landing, batch_id)
            if candidate.rejected is not None:
                facts.rejected.append((batch_id, candidate.problem or ""))
            elif candidate.complete:
                facts.pending.append(batch_id)
            else:
                facts.incomplete.append((batch_id, candidate.problem or ""))
        facts.inspected = True
    except FrotaError as exc:
        facts.error = exc
    return facts


def _no_database(settings: Settings) -> DatabaseUnreachable:
    path = parse_url(settings.database).database
    return DatabaseUnreachable(
        f"no operational database at {path}",
        hint="create it with `frota db init`, or pass the right --database URL "
        "(a source machine has none: use `frota check --role source`)",
    )


def read_database(settings: Settings) -> DatabaseFacts:
    """Reachable? Schema at head? Then the ledger, table sizes and the quarantine."""
    facts = DatabaseFacts(display=mask(settings.database))
    if not has_database(settings):
        facts.error = _no_database(settings)
        return facts
    engine = database_engine(settings)
    try:
        with connect(engine) as conn:
            facts.schema = schema_state(conn)
            if facts.schema.at_head:
                _read_ledger(conn, facts)
                _read_quarantine(conn, facts)
    except FrotaError as exc:
        facts.error = exc
    except sa.exc.SQLAlchemyError as exc:
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        facts.error = DatabaseUnreachable(f"cannot read {facts.display}: {reason}")
    finally:
        engine.dispose()
    return facts


def _count(conn: Connection, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar() or 0


def _read_ledger(conn: Connection, facts: DatabaseFacts) -> None:
    rows = conn.execute(sa.select(batches.c.batch_id, batches.c.loaded_at))
    facts.loaded = {row.batch_id: row.loaded_at for row in rows}
    sums = conn.execute(
        sa.select(*(sa.func.coalesce(sa.func.sum(batches.c[c]), 0) for c in _LEDGER_COUNTS))
    ).one()
    facts.ledger = dict(zip(_LEDGER_COUNTS, (int(v) for v in sums), strict=True))
    facts.rows = {table.name: _count(conn, table) for table in (veiculos, manutencoes)}


def _read_quarantine(conn: Connection, facts: DatabaseFacts) -> None:
    held = conn.execute(
        sa.select(quarantine.c.reason, sa.func.count().label("n"))
        .where(quarantine.c.status == "held")
        .group_by(quarantine.c.reason)
        .order_by(quarantine.c.reason)
    )
    facts.quarantine_held = {row.reason: row.n for row in held}
    facts.quarantine_released = _count(conn, quarantine, quarantine.c.status == "released")
    by_table = conn.execute(
        sa.select(quarantine.c.table_name, sa.func.count().label("n")).group_by(
            quarantine.c.table_name
        )
    )
    facts.quarantined_by_table = {row.table_name: row.n for row in by_table}
    r = rejected_batches.c
    rows = conn.execute(
        sa.select(r.batch_id, r.state, r.message)
        .where(r.state != "loaded")
        .order_by(r.rejected_at, r.batch_id)
    )
    facts.set_aside = {row.batch_id: (row.state, row.message) for row in rows}
    since = utcnow() - GROWTH_WINDOW
    facts.quarantine_new = _count(
        conn, quarantine, quarantine.c.status == "held", quarantine.c.created_at >= since
    )


# Reads the batch ids the warehouse holds (None: no warehouse yet). The caller passes
# frota.warehouse.replicate.replicated_batch_ids: observe sits below warehouse (which records
# its runs here) and never imports it.
WarehouseReader = Callable[[Settings], "set[str] | None"]


def read_warehouse(
    settings: Settings, db: DatabaseFacts | None, replicated: WarehouseReader
) -> WarehouseFacts:
    """Batches of the operational ledger that the warehouse has not replicated yet."""
    facts = WarehouseFacts(display=mask(settings.warehouse))
    if db is None or not db.readable:
        return facts
    try:
        held = replicated(settings) or set()  # never built: everything loaded is lag
    except FrotaError as exc:
        facts.error = exc
        return facts
    facts.not_replicated = sorted(
        ((b, at) for b, at in db.loaded.items() if b not in held), key=lambda x: x[1]
    )
    return facts
