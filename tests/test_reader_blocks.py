"""The CSV reader decodes in blocks and lets the loader's fast path claim whole lines: neither
may change a record, a line number, a count or the checksum (frota.contract.tabular)."""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frota.contract import VEICULOS, tabular
from frota.contract.tabular import ReadStats, read_records
from frota.errors import BadInputError

HEADER = "placa,tipo_veiculo,status,quilometragem_total,data_aquisicao"


def _read(
    data: bytes, block: int | None = None, fast: Callable[[str, int], bool] | None = None
) -> tuple[list[tuple], ReadStats]:
    saved = tabular.BLOCK_BYTES
    tabular.BLOCK_BYTES = block or saved
    try:
        stats = ReadStats()
        records = [
            (r.line, r.values, r.raw, r.problem)
            for r in read_records(io.BytesIO(data), VEICULOS, "v.csv", stats=stats, fast=fast)
        ]
    finally:
        tabular.BLOCK_BYTES = saved
    return records, stats


cell = st.sampled_from(["", "ABC1234", "a,b", 'say "hi"', "two\nlines", "cr\r\nlf", "Caminhão"])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.lists(cell, min_size=0, max_size=6), max_size=10),
    st.sampled_from(["\n", "\r\n"]),
    st.booleans(),
    st.sampled_from([1, 2, 7, 64]),
)
def test_any_block_size_reads_the_same(
    rows: list[list[str]], end: str, bom: bool, block: int
) -> None:
    out = io.StringIO()
    csv.writer(out, lineterminator=end).writerows([HEADER.split(","), *rows])
    data = (b"\xef\xbb\xbf" if bom else b"") + out.getvalue().encode()
    records, stats = _read(data)
    small, small_stats = _read(data, block)
    assert small == records
    assert small_stats == stats
    assert stats.sha256 == hashlib.sha256(data).hexdigest() and stats.bytes == len(data)


@pytest.mark.parametrize("block", [1, 5, 1 << 20])
def test_undecodable_byte_in_any_block_names_its_line_and_offset(block: int) -> None:
    lines = [HEADER] + [f"ABC{i:04d},Van,ativo,1,2020-01-01" for i in range(40)]
    data = ("\r\n".join(lines) + "\r\n").encode() + b"BRA2E19,Caminh\xe3o,ativo,1,2020-01-01\r\n"
    with pytest.raises(BadInputError) as err:
        _read(data, block)
    assert err.value.line == 42 and err.value.column == "tipo_veiculo"
    offset = data.index(b"\xe3")
    assert f"at byte offset {offset} of the file (byte 15 of the line)" in str(err.value)


def test_a_line_longer_than_the_limit_is_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tabular, "MAX_LINE_BYTES", 100)
    data = f"{HEADER}\nABC1234,{'x' * 200},ativo,1,2020-01-01\n".encode()
    with pytest.raises(BadInputError, match="a line longer than") as err:
        _read(data, block=16)
    assert err.value.line == 2


def test_fast_path_claims_only_lines_that_start_a_record() -> None:
    claimable = "CLAIM,Van,ativo,1,2020-01-01\n"
    data = (
        (
            f"{HEADER}\n"
            f"{claimable}"  # 2: claimed
            'ABC1234,"Van\n'  # 3-4: one record; its second line looks claimable
            f'{claimable[:-1]}",ativo,1,2020-01-01\n'
            "\n"  # 5: blank
            f"{claimable}"  # 6: claimed
            "BRA2E19,Van,ativo,1,2020-01-01\n"  # 7
        ).encode()
    )
    claimed: list[tuple[int, str]] = []

    def fast(line: str, number: int) -> bool:
        if line.startswith("CLAIM"):
            claimed.append((number, line))
            return True
        return False

    records, stats = _read(data, fast=fast)
    assert claimed == [(2, claimable), (6, claimable)]
    assert [(line, values["placa"]) for line, values, _, _ in records] == [
        (3, "ABC1234"),
        (7, "BRA2E19"),
    ]
    assert records[0][1]["tipo_veiculo"] == "Van\n" + claimable[:-1]
    assert (stats.records, stats.blank_lines) == (4, 1)
    assert stats.sha256 == hashlib.sha256(data).hexdigest()


def test_fast_path_is_not_offered_lines_when_the_columns_are_not_in_order() -> None:
    data = b"status,placa,tipo_veiculo,quilometragem_total,data_aquisicao\nativo,ABC1234,Van,1,\n"
    records, stats = _read(data, fast=lambda line, n: pytest.fail(f"offered {line!r}"))
    assert [line for line, *_ in records] == [2] and stats.records == 1
