"""Operating batches: a rejected batch is recorded once and set aside (later batches keep
flowing, `load` ends well), shown with its reason, retried after a fix, rejected or
acknowledged by hand; `frota landing prune` removes only what the server no longer needs."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from batchkit import T0, TODAY, init_db, publish_lines, query, settings_for
from test_cli import frota

from frota.errors import UsageError
from frota.load import load_pending
from frota.ops.batches import list_batches, reject_batch, retry_batch, show_batch
from frota.ops.landing import parse_age, prune_landing

V = ["ABC1234,Van,ativo,1000,2020-01-02"]
V2 = ["BRA2E19,Caminhão,ativo,5000,2021-03-04"]
V3 = ["CDE5F67,Moto,ativo,300,2022-05-06"]
M = ["ABC1234,Troca de óleo,2026-01-05,850.00,990,preventiva,2026-01-05"]


def _edit_after_publishing(landing: str, batch_id: str) -> tuple[Path, bytes]:
    """Change a published file's bytes (same size): its checksum no longer matches."""
    path = Path(landing) / "batches" / batch_id / "veiculos.csv"
    saved = path.read_bytes()
    path.write_bytes(saved.replace(b"Caminh", b"CAMINH"))
    return path, saved


def _three_batches(tmp_path: Path, db_url: str):
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    first = publish_lines(tmp_path, s.landing, 1, V, M)
    bad = publish_lines(tmp_path, s.landing, 2, V2)
    last = publish_lines(tmp_path, s.landing, 3, V3)
    return s, first.batch_id, bad.batch_id, last.batch_id


def test_a_rejected_batch_is_set_aside_once_and_later_batches_flow(
    tmp_path: Path, db_url: str
) -> None:
    s, first, bad, last = _three_batches(tmp_path, db_url)
    path, saved = _edit_after_publishing(s.landing, bad)

    result = load_pending(s, today=TODAY)
    assert [b.batch_id for b in result.loaded] == [first, last]
    [rejected] = result.rejected
    assert rejected.batch_id == bad and "checksum mismatch" in str(rejected)
    assert result.set_aside == 1
    assert query(db_url, "SELECT placa FROM veiculos ORDER BY placa") == [
        ("ABC1234",),
        ("CDE5F67",),
    ]
    [(state, message, file)] = query(
        db_url, "SELECT state, message, file FROM frota_rejected_batches"
    )
    assert state == "rejected" and "checksum mismatch" in message
    assert file == f"{bad}/veiculos.csv"

    # The next runs do not try it again, and say it waits for a person.
    again = load_pending(s, today=TODAY)
    assert again.loaded == () and again.rejected == () and again.set_aside == 1

    listing = list_batches(s)
    assert listing.counts == {"loaded": 2, "rejected": 1}
    assert [(r.batch_id, r.state) for r in listing.rows] == [
        (last, "loaded"),
        (bad, "rejected"),
        (first, "loaded"),
    ]
    detail = show_batch(s, bad)
    assert detail.row.state == "rejected" and detail.in_landing
    assert detail.rejection is not None and detail.rejection["file"] == f"{bad}/veiculos.csv"
    assert "publish the data again" in detail.rejection["hint"]

    # After the fix (the file restored), a retry loads it, exactly once.
    path.write_bytes(saved)
    retry = retry_batch(s, bad, today=TODAY)
    assert retry.loaded and retry.result.loaded[0].veiculos_inserted == 1
    assert query(db_url, "SELECT count(*) FROM veiculos") == [(3,)]
    assert query(db_url, "SELECT state FROM frota_rejected_batches") == [("loaded",)]
    assert show_batch(s, bad).row.state == "loaded"
    with pytest.raises(UsageError, match="already loaded"):
        retry_batch(s, bad, today=TODAY)
    assert load_pending(s, today=TODAY).loaded == ()
    assert query(db_url, "SELECT count(*) FROM frota_batches") == [(3,)]


def test_a_retry_that_fails_again_renews_the_reason(tmp_path: Path, sqlite_url: str) -> None:
    s, _, bad, _ = _three_batches(tmp_path, sqlite_url)
    path, _ = _edit_after_publishing(s.landing, bad)
    load_pending(s, today=TODAY)
    reject_batch(s, bad, "seen: waiting for the source to send it again")
    path.write_bytes(path.read_bytes() + b"XYZ9999,Van,ativo,1,2020-01-01\n")  # another fault
    retry = retry_batch(s, bad, today=TODAY)
    assert not retry.loaded and "manifest says" in str(retry.result.rejected[0])
    [(state, message)] = query(sqlite_url, "SELECT state, message FROM frota_rejected_batches")
    assert state == "rejected" and "the manifest says" in message  # waits for a person again


def test_reject_by_hand_and_acknowledge(tmp_path: Path, db_url: str) -> None:
    s, first, bad, last = _three_batches(tmp_path, db_url)
    _edit_after_publishing(s.landing, bad)
    with pytest.raises(UsageError, match="needs a note"):
        reject_batch(s, last, "  ")
    assert reject_batch(s, last, "sent by mistake").outcome == "rejected"

    result = load_pending(s, today=TODAY)
    assert [b.batch_id for b in result.loaded] == [first]  # the hand-rejected one stays out
    assert result.set_aside == 1  # the loader's rejection; the hand-made one needs nobody
    assert reject_batch(s, bad, "the export was edited; asked for a new one").outcome == (
        "acknowledged"
    )
    assert load_pending(s, today=TODAY).set_aside == 0
    detail = show_batch(s, bad)
    assert detail.row.state == "acknowledged"
    assert detail.rejection and detail.rejection["note"].startswith("the export was edited")
    assert detail.rejection["noted_by"]
    with pytest.raises(UsageError, match="is loaded"):
        reject_batch(s, first, "too late")
    with pytest.raises(UsageError, match="no batch"):
        reject_batch(s, "20260101T000000Z-test-00000000", "nothing there")
    with pytest.raises(UsageError, match="not a rejected batch"):
        retry_batch(s, "20260101T000000Z-test-00000000")
    assert {r.batch_id: r.state for r in list_batches(s).rows} == {
        first: "loaded",
        bad: "acknowledged",
        last: "acknowledged",
    }


def test_prune_removes_only_loaded_and_acknowledged(tmp_path: Path, sqlite_url: str) -> None:
    s, first, bad, last = _three_batches(tmp_path, sqlite_url)
    _edit_after_publishing(s.landing, bad)
    load_pending(s, today=TODAY)
    waiting = publish_lines(tmp_path, s.landing, 4, ["DEF1G23,Van,ativo,1,2020-01-01"]).batch_id
    incomplete = publish_lines(tmp_path, s.landing, 5, ["EFG2H34,Van,ativo,1,2020-01-01"])
    (Path(s.landing) / "batches" / incomplete.batch_id / "_manifest.json").unlink()
    now = T0 + timedelta(days=40)

    young = prune_landing(s, timedelta(days=41), now=now)
    assert young.removable == () and young.kept == {}
    dry = prune_landing(s, parse_age("30d"), now=now)
    assert dry.removable == ((first, "loaded"), (last, "loaded")) and not dry.applied
    assert dry.kept == {"rejected": 1, "not loaded": 2}
    assert len(list(Path(s.landing, "batches").iterdir())) == 5  # a dry run removes nothing

    reject_batch(s, bad, "seen")
    done = prune_landing(s, parse_age("30d"), apply=True, now=now)
    assert done.removed == 3
    assert sorted(p.name for p in Path(s.landing, "batches").iterdir()) == sorted(
        [waiting, incomplete.batch_id]
    )
    assert show_batch(s, first).in_landing is False
    later = load_pending(s, today=TODAY)  # the loader neither misses nor reloads anything
    assert [b.batch_id for b in later.loaded] == [waiting]
    assert query(sqlite_url, "SELECT count(*) FROM frota_batches") == [(3,)]


def test_parse_age() -> None:
    assert parse_age("12h") == timedelta(hours=12)
    assert parse_age("2w") == timedelta(weeks=2)
    with pytest.raises(UsageError, match="not an age"):
        parse_age("30 days")


def test_the_cli_flow_exits_zero_and_names_what_to_do(tmp_path: Path) -> None:
    landing = str(tmp_path / "data" / "landing")
    assert frota("db", "init", cwd=tmp_path).returncode == 0
    good = publish_lines(tmp_path, landing, 1, V, M).batch_id
    bad = publish_lines(tmp_path, landing, 2, V2).batch_id
    path, saved = _edit_after_publishing(landing, bad)

    first = frota("load", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert f"set aside batch {bad} rejected" in first.stdout
    assert f"frota batch show {bad}" in first.stdout
    assert "1 rejected batch(es) wait for a person" in first.stdout
    again = frota("load", cwd=tmp_path)
    assert again.returncode == 0 and "nothing new to load" in again.stdout
    assert "1 rejected batch(es) wait" in again.stdout

    listed = frota("batch", "list", "--state", "rejected", cwd=tmp_path)
    assert listed.returncode == 0 and bad in listed.stdout and good not in listed.stdout
    shown = frota("batch", "show", bad, cwd=tmp_path)
    assert "checksum mismatch" in shown.stdout and "veiculos.csv" in shown.stdout
    no_note = frota("batch", "reject", bad, cwd=tmp_path)
    assert no_note.returncode == 2 and "--note" in no_note.stderr
    unknown = frota("batch", "show", "20990101T000000Z-x-00000000", cwd=tmp_path)
    assert unknown.returncode == 2 and "no batch" in unknown.stderr

    path.write_bytes(saved)
    retried = frota("batch", "retry", bad, cwd=tmp_path)
    assert retried.returncode == 0 and f"batch {bad} is loaded" in retried.stdout
    prune = frota("landing", "prune", "--older-than", "0h", cwd=tmp_path)
    assert prune.returncode == 0 and "would remove 2 batch folder(s)" in prune.stdout
    applied = frota("landing", "prune", "--older-than", "0h", "--apply", cwd=tmp_path)
    assert applied.returncode == 0 and "removed 2 batch folder(s)" in applied.stdout
    assert not any(Path(landing, "batches").iterdir())


def test_status_counts_recorded_rejections(tmp_path: Path, sqlite_url: str) -> None:
    from frota.observe.status import collect_status

    s, _, bad, _ = _three_batches(tmp_path, sqlite_url)
    _edit_after_publishing(s.landing, bad)
    load_pending(s, today=TODAY)
    status = collect_status(s)
    assert [r["batch_id"] for r in status.rejected] == [bad]
    assert status.complete_pending == []
    reject_batch(s, bad, "seen")
    assert collect_status(s).rejected == []
