"""The faults, each injected in the middle of a round and followed by its recovery. Each
returns a short note for the round's line; a broken promise raises AssertionError.

Faults inside a load are timed with the loader's own checkpoints (`FROTA_FAULT_PAUSE`, see
frota/load/faults.py): the loader pauses at a named phase of its open transaction, writes a
marker file, and the script breaks something before it goes on.
"""

from __future__ import annotations

import signal
import subprocess
from datetime import UTC, datetime
from pathlib import Path

from . import oracle
from .flow import Flow, wait_for
from .machines import Site, db_url
from .net import LINKS, Result
from .servers import PROXY_PORT


def _pause(flow: Flow, phase: str) -> tuple[dict[str, str], Path]:
    marker = flow.site.server.home / "fault.marker"
    marker.unlink(missing_ok=True)
    env = {"FROTA_FAULT_PAUSE": phase, "FROTA_FAULT_MARKER": str(marker)}
    return env, marker


def upload_link_down(flow: Flow) -> str:
    """The source-drive link goes down while rclone uploads a batch: the batch stays
    incomplete, the server never loads it, and the next publish puts it up whole."""
    site = flow.site
    flow.generate(days=60)  # a bigger batch, so that the upload takes a few seconds
    root = site.landing_root / "batches"
    before = {p.name for p in root.iterdir()}

    def arriving() -> list:
        return [
            d for d in root.iterdir()
            if d.name not in before and any(f.stat().st_size for f in d.iterdir())
        ]  # fmt: skip

    publishing = site.source.start("frota", "publish", env={"RCLONE_BWLIMIT": "16k"})
    try:
        wait_for("a file arriving on the drive", lambda: bool(arriving()), alive=publishing)
        site.net.set_link("source-drive", up=False)
        (folder,) = arriving()
        failed = site.source.finish(publishing, expect=6)
    finally:
        site.net.set_link("source-drive", up=True)
    half = oracle.read_batch(folder)
    assert not half.complete, f"{half.batch_id} is complete although its upload was cut"
    assert "rclone" in failed.err, f"no rclone error in: {failed.err[-500:]}"
    skipped = flow.load()
    assert f"skipped incomplete batch {half.batch_id}" in skipped.out, skipped.out[-800:]
    # The next publish comes once the share has given up the dead upload (on a schedule it
    # would come much later): until then the share may still hold, or remove, its part.
    wait_for("the share ending the cut upload", lambda: not _uploads_open(site), seconds=90)
    again = flow.note_published(flow.publish())
    flow.load()
    flow.warehouse()
    if again == [half.batch_id]:
        return f"upload cut in {half.batch_id}; the next publish completed it"
    return (
        f"upload cut in {half.batch_id} (a partial file stayed on the share, so the batch "
        f"cannot be completed in place); the next publish sent it whole as {again[0]}"
    )


def _uploads_open(site: Site) -> bool:
    """Does the drive still hold a connection from the source (the cut upload)?"""
    link = LINKS["source-drive"]
    done = subprocess.run(
        ["ip", "netns", "exec", site.hosts["drive"].ns, "ss", "-Htn", "state", "established",
         "dst", link.client_ip],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return bool(done.stdout.strip())


def landing_link_down_during_load(flow: Flow) -> str:
    """The server-drive link goes down inside the second batch's transaction (vehicles
    written, the maintenances file not yet fetched): that batch rolls back, the first stays."""
    site = flow.site
    flow.generate()
    flow.generate()
    first, second = flow.note_published(flow.publish())[-2:]
    env, marker = _pause(flow, "mid_insert@2=2")
    loading = flow.start_load(env)
    try:
        wait_for("the loader inside the second batch", marker.exists, alive=loading)
        site.net.set_link("server-drive", up=False)
        failed = flow.finish_load(loading, expect=6)
    finally:
        site.net.set_link("server-drive", up=True)
    db = site.db.store()
    assert first in db.ledger, f"{first} should have committed before the link went down"
    assert second not in db.ledger and second not in db.per_batch, f"{second} was loaded half"
    assert "landing" in failed.err.lower() or "rclone" in failed.err, failed.err[-500:]
    flow.load()
    flow.warehouse()
    return f"{first} committed, {second} rolled back (exit 6), loaded by the next run"


def db_link_cut(flow: Flow) -> str:
    """The loader's database connection is reset in the middle of a batch transaction (a TCP
    proxy on the server cuts it): the loader retries the whole batch on a new connection."""
    site = flow.site
    flow.generate()
    flow.publish()
    env, marker = _pause(flow, "mid_insert=2")
    env["FROTA_DATABASE"] = db_url("frota_loader", PROXY_PORT)
    loading = flow.start_load(env)
    wait_for("the loader inside a batch", marker.exists, alive=loading)
    site.proxy.signal(signal.SIGUSR1)
    note = _retried(flow.finish_load(loading))
    flow.warehouse()
    return f"connection reset mid-transaction; {note}"


def _retried(done: Result) -> str:
    """The loader retries a lost connection on a new one (docs/operations.md): over TLS too,
    where the driver reports a FIN as an SSL EOF (2006), not only as a reset (2013)."""
    assert "transient database error" in done.err, f"no retry: {done.err[-800:]}"
    return "the loader retried on a new connection (exit 0)"


def mariadb_sigkill(flow: Flow) -> str:
    """MariaDB is killed with SIGKILL after the batch's rows are written but before its
    ledger row, then restarted: crash recovery rolls the batch back, the loader redoes it."""
    site = flow.site
    flow.generate()
    flow.publish()
    env, marker = _pause(flow, "after_inserts=3")
    loading = flow.start_load(env)
    wait_for("the loader after its inserts", marker.exists, alive=loading)
    site.mariadb.kill()
    site.mariadb.start()
    note = _retried(flow.finish_load(loading))
    flow.warehouse()
    return f"MariaDB killed mid-load and restarted; {note}"


def rclone_wrong_password(flow: Flow) -> str:
    """The source's rclone remote has a wrong password: publish fails with a clear error and
    exit 6, puts nothing on the drive, and keeps the batch for the next publish."""
    site = flow.site
    flow.generate()
    before = sorted(p.relative_to(site.landing_root) for p in site.landing_root.rglob("*"))
    wrong = "not-" + site.passwords["webdav"]
    site.source.run(
        "rclone", "config", "update", "drive", f"pass={wrong}", "--obscure",
        show="rclone config update drive pass=<WRONG_PASSWORD> --obscure",
    )  # fmt: skip
    failed = flow.publish(expect=6)
    after = sorted(p.relative_to(site.landing_root) for p in site.landing_root.rglob("*"))
    assert before == after, "a publish with a wrong password changed the drive"
    text = failed.out + failed.err
    assert "401" in text or "nauthorized" in text, f"unclear error: {text[-500:]}"
    for secret in (wrong, site.passwords["webdav"]):
        assert secret not in text, "the error message shows a password"
    site.source.run(
        "rclone", "config", "update", "drive", f"pass={site.passwords['webdav']}", "--obscure",
        show="rclone config update drive pass=<WEBDAV_PASSWORD> --obscure",
    )  # fmt: skip
    flow.publish()
    flow.load()
    flow.warehouse()
    return "publish refused (exit 6, HTTP 401), drive unchanged; published after the fix"


def clock_skew(flow: Flow) -> str:
    """The source's clock runs 3 minutes ahead of the server's; then it is corrected (NTP).
    The next batch's manifest still follows the previous one (DESIGN 5b: a source's
    `published_at` only grows and its `sequence` counts on), so both ids carry the same
    second and their content hashes, not the clock, decide how the ids sort: the loader must
    go by the manifests. `flow.skew` keeps the two ids for the "newer wins" check."""
    flow.generate(clock="+3m")
    (ahead,) = flow.note_published(flow.publish(clock="+3m"))
    stamp = datetime.strptime(ahead[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
    lead = (stamp - datetime.now(UTC)).total_seconds()
    assert lead > 150, f"batch {ahead} is only {lead:.0f} s ahead: faketime did not apply"
    flow.load()
    flow.generate()
    (corrected,) = flow.note_published(flow.publish())
    before, after = (flow.manifest(batch_id) for batch_id in (ahead, corrected))
    assert after["sequence"] == before["sequence"] + 1, f"{corrected}: sequence {after['sequence']}"
    assert after["published_at"] > before["published_at"], (
        f"{corrected} published_at {after['published_at']} is not after {before['published_at']}"
    )
    flow.load()
    flow.warehouse()
    flow.report()
    flow.skew = (ahead, corrected)
    order = "before" if corrected < ahead else "after"
    return (
        f"batch {ahead} stamped {lead:.0f} s ahead; {corrected} (id sorts {order} it) "
        f"follows it: sequence {after['sequence']}, published_at {after['published_at']}"
    )
