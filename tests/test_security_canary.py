"""Secrets never leak: the main flows run with a canary password (in the URL, from the
environment, from a secrets file), including failures and -v tracebacks, and the canary is
searched for in every output, every file written and the run history."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from batchkit import M1_LINES, V1_LINES, publish_lines
from faultkit import MYSQL_ADMIN, loader_env


@pytest.fixture
def canary_user(mysql_url: str) -> Iterator[tuple[str, str]]:
    """(URL without password, canary password) of a MariaDB user owning a fresh database."""
    canary = f"Canary!{secrets.token_hex(6)}@pw"
    user = f"frota_canary_{secrets.token_hex(3)}"
    db = sa.make_url(mysql_url).database
    admin = sa.create_engine(MYSQL_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        cur = conn.connection.dbapi_connection.cursor()
        cur.execute(f"CREATE USER '{user}'@'%%' IDENTIFIED BY %s", (canary,))
        cur.execute(f"GRANT ALL ON `{db}`.* TO '{user}'@'%'")
    url = sa.make_url(mysql_url).set(username=user, password=None)
    yield url.render_as_string(hide_password=False), canary
    with admin.connect() as conn:
        conn.connection.dbapi_connection.cursor().execute(f"DROP USER '{user}'@'%'")
    admin.dispose()


def run(tmp: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "frota", *args],
        env=loader_env(**env),
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=180,
    )


@pytest.mark.mysql
def test_canary_password_never_appears(canary_user, tmp_path: Path) -> None:
    url, canary = canary_user
    forms = {canary, quote(canary, safe=""), quote(canary)}
    in_url = sa.make_url(url).set(password=canary).render_as_string(hide_password=False)
    landing = str(tmp_path / "landing")
    publish_lines(tmp_path, landing, 1, V1_LINES, M1_LINES)
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text(f'database_password = "{canary}"\n')
    secrets_file.chmod(0o600)
    base = ["--landing", landing, "--outbox", str(tmp_path / "outbox")]
    from_env, from_file = (
        {"FROTA_DATABASE_PASSWORD": canary},
        {"FROTA_SECRETS_FILE": str(secrets_file)},
    )
    flows: list[subprocess.CompletedProcess] = [
        run(tmp_path, "--database", in_url, *base, "db", "init"),
        run(tmp_path, "-v", "--database", in_url, *base, "load"),
        run(tmp_path, "--database", url, *base, "status", FROTA_DATABASE_PASSWORD=canary),
        run(tmp_path, "--database", url, *base, "status", "--json", **from_file),
        run(tmp_path, "-v", "--database", url, *base, "run", "--role", "server", **from_env),
        run(tmp_path, "--database", in_url, *base, "run", "--role", "source", FROTA_VEHICLES="5"),
        # failures: wrong password, unreachable server (retries, -v traceback), bad database
        run(tmp_path, "-v", "--database", url, *base, "load", FROTA_DATABASE_PASSWORD=canary + "x"),
        run(
            tmp_path, "-v", "--database", in_url.replace(":3306", ":1"), *base, "load",
            FROTA_RETRY_ATTEMPTS="2", FROTA_RETRY_MAX_SECONDS="2",
        ),
        run(tmp_path, "-v", "--database", in_url.rsplit("/", 1)[0] + "/frota_nope", *base, "load"),
        run(tmp_path, "-v", "--database", in_url, "--landing", "rclone:nope:x", "load"),
    ]  # fmt: skip
    # Alert URLs are secrets too: a channel that is down makes apprise log its URL's parts.
    token = f"AlertTok{secrets.token_hex(8)}"
    alerts = {"FROTA_ALERTS": f"json://frota:{token}@127.0.0.1:1/hook tgram://12345:{token}/9"}
    alerting = [
        run(tmp_path, "-v", "--database", url, *base, "load", FROTA_DATABASE_PASSWORD=canary + "x",
            **alerts),
        run(tmp_path, "-v", "--database", url, *base, "check", "--role", "server", **alerts),
        run(tmp_path, "alerts", "test", **alerts),
    ]  # fmt: skip
    assert [p.returncode for p in alerting] == [5, 2, 7], [p.stderr[-500:] for p in alerting]
    assert "did not take the message" in alerting[0].stderr
    forms.add(token)
    flows += alerting
    codes = [p.returncode for p in flows]
    assert codes[:6] == [0] * 6, [p.stderr[-500:] for p in flows[:6]]
    # the exact outcome of each failure: refused at once (5), retried then given up (5),
    # refused at once (5), landing area unusable (6)
    assert codes[6:10] == [5, 5, 5, 6], [p.stderr[-500:] for p in flows[6:10]]
    wrong_pw, unreachable, no_db, no_remote = (p.stderr for p in flows[6:10])
    assert "(1045, " in wrong_pw and "retrying" not in wrong_pw
    assert "after 2 attempt(s)" in unreachable and "Connection refused" in unreachable
    assert "(1044, " in no_db and "frota_nope" in no_db and "retrying" not in no_db
    assert "rclone:nope:x" in no_remote
    outputs = [p.stdout + p.stderr for p in flows]
    assert "loaded batches" in outputs[1]
    for text in outputs:
        assert not any(f in text for f in forms), text
    for path in tmp_path.rglob("*"):
        if path.is_file() and path != secrets_file:
            data = path.read_bytes()
            assert not any(f.encode() in data for f in forms), path
    admin = sa.create_engine(MYSQL_ADMIN)
    try:
        with admin.connect() as conn:
            db = sa.make_url(url).database
            rows = conn.exec_driver_sql(f"SELECT * FROM `{db}`.frota_runs").all()
    finally:
        admin.dispose()
    assert rows and not any(canary in str(row) for row in rows)


def test_secrets_file_readable_by_others_is_refused(tmp_path: Path) -> None:
    if os.name == "nt":
        pytest.skip("POSIX permissions")
    secrets_file = tmp_path / "secrets.toml"
    secrets_file.write_text('database_password = "Canary-readable"\n')
    secrets_file.chmod(0o644)
    proc = run(tmp_path, "status", FROTA_SECRETS_FILE=str(secrets_file))
    assert proc.returncode == 7
    assert f"chmod 600 {secrets_file}" in proc.stderr
    assert "Canary-readable" not in proc.stdout + proc.stderr
