"""Run history of every step (issue 13 item 1): each step recorded with its parent, role,
host, times, status, counts and error, in the database or the source's local file; `frota runs`
reads both; failures are kept even when the database is down; bounded by the retention."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from batchkit import M1_LINES, TODAY, V1_LINES, init_db, publish_lines, query, settings_for

from frota.config import Settings
from frota.errors import ConfigError, DatabaseUnreachable
from frota.load import load_pending
from frota.observe.runs import Query, read_runs, record_run, run_with_steps
from frota.observe.runstore import RunFile, RunRecord, utcnow
from frota.ops.quarantine import retry_quarantine
from frota.orchestrate.run import run_pipeline


def frota(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in __import__("os").environ.items() if not k.startswith("FROTA_")}
    return subprocess.run(
        [sys.executable, "-m", "frota", *args],
        cwd=cwd,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_a_run_records_each_step_under_it(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url).with_overrides(vehicles=20)
    result = run_pipeline(s, "all", today=TODAY, warehouse=False)

    parent, steps = run_with_steps(s, result.run_id)
    assert parent is not None and (parent.step, parent.role, parent.status) == ("run", "all", "ok")
    assert [r.step for r in steps] == ["generate", "publish", "load"]
    assert all(r.parent_run_id == result.run_id and r.status == "ok" for r in steps)
    assert [r.role for r in steps] == ["source", "source", "server"]
    assert {r.host for r in [parent, *steps]} == {socket.gethostname()}
    assert all(r.finished_at is not None and r.finished_at >= r.started_at for r in steps)
    # The source's steps are kept in its local file, the others in the database.
    in_file = {r.step for r in RunFile(s.log_dir).read(Query())}
    in_db = {row[0] for row in query(db_url, "SELECT step FROM frota_runs")}
    assert (in_file, in_db) == ({"generate", "publish"}, {"run", "load"})

    # The counts are what the steps did: checked against the tables, computed apart.
    generate, publish, load = steps
    assert generate.counts == {
        "veiculos": result.generated.veiculos,
        "manutencoes": result.generated.manutencoes,
    }
    assert publish.counts["batches"] == 1 == publish.counts["published"]
    ledger = query(
        db_url,
        "SELECT count(*), sum(veiculos_inserted + veiculos_updated + manutencoes_inserted), "
        "sum(quarantined) FROM frota_batches",
    )[0]
    assert (load.counts["batches_loaded"], load.counts["rows_loaded"]) == (ledger[0], ledger[1])
    assert load.counts["quarantined"] == ledger[2]
    assert query(db_url, "SELECT count(*) FROM manutencoes")[0][0] == (
        result.generated.manutencoes - ledger[2]
    )
    # The loader's ledger names the load step's run.
    assert {row[0] for row in query(db_url, "SELECT run_id FROM frota_batches")} == {load.run_id}


def test_failures_rejections_and_operator_commands_are_recorded(
    tmp_path: Path, db_url: str
) -> None:
    s = settings_for(tmp_path, db_url)
    with pytest.raises(ConfigError):
        load_pending(s)  # no schema yet: failed, and kept in the file (the table is not there)
    init_db(db_url)
    publish_lines(tmp_path, s.landing, 1, V1_LINES, [*M1_LINES, "XYZ9999,Pneus,2026-01-07,1,,,"])
    bad = publish_lines(tmp_path, s.landing, 2, ["KLM1J23,Van,ativo,1,2025-01-02"])
    with open(Path(s.landing) / "batches" / bad.batch_id / "veiculos.csv", "a") as fh:
        fh.write("changed after publishing\n")  # the manifest no longer matches: rejected
    load_pending(s, today=TODAY)
    publish_lines(tmp_path, s.landing, 3, ["XYZ9999,Van,ativo,1000,2025-01-02"])
    load_pending(s, today=TODAY)
    retry_quarantine(s, today=TODAY)

    runs = read_runs(s, Query()).runs
    assert [(r.step, r.status) for r in runs] == [
        ("quarantine retry", "ok"),
        ("load", "ok"),  # the rejected batch was set aside by the first: not met again
        ("load", "rejected"),
        ("load", "failed"),
    ]
    retry, second, first, failed = runs
    assert "has no frota schema" in failed.error
    assert "rejected" in first.error and "-test-" in first.error
    assert first.counts["rejected"] == 1 and first.counts["batches_loaded"] == 1
    assert retry.counts["examined"] == 0  # the late vehicle's row was released by the load
    assert second.counts["released"] == 1
    assert [r.step for r in read_runs(s, Query(step="quarantine")).runs] == ["quarantine retry"]
    assert [r.run_id for r in read_runs(s, Query(status="failed")).runs] == [failed.run_id]


def test_a_database_that_goes_away_leaves_the_failure_in_the_local_file(
    tmp_path: Path,
) -> None:
    s = Settings(
        database="postgresql+psycopg://frota@127.0.0.1:9/nowhere",  # nothing listens on 9
        landing=str(tmp_path / "landing"),
        log_dir=str(tmp_path / "logs"),
        retry_attempts=1,
    )
    (tmp_path / "landing").mkdir()
    with pytest.raises(DatabaseUnreachable):
        load_pending(s)
    listing = read_runs(s, Query())
    assert isinstance(listing.errors[0], DatabaseUnreachable)  # reported, not raised
    [run] = listing.runs
    assert (run.step, run.status) == ("load", "failed") and "cannot connect" in run.error


def test_an_overlapping_load_exits_at_once_and_records_nothing(
    tmp_path: Path, sqlite_url: str
) -> None:
    from frota.db.connect import connect
    from frota.db.lock import load_lock
    from frota.errors import LockHeld
    from frota.load.engine import loader_engine

    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    (tmp_path / "landing").mkdir()
    engine = loader_engine(s)
    try:
        with connect(engine) as conn, load_lock(conn), conn.begin():
            # The winner is inside a batch transaction (SQLite's write lock held).
            conn.exec_driver_sql(
                "INSERT INTO frota_runs (run_id, step, started_at, status) "
                "VALUES ('winner', 'load', '2026-01-01 00:00:00', 'running')"
            )
            started = time.monotonic()
            with pytest.raises(LockHeld):
                load_pending(s)
            assert time.monotonic() - started < 1.5  # no wait on the run history
    finally:
        engine.dispose()
    # It did nothing: nothing to record (only the winner's row, committed at the end).
    assert [r.run_id for r in read_runs(s, Query()).runs] == ["winner"]


def test_retention_drops_old_runs_from_both_stores(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url).with_overrides(runs_retention="30d")
    old = utcnow() - timedelta(days=31)
    for step, role in (("load", "server"), ("publish", "source")):
        with record_run(s, step, role=role) as run:
            run.counts["n"] = 1
    # Two runs from long ago: one in each store, written as the steps would have.
    from frota.observe.runstore import db_finish, writer_engine

    engine = writer_engine(s)
    try:
        db_finish(engine, RunRecord("old-db", "load", "server", "h", old, old, "ok"))
    finally:
        engine.dispose()
    file = RunFile(s.log_dir)
    lines = file.path.read_text(encoding="utf-8")
    old_line = json.dumps(RunRecord("old-file", "publish", "source", "h", old, old).to_dict())
    file.path.write_text(old_line + "\n" + lines, encoding="utf-8")
    assert {r.run_id for r in read_runs(s, Query()).runs} >= {"old-db", "old-file"}

    with record_run(s, "warehouse"):
        pass
    left = {r.run_id for r in read_runs(s, Query()).runs}
    assert len(left) == 3 and not left & {"old-db", "old-file"}


def test_the_runs_command_lists_filters_and_shows(tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    env = {
        "FROTA_DATABASE": sqlite_url,
        "FROTA_LANDING": str(tmp_path / "landing"),
        "FROTA_OUTBOX": str(tmp_path / "outbox"),
        "FROTA_LOG_DIR": str(tmp_path / "logs"),
        "FROTA_VEHICLES": "10",
    }
    done = frota("run", "--no-warehouse", cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    listed = frota("runs", "--json", cwd=tmp_path, **env)
    assert listed.returncode == 0, listed.stderr
    runs = json.loads(listed.stdout)
    assert sorted(r["step"] for r in runs) == ["generate", "load", "publish", "run"]
    [parent] = [r for r in runs if r["step"] == "run"]
    assert all(r["parent_run_id"] == parent["run_id"] for r in runs if r["step"] != "run")

    shown = frota("runs", "show", parent["run_id"], cwd=tmp_path, COLUMNS="80", **env)
    assert shown.returncode == 0, shown.stderr
    assert all(len(line) <= 80 for line in shown.stdout.splitlines())
    for step in ("generate", "publish", "load"):
        assert step in shown.stdout
    assert "batches loaded" in shown.stdout or "1 batches loaded" in shown.stdout

    only = json.loads(frota("runs", "--step", "load", "--json", cwd=tmp_path, **env).stdout)
    assert [r["step"] for r in only] == ["load"]
    none = frota("runs", "--status", "failed", "--since", "2d", cwd=tmp_path, **env)
    assert none.returncode == 0 and "no runs recorded that match" in none.stdout
    bad = frota("runs", "--since", "yesterday", cwd=tmp_path, **env)
    assert bad.returncode == 7 and "--since: 'yesterday' is not a duration" in bad.stderr
    missing = frota("runs", "show", "nope", cwd=tmp_path, **env)
    assert missing.returncode == 2 and "no run 'nope'" in missing.stderr


def test_a_source_machine_keeps_its_runs_without_a_database(tmp_path: Path) -> None:
    env = {"FROTA_LANDING": str(tmp_path / "landing"), "FROTA_VEHICLES": "10"}
    done = frota("run", "--role", "source", cwd=tmp_path, **env)
    assert done.returncode == 0, done.stderr
    listed = frota("runs", "--json", cwd=tmp_path, **env)
    assert listed.returncode == 0, listed.stderr
    assert sorted(r["step"] for r in json.loads(listed.stdout)) == ["generate", "publish", "run"]
    assert not (tmp_path / "data" / "frota.db").exists()  # no database made on a source PC
    assert (tmp_path / "data" / "logs" / "frota-runs.jsonl").is_file()


def test_a_killed_step_stays_running(tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    from frota.observe.runs import _Recorder

    record = RunRecord("killed", "load", "server", "h", utcnow())
    _Recorder(s, record).start()  # the start written; the process dies before the end
    [run] = read_runs(s, Query()).runs
    assert (run.run_id, run.status, run.finished_at) == ("killed", "running", None)
    assert sa.make_url(sqlite_url).database  # (the row is in the database)
    assert query(sqlite_url, "SELECT status FROM frota_runs") == [("running",)]


def test_a_retention_that_does_not_parse_is_a_config_error() -> None:
    from frota.config import load_settings

    with pytest.raises(ConfigError, match="runs_retention: 'soon' is not a duration"):
        load_settings(env={"FROTA_RUNS_RETENTION": "soon"})


def test_batch_and_landing_operations_are_recorded(tmp_path: Path, sqlite_url: str) -> None:
    from frota.ops.batches import reject_batch, retry_batch
    from frota.ops.landing import prune_landing

    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    bad = publish_lines(tmp_path, s.landing, 1, V1_LINES).batch_id
    path = Path(s.landing) / "batches" / bad / "veiculos.csv"
    original = path.read_bytes()
    path.write_bytes(original + b"changed after publishing\n")
    load_pending(s, today=TODAY)  # set aside
    path.write_bytes(original)  # fixed
    retried = retry_batch(s, bad, today=TODAY)
    assert retried.loaded
    reject = publish_lines(tmp_path, s.landing, 2, ["KLM1J23,Van,ativo,1,2025-01-02"]).batch_id
    reject_batch(s, reject, "published by mistake")
    prune_landing(s, timedelta(days=3650))
    steps = [(r.step, r.status, r.parent_run_id is not None) for r in read_runs(s, Query()).runs]
    assert steps == [
        ("landing prune", "ok", False),
        ("batch reject", "ok", False),
        ("load", "ok", True),  # the retry's own load, a step of it
        ("batch retry", "ok", False),
        ("load", "rejected", False),
    ]
    [retry] = read_runs(s, Query(step="batch retry")).runs
    assert retry.counts == {"loaded": 1}
