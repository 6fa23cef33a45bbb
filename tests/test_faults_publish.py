"""Fault 5: a publisher SIGKILLed mid-upload leaves an incomplete batch that no loader touches;
publishing again completes it (same batch id) or, if the data changed, supersedes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from batchkit import M1_LINES, V1_LINES, init_db, query, write_batch_dir

from frota.config import Settings
from frota.landing import open_landing
from frota.load import load_pending
from frota.publish import publish_dir

# Publishes `folder` as a batch, SIGKILLing itself at the chosen moment of the upload.
DRIVER = """
import os, shutil, signal, sys
from datetime import UTC, datetime
from pathlib import Path
from frota.landing import folder as backend
from frota.landing import open_landing
from frota.publish import publish_dir

mode, src, landing = sys.argv[1], Path(sys.argv[2]), sys.argv[3]
uploads = []
real_copy = shutil.copyfile

def copy(a, b, *args, **kw):
    uploads.append(str(b))
    if mode == "mid-file" and len(uploads) == 2:
        data = Path(a).read_bytes()
        with open(b, "wb") as fh:  # half of the second file, then death
            fh.write(data[: len(data) // 2])
            fh.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    if mode == "before-manifest" and Path(a).name == "_manifest.json":
        os.kill(os.getpid(), signal.SIGKILL)
    return real_copy(a, b, *args, **kw)

backend.shutil.copyfile = copy
publish_dir(src, open_landing(landing), "pub", now=datetime(2026, 1, 10, 12, tzinfo=UTC))
"""


def publish_and_die(mode: str, src: Path, landing: str) -> int:
    proc = subprocess.run(
        [sys.executable, "-c", DRIVER, mode, str(src), landing], capture_output=True, timeout=60
    )
    return proc.returncode


@pytest.mark.parametrize("mode", ["mid-file", "before-manifest"])
def test_killed_publisher_leaves_a_batch_no_loader_touches(
    tmp_path: Path, db_url: str, mode: str
) -> None:
    init_db(db_url)
    s = Settings(landing=str(tmp_path / "landing"), database=db_url)
    src = write_batch_dir(tmp_path / "src", V1_LINES, M1_LINES)
    assert publish_and_die(mode, src, s.landing) == -9
    [batch_id] = open_landing(s.landing).list_batch_ids()
    for _ in range(2):
        result = load_pending(s)
        assert result.loaded == () and [b for b, _ in result.incomplete] == [batch_id]
    assert query(db_url, "SELECT COUNT(*) FROM veiculos") == [(0,)]
    assert query(db_url, "SELECT COUNT(*) FROM frota_batches") == [(0,)]
    # The next publish of the same data finishes the interrupted batch under its id, or (a
    # half-written `.part` file is there) publishes it anew: the stale one is never loaded.
    again = publish_dir(src, open_landing(s.landing), "pub")
    expected = (
        ("completed", batch_id) if mode == "before-manifest" else ("published", again.batch_id)
    )
    assert (again.status, again.batch_id) == expected
    result = load_pending(s)
    assert [b.batch_id for b in result.loaded] == [again.batch_id]
    if again.batch_id != batch_id:
        assert [b for b, _ in result.incomplete] == [batch_id]
    assert query(db_url, "SELECT COUNT(*) FROM manutencoes") == [(2,)]
    assert load_pending(s).loaded == ()


def test_changed_data_supersedes_the_interrupted_batch(tmp_path: Path, sqlite_url: str) -> None:
    init_db(sqlite_url)
    s = Settings(landing=str(tmp_path / "landing"), database=sqlite_url)
    src = write_batch_dir(tmp_path / "src", V1_LINES, M1_LINES)
    assert publish_and_die("before-manifest", src, s.landing) == -9
    [stale] = open_landing(s.landing).list_batch_ids()
    fixed = write_batch_dir(tmp_path / "fixed", V1_LINES, M1_LINES[:1])
    new = publish_dir(fixed, open_landing(s.landing), "pub")
    assert new.status == "published" and new.batch_id != stale
    result = load_pending(s)
    assert [b.batch_id for b in result.loaded] == [new.batch_id]
    assert [b for b, _ in result.incomplete] == [stale]  # reported, never loaded
    assert query(sqlite_url, "SELECT COUNT(*) FROM manutencoes") == [(1,)]
