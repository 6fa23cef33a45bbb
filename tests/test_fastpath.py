"""The fast path (frota.load.fastpath) takes a line only when the general path (csv reader,
parse_row) would take it with exactly the same values; everything else is left to it."""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from batchkit import TODAY
from hypothesis import given, settings
from hypothesis import strategies as st

from frota.contract import MANUTENCOES, VEICULOS
from frota.contract.canonical import format_value
from frota.contract.identity import record_key
from frota.contract.validate import parse_row
from frota.generate import generate_batch
from frota.load import fastpath
from frota.load.dedupe import RowFilter

GOOD = "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-06,OS-1"
NO_ORDER = "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-06,"
VEHICLE = "ABC1D23,Caminhão Toco,ativo,120000,2019-03-01"


class _Recorder:
    def __init__(self) -> None:
        self.rows: list[list[str]] = []

    def add_canonical(self, cells: tuple[str, ...], line: int) -> None:
        self.rows.append([*cells, str(line)])


def _tricky_rows() -> list[list[str]]:
    base = GOOD.split(",")
    cells = {
        0: ["abc1234", "ABC-1234", " ABC1234", "ABC1234 ", "ABC12345", "XYZ9876", "ABC1D23", ""],
        1: [
            "",
            " Revisão",
            "Revisão\u00a0",
            "a\tb",
            "a\\b",
            "a'b",
            'a"b',
            "a,b",
            "a\nb",
            "a\x01b",
            "x" * 100,
            "x" * 101,
            "\u2003",
            "Óleo",
        ],
        2: ["", "2026-1-05", "05/01/2026", "2026-02-29", "2099-01-01", "1899-12-31", "١٩٩٠-01-01"],
        3: ["", "0", "0.00", "1.5", "01.50", "-1.00", "+1.00", "4999999.99", "5000000.00"],
        4: ["", "0", "007", "+5", "-5", "4999999", "5000000", "5000001", "١٢", "1.0"],
        5: ["", "Preventiva", "outra", " corretiva"],
        6: ["", "2026-01-04", "2026-01-05", "2026-1-6", "2099-01-01"],
        7: ["", " OS-1", "OS-1 ", "OS 1", "Nº 1", "x" * 64, "x" * 65, "a\x01b", "a'b", "#1/2-B"],
    }
    return _variants(base, cells)


def _variants(base: list[str], cells: dict[int, list[str]]) -> list[list[str]]:
    """`base`, then `base` with one cell replaced by each value, then one cell short and long."""
    rows = [base]
    for i, values in cells.items():
        rows += [[*base[:i], value, *base[i + 1 :]] for value in values]
    return [*rows, base[:-1], [*base, ""]]


def _csv_line(fields: list[str], end: str = "\n") -> str:
    out = io.StringIO()
    csv.writer(out, lineterminator=end).writerow(fields)
    return out.getvalue()


def _lines(rows: list[list[str]]) -> list[str]:
    """Each row as csv.writer writes it, plus the same text with other line ends and quotes."""
    lines = []
    for fields in rows:
        line = _csv_line(fields)
        lines += [line, line[:-1], line[:-1] + "\r\n", '"' + line]
    return lines + [_csv_line(['"' + f + '"' for f in rows[0]]), ",".join(rows[0]) + ",\n"]


def _check_equivalence(lines: list[str], known: set[str], today: date) -> int:
    """Every line the fast path takes is a whole record that parse_row accepts and writes back
    exactly as the cells the fast path wrote; returns how many it took."""
    recorder = _Recorder()
    fast = fastpath.FastMaintenances(known, today, RowFilter(), recorder)  # type: ignore[arg-type]
    for line in lines:
        if fast.accept(line):
            [fields] = list(csv.reader([line]))
            typed, problem = parse_row(
                MANUTENCOES, dict(zip(MANUTENCOES.csv_header, fields, strict=False)), today
            )
            assert problem is None and typed is not None, line
            assert len(fields) == len(MANUTENCOES.csv_header), line
            assert [format_value(typed[c]) for c in MANUTENCOES.csv_header] == fields
            *cells, key, number = recorder.rows[-1]
            assert cells == fields and number == "0"
            assert key == record_key("", typed)  # the key the general path gives (k = 1)
            assert typed["placa_veiculo"] in known
    return len(recorder.rows)


def test_fast_path_takes_only_what_parse_row_accepts_unchanged() -> None:
    lines = _lines(_tricky_rows())
    taken = _check_equivalence(lines, {"ABC1234", "ABC1D23"}, TODAY)
    assert 10 < taken < len(lines) / 2  # it does take the canonical ones


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.text(alphabet="ABC1234-0.,;\"' \t\r\nÓ\x00\u00a0", max_size=12), min_size=1, max_size=9
    ),
    st.sampled_from(["", "\n", "\r\n", "\r"]),
)
def test_fast_path_equivalence_holds_for_arbitrary_lines(cells: list[str], end: str) -> None:
    base = GOOD.split(",")
    line = ",".join(cells[i] if i < len(cells) and cells[i] != "-" else base[i] for i in range(8))
    _check_equivalence([line + end], {"ABC1234"}, TODAY)


def test_fast_path_takes_every_generated_row(tmp_path: Path) -> None:
    result = generate_batch(tmp_path, seed=3, vehicles=15, until=date(2026, 6, 1), days=120)

    with open(result.out_dir / "veiculos.csv", encoding="utf-8") as fh:
        known = {r["placa"] for r in csv.DictReader(fh)}
    with open(result.out_dir / "manutencoes.csv", encoding="utf-8", newline="") as fh:
        lines = fh.readlines()[1:]
    assert _check_equivalence(lines, known, TODAY) == len(lines) > 100


def test_fast_path_counts_a_copy_as_seen() -> None:
    recorder = _Recorder()
    fast = fastpath.FastMaintenances({"ABC1234"}, TODAY, RowFilter(), recorder)  # type: ignore[arg-type]
    assert fast.accept(NO_ORDER + "\n")
    assert not fast.accept(NO_ORDER + "\r\n")  # left to the general path: its k is settled
    assert fast.accept(GOOD + "\n") and fast.accept(GOOD + "\n")  # keyed by work order


def test_only_canonical_plates_are_known() -> None:
    plates = ["ABC1234", "abc1234", " ABC1D23", "ABC1D23", "ABC-1234", ""]
    assert fastpath.canonical_plates(plates, TODAY) == {"ABC1234", "ABC1D23"}


def _vehicle_rows() -> list[list[str]]:
    base = VEHICLE.split(",")
    cells = {
        0: ["abc1d23", "ABC-1D23", "ABC1D2", "ABCD123", "ABC1234", "AB1D234", "ÁBC1D23", ""],
        1: ["", " Van", "Van ", "a\tb", "x" * 50, "x" * 51, "Caminhão"],
        2: ["", "ativo", "Ativo", "em manutenção", "a'b"],
        3: ["", "0", "00", "-1", "4999999", "5000000", "5000001", "1.0", "1e3"],
        4: ["", "2019-3-01", "2099-01-01", "1899-12-31", "2019-02-29", "01/03/2019"],
    }
    return _variants(base, cells)


def _check_vehicles(lines: list[str]) -> int:
    canonical = fastpath.CanonicalLine(VEICULOS, TODAY)
    taken = 0
    for line in lines:
        cells = canonical.cells(line)
        if cells is None:
            continue
        taken += 1
        [fields] = list(csv.reader([line]))
        typed, problem = parse_row(
            VEICULOS, dict(zip(VEICULOS.csv_header, fields, strict=False)), TODAY
        )
        assert problem is None and typed is not None, line
        assert list(cells) == fields == [format_value(typed[c]) for c in VEICULOS.csv_header]
        assert canonical.values(cells) == typed, line
    return taken


def test_vehicle_lines_are_taken_only_when_parse_row_agrees() -> None:
    lines = _lines(_vehicle_rows())
    taken = _check_vehicles(lines)
    assert 10 < taken < len(lines) / 2


@settings(max_examples=300, deadline=None)
@given(st.from_regex(r"[A-Z]{3}[0-9][A-Z0-9][0-9]{2}", fullmatch=True))
def test_every_plate_the_pattern_takes_is_canonical(plate: str) -> None:
    assert _check_vehicles([f"{plate},Van,ativo,1,2020-01-01"]) == 1


def test_every_generated_vehicle_is_taken(tmp_path: Path) -> None:
    result = generate_batch(tmp_path, seed=3, vehicles=60, until=date(2026, 6, 1), days=30)
    with open(result.out_dir / "veiculos.csv", encoding="utf-8", newline="") as fh:
        lines = fh.readlines()[1:]
    assert _check_vehicles(lines) == len(lines) == 60
