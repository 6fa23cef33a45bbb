"""The server's step: load every complete, not-yet-loaded batch exactly once (`load_pending`).

The parts, in the order a batch meets them: `discover` (complete batches not in the ledger),
`step` (the run: lock, retries, one batch after another), `transaction` (one batch, one
transaction), `vehicles`, `maintenances` (with `fastpath`, `dedupe` and the dialect writers
in `bulk`), `quarantine` (rows held back), `ledger` (the batch's row in `frota_batches`).
"""

from __future__ import annotations

from frota.load.step import LoadResult, load_pending
from frota.load.transaction import BatchResult

__all__ = ["BatchResult", "LoadResult", "load_pending"]
