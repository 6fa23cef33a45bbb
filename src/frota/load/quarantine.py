"""The loader's quarantine: rows held back with their reason, file, line and raw text, buffered
and written in chunks inside the batch transaction; and the mark a row gets when it is released."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from frota.contract import Table
from frota.contract.tabular import Record
from frota.contract.validate import Problem
from frota.db.schema import quarantine

CHUNK = 10_000
# MySQL TEXT holds 65,535 bytes (16,383 four-byte characters): longer raw text is cut, and says so.
MAX_STORED_CHARS = 16_000
# Held, but not bad rows: they do not count towards the error threshold.
NOT_ERRORS = frozenset({"vehicle_unknown", "duplicate_row"})


class QuarantineBuffer:
    """Buffers quarantine rows and writes them in chunks (same transaction)."""

    def __init__(self, conn: Connection, batch_id: str, now: datetime) -> None:
        self.conn, self.batch_id, self.now = conn, batch_id, now
        self.buffer: list[dict[str, Any]] = []
        self.count = 0
        self.bad: dict[str, Counter[str]] = {}  # file -> reason -> rows (error threshold)
        self.before_flush: Callable[[], None] = lambda: None

    def hold(self, table: Table, rec: Record, problem: Problem, placa: str | None = None) -> None:
        if problem.reason not in NOT_ERRORS:
            self.bad.setdefault(table.file_name, Counter())[problem.reason] += 1
        self.buffer.append(
            {
                "batch_id": self.batch_id,
                "table_name": table.name,
                "file": table.file_name,
                "line": rec.line,
                "column_name": problem.column,
                "reason": problem.reason,
                "detail": storable(problem.detail),
                "raw": storable(rec.raw),
                "values_json": retry_values(rec.values),
                "placa": placa,
                "status": "held",
                "created_at": self.now,
            }
        )
        self.count += 1
        if len(self.buffer) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        if self.buffer:
            self.before_flush()  # the connection must be idle: a bulk chunk may be in flight
            self.conn.execute(quarantine.insert(), self.buffer)
            self.buffer = []


def storable(text: str | None) -> str | None:
    """Text any backend stores verbatim: NUL escaped (PostgreSQL refuses it), length capped."""
    if text is None:
        return None
    text = text.replace("\x00", "\\x00")
    if len(text) > MAX_STORED_CHARS:
        cut = len(text) - MAX_STORED_CHARS
        text = f"{text[:MAX_STORED_CHARS]}… [{cut:,} more characters not stored]"
    return text


def retry_values(values: dict[str, str] | None) -> str | None:
    """The row's cells as JSON, for its release or retry. Stripped, as parse_row reads them,
    when padding would not fit otherwise (a held valid row must stay releasable); None when
    even that does not fit."""
    if not values:
        return None
    text = json.dumps(values, ensure_ascii=False)
    if len(text) > MAX_STORED_CHARS:
        text = json.dumps({k: v.strip() for k, v in values.items()}, ensure_ascii=False)
    return text if len(text) <= MAX_STORED_CHARS else None


def mark_released(conn: Connection, ids: Sequence[int], batch_id: str, now: datetime) -> None:
    """Held rows `ids` were written by `batch_id` (a batch, or a quarantine retry)."""
    if ids:
        conn.execute(
            quarantine.update()
            .where(quarantine.c.id.in_(list(ids)), quarantine.c.status == "held")
            .values(status="released", released_at=now, released_batch_id=batch_id)
        )
