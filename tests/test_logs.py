"""Logs (issue 13 item 4): human lines on stderr, JSON lines in a rotating file in log_dir with
the run id, step, batch id and counts of each event; a log_dir that cannot be written is a
clear error; secrets never reach the file."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from batchkit import M1_LINES, TODAY, V1_LINES, init_db, publish_lines, settings_for

from frota.config import Secret
from frota.errors import LocalFileError
from frota.load import load_pending
from frota.observe.log import LOG_FILE, logger
from frota.observe.runs import record_run


def lines(log_dir: str) -> list[dict]:
    return [json.loads(x) for x in (Path(log_dir) / LOG_FILE).read_text().splitlines()]


def test_each_event_is_a_json_line_with_run_step_batch_and_counts(
    tmp_path: Path, sqlite_url: str
) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    batch = publish_lines(tmp_path, s.landing, 1, V1_LINES, M1_LINES).batch_id
    result = load_pending(s, today=TODAY)
    events = lines(s.log_dir)
    [loaded] = [e for e in events if e.get("batch_id") == batch]
    assert loaded["run_id"] == result.run_id and loaded["step"] == "load"
    assert loaded["level"] == "INFO" and loaded["message"].startswith(f"loaded batch {batch}")
    assert loaded["counts"]["manutencoes_inserted"] == 2 and loaded["counts"]["rows_read"] == 4
    [end] = [e for e in events if e.get("status")]
    assert (end["step"], end["status"], end["counts"]["rows_loaded"]) == ("load", "ok", 4)
    assert end["time"].endswith("+00:00")


def test_the_file_rotates_at_its_size_keeping_its_backups(tmp_path: Path, sqlite_url: str) -> None:
    s = settings_for(tmp_path, sqlite_url).with_overrides(log_max_bytes=2048, log_backups=2)
    with record_run(s, "publish"):
        for i in range(200):
            logger.info("event %d with some words to fill the file", i)
    names = sorted(p.name for p in Path(s.log_dir).glob(f"{LOG_FILE}*"))
    assert names == [LOG_FILE, f"{LOG_FILE}.1", f"{LOG_FILE}.2"]
    assert all(p.stat().st_size <= 2048 for p in Path(s.log_dir).glob(f"{LOG_FILE}*"))
    kept = [json.loads(x)["message"] for x in (Path(s.log_dir) / LOG_FILE).read_text().splitlines()]
    assert kept[-1].startswith("publish ") and "ok" in kept[-1]  # the newest are kept


def test_a_log_dir_that_is_a_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "taken").write_text("not a folder")
    s = settings_for(tmp_path, "sqlite://").with_overrides(log_dir=str(tmp_path / "taken"))
    with pytest.raises(LocalFileError) as refused, record_run(s, "publish"):
        pass
    assert f"log_dir {tmp_path / 'taken'} cannot be written" in str(refused.value)
    assert "FROTA_LOG_DIR" in str(refused.value)


def test_secrets_never_reach_the_file(tmp_path: Path, sqlite_url: str) -> None:
    s = settings_for(tmp_path, sqlite_url).with_overrides(
        database_password=Secret("Canary-Pw-77"),
        alerts=(Secret("json://ops:Tok3nCanary9@127.0.0.1:9/hook"),),
    )
    with record_run(s, "publish"):
        logger.warning("connecting with Canary-Pw-77 to json://ops:Tok3nCanary9@127.0.0.1:9/hook")
    text = (Path(s.log_dir) / LOG_FILE).read_text()
    assert "Canary-Pw-77" not in text and "Tok3nCanary9" not in text and "***" in text
    logging.getLogger("frota").handlers.clear()


def test_quiet_keeps_only_warnings_and_errors_on_stderr(tmp_path: Path) -> None:
    from test_check import Frota

    frota = Frota({"FROTA_VEHICLES": "5", "FROTA_LANDING": str(tmp_path / "landing")})
    loud = frota("run", "--role", "source")
    assert loud.exit_code == 0 and " INFO [run " in loud.output
    quiet = frota("-q", "run", "--role", "source")
    assert quiet.exit_code == 0 and " INFO " not in quiet.output
    assert "published" in quiet.output  # the result is still printed
    events = lines("data/logs")  # the JSON log keeps every event, quiet or not
    assert sum(e["step"] == "publish" and e.get("status") == "ok" for e in events) == 2
