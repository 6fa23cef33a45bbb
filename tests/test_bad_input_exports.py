"""`frota publish --from` on what real exports look like (tests/corpus/exports), the policies
(threshold, size limit, extra columns), huge fields, and property-based reconciliation."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from batchkit import TODAY, V1_LINES, init_db, publish_lines, query, settings_for
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from frota.config import Settings
from frota.contract.tabular import FilePolicy
from frota.errors import BadInputError
from frota.load import load_pending
from frota.publish import publish_export
from frota.publish.exports import canonicalize_exports

EXPORTS = Path(__file__).parent / "corpus" / "exports"


def _folder(tmp: Path, *cases: str) -> Path:
    folder = tmp / "exports"
    folder.mkdir(exist_ok=True)
    for case in cases:
        table, name = case.split("/")
        shutil.copy(EXPORTS / table / f"{name}.csv", folder / f"{table}.csv")
    return folder


def _canonical(tmp: Path, *cases: str, **kwargs) -> tuple[list[str], Path]:
    """The report lines and the folder of canonical files."""
    out = tmp / "out"
    out.mkdir(exist_ok=True)
    check = canonicalize_exports(_folder(tmp, *cases), out, today=TODAY, **kwargs)
    return check.lines(), out


def test_new_user_excel_export_loads_and_explains_bad_rows(tmp_path: Path, db_url: str) -> None:
    """Excel 'CSV (separado por ponto e vírgula)', cp1252, dd/mm/yyyy, decimal comma."""
    folder = _folder(
        tmp_path, "veiculos/excel_cp1252_semicolon", "manutencoes/excel_cp1252_semicolon"
    )
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    publish_export(folder, s)
    [batch] = load_pending(s, today=TODAY).loaded
    assert (batch.veiculos_inserted, batch.manutencoes_inserted, batch.quarantined) == (2, 2, 3)
    assert batch.rows_read == batch.rows_loaded + batch.quarantined + batch.duplicates
    assert query(
        db_url,
        "SELECT placa, tipo_veiculo, status, quilometragem_total FROM veiculos ORDER BY placa",
    ) == [
        ("ABC1234", "Caminhão Toco", "Em manutenção", 120000),
        ("BRA2E19", "Van", "ativo", 45000),
    ]
    rows = query(db_url, "SELECT tipo_manutencao, custo FROM manutencoes ORDER BY id")
    assert [(t, Decimal(str(c))) for t, c in rows] == [
        ("Manutenção preventiva", Decimal("1234.56")),
        ('Freios; pastilhas "premium"', Decimal("850.00")),
    ]
    held = query(
        db_url, "SELECT file, line, reason, column_name FROM frota_quarantine ORDER BY file, line"
    )
    assert held == [  # the export's own line numbers
        ("manutencoes.csv", 4, "impossible_date", "data_manutencao"),
        ("manutencoes.csv", 5, "negative_value", "custo"),
        ("veiculos.csv", 4, "invalid_plate", "placa"),
    ]


@pytest.mark.parametrize(
    ("case", "kwargs", "expected"),
    [
        ("manutencoes/utf8_bom_comma", {}, "ABC1234,Manutenção,2026-01-05,1234.56,,,"),
        ("manutencoes/latin1", {"encoding": "latin-1"}, "ABC1234,Manutenção ¤,2026-01-05,12.50,,,"),
        (
            "manutencoes/quoted_newlines",
            {},
            'ABC1234,"Freios, ""premium""\r\ne discos",2026-01-05,10.00,,,',
        ),
    ],
)
def test_accepted_formats(tmp_path: Path, case: str, kwargs: dict, expected: str) -> None:
    _, out = _canonical(tmp_path, case, **kwargs)
    text = (out / "manutencoes.csv").read_bytes().decode("utf-8")
    assert text.splitlines()[0] == (
        "placa_veiculo,tipo_manutencao,data_manutencao,custo,quilometragem,categoria,"
        "data_conclusao,id_origem"
    )
    assert expected in text


@pytest.mark.parametrize(
    ("case", "kwargs", "message"),
    [
        (
            "manutencoes/undecodable_cp1252",
            {},
            "manutencoes.csv, line 3, column 'tipo_manutencao': bytes that are not valid cp1252: "
            "b'\\x81' at byte offset 100 of the file (byte 11 of the line)",
        ),
        (
            "manutencoes/undecodable_cp1252",
            {"encoding": "utf-8"},
            "manutencoes.csv, line 2, column 'tipo_manutencao': bytes that are not valid utf-8",
        ),
        ("manutencoes/empty_file", {}, "manutencoes.csv, line 1: the file is empty"),
        (
            "manutencoes/duplicated_header",
            {},
            "manutencoes.csv, line 1, column 'placa_veiculo': duplicated header",
        ),
        (
            "manutencoes/unknown_extra_column",
            {},
            "manutencoes.csv, line 1, column 'Observação': unknown column",
        ),
        (
            "manutencoes/missing_required_column",
            {},
            "manutencoes.csv, line 1, column 'data_manutencao': missing required column",
        ),
        (
            "manutencoes/utf8_bom_comma",
            {"encoding": "klingon"},
            "manutencoes.csv: unknown encoding 'klingon'",
        ),
        (
            "manutencoes/utf8_bom_comma",
            {"policy": FilePolicy(max_file_bytes=10)},
            "manutencoes.csv: 97 bytes, above the limit of 10 (max_file_bytes)",
        ),
    ],
)
def test_rejected_exports_name_file_line_column(
    tmp_path: Path, case: str, kwargs: dict, message: str
) -> None:
    with pytest.raises(BadInputError) as err:
        _canonical(tmp_path, case, **kwargs)
    assert str(err.value).startswith(message), str(err.value)


def test_extra_columns_can_be_allowed(tmp_path: Path) -> None:
    report, out = _canonical(
        tmp_path, "manutencoes/unknown_extra_column", policy=FilePolicy(allow_extra_columns=True)
    )
    assert "extra columns left out: Observação" in report[0]
    assert (out / "manutencoes.csv").read_text().splitlines()[
        1
    ] == "ABC1234,Pneus,2026-01-05,1.00,,,,"


def test_extra_columns_setting_reaches_the_loader(tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url).with_overrides(allow_extra_columns=True)
    folder = tmp_path / "b"
    folder.mkdir()
    (folder / "veiculos.csv").write_text(
        "placa,tipo_veiculo,status,quilometragem_total,data_aquisicao,cor\n"
        "ABC1234,Van,ativo,1,2020-01-01,azul\n"
    )
    from batchkit import T0

    from frota.landing import open_landing
    from frota.publish import publish_dir

    publish_dir(folder, open_landing(s.landing), "x", now=T0)
    [batch] = load_pending(s, today=TODAY).loaded
    assert batch.veiculos_inserted == 1


def test_ragged_and_repeated_header_reach_the_quarantine(tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    publish_lines(tmp_path, s.landing, 0, V1_LINES)
    publish_export(_folder(tmp_path, "manutencoes/ragged_and_repeated_header"), s)
    batches = load_pending(s, today=TODAY).loaded
    assert batches[-1].manutencoes_inserted == 1
    assert query(sqlite_url, "SELECT line, reason FROM frota_quarantine ORDER BY line") == [
        (2, "ragged_row"),
        (3, "repeated_header"),
        (4, "ragged_row"),
    ]


def test_default_error_threshold(tmp_path: Path, sqlite_url: str) -> None:
    """More than 10 % AND more than 100 bad rows reject the file; 100 bad rows do not."""
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    good = "ABC1234,Pneus,2026-02-03,10.00,,,"
    publish_lines(tmp_path, s.landing, 0, V1_LINES)
    publish_lines(
        tmp_path,
        s.landing,
        1,
        manutencoes=[good] * 0
        + [f"ABC1234,Pneus {i},2026-02-03,x,,," for i in range(100)]
        + [f"ABC1234,Pneus {i},2026-02-03,1.00,,," for i in range(900)],
    )
    publish_lines(
        tmp_path,
        s.landing,
        2,
        manutencoes=[f"ABC1234,Pneus {i},2026-02-03,x,,," for i in range(101)]
        + [f"ABC1234,Pneus {i},2026-02-03,1.00,,," for i in range(100)],
    )
    result = load_pending(s, today=TODAY)
    assert [b.quarantined for b in result.loaded] == [0, 100]
    [rejected] = result.rejected
    assert "101 of 201 rows are bad (not_a_decimal x101)" in str(rejected)
    assert query(sqlite_url, "SELECT COUNT(*) FROM manutencoes") == [(900,)]


def test_file_above_max_file_bytes_is_refused_before_parsing(
    tmp_path: Path, sqlite_url: str
) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url).with_overrides(max_file_bytes=100)
    publish_lines(tmp_path, s.landing, 1, V1_LINES)  # 149 bytes
    result = load_pending(s, today=TODAY)
    assert "above the limit of 100 (max_file_bytes)" in str(result.rejected[0])
    assert query(sqlite_url, "SELECT COUNT(*) FROM veiculos") == [(0,)]


def test_ten_megabyte_field_is_quarantined_not_crashing(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    huge = "x" * (10 * 1024 * 1024)
    publish_lines(tmp_path, s.landing, 1, V1_LINES, [f"ABC1234,{huge},2026-02-03,1.00,,,"])
    [batch] = load_pending(s, today=TODAY).loaded
    assert (batch.veiculos_inserted, batch.quarantined) == (2, 1)
    [(reason, detail, raw)] = query(db_url, "SELECT reason, detail, raw FROM frota_quarantine")
    assert reason == "too_long" and detail == f"{len(huge)} characters; the column holds 100"
    assert raw.endswith("more characters not stored]") and len(raw) < 20_000


def test_missing_listed_file_leaves_the_batch_incomplete(tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    pub = publish_lines(tmp_path, s.landing, 1, V1_LINES, ["ABC1234,Pneus,2026-02-03,1.00,,,"])
    (Path(s.landing) / "batches" / pub.batch_id / "manutencoes.csv").unlink()
    result = load_pending(s, today=TODAY)
    assert (
        result.loaded == ()
        and "manutencoes.csv listed in the manifest is missing" in (result.incomplete[0][1])
    )
    assert query(sqlite_url, "SELECT COUNT(*) FROM veiculos") == [(0,)]


def test_two_files_with_the_same_name_reject_the_batch(tmp_path: Path) -> None:
    from frota.landing.base import RemoteFile
    from frota.landing.discover import inspect_batch

    pub = publish_lines(tmp_path, str(tmp_path / "landing"), 1, V1_LINES)
    from frota.landing import open_landing

    real = open_landing(tmp_path / "landing")

    class DriveLike:  # Google Drive lists two files of the same name
        def list_files(self, batch_id):
            files = real.list_files(batch_id)
            return [*files, next(f for f in files if f.name == "veiculos.csv")]

        def read_text(self, batch_id, name):
            return real.read_text(batch_id, name)

    candidate = inspect_batch(DriveLike(), pub.batch_id)  # type: ignore[arg-type]
    assert candidate.rejected is not None and not candidate.complete
    assert "two files named 'veiculos.csv'" in str(candidate.rejected)
    assert RemoteFile  # the landing's listing type


# ------------------------------------------------------------------ property-based

_cells = st.sampled_from(
    ["ABC1234", "BRA2E19", "abc-1234", "XYZ9A99", "AB1", "", "=1+1", "'); DROP TABLE x;--"]
)
_tipos = st.text(max_size=12) | st.sampled_from(["Troca de óleo", "x" * 101, "🚚", "a\x00b"])
_dates = st.sampled_from(["2026-01-05", "31/02/2024", "2099-01-01", "05/01/2026", "", "ontem"])
_costs = st.sampled_from(["850.00", "-1", "1.234,56", "abc", "", "99999999", "0.001"])
_row = st.tuples(_cells, _tipos, _dates, _costs).map(
    lambda t: [t[0], t[1], t[2], t[3], "", "", ""]
) | st.lists(st.sampled_from(["a", "", "1"]), max_size=9)


def _csv_line(fields: list[str]) -> str:
    import csv
    import io

    out = io.StringIO()  # "\r\n" as terminator: a field holding one is quoted
    csv.writer(out, lineterminator="\r\n").writerow(fields)
    return out.getvalue()[:-2]


def _reconciles(tmp_path: Path, db_url: str, examples: int) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url).with_overrides(error_threshold=1.0)
    publish_lines(tmp_path, s.landing, 0, V1_LINES)
    load_pending(s, today=TODAY)
    counter = iter(range(1, 10_000))

    @settings(
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(st.lists(_row, max_size=8))
    def check(rows: list[list[str]]) -> None:
        n = next(counter)
        lines = [_csv_line(r) for r in rows]
        pub = publish_lines(tmp_path, s.landing, n, manutencoes=lines, source=f"h{n}")
        result = load_pending(s, today=TODAY)
        assert not result.rejected, str(result.rejected[0])
        [batch] = [b for b in result.loaded if b.batch_id == pub.batch_id] or [None]
        if batch is None:  # identical content was published before
            return
        # Rows an earlier example sent already are present (their records exist).
        assert batch.rows_read == (
            batch.manutencoes_inserted + batch.manutencoes_present + batch.quarantined
        )
        (m,), (q,) = (
            query(db_url, "SELECT COUNT(*) FROM manutencoes WHERE lote_id = :b", b=pub.batch_id)[0],
            query(
                db_url, "SELECT COUNT(*) FROM frota_quarantine WHERE batch_id = :b", b=pub.batch_id
            )[0],
        )
        assert (m, q) == (batch.manutencoes_inserted, batch.quarantined)

    check()


def test_random_rows_load_or_are_quarantined_sqlite(tmp_path: Path, sqlite_url: str) -> None:
    _reconciles(tmp_path, sqlite_url, 40)


@pytest.mark.parametrize(
    "engine",
    [
        pytest.param("mysql_url", marks=pytest.mark.mysql),
        pytest.param("postgres_url", marks=pytest.mark.postgres),
    ],
)
def test_random_rows_load_or_are_quarantined_servers(
    tmp_path: Path, engine: str, request: pytest.FixtureRequest
) -> None:
    _reconciles(tmp_path, request.getfixturevalue(engine), 8)


def test_settings_reject_a_bad_threshold() -> None:
    from frota.errors import ConfigError

    with pytest.raises(ConfigError, match="error_threshold"):
        FilePolicy.from_settings(Settings(error_threshold=1.5))
