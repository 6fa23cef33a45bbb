"""The server's step: load every complete, not-yet-loaded batch exactly once.

`load_pending` discovers batches in the landing area, skips incomplete ones, and loads each
complete one in its own transaction together with its ledger row, oldest first, under the
database's load lock. A rerun with nothing new is a logged no-op.
"""

from __future__ import annotations

import tempfile
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.config import Settings
from frota.contract.tabular import FilePolicy
from frota.db.connect import connect, ensure_schema
from frota.db.engine import create_engine
from frota.db.schema import batches
from frota.errors import BadInputError, BatchRejected, LockHeld
from frota.landing import Landing, open_landing
from frota.load.bulk import check_local_infile_setting, guard_engine
from frota.load.discover import Candidate, pending_batches
from frota.load.lock import load_lock
from frota.load.retry import RetryPolicy, retry_call
from frota.load.transaction import BatchResult, Progress, load_batch
from frota.observe.log import logger, new_run_id
from frota.observe.runs import finish_run, start_run

__all__ = ["BatchResult", "LoadResult", "load_pending"]

STALE_INCOMPLETE_HOURS = 24


@dataclass(frozen=True)
class LoadResult:
    """What one `frota load` did."""

    run_id: str
    loaded: tuple[BatchResult, ...] = ()
    incomplete: tuple[tuple[str, str], ...] = ()  # (batch_id, why)
    rejected: tuple[BatchRejected, ...] = ()
    already_loaded: tuple[str, ...] = ()  # loaded by another loader meanwhile

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
    run_started: bool = False


def loaded_batch_ids(conn: Connection) -> set[str]:
    """Every batch id in the ledger (one indexed scan of a narrow column)."""
    ids = set(conn.execute(sa.select(batches.c.batch_id)).scalars())
    conn.rollback()
    return ids


def _file_opener(landing: Landing, batch_id: str, stack: ExitStack):
    local = landing.local_dir(batch_id)
    if local is None:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="frota-batch-")))

        def open_remote(name: str):
            target = tmp / name
            if not target.exists():
                landing.download(batch_id, name, target)
            return open(target, "rb")

        return open_remote
    return lambda name: open(local / name, "rb")


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
        opener = _file_opener(landing, candidate.batch_id, stack)
        out.in_flight = candidate.batch_id
        try:
            result = load_batch(
                conn, candidate.manifest, opener, run_id, today, progress, policy=files
            )
        except BadInputError as exc:
            out.in_flight = None
            rejected = BatchRejected(candidate.batch_id, exc)
            logger.error("%s", rejected)
            out.rejected.append(rejected)
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
    logger.info(
        "loaded batch %s: %d rows read, %d vehicles new, %d updated, %d stale, "
        "%d maintenances, %d quarantined, %d released, %d duplicates (%.1fs)",
        result.batch_id,
        result.rows_read,
        result.veiculos_inserted,
        result.veiculos_updated,
        result.veiculos_stale,
        result.manutencoes_inserted,
        result.quarantined,
        result.released,
        result.duplicates,
        result.seconds,
    )


def _record_run(engine, run_id: str, status: str, result: LoadResult) -> None:
    try:
        finish_run(
            engine,
            run_id,
            status,
            batches_loaded=len(result.loaded),
            rows_loaded=result.rows_loaded,
            quarantined=result.quarantined,
            message="; ".join(str(r.message) for r in result.rejected) or None,
        )
    except sa.exc.DBAPIError as exc:  # the database went away: the run's own error matters more
        logger.warning("could not record run %s in the run history: %s", run_id, exc.orig)


def _confirm_in_flight(conn: Connection, run_id: str, loaded: set[str], out: _Collector) -> None:
    """After a lost connection: did the batch we were committing commit? The ledger says.

    Holding the load lock again proves the old session has ended, so its transaction is
    either committed (its ledger row is there) or rolled back (it is not).
    """
    batch_id, out.in_flight = out.in_flight, None
    if batch_id is None or batch_id not in loaded:
        return
    row = conn.execute(sa.select(batches).where(batches.c.batch_id == batch_id)).one()
    conn.rollback()
    if row.run_id != run_id:
        out.already_loaded.append(batch_id)
        return
    logger.warning(
        "the connection was lost while committing batch %s; the ledger shows the commit "
        "succeeded: reported as loaded, not loaded again",
        batch_id,
    )
    out.loaded.append(
        BatchResult(
            batch_id=batch_id,
            rows_read=row.rows_read,
            blank_lines=0,
            veiculos_inserted=row.veiculos_inserted,
            veiculos_updated=row.veiculos_updated,
            veiculos_stale=row.veiculos_stale,
            manutencoes_inserted=row.manutencoes_inserted,
            quarantined=row.quarantined,
            released=row.released,
            duplicates=row.duplicates,
            seconds=0.0,
        )
    )


def _session(
    engine,
    landing: Landing,
    run_id: str,
    today: date,
    progress: Progress | None,
    out: _Collector,
    attempt: int,
    files: FilePolicy,
) -> None:
    """One connection's worth of work: lock, then every pending batch. Retried whole."""
    out.incomplete.clear()  # re-derived from the landing area on every attempt
    out.rejected.clear()
    with connect(engine) as conn, ExitStack() as stack:
        try:
            # The lock comes first: on SQLite any transaction, even a read, queues behind
            # a running load, and an overlapping run must exit at once instead.
            stack.enter_context(load_lock(conn))
        except LockHeld as exc:
            if attempt > 1:
                # Our own dead session may still hold it until the server notices.
                exc.transient = True
            raise
        ensure_schema(conn)
        if not out.run_started:
            start_run(engine, run_id, "load")
            out.run_started = True
        loaded = loaded_batch_ids(conn)
        _confirm_in_flight(conn, run_id, loaded, out)
        loaded |= {b.batch_id for b in out.loaded}
        for candidate in pending_batches(landing, loaded):
            if candidate.rejected is not None:
                rejected = BatchRejected(candidate.batch_id, candidate.rejected)
                logger.error("%s", rejected)
                out.rejected.append(rejected)
            elif not candidate.complete:
                out.incomplete.append((candidate.batch_id, candidate.problem or ""))
                log = (
                    logger.warning if candidate.age_hours > STALE_INCOMPLETE_HOURS else logger.info
                )
                log(
                    "skipping incomplete batch %s (%.0f h old): %s",
                    candidate.batch_id,
                    candidate.age_hours,
                    candidate.problem,
                )
            else:
                _load_one(conn, landing, candidate, run_id, today, progress, out, files)


def load_pending(
    settings: Settings,
    *,
    run_id: str | None = None,
    today: date | None = None,
    progress: Progress | None = None,
) -> LoadResult:
    """Load every complete batch not yet in the ledger, oldest first, each exactly once.

    Transient database errors (lost connection, restart, deadlock) retry the whole session
    on a new connection within the settings' retry budget; see `frota.load.retry`.
    """
    run_id = run_id or new_run_id()
    today = today or date.today()
    landing = open_landing(settings.landing)
    engine = create_engine(
        settings.database, settings.db_password(), execution_options={"sqlite_begin": "IMMEDIATE"}
    )
    if check_local_infile_setting(settings.mysql_local_infile) and engine.dialect.name == "mysql":
        guard_engine(engine)  # LOAD DATA LOCAL, answering only with frota's own files
    policy = RetryPolicy(settings.retry_attempts, settings.retry_max_seconds)
    files = FilePolicy.from_settings(settings)
    out = _Collector()
    status = "failed"
    try:
        retry_call(
            lambda attempt: _session(engine, landing, run_id, today, progress, out, attempt, files),
            policy,
            "load",
        )
        if not out.loaded and not out.rejected:
            logger.info("nothing new to load from %s", landing)
        status = "rejected" if out.rejected else "ok"
    finally:
        result = LoadResult(
            run_id,
            tuple(out.loaded),
            tuple(out.incomplete),
            tuple(out.rejected),
            tuple(out.already_loaded),
        )
        if out.run_started:
            _record_run(engine, run_id, status, result)
        engine.dispose()
    return result
