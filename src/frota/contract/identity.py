"""A maintenance record's identity (DESIGN §5b): the key `manutencoes.chave` holds, and the
database keeps UNIQUE. Computed here and nowhere else.

- With a work-order number (`id_origem`): `o` + a digest of (source, id_origem). A later
  batch of the same source with that number is the same record: it updates it.
- Without one: `f` + a digest of the row's canonical business cells (every CSV column but
  id_origem, as the canonical CSV spells them) + `:k`, k the occurrence of that identical row
  inside its batch (1 for the first). Two identical services in one export are two records;
  the k-th identical row of a later batch is the k-th record already stored.

Digests are 160-bit BLAKE2b in hex: the key is at most 41 + 1 + digits(k) characters.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from hashlib import blake2b
from typing import Any

from frota.contract.canonical import format_value
from frota.contract.tables import MANUTENCOES

ORIGIN = "id_origem"
KEY_LENGTH = 64  # manutencoes.chave
_SEP = "\x1f"  # unit separator: never in a contract value (control characters are refused)
_DIGEST_BYTES = 20
BUSINESS_COLUMNS = tuple(c for c in MANUTENCOES.csv_header if c != ORIGIN)
# The canonical CSV puts id_origem last: a line's cells minus the last are its business cells.
assert MANUTENCOES.csv_header[-1] == ORIGIN


def _digest(text: str) -> str:
    return blake2b(text.encode(), digest_size=_DIGEST_BYTES).hexdigest()


def origin_key(source: str, id_origem: str) -> str:
    """The key of a record the source numbers itself: (source, work-order number)."""
    return "o" + _digest(source + _SEP + id_origem)


def fingerprint(business_cells: Sequence[str]) -> str:
    """The digest of a row without a work-order number (its cells, canonical, in CSV order)."""
    return "f" + _digest(_SEP.join(business_cells))


def fingerprint_key(print_: str, occurrence: int) -> str:
    """The key of the `occurrence`-th (1, 2, …) identical row of a batch."""
    return f"{print_}:{occurrence}"


def business_cells(row: Mapping[str, Any]) -> list[str]:
    """A typed row's business cells as the canonical CSV writes them."""
    return [format_value(row.get(c)) for c in BUSINESS_COLUMNS]


def record_key(source: str, row: Mapping[str, Any], occurrence: int = 1) -> str:
    """The key of a typed row: by work-order number if it has one, else by fingerprint."""
    origin = row.get(ORIGIN)
    if origin:
        return origin_key(source, origin)
    return fingerprint_key(fingerprint(business_cells(row)), occurrence)
