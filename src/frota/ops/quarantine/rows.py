"""Quarantine rows as the operator commands see them: one `HeldRow` each, chosen by batch,
reason, status or id, read a page at a time."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.contract.validate import REASONS, explain
from frota.db.schema import quarantine
from frota.errors import ConfigError
from frota.i18n import _

STATUSES = ("held", "released", "dismissed", "all")
# Rows that wait for a person's decision: a retry takes them only when asked by name or id.
DECISION_REASONS = frozenset({"duplicate_row", "conflicting_duplicate", "conflicting_id_origem"})
PAGE = 1000


@dataclass(frozen=True)
class HeldRow:
    """One quarantine row."""

    id: int
    batch_id: str
    table_name: str
    file: str
    line: int | None
    column_name: str | None
    reason: str
    detail: str | None
    raw: str | None
    values: dict[str, str] | None
    placa: str | None
    status: str
    note: str | None = None  # why it was dismissed, or how it was corrected
    noted_by: str | None = None
    noted_at: Any = None

    @property
    def explanation(self) -> str:
        return explain(self.reason)


def filters(
    batch: str | None, reason: str | None, status: str, ids: Sequence[int] = ()
) -> list[Any]:
    """The WHERE clauses for these options; ConfigError for an unknown status or reason."""
    if status not in STATUSES:
        raise ConfigError(
            _("unknown quarantine status {status!r}").format(status=status),
            hint=_("use held, released, dismissed or all"),
        )
    if reason is not None and reason not in REASONS:
        raise ConfigError(
            _("unknown reason {reason!r}").format(reason=reason),
            hint=_("reasons: {reasons}").format(reasons=", ".join(REASONS)),
        )
    where: list[Any] = []
    if status != "all":
        where.append(quarantine.c.status == status)
    if batch:
        where.append(quarantine.c.batch_id == batch)
    if reason:
        where.append(quarantine.c.reason == reason)
    if ids:
        where.append(quarantine.c.id.in_(list(ids)))
    return where


def held_row(r: Any) -> HeldRow:
    """A quarantine table row as a HeldRow (its values parsed back from JSON)."""
    return HeldRow(
        id=r.id,
        batch_id=r.batch_id,
        table_name=r.table_name,
        file=r.file,
        line=r.line,
        column_name=r.column_name,
        reason=r.reason,
        detail=r.detail,
        raw=r.raw,
        values=json.loads(r.values_json) if r.values_json else None,
        placa=r.placa,
        status=r.status,
        note=r.note,
        noted_by=r.noted_by,
        noted_at=r.noted_at,
    )


def pages(conn: Connection, where: list[Any]) -> Iterator[HeldRow]:
    """Matching rows by id, a page at a time (bounded memory, stable under updates)."""
    last = 0
    while True:
        page = conn.execute(
            sa.select(quarantine)
            .where(*where, quarantine.c.id > last)
            .order_by(quarantine.c.id)
            .limit(PAGE)
        ).all()
        if not page:
            return
        for r in page:
            yield held_row(r)
        last = page[-1].id
