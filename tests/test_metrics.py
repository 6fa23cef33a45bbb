"""Metrics (issue 13 item 5): the Prometheus text from `frota metrics`, its textfile and its
served endpoint say what the tables say — each figure checked against a plain SQL count."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from alertkit import free_port
from batchkit import M1_LINES, TODAY, V1_LINES, init_db, publish_lines, query, settings_for
from prometheus_client.parser import text_string_to_metric_families

from frota.load import load_pending
from frota.observe.metrics import exposition
from frota.observe.runs import Query, read_runs


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def loaded_pipeline(tmp_path: Path, db_url: str):
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    publish_lines(tmp_path, s.landing, 1, V1_LINES, [*M1_LINES, "XYZ9999,Pneus,2026-01-07,1,,,"])
    bad = publish_lines(tmp_path, s.landing, 2, ["KLM1J23,Van,ativo,1,2025-01-02"]).batch_id
    with open(Path(s.landing) / "batches" / bad / "veiculos.csv", "a") as fh:
        fh.write("changed after publishing\n")
    publish_lines(tmp_path, s.landing, 3, ["ABC1234,Caminhão Toco,ativo,121000,2019-03-01"])
    load_pending(s, today=TODAY)
    return s


def test_the_figures_are_the_tables(tmp_path: Path, db_url: str) -> None:
    s = loaded_pipeline(tmp_path, db_url)
    got = samples(exposition(s, "server"))

    def one(sql: str) -> int:
        return query(db_url, sql)[0][0]

    assert got[("frota_rows_total", (("outcome", "inserted"), ("table", "manutencoes")))] == one(
        "SELECT count(*) FROM manutencoes"
    )
    assert got[("frota_rows_total", (("outcome", "inserted"), ("table", "veiculos")))] == one(
        "SELECT count(*) FROM veiculos"
    )
    assert got[("frota_rows_total", (("outcome", "updated"), ("table", "veiculos")))] == 1
    for table, n in query(db_url, "SELECT table_name, count(*) FROM frota_quarantine GROUP BY 1"):
        assert got[("frota_rows_total", (("outcome", "quarantined"), ("table", table)))] == n
    assert got[("frota_batches_loaded_total", ())] == one("SELECT count(*) FROM frota_batches")
    assert got[("frota_batches_waiting", (("state", "rejected"),))] == 1
    assert got[("frota_quarantine_held_rows", (("reason", "vehicle_unknown"),))] == one(
        "SELECT count(*) FROM frota_quarantine WHERE status = 'held'"
    )
    [load] = read_runs(s, Query(step="load")).runs
    assert load.finished_at is not None and load.seconds is not None
    stamp = got[("frota_step_last_success_timestamp_seconds", (("step", "load"),))]
    assert abs(stamp - load.finished_at.timestamp() - _utc_offset(load.finished_at)) < 0.01
    assert got[("frota_step_last_duration_seconds", (("step", "load"),))] == pytest.approx(
        load.seconds
    )
    assert got[("frota_step_last_status", (("status", "rejected"), ("step", "load")))] == 1
    age = got[("frota_source_newest_batch_age_seconds", (("source", "test"),))]
    newest = max(b for (b,) in query(db_url, "SELECT batch_id FROM frota_batches"))
    assert age == pytest.approx(time.time() - _batch_epoch(newest), abs=60)
    assert got[("frota_up", (("part", "database"),))] == 1


def _utc_offset(naive) -> float:
    from datetime import UTC

    return naive.replace(tzinfo=UTC).timestamp() - naive.timestamp()


def _batch_epoch(batch_id: str) -> float:
    from datetime import UTC, datetime

    return datetime.strptime(batch_id[:16], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()


def test_served_and_textfile_metrics(tmp_path: Path, sqlite_url: str) -> None:
    s = loaded_pipeline(tmp_path, sqlite_url)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FROTA_")}
    env |= {"FROTA_DATABASE": sqlite_url, "FROTA_LANDING": s.landing, "FROTA_LOG_DIR": s.log_dir}
    frota = [sys.executable, "-m", "frota"]
    textfile = tmp_path / "node" / "frota.prom"
    textfile.parent.mkdir()
    done = subprocess.run(
        [*frota, "metrics", "--role", "server", "--textfile", str(textfile)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert [p.name for p in textfile.parent.iterdir()] == ["frota.prom"]  # no temp file left
    written = samples(textfile.read_text())

    port = free_port()
    server = subprocess.Popen(
        [*frota, "metrics", "--role", "server", "--serve", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline, scraped = time.monotonic() + 60, None
        while scraped is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as r:
                    scraped = r.read().decode("utf-8")
            except OSError:
                assert server.poll() is None, server.communicate()
                assert time.monotonic() < deadline
                time.sleep(0.2)
        served = samples(scraped)
    finally:
        server.terminate()
        server.communicate(timeout=30)
    # The same figures either way (ages and times move between two reads: left out).
    moving = ("frota_source_newest_batch_age_seconds",)
    assert {k: v for k, v in served.items() if k[0] not in moving} == {
        k: v for k, v in written.items() if k[0] not in moving
    }
    assert served[("frota_batches_loaded_total", ())] == 2


def test_a_bad_serve_address_is_a_usage_error(tmp_path: Path) -> None:
    from test_check import Frota

    done = Frota({})("metrics", "--serve", "localhost")
    assert done.exit_code == 7 and "--serve 'localhost' is not HOST:PORT" in done.output
