"""Alerts through apprise (issue 13 item 3), end to end with a real SMTP server and a real HTTP
receiver: a failed step alerts once and clears once; a channel that is down changes no step's
result, is logged and counted, and gets its message the next time; bad URLs fail at start-up;
`frota alerts test`; the URLs (secrets) never show."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from batchkit import M1_LINES, V1_LINES, init_db, publish_lines, settings_for

from frota.config import load_settings
from frota.errors import ConfigError
from frota.load import load_pending
from frota.observe.alerts import failed_deliveries, open_problems

TOKEN = "Tk9sEcReT4alerts"  # a password in a channel's URL: must never show anywhere


def with_alerts(settings, *urls: str):
    env = {"FROTA_ALERTS": " ".join(urls)}
    return settings.with_overrides(alerts=load_settings(env=env).alerts)


def test_a_failed_step_alerts_once_and_clears_once(
    tmp_path: Path, sqlite_url: str, mailbox, receiver
) -> None:
    s = with_alerts(settings_for(tmp_path, sqlite_url), mailbox.url, receiver.url)
    (tmp_path / "landing").mkdir()
    for _ in range(2):  # fails twice: one message, not two
        with pytest.raises(ConfigError):
            load_pending(s)  # no schema yet
    assert len(receiver.posts) == 1 == len(mailbox.messages)
    assert receiver.titles()[0].startswith("frota CRITICAL: load (run ")
    assert "has no frota schema" in receiver.posts[0]["message"]
    assert "Next step: create it first: frota db init" in receiver.posts[0]["message"]
    assert list(open_problems(s)) == ["failed:load"]

    init_db(sqlite_url)
    load_pending(s)
    assert receiver.titles()[1].startswith("frota OK: cleared: load (run ")
    assert mailbox.subjects() == receiver.titles()
    assert open_problems(s) == {}
    load_pending(s)
    assert len(receiver.posts) == 2  # still fine: nothing to say


def test_a_rejected_batch_alerts_and_a_channel_down_changes_nothing(
    tmp_path: Path, sqlite_url: str, mailbox, receiver, caplog: pytest.LogCaptureFixture
) -> None:
    init_db(sqlite_url)
    down_url = receiver.url.replace("json://", f"json://frota:{TOKEN}@")
    s = with_alerts(settings_for(tmp_path, sqlite_url), mailbox.url, down_url)
    publish_lines(tmp_path, s.landing, 1, V1_LINES, M1_LINES)
    bad = publish_lines(tmp_path, s.landing, 2, ["KLM1J23,Van,ativo,1,2025-01-02"]).batch_id
    with open(Path(s.landing) / "batches" / bad / "veiculos.csv", "a") as fh:
        fh.write("changed after publishing\n")
    receiver.down = True
    with caplog.at_level(logging.WARNING, logger="frota"):
        result = load_pending(s)
    # The step's result is the same as without alerts: one batch loaded, one rejected.
    assert [b.rows_loaded for b in result.loaded] == [4] and len(result.rejected) == 1
    assert len(mailbox.messages) == 1 and receiver.posts == []
    assert "did not take the message" in caplog.text and "sent again next time" in caplog.text
    assert failed_deliveries(s) == 1
    assert list(open_problems(s)) == [f"rejected:{bad}"]

    # Next time (here: the next load, the batch still rejected) the channel gets it first.
    receiver.down = False
    load_pending(s)
    assert len(receiver.posts) == 1 and bad in receiver.titles()[0]
    assert len(mailbox.messages) == 1  # the mail channel already had it: no repeat
    state = (Path(s.log_dir) / "frota-alerts.json").read_text(encoding="utf-8")
    assert json.loads(state)["pending"] == {}
    for text in (state, caplog.text, *receiver.titles(), *mailbox.bodies()):
        assert TOKEN not in text and down_url not in text


def test_bad_alert_urls_are_config_errors_at_start_up(tmp_path: Path) -> None:
    for urls, expected in (
        ("bogus://x", "alerts: channel 1 (bogus): apprise does not understand this URL"),
        (f"json://127.0.0.1/ok mailto://{TOKEN}", "alerts: channel 2 (mailto): apprise"),
        ("ops@example.com", "alerts: channel 1 (no scheme) is not a URL"),
    ):
        with pytest.raises(ConfigError) as refused:
            load_settings(env={"FROTA_ALERTS": urls})
        assert expected in str(refused.value)
        assert TOKEN not in str(refused.value)
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(f'alerts = ["json://127.0.0.1/a", "tgram://{TOKEN}"]\n', encoding="utf-8")
    secrets.chmod(0o600)
    with pytest.raises(ConfigError, match=r"channel 2 \(tgram\)"):
        load_settings(env={"FROTA_SECRETS_FILE": str(secrets)})
    config = tmp_path / "frota.toml"
    config.write_text('alerts = "json://127.0.0.1/a"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="alerts must not be in the config file"):
        load_settings(config, env={})


def test_the_alerts_test_command(tmp_path: Path, mailbox, receiver) -> None:
    from test_check import Frota

    secret_url = receiver.url.replace("json://", f"json://frota:{TOKEN}@")
    frota = Frota(
        {"FROTA_ALERTS": f"{mailbox.url},{secret_url}", "FROTA_LOG_DIR": str(tmp_path / "l")}
    )
    done = frota("alerts", "test")
    assert done.exit_code == 0, done.output
    assert "2 message(s) delivered to channel 1 (mailto), channel 2 (json)" in done.output
    assert receiver.titles() == ["frota test alert"] == mailbox.subjects()
    receiver.down = True
    done = frota("alerts", "test")
    assert done.exit_code == 7 and "1 message(s) not delivered" in done.output
    assert "channel 2 (json) did not take the message" in done.output
    assert TOKEN not in done.output and secret_url not in done.output
    none = Frota({})("alerts", "test")
    assert none.exit_code == 7 and "no alert channel configured" in none.output
