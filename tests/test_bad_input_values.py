"""Values and files as real exports write them: parsing rules, the reader's physical lines and
byte offsets, the category mapping, and property-based checks that nothing raises."""

from __future__ import annotations

import io
from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from frota.contract import MANUTENCOES, VEICULOS
from frota.contract.categories import (
    Categories,
    canonical_maintenance_category,
    canonical_status,
    canonical_vehicle_type,
)
from frota.contract.tabular import FilePolicy, ReadStats, read_records
from frota.contract.validate import (
    BRAZILIAN,
    CANONICAL,
    REASONS,
    ValueProblem,
    canonical_text,
    normalize_plate,
    parse_date,
    parse_decimal,
    parse_int,
    parse_row,
)
from frota.errors import BadInputError

TODAY = date(2026, 6, 30)


@pytest.mark.parametrize(
    ("text", "fmt", "expected"),
    [
        ("1.234,56", BRAZILIAN, Decimal("1234.56")),
        ("1.234.567,8", BRAZILIAN, Decimal("1234567.80")),
        ("850,00", BRAZILIAN, Decimal("850.00")),
        ("R$ 1.234,56", BRAZILIAN, Decimal("1234.56")),
        ("850.00", BRAZILIAN, Decimal("850.00")),  # a dot that cannot be a thousands dot
        ("1.500", BRAZILIAN, Decimal("1500.00")),
        ("1234.56", CANONICAL, Decimal("1234.56")),
        ("850.000", CANONICAL, Decimal("850.00")),
    ],
)
def test_decimals_are_exact(text: str, fmt, expected: Decimal) -> None:
    value = parse_decimal(text, fmt)
    assert value == expected and isinstance(value, Decimal)
    assert str(value) == str(expected)


@pytest.mark.parametrize(
    ("text", "fmt", "reason"),
    [
        ("1_000", CANONICAL, "not_a_decimal"),
        ("1e3", CANONICAL, "not_a_decimal"),
        ("NaN", CANONICAL, "not_a_decimal"),
        ("١٢٣", CANONICAL, "not_a_decimal"),
        ("1,234.56", CANONICAL, "not_a_decimal"),
        ("12.34.56", BRAZILIAN, "not_a_decimal"),
        ("10.123", CANONICAL, "too_precise"),
        ("9" * 40, CANONICAL, "out_of_range"),
    ],
)
def test_decimal_rejections(text: str, fmt, reason: str) -> None:
    with pytest.raises(ValueProblem) as err:
        parse_decimal(text, fmt)
    assert err.value.reason == reason


def test_integers_accept_thousands_dots_only_with_decimal_comma() -> None:
    assert parse_int("120.000", BRAZILIAN) == 120000
    for text, reason in (("120.000", "not_an_integer"), ("١٢٣", "not_an_integer")):
        with pytest.raises(ValueProblem) as err:
            parse_int(text, CANONICAL)
        assert err.value.reason == reason
    with pytest.raises(ValueProblem) as err:
        parse_int("9" * 5000)  # beyond int()'s digit limit: a reason, not a ValueError
    assert err.value.reason == "out_of_range"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-02-29", date(2024, 2, 29)),
        ("29/02/2024", date(2024, 2, 29)),
        ("1/3/2019", date(2019, 3, 1)),
        ("01/03/2019 00:00", date(2019, 3, 1)),
        ("2019-03-01 00:00:00", date(2019, 3, 1)),
    ],
)
def test_dates_iso_and_brazilian(text: str, expected: date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("31/02/2024", "impossible_date"),
        ("2023-02-29", "impossible_date"),
        ("03/2024", "not_a_date"),
    ],
)
def test_date_rejections(text: str, reason: str) -> None:
    with pytest.raises(ValueProblem) as err:
        parse_date(text)
    assert err.value.reason == reason


def test_plates_old_and_mercosul() -> None:
    assert normalize_plate("abc-1234") == "ABC1234"
    assert normalize_plate(" bra 2e19 ") == "BRA2E19"
    row, problem = parse_row(VEICULOS, {"placa": "abc-1234", "data_aquisicao": "01/01/1899"}, TODAY)
    assert row is None and problem is not None and problem.reason == "out_of_range"


def test_rejected_values_are_rewritten_for_the_loader() -> None:
    custo, data = MANUTENCOES.column("custo"), MANUTENCOES.column("data_manutencao")
    assert canonical_text(custo, "-10,00", BRAZILIAN) == "-10.00"
    assert canonical_text(data, "01/01/2099", BRAZILIAN) == "2099-01-01"
    assert canonical_text(data, "31/02/2024", BRAZILIAN) == "31/02/2024"


# ------------------------------------------------------------------ reader


def _read(data: bytes, encoding: str = "utf-8", delimiter: str = ","):
    stats = ReadStats()
    records = list(
        read_records(
            io.BytesIO(data), VEICULOS, "v.csv", encoding=encoding, delimiter=delimiter, stats=stats
        )
    )
    return records, stats


HEADER = b"placa,tipo_veiculo,status,quilometragem_total,data_aquisicao\r\n"


def test_physical_lines_with_quoted_newlines_blank_lines_and_bom() -> None:
    data = (
        b"\xef\xbb\xbf" + HEADER + b'ABC1234,"Van\r\nlonga, ""nova""",ativo,1,2020-01-01\r\n'
        b"\r\n,,,,\r\nBRA2E19,Van,ativo,2,2020-01-01\r\n\r\n"
    )
    records, stats = _read(data)
    assert [r.line for r in records] == [2, 6]
    assert records[0].values["tipo_veiculo"] == 'Van\r\nlonga, "nova"'
    assert (stats.records, stats.blank_lines, stats.bytes) == (2, 3, len(data))


def test_undecodable_byte_reports_exact_line_and_offset() -> None:
    # Long enough to cross any read-ahead buffer: the offset must still be exact.
    filler = b"".join(b"ABC%04d,Van,ativo,1,2020-01-01\r\n" % i for i in range(5000))
    bad_line = b"BRA2E19,Caminh\xe3o,ativo,1,2020-01-01\r\n"
    data = HEADER + filler + bad_line
    with pytest.raises(BadInputError) as err:
        _read(data)
    offset = len(HEADER) + len(filler) + bad_line.index(b"\xe3")
    assert err.value.line == 5002 and err.value.column == "tipo_veiculo"
    assert f"at byte offset {offset} of the file" in str(err.value)


def test_utf16_and_unknown_encodings_are_clear_errors() -> None:
    with pytest.raises(BadInputError, match="UTF-16"):
        _read("placa\n".encode("utf-16"))
    with pytest.raises(BadInputError, match="unknown encoding 'klingon'"):
        _read(HEADER, encoding="klingon")


def test_empty_file_and_blank_only_file() -> None:
    for data in (b"", b"\r\n\r\n"):
        with pytest.raises(BadInputError, match="the file is empty"):
            _read(data)


def test_file_policy_thresholds_and_size() -> None:
    from collections import Counter

    policy = FilePolicy()
    policy.check_bad_rows(Counter(not_a_date=100), 100, "m.csv")  # not more than 100
    policy.check_bad_rows(Counter(not_a_date=150), 10_000, "m.csv")  # not more than 10 %
    with pytest.raises(BadInputError, match="101 of 1000 rows are bad"):
        policy.check_bad_rows(Counter(not_a_date=101), 1000, "m.csv")
    with pytest.raises(BadInputError, match="above the limit"):
        FilePolicy(max_file_bytes=10).check_size(11, "m.csv")


# ------------------------------------------------------------------ categories


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Em manutenção", "em_manutencao"),
        ("  EM MANUTENCAO ", "em_manutencao"),
        ("ativo", "ativo"),
        ("Vendido", "inativo"),
        ("Inativo", "inativo"),
        ("algo novo", "ativo"),
        (None, "ativo"),
    ],
)
def test_canonical_status(word: str | None, expected: str) -> None:
    assert canonical_status(word) == expected


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("Caminhão Toco", "caminhao"),
        ("Caminhão 3/4", "caminhao_leve"),
        ("VUC", "caminhao_leve"),
        ("Cavalo Mecânico", "cavalo_mecanico"),
        ("Moto", "moto"),
        ("Utilitário", "utilitario"),
        ("Van", "van"),
        ("Zeppelin", "outro"),
    ],
)
def test_canonical_vehicle_type(word: str, expected: str) -> None:
    assert canonical_vehicle_type(word) == expected


@pytest.mark.parametrize(
    ("tipo", "expected"),
    [
        ("Troca de óleo", "preventiva"),
        ("Troca de óleo e filtros", "preventiva"),
        ("Revisão preventiva", "preventiva"),
        ("Troca de pneu avariado", "corretiva"),
        ("Reparo elétrico", "corretiva"),
        ("Troca de embreagem", "corretiva"),
        ("Serviço misterioso", "corretiva"),
    ],
)
def test_canonical_maintenance_category(tipo: str, expected: str) -> None:
    assert canonical_maintenance_category(tipo) == expected


def test_generator_vocabulary_maps_like_the_generator() -> None:
    from frota.generate.catalog import REPAIRS, VEHICLE_TYPES, categoria_of

    names = {s.name for t in VEHICLE_TYPES for s in t.services} | {r.name for r in REPAIRS}
    for name in names:
        assert canonical_maintenance_category(name) == categoria_of(name), name


def test_category_overrides_from_frota_toml(tmp_path) -> None:
    from frota.config import load_settings
    from frota.errors import ConfigError

    toml = tmp_path / "frota.toml"
    toml.write_text(
        '[categories.status]\n"Rodando" = "ativo"\n"Na Funilaria" = "em_manutencao"\n'
        '[categories.tipo_manutencao]\n"Higienização" = "preventiva"\n',
        encoding="utf-8",
    )
    cats = Categories.from_settings(load_settings(toml, env={}))
    assert cats.status("na funilaria") == "em_manutencao"
    assert cats.maintenance("HIGIENIZACAO") == "preventiva"
    assert canonical_status("Na Funilaria", cats) == "em_manutencao"
    toml.write_text('[categories.status]\n"X" = "quebrado"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="'quebrado' is not a category"):
        load_settings(toml, env={})


# ------------------------------------------------------------------ properties

cell = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=30) | st.sampled_from(
    ["", "ABC1234", "abc-1234", "2026-01-05", "31/02/2024", "1.234,56", "-1"]
)


@settings(max_examples=300, deadline=None)
@given(st.fixed_dictionaries({c: cell for c in MANUTENCOES.csv_header}))
def test_any_row_parses_or_gets_a_known_reason(raw: dict[str, str]) -> None:
    row, problem = parse_row(MANUTENCOES, raw, TODAY)
    assert (row is None) != (problem is None)
    if problem is not None:
        assert problem.reason in REASONS


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(cell, min_size=0, max_size=7), max_size=12))
def test_reader_accounts_for_every_physical_line(rows: list[list[str]]) -> None:
    import csv

    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(VEICULOS.csv_header)
    writer.writerows(rows)
    data = out.getvalue().encode()
    try:
        records, stats = _read(data)
    except BadInputError as exc:  # only an unreadable CSV may stop the reader
        assert "unreadable CSV" in str(exc)
        return
    spans = sum(r.raw.count("\n") + 1 for r in records)
    assert 1 + spans + stats.blank_lines == data.count(b"\n")
    assert stats.records == len(records) and stats.bytes == len(data)
