"""Loader benchmark: the same generated batch loaded, in one run, by frota and by the tools it
replaces, on SQLite, MariaDB and PostgreSQL (see docs/benchmarks.md, "Loader").

    python bench/load_benchmark.py [--rows 1000000] [--backends sqlite,mysql,postgresql]
    python bench/load_benchmark.py --idle   # `frota load` with nothing new, 10,000 batches loaded
    python bench/load_benchmark.py --overlap  # a 1M export, then one 90 % already loaded

Each method runs in its own process (peak RSS = that process's ru_maxrss) against a fresh
database with frota's schema: frota (`load_pending`: checksums, validation, quarantine,
ledger, one transaction), pandas `read_csv` + `to_sql` defaults, dlt's sqlalchemy destination
(rows as dicts, and its documented fast path: Arrow tables, parquet, parallel load jobs), and
the raw ceiling (`LOAD DATA LOCAL` / `COPY` / `executemany` of the CSVs into the same tables,
no validation). Every method stores each maintenance's record key (`chave`, UNIQUE in frota's
schema): pandas, dlt and the ceiling take the CSV's work order as it is. pandas and dlt run in
bench/.venv-compare, built on first use.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
COMPARE_VENV = HERE / ".venv-compare"
COMPARE_PACKAGES = [
    "dlt[sqlalchemy,parquet]==1.31.*",
    "pandas",
    "sqlalchemy",
    "pymysql",
    "psycopg[binary]",
]
DEFAULT_URLS = {
    "sqlite": "sqlite:///{dir}/{name}.db",
    "mysql": os.environ.get("FROTA_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test"),
    "postgresql": os.environ.get(
        "FROTA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
    ),
}
METHODS = {  # name -> (backends, runs in the compare venv)
    "frota": (("sqlite", "mysql", "postgresql"), False),
    "frota-local-infile": (("mysql",), False),
    "pandas-to_sql": (("sqlite", "mysql", "postgresql"), True),
    "dlt": (("sqlite", "mysql", "postgresql"), True),
    "dlt-arrow-parallel": (("sqlite", "mysql", "postgresql"), True),
    "ceiling": (("sqlite", "mysql", "postgresql"), False),
    "ceiling-keyed": (("sqlite", "mysql", "postgresql"), False),
}
V_COLS = ["placa", "tipo_veiculo", "status", "quilometragem_total", "data_aquisicao"]
M_COLS = [
    "placa_veiculo",
    "tipo_manutencao",
    "data_manutencao",
    "custo",
    "quilometragem",
    "categoria",
    "data_conclusao",
    # The CSV's work order goes into the record key as it is: the ceiling pays for the UNIQUE
    # index, not for frota's digest (a generated batch's work orders are unique).
    "chave",
]


# ----------------------------------------------------------------------------- children
# Each child loads <batch>/veiculos.csv then manutencoes.csv and prints {"seconds": s}.
# The pandas/dlt children import neither frota nor anything from the main venv.


def child_frota(url: str, batch: Path, local_infile: bool, only: str | None = None) -> float:
    from frota.config import Settings
    from frota.load import load_pending

    settings = Settings(landing=str(batch.parent.parent), database=url)
    if local_infile:
        from dataclasses import replace

        settings = replace(settings, mysql_local_infile="allow-server-file-requests")
    started = time.perf_counter()
    result = load_pending(settings, only=[only] if only else None)
    seconds = time.perf_counter() - started
    assert len(result.loaded) == 1 and not result.rejected, result
    if only:
        m = result.loaded[0]
        print(
            f"{only}: {m.manutencoes_inserted:,} maintenances new, {m.manutencoes_updated:,} "
            f"updated, {m.manutencoes_present:,} already present",
            file=sys.stderr,
        )
    return seconds


def child_overlap(url: str, first: Path, second: Path, local_infile: bool) -> dict[str, float]:
    """Load the first export, then the second (90 % the same records), each timed."""
    return {
        "seconds": child_frota(url, first, local_infile, only=first.name),
        "second": child_frota(url, second, local_infile, only=second.name),
    }


def child_pandas(url: str, batch: Path) -> float:
    import pandas as pd
    import sqlalchemy as sa

    engine = sa.create_engine(url)
    started = time.perf_counter()
    for table in ("veiculos", "manutencoes"):
        dates = ["data_aquisicao"] if table == "veiculos" else ["data_manutencao", "data_conclusao"]
        frame = pd.read_csv(batch / f"{table}.csv", parse_dates=dates)
        if table == "manutencoes":
            frame["chave"] = frame["id_origem"]  # the record key, as the ceiling fills it
        frame.to_sql(table, engine, if_exists="append", index=False)
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


def child_dlt(url: str, batch: Path, arrow: bool, workdir: Path) -> float:
    import csv

    import dlt

    os.environ["RUNTIME__LOG_LEVEL"] = "WARNING"
    os.environ["DATA_WRITER__DISABLE_COMPRESSION"] = "true"
    if arrow:
        # dlt's performance guide: Arrow tables skip normalization; parquet files rotated
        # every 100k rows become parallel load jobs.
        os.environ["DATA_WRITER__FILE_MAX_ITEMS"] = "100000"
        os.environ["LOAD__WORKERS"] = "4"
    dataset = "dlt_bench"
    if url.startswith("sqlite"):
        dataset = "main"
    elif url.startswith("mysql"):
        dataset = url.rsplit("/", 1)[1]  # a MySQL dataset is a database: use the fresh one

    def rows(table: str):
        if arrow:
            import pyarrow as pa
            import pyarrow.csv as pcsv

            reader = pcsv.open_csv(
                batch / f"{table}.csv",
                read_options=pcsv.ReadOptions(block_size=8 << 20),
                convert_options=pcsv.ConvertOptions(strings_can_be_null=True),
            )
            for part in reader:
                if table == "manutencoes":  # the record key, as the ceiling fills it
                    part = pa.Table.from_batches([part])
                    part = part.append_column("chave", part.column("id_origem"))
                yield part
        else:
            with open(batch / f"{table}.csv", encoding="utf-8", newline="") as fh:
                page: list[dict] = []
                for row in csv.DictReader(fh):
                    item = {k: (v or None) for k, v in row.items()}
                    if table == "manutencoes":
                        item["chave"] = item["id_origem"]
                    page.append(item)
                    if len(page) >= 1000:  # "yield pages, not rows"
                        yield page
                        page = []
                if page:
                    yield page

    import shutil

    if url.startswith("sqlite"):
        # parallel load jobs wait for SQLite's write lock: more than pysqlite's 5 s default
        # on a busy machine (where they failed with "database is locked")
        url += "?timeout=300"
    pipelines = workdir / ("dlt-arrow" if arrow else "dlt-rows")
    shutil.rmtree(pipelines, ignore_errors=True)  # no state from an earlier run
    pipeline = dlt.pipeline(
        pipeline_name="frota_bench",
        destination=dlt.destinations.sqlalchemy(credentials=url),
        dataset_name=dataset,
        pipelines_dir=str(pipelines),
    )
    started = time.perf_counter()
    for table in ("veiculos", "manutencoes"):
        # chave UNIQUE as in frota's schema (a hint: the sqlalchemy destination makes it a
        # UNIQUE constraint where it can)
        hints = {"chave": {"unique": True, "nullable": False}} if table == "manutencoes" else {}
        resource = dlt.resource(rows(table), name=f"dlt_{table}", columns=hints)
        info = pipeline.run(resource, loader_file_format="parquet" if arrow else None)
        info.raise_on_failed_jobs()
    return time.perf_counter() - started


def keyed_copy(batch: Path) -> Path:
    """The batch's files with each maintenance's work order replaced by frota's own record key
    (frota.contract.identity, made before the clock starts): what `ceiling-keyed` loads. The
    CSV's work orders ascend with the file, and so do their keys since migration 0009 (before
    it the keys were digests, in no order, and a B-tree paid for that on every insert)."""
    import csv
    import shutil

    from frota.contract.identity import work_order_key

    keyed = batch.parent.parent.parent / "keyed-0009"  # "keyed": a copy with the old digests
    if not (keyed / "manutencoes.csv").exists():
        keyed.mkdir(exist_ok=True)
        shutil.copy(batch / "veiculos.csv", keyed / "veiculos.csv")
        source = json.loads((batch / "_manifest.json").read_text())["source"]
        with (
            open(batch / "manutencoes.csv", encoding="utf-8", newline="") as src,
            open(keyed / "tmp.csv", "w", encoding="utf-8", newline="") as out,
        ):
            reader, writer = csv.reader(src), csv.writer(out, lineterminator="\n")
            writer.writerow(next(reader))
            for row in reader:
                writer.writerow([*row[:-1], work_order_key(source, row[-1])])
        (keyed / "tmp.csv").rename(keyed / "manutencoes.csv")
    return keyed


def child_ceiling(url: str, batch: Path) -> float:
    import csv

    import sqlalchemy as sa

    if url.startswith("mysql"):
        engine = sa.create_engine(url, connect_args={"local_infile": True})
    else:
        engine = sa.create_engine(url)
    raw = engine.raw_connection()
    dbapi = raw.driver_connection
    started = time.perf_counter()
    cur = dbapi.cursor()
    if url.startswith("sqlite"):
        cur.execute("BEGIN")
    for table, cols in (("veiculos", V_COLS), ("manutencoes", M_COLS)):
        path = batch / f"{table}.csv"
        if url.startswith("mysql"):
            sets = ", ".join(f"{c} = NULLIF(@{c}, '')" for c in cols)
            cur.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {table} CHARACTER SET utf8mb4 "
                "FIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"' LINES TERMINATED BY '\\n' "
                f"IGNORE 1 LINES ({', '.join('@' + c for c in cols)}) SET {sets}",
                (str(path),),
            )
        elif url.startswith("postgresql"):
            sql = f"COPY {table} ({', '.join(cols)}) FROM STDIN (FORMAT csv, HEADER true)"
            with cur.copy(sql) as copy, open(path, "rb") as fh:
                while data := fh.read(1 << 20):
                    copy.write(data)
        else:
            with open(path, encoding="utf-8", newline="") as fh:
                reader = csv.reader(fh)
                next(reader)
                marks = ", ".join("?" * len(cols))
                cur.executemany(
                    f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
                    ([v or None for v in row] for row in reader),
                )
    if url.startswith("sqlite"):
        cur.execute("COMMIT")
    else:
        dbapi.commit()
    seconds = time.perf_counter() - started
    raw.close()
    engine.dispose()
    return seconds


def run_child(args: argparse.Namespace) -> None:
    batch, url, method = Path(args.batch), args.url, args.child
    if method.endswith("-overlap"):
        infile = method.startswith("frota-local-infile")
        print(json.dumps(child_overlap(url, batch, Path(args.batch2), infile)))
        return
    if method == "frota":
        seconds = child_frota(url, batch, local_infile=False)
    elif method == "frota-local-infile":
        seconds = child_frota(url, batch, local_infile=True)
    elif method == "pandas-to_sql":
        seconds = child_pandas(url, batch)
    elif method in ("dlt", "dlt-arrow-parallel"):
        seconds = child_dlt(url, batch, method != "dlt", Path(args.workdir))
    elif method == "ceiling-keyed":
        seconds = child_ceiling(url, Path(args.keyed))
    else:
        seconds = child_ceiling(url, batch)
    print(json.dumps({"seconds": seconds}))


# ----------------------------------------------------------------------------- parent


def ensure_compare_venv() -> Path:
    python = COMPARE_VENV / "bin" / "python"
    if not python.exists():
        print(f"building {COMPARE_VENV} (pandas, dlt) ...", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(COMPARE_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *COMPARE_PACKAGES], check=True)
    return python


def ensure_batch(workdir: Path, rows: int, seed: int) -> Path:
    """One batch of about `rows` maintenances (vehicles = rows / 50, 730 days of history).

    Generated in a process of its own: Linux carries a process's peak RSS across the exec that
    starts a child, so a child spawned by a parent that had generated 5M rows reported the
    parent's 374 MB as its own peak, whatever it used (docs/benchmarks.md, 2026-12-01 night)."""
    import multiprocessing

    data = workdir / f"data-{rows}-{seed}"
    landing = data / "landing"
    done = sorted((landing / "batches").glob("*/_manifest.json")) if landing.exists() else []
    if not done:
        with multiprocessing.get_context("spawn").Pool(1) as pool:
            pool.apply(_generate, (data, rows, seed))
        done = sorted((landing / "batches").glob("*/_manifest.json"))
    return done[0].parent


def _generate(data: Path, rows: int, seed: int) -> None:
    from datetime import date

    from frota.generate import generate_batch
    from frota.landing import open_landing
    from frota.publish import publish_dir

    started = time.perf_counter()
    result = generate_batch(
        data / "outbox",
        seed=seed,
        vehicles=max(rows // 50, 1),
        until=date(2025, 6, 30),
        history_days=730,
    )
    publish_dir(result.out_dir, open_landing(str(data / "landing")), "bench")
    print(
        f"generated {result.veiculos:,} vehicles and {result.manutencoes:,} maintenances "
        f"in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )


def fresh_database(backend: str, name: str, workdir: Path, with_schema: bool) -> str:
    import sqlalchemy as sa

    from frota.db.engine import create_engine
    from frota.db.migrate import upgrade_schema

    if backend == "sqlite":
        path = workdir / f"{name}.db"
        for suffix in ("", "-wal", "-shm", ".lock"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        for extra in workdir.glob(f"{name}*.db"):
            extra.unlink()
        url = f"sqlite:///{path}"
    else:
        admin = sa.create_engine(DEFAULT_URLS[backend], isolation_level="AUTOCOMMIT")
        quote = "`" if backend == "mysql" else '"'
        with admin.connect() as conn:
            force = " WITH (FORCE)" if backend == "postgresql" else ""
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quote}{name}{quote}{force}"))
            conn.execute(sa.text(f"CREATE DATABASE {quote}{name}{quote}"))
        admin.dispose()
        url = sa.make_url(DEFAULT_URLS[backend]).set(database=name)
        url = url.render_as_string(hide_password=False)
    if with_schema:
        engine = create_engine(url)
        upgrade_schema(engine)
        engine.dispose()
    return url


def measure(
    python: Path, method: str, url: str, batch: Path, workdir: Path, *extra: str
) -> tuple[float, float, float]:
    """(seconds of the load itself, peak RSS MB and CPU seconds of the whole process)."""
    cmd = [str(python), __file__, "--child", method, "--url", url, "--batch", str(batch)]
    cmd += ["--workdir", str(workdir), *extra]
    out = workdir / "child.out"
    with open(out, "w") as fh:
        proc = subprocess.Popen(cmd, stdout=fh, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    text = out.read_text()
    if proc.returncode != 0:
        raise RuntimeError(f"{method} failed:\n{text[-3000:]}")
    seconds = json.loads(text.strip().splitlines()[-1])["seconds"]
    return seconds, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


# ----------------------------------------------------------------------------- overlap


def ensure_overlap_batches(workdir: Path, first: Path) -> tuple[Path, Path]:
    """The benchmark's batch, then a second export of the same source in which 90 % of the
    maintenances are the same records, unchanged (every 10th row gets a new work-order
    number: a new record), vehicles the same; both in a landing area of their own."""
    import shutil

    from frota.landing import open_landing
    from frota.publish import publish_dir

    landing = workdir / f"{first.parent.parent.parent.name}-overlap" / "landing"
    batches = landing / "batches"
    done = sorted(batches.glob("*/_manifest.json")) if batches.exists() else []
    if len(done) == 2:
        return done[0].parent, done[1].parent
    shutil.rmtree(landing.parent, ignore_errors=True)
    batches.mkdir(parents=True)
    shutil.copytree(first, batches / first.name)
    outbox = landing.parent / "second"
    outbox.mkdir()
    shutil.copy(first / "veiculos.csv", outbox / "veiculos.csv")
    with (
        open(first / "manutencoes.csv", encoding="utf-8", newline="") as src,
        open(outbox / "manutencoes.csv", "w", encoding="utf-8", newline="") as out,
    ):
        out.write(src.readline())
        for i, line in enumerate(src):
            if i % 10 == 9:  # the work order is the last cell (canonical CSV)
                line = line.rstrip("\n") + "-R\n"
            out.write(line)
    publish_dir(outbox, open_landing(str(landing)), "bench")
    done = sorted(batches.glob("*/_manifest.json"))
    assert len(done) == 2 and done[0].parent.name == first.name, done
    return done[0].parent, done[1].parent


def run_overlap(args: argparse.Namespace) -> None:
    """rows/s of a fresh 1M load and of the next export, 90 % of it already loaded."""
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    first, second = ensure_overlap_batches(workdir, ensure_batch(workdir, args.rows, args.seed))
    rows = [
        sum(f["rows"] for f in json.loads((b / "_manifest.json").read_text())["files"])
        for b in (first, second)
    ]
    print(f"{'backend':<11} {'method':<20} {'fresh rows/s':>13} {'90 % loaded rows/s':>19} ratio")
    for backend in args.backends.split(","):
        for method in ("frota", "frota-local-infile"):
            if backend not in METHODS[method][0]:
                continue
            url = fresh_database(backend, f"frota_bench_overlap{args.tag}", workdir, True)
            extra = ("--batch2", str(second))
            measure(Path(sys.executable), f"{method}-overlap", url, first, workdir, *extra)
            *told, last = (workdir / "child.out").read_text().strip().splitlines()
            print("\n".join(line for line in told if "maintenances new" in line), file=sys.stderr)
            times = json.loads(last)
            fresh, again = rows[0] / times["seconds"], rows[1] / times["second"]
            print(f"{backend:<11} {method:<20} {fresh:>13,.0f} {again:>19,.0f} {again / fresh:.2f}")


def run_parent(args: argparse.Namespace) -> None:
    workdir = Path(args.workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    backends = args.backends.split(",")
    methods = args.methods.split(",") if args.methods else list(METHODS)
    batch = ensure_batch(workdir, args.rows, args.seed)
    manifest = json.loads((batch / "_manifest.json").read_text())
    rows = sum(f["rows"] for f in manifest["files"])
    compare = ensure_compare_venv() if any(METHODS[m][1] for m in methods) else None
    print(f"batch {batch.name}: {rows:,} rows (vehicles + maintenances)\n", file=sys.stderr)
    results: dict[str, dict[str, tuple[float, float, float]]] = {}
    print(
        f"{'backend':<11} {'method':<20} {'rows/s':>9} {'wall s':>8} {'peak RSS MB':>12} "
        f"{'client CPU s':>13}"
    )
    for backend in backends:
        results[backend] = {}
        for method in methods:
            if backend not in METHODS[method][0]:
                continue
            python = compare if METHODS[method][1] else Path(sys.executable)
            name = f"frota_bench_{method.replace('-', '_')}{args.tag}"
            url = fresh_database(backend, name, workdir, with_schema=not method.startswith("dlt"))
            extra = ("--keyed", str(keyed_copy(batch))) if method == "ceiling-keyed" else ()
            try:
                seconds, rss, cpu = measure(python, method, url, batch, workdir, *extra)  # type: ignore[arg-type]
            except RuntimeError as failed:  # told, and the other methods still run
                print(f"{backend:<11} {method:<20} failed: {str(failed)[-300:]}", flush=True)
                continue
            results[backend][method] = (seconds, rss, cpu)
            print(
                f"{backend:<11} {method:<20} {rows / seconds:>9,.0f} {seconds:>8.2f} "
                f"{rss:>12.0f} {cpu:>13.1f}",
                flush=True,
            )
    print()
    for backend, got in results.items():
        ratios = []
        dlt = min((got[m][0] for m in ("dlt", "dlt-arrow-parallel") if m in got), default=None)
        for method in ("frota", "frota-local-infile"):
            if method not in got:
                continue
            mine = got[method][0]
            parts = []
            if "pandas-to_sql" in got:
                parts.append(f"frota/pandas {got['pandas-to_sql'][0] / mine:.2f}")
            if dlt:
                parts.append(f"frota/dlt {dlt / mine:.2f}")
            if "ceiling" in got:
                parts.append(f"frota/ceiling {got['ceiling'][0] / mine:.2f}")
            if "ceiling-keyed" in got:
                parts.append(f"frota/ceiling-keyed {got['ceiling-keyed'][0] / mine:.2f}")
            ratios.append(f"{method}: " + ", ".join(parts))
        print(f"ratios {backend}: " + " | ".join(ratios))


# ----------------------------------------------------------------------------- idle cost


def run_idle(args: argparse.Namespace) -> None:
    """`frota load` (the CLI process) with nothing new and N batches already in the ledger."""
    from datetime import UTC, datetime, timedelta

    import sqlalchemy as sa

    from frota.batch import MANIFEST_NAME, FileEntry, build_manifest
    from frota.db.engine import create_engine
    from frota.db.schema import batches

    workdir = Path(args.workdir).resolve() / f"idle-{args.batches}"
    landing = workdir / "landing" / "batches"
    url = fresh_database("sqlite", "idle", workdir.parent, with_schema=True)
    if not landing.exists() or len(list(landing.iterdir())) != args.batches:
        landing.mkdir(parents=True, exist_ok=True)
        body = "placa,tipo_veiculo,status,quilometragem_total,data_aquisicao\n"
        import hashlib

        t0 = datetime(2024, 1, 1, tzinfo=UTC)
        for i in range(args.batches):
            csv_text = body + f"ABC{i % 10000:04d},Van,ativo,{i},2020-01-01\n"
            data = csv_text.encode()
            entry = FileEntry(
                name="veiculos.csv",
                table="veiculos",
                rows=1,
                bytes=len(data),
                sha256=hashlib.sha256(data).hexdigest(),
            )
            manifest = build_manifest([entry], "idle", now=t0 + timedelta(minutes=i))
            folder = landing / manifest.batch_id
            folder.mkdir(exist_ok=True)
            (folder / "veiculos.csv").write_bytes(data)
            (folder / MANIFEST_NAME).write_text(manifest.to_json(), encoding="utf-8")
    ids = sorted(p.name for p in landing.iterdir())
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            batches.insert(),
            [
                {
                    "batch_id": b,
                    "source": "idle",
                    "created_at": "2024-01-01T00:00:00Z",
                    "content_sha256": "0" * 64,
                    "loaded_at": datetime(2024, 1, 1),
                    "run_id": "idle",
                    **dict.fromkeys(
                        (
                            "rows_read",
                            "veiculos_inserted",
                            "veiculos_updated",
                            "veiculos_stale",
                            "manutencoes_inserted",
                            "quarantined",
                            "released",
                            "duplicates",
                        ),
                        0,
                    ),
                }
                for b in ids
            ],
        )
        assert conn.execute(sa.select(sa.func.count()).select_from(batches)).scalar() == len(ids)
    engine.dispose()
    frota = Path(sys.executable).with_name("frota")
    cmd = [str(frota), "--landing", str(workdir / "landing"), "--database", url, "load"]
    times = []
    for _ in range(args.repeat):
        started = time.perf_counter()
        done = subprocess.run(cmd, capture_output=True, text=True)
        times.append(time.perf_counter() - started)
        if done.returncode != 0 or "nothing new" not in done.stdout + done.stderr:
            raise RuntimeError(
                f"frota load failed or loaded something:\n{done.stdout}{done.stderr}"
            )
    print(f"idle `frota load`, {len(ids):,} batches in the ledger and the landing area:")
    print("  whole CLI process, s: " + ", ".join(f"{t:.2f}" for t in times))
    print(f"  best {min(times):.2f} s, median {sorted(times)[len(times) // 2]:.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="maintenance rows (about)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--backends", default="sqlite,mysql,postgresql")
    parser.add_argument("--methods", default="", help="comma list; default: all")
    parser.add_argument("--workdir", default=str(HERE / "results"))
    parser.add_argument(
        "--tag", default="", help="suffix of the databases' names (runs side by side)"
    )
    parser.add_argument("--idle", action="store_true", help="measure the idle `frota load`")
    parser.add_argument(
        "--overlap", action="store_true", help="a fresh load, then an export 90 %% loaded"
    )
    parser.add_argument("--batches", type=int, default=10_000, help="ledger size for --idle")
    parser.add_argument("--repeat", type=int, default=5, help="runs for --idle")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--url", help=argparse.SUPPRESS)
    parser.add_argument("--batch", help=argparse.SUPPRESS)
    parser.add_argument("--batch2", help=argparse.SUPPRESS)
    parser.add_argument("--keyed", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        run_child(args)
    elif args.idle:
        run_idle(args)
    elif args.overlap:
        run_overlap(args)
    else:
        run_parent(args)


if __name__ == "__main__":
    main()
