"""The dialect bulk paths (frota.load.bulk) change speed, never results: the same database
content as the generic SQLAlchemy path, the same quarantine, exactly once; and LOAD DATA LOCAL
sends nothing but the file frota wrote, over a local or verified-TLS connection only."""

from __future__ import annotations

import logging
import sqlite3
import ssl
import sys
from dataclasses import replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from batchkit import T0, TODAY, init_db, publish_lines, query, settings_for, write_batch_dir

from frota.batch import Snapshot
from frota.db.engine import create_engine
from frota.errors import ConfigError
from frota.generate import generate_batch
from frota.landing import open_landing
from frota.load import bulk, dedupe, fastpath, load_pending, transaction
from frota.load import stage as stage_module
from frota.load.bulk import base as bulk_base
from frota.load.bulk import mysql as bulk_mysql
from frota.load.bulk.base import COLUMNS
from frota.load.bulk.sqlite import DIRECT_CACHE_KIB, SqliteWriter
from frota.load.stage import stage
from frota.publish import publish_dir

OPT_IN = bulk.LOCAL_INFILE_OPT_IN
V = [
    "ABC1234,Caminhão Toco,ativo,120000,2019-03-01",
    "BRA2E19,Van,ativo,45000,2021-07-15",
]
GOOD = "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-06"
# Rows off the fast path: valid but not canonical, bad, unknown vehicle, duplicates.
MIXED = [
    GOOD,
    "BRA2E19,Freios,2026-01-06,1234.56,44800,corretiva,2026-01-09",
    'abc-1234,Troca de óleo,05/01/2026,"850,5",119500,Preventiva,',  # valid, not canonical
    'ABC1234,"Pneu, dianteiro",2026-01-07,10.5,007,,',  # comma, 1 decimal, leading zero
    "ABC1234,  Revisão  ,2026-01-08,0.00,0,corretiva,2026-01-08",  # padded text
    'ABC1234,"Barra\\invertida\tcom tab",2026-01-09,1.00,1,,',  # needs escaping
    "ABC1234,Lavagem,2026-01-10,4999999.99,4999999,preventiva,",
    "ABC1234,Lavagem,2026-01-10,5000000.01,5000001,preventiva,",  # out of range
    "XYZ9876,Troca de óleo,2026-01-05,850.00,1000,preventiva,",  # vehicle unknown
    "ABC1234,Alinhamento,2026-01-05,-1.00,1,corretiva,",  # negative
    "ABC1234,Alinhamento,2026-02-30,1.00,1,corretiva,",  # impossible date
    "ABC1234,Alinhamento,2026-01-05,1.00,1,corretiva,2026-01-04",  # ends before it starts
    "ABC1234,Alinhamento,2099-01-05,1.00,1,corretiva,",  # future
    "ABC1234,,2026-01-11,,,,",  # only the required cells
    GOOD,  # exact copy: a second record (occurrence 2)
    "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva",  # ragged
    "",
    "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-06,extra",
]


# ------------------------------------------------------------------ same content as generic


class _GenericWriter:
    """The pre-bulk path: SQLAlchemy Core executemany of dicts, chunk by chunk."""

    direct_rows = 0  # always to the stage
    repeats = None  # every staged row is checked for repeated work orders

    def __init__(
        self,
        conn: sa.Connection,
        lote_id: str,
        on_flush: Any = None,
        direct: bool = False,
        last: int = 0,
    ) -> None:
        self.conn, self.lote_id, self.buffer, self.count = conn, lote_id, [], 0
        self.staged: set[str] = set()  # exact, where the bulk writers keep a filter
        self.repeats: list[str] = []

    def add(self, row: dict[str, Any]) -> None:
        self.buffer.append({c: row.get(c) for c in COLUMNS})
        key = row.get("chave") or ""
        if key in self.staged:
            self.repeats.append(key)
        self.staged.add(key)

    def maybe_staged(self, key: str) -> bool:
        return key in self.staged

    def wait(self) -> None:
        if self.buffer:
            self.conn.execute(stage.insert(), self.buffer)
            self.count += len(self.buffer)
            self.buffer = []

    def __enter__(self) -> _GenericWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        if exc[0] is None:
            self.wait()


def _generic(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stage_module, "maintenance_writer", _GenericWriter)
    monkeypatch.setattr(fastpath.CanonicalLine, "cells", lambda self, line: None)


def _content(url: str) -> dict[str, list[tuple]]:
    return {
        "veiculos": query(
            url,
            "SELECT placa, tipo_veiculo, status, quilometragem_total, data_aquisicao "
            "FROM veiculos ORDER BY placa",
        ),
        "manutencoes": query(
            url,
            "SELECT id, placa_veiculo, tipo_manutencao, data_manutencao, custo, quilometragem, "
            "categoria, data_conclusao, lote_id, id_origem, chave FROM manutencoes ORDER BY id",
        ),
        "quarantine": query(
            url,
            "SELECT batch_id, table_name, line, column_name, reason, detail, raw, values_json, "
            "placa, status FROM frota_quarantine ORDER BY id",
        ),
        "history": query(
            url,
            "SELECT chave, lote_id, mudanca, custo, data_conclusao "
            "FROM frota_manutencoes_historico ORDER BY id",
        ),
        "ledger": query(
            url,
            "SELECT batch_id, rows_read, manutencoes_inserted, manutencoes_updated, "
            "manutencoes_present, manutencoes_stale, quarantined, released, duplicates "
            "FROM frota_batches ORDER BY batch_id",
        ),
    }


ORDER = "ABC1234,Revisão,2026-01-12,300.00,120100,preventiva,,OS-1"
ORDER_FIXED = "ABC1234,Revisão,2026-01-12,330.00,120100,preventiva,2026-01-13,OS-1"
ORDER_2 = "BRA2E19,Freios,2026-01-13,10.00,,,,OS-2"
ORDER_2_OTHER = "BRA2E19,Freios,2026-01-13,11.00,,,,OS-2"
GOOD_OS = 'ABC1234,"Pneu, traseiro",13/01/2026,1234.5,,,,Nº 7'  # not canonical


def _publish_orders(
    folder: Path,
    landing: str,
    n: int,
    lines: list[str],
    veiculos: list[str] | None = None,
    snapshot: bool = False,
) -> None:
    folder.mkdir(parents=True)
    header = "placa_veiculo,tipo_manutencao,data_manutencao,custo,quilometragem,categoria,"
    text = "\n".join([header + "data_conclusao,Ordem de serviço", *lines]) + "\n"
    (folder / "manutencoes.csv").write_text(text, encoding="utf-8")
    if veiculos:
        write_batch_dir(folder, veiculos=veiculos)
    january = Snapshot(date(2026, 1, 1), date(2026, 1, 31), allow_retire=True)
    publish_dir(
        folder,
        open_landing(landing),
        "test",
        now=T0 + timedelta(minutes=n),
        snapshot=january if snapshot else None,
    )


def _load_story(tmp: Path, url: str, local_infile: str = "off") -> dict[str, list[tuple]]:
    """A held row released later, a mixed file, and a generated batch, loaded in turn."""
    init_db(url)
    s = replace(settings_for(tmp, url), mysql_local_infile=local_infile)
    publish_lines(tmp, s.landing, 1, manutencoes=["QQQ1111,Freios,2026-01-02,10.00,5,,"])
    publish_lines(tmp, s.landing, 2, veiculos=[*V, "QQQ1111,Van,ativo,10,2020-01-01"])
    publish_lines(tmp, s.landing, 3, manutencoes=MIXED)
    load_pending(s, today=TODAY)
    # Work orders: new, copied, conflicting; then corrected and re-sent (update, present).
    _publish_orders(tmp / "os-1", s.landing, 4, [ORDER, ORDER, ORDER_2, ORDER_2_OTHER, GOOD_OS])
    _publish_orders(tmp / "os-2", s.landing, 5, [ORDER_FIXED, GOOD_OS, GOOD + ","])
    load_pending(s, today=TODAY)
    gen = generate_batch(tmp / "gen", seed=5, vehicles=40, until=date(2026, 6, 1), days=200)
    publish_dir(gen.out_dir, open_landing(s.landing), "gen")
    load_pending(s, today=TODAY)
    return _content(url)


@pytest.mark.parametrize("infile", ["off", pytest.param(OPT_IN, marks=pytest.mark.mysql)])
def test_bulk_path_gives_the_generic_content(
    tmp_path: Path, db_url: str, infile: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if infile != "off" and not db_url.startswith("mysql"):
        pytest.skip("LOAD DATA LOCAL is MySQL/MariaDB only")
    monkeypatch.setattr(bulk_base, "CHUNK_ROWS", 37)  # many chunks, one in flight while parsing
    switch_interval = sys.getswitchinterval()
    fast = _load_story(tmp_path / "fast", db_url, infile)
    assert sys.getswitchinterval() == switch_interval  # the writer thread's setting is undone
    assert len(fast["manutencoes"]) > 400 and len(fast["quarantine"]) >= 10
    reasons = {r[4] for r in fast["quarantine"]}
    assert {"conflicting_id_origem", "vehicle_unknown", "ragged_row", "out_of_range"} <= reasons
    orders = [r[3:5] for r in fast["ledger"][3:5]]  # (updated, present) of the work orders
    assert orders == [(0, 0), (1, 2)]
    _empty(db_url)
    _generic(monkeypatch)
    generic = _load_story(tmp_path / "generic", db_url)
    # By order: LOAD DATA reserves ids in blocks, and a direct chunk undone in its savepoint
    # leaves its ids unused on MySQL and PostgreSQL (gaps, as after any rollback).
    _assert_same(fast, generic, by_order=True)


def _empty(db_url: str) -> None:
    """The same database, emptied, for the generic run."""
    engine = create_engine(db_url)
    with engine.begin() as conn:
        for table in (
            "manutencoes",
            "frota_quarantine",
            "frota_batches",
            "frota_manutencoes_historico",
            "frota_veiculos_historico",
            "veiculos",
        ):
            conn.execute(sa.text(f"DELETE FROM {table}"))
        if engine.dialect.name == "mysql":
            conn.execute(sa.text("ALTER TABLE manutencoes AUTO_INCREMENT = 1"))
            conn.execute(sa.text("ALTER TABLE frota_quarantine AUTO_INCREMENT = 1"))
        elif engine.dialect.name == "postgresql":
            conn.execute(sa.text("ALTER SEQUENCE manutencoes_id_seq RESTART"))
            conn.execute(sa.text("ALTER SEQUENCE frota_quarantine_id_seq RESTART"))
    engine.dispose()


def _assert_same(
    fast: dict[str, list[tuple]], generic: dict[str, list[tuple]], by_order: bool
) -> None:
    def strip_batch_ids(content: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
        # Batch ids embed the publish time; compare by position instead.
        ids = sorted({r[0] for r in content["ledger"]})
        swap = {b: f"batch{i}" for i, b in enumerate(ids)}
        return {
            k: [tuple(swap.get(v, v) for v in row) for row in rows] for k, rows in content.items()
        }

    fast, generic = strip_batch_ids(fast), strip_batch_ids(generic)
    if by_order:  # ids compare by order, not by value
        fast["manutencoes"] = [row[1:] for row in fast["manutencoes"]]
        generic["manutencoes"] = [row[1:] for row in generic["manutencoes"]]
    for table, rows in generic.items():
        assert len(fast[table]) == len(rows), table
        for got, want in zip(fast[table], rows, strict=True):
            assert got == want, table


def _orders(first: int, n: int, day: int = 1, cost: str = "") -> list[str]:
    """n canonical rows with work orders OS-first … (fast path)."""
    return [
        f"ABC1234,Serviço {i},2026-01-{(i + day) % 28 + 1:02d},{cost or f'{i}.00'},{i},"
        f"preventiva,,OS-{i}"
        for i in range(first, first + n)
    ]


WASH = "BRA2E19,Lavagem,2026-01-05,10.00,,,,"  # no work order: keyed by fingerprint and k


def _load_direct_story(tmp: Path, url: str, local_infile: str) -> dict[str, list[tuple]]:
    """Batches whose first chunks go straight to manutencoes and whose later chunks meet what
    those wrote (a work order repeated, the same or changed; a row copied) or what is stored
    (re-sent, corrected), then a snapshot whose new rows are direct."""
    init_db(url)
    s = replace(settings_for(tmp, url), mysql_local_infile=local_infile)
    first = _orders(1, 30)
    first[8] = WASH  # line 9
    first[14] = "abc-1234,Pneu,2026-01-05,850.5,7,Preventiva,,OS-G"  # the general path
    first[17] = "ABC1234,Alinhamento,2026-01-05,-1.00,1,corretiva,,OS-BAD"  # quarantined
    first += [
        _orders(5, 1, cost="99.00")[0],  # OS-5 again, another cost: both quarantined
        _orders(7, 1)[0],  # OS-7 again, the same: a duplicate
        *_orders(31, 5),
        WASH,  # its second occurrence: a record of its own (k = 2)
        *_orders(36, 12),
    ]
    _publish_orders(tmp / "b1", s.landing, 1, first, veiculos=V)
    # New rows first (direct until a row without a work order repeats one), then re-sent
    # ones: OS-40 corrected, WASH unchanged; OS-5 and OS-9 were never stored.
    second = [*_orders(100, 25), *_orders(1, 12), WASH, _orders(40, 1, cost="33.33")[0]]
    second[2] = second[11] = WASH.replace("01-05", "01-06")
    _publish_orders(tmp / "b2", s.landing, 2, second)
    third = [*_orders(200, 12), *_orders(1, 20)]  # a snapshot of January: retires the rest
    _publish_orders(tmp / "b3", s.landing, 3, third, snapshot=True)
    for _ in range(3):
        load_pending(s, today=TODAY)
    return _content(url)


@pytest.mark.parametrize("infile", ["off", pytest.param(OPT_IN, marks=pytest.mark.mysql)])
def test_direct_path_gives_the_staged_content(
    tmp_path: Path,
    db_url: str,
    infile: str,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    if infile != "off" and not db_url.startswith("mysql"):
        pytest.skip("LOAD DATA LOCAL is MySQL/MariaDB only")
    monkeypatch.setattr(bulk_base, "CHUNK_ROWS", 10)
    direct: list[int] = []
    note = bulk_base.ChunkedWriter._note_direct

    def counted(self: bulk_base.ChunkedWriter, lines: Any) -> None:
        direct.append(len(lines))
        note(self, lines)

    monkeypatch.setattr(bulk_base.ChunkedWriter, "_note_direct", counted)
    caplog.set_level(logging.INFO, logger="frota")
    fast = _load_direct_story(tmp_path / "fast", db_url, infile)
    if not db_url.startswith("mysql"):  # each batch's first chunks went straight in
        assert direct == [10, 10, 10, 1, 10]
    else:  # then, probing (MySQL), the new rows of later chunks, until an unsettled row (WASH)
        # b1 (undone): OS-22…30 beside OS-5's copy, OS-31…35 beside OS-7's; b2: OS-110 before
        # the copy of WASH's variant; b3: OS-210/211 and OS-15/18 (b1 held them) among re-sent.
        assert direct == [10, 10, 9, 5, 10, 1, 10, 2, 2]
    # OS-5's direct copy conflicts with a staged one: the first batch went again, staged.
    assert caplog.text.count("loading it again through the stage") == 1
    reasons = [r[4] for r in fast["quarantine"]]
    assert sorted(reasons) == ["conflicting_id_origem"] * 2 + ["negative_value"]
    ledger = [r[2:] for r in fast["ledger"]]  # inserted, updated, present, quarantined, …
    assert ledger[0][:2] == (len(set(range(1, 48)) - {5, 9, 15, 18}) + 3, 0)  # OS-G, WASH ×2
    assert ledger[1][:3] == (23 + 2 + 2, 1, 10 + 1)
    _empty(db_url)
    _generic(monkeypatch)
    generic = _load_direct_story(tmp_path / "generic", db_url, "off")
    _assert_same(fast, generic, by_order=True)


def test_sqlite_raises_its_cache_only_for_the_direct_inserts(
    tmp_path: Path, sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The larger page cache serves the direct chunks only: the stage's writes and set steps
    (whose sorts SQLite sizes by this cache) see the connection's own."""
    monkeypatch.setattr(bulk_base, "CHUNK_ROWS", 10)
    seen: dict[str, set[int]] = {"direct": set(), "stage": set(), "apply": set()}

    def cache(conn: Any) -> int:
        return int(conn.execute("PRAGMA main.cache_size").fetchone()[0])

    write_direct, write_stage = SqliteWriter._write_direct, SqliteWriter._write_stage

    def direct(self: SqliteWriter, chunk: list[Any]) -> bool:
        went = write_direct(self, chunk)
        if went:
            seen["direct"].add(cache(self.dbapi))
        return went

    def staged(self: SqliteWriter, chunk: list[Any], lines: Any) -> None:
        write_stage(self, chunk, lines)
        seen["stage"].add(cache(self.dbapi))

    apply = stage_module.Stage.apply

    def applied(self: stage_module.Stage, now: Any) -> Any:
        seen["apply"].add(cache(self.conn.connection.dbapi_connection))
        return apply(self, now)

    monkeypatch.setattr(SqliteWriter, "_write_direct", direct)
    monkeypatch.setattr(SqliteWriter, "_write_stage", staged)
    monkeypatch.setattr(stage_module.Stage, "apply", applied)
    _load_direct_story(tmp_path, sqlite_url, "off")
    s = settings_for(tmp_path, sqlite_url)
    _publish_orders(tmp_path / "b4", s.landing, 4, _orders(300, 25))  # new: direct to the end
    assert load_pending(s, today=TODAY).loaded[0].manutencoes_inserted == 25
    own = sqlite3.connect(":memory:").execute("PRAGMA cache_size").fetchone()[0]
    assert seen == {"direct": {-DIRECT_CACHE_KIB}, "stage": {own}, "apply": {own}}


def _load_present_story(tmp: Path, url: str) -> dict[str, list[tuple]]:
    """A batch of work orders, then one re-sending them among new ones, with a re-sent work
    order repeated the same (a duplicate) and one repeated with other values (both held)."""
    init_db(url)
    s = settings_for(tmp, url)
    _publish_orders(tmp / "b1", s.landing, 1, _orders(1, 30), veiculos=V)
    second = [*_orders(100, 10), *_orders(1, 10), *_orders(3, 1), *_orders(4, 1, cost="9.99")]
    second += [*_orders(11, 10), *_orders(21, 1, cost="7.77"), *_orders(110, 3)]
    _publish_orders(tmp / "b2", s.landing, 2, second)
    for _ in range(2):
        load_pending(s, today=TODAY)
    return _content(url)


@pytest.mark.parametrize("filter_bits", [27, 6])
def test_present_copies_of_a_repeated_work_order(
    tmp_path: Path, db_url: str, filter_bits: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows stored unchanged are staged as line and key only; a work order they repeat is
    settled as when they are staged whole. A tiny filter of staged work orders (6 bits:
    nearly every key a false candidate) changes nothing."""
    monkeypatch.setattr(bulk_base, "CHUNK_ROWS", 10)
    monkeypatch.setattr(bulk_base, "RowFilter", lambda *_: dedupe.RowFilter(filter_bits))
    present: list[int] = []
    write_present = bulk_base.ChunkedWriter._write_present

    def counted(self: bulk_base.ChunkedWriter, lines: Any, keys: list[str]) -> None:
        present.append(len(lines))
        write_present(self, lines, keys)

    monkeypatch.setattr(bulk_base.ChunkedWriter, "_write_present", counted)
    fast = _load_present_story(tmp_path / "fast", db_url)
    # inserted, updated, present, stale, quarantined, released, duplicates
    assert fast["ledger"][1][2:] == (13, 1, 19, 0, 2, 0, 1)
    assert [r[4] for r in fast["quarantine"]] == ["conflicting_id_origem"] * 2
    # Chunks of 10: OS-1…10; OS-3 again, OS-11…18 (OS-4's other copy whole); OS-19, OS-20.
    assert sum(present) == (10 + 9 + 2 if db_url.startswith("mysql") else 0)  # MySQL probes
    _empty(db_url)
    _generic(monkeypatch)
    generic = _load_present_story(tmp_path / "generic", db_url)
    _assert_same(fast, generic, by_order=True)


def _load_resend_story(tmp: Path, url: str, order: str) -> dict[str, list[tuple]]:
    """60 work orders, then an export re-sending them (every 7th with another cost) among
    new ones, in the stored order (`order` = "same") or reversed."""
    init_db(url)
    s = settings_for(tmp, url)
    _publish_orders(tmp / "b1", s.landing, 1, _orders(1, 60), veiculos=V)
    second = [
        *_orders(1, 20),
        *_orders(200, 3),
        *_orders(21, 40),
        *_orders(7, 1, cost="9.99"),
        *_orders(300, 5),
    ]
    second = [line for i, line in enumerate(second) if not line.endswith(",OS-7") or i > 60]
    _publish_orders(tmp / "b2", s.landing, 2, second[::-1] if order == "reversed" else second)
    for _ in range(2):
        load_pending(s, today=TODAY)
    return _content(url)


@pytest.mark.mysql
@pytest.mark.parametrize("order", ["same", "reversed"])
def test_a_resent_export_is_read_by_ranges_of_stored_rows(
    tmp_path: Path, db_url: str, order: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """MySQL's probing reads the stored rows after the last record a chunk found as one range
    of ids: in the stored order most keys are found there, in another order ranges stop;
    either way the records are those of the staged path."""
    if not db_url.startswith("mysql"):
        pytest.skip("probing is MySQL's")
    monkeypatch.setattr(bulk_base, "CHUNK_ROWS", 10)
    monkeypatch.setattr(bulk_base, "PROBE_PAGE", 4)  # several pages a range and a lookup
    by_range: list[int] = []
    fetch = bulk_mysql._Probing._fetch_stored

    def counted(self: bulk_base.ChunkedWriter, cur: Any, where: str) -> Any:
        rows = list(fetch(self, cur, where))
        if where.startswith("id >="):
            by_range.append(len(rows))
        return iter(rows)

    monkeypatch.setattr(bulk_mysql._Probing, "_fetch_stored", counted)
    fast = _load_resend_story(tmp_path / "fast", db_url, order)
    # inserted, updated, present, stale, quarantined, released, duplicates
    assert fast["ledger"][1][2:] == (8, 1, 59, 0, 0, 0, 0)
    if order == "same":  # every chunk after the first that probed found its rows in a range
        assert sum(by_range) >= 40
    else:  # the first range found too few: no more ranges
        assert len(by_range) <= bulk_base.CHUNK_ROWS // bulk_base.PROBE_PAGE + 1
    _empty(db_url)
    _generic(monkeypatch)
    generic = _load_resend_story(tmp_path / "generic", db_url, order)
    _assert_same(fast, generic, by_order=True)


def test_a_failure_after_the_bulk_insert_rolls_everything_back(
    tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    if db_url.startswith("mysql"):
        s = replace(s, mysql_local_infile=OPT_IN)
    publish_lines(tmp_path, s.landing, 1, veiculos=V, manutencoes=MIXED)
    real = transaction.still_held

    def boom(conn: sa.Connection) -> bool:
        assert conn.execute(sa.text("SELECT COUNT(*) FROM manutencoes")).scalar() > 0
        raise RuntimeError("crash after the bulk insert")

    monkeypatch.setattr(transaction, "still_held", boom)
    with pytest.raises(RuntimeError, match="crash after"):
        load_pending(s, today=TODAY)
    for table in ("manutencoes", "veiculos", "frota_quarantine", "frota_batches"):
        assert query(db_url, f"SELECT COUNT(*) FROM {table}") == [(0,)], table
    monkeypatch.setattr(transaction, "still_held", real)
    result = load_pending(s, today=TODAY)
    assert (
        result.loaded[0].manutencoes_inserted
        == query(db_url, "SELECT COUNT(*) FROM manutencoes")[0][0]
        > 0
    )
    assert not load_pending(s, today=TODAY).loaded  # exactly once


# ------------------------------------------------------------------ LOAD DATA LOCAL guard


def test_local_infile_setting_must_name_the_risk() -> None:
    assert bulk.check_local_infile_setting("off") is False
    assert bulk.check_local_infile_setting(OPT_IN) is True
    for value in ("on", "true", "1", "yes"):
        with pytest.raises(ConfigError, match="server"):
            bulk.check_local_infile_setting(value)


class _FakeConn:
    def __init__(self, host: str, sock: Any = None, ctx: Any = None, unix_socket: Any = None):
        self.host, self._sock, self.ctx, self.unix_socket = host, sock, ctx, unix_socket


def test_local_infile_needs_a_local_or_verified_tls_connection() -> None:
    tls_sock = ssl.SSLSocket.__new__(ssl.SSLSocket)  # only its type matters here
    verified = ssl.create_default_context()
    unverified = ssl.create_default_context()
    unverified.check_hostname = False
    unverified.verify_mode = ssl.CERT_NONE
    for ok in (
        _FakeConn("127.0.0.1"),
        _FakeConn("localhost"),
        _FakeConn("db", unix_socket="/run/mysqld/mysqld.sock"),
        _FakeConn("db.example", tls_sock, verified),
    ):
        bulk.check_local_infile_connection(ok)
    for bad in (
        _FakeConn("db.example"),
        _FakeConn("db.example", object(), verified),  # TLS asked for, server did not do it
        _FakeConn("db.example", tls_sock, unverified),
    ):
        with pytest.raises(ConfigError, match="verified-TLS"):
            bulk.check_local_infile_connection(bad)


@pytest.mark.mysql
def test_guard_refuses_a_request_for_any_other_file(mysql_url: str, tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("ABC1234\tsecret\n", encoding="utf-8")
    init_db(mysql_url)
    engine = create_engine(mysql_url)
    bulk.guard_engine(engine)
    sql = "LOAD DATA LOCAL INFILE %s INTO TABLE veiculos (placa, tipo_veiculo)"
    try:
        with engine.connect() as conn:
            dbapi = conn.connection.dbapi_connection
            cur = dbapi.cursor()
            # The server names the file; here it names one frota never offered.
            with pytest.raises(bulk.InfileRequestRefused, match="secret"):
                cur.execute(sql, (str(secret),))
            offer = bulk.allow_infile(dbapi, "offered.tsv", b"BRA2E19\toffered\n")
            with offer, pytest.raises(bulk.InfileRequestRefused):
                cur.execute(sql, (str(secret),))
            conn.rollback()
            assert conn.execute(sa.text("SELECT COUNT(*) FROM veiculos")).scalar() == 0
            # The offered name gets its bytes (the connection is still in step).
            with bulk.allow_infile(dbapi, "offered.tsv", b"BRA2E19\toffered\n"):
                assert cur.execute(sql, ("offered.tsv",)) == 1
            assert conn.execute(sa.text("SELECT tipo_veiculo FROM veiculos")).scalar() == "offered"
    finally:
        engine.dispose()


@pytest.mark.mysql
def test_rogue_server_gets_nothing_from_an_opted_in_loader(tmp_path: Path) -> None:
    from test_security_infile import RogueServer

    secret = tmp_path / "secret.txt"
    secret.write_text("do not send\n", encoding="utf-8")
    rogue = RogueServer(str(secret))
    engine = create_engine(f"mysql+pymysql://x@127.0.0.1:{rogue.port}/x")
    bulk.guard_engine(engine)
    try:
        with pytest.raises(bulk.InfileRequestRefused), engine.connect() as conn:
            conn.exec_driver_sql("SELECT 1")
        assert rogue.asked >= 1 and bytes(rogue.received) == b""
    finally:
        engine.dispose()
        rogue.close()
