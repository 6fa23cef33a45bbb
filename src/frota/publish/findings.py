"""What checking an export found, in the export's own terms: each problem at its file, line and
column (the header name the export itself uses), and per file the rows and the reasons."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from frota.contract.sheet import sheet
from frota.contract.validate import explain, fix_for
from frota.errors import BadInputError
from frota.i18n import N_, _

FILE_REFUSED = "file_refused"  # not a row's reason: the whole file cannot be published
FIRST_FEW = 5


@dataclass(frozen=True)
class Finding:
    """One problem the person who made the export can fix."""

    file: str
    line: int | None
    column: str | None  # the export's own header name
    reason: str  # a reason code of frota.contract.validate.REASONS, or FILE_REFUSED
    message: str  # what is wrong, in words
    value: str = ""  # the value as written in the export
    hint: str = ""

    @property
    def place(self) -> str:
        """`file:line:column`, without the parts that are unknown."""
        parts = [self.file, *(str(p) for p in (self.line, self.column) if p is not None)]
        return ":".join(parts)

    def __str__(self) -> str:
        text = f"{self.place}: {self.message}"
        if self.value:
            text += f": {self.value!r}"
        if self.reason != FILE_REFUSED:
            text += f" [{self.reason}]"
        return text + (" (" + _("hint: {hint}").format(hint=self.hint) + ")" if self.hint else "")

    @classmethod
    def refused(cls, error: BadInputError, file: str) -> Finding:
        """A file-level error as a finding (its file, line and column)."""
        return cls(
            error.file or file,
            error.line,
            error.column,
            FILE_REFUSED,
            error.what,
            hint=error.hint or "",
        )

    @classmethod
    def of_value(cls, file: str, line: int, column: str | None, reason: str, value: str) -> Finding:
        return cls(
            file, line, column, reason, explain(reason) or reason, value, hint=fix_for(reason)
        )


@dataclass
class FileCheck:
    """One export file: what it held, how it was read, and what the loader will hold back."""

    file: str
    table: str
    rows: int = 0
    described: str = ""  # encoding, delimiter…
    blank_lines: int = 0
    extra_columns: list[str] = field(default_factory=list)
    reasons: Counter[str] = field(default_factory=Counter)  # reason -> values
    held_rows: int = 0  # rows the loader will hold (one per row, whatever its problems)
    first: list[Finding] = field(default_factory=list)  # the first few
    refused: Finding | None = None

    def add(self, finding: Finding) -> None:
        self.reasons[finding.reason] += 1
        if len(self.first) < FIRST_FEW:
            self.first.append(finding)

    def summary(self) -> str:
        """One line: the file, its rows and format, and the values the loader will hold."""
        if self.refused is not None:
            message = _("{file}: refused: {why}")
            return message.format(file=self.file, why=self.refused.message)
        canonical = f"{self.table}.csv"
        if self.rows == 0:
            message = _("{file}: no rows today (only a header) -> {canonical}")
            return message.format(file=self.file, canonical=canonical)
        line = _("{file}: {rows} rows ({described}) -> {canonical}").format(
            file=self.file, rows=self.rows, described=self.described, canonical=canonical
        )
        if self.blank_lines:
            line += "; " + _("{n} blank line(s)").format(n=self.blank_lines)
        if self.extra_columns:
            extra = ", ".join(self.extra_columns)
            line += "; " + _("extra columns left out: {columns}").format(columns=extra)
        if self.reasons:
            held = ", ".join(f"{reason} x{n}" for reason, n in sorted(self.reasons.items()))
            line += "; " + _("values the loader will quarantine: {reasons}").format(reasons=held)
        return line


@dataclass
class ExportCheck:
    """Every file of one export folder, and the files in it that are not exports."""

    files: list[FileCheck] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return sum(f.rows for f in self.files if f.refused is None)

    @property
    def refused(self) -> list[Finding]:
        return [f.refused for f in self.files if f.refused is not None]

    @property
    def held_rows(self) -> int:
        return sum(f.held_rows for f in self.files if f.refused is None)

    @property
    def reasons(self) -> Counter[str]:
        """Values the loader will hold back, by reason, over every file."""
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.reasons)
        return total

    def first(self, n: int = FIRST_FEW) -> list[Finding]:
        return [x for f in self.files for x in f.first][:n]

    def lines(self) -> list[str]:
        """One line per file: its rows and format, and what the loader will hold back."""
        return [f.summary() for f in self.files]

    def warnings(self) -> list[str]:
        """One per file in the folder that is not an export frota reads."""
        return [
            _("{name}: not an export frota reads (veiculos.csv, manutencoes.csv); left out").format(
                name=name
            )
            for name in self.unexpected
        ]


SHEET_COLUMNS = (
    N_("file"),
    N_("line"),
    N_("column"),
    N_("value"),
    N_("reason"),
    N_("what is wrong"),
    N_("hint"),
)


@contextmanager
def problem_sheet(path: Path) -> Iterator[Callable[[Finding], None]]:
    """A pt-BR Excel sheet of the findings (`;`, UTF-8 with BOM), one row each, as told."""
    with sheet(path) as out:
        out.header([_(name) for name in SHEET_COLUMNS])

        def write(f: Finding) -> None:
            out.row([f.file, f.line, f.column, f.value, f.reason, f.message, f.hint])

        yield write
