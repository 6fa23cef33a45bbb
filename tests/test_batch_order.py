"""Batch order and vehicle history (DESIGN §5b): batches apply in publish order even within one
second, a batch's as_of is when its vehicle states were true, and every applied state is kept,
so the fleet as of any time can be asked for; on SQLite, MariaDB and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from batchkit import init_db, query, settings_for, write_batch_dir
from click.testing import CliRunner

from frota.batch import MANIFEST_NAME, Manifest, build_manifest
from frota.cli import cli
from frota.contract import RETRY_SOURCE
from frota.db.engine import create_engine
from frota.db.history import vehicles_as_of
from frota.errors import BadInputError
from frota.landing import open_landing
from frota.load import load_pending
from frota.ops.quarantine import retry_quarantine
from frota.publish import publish_dir, publish_export

TODAY = date(2026, 6, 30)


def test_a_hundred_back_to_back_publishes_apply_in_publish_order(
    tmp_path: Path, db_url: str
) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    landing = open_landing(s.landing)
    states = [("Ativo" if i % 2 else "Vendido", 1000 + i) for i in range(100)]
    ids = []
    for i, (status, km) in enumerate(states):
        folder = write_batch_dir(tmp_path / f"e{i}", [f"ABC1234,Van,{status},{km},2020-01-02"])
        ids.append(publish_dir(folder, landing, "pc1").batch_id)
    assert len({i[:16] for i in ids}) < 100  # several in one second: the hash alone would mix them
    result = load_pending(s, today=TODAY)
    assert [b.batch_id for b in result.loaded] == ids
    assert query(db_url, "SELECT status, quilometragem_total, lote_id FROM veiculos") == [
        ("Ativo", 1099, ids[-1])
    ]
    history = query(
        db_url,
        "SELECT status, quilometragem_total, lote_id, aplicacao FROM frota_veiculos_historico "
        "ORDER BY vigente_desde, ordem",
    )
    assert history == [
        (status, km, batch_id, "update" if n else "insert")
        for n, ((status, km), batch_id) in enumerate(zip(states, ids, strict=True))
    ]


def test_two_exports_published_in_one_second_apply_in_that_order(
    tmp_path: Path, db_url: str
) -> None:
    """The issue's case: `publish --from a` (Ativo) then `--from b` (Vendido) in one second."""
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    for name, status in (("a", "Ativo"), ("b", "Vendido")):
        folder = tmp_path / name
        folder.mkdir()
        (folder / "veiculos.csv").write_text(
            "placa;tipo_veiculo;status;quilometragem_total;data_aquisicao\n"
            f"ABC-1234;Van;{status};120000;01/03/2019\n",
            encoding="utf-8",
        )
        publish_export(folder, s)
    load_pending(s, today=TODAY)
    assert query(db_url, "SELECT status FROM veiculos") == [("Vendido",)]


def _publish_state(tmp: Path, s, n: int, line: str, as_of: datetime) -> str:
    folder = write_batch_dir(tmp / f"s{n}", [line])
    return publish_dir(folder, open_landing(s.landing), "pc1", as_of=as_of).batch_id


def _as_of(db_url: str, when: datetime) -> dict[str, tuple]:
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            return {
                r["placa"]: (r["status"], r["quilometragem_total"])
                for r in vehicles_as_of(conn, when)
            }
    finally:
        engine.dispose()


def test_a_late_older_batch_adds_history_without_changing_the_current_state(
    tmp_path: Path, db_url: str
) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    jan = [datetime(2026, 1, d, tzinfo=UTC) for d in (10, 15, 20)]
    published = [
        ("Ativo", 1000, jan[0]),
        ("Vendido", 2000, jan[2]),
        ("Em manutenção", 1500, jan[1]),  # published last, but its data is older
    ]
    for n, (status, km, when) in enumerate(published[:2]):
        _publish_state(tmp_path, s, n, f"ABC1234,Van,{status},{km},2020-01-02", when)
    assert [b.veiculos_stale for b in load_pending(s, today=TODAY).loaded] == [0, 0]
    status, km, when = published[2]
    late = _publish_state(tmp_path, s, 2, f"ABC1234,Van,{status},{km},2020-01-02", when)
    (loaded,) = load_pending(s, today=TODAY).loaded
    assert (loaded.batch_id, loaded.veiculos_stale, loaded.veiculos_updated) == (late, 1, 0)
    assert query(db_url, "SELECT status, quilometragem_total FROM veiculos") == [("Vendido", 2000)]
    # The state as of any time, against a computation from what was published.
    for when in (
        datetime(2019, 12, 31),  # before the acquisition: not in the fleet
        datetime(2020, 1, 2),  # acquired: the first version known holds back to then
        datetime(2026, 1, 12),
        datetime(2026, 1, 15),
        datetime(2026, 1, 16, 8),
        datetime(2026, 1, 25),
    ):
        expected = _expected_as_of(published, when, acquired=date(2020, 1, 2))
        assert _as_of(db_url, when) == expected, when


def _expected_as_of(published, when: datetime, acquired: date) -> dict[str, tuple]:
    """The independent answer: the latest published state whose as_of is not after `when`;
    before the first one, the first one (from the acquisition day on)."""
    ordered = sorted(published, key=lambda p: p[2])
    if when.date() < acquired:
        return {}
    known = [p for p in ordered if p[2].replace(tzinfo=None) <= when] or ordered[:1]
    status, km, _ = known[-1]
    return {"ABC1234": (status, km)}


def test_the_quarantine_retry_writes_history_at_the_rows_own_time(
    tmp_path: Path, sqlite_url: str
) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    _publish_state(
        tmp_path, s, 0, "ABC1234,Van,ativo,100,2020-01-01", datetime(2026, 1, 1, tzinfo=UTC)
    )
    conflict = ["BRA2E19,Van,ativo,7,2021-01-01", "BRA2E19,Van,inativo,9,2021-01-01"]
    folder = write_batch_dir(tmp_path / "c", conflict)
    held_in = publish_dir(
        folder, open_landing(s.landing), "pc1", as_of=datetime(2026, 1, 5, tzinfo=UTC)
    )
    load_pending(s, today=TODAY)
    ids = dict(query(sqlite_url, "SELECT raw, id FROM frota_quarantine"))
    result = retry_quarantine(s, ids=[ids[conflict[1]]], today=TODAY)
    assert result.veiculos_inserted == 1
    [(lote, since, ordem, how)] = query(
        sqlite_url,
        "SELECT lote_id, vigente_desde, ordem, aplicacao FROM frota_veiculos_historico "
        "WHERE placa = 'BRA2E19'",
    )
    batch_ordem = query(
        sqlite_url, "SELECT ordem FROM frota_batches WHERE batch_id = :b", b=held_in.batch_id
    )
    assert (lote, how, [(ordem,)]) == (result.batch_id, "insert", batch_ordem)
    assert str(since).startswith("2026-01-05")  # the held row's own batch's as_of
    assert result.batch_id is not None and RETRY_SOURCE in result.batch_id


def test_publish_refuses_an_as_of_in_the_future(tmp_path: Path) -> None:
    folder = write_batch_dir(tmp_path / "x", ["ABC1234,Van,ativo,1,2020-01-02"])
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    runner = CliRunner()
    result = runner.invoke(
        cli,
        [
            "--landing",
            str(tmp_path / "landing"),
            "publish",
            "--from",
            str(folder),
            "--as-of",
            tomorrow,
        ],
    )
    assert isinstance(result.exception, BadInputError)
    assert "in the future" in str(result.exception)
    assert not (tmp_path / "landing" / "batches").exists() or not any(
        (tmp_path / "landing" / "batches").iterdir()
    )
    bad = runner.invoke(cli, ["publish", "--from", str(folder), "--as-of", "31/01/2026"])
    assert bad.exit_code == 2 and "not a date" in bad.output


def test_a_source_sequence_and_publish_time_only_grow(tmp_path: Path) -> None:
    landing = open_landing(str(tmp_path / "landing"))
    future = datetime.now(UTC) + timedelta(hours=1)  # as if the clock was later set back
    first = publish_dir(
        write_batch_dir(tmp_path / "a", ["ABC1234,Van,a,1,2020-01-02"]), landing, "pc1", now=future
    )
    second = publish_dir(
        write_batch_dir(tmp_path / "b", ["ABC1234,Van,b,2,2020-01-02"]), landing, "pc1"
    )
    other = publish_dir(
        write_batch_dir(tmp_path / "c", ["ABC1234,Van,c,3,2020-01-02"]), landing, "pc2"
    )
    m = {
        r.batch_id: Manifest.from_json(
            (tmp_path / "landing" / "batches" / r.batch_id / MANIFEST_NAME).read_text()
        )
        for r in (first, second, other)
    }
    a, b, c = (m[r.batch_id] for r in (first, second, other))
    assert (a.sequence, b.sequence, c.sequence) == (1, 2, 1)  # per source
    assert b.published_at == a.published_at + timedelta(microseconds=1)
    assert a.order_key < b.order_key


def test_manifest_format_and_as_of_are_checked(tmp_path: Path) -> None:
    now = datetime(2026, 1, 10, 12, tzinfo=UTC)
    body = json.loads(build_manifest([], "pc1", now).to_json())
    assert body["format_version"] == 2 and body["sequence"] == 1
    with pytest.raises(BadInputError, match="upgrade frota on this machine"):
        Manifest.from_json(json.dumps({**body, "format_version": 3}))
    with pytest.raises(BadInputError, match="as_of is later than its published_at"):
        Manifest.from_json(json.dumps({**body, "as_of": "2026-01-11T00:00:00.000000Z"}))
    old = {k: v for k, v in body.items() if k not in ("published_at", "sequence", "as_of")}
    v1 = Manifest.from_json(json.dumps({**old, "format_version": 1}))
    assert (v1.published_at, v1.sequence, v1.effective_at) == (now, 0, now)
