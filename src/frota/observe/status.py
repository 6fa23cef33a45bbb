"""What a person checks first: the landing area and the ledger, in one structure.

A view over the facts `frota check` judges (frota.observe.facts), read the same way: nothing is
created (no folder, no database file), and what cannot be read is reported with the exit code
`frota status` then ends with.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from frota.config import Settings
from frota.errors import EXIT_CONFIG, EXIT_OK
from frota.i18n import _
from frota.observe.facts import DatabaseFacts, LandingFacts, batch_time, gather


@dataclass
class Status:
    """Landing area + ledger + quarantine + last runs."""

    landing: str
    database: str
    landing_batches: int = 0
    inspected: bool = False  # False: the ledger could not be read, so nothing is known of them
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
    # Why status could not read what it shows: the exit code of the first such error.
    exit_code: int = EXIT_OK

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def collect_status(settings: Settings) -> Status:
    """Status of the landing area and the database; problems are reported, not raised."""
    from frota.observe.runs import Query, read_runs

    facts = gather(settings, runs=False)
    assert facts.landing is not None and facts.database is not None
    status = Status(landing=facts.landing.display, database=facts.database.display)
    _from_landing(facts.landing, status, facts.now)
    _from_database(facts.database, status)
    listing = read_runs(settings, Query(limit=5))
    status.last_runs = [r.to_dict() for r in listing.runs]
    return status


def _fail(status: Status, code: int) -> None:
    if status.exit_code == EXIT_OK:
        status.exit_code = code


def _from_landing(land: LandingFacts, status: Status, now: Any) -> None:
    status.landing_batches = len(land.batch_ids)
    if land.error is not None:
        status.landing_error = land.error.message
        _fail(status, land.error.exit_code)
    status.inspected = land.inspected
    status.complete_pending = list(land.pending)
    status.rejected += [{"batch_id": b, "problem": why} for b, why in land.rejected]
    status.incomplete = [
        {
            "batch_id": b,
            "problem": why,
            "age_hours": round((now - batch_time(b)).total_seconds() / 3600, 1),
        }
        for b, why in land.incomplete
    ]


def _from_database(db: DatabaseFacts, status: Status) -> None:
    state = db.schema
    status.schema = state.describe() if state else None
    if db.error is not None:
        status.database_error = db.error.message
        _fail(status, db.error.exit_code)
        return
    assert state is not None
    if not state.has_tables:
        status.database_error = _("schema not created (run: frota db init)")
    elif not state.at_head:
        # The tables may lack columns this frota reads: reported, not queried.
        status.database_error = (
            _("schema not at this frota's revision (run: frota db upgrade)")
            if state.known
            else _("schema newer than this frota (upgrade frota on this machine)")
        )
    if status.database_error:
        _fail(status, EXIT_CONFIG)
        return
    status.batches_loaded = len(db.loaded)
    last = max(db.loaded.values(), default=None)
    status.last_load = last.isoformat(sep=" ", timespec="seconds") if last else None
    status.rows = dict(db.rows)
    status.quarantine_held = dict(db.quarantine_held)
    status.quarantine_released = db.quarantine_released
    # Rejected batches set aside by the loader, waiting for a person (frota batch).
    waiting = [{"batch_id": b, "problem": why} for b, why in db.waiting_for_a_person()]
    status.rejected = waiting + status.rejected
