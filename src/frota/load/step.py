"""`load_pending`: the run that loads every complete batch not yet in the ledger, in publish order,
each in its own transaction (`transaction.load_batch`), under the database's load lock.

A run is one session on one connection: the lock, then every pending batch. A transient
database error retries the whole session on a new connection within the settings' retry
budget (`frota.load.retry`); the ledger says which batch a lost connection had committed.

A batch that breaks the contract is recorded once in `frota_rejected_batches`
(`frota.load.rejections`) and set aside: the run goes on with the next batches and ends well;
later runs skip it until `frota batch retry` asks for it again (`only`).
"""

from __future__ import annotations

from collections.abc import Collection
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import date
from functools import partial

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from frota.config import Settings
from frota.contract import MANUTENCOES
from frota.contract.tabular import FilePolicy
from frota.db.connect import connect
from frota.db.lock import load_lock
from frota.db.migrate import ensure_schema
from frota.errors import BadInputError, BatchRejected, LockHeld, LockOfLostSession
from frota.landing import Landing, open_landing
from frota.landing.discover import Candidate, pending_batches
from frota.load.engine import loader_engine
from frota.load.files import file_opener
from frota.load.ledger import ledger_entry, loaded_batch_ids
from frota.load.maintenances import Progress
from frota.load.rejections import record_rejection, set_aside_ids, waiting_for_a_person
from frota.load.retry import RetryPolicy, retry_call
from frota.load.transaction import BatchResult, load_batch
from frota.observe.log import logger
from frota.observe.runs import active_run, recorded

STALE_INCOMPLETE_HOURS = 24


@dataclass(frozen=True)
class LoadResult:
    """What one `frota load` did."""

    run_id: str
    loaded: tuple[BatchResult, ...] = ()
    incomplete: tuple[tuple[str, str], ...] = ()  # (batch_id, why)
    rejected: tuple[BatchRejected, ...] = ()  # rejected by this run, and set aside
    already_loaded: tuple[str, ...] = ()  # loaded by another loader meanwhile
    set_aside: int = 0  # rejected batches (this run's and earlier) nobody has acknowledged

    @property
    def rows_loaded(self) -> int:
        return sum(b.rows_loaded for b in self.loaded)

    @property
    def quarantined(self) -> int:
        return sum(b.quarantined for b in self.loaded)


@dataclass
class _Collector:
    loaded: list[BatchResult] = field(default_factory=list)
    incomplete: list[tuple[str, str]] = field(default_factory=list)
    rejected: list[BatchRejected] = field(default_factory=list)
    already_loaded: list[str] = field(default_factory=list)
    in_flight: str | None = None  # the batch whose transaction was running (or committing)
    set_aside: int = 0


def _reject(
    conn: Connection, candidate: Candidate, error: BadInputError, run_id: str, out: _Collector
) -> None:
    """Record the rejection (its own transaction), then report it: later runs skip it."""
    batch_id = candidate.batch_id
    source = candidate.manifest.source if candidate.manifest else None
    record_rejection(conn, batch_id, error, run_id, source=source)
    rejected = BatchRejected(batch_id, error)
    logger.warning(
        "%s; set aside: later batches go on loading (frota batch show %s)",
        rejected,
        batch_id,
        extra={"batch_id": batch_id},
    )
    out.rejected.append(rejected)


def _load_one(
    conn: Connection,
    landing: Landing,
    candidate: Candidate,
    run_id: str,
    today: date,
    progress: Progress | None,
    out: _Collector,
    files: FilePolicy,
) -> None:
    assert candidate.manifest is not None
    with ExitStack() as stack:
        opener = file_opener(landing, candidate.batch_id, stack)
        out.in_flight = candidate.batch_id
        try:
            result = load_batch(
                conn, candidate.manifest, opener, run_id, today, progress, policy=files
            )
        except BadInputError as exc:
            out.in_flight = None
            _reject(conn, candidate, exc, run_id, out)
            return
        except sa.exc.IntegrityError:
            # The ledger's unique key is the last guard: someone else loaded this batch.
            out.in_flight = None
            if candidate.batch_id in loaded_batch_ids(conn):
                logger.warning("batch %s was loaded by another loader", candidate.batch_id)
                out.already_loaded.append(candidate.batch_id)
                return
            raise
    out.in_flight = None
    out.loaded.append(result)
    counts = {k: v for k, v in asdict(result).items() if isinstance(v, int)}
    logger.info(
        "loaded batch %s: %d rows read, %d vehicles new, %d updated, %d stale, "
        "%d maintenances new, %d updated, %d already present, %d stale, %d retired, "
        "%d quarantined, %d released, %d duplicates (%.1fs)",
        result.batch_id,
        result.rows_read,
        result.veiculos_inserted,
        result.veiculos_updated,
        result.veiculos_stale,
        result.manutencoes_inserted,
        result.manutencoes_updated,
        result.manutencoes_present,
        result.manutencoes_stale,
        result.manutencoes_retired,
        result.quarantined,
        result.released,
        result.duplicates,
        result.seconds,
        extra={"batch_id": result.batch_id, "counts": counts},
    )


def _confirm_in_flight(conn: Connection, run_id: str, loaded: set[str], out: _Collector) -> None:
    """After a lost connection: did the batch we were committing commit? The ledger says.

    Holding the load lock again proves the old session has ended, so its transaction is
    either committed (its ledger row is there) or rolled back (it is not).
    """
    batch_id, out.in_flight = out.in_flight, None
    if batch_id is None or batch_id not in loaded:
        return
    entry = ledger_entry(conn, batch_id)
    if entry.run_id != run_id:
        out.already_loaded.append(batch_id)
        return
    logger.warning(
        "the connection was lost while committing batch %s; the ledger shows the commit "
        "succeeded: reported as loaded, not loaded again",
        batch_id,
    )
    out.loaded.append(BatchResult.from_ledger(entry))


def _session(
    engine: Engine,
    landing: Landing,
    run_id: str,
    today: date,
    progress: Progress | None,
    out: _Collector,
    attempt: int,
    files: FilePolicy,
    only: Collection[str] | None,
) -> None:
    """One connection's worth of work: lock, then every pending batch. Retried whole."""
    out.incomplete.clear()  # re-derived from the landing area on every attempt
    with connect(engine) as conn, ExitStack() as stack:
        try:
            # The lock comes first: on SQLite any transaction, even a read, queues behind
            # a running load, and an overlapping run must exit at once instead.
            stack.enter_context(load_lock(conn))
        except LockHeld as exc:
            if attempt > 1:
                # Our own dead session may still hold it until the server notices.
                raise LockOfLostSession(exc.message, hint=exc.hint) from exc
            raise
        ensure_schema(conn)
        run = active_run()
        if run is not None:
            run.begin()  # in the run history from here: a run that met the lock was skipped
        loaded = loaded_batch_ids(conn)
        _confirm_in_flight(conn, run_id, loaded, out)
        loaded |= {b.batch_id for b in out.loaded}
        skip = loaded | (set_aside_ids(conn) - set(only or ()))
        candidates = [
            c for c in pending_batches(landing, skip) if only is None or c.batch_id in only
        ]
        shares = _progress_shares(progress, candidates)
        for candidate in candidates:
            if candidate.rejected is not None:
                _reject(conn, candidate, candidate.rejected, run_id, out)
            elif not candidate.complete:
                _skip_incomplete(candidate, out)
            else:
                share = shares.get(candidate.batch_id)
                _load_one(conn, landing, candidate, run_id, today, share, out, files)
        out.set_aside = waiting_for_a_person(conn)


def _skip_incomplete(candidate: Candidate, out: _Collector) -> None:
    out.incomplete.append((candidate.batch_id, candidate.problem or ""))
    log = logger.warning if candidate.age_hours > STALE_INCOMPLETE_HOURS else logger.info
    log(
        "skipping incomplete batch %s (%.0f h old): %s",
        candidate.batch_id,
        candidate.age_hours,
        candidate.problem,
    )


def _progress_shares(progress: Progress | None, candidates: list[Candidate]) -> dict[str, Progress]:
    """Each complete batch's share of one progress bar: its maintenance rows, counted after
    those of the batches before it. The manifests say how many there are, so the bar gets its
    total (`set_total`, when the callback has one) and can tell the time left."""
    if progress is None:
        return {}
    shares: dict[str, Progress] = {}
    offset = 0
    for candidate in candidates:
        if candidate.complete and candidate.manifest is not None:
            shares[candidate.batch_id] = partial(_shifted, progress, offset)
            files = candidate.manifest.files
            offset += sum(f.rows for f in files if f.table == MANUTENCOES.name)
    set_total = getattr(progress, "set_total", None)
    if set_total is not None:
        set_total(offset)
    return shares


def _shifted(progress: Progress, offset: int, done: int) -> None:
    progress(offset + done)


def _counts(result: LoadResult) -> dict[str, int]:
    return {
        "batches_loaded": len(result.loaded),
        "rows_loaded": result.rows_loaded,
        "quarantined": result.quarantined,
        "released": sum(b.released for b in result.loaded),
        "duplicates": sum(b.duplicates for b in result.loaded),
        "updated": sum(b.manutencoes_updated for b in result.loaded),
        "present": sum(b.manutencoes_present for b in result.loaded),
        "stale": sum(b.manutencoes_stale for b in result.loaded),
        "retired": sum(b.manutencoes_retired for b in result.loaded),
        "rejected": len(result.rejected),
        "incomplete": len(result.incomplete),
    }


@recorded(
    "load",
    counts=_counts,
    status=lambda r: "rejected" if r.rejected else "ok",
    error=lambda r: "; ".join(str(x.message) for x in r.rejected) or None,
    # A batch rejected by this run starts an alert; `frota check` sees it clear (acknowledged
    # or retried), since later loads no longer meet a batch set aside.
    problems=lambda r: {f"rejected:{x.batch_id}": x.message for x in r.rejected},
    defer=True,  # begun under the lock: an overlapping run never waits on the run history
)
def load_pending(
    settings: Settings,
    *,
    run_id: str | None = None,
    today: date | None = None,
    progress: Progress | None = None,
    only: Collection[str] | None = None,
) -> LoadResult:
    """Load every complete batch not yet in the ledger, in publish order, each exactly once.

    A batch that breaks the contract is recorded as rejected and set aside (`rejected`); the
    others still load. `only`: just these batches, even ones set aside (`frota batch retry`).
    Transient database errors (lost connection, restart, deadlock) retry the whole session
    on a new connection within the settings' retry budget; see `frota.load.retry`.
    """
    run = active_run()
    assert run is not None  # @recorded made it, with `run_id` if one was given
    run_id = run.run_id
    today = today or date.today()
    landing = open_landing(settings.landing)
    engine = loader_engine(settings)
    policy = RetryPolicy(settings.retry_attempts, settings.retry_max_seconds)
    files = FilePolicy.from_settings(settings)
    out = _Collector()
    try:
        retry_call(
            lambda attempt: _session(
                engine, landing, run_id, today, progress, out, attempt, files, only
            ),
            policy,
            "load",
        )
        if not out.loaded and not out.rejected:
            logger.info("nothing new to load from %s", landing)
    finally:
        engine.dispose()
    return LoadResult(
        run_id,
        tuple(out.loaded),
        tuple(out.incomplete),
        tuple(out.rejected),
        tuple(out.already_loaded),
        out.set_aside,
    )
