"""Identical maintenance rows in one file are records of their own (occurrence k = 1, 2, …),
and the k-th identical row of a later batch is the k-th record already stored; found with
memory that does not grow with the file (a Bloom filter + an exact settle in the stage)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from batchkit import TODAY, V1_LINES, init_db, publish_lines, query, settings_for

import frota.load.maintenances as maintenances
from frota.contract.identity import fingerprint, fingerprint_key
from frota.load import load_pending
from frota.load.dedupe import RowFilter, row_digest

A = "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-05"
B = "BRA2E19,Freios,2026-01-06,1234.56,,corretiva,"
C = "BRA2E19,Freios,2026-01-06,1234.56,,corretiva,2026-01-08"  # differs from B only at the end
D = "ABC1234,Pneus,2026-02-01,,,,"
E = "ABC1234,Pneus,2026-03-01,10.00,,,"
ROWS = [A, B, A, C, B, D, A]  # lines 2..8


def _key(line: str, k: int) -> str:
    return fingerprint_key(fingerprint(line.split(",")), k)


@pytest.mark.parametrize("filter_bits", [27, 6], ids=["real-size", "tiny-forces-false-positives"])
def test_identical_rows_are_records_by_occurrence(
    tmp_path: Path, db_url: str, filter_bits: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(maintenances, "RowFilter", lambda: RowFilter(filter_bits))
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    publish_lines(tmp_path, s.landing, 1, V1_LINES, ROWS)
    [batch] = load_pending(s, today=TODAY).loaded
    assert (batch.manutencoes_inserted, batch.quarantined, batch.duplicates) == (7, 0, 0)
    keys = {k for (k,) in query(db_url, "SELECT chave FROM manutencoes")}
    # The second, simpler computation: count each line's earlier copies by hand.
    expected = {_key(line, ROWS[:i].count(line) + 1) for i, line in enumerate(ROWS)}
    assert keys == expected and len(expected) == 7
    assert batch.rows_read == batch.rows_loaded + batch.quarantined + batch.duplicates

    # The same export again, and one with A once and a new row: nothing doubles.
    publish_lines(tmp_path, s.landing, 2, None, ROWS)
    publish_lines(tmp_path, s.landing, 3, None, [A, E])
    again, overlap = load_pending(s, today=TODAY).loaded
    assert (again.manutencoes_inserted, again.manutencoes_present) == (0, 7)
    assert (overlap.manutencoes_inserted, overlap.manutencoes_present) == (1, 1)
    assert query(db_url, "SELECT COUNT(*) FROM manutencoes") == [(8,)]
    assert _key(E, 1) in {k for (k,) in query(db_url, "SELECT chave FROM manutencoes")}


def test_filter_has_no_false_negatives_and_few_false_positives() -> None:
    f = RowFilter()
    digests = [row_digest([str(i), "x"]) for i in range(200_000)]
    assert sum(f.first_time(d) for d in digests[:100_000]) >= 99_995
    assert all(f.maybe_seen(d) for d in digests[:100_000])
    false_positives = sum(f.maybe_seen(d) for d in digests[100_000:])
    assert false_positives <= 5


def test_vehicle_copies_before_a_conflict_count_after_it_are_held(
    tmp_path: Path, db_url: str
) -> None:
    a1 = "ABC1234,Van,ativo,100,2020-01-01"
    a2 = "ABC1234,Van,inativo,100,2020-01-01"
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    publish_lines(tmp_path, s.landing, 1, [a1, a1, "BRA2E19,Van,ativo,5,2021-01-01", a2, a1])
    [batch] = load_pending(s, today=TODAY).loaded
    assert (batch.veiculos_inserted, batch.duplicates, batch.quarantined) == (1, 1, 3)
    held = query(db_url, "SELECT line, reason, detail FROM frota_quarantine ORDER BY line")
    assert [(line, reason) for line, reason, _ in held] == [
        (2, "conflicting_duplicate"),
        (5, "conflicting_duplicate"),
        (6, "conflicting_duplicate"),
    ]
    assert "appears 3 times" in held[0][2]


def test_a_large_fleet_is_upserted_in_chunks(tmp_path: Path, sqlite_url: str) -> None:
    from datetime import date

    from frota.generate import generate_batch
    from frota.publish import publish_outbox

    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    generate_batch(Path(s.outbox), vehicles=2500, until=date(2026, 6, 20), days=3)
    generate_batch(Path(s.outbox), vehicles=2500, until=date(2026, 6, 25), days=5)
    publish_outbox(s)
    first, second = load_pending(s, today=TODAY).loaded
    assert first.veiculos_inserted > 2500 and first.quarantined == 0
    assert second.veiculos_updated > 2000 and second.quarantined == 0
    total = query(sqlite_url, "SELECT COUNT(*) FROM veiculos")[0][0]
    assert total == first.veiculos_inserted + second.veiculos_inserted


def test_filter_takes_its_memory_at_the_first_row_that_needs_it() -> None:
    """An export whose rows all carry a work order never asks the filter: it costs nothing."""
    tracemalloc.start()
    try:
        f = RowFilter()
        assert not f.maybe_seen(row_digest(["a"]))
        assert tracemalloc.get_traced_memory()[0] < 1 << 20
        assert f.first_time(row_digest(["a"])) and not f.first_time(row_digest(["a"]))
        assert tracemalloc.get_traced_memory()[0] >= 16 << 20
    finally:
        tracemalloc.stop()
