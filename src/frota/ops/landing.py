"""`frota landing prune --older-than 30d`: remove from the landing area the batch folders the
server no longer needs: loaded ones (the database holds their rows and history) and rejected
ones a person has acknowledged. Never a batch that is waiting, incomplete, or rejected without
an acknowledgement. A dry run unless `apply` is set: it lists what it would remove."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from frota.batch import is_batch_id
from frota.config import Settings
from frota.db.schema import batches, rejected_batches
from frota.errors import UsageError
from frota.i18n import _
from frota.landing import open_landing
from frota.observe.log import logger
from frota.observe.runs import recorded
from frota.ops.batches.listing import id_time
from frota.ops.engine import database

_AGE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$")
_UNITS = {"h": "hours", "d": "days", "w": "weeks"}


def parse_age(text: str) -> timedelta:
    """`30d`, `12h`, `2w` -> a timedelta; UsageError otherwise."""
    match = _AGE.match(text.lower())
    if not match:
        raise UsageError(
            _("{text!r} is not an age").format(text=text),
            hint=_("write a number and h, d or w: 12h, 30d, 2w"),
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


@dataclass(frozen=True)
class PruneResult:
    """The folders that are (or, in a dry run, would be) removed, and what was kept."""

    removable: tuple[tuple[str, str], ...]  # (batch id, loaded | acknowledged), oldest first
    kept: dict[str, int]  # why folders old enough stay: waiting, rejected…
    applied: bool

    @property
    def removed(self) -> int:
        return len(self.removable) if self.applied else 0


@recorded(
    "landing prune",
    counts=lambda r: {"removable": len(r.removable), "removed": r.removed, **r.kept},
)
def prune_landing(
    settings: Settings, older_than: timedelta, *, apply: bool = False, now: datetime | None = None
) -> PruneResult:
    """Remove (with `apply`) the loaded or acknowledged batches published before now - age."""
    if older_than < timedelta(0):
        raise UsageError(_("the age must not be negative"))
    cutoff = (now or datetime.now(UTC)).astimezone(UTC).replace(tzinfo=None) - older_than
    landing = open_landing(settings.landing)
    old = sorted(
        b for b in landing.list_batch_ids() if is_batch_id(b) and (id_time(b) or cutoff) < cutoff
    )
    with database(settings) as conn:
        loaded: set[str] = set(conn.execute(sa.select(batches.c.batch_id)).scalars())
        r = rejected_batches.c
        states = {row.batch_id: row.state for row in conn.execute(sa.select(r.batch_id, r.state))}
    removable: list[tuple[str, str]] = []
    kept: dict[str, int] = {}
    for batch_id in old:
        if batch_id in loaded:
            removable.append((batch_id, "loaded"))
        elif states.get(batch_id) == "acknowledged":
            removable.append((batch_id, "acknowledged"))
        else:
            why = states.get(batch_id, "not loaded")
            kept[why] = kept.get(why, 0) + 1
    if apply:
        for batch_id, state in removable:
            landing.delete_batch(batch_id)
            logger.info("removed %s batch %s from %s", state, batch_id, landing)
    return PruneResult(tuple(removable), kept, apply)
