"""`frota quarantine list`: counts by reason and the first rows matching the filters."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from frota.config import Settings
from frota.db.schema import quarantine
from frota.ops.engine import database
from frota.ops.quarantine.rows import HeldRow, filters, held_row


@dataclass(frozen=True)
class QuarantineListing:
    """Counts by reason (every matching row) and the first `limit` rows."""

    counts: dict[str, int]
    rows: tuple[HeldRow, ...]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def list_quarantine(
    settings: Settings,
    *,
    batch: str | None = None,
    reason: str | None = None,
    status: str = "held",
    limit: int = 50,
) -> QuarantineListing:
    """Counts by reason and the first `limit` rows matching the filters."""
    where = filters(batch, reason, status)
    with database(settings) as conn:
        by_reason = (
            sa.select(quarantine.c.reason, sa.func.count())
            .where(*where)
            .group_by(quarantine.c.reason)
            .order_by(sa.func.count().desc(), quarantine.c.reason)
        )
        counts: dict[str, int] = dict(conn.execute(by_reason).all())
        rows = conn.execute(
            sa.select(quarantine).where(*where).order_by(quarantine.c.id).limit(limit)
        ).all()
        return QuarantineListing(counts, tuple(held_row(r) for r in rows))
