"""Fault 4: loaders started at once. Exactly one writes; the others exit promptly with code 4
and say why. Without the lock, the ledger's unique key still refuses a second load."""

from __future__ import annotations

import contextlib
import threading
import time
from pathlib import Path

import pytest
from faultkit import (
    Databases,
    diff,
    loader_env,
    make_batches,
    snapshot,
    start_loader,
)

import frota.load.step as load_module
from frota import faults
from frota.config import Settings
from frota.errors import LockHeld
from frota.load import load_pending, transaction

BACKENDS = [
    "sqlite",
    pytest.param("mysql", marks=pytest.mark.mysql),
    pytest.param("postgresql", marks=pytest.mark.postgres),
]
HOLD = 2.0  # the winner pauses this long before its first COMMIT, holding the lock


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    return make_batches(tmp_path_factory.mktemp("overlap-batches"), vehicles=30, days=120)


@pytest.mark.slow
@pytest.mark.parametrize("dbs", BACKENDS, indirect=True)
def test_overlapping_loaders_exactly_one_writes(batches, dbs: Databases, tmp_path: Path) -> None:
    landing, ids = batches
    expected_url = dbs.new()
    load_pending(Settings(landing=landing, database=expected_url, outbox=str(tmp_path / "o")))
    expected = snapshot(expected_url)
    for n in (2, 5):
        url = dbs.new()
        env = loader_env(FROTA_FAULT_PAUSE=f"before_commit={HOLD}")
        started = time.monotonic()
        procs = [start_loader(url, landing, env, tmp_path) for _ in range(n)]
        ended: dict[int, float] = {}
        while len(ended) < n and time.monotonic() - started < 60:
            for i, proc in enumerate(procs):
                if i not in ended and proc.poll() is not None:
                    ended[i] = time.monotonic() - started
            time.sleep(0.01)
        results = []
        for i, proc in enumerate(procs):
            out, err = proc.communicate(timeout=60)
            results.append((proc.returncode, out, err, ended[i]))
        winners = [r for r in results if r[0] == 0]
        losers = [r for r in results if r[0] != 0]
        assert len(winners) == 1, [r[:3] for r in results]
        assert all(ids[0] in w[1] for w in winners)
        for code, _out, err, elapsed in losers:
            assert code == 4, err
            assert "another frota load is running against this database" in err
            assert elapsed < winners[0][3]  # prompt: it did not wait for the winner
        got = snapshot(url)
        assert diff(expected, got) == (0, 0)
        assert sorted(r[0] for r in got["frota_batches"].elements()) == sorted(ids)


@pytest.mark.parametrize("dbs", BACKENDS, indirect=True)
def test_without_the_lock_the_ledger_key_is_the_last_guard(
    batches, dbs: Databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two loaders that both skip the lock load the same batch: one commit wins, the other
    rolls back whole and reports the batch as loaded by another loader."""
    landing, ids = batches
    expected_url = dbs.new()
    load_pending(Settings(landing=landing, database=expected_url, outbox=str(tmp_path / "o")))
    url = dbs.new()
    s = Settings(landing=landing, database=url, outbox=str(tmp_path / "o"))
    monkeypatch.setattr(load_module, "load_lock", lambda conn: contextlib.nullcontext())
    monkeypatch.setattr(transaction, "still_held", lambda conn: True)
    first_at_commit, second_done = threading.Event(), threading.Event()

    def checkpoint(phase: str, conn=None) -> None:
        first = threading.current_thread().name == "first"
        if phase == "before_commit" and first and not first_at_commit.is_set():
            first_at_commit.set()
            second_done.wait(3)  # the second blocks on our row locks meanwhile

    monkeypatch.setattr(faults, "checkpoint", checkpoint)
    results: dict[str, object] = {}

    def run(name: str) -> None:
        try:
            results[name] = load_pending(s)
        except Exception as exc:  # noqa: BLE001 - reported by the assertions below
            results[name] = exc
        if name == "second":
            second_done.set()

    first = threading.Thread(target=run, args=("first",), name="first")
    first.start()
    assert first_at_commit.wait(30)
    second = threading.Thread(target=run, args=("second",), name="second")
    second.start()
    first.join(60)
    second.join(60)
    a, b = results["first"], results["second"]
    assert not isinstance(a, Exception), a
    assert not isinstance(b, Exception) or isinstance(b, LockHeld), b
    loaded_twice = set(x.batch_id for x in a.loaded) & set(x.batch_id for x in b.loaded)
    assert not loaded_twice
    assert ids[0] in b.already_loaded or ids[0] not in [x.batch_id for x in b.loaded]
    assert diff(snapshot(expected_url), snapshot(url)) == (0, 0)


@pytest.mark.parametrize("dbs", BACKENDS[1:], indirect=True)
def test_lock_lost_before_commit_rolls_the_batch_back(
    batches, dbs: Databases, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The session lock vanishes mid-batch: the loader notices before COMMIT, commits nothing."""
    import sqlalchemy as sa

    from frota.db import lock

    landing, _ = batches
    url = dbs.new()
    release = {
        "mysql": ("SELECT RELEASE_LOCK(:n)", lambda c: {"n": lock._mysql_name(c)}),
        "postgresql": ("SELECT pg_advisory_unlock(:n)", lambda c: {"n": lock.PG_LOCK_KEY}),
    }[dbs.backend]

    def release_then_check(conn) -> bool:
        conn.execute(sa.text(release[0]), release[1](conn))
        return lock.still_held(conn)

    monkeypatch.setattr(transaction, "still_held", release_then_check)
    with pytest.raises(LockHeld, match="rolled back"):
        load_pending(Settings(landing=landing, database=url, outbox=str(tmp_path / "o")))
    counts = {t: sum(rows.values()) for t, rows in snapshot(url).items()}
    assert counts == dict.fromkeys(counts, 0)
