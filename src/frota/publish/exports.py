"""A user's own CSV exports -> canonical CSVs.

Accepts what real exports look like: `,` or `;`, UTF-8 (with or without BOM) or cp1252/latin-1,
CRLF, quoted fields with delimiters, quotes and line breaks, decimal comma with thousands dots,
`dd/mm/yyyy` dates, header names in any case, with spaces or accents, plates written `abc-1234`.

File-level problems (bad header, undecodable bytes, empty file, too large, too many bad rows)
stop the publish with file, line and column. A record or value that does not parse is passed
through unchanged, so the loader quarantines it with its reason: nothing is dropped. Blank lines
are written as blank lines, so a canonical file's line numbers are the export's line numbers.
"""

from __future__ import annotations

import codecs
import csv
from collections import Counter
from datetime import date
from pathlib import Path

from frota.contract import TABLES, Table
from frota.contract.canonical import format_value
from frota.contract.tabular import UTF8_BOM, FilePolicy, ReadStats, Record, header_key, read_records
from frota.contract.validate import NumberFormat, ValueProblem, canonical_text, parse_value
from frota.errors import BadInputError

_SNIFF_BYTES = 1 << 20


def detect_encoding(path: Path) -> str:
    """utf-8-sig for a BOM or a file that decodes as UTF-8, else cp1252 (Excel on Windows)."""
    with open(path, "rb") as fh:
        if fh.read(len(UTF8_BOM)) == UTF8_BOM:
            return "utf-8-sig"  # a BOM says UTF-8: a bad byte later is an error, not cp1252
        fh.seek(0)
        decoder = codecs.getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(_SNIFF_BYTES):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def detect_delimiter(path: Path, encoding: str) -> str:
    """`;` or `,`: whichever the first non-blank line (the header) holds more of."""
    with open(path, "rb") as fh:
        for raw in fh:
            first = raw.decode(encoding, errors="replace")
            if first.strip():
                return ";" if first.count(";") > first.count(",") else ","
    return ","


def find_table_files(directory: Path) -> dict[Table, Path]:
    """veiculos / manutencoes files in a folder, matched by name ignoring case and accents."""
    if not directory.is_dir():
        raise BadInputError("not a folder", file=str(directory))
    by_key: dict[str, list[Path]] = {}
    for path in sorted(directory.iterdir()):
        if path.is_file() and path.suffix.lower() in (".csv", ".txt"):
            by_key.setdefault(header_key(path.stem), []).append(path)
    found: dict[Table, Path] = {}
    for table in TABLES:
        paths = by_key.get(table.name, [])
        if len(paths) > 1:
            raise BadInputError(
                f"more than one file for {table.name}: {', '.join(p.name for p in paths)}",
                file=str(directory),
                hint="keep one file per table in the folder",
            )
        if paths:
            found[table] = paths[0]
    if not found:
        raise BadInputError(
            "no veiculos.csv or manutencoes.csv found",
            file=str(directory),
            hint="name the exports veiculos.csv and manutencoes.csv",
        )
    return found


def canonicalize_exports(
    source: Path,
    target: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal_comma: bool | None = None,
    today: date | None = None,
    policy: FilePolicy | None = None,
) -> list[str]:
    """Write canonical versions of the exports in `source` into `target`; return a report."""
    today = today or date.today()
    policy = policy or FilePolicy()
    report = []
    for table, path in find_table_files(source).items():
        policy.check_size(path.stat().st_size, path.name)  # before reading a byte
        enc = _known_encoding(encoding, path.name) if encoding else detect_encoding(path)
        sep = delimiter or detect_delimiter(path, enc)
        fmt = NumberFormat(decimal_comma=(sep == ";") if decimal_comma is None else decimal_comma)
        report.append(_canonicalize(table, path, target, enc, sep, fmt, today, policy))
    return report


def _known_encoding(name: str, file: str) -> str:
    try:
        codecs.lookup(name)
    except LookupError:
        raise BadInputError(
            f"unknown encoding {name!r}",
            file=file,
            hint="use utf-8, cp1252 (Excel on Windows) or latin-1",
        ) from None
    return name


def _canonicalize(
    table: Table,
    path: Path,
    target: Path,
    enc: str,
    sep: str,
    fmt: NumberFormat,
    today: date,
    policy: FilePolicy,
) -> str:
    stats = ReadStats()
    problems: Counter[str] = Counter()  # reason -> values (for the report)
    bad_rows: Counter[str] = Counter()  # reason of each bad row's first problem (threshold)
    width = len(table.csv_header)
    with (
        open(path, "rb") as fh,
        open(target / table.file_name, "w", encoding="utf-8", newline="") as out,
    ):
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.csv_header)
        written = 1  # physical lines written so far
        records = read_records(
            fh,
            table,
            path.name,
            encoding=enc,
            delimiter=sep,
            allow_extra=policy.allow_extra_columns,
            stats=stats,
        )
        for rec in records:
            cells, reasons = _canonical_cells(table, rec, fmt, today, width)
            if reasons:
                problems.update(reasons)
                bad_rows[reasons[0]] += 1
            out.write("\n" * (rec.line - written - 1))  # keep the export's line numbers
            writer.writerow(cells)
            written = rec.line + sum(c.count("\n") for c in cells)
    if stats.records == 0:
        raise BadInputError(
            "the file has a header but no data rows",
            file=path.name,
            line=2,
            hint="export the table again with its rows, or leave the file out of the folder",
        )
    policy.check_bad_rows(bad_rows, stats.records, path.name)
    line = (
        f"{path.name}: {stats.records} rows ({enc}, delimiter {sep!r}, decimal "
        f"{'comma' if fmt.decimal_comma else 'point'}) -> {table.file_name}"
    )
    if stats.blank_lines:
        line += f"; {stats.blank_lines} blank line(s)"
    if stats.extra_columns:
        line += "; extra columns left out: " + ", ".join(stats.extra_columns)
    if problems:
        line += "; values the loader will quarantine: " + ", ".join(
            f"{reason} x{n}" for reason, n in sorted(problems.items())
        )
    return line


def _canonical_cells(
    table: Table, rec: Record, fmt: NumberFormat, today: date, width: int
) -> tuple[list[str], list[str]]:
    """A record as canonical cells, and the reasons the loader will quarantine it for."""
    if rec.problem is not None:
        if rec.problem.reason == "repeated_header":
            return list(table.csv_header), [rec.problem.reason]
        # Ragged: kept ragged (never `width` fields, which would shift values into columns).
        fields = rec.fields if len(rec.fields) != width else [*rec.fields, ""]
        return fields, [rec.problem.reason]
    cells, reasons = [], []
    for col in table.csv_columns:
        text = (rec.values.get(col.name) or "").strip()
        if not text and col.required:
            reasons.append("missing_value")
        try:
            cells.append(format_value(parse_value(col, text, fmt, today)) if text else "")
        except ValueProblem as exc:
            reasons.append(exc.reason)
            cells.append(canonical_text(col, text, fmt))  # the loader quarantines it too
    return cells, reasons
