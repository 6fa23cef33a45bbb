"""The whole hand-off through each kind of landing area: publish on one side, load on the
other, by URL, exactly as a source and a server configured with `--landing` would."""

from __future__ import annotations

import shutil
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from batchkit import M1_LINES, TODAY, V1_LINES, init_db, publish_lines, query
from ci import missing

from frota.config import Settings
from frota.load import load_pending


def _landing_url(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> str:
    if kind == "folder":
        return str(tmp_path / "landing")
    if kind == "rclone":
        if shutil.which("rclone") is None:
            missing("the rclone binary (apt-get install rclone)")
        request.getfixturevalue("monkeypatch").setenv("RCLONE_CONFIG_LAND_TYPE", "local")
        return f"rclone:land:{(tmp_path / 'landing').as_posix()}"
    base, _ = request.getfixturevalue("ftp_server")
    return f"{base}/{tmp_path.name}/landing"


@pytest.mark.filterwarnings("ignore:The asyn.* module is deprecated:DeprecationWarning")
@pytest.mark.parametrize("kind", ["folder", "rclone", "ftp"])
def test_publish_then_load_through_the_landing(
    kind: str, tmp_path: Path, sqlite_url: str, request: pytest.FixtureRequest
) -> None:
    landing = _landing_url(kind, tmp_path, request)
    init_db(sqlite_url)
    s = Settings(landing=landing, database=sqlite_url)
    first = publish_lines(tmp_path, landing, 1, V1_LINES, M1_LINES)
    assert first.status == "published"
    assert publish_lines(tmp_path, landing, 2, V1_LINES, M1_LINES).status == "already_published"
    result = load_pending(s, today=TODAY)
    assert [b.batch_id for b in result.loaded] == [first.batch_id]
    assert query(sqlite_url, "SELECT COUNT(*) FROM manutencoes") == [(2,)]
    assert load_pending(s, today=TODAY).loaded == ()
    if kind == "ftp":
        from frota.landing import open_landing

        password = urlsplit(landing).password
        assert password and password not in open_landing(landing).display
