"""What a person checks first: the landing area and the ledger, in one structure."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import sqlalchemy as sa

from frota.batch import is_batch_id
from frota.config import Settings
from frota.db.connect import connect
from frota.db.engine import database_engine, mask
from frota.db.migrate import schema_state
from frota.db.schema import batches, manutencoes, quarantine, runs, veiculos
from frota.errors import FrotaError
from frota.landing import open_landing
from frota.load.discover import inspect_batch


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
    loaded: set[str] = set()
    engine = database_engine(settings)
    try:
        with connect(engine) as conn:
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
            else:
                loaded = set(conn.execute(sa.select(batches.c.batch_id)).scalars())
                status.batches_loaded = len(loaded)
                last = conn.execute(sa.select(sa.func.max(batches.c.loaded_at))).scalar()
                status.last_load = last.isoformat(sep=" ", timespec="seconds") if last else None
                for table in (veiculos, manutencoes):
                    status.rows[table.name] = (
                        conn.execute(sa.select(sa.func.count()).select_from(table)).scalar() or 0
                    )
                held = conn.execute(
                    sa.select(quarantine.c.reason, sa.func.count())
                    .where(quarantine.c.status == "held")
                    .group_by(quarantine.c.reason)
                    .order_by(quarantine.c.reason)
                )
                status.quarantine_held = {reason: n for reason, n in held}
                status.quarantine_released = (
                    conn.execute(
                        sa.select(sa.func.count())
                        .select_from(quarantine)
                        .where(quarantine.c.status == "released")
                    ).scalar()
                    or 0
                )
                recent = conn.execute(sa.select(runs).order_by(runs.c.started_at.desc()).limit(5))
                status.last_runs = [
                    {
                        "run_id": r.run_id,
                        "command": r.command,
                        "status": r.status,
                        "started_at": r.started_at.isoformat(sep=" ", timespec="seconds"),
                        "batches_loaded": r.batches_loaded,
                        "rows_loaded": r.rows_loaded,
                        "message": r.message,
                    }
                    for r in recent
                ]
    except FrotaError as exc:
        status.database_error = exc.message
    finally:
        engine.dispose()
    try:
        landing = open_landing(settings.landing)
        ids = sorted(b for b in landing.list_batch_ids() if is_batch_id(b))
        status.landing_batches = len(ids)
        for batch_id in ids:
            if batch_id in loaded:
                continue
            candidate = inspect_batch(landing, batch_id)
            if candidate.rejected is not None:
                status.rejected.append({"batch_id": batch_id, "problem": candidate.problem})
            elif candidate.complete:
                status.complete_pending.append(batch_id)
            else:
                status.incomplete.append(
                    {
                        "batch_id": batch_id,
                        "problem": candidate.problem,
                        "age_hours": round(candidate.age_hours, 1),
                    }
                )
    except FrotaError as exc:
        status.landing_error = exc.message
    return status
