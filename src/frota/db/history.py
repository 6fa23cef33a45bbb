"""Vehicle history (`frota_veiculos_historico`): every vehicle state the loader applied, and the
state of the fleet as of any time.

A state's *version* is (vigente_desde, ordem): the as_of of the batch its data came from, then
that batch's order key (frota.batch.Manifest.order_key), so two batches with the same as_of
are ordered as they were published. The current row in `veiculos` is always the greatest
version; an older batch that arrives late adds its version to the history at its own time and
leaves the current row alone.

The state as of T is, for each plate, the greatest version with vigente_desde <= T; the
earliest known version also covers the time from the vehicle's acquisition (data_aquisicao) to
its own vigente_desde (DESIGN §5b: the first version starts at the acquisition, not 1900).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.contract import VEICULOS
from frota.db.schema import vehicle_history

STATE_COLUMNS = tuple(c for c in VEICULOS.csv_header if c != "placa")


@dataclass(frozen=True, order=True)
class Version:
    """When a vehicle state was true, and where its batch stands in the publish order."""

    vigente_desde: datetime  # naive UTC, as stored
    ordem: str

    @classmethod
    def of(cls, as_of: datetime, ordem: str) -> Version:
        """From an aware (or naive UTC) as_of."""
        if as_of.tzinfo is not None:
            as_of = as_of.astimezone(UTC).replace(tzinfo=None)
        return cls(as_of, ordem)


def history_rows(
    applied: Iterable[tuple[dict[str, Any], Version, str]], lote_id: str, now: datetime
) -> list[dict[str, Any]]:
    """History rows for (vehicle row as applied, its version, "insert"|"update"|"stale")."""
    return [
        {
            "placa": row["placa"],
            "lote_id": lote_id,
            "vigente_desde": version.vigente_desde,
            "ordem": version.ordem,
            **{c: row.get(c) for c in STATE_COLUMNS},
            "aplicacao": how,
            "registrado_em": now,
        }
        for row, version, how in applied
    ]


def record_history(conn: Connection, rows: list[dict[str, Any]]) -> None:
    """Write history rows (inside the transaction that applied them)."""
    if rows:
        conn.execute(vehicle_history.insert(), rows)


def vehicles_as_of(conn: Connection, when: datetime) -> Iterator[dict[str, Any]]:
    """Each vehicle's state as of `when` (naive UTC), in plate order: placa, the state columns,
    vigente_desde, ordem and lote_id of the version in force. Vehicles acquired after `when`
    (or, without an acquisition date, first seen after it) are left out."""
    h = vehicle_history
    query = (
        sa.select(h)
        .where(h.c.desfeito_lote.is_(None))  # states an undo withdrew are not history
        .order_by(h.c.placa, h.c.vigente_desde, h.c.ordem, h.c.id)
    )
    rows = conn.execution_options(yield_per=10_000).execute(query).mappings()
    placa, chosen, first = None, None, None
    for row in rows:
        if row["placa"] != placa:
            yield from _in_force(chosen, first, when)
            placa, chosen, first = row["placa"], None, row
        if row["vigente_desde"] <= when:
            chosen = row
    yield from _in_force(chosen, first, when)


def _in_force(chosen: Any, first: Any, when: datetime) -> Iterator[dict[str, Any]]:
    if chosen is None and first is not None and _acquired_by(first["data_aquisicao"], when):
        chosen = first  # before its first known version: that version, back to acquisition
    if chosen is not None:
        yield {k: chosen[k] for k in ("placa", *STATE_COLUMNS, "vigente_desde", "ordem", "lote_id")}


def _acquired_by(acquired: date | None, when: datetime) -> bool:
    return acquired is not None and acquired <= when.date()
