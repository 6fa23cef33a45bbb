"""The publisher sees the problems: `publish --from DIR --dry-run` (file:line:column in the
export's own terms, exit 3 for a refused file), `--report` (a pt-BR sheet), the summary of a
publish; and the Excel files that used to mislead: `sep=;`, UTF-16 without BOM, CR-only line
ends, a header-only file, an unexpected file in the export or a batch folder."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from batchkit import TODAY, init_db, query, settings_for

from frota.landing import open_landing
from frota.load import load_pending
from frota.publish import check_export, publish_export

VEIC = "Placa;Tipo Veículo;Status;Quilometragem Total;Data Aquisição"
MANUT = "Placa Veículo;Tipo Manutenção;Data Manutenção;Custo;Data Conclusão"
# Hand-made hostile rows, each problem at a known line and column (the export's own names).
VEIC_ROWS = [
    "ABC-1234;Caminhão;ativo;120.000;01/03/2019",
    "XY-12;Van;ativo;1.000;01/03/2019",  # line 3: plate
    "BRA2E19;Van;ativo;mil;31/02/2020",  # line 4: odometer and date (one row held)
    "CDA1B23;Van;ativo;10;01/01/2099",  # line 5: future date
]
MANUT_ROWS = [
    "ABC1234;Freios;05/01/2026;1.234,56;06/01/2026",
    "ABC1234;Pneus;05/01/2026;-10,00;",  # line 3: negative
    "ABC1234;Óleo;10/01/2026;12,5;09/01/2026",  # line 4: conclusion before service
    "ABC1234;;;12,5;",  # line 5: missing date
]
FINDING = re.compile(r"^([^ :]+:\d+:[^:]+): .* \[(\w+)\]")
EXPECTED = [  # (file, line, column, reason) in file and line order
    ("veiculos.csv", 3, "Placa", "invalid_plate"),
    ("veiculos.csv", 4, "Quilometragem Total", "not_an_integer"),
    ("veiculos.csv", 4, "Data Aquisição", "impossible_date"),
    ("veiculos.csv", 5, "Data Aquisição", "future_date"),
    ("manutencoes.csv", 3, "Custo", "negative_value"),
    ("manutencoes.csv", 4, "Data Conclusão", "conclusion_before_service"),
    ("manutencoes.csv", 5, "Data Manutenção", "missing_value"),
]


def _export(
    folder: Path,
    veiculos: list[str] | None = None,
    manutencoes: list[str] | None = None,
    *,
    encoding: str = "cp1252",
    newline: str = "\r\n",
    first: str = "",
) -> Path:
    """An export folder as Excel would write it (cp1252, CRLF, `;`) unless told otherwise."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, header, rows in (("veiculos", VEIC, veiculos), ("manutencoes", MANUT, manutencoes)):
        if rows is not None:
            lines = ([first] if first else []) + [header, *rows]
            text = newline.join(lines) + newline
            (folder / f"{name}.csv").write_bytes(text.encode(encoding))
    return folder


def _frota(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FROTA_")}
    return subprocess.run(
        [sys.executable, "-m", "frota", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def _batches(tmp: Path) -> list[str]:
    return open_landing(str(tmp / "data" / "landing")).list_batch_ids(missing_ok=True)


def test_dry_run_prints_every_problem_in_the_exports_terms(tmp_path: Path) -> None:
    _export(tmp_path / "exp", VEIC_ROWS, MANUT_ROWS)
    result = _frota("publish", "--from", "exp", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = [m for line in result.stdout.splitlines() if (m := FINDING.match(line))]
    assert [m.group(1) for m in printed] == [f"{f}:{line}:{col}" for f, line, col, _ in EXPECTED]
    assert [m.group(2) for m in printed] == [r for *_, r in EXPECTED]
    assert "[invalid_plate] (hint: write the plate as ABC1234 or ABC1D23)" in result.stdout
    assert "veiculos.csv:4:Data Aquisição: the date does not exist" in result.stdout
    assert "'31/02/2020' [impossible_date]" in result.stdout  # the value as the export wrote it
    assert "dry run: 8 rows would be published; nothing was" in result.stdout
    assert _batches(tmp_path) == []


def test_dry_run_refused_file_exits_3_and_still_checks_the_others(tmp_path: Path) -> None:
    folder = _export(tmp_path / "exp", VEIC_ROWS)
    (folder / "manutencoes.csv").write_text("Placa Veículo;Oficina\nABC1234;Zé\n")
    result = _frota("publish", "--from", "exp", "--dry-run", cwd=tmp_path)
    assert result.returncode == 3
    assert "manutencoes.csv:1:Oficina: unknown column 'Oficina'" in result.stdout
    assert "veiculos.csv:3:Placa:" in result.stdout  # the good file was checked all the same
    assert "1 file(s) refused: nothing would be published" in result.stdout
    assert "Traceback" not in result.stderr
    assert _batches(tmp_path) == []


def test_report_is_a_pt_br_sheet_of_the_same_problems(tmp_path: Path) -> None:
    folder = _export(tmp_path / "exp", VEIC_ROWS, MANUT_ROWS)
    sheet = tmp_path / "problemas.csv"
    told = []
    check = check_export(
        folder, settings_for(tmp_path, "sqlite://"), report=sheet, on_finding=told.append
    )
    data = sheet.read_bytes()
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    rows = list(csv.reader(data.decode("utf-8-sig").splitlines(), delimiter=";"))
    assert rows[0] == ["file", "line", "column", "value", "reason", "what is wrong", "hint"]
    assert [(r[0], int(r[1]), r[2], r[4]) for r in rows[1:]] == EXPECTED
    assert [r[3] for r in rows[1:]][3:5] == ["01/01/2099", "-10,00"]  # a number stays a number
    assert [(f.file, f.line, f.column, f.reason) for f in told] == EXPECTED
    assert (check.rows, check.held_rows, check.refused) == (8, 6, [])


def test_what_the_summary_promises_is_what_the_loader_holds(tmp_path: Path, db_url: str) -> None:
    """The publish's findings against a second computation: the loader's own quarantine."""
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    result = publish_export(_export(tmp_path / "exp", VEIC_ROWS, MANUT_ROWS), s)
    assert result.check is not None
    [batch] = load_pending(s, today=TODAY).loaded
    held = query(db_url, "SELECT file, line, reason FROM frota_quarantine ORDER BY id")
    first_per_row: dict[tuple[str, int], str] = {}
    for f, line, _, reason in EXPECTED:
        first_per_row.setdefault((f, line), reason)
    assert sorted(held) == sorted((f, line, r) for (f, line), r in first_per_row.items())
    assert batch.quarantined == result.check.held_rows == 6


def test_publish_prints_a_short_summary(tmp_path: Path) -> None:
    _export(tmp_path / "exp", VEIC_ROWS, MANUT_ROWS)
    result = _frota("publish", "--from", "exp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "the loader will hold 6 row(s) in the quarantine (7 problem(s): " in result.stdout
    assert "  veiculos.csv:3:Placa: not a plate" in result.stdout
    assert "manutencoes.csv:5" not in result.stdout  # the first few only
    assert "--dry-run" in result.stdout
    assert "published: " in result.stdout
    assert len(_batches(tmp_path)) == 1


GOOD_VEIC = ["ABC-1234;Caminhão;ativo;120.000;01/03/2019"]
GOOD_MANUT = ["ABC1234;Freios;05/01/2026;1.234,56;06/01/2026", "ABC1234;;;1,00;"]


@pytest.mark.parametrize(
    "kwargs",
    [
        pytest.param({"first": "sep=;"}, id="sep-line"),
        pytest.param({"first": '"sep=;"', "newline": "\n"}, id="quoted-sep-line"),
        pytest.param({"encoding": "utf-16-le"}, id="utf16-le-no-bom"),
        pytest.param({"encoding": "utf-16-be"}, id="utf16-be-no-bom"),
        pytest.param({"encoding": "utf-16"}, id="utf16-bom"),
        pytest.param({"newline": "\r"}, id="cr-only"),
        pytest.param({"newline": "\r", "encoding": "utf-16-le", "first": "sep=;"}, id="all-three"),
    ],
)
def test_excel_variants_load_like_the_plain_export(
    tmp_path: Path, sqlite_url: str, kwargs: dict
) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    folder = _export(tmp_path / "exp", GOOD_VEIC, GOOD_MANUT, **kwargs)
    publish_export(folder, s)
    [batch] = load_pending(s, today=TODAY).loaded
    assert (batch.veiculos_inserted, batch.manutencoes_inserted) == (1, 1)
    stored = query(sqlite_url, "SELECT custo, data_conclusao FROM manutencoes")
    assert [(str(c), str(d)) for c, d in stored] == [("1234.56", "2026-01-06")]
    line = 4 if kwargs.get("first") else 3  # the sep= line counts: the export's own numbers
    assert query(sqlite_url, "SELECT file, line, reason FROM frota_quarantine") == [
        ("manutencoes.csv", line, "missing_value")
    ]


def test_a_tab_separated_utf16_file_is_read(tmp_path: Path) -> None:
    """Excel's 'Unicode text': UTF-16 LE with a BOM, tab between cells."""
    folder = tmp_path / "exp"
    folder.mkdir()
    text = VEIC.replace(";", "\t") + "\r\n" + GOOD_VEIC[0].replace(";", "\t") + "\r\n"
    (folder / "veiculos.csv").write_bytes(text.encode("utf-16"))
    check = check_export(folder, settings_for(tmp_path, "sqlite://"))
    assert (check.rows, check.refused, check.held_rows) == (1, [], 0)
    assert "delimiter '\\t'" in check.lines()[0]


def test_cr_only_errors_never_speak_of_newline_modes(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    folder.mkdir()
    (folder / "veiculos.csv").write_bytes(b"placa;cor\rABC1234;azul\r")
    result = _frota("publish", "--from", "exp", cwd=tmp_path)
    assert result.returncode == 3
    assert "veiculos.csv, line 1, column 'cor': unknown column 'cor'" in result.stderr
    assert "newline" not in result.stderr + result.stdout


def test_a_sep_line_is_not_an_unknown_column(tmp_path: Path) -> None:
    folder = _export(tmp_path / "exp", ["ABC1234;Van;ativo;1;01/01/2020"], first="sep=;")
    check = check_export(folder, settings_for(tmp_path, "sqlite://"))
    assert (check.rows, check.refused) == (1, [])
    assert "'sep=' line" in check.lines()[0] and "blank" not in check.lines()[0]


def test_a_header_only_file_means_no_rows_today(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    folder = _export(tmp_path / "exp", GOOD_VEIC, [])
    result = publish_export(folder, s)
    assert result.status == "published" and result.rows == 1
    assert result.check is not None
    assert "manutencoes.csv: no rows today" in " ".join(result.check.lines())
    [batch] = load_pending(s, today=TODAY).loaded
    assert (batch.veiculos_inserted, batch.manutencoes_inserted, batch.quarantined) == (1, 0, 0)


def test_an_export_of_headers_only_publishes_nothing(tmp_path: Path) -> None:
    _export(tmp_path / "exp", [], [])
    result = _frota("publish", "--from", "exp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "no rows today" in result.stdout
    assert _batches(tmp_path) == []


def test_an_unexpected_file_in_the_export_is_named(tmp_path: Path) -> None:
    folder = _export(tmp_path / "exp", GOOD_VEIC)
    (folder / "oficinas.csv").write_text("nome\nZé\n")
    (folder / "desktop.ini").write_text("[x]\n")  # the system's own: no word about it
    (folder / ".~lock.veiculos.csv#").write_text("")
    result = _frota("publish", "--from", "exp", "--dry-run", cwd=tmp_path)
    assert result.returncode == 0
    assert "warning: oficinas.csv: not an export frota reads" in result.stdout
    assert "desktop.ini" not in result.stdout and "lock" not in result.stdout
    published = _frota("publish", "--from", "exp", cwd=tmp_path)
    assert "WARNING" in published.stderr and "oficinas.csv" in published.stderr


def test_an_unlisted_file_in_a_batch_folder_is_named(
    tmp_path: Path, sqlite_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    result = publish_export(_export(tmp_path / "exp", GOOD_VEIC), s)
    (Path(s.landing) / "batches" / result.batch_id / "manutencoes.csv").write_text("x\n")
    with caplog.at_level("WARNING", logger="frota"):
        [batch] = load_pending(s, today=TODAY).loaded
    assert batch.veiculos_inserted == 1 and batch.manutencoes_inserted == 0
    warned = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert any(result.batch_id in w and "manutencoes.csv not in its manifest" in w for w in warned)


def test_the_delimiter_can_be_named_tab(tmp_path: Path) -> None:
    folder = tmp_path / "exp"
    folder.mkdir()
    # A tab-separated file whose first line names the wrong delimiter: the user says tab.
    header = "Placa\tTipo Veículo\tStatus\tQuilometragem Total\tData Aquisição\n"
    text = "sep=;\n" + header + "ABC1234\tVan\tativo\t10\t01/01/2020\n"
    (folder / "veiculos.csv").write_text(text, encoding="utf-8")
    told = _frota("publish", "--from", "exp", "--dry-run", cwd=tmp_path)
    assert told.returncode == 3  # read with ';': one unknown column
    tab = _frota("publish", "--from", "exp", "--dry-run", "--delimiter", "tab", cwd=tmp_path)
    assert tab.returncode == 0, tab.stdout + tab.stderr
    assert "dry run: 1 rows would be published; nothing was" in tab.stdout
