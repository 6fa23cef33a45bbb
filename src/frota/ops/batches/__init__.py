"""Operator commands on batches, one module each: `listing` (list and show), `reject` (set one
aside by hand, or acknowledge a rejection), `retry` (load a rejected batch after a fix),
`undo` and `replay` (take a loaded batch back, apply it again; with `dependants` and
`restate`)."""

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
from frota.ops.batches.replay import replay_batch
from frota.ops.batches.retry import BatchRetry, retry_batch
from frota.ops.batches.undo import OperationResult, Preview, undo_batch

__all__ = [
    "STATES",
    "BatchDetail",
    "BatchListing",
    "BatchRetry",
    "BatchRow",
    "OperationResult",
    "Preview",
    "RejectResult",
    "list_batches",
    "reject_batch",
    "replay_batch",
    "retry_batch",
    "show_batch",
    "undo_batch",
]
