"""Load one batch in ONE transaction: vehicles upserted, maintenances appended, rejected rows
quarantined, held rows released, and the ledger row. Commit = all of it; crash = none of it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy.engine import Connection

import frota.faults as faults
from frota.batch import Manifest, naive_utc
from frota.contract.tabular import FilePolicy
from frota.db.lock import still_held
from frota.errors import LockHeld
from frota.i18n import _
from frota.load.files import OpenFile
from frota.load.ledger import BatchCounts, LedgerEntry, record_batch
from frota.load.maintenances import Progress, load_maintenances, release_held
from frota.load.quarantine import QuarantineBuffer
from frota.load.stage import Restage
from frota.load.vehicles import load_vehicles
from frota.observe.log import logger


@dataclass(frozen=True, kw_only=True)
class BatchResult(BatchCounts):
    """What one batch did to the database. rows_read reconciles exactly:
    rows_read = veiculos_inserted + veiculos_updated + veiculos_stale + manutencoes_inserted
    + manutencoes_updated + manutencoes_present + manutencoes_stale + quarantined + duplicates
    (blank lines are counted apart). Held rows the batch released are apart too: `released`
    new records."""

    batch_id: str
    blank_lines: int
    seconds: float

    @property
    def rows_loaded(self) -> int:
        """Rows written: new or changed."""
        return (
            self.veiculos_inserted
            + self.veiculos_updated
            + self.manutencoes_inserted
            + self.manutencoes_updated
        )

    @classmethod
    def from_ledger(cls, entry: LedgerEntry) -> BatchResult:
        """What the ledger kept of a batch (blank lines and time are not kept)."""
        return cls(batch_id=entry.batch_id, blank_lines=0, seconds=0.0, **entry.counts())

    def ledger_entry(self, manifest: Manifest, run_id: str, loaded_at: datetime) -> LedgerEntry:
        """The ledger row of this batch."""
        return LedgerEntry(
            batch_id=self.batch_id,
            source=manifest.source,
            created_at=manifest.created_at,
            content_sha256=manifest.content_sha256,
            loaded_at=loaded_at,
            run_id=run_id,
            published_at=naive_utc(manifest.published_at),
            sequence=manifest.sequence,
            as_of=naive_utc(manifest.effective_at),
            ordem=manifest.order_key,
            **self.counts(),
        )

    def check_accounted(self) -> None:
        """RuntimeError (a bug) unless every row read is accounted for exactly once."""
        accounted = (
            self.rows_loaded
            + self.veiculos_stale
            + self.manutencoes_present
            + self.manutencoes_stale
            + self.quarantined
            + self.duplicates
        )
        if accounted != self.rows_read:  # never commit a batch that does not add up
            raise RuntimeError(
                f"batch {self.batch_id}: {self.rows_read} rows read but {accounted} "
                "accounted for (loaded + stale + present + quarantined + duplicates); "
                "rolled back"
            )


def load_batch(
    conn: Connection,
    manifest: Manifest,
    open_file: OpenFile,
    run_id: str,
    today: date,
    progress: Progress | None = None,
    policy: FilePolicy | None = None,
) -> BatchResult:
    """Load one complete batch in one transaction (the caller holds the load lock).

    Maintenances go straight to manutencoes while they can (load/stage.py); in the rare batch
    where that meets a work order it repeats with different values, the transaction is rolled
    back and the batch loaded again through the stage alone."""
    try:
        return _load_batch(conn, manifest, open_file, run_id, today, progress, policy, True)
    except Restage:
        logger.info("batch %s: loading it again through the stage", manifest.batch_id)
        return _load_batch(conn, manifest, open_file, run_id, today, progress, policy, False)


def _load_batch(
    conn: Connection,
    manifest: Manifest,
    open_file: OpenFile,
    run_id: str,
    today: date,
    progress: Progress | None,
    policy: FilePolicy | None,
    direct: bool,
) -> BatchResult:
    policy = policy or FilePolicy()
    for entry in manifest.files:  # before reading anything
        policy.check_size(entry.bytes, f"{manifest.batch_id}/{entry.name}")
    started = time.monotonic()
    now = datetime.now(UTC).replace(tzinfo=None)
    faults.checkpoint("before_tx", conn)
    with conn.begin():
        q = QuarantineBuffer(conn, manifest.batch_id, now)
        v = load_vehicles(conn, manifest, open_file, today, q, policy)
        faults.checkpoint("mid_insert", conn)
        released = release_held(conn, manifest.batch_id, today, now)
        m = load_maintenances(
            conn, manifest, open_file, today, now, q, progress, policy, direct, released.written
        )
        q.flush()
        faults.checkpoint("after_inserts", conn)
        if not still_held(conn):
            raise LockHeld(_("the load lock was lost before commit; this batch was rolled back"))
        result = BatchResult(
            batch_id=manifest.batch_id,
            rows_read=v.read + m.read,
            blank_lines=v.blank_lines + m.blank_lines,
            veiculos_inserted=v.inserted,
            veiculos_updated=v.updated,
            veiculos_stale=v.stale,
            manutencoes_inserted=m.inserted,
            manutencoes_updated=m.updated,
            manutencoes_present=m.present,
            manutencoes_stale=m.stale,
            manutencoes_retired=m.retired,
            quarantined=q.count,
            released=released.inserted,
            duplicates=v.duplicates + m.duplicates,
            seconds=time.monotonic() - started,
        )
        result.check_accounted()
        record_batch(conn, result.ledger_entry(manifest, run_id, now))
        faults.checkpoint("before_commit", conn)
    return result
