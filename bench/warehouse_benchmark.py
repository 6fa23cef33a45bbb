"""Benchmark `frota warehouse`: replicate + dbt build for a fleet with N maintenance rows, then a
second run after one new small batch (the incremental path), a third with nothing new, and
dbt's own no-op (`dbt build` run directly with nothing new) to compare the third with.
DuckDB and PostgreSQL. Goals (issue 12): incremental ≤ 25 % of the full build; nothing new
≤ 1.2 × dbt's no-op; replication into DuckDB ≥ 200,000 rows/s.

    python bench/warehouse_benchmark.py [--rows 1000000] [--backends duckdb,postgres]
                                        [--markdown docs/benchmarks.md] [--profile 12]

--profile N prints the N slowest dbt nodes of each run (from dbt's target/run_results.json,
which frota's project does not write otherwise: DBT_WRITE_JSON=true, a fraction of a second a
build).

The operational SQLite database is filled directly (bulk inserts, as the loader leaves it:
rows tagged with lote_id, each applied vehicle state in the vehicle history, one ledger row per
batch); the loader has its own benchmark.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import sqlite3
import tempfile
import time
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa

from frota.config import Settings
from frota.contract.identity import work_order_key
from frota.db.engine import create_engine
from frota.db.migrate import upgrade_schema
from frota.warehouse import build_warehouse
from frota.warehouse.build import _NO_UNIT_TESTS, project_variables
from frota.warehouse.dbt import invoke
from frota.warehouse.target import warehouse_target

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
TIPOS = ("Caminhão", "Van", "Utilitário", "Carro")
STATUS = ("Ativo", "Ativo", "Ativo", "Em manutenção", "Inativo")
SERVICOS = ("Troca de óleo", "Freios", "Pneus", "Motor", "Revisão", "Suspensão")


_LEDGER = (
    "batch_id", "source", "created_at", "content_sha256", "loaded_at", "run_id", "rows_read",
    "veiculos_inserted", "veiculos_updated", "veiculos_stale", "manutencoes_inserted",
    "quarantined", "released", "duplicates", "published_at", "sequence", "as_of", "ordem",
)  # fmt: skip


def _ledger_row(batch_id: str, created: datetime, rows: int, ordem: str) -> tuple:
    loaded = datetime.now(UTC).replace(tzinfo=None).isoformat(sep=" ")
    at = created.isoformat(sep=" ")
    return (batch_id, "bench", created.strftime("%Y-%m-%dT%H:%M:%SZ"), "0" * 64, loaded,
            "bench", rows, 0, 0, 0, rows, 0, 0, 0, at, 0, at, ordem)  # fmt: skip


_INSERT_H = (
    "INSERT INTO frota_veiculos_historico (placa, lote_id, vigente_desde, ordem, tipo_veiculo,"
    " status, quilometragem_total, data_aquisicao, aplicacao, registrado_em)"
    " SELECT placa, lote_id, ?, ?, tipo_veiculo, status, quilometragem_total, data_aquisicao, ?, ?"
    " FROM veiculos WHERE lote_id = ?"
)


def add_batch(db: Path, rng: random.Random, n_vehicles: int, plates: list[str], rows: int,
              step: int, new_vehicles: bool) -> None:  # fmt: skip
    """One batch: vehicles (new, or a sample updated) and `rows` maintenances."""
    created = datetime(2024, 1, 1) + timedelta(days=7 * step)
    batch_id = f"{created:%Y%m%dT%H%M%SZ}-bench-{step:08x}"
    ordem = f"{created:%Y-%m-%dT%H:%M:%S.%f}Z|bench|{step:010d}|00000000"
    con = sqlite3.connect(db)
    with con:
        if new_vehicles:
            for i in range(n_vehicles):
                plates.append(f"BE{chr(65 + i // 10_000 % 26)}{i % 10_000:04d}")
            con.executemany(
                "INSERT INTO veiculos (placa, tipo_veiculo, status, quilometragem_total,"
                " data_aquisicao, lote_id) VALUES (?,?,?,?,?,?)",
                [(p, rng.choice(TIPOS), "Ativo", 0, "2020-01-01", batch_id) for p in plates],
            )
        else:
            con.executemany(
                "UPDATE veiculos SET status = ?, quilometragem_total = quilometragem_total + ?,"
                " lote_id = ? WHERE placa = ?",
                [(rng.choice(STATUS), 1000, batch_id, p) for p in rng.sample(plates, n_vehicles)],
            )
        at = created.isoformat(sep=" ")
        how = "insert" if new_vehicles else "update"
        con.execute(_INSERT_H, (at, ordem, how, at, batch_id))
        start = created.date() - timedelta(days=365)
        chunk: list[tuple] = []
        for n in range(rows):
            day = start + timedelta(days=rng.randint(0, 364))
            end = None if rng.random() < 0.1 else day + timedelta(days=rng.randint(0, 10))
            chunk.append(
                (
                    rng.choice(plates),
                    rng.choice(SERVICOS),
                    day.isoformat(),
                    f"{rng.randint(5000, 900000) / 100:.2f}",
                    rng.randint(0, 900_000),
                    rng.choice(("preventiva", "corretiva")),
                    end.isoformat() if end else None,
                    batch_id,
                    work_order_key("bench", f"{step}-{n}"),  # the identity the loader gives it
                )  # fmt: skip
            )
            if len(chunk) == 50_000:
                con.executemany(_INSERT_M, chunk)
                chunk.clear()
        con.executemany(_INSERT_M, chunk)
        con.execute(
            f"INSERT INTO frota_batches ({', '.join(_LEDGER)}) "
            f"VALUES ({', '.join('?' * len(_LEDGER))})",
            _ledger_row(batch_id, created, rows, ordem),
        )
    con.close()


_INSERT_M = (
    "INSERT INTO manutencoes (placa_veiculo, tipo_manutencao, data_manutencao, custo,"
    " quilometragem, categoria, data_conclusao, lote_id, chave) VALUES (?,?,?,?,?,?,?,?,?)"
)


def slowest_nodes(dbt_dir: Path, top: int) -> str:
    """The `top` slowest nodes of dbt's last run, and the sum over all nodes."""
    results = json.loads((dbt_dir / "target" / "run_results.json").read_text())["results"]
    timed = sorted(((r["execution_time"], r["unique_id"]) for r in results), reverse=True)
    lines = [f"  {seconds:6.2f} s  {node}" for seconds, node in timed[:top]]
    total = sum(t for t, _ in timed)
    return "\n".join([*lines, f"  {total:6.2f} s  sum over {len(timed)} nodes"])


def run_backend(
    backend: str, rows: int, vehicles: int, batches: int, work: Path, profile: int = 0
) -> dict:
    db = work / f"frota-{backend}.db"
    upgrade_schema(create_engine(f"sqlite:///{db}"))
    rng, plates = random.Random(42), []
    per = rows // batches
    for step in range(batches):
        add_batch(db, rng, vehicles if step == 0 else vehicles // 10, plates, per, step, step == 0)
    database_url = f"sqlite:///{db}"
    pg_name = None
    if backend == "duckdb":
        warehouse_url = f"duckdb:///{work / 'warehouse.duckdb'}"
    else:
        pg_name = f"frota_wh_bench_{uuid.uuid4().hex[:8]}"
        admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{pg_name}"')
        warehouse_url = f"postgresql://postgres@127.0.0.1:5432/{pg_name}"
    dbt_dir = work / f"dbt-{backend}"
    load_start = os.getloadavg()[0]
    settings = Settings(database=database_url, warehouse=warehouse_url)
    try:
        # Warm dbt's partial-parse cache and imports on an empty warehouse would change
        # nothing measured below: both runs pay the same dbt start-up.
        t0 = time.perf_counter()
        full = build_warehouse(settings, freshness=False, dbt_dir=dbt_dir)
        full_s = time.perf_counter() - t0
        if profile:
            print(f"{backend} full run, slowest dbt nodes:\n{slowest_nodes(dbt_dir, profile)}")
        add_batch(db, rng, 50, plates, 1_000, batches, False)
        t0 = time.perf_counter()
        inc = build_warehouse(settings, freshness=False, dbt_dir=dbt_dir)
        inc_s = time.perf_counter() - t0
        if profile:
            print(f"{backend} incremental run, slowest nodes:\n{slowest_nodes(dbt_dir, profile)}")
        # Nothing new: frota finds the models up to date and leaves dbt's build alone.
        t0 = time.perf_counter()
        noop = build_warehouse(settings, freshness=False, dbt_dir=dbt_dir)
        noop_s = time.perf_counter() - t0
        # dbt's own no-op: `dbt build` as frota would run it, with nothing new to build.
        target, variables = warehouse_target(settings), project_variables(settings)
        t0 = time.perf_counter()
        invoke(target, ["build", *_NO_UNIT_TESTS], dbt_dir, variables=variables)
        dbt_noop_s = time.perf_counter() - t0
    finally:
        if pg_name:
            with admin.connect() as conn:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')
            admin.dispose()
    return {
        "backend": backend,
        "full": (full, full_s),
        "incremental": (inc, inc_s),
        "nothing new": (noop, noop_s),
        "dbt no-op": dbt_noop_s,
        "load": (load_start, os.getloadavg()[0]),
    }


def table(results: list[dict], rows: int, vehicles: int, batches: int) -> str:
    lines = [
        f"Fleet: {rows:,} maintenance rows in {batches} batches, {vehicles:,} vehicles "
        f"(operational DB: SQLite). Second run: one new batch of 1,000 maintenances and "
        f"50 changed vehicles; a third run finds nothing new; then dbt's own no-op (`dbt build` "
        f"with nothing to do). Machine: {_machine()}. Load average (1 min) at the start and end "
        f"of each warehouse's runs: "
        + ", ".join(f"{r['backend']} {r['load'][0]:.1f} → {r['load'][1]:.1f}" for r in results)
        + ".",
        "",
        "| warehouse | run | batches | rows copied | replicate (s) | dbt build (s) | total (s) |"
        " models | tests passed |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in results:
        for run in ("full", "incremental", "nothing new"):
            res, total = r[run]
            copied = sum(res.rows_replicated.values())
            lines.append(
                f"| {r['backend']} | {run} | {res.batches_replicated} | {copied:,} | "
                f"{res.replicate_seconds:.1f} | {res.dbt_seconds:.1f} | {total:.1f} | "
                f"{res.models_built} | {res.tests_passed} |"
            )
        lines.append(
            f"| {r['backend']} | dbt's own no-op `dbt build` | | | | {r['dbt no-op']:.1f} | "
            f"{r['dbt no-op']:.1f} | | |"
        )
    lines += ["", "| warehouse | goal | measured | |", "| --- | --- | ---: | --- |"]
    for r in results:
        lines += [f"| {r['backend']} | {goal} | {measured} | {verdict} |" for goal, measured,
                  verdict in goals(r)]  # fmt: skip
    return "\n".join(lines) + "\n"


def goals(r: dict) -> list[tuple[str, str, str]]:
    """Issue 12's speed goals for one warehouse's runs: (goal, measured, met / not met)."""
    met = {True: "met", False: "**not met**"}
    inc = r["incremental"][1] / r["full"][1]
    noop = r["nothing new"][1] / r["dbt no-op"]
    out = [
        ("incremental run ≤ 25 % of the full run", f"{inc:.0%}", met[inc <= 0.25]),
        ("nothing new ≤ 1.2× dbt's own no-op", f"{noop:.2f}×", met[noop <= 1.2]),
    ]
    if r["backend"] == "duckdb":
        full = r["full"][0]
        rate = sum(full.rows_replicated.values()) / max(full.replicate_seconds, 1e-9)
        out.append(("replication ≥ 200,000 rows/s", f"{rate:,.0f} rows/s", met[rate >= 200_000]))
    return out


def _machine() -> str:
    import platform

    return f"{os.cpu_count()} CPU, Python {platform.python_version()}"


def write_markdown(
    path: Path,
    body: str,
    title: str = "Warehouse",
    script: str = "bench/warehouse_benchmark.py",
    day: date | None = None,
) -> None:
    """Add this run to the `## <title>` section of docs/benchmarks.md as a dated subsection,
    `### <day>: python <script>`, after the runs already there. Earlier runs, and what was
    written about them, are the history the goals are judged against: they stay. A rerun on
    the same day replaces that day's subsection (and only it)."""
    text = path.read_text(encoding="utf-8") if path.exists() else "# Benchmarks\n"
    heading = f"### {(day or date.today()).isoformat()}: `python {script}`"
    run = f"{heading}\n\n{body.rstrip()}\n"
    start = _section_start(text, f"## {title}")
    if start < 0:
        intro = f"## {title}\n\nMeasured by `python {script}`; one dated subsection a run.\n"
        path.write_text(f"{text.rstrip()}\n\n{intro}\n{run}", encoding="utf-8")
        return
    end = _section_start(text, "## ", start + 1)
    end = len(text) if end < 0 else end
    section = text[start:end]
    same_day = _section_start(section, heading)
    if same_day >= 0:
        following = _section_start(section, "### ", same_day + 1)
        rest = section[following:] if following >= 0 else ""
        section = f"{section[:same_day]}{run}" + (f"\n{rest}" if rest else "\n")
    else:
        section = f"{section.rstrip()}\n\n{run}\n"
    path.write_text(text[:start] + section + text[end:].lstrip("\n"), encoding="utf-8")


def _section_start(text: str, heading: str, after: int = 0) -> int:
    """Where the line starting with `heading` begins in `text` (from `after`), or -1."""
    match = re.compile(rf"^{re.escape(heading)}", re.MULTILINE).search(text, after)
    return match.start() if match else -1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--vehicles", type=int, default=5_000)
    parser.add_argument("--batches", type=int, default=10)
    parser.add_argument("--backends", default="duckdb,postgres")
    parser.add_argument("--markdown", type=Path, help="update this file's ## Warehouse section")
    parser.add_argument("--profile", type=int, default=0, help="print the N slowest dbt nodes")
    opts = parser.parse_args()
    if opts.profile:
        os.environ["DBT_WRITE_JSON"] = "true"  # slowest_nodes reads run_results.json
    results = []
    with tempfile.TemporaryDirectory(prefix="frota-wh-bench-") as tmp:
        for backend in opts.backends.split(","):
            print(f"{backend}: building…", flush=True)
            results.append(
                run_backend(
                    backend, opts.rows, opts.vehicles, opts.batches, Path(tmp), opts.profile
                )
            )
    body = table(results, opts.rows, opts.vehicles, opts.batches)
    print(body)
    if opts.markdown:
        write_markdown(opts.markdown, body)


if __name__ == "__main__":
    main()
