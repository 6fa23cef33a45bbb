"""`frota snapshot`: the operational state as of a batch as deterministic Parquet files (the same
state gives byte-identical files), and its versions in a DVC repository restored byte for byte
with the real `git` and `dvc` programs and a local DVC remote."""

from __future__ import annotations

import filecmp
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from batchkit import (
    M1_LINES,
    MANUT_HEADER,
    TODAY,
    V1_LINES,
    init_db,
    publish_lines,
    query,
    settings_for,
)
from ci import missing

from frota.config import Settings
from frota.contract import MANUTENCOES, VEICULOS
from frota.db.engine import create_engine
from frota.errors import BadInputError
from frota.load import load_pending
from frota.ops.snapshot import current_rows, snapshot_columns, write_snapshot

pq = pytest.importorskip("pyarrow.parquet", reason="pip install 'frota[dvc]'")

FILES = ("veiculos.parquet", "manutencoes.parquet", "manifest.json")
# Batch 2 changes a vehicle and adds one; batch 3 changes the same vehicle again.
B2_VEHICLES = [
    "ABC1234,Caminhão Toco,Em manutenção,121000,2019-03-01",
    "CDE5F67,Utilitário,ativo,10,2025-11-20",
]
B2_MAINTENANCES = ["CDE5F67,Revisão,2026-01-08,99.90,10,preventiva,2026-01-08"]
B3_VEHICLES = ["ABC1234,Caminhão Toco,ativo,121500,2019-03-01"]
B3_MAINTENANCES = ["ABC1234,Pneus,2026-01-09,2000.00,121500,corretiva,"]


def load_batch(tmp: Path, s: Settings, n: int, vehicles, maintenances) -> str:
    published = publish_lines(tmp, s.landing, n, vehicles, maintenances)
    [loaded] = load_pending(s, today=TODAY).loaded
    assert loaded.batch_id == published.batch_id
    return published.batch_id


def same_files(a: Path, b: Path) -> bool:
    return all(filecmp.cmp(a / f, b / f, shallow=False) for f in FILES)


def read_back(folder: Path, name: str) -> list[tuple]:
    return [tuple(r.values()) for r in pq.read_table(folder / f"{name}.parquet").to_pylist()]


def current(db_url: str) -> dict[str, list[tuple]]:
    """The tables now, read the simple way, typed as a snapshot types them."""
    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            got = {t.name: current_rows(conn, t) for t in (VEICULOS, MANUTENCOES)}
    finally:
        engine.dispose()
    out = {}
    for table in (VEICULOS, MANUTENCOES):
        cols = snapshot_columns(table)
        typed = [
            tuple(None if v is None else type_of(c)(v) for c, v in zip(cols, row, strict=True))
            for row in got[table.name]
        ]
        out[table.name] = sorted(typed, key=lambda r: tuple((v is None, v or 0) for v in r))
    return out


def type_of(column):
    from datetime import date
    from decimal import Decimal

    if column.kind == "decimal":
        return lambda v: Decimal(str(v)).quantize(Decimal("0.01"))
    if column.kind == "date":
        return lambda v: v if isinstance(v, date) else date.fromisoformat(str(v))
    return {"int": int, "str": str}[column.kind]


def test_a_snapshot_as_of_a_batch_is_what_the_database_held_then(
    tmp_path: Path, db_url: str
) -> None:
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    b1 = load_batch(tmp_path, s, 1, V1_LINES, M1_LINES)
    then1 = write_snapshot(s, tmp_path / "then1")
    expected1 = current(db_url)
    b2 = load_batch(tmp_path, s, 2, B2_VEHICLES, B2_MAINTENANCES)
    write_snapshot(s, tmp_path / "then2")
    b3 = load_batch(tmp_path, s, 3, B3_VEHICLES, B3_MAINTENANCES)

    assert then1.as_of_batch == b1 and then1.batches == 1
    for name in ("veiculos", "manutencoes"):  # the files hold the tables as they were
        assert read_back(tmp_path / "then1", name) == expected1[name]
    assert len(expected1["veiculos"]) == 2 and len(expected1["manutencoes"]) == 2

    # Later, the state as of each batch is rebuilt from the history: the same bytes.
    again1 = write_snapshot(s, tmp_path / "again1", as_of=b1)
    again2 = write_snapshot(s, tmp_path / "again2", as_of=b2)
    assert same_files(tmp_path / "then1", tmp_path / "again1")
    assert same_files(tmp_path / "then2", tmp_path / "again2")
    assert (again1.batches, again2.batches) == (1, 2)
    statuses = {r[0]: r[2] for r in read_back(tmp_path / "again2", "veiculos")}
    assert statuses == {"ABC1234": "Em manutenção", "BRA2E19": "ativo", "CDE5F67": "ativo"}

    # The default is the last batch, equal to the tables as they are now.
    latest = write_snapshot(s, tmp_path / "latest")
    now = current(db_url)
    assert latest.as_of_batch == b3
    assert [read_back(tmp_path / "latest", t) for t in ("veiculos", "manutencoes")] == [
        now["veiculos"],
        now["manutencoes"],
    ]
    manifest = json.loads((tmp_path / "latest" / "manifest.json").read_text())
    assert manifest["as_of_batch"] == b3 and manifest["batches"] == 3
    assert manifest["tables"]["manutencoes"]["rows"] == len(now["manutencoes"]) == 4
    write_snapshot(s, tmp_path / "latest2", as_of=b3)
    assert same_files(tmp_path / "latest", tmp_path / "latest2")


def test_an_unknown_batch_is_a_clear_error(tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    empty = write_snapshot(s, tmp_path / "empty")
    assert (empty.as_of_batch, [f.rows for f in empty.files]) == (None, [0, 0])
    with pytest.raises(BadInputError, match="batch nope is not in the ledger"):
        write_snapshot(s, tmp_path / "x", as_of="nope")


def _dvc_or_missing() -> None:
    if not Path(sys.executable).with_name("dvc").exists() and shutil.which("dvc") is None:
        missing("the dvc program (pip install 'frota[dvc]')")
    if shutil.which("git") is None:
        missing("git")


def frota(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess:
    full = {k: v for k, v in os.environ.items() if not k.startswith("FROTA_")} | env
    return subprocess.run(
        [sys.executable, "-m", "frota", *args],
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run(*args: str, cwd: Path) -> str:
    dvc = Path(sys.executable).with_name("dvc")
    argv = [str(dvc) if args[0] == "dvc" and dvc.exists() else args[0], *args[1:]]
    env = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"{args}: {done.stdout}{done.stderr}"
    return done.stdout


def test_dvc_versions_restore_byte_identical(tmp_path: Path, sqlite_url: str) -> None:
    _dvc_or_missing()
    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)
    env = {"FROTA_DATABASE": sqlite_url, "FROTA_LOG_DIR": str(tmp_path / "logs")}
    repo, remote = tmp_path / "versions", tmp_path / "dvc-remote"
    taken = {}
    for n, (vehicles, maintenances) in enumerate(
        [(V1_LINES, M1_LINES), (B2_VEHICLES, B2_MAINTENANCES)], 1
    ):
        batch = load_batch(tmp_path, s, n, vehicles, maintenances)
        args = ["snapshot", "--out", str(repo), "--dvc", "--remote", str(remote)]
        done = frota(*args, cwd=tmp_path, env=env)
        assert done.returncode == 0, done.stdout + done.stderr
        assert batch in done.stdout and "committed" in done.stdout
        taken[batch] = tmp_path / f"kept-{n}"
        shutil.copytree(repo, taken[batch], ignore=shutil.ignore_patterns(".git", ".dvc"))
    b1, b2 = taken
    assert not same_files(taken[b1], taken[b2])
    assert run("git", "tag", cwd=repo).split() == sorted([b1, b2])

    # The same state again: nothing new to commit, the tag stays where it is.
    again = frota("snapshot", "--out", str(repo), "--dvc", cwd=tmp_path, env=env)
    assert again.returncode == 0 and "unchanged" in again.stdout

    # In the repository: check out the first version.
    run("git", "checkout", "-q", b1, cwd=repo)
    run("dvc", "checkout", cwd=repo)
    assert same_files(repo, taken[b1])

    # A fresh clone, its files from the DVC remote only.
    clone = tmp_path / "clone"
    run("git", "clone", "-q", str(repo), str(clone), cwd=tmp_path)
    run("git", "checkout", "-q", b2, cwd=clone)
    run("dvc", "pull", "-q", cwd=clone)
    assert same_files(clone, taken[b2])
    run("git", "checkout", "-q", b1, cwd=clone)
    run("dvc", "pull", "-q", cwd=clone)
    assert same_files(clone, taken[b1])


ID_HEADER = MANUT_HEADER + ",id_origem"
OIL_OPEN = "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,,OS-1"
OIL_CLOSED = "ABC1234,Troca de óleo,2026-01-05,850.00,119500,preventiva,2026-01-06,OS-1"
OIL_DEARER = "ABC1234,Troca de óleo,2026-01-05,900.00,119500,preventiva,2026-01-06,OS-1"


def load_work_orders(tmp: Path, s: Settings, n: int, lines: list[str]) -> str:
    folder = tmp / f"os-{n}"
    folder.mkdir()
    (folder / "manutencoes.csv").write_text("\n".join([ID_HEADER, *lines]) + "\n")
    if n == 1:
        (folder / "veiculos.csv").write_text(
            "\n".join(["placa,tipo_veiculo,status,quilometragem_total,data_aquisicao", *V1_LINES])
            + "\n"
        )
    from datetime import timedelta

    from batchkit import T0

    from frota.landing import open_landing
    from frota.publish import publish_dir

    published = publish_dir(
        folder, open_landing(s.landing), "oficina", now=T0 + timedelta(minutes=n)
    )
    [loaded] = load_pending(s, today=TODAY).loaded
    assert loaded.batch_id == published.batch_id
    return loaded.batch_id


def test_updated_records_as_each_batch_left_them(tmp_path: Path, db_url: str, caplog) -> None:
    """A work order updated by later batches is, as of each batch, as that batch left it —
    from frota_manutencoes_historico; one first changed after the batch is flagged."""
    init_db(db_url)
    s = settings_for(tmp_path, db_url)
    b1 = load_work_orders(tmp_path, s, 1, [OIL_OPEN])
    then1 = tmp_path / "then1"
    write_snapshot(s, then1)
    b2 = load_work_orders(tmp_path, s, 2, [OIL_CLOSED])  # closes OS-1
    write_snapshot(s, tmp_path / "then2")
    load_work_orders(tmp_path, s, 3, [OIL_DEARER])  # and changes its cost

    write_snapshot(s, tmp_path / "again2", as_of=b2)
    assert same_files(tmp_path / "then2", tmp_path / "again2")
    [row] = pq.read_table(tmp_path / "again2" / "manutencoes.parquet").to_pylist()
    assert (str(row["custo"]), str(row["data_conclusao"])) == ("850.00", "2026-01-06")
    assert (row["lote_id"], row["id_origem"]) == (b1, "OS-1")  # still batch 1's record
    stored = query(db_url, "SELECT custo FROM manutencoes")
    assert [f"{float(c):.2f}" for (c,) in stored] == ["900.00"]  # what batch 3 left

    # As of batch 1: OS-1 was first changed by batch 2, and the history keeps no image from
    # before that change: the snapshot says so (manifest, log) instead of passing it off.
    again1 = write_snapshot(s, tmp_path / "again1", as_of=b1)
    manifest = json.loads((tmp_path / "again1" / "manifest.json").read_text())
    assert manifest["changed_later_as_stored_now"] == 1 and again1.as_of_batch == b1
    assert "first changed after batch" in caplog.text
    assert "changed_later_as_stored_now" not in (then1 / "manifest.json").read_text()


def test_retired_and_restored_records_as_of_each_batch(tmp_path: Path, sqlite_url: str) -> None:
    """A snapshot export retires a record, a later export restores it: as of each batch the
    record is in the state or not as it was then, byte for byte."""
    from datetime import date, timedelta

    from batchkit import T0, VEIC_HEADER

    from frota.publish import publish_export

    init_db(sqlite_url)
    s = settings_for(tmp_path, sqlite_url)

    def send(n: int, orders: list[int], **kw) -> str:
        folder = tmp_path / f"exp-{n}"
        folder.mkdir()
        (folder / "veiculos.csv").write_text("\n".join([VEIC_HEADER, *V1_LINES]) + "\n")
        lines = [f"ABC1234,Revisão,2026-01-0{o},100.00,,,,OS-{o}" for o in orders]
        (folder / "manutencoes.csv").write_text("\n".join([ID_HEADER, *lines]) + "\n")
        sent = publish_export(folder, s, now=T0 + timedelta(minutes=n), **kw)
        load_pending(s, today=TODAY)
        write_snapshot(s, tmp_path / f"then-{n}")
        return sent.batch_id

    ids = [send(1, [1, 2, 3, 4, 5])]
    ids.append(send(2, [1, 2, 3, 4], snapshot=True, period=(date(2026, 1, 1), date(2026, 1, 5))))
    ids.append(send(3, [5]))  # OS-5 comes back
    present = []
    for n, batch in enumerate(ids, 1):
        write_snapshot(s, tmp_path / f"again-{n}", as_of=batch)
        assert same_files(tmp_path / f"then-{n}", tmp_path / f"again-{n}")
        rows = pq.read_table(tmp_path / f"again-{n}" / "manutencoes.parquet").to_pylist()
        present.append(sorted(r["id_origem"] for r in rows))
    assert present == [[f"OS-{o}" for o in range(1, 6)], [f"OS-{o}" for o in range(1, 5)]] + [
        [f"OS-{o}" for o in range(1, 6)]
    ]
