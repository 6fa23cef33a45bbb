"""`frota snapshot`: the operational state as of a batch, as deterministic Parquet files.

The state as of batch B is what the database held right after B was loaded: the ledger's
entries up to B (in load order: loaded_at, then batch id) are the batches in it. A
maintenance record is in it when the batch that inserted it is, as the last of those batches
that changed it left it (frota_manutencoes_historico), unless one of them retired it; a
vehicle is in the greatest version (frota.db.history) that one of those batches wrote.
Default B: the last batch loaded.

Same state → byte-identical files: rows sorted on every column, one explicit Arrow schema
from the data contract, no timestamps in the files or the manifest, fixed Parquet options
(byte-identical for the same frota and pyarrow versions).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.config import Settings
from frota.contract import MANUTENCOES, VEICULOS, Column, Table
from frota.db.schema import batches, maintenance_history, manutencoes, vehicle_history, veiculos
from frota.errors import BadInputError, MissingExtra
from frota.i18n import _
from frota.observe.log import logger

MANIFEST = "manifest.json"
FORMAT = 1


@dataclass(frozen=True)
class TableFile:
    table: str
    file: str
    rows: int
    sha256: str


@dataclass(frozen=True)
class Snapshot:
    """Where a snapshot was written, as of which batch, and its files."""

    out_dir: Path
    as_of_batch: str | None  # None: nothing loaded yet
    batches: int  # ledger entries in the state
    files: tuple[TableFile, ...]


def snapshot_columns(table: Table) -> tuple[Column, ...]:
    """The contract's columns but the database's own row number (`id`)."""
    return tuple(c for c in table.columns if c.kind != "serial")


def _ledger_upto(conn: Connection, as_of: str | None) -> tuple[str | None, Any]:
    """(the batch, a condition on frota_batches selecting the entries up to it)."""
    b = batches.c
    if as_of is None:
        last = conn.execute(
            sa.select(b.batch_id, b.loaded_at).order_by(b.loaded_at.desc(), b.batch_id.desc())
        ).first()
    else:
        last = conn.execute(sa.select(b.batch_id, b.loaded_at).where(b.batch_id == as_of)).first()
        if last is None:
            raise BadInputError(
                _("batch {as_of} is not in the ledger").format(as_of=as_of),
                hint=_("`frota batch list --state loaded` lists the batches loaded"),
            )
    if last is None:
        return None, sa.false()
    batch_id, loaded_at = str(last[0]), last[1]
    upto = sa.or_(
        b.loaded_at < loaded_at, sa.and_(b.loaded_at == loaded_at, b.batch_id <= batch_id)
    )
    return batch_id, upto


def maintenance_rows(conn: Connection, upto: Any) -> tuple[list[tuple[Any, ...]], int]:
    """The maintenance records the batches `upto` selects inserted, each as those batches
    left it (its latest change among them in frota_manutencoes_historico, else the row as
    stored), retired ones left out; and how many records were first changed after the last of
    those batches, whose earlier image the history does not keep (shown as stored now)."""
    m, h = manutencoes, maintenance_history
    names = [c.name for c in snapshot_columns(MANUTENCOES)]
    changes: dict[str, Any] = {}  # chave -> its latest change among those batches
    changed = h.c.mudanca != "stale"  # a late, older batch's image changed nothing
    query = (
        sa.select(h)
        .join(batches, batches.c.batch_id == h.c.lote_id)
        .where(upto, changed, h.c.desfeito_lote.is_(None))  # undone: never made
        .order_by(h.c.id)
    )
    for found in conn.execute(query).mappings():
        changes[found["chave"]] = found  # ascending ids: the last one wins
    # Each record's first change ever: a retirement keeps the image it retired, which is the
    # image before it; an update or a restore does not say what it replaced.
    first: dict[str, Any] = {}
    in_force = sa.select(h).where(changed, h.c.desfeito_lote.is_(None)).order_by(h.c.id)
    for found in conn.execute(in_force).mappings():
        first.setdefault(found["chave"], found)
    rows: list[tuple[Any, ...]] = []
    unknown_before = 0
    inserted = sa.select(m.c.chave, *(m.c[n] for n in names)).join(
        batches, batches.c.batch_id == m.c.lote_id
    )
    for record in conn.execute(inserted.where(upto)):
        row, unknown = _as_left(record, changes.get(record.chave), first.get(record.chave), names)
        unknown_before += unknown
        if row is not None:
            rows.append(row)
    return rows, unknown_before


def _as_left(
    record: Any, change: Any, first: Any, names: list[str]
) -> tuple[tuple[Any, ...] | None, bool]:
    """A record as the batches up to B left it — None if they retired it — given its latest
    change among them and its first change ever; and whether that image is not known (first
    changed after B by an update or a restore: shown as stored)."""
    stored = tuple(record)[1:]
    if change is None:
        if first is None:
            return stored, False
        if first["mudanca"] != "retire":
            return stored, True
        change = first  # retired after B: the image it retired is the image before
    elif change["mudanca"] == "retire":
        return None, False
    return tuple(record.lote_id if n == "lote_id" else change[n] for n in names), False


def vehicle_rows(conn: Connection, upto: Any) -> list[tuple[Any, ...]]:
    """Each vehicle in the greatest version the batches `upto` selects wrote."""
    h = vehicle_history.c
    names = [c.name for c in snapshot_columns(VEICULOS)]
    query = (
        sa.select(*(h[n] for n in names))
        .join(batches, batches.c.batch_id == h.lote_id)
        .where(upto, h.aplicacao != "stale", h.desfeito_lote.is_(None))
        .order_by(h.placa, h.vigente_desde, h.ordem, h.id)
    )
    latest: dict[str, tuple[Any, ...]] = {}
    for row in conn.execute(query):
        latest[row[0]] = tuple(row)  # ascending versions: the last one wins
    return list(latest.values())


def current_rows(conn: Connection, table: Table) -> list[tuple[Any, ...]]:
    """The table as it is now (retired maintenances left out): what a snapshot as of the last
    batch must equal, read the simple way."""
    t = {VEICULOS.name: veiculos, MANUTENCOES.name: manutencoes}[table.name]
    query = sa.select(*(t.c[c.name] for c in snapshot_columns(table)))
    if t is manutencoes:
        query = query.where(t.c.retirada_lote.is_(None))
    else:  # a vehicle an undo withdrew every state of
        query = query.where(t.c.retirado_lote.is_(None))
    return [tuple(r) for r in conn.execute(query)]


# ---------------------------------------------------------------- Parquet


def _pyarrow() -> Any:
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401
    except ImportError:
        raise MissingExtra("pyarrow", "dvc") from None
    return pyarrow


def arrow_schema(table: Table) -> Any:
    pa = _pyarrow()
    kinds = {"str": pa.string(), "int": pa.int64(), "date": pa.date32()}
    fields = []
    for c in snapshot_columns(table):
        if c.kind == "decimal":
            precision, scale = c.precision or (10, 2)
            kind = pa.decimal128(precision, scale)
        else:
            kind = kinds[c.kind]
        fields.append(pa.field(c.name, kind, nullable=not c.primary_key))
    return pa.schema(fields)


def _normal(column: Column, value: Any) -> Any:
    """One value as the contract types it, whatever the driver returned."""
    if value is None:
        return None
    if column.kind == "decimal":
        scale = (column.precision or (10, 2))[1]
        return Decimal(str(value)).quantize(Decimal(1).scaleb(-scale))
    if column.kind == "int":
        return int(value)
    if column.kind == "date":
        if isinstance(value, datetime):
            return value.date()
        return value if isinstance(value, date) else date.fromisoformat(str(value))
    return str(value)


def _sort_key(row: tuple[Any, ...]) -> tuple[tuple[bool, Any], ...]:
    return tuple((v is None, v if v is not None else 0) for v in row)


def write_parquet(table: Table, rows: Iterable[tuple[Any, ...]], path: Path) -> int:
    """Rows (in snapshot_columns order), normalised and sorted, written deterministically."""
    pa = _pyarrow()
    import pyarrow.parquet as pq

    cols = snapshot_columns(table)
    ordered = sorted(
        (tuple(_normal(c, v) for c, v in zip(cols, r, strict=True)) for r in rows), key=_sort_key
    )
    arrays = [
        pa.array([r[i] for r in ordered], type=field.type)
        for i, field in enumerate(arrow_schema(table))
    ]
    data = pa.Table.from_arrays(arrays, schema=arrow_schema(table))
    tmp = path.with_suffix(".tmp")
    pq.write_table(
        data,
        tmp,
        compression="zstd",
        compression_level=3,
        use_dictionary=False,
        write_statistics=True,
        row_group_size=1_000_000,
        version="2.6",
        data_page_version="1.0",
    )
    os.replace(tmp, path)
    return len(ordered)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_snapshot(settings: Settings, out_dir: Path, *, as_of: str | None = None) -> Snapshot:
    """Write `veiculos.parquet`, `manutencoes.parquet` and `manifest.json` into `out_dir`:
    the state as of batch `as_of` (default: the last batch loaded), read in one transaction."""
    from frota.ops.engine import database

    _pyarrow()  # say a missing extra before reading the database
    out_dir.mkdir(parents=True, exist_ok=True)
    with database(settings) as conn, conn.begin():
        batch_id, upto = _ledger_upto(conn, as_of)
        count = conn.execute(sa.select(sa.func.count()).select_from(batches).where(upto))
        in_state = count.scalar_one()
        maintenances, unknown_before = maintenance_rows(conn, upto)
        states = ((VEICULOS, vehicle_rows(conn, upto)), (MANUTENCOES, maintenances))
        files = []
        for table, rows in states:
            path = out_dir / f"{table.name}.parquet"
            written = write_parquet(table, rows, path)
            files.append(TableFile(table.name, path.name, written, _sha256(path)))
    if unknown_before:
        logger.warning(
            "%d maintenance record(s) were first changed after batch %s: the history keeps no "
            "image from before that change, so they are as stored now",
            unknown_before,
            batch_id,
        )
    manifest = {
        "format": FORMAT,
        "as_of_batch": batch_id,
        "batches": in_state,
        "tables": {f.table: {"file": f.file, "rows": f.rows, "sha256": f.sha256} for f in files},
    }
    if unknown_before:
        manifest["changed_later_as_stored_now"] = unknown_before
    text = json.dumps(manifest, indent=2, sort_keys=True) + "\n"
    (out_dir / MANIFEST).write_text(text, encoding="utf-8", newline="\n")
    return Snapshot(out_dir, batch_id, in_state, tuple(files))
