"""A maintenance record's identity (DESIGN §5b): the key `manutencoes.chave` holds, and the
database keeps UNIQUE. Computed here and nowhere else.

- With a work-order number (`id_origem`): `o` + S + `:` + the work order's UTF-8 bytes in
  lowercase hex, S = a 64-bit BLAKE2b digest of the source (16 hex digits); a work order
  longer than 23 bytes (its hex would pass 64 characters) is `o` + S + `#` + a digest of it.
  A later batch of the same source with that number is the same record: it updates it.
- Without one: `f` + a digest of the row's canonical business cells (every CSV column but
  id_origem, as the canonical CSV spells them) + `:k`, k the occurrence of that identical row
  inside its batch (1 for the first). Two identical services in one export are two records;
  the k-th identical row of a later batch is the k-th record already stored.

Why ordered: one source's work orders share their prefix and sort as their bytes do, so a
shop's ascending work orders land next to each other in the UNIQUE index (a digest put each
insert on a random leaf: most of the gap to the load speed goals, docs/benchmarks.md). Why hex
and not the text: MariaDB's collation (utf8mb4_general_ci) ignores case and trailing spaces,
MySQL 8's also accents, so "OS-a"/"OS-A" would collide in the index; lowercase hex is equal
only for equal bytes under every collation, and keeps their order.

Lengths: a work-order key is 1 + 16 + 1 + 2 x bytes (at most 64) or 58 characters; a
fingerprint key is 41 + 1 + digits(k) (160-bit BLAKE2b in hex). Schema revisions 0005-0008
keyed work orders by `origin_key` ("o" + 40 hex digits); migration 0009 rewrote those keys.
The three shapes never meet: only work-order keys hold ':' or '#' after "o", only
fingerprints start with "f".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from hashlib import blake2b
from typing import Any

from frota.contract.canonical import format_value
from frota.contract.tables import MANUTENCOES

ORIGIN = "id_origem"
KEY_LENGTH = 64  # manutencoes.chave
ORIGIN_PREFIX = "o"  # of a key by work-order number (a fingerprint key starts with "f")
_SEP = "\x1f"  # unit separator: never in a contract value (control characters are refused)
_DIGEST_BYTES = 20
_SOURCE_BYTES = 8
_ORDERED_BYTES = (KEY_LENGTH - 2 - 2 * _SOURCE_BYTES) // 2  # 23: "o" + S + ":" + hex <= 64
BUSINESS_COLUMNS = tuple(c for c in MANUTENCOES.csv_header if c != ORIGIN)
# The canonical CSV puts id_origem last: a line's cells minus the last are its business cells.
assert MANUTENCOES.csv_header[-1] == ORIGIN


def _digest(text: str) -> str:
    return blake2b(text.encode(), digest_size=_DIGEST_BYTES).hexdigest()


@lru_cache(maxsize=256)  # a batch has one source: the loader asks for it once a row
def _source_prefix(source: str) -> str:
    return "o" + blake2b(source.encode(), digest_size=_SOURCE_BYTES).hexdigest()


def work_order_key(source: str, id_origem: str) -> str:
    """The key of a record the source numbers itself: (source, work-order number), ordered
    like the work orders of that source."""
    prefix = _source_prefix(source)
    number = id_origem.encode()
    if len(number) <= _ORDERED_BYTES:
        return prefix + ":" + number.hex()
    return prefix + "#" + _digest(id_origem)


def origin_key(source: str, id_origem: str) -> str:
    """The key of schema revisions 0005–0008; released migrations import it; new keys:
    work_order_key."""
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
        return work_order_key(source, origin)
    return fingerprint_key(fingerprint(business_cells(row)), occurrence)
