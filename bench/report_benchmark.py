"""Benchmark `frota report`: build the report of a warehouse holding N maintenance rows, and
render it in headless Chromium. DuckDB and PostgreSQL. Goals (issue 15): the report of 1M rows
builds in ≤ 10 s, the file stays ≤ 5 MB, the page renders in ≤ 3 s.

    python bench/report_benchmark.py [--rows 1000000] [--backends duckdb,postgres]
                                     [--markdown docs/benchmarks.md]

The operational database is filled as bench/warehouse_benchmark.py fills it and the warehouse
built once (not timed here: that benchmark times it); then the report is built (default
period and the whole history) and opened in Debian's chromium through Playwright.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import tempfile
import time
import uuid
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from warehouse_benchmark import PG_ADMIN, _machine, add_batch, write_markdown

from frota.config import Settings
from frota.db.engine import create_engine
from frota.db.migrate import upgrade_schema
from frota.report import build_report, parse_period
from frota.warehouse import build_warehouse

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def render_seconds(html: Path) -> float | None:
    """Seconds from navigation to the load event in headless Chromium (None without it)."""
    executable = shutil.which("chromium")
    if executable is None:
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=executable, args=FLAGS)
        page = browser.new_page(viewport={"width": 1200, "height": 900})
        started = time.perf_counter()
        page.goto(html.resolve().as_uri(), wait_until="load")
        seconds = time.perf_counter() - started
        browser.close()
    return seconds


def run_backend(backend: str, rows: int, vehicles: int, batches: int, work: Path) -> dict:
    db = work / f"frota-{backend}.db"
    upgrade_schema(create_engine(f"sqlite:///{db}"))
    rng, plates = random.Random(42), []
    for step in range(batches):
        new = step == 0
        add_batch(db, rng, vehicles if new else vehicles // 10, plates, rows // batches, step, new)
    pg_name = None
    if backend == "duckdb":
        warehouse_url = f"duckdb:///{work / 'warehouse.duckdb'}"
    else:
        pg_name = f"frota_rep_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{pg_name}"')
        warehouse_url = f"postgresql://postgres@127.0.0.1:5432/{pg_name}"
    (work / "landing").mkdir()
    settings = Settings(
        database=f"sqlite:///{db}",
        warehouse=warehouse_url,
        landing=str(work / "landing"),
        log_dir=str(work / "logs"),
    )
    try:
        build_warehouse(settings, freshness=False, dbt_dir=work / f"dbt-{backend}")
        runs, load = {}, []
        for label, period in (("default period", None), ("whole history", "2022..2026")):
            out = work / f"relatorio-{backend}-{label.split()[0]}.html"
            load.append(os.getloadavg()[0])
            t0, cpu0 = time.perf_counter(), time.process_time()
            result = build_report(settings, out, period=parse_period(period) if period else None)
            seconds, cpu = time.perf_counter() - t0, time.process_time() - cpu0
            runs[label] = (seconds, cpu, result.bytes, render_seconds(out))
            load.append(os.getloadavg()[0])
    finally:
        if pg_name:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            admin.dispose()
    return {"backend": backend, "runs": runs, "load": load}


def table(results: list[dict], rows: int, vehicles: int, batches: int) -> str:
    load = [x for r in results for x in r["load"]]
    lines = [
        f"Fleet: {rows:,} maintenance rows in {batches} batches, {vehicles:,} vehicles. "
        f"Machine: {_machine()}; {date.today()}. The machine was shared while measuring: load "
        f"average (1 min) {min(load):.1f}–{max(load):.1f} on {os.cpu_count()} CPUs around the "
        "report builds, so the times are upper bounds of an idle machine's.",
        "",
        "| warehouse | period | build (s, goal ≤ 10) | of which CPU in frota's process (s) |"
        " file (KiB, goal ≤ 5,120) | render in Chromium (s, goal ≤ 3) |",
        "| --- | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        for label, (seconds, cpu, size, render) in r["runs"].items():
            shown = f"{render:.2f}" if render is not None else "no chromium"
            lines.append(
                f"| {r['backend']} | {label} | {seconds:.1f} | {cpu:.1f} | {size / 1024:,.0f} "
                f"| {shown} |"
            )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--vehicles", type=int, default=5_000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--backends", default="duckdb,postgres")
    parser.add_argument("--markdown", type=Path, help="update this file's ## Report section")
    args = parser.parse_args()
    results = []
    with tempfile.TemporaryDirectory(prefix="frota-report-bench-") as tmp:
        for backend in args.backends.split(","):
            work = Path(tmp) / backend
            work.mkdir()
            results.append(run_backend(backend, args.rows, args.vehicles, args.batches, work))
    body = table(results, args.rows, args.vehicles, args.batches)
    print(body)
    if args.markdown:
        write_markdown(args.markdown, body, title="Report", script="bench/report_benchmark.py")


if __name__ == "__main__":
    main()
