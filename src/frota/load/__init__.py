"""The server's step: load every complete, not-yet-loaded batch exactly once (`load_pending`).

The parts, in the order a batch meets them: `step` (the run: `engine`, the database's load
lock from `frota.db.lock`, `retry`, the complete batches not in the ledger from
`frota.landing.discover`, one batch after another), `transaction` (one batch, one
transaction), `files` (its files, checked against the manifest), `vehicles`,
`maintenances` (with `fastpath`, `dedupe` and the dialect writers in `bulk`, typed by
`writer`), `quarantine` (rows held back), `ledger` (the batch's row in `frota_batches`).
Operator commands on the same data (`frota.ops`) use these parts; nothing here imports them.
"""

from __future__ import annotations

from frota.load.step import LoadResult, load_pending
from frota.load.transaction import BatchResult

__all__ = ["BatchResult", "LoadResult", "load_pending"]
