"""Where run records live: the operational database's `frota_runs`, or a JSON-lines file in
`log_dir` (`frota-runs.jsonl`) on machines without one, and as the fallback when the database
refuses the write (down, read-only user, schema behind).

A record is written twice: when its step starts (status `running`) and when it ends. Readers
merge both stores; the last word on a run id wins.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from filelock import FileLock
from sqlalchemy.engine import Engine

from frota.config import Settings
from frota.db.engine import database_engine, parse_url
from frota.db.schema import runs
from frota.errors import ConfigError
from frota.i18n import _

RUNS_FILE = "frota-runs.jsonl"
# A run-history write must never hold a step up (seconds): on SQLite a running load holds the
# write lock for a whole batch, so the write gives up quickly and goes to the file instead.
_SQLITE_TIMEOUT = 2
_CONNECT_TIMEOUT = 5


def utcnow() -> datetime:
    """Now, as the run history stores times: naive UTC (to the microsecond, so that runs of
    the same second keep their order)."""
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class RunRecord:
    """One run of one step."""

    run_id: str
    step: str
    role: str | None
    host: str | None
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    counts: dict[str, Any] = field(default_factory=dict)
    error: str | None = None
    parent_run_id: str | None = None

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return (self.finished_at - self.started_at).total_seconds()

    def to_dict(self) -> dict[str, Any]:
        body = asdict(self)
        for key in ("started_at", "finished_at"):
            body[key] = body[key].isoformat(sep=" ") if body[key] else None
        return body

    @classmethod
    def from_dict(cls, body: dict[str, Any]) -> RunRecord:
        body = dict(body)
        for key in ("started_at", "finished_at"):
            value = body.get(key)
            body[key] = datetime.fromisoformat(value) if isinstance(value, str) else value
        counts = body.get("counts")
        body["counts"] = json.loads(counts) if isinstance(counts, str) else dict(counts or {})
        known = cls.__dataclass_fields__
        return cls(**{k: v for k, v in body.items() if k in known})


@dataclass(frozen=True)
class Query:
    """Which runs to read (None: any)."""

    step: str | None = None
    status: str | None = None
    since: datetime | None = None
    run_ids: tuple[str, ...] | None = None
    parent_run_id: str | None = None
    limit: int | None = None

    def matches(self, r: RunRecord) -> bool:
        return (
            (self.step is None or r.step == self.step or r.step.startswith(self.step + " "))
            and (self.status is None or r.status == self.status)
            and (self.since is None or r.started_at >= self.since)
            and (self.run_ids is None or r.run_id in self.run_ids)
            and (self.parent_run_id is None or r.parent_run_id == self.parent_run_id)
        )


# ---------------------------------------------------------------- the database


def has_database(settings: Settings) -> bool:
    """False where the operational database is a SQLite file that does not exist (a source
    machine): the run history must not create one."""
    url = parse_url(settings.database)
    if url.get_backend_name() != "sqlite":
        return True
    path = url.database or ""
    return path not in ("", ":memory:") and Path(path).is_file()


def writer_engine(settings: Settings) -> Engine:
    """An engine for run-history writes: short timeouts, so a busy or absent database costs a
    step seconds, not minutes."""
    sqlite = parse_url(settings.database).get_backend_name() == "sqlite"
    timeout = {"timeout": _SQLITE_TIMEOUT} if sqlite else {"connect_timeout": _CONNECT_TIMEOUT}
    return database_engine(settings, connect_args=timeout, poolclass=sa.NullPool)


def _row(record: RunRecord) -> dict[str, Any]:
    row = {c.name: getattr(record, c.name) for c in runs.columns if c.name != "counts"}
    row["counts"] = json.dumps(record.counts, sort_keys=True, default=str)
    row["error"] = (record.error or "")[:4000] or None
    return row


def db_start(engine: Engine, record: RunRecord) -> None:
    with engine.begin() as conn:
        conn.execute(runs.insert(), _row(record))


def db_finish(engine: Engine, record: RunRecord) -> None:
    """Update the started row; insert the whole record if the start never reached the table."""
    row = _row(record)
    with engine.begin() as conn:
        done = conn.execute(runs.update().where(runs.c.run_id == record.run_id).values(**row))
        if not done.rowcount:
            conn.execute(runs.insert(), row)


def db_prune(engine: Engine, before: datetime) -> int:
    with engine.begin() as conn:
        return conn.execute(runs.delete().where(runs.c.started_at < before)).rowcount or 0


def db_read(engine: Engine, query: Query) -> list[RunRecord]:
    select = sa.select(runs).order_by(runs.c.started_at.desc(), runs.c.run_id.desc())
    if query.step is not None:  # "quarantine" also finds "quarantine retry"
        select = select.where(
            sa.or_(runs.c.step == query.step, runs.c.step.startswith(query.step + " "))
        )
    if query.status is not None:
        select = select.where(runs.c.status == query.status)
    if query.since is not None:
        select = select.where(runs.c.started_at >= query.since)
    if query.run_ids is not None:
        select = select.where(runs.c.run_id.in_(query.run_ids))
    if query.parent_run_id is not None:
        select = select.where(runs.c.parent_run_id == query.parent_run_id)
    if query.limit is not None:
        select = select.limit(query.limit)
    with engine.connect() as conn:
        return [RunRecord.from_dict(dict(r._mapping)) for r in conn.execute(select)]


# ---------------------------------------------------------------- the local file


class RunFile:
    """`<log_dir>/frota-runs.jsonl`: one JSON object per line, appended; a lock file guards
    the rare rewrite that drops records older than the retention."""

    def __init__(self, log_dir: str | Path) -> None:
        self.path = Path(log_dir) / RUNS_FILE
        self._lock = FileLock(str(self.path) + ".lock", timeout=30)

    def append(self, record: RunRecord) -> None:
        line = json.dumps(record.to_dict(), sort_keys=True, default=str) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self._lock, open(self.path, "a", encoding="utf-8") as fh:
                fh.write(line)
        except OSError as exc:
            raise ConfigError(
                _("cannot write the run history {path}: {strerror}").format(
                    path=self.path, strerror=exc.strerror
                ),
                hint=_("set log_dir to a folder this user can write"),
            ) from None

    def _lines(self) -> Iterator[dict[str, Any]]:
        if not self.path.is_file():
            return
        with open(self.path, encoding="utf-8") as fh:
            for line in fh:
                try:
                    yield json.loads(line)
                except ValueError:
                    continue  # a line cut by a crash: the rest of the file still counts

    def read(self, query: Query) -> list[RunRecord]:
        latest: dict[str, RunRecord] = {}
        for body in self._lines():
            try:
                record = RunRecord.from_dict(body)
            except (TypeError, ValueError):
                continue
            latest[record.run_id] = record
        found = sorted(
            (r for r in latest.values() if query.matches(r)),
            key=lambda r: (r.started_at, r.run_id),
            reverse=True,
        )
        return found[: query.limit] if query.limit is not None else found

    def prune(self, before: datetime) -> int:
        """Drop records started before `before`; cheap unless the oldest line is that old."""
        first = next(self._lines(), None)
        if first is None or datetime.fromisoformat(first["started_at"]) >= before:
            return 0
        with self._lock:
            kept = [b for b in self._lines() if datetime.fromisoformat(b["started_at"]) >= before]
            dropped = sum(1 for _ in self._lines()) - len(kept)
            _replace(self.path, (json.dumps(b, sort_keys=True) + "\n" for b in kept))
        return dropped


def _replace(path: Path, lines: Iterable[str]) -> None:
    """Write a file whole, atomically (a reader sees the old or the new one)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.writelines(lines)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def db_step_heads(engine: Engine, success: tuple[str, ...]) -> list[RunRecord]:
    """Per step, its newest run and its newest successful run (one or two records a step)."""
    newest = (
        sa.select(runs.c.step, sa.func.max(runs.c.started_at).label("at"))
        .group_by(runs.c.step)
        .subquery()
    )
    good = (
        sa.select(runs.c.step, sa.func.max(runs.c.finished_at).label("at"))
        .where(runs.c.status.in_(success))
        .group_by(runs.c.step)
        .subquery()
    )
    with engine.connect() as conn:
        found = []
        for sub, column in ((newest, runs.c.started_at), (good, runs.c.finished_at)):
            rows = conn.execute(
                sa.select(runs).join(sub, sa.and_(runs.c.step == sub.c.step, column == sub.c.at))
            )
            found += [RunRecord.from_dict(dict(r._mapping)) for r in rows]
    return found
