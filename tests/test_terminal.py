"""What a person sees (issue 13 item 6): progress with count, total, rate and time left; the
load and quarantine tables whole at 80 columns; global options after the command; the small
messages that read wrong."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from batchkit import M1_LINES, TODAY, V1_LINES, init_db, publish_lines, settings_for
from rich.console import Console
from test_check import Frota

from frota.load import load_pending
from frota.observe.progress import BarProgress, LoggedProgress, progress_bar


def test_a_bar_shows_count_total_rate_and_time_left_at_80_columns() -> None:
    terminal = Console(width=80, file=io.StringIO(), force_terminal=True)
    with progress_bar("loading", "rows", console=terminal) as bar:
        assert isinstance(bar, BarProgress)
        bar.set_total(50_000)
        bar.started = time.monotonic() - 4.0  # as if 4 s had gone by
        bar(12_000)
        screen = Console(width=80, record=True, color_system=None)  # what the bar draws
        screen.print(bar.bar.get_renderable())
    [line] = screen.export_text().splitlines()
    counts = line.split()[-4:]
    assert counts[:2] == ["12,000/50,000", "rows"]
    rate = int(counts[2].removesuffix("/s").replace(",", ""))
    assert 2_900 <= rate <= 3_000  # 12,000 rows in 4 s (and the milliseconds of the test)
    assert counts[3] in ("0:00:12", "0:00:13")  # 38,000 rows left at that rate
    assert line.startswith("loading ━") and len(line) <= 80


def test_without_a_terminal_progress_is_a_log_line_every_tenth(caplog) -> None:
    bar = LoggedProgress("loading", "rows", every=0)  # (in production: at most one in 10 s)
    bar.set_total(1_000)
    with caplog.at_level("INFO", logger="frota"):
        for done in range(0, 1_001, 50):
            bar(done)
    lines = [r.getMessage() for r in caplog.records]
    assert len(lines) == 10
    assert lines[-1].startswith("loading: 1,000 of 1,000 rows (100%),")
    assert "rows/s" in lines[0] and " left" in lines[0]


def test_the_loader_reports_against_the_manifests_total(tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    publish_lines(tmp_path, s.landing, 1, V1_LINES, M1_LINES)
    publish_lines(tmp_path, s.landing, 2, None, [*M1_LINES, "ABC1234,Pneus,2026-02-01,9.00,,,"])

    class Seen(list):
        total = None

        def set_total(self, total: int) -> None:
            self.total = total

        def __call__(self, done: int) -> None:
            self.append(done)

    seen = Seen()
    load_pending(s, today=TODAY, progress=seen)
    assert seen.total == 5  # 2 + 3 maintenance rows, from the two manifests
    assert seen[-1] == 5 and seen == sorted(seen)


def _loaded(tmp_path: Path, sqlite_url: str) -> dict[str, str]:
    init_db(sqlite_url)
    landing = str(tmp_path / "landing")
    publish_lines(
        tmp_path,
        landing,
        1,
        V1_LINES,
        [*M1_LINES, "XYZ9999,Pneus,2026-01-07,1.00,,,", "ABC1234,Freios,07/01/2026,x,,,"],
        source="pc-frota-da-oficina-central",  # a long id, as real source names make
    )
    return {"FROTA_DATABASE": sqlite_url, "FROTA_LANDING": landing, "COLUMNS": "80"}


@pytest.mark.parametrize("lang", ["en", "pt-BR"])
def test_the_load_and_quarantine_tables_are_whole_at_80_columns(
    tmp_path: Path, sqlite_url: str, lang: str
) -> None:
    env = _loaded(tmp_path, sqlite_url)
    frota = Frota({**env, "FROTA_LANGUAGE": lang})
    load = frota("load")
    assert load.exit_code == 0, load.output
    shown = load.stdout.splitlines()
    assert all(len(x) <= 80 for x in shown), load.stdout
    assert "\u2026" not in load.stdout, load.stdout  # no header cut short ("desatua…")
    [batch] = [x.split(" = ")[1] for x in shown if " = " in x and "-pc-frota-" in x]
    assert batch.startswith("2026") and batch.endswith(batch[-8:])  # the id, whole
    row = next(x for x in shown if x.split()[:1] == ["1"])
    # read 6 = 2 vehicles new + 2 maintenances new + 2 quarantined; every count shown whole
    assert row.split() == ["1", "6", "2", "0", "0", "2", "0", "0", "0", "2", "0", "0", "0"]
    listed = frota("quarantine", "list")
    assert listed.exit_code == 0, listed.output
    assert all(len(x) <= 80 for x in listed.stdout.splitlines()), listed.stdout
    assert batch in listed.output  # the batch id whole, never cut
    assert "manutencoes.csv:4" in listed.output and "manutencoes.csv:5" in listed.output


def test_global_options_after_the_command(tmp_path: Path, sqlite_url: str) -> None:
    env = _loaded(tmp_path, sqlite_url)
    after = Frota({})(
        "load", "--database", env["FROTA_DATABASE"], "--landing", env["FROTA_LANDING"]
    )
    assert after.exit_code == 0, after.output
    status = Frota({})("status", "--database", env["FROTA_DATABASE"], "--landing", "nowhere", "-q")
    assert status.exit_code == 6 and "the landing area nowhere does not exist" in status.output
    nested = Frota({})("quarantine", "list", "--database", env["FROTA_DATABASE"])
    assert nested.exit_code == 0 and "vehicle_unknown" in nested.output


def test_rejection_messages_read_right(tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    bad = publish_lines(tmp_path, s.landing, 1, V1_LINES).batch_id
    with open(Path(s.landing) / "batches" / bad / "veiculos.csv", "a") as fh:
        fh.write("changed after publishing\n")
    done = Frota({"FROTA_DATABASE": sqlite_url, "FROTA_LANDING": s.landing})("load")
    assert done.exit_code == 0  # set aside: the other batches load (frota batch)
    assert "nothing new to load" not in done.output  # a rejection is not "nothing new"
    assert f"rejected batch {bad} rejected" not in done.output
    assert f"set aside batch {bad} rejected: {bad}/veiculos.csv: size" in done.output


def test_a_host_name_that_does_not_resolve_is_not_retried(tmp_path: Path) -> None:
    (tmp_path / "landing").mkdir()
    for url in (
        "mysql+pymysql://frota@no-such-host.invalid/logistica_fonte",
        "postgresql+psycopg://frota@no-such-host.invalid/frota",
    ):
        done = Frota({"FROTA_LANDING": str(tmp_path / "landing")})("--database", url, "load")
        assert done.exit_code == 5, done.output
        assert "retrying" not in done.output
        assert "the host name 'no-such-host.invalid' is not known: check the URL" in done.output


def test_short_work_logs_no_progress(caplog) -> None:
    bar = LoggedProgress("generating", "vehicles")
    bar.set_total(24)
    with caplog.at_level("INFO", logger="frota"):
        for done in range(1, 25):
            bar(done)
    assert caplog.records == []
