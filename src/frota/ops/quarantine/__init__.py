"""Operator commands on the quarantine, one module each: `listing` (counts and rows),
`export` (a CSV to fix in Excel) and `excel` (a pt-BR sheet per table, and reading it back
corrected), `retry` (load what passes now, or what a corrected sheet says), `dismiss` (never
load them, with a note); `rows` is what they share."""

from __future__ import annotations

from frota.contract.sheet import FORMULA_START, neutralise
from frota.ops.quarantine.dismiss import dismiss_quarantine
from frota.ops.quarantine.excel import Correction, export_excel_br, read_corrections
from frota.ops.quarantine.export import export_quarantine
from frota.ops.quarantine.listing import QuarantineListing, list_quarantine
from frota.ops.quarantine.retry import RetryResult, retry_quarantine
from frota.ops.quarantine.rows import HeldRow

__all__ = [
    "Correction",
    "FORMULA_START",
    "HeldRow",
    "QuarantineListing",
    "RetryResult",
    "dismiss_quarantine",
    "export_excel_br",
    "export_quarantine",
    "list_quarantine",
    "neutralise",
    "read_corrections",
    "retry_quarantine",
]
