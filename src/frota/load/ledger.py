"""The batch ledger (`frota_batches`): one row for each batch, or quarantine retry, whose rows
were written, in the same transaction as those rows. A batch in the ledger is never loaded
again; the warehouse replicates by ledger entry."""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from datetime import datetime
from typing import cast

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.db.history import Version
from frota.db.schema import batches


@dataclass(frozen=True, kw_only=True)
class BatchCounts:
    """What a batch did, as the ledger keeps it."""

    rows_read: int
    veiculos_inserted: int
    veiculos_updated: int
    veiculos_stale: int
    manutencoes_inserted: int
    quarantined: int
    released: int
    duplicates: int
    manutencoes_updated: int = 0
    manutencoes_retired: int = 0
    manutencoes_present: int = 0
    manutencoes_stale: int = 0  # a newer batch wrote the record: kept out ('stale' history)

    def counts(self) -> dict[str, int]:
        """The counts alone, by ledger column."""
        return {f.name: getattr(self, f.name) for f in fields(BatchCounts)}


@dataclass(frozen=True, kw_only=True)
class LedgerEntry(BatchCounts):
    """One ledger row: the batch, where it came from, and what it did."""

    batch_id: str
    source: str
    created_at: str
    content_sha256: str
    loaded_at: datetime
    run_id: str
    published_at: datetime  # naive UTC, as every time the database keeps
    sequence: int
    as_of: datetime
    ordem: str  # frota.batch.Manifest.order_key

    @property
    def version(self) -> Version:
        """The version of the data this batch brought (frota.db.history)."""
        return Version(self.as_of, self.ordem)


def record_batch(conn: Connection, entry: LedgerEntry) -> None:
    """Write the ledger row (inside the transaction that wrote the batch's rows)."""
    conn.execute(batches.insert(), asdict(entry))


def loaded_batch_ids(conn: Connection) -> set[str]:
    """Every batch id in the ledger (one indexed scan of a narrow column)."""
    ids: set[str] = set(conn.execute(sa.select(batches.c.batch_id)).scalars())
    conn.rollback()
    return ids


def ledger_entry(conn: Connection, batch_id: str) -> LedgerEntry:
    """The ledger row of a batch that is in the ledger."""
    row = conn.execute(sa.select(batches).where(batches.c.batch_id == batch_id)).one()
    conn.rollback()
    return LedgerEntry(**{f.name: getattr(row, f.name) for f in fields(LedgerEntry)})


def batch_version(conn: Connection, batch_id: str) -> Version:
    """The version of a batch in the ledger (a quarantine retry judges old rows by it)."""
    row = conn.execute(
        sa.select(batches.c.as_of, batches.c.ordem).where(batches.c.batch_id == batch_id)
    ).one()
    as_of, ordem = cast(tuple[datetime, str], row)  # the columns' types
    return Version(as_of, ordem)
