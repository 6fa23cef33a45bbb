"""The bad-input corpus (tests/corpus/loader): one small file per case, named after the case,
loaded as a canonical batch. Each case asserts the exact outcome: rows loaded, rows held with
their line, reason and column, or the file-level error naming file/line/column with nothing of
that batch committed.

Every case runs on SQLite one by one; on MariaDB and PostgreSQL all cases load as separate
batches into one database (one server database per engine keeps the suite fast).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from batchkit import T0, TODAY, init_db, query, settings_for

from frota.batch import MANIFEST_NAME, FileEntry, build_manifest, sha256_file
from frota.landing import open_landing
from frota.load import load_pending
from frota.publish import publish_dir

CORPUS = Path(__file__).parent / "corpus" / "loader"
BASE_VEICULOS = (
    "placa,tipo_veiculo,status,quilometragem_total,data_aquisicao\n"
    "ABC1234,Caminhão Toco,ativo,120000,2019-03-01\n"
    "BRA2E19,Van,ativo,45000,2021-07-15\n"
)
# Every manutencoes case travels with this vehicle, to prove a rejected batch commits nothing.
CASE_VEICULOS = (
    "placa,tipo_veiculo,status,quilometragem_total,data_aquisicao\n"
    "NEW1A23,Van,ativo,10,2020-01-01\n"
)


@dataclass(frozen=True)
class Expect:
    loaded: int = 0  # manutencoes records (manutencoes cases) / vehicles new (veiculos cases)
    held: list[tuple[int, str, str | None]] = field(default_factory=list)
    duplicates: int = 0
    blank: int = 0
    error: tuple[str, ...] = ()  # substrings of the rejection message


def held(line: int, reason: str, column: str | None = None) -> list[tuple[int, str, str | None]]:
    return [(line, reason, column)]


CASES: dict[str, Expect] = {
    # wrong type / unparseable / impossible / future / negative / absurd / too long
    "manutencoes/not_a_decimal": Expect(1, held(3, "not_a_decimal", "custo")),
    "manutencoes/not_an_integer": Expect(1, held(3, "not_an_integer", "quilometragem")),
    "manutencoes/not_a_date": Expect(1, held(3, "not_a_date", "data_manutencao")),
    "manutencoes/impossible_date": Expect(1, held(3, "impossible_date", "data_manutencao")),
    "manutencoes/future_date": Expect(1, held(3, "future_date", "data_manutencao")),
    "manutencoes/negative_value": Expect(1, held(3, "negative_value", "custo")),
    "manutencoes/out_of_range_cost": Expect(1, held(3, "out_of_range", "custo")),
    "manutencoes/out_of_range_odometer": Expect(1, held(3, "out_of_range", "quilometragem")),
    "manutencoes/too_precise": Expect(1, held(3, "too_precise", "custo")),
    "manutencoes/invalid_plate": Expect(1, held(3, "invalid_plate", "placa_veiculo")),
    "manutencoes/too_long": Expect(1, held(3, "too_long", "tipo_manutencao")),
    "manutencoes/missing_value": Expect(1, held(3, "missing_value", "data_manutencao")),
    "manutencoes/invalid_category": Expect(1, held(3, "invalid_category", "categoria")),
    "manutencoes/conclusion_before_service": Expect(
        1, held(3, "conclusion_before_service", "data_conclusao")
    ),
    "manutencoes/bad_characters_nul": Expect(1, held(3, "bad_characters", "tipo_manutencao")),
    # structure
    "manutencoes/ragged_too_many": Expect(1, held(3, "ragged_row")),
    "manutencoes/ragged_too_few": Expect(1, held(3, "ragged_row")),
    "manutencoes/repeated_header": Expect(2, held(3, "repeated_header")),
    "manutencoes/duplicate_row": Expect(2),  # two identical services: two records (k = 1, 2)
    "manutencoes/vehicle_unknown": Expect(1, held(3, "vehicle_unknown", "placa_veiculo")),
    "manutencoes/quoted_fields": Expect(2),
    "manutencoes/crlf_trailing_blank": Expect(2, blank=2),
    "manutencoes/blank_and_empty_fields": Expect(2, blank=2),
    "manutencoes/original_columns_only": Expect(2),
    "manutencoes/header_only": Expect(0),
    # hostile values are just data
    "manutencoes/hostile_sql": Expect(2),
    "manutencoes/hostile_formula": Expect(2),
    "manutencoes/emoji": Expect(2),
    # whole-file rejections
    "manutencoes/missing_required_column": Expect(
        error=("manutencoes.csv, line 1, column 'custo'", "missing required column(s) custo")
    ),
    "manutencoes/duplicated_header": Expect(
        error=("manutencoes.csv, line 1, column 'Custo'", "duplicated header 'Custo'")
    ),
    "manutencoes/unknown_extra_column": Expect(
        error=("manutencoes.csv, line 1, column 'cor'", "unknown column 'cor'", "allow_extra")
    ),
    "manutencoes/undecodable_bytes": Expect(
        error=(
            "manutencoes.csv, line 3, column 'tipo_manutencao'",
            "not valid utf-8: b'\\xe7' at byte offset 176 of the file (byte 16 of the line)",
        )
    ),
    "manutencoes/empty_file": Expect(error=("manutencoes.csv, line 1", "the file is empty")),
    "manutencoes/too_many_bad_rows": Expect(
        error=("manutencoes.csv: 3 of 4 rows are bad", "whole file is rejected")
    ),
    # vehicles
    "veiculos/conflicting_duplicate": Expect(
        0, [(2, "conflicting_duplicate", "placa"), (3, "conflicting_duplicate", "placa")]
    ),
    "veiculos/identical_duplicate": Expect(1, duplicates=1),
    "veiculos/odometer_regressed": Expect(0, held(2, "odometer_regressed", "quilometragem_total")),
    "veiculos/plate_formats": Expect(3),
    "veiculos/invalid_plate": Expect(1, held(3, "invalid_plate", "placa")),
    "veiculos/future_date": Expect(1, held(3, "future_date", "data_aquisicao")),
    "veiculos/company_words": Expect(2),
}

# The corpus runs with a small error threshold so that one case can cross it.
THRESHOLD = {"error_threshold": 0.5, "error_threshold_rows": 2}


def _publish_case(tmp: Path, landing: str, case: str, n: int) -> str:
    table, name = case.split("/")
    folder = tmp / f"case-{n}"
    folder.mkdir()
    (folder / f"{table}.csv").write_bytes((CORPUS / table / f"{name}.csv").read_bytes())
    if table == "manutencoes":
        (folder / "veiculos.csv").write_text(CASE_VEICULOS, encoding="utf-8")
    return _publish_raw(folder, landing, T0 + timedelta(minutes=n))


def _publish_raw(folder: Path, landing: str, now: datetime) -> str:
    """publish_dir for files that may not even decode (the manifest's row count is only
    informative, so it is computed leniently here)."""
    files = []
    for path in sorted(folder.iterdir()):
        sha, size = sha256_file(path)
        rows = max(path.read_bytes().count(b"\n") - 1, 0)
        files.append(FileEntry(path.name, path.stem, rows, size, sha))
    manifest = build_manifest(files, "corpus", now)
    target = open_landing(landing)
    for entry in files:
        target.upload(folder / entry.name, manifest.batch_id, entry.name)
    (folder / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    target.upload(folder / MANIFEST_NAME, manifest.batch_id, MANIFEST_NAME)
    return manifest.batch_id


def _publish_base(tmp: Path, landing: str) -> None:
    folder = tmp / "base"
    folder.mkdir()
    (folder / "veiculos.csv").write_text(BASE_VEICULOS, encoding="utf-8")
    publish_dir(folder, open_landing(landing), "corpus", now=T0)


def _check(db_url: str, case: str, batch_id: str, result) -> None:
    expect = CASES[case]
    table = case.split("/")[0]
    rejected = [r for r in result.rejected if r.batch_id == batch_id]
    loaded = [b for b in result.loaded if b.batch_id == batch_id]
    if expect.error:
        assert not loaded and len(rejected) == 1, case
        for part in expect.error:
            assert part in str(rejected[0]), (case, str(rejected[0]))
        for sql in (
            "SELECT COUNT(*) FROM veiculos WHERE lote_id = :b",
            "SELECT COUNT(*) FROM manutencoes WHERE lote_id = :b",
            "SELECT COUNT(*) FROM frota_quarantine WHERE batch_id = :b",
            "SELECT COUNT(*) FROM frota_batches WHERE batch_id = :b",
        ):
            assert query(db_url, sql, b=batch_id) == [(0,)], (case, sql)
        return
    assert not rejected, (case, rejected and str(rejected[0]))
    [batch] = loaded
    # A maintenance row is loaded as a new record, or as one an earlier case stored already.
    got_loaded = (
        batch.manutencoes_inserted + batch.manutencoes_present
        if table == "manutencoes"
        else batch.veiculos_inserted
    )
    assert got_loaded == expect.loaded, case
    rows = query(
        db_url,
        "SELECT line, reason, column_name FROM frota_quarantine WHERE batch_id = :b ORDER BY line",
        b=batch_id,
    )
    assert rows == expect.held, case
    assert (batch.duplicates, batch.blank_lines) == (expect.duplicates, expect.blank), case
    assert batch.rows_read == (
        batch.rows_loaded
        + batch.veiculos_stale
        + batch.manutencoes_present
        + batch.manutencoes_stale
        + batch.quarantined
        + batch.duplicates
    ), case
    assert query(db_url, "SELECT COUNT(*) FROM manutencoes WHERE lote_id = :b", b=batch_id) == [
        (batch.manutencoes_inserted,)
    ]


@pytest.mark.parametrize("case", sorted(CASES))
def test_corpus_case_on_sqlite(case: str, tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url).with_overrides(**THRESHOLD)
    _publish_base(tmp_path, s.landing)
    batch_id = _publish_case(tmp_path, s.landing, case, 1)
    result = load_pending(s, today=TODAY)
    _check(sqlite_url, case, batch_id, result)


@pytest.mark.parametrize(
    "engine",
    [
        pytest.param("mysql_url", marks=pytest.mark.mysql),
        pytest.param("postgres_url", marks=pytest.mark.postgres),
    ],
)
def test_whole_corpus_on_servers(
    engine: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    db_url = request.getfixturevalue(engine)
    init_db(db_url)
    s = settings_for(tmp_path, db_url).with_overrides(**THRESHOLD)
    _publish_base(tmp_path, s.landing)
    ids = {
        case: _publish_case(tmp_path, s.landing, case, n) for n, case in enumerate(sorted(CASES), 1)
    }
    result = load_pending(s, today=TODAY)
    for case, batch_id in ids.items():
        _check(db_url, case, batch_id, result)


def test_hostile_and_unusual_values_are_stored_verbatim(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    _publish_base(tmp_path, s.landing)
    cases = ("hostile_sql", "hostile_formula", "emoji", "quoted_fields")
    for n, name in enumerate(cases, 1):
        _publish_case(tmp_path, s.landing, f"manutencoes/{name}", n)
    load_pending(s, today=TODAY)
    tipos = {r[0] for r in query(db_url, "SELECT tipo_manutencao FROM manutencoes")}
    assert {
        "'); DROP TABLE veiculos;--",
        "=CMD|' /C calc'!A0",
        "Troca de óleo 🛢️🚚",
        'Freios; "pastilhas", discos\nvia oficina',
    } <= tipos
    assert query(db_url, "SELECT COUNT(*) FROM veiculos") == [(3,)]  # tables intact


def test_company_words_are_kept_trimmed(tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    _publish_case(tmp_path, s.landing, "veiculos/company_words", 1)
    load_pending(s, today=TODAY)
    assert query(sqlite_url, "SELECT tipo_veiculo, status FROM veiculos ORDER BY placa") == [
        ("Caminhão Toco", "Em manutenção"),
        ("Bitrem Rodotrem", "Aguardando peça"),
    ]


def test_plates_are_normalised(tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    _publish_case(tmp_path, s.landing, "veiculos/plate_formats", 1)
    load_pending(s, today=TODAY)
    assert query(sqlite_url, "SELECT placa FROM veiculos ORDER BY placa") == [
        ("ABC1299",),
        ("BRA2E77",),
        ("PLT1D23",),
    ]


def test_original_columns_only_load_with_optional_columns_empty(
    tmp_path: Path, sqlite_url: str
) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    _publish_base(tmp_path, s.landing)
    _publish_case(tmp_path, s.landing, "manutencoes/original_columns_only", 1)
    load_pending(s, today=TODAY)
    assert query(
        sqlite_url,
        "SELECT quilometragem, categoria, data_conclusao FROM manutencoes ORDER BY id",
    ) == [(None, None, None), (None, None, None)]
