"""`python3 -m three_hosts --work DIR --prefix NAME`: build the site, run the rounds, compare
end to end after each, print the summary line; exit 1 on any difference.

scripts/three-hosts.sh builds the virtualenvs first and removes everything afterwards."""

from __future__ import annotations

import argparse
import configparser
import sys
import time
from datetime import date, timedelta
from pathlib import Path

from . import faults, machines, oracle
from .flow import Flow
from .net import CommandFailed, Network


def clean_round(flow: Flow) -> str:
    flow.generate(days=0)  # the first run: the fleet and its history
    flow.publish()
    flow.publish_export("planilha-oficina")
    flow.load()
    flow.warehouse()
    flow.report()
    return "generate, publish, publish --from an Excel-style export, load, warehouse, report"


ROUNDS = (
    ("no fault", clean_round),
    ("source-drive link down mid-upload", faults.upload_link_down),
    ("server-drive link down mid-load", faults.landing_link_down_during_load),
    ("database connection cut mid-transaction", faults.db_link_cut),
    ("MariaDB SIGKILL mid-load and restart", faults.mariadb_sigkill),
    ("rclone remote with a wrong password", faults.rclone_wrong_password),
    ("source clock 3 minutes ahead", faults.clock_skew),
)
FAULTS = len(ROUNDS) - 1


def newer_wins(flow: Flow, landing: dict, db: oracle.Store, check: oracle.Check) -> None:
    """DESIGN 5b: within a source, batches apply in publish order and the newer state wins,
    whatever the source's clock said (round 7 publishes with the clock 3 minutes ahead)."""
    stale = oracle.stale_vehicles(landing, flow.publish_order, db)
    if stale:
        check.problem(f"newer wins: {len(stale)} vehicles hold an older state, e.g. {stale[:3]}")
        check.stale = len(stale)


def leaked(site: machines.Site) -> list[str]:
    """Passwords (and rclone's obscured form) found in any output or log."""
    conf = configparser.ConfigParser()
    conf.read(site.source.home / ".config" / "rclone" / "rclone.conf")
    values = {**site.passwords, "webdav (obscured)": conf["drive"]["pass"]}
    found = []
    for path in sorted((site.work / "logs").iterdir()):
        text = path.read_text(errors="replace")
        found += [f"{name} password in {path.name}" for name, v in values.items() if v in text]
    return found


def run(work: Path, prefix: str) -> int:
    started = time.monotonic()
    site = None
    worst = {"lost": 0, "duplicated": 0}
    failures: list[str] = []
    landing: dict = {}
    try:
        site = machines.build(work, prefix, Path(__file__).parent)
        failures += machines.reachability(site)
        flow = Flow(site, first_day=date.today() - timedelta(days=150))
        for number, (name, step) in enumerate(ROUNDS, start=1):
            print(f"== round {number}: {name}")
            round_started = time.monotonic()
            note = step(flow)
            check, landing, db = flow.compare()
            newer_wins(flow, landing, db, check)
            complete = oracle.complete_batches(landing)
            print(
                f"round {number} ({name}, {time.monotonic() - round_started:.0f} s): {note}\n"
                f"round {number}: batches={len(complete)} "
                f"rows={sum(b.rows for b in complete.values())} "
                f"lost={check.lost} duplicated={check.duplicated}"
            )
            for problem in check.problems:
                print(f"round {number}: DIFFERENCE {problem}")
            failures += check.problems
            worst = {"lost": max(worst["lost"], check.lost), "duplicated": max(
                worst["duplicated"], check.duplicated)}  # fmt: skip
        failures += leaked(site)
    except (CommandFailed, AssertionError) as exc:
        failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        if site is not None:
            site.stop()
        Network(prefix).destroy()
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    complete = oracle.complete_batches(landing)
    print(f"three-hosts: {time.monotonic() - started:.0f} s")
    print(
        f"hosts=4 rounds={len(ROUNDS)} batches={len(complete)} "
        f"rows={sum(b.rows for b in complete.values())} faults={FAULTS} "
        f"lost={worst['lost']} duplicated={worst['duplicated']}"
    )
    return 1 if failures else 0


def main() -> None:
    parser = argparse.ArgumentParser(prog="three_hosts", description=__doc__)
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--prefix", required=True)
    args = parser.parse_args()
    sys.exit(run(args.work, args.prefix))


if __name__ == "__main__":
    main()
