"""Finding identical maintenance rows in one file with memory that does not grow with the file.

A set of row digests costs ~80 bytes a row (about 400 MB for 5,000,000 rows). Instead, a
fixed-size Bloom filter (16 MiB) answers "certainly new" for almost every row; a row it calls
"maybe seen" is kept aside as a suspect and settled exactly once the file is written: it is a
duplicate only if an identical row of this file is in the table (or among the suspects already
loaded). False positives therefore cost one indexed query each, never a wrong answer.
At 1,000,000 rows about one row in a million is a suspect; at 5,000,000 about one in 30,000.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from frota.canonical import format_value
from frota.contract import MANUTENCOES, Table
from frota.db.schema import manutencoes

_BITS_LOG2 = 27  # 2**27 bits = 16 MiB
_MASK = (1 << _BITS_LOG2) - 1
_SHIFTS = tuple(range(0, 5 * _BITS_LOG2, _BITS_LOG2))  # 5 hashes from one 160-bit digest


def row_digest(cells: Iterable[str]) -> int:
    """Identity of a row: its canonical cells (same for the fast and the general path)."""
    return int.from_bytes(
        hashlib.blake2b("\x1f".join(cells).encode(), digest_size=20).digest(), "big"
    )


def canonical_cells(row: dict[str, Any], table: Table = MANUTENCOES) -> list[str]:
    """The row as its canonical CSV cells."""
    return [format_value(row.get(c)) for c in table.csv_header]


class RowFilter:
    """A Bloom filter of row digests: `maybe_seen` has no false negatives."""

    def __init__(self, bits_log2: int = _BITS_LOG2) -> None:
        # Tests pass a tiny size to force false positives through the exact settle step.
        self._bits = bytearray(max(1 << (bits_log2 - 3), 1))
        self._mask = min((1 << bits_log2) - 1, _MASK)

    def maybe_seen(self, digest: int) -> bool:
        bits, mask = self._bits, self._mask
        for shift in _SHIFTS:
            p = (digest >> shift) & mask
            if not bits[p >> 3] & (1 << (p & 7)):
                return False
        return True

    def add(self, digest: int) -> None:
        bits, mask = self._bits, self._mask
        for shift in _SHIFTS:
            p = (digest >> shift) & mask
            bits[p >> 3] |= 1 << (p & 7)

    def first_time(self, digest: int) -> bool:
        """True (and remembered) if the row is certainly new; False if it may be a copy."""
        if self.maybe_seen(digest):
            return False
        self.add(digest)
        return True


def max_id(conn: Connection) -> int:
    """Rows of this file get ids above this (one loader at a time, inside its transaction)."""
    return conn.execute(sa.select(sa.func.max(manutencoes.c.id))).scalar() or 0


def already_written(conn: Connection, row: dict[str, Any], batch_id: str, after_id: int) -> bool:
    """Is an identical row of this file (id > after_id, this batch) in the table?"""
    conditions = [manutencoes.c.lote_id == batch_id, manutencoes.c.id > after_id]
    for name in MANUTENCOES.csv_header:
        value = row.get(name)
        column = manutencoes.c[name]
        conditions.append(column.is_(None) if value is None else column == value)
    query = sa.select(sa.literal(1)).where(*conditions).limit(1)
    return conn.execute(query).first() is not None
