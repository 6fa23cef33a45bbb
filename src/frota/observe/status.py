"""What a person checks first: the landing area and the ledger, in one structure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.batch import is_batch_id
from frota.config import Settings
from frota.db.connect import connect
from frota.db.engine import database_engine, mask
from frota.db.migrate import schema_state
from frota.db.schema import batches, manutencoes, quarantine, rejected_batches, veiculos
from frota.errors import FrotaError
from frota.landing import open_landing
from frota.landing.discover import Candidate, inspect_batch


@dataclass
class Status:
    """Landing area + ledger + quarantine + last runs."""

    landing: str
    database: str
    landing_batches: int = 0
    complete_pending: list[str] = field(default_factory=list)
    incomplete: list[dict[str, Any]] = field(default_factory=list)
    rejected: list[dict[str, Any]] = field(default_factory=list)
    landing_error: str | None = None
    database_error: str | None = None
    schema: str | None = None  # the schema revision, described
    batches_loaded: int = 0
    last_load: str | None = None
    rows: dict[str, int] = field(default_factory=dict)
    quarantine_held: dict[str, int] = field(default_factory=dict)
    quarantine_released: int = 0
    last_runs: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def collect_status(settings: Settings) -> Status:
    """Status of the landing area and the database; problems are reported, not raised."""
    status = Status(landing=str(open_landing(settings.landing)), database=mask(settings.database))
    loaded = _read_database(settings, status)
    _read_landing(settings, loaded, status)
    status.last_runs = _last_runs(settings)
    return status


def _read_database(settings: Settings, status: Status) -> set[str]:
    """Ledger, table sizes, quarantine, rejections and last runs into `status`; the ids of
    the batches the loader will not take (loaded, or rejected and set aside)."""
    engine = database_engine(settings)
    try:
        with connect(engine) as conn:
            if not _schema_readable(conn, status):
                return set()
            loaded: set[str] = set(conn.execute(sa.select(batches.c.batch_id)).scalars())
            _read_ledger(conn, loaded, status)
            _read_quarantine(conn, status)
            return loaded | _read_rejections(conn, status)
    except FrotaError as exc:
        status.database_error = exc.message
        return set()
    finally:
        engine.dispose()


def _schema_readable(conn: Connection, status: Status) -> bool:
    """The schema's revision into `status`; False (with the error) unless frota can read it."""
    state = schema_state(conn)
    status.schema = state.describe()
    if not state.has_tables:
        status.database_error = "schema not created (run: frota db init)"
    elif not state.at_head:
        # The tables may lack columns this frota reads: report, do not query.
        status.database_error = (
            "schema not at this frota's revision (run: frota db upgrade)"
            if state.known
            else "schema newer than this frota (upgrade frota on this machine)"
        )
    return state.at_head


def _count(conn: Connection, table: sa.Table, *where: sa.ColumnElement[bool]) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table).where(*where)).scalar() or 0


def _read_ledger(conn: Connection, loaded: set[str], status: Status) -> None:
    status.batches_loaded = len(loaded)
    last = conn.execute(sa.select(sa.func.max(batches.c.loaded_at))).scalar()
    status.last_load = last.isoformat(sep=" ", timespec="seconds") if last else None
    status.rows = {table.name: _count(conn, table) for table in (veiculos, manutencoes)}


def _read_rejections(conn: Connection, status: Status) -> set[str]:
    """Rejected batches nobody acknowledged into `status`; every batch set aside."""
    r = rejected_batches.c
    set_aside: set[str] = set()
    for row in conn.execute(
        sa.select(r.batch_id, r.state, r.message).order_by(r.rejected_at, r.batch_id)
    ):
        if row.state == "loaded":
            continue
        set_aside.add(row.batch_id)
        if row.state == "rejected":
            status.rejected.append({"batch_id": row.batch_id, "problem": row.message})
    return set_aside


def _read_quarantine(conn: Connection, status: Status) -> None:
    held = conn.execute(
        sa.select(quarantine.c.reason, sa.func.count().label("n"))
        .where(quarantine.c.status == "held")
        .group_by(quarantine.c.reason)
        .order_by(quarantine.c.reason)
    )
    status.quarantine_held = {row.reason: row.n for row in held}
    status.quarantine_released = _count(conn, quarantine, quarantine.c.status == "released")


def _last_runs(settings: Settings, limit: int = 5) -> list[dict[str, Any]]:
    """The newest runs of any step, from the database and the local run file."""
    from frota.observe.runs import Query, read_runs

    return [r.to_dict() for r in read_runs(settings, Query(limit=limit)).runs]


def _read_landing(settings: Settings, loaded: set[str], status: Status) -> None:
    """Batches in the landing area: complete and pending, incomplete, rejected."""
    try:
        landing = open_landing(settings.landing)
        ids = sorted(b for b in landing.list_batch_ids() if is_batch_id(b))
        status.landing_batches = len(ids)
        for batch_id in (b for b in ids if b not in loaded):
            _add_candidate(inspect_batch(landing, batch_id), status)
    except FrotaError as exc:
        status.landing_error = exc.message


def _add_candidate(candidate: Candidate, status: Status) -> None:
    if candidate.rejected is not None:
        status.rejected.append({"batch_id": candidate.batch_id, "problem": candidate.problem})
    elif candidate.complete:
        status.complete_pending.append(candidate.batch_id)
    else:
        status.incomplete.append(
            {
                "batch_id": candidate.batch_id,
                "problem": candidate.problem,
                "age_hours": round(candidate.age_hours, 1),
            }
        )
