"""Finding identical maintenance rows in one file with memory that does not grow with the file.

A row without a work-order number is the k-th occurrence of its identical rows in the batch
(frota.contract.identity). A set of row digests costs ~80 bytes a row (about 400 MB for
5,000,000 rows). Instead, a fixed-size Bloom filter (16 MiB) answers "certainly new" (k = 1)
for almost every row; a row it calls "maybe seen" is staged as a suspect and its k settled
exactly once the file is staged (load/stage.py), by its rank among the staged rows with its
fingerprint. False positives therefore cost a little work, never a wrong answer.

The filter is a blocked Bloom filter (bits grouped in 64-bit words; Putze et al., "Cache-,
Hash- and Space-Efficient Bloom Filters"): a handful of integer operations a row, which is
what Python can afford (about 0.4 µs). Filter libraries on PyPI are either slower from Python
or a compiled extension of their own. At 1,000,000 rows about no row is a suspect; at
5,000,000, about a hundred.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable
from typing import Any

from frota.contract import MANUTENCOES, Table
from frota.contract.canonical import format_value

_BITS_LOG2 = 27  # 2**27 bits = 16 MiB


def row_digest(cells: Iterable[str]) -> int:
    """Identity of a row in this process: its canonical cells (the same for the fast and the
    general path). Python's hash: 64 bits, salted per process, never stored."""
    return hash(tuple(cells))


def canonical_cells(row: dict[str, Any], table: Table = MANUTENCOES) -> list[str]:
    """The row as its canonical CSV cells."""
    return [format_value(row.get(c)) for c in table.csv_header]


class RowFilter:
    """A Bloom filter of row digests in 64-bit words: `maybe_seen` has no false negatives.

    A row sets three bits in each of two words (positions from its 64-bit digest): far fewer
    Python operations than k independent bits, nearly their false-positive rate (about 1 in
    60,000 rows at 5,000,000 rows in 16 MiB; one word alone gave 1 in 1,200)."""

    def __init__(self, bits_log2: int = _BITS_LOG2) -> None:
        # Tests pass a tiny size to force false positives through the exact settle step.
        words_log2 = max(bits_log2 - 6, 0)
        # Made at the first row that needs it: an export whose rows all carry a work order
        # never does, and its load keeps these 16 MiB for SQLite's page cache (bulk/sqlite.py).
        self._words: array[int] | None = None
        self._mask = (1 << words_log2) - 1
        self._shift = words_log2

    def _where(self, digest: int) -> tuple[int, int, int, int]:
        """(word i, its bits, word j, its bits): j's bits come from i's index, independent
        of j, and i's from the digest's top bits."""
        s, mask = self._shift, self._mask
        i, j, top = digest & mask, (digest >> s) & mask, digest >> 2 * s
        a = 1 << (top & 63) | 1 << ((top >> 6) & 63) | 1 << ((top >> 12) & 63)
        return i, a, j, 1 << (i & 63) | 1 << ((i >> 6) & 63) | 1 << ((i >> 12) & 63)

    def maybe_seen(self, digest: int) -> bool:
        if self._words is None:
            return False
        i, a, j, b = self._where(digest)
        return self._words[i] & a == a and self._words[j] & b == b

    def first_time(self, digest: int) -> bool:
        """True (and remembered) if the row is certainly new; False if it may be a copy."""
        words, s, mask = self._words, self._shift, self._mask  # _where, inline: once a row
        if words is None:
            words = self._words = array("Q", bytes(8 << s))
        i, j, top = digest & mask, (digest >> s) & mask, digest >> 2 * s
        a = 1 << (top & 63) | 1 << ((top >> 6) & 63) | 1 << ((top >> 12) & 63)
        b = 1 << (i & 63) | 1 << ((i >> 6) & 63) | 1 << ((i >> 12) & 63)
        if words[i] & a == a and words[j] & b == b:
            return False
        words[i] |= a
        words[j] |= b  # after i's update: i and j may be the same word
        return True
