"""A user's own CSV exports -> canonical CSVs, and the problems found, in the export's terms.

Accepts what real exports look like: `,` or `;` (or Excel's `sep=;` first line), UTF-8 (with or
without BOM), cp1252/latin-1 or UTF-16 (with or without BOM), CRLF, LF or CR line ends, quoted
fields with delimiters, quotes and line breaks, decimal comma with thousands dots, `dd/mm/yyyy`
dates, header names in any case, with spaces or accents, plates written `abc-1234`.

File-level problems (bad header, undecodable bytes, empty file, too large, too many bad rows)
refuse the file with file, line and column. A record or value that does not parse is passed
through unchanged, so the loader quarantines it with its reason: nothing is dropped; each is
also a `Finding` (file, line, the export's own column name, what is wrong), for the publisher to
see before the loader holds it. A file with only a header is a table with no rows today. Blank
lines are written as blank lines, so a canonical file's line numbers are the export's.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path

from frota.contract import TABLES, Table
from frota.contract.canonical import format_value
from frota.contract.sheet import QUARANTINE_ID
from frota.contract.tabular import FilePolicy, ReadStats, Record, header_key, read_records
from frota.contract.validate import NumberFormat, ValueProblem, canonical_text, parse_value
from frota.errors import BadInputError
from frota.i18n import _
from frota.publish.fastlines import FastLines
from frota.publish.findings import ExportCheck, FileCheck, Finding
from frota.publish.formats import ExportFormat, normalised, sniff

# Files an export folder may hold without a word: the system's own, and frota's.
_QUIET = frozenset({"desktop.ini", "thumbs.db"})

OnFinding = Callable[[Finding], None]


def find_table_files(directory: Path) -> tuple[dict[Table, Path], list[str]]:
    """veiculos / manutencoes files in a folder, matched by name ignoring case and accents;
    and the names of the other files in it (not hidden ones, not folders)."""
    if not directory.is_dir():
        raise BadInputError(_("not a folder"), file=str(directory))
    by_key: dict[str, list[Path]] = {}
    others: list[str] = []
    names = {t.name for t in TABLES}
    for path in sorted(directory.iterdir()):
        if not path.is_file() or path.name.startswith(".") or path.name.lower() in _QUIET:
            continue
        key = header_key(path.stem)
        if path.suffix.lower() in (".csv", ".txt") and key in names:
            by_key.setdefault(key, []).append(path)
        else:
            others.append(path.name)
    found: dict[Table, Path] = {}
    for table in TABLES:
        paths = by_key.get(table.name, [])
        if len(paths) > 1:
            raise BadInputError(
                _("more than one file for {table}: {files}").format(
                    table=table.name, files=", ".join(p.name for p in paths)
                ),
                file=str(directory),
                hint=_("keep one file per table in the folder"),
            )
        if paths:
            found[table] = paths[0]
    if not found:
        raise BadInputError(
            _("no veiculos.csv or manutencoes.csv found"),
            file=str(directory),
            hint=_("name the exports veiculos.csv and manutencoes.csv"),
        )
    return found, others


def canonicalize_exports(
    source: Path,
    target: Path,
    *,
    encoding: str | None = None,
    delimiter: str | None = None,
    decimal_comma: bool | None = None,
    today: date | None = None,
    policy: FilePolicy | None = None,
    on_finding: OnFinding | None = None,
    keep_going: bool = False,
) -> ExportCheck:
    """Write canonical versions of the exports in `source` into `target`; say what was found.

    A refused file raises BadInputError, or with `keep_going` (a dry run) is recorded and the
    next file checked. `on_finding` is told every problem, in file and line order.
    """
    today = today or date.today()
    policy = policy or FilePolicy()
    found, others = find_table_files(source)
    check = ExportCheck(unexpected=others)
    for table, path in found.items():
        result = FileCheck(path.name, table.name)
        check.files.append(result)
        try:
            policy.check_size(path.stat().st_size, path.name)  # before reading a byte
            fmt = sniff(path, encoding=encoding, delimiter=delimiter)
            _not_a_quarantine_sheet(path, fmt)
            if decimal_comma is None:
                # `;` and tab: what a pt-BR Excel writes, with its decimal comma.
                numbers = NumberFormat(decimal_comma=fmt.delimiter in (";", "\t"))
            else:
                numbers = NumberFormat(decimal_comma=decimal_comma)
            result.described = fmt.describe() + (
                ", " + (_("decimal comma") if numbers.decimal_comma else _("decimal point"))
            )
            _canonicalize(table, path, target, fmt, numbers, today, policy, result, on_finding)
        except BadInputError as exc:
            if not keep_going:
                raise
            result.refused = Finding.refused(exc, path.name)
            if on_finding is not None:
                on_finding(result.refused)
    return check


_HEADER_BYTES = 64 * 1024  # a header is far shorter


def _not_a_quarantine_sheet(path: Path, fmt: ExportFormat) -> None:
    """BadInputError for a corrected quarantine sheet: its rows are held on the server, and
    published as a new batch they would load beside the held ones (twice, once retried)."""
    with normalised(path, fmt) as raw:
        head = raw.read(_HEADER_BYTES).decode(fmt.reader_encoding, errors="replace")
    header = next(csv.reader(io.StringIO(head), delimiter=fmt.delimiter), [])
    if QUARANTINE_ID in {header_key(name) for name in header}:
        raise BadInputError(
            _("{file} is a quarantine sheet (frota quarantine export), not an export").format(
                file=path.name
            ),
            file=path.name,
            line=1,
            column=QUARANTINE_ID,
            hint=_(
                "its rows are held on the server: send the corrected sheet there with "
                "`frota quarantine retry --from {file}`, which releases exactly those rows"
            ).format(file=path.name),
        )


def _canonicalize(
    table: Table,
    path: Path,
    target: Path,
    fmt: ExportFormat,
    numbers: NumberFormat,
    today: date,
    policy: FilePolicy,
    result: FileCheck,
    on_finding: OnFinding | None,
) -> None:
    stats = ReadStats()
    bad_rows: Counter[str] = Counter()  # reason of each bad row's first problem (threshold)
    width = len(table.csv_header)
    with (
        normalised(path, fmt) as fh,
        open(target / table.file_name, "w", encoding="utf-8", newline="") as out,
    ):
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(table.csv_header)
        written = [1]  # physical lines written so far (shared with the fast path)
        fast = FastLines(table, stats, out, fmt.delimiter, numbers, today, written)
        records = read_records(
            fh,
            table,
            path.name,
            encoding=fmt.reader_encoding,
            delimiter=fmt.delimiter,
            allow_extra=policy.allow_extra_columns,
            stats=stats,
            fast=fast.take,
            fast_any_header=True,
        )
        for rec in records:
            cells, problems = _canonical_cells(table, rec, numbers, today, width)
            if problems:
                bad_rows[problems[0][0]] += 1
                for reason, column, value in problems:
                    finding = Finding.of_value(
                        path.name, rec.line, stats.header_names.get(column or ""), reason, value
                    )
                    result.add(finding)
                    if on_finding is not None:
                        on_finding(finding)
            fast.flush()  # the lines it took come first
            out.write("\n" * (rec.line - written[0] - 1))  # keep the export's line numbers
            writer.writerow(cells)
            written[0] = rec.line + sum(c.count("\n") for c in cells)
        fast.flush()
    policy.check_bad_rows(bad_rows, stats.records, path.name)
    result.rows = stats.records
    result.held_rows = sum(bad_rows.values())
    result.blank_lines = stats.blank_lines - (1 if fmt.sep_line else 0)
    result.extra_columns = stats.extra_columns


# (reason, contract column or None for the whole row, the value as written)
_Problem = tuple[str, str | None, str]


def _canonical_cells(
    table: Table, rec: Record, fmt: NumberFormat, today: date, width: int
) -> tuple[list[str], list[_Problem]]:
    """A record as canonical cells, and the problems the loader will quarantine it for."""
    if rec.problem is not None:
        if rec.problem.reason == "repeated_header":
            return list(table.csv_header), [(rec.problem.reason, None, "")]
        # Ragged: kept ragged (never `width` fields, which would shift values into columns).
        fields = rec.fields if len(rec.fields) != width else [*rec.fields, ""]
        return fields, [(rec.problem.reason, None, "")]
    cells: list[str] = []
    problems: list[_Problem] = []
    parsed = {}
    for col in table.csv_columns:
        text = (rec.values.get(col.name) or "").strip()
        if not text and col.required:
            problems.append(("missing_value", col.name, ""))
        try:
            parsed[col.name] = parse_value(col, text, fmt, today) if text else None
            cells.append(format_value(parsed[col.name]) if text else "")
        except ValueProblem as exc:
            problems.append((exc.reason, col.name, text))
            cells.append(canonical_text(col, text, fmt))  # the loader quarantines it too
    servico, conclusao = parsed.get("data_manutencao"), parsed.get("data_conclusao")
    if servico is not None and conclusao is not None and conclusao < servico:
        value = (rec.values.get("data_conclusao") or "").strip()
        problems.append(("conclusion_before_service", "data_conclusao", value))
    return cells, problems
