"""The loader's fast path: lines written exactly as `generate` and `publish` write them.

A canonical line is recognised by one regular expression built from the contract (unquoted
cells holding nothing the text formats or a SQL literal would have to escape; plates as
ABC1234 or ABC1D23; dates as YYYY-MM-DD; numbers small enough that no range rule can apply,
with no sign, no leading zero and exactly two decimals for DECIMAL(…, 2)), plus memoised
checks of the few distinct free-text and date cells. It takes a line only when parse_row
would take it with the same values (tests/test_fastpath.py proves it); any other line takes the
general path (csv reader, parse_row, quarantine), which is always right, only slower.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any

from frota.contract import CATEGORIAS, MANUTENCOES, Column, Table
from frota.contract.canonical import NEEDS_ESCAPE, format_value
from frota.contract.identity import ORIGIN, fingerprint, work_order_key
from frota.contract.validate import CANONICAL, ValueProblem, parse_value
from frota.load.dedupe import RowFilter
from frota.load.writer import MaintenanceWriter

_CELL = r"[^,\"'\\\t\r\n]*"
_PLATE = r"[A-Z]{3}[0-9][A-Z0-9][0-9]{2}"  # exactly contract.OLD_PLATE | MERCOSUL_PLATE
_DAY = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
_BELOW_5M = r"0|[1-9][0-9]{0,5}|[1-4][0-9]{6}"
# A work-order number: printable ASCII but quotes, comma and backslash, no space at either
# end, at most 64 characters (its column's length): parse_value keeps such text as it is.
_ORIGIN_CHAR = r"!#-&(-+\--\[\]-~"
_ORIGIN = rf"[{_ORIGIN_CHAR}](?:[ {_ORIGIN_CHAR}]{{0,62}}[{_ORIGIN_CHAR}])?"
_MEMO_CAP = 50_000  # memoised cells per column: memory stays bounded whatever the file


def _is_plate(col: Column) -> bool:
    return col.name in ("placa", "placa_veiculo")


def _cell_pattern(col: Column) -> str:
    if _is_plate(col):
        pattern = _PLATE
    elif col.name == ORIGIN:
        pattern = _ORIGIN
    elif col.name == "categoria":
        pattern = "|".join(CATEGORIAS)
    elif col.kind == "str":
        pattern = _CELL
    elif col.kind == "date":
        pattern = _DAY
    else:
        assert col.minimum in (0, None) and col.maximum == 5_000_000, col
        pattern = _BELOW_5M
        if col.kind == "decimal":
            assert (col.precision or (10, 2))[1] == 2, col
            pattern = rf"(?:{_BELOW_5M})\.[0-9]{{2}}"
    return f"({pattern})" if col.required else f"({pattern}|)"


def canonical_value(col: Column, text: str, today: date) -> Any:
    """parse_value's value if `text` is its canonical spelling, else None."""
    if text != text.strip() or NEEDS_ESCAPE.search(text):
        return None
    try:
        value = parse_value(col, text, CANONICAL, today)
    except ValueProblem:
        return None
    return value if format_value(value) == text else None


def canonical_plates(plates: Iterable[str], today: date) -> set[str]:
    """The plates spelled exactly as parse_row writes them (a row naming any other spelling
    cannot match a vehicle through parse_row either)."""
    col = MANUTENCOES.column("placa_veiculo")
    return {p for p in plates if canonical_value(col, p, today) == p}


class CanonicalLine:
    """`cells(line)`: the cells of a canonical line of `table`, or None."""

    def __init__(self, table: Table, today: date) -> None:
        self.today = today
        columns = table.csv_columns
        self._pattern = re.compile(",".join(map(_cell_pattern, columns)) + r"\r?\n?")
        # Free text and dates: checked by parse_value once per distinct cell.
        self._checked: list[tuple[int, Column, dict[str, Any]]] = [
            (i, col, {})
            for i, col in enumerate(columns)
            if col.kind == "date"
            or (col.kind == "str" and not _is_plate(col) and col.name not in ("categoria", ORIGIN))
        ]
        self._dates = {i: memo for i, col, memo in self._checked if col.kind == "date"}
        self._kinds = [(col.name, col.kind) for col in columns]

    def cells(self, line: str) -> tuple[str, ...] | None:
        match = self._pattern.fullmatch(line)
        if match is None:
            return None
        cells = match.groups()
        for i, col, memo in self._checked:
            text = cells[i]
            if text and text not in memo and not self._check(col, memo, text):
                return None
        return cells

    def _check(self, col: Column, memo: dict[str, Any], text: str) -> bool:
        value = canonical_value(col, text, self.today)
        if value is None:
            return False
        if len(memo) < _MEMO_CAP:
            memo[text] = value
        return True

    def values(self, cells: tuple[str, ...]) -> dict[str, Any]:
        """The typed row parse_row gives for these (accepted) cells."""
        row: dict[str, Any] = {}
        for i, ((name, kind), text) in enumerate(zip(self._kinds, cells, strict=True)):
            if not text:
                row[name] = None
            elif kind == "int":
                row[name] = int(text)
            elif kind == "decimal":
                row[name] = Decimal(text)
            elif kind == "date":
                row[name] = self._dates[i].get(text) or date.fromisoformat(text)
            else:
                row[name] = text
        return row


class FastMaintenances:
    """`accept(line, number)` stages a canonical, valid maintenance line with its key and
    returns True, or returns False (nothing written) so the general path takes it.

    Row rules mirror parse_row and the loader: the plate must be a known vehicle's (`known`
    holds canonical plates only: canonical_plates), data_conclusao not before data_manutencao
    (ISO dates compare as text), and a row without a work order that may repeat an earlier
    row goes to the general path, which stages it for its occurrence to be settled
    (load/stage.py).
    """

    def __init__(
        self,
        known: set[str],
        today: date,
        seen: RowFilter,
        writer: MaintenanceWriter,
        source: str = "",
    ) -> None:
        self.known, self.seen, self.writer, self.source = known, seen, writer, source
        self._cells: Callable[[str], tuple[str, ...] | None] = CanonicalLine(
            MANUTENCOES, today
        ).cells
        header = MANUTENCOES.csv_header
        self._placa = header.index("placa_veiculo")
        self._servico = header.index("data_manutencao")
        self._conclusao = header.index("data_conclusao")

    def accept(self, line: str, number: int = 0) -> bool:
        cells = self._cells(line)
        if cells is None or cells[self._placa] not in self.known:
            return False
        conclusao = cells[self._conclusao]
        if conclusao and conclusao < cells[self._servico]:
            return False
        origin = cells[-1]  # id_origem is the last column (frota.contract.identity)
        if origin:
            key = work_order_key(self.source, origin)
        elif self.seen.first_time(hash(cells)):  # = row_digest(cells), without the call
            key = fingerprint(cells[:-1]) + ":1"
        else:
            return False  # maybe a copy: the general path stages it for its k to be settled
        self.writer.add_canonical((*cells, key), number)
        return True
