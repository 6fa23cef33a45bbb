"""The loader's promises, on SQLite, MariaDB and PostgreSQL: exactly once, newer wins,
late-arriving vehicles, one loader at a time, broken batches refused whole."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest
import sqlalchemy as sa
from batchkit import TODAY, init_db, publish_lines, query, settings_for

from frota.db.engine import create_engine
from frota.db.lock import load_lock
from frota.errors import ConfigError, LockHeld
from frota.load import load_pending
from frota.warehouse import replicate_only

V1 = [
    "ABC1234,Caminhão Toco,ativo,120000,2019-03-01",
    "BRA2E19,Van,ativo,45000,2021-07-15",
]
M1 = [
    "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-05",
    "BRA2E19,Freios,2026-01-06,1234.56,44800,corretiva,2026-01-09",
]


def counts(url: str) -> tuple[int, int, int]:
    (v,), (m,), (b,) = (
        query(url, "SELECT COUNT(*) FROM veiculos")[0],
        query(url, "SELECT COUNT(*) FROM manutencoes")[0],
        query(url, "SELECT COUNT(*) FROM frota_batches")[0],
    )
    return v, m, b


def test_loads_once_and_rerun_is_a_noop(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    publish_lines(tmp_path, s.landing, 1, V1, M1)
    first = load_pending(s, today=TODAY)
    assert [b.rows_read for b in first.loaded] == [4]
    assert counts(db_url) == (2, 2, 1)
    second = load_pending(s, today=TODAY)
    assert second.loaded == () and second.rejected == ()
    assert counts(db_url) == (2, 2, 1)
    custo = query(db_url, "SELECT custo FROM manutencoes WHERE placa_veiculo = 'BRA2E19'")[0][0]
    assert Decimal(str(custo)) == Decimal("1234.56")
    lineage = query(db_url, "SELECT DISTINCT lote_id FROM manutencoes")
    assert lineage == [(first.loaded[0].batch_id,)]


def test_batches_load_oldest_first_and_newer_state_wins(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    publish_lines(tmp_path, s.landing, 2, ["ABC1234,Caminhão Toco,em manutenção,130000,2019-03-01"])
    publish_lines(tmp_path, s.landing, 1, V1)
    result = load_pending(s, today=TODAY)
    assert [b.batch_id[:15] for b in result.loaded] == ["20260110T120100", "20260110T120200"]
    assert query(
        db_url, "SELECT status, quilometragem_total FROM veiculos WHERE placa='ABC1234'"
    ) == [("em manutenção", 130000)]


def test_older_batch_arriving_late_never_overwrites(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    publish_lines(tmp_path, s.landing, 5, ["ABC1234,Caminhão Toco,inativo,150000,2019-03-01"])
    load_pending(s, today=TODAY)
    publish_lines(tmp_path, s.landing, 1, V1)  # created earlier, arrives later
    late = load_pending(s, today=TODAY).loaded[0]
    assert (late.veiculos_stale, late.veiculos_inserted) == (1, 1)
    assert query(
        db_url, "SELECT status, quilometragem_total FROM veiculos WHERE placa='ABC1234'"
    ) == [("inativo", 150000)]


def test_odometer_never_goes_back(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    publish_lines(tmp_path, s.landing, 1, V1)
    publish_lines(tmp_path, s.landing, 2, ["ABC1234,Caminhão Toco,ativo,100,2019-03-01"])
    result = load_pending(s, today=TODAY)
    assert result.loaded[1].quarantined == 1
    assert query(db_url, "SELECT quilometragem_total FROM veiculos WHERE placa='ABC1234'") == [
        (120000,)
    ]
    assert query(db_url, "SELECT reason FROM frota_quarantine") == [("odometer_regressed",)]


def test_a_newer_batch_rewrites_thousands_of_vehicles_in_place(tmp_path: Path, db_url: str) -> None:
    """Across upsert chunks (MariaDB: multi-row statements, vehicles.py), each plate gets its
    own new state, a blank odometer keeps the known one, a lower one is held, and every
    state applied is in the history."""
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    n = 2_500
    plates = [f"ABC{i:04d}" for i in range(n)]
    held = {i for i in range(n) if i % 40 == 7}  # a lower odometer
    km = {i: "5" if i in held else "" if i % 3 == 0 else str(20_000 + i) for i in range(n)}
    publish_lines(
        tmp_path,
        s.landing,
        1,
        [f"{p},Van,ativo,{10_000 + i},2020-01-01" for i, p in enumerate(plates)],
    )
    newer = [
        f"{p},Caminhão,em manutenção,{km[i]},2020-01-0{1 + i % 2}" for i, p in enumerate(plates)
    ]
    publish_lines(tmp_path, s.landing, 2, newer)
    first, second = load_pending(s, today=TODAY).loaded
    assert (second.veiculos_updated, second.quarantined) == (n - len(held), len(held))
    old = [
        (p, "Van", "ativo", 10_000 + i, "2020-01-01", first.batch_id) for i, p in enumerate(plates)
    ]
    new = [
        (
            p,
            "Caminhão",
            "em manutenção",
            int(km[i] or 10_000 + i),
            f"2020-01-0{1 + i % 2}",
            second.batch_id,
        )
        for i, p in enumerate(plates)
    ]
    columns = "placa, tipo_veiculo, status, quilometragem_total, data_aquisicao, lote_id"
    rows = query(db_url, f"SELECT {columns} FROM veiculos ORDER BY placa")
    assert [(*r[:4], str(r[4]), r[5]) for r in rows] == [
        old[i] if i in held else new[i] for i in range(n)
    ]
    assert query(
        db_url,
        "SELECT COUNT(*) FROM veiculos v JOIN frota_batches b ON b.batch_id = v.lote_id "
        "WHERE v.vigente_desde = b.as_of AND v.ordem = b.ordem AND v.retirado_lote IS NULL",
    ) == [(n,)]
    history = query(
        db_url, f"SELECT aplicacao, {columns} FROM frota_veiculos_historico ORDER BY id"
    )
    assert [(r[0], *r[1:5], str(r[5]), r[6]) for r in history] == [
        *(("insert", *row) for row in old),
        *(("update", *new[i]) for i in range(n) if i not in held),
    ]


def test_late_arriving_vehicle_is_held_then_released(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    publish_lines(tmp_path, s.landing, 1, manutencoes=M1[:1])
    first = load_pending(s, today=TODAY).loaded[0]
    assert (first.manutencoes_inserted, first.quarantined) == (0, 1)
    held = query(db_url, "SELECT reason, placa, status, line FROM frota_quarantine")
    assert held == [("vehicle_unknown", "ABC1234", "held", 2)]
    publish_lines(tmp_path, s.landing, 2, V1[:1])
    second = load_pending(s, today=TODAY).loaded[0]
    assert second.released == 1
    assert query(db_url, "SELECT placa_veiculo, lote_id FROM manutencoes") == [
        ("ABC1234", second.batch_id)
    ]
    assert query(db_url, "SELECT status, released_batch_id FROM frota_quarantine") == [
        ("released", second.batch_id)
    ]
    # A third load releases nothing twice.
    publish_lines(tmp_path, s.landing, 3, ["ABC1234,Caminhão Toco,ativo,125000,2019-03-01"])
    load_pending(s, today=TODAY)
    assert counts(db_url)[1] == 1
    # The warehouse finds the released row by primary key: the ledger counts it as released.
    replicated = replicate_only(s.with_overrides(warehouse=f"duckdb:///{tmp_path / 'wh.duckdb'}"))
    assert replicated.rows["manutencoes"] == 1 and replicated.reread == ()


def test_a_padded_row_waiting_for_its_vehicle_is_released(tmp_path: Path, sqlite_url: str) -> None:
    """Cells padded past what the quarantine stores still parse (parse_row strips them): the
    row is kept stripped and loads when its vehicle arrives. A row an older frota stored
    without values stays held instead of failing every later load."""
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    padded = "ABC1234,Freios" + " " * 17_000 + ",2026-01-02,10.00,5,,"
    publish_lines(tmp_path, s.landing, 1, manutencoes=[padded, M1[0]])
    load_pending(s, today=TODAY)
    engine = create_engine(sqlite_url)
    with engine.begin() as conn:  # as an older frota stored the second row
        conn.execute(sa.text("UPDATE frota_quarantine SET values_json = NULL WHERE line = 3"))
    engine.dispose()
    publish_lines(tmp_path, s.landing, 2, V1[:1])
    [second] = load_pending(s, today=TODAY).loaded
    assert second.released == 1
    assert query(sqlite_url, "SELECT tipo_manutencao FROM manutencoes") == [("Freios",)]
    assert query(sqlite_url, "SELECT line, status FROM frota_quarantine ORDER BY line") == [
        (2, "released"),
        (3, "held"),
    ]


def test_lock_held_makes_a_second_loader_exit(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    publish_lines(tmp_path, s.landing, 1, V1, M1)
    engine = create_engine(db_url)
    try:
        with engine.connect() as holder, load_lock(holder):
            with pytest.raises(LockHeld) as err:
                load_pending(s, today=TODAY)
            assert err.value.exit_code == 4
            assert "another frota load is running" in str(err.value)
    finally:
        engine.dispose()
    assert counts(db_url) == (0, 0, 0)
    assert len(load_pending(s, today=TODAY).loaded) == 1


def test_checksum_mismatch_rejects_the_whole_batch(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    pub = publish_lines(tmp_path, s.landing, 1, V1, M1)
    path = Path(s.landing) / "batches" / pub.batch_id / "manutencoes.csv"
    data = path.read_bytes()
    path.write_bytes(data.replace(b"850.00", b"950.00"))  # same size, different bytes
    result = load_pending(s, today=TODAY)
    assert result.loaded == ()
    [rejected] = result.rejected
    assert "checksum mismatch" in str(rejected) and "manutencoes.csv" in str(rejected)
    assert rejected.exit_code == 3
    assert counts(db_url) == (0, 0, 0)  # the vehicles of that batch were rolled back too


def test_size_mismatch_is_rejected_before_reading(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    pub = publish_lines(tmp_path, s.landing, 1, V1, M1)
    with open(Path(s.landing) / "batches" / pub.batch_id / "veiculos.csv", "a") as fh:
        fh.write("XYZ9999,Van,ativo,1,2020-01-01\n")
    result = load_pending(s, today=TODAY)
    assert "manifest says" in str(result.rejected[0])
    assert counts(db_url) == (0, 0, 0)


def test_incomplete_batch_is_skipped_until_complete(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    pub = publish_lines(tmp_path, s.landing, 1, V1, M1)
    manifest = Path(s.landing) / "batches" / pub.batch_id / "_manifest.json"
    saved = manifest.read_text()
    manifest.unlink()  # as if the publisher died before writing it
    result = load_pending(s, today=TODAY)
    assert result.loaded == () and result.incomplete[0][0] == pub.batch_id
    assert counts(db_url) == (0, 0, 0)
    manifest.write_text(saved)
    assert len(load_pending(s, today=TODAY).loaded) == 1
    assert counts(db_url) == (2, 2, 1)


def test_conflicting_duplicates_are_both_held(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    publish_lines(tmp_path, s.landing, 1, [*V1, "ABC1234,Van,ativo,1,2020-01-01", V1[1]])
    [batch] = load_pending(s, today=TODAY).loaded
    assert (batch.veiculos_inserted, batch.quarantined, batch.duplicates) == (1, 2, 1)
    rows = query(db_url, "SELECT reason, line FROM frota_quarantine ORDER BY line")
    assert rows == [("conflicting_duplicate", 2), ("conflicting_duplicate", 4)]
    assert batch.rows_read == batch.veiculos_inserted + batch.quarantined + batch.duplicates


def test_bad_rows_are_quarantined_with_reason_and_line(tmp_path: Path, db_url: str) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    publish_lines(
        tmp_path,
        s.landing,
        1,
        V1,
        [
            *M1,
            "ABC1234,Pneus,2026-02-30,100.00,,corretiva,",
            "ABC1234,Pneus,2026-02-03,-5.00,,corretiva,",
            "ABC1234,Pneus,2099-01-01,5.00,,corretiva,",
            "ABC1234,Pneus,2026-02-03,5.00",
        ],
    )
    [batch] = load_pending(s, today=TODAY).loaded
    assert batch.manutencoes_inserted == 2 and batch.quarantined == 4
    rows = query(
        db_url, "SELECT line, reason, column_name, raw FROM frota_quarantine ORDER BY line"
    )
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (4, "impossible_date", "data_manutencao"),
        (5, "negative_value", "custo"),
        (6, "future_date", "data_manutencao"),
        (7, "ragged_row", None),
    ]
    assert rows[0][3] == "ABC1234,Pneus,2026-02-30,100.00,,corretiva,"
    values = query(db_url, "SELECT values_json FROM frota_quarantine WHERE line = 4")[0][0]
    assert json.loads(values)["tipo_manutencao"] == "Pneus"


def test_load_without_schema_names_the_fix(tmp_path: Path, sqlite_url: str) -> None:
    s = settings_for(tmp_path, sqlite_url)
    with pytest.raises(ConfigError, match="frota db init"):
        load_pending(s, today=TODAY)


@pytest.mark.mysql
def test_lock_connection_lost_before_commit_rolls_back(tmp_path: Path, mysql_url: str) -> None:
    """If the load connection's session lock is gone, the batch must not commit."""
    from frota.db import lock as lock_module

    init_db(mysql_url)
    s = settings_for(tmp_path, mysql_url)
    publish_lines(tmp_path, s.landing, 1, V1, M1)
    original = lock_module.still_held

    def release_then_check(conn: sa.Connection) -> bool:
        conn.execute(sa.text("SELECT RELEASE_LOCK(:n)"), {"n": lock_module._mysql_name(conn)})
        return original(conn)

    lock_module.still_held = release_then_check
    import frota.load.transaction as tx

    tx.still_held = release_then_check
    try:
        with pytest.raises(LockHeld, match="rolled back"):
            load_pending(s, today=TODAY)
    finally:
        lock_module.still_held = original
        tx.still_held = original
    assert counts(mysql_url) == (0, 0, 0)
