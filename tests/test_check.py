"""`frota check` (issue 13 item 2) on SQLite, MariaDB and PostgreSQL: each failure a new user
met is now CRITICAL (exit 2) — a missing landing path, a database down, a schema behind head,
a rejected batch, a silent source — and OK (exit 0) once fixed; one alert when each problem
starts and one when it clears, delivered to a real SMTP server and a real HTTP receiver."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from batchkit import V1_LINES, init_db, query, write_batch_dir
from click.testing import CliRunner

from frota.cli import main
from frota.config import Settings
from frota.db.engine import create_engine
from frota.db.migrate import BASELINE, VERSION_TABLE, head
from frota.landing import open_landing
from frota.load import load_pending
from frota.observe.check import run_checks
from frota.publish import publish_dir


def publish(tmp: Path, landing: str, source: str, lines: list[str], hours_ago: float = 0) -> str:
    folder = write_batch_dir(tmp / f"{source}-{len(list(tmp.iterdir()))}", lines)
    now = datetime.now(UTC) - timedelta(hours=hours_ago)
    return publish_dir(folder, open_landing(landing), source, now=now).batch_id


@dataclass
class Done:
    exit_code: int
    output: str  # stdout and stderr, as a terminal shows them
    stdout: str


class Frota:
    """`frota …` in-process through the console script's own entry point (its exit codes),
    with this test's environment."""

    def __init__(self, env: dict[str, str]) -> None:
        self.env = env

    def __call__(self, *args: str, **env: str) -> Done:
        with CliRunner().isolation(env={**self.env, **env}) as (out, _err, both):
            try:
                main(list(args))
                code = 0
            except SystemExit as exc:
                code = int(exc.code or 0)
        text = both.getvalue().decode("utf-8", "replace")
        return Done(code, text, out.getvalue().decode("utf-8", "replace"))


def check(frota: Frota, **env: str) -> tuple[int, str]:
    done = frota("check", "--role", "server", **env)
    return done.exit_code, done.output


def test_each_failure_is_critical_until_fixed_with_one_alert_each_way(
    tmp_path: Path, db_url: str, mailbox, receiver
) -> None:
    landing = str(tmp_path / "landing")
    settings = Settings(landing=landing, database=db_url, log_dir=str(tmp_path / "logs"))
    init_db(db_url)
    publish(tmp_path, landing, "pc-frota", V1_LINES)
    load_pending(settings)
    frota = Frota(
        {
            "FROTA_DATABASE": db_url,
            "FROTA_LANDING": landing,
            "FROTA_LOG_DIR": str(tmp_path / "logs"),
            "FROTA_ALERTS": f"{mailbox.url} {receiver.url}",
            "FROTA_CHECK_SOURCE_AGE_WARNING": "off",
        }
    )
    code, out = check(frota)
    assert (code, out.splitlines()[0]) == (0, "frota OK: every check passed"), out

    # 1. A landing path that does not exist (a typo, an unmounted share).
    code, out = check(frota, FROTA_LANDING=str(tmp_path / "no-such-share"))
    assert code == 2 and "CRITICAL landing" in out and "does not exist" in out, out
    assert check(frota)[0] == 0

    # 2. The database down (SQLite: its file gone; a server: nothing listening).
    gone = (
        f"sqlite:///{tmp_path / 'moved' / 'frota.db'}"
        if db_url.startswith("sqlite")
        else sa.make_url(db_url).set(port=9).render_as_string(hide_password=False)
    )
    code, out = check(frota, FROTA_DATABASE=gone)
    assert code == 2 and "CRITICAL database" in out, out
    assert "UNKNOWN  schema" in out  # judged by its own check, not alerted twice
    assert check(frota)[0] == 0

    # 3. A schema behind this frota's head; the fix is `frota db upgrade`.
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = :v"), {"v": BASELINE})
    engine.dispose()
    code, out = check(frota)
    assert code == 2 and "CRITICAL schema" in out and "frota db upgrade" in out, out
    assert frota("db", "upgrade").exit_code == 0
    assert query(db_url, f"SELECT version_num FROM {VERSION_TABLE}") == [(head(),)]
    assert check(frota)[0] == 0

    # 4. A rejected batch: the load sets it aside and alerts; check sees it too (no second
    # message) until a person acknowledges it (frota batch reject), the runbook's fix.
    bad = publish(tmp_path, landing, "pc-frota", ["BRA2E19,Van,ativo,46000,2021-07-15"])
    with open(Path(landing) / "batches" / bad / "veiculos.csv", "a") as fh:
        fh.write("changed after publishing\n")
    loaded = frota("load")
    assert loaded.exit_code == 0 and f"set aside batch {bad} rejected" in loaded.output
    code, out = check(frota)
    assert code == 2 and "CRITICAL rejected" in out and bad in out, out
    assert frota("batch", "reject", bad, "--note", "published again").exit_code == 0
    assert check(frota)[0] == 0

    # 5. A silent source: pc-oficina sent a batch 13 hours ago and nothing since.
    publish(tmp_path, landing, "pc-oficina", ["KLM1J23,Van,ativo,1100,2025-01-02"], 13)
    code, out = check(frota)
    assert code == 2 and "CRITICAL source:pc-oficina" in out, out
    assert "no batch from pc-oficina for 13 h" in out
    publish(tmp_path, landing, "pc-oficina", ["KLM1J23,Van,ativo,1200,2025-01-02"])
    assert check(frota)[0] == 0

    # One message when each problem started and one when it cleared, on both channels.
    problems = ["landing", "database", "schema", f"rejected:{bad}", "source:pc-oficina"]
    titles = receiver.titles()
    assert len(titles) == 2 * len(problems) == len(mailbox.messages), titles
    assert mailbox.subjects() == titles
    starts = [t for t in titles if t.startswith("frota CRITICAL: ")]
    clears = [t for t in titles if t.startswith("frota OK: cleared: ")]
    assert len(starts) == len(clears) == len(problems)
    assert "does not exist" in starts[0] and "no batch from pc-oficina for 13 h" in starts[-1]
    body = mailbox.bodies()[titles.index(starts[-1])]
    for part in ("What: ", "Where: source:pc-oficina", "Since: ", "Next step: check that"):
        assert part in body, body
    assert "Lasted: " in mailbox.bodies()[-1]
    # Secrets: the channels' URLs never reach a message, the state file or the output.
    state = (tmp_path / "logs" / "frota-alerts.json").read_text(encoding="utf-8")
    assert json.loads(state)["problems"] == {}
    for text in [state, *mailbox.bodies(), *titles]:
        assert receiver.url not in text and mailbox.url not in text


def test_roles_thresholds_and_the_json_output(tmp_path: Path, sqlite_url: str) -> None:
    landing = str(tmp_path / "landing")
    (tmp_path / "landing").mkdir()
    s = Settings(landing=landing, database=sqlite_url, log_dir=str(tmp_path / "logs"))
    # A source PC checks the landing area and its own batches, and needs no database.
    source = run_checks(s.with_overrides(source="pc-frota"), "source")
    assert [(r.name, r.status) for r in source.results] == [
        ("landing", "OK"),
        ("source:pc-frota", "CRITICAL"),
    ]
    assert not Path(sqlite_url.removeprefix("sqlite:///")).exists()  # nothing created
    init_db(sqlite_url)
    publish(tmp_path, landing, "pc-frota", V1_LINES, hours_ago=4)
    server = run_checks(s, "server")
    statuses = {r.name: r.status for r in server.results}
    assert statuses["source:pc-frota"] == "WARNING"  # 4 h: past 3 h, before 12 h
    assert statuses["load_age"] == "CRITICAL"  # no load yet
    assert server.exit_code == 2
    load_pending(s)
    quiet = s.with_overrides(check=(("source_age_warning", "5h"),))
    report = run_checks(quiet, "server")
    assert report.exit_code == 0, report.to_dict()
    frota = Frota({"FROTA_DATABASE": sqlite_url, "FROTA_WAREHOUSE": f"duckdb:///{tmp_path}/w.db"})
    done = frota("check", "--role", "analytics", "--json")
    body = json.loads(done.output)
    [lag] = [c for c in body["checks"] if c["name"] == "warehouse_lag"]
    # Never built: the batch loaded a moment ago is lag, still under the 2 h warning.
    assert (lag["status"], body["exit_code"], done.exit_code) == ("OK", 0, 0)
    assert "1 loaded batch(es) not in the warehouse" in lag["summary"]
    assert not (tmp_path / "w.db").exists()  # checking never creates the warehouse


def test_a_threshold_that_does_not_parse_names_its_key(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "frota.toml"  # not in the working folder: only --config reads it
    config.parent.mkdir()
    config.write_text('[check]\nsource_age_critical = "soon"\n', encoding="utf-8")
    done = Frota({})("--config", str(config), "check")
    assert done.exit_code == 3  # a monitoring plugin that cannot run says UNKNOWN
    assert "[check] source_age_critical: 'soon' is not a duration" in done.output
    done = Frota({"FROTA_CHECK_REJECTED_CRITICAL": "many"})("check")
    assert done.exit_code == 3 and "rejected_critical: 'many' is not a whole number" in done.output
    done = Frota({"FROTA_CHECK_REJECTED_CRITICAL": "many"})("status")
    assert done.exit_code == 7  # every other command: a configuration error


@pytest.mark.parametrize("command", [["load"], ["status"]])
def test_a_missing_landing_path_is_an_error_for_load_and_status(
    tmp_path: Path, sqlite_url: str, command: list[str]
) -> None:
    init_db(sqlite_url)
    env = {"FROTA_DATABASE": sqlite_url, "FROTA_LANDING": str(tmp_path / "typo")}
    done = Frota(env)(*command)
    assert done.exit_code == 6, done.output
    assert f"the landing area {tmp_path / 'typo'} does not exist" in done.output
    assert "nothing new to load" not in done.output
