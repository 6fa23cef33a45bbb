"""`frota status` and the outbox: what a person sees is right and never waits for a load."""

from __future__ import annotations

import sqlite3
from datetime import date
from pathlib import Path
from zoneinfo import ZoneInfo

from batchkit import M1_LINES, TODAY, V1_LINES, init_db, publish_lines, settings_for

from frota.batch import MANIFEST_NAME, Manifest
from frota.db.engine import create_engine
from frota.generate import generate_batch
from frota.load import load_pending
from frota.observe.status import collect_status
from frota.publish import publish_outbox


def test_status_counts_landing_ledger_and_quarantine(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    publish_lines(tmp_path, s.landing, 1, V1_LINES, [*M1_LINES, "XYZ9999,Pneus,2026-01-07,1.00,,,"])
    load_pending(s, today=TODAY)
    publish_lines(tmp_path, s.landing, 2, ["BRA2E19,Van,ativo,46000,2021-07-15"])
    st = collect_status(s)
    assert (st.landing_batches, st.batches_loaded, len(st.complete_pending)) == (2, 1, 1)
    assert st.rows == {"veiculos": 2, "manutencoes": 2}
    assert st.quarantine_held == {"vehicle_unknown": 1}
    assert st.last_runs[0]["step"] == "load" and st.last_runs[0]["status"] == "ok"
    assert st.database_error is None and st.landing_error is None


def test_status_does_not_wait_for_a_running_sqlite_load(tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    writer = create_engine(sqlite_url, execution_options={"sqlite_begin": "IMMEDIATE"})
    try:
        with writer.begin() as conn:  # a load holding the write lock
            conn.exec_driver_sql(
                "INSERT INTO frota_runs (run_id, step, started_at, status) VALUES "
                "('x', 'load', '2026-01-01 00:00:00', 'running')"
            )
            # The write lock is released only after status returns: had status waited for
            # it, it could only have failed ("database is locked" after the busy timeout).
            st = collect_status(settings_for(tmp_path, sqlite_url))
            assert st.database_error is None
            assert all(run["run_id"] != "x" for run in st.last_runs)  # uncommitted: unseen
    finally:
        writer.dispose()


def test_outbox_batches_sort_in_the_order_they_were_generated(
    tmp_path: Path, sqlite_url: str
) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    outbox = Path(s.outbox)
    for until in (date(2026, 5, 31), date(2026, 6, 10), date(2026, 6, 20)):
        generate_batch(outbox, vehicles=20, until=until, days=30)
    results = publish_outbox(s)
    ids = [r.batch_id for r in results]
    # Published within a second or so: the manifests, not the ids, carry the order.
    manifests = [
        Manifest.from_json((Path(s.landing) / "batches" / i / MANIFEST_NAME).read_text())
        for i in ids
    ]
    assert [m.sequence for m in manifests] == [1, 2, 3]
    # a generated day is as of its end on the operator's calendar (the timezone setting)
    local = ZoneInfo(s.timezone)
    assert [m.effective_at.astimezone(local).date() for m in manifests] == [
        date(2026, 5, 31),
        date(2026, 6, 10),
        date(2026, 6, 20),
    ]
    loaded = load_pending(s, today=TODAY).loaded
    assert [b.batch_id for b in loaded] == ids
    assert all(b.quarantined == 0 for b in loaded)


def test_status_on_a_source_pc_creates_nothing_and_says_what_it_could_not_read(
    tmp_path: Path,
) -> None:
    from test_check import Frota

    done = Frota({"FROTA_LANDING": str(tmp_path / "landing")})("status")
    assert done.exit_code == 6, done.output  # the landing area is missing, and said first
    (tmp_path / "landing").mkdir()
    done = Frota({"FROTA_LANDING": str(tmp_path / "landing")})("status")
    assert done.exit_code == 5, done.output
    assert "no operational database at data/frota.db" in done.output
    assert not (tmp_path / "data").exists()  # no folder, no database file


def test_status_exits_non_zero_when_it_cannot_read_the_ledger(
    tmp_path: Path, sqlite_url: str
) -> None:
    from test_check import Frota

    s = settings_for(tmp_path, sqlite_url)
    publish_lines(tmp_path, s.landing, 1, V1_LINES)
    frota = Frota({"FROTA_LANDING": s.landing, "FROTA_DATABASE": sqlite_url})
    sqlite3.connect(sqlite_url.removeprefix("sqlite:///")).close()  # a file, no schema
    done = frota("status")
    assert done.exit_code == 7 and "schema not created (run: frota db init)" in done.output
    # The batch is not reported "complete, not loaded": without the ledger nobody knows.
    assert "unknown (the ledger could not be read)" in done.output
    init_db(sqlite_url)
    assert frota("status").exit_code == 0
