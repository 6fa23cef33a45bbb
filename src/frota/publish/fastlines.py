"""The publish's fast path: a well-formed export line rewritten canonically without the csv
reader, a Record or a findings check.

A line is taken only when the general path (`exports._canonical_cells`) would write the same
cells and find no problem: no quote and no stray CR in it, as many fields as the header, each
cell's canonical text known. That text comes from the general path's own parse (memoised per
distinct cell, so plates, kinds, dates and categories cost one parse each), or, for the
numbers of a decimal-comma export (costs, odometers: mostly distinct), from one regular
expression that admits only the plain spellings whose canonical form is plain text surgery
(`1.234,56` -> `1234.56`). Anything else is left to the general path, which is always right,
only slower; tests/test_publish_fastlines.py checks both agree.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from typing import TextIO

from frota.contract import CATEGORIAS, Column, Table
from frota.contract.canonical import format_value
from frota.contract.tabular import ReadStats
from frota.contract.validate import NumberFormat, ValueProblem, parse_value

_MEMO_CAP = 100_000  # distinct cells remembered per column: memory stays bounded
# Needs quoting in the canonical file (the csv writer would quote it): left to the general path.
_QUOTED = re.compile(r'[,"\r\n]')
# Decimal comma, no sign: `0`, `1234`, `1.234` (thousands dots in groups of three), then
# optionally `,d` or `,dd`; at most 7 integer digits (the contract's maximum is 5,000,000).
_BR_NUMBER = re.compile(
    r"(0|[1-9][0-9]{0,6}|[1-9][0-9]?[0-9]?(?:\.[0-9]{3}){1,2})(?:,([0-9]{1,2}))?"
)

Convert = Callable[[str], str | None]


_UNSEEN = object()


def _general(col: Column, fmt: NumberFormat, today: date, memo: dict) -> Convert:
    """The general path's canonical text of one cell, remembered in `memo` (up to a cap);
    None when it finds a problem."""

    def convert(cell: str) -> str | None:
        text = cell.strip()
        result: str | None
        if not text:
            result = None if col.required else ""
        else:
            try:
                result = format_value(parse_value(col, text, fmt, today))
            except ValueProblem:
                result = None
        if result is not None and _QUOTED.search(result):
            result = None
        if len(memo) < _MEMO_CAP:
            memo[cell] = result
        return result

    return convert


def _number(col: Column, fallback: Convert) -> Convert:
    """A decimal-comma number by text surgery when plainly spelled; else `fallback`."""
    maximum = int(col.maximum) if col.maximum is not None else None
    decimal = col.kind == "decimal"
    match = _BR_NUMBER.fullmatch

    def convert(cell: str) -> str | None:
        m = match(cell)
        if m is None:
            return fallback(cell)
        whole, cents = m.group(1).replace(".", ""), m.group(2)
        if maximum is not None and int(whole) >= maximum:  # at the limit: the general rule
            return fallback(cell)
        if decimal:
            return f"{whole}.{(cents or '').ljust(2, '0')}"
        return whole if cents is None else fallback(cell)

    return convert


class FastLines:
    """`take(line, number)`: write the line's canonical cells and say True, or say False."""

    def __init__(
        self,
        table: Table,
        stats: ReadStats,
        out: TextIO,
        delimiter: str,
        fmt: NumberFormat,
        today: date,
        written: list[int],
    ) -> None:
        self.table, self.stats, self.out, self.delimiter = table, stats, out, delimiter
        self.fmt, self.today = fmt, today
        self.written = written  # [physical lines written so far], shared with the general path
        self._plan: list[tuple[int, int, Callable[..., object], Convert]] | None = None
        self._cells: list[tuple[int, int, Callable[..., object], Convert]] = []
        self._numbers: list[tuple[int, int, bool, int]] = []
        self._copied: list[tuple[int, int, int]] = []  # (group, slot, groups joined)
        self._line: Callable[[str], re.Match[str] | None] = lambda line: None
        self._template: list[str] = []
        self._dates: tuple[int, int] | None = None
        self._width = 0
        self._pending: list[str] = []  # lines taken, not written yet

    def _prepare(self) -> None:
        """From the header's columns: per field of the line, its converter and output slot;
        and one regular expression for a whole line whose numbers are plainly spelled."""
        columns = self.stats.columns
        by_name = {c.name: c for c in self.table.csv_columns}
        order = [c.name for c in self.table.csv_columns]
        delimiter = re.escape(self.delimiter)
        any_cell = f'([^{delimiter}"\\r\\n]*)'
        parts: list[str] = []
        group = 0  # the next capturing group's index in match.groups()
        self._plan, self._cells, self._numbers, self._copied = [], [], [], []
        for position, name in enumerate(columns):
            if name is None:
                parts.append(f'(?:[^{delimiter}"\\r\\n]*)')
                continue
            col = by_name[name]
            memo: dict[str, str | None] = {}
            convert = _general(col, self.fmt, self.today, memo)
            slot = order.index(name)
            if col.name in ("placa", "placa_veiculo"):
                # ABC1234 / ABC-1234 / ABC1D23, uppercase: the plate is its two parts joined.
                parts.append(r"([A-Z]{3})-?([0-9][A-Z0-9][0-9]{2})")
                self._copied.append((group, slot, 2))
                group += 2
            elif col.name == "categoria":  # already as the contract writes it
                parts.append(f"({'|'.join(CATEGORIAS)}{'' if col.required else '|'})")
                self._copied.append((group, slot, 1))
                group += 1
            elif self.fmt.decimal_comma and col.kind in ("int", "decimal"):
                convert = _number(col, convert)  # mostly distinct: not remembered
                memo = {}
                parts.append(_BR_NUMBER.pattern)  # two groups: the whole part, the cents
                maximum = int(col.maximum) if col.maximum is not None else 10**7
                self._numbers.append((group, slot, col.kind == "decimal", maximum))
                group += 2
            else:
                parts.append(any_cell)
                self._cells.append((group, slot, memo.get, convert))
                group += 1
            self._plan.append((position, slot, memo.get, convert))
        self._line = re.compile(delimiter.join(parts) + r"\r?\n?").fullmatch
        self._template = [""] * len(order)  # a column the export does not have stays empty
        self._dates = (
            (order.index("data_manutencao"), order.index("data_conclusao"))
            if {"data_manutencao", "data_conclusao"} <= set(columns)
            else None
        )
        self._width = len(columns)

    def take(self, line: str, number: int) -> bool:
        if self._plan is None:
            self._prepare()
        m = self._line(line)
        if m is None:
            cells = self._by_field(line)
            if cells is None:
                return False
        else:  # the common line, inline: this runs once a line of the file
            groups = m.groups()
            cells = self._template[:]
            for group, slot, remembered, convert in self._cells:
                cell = remembered(groups[group], _UNSEEN)
                if cell is _UNSEEN:
                    cell = convert(groups[group])
                if cell is None:
                    return False
                cells[slot] = cell  # type: ignore[call-overload]
            for group, slot, joined in self._copied:
                cells[slot] = groups[group] + groups[group + 1] if joined == 2 else groups[group]
            for group, slot, decimal, maximum in self._numbers:
                whole, cents = groups[group].replace(".", ""), groups[group + 1]
                if len(whole) > 6 and int(whole) >= maximum:  # near the limit: the general rule
                    return False
                if not decimal:
                    if cents is not None:
                        return False
                    cells[slot] = whole
                else:
                    cells[slot] = whole + "." + ((cents + "0")[:2] if cents else "00")
        if self._dates is not None:
            servico, conclusao = cells[self._dates[0]], cells[self._dates[1]]
            if servico and conclusao and conclusao < servico:  # ISO dates sort as text
                return False
        written = self.written
        pending = self._pending
        if number - written[0] > 1:
            pending.append("\n" * (number - written[0] - 1))
        pending.append(",".join(cells) + "\n")
        written[0] = number
        if len(pending) > 1000:
            self.flush()
        return True

    def flush(self) -> None:
        """Write the lines taken so far (before the general path writes, and at the end)."""
        if self._pending:
            self.out.write("".join(self._pending))
            self._pending.clear()

    def _by_field(self, line: str) -> list[str] | None:
        """The cells of any other line, field by field (None: the general path decides)."""
        if '"' in line:
            return None
        if line[-2:] == "\r\n":
            line = line[:-2]
        elif line[-1:] == "\n":
            line = line[:-1]
        if "\r" in line:
            return None
        fields = line.split(self.delimiter)
        if len(fields) != self._width:
            return None
        cells = self._template[:]
        for position, slot, remembered, convert in self._plan or ():
            field = fields[position]
            cell = remembered(field, _UNSEEN)
            if cell is _UNSEEN:
                cell = convert(field)
            if cell is None:
                return None
            cells[slot] = cell  # type: ignore[call-overload]
        return cells
