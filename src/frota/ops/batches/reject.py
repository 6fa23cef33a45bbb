"""`frota batch reject ID --note TEXT`: set a batch aside by hand (one the loader has not taken,
e.g. an export sent by mistake), or acknowledge one the loader rejected (it then stops
waiting for a person, and `frota landing prune` may remove it). A loaded batch is undone, not
rejected (`frota batch undo`)."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from frota.batch import is_batch_id
from frota.config import Settings
from frota.db.schema import batches, rejected_batches
from frota.errors import UsageError
from frota.i18n import _
from frota.landing import open_landing
from frota.load.rejections import batch_source
from frota.observe.runs import recorded
from frota.ops.engine import locked_transaction
from frota.ops.notes import checked_note, now, operator


@dataclass(frozen=True)
class RejectResult:
    batch_id: str
    outcome: str  # "acknowledged" (it was rejected) | "rejected" (set aside by hand)


@recorded("batch reject", counts=lambda r: {r.outcome: 1})
def reject_batch(settings: Settings, batch_id: str, note: str | None) -> RejectResult:
    """Record the operator's rejection, or acknowledge the loader's, with a required note."""
    text = checked_note(note, _("rejecting batch {batch_id}").format(batch_id=batch_id))
    with locked_transaction(settings, "the rejection") as conn:
        if conn.execute(
            sa.select(batches.c.batch_id).where(batches.c.batch_id == batch_id)
        ).first():
            raise UsageError(
                _("batch {batch_id} is loaded; a loaded batch is not rejected").format(
                    batch_id=batch_id
                ),
                hint=_("to take back what it wrote: frota batch undo {batch_id}").format(
                    batch_id=batch_id
                ),
            )
        r = rejected_batches.c
        state = conn.execute(sa.select(r.state).where(r.batch_id == batch_id)).scalar()
        noted = {"state": "acknowledged", "note": text, "noted_at": now(), "noted_by": operator()}
        if state is not None:
            conn.execute(rejected_batches.update().where(r.batch_id == batch_id).values(noted))
            return RejectResult(batch_id, "acknowledged")
        _known_to_the_landing(settings, batch_id)
        conn.execute(
            rejected_batches.insert(),
            {
                "batch_id": batch_id,
                "source": batch_source(batch_id),
                "rejected_at": noted["noted_at"],
                "message": f"rejected by {noted['noted_by']}: {text}",
                **noted,
            },
        )
    return RejectResult(batch_id, "rejected")


def _known_to_the_landing(settings: Settings, batch_id: str) -> None:
    """UsageError unless the landing area holds a folder for this batch."""
    if not is_batch_id(batch_id) or not open_landing(settings.landing).list_files(batch_id):
        raise UsageError(
            _("no batch {batch_id} in the landing area, the ledger or the rejected batches").format(
                batch_id=batch_id
            ),
            hint=_("see `frota batch list` for the batch ids"),
        )
