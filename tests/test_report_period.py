"""The report's default period follows the data, not the publish day: an export of 2024's
maintenances published today reports 2024 (it gave an empty page, the twelve months up to the
batch's as_of), run as a user runs it — publish --from, load, warehouse, report — on DuckDB
and PostgreSQL; the figures equal sums over the CSV itself, and the page and the command say
which months they show and why, in English and Portuguese."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from report_support import page_figures

from frota.cli import main

VEICULOS = """placa,tipo_veiculo,status,quilometragem_total,data_aquisicao
ABC1234,Caminhão Toco,Ativo,50000,2020-01-10
DEF5678,VUC,Ativo,30000,2021-05-02
GHI9J01,Van,Ativo,12000,2023-03-15
"""
# 2024 only: the newest service on 10/12/2024, a month with none (April), both categories.
MANUTENCOES = """placa_veiculo,tipo_manutencao,data_manutencao,custo,quilometragem,categoria
ABC1234,Troca de óleo,2024-01-10,350.00,40000,preventiva
ABC1234,Reparo elétrico,2024-06-15,1200.50,45000,corretiva
DEF5678,Revisão,2024-03-20,800.00,20000,preventiva
DEF5678,Reparo freio,2024-11-05,640.25,28000,corretiva
GHI9J01,Revisão,2024-02-01,410.10,5000,preventiva
GHI9J01,Pneus,2024-12-10,1999.99,11000,corretiva
"""


def frota(capsys: pytest.CaptureFixture[str], *args: str) -> str:
    """`frota ARGS` as the console script runs it; what it printed (exit code 0 asserted)."""
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    printed = capsys.readouterr()
    text = " ".join((printed.out + printed.err).split())
    assert int(exit_.value.code or 0) == 0, text
    return text


def from_the_csv(text: str, first: date, last: date) -> dict[str, Decimal]:
    """Σ custo by categoria of the export's rows in [first, last], and the total."""
    sums = {"custo_total": Decimal(0), "custo_preventiva": Decimal(0)}
    sums["custo_corretiva"] = Decimal(0)
    for row in csv.DictReader(text.splitlines()):
        if first <= date.fromisoformat(row["data_manutencao"]) <= last:
            sums["custo_total"] += Decimal(row["custo"])
            sums[f"custo_{row['categoria']}"] += Decimal(row["custo"])
    return sums


def test_an_export_of_last_year_published_today_reports_its_year(
    fresh_warehouse: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FROTA_CACHE_DIR", str(tmp_path / "cache"))
    export = tmp_path / "exportacao"
    export.mkdir()
    (export / "veiculos.csv").write_text(VEICULOS, encoding="utf-8")
    (export / "manutencoes.csv").write_text(MANUTENCOES, encoding="utf-8")
    where = [
        *("--landing", str(tmp_path / "landing"), "--warehouse", fresh_warehouse),
        *("--database", f"sqlite:///{tmp_path / 'frota.db'}"),
    ]
    frota(capsys, *where, "publish", "--from", str(export))  # as of now, 2024 long gone
    frota(capsys, *where, "db", "init")
    frota(capsys, *where, "load")
    frota(capsys, *where, "warehouse")

    printed = frota(capsys, *where, "report", "--lang", "en", "--out", "en.html")
    html = Path("en.html").read_text(encoding="utf-8")
    assert (
        "period 2024-01..2024-12: the twelve months up to the newest maintenance, on 2024-12-10"
        in printed
    )
    assert 'data-period="2024-01..2024-12"' in html and "January 2024 – December 2024" in html
    assert 'data-period-basis="maintenance"' in html
    assert "the twelve months up to the newest maintenance, on Dec 10, 2024" in html
    figures, markers = page_figures(html)
    want = from_the_csv(MANUTENCOES, date(2024, 1, 1), date(2024, 12, 31))
    for kpi, amount in want.items():
        assert Decimal(figures[kpi][0]) == amount, kpi
    assert "custos" in markers["data-chart"] and "custos" not in markers.get("data-empty", [])

    # The same page as asking for the year; in Portuguese, the command and the page.
    asked = frota(capsys, *where, "report", "--lang", "en", "--period", "2024", "--out", "a.html")
    assert "period 2024-01..2024-12: the months asked for (--period)" in asked
    same = page_figures(Path("a.html").read_text(encoding="utf-8"))[0]
    assert same["custo_total"] == figures["custo_total"]
    printed = frota(capsys, "--lang", "pt-BR", *where, "report", "--out", "pt.html")
    assert (
        "período 2024-01..2024-12: os doze meses até a manutenção mais recente, em 2024-12-10"
        in printed
    )
    html = Path("pt.html").read_text(encoding="utf-8")
    assert "janeiro de 2024 – dezembro de 2024" in html
    assert "os doze meses até a manutenção mais recente, em 10/12/2024" in html
    assert Decimal(page_figures(html)[0]["custo_total"][0]) == want["custo_total"]


def test_without_maintenances_the_period_ends_at_the_newest_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Vehicles only: the twelve months up to the batch's as_of, and the page says why."""
    monkeypatch.setenv("FROTA_CACHE_DIR", str(tmp_path / "cache"))
    export = tmp_path / "exportacao"
    export.mkdir()
    (export / "veiculos.csv").write_text(VEICULOS, encoding="utf-8")
    where = [
        *("--landing", str(tmp_path / "landing")),
        *("--warehouse", f"duckdb:///{tmp_path / 'w.duckdb'}"),
        *("--database", f"sqlite:///{tmp_path / 'frota.db'}"),
    ]
    frota(capsys, *where, "publish", "--from", str(export), "--as-of", "2025-03-31")
    frota(capsys, *where, "db", "init")
    frota(capsys, *where, "load")
    frota(capsys, *where, "warehouse")
    printed = frota(capsys, *where, "report", "--lang", "en", "--out", "r.html")
    assert "period 2024-04..2025-03: the twelve months up to the newest data, on 2025-03-31" in (
        printed
    )
    assert 'data-period-basis="reference"' in Path("r.html").read_text(encoding="utf-8")
