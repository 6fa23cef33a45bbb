"""The quarantine for people: dismiss (a required note, kept and shown, never retried),
export --format excel-br (a sheet per table in the company's own formats) and retry --from the
corrected sheet (exactly those rows, idempotent)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from batchkit import TODAY, V1_LINES, load_one, query
from click.testing import CliRunner

from frota.cli import cli
from frota.errors import BadInputError, UsageError
from frota.ops.quarantine import (
    dismiss_quarantine,
    export_excel_br,
    list_quarantine,
    read_corrections,
    retry_quarantine,
)

MANUT = [
    "ABC1234,Troca de óleo,2026-01-05,1234.50,119500,preventiva,2026-01-06",
    "ABC1234,Pneus,2026-02-31,100.00,,corretiva,",  # line 3: impossible date
    "ABC1234,Freios,2026-01-07,-10.00,,,",  # line 4: negative cost
    # line 5: ragged (9 fields: two too many; the sheet shows the contract's 8, id_origem last)
    "ABC1234,Filtro,2026-01-08,12.5,1,2,3,4,5",
]
VEIC = [*V1_LINES, "XX1,Van,ativo,10,2020-01-01"]  # after V1_LINES: invalid plate


def _loaded(tmp_path: Path, db_url: str):
    return load_one(tmp_path, db_url, VEIC, MANUT)


def _sheet(path: Path) -> list[dict[str, str]]:
    data = path.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.DictReader(data.decode("utf-8-sig").splitlines(), delimiter=";"))


def _exported_maintenances(s, tmp_path: Path) -> list[dict[str, str]]:
    export_excel_br(s, tmp_path / "q", table="manutencoes")
    return _sheet(tmp_path / "q" / "manutencoes.csv")


def _write_sheet(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter=";", lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(rows)


def test_excel_br_sheets_in_the_companys_formats(tmp_path: Path, sqlite_url: str) -> None:
    s, _ = _loaded(tmp_path, sqlite_url)
    written = export_excel_br(s, tmp_path / "q")
    assert written == {"veiculos": 1, "manutencoes": 3}
    manut = _sheet(tmp_path / "q" / "manutencoes.csv")
    assert list(manut[0])[:8] == [
        "placa_veiculo",
        "tipo_manutencao",
        "data_manutencao",
        "custo",
        "quilometragem",
        "categoria",
        "data_conclusao",
        "id_origem",
    ]
    assert list(manut[0])[8:] == ["motivo", "coluna", "linha", "excedente", "quarentena_id"]
    by_line = {r["linha"]: r for r in manut}
    assert by_line["3"]["data_manutencao"] == "31/02/2026"  # dd/mm/yyyy, even when impossible
    assert by_line["3"]["motivo"] == "impossible_date"
    assert by_line["4"]["custo"] == "-10,00"  # decimal comma, a number to Excel
    ragged = by_line["5"]
    assert (ragged["motivo"], ragged["placa_veiculo"], ragged["data_conclusao"]) == (
        "ragged_row",
        "ABC1234",
        "3",
    )
    assert (ragged["custo"], ragged["id_origem"], ragged["excedente"]) == ("12.5", "4", "5")
    [veic] = _sheet(tmp_path / "q" / "veiculos.csv")
    line = str(len(V1_LINES) + 2)
    assert (veic["placa"], veic["data_aquisicao"], veic["linha"]) == ("XX1", "01/01/2020", line)


def test_round_trip_fix_one_value_and_exactly_that_row_loads(tmp_path: Path, db_url: str) -> None:
    s, batch = _loaded(tmp_path, db_url)
    rows = _exported_maintenances(s, tmp_path)
    fixed = next(r for r in rows if r["motivo"] == "impossible_date")
    fixed["data_manutencao"] = "28/02/2026"
    _write_sheet(tmp_path / "corrigido.csv", rows)
    before = query(db_url, "SELECT COUNT(*) FROM manutencoes")[0][0]

    result = retry_quarantine(
        s, corrections=read_corrections(tmp_path / "corrigido.csv"), sheet="corrigido.csv"
    )
    assert (result.corrected, result.released, result.manutencoes_inserted) == (1, 1, 1)
    assert result.still_held == 2  # the negative cost and the ragged row, unchanged
    assert query(db_url, "SELECT COUNT(*) FROM manutencoes")[0][0] == before + 1
    loaded = query(
        db_url,
        "SELECT tipo_manutencao, data_manutencao, custo FROM manutencoes WHERE lote_id = :b",
        b=result.batch_id,
    )
    assert [(t, str(d)[:10], float(c)) for t, d, c in loaded] == [("Pneus", "2026-02-28", 100.0)]
    noted = query(
        db_url,
        "SELECT status, note FROM frota_quarantine WHERE id = :i",
        i=int(fixed["quarentena_id"]),
    )
    assert noted == [("released", "corrected in corrigido.csv")]
    # Idempotent: the same sheet again releases nothing and writes nothing.
    again = retry_quarantine(
        s, corrections=read_corrections(tmp_path / "corrigido.csv"), sheet="corrigido.csv"
    )
    assert (again.released, again.rows_written, again.not_held) == (0, 0, 1)
    assert query(db_url, "SELECT COUNT(*) FROM manutencoes")[0][0] == before + 1
    assert batch.quarantined == 4


def test_retry_from_reads_what_excel_saves_back(tmp_path: Path, sqlite_url: str) -> None:
    """Excel's 'CSV (separado por ponto e vírgula)': cp1252, no BOM, thousands dots."""
    s, _ = _loaded(tmp_path, sqlite_url)
    rows = _exported_maintenances(s, tmp_path)
    neg = next(r for r in rows if r["motivo"] == "negative_value")
    neg["custo"] = "1.010,00"
    text = ";".join(rows[0]) + "\r\n"
    text += "\r\n".join(";".join(r.values()) for r in rows) + "\r\n"
    (tmp_path / "salvo.csv").write_bytes(text.encode("cp1252"))
    result = retry_quarantine(s, corrections=read_corrections(tmp_path / "salvo.csv"))
    assert (result.corrected, result.released) == (1, 1)
    assert [
        str(c)
        for (c,) in query(
            sqlite_url, f"SELECT custo FROM manutencoes WHERE lote_id = '{result.batch_id}'"
        )
    ] in (["1010.00"], ["1010"], ["1010.0"])


def test_a_sheet_that_is_not_ours_is_refused_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "x.csv").write_text("placa;cor\nABC1234;azul\n", encoding="utf-8")
    with pytest.raises(BadInputError, match="no quarentena_id column"):
        read_corrections(tmp_path / "x.csv")
    header = "placa;tipo_veiculo;status;quilometragem_total;data_aquisicao;quarentena_id"
    (tmp_path / "y.csv").write_text(f"{header}\nABC1234;Van;ativo;1;01/01/2020;\n")
    with pytest.raises(BadInputError) as err:
        read_corrections(tmp_path / "y.csv")
    assert err.value.line == 2 and err.value.column == "quarentena_id"


def test_dismiss_needs_a_note_keeps_it_and_is_never_retried(tmp_path: Path, db_url: str) -> None:
    s, _ = _loaded(tmp_path, db_url)
    with pytest.raises(UsageError, match="needs a note"):
        dismiss_quarantine(s, note="  ", reason="ragged_row")
    with pytest.raises(UsageError, match="needs the rows"):
        dismiss_quarantine(s, note="why")
    with pytest.raises(UsageError, match="no quarantine row with id 9999"):
        dismiss_quarantine(s, note="why", ids=[9999])
    assert dismiss_quarantine(s, note="linha de teste do ERP", reason="ragged_row") == 1
    assert dismiss_quarantine(s, note="again", reason="ragged_row") == 0  # held rows only
    dismissed = list_quarantine(s, status="dismissed")
    assert dismissed.total == 1
    [row] = dismissed.rows
    assert (row.note, row.status, row.reason) == (
        "linha de teste do ERP",
        "dismissed",
        "ragged_row",
    )
    assert row.noted_by and row.noted_at is not None
    assert list_quarantine(s).counts == {
        "impossible_date": 1,
        "invalid_plate": 1,
        "negative_value": 1,
    }
    retried = retry_quarantine(s, ids=[row.id], today=TODAY)
    assert retried.examined == 0
    # A corrected sheet that lists it leaves it alone too.
    export_excel_br(s, tmp_path / "q", status="all", table="manutencoes")
    rows = _sheet(tmp_path / "q" / "manutencoes.csv")
    assert any(r["quarentena_id"] == str(row.id) for r in rows)
    result = retry_quarantine(s, corrections=read_corrections(tmp_path / "q" / "manutencoes.csv"))
    assert result.not_held >= 1
    assert query(db_url, "SELECT status FROM frota_quarantine WHERE id = :i", i=row.id) == [
        ("dismissed",)
    ]


def test_cli_dismiss_export_excel_br_retry_from(tmp_path: Path, sqlite_url: str) -> None:
    s, _ = _loaded(tmp_path, sqlite_url)
    runner = CliRunner()
    base = ["--database", sqlite_url, "--landing", s.landing]
    no_note = runner.invoke(cli, [*base, "quarantine", "dismiss", "--reason", "ragged_row"])
    assert isinstance(no_note.exception, UsageError)  # exit 2 through frota.cli.main
    assert "needs a note" in str(no_note.exception)
    ok = runner.invoke(
        cli, [*base, "quarantine", "dismiss", "--reason", "ragged_row", "--note", "teste"]
    )
    assert ok.exit_code == 0 and "dismissed 1 row(s)" in ok.output, ok.output
    listed = runner.invoke(cli, [*base, "quarantine", "list", "--status", "dismissed"])
    assert listed.exit_code == 0 and "teste" in listed.output, listed.output
    folder = tmp_path / "planilhas"
    exported = runner.invoke(
        cli, [*base, "quarantine", "export", "--format", "excel-br", str(folder)]
    )
    assert exported.exit_code == 0, exported.output
    assert "exported 2 row(s)" in exported.output and "exported 1 row(s)" in exported.output
    retried = runner.invoke(
        cli, [*base, "quarantine", "retry", "--from", str(folder / "manutencoes.csv")]
    )
    assert retried.exit_code == 0 and "corrected by the sheet" in retried.output, retried.output
    mixed = runner.invoke(
        cli, [*base, "quarantine", "retry", "--from", str(folder / "manutencoes.csv"), "--id", "1"]
    )
    assert mixed.exit_code == 2
