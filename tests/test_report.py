"""`frota report` on warehouses built by the real pipeline, DuckDB and PostgreSQL: every figure
the page shows equals a second computation over the warehouse (report_support.expected), in
pt-BR formats; the page is one file with nothing to fetch; empty, young and older warehouses
give a clear page or a clear error, never a traceback. The real browser: test_report_browser."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from html import unescape
from pathlib import Path

import pytest
from batchkit import query as query_operational
from batchkit import write_batch_dir
from ci import missing
from report_support import (
    UNTIL,
    Expected,
    br_date,
    br_number,
    br_percent,
    brl,
    build_pipeline,
    expected,
    last_day_of,
    page_figures,
    query,
)

from frota.cli import main
from frota.config import Settings
from frota.contract.validate import explain, fix_for
from frota.i18n import speaking
from frota.landing import open_landing
from frota.load import load_pending
from frota.publish import publish_dir
from frota.report import build_report, parse_period
from frota.report.page import show_plate

PERIOD = parse_period("2024-09..2025-06")
SECTIONS = {
    "custos",
    "custo_por_km",
    "preventiva",
    "disponibilidade",
    "mtbf_mttr",
    "maiores_custos",
    "situacao",
}
HEALTH_CHARTS = {"lotes_por_dia"}
HEALTH_FIGURES = {
    *("lotes_30_dias", "linhas_30_dias", "ultimo_build", "check_status", "check_em"),
    "quarentena_retidas",
}


@pytest.fixture(
    scope="module",
    params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)],
)
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """(settings, report html) of one warehouse per engine, built once for the module."""
    tmp = tmp_path_factory.mktemp(f"report-{request.param}")
    if request.param == "duckdb":
        settings = build_pipeline(tmp, f"duckdb:///{tmp / 'warehouse.duckdb'}", held=True)
        result = build_report(settings, tmp / "relatorio.html", period=PERIOD)
        yield settings, result
        return
    from conftest import PG_ADMIN, _fresh_database

    for url in _fresh_database(PG_ADMIN, "PostgreSQL", '"', " WITH (FORCE)"):
        settings = build_pipeline(tmp, url, held=True)
        result = build_report(settings, tmp / "relatorio.html", period=PERIOD)
        yield settings, result


def test_every_section_is_drawn(built) -> None:
    _, result = built
    figures, markers = page_figures(result.path.read_text(encoding="utf-8"))
    assert result.unavailable == {}
    assert "data-unavailable" not in markers and "data-empty" not in markers
    assert set(markers["data-chart"]) == SECTIONS | HEALTH_CHARTS


def test_pipeline_health_from_the_warehouse_ledger(built) -> None:
    settings, result = built
    html = result.path.read_text(encoding="utf-8")
    figures, _ = page_figures(html)
    raw = {
        t: query(settings.warehouse, f"SELECT count(*) FROM raw.{t}")[0][0]
        for t in ("frota_veiculos_historico", "manutencoes")
    }
    rows = raw["frota_veiculos_historico"] + raw["manutencoes"]
    assert figures["lotes_30_dias"] == ("2", "2")  # the fleet, and the batch of held rows
    assert int(figures["linhas_30_dias"][0]) == rows
    assert figures["linhas_30_dias"][1] == br_number(rows)
    source, _status, newest, _age = _table_rows(html, "atualizacao")[0]
    assert source == "test" and newest == "20/06/2025 18:00"  # 21:00 UTC in São Paulo


def test_pipeline_health_is_what_frota_check_says(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A rejected batch, a source gone silent and a batch loaded but not in the warehouse yet
    appear on the page as `frota check --json` reports them (status, what, next step); a
    landing area and a database the analytics machine cannot reach are said so on the page."""
    settings = build_pipeline(tmp_path, f"duckdb:///{tmp_path / 'w.duckdb'}", vehicles=3, days=20)
    settings = settings.with_overrides(check=(("sources", "test filial-2"),))
    landing, now = open_landing(settings.landing), datetime.now(UTC)
    folder = write_batch_dir(tmp_path / "new", ["KLM1J23,Van,ativo,1100,2025-01-02"])
    publish_dir(folder, landing, "test", now=now - timedelta(minutes=2))  # loaded, not replicated
    folder = write_batch_dir(tmp_path / "bad", ["BRA2E19,Van,ativo,46000,2021-07-15"])
    bad = publish_dir(folder, landing, "test", now=now - timedelta(minutes=1)).batch_id
    with open(Path(settings.landing) / "batches" / bad / "veiculos.csv", "a") as fh:
        fh.write("changed after publishing\n")
    assert len(load_pending(settings).loaded) == 1

    page = build_report(settings, tmp_path / "en.html", lang="en").path.read_text("utf-8")
    monkeypatch.chdir(tmp_path)  # no frota.toml but these settings
    monkeypatch.setenv("FROTA_CHECK_SOURCES", "test filial-2")
    monkeypatch.setenv("FROTA_LOG_DIR", settings.log_dir)
    where = ["--database", settings.database, "--landing", settings.landing]
    capsys.readouterr()
    with speaking("en"), pytest.raises(SystemExit) as exit_:
        main(
            [
                "--lang",
                "en",
                *where,
                "--warehouse",
                settings.warehouse,
                "check",
                "--json",
                "--no-alerts",
            ]
        )
    said = json.loads(capsys.readouterr().out)  # stdout only: the log goes to stderr
    assert exit_.value.code == 2 and said["status"] == "CRITICAL"
    figures, _ = page_figures(page)
    assert figures["check_status"][0] == said["status"]
    checks = {c["name"]: c for c in said["checks"]}
    assert {"rejected", "source:filial-2", "source:test", "warehouse_lag"} <= checks.keys()
    assert checks["rejected"]["status"] == "CRITICAL" and bad in checks["rejected"]["summary"]
    assert checks["source:filial-2"]["summary"] == "no batch from filial-2 at all"
    assert checks["warehouse_lag"]["value"] > 0
    rows = _table_rows(page, "verificacoes")
    assert [r[:2] for r in rows] == [[c["name"], c["status"]] for c in said["checks"]]
    for (_, _, summary, hint), c in zip(rows, said["checks"], strict=True):
        assert _no_ages(html_text(summary)) == _no_ages(c["summary"])  # a second apart
        assert html_text(hint) == (c["hint"] or "")
    fresh = {r[0]: r[1:] for r in _table_rows(page, "atualizacao")}
    assert fresh["filial-2"] == ["CRITICAL", "–", "–"]
    assert fresh["test"][0] == checks["source:test"]["status"] == "OK"
    runs = {r[0]: r[2] for r in _table_rows(page, "execucoes")}  # not the report: under way
    assert runs.keys() == {"publish", "load", "warehouse"} and runs["warehouse"] == "ok"
    assert runs["load"].startswith(f"rejected: batch {bad} rejected")

    pt = build_report(settings, tmp_path / "pt.html").path.read_text("utf-8")
    assert "Verificações" in pt and "nenhum lote de filial-2 até agora" in pt

    away = settings.with_overrides(
        landing=str(tmp_path / "no-share"), database=f"sqlite:///{tmp_path / 'gone' / 'f.db'}"
    )
    html = build_report(away, tmp_path / "away.html", lang="en").path.read_text("utf-8")
    _, markers = page_figures(html)
    assert set(markers["data-unreachable"]) >= {"landing", "database"}
    assert "The landing area cannot be read from this machine:" in html
    assert "The operational database cannot be read from this machine:" in html
    assert "Traceback" not in html and "atualizacao" in markers["data-unavailable"]


def test_quarantine_by_reason(built, tmp_path: Path) -> None:
    """The held rows by reason, against a second count over frota_quarantine, each with what
    it means and what to do, in pt-BR and in English."""
    settings, result = built
    held = dict(
        query_operational(
            settings.database,
            "SELECT reason, count(*) FROM frota_quarantine WHERE status = 'held' GROUP BY reason",
        )
    )
    assert held == {"vehicle_unknown": 2, "missing_value": 1, "future_date": 1}  # HELD_LINES
    html = result.path.read_text(encoding="utf-8")
    figures, _ = page_figures(html)
    assert figures["quarentena_retidas"] == (str(sum(held.values())), br_number(sum(held.values())))
    values = _table_values(html, "quarentena")
    assert [(r, int(n)) for r, _, n, _ in values] == sorted(
        held.items(), key=lambda x: (-x[1], x[0])
    )
    english = build_report(settings, tmp_path / "en.html", lang="en").path.read_text("utf-8")
    for page, lang in ((html, "pt-BR"), (english, "en")):
        rows = _table_rows(page, "quarentena")
        with speaking(lang):
            assert [[html_text(c) for c in r] for r in rows] == [
                [reason, explain(reason), str(n), fix_for(reason)]
                for reason, n in sorted(held.items(), key=lambda x: (-x[1], x[0]))
            ]
    assert (
        "What to do" in english
        and "nothing: it loads by itself when the vehicle arrives" in english
    )
    assert (
        "O que fazer" in html
        and "nada: a linha é carregada sozinha quando o veículo chegar" in html
    )


def _no_ages(text: str) -> str:
    return re.sub(r"\b\d+ (d|h|min|s)\b", "N", text)


def html_text(cell: str) -> str:
    return unescape(cell)


def test_figures_equal_a_second_computation(built) -> None:
    settings, result = built
    figures, _ = page_figures(result.path.read_text(encoding="utf-8"))
    check_figures(figures, expected(settings.warehouse, PERIOD.start, PERIOD.end))


def check_figures(figures: dict[str, tuple[str, str]], want: Expected) -> None:
    """Each figure (exact value, text shown) against the second computation, pt-BR."""
    value = {k: v for k, (v, _) in figures.items()}
    shown = {k: t for k, (_, t) in figures.items()}

    for kpi in ("custo_total", "custo_preventiva", "custo_corretiva"):
        assert Decimal(value[kpi]) == getattr(want, kpi), kpi
        assert shown[kpi] == brl(getattr(want, kpi)), kpi
    assert Decimal(value["custo_outra"]) == 0
    for kpi in (
        "custo_por_km_frota",
        "preventiva_servicos",
        "preventiva_custo",
        "preventiva_visitas",
        "disponibilidade",
        "mtbf_dias",
        "mttr_dias",
    ):
        assert float(value[kpi]) == pytest.approx(float(getattr(want, kpi)), rel=1e-9), kpi
    assert shown["custo_por_km_frota"] == brl(want.custo_por_km_frota)
    assert shown["preventiva_custo"] == br_percent(want.preventiva_custo)
    assert shown["disponibilidade"] == br_percent(want.disponibilidade)
    assert shown["mtbf_dias"] == br_number(want.mtbf_dias, 1)
    assert int(value["dias_parado"]) == want.dias_parado
    assert shown["dias_parado"] == br_number(want.dias_parado)
    assert int(value["qtd_falhas"]) == want.qtd_falhas
    assert value["data_referencia"] == want.referencia.isoformat() == UNTIL.isoformat()
    assert shown["data_referencia"] == br_date(UNTIL)
    for cls, n in want.situacao.items():
        assert int(value[f"situacao_{cls}"]) == n, cls
    assert shown["situacao_total"].startswith(br_number(sum(want.situacao.values())))
    assert int(value["dias_na_frota"]) == want.dias_na_frota
    assert shown["dias_na_frota"] == br_number(want.dias_na_frota)
    assert float(value["mtbf_km"]) == pytest.approx(want.mtbf_km, rel=1e-9)
    assert shown["mtbf_km"] == br_number(want.mtbf_km) + " km"
    assert float(value["tendencia_mensal"]) == pytest.approx(want.tendencia_mensal, rel=1e-9)
    assert shown["tendencia_mensal"].startswith(brl(round(want.tendencia_mensal, 2)))
    # Every figure the page shows is one of those above (or the pipeline's health, tested by
    # the health tests): a new figure without a second computation fails here.
    checked = {
        *("custo_total", "custo_preventiva", "custo_corretiva", "custo_outra"),
        *("tendencia_mensal", "custo_por_km_frota", "preventiva_servicos", "preventiva_custo"),
        *("preventiva_visitas", "disponibilidade", "dias_parado", "dias_na_frota"),
        *("mtbf_dias", "mtbf_km", "mttr_dias", "qtd_falhas", "data_referencia"),
        *(f"situacao_{c}" for c in want.situacao),
        "situacao_total",
    }
    assert set(figures) - HEALTH_FIGURES == checked


def test_cost_per_km_by_type_table(built) -> None:
    settings, result = built
    html = result.path.read_text(encoding="utf-8")
    want = expected(settings.warehouse, PERIOD.start, PERIOD.end).por_tipo
    rows = _table_values(html, "custo_por_km_tipo")
    assert {r[0] for r in rows} == set(want)  # no vehicle without a type in this fleet
    for tipo, custo, km, per_km in rows:
        assert Decimal(custo) == want[tipo][0], tipo
        assert float(km) == pytest.approx(want[tipo][1], rel=1e-9), tipo
        assert float(per_km) == pytest.approx(float(want[tipo][0]) / want[tipo][1], rel=1e-9)
    shown = _table_rows(html, "custo_por_km_tipo")
    assert [r[3] for r in shown] == [brl(float(c) / k) for _, (c, k) in _by_per_km(want)]


def test_top_vehicles_table(built) -> None:
    settings, result = built
    html = result.path.read_text(encoding="utf-8")
    want = expected(settings.warehouse, PERIOD.start, PERIOD.end)
    rows = _table_rows(html, "maiores_custos")
    assert [r[0] for r in rows] == [show_plate(p) for p, *_ in want.top]
    for row, (placa, custo, tipo, status) in zip(rows, want.top, strict=True):
        assert row[1:3] == [tipo, status]
        assert row[4] == brl(custo)
        services, km = want.por_placa[placa]
        assert row[3] == br_number(services)
        assert row[5] == br_number(km) + " km"
        assert row[6] == brl(float(custo) / km)


def _table_values(html: str, name: str) -> list[list[str]]:
    start = html.index(f'data-table="{name}"')
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    return [re.findall(r'data-value="([^"]*)"', tr) for tr in body.split("<tr>")[1:]]


def _by_per_km(want: dict[str, tuple[Decimal, float]]) -> list[tuple[str, tuple[Decimal, float]]]:
    return sorted(want.items(), key=lambda kv: -float(kv[1][0]) / kv[1][1])


def _table_rows(html: str, name: str) -> list[list[str]]:
    start = html.index(f'data-table="{name}"')
    body = html[html.index("<tbody>", start) : html.index("</tbody>", start)]
    rows = []
    for tr in body.split("<tr>")[1:]:
        cells = [c.split(">", 1)[1].split("</td>")[0] for c in tr.split("<td")[1:]]
        rows.append(cells)
    return rows


def test_one_file_nothing_to_fetch(built) -> None:
    _, result = built
    html = result.path.read_text(encoding="utf-8")
    assert result.bytes == result.path.stat().st_size < 5 * 1024 * 1024
    assert "<script" not in html and "<link" not in html and "@import" not in html
    assert not re.search(r"\bsrc=|\bhref=\"(?!#)|url\((?!#)", html)  # only the page's own anchors
    assert "default-src 'none'" in html  # the browser refuses any fetch, should one appear


def test_pt_br_words_and_months(built) -> None:
    _, result = built
    html = result.path.read_text(encoding="utf-8")
    assert 'lang="pt-BR"' in html and "Relatório da frota" in html
    assert "setembro de 2024 – junho de 2025" in html
    assert ">set/24<" in html or "set/24" in html  # the charts' month axis


def test_english(built, tmp_path: Path) -> None:
    settings, _ = built
    result = build_report(settings, tmp_path / "report.html", period=PERIOD, lang="en")
    html = result.path.read_text(encoding="utf-8")
    figures, _ = page_figures(html)
    assert 'lang="en"' in html and "Fleet report" in html and "September 2024" in html
    total = Decimal(figures["custo_total"][0])
    assert figures["custo_total"][1] == f"R${total:,.2f}"


def frota(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    """`frota ARGS` as the console script runs it: (exit code, what it printed)."""
    with pytest.raises(SystemExit) as exit_:
        main(list(args))
    printed = capsys.readouterr()
    return int(exit_.value.code or 0), " ".join((printed.out + printed.err).split())


def test_the_language_setting_chooses_the_default(built, tmp_path: Path) -> None:
    """`language` (frota --lang, FROTA_LANGUAGE, frota.toml) when set, else pt-BR."""
    settings, _ = built
    english = build_report(settings.with_overrides(language="en_US"), tmp_path / "en.html")
    assert english.lang == "en" and 'lang="en"' in english.path.read_text(encoding="utf-8")
    assert (
        build_report(settings.with_overrides(language="pt"), tmp_path / "pt.html").lang == "pt-BR"
    )
    assert build_report(settings, tmp_path / "default.html").lang == "pt-BR"


def test_the_command(built, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    settings, _ = built
    out = tmp_path / "cli.html"
    code, printed = frota(
        capsys, "--warehouse", settings.warehouse, "report", "--out", str(out), "--period", "2025"
    )
    assert code == 0, printed
    assert f"report written to {out.resolve()}" in printed
    assert "janeiro de 2025 – dezembro de 2025" in out.read_text(encoding="utf-8")


def test_publish_puts_it_in_the_landing_area(
    built, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    settings, _ = built
    out = tmp_path / "relatorio.html"
    args = ["--warehouse", settings.warehouse, "--landing", settings.landing, "report"]
    code, printed = frota(capsys, *args, "--out", str(out), "--publish")
    assert code == 0, printed
    copy = Path(settings.landing) / "reports" / "relatorio.html"
    assert copy.read_bytes() == out.read_bytes()
    assert f"report published to {copy}" in printed


def test_run_ends_with_the_report(tmp_path: Path) -> None:
    """`frota run` (what `make run` runs) writes data/relatorio.html and says where."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FROTA_")}
    env.update(FROTA_VEHICLES="12", FROTA_CACHE_DIR=str(tmp_path / "cache"))
    done = subprocess.run(
        [sys.executable, "-m", "frota", "run"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    page = tmp_path / "data" / "relatorio.html"
    assert f"report written to {page}" in " ".join(done.stdout.split())
    _, markers = page_figures(page.read_text(encoding="utf-8"))
    assert "data-unavailable" not in markers
    assert set(markers["data-chart"]) == SECTIONS | HEALTH_CHARTS


# ---------------------------------------------------------------- young, empty, older, absent


def test_default_period_is_the_year_up_to_the_newest_data(built, tmp_path: Path) -> None:
    settings, _ = built
    result = build_report(settings, tmp_path / "r.html")
    assert (result.period.first, result.period.last) == (date(2024, 7, 1), date(2025, 6, 1))
    assert last_day_of(result.period.last) == result.period.end


def test_a_period_without_data_says_so(built, tmp_path: Path) -> None:
    settings, _ = built
    result = build_report(settings, tmp_path / "r.html", period=parse_period("2019"))
    _, markers = page_figures(result.path.read_text(encoding="utf-8"))
    assert set(markers["data-empty"]) == SECTIONS
    assert set(markers["data-chart"]) == HEALTH_CHARTS  # the pipeline's health is today's
    assert "Nenhuma manutenção neste período." in result.path.read_text(encoding="utf-8")
    assert result.unavailable == {}


def test_no_warehouse_yet_is_a_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    where = tmp_path / "none.duckdb"
    code, printed = frota(
        capsys, "--warehouse", f"duckdb:///{where}", "report", "--out", str(tmp_path / "r.html")
    )
    assert code == 5
    assert f"there is no warehouse at {where} yet" in printed
    assert "frota warehouse" in printed and not where.exists()


def test_a_warehouse_without_marts_fails_loudly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Replicated but never transformed (or built by an older frota): each section names the
    mart it misses, and the command exits 8 after writing the page."""
    settings = Settings(warehouse=f"duckdb:///{tmp_path / 'w.duckdb'}")
    import duckdb

    con = duckdb.connect(str(tmp_path / "w.duckdb"))
    con.execute("CREATE SCHEMA analytics")
    con.close()
    out = tmp_path / "r.html"
    code, printed = frota(capsys, "--warehouse", settings.warehouse, "report", "--out", str(out))
    assert code == 8, printed
    assert "missing section costs: the warehouse has no analytics.mart_custo_veiculo_mes" in printed
    _, markers = page_figures(out.read_text(encoding="utf-8"))
    # no ledger either, nor a landing area or an operational database to check
    assert set(markers["data-unavailable"]) == SECTIONS | {
        *("lotes_por_dia", "atualizacao", "quarentena")
    }


def test_empty_warehouse_gives_a_clear_page(tmp_path: Path) -> None:
    settings = build_pipeline(tmp_path, f"duckdb:///{tmp_path / 'w.duckdb'}", vehicles=3, days=1)
    result = build_report(settings, tmp_path / "r.html")
    html = result.path.read_text(encoding="utf-8")
    assert "Traceback" not in html and result.unavailable == {}
    _, markers = page_figures(html)
    no_maintenance = {"custos", "custo_por_km", "preventiva", "maiores_custos"}
    assert no_maintenance <= set(markers["data-empty"])
    assert html.count("Nenhuma manutenção neste período.") >= len(no_maintenance)


@pytest.mark.parametrize("bad", ["2025-13", "jan", "2025-06..2025-01"])
def test_a_bad_period_is_a_usage_error(
    bad: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, printed = frota(capsys, "report", "--period", bad, "--out", str(tmp_path / "r"))
    assert code == 2
    assert "--period" in printed and "2025-01..2025-12" in printed


# ---------------------------------------------------------------- in a real browser

BROWSER_FLAGS = [  # DESIGN §9: Debian's chromium, nothing of its own reaching out
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
_READ_CHARTS = """els => els.map(e => {
    const box = e.getBoundingClientRect();
    return [e.closest('figure').dataset.chart, box.width, box.height,
            e.querySelectorAll('path, rect, use, text').length];
})"""
_READ_FIGURES = "els => els.map(e => [e.dataset.kpi, e.dataset.value, e.innerText])"


def open_in_chromium(html: Path, screenshot: Path) -> dict[str, object]:
    """Open the page in headless Chromium (Playwright): what it requested, what the console
    said, the charts' sizes and the figures as the DOM holds them; a full-page screenshot."""
    executable = shutil.which("chromium") or shutil.which("chromium-browser")
    if executable is None:
        missing("chromium (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright (pip install playwright)")
    requests: list[str] = []
    errors: list[str] = []
    url = html.resolve().as_uri()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=BROWSER_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            started = time.perf_counter()
            page.goto(url, wait_until="load")
            seconds = time.perf_counter() - started
            charts = page.eval_on_selector_all("figure.chart svg", _READ_CHARTS)
            figures = page.eval_on_selector_all("[data-kpi]", _READ_FIGURES)
            page.screenshot(path=str(screenshot), full_page=True)
            if os.environ.get("FROTA_REPORT_SCREENSHOT"):  # the README's picture
                page.screenshot(path=os.environ["FROTA_REPORT_SCREENSHOT"])
        finally:
            browser.close()
    return {
        "url": url,
        "requests": requests,
        "errors": errors,
        "seconds": seconds,
        "charts": charts,
        "figures": {k: (v or "", t.strip()) for k, v, t in figures},
    }


def test_in_a_real_browser(built, tmp_path: Path) -> None:
    settings, result = built
    shot = tmp_path / "relatorio.png"
    seen = open_in_chromium(result.path, shot)
    assert seen["requests"] == [seen["url"]]  # the file itself, nothing else
    assert seen["errors"] == []
    charts = seen["charts"]
    assert {c[0] for c in charts} == SECTIONS | HEALTH_CHARTS
    for name, width, height, parts in charts:
        assert width > 300 and height > 100 and parts > 10, name
    check_figures(seen["figures"], expected(settings.warehouse, PERIOD.start, PERIOD.end))
    assert shot.stat().st_size > 10_000
    print(f"rendered in {seen['seconds']:.2f}s; screenshot {shot}")
