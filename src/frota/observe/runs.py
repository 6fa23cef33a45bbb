"""Run history of every step (DESIGN §8b): generate, publish, load, warehouse, run (the parent of
its steps), report and the operator commands, each with run id, step, role, host, start, end,
status, counts and error.

A step is recorded by wrapping it: `@recorded("publish", counts=...)` on its library function,
or `with record_run(settings, "publish") as run:`. Steps of the source role (generate,
publish) go to `<log_dir>/frota-runs.jsonl`, the others to the operational database's
`frota_runs`; when the database refuses the write (down, read-only user, schema behind) the
record goes to the file, so that a failure is never lost. Recording never fails a step.

Statuses: `running`, `ok`, `rejected` (a load that refused a batch), `skipped` (another run
held the lock), `failed`.
"""

from __future__ import annotations

import functools
import inspect
import socket
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from frota.config import Settings
from frota.errors import DatabaseUnreachable, FrotaError, LockHeld
from frota.observe import runstore
from frota.observe.alerts import ALERTED
from frota.observe.log import current_run, log_to_file, logger, new_run_id
from frota.observe.runstore import Query, RunFile, RunRecord, utcnow
from frota.redact import redact
from frota.thresholds import parse_duration

STEP_ROLES = {
    "generate": "source",
    "publish": "source",
    "exports": "source",
    "load": "server",
    "quarantine": "server",
    "batch": "server",
    "landing": "server",
    "snapshot": "server",
    "warehouse": "analytics",
    "report": "analytics",
}
STATUSES = ("running", "ok", "rejected", "skipped", "failed")
SUCCESS = ("ok", "rejected")  # a load that refused a batch still loaded the others

_active: ContextVar[Run | None] = ContextVar("frota_run", default=None)
T = TypeVar("T")


@dataclass
class Run:
    """A step being recorded; the step may add counts, set its status, or `begin()` late."""

    record: RunRecord
    counts: dict[str, Any] = field(default_factory=dict)
    status: str | None = None  # None: ok (or failed if the step raised)
    error: str | None = None  # what went wrong when the step returned anyway (rejected)
    # Alertable problems the step found (key -> what), and the key prefix it judged: an open
    # problem under that prefix that the step no longer reports has cleared.
    problems: dict[str, str] = field(default_factory=dict)
    judged_prefix: str | None = None
    hint: str | None = None  # the next step, when the step failed
    child_failed: bool = False  # a step of this run failed (and alerted)
    _recorder: _Recorder | None = field(default=None, repr=False)
    _began: bool = False

    @property
    def run_id(self) -> str:
        return self.record.run_id

    def begin(self) -> None:
        """Write the start (once): for steps that start recording only once under way."""
        if not self._began and self._recorder is not None:
            self._began = True
            self._recorder.start()


class _Recorder:
    """Writes one record to its store, falling back to the file once the database refuses."""

    def __init__(self, settings: Settings, record: RunRecord) -> None:
        self.settings, self.record = settings, record
        self.file = RunFile(settings.log_dir)
        self.use_db = (record.role or "") != "source" and runstore.has_database(settings)
        self._engine: Engine | None = None

    def _db(self) -> Engine:
        if self._engine is None:
            self._engine = runstore.writer_engine(self.settings)
        return self._engine

    def _write(self, db_write: Callable[[Engine, RunRecord], None]) -> None:
        if self.use_db:
            try:
                db_write(self._db(), self.record)
                return
            except (sa.exc.SQLAlchemyError, FrotaError) as exc:
                self.use_db = False
                reason = getattr(exc, "orig", None) or exc
                logger.warning(
                    "run %s: the database refused the run history (%s); it is kept in %s",
                    self.record.run_id,
                    redact(str(reason).splitlines()[0], self.settings.secret_values()),
                    self.file.path,
                )
        try:
            self.file.append(self.record)
        except FrotaError as exc:
            logger.warning("run %s: %s", self.record.run_id, exc.message)

    def start(self) -> None:
        self._write(runstore.db_start)

    def finish(self) -> None:
        self._write(runstore.db_finish)

    def prune(self) -> None:
        """Drop what is older than the retention (only the top run of a process does it)."""
        before = utcnow() - parse_duration(self.settings.runs_retention, "runs_retention")
        try:
            if self.use_db:
                runstore.db_prune(self._db(), before)
            self.file.prune(before)
        except (sa.exc.SQLAlchemyError, OSError, FrotaError) as exc:
            # e.g. the least-privilege loader user may not DELETE (docs/operations.md)
            logger.debug("run history retention skipped: %s", exc)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()


def _status_of(exc: BaseException) -> tuple[str, str]:
    if isinstance(exc, LockHeld):
        return "skipped", exc.message
    if isinstance(exc, FrotaError):
        return "failed", exc.message
    if isinstance(exc, KeyboardInterrupt):
        return "failed", "interrupted"
    return "failed", f"{type(exc).__name__}: {exc}"


@contextmanager
def record_run(
    settings: Settings,
    step: str,
    *,
    run_id: str | None = None,
    role: str | None = None,
    defer: bool = False,
) -> Iterator[Run]:
    """Record the step run inside the block. `defer`: the start is written at `Run.begin()`
    (the loader calls it once it holds the lock), or with the end if it never began."""
    parent = _active.get()
    if parent is None:
        log_to_file(settings)
    record = RunRecord(
        run_id=run_id or new_run_id(),
        step=step,
        role=role or STEP_ROLES.get(step.split()[0]),
        host=socket.gethostname(),
        started_at=utcnow(),
        parent_run_id=parent.run_id if parent else None,
    )
    recorder = _Recorder(settings, record)
    run = Run(record, _recorder=recorder)
    token, log_token = _active.set(run), current_run.set((record.run_id, step))
    if not defer:
        run.begin()
    try:
        yield run
        record.status = run.status or "ok"
        record.error = redact(run.error, settings.secret_values()) if run.error else None
    except BaseException as exc:
        record.status, error = _status_of(exc)
        record.error = redact(error, settings.secret_values())
        if isinstance(exc, DatabaseUnreachable):
            recorder.use_db = False  # it just said so: straight to the file, no second wait
        run.hint = getattr(exc, "hint", None)
        if settings.alerts and record.status == "failed":
            with suppress(AttributeError):  # tells a scheduler's failure hook: alerted
                setattr(exc, ALERTED, True)
        raise
    finally:
        record.finished_at = utcnow()
        record.counts = dict(run.counts)
        try:
            _finish(record, recorder, began=run._began, top=parent is None)
            _alert(settings, run, parent)
        finally:
            _active.reset(token)
            current_run.reset(log_token)


def _finish(record: RunRecord, recorder: _Recorder, *, began: bool, top: bool) -> None:
    try:
        if record.status == "skipped" and not began:
            pass  # met the lock before it began: nothing to record, and no time to lose
        else:
            recorder.finish()
            if top:
                recorder.prune()
    finally:
        recorder.close()
    log = logger.info if record.status in ("ok", "skipped") else logger.warning
    log(
        "%s %s: %s in %.1fs%s",
        record.step,
        record.run_id,
        record.status,
        record.seconds or 0.0,
        f" ({record.error})" if record.error else "",
        extra={"counts": record.counts, "status": record.status},
    )


def _alert(settings: Settings, run: Run, parent: Run | None) -> None:
    """A failed step starts the problem `failed:<step>`, its next success clears it; with it,
    the problems the step found. A run whose step failed does not alert again."""
    if not settings.alerts:
        return
    from frota.observe.alerts import Problem, report_problems

    record, key = run.record, f"failed:{run.record.step}"
    problems = [Problem(k, summary) for k, summary in run.problems.items()]
    failed = record.status == "failed"
    if failed and parent is not None:
        parent.child_failed = True
    if failed and not run.child_failed:
        what = f"{record.step} (run {record.run_id}) failed on {record.host}: {record.error}"
        problems.append(Problem(key, what, hint=run.hint))
    if record.status == "skipped":
        return  # another run held the lock: nothing was judged

    def judged(k: str) -> bool:
        own = k == key and record.status in SUCCESS
        return own or bool(run.judged_prefix and k.startswith(run.judged_prefix))

    report_problems(settings, problems, judged)


def recorded(
    step: str,
    *,
    counts: Callable[[Any], dict[str, Any]] | None = None,
    status: Callable[[Any], str] | None = None,
    error: Callable[[Any], str | None] | None = None,
    problems: Callable[[Any], dict[str, str]] | None = None,
    judged_prefix: str | None = None,
    defer: bool = False,
) -> Callable[[Callable[..., T]], Callable[..., T]]:
    """Record every call of a step function that takes `settings` (and maybe `run_id`):
    `counts(result)`, `status(result)` and `error(result)` describe what it did;
    `problems(result)` (key -> what) are alerted on, keys under `judged_prefix` cleared when
    no longer reported."""

    def wrap(fn: Callable[..., T]) -> Callable[..., T]:
        signature = inspect.signature(fn)

        @functools.wraps(fn)
        def call(*args: Any, **kwargs: Any) -> T:
            bound = signature.bind(*args, **kwargs)
            bound.apply_defaults()
            given = bound.arguments
            settings, run_id, role = given["settings"], given.get("run_id"), given.get("role")
            with record_run(settings, step, run_id=run_id, role=role, defer=defer) as run:
                result = fn(*args, **kwargs)
                if counts is not None:
                    run.counts.update(counts(result))
                if status is not None:
                    run.status = status(result)
                if error is not None:
                    run.error = error(result)
                if problems is not None:
                    run.problems, run.judged_prefix = problems(result), judged_prefix
                return result

        return call

    return wrap


def active_run() -> Run | None:
    """The innermost step being recorded, if any."""
    return _active.get()


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class RunListing:
    """Runs read from every store, newest first, and what could not be read."""

    runs: list[RunRecord]
    errors: list[FrotaError] = field(default_factory=list)


def read_runs(settings: Settings, query: Query) -> RunListing:
    """Runs matching `query` from the database (if this machine has one) and the local file;
    a store that cannot be read is reported in `errors`, never raised."""
    from frota.db.engine import database_engine

    found: dict[str, RunRecord] = {}
    errors: list[FrotaError] = []
    if runstore.has_database(settings):
        engine = database_engine(settings)
        try:
            for r in runstore.db_read(engine, query):
                found[r.run_id] = r
        except sa.exc.SQLAlchemyError as exc:
            errors.append(_unreadable(settings, exc))
        finally:
            engine.dispose()
    for r in RunFile(settings.log_dir).read(query):
        kept = found.get(r.run_id)
        # A run whose end reached only the file (the database went away) ends there.
        if kept is None or (kept.finished_at is None and r.finished_at is not None):
            found[r.run_id] = r
    runs = sorted(found.values(), key=lambda r: (r.started_at, r.run_id), reverse=True)
    return RunListing(runs[: query.limit] if query.limit else runs, errors)


def _unreadable(settings: Settings, exc: sa.exc.SQLAlchemyError) -> FrotaError:
    from frota.db.engine import mask
    from frota.errors import DatabaseUnreachable

    reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
    return DatabaseUnreachable(
        f"cannot read the run history in {mask(settings.database)}: "
        f"{redact(reason, settings.secret_values())}",
        hint="check the database (frota check); runs kept in the local file are shown",
    )


def since(text: str) -> datetime:
    """`--since 2d` as the UTC time that long ago."""
    return utcnow() - parse_duration(text, "--since")


def run_with_steps(settings: Settings, run_id: str) -> tuple[RunRecord | None, list[RunRecord]]:
    """One run and the steps it ran (a `frota run`'s children), oldest first."""
    listing = read_runs(settings, Query(run_ids=(run_id,)))
    if listing.errors and not listing.runs:
        raise listing.errors[0]
    children = read_runs(settings, Query(parent_run_id=run_id)).runs
    return (listing.runs[0] if listing.runs else None), sorted(children, key=lambda r: r.started_at)


@dataclass(frozen=True)
class StepSummary:
    """A step's newest run, and when its newest successful run ended."""

    step: str
    last: RunRecord
    last_success: datetime | None


@dataclass(frozen=True)
class StepSummaries:
    steps: dict[str, StepSummary]
    errors: list[FrotaError] = field(default_factory=list)


def step_summaries(settings: Settings) -> StepSummaries:
    """Per step: its newest run and last success, from the database and the local file."""
    from frota.db.engine import database_engine

    records: list[RunRecord] = []
    errors: list[FrotaError] = []
    if runstore.has_database(settings):
        engine = database_engine(settings)
        try:
            records += runstore.db_step_heads(engine, SUCCESS)
        except sa.exc.SQLAlchemyError as exc:
            errors.append(_unreadable(settings, exc))
        finally:
            engine.dispose()
    records += RunFile(settings.log_dir).read(Query())
    steps: dict[str, StepSummary] = {}
    for r in sorted(records, key=lambda r: (r.started_at, r.finished_at is not None)):
        before = steps.get(r.step)
        success = before.last_success if before else None
        if r.status in SUCCESS and r.finished_at is not None:
            success = max(success or r.finished_at, r.finished_at)
        steps[r.step] = StepSummary(r.step, r, success)
    return StepSummaries(steps, errors)


__all__ = [
    "STATUSES",
    "Query",
    "Run",
    "RunListing",
    "RunRecord",
    "active_run",
    "step_summaries",
    "read_runs",
    "record_run",
    "recorded",
    "run_with_steps",
    "since",
]
