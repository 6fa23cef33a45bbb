"""Reading a table's CSV file against the contract: header checks and physical line numbers.

Used by `publish --from` (a user's exports: any delimiter/encoding) and by `load` (canonical
files). Streams records; never holds a whole file in memory.
"""

from __future__ import annotations

import codecs
import csv
import functools
import hashlib
import io
import unicodedata
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO

from frota.contract.tables import Table
from frota.contract.validate import Problem
from frota.errors import BadInputError, ConfigError
from frota.i18n import _

# Huge fields are data too (quarantined as too_long), not a reason to crash the reader.
csv.field_size_limit(64 * 1024 * 1024)


@dataclass(frozen=True)
class FilePolicy:
    """What makes a whole file unusable, beyond a broken header (settings of the same names)."""

    max_file_bytes: int = 2 * 1024**3
    error_threshold: float = 0.10  # more than this fraction of bad rows...
    error_threshold_rows: int = 100  # ...AND more than this many: the file is rejected
    allow_extra_columns: bool = False
    snapshot_max_retire_share: float = 0.20  # a snapshot retiring more is rejected

    @classmethod
    def from_settings(cls, settings: Any) -> FilePolicy:
        policy = cls(
            max_file_bytes=settings.max_file_bytes,
            error_threshold=settings.error_threshold,
            error_threshold_rows=settings.error_threshold_rows,
            allow_extra_columns=settings.allow_extra_columns,
            snapshot_max_retire_share=settings.snapshot_max_retire_share,
        )
        for name in ("error_threshold", "snapshot_max_retire_share"):
            if not 0 <= getattr(policy, name) <= 1:
                message = _("{name} must be a fraction from 0 to 1, got {value}")
                raise ConfigError(message.format(name=name, value=getattr(policy, name)))
        return policy

    def check_size(self, size: int | None, file: str) -> None:
        """Refuse a file larger than max_file_bytes, before reading it."""
        if size is not None and size > self.max_file_bytes:
            raise BadInputError(
                _("{size} bytes, above the limit of {limit} (max_file_bytes)").format(
                    size=f"{size:,}", limit=f"{self.max_file_bytes:,}"
                ),
                file=file,
                hint=_("split the export into smaller batches, or raise max_file_bytes"),
            )

    def check_bad_rows(self, bad: Counter[str], records: int, file: str) -> None:
        """Reject the file when it has too many bad rows (both thresholds exceeded)."""
        total = sum(bad.values())
        if total > self.error_threshold_rows and total > self.error_threshold * records:
            reasons = ", ".join(f"{reason} x{n}" for reason, n in bad.most_common(5))
            message = _(
                "{total} of {records} rows are bad ({reasons}): more than {share} and more "
                "than {rows} rows, so the whole file is rejected"
            )
            raise BadInputError(
                message.format(
                    total=total,
                    records=records,
                    reasons=reasons,
                    share=f"{self.error_threshold:.0%}",
                    rows=self.error_threshold_rows,
                ),
                file=file,
                hint=_(
                    "is this the right file, delimiter and encoding? Fix the export, or raise "
                    "error_threshold / error_threshold_rows in frota.toml"
                ),
            )


def header_key(name: str) -> str:
    """`Data Manutenção ` -> `data_manutencao`: case, spaces and accents do not matter."""
    text = unicodedata.normalize("NFKD", name.strip().lstrip("\ufeff"))
    text = "".join(ch for ch in text if not unicodedata.combining(ch)).lower()
    return "_".join(text.replace("-", " ").split())


# Is a row a copy of the header? Its last cell (dates, categories: few distinct values) says
# no almost always, from this cache.
_cached_key = functools.lru_cache(maxsize=4096)(header_key)


@dataclass
class Record:
    """One CSV record: its first physical line, its fields by column, and its raw text."""

    line: int
    values: dict[str, str]
    raw: str
    problem: Problem | None = None
    fields: list[str] = field(default_factory=list)  # as split from the file


@dataclass
class ReadStats:
    """What the reader saw besides records."""

    records: int = 0
    blank_lines: int = 0
    sha256: str = ""
    bytes: int = 0
    extra_columns: list[str] = field(default_factory=list)
    header_names: dict[str, str] = field(default_factory=dict)  # column -> the file's own name
    columns: list[str | None] = field(default_factory=list)  # each field's column (None: extra)


UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
MAX_LINE_BYTES = 64 * 1024 * 1024
BLOCK_BYTES = 1024 * 1024


class PhysicalLines:
    """The decoded physical lines of a binary stream, one at a time, counted in `line`.

    The stream is read, hashed and decoded in blocks of BLOCK_BYTES cut at a line end, then
    split at `\\n` only (io.StringIO with newline="\\n": C speed, no translation); a byte the
    codec refuses is still reported with its exact line and byte offset. A UTF-8 BOM is
    skipped. Only ASCII-compatible encodings are accepted, so a `\\n` byte always ends a line.
    """

    def __init__(self, stream: BinaryIO, encoding: str, file: str) -> None:
        try:
            info = codecs.lookup(encoding)
        except LookupError:
            raise BadInputError(
                _("unknown encoding {encoding!r}").format(encoding=encoding),
                file=file,
                hint=_("use utf-8, cp1252 (Excel on Windows) or latin-1"),
            ) from None
        self._codec = "utf-8" if info.name in ("utf-8", "utf-8-sig") else info.name
        if "\n,;".encode(self._codec, errors="replace") != b"\n,;":
            raise BadInputError(
                _("encoding {encoding!r} is not supported (not ASCII-compatible)").format(
                    encoding=encoding
                ),
                file=file,
                hint=_("save the file as 'CSV UTF-8' or 'CSV (separado por ponto e vírgula)'"),
            )
        self.encoding = encoding
        self._stream = stream
        self.file = file
        self.digest = hashlib.sha256()
        self.bytes = 0
        self.line = 0  # physical lines handed out so far
        self.column_at: Callable[[str], str | None] = lambda prefix: None

    def __iter__(self) -> Iterator[str]:
        for text in self._texts():
            for line in io.StringIO(text, newline="\n"):
                self.line += 1
                yield line

    def _texts(self) -> Iterator[str]:
        """The stream decoded, in blocks of whole lines (the last may lack its line end)."""
        read = self._stream.read
        pending: list[bytes] = []  # the start of a line that has not ended yet
        pending_bytes = 0
        offset = 0  # file offset of the first byte of the next data block
        while block := read(BLOCK_BYTES):
            self.digest.update(block)
            self.bytes += len(block)
            cut = block.rfind(b"\n") + 1
            if not cut:
                pending.append(block)
                pending_bytes += len(block)
                if pending_bytes > MAX_LINE_BYTES:
                    raise BadInputError(
                        _("a line longer than {megabytes} MB").format(
                            megabytes=MAX_LINE_BYTES // (1024 * 1024)
                        ),
                        file=self.file,
                        line=self.line + 1,
                        hint=_("is this a CSV file?"),
                    )
                continue
            data = b"".join([*pending, block[:cut]]) if pending else block[:cut]
            pending = [block[cut:]] if cut < len(block) else []
            pending_bytes = len(block) - cut
            yield from self._decoded(data, offset)
            offset += len(data)
        if pending:
            yield from self._decoded(b"".join(pending), offset)

    def _decoded(self, data: bytes, offset: int) -> Iterator[str]:
        """`data` (whole lines starting at file offset `offset`) as text. Undecodable bytes:
        the lines before them are handed out first, then the error names their line."""
        if offset == 0:
            if data.startswith(_UTF16_BOMS):
                raise BadInputError(
                    _("the file is UTF-16 (Excel 'Unicode text'), not a CSV frota reads"),
                    file=self.file,
                    line=1,
                    hint=_("save it as 'CSV UTF-8' or 'CSV (separado por ponto e vírgula)'"),
                )
            if self._codec == "utf-8" and data.startswith(UTF8_BOM):
                data, offset = data[len(UTF8_BOM) :], len(UTF8_BOM)
        try:
            yield data.decode(self._codec)
            return
        except UnicodeDecodeError as exc:
            error = exc
        start = data.rfind(b"\n", 0, error.start) + 1
        if start:
            yield data[:start].decode(self._codec)  # good: its lines are read before we go on
        body = data[start : data.find(b"\n", error.start) + 1 or len(data)]
        at = error.start - start
        bad = body[at : at + error.end - error.start]
        prefix = body[:at].decode(self._codec, errors="replace")
        message = _(
            "bytes that are not valid {encoding}: {bad} at byte offset {offset} of the file "
            "(byte {byte} of the line)"
        )
        raise BadInputError(
            message.format(
                encoding=self.encoding, bad=repr(bad), offset=offset + error.start, byte=at + 1
            ),
            file=self.file,
            line=self.line + 1,
            column=self.column_at(prefix),
            hint=_("set the file's encoding, e.g. --encoding cp1252 for Excel on Windows"),
        )


def map_header(
    header: list[str], table: Table, file: str, *, allow_extra: bool = False, line: int = 1
) -> tuple[list[str | None], list[str]]:
    """Map a file's header to contract columns; BadInputError for an unusable header.

    Returns the contract column for each position (None for an ignored extra column) and the
    list of extra column names.
    """
    known = {header_key(c.name): c.name for c in table.csv_columns}
    known.update({header_key(a): c.name for c in table.csv_columns for a in c.aliases})
    mapped: list[str | None] = []
    extras: list[str] = []
    seen: dict[str, int] = {}
    for position, name in enumerate(header, start=1):
        key = header_key(name)
        if not key:
            raise BadInputError(
                _("header field {position} is empty").format(position=position),
                file=file,
                line=line,
                hint=_("every column needs a name; delete empty columns at the end of the sheet"),
            )
        column = known.get(key)
        key = column or key  # an alias and its column's own name are the same column
        if key in seen:
            raise BadInputError(
                _("duplicated header {name!r} (fields {first} and {second})").format(
                    name=name.strip(), first=seen[key], second=position
                ),
                file=file,
                line=line,
                column=name.strip(),
            )
        seen[key] = position
        if column is None:
            if not allow_extra:
                raise BadInputError(
                    _("unknown column {name!r}").format(name=name.strip()),
                    file=file,
                    line=line,
                    column=name.strip(),
                    hint=_(
                        "expected columns: {columns} (or set allow_extra_columns = true in "
                        "frota.toml to ignore extra columns)"
                    ).format(columns=", ".join(table.csv_header)),
                )
            extras.append(name.strip())
        mapped.append(column)
    missing = [c for c in table.required_header if c not in mapped]
    if missing:
        raise BadInputError(
            _("missing required column(s) {columns}").format(columns=", ".join(missing)),
            file=file,
            line=line,
            column=missing[0],
            hint=_("the header must name at least: {columns}").format(
                columns=", ".join(table.required_header)
            ),
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
    fast: Callable[[str, int], bool] | None = None,
    fast_any_header: bool = False,
) -> Iterator[Record]:
    """Yield the records of a table's CSV; `stats` gets blank lines, sha256 and size at the end.

    Raises BadInputError (file, line, column) for what makes the whole file unusable: a bad
    header, an empty file, undecodable bytes. Row-level problems (ragged row, repeated header)
    come back as a Record with a Problem; a line of only empty fields counts as blank.

    `fast(line, number)` (the loader's, see frota.load.fastpath) sees each line that starts a
    record first, when the header is exactly the contract's columns in order; a line it takes
    (True) is counted as a record, not parsed and not yielded. With `fast_any_header` it
    sees them whatever the header (it reads the columns from `stats.columns`).
    """
    stats = stats if stats is not None else ReadStats()
    lines = PhysicalLines(stream, encoding, file)
    claim = False  # True while the csv reader stands between two records: `fast` may claim

    def unclaimed() -> Iterator[str]:
        nonlocal claim
        for text in lines:
            if claim and fast(text, lines.line):  # type: ignore[misc]
                stats.records += 1
                continue
            claim = False  # the reader has this line: until it ends a record, none is claimed
            yield text

    reader = csv.reader(unclaimed() if fast is not None else lines, delimiter=delimiter)
    line = 0
    try:
        header = next(reader, None)
        while header is not None and _is_blank(header):  # blank lines above the header
            stats.blank_lines += reader.line_num - line
            line = reader.line_num
            header = next(reader, None)
        if header is None:
            raise BadInputError(
                _("the file is empty (no header line)"),
                file=file,
                line=line + 1,
                hint=_("export the table again with its header line"),
            )
        header_line = line + 1
        mapped, stats.extra_columns = map_header(
            header, table, file, allow_extra=allow_extra, line=header_line
        )
        names = [h.strip() for h in header]
        stats.header_names = {col: name for col, name in zip(mapped, names, strict=True) if col}
        lines.column_at = lambda prefix: _column_at(prefix, names, delimiter)
        header_keys = [header_key(h) for h in header]
        stats.columns = mapped
        may_claim = fast is not None and (fast_any_header or tuple(mapped) == table.csv_header)
        claim = may_claim
        read_so_far = reader.line_num  # lines the csv reader has been given
        for fields in reader:
            claim = may_claim
            # The reader reads no further than a record's last line, so lines.line is that line.
            span, read_so_far = reader.line_num - read_so_far, reader.line_num
            start = lines.line - span + 1
            if _is_blank(fields):
                stats.blank_lines += span
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
                    fields,
                )
                continue
            if (
                _cached_key(fields[-1]) == header_keys[-1]
                and [_cached_key(f) for f in fields] == header_keys
            ):
                problem = Problem("repeated_header", None, "a copy of the header line")
                yield Record(start, {}, raw, problem, fields)
                continue
            values = {col: value for col, value in zip(mapped, fields, strict=True) if col}
            yield Record(start, values, raw, None, fields)
    except csv.Error as exc:
        raise BadInputError(
            _("unreadable CSV: {error}").format(error=exc),
            file=file,
            line=lines.line,
            hint=_("a line break or quote inside a value must be inside a quoted field"),
        ) from None
    stats.sha256 = lines.digest.hexdigest()
    stats.bytes = lines.bytes


def _is_blank(fields: list[str]) -> bool:
    """An empty line, or only empty fields (Excel's `;;;;` rows)."""
    return all(not f.strip() for f in fields)


def _column_at(prefix: str, names: list[str], delimiter: str) -> str | None:
    """The header name of the field a line's text prefix ends in (for error messages)."""
    fields = next(csv.reader([prefix], delimiter=delimiter), [""])
    index = max(len(fields) - 1, 0)
    return names[index] if index < len(names) else None


def _raw_text(fields: list[str], delimiter: str) -> str:
    # The line terminator must hold \r\n, or a field with a line break would not be quoted.
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerow(fields)
    return out.getvalue()[:-2]
