"""The publish's fast path writes exactly what the general path writes, and finds the same
problems: random exports made of tricky cells, canonicalised with and without it."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from batchkit import TODAY

from frota.contract.tabular import FilePolicy
from frota.publish import fastlines
from frota.publish.exports import canonicalize_exports

PLATES = ["ABC-1234", "abc1234", "BRA2E19", " BRA2E19", "XX-12", "", "ABC 1234", "AB1234"]
KINDS = ["Troca de óleo", " Revisão ", "Freios, pastilhas", "", "x" * 101, "Pneus\x00", "=1+1"]
DATES = ["05/01/2026", "5/1/2026", "2026-01-05", "31/02/2026", "01/01/2099", "", "05/13/2026"]
DATES += ["01/03/2019 00:00", "1899-12-31", "06/01/2026", "04/01/2026"]
NUMBERS = [
    "119.500",
    "1234",
    "1.234,56",
    "1234,5",
    "0",
    "0,00",
    "00,5",
    "1.23,4",
    "5.000.000,00",
    "4.999.999,99",
]
NUMBERS += ["5000000", "4999999", "-1", "1,234", "12.5", "12.50", " 12,50", "R$ 1,00", "1.234"]
NUMBERS += ["1.2345", "+1", "", "119.500", "12.345.678", "1.000.000", "٣", "1_000", "0,5"]
CATEGORIES = ["preventiva", "Corretiva", "", "outra"]
V_HEADER = ["Placa", "Tipo Veículo", "Status", "Quilometragem Total", "Data Aquisição"]
M_HEADER = ["Placa Veículo", "Tipo Manutenção", "Data Manutenção", "Custo", "Quilometragem"]
M_HEADER += ["Categoria", "Data Conclusão"]


def _cell(rng: random.Random, header: str) -> str:
    """Mostly a good cell (so most rows are good), else any of the tricky ones."""
    if header.startswith("Placa"):
        values = PLATES
    elif header.startswith("Data"):
        values = DATES
    elif header in ("Custo", "Quilometragem", "Quilometragem Total"):
        values = NUMBERS
    elif header == "Categoria":
        values = CATEGORIES
    else:
        values = KINDS
    return values[rng.randrange(2)] if rng.random() < 0.9 else rng.choice(values)


def _export(folder: Path, seed: int, delimiter: str, newline: str, header: list[str]) -> None:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    for name, columns in (("veiculos", V_HEADER), ("manutencoes", header)):
        lines = [delimiter.join(columns)]
        for _ in range(1500):
            roll = rng.random()
            if roll < 0.03:
                lines.append("")  # a blank line
            elif roll < 0.05:
                lines.append(delimiter.join(columns))  # a repeated header
            elif roll < 0.07:
                lines.append(delimiter.join(["ABC1234", "a"]))  # ragged
            elif roll < 0.09:
                lines.append(f'ABC1234{delimiter}"Freios{delimiter} ""x"""' + delimiter * 3)
            else:
                lines.append(delimiter.join(_cell(rng, h) for h in columns))
        (folder / f"{name}.csv").write_bytes((newline.join(lines) + newline).encode())


def _canonical(folder: Path, out: Path) -> tuple[dict[str, bytes], list[str], list]:
    out.mkdir()
    found: list = []
    check = canonicalize_exports(
        folder,
        out,
        today=TODAY,
        policy=FilePolicy(error_threshold=1.0, allow_extra_columns=True),
        on_finding=found.append,
    )
    files = {p.name: p.read_bytes() for p in sorted(out.iterdir())}
    return files, check.lines(), found


@pytest.mark.parametrize(
    ("seed", "delimiter", "newline", "header"),
    [
        (1, ";", "\r\n", M_HEADER),
        (2, ";", "\n", M_HEADER),
        (3, ",", "\r\n", M_HEADER),  # decimal point: no number surgery
        (4, ";", "\r\n", ["Custo", *M_HEADER[:3], "Observação"]),  # other order, an extra
        (5, "\t", "\r\n", M_HEADER),
    ],
)
def test_fast_path_writes_what_the_general_path_writes(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
    delimiter: str,
    newline: str,
    header: list[str],
) -> None:
    folder = tmp_path / "export"
    _export(folder, seed, delimiter, newline, header)
    taken = []
    original = fastlines.FastLines.take

    def counting(self, line: str, number: int) -> bool:
        ok = original(self, line, number)
        taken.append(ok)
        return ok

    monkeypatch.setattr(fastlines.FastLines, "take", counting)
    fast = _canonical(folder, tmp_path / "fast")
    assert 300 < sum(taken) < len(taken)  # both paths were used
    monkeypatch.setattr(fastlines.FastLines, "take", lambda self, line, number: False)
    general = _canonical(folder, tmp_path / "general")
    assert fast[0] == general[0]
    assert fast[1] == general[1]
    assert fast[2] == general[2]


@pytest.mark.parametrize(
    "text",
    [
        "a,b\n1,2\n\n3,4\n",
        "a,b\n1,2\n3,4",  # no line end at the end
        'a,b\n"x\ny",2\n\n3,4\n',  # a quoted line break: one record
        "a,b\r\n1,2\r\n\r\n",
        "a,b\n",
        "",
    ],
)
def test_row_count_of_a_canonical_file(tmp_path: Path, text: str) -> None:
    """The manifest's row count, by lines when no quote is in the file, equals the csv
    reader's count of records."""
    import csv

    from frota.batch import count_csv_rows

    path = tmp_path / "t.csv"
    path.write_bytes(text.encode())
    with open(path, encoding="utf-8", newline="") as fh:
        expected = max(sum(1 for record in csv.reader(fh) if record) - 1, 0)
    assert count_csv_rows(path) == expected
