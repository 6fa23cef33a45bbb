"""A work order's key follows the order of the work orders (migration 0009): "o" + the source's
digest + ":" + the work order's bytes in hex, so one source's ascending work orders ascend in the
UNIQUE index; case and accents tell work orders apart on every backend (MariaDB's collation does
not); a database keyed by the digests of 0005–0008 is rewritten by `frota db upgrade` and then
loads the same exports as the records it holds."""

from __future__ import annotations

from hashlib import blake2b
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from batchkit import TODAY, V1_LINES, init_db, query, settings_for
from test_record_identity import Source

from frota.config import Settings
from frota.contract.identity import KEY_LENGTH, origin_key, record_key, work_order_key
from frota.db.engine import create_engine
from frota.db.migrate import schema_state, upgrade_schema
from frota.errors import ConfigError
from frota.load import load_pending


def _source_hex(source: str) -> str:
    return blake2b(source.encode("utf-8"), digest_size=8).hexdigest()


@pytest.mark.parametrize(
    ("work_order", "ordered"),
    [("OS-1", True), ("Nº 1", True), ("x" * 23, True), ("x" * 24, False), ("ç" * 12, False)],
)
def test_a_work_order_key_is_its_source_and_its_bytes(work_order: str, ordered: bool) -> None:
    key = work_order_key("oficina", work_order)
    assert len(key) <= KEY_LENGTH
    if ordered:  # the bytes, readable back
        assert key == f"o{_source_hex('oficina')}:{work_order.encode('utf-8').hex()}"
        assert bytes.fromhex(key.split(":")[1]).decode() == work_order
    else:  # too long for 64 characters: a digest, 58 characters
        assert key.startswith(f"o{_source_hex('oficina')}#") and len(key) == 58
    assert key == key.lower()
    assert key != origin_key("oficina", work_order)  # never an old key (nor a fingerprint)
    assert record_key("oficina", {"id_origem": work_order}) == key


def test_one_source_s_keys_sort_like_its_work_orders() -> None:
    orders = [f"OS-{n:05d}" for n in (3, 1, 20, 2, 10_000)] + ["OS-1", "OS-10", "A", "OS-00001x"]
    by_key = sorted(orders, key=lambda o: work_order_key("oficina", o))
    assert by_key == sorted(orders, key=lambda o: o.encode("utf-8"))
    # Two sources never interleave: each source's keys share a prefix.
    other = [work_order_key("frota2", o) for o in orders]
    assert not {k[:18] for k in other} & {work_order_key("oficina", o)[:18] for o in orders}
    assert work_order_key("", "OS-1") != work_order_key("oficina", "OS-1")


def test_work_orders_that_differ_in_case_or_accent_are_two_records(
    tmp_path: Path, db_url: str
) -> None:
    """MariaDB compares the key column ignoring case (and MySQL 8 accents): the hex keeps
    "OS-a" and "OS-A" (and "Nº1"/"No1") apart, and the same export again matches both."""
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    src = Source(tmp_path, s.landing, "oficina")
    lines = [
        f"ABC1234,Revisão,2026-01-0{n},{n}00.00,,,,{wo}"
        for n, wo in enumerate(["OS-a", "OS-A", "Nº1", "No1"], start=1)
    ]
    src.publish(lines, V1_LINES)
    src.publish(lines)
    first, again = load_pending(s, today=TODAY).loaded
    assert (first.manutencoes_inserted, again.manutencoes_present) == (4, 4)
    assert again.manutencoes_inserted == again.manutencoes_updated == 0
    stored = query(db_url, "SELECT id_origem, chave FROM manutencoes")
    assert sorted(stored) == sorted(
        (wo, work_order_key("oficina", wo)) for wo in ["OS-a", "OS-A", "Nº1", "No1"]
    )


# ---------------------------------------------------------------- upgrade from 0008

AT_0008 = "304b970"  # main at schema revision 0008 (work-order keys were digests)
LONG = "ORDEM-DE-SERVICO-2026-000123"  # 28 bytes: a digest key after 0009 too
A_EXPORT = [
    "ABC1234,Revisão,2026-01-01,100.00,,,,OS-1",
    "ABC1234,Freios,2026-01-03,300.00,,,,OS-3",
    "ABC1234,Óleo,2026-01-04,400.00,,,,OS-4",
    "ABC1234,Lavagem,2026-01-05,50.00,,,,",  # no work order: a fingerprint key
    f"ABC1234,Motor,2026-01-06,600.00,,,,{LONG}",
    "NEW1234,Pneus,2026-01-02,200.00,,,,OS-2",  # NEW1234 is not known yet: held
]
A_CORRECTED = [line.replace("300.00", "330.00") for line in A_EXPORT]  # OS-3's cost corrected
B_VEHICLE = "NEW1234,Van,Ativo,500,2025-05-05"
B_EXPORT = ["ABC1234,Pneus,2026-01-12,50.00,,,,OS-1"]  # b's own OS-1: another record
# Each record's source, as the test wrote it: (id_origem, tipo_manutencao) -> source
SOURCES = {
    ("OS-1", "Revisão"): "oficina-a",
    ("OS-3", "Freios"): "oficina-a",
    ("OS-4", "Óleo"): "oficina-a",
    (LONG, "Motor"): "oficina-a",
    ("OS-2", "Pneus"): "oficina-a",  # stored by b's batch, which brought its vehicle
    ("OS-1", "Pneus"): "oficina-b",
}
TABLES = (
    "veiculos",
    "manutencoes",
    "frota_batches",
    "frota_quarantine",
    "frota_manutencoes_historico",
    "frota_veiculos_historico",
)


@pytest.fixture(scope="module")
def at_0008(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from test_db_migrations import source_at

    return source_at(AT_0008, tmp_path_factory)


def _counts(db_url: str) -> dict[str, int]:
    return {t: query(db_url, f"SELECT COUNT(*) FROM {t}")[0][0] for t in TABLES}  # noqa: S608


def _upgrade(db_url: str, cwd: Path) -> tuple[int, str, str]:
    from test_db_migrations import new_frota

    proc = new_frota("--database", db_url, "db", "upgrade", cwd=cwd)
    out, err = proc.communicate(timeout=300)
    return proc.returncode, out, err


def _made_at_0008(at_0008: Path, tmp_path: Path, db_url: str) -> tuple[Settings, Source, Source]:
    """A database made and loaded by frota at 0008: a's export (with a held row), b's (which
    releases it, and its own OS-1), then a's corrected export."""
    from test_db_migrations import old_frota

    s = settings_for(tmp_path, db_url)
    old_frota(at_0008, "--database", db_url, "db", "init", cwd=tmp_path)
    a, b = Source(tmp_path, s.landing, "oficina-a"), Source(tmp_path, s.landing, "oficina-b")
    a.publish(A_EXPORT, V1_LINES, minute=1)
    b.publish(B_EXPORT, [B_VEHICLE], minute=2)  # releases a's OS-2
    a.publish(A_CORRECTED, minute=3)  # an 'update' in the history
    old_frota(at_0008, "--database", db_url, "--landing", s.landing, "load", cwd=tmp_path)
    return s, a, b


def _expected_keys(db_url: str) -> list[tuple[Any, ...]]:
    """Every record's key as the test expects it after 0009 (fingerprints as they are)."""
    found = query(db_url, "SELECT id, id_origem, tipo_manutencao, chave FROM manutencoes")
    return sorted(
        (i, work_order_key(SOURCES[o, t], o) if o else k) for i, o, t, k in found
    )  # fmt: skip


def test_a_0008_database_gets_ordered_keys_and_keeps_its_records(
    at_0008: Path, tmp_path: Path, db_url: str
) -> None:
    s, a, b = _made_at_0008(at_0008, tmp_path, db_url)
    columns = "id, id_origem, tipo_manutencao, chave, custo, lote_id, lote_origem"
    before = query(db_url, f"SELECT {columns} FROM manutencoes ORDER BY id")  # noqa: S608
    assert len(before) == 7
    assert all(k == origin_key(SOURCES[o, t], o) for _i, o, t, k, *_ in before if o)
    counts = _counts(db_url)
    assert counts["frota_manutencoes_historico"] == 1

    code, _out, err = _upgrade(db_url, tmp_path)
    assert code == 0, err
    after = query(db_url, f"SELECT {columns} FROM manutencoes ORDER BY id")  # noqa: S608
    assert _counts(db_url) == counts
    for old, new in zip(before, after, strict=True):
        row_id, work_order, kind, key = new[:4]
        assert (old[:3], old[4:]) == (new[:3], new[4:])  # only the key changed
        if work_order:
            assert key == work_order_key(SOURCES[work_order, kind], work_order)
        else:
            assert key == old[3] and key.startswith("f")
    keys = {k for _i, _o, _t, k, *_ in after}
    history = query(
        db_url, "SELECT h.chave, h.id_origem, m.id_origem FROM frota_manutencoes_historico h "
        "LEFT JOIN manutencoes m ON m.chave = h.chave"
    )  # fmt: skip
    assert [(k in keys, o, m) for k, o, m in history] == [(True, "OS-3", "OS-3")]

    # The same exports again, as new batches (rows in another order: publish would refuse
    # identical content): every row is a record already there.
    a.publish(A_CORRECTED[::-1], minute=4)
    b.publish(B_EXPORT, minute=5)
    again = load_pending(s, today=TODAY).loaded
    assert [(x.manutencoes_inserted, x.manutencoes_updated) for x in again] == [(0, 0), (0, 0)]
    assert [x.manutencoes_present for x in again] == [6, 1]
    # A correction after the upgrade updates its record.
    a.publish([line.replace("400.00", "440.00") for line in A_CORRECTED], minute=6)
    [fixed] = load_pending(s, today=TODAY).loaded
    assert (fixed.manutencoes_inserted, fixed.manutencoes_updated) == (0, 1)
    assert query(db_url, "SELECT COUNT(*) FROM manutencoes")[0][0] == 7
    [(custo, key)] = query(db_url, "SELECT custo, chave FROM manutencoes WHERE id_origem = 'OS-4'")
    assert (f"{float(custo):.2f}", key) == ("440.00", work_order_key("oficina-a", "OS-4"))


def test_a_key_no_source_made_stops_the_upgrade_and_changes_nothing(db_url: str) -> None:
    """Forged: a record keyed by a source no batch names. The upgrade must not guess (the next
    export with that work order would become a second record): it names the rows and stops."""
    engine = create_engine(db_url)
    try:
        upgrade_schema(engine, "0008_maintenance_origin_batch")
        forged = origin_key("nobody", "OS-7")
        with engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO veiculos (placa) VALUES ('ABC1234')"))
            conn.execute(
                sa.text(
                    "INSERT INTO manutencoes (id, placa_veiculo, id_origem, chave, lote_id) "
                    "VALUES (5, 'ABC1234', 'OS-7', :k, 'nowhere')"
                ),
                {"k": forged},
            )
        with pytest.raises(ConfigError) as stopped:
            upgrade_schema(engine)
        message = str(stopped.value)
        assert "1 maintenance key(s)" in message and "manutencoes ids 5;" in message
        assert "(0009) stopped and changed nothing" in message
        assert "frota db upgrade" in message
        with engine.connect() as conn:
            assert schema_state(conn).current == "0008_maintenance_origin_batch"
        assert query(db_url, "SELECT chave FROM manutencoes") == [(forged,)]
    finally:
        engine.dispose()


@pytest.mark.parametrize("joined", [True, False], ids=["update-from", "before-3.33"])
def test_the_sqlite_update_sets_each_row_s_new_key(joined: bool) -> None:
    """0009's joined UPDATE on SQLite, and the correlated form SQLite before 3.33 gets: each row
    listed takes its new key, the others keep theirs."""
    import importlib.util

    from frota.db.migrate import MIGRATIONS

    path = MIGRATIONS / "versions" / "0009_ordered_work_order_keys.py"
    spec = importlib.util.spec_from_file_location("migration_0009", path)
    assert spec is not None and spec.loader is not None
    migration = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(migration)
    engine = sa.create_engine("sqlite://")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (id INTEGER PRIMARY KEY, chave TEXT UNIQUE)"))
        conn.execute(sa.text("CREATE TEMP TABLE k (id INTEGER PRIMARY KEY, chave TEXT)"))
        rows = [{"id": i, "chave": f"old{i}"} for i in range(1, 6)]
        conn.execute(sa.text("INSERT INTO t VALUES (:id, :chave)"), rows)
        new = [{"id": i, "chave": f"new{i}"} for i in (2, 3, 5)]
        conn.execute(sa.text("INSERT INTO k VALUES (:id, :chave)"), new)
        conn.execute(sa.text(migration._update("sqlite", "t", "k", joined=joined)))
        found = conn.execute(sa.text("SELECT id, chave FROM t ORDER BY id")).all()
    assert [tuple(r) for r in found] == [
        (1, "old1"), (2, "new2"), (3, "new3"), (4, "old4"), (5, "new5")
    ]  # fmt: skip


@pytest.mark.slow
def test_an_upgrade_killed_inside_0009_reruns_to_the_same_keys(
    at_0008: Path, tmp_path: Path, db_url: str
) -> None:
    """SIGKILLed after the history's UPDATE, then after the records' (MariaDB: one InnoDB
    transaction, no DDL): nothing of it stays, and the rerun rewrites every key."""
    from test_db_migrations import _kill_upgrade, _rerun_upgrade

    _made_at_0008(at_0008, tmp_path, db_url)
    keys = "SELECT id, chave FROM manutencoes ORDER BY id"
    history = "SELECT id, chave FROM frota_manutencoes_historico ORDER BY id"
    before = (query(db_url, keys), query(db_url, history))
    expected = _expected_keys(db_url)
    assert [(i, k) for i, k in before[0]] != expected
    for nth in (1, 2):
        assert _kill_upgrade(db_url, nth, tmp_path), nth
        assert (query(db_url, keys), query(db_url, history)) == before
    _rerun_upgrade(db_url, tmp_path)
    assert [tuple(r) for r in query(db_url, keys)] == expected
    [(history_key,)] = query(db_url, "SELECT chave FROM frota_manutencoes_historico")
    assert history_key == work_order_key("oficina-a", "OS-3")
