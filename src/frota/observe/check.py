"""`frota check`: the health of a role, judged from the facts (frota.observe.facts) against the
thresholds of `[check]` (frota.thresholds), in monitoring-plugin terms.

Each check gives OK, WARNING, CRITICAL or UNKNOWN (it could not be judged: what it needs is
down, and that is reported by its own check); the exit code is the worst: 0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN — CRITICAL outranks UNKNOWN, which outranks WARNING. A check's
`problems` (key → message) are what alerts are sent for: one key per check, one per rejected
batch, one per silent source.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from frota.config import Settings
from frota.errors import MissingExtra
from frota.i18n import _
from frota.observe.facts import Facts, WarehouseReader, batch_time, gather
from frota.thresholds import Limit, Thresholds, describe_duration

OK, WARNING, CRITICAL, UNKNOWN = "OK", "WARNING", "CRITICAL", "UNKNOWN"
EXIT_CODES = {OK: 0, WARNING: 1, CRITICAL: 2, UNKNOWN: 3}
_SEVERITY = {OK: 0, WARNING: 1, UNKNOWN: 2, CRITICAL: 3}
ROLES = ("all", "source", "server", "analytics")

# What each role checks (the server's view is the landing area and the database; the
# analytics machine's is the database and the warehouse; a source PC sees the landing area).
ROLE_CHECKS = {
    "source": ("landing", "sources"),
    "server": (
        "landing",
        "database",
        "schema",
        "rejected",
        "incomplete",
        "sources",
        "load_age",
        "quarantine",
    ),
    "analytics": ("database", "schema", "warehouse_lag"),
}
ROLE_CHECKS["all"] = (*ROLE_CHECKS["server"], "warehouse_lag")

# Where to read more (docs/operations.md, "Health checks"), per check.
RUNBOOK = "docs/operations.md#health-checks"


@dataclass(frozen=True)
class Result:
    """One check's verdict; `problems` are the alertable facts behind a non-OK verdict."""

    name: str
    status: str
    summary: str
    hint: str | None = None
    problems: dict[str, str] = field(default_factory=dict)
    value: float | None = None  # the measured figure (age in seconds, a count)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "summary": self.summary,
            "hint": self.hint,
            "value": self.value,
            "problems": self.problems,
        }


@dataclass(frozen=True)
class Report:
    """Every check of one `frota check`, and what they add up to."""

    role: str
    results: list[Result]
    checked_at: datetime
    # The facts behind the quarantine check: held rows by reason (None: the database was not
    # read), for the report's "quarantine by reason".
    quarantine_held: dict[str, int] | None = None

    @property
    def status(self) -> str:
        return max((r.status for r in self.results), key=_SEVERITY.__getitem__, default=OK)

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.status]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(r.name for r in self.results)

    def problems(self) -> dict[str, str]:
        return {k: v for r in self.results for k, v in r.problems.items()}

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "role": self.role,
            "checked_at": self.checked_at.isoformat(sep=" ", timespec="seconds"),
            "checks": [r.to_dict() for r in self.results],
        }


def _judged(name: str, status: str, summary: str, hint: str | None, **kw: Any) -> Result:
    problems = {name: summary} if status in (WARNING, CRITICAL) else {}
    return Result(name, status, summary, hint if status != OK else None, problems, **kw)


def _unknown(name: str, why: str) -> Result:
    return Result(name, UNKNOWN, _("not checked: {why}").format(why=why))


def _age(seconds: float) -> str:
    return describe_duration(seconds)


# ---------------------------------------------------------------- the checks


def check_landing(facts: Facts, t: Thresholds) -> list[Result]:
    land = facts.landing
    assert land is not None
    if land.error is not None:
        return [
            _judged(
                "landing",
                CRITICAL,
                land.error.message,
                land.error.hint
                or _(
                    "check the landing setting, that the share is mounted or the remote reachable"
                ),
            )
        ]
    if land.inspected:
        summary = _("{landing}: {batches} batch(es), {waiting} waiting to load").format(
            landing=land.display, batches=len(land.batch_ids), waiting=len(land.pending)
        )
    else:
        summary = _("{landing}: {batches} batch(es)").format(
            landing=land.display, batches=len(land.batch_ids)
        )
    return [Result("landing", OK, summary)]


def check_database(facts: Facts, t: Thresholds) -> list[Result]:
    db = facts.database
    assert db is not None
    if db.error is not None and db.schema is None:
        return [
            _judged(
                "database",
                CRITICAL,
                db.error.message,
                db.error.hint or _("check that the server is up and the URL, user and password"),
            )
        ]
    return [Result("database", OK, _("{database} answers").format(database=db.display))]


def check_schema(facts: Facts, t: Thresholds) -> list[Result]:
    db = facts.database
    assert db is not None
    if db.schema is None:
        return [_unknown("schema", _("the database cannot be reached"))]
    state = db.schema
    if state.at_head:
        if db.error is not None:  # at head, yet the tables could not be read
            return [_judged("schema", CRITICAL, db.error.message, db.error.hint)]
        summary = _("at revision {revision}").format(revision=state.describe())
        return [Result("schema", OK, summary)]
    if state.current is None and not state.has_tables:
        return [
            _judged("schema", CRITICAL, _("no frota schema"), _("run `frota db init` as admin"))
        ]
    hint = (
        _("run `frota db upgrade` as a user allowed to change the schema")
        if state.known
        else _("upgrade frota on this machine to the version that upgraded the database")
    )
    summary = _("schema {revision}").format(revision=state.describe())
    return [_judged("schema", CRITICAL, summary, hint)]


def rejected_batches(facts: Facts) -> list[tuple[str, str]] | None:
    """Rejected batches that wait for a person: those the loader set aside and nobody has
    acknowledged (`frota batch reject`), and those in the landing area it has not met yet;
    None when the ledger cannot be read."""
    db, land = facts.database, facts.landing
    if db is None or not db.readable:
        return None
    found = dict(db.waiting_for_a_person())
    if land is not None and land.inspected:
        found.update(land.rejected)
    return sorted(found.items())


def check_rejected(facts: Facts, t: Thresholds) -> list[Result]:
    rejected = rejected_batches(facts)
    if rejected is None:
        return [_unknown("rejected", _("needs the ledger"))]
    n = len(rejected)
    if not n:
        return [Result("rejected", OK, _("no rejected batch waiting"), value=0)]
    status = t["rejected"].judge(n)
    first_id, why = rejected[0]
    summary = _("{n} rejected batch(es) waiting for a person, e.g. {batch_id}: {why}").format(
        n=n, batch_id=first_id, why=why
    )
    hint = _(
        "`frota batch show ID` says why; fix the data and `frota batch retry ID`, or publish it "
        "again and `frota batch reject ID` to acknowledge the old one"
    )
    problem = _("batch {batch_id} is rejected: {why}")
    problems = {f"rejected:{b}": problem.format(batch_id=b, why=w) for b, w in rejected}
    if status == OK:
        problems = {}
    return [Result("rejected", status, summary, hint if problems else None, problems, value=n)]


def check_incomplete(facts: Facts, t: Thresholds) -> list[Result]:
    land = facts.landing
    assert land is not None
    if land.error is not None or not land.inspected:
        return [_unknown("incomplete", _("needs the landing area and the ledger"))]
    if not land.incomplete:
        return [Result("incomplete", OK, _("no incomplete batch"), value=0)]
    oldest_id, why = land.incomplete[0]  # ids sort by time: the first is the oldest
    age = (facts.now - batch_time(oldest_id)).total_seconds()
    summary = _("{n} incomplete batch(es); the oldest, {batch_id}, for {age}: {why}").format(
        n=len(land.incomplete), batch_id=oldest_id, age=_age(age), why=why
    )
    hint = _("publish the data again (an interrupted upload is completed), or delete the folder")
    return [_judged("incomplete", t["incomplete_age"].judge(age), summary, hint, value=age)]


def check_sources(facts: Facts, t: Thresholds, only: str | None = None) -> list[Result]:
    """One check per source: the age of its newest batch (a silent source PC is the most
    dangerous failure: nothing else notices)."""
    landing_down = facts.landing is not None and facts.landing.error is not None
    ledger_down = facts.database is None or not facts.database.readable
    if landing_down and ledger_down:  # neither place to find batches: nothing to judge
        return [_unknown("sources", _("neither the landing area nor the ledger can be read"))]
    newest = facts.newest_batch_by_source()
    names = [only] if only else list(t.sources) or sorted(newest)
    if not names:
        return [Result("sources", OK, _("no batch from any source yet"))]
    hint = _(
        "check that the source PC is on, that its scheduled `frota run --role source` runs "
        "(`frota runs --step publish` there, `--step exports` when it publishes your exports) "
        "and that it reaches the landing area"
    )
    results = []
    for source in names:
        name = f"source:{source}"
        when = newest.get(source)
        if when is None:
            summary = _("no batch from {source} at all").format(source=source)
            results.append(_judged(name, CRITICAL, summary, hint, value=None))
            continue
        age = (facts.now - when).total_seconds()
        status = t["source_age"].judge(age)
        if status == OK:
            summary = _("newest batch from {source} is {age} old ({when} UTC)")
        else:
            summary = _("no batch from {source} for {age} (newest {when} UTC)")
        summary = summary.format(source=source, age=_age(age), when=f"{when:%Y-%m-%d %H:%M}")
        results.append(_judged(name, status, summary, hint, value=age))
    return results


def check_load_age(facts: Facts, t: Thresholds) -> list[Result]:
    if facts.database is not None and not facts.database.readable:
        return [_unknown("load_age", _("the database cannot be read"))]
    summary_ = facts.steps.get("load")
    last = summary_.last_success if summary_ else None
    if last is None and facts.database is not None and facts.database.loaded:
        last = max(facts.database.loaded.values())  # the history was pruned: the ledger knows
    if last is None:
        if facts.steps_error is not None:
            return [_unknown("load_age", _("the run history cannot be read"))]
        return [
            _judged(
                "load_age",
                CRITICAL,
                _("no successful load yet"),
                _("run `frota load` (or schedule it: `frota schedule --role server`)"),
            )
        ]
    age = (facts.now - last).total_seconds()
    status = t["load_age"].judge(age)
    summary = _("last successful load {age} ago ({when} UTC)").format(
        age=_age(age), when=f"{last:%Y-%m-%d %H:%M}"
    )
    if summary_ and summary_.last and summary_.last.status in ("failed", "skipped"):
        summary += "; " + _("the last run {status}: {error}").format(
            status=_(summary_.last.status), error=summary_.last.error
        )
    hint = _("see `frota runs --step load` for why; check the schedule (frota schedule)")
    return [_judged("load_age", status, summary, hint, value=age)]


def check_quarantine(facts: Facts, t: Thresholds) -> list[Result]:
    db = facts.database
    assert db is not None
    if not db.readable:
        return [_unknown("quarantine", _("the database cannot be read"))]
    held, new = sum(db.quarantine_held.values()), db.quarantine_new
    status = max(
        t["quarantine_held"].judge(held),
        t["quarantine_growth"].judge(new),
        key=_SEVERITY.__getitem__,
    )
    reasons = ", ".join(f"{r} {n}" for r, n in db.quarantine_held.items())
    summary = _("{held} row(s) held, {new} of them new in 24 h").format(held=held, new=new)
    summary += f" ({reasons})" if held else ""
    hint = _(
        "see `frota quarantine list`; fix and `frota quarantine retry` (docs/data-contract.md)"
    )
    return [_judged("quarantine", status, summary, hint, value=held)]


def check_warehouse_lag(facts: Facts, t: Thresholds) -> list[Result]:
    wh = facts.warehouse
    assert wh is not None
    if wh.error is not None:
        why = _("the warehouse cannot be read: {error}").format(error=wh.error.message)
        return [_unknown("warehouse_lag", why)]
    if facts.database is None or not facts.database.readable:
        return [_unknown("warehouse_lag", _("the database cannot be read"))]
    if not wh.not_replicated:
        summary = _("{warehouse} holds every loaded batch").format(warehouse=wh.display)
        return [Result("warehouse_lag", OK, summary, value=0)]
    oldest_id, loaded_at = wh.not_replicated[0]
    age = (facts.now - loaded_at).total_seconds()
    summary = _(
        "{n} loaded batch(es) not in the warehouse yet; the oldest loaded {age} ago ({batch_id})"
    ).format(n=len(wh.not_replicated), age=_age(age), batch_id=oldest_id)
    hint = _("run `frota warehouse` on the analytics machine (`frota runs --step warehouse`)")
    return [_judged("warehouse_lag", t["warehouse_lag"].judge(age), summary, hint, value=age)]


def _no_warehouse(settings: Settings) -> set[str] | None:
    raise MissingExtra("frota.warehouse", "warehouse")


CHECKS: dict[str, Callable[[Facts, Thresholds], list[Result]]] = {
    "landing": check_landing,
    "database": check_database,
    "schema": check_schema,
    "rejected": check_rejected,
    "incomplete": check_incomplete,
    "sources": check_sources,
    "load_age": check_load_age,
    "quarantine": check_quarantine,
    "warehouse_lag": check_warehouse_lag,
}
_LIMITS = {"sources": "source_age", "incomplete": "incomplete_age"}


def run_checks(
    settings: Settings, role: str = "all", *, warehouse: WarehouseReader | None = None
) -> Report:
    """Gather the facts `role` needs and judge them; a check whose thresholds are both off is
    left out. `warehouse` reads what the warehouse holds (frota.warehouse.replicate.
    replicated_batch_ids): without it the warehouse lag is UNKNOWN."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {ROLES}")
    names = ROLE_CHECKS[role]
    thresholds = Thresholds.from_pairs(settings.check)
    facts = gather(
        settings,
        landing="landing" in names,
        database="database" in names,
        warehouse=(warehouse or _no_warehouse) if "warehouse_lag" in names else None,
        runs="load_age" in names,
    )
    results: list[Result] = []
    for name in names:
        limit: Limit | None = thresholds.limits.get(_LIMITS.get(name, name))
        if limit is not None and limit.off:
            continue
        if name == "sources" and role == "source":
            results += check_sources(facts, thresholds, only=settings.source)
        else:
            results += CHECKS[name](facts, thresholds)
    db = facts.database
    held = dict(db.quarantine_held) if db is not None and db.readable else None
    return Report(role, results, facts.now, held)


__all__ = ["CRITICAL", "EXIT_CODES", "OK", "RUNBOOK", "UNKNOWN", "WARNING", "Report", "Result"]
__all__ += ["run_checks"]
