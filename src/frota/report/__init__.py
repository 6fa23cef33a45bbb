"""The fleet report (an analytics step): the warehouse's marts and the pipeline's health →
one self-contained HTML page, pt-BR by default (`frota report`). Reads the warehouse, never
the loader."""

from __future__ import annotations

from frota.report.build import DEFAULT_OUT, ReportResult, build_report
from frota.report.period import Period, parse_period

__all__ = ["DEFAULT_OUT", "Period", "ReportResult", "build_report", "parse_period"]
