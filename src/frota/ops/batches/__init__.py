"""Operator commands on batches, one module each: `listing` (list and show), `reject` (set one
aside by hand, or acknowledge a rejection), `retry` (load a rejected batch after a fix)."""

from __future__ import annotations

from frota.ops.batches.listing import (
    STATES,
    BatchDetail,
    BatchListing,
    BatchRow,
    list_batches,
    show_batch,
)
from frota.ops.batches.reject import RejectResult, reject_batch
from frota.ops.batches.retry import BatchRetry, retry_batch

__all__ = [
    "STATES",
    "BatchDetail",
    "BatchListing",
    "BatchRetry",
    "BatchRow",
    "RejectResult",
    "list_batches",
    "reject_batch",
    "retry_batch",
    "show_batch",
]
