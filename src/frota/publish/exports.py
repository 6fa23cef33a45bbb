"""A user's own CSV exports -> canonical CSVs.

Accepts what real exports look like: `,` or `;`, UTF-8 (with or without BOM) or cp1252,
CRLF, decimal comma with thousands dots, `dd/mm/yyyy` dates, header names in any case, with
spaces or accents, plates written `abc-1234`. File-level problems (bad header, undecodable
bytes, empty file) stop the publish with file, line and column. A value that does not parse is
passed through unchanged so the loader quarantines it with its reason: nothing is dropped.
"""

from __future__ import annotations

import csv
from collections import Counter
from datetime import date
from pathlib import Path

from frota.canonical import format_value
from frota.contract import TABLES, Table
from frota.errors import BadInputError
from frota.tabular import ReadStats, header_key, read_records
from frota.validate import NumberFormat, ValueProblem, parse_value


def detect_encoding(path: Path) -> str:
    """utf-8-sig if the file decodes as UTF-8 (BOM or not), else cp1252 (Excel on Windows)."""
    with open(path, "rb") as fh:
        decoder = __import__("codecs").getincrementaldecoder("utf-8")()
        try:
            while chunk := fh.read(1 << 20):
                decoder.decode(chunk)
            decoder.decode(b"", final=True)
        except UnicodeDecodeError:
            return "cp1252"
    return "utf-8-sig"


def detect_delimiter(path: Path, encoding: str) -> str:
    """`;` or `,`: whichever the header line holds more of."""
    with open(path, encoding=encoding, errors="replace", newline="") as fh:
        first = fh.readline()
    return ";" if first.count(";") > first.count(",") else ","


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
) -> list[str]:
    """Write canonical versions of the exports in `source` into `target`; return a report."""
    today = today or date.today()
    report = []
    for table, path in find_table_files(source).items():
        enc = encoding or detect_encoding(path)
        sep = delimiter or detect_delimiter(path, enc)
        fmt = NumberFormat(decimal_comma=(sep == ";") if decimal_comma is None else decimal_comma)
        stats = ReadStats()
        problems: Counter[str] = Counter()
        out_path = target / table.file_name
        with open(path, "rb") as fh, open(out_path, "w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(table.csv_header)
            for rec in read_records(fh, table, path.name, encoding=enc, delimiter=sep, stats=stats):
                if rec.problem:
                    # Kept as it was: the loader quarantines it with this reason.
                    problems[rec.problem.reason] += 1
                    writer.writerow(next(csv.reader([rec.raw], delimiter=sep)))
                    continue
                cells = []
                for col in table.csv_columns:
                    text = (rec.values.get(col.name) or "").strip()
                    try:
                        cells.append(
                            format_value(parse_value(col, text, fmt, today)) if text else ""
                        )
                    except ValueProblem as exc:
                        problems[exc.reason] += 1
                        cells.append(text)
                writer.writerow(cells)
        line = (
            f"{path.name}: {stats.records} rows ({enc}, delimiter {sep!r}, decimal "
            f"{'comma' if fmt.decimal_comma else 'point'}) -> {table.file_name}"
        )
        if problems:
            line += "; values the loader will quarantine: " + ", ".join(
                f"{reason} x{n}" for reason, n in sorted(problems.items())
            )
        report.append(line)
    return report
