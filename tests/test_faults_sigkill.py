"""Fault 1: a loader SIGKILLed at every phase of a batch load (and at random moments), then
rerun, leaves exactly what a clean load leaves: no row lost, none twice, one ledger row per
batch. The oracle is a clean load of the same batches into another fresh database."""

from __future__ import annotations

import random
from collections import Counter
from pathlib import Path

import pytest
from faultkit import (
    Databases,
    checksums,
    diff,
    kill_loader,
    make_batches,
    rerun,
    snapshot,
)

from frota.config import Settings
from frota.faults import PHASES
from frota.load import load_pending

BACKENDS = [
    "sqlite",
    pytest.param("mysql", marks=pytest.mark.mysql),
    pytest.param("postgresql", marks=pytest.mark.postgres),
]

# Each step kills the same database's loader once; the state carries over to the next step.
# The random kill comes last: a fast load may be over by then, and the named phases need
# batches still pending.
PLAN = [
    ("before_tx", 1),
    ("mid_insert", 1),
    ("after_inserts", 1),
    ("before_commit", 1),
    ("commit", 1),
    ("mid_insert", 2),
    ("commit", 2),
    ("after_inserts", 2),
    ("random", 0),
]


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    return make_batches(tmp_path_factory.mktemp("fault-batches"))


def oracle(dbs: Databases, landing: str, tmp: Path) -> dict:
    url = dbs.new()
    result = load_pending(Settings(landing=landing, database=url, outbox=str(tmp / "o")))
    assert len(result.loaded) == 5 and result.rejected == ()
    return snapshot(url)


def test_oracle_sees_a_lost_or_duplicated_row(batches, tmp_path: Path) -> None:
    """The comparison the crash tests rely on does catch a missing or doubled row."""
    landing, _ = batches
    dbs = Databases("sqlite", tmp_path)
    expected = oracle(dbs, landing, tmp_path)
    assert diff(expected, expected) == (0, 0)
    lost = {t: Counter(rows) for t, rows in expected.items()}
    row = next(iter(lost["manutencoes"]))
    lost["manutencoes"][row] -= 1
    assert diff(expected, lost) == (1, 0)
    doubled = {t: Counter(rows) for t, rows in expected.items()}
    doubled["manutencoes"][row] += 1
    assert diff(expected, doubled) == (0, 1)
    assert checksums(doubled) != checksums(expected)


@pytest.mark.slow
@pytest.mark.parametrize("dbs", BACKENDS, indirect=True)
def test_sigkill_at_every_phase_then_rerun_equals_a_clean_load(
    batches, dbs: Databases, tmp_path: Path
) -> None:
    landing, ids = batches
    expected = oracle(dbs, landing, tmp_path)
    url = dbs.new()
    rng = random.Random(20260110)
    hit = set()
    for phase, nth in PLAN:
        kill = kill_loader(url, landing, phase, nth, tmp_path, rng, random_window=(0.25, 0.6))
        if kill.killed:
            assert kill.returncode == -9
            hit.add(phase)
        else:
            assert kill.returncode == 0  # it finished first: nothing left at that phase
    assert set(PHASES) | {"commit"} <= hit, f"phases never hit: {set(PHASES) - hit}"
    final = rerun(url, landing, tmp_path)
    assert final.returncode == 0, final.stderr
    got = snapshot(url)
    assert diff(expected, got) == (0, 0)
    assert checksums(got) == checksums(expected)
    ledger = got["frota_batches"]
    assert sorted(row[0] for row in ledger.elements()) == sorted(ids)  # one row per batch
    again = rerun(url, landing, tmp_path)
    assert again.returncode == 0 and "nothing new to load" in again.stdout
    assert snapshot(url) == got
