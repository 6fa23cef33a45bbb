"""publish: immutable batches, manifest last, identical content detected, interrupted uploads
finished, user exports (`;`, decimal comma, dd/mm/yyyy, cp1252) turned canonical."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from batchkit import M1_LINES, T0, TODAY, V1_LINES, init_db, publish_lines, query, write_batch_dir

from frota.batch import MANIFEST_NAME, Manifest, is_batch_id, sha256_file
from frota.config import Settings
from frota.errors import BadInputError, LandingError
from frota.landing import open_landing
from frota.load import load_pending
from frota.publish import publish_dir, publish_export


def test_batch_layout_manifest_and_checksums(tmp_path: Path) -> None:
    landing = str(tmp_path / "landing")
    result = publish_lines(tmp_path, landing, 1, V1_LINES, M1_LINES, source="pc-frota")
    assert result.status == "published" and is_batch_id(result.batch_id)
    assert result.batch_id.startswith("20260110T120100Z-pc-frota-")
    folder = Path(landing) / "batches" / result.batch_id
    assert sorted(p.name for p in folder.iterdir()) == [
        MANIFEST_NAME,
        "manutencoes.csv",
        "veiculos.csv",
    ]
    manifest = Manifest.from_json((folder / MANIFEST_NAME).read_text())
    assert result.batch_id.endswith(manifest.content_sha256[:8])
    for entry in manifest.files:
        assert (entry.sha256, entry.bytes) == sha256_file(folder / entry.name)
    assert {f.name: f.rows for f in manifest.files} == {"veiculos.csv": 2, "manutencoes.csv": 2}


def test_republishing_identical_content_is_detected(tmp_path: Path) -> None:
    landing = str(tmp_path / "landing")
    first = publish_lines(tmp_path, landing, 1, V1_LINES, M1_LINES)
    again = publish_lines(tmp_path, landing, 9, V1_LINES, M1_LINES)
    assert again.status == "already_published" and again.batch_id == first.batch_id
    assert len(list((Path(landing) / "batches").iterdir())) == 1


def test_publishing_never_overwrites(tmp_path: Path) -> None:
    landing = open_landing(tmp_path / "landing")
    folder = write_batch_dir(tmp_path / "src", V1_LINES)
    landing.upload(folder / "veiculos.csv", "b", "veiculos.csv")
    with pytest.raises(LandingError, match="never overwritten"):
        landing.upload(folder / "veiculos.csv", "b", "veiculos.csv")


def test_interrupted_publish_is_completed_by_the_next(tmp_path: Path) -> None:
    landing_url = str(tmp_path / "landing")
    first = publish_lines(tmp_path, landing_url, 1, V1_LINES, M1_LINES)
    folder = Path(landing_url) / "batches" / first.batch_id
    (folder / MANIFEST_NAME).unlink()
    (folder / "manutencoes.csv").unlink()  # the publisher died after the first file
    again = publish_lines(tmp_path, landing_url, 5, V1_LINES, M1_LINES)
    assert (again.status, again.batch_id) == ("completed", first.batch_id)
    assert Manifest.from_json((folder / MANIFEST_NAME).read_text()).batch_id == first.batch_id


def test_interrupted_publish_with_a_torn_file_is_superseded(tmp_path: Path) -> None:
    landing_url = str(tmp_path / "landing")
    first = publish_lines(tmp_path, landing_url, 1, V1_LINES, M1_LINES)
    folder = Path(landing_url) / "batches" / first.batch_id
    (folder / MANIFEST_NAME).unlink()
    (folder / "manutencoes.csv").write_bytes(b"placa_veiculo,tipo")  # torn upload
    again = publish_lines(tmp_path, landing_url, 5, V1_LINES, M1_LINES)
    assert again.status == "published" and again.batch_id != first.batch_id


def test_empty_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadInputError, match="no veiculos.csv or manutencoes.csv"):
        publish_dir(tmp_path / "empty", open_landing(tmp_path / "landing"), "x", now=T0)


EXCEL_VEICULOS = (
    "Placa;Tipo Veículo;Status;Quilometragem Total;Data Aquisição\r\n"
    "abc-1234;Caminhão Toco;Em manutenção;120.000;01/03/2019\r\n"
    "BRA2E19;Van;ativo;45.000;15/07/2021\r\n"
    "\r\n"
)
EXCEL_MANUTENCOES = (
    "placa_veiculo;tipo_manutencao;data_manutencao;custo\r\n"
    "ABC-1234;Manutenção preventiva;05/01/2026;1.234,56\r\n"
    'BRA2E19;"Freios; pastilhas";06/01/2026;850,00\r\n'
    "BRA2E19;Pneus;31/02/2026;10,00\r\n"
)


def test_excel_export_in_cp1252_loads_correctly(tmp_path: Path, sqlite_url: str) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "Veiculos.csv").write_bytes(EXCEL_VEICULOS.encode("cp1252"))
    (exports / "manutenções.csv").write_bytes(EXCEL_MANUTENCOES.encode("cp1252"))
    init_db(sqlite_url)
    s = Settings(landing=str(tmp_path / "landing"), database=sqlite_url, source="erp")
    published = publish_export(exports, s)
    assert published.status == "published"
    [batch] = load_pending(s, today=TODAY).loaded
    assert (batch.veiculos_inserted, batch.manutencoes_inserted, batch.quarantined) == (2, 2, 1)
    assert query(
        sqlite_url,
        "SELECT placa, status, quilometragem_total, data_aquisicao FROM veiculos ORDER BY placa",
    ) == [
        ("ABC1234", "Em manutenção", 120000, "2019-03-01"),
        ("BRA2E19", "ativo", 45000, "2021-07-15"),
    ]
    assert query(sqlite_url, "SELECT tipo_manutencao, custo FROM manutencoes ORDER BY id") == [
        ("Manutenção preventiva", 1234.56),
        ("Freios; pastilhas", 850.0),
    ]
    assert query(sqlite_url, "SELECT reason, line FROM frota_quarantine") == [
        ("impossible_date", 4)
    ]


def test_export_with_an_unknown_column_names_file_line_column(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "veiculos.csv").write_text(
        "placa,tipo_veiculo,status,quilometragem_total,"
        "data_aquisicao,cor\nABC1234,Van,ativo,1,2020-01-01,azul\n"
    )
    s = Settings(landing=str(tmp_path / "landing"))
    with pytest.raises(BadInputError) as err:
        publish_export(exports, s)
    assert str(err.value).startswith("veiculos.csv, line 1, column 'cor': unknown column 'cor'")


def test_manifest_is_json_with_the_documented_fields(tmp_path: Path) -> None:
    result = publish_lines(tmp_path, str(tmp_path / "landing"), 1, V1_LINES)
    body = json.loads(
        (tmp_path / "landing" / "batches" / result.batch_id / MANIFEST_NAME).read_text()
    )
    assert set(body) == {
        "format_version",
        "batch_id",
        "source",
        "created_at",
        "content_sha256",
        "producer",
        "files",
        "published_at",
        "sequence",
        "as_of",
    }
    assert set(body["files"][0]) == {"name", "table", "rows", "bytes", "sha256"}
