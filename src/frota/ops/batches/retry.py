"""`frota batch retry ID`: load a rejected batch again after a fix (its file restored in the
landing area, a setting such as max_file_bytes or allow_extra_columns changed, frota upgraded).
It goes through the loader itself (`load_pending(only=…)`): under the load lock, in one
transaction, exactly once. Refused again, its rejection is renewed with the new reason."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import sqlalchemy as sa

from frota.config import Settings
from frota.db.schema import batches, rejected_batches
from frota.errors import UsageError
from frota.i18n import _
from frota.load import LoadResult, load_pending
from frota.load.rejections import SET_ASIDE
from frota.observe.runs import recorded
from frota.ops.engine import database
from frota.ops.notes import now


@dataclass(frozen=True)
class BatchRetry:
    batch_id: str
    result: LoadResult

    @property
    def loaded(self) -> bool:
        return any(b.batch_id == self.batch_id for b in self.result.loaded)


@recorded("batch retry", counts=lambda r: {"loaded": int(r.loaded)})
def retry_batch(
    settings: Settings, batch_id: str, *, run_id: str | None = None, today: date | None = None
) -> BatchRetry:
    """Load a rejected batch now; UsageError if it is not a rejected batch. Recorded as
    `batch retry` (with `run_id`), its load as a step of it."""
    _check_rejected(settings, batch_id)
    result = load_pending(settings, today=today, only={batch_id})
    retry = BatchRetry(batch_id, result)
    if retry.loaded or batch_id in result.already_loaded:
        with database(settings) as conn, conn.begin():
            r = rejected_batches.c
            conn.execute(
                rejected_batches.update()
                .where(r.batch_id == batch_id)
                .values(state="loaded", retried_at=now())
            )
    elif not result.rejected:
        why = dict(result.incomplete).get(batch_id, "it is no longer in the landing area")
        raise UsageError(
            _("batch {batch_id} cannot be loaded: {why}").format(batch_id=batch_id, why=why),
            hint=_("a pruned batch cannot come back; publish its data again as a new batch"),
        )
    return retry


def _check_rejected(settings: Settings, batch_id: str) -> None:
    with database(settings) as conn:
        if conn.execute(
            sa.select(batches.c.batch_id).where(batches.c.batch_id == batch_id)
        ).first():
            raise UsageError(_("batch {batch_id} is already loaded").format(batch_id=batch_id))
        r = rejected_batches.c
        state = conn.execute(sa.select(r.state).where(r.batch_id == batch_id)).scalar()
    if state not in SET_ASIDE:
        raise UsageError(
            _("batch {batch_id} is not a rejected batch").format(batch_id=batch_id),
            hint=_("`frota load` takes every batch that is not rejected; see `frota batch list`"),
        )
