"""Own exports on a schedule: `frota run --role source --from DIR` publishes each new export of
a folder exactly once (by content), never one still being copied, and says what it did in the
run history (an `exports` step) and alerts on a refused one; `frota schedule --from DIR`
writes the same command into cron, systemd and Windows Task Scheduler."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batchkit import M1_LINES, MANUT_HEADER, V1_LINES, VEIC_HEADER

from frota.config import Settings, load_settings
from frota.errors import ConfigError
from frota.landing import open_landing
from frota.observe.alerts import open_problems
from frota.orchestrate import schedule
from frota.publish import publish_new_exports
from frota.publish.exports_dir import STATE_FILE, read_export

FROTA = [sys.executable, "-m", "frota"]
HEADER_V = VEIC_HEADER.replace(",", ";")
HEADER_M = MANUT_HEADER.replace(",", ";")


def write_export(folder: Path, vehicles: list[str], maintenances: list[str], *, age: float = 600):
    """A pt-BR export (`;`, decimal comma), its files and folder last changed `age` s ago."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "veiculos.csv").write_text(
        "\n".join([HEADER_V, *(v.replace(",", ";") for v in vehicles)]) + "\n", encoding="utf-8"
    )
    rows = [m.replace(",", ";").replace(".", ",") for m in maintenances]
    (folder / "manutencoes.csv").write_text("\n".join([HEADER_M, *rows]) + "\n", encoding="utf-8")
    age_files(folder, age)
    return folder


def age_files(folder: Path, age: float) -> None:
    when = time.time() - age
    for path in [*folder.iterdir(), folder]:
        os.utime(path, (when, when))


def landed(landing: Path) -> list[str]:
    return sorted(b for b in open_landing(str(landing)).list_batch_ids(missing_ok=True))


def frota(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("FROTA_")}
    full_env.update(env or {})
    return subprocess.run(
        [*FROTA, *args], cwd=cwd, env=full_env, capture_output=True, text=True, timeout=300
    )


def test_each_export_is_published_once_oldest_first(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    write_export(exports / "2026-01-30", V1_LINES, M1_LINES[:1], age=900)
    write_export(exports / "2026-01-31", V1_LINES, M1_LINES, age=600)
    s = Settings(landing=str(tmp_path / "landing"), outbox=str(tmp_path / "outbox"), source="erp")

    first = publish_new_exports(exports, s)
    assert [e.folder.name for e, _ in first.published] == ["2026-01-30", "2026-01-31"]
    assert [p.status for _, p in first.published] == ["published", "published"]
    assert len(landed(tmp_path / "landing")) == 2
    # Each batch is as of when its export was written, and they follow in that order.
    times = [e.written_at for e, _ in first.published]
    assert times[0] < times[1]

    again = publish_new_exports(exports, s)
    assert (again.published, again.refused, again.seen) == ([], [], 2)
    assert len(landed(tmp_path / "landing")) == 2

    write_export(exports / "2026-02-01", V1_LINES, M1_LINES[1:], age=120)
    third = publish_new_exports(exports, s)
    assert [e.folder.name for e, _ in third.published] == ["2026-02-01"]
    assert len(landed(tmp_path / "landing")) == 3
    record = json.loads((tmp_path / "outbox" / STATE_FILE).read_text())
    assert sorted(v["batch_id"] for v in record.values()) == landed(tmp_path / "landing")


def test_an_export_still_being_copied_is_not_taken(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    folder = write_export(exports / "today", V1_LINES, M1_LINES, age=5)
    s = Settings(landing=str(tmp_path / "landing"), outbox=str(tmp_path / "outbox"))
    assert read_export(folder, 60) is None  # changed 5 s ago
    waiting = publish_new_exports(exports, s)
    assert (waiting.published, waiting.waiting) == ([], [folder])
    assert landed(tmp_path / "landing") == []
    # A file added to a settled export (the copy's second file) makes the folder change too.
    age_files(folder, 600)
    (folder / "manutencoes.csv").unlink()
    age_files(folder, 600)
    (folder / "manutencoes.csv").write_text(HEADER_M + "\n", encoding="utf-8")
    assert read_export(folder, 60) is None
    age_files(folder, 600)
    assert read_export(folder, 60) is not None


def test_a_folder_overwritten_daily_is_published_when_it_changes(tmp_path: Path) -> None:
    """Export jobs that overwrite veiculos.csv / manutencoes.csv in one folder each day."""
    exports = write_export(tmp_path / "exports", V1_LINES, M1_LINES[:1])
    s = Settings(landing=str(tmp_path / "landing"), outbox=str(tmp_path / "outbox"))
    assert len(publish_new_exports(exports, s).published) == 1
    assert publish_new_exports(exports, s).published == []
    write_export(exports, V1_LINES, M1_LINES)
    assert len(publish_new_exports(exports, s).published) == 1
    assert len(landed(tmp_path / "landing")) == 2


def test_a_lost_record_publishes_nothing_twice(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    write_export(exports / "a", V1_LINES, M1_LINES)
    s = Settings(landing=str(tmp_path / "landing"), outbox=str(tmp_path / "outbox"))
    publish_new_exports(exports, s)
    (tmp_path / "outbox" / STATE_FILE).unlink()
    [(_, again)] = publish_new_exports(exports, s).published
    assert again.status == "already_published"
    assert len(landed(tmp_path / "landing")) == 1


def test_run_from_dir_loads_refuses_a_bad_export_once_and_records_it(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    write_export(exports / "1", V1_LINES, M1_LINES[:1], age=900)
    bad = exports / "2"
    bad.mkdir(parents=True)
    (bad / "veiculos.csv").write_text("matricula;cor\nABC1234;azul\n", encoding="utf-8")
    age_files(bad, 600)

    first = frota("run", "--role", "source", "--from", str(exports), cwd=tmp_path)
    assert first.returncode == 3, first.stdout + first.stderr
    assert "published:" in first.stdout and "refused" in first.stdout
    assert "matricula" in first.stdout  # the publisher's own message, with the column
    assert not (tmp_path / "data" / "outbox" / "_published").exists()  # nothing generated

    second = frota("run", "--role", "source", "--from", str(exports), cwd=tmp_path)
    assert second.returncode == 0, second.stdout + second.stderr
    assert "no new export (2 published or refused before)" in second.stdout

    # Fixed: taken again, and loaded by the server role (the `exports` setting this time).
    write_export(bad, V1_LINES, M1_LINES[1:])
    env = {"FROTA_EXPORTS": str(exports)}
    third = frota("run", "--no-warehouse", cwd=tmp_path, env=env)
    assert third.returncode == 0, third.stdout + third.stderr
    status = json.loads(frota("status", "--json", cwd=tmp_path).stdout)
    assert status["batches_loaded"] == 2
    assert status["rows"] == {"veiculos": 2, "manutencoes": 2}

    looks = json.loads(frota("runs", "--step", "exports", "--json", cwd=tmp_path).stdout)
    by_status = sorted((r["status"], r["counts"]["published"]) for r in looks)
    assert by_status == [("ok", 0), ("ok", 1), ("rejected", 1)]
    [refused] = [r for r in looks if r["status"] == "rejected"]
    assert "matricula" in refused["error"] and refused["counts"]["refused"] == 1
    assert sorted(r["counts"]["rows"] for r in looks) == [0, 3, 3]


def test_a_refused_export_alerts_until_it_is_fixed(tmp_path: Path, receiver) -> None:
    exports = tmp_path / "exports"
    bad = exports / "1"
    bad.mkdir(parents=True)
    (bad / "veiculos.csv").write_text("matricula;cor\nABC1234;azul\n", encoding="utf-8")
    age_files(bad, 600)
    s = Settings(
        landing=str(tmp_path / "landing"),
        outbox=str(tmp_path / "outbox"),
        log_dir=str(tmp_path / "logs"),
    ).with_overrides(alerts=load_settings(env={"FROTA_ALERTS": receiver.url}).alerts)
    for _ in range(2):  # refused, then skipped as refused before: one alert, still open
        publish_new_exports(exports, s)
    assert list(open_problems(s)) == [f"export:{bad}"]
    assert len(receiver.posts) == 1 and "matricula" in receiver.posts[0]["message"]
    write_export(bad, V1_LINES, M1_LINES)
    assert len(publish_new_exports(exports, s).published) == 1
    assert open_problems(s) == {} and "cleared" in receiver.titles()[1]


def test_from_goes_only_with_the_roles_that_publish(tmp_path: Path) -> None:
    result = frota("run", "--role", "server", "--from", str(tmp_path), cwd=tmp_path)
    assert result.returncode == 2 and "--from goes with --role source or all" in result.stderr
    with pytest.raises(ConfigError, match="--from goes with"):
        schedule.render(
            "server", "15m", "cron", frota_bin="/x/frota", workdir="/srv", from_dir="/srv/exp"
        )
    with pytest.raises(ConfigError, match="from_dir must be an absolute path"):
        schedule.render("source", "15m", "cron", frota_bin="/x/frota", workdir="/srv", from_dir="e")


@pytest.mark.parametrize("fmt", ["cron", "systemd", "windows"])
def test_schedules_run_the_exports_folder(fmt: str) -> None:
    windows = fmt == "windows"
    folder = "D:\\ERP\\exports & co" if windows else "/srv/erp exports"
    files = schedule.render(
        "source",
        "1h",
        fmt,
        frota_bin="C:\\frota\\frota.exe" if windows else "/opt/frota/bin/frota",
        workdir="C:\\frota" if windows else "/srv/frota",
        from_dir=folder,
        env={},
    )
    text = "\n".join(files.values())
    if fmt == "cron":
        assert "run --role source --from '/srv/erp exports'" in text
    elif fmt == "systemd":
        assert 'run --role source --from "/srv/erp exports"' in text
    else:
        assert 'run --role source --from "D:\\ERP\\exports &amp; co"' in text


def test_schedule_cli_passes_the_folder_on_as_an_absolute_path(tmp_path: Path) -> None:
    (tmp_path / "exp").mkdir()
    result = frota("schedule", "--role", "source", "--from", "exp", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert f"run --role source --from {tmp_path / 'exp'}" in result.stdout


def test_an_export_of_headers_only_is_a_day_without_rows(tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    write_export(exports / "1", [], [], age=900)
    result = frota("run", "--role", "source", "--from", str(exports), cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no rows today" in result.stdout
    assert open_landing(str(tmp_path / "data" / "landing")).list_batch_ids(missing_ok=True) == []
    looks = json.loads(frota("runs", "--step", "exports", "--json", cwd=tmp_path).stdout)
    assert [(r["counts"]["published"], r["counts"]["rows"]) for r in looks] == [(0, 0)]
