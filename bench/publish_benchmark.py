"""Publish benchmark: `frota publish --from` on a generated pt-BR export, side by side with a
plain Python `csv.reader` -> `csv.writer` pass over the same file (see docs/benchmarks.md,
"Publish").

    python bench/publish_benchmark.py [--rows 1000000] [--repeat 3] [--profile]

The export is what a Brazilian ERP writes: `;`, CRLF, UTF-8, decimal comma with thousands
dots, dd/mm/yyyy, plates as ABC-1234, the company's own header names (about 44 bytes a row: the
issue's 200 MB export is 4.58M rows). Each method runs in its own process (peak RSS = that
process's ru_maxrss): `frota` is `publish_export` into a folder landing area (validation,
canonical rewrite, sha256, manifest); `csv-pass` reads and writes every record with the csv
module and nothing else. On a shared machine each method runs `--repeat` times, alternating,
and the fastest run of each counts (the others were slowed down by the neighbours). `--profile`
prints the publish's top functions (cProfile).
"""

from __future__ import annotations

import argparse
import json
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = (
    "Placa Veículo;Tipo Manutenção;Data Manutenção;Custo;Quilometragem;Categoria;Data Conclusão"
)
KINDS = ["Troca de óleo", "Freios", "Pneus", "Suspensão", "Elétrica", "Revisão"]


def write_export(folder: Path, rows: int, seed: int = 7) -> int:
    """manutencoes.csv (and a small veiculos.csv) as a pt-BR ERP exports them; its bytes."""
    rng = random.Random(seed)
    plates = [f"{chr(65 + i % 26)}{chr(65 + i // 26 % 26)}C-{1000 + i}" for i in range(500)]
    with open(folder / "veiculos.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write("Placa;Tipo Veículo;Status;Quilometragem Total;Data Aquisição\r\n")
        for p in plates:
            fh.write(f"{p};Caminhão;ativo;120.000;01/03/2019\r\n")
    with open(folder / "manutencoes.csv", "w", encoding="utf-8", newline="") as fh:
        fh.write(HEADER + "\r\n")
        for i in range(rows):
            day, month = 1 + i % 28, 1 + i // 28 % 12
            cost = rng.randrange(1000, 900000)
            km = rng.randrange(1000, 900000)
            reais = f"{cost // 100:,}".replace(",", ".")  # 1.234,56: thousands dots
            km_text = f"{km:,}".replace(",", ".")
            kind = "preventiva" if i % 3 else "corretiva"
            fh.write(
                f"{plates[i % 500]};{KINDS[i % 6]};{day:02d}/{month:02d}/2025;"
                f"{reais},{cost % 100:02d};{km_text};{kind};{day:02d}/{month:02d}/2025\r\n"
            )
    return sum(p.stat().st_size for p in folder.iterdir())


def run_frota(folder: Path, work: Path, profile: bool, general: bool = False) -> dict:
    from frota.config import Settings
    from frota.publish import publish_export

    settings = Settings(landing=str(work / "landing"), log_dir=str(work / "logs"))
    if general:  # the fast path off: every line through the csv reader and the checks
        from frota.publish.fastlines import FastLines

        FastLines.take = lambda self, line, number: False  # type: ignore[method-assign]
    start, cpu = time.perf_counter(), time.process_time()
    if profile:
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            result = publish_export(folder, settings)
        pstats.Stats(prof, stream=sys.stderr).sort_stats("cumulative").print_stats(25)
    else:
        result = publish_export(folder, settings)
    return {
        "seconds": time.perf_counter() - start,
        "cpu": time.process_time() - cpu,
        "rows": result.rows,
    }


def run_csv_pass(folder: Path, work: Path) -> dict:
    import csv

    start, cpu = time.perf_counter(), time.process_time()
    rows = 0
    for name in ("veiculos.csv", "manutencoes.csv"):
        with (
            open(folder / name, encoding="utf-8", newline="") as src,
            open(work / name, "w", encoding="utf-8", newline="") as out,
        ):
            writer = csv.writer(out, lineterminator="\n")
            reader = csv.reader(src, delimiter=";")
            writer.writerow(next(reader))
            for record in reader:
                writer.writerow(record)
                rows += 1
    return {"seconds": time.perf_counter() - start, "cpu": time.process_time() - cpu, "rows": rows}


def child(method: str, folder: Path, profile: bool) -> None:
    import resource

    with tempfile.TemporaryDirectory(prefix="frota-bench-") as tmp:
        work = Path(tmp)
        if method.startswith("frota"):
            figures = run_frota(folder, work, profile, general=method == "frota-general")
        else:
            figures = run_csv_pass(folder, work)
    figures["rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def measure(method: str, folder: Path, profile: bool) -> dict:
    cmd = [sys.executable, __file__, "--child", method, "--folder", str(folder)]
    if profile:
        cmd.append("--profile")
    done = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{method} failed:\n{done.stderr[-3000:]}")
    if profile:
        print(done.stderr[-6000:], file=sys.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--child", choices=METHODS)
    parser.add_argument(
        "--methods", default="frota,csv-pass", help=f"of {', '.join(METHODS)}; csv-pass last"
    )
    parser.add_argument("--folder", type=Path)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.folder, args.profile)
        return
    with tempfile.TemporaryDirectory(prefix="frota-bench-export-") as tmp:
        folder = Path(tmp)
        size = write_export(folder, args.rows)
        print(f"export: {args.rows:,} maintenance rows + 500 vehicles, {size / 1e6:.1f} MB")
        methods = args.methods.split(",")
        runs: dict[str, list[dict]] = {m: [] for m in methods}
        for _ in range(args.repeat):
            for m in methods:
                runs[m].append(measure(m, folder, args.profile and m == "frota"))
    # The fastest run of each, by wall clock and by CPU time (the CPU time is what a busy
    # machine disturbs least).
    print(
        f"{'method':<14} {'rows':>10} {'wall s':>7} {'rows/s':>9} {'ratio':>6} "
        f"{'CPU s':>6} {'rows/CPU s':>10} {'ratio':>6} {'RSS MB':>7}"
    )
    wall = {m: min(r, key=lambda x: x["seconds"]) for m, r in runs.items()}
    cpu = {m: min(r, key=lambda x: x["cpu"]) for m, r in runs.items()}
    base_wall = wall["csv-pass"]["rows"] / wall["csv-pass"]["seconds"]
    base_cpu = cpu["csv-pass"]["rows"] / cpu["csv-pass"]["cpu"]
    for m in methods:
        w, c = wall[m], cpu[m]
        rate, cpu_rate = w["rows"] / w["seconds"], c["rows"] / c["cpu"]
        print(
            f"{m:<14} {w['rows']:>10,} {w['seconds']:>7.1f} {rate:>9,.0f} {rate / base_wall:>6.2f} "
            f"{c['cpu']:>6.1f} {cpu_rate:>10,.0f} {cpu_rate / base_cpu:>6.2f} "
            f"{max(r['rss_mb'] for r in runs[m]):>7.0f}"
        )


METHODS = ("frota", "frota-general", "csv-pass")

if __name__ == "__main__":
    main()
