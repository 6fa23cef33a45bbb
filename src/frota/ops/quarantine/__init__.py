"""Operator commands on the quarantine, one module each: `listing` (counts and rows),
`export` (a CSV to fix in Excel), `retry` (load what passes now); `rows` is what they share."""

from __future__ import annotations

from frota.contract.sheet import FORMULA_START, neutralise
from frota.ops.quarantine.export import export_quarantine
from frota.ops.quarantine.listing import QuarantineListing, list_quarantine
from frota.ops.quarantine.retry import RetryResult, retry_quarantine
from frota.ops.quarantine.rows import HeldRow

__all__ = [
    "FORMULA_START",
    "HeldRow",
    "QuarantineListing",
    "RetryResult",
    "export_quarantine",
    "list_quarantine",
    "neutralise",
    "retry_quarantine",
]
