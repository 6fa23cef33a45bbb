"""Warehouse runs as an operator meets them: one at a time per warehouse, end to end; killed runs
leave nothing behind; any text the operational database holds arrives as it is on both
engines; dbt's work folder belongs to one warehouse, whatever the URL's spelling.

No dbt here except one real concurrent pair on PostgreSQL (where two runs once failed half-way).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_warehouse import read_tables
from test_warehouse_support import Fleet, at, load_batch

from frota.config import Settings
from frota.db import schema
from frota.db.engine import create_engine
from frota.db.migrate import upgrade_schema
from frota.errors import EXIT_LOCK_HELD, LockHeld
from frota.warehouse import replicate_only
from frota.warehouse.dbt import default_work_dir
from frota.warehouse.lock import warehouse_lock
from frota.warehouse.target import warehouse_target

# Text a company's export (or a hand-edited table) may hold, that a CSV round trip or a NULL
# marker could change: each must arrive exactly as stored.
HOSTILE = (
    r"\N",
    r"\\N",
    "NULL",
    "null",
    "",
    " ",
    '"',
    '""',
    "a,b",
    'meio "aspas"',
    "linha\nquebrada",
    "cr\r\nlf",
    "tab\taqui",
    "\\",
    "Revisão çãõ ü",
    "caminhão 🚚",
    "=1+1",
    "'; DROP TABLE veiculos; --",
    "\u2028sep",
    "  espaços  ",
)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def warehouse_url(request, tmp_path) -> str:
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'wh.duckdb'}"
    return request.getfixturevalue("postgres_url")  # a fresh database of its own


@pytest.fixture
def operational(tmp_path):
    url = f"sqlite:///{tmp_path / 'frota.db'}"
    engine = create_engine(url)
    upgrade_schema(engine)
    yield url, engine
    engine.dispose()


def frota(*args: str, cwd: Path) -> subprocess.Popen:
    """`frota ARGS` in `cwd`, with dbt's work folders under it."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FROTA_")}
    env["FROTA_CACHE_DIR"] = str(cwd / "cache")
    return subprocess.Popen(
        [sys.executable, "-m", "frota", *args],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_hostile_text_arrives_unchanged(warehouse_url, operational) -> None:
    url, engine = operational
    assert_hostile_text_arrives_unchanged(url, engine, warehouse_url)


@pytest.mark.parametrize(
    "server",
    [
        pytest.param("mysql", marks=pytest.mark.mysql),
        pytest.param("postgres", marks=pytest.mark.postgres),
    ],
)
def test_hostile_text_arrives_unchanged_from_a_database_server(request, server, tmp_path) -> None:
    """Each source engine writes the rows it sends as JSON (frota.warehouse.replicate): its
    own JSON writer must keep every text too."""
    url = request.getfixturevalue(f"{server}_url")
    engine = create_engine(url)
    upgrade_schema(engine)
    try:
        assert_hostile_text_arrives_unchanged(url, engine, f"duckdb:///{tmp_path / 'wh.duckdb'}")
    finally:
        engine.dispose()


def assert_hostile_text_arrives_unchanged(url: str, engine: sa.Engine, warehouse_url: str) -> None:
    """Vehicles and maintenances holding HOSTILE (and a NULL) arrive in raw as stored."""
    batch = Fleet(seed=2).next_batch(len(HOSTILE), 0, len(HOSTILE) + 1)
    for text, vehicle, maintenance in zip(
        HOSTILE, batch["veiculos"], batch["manutencoes"][:-1], strict=True
    ):
        vehicle["status"] = vehicle["tipo_veiculo"] = text
        maintenance["tipo_manutencao"] = text
    batch["manutencoes"][-1]["tipo_manutencao"] = None  # and a real NULL stays NULL
    load_batch(engine, batch)
    replicate_only(at(url, warehouse_url))
    raw = read_tables(warehouse_url, ["frota_veiculos_historico", "manutencoes"], "raw")
    states = raw["frota_veiculos_historico"]
    with engine.connect() as conn:
        source_m = {
            i: t
            for i, t in conn.execute(
                sa.select(schema.manutencoes.c.id, schema.manutencoes.c.tipo_manutencao)
            )
        }
        source_v = {
            placa: (status, tipo)
            for placa, status, tipo in conn.execute(
                sa.select(
                    schema.veiculos.c.placa,
                    schema.veiculos.c.status,
                    schema.veiculos.c.tipo_veiculo,
                )
            )
        }
    got_m = {
        int(i): (t if isinstance(t, str) else None)
        for i, t in zip(raw["manutencoes"].id, raw["manutencoes"].tipo_manutencao, strict=True)
    }
    got_v = {
        p: (s, t) for p, s, t in zip(states.placa, states.status, states.tipo_veiculo, strict=True)
    }
    assert got_m == source_m
    assert got_v == source_v
    assert set(HOSTILE) <= set(got_m.values()) and None in got_m.values()


def test_a_second_run_exits_4_and_changes_nothing(warehouse_url, operational, tmp_path) -> None:
    url, engine = operational
    load_batch(engine, Fleet(seed=3).next_batch(5, 0, 12))
    settings = at(url, warehouse_url)
    target = warehouse_target(settings)
    with warehouse_lock(target):
        with pytest.raises(LockHeld, match="another frota warehouse run"):
            replicate_only(settings)
        second = frota("--database", url, "--warehouse", warehouse_url, "warehouse", cwd=tmp_path)
        _, err = second.communicate(timeout=120)
        assert second.returncode == EXIT_LOCK_HELD, err
        assert "another frota warehouse run" in err
    assert replicate_only(settings).rows["manutencoes"] == 12  # nothing was copied before


def test_a_killed_replication_leaves_nothing_behind(operational, tmp_path) -> None:
    """SIGKILL in the middle of a replication: nothing but the warehouse (and its lock file)
    is left beside it, copy files an older frota's killed run left are removed, and the next
    run copies every row exactly once."""
    url, engine = operational
    fleet = Fleet(seed=4)
    batch = fleet.next_batch(50, 0, 60_000)
    load_batch(engine, batch)
    warehouse = tmp_path / "wh.duckdb"
    old_scratch = tmp_path / "wh.duckdb.frota-copy"  # an older frota's copy files
    old_scratch.mkdir()
    (old_scratch / "manutencoes-abcd1234.csv").write_text("left by an older frota\n")
    (tmp_path / ".manutencoes-abcd1234.csv").write_text("left by an older frota\n")
    before = set(os.listdir(tmp_path))
    run = frota(
        "--database", url, "--warehouse", f"duckdb:///{warehouse}", "warehouse", "--no-dbt",
        cwd=tmp_path,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not warehouse.exists():  # the run holds the lock and has opened the warehouse
        assert run.poll() is None, run.communicate()
        assert time.monotonic() < deadline, "the warehouse never showed up"
        time.sleep(0.005)
    time.sleep(0.2)
    assert run.poll() is None, "the run ended before the kill"
    run.send_signal(signal.SIGKILL)
    run.wait(10)
    result = replicate_only(at(url, f"duckdb:///{warehouse}"))
    assert result.rows["manutencoes"] == 60_000
    left = set(os.listdir(tmp_path)) - before - {"data"}  # data/logs: the CLI's log folder
    assert left <= {"wh.duckdb", "wh.duckdb.wal", "wh.duckdb.frota.lock"}, left
    assert not old_scratch.exists() and not (tmp_path / ".manutencoes-abcd1234.csv").exists()
    raw = read_tables(f"duckdb:///{warehouse}", ["manutencoes"], "raw")["manutencoes"]
    assert len(raw) == raw.id.nunique() == 60_000


@pytest.mark.postgres
def test_two_concurrent_runs_never_fail_half_way(postgres_url, operational, tmp_path) -> None:
    """Two `frota warehouse` at once on PostgreSQL: each succeeds or exits 4; the warehouse
    ends built, each batch replicated once."""
    url, engine = operational
    fleet = Fleet(seed=6)
    for sizes in ((12, 0, 60), (2, 4, 30)):
        load_batch(engine, fleet.next_batch(*sizes))
    args = ("--database", url, "--warehouse", postgres_url, "warehouse")
    runs = [frota(*args, cwd=tmp_path), frota(*args, cwd=tmp_path)]
    outcomes = [(run.wait(600), run.communicate()[1]) for run in runs]
    assert sorted(code for code, _ in outcomes) in ([0, 0], [0, EXIT_LOCK_HELD]), outcomes
    raw = read_tables(postgres_url, ["frota_replicated_batches", "manutencoes"], "raw")
    assert len(raw["frota_replicated_batches"]) == 2 and len(raw["manutencoes"]) == 90
    fct = read_tables(postgres_url, ["fct_manutencoes"])["fct_manutencoes"]
    assert len(fct) == 90


def test_dbt_work_folder_follows_the_resolved_warehouse(tmp_path, monkeypatch) -> None:
    cache = tmp_path / "cache"
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir(), two.mkdir()
    relative = Settings(warehouse="duckdb:///data/warehouse.duckdb", cache_dir=str(cache))

    def folder(settings: Settings) -> Path:
        return default_work_dir(warehouse_target(settings), settings.cache_dir)

    monkeypatch.chdir(one)
    in_one = folder(relative)
    same_file = folder(relative.with_overrides(warehouse=f"duckdb:///{one}/data/warehouse.duckdb"))
    monkeypatch.chdir(two)
    in_two = folder(relative)
    assert in_one == same_file != in_two
    pg = Settings(warehouse="postgresql://a@db:5432/x", cache_dir=str(cache))
    assert folder(pg) != folder(pg.with_overrides(warehouse="postgresql://a@db:5432/y"))
    assert folder(pg) == folder(pg.with_overrides(warehouse="postgresql://a:pw@db:5432/x"))
