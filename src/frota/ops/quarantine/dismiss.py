"""`frota quarantine dismiss`: a person decides held rows will never load (a test row, a
vehicle sold long ago). The rows stay, with status `dismissed` and the note saying why, who
and when; no retry and no arriving vehicle ever loads them. Under the load lock, one
transaction; dismissing a row twice keeps its first note."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa

from frota.config import Settings
from frota.db.schema import quarantine
from frota.errors import UsageError
from frota.i18n import _
from frota.observe.runs import recorded
from frota.ops.engine import locked_transaction
from frota.ops.notes import checked_note, now, operator
from frota.ops.quarantine.rows import filters

DISMISSED = "dismissed"


@recorded("quarantine dismiss", counts=lambda n: {"dismissed": n})
def dismiss_quarantine(
    settings: Settings,
    *,
    note: str | None,
    batch: str | None = None,
    reason: str | None = None,
    ids: Sequence[int] = (),
) -> int:
    """Dismiss the held rows chosen by batch, reason and/or id; return how many."""
    text = checked_note(note, _("dismissing rows"))
    if not (batch or reason or ids):
        raise UsageError(
            _("dismiss needs the rows: --id, --batch and/or --reason"),
            hint=_("see them first with `frota quarantine list`"),
        )
    where = filters(batch, reason, "held", ids)
    with locked_transaction(settings, "the dismissal") as conn:
        if ids:
            known: set[int] = set(
                conn.scalars(sa.select(quarantine.c.id).where(quarantine.c.id.in_(ids)))
            )
            unknown = sorted(set(ids) - known)
            if unknown:
                raise UsageError(
                    _("no quarantine row with id {ids}").format(ids=", ".join(map(str, unknown))),
                    hint=_("the ids are in `frota quarantine list --status all`"),
                )
        done = conn.execute(
            quarantine.update()
            .where(*where)
            .values(status=DISMISSED, note=text, noted_at=now(), noted_by=operator())
        )
        return done.rowcount or 0
