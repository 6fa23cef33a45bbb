"""Reading a table's CSV file against the contract: header checks and physical line numbers.

Used by `publish --from` (a user's exports: any delimiter/encoding) and by `load` (canonical
files). Streams records; never holds a whole file in memory.
"""

from __future__ import annotations

import csv
import hashlib
import io
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from frota.contract import Table
from frota.errors import BadInputError
from frota.validate import Problem

# Huge fields are data too (quarantined as too_long), not a reason to crash the reader.
csv.field_size_limit(64 * 1024 * 1024)


def header_key(name: str) -> str:
    """`Data Manutenção ` -> `data_manutencao`: case, spaces and accents do not matter."""
    text = unicodedata.normalize("NFKD", name.strip().lstrip("\ufeff"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return "_".join(text.replace("-", " ").split())


@dataclass
class Record:
    """One CSV record: its first physical line, its fields by column, and its raw text."""

    line: int
    values: dict[str, str]
    raw: str
    problem: Problem | None = None


@dataclass
class ReadStats:
    """What the reader saw besides records."""

    records: int = 0
    blank_lines: int = 0
    sha256: str = ""
    bytes: int = 0
    extra_columns: list[str] = field(default_factory=list)


class HashingReader(io.RawIOBase):
    """Wraps a binary stream and hashes/counts every byte read through it."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self.digest = hashlib.sha256()
        self.bytes = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.digest.update(data)
        self.bytes += n
        return n


def map_header(
    header: list[str], table: Table, file: str, *, allow_extra: bool = False
) -> tuple[list[str | None], list[str]]:
    """Map a file's header to contract columns; BadInputError for an unusable header.

    Returns the contract column for each position (None for an ignored extra column) and the
    list of extra column names.
    """
    known = {header_key(c.name): c.name for c in table.csv_columns}
    mapped: list[str | None] = []
    extras: list[str] = []
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        key = header_key(name)
        if not key:
            raise BadInputError(
                f"header field {position} is empty",
                file=file,
                line=1,
                hint="every column needs a name in the first line",
            )
        if key in seen:
            raise BadInputError(
                f"duplicated header {name.strip()!r} (fields {seen[key]} and {position})",
                file=file,
                line=1,
                column=name.strip(),
            )
        seen[key] = position
        column = known.get(key)
        if column is None:
            if not allow_extra:
                raise BadInputError(
                    f"unknown column {name.strip()!r}",
                    file=file,
                    line=1,
                    column=name.strip(),
                    hint="expected columns: "
                    + ", ".join(table.csv_header)
                    + " (or allow extra columns in the settings)",
                )
            extras.append(name.strip())
        mapped.append(column)
    missing = [c for c in table.required_header if c not in mapped]
    if missing:
        raise BadInputError(
            f"missing required column(s) {', '.join(missing)}",
            file=file,
            line=1,
            column=missing[0],
            hint="the header must name at least: " + ", ".join(table.required_header),
        )
    return mapped, extras


def read_records(
    stream: BinaryIO,
    table: Table,
    file: str,
    *,
    encoding: str = "utf-8",
    delimiter: str = ",",
    allow_extra: bool = False,
    stats: ReadStats | None = None,
) -> Iterator[Record]:
    """Yield the records of a table's CSV; `stats` gets blank lines, sha256 and size at the end.

    Raises BadInputError (file, line, column) for what makes the whole file unusable: a bad
    header, an empty file, undecodable bytes.
    """
    stats = stats if stats is not None else ReadStats()
    hashing = HashingReader(stream)
    text = io.TextIOWrapper(
        io.BufferedReader(hashing, 1 << 16), encoding=encoding, errors="strict", newline=""
    )
    reader = csv.reader(text, delimiter=delimiter)
    line = 0
    try:
        header = next(reader, None)
        if header is None:
            raise BadInputError("the file is empty (no header line)", file=file, line=1)
        line = reader.line_num
        mapped, stats.extra_columns = map_header(header, table, file, allow_extra=allow_extra)
        header_keys = [header_key(h) for h in header]
        for fields in reader:
            start, line = line + 1, reader.line_num
            if not fields or fields == [""] * len(fields) and len(fields) <= 1:
                stats.blank_lines += line - start + 1
                continue
            stats.records += 1
            raw = _raw_text(fields, delimiter)
            if len(fields) != len(mapped):
                yield Record(
                    start,
                    {},
                    raw,
                    Problem(
                        "ragged_row",
                        None,
                        f"{len(fields)} fields; the header has {len(mapped)}",
                    ),
                )
                continue
            if [header_key(f) for f in fields] == header_keys:
                yield Record(start, {}, raw, Problem("repeated_header", None, "header repeated"))
                continue
            values = {col: value for col, value in zip(mapped, fields, strict=True) if col}
            yield Record(start, values, raw)
    except UnicodeDecodeError as exc:
        raise BadInputError(
            f"bytes that are not valid {encoding} ({exc.object[exc.start : exc.end]!r} near byte "
            f"{hashing.bytes - len(exc.object) + exc.start} of the file)",
            file=file,
            line=line + 1,
            hint="set the file's encoding, e.g. --encoding cp1252 for Excel on Windows",
        ) from None
    except csv.Error as exc:
        raise BadInputError(f"unreadable CSV: {exc}", file=file, line=reader.line_num) from None
    stats.sha256 = hashing.digest.hexdigest()
    stats.bytes = hashing.bytes


def _raw_text(fields: list[str], delimiter: str) -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(fields)
    return out.getvalue()
