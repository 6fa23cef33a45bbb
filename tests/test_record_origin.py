"""A released record keeps its source (migration 0008): a maintenance held because its vehicle
was unknown, or held for a value a person later retried, is stored by the batch that released
it, but it is still the record of the source whose export sent it. A snapshot of that source
retires it when absent; a snapshot of the releasing source never touches it. On every backend,
and for a database made by the previous release's code."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from batchkit import TODAY, V1_LINES, init_db, query, settings_for
from test_record_identity import Source

from frota.batch import Snapshot
from frota.contract.identity import work_order_key
from frota.load import load_pending
from frota.ops.quarantine.retry import retry_quarantine

JANUARY = Snapshot(date(2026, 1, 1), date(2026, 1, 31))
A_OWN = [f"ABC1234,Revisão,2026-01-{d:02d},100.00,,,,OS-{d}" for d in (1, 3, 4, 5)]
A_HELD = "NEW1234,Freios,2026-01-02,200.00,,,,OS-2"  # NEW1234 is not known yet
B_VEHICLE = "NEW1234,Van,Ativo,500,2025-05-05"
B_OWN = "ABC1234,Pneus,2026-01-12,50.00,,,,B-1"


def _records(db_url: str) -> dict[str, tuple[str, str | None, str | None]]:
    rows = query(db_url, "SELECT id_origem, lote_id, lote_origem, retirada_lote FROM manutencoes")
    return {r[0]: (r[1], r[2], r[3]) for r in rows}


def _two_sources(tmp_path: Path, db_url: str) -> tuple[Source, Source, str, str]:
    """Source a's export holds OS-2 (vehicle unknown); source b's batch brings the vehicle and
    releases it. Returns both sources and both batch ids."""
    s = settings_for(tmp_path, db_url)
    a, b = Source(tmp_path, s.landing, "oficina-a"), Source(tmp_path, s.landing, "oficina-b")
    a_batch = a.publish([*A_OWN, A_HELD], V1_LINES, minute=1)
    b_batch = b.publish([B_OWN], [B_VEHICLE], minute=2)
    return a, b, a_batch, b_batch


def test_a_snapshot_retires_a_released_record_of_its_own_source_only(
    tmp_path: Path, db_url: str
) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    a, b, a_batch, b_batch = _two_sources(tmp_path, db_url)
    load_pending(s, today=TODAY)
    assert _records(db_url)["OS-2"] == (b_batch, a_batch, None)  # stored by b, sent by a
    # b's snapshot of January lacks OS-2: not b's record, so it is neither retired nor counted
    # in b's period (before: "would retire 1 of the 2 stored maintenances of oficina-b").
    b_snapshot = b.publish([B_OWN], minute=3, snapshot=JANUARY)
    [loaded] = load_pending(s, today=TODAY).loaded
    assert (loaded.batch_id, loaded.manutencoes_retired) == (b_snapshot, 0)
    assert _records(db_url)["OS-2"][2] is None
    # a's snapshot lacks it: a's record, retired (1 of a's 5 January records: within 20 %)
    a_snapshot = a.publish(A_OWN, minute=4, snapshot=JANUARY)
    [loaded] = load_pending(s, today=TODAY).loaded
    assert (loaded.batch_id, loaded.manutencoes_retired) == (a_snapshot, 1)
    assert _records(db_url)["OS-2"] == (b_batch, a_batch, a_snapshot)


def test_a_record_a_retry_released_is_its_source_s(tmp_path: Path, db_url: str) -> None:
    """A row held for a date in the future, retried later by a person: stored by the retry,
    still the record of the source that sent it."""
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    a = Source(tmp_path, s.landing, "oficina-a")
    future = (TODAY + timedelta(days=5)).isoformat()
    held = f"ABC1234,Freios,{future},200.00,,,,OS-9"
    sent = a.publish([*A_OWN, held], V1_LINES, minute=1)
    load_pending(s, today=TODAY)
    retried = retry_quarantine(s, today=TODAY + timedelta(days=10))
    assert retried.released == 1
    assert _records(db_url)["OS-9"] == (retried.batch_id, sent, None)
    period = Snapshot(date(2026, 1, 1), TODAY + timedelta(days=10), allow_retire=True)
    a_snapshot = a.publish(A_OWN, minute=2, snapshot=period)
    [loaded] = load_pending(s, today=TODAY + timedelta(days=10)).loaded
    assert loaded.manutencoes_retired == 1
    assert _records(db_url)["OS-9"][2] == a_snapshot


# ---------------------------------------------------------------- upgrade from 0007

AT_0007 = "3d59048"  # main at schema revision 0007 (a released record was its releaser's)


@pytest.fixture(scope="module")
def at_0007(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_db_migrations import source_at

    return source_at(AT_0007, tmp_path_factory)


def test_a_0007_database_upgrades_and_its_released_records_find_their_source(
    at_0007: Path, tmp_path: Path, db_url: str
) -> None:
    """Released by frota at 0007, OS-2 counted as b's; after `frota db upgrade` it is a's
    again (its work order makes its key, so the upgrade finds it), every other record and
    ledger row as it was, and b's snapshot leaves it alone."""
    from test_db_migrations import new_frota, old_frota

    s = settings_for(tmp_path, db_url)
    old_frota(at_0007, "--database", db_url, "db", "init", cwd=tmp_path)
    _a, b, a_batch, b_batch = _two_sources(tmp_path, db_url)
    old_frota(at_0007, "--database", db_url, "--landing", s.landing, "load", cwd=tmp_path)
    columns = "id, lote_id, custo, retirada_lote"  # chave: rewritten by 0009 (below)
    before = query(db_url, f"SELECT {columns} FROM manutencoes ORDER BY id")
    ledger = query(db_url, "SELECT * FROM frota_batches ORDER BY batch_id")
    upgrade = new_frota("--database", db_url, "db", "upgrade", cwd=tmp_path)
    _out, err = upgrade.communicate(timeout=300)
    assert upgrade.returncode == 0, err
    assert query(db_url, f"SELECT {columns} FROM manutencoes ORDER BY id") == before
    assert query(db_url, "SELECT * FROM frota_batches ORDER BY batch_id") == ledger
    records = _records(db_url)
    assert records["OS-2"] == (b_batch, a_batch, None)
    keys = dict(query(db_url, "SELECT id_origem, chave FROM manutencoes"))
    assert keys == {o: work_order_key("oficina-b" if o == "B-1" else "oficina-a", o) for o in keys}
    assert {k: v[1] for k, v in records.items() if k != "OS-2"} == dict.fromkeys(
        [f"OS-{d}" for d in (1, 3, 4, 5)] + ["B-1"]
    )
    b.publish([B_OWN], minute=3, snapshot=JANUARY)
    [loaded] = load_pending(s, today=TODAY).loaded
    assert loaded.manutencoes_retired == 0
