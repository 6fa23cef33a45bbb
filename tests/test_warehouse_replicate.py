"""Replication into the warehouse `raw` schema: exactly once, crash-safe, bounded scans, errors.

No dbt here (fast), except one build that must fail naming the broken test.
"""

from __future__ import annotations

import hashlib
import shutil
import threading
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from test_warehouse import read_tables
from test_warehouse_support import Fleet, at, load_batch

from frota.contract.categories import Categories
from frota.db import schema
from frota.db.engine import create_engine
from frota.db.migrate import upgrade_schema
from frota.errors import ConfigError, DatabaseUnreachable
from frota.warehouse import WarehouseError, build_warehouse, replicate_only, transform
from frota.warehouse.categories import mark_built, write_categories
from frota.warehouse.raw import LAYOUT
from frota.warehouse.target import WarehouseConnection, pipelined, warehouse_target


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request, tmp_path) -> str:
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'wh.duckdb'}"
    base = request.getfixturevalue("pg_database")
    # A fresh schema set per test: drop what an earlier test replicated.
    eng = sa.create_engine(base.replace("postgresql://", "postgresql+psycopg://"))
    with eng.begin() as conn:
        conn.exec_driver_sql("DROP SCHEMA IF EXISTS raw CASCADE")
    eng.dispose()
    return base


@pytest.fixture
def operational(tmp_path):
    url = f"sqlite:///{tmp_path / 'frota.db'}"
    engine = create_engine(url)
    upgrade_schema(engine)
    yield url, engine, Fleet(seed=5)
    engine.dispose()


def raw_counts(warehouse_url: str) -> dict[str, int]:
    names = ["frota_veiculos_historico", "manutencoes", "frota_replicated_batches"]
    tables = read_tables(warehouse_url, names, "raw")
    return {name: len(df) for name, df in tables.items()}


def history_rows(engine: sa.Engine) -> int:
    """Vehicle states in the operational history: what the warehouse copies, all of them."""
    with engine.connect() as conn:
        return conn.execute(sa.select(sa.func.count()).select_from(schema.vehicle_history)).one()[0]


def test_exactly_once_across_reruns(warehouse_url, operational) -> None:
    url, engine, fleet = operational
    load_batch(engine, fleet.next_batch(10, 0, 50))
    load_batch(engine, fleet.next_batch(2, 4, 30))
    first = replicate_only(at(url, warehouse_url))
    states = history_rows(engine)
    assert states > 12  # a vehicle changed in the second batch has two states, both copied
    assert len(first.batches) == 2 and first.rows == {"veiculos": states, "manutencoes": 80}
    assert replicate_only(at(url, warehouse_url)).batches == ()
    load_batch(engine, fleet.next_batch(0, 3, 7))
    third = replicate_only(at(url, warehouse_url))
    assert len(third.batches) == 1 and third.rows["manutencoes"] == 7
    assert first.reread == third.reread == ()  # found by primary key, above what is replicated
    assert third.replication_seq == first.replication_seq + 1
    assert third.rows["veiculos"] == history_rows(engine) - states > 0
    assert raw_counts(warehouse_url) == {
        "frota_veiculos_historico": history_rows(engine),
        "manutencoes": 87,
        "frota_replicated_batches": 3,
    }


def test_ids_sqlite_hands_out_again_are_still_replicated(warehouse_url, operational) -> None:
    url, engine, fleet = operational
    load_batch(engine, fleet.next_batch(10, 0, 50))
    replicate_only(at(url, warehouse_url))
    with engine.begin() as conn:  # the newest rows deleted: SQLite reuses their ids
        conn.execute(sa.text("DELETE FROM manutencoes WHERE id > 40"))
    batch = fleet.next_batch(0, 2, 30)
    load_batch(engine, batch)
    result = replicate_only(at(url, warehouse_url))
    assert result.reread == (batch["batch_id"],) and result.rows["manutencoes"] == 30
    assert raw_counts(warehouse_url)["manutencoes"] == 80
    m = read_tables(warehouse_url, ["manutencoes"], "raw")["manutencoes"]
    assert (m["lote_id"] == batch["batch_id"]).sum() == 30


def test_pages_of_id_ranges_copy_every_row_once_and_count_it(
    warehouse_url, operational, monkeypatch
) -> None:
    """SQLite's rows come in pages of id ranges (frota.warehouse.replicate._joined_pages):
    ranges with gaps (one wider than a page, one of 10^12 ids), a page that ends where the last
    replication stopped, rows of other batches in between; the warehouse counts each batch's
    rows and completions."""
    monkeypatch.setattr("frota.warehouse.replicate.PAGE_ROWS", 7)
    url, engine, fleet = operational
    load_batch(engine, fleet.next_batch(10, 0, 30))
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM manutencoes WHERE id BETWEEN 13 AND 21 OR id = 3"))
        conn.execute(sa.text("UPDATE manutencoes SET id = 1000000000000 WHERE id = 30"))
        conn.execute(sa.text("UPDATE frota_batches SET manutencoes_inserted = 20"))
    first = replicate_only(at(url, warehouse_url))
    assert first.rows["manutencoes"] == 20 and first.reread == ()
    for rows in (9, 14):
        load_batch(engine, fleet.next_batch(0, 1, rows))
    second = replicate_only(at(url, warehouse_url))
    assert second.rows["manutencoes"] == 23 and second.reread == ()
    with engine.connect() as conn:
        source = conn.execute(
            sa.text(
                "SELECT lote_id, count(*), count(data_conclusao) FROM manutencoes GROUP BY lote_id"
            )
        ).all()
        ids = sorted(r[0] for r in conn.execute(sa.text("SELECT id FROM manutencoes")))
    tables = read_tables(warehouse_url, ["manutencoes", "frota_replicated_batches"], "raw")
    assert sorted(tables["manutencoes"]["id"]) == ids  # each row once, none missed
    ledger = tables["frota_replicated_batches"]
    counted = ledger[["batch_id", "manutencoes_rows", "manutencoes_concluidas"]]
    assert sorted(map(tuple, counted.itertuples(index=False))) == sorted(map(tuple, source))
    assert sum(done for _, _, done in source) > 0


def test_crash_mid_replication_leaves_warehouse_as_before(
    warehouse_url, operational, monkeypatch
) -> None:
    url, engine, fleet = operational
    load_batch(engine, fleet.next_batch(8, 0, 40))
    replicate_only(at(url, warehouse_url))
    before = raw_counts(warehouse_url)
    load_batch(engine, fleet.next_batch(3, 3, 20))

    def crashing(real):
        def copy_json(self, table, columns, pages, fixed=()):
            if table == "frota_veiculos_historico":  # the maintenances are copied by now
                raise KeyboardInterrupt("killed")
            return real(self, table, columns, pages, fixed)

        return copy_json

    for cls in WarehouseConnection.__subclasses__():
        monkeypatch.setattr(cls, "copy_json", crashing(cls.copy_json))
    with pytest.raises(KeyboardInterrupt):
        replicate_only(at(url, warehouse_url))
    assert raw_counts(warehouse_url) == before
    monkeypatch.undo()
    again = replicate_only(at(url, warehouse_url))
    assert again.rows["manutencoes"] == 20
    assert raw_counts(warehouse_url)["manutencoes"] == before["manutencoes"] + 20


def test_scan_is_bounded_to_recent_ledger_rows(tmp_path, operational) -> None:
    """Ledger rows older than the newest replicated one minus the margin are not even read."""
    url, engine, fleet = operational
    warehouse_url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    now = datetime.now(UTC).replace(tzinfo=None)
    load_batch(engine, fleet.next_batch(5, 0, 10), loaded_at=now - timedelta(days=30))
    load_batch(engine, fleet.next_batch(1, 1, 10), loaded_at=now)
    assert len(replicate_only(at(url, warehouse_url)).batches) == 2
    statements: list[str] = []

    def spy(_conn, _cursor, statement, *_args):  # what replication asks the ledger
        statements.append(statement)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", spy)
    try:
        assert replicate_only(at(url, warehouse_url)).batches == ()
    finally:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", spy)
    ledger_reads = [s for s in statements if "frota_batches" in s]
    assert ledger_reads and all("loaded_at >=" in s for s in ledger_reads)


def test_unreachable_databases(tmp_path) -> None:
    with pytest.raises(DatabaseUnreachable, match="not found"):
        missing = f"sqlite:///{tmp_path / 'missing.db'}"
        replicate_only(at(missing, f"duckdb:///{tmp_path / 'w.duckdb'}"))
    ok = f"sqlite:///{tmp_path / 'frota.db'}"
    upgrade_schema(create_engine(ok))
    with pytest.raises(DatabaseUnreachable, match="PostgreSQL warehouse"):
        replicate_only(at(ok, "postgresql://postgres@127.0.0.1:1/nothing"))


def test_dbt_failure_names_the_failing_test(tmp_path, operational) -> None:
    url, engine, fleet = operational
    warehouse_url = f"duckdb:///{tmp_path / 'wh.duckdb'}"
    batch = fleet.next_batch(5, 0, 10)
    batch["manutencoes"][0]["categoria"] = "urgente"  # not an accepted value
    load_batch(engine, batch)
    with pytest.raises(WarehouseError) as info:
        build_warehouse(at(url, warehouse_url), freshness=False, dbt_dir=tmp_path / "dbt")
    assert info.value.exit_code == 8
    assert "integridade_stg_frota__manutencoes" in str(info.value)  # its checks, one test
    # what its rows found, though the test reads only the rows replicated since the last build
    assert "model stg_frota__manutencoes: categoria has a value not accepted in 1 row" in str(
        info.value
    )
    assert any("integridade" in f for f in info.value.failures)
    # The file is released: a copy opens, and the raw layer kept the batch (replicated once).
    shutil.copy(tmp_path / "wh.duckdb", tmp_path / "copy.duckdb")
    assert raw_counts(warehouse_url)["frota_replicated_batches"] == 1
    with pytest.raises(WarehouseError):
        transform(at(url, warehouse_url), freshness=False, dbt_dir=tmp_path / "dbt")


def test_a_changed_category_means_full_refreshes_until_a_build_succeeds(
    warehouse_url, operational
) -> None:
    """raw.frota_categorias: every raw word classified by frota.contract.categories; a word
    already built that changes category forces full refreshes until a build succeeds."""
    url, engine, fleet = operational
    batch = fleet.next_batch(6, 0, 40)
    load_batch(engine, batch)
    replicate_only(at(url, warehouse_url))
    plain, freios = Categories(), Categories((("tipo_manutencao", "Freios", "preventiva"),))
    with warehouse_target(at(url, warehouse_url)).connect() as wh:
        assert write_categories(wh, plain) is False  # a new warehouse: nothing built yet
        words = {(c, w): k for c, w, k, _ in wh.execute("SELECT * FROM raw.frota_categorias")}
        assert words[("tipo_manutencao", "Freios")] == "corretiva"
        if any(m["tipo_manutencao"] is None for m in batch["manutencoes"]):
            assert words[("tipo_manutencao", "")] == "corretiva"  # a missing word is ''
        mark_built(wh)
        assert write_categories(wh, plain) is False  # nothing changed
        assert write_categories(wh, freios) is True  # a built word changed category
        assert write_categories(wh, freios) is True  # that build failed: still a full refresh
        mark_built(wh)
        assert write_categories(wh, freios) is False
        assert write_categories(wh, plain) is True  # the override removed again
    newcomer = fleet.next_batch(1, 0, 0)
    newcomer["veiculos"][0]["status"] = "Cedido a terceiros"
    load_batch(engine, newcomer)
    replicate_only(at(url, warehouse_url))
    with warehouse_target(at(url, warehouse_url)).connect() as wh:
        mark_built(wh)
        assert write_categories(wh, plain) is False  # a new word: only new rows hold it
        assert ("status", "Cedido a terceiros", "ativo") in {
            row[:3] for row in wh.execute("SELECT * FROM raw.frota_categorias")
        }


def test_a_warehouse_built_before_categories_is_rebuilt_once(warehouse_url, operational) -> None:
    url, engine, fleet = operational
    load_batch(engine, fleet.next_batch(4, 0, 10))
    replicate_only(at(url, warehouse_url))
    with warehouse_target(at(url, warehouse_url)).connect() as wh, wh.transaction():
        wh.execute(
            "INSERT INTO raw.frota_dbt_builds (replication_seq, built_at) "
            "VALUES (1, current_timestamp)"
        )
    with warehouse_target(at(url, warehouse_url)).connect() as wh:
        assert write_categories(wh, Categories()) is True  # its models used dbt's own rules
        mark_built(wh)
        assert write_categories(wh, Categories()) is False


def test_a_raw_layer_of_another_layout_is_replicated_again(warehouse_url, operational) -> None:
    """The raw layer is derived data: one an earlier frota laid out differently is dropped and
    copied again whole, and the next dbt build rebuilds every model."""
    url, engine, fleet = operational
    load_batch(engine, fleet.next_batch(6, 0, 20))
    load_batch(engine, fleet.next_batch(1, 3, 10))
    assert replicate_only(at(url, warehouse_url)).rows["manutencoes"] == 30
    with warehouse_target(at(url, warehouse_url)).connect() as wh, wh.transaction():
        wh.execute("DROP TABLE raw.frota_warehouse")  # as frota left it before layouts
        wh.execute("ALTER TABLE raw.frota_replicated_batches DROP COLUMN as_of")
        wh.execute("INSERT INTO raw.frota_dbt_builds VALUES (1, current_timestamp, 'x')")
    messages: list[str] = []
    again = replicate_only(at(url, warehouse_url), progress=messages.append)
    assert len(again.batches) == 2 and again.rows["manutencoes"] == 30
    assert any("replicating every batch again" in m for m in messages)
    assert raw_counts(warehouse_url) == {
        "frota_veiculos_historico": again.rows["veiculos"],
        "manutencoes": 30,
        "frota_replicated_batches": 2,
    }
    builds = read_tables(warehouse_url, ["frota_dbt_builds"], "raw")["frota_dbt_builds"]
    assert builds.empty  # no build recorded: the next one is a full refresh


def test_an_unknown_time_zone_stops_before_any_work(tmp_path, operational) -> None:
    url, engine, fleet = operational
    load_batch(engine, fleet.next_batch(3, 0, 5))
    settings = at(url, f"duckdb:///{tmp_path / 'wh.duckdb'}").with_overrides(timezone="Mars/Base")
    with pytest.raises(ConfigError, match="Mars/Base") as info:
        build_warehouse(settings, dbt_dir=tmp_path / "dbt")
    assert info.value.exit_code == 7
    assert not (tmp_path / "wh.duckdb").exists()


def test_a_layout_2_warehouse_upgrades_to_the_vehicle_history(warehouse_url, operational) -> None:
    """A warehouse of layout 2 (vehicle snapshots in raw.veiculos, no history) is upgraded on
    its next run: the snapshots are dropped and the whole vehicle history copied, every
    state of a vehicle changed twice included."""
    url, engine, fleet = operational
    load_batch(engine, fleet.next_batch(6, 0, 20))
    load_batch(engine, fleet.next_batch(0, 3, 10))
    load_batch(engine, fleet.next_batch(0, 3, 10))
    replicate_only(at(url, warehouse_url))
    with warehouse_target(at(url, warehouse_url)).connect() as wh, wh.transaction():
        wh.execute("DROP TABLE raw.frota_veiculos_historico")
        wh.execute("CREATE TABLE raw.veiculos (placa VARCHAR(10), _replication_seq BIGINT)")
        wh.execute("INSERT INTO raw.veiculos VALUES ('ABC1234', 1)")
        wh.execute("UPDATE raw.frota_warehouse SET layout = 2")
    assert LAYOUT > 2
    messages: list[str] = []
    again = replicate_only(at(url, warehouse_url), progress=messages.append)
    assert any("replicating every batch again" in m for m in messages)
    assert len(again.batches) == 3 and again.rows["veiculos"] == history_rows(engine)
    with warehouse_target(at(url, warehouse_url)).connect() as wh:
        tables = {
            name
            for (name,) in wh.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = 'raw'"
            )
        }
        assert "veiculos" not in tables and "frota_veiculos_historico" in tables
        assert wh.execute("SELECT max(layout) FROM raw.frota_warehouse") == [(LAYOUT,)]
    h = schema.vehicle_history
    with engine.connect() as conn:
        expected = sorted(conn.execute(sa.select(h.c.id, h.c.placa, h.c.status)).all())
    raw = read_tables(warehouse_url, ["frota_veiculos_historico"], "raw")
    got = raw["frota_veiculos_historico"][["id", "placa", "status"]]
    assert sorted(map(tuple, got.itertuples(index=False))) == [tuple(r) for r in expected]


def test_a_changed_raw_table_is_a_new_layout(warehouse_url, operational, monkeypatch) -> None:
    """The layout is a digest of the raw DDL: a column the contract gains (here one more
    column in raw.manutencoes) changes it, and the warehouse is copied again, not broken."""
    url, engine, fleet = operational
    load_batch(engine, fleet.next_batch(4, 0, 10))
    replicate_only(at(url, warehouse_url))
    import frota.warehouse.raw as raw
    import frota.warehouse.target as target

    widened = [
        s.replace("_replication_seq BIGINT NOT NULL)", "_replication_seq BIGINT NOT NULL, x INT)")
        if "raw.manutencoes " in s
        else s
        for s in raw.raw_ddl()
    ]
    assert widened != raw.raw_ddl()
    new_layout = int(hashlib.sha256("\n".join(widened).encode()).hexdigest()[:15], 16) + 3
    assert new_layout != LAYOUT
    monkeypatch.setattr(target, "raw_ddl", lambda: widened)
    monkeypatch.setattr(target, "LAYOUT", new_layout)
    again = replicate_only(at(url, warehouse_url))
    assert again.rows["manutencoes"] == 10
    columns = read_tables(warehouse_url, ["manutencoes"], "raw")["manutencoes"].columns
    assert "x" in columns


def test_pipelined_copy_writes_every_page_in_order_in_another_thread() -> None:
    written: list[tuple[str, list[str]]] = []
    pages = [["a", "b"], ["c"], ["d", "e", "f"]]
    count = pipelined(iter(pages), lambda p: written.append((threading.current_thread().name, p)))
    assert count == 6
    assert [p for _, p in written] == pages
    assert {name for name, _ in written} == {"frota-copy"}  # the reader is not the writer
    assert not any(t.name == "frota-copy" for t in threading.enumerate())


def test_pipelined_copy_stops_reading_when_a_write_fails() -> None:
    """A page the warehouse refuses stops the copy with that error, without reading the
    source to its end."""
    read: list[int] = []

    def source():
        for n in range(1_000):
            read.append(n)
            yield [str(n)]

    def write(page):
        if page == ["3"]:
            raise ValueError("refused")

    with pytest.raises(ValueError, match="refused"):
        pipelined(source(), write)
    assert len(read) < 1_000
    assert not any(t.name == "frota-copy" for t in threading.enumerate())


def test_pipelined_copy_passes_on_a_failing_read_after_the_writer_stopped() -> None:
    written: list[list[str]] = []

    def source():
        yield ["a"]
        yield ["b"]
        raise KeyboardInterrupt("killed")

    with pytest.raises(KeyboardInterrupt):
        pipelined(source(), written.append)
    assert written == [["a"], ["b"]]  # what was read went in before the error came out
    assert not any(t.name == "frota-copy" for t in threading.enumerate())
