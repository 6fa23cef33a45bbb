"""Crash soak: SIGKILL the loader at a random phase or moment, rerun, compare with a clean load.

    python scripts/soak.py [--iterations 1000] [--backends sqlite,mysql,postgresql] [--seed N]

Each iteration takes a fresh database on the next backend, starts `frota load` on four
batches, kills it (at a named phase of a random batch, just after COMMIT is issued, or at a
random moment), reruns the loader to completion and compares every table with a clean load
of the same batches (multiset of rows: lost and duplicated rows are counted apart) and the
ledger (one row per batch). The last line is `kills=N lost=0 duplicated=0` when all is well;
the exit code is 1 if any row was lost or duplicated.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import faultkit  # noqa: E402
from faultkit import (  # noqa: E402
    Databases,
    diff,
    kill_loader,
    loader_env,
    make_batches,
    rerun,
    server_up,
    snapshot,
    start_loader,
)

from frota.faults import PHASES  # noqa: E402

CHOICES = (*PHASES, "commit", "random")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=1000)
    parser.add_argument("--backends", default="sqlite,mysql,postgresql")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--mysql-local-infile",
        action="store_true",
        help="MySQL/MariaDB loaders use LOAD DATA LOCAL (mysql_local_infile opt-in)",
    )
    args = parser.parse_args()
    if args.mysql_local_infile:
        faultkit.LOADER_SETTINGS["FROTA_MYSQL_LOCAL_INFILE"] = "allow-server-file-requests"
    rng = random.Random(args.seed)
    backends = [b for b in args.backends.split(",") if server_up(b)]
    skipped = set(args.backends.split(",")) - set(backends)
    if skipped:
        print(f"not reachable, skipped: {', '.join(sorted(skipped))}", flush=True)
    tmp = Path(tempfile.mkdtemp(prefix="frota-soak-"))
    landing, ids = make_batches(tmp)
    dbs = {b: Databases(b, tmp) for b in backends}
    oracle, window = {}, {}
    for backend, made in dbs.items():
        url = made.new()
        started = time.monotonic()
        proc = start_loader(url, landing, loader_env(), tmp)
        proc.communicate()
        window[backend] = (0.05, (time.monotonic() - started) * 1.1)
        oracle[backend] = snapshot(url)
    kills, lost, duplicated, bad_ledger = 0, 0, 0, 0
    by_phase: Counter[str] = Counter()
    started = time.monotonic()
    try:
        for i in range(1, args.iterations + 1):
            backend = backends[i % len(backends)]
            made = dbs[backend]
            url = made.new()
            phase = rng.choice(CHOICES)
            nth = rng.randint(1, len(ids))
            kill = kill_loader(url, landing, phase, nth, tmp, rng, random_window=window[backend])
            if kill.killed:
                kills += 1
                by_phase[f"{backend}:{phase}"] += 1
            done = rerun(url, landing, tmp, patience=30)
            got = snapshot(url)
            missing, extra = diff(oracle[backend], got)
            lost += missing
            duplicated += extra
            ledger = sorted(r[0] for r in got["frota_batches"].elements())
            if done.returncode != 0 or ledger != sorted(ids):
                bad_ledger += 1
                print(f"iteration {i}: rerun exit {done.returncode}, ledger {ledger}", flush=True)
                print(done.stderr[-2000:], flush=True)
            made.close()
            dbs[backend] = Databases(backend, tmp)
            if i % 50 == 0:
                print(
                    f"[{i}/{args.iterations}] {time.monotonic() - started:.0f}s "
                    f"kills={kills} lost={lost} duplicated={duplicated}",
                    flush=True,
                )
    finally:
        for made in dbs.values():
            made.close()
    print("kills by backend:phase: " + ", ".join(f"{k}={v}" for k, v in sorted(by_phase.items())))
    print(f"iterations={args.iterations} bad_runs={bad_ledger}")
    print(f"kills={kills} lost={lost} duplicated={duplicated}")
    return 1 if lost or duplicated or bad_ledger else 0


if __name__ == "__main__":
    sys.exit(main())
