"""Schema migrations: the baseline is exactly release ff3cdaf's schema; a database that release
made (and loaded) is adopted and upgraded with every row intact; the head revision matches the
code's tables; a killed upgrade can be rerun; the loader refuses a database behind head.

The ff3cdaf code runs from `git archive` of that commit, as a separate process."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import tarfile
import time
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from batchkit import query, settings_for, write_batch_dir
from ci import missing

from frota.contract.identity import fingerprint, fingerprint_key
from frota.db.engine import create_engine
from frota.db.migrate import (
    BASELINE,
    VERSION_TABLE,
    head,
    revisions,
    schema_state,
    upgrade_schema,
)
from frota.db.schema import metadata
from frota.errors import ConfigError
from frota.landing import open_landing
from frota.load import load_pending
from frota.observe.status import collect_status
from frota.publish import publish_dir

RELEASE = "ff3cdaf"  # the last release without migrations
ROOT = Path(__file__).resolve().parents[1]
TABLES = ("veiculos", "manutencoes", "frota_batches", "frota_quarantine", "frota_runs")


def source_at(commit: str, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The src/ folder of frota at `commit`, from this repository's history."""
    try:
        tar = subprocess.run(
            ["git", "-C", str(ROOT), "archive", commit, "src"],
            capture_output=True,
            check=True,
            timeout=60,
        ).stdout
    except (OSError, subprocess.CalledProcessError):
        missing(f"commit {commit} of this repository (git archive)")
    dest = tmp_path_factory.mktemp(commit)
    with tarfile.open(fileobj=io.BytesIO(tar)) as archive:
        archive.extractall(dest, filter="data")
    return dest / "src"


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The src/ folder of release ff3cdaf."""
    return source_at(RELEASE, tmp_path_factory)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FROTA_")}
    env.update(extra)
    return env


def old_frota(release: Path, *args: str, cwd: Path) -> str:
    """Run ff3cdaf's `frota` (its own source first on the path); its stdout."""
    done = subprocess.run(
        [sys.executable, "-m", "frota", *args],
        cwd=cwd,
        env=_env(PYTHONPATH=str(release)),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def new_frota(*args: str, cwd: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "frota", *args],
        cwd=cwd,
        env=_env(**env),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def signature(url: str) -> dict[str, object]:
    """Everything a schema is made of, table by table (frota's version table left out)."""
    engine = create_engine(url)
    out: dict[str, object] = {}
    try:
        with engine.connect() as conn:
            insp = sa.inspect(conn)
            for table in sorted(insp.get_table_names()):
                if table == VERSION_TABLE:
                    continue
                if conn.dialect.name == "mysql":  # the server's own words, options included
                    ddl = conn.execute(sa.text(f"SHOW CREATE TABLE `{table}`")).one()[1]
                    lines = re.sub(r" AUTO_INCREMENT=\d+", "", ddl).splitlines()
                    # KEY order is creation order (and so is which line ends without a comma)
                    out[table] = (lines[0], sorted(line.rstrip(",") for line in lines[1:]))
                    continue
                out[table] = (
                    [
                        (c["name"], repr(c["type"]), c["nullable"], str(c.get("default")))
                        for c in insp.get_columns(table)
                    ],
                    insp.get_pk_constraint(table)["constrained_columns"],
                    sorted(
                        (f["name"], f["constrained_columns"], f["referred_table"])
                        for f in insp.get_foreign_keys(table)
                    ),
                    sorted(
                        (i["name"], i["column_names"], bool(i["unique"]))
                        for i in insp.get_indexes(table)
                    ),
                )
    finally:
        engine.dispose()
    return out


# The columns of release ff3cdaf's tables: what must survive every upgrade unchanged.
RELEASE_COLUMNS = {
    "veiculos": "placa tipo_veiculo status quilometragem_total data_aquisicao lote_id",
    "manutencoes": "id placa_veiculo tipo_manutencao data_manutencao custo quilometragem "
    "categoria data_conclusao lote_id",
    "frota_batches": "batch_id source created_at content_sha256 loaded_at run_id rows_read "
    "veiculos_inserted veiculos_updated veiculos_stale manutencoes_inserted quarantined "
    "released duplicates",
    "frota_quarantine": "id batch_id table_name file line column_name reason detail raw "
    "values_json placa status created_at released_at released_batch_id",
    "frota_runs": "run_id command started_at finished_at status batches_loaded rows_loaded "
    "quarantined message",
}


def rows(url: str, tables: tuple[str, ...] = TABLES) -> dict[str, Counter]:
    """The rows of the release's tables, in the release's columns (as text)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            out = {}
            for table in tables:
                names = ", ".join(RELEASE_COLUMNS[table].split())
                result = conn.execute(sa.text(f"SELECT {names} FROM {table}"))
                out[table] = Counter(tuple(_text(v) for v in row) for row in result)
            return out
    finally:
        engine.dispose()


def at_head(url: str) -> bool:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return schema_state(conn).at_head
    finally:
        engine.dispose()


def _text(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def test_the_baseline_is_exactly_the_release_schema(
    release: Path, db_url: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    old_frota(release, "--database", db_url, "db", "init", cwd=tmp_path)
    other = request.getfixturevalue(
        {"sqlite": "sqlite_url", "mysql": "mysql_url", "postgresql": "postgres_url"}[
            sa.make_url(db_url).get_backend_name()
        ]
    )
    if other == db_url:  # SQLite: the fixture hands out one file per test
        other = db_url.replace("frota.db", "baseline.db")
    engine = create_engine(other)
    try:
        assert upgrade_schema(engine, BASELINE).after == BASELINE
    finally:
        engine.dispose()
    assert signature(other) == signature(db_url)
    assert set(signature(db_url)) == set(TABLES)


def test_head_matches_the_tables_the_code_uses(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        upgrade_schema(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            diffs = compare_metadata(context, metadata)
    finally:
        engine.dispose()
    assert diffs == []


def test_the_head_read_without_alembic_is_alembics(db_url: str) -> None:
    """The loader's check reads the head from the files' names and the recorded revision with
    a SELECT: both are what Alembic itself says."""
    from alembic.script import ScriptDirectory

    from frota.db.migrate import MIGRATIONS, schema_state

    script = ScriptDirectory(str(MIGRATIONS))
    assert head() == script.get_current_head() == revisions()[-1]
    engine = create_engine(db_url)
    try:
        upgrade_schema(engine, "0003_operator_state")
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
            assert schema_state(conn).current == context.get_current_revision()
            assert context.get_current_revision() == "0003_operator_state"
    finally:
        engine.dispose()


def _publish_old(release: Path, landing: str, folder: Path, cwd: Path) -> None:
    old_frota(
        release, "--landing", landing, "--source", "old", "publish", "--from", str(folder), cwd=cwd
    )
    time.sleep(1.05)  # ff3cdaf's batch ids sort by the second


def test_a_release_database_is_adopted_and_upgraded_with_its_rows(
    release: Path, db_url: str, tmp_path: Path
) -> None:
    s = settings_for(tmp_path, db_url)
    old_frota(release, "--database", db_url, "db", "init", cwd=tmp_path)
    # What ff3cdaf loads: vehicles, maintenances, a held row (its vehicle comes later), a row
    # held as an in-file duplicate, and an overlapping export that doubles two rows.
    first = write_batch_dir(
        tmp_path / "a",
        ["ABC1234,Caminhão Toco,ativo,120000,2019-03-01", "BRA2E19,Van,ativo,45000,2021-07-15"],
        [
            "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-05",
            "BRA2E19,Freios,2026-01-06,1234.56,44800,corretiva,",
            "BRA2E19,Freios,2026-01-06,1234.56,44800,corretiva,",
            "XYZ9A99,Pneus,2026-01-07,99.90,,,",
        ],
    )
    overlap = write_batch_dir(
        tmp_path / "b",
        ["BRA2E19,Van,manutenção,45500,2021-07-15"],
        [
            "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-05",
            "BRA2E19,Freios,2026-01-06,1234.56,44800,corretiva,2026-01-09",
            "ABC1234,Pneus,2026-01-20,2400.00,121000,corretiva,2026-01-21",
        ],
    )
    _publish_old(release, s.landing, first, tmp_path)
    _publish_old(release, s.landing, overlap, tmp_path)
    old_frota(release, "--database", db_url, "--landing", s.landing, "load", cwd=tmp_path)
    before = rows(db_url)
    assert sum(before["manutencoes"].values()) == 5  # the overlap doubled one row
    assert sum(before["frota_quarantine"].values()) == 2
    # This frota refuses the unversioned database until it is upgraded, and says how.
    with pytest.raises(ConfigError) as refused:
        load_pending(s)
    assert "frota db upgrade" in str(refused.value)
    assert "before schema migrations" in collect_status(s).schema

    # A batch the release published, not yet loaded: it must still load after the upgrade.
    late = write_batch_dir(tmp_path / "c", ["XYZ9A99,Van,ativo,1000,2025-01-02"])
    _publish_old(release, s.landing, late, tmp_path)
    upgrade = new_frota("--database", db_url, "db", "upgrade", cwd=tmp_path)
    out, err = upgrade.communicate(timeout=300)
    assert upgrade.returncode == 0, err
    assert "adopted" in out and f"to {head()}" in out
    assert at_head(db_url)
    kept_tables = tuple(t for t in TABLES if t != "frota_runs")
    assert rows(db_url, kept_tables) == {t: before[t] for t in kept_tables}  # every row intact
    _check_runs_migrated(before["frota_runs"], db_url)
    _check_order_backfill(db_url)
    _check_identity_backfill(db_url)

    # The new code loads the release's pending batch and a batch of its own.
    new = write_batch_dir(
        tmp_path / "d",
        ["KLM1J23,Ônibus,ativo,80000,2022-02-02"],
        ["KLM1J23,Revisão,2026-02-01,500.00,80100,preventiva,2026-02-01"],
    )
    publish_dir(new, open_landing(s.landing), "new")
    result = load_pending(s)
    assert [b.batch_id.split("-")[1] for b in result.loaded] == ["old", "new"]
    assert sum(b.released for b in result.loaded) == 1  # XYZ9A99's maintenance
    after = rows(db_url, ("veiculos", "manutencoes"))
    assert sum(after["manutencoes"].values()) == 7
    assert sum(after["veiculos"].values()) == 4
    kept = {row[1:5] for row in before["manutencoes"]}  # the release's rows are all there
    assert kept <= {row[1:5] for row in after["manutencoes"]}

    # The overlapping export again: its rows are the records the upgrade keyed, not new ones.
    resent = write_batch_dir(
        tmp_path / "e",
        None,
        [
            "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-05",
            "BRA2E19,Freios,2026-01-06,1234.56,44800,corretiva,2026-01-09",
            "ABC1234,Pneus,2026-01-20,2400.00,121000,corretiva,2026-01-21",
        ],
    )
    publish_dir(resent, open_landing(s.landing), "old")
    [again] = load_pending(s).loaded
    assert (again.manutencoes_inserted, again.manutencoes_present) == (0, 3)
    assert sum(rows(db_url, ("manutencoes",))["manutencoes"].values()) == 7


def _check_identity_backfill(url: str) -> None:
    """0005: every row's key is the fingerprint of its business cells and its rank among the
    identical rows, by id (the release's overlap doubled one row: ranks 1 and 2)."""
    found = query(
        url,
        "SELECT id, placa_veiculo, tipo_manutencao, data_manutencao, custo, quilometragem, "
        "categoria, data_conclusao, chave, id_origem, retirada_lote "
        "FROM manutencoes ORDER BY id",
    )
    assert len(found) == 5
    seen: Counter = Counter()
    ranks = []
    for row in found:
        cells = tuple(
            "" if v is None else f"{float(v):.2f}" if i == 3 else str(v)
            for i, v in enumerate(row[1:8])
        )
        seen[cells] += 1
        ranks.append(seen[cells])
        assert row[8] == fingerprint_key(fingerprint(list(cells)), seen[cells])
        assert row[9:] == (None, None)
    assert sorted(ranks) == [1, 1, 1, 1, 2]


def _check_order_backfill(url: str) -> None:
    """0002: the release's batches are ordered by created_at; each vehicle's version is its
    last batch's, and its state is the first row of its history."""
    ledger = query(
        url, "SELECT batch_id, created_at, published_at, sequence, as_of, ordem FROM frota_batches"
    )
    assert len(ledger) == 2
    for batch_id, created_at, published_at, sequence, as_of, ordem in ledger:
        published = datetime.strptime(created_at, "%Y-%m-%dT%H:%M:%SZ")
        assert (_stamp(published_at), sequence, _stamp(as_of)) == (published, 0, published)
        assert ordem == f"{published:%Y-%m-%dT%H:%M:%S}.000000Z|old|0000000000|{batch_id[-8:]}"
    versions = query(
        url,
        "SELECT v.placa, v.vigente_desde, v.ordem, b.as_of, b.ordem, v.status, h.status, "
        "h.aplicacao FROM veiculos v JOIN frota_batches b ON b.batch_id = v.lote_id "
        "JOIN frota_veiculos_historico h ON h.placa = v.placa",
    )
    assert len(versions) == 2 == len(query(url, "SELECT id FROM frota_veiculos_historico"))
    for _, since, ordem, as_of, lote_ordem, status, history_status, how in versions:
        assert (_stamp(since), ordem, status, how) == (
            _stamp(as_of),
            lote_ordem,
            history_status,
            "baseline",
        )


def _stamp(value: object) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def _check_runs_migrated(release_runs: Counter, url: str) -> None:
    """0004_run_history: each run of the release keeps its id, times, status and message, its
    command as `step` and its load counts in `counts`."""
    expected = Counter()
    for (
        run_id,
        command,
        started,
        finished,
        status,
        batches,
        rows_,
        quarantined,
        message,
    ) in release_runs.elements():
        counts = f"batches_loaded={batches} quarantined={quarantined} rows_loaded={rows_}"
        expected[(run_id, command, started, finished, status, message, "server", counts)] += 1
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            found = Counter(
                (
                    *(_text(v) for v in row[:7]),
                    " ".join(f"{k}={v}" for k, v in sorted(json.loads(row[7]).items())),
                )
                for row in conn.execute(
                    sa.text(
                        "SELECT run_id, step, started_at, finished_at, status, error, role, "
                        "counts FROM frota_runs"
                    )
                )
            )
    finally:
        engine.dispose()
    assert len(expected) == 1 and found == expected


def test_the_loader_refuses_a_schema_newer_than_it_knows(tmp_path: Path, sqlite_url: str) -> None:
    engine = create_engine(sqlite_url)
    try:
        upgrade_schema(engine)
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_future'"))
    finally:
        engine.dispose()
    with pytest.raises(ConfigError) as refused:
        load_pending(settings_for(tmp_path, sqlite_url))
    assert "newer than this frota" in str(refused.value)
    assert "upgrade frota" in str(refused.value)
    with pytest.raises(ConfigError):  # and an upgrade does not touch it
        upgrade_schema(create_engine(sqlite_url))


def test_an_unknown_target_revision_is_a_clear_error(sqlite_url: str) -> None:
    with pytest.raises(ConfigError, match="unknown schema revision"):
        upgrade_schema(create_engine(sqlite_url), "0042_nothing")


def _kill_upgrade(url: str, nth: int, cwd: Path) -> bool:
    """Run `frota db upgrade`, SIGKILL it right after its nth DDL statement; False if it
    finished first."""
    marker = cwd / f"ddl-{nth}-{time.monotonic_ns()}"
    proc = new_frota(
        "--database",
        url,
        "db",
        "upgrade",
        cwd=cwd,
        FROTA_FAULT_PAUSE=f"ddl@{nth}",
        FROTA_FAULT_MARKER=str(marker),
    )
    while not marker.exists() and proc.poll() is None:
        time.sleep(0.005)
    killed = proc.poll() is None
    if killed:
        proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=60)
    return killed


def _rerun_upgrade(url: str, cwd: Path) -> None:
    deadline = time.monotonic() + 15  # the dead session may hold the lock a moment (exit 4)
    while True:
        proc = new_frota("--database", url, "db", "upgrade", cwd=cwd)
        out, err = proc.communicate(timeout=300)
        if proc.returncode != 4 or time.monotonic() > deadline:
            assert proc.returncode == 0, err
            return
        time.sleep(0.2)


@pytest.mark.slow
def test_a_killed_upgrade_reruns_to_the_same_schema(db_url: str, tmp_path: Path) -> None:
    clean = db_url.replace("frota.db", "clean.db") if db_url.startswith("sqlite") else None
    backend = sa.make_url(db_url).get_backend_name()
    if backend == "mysql":
        # DDL commits statement by statement: each run gets two statements further before
        # it is killed, and the next run must carry on from there.
        runs = 0
        while _kill_upgrade(db_url, 2, tmp_path):
            runs += 1
            assert runs < 60
        assert runs >= 5
    else:
        # One transaction: a kill anywhere leaves no trace of the upgrade.
        for nth in (1, 4, 9):
            assert _kill_upgrade(db_url, nth, tmp_path)
            engine = create_engine(db_url)
            try:
                with engine.connect() as conn:
                    left = set(sa.inspect(conn).get_table_names()) - {VERSION_TABLE}
            finally:
                engine.dispose()
            assert left == set()
    _rerun_upgrade(db_url, tmp_path)
    assert at_head(db_url)
    if clean is None:  # a server: compare against a clean upgrade of a second database
        return
    upgrade_schema(create_engine(clean))
    assert signature(db_url) == signature(clean)


@pytest.mark.slow
def test_the_wheel_carries_the_migrations(tmp_path: Path) -> None:
    """An installed frota must find its migrations: they are package data."""
    import zipfile

    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    if built.returncode != 0:
        missing(f"a wheel build (pip wheel): {built.stderr.strip()[-300:]}")
    [wheel] = tmp_path.glob("frota-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    source = ROOT / "src" / "frota" / "db" / "migrations"
    wanted = {
        "frota/" + str(p.relative_to(source.parents[1])).replace(os.sep, "/")
        for p in source.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }
    assert {"frota/db/migrations/env.py", "frota/db/migrations/script.py.mako"} <= wanted
    assert wanted <= names


def _running(url: str, statement: str) -> bool:
    """Whether the server is running a statement that starts with `statement` (case
    ignored) for `url`'s database, on another connection."""
    database = sa.make_url(url).database
    found = query(
        url,
        "SELECT COUNT(*) FROM information_schema.PROCESSLIST "
        "WHERE DB = :db AND UPPER(INFO) LIKE :statement",
        db=database,
        statement=statement.upper() + "%",
    )
    return bool(found[0][0])


def _kill_while(url: str, statement: str, cwd: Path) -> bool:
    """Run `frota db upgrade` and SIGKILL it while the server runs `statement` for it;
    False if it finished (or stopped) before the statement was seen. An ALTER TABLE is held
    on the table's metadata lock (an open transaction that read the table) so that it is seen
    in flight however fast the machine; once the client is killed the server aborts the
    statement (KILL QUERY), as it does when it sees the client gone."""
    holder = create_engine(url) if statement.upper().startswith("ALTER TABLE") else None
    hold = holder.connect() if holder else None
    try:
        if hold is not None:
            hold.execute(sa.text(f"SELECT 1 FROM {statement.split()[2]} LIMIT 1"))
        proc = new_frota("--database", url, "db", "upgrade", cwd=cwd)
        while proc.poll() is None:
            if _running(url, statement):
                proc.send_signal(signal.SIGKILL)
                proc.communicate(timeout=60)
                if hold is not None:
                    _kill_queries(url, statement)
                return True
            time.sleep(0.002)
        proc.communicate(timeout=60)
        return False
    finally:
        if hold is not None and holder is not None:
            hold.close()
            holder.dispose()


def _kill_queries(url: str, statement: str) -> None:
    """KILL QUERY every server thread of `url`'s database running `statement`."""
    found = query(
        url,
        "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = :db AND UPPER(INFO) LIKE :s",
        db=sa.make_url(url).database,
        s=statement.upper() + "%",
    )
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            for (thread,) in found:
                conn.execute(sa.text(f"KILL QUERY {int(thread)}"))
    finally:
        engine.dispose()


def _release_data(release: Path, urls: list[str], tmp_path: Path) -> None:
    """The same release batches loaded into each database by ff3cdaf: thousands of
    maintenances (the 0005 backfill takes a while), doubled by an overlapping export."""
    landing = str(tmp_path / "landing")
    plates = ["ABC1234", "BRA2E19", "KLM1J23"]
    vehicles = [f"{p},Van,ativo,{10000 * (i + 1)},2020-01-0{i + 1}" for i, p in enumerate(plates)]
    services = [
        f"{plates[n % 3]},Revisão {n},2025-{1 + n % 12:02d}-{1 + n % 28:02d},{100 + n}.50,,"
        f"{'preventiva' if n % 2 else 'corretiva'},"
        for n in range(3000)
    ]
    _publish_old(release, landing, write_batch_dir(tmp_path / "r1", vehicles, services), tmp_path)
    overlap = write_batch_dir(
        tmp_path / "r2", None, services[2500:] + ["ABC1234,Pneus,2025-03-03,9.90,,,"]
    )
    _publish_old(release, landing, overlap, tmp_path)
    for url in urls:
        old_frota(release, "--database", url, "db", "init", cwd=tmp_path)
        old_frota(release, "--database", url, "--landing", landing, "load", cwd=tmp_path)


def _maintenance_rows(url: str) -> list[tuple[str, ...]]:
    """Every column of every maintenance, as text, by id."""
    found = query(url, "SELECT * FROM manutencoes ORDER BY id")
    return [tuple(_text(v) for v in row) for row in found]


@pytest.mark.slow
@pytest.mark.mysql
def test_a_release_database_killed_inside_0005_reruns_with_every_row(
    release: Path, tmp_path: Path
) -> None:
    """MariaDB commits each DDL statement: `frota db upgrade` of a database the release made
    and loaded, SIGKILLed after every statement of 0005 (and of every later migration) and in the
    middle of 0005's backfill and of its NOT NULL change, reruns to head with every row as an
    uninterrupted upgrade of the same data leaves it."""
    from faultkit import Databases, require_server

    require_server("mysql")
    made = Databases("mysql", tmp_path)
    try:
        killed, clean = made.new(schema=False), made.new(schema=False)
        _release_data(release, [killed, clean], tmp_path)
        before = rows(killed)
        assert sum(before["manutencoes"].values()) == 3501  # the overlap doubled 500 rows
        for url in (killed, clean):
            upgrade_schema(create_engine(url), "0004_run_history")
        points = []
        # 0005's first nine statements (columns, the history table and its index), one a run.
        for _ in range(9):
            assert _kill_upgrade(killed, 1, tmp_path)
            points.append("ddl")
        # Then inside the statements that follow: the backfill's UPDATEs (twice), the NOT NULL
        # change; each run starts over from the backfill (the UNIQUE index on 3,501 rows is
        # too quick to be caught in flight).
        for statement in ("UPDATE manutencoes", "UPDATE manutencoes", "ALTER TABLE manutencoes"):
            assert _kill_while(killed, statement, tmp_path), statement
            points.append(statement)
        # The last statement, the UNIQUE index, is done: killed before the revision is recorded.
        assert _kill_upgrade(killed, 1, tmp_path)
        points.append("ddl")
        assert not at_head(killed)
        # Every later migration, killed after each of its statements in turn, to the end.
        later = [r for r in revisions() if r > "0005_maintenance_identity"]
        while _kill_upgrade(killed, 1, tmp_path):
            points.append("ddl")
        _rerun_upgrade(killed, tmp_path)
        _rerun_upgrade(clean, tmp_path)
        assert at_head(killed) and len(points) >= 13 + len(later), points
        kept = tuple(t for t in TABLES if t != "frota_runs")  # 0004 reshaped frota_runs
        assert rows(killed, kept) == {t: before[t] for t in kept}  # every release row intact
        assert _maintenance_rows(killed) == _maintenance_rows(clean)  # keys included
        assert signature(killed) == signature(clean)
        _check_rank_backfill(killed, 3501)
    finally:
        made.close()


def _check_rank_backfill(url: str, total: int) -> None:
    """Every row has its fingerprint key, k = its rank among identical rows by id."""
    found = query(
        url,
        "SELECT placa_veiculo, tipo_manutencao, data_manutencao, custo, quilometragem, "
        "categoria, data_conclusao, chave FROM manutencoes ORDER BY id",
    )
    seen: Counter = Counter()
    for row in found:
        cells = tuple("" if v is None else str(v) for v in row[:7])
        seen[cells] += 1
        assert row[7] == fingerprint_key(fingerprint(list(cells)), seen[cells])
    assert len(found) == total and sum(1 for n in seen.values() if n == 2) == 500
