"""`frota batch undo` and `replay` (issue 14, item 1) on real databases.

The story: A brings two vehicles and three work orders; B changes a vehicle, brings a new one,
corrects A's work order, adds two of its own, holds a row of an unknown vehicle and quarantines
a bad one; C corrects B's work order (depends on B); D brings the unknown vehicle, so B's held
row is released (depends on B); F, a snapshot, retires a work order of A; G sends it again
(restores it: depends on F). F and G have nothing to do with B.

Checked against a second, simpler computation: after an undo, the database holds what a fresh
database holds that loaded every other batch (what is in force: current rows, records, the
history in force, the quarantine); after undo then replay, the database is exactly as before.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from batchkit import init_db, settings_for

from frota.batch import Snapshot
from frota.config import Settings
from frota.contract import REPLAY_SOURCE, UNDO_SOURCE
from frota.contract.identity import origin_key, work_order_key
from frota.db.engine import create_engine
from frota.errors import UsageError
from frota.landing import open_landing
from frota.load import load_pending
from frota.ops.batches import replay_batch, undo_batch
from frota.publish import publish_dir

TODAY = date(2026, 6, 30)
T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
VEIC = "placa,tipo_veiculo,status,quilometragem_total,data_aquisicao"
MANUT = (
    "placa_veiculo,tipo_manutencao,data_manutencao,custo,quilometragem,categoria,"
    "data_conclusao,id_origem"
)
BATCHES: dict[str, dict[str, Any]] = {
    "A": {
        "veiculos": [
            "ABC1234,Caminhão Toco,ativo,120000,2019-03-01",
            "BRA2E19,Van,ativo,45000,2021-07-15",
        ],
        "manutencoes": [
            "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-05,OS-1",
            "BRA2E19,Freios,2026-01-06,1234.56,44800,corretiva,,OS-2",
            "BRA2E19,Pneus,2026-01-07,300.00,44900,corretiva,2026-01-07,OS-5",
        ],
    },
    "B": {
        "veiculos": [
            "ABC1234,Caminhão Toco,manutenção,121000,2019-03-01",
            "KLM1J23,Ônibus,ativo,80000,2022-02-02",
        ],
        "manutencoes": [
            "ABC1234,Troca de óleo,2026-01-05,900.00,119500,preventiva,2026-01-05,OS-1",
            "KLM1J23,Revisão,2026-02-01,500.00,80100,preventiva,2026-02-01,OS-3",
            "ABC1234,Pneus,2026-01-20,2400.00,121000,corretiva,2026-01-21,OS-4",
            "XYZ9A99,Pneus,2026-01-22,99.90,,,,OS-6",
            "ABC1234,Lavagem,2026-02-30,50.00,,,,OS-7",
        ],
    },
    "C": {
        "veiculos": ["BRA2E19,Van,ativo,46000,2021-07-15"],
        "manutencoes": [
            "ABC1234,Pneus,2026-01-20,2500.00,121000,corretiva,2026-01-21,OS-4",
            "BRA2E19,Freios,2026-01-06,1234.56,44800,corretiva,2026-01-09,OS-2",
        ],
    },
    "D": {"veiculos": ["XYZ9A99,Van,ativo,1000,2025-01-02"]},
    "F": {
        "manutencoes": ["BRA2E19,Alinhamento,2026-01-07,120.00,44950,preventiva,,OS-8"],
        "snapshot": Snapshot(date(2026, 1, 7), date(2026, 1, 7), allow_retire=True),
    },
    "G": {
        "manutencoes": [
            "BRA2E19,Pneus,2026-01-07,300.00,44900,corretiva,2026-01-07,OS-5",
        ]
    },
}
ORDER = list(BATCHES)


def _publish(tmp: Path, landing: str, names: list[str]) -> dict[str, str]:
    """Publish the story's batches (one source, one minute apart); name -> batch id."""
    ids = {}
    for n, name in enumerate(names):
        spec = BATCHES[name]
        folder = tmp / f"src-{name}"
        folder.mkdir(parents=True, exist_ok=True)
        for table, header in (("veiculos", VEIC), ("manutencoes", MANUT)):
            if table in spec:
                text = "\n".join([header, *spec[table]]) + "\n"
                (folder / f"{table}.csv").write_text(text, encoding="utf-8")
        published = publish_dir(
            folder,
            open_landing(landing),
            "erp",
            now=spec.get("now", T0 + timedelta(minutes=n)),
            snapshot=spec.get("snapshot"),
            as_of=spec.get("as_of"),
        )
        ids[name] = published.batch_id
    return ids


def _story(tmp: Path, db_url: str) -> tuple[Settings, dict[str, str]]:
    s = settings_for(tmp, db_url)
    init_db(db_url)
    ids = _publish(tmp, s.landing, ORDER)
    for name in ORDER:  # one load each: the order they were loaded in is the story's
        load_pending(s, today=TODAY, only={ids[name]})
    return s, ids


def _fresh(tmp: Path, landing: str, db_url: str, ids: dict[str, str], names: list[str]) -> None:
    """The second computation: a fresh database that loaded only `names`, in order."""
    s = Settings(landing=landing, database=db_url, outbox=str(tmp / "o2"), log_dir=str(tmp / "l2"))
    init_db(db_url)
    for name in names:
        load_pending(s, today=TODAY, only={ids[name]})


def _read(url: str, sql: str) -> list[tuple]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return sorted(
                (tuple(_plain(v) for v in row) for row in conn.execute(sa.text(sql))),
                key=repr,
            )
    finally:
        engine.dispose()


def _plain(value: Any) -> Any:
    return value


CONTRACT_M = (
    "placa_veiculo, tipo_manutencao, data_manutencao, custo, quilometragem, categoria, "
    "data_conclusao, id_origem"
)
OPS = f"('{UNDO_SOURCE}', '{REPLAY_SOURCE}')"


def in_force(url: str) -> dict[str, list[tuple]]:
    """What is in force, without what only says how it got there (ids, times of the undo)."""
    not_op = f"lote_id NOT IN (SELECT batch_id FROM frota_batches WHERE source IN {OPS})"
    return {
        "veiculos": _read(
            url,
            "SELECT placa, tipo_veiculo, status, quilometragem_total, data_aquisicao, lote_id, "
            "vigente_desde, ordem FROM veiculos WHERE retirado_lote IS NULL",
        ),
        "manutencoes": _read(
            url,
            f"SELECT chave, {CONTRACT_M}, lote_id FROM manutencoes WHERE retirada_lote IS NULL",
        ),
        "manutencoes retired by a batch": _read(
            url,
            f"SELECT chave, retirada_lote FROM manutencoes WHERE retirada_lote IS NOT NULL "
            f"AND retirada_lote NOT IN (SELECT batch_id FROM frota_batches WHERE source IN {OPS})",
        ),
        "vehicle history": _read(
            url,
            "SELECT placa, lote_id, vigente_desde, ordem, tipo_veiculo, status, "
            "quilometragem_total, data_aquisicao, aplicacao FROM frota_veiculos_historico "
            "WHERE desfeito_lote IS NULL",
        ),
        "maintenance history": _read(
            url,
            f"SELECT chave, lote_id, mudanca, {CONTRACT_M}, antes_custo, antes_data_conclusao, "
            f"antes_retirada_lote FROM frota_manutencoes_historico "
            f"WHERE desfeito_lote IS NULL AND {not_op}",
        ),
        "quarantine": _read(
            url,
            "SELECT batch_id, file, line, reason, status, "
            "CASE WHEN status = 'released' THEN released_batch_id END "
            "FROM frota_quarantine WHERE status <> 'undone'",
        ),
        "ledger": _read(
            url,
            f"SELECT batch_id, manutencoes_inserted, manutencoes_updated, manutencoes_retired "
            f"FROM frota_batches WHERE desfeito_lote IS NULL AND source NOT IN {OPS}",
        ),
    }


def everything(url: str) -> dict[str, list[tuple]]:
    """Every row of the operational tables (ids and times too), the undo's and replay's own
    rows (history rows, ledger entries) aside."""
    ops = f"(SELECT batch_id FROM frota_batches WHERE source IN {OPS})"
    return {
        "veiculos": _read(url, "SELECT * FROM veiculos"),
        "manutencoes": _read(url, "SELECT * FROM manutencoes"),
        "vehicle history": _read(url, "SELECT * FROM frota_veiculos_historico"),
        "maintenance history": _read(
            url, f"SELECT * FROM frota_manutencoes_historico WHERE lote_id NOT IN {ops}"
        ),
        "quarantine": _read(url, "SELECT * FROM frota_quarantine"),
        "ledger": _read(url, f"SELECT * FROM frota_batches WHERE batch_id NOT IN {ops}"),
    }


@pytest.fixture
def story(tmp_path: Path, db_url: str) -> tuple[Settings, dict[str, str], str]:
    s, ids = _story(tmp_path, db_url)
    return s, ids, db_url


def test_the_story_is_what_the_tests_think(story) -> None:
    s, ids, url = story
    counts = dict(
        _read(url, "SELECT batch_id, manutencoes_updated + manutencoes_retired FROM frota_batches")
    )
    assert counts[ids["B"]] == 1 and counts[ids["C"]] == 2 and counts[ids["F"]] == 1
    assert counts[ids["G"]] == 1  # the restore of OS-5
    released = _read(url, "SELECT released_batch_id FROM frota_quarantine WHERE status='released'")
    assert released == [(ids["D"],)]


def test_an_undo_refuses_while_later_batches_depend_on_it(story) -> None:
    s, ids, url = story
    before = everything(url)
    with pytest.raises(UsageError) as refused:
        undo_batch(s, ids["B"], apply=True)
    message = str(refused.value)
    assert ids["C"] in message and ids["D"] in message
    assert ids["F"] not in message and ids["G"] not in message
    assert "changed a record it wrote" in message and "released its held rows" in message
    assert "--cascade" in (refused.value.hint or "")
    assert everything(url) == before


def test_a_dry_run_shows_the_order_and_changes_nothing(story) -> None:
    s, ids, url = story
    before = everything(url)
    plan = undo_batch(s, ids["B"], cascade=True)
    assert not plan.applied and not plan.effects
    assert plan.order[-1] == ids["B"] and set(plan.order) == {ids["B"], ids["C"], ids["D"]}
    b = plan.previews[-1]
    assert (b.records_written, b.records_changed) == (2, 1)  # OS-3, OS-4; OS-1
    assert everything(url) == before


def test_undo_equals_never_loading_and_replay_restores_every_row(
    story, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    s, ids, url = story
    before = everything(url)
    undone = undo_batch(s, ids["B"], cascade=True, apply=True)
    assert [e.batch_id for e in undone.effects] == undone.order
    # The second computation: a fresh database that never loaded B (nor C and D, its
    # dependants) holds what this one holds in force.
    other = _other_url(request, tmp_path)
    _fresh(tmp_path, s.landing, other, ids, ["A", "F", "G"])
    assert in_force(url) == in_force(other)
    withdrawn = _read(url, "SELECT placa FROM veiculos WHERE retirado_lote IS NOT NULL")
    assert withdrawn == [("KLM1J23",), ("XYZ9A99",)]

    replayed = replay_batch(s, ids["B"], cascade=True, apply=True)
    assert [e.batch_id for e in replayed.effects] == undone.order[::-1]
    assert everything(url) == before


def test_undo_and_replay_of_a_snapshot_retirement_and_a_restore(story) -> None:
    s, ids, url = story
    before = everything(url)
    with pytest.raises(UsageError) as refused:
        undo_batch(s, ids["F"], apply=True)
    assert ids["G"] in str(refused.value)
    undo_batch(s, ids["F"], cascade=True, apply=True)
    os5 = _read(url, "SELECT retirada_lote FROM manutencoes WHERE id_origem = 'OS-5'")
    assert os5 == [(None,)]  # G's restore and F's retirement both taken back
    os8 = _read(url, "SELECT retirada_lote FROM manutencoes WHERE id_origem = 'OS-8'")
    assert os8[0][0] is not None and "batch-undo" in os8[0][0]
    replay_batch(s, ids["F"], cascade=True, apply=True)
    assert everything(url) == before


def test_replay_refuses_what_a_later_batch_changed_and_alone_needs_its_prerequisites(
    story, tmp_path: Path
) -> None:
    s, ids, url = story
    undo_batch(s, ids["B"], cascade=True, apply=True)
    with pytest.raises(UsageError) as refused:
        replay_batch(s, ids["C"], apply=True)  # C corrected B's record: B must come first
    assert ids["B"] in str(refused.value)
    replay_batch(s, ids["B"], apply=True)  # B alone: C and D stay undone
    with pytest.raises(UsageError):
        replay_batch(s, ids["B"], apply=True)  # in effect already
    # A new batch corrects B's work order again: undoing B now names it.
    late = {"manutencoes": ["KLM1J23,Revisão,2026-02-01,550.00,80100,preventiva,2026-02-01,OS-3"]}
    BATCHES["H"] = late
    try:
        h = _publish(tmp_path / "h", s.landing, ["H"])["H"]
    finally:
        del BATCHES["H"]
    load_pending(s, today=TODAY, only={h})
    with pytest.raises(UsageError) as again:
        undo_batch(s, ids["B"], apply=True)
    assert h in str(again.value)


def test_a_late_older_batch_after_an_undo_is_judged_without_the_undone_batch(
    story, tmp_path: Path
) -> None:
    """Between A and B by its as_of, a late batch corrects OS-1: while B (which corrected it
    later) is in force the late image is 'stale'; once B is undone it applies, as it would
    have without B (the undo's own entry, dated now, is not a newer batch)."""
    s, ids, url = story
    undo_batch(s, ids["B"], cascade=True, apply=True)
    BATCHES["L"] = {
        "manutencoes": [
            "ABC1234,Troca de óleo,2026-01-05,875.00,119500,preventiva,2026-01-05,OS-1"
        ],
        "as_of": T0 + timedelta(seconds=30),
        "now": T0 + timedelta(minutes=10),
    }
    try:
        late = _publish(tmp_path / "late", s.landing, ["L"])["L"]
    finally:
        del BATCHES["L"]
    load_pending(s, today=TODAY, only={late})
    assert _read(url, "SELECT custo FROM manutencoes WHERE id_origem = 'OS-1'") == [(875,)]
    kinds = _read(url, f"SELECT mudanca FROM frota_manutencoes_historico WHERE lote_id = '{late}'")
    assert kinds == [("update",)]


def test_a_change_recorded_before_0006_is_refused_not_guessed(story) -> None:
    s, ids, url = story
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE frota_manutencoes_historico SET com_antes = 0 WHERE lote_id = :b"),
            {"b": ids["G"]},
        )
    engine.dispose()
    with pytest.raises(UsageError) as refused:
        undo_batch(s, ids["G"], apply=True)
    assert "0006" in str(refused.value)


def test_a_vehicle_an_undo_withdrew_waits_like_an_unknown_one_and_comes_back(
    story, tmp_path: Path
) -> None:
    s, ids, url = story
    undo_batch(s, ids["D"], apply=True)  # D brought XYZ9A99: B's row for it is held again
    held = _read(url, "SELECT status FROM frota_quarantine WHERE placa = 'XYZ9A99'")
    assert held == [("held",)]
    BATCHES["H"] = {"manutencoes": ["XYZ9A99,Freios,2026-03-01,10.00,,,,OS-9"]}
    BATCHES["I"] = {"veiculos": ["XYZ9A99,Van,ativo,1500,2025-01-02"]}
    try:
        new = _publish(tmp_path / "hi", s.landing, ["H", "I"])
    finally:
        del BATCHES["H"], BATCHES["I"]
    load_pending(s, today=TODAY, only={new["H"]})
    assert _read(url, "SELECT count(*) FROM manutencoes WHERE id_origem = 'OS-9'") == [(0,)]
    result = load_pending(s, today=TODAY, only={new["I"]})
    assert result.loaded[0].veiculos_inserted == 1
    assert _read(
        url, "SELECT retirado_lote, quilometragem_total FROM veiculos WHERE placa = 'XYZ9A99'"
    ) == [(None, 1500)]
    assert _read(
        url,
        "SELECT count(*) FROM manutencoes WHERE placa_veiculo = 'XYZ9A99' "
        "AND retirada_lote IS NULL",
    ) == [(2,)]


def test_the_cli_shows_a_dry_run_and_refuses_with_the_dependants(
    story, capsys: pytest.CaptureFixture[str]
) -> None:
    s, ids, url = story
    args = ["--database", url, "--landing", s.landing, "batch"]
    code = cli_main([*args, "undo", ids["B"]])
    captured = capsys.readouterr()
    assert code != 0 and ids["C"] in captured.err and "--cascade" in captured.err
    code = cli_main([*args, "undo", ids["B"], "--cascade"])
    captured = capsys.readouterr()
    assert code == 0 and "--apply" in captured.out and ids["D"] in captured.out
    assert _read(url, "SELECT count(*) FROM frota_batches WHERE desfeito_lote IS NOT NULL") == [
        (0,)
    ]
    assert cli_main([*args, "undo", ids["G"], "--apply"]) == 0
    assert "operation" in capsys.readouterr().out
    assert cli_main([*args, "list", "--state", "undone", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert [r["batch_id"] for r in listed["rows"]] == [ids["G"]]
    assert listed["rows"][0]["problem"].startswith("undone by ") and listed["counts"]["undone"] == 1
    assert cli_main([*args, "replay", ids["G"], "--apply"]) == 0
    steps = _read(url, "SELECT step, status FROM frota_runs WHERE step LIKE 'batch %'")
    assert ("batch undo", "ok") in steps and ("batch replay", "ok") in steps


def _other_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A second, fresh database on the same backend as the story's."""
    from conftest import MYSQL_ADMIN, PG_ADMIN, _fresh_database

    backend = request.node.callspec.params["db_url"]
    if backend == "sqlite":
        return f"sqlite:///{tmp_path / 'never.db'}"
    made = (
        _fresh_database(PG_ADMIN, "PostgreSQL", '"', " WITH (FORCE)")
        if backend == "postgresql"
        else _fresh_database(MYSQL_ADMIN, "MariaDB", "`")
    )
    url = next(made)
    request.addfinalizer(lambda: next(made, None))
    return url


def cli_main(argv: list[str]) -> int:
    """`frota ARGV`: its exit code."""
    from frota.cli import main

    try:
        main(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


# ---------------------------------------------------------------- the upgrade to 0006

AT_0005 = "001c4f0"  # main at schema revision 0005 (the last one before undo)
KEPT = (
    "veiculos",
    "manutencoes",
    "frota_batches",
    "frota_quarantine",
    "frota_veiculos_historico",
    "frota_manutencoes_historico",
)


@pytest.fixture(scope="module")
def at_0005(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The src/ folder of frota at revision 0005, from this repository's history."""
    from test_db_migrations import source_at

    return source_at(AT_0005, tmp_path_factory)


def _columns_before_0006(url: str) -> dict[str, list[str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            insp = sa.inspect(conn)
            return {t: [c["name"] for c in insp.get_columns(t)] for t in KEPT}
    finally:
        engine.dispose()


def test_a_0005_database_upgrades_with_its_rows_and_refuses_undoing_its_old_changes(
    at_0005: Path, db_url: str, tmp_path: Path
) -> None:
    from test_db_migrations import new_frota, old_frota

    s = settings_for(tmp_path, db_url)
    ids = _publish(tmp_path, s.landing, ORDER)
    old_frota(at_0005, "--database", db_url, "db", "init", cwd=tmp_path)
    old_frota(at_0005, "--database", db_url, "--landing", s.landing, "load", cwd=tmp_path)
    old_columns = _columns_before_0006(db_url)
    before = {
        t: _read(db_url, f"SELECT {', '.join(cols)} FROM {t}") for t, cols in old_columns.items()
    }
    assert len(before["frota_manutencoes_historico"]) >= 4  # B, C, F, G changed records
    upgrade = new_frota("--database", db_url, "db", "upgrade", cwd=tmp_path)
    _out, err = upgrade.communicate(timeout=300)
    assert upgrade.returncode == 0, err
    after = {
        t: _read(db_url, f"SELECT {', '.join(cols)} FROM {t}") for t, cols in old_columns.items()
    }
    # Every row intact, in the columns it had; 0009 rewrote the work orders' keys (ordered).
    names = old_columns["manutencoes"]
    orders = {r[names.index("id_origem")] for r in before["manutencoes"]} - {None}
    new_key = {origin_key("erp", o): work_order_key("erp", o) for o in orders}
    assert len(new_key) >= 4
    before = {
        t: [
            tuple(
                new_key.get(v, v) if c == "chave" else v
                for c, v in zip(old_columns[t], row, strict=True)
            )
            for row in rows
        ]
        for t, rows in before.items()
    }
    assert after == before
    assert _read(db_url, "SELECT DISTINCT com_antes FROM frota_manutencoes_historico") == [(0,)]
    # Changes made before 0006 have no before-image: refused, never guessed.
    with pytest.raises(UsageError) as refused:
        undo_batch(s, ids["G"], apply=True)
    assert "0006" in str(refused.value)
    # A batch loaded after the upgrade is undone and replayed exactly.
    BATCHES["H"] = {
        "veiculos": ["QRS4T56,Van,ativo,10,2026-01-01"],
        "manutencoes": ["QRS4T56,Revisão,2026-02-02,75.00,20,preventiva,2026-02-02,OS-10"],
    }
    try:
        h = _publish(tmp_path / "h", s.landing, ["H"])["H"]
    finally:
        del BATCHES["H"]
    load_pending(s, today=TODAY)
    whole = everything(db_url)
    undo_batch(s, h, apply=True)
    assert _read(db_url, "SELECT retirado_lote IS NOT NULL FROM veiculos WHERE placa = 'QRS4T56'")[
        0
    ][0]
    replay_batch(s, h, apply=True)
    assert everything(db_url) == whole


# ---------------------------------------------------------------- the warehouse follows


def _marts(warehouse_url: str, drop: set[str]) -> dict[str, Any]:
    """Every dim, fact and mart, canonical (rows sorted, run columns and `drop` left out)."""
    from test_warehouse import TABLES, read_tables
    from test_warehouse_history import RUN_COLUMNS, _rows

    tables = read_tables(warehouse_url, TABLES)
    return {
        name: _rows(df.drop(columns=[c for c in df.columns if c in drop | RUN_COLUMNS]))
        for name, df in tables.items()
    }


def _same(a: dict[str, Any], b: dict[str, Any]) -> None:
    import pandas as pd

    assert a.keys() == b.keys()
    for name in a:
        pd.testing.assert_frame_equal(a[name], b[name], obj=name)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouses(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, str]]:
    """Two empty warehouses on one engine: the one that follows, and the clean one."""
    from test_warehouse_history import _warehouses

    made = _warehouses(request, tmp_path)
    yield next(made)
    next(made, None)


def test_the_warehouse_follows_an_undo_and_a_replay(
    tmp_path: Path, warehouses: tuple[str, str]
) -> None:
    """Built batch by batch (DuckDB, PostgreSQL): after undo --cascade B it equals a warehouse
    built from a database that never loaded B, C, D (ids aside: that database numbered its
    records otherwise); after the replay, every dim, fact and mart is what it was."""
    from test_warehouse_support import at

    from frota.warehouse import build_warehouse

    url = f"sqlite:///{tmp_path / 'frota.db'}"
    s, ids = _story(tmp_path, url)
    warehouse, clean = warehouses
    dbt_dir = tmp_path / "dbt"

    def build(database: str = url, target: str = warehouse, folder: Path = dbt_dir) -> None:
        build_warehouse(at(database, target), dbt_dir=folder)

    build()
    before = _marts(warehouse, set())
    assert len(before["fct_manutencoes"]) == 7  # OS-1 to OS-6 (released by D) and OS-8
    undo_batch(s, ids["B"], cascade=True, apply=True)
    build()
    never = f"sqlite:///{tmp_path / 'never.db'}"
    _fresh(tmp_path, s.landing, never, ids, ["A", "F", "G"])
    build(never, clean, tmp_path / "dbt-never")
    ids_differ = {"manutencao_id", "visita_id"}
    _same(_marts(warehouse, ids_differ), _marts(clean, ids_differ))
    replay_batch(s, ids["B"], cascade=True, apply=True)
    build()
    _same(_marts(warehouse, set()), before)


# ---------------------------------------------------------------- issue 14 item 3


def test_a_corrected_quarantine_sheet_is_not_published_but_retried(story, tmp_path: Path) -> None:
    """`publish --from` a corrected quarantine sheet: refused, naming `quarantine retry --from`
    (published, its rows would load beside the held ones); the retry releases exactly them."""
    from dataclasses import replace

    from frota.errors import BadInputError
    from frota.ops.quarantine.excel import export_excel_br

    s, ids, url = story
    sheets = tmp_path / "planilhas"
    assert export_excel_br(s, sheets) == {"manutencoes": 1}  # OS-7, an impossible date
    sheet = sheets / "manutencoes.csv"
    corrected = sheet.read_bytes().decode("utf-8-sig").replace("30/02/2026", "28/02/2026")
    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "manutencoes.csv").write_bytes(("\ufeff" + corrected).encode())
    for settings in (s, replace(s, allow_extra_columns=True)):
        from frota.publish import publish_export

        with pytest.raises(BadInputError) as refused:
            publish_export(folder, settings)
        assert "quarantine sheet" in str(refused.value)
        assert "quarantine retry --from manutencoes.csv" in (refused.value.hint or "")

    code = cli_main(
        [
            "--database",
            url,
            "--landing",
            s.landing,
            "quarantine",
            "retry",
            "--from",
            str(folder / "manutencoes.csv"),
        ]
    )
    assert code == 0
    found = _read(url, "SELECT data_manutencao FROM manutencoes WHERE id_origem = 'OS-7'")
    assert [str(d) for (d,) in found] == ["2026-02-28"]  # once
    assert _read(url, "SELECT status FROM frota_quarantine WHERE reason = 'impossible_date'") == [
        ("released",)
    ]


def test_undo_and_replay_work_a_page_at_a_time(story, monkeypatch: pytest.MonkeyPatch) -> None:
    """Pages of one record (memory follows the page, not the batch): the same result."""
    from frota.ops.batches import restate

    monkeypatch.setattr(restate, "PAGE", 1)
    s, ids, url = story
    before = everything(url)
    undone = undo_batch(s, ids["B"], cascade=True, apply=True)
    b = undone.effects[-1]
    assert (b.retired, b.updated) == (2, 1)  # OS-3 and OS-4; OS-1 back to A's cost
    assert _read(url, "SELECT custo FROM manutencoes WHERE id_origem = 'OS-1'") == [(850,)]
    replay_batch(s, ids["B"], cascade=True, apply=True)
    assert everything(url) == before
