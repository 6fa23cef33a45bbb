"""Faults 2 and 3: connections cut at the worst moments, through a TCP proxy in front of the
real MariaDB and PostgreSQL servers. An ambiguous COMMIT is settled by the ledger; resets
and restarts retry the whole batch within the budget, then exit 5; terminal errors fail fast.
"""

from __future__ import annotations

import logging
import socket
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest
import sqlalchemy as sa
from faultkit import (
    Databases,
    Proxy,
    diff,
    loader_env,
    make_batches,
    snapshot,
)

from frota import faults
from frota.config import Settings
from frota.errors import DatabaseUnreachable, LockHeld, LockOfLostSession
from frota.load import load_pending
from frota.load.retry import RetryPolicy, is_transient, retry_call

SERVERS = [
    pytest.param("mysql", marks=pytest.mark.mysql),
    pytest.param("postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="module")
def batches(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    return make_batches(tmp_path_factory.mktemp("net-batches"), vehicles=30, days=120)


@pytest.fixture
def proxy(dbs: Databases) -> Iterator[Proxy]:
    port = 3306 if dbs.backend == "mysql" else 5432
    p = Proxy(port)
    yield p
    p.close()


@pytest.fixture
def messages() -> Iterator[list[str]]:
    """frota's log messages (its logger may not propagate to pytest's caplog)."""
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    log = logging.getLogger("frota")
    handler, level = Keep(), log.level
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    yield seen
    log.removeHandler(handler)
    log.setLevel(level)


def at(monkeypatch: pytest.MonkeyPatch, phase: str, action) -> list[int]:
    """Run `action` the first time a load reaches `phase`."""
    fired: list[int] = []

    def checkpoint(name: str, conn=None) -> None:
        if name == phase and not fired:
            fired.append(1)
            action()

    monkeypatch.setattr(faults, "checkpoint", checkpoint)
    return fired


def settings(url: str, landing: str, tmp: Path, **kw) -> Settings:
    kw.setdefault("retry_attempts", 8)
    kw.setdefault("retry_max_seconds", 30.0)
    return Settings(landing=landing, database=url, outbox=str(tmp / "o"), **kw)


def clean(dbs: Databases, landing: str, tmp: Path) -> dict:
    url = dbs.new()
    load_pending(settings(url, landing, tmp))
    return snapshot(url)


@pytest.mark.parametrize("dbs", SERVERS, indirect=True)
def test_ambiguous_commit_is_settled_by_the_ledger(
    batches, dbs, proxy, tmp_path, monkeypatch, messages
) -> None:
    """COMMIT reaches the server, the reply never reaches frota: reported loaded, once."""
    landing, ids = batches
    expected = clean(dbs, landing, tmp_path)
    url = dbs.new()
    fired = at(monkeypatch, "before_commit", lambda: proxy.arm(forward=True))
    result = load_pending(settings(proxy.url(url), landing, tmp_path))
    assert fired and proxy._armed is None  # the COMMIT was sent, then the connection cut
    assert [b.batch_id for b in result.loaded] == ids  # each reported once, in order
    assert result.already_loaded == ()
    assert any("the ledger shows the commit succeeded" in m for m in messages)
    assert any("transient database error" in m for m in messages)
    assert diff(expected, snapshot(url)) == (0, 0)


@pytest.mark.parametrize("dbs", SERVERS, indirect=True)
def test_commit_lost_on_the_way_is_redone_once(
    batches, dbs, proxy, tmp_path, monkeypatch, messages
) -> None:
    """The connection dies before COMMIT reaches the server: rolled back, loaded again."""
    landing, ids = batches
    expected = clean(dbs, landing, tmp_path)
    url = dbs.new()
    at(monkeypatch, "before_commit", lambda: proxy.arm(forward=False))
    result = load_pending(settings(proxy.url(url), landing, tmp_path))
    assert [b.batch_id for b in result.loaded] == ids
    assert not any("the ledger shows the commit succeeded" in m for m in messages)
    assert diff(expected, snapshot(url)) == (0, 0)


@pytest.mark.parametrize("dbs", SERVERS, indirect=True)
def test_connection_reset_mid_transaction_retries_the_batch(
    batches, dbs, proxy, tmp_path, monkeypatch, messages
) -> None:
    landing, ids = batches
    expected = clean(dbs, landing, tmp_path)
    url = dbs.new()
    at(monkeypatch, "mid_insert", proxy.cut)
    result = load_pending(settings(proxy.url(url), landing, tmp_path))
    assert [b.batch_id for b in result.loaded] == ids
    assert any("transient database error" in m for m in messages)
    assert diff(expected, snapshot(url)) == (0, 0)


@pytest.mark.parametrize("dbs", SERVERS, indirect=True)
def test_server_restart_is_waited_out(batches, dbs, proxy, tmp_path, monkeypatch) -> None:
    """Every connection dies and new ones are refused for ~1.5 s, then the server is back."""
    landing, ids = batches
    expected = clean(dbs, landing, tmp_path)
    url = dbs.new()

    def restart() -> None:
        proxy.down = True
        proxy.cut()
        threading.Timer(1.5, lambda: setattr(proxy, "down", False)).start()

    at(monkeypatch, "after_inserts", restart)
    result = load_pending(settings(proxy.url(url), landing, tmp_path))
    assert [b.batch_id for b in result.loaded] == ids
    assert diff(expected, snapshot(url)) == (0, 0)


@pytest.mark.parametrize("dbs", SERVERS, indirect=True)
def test_budget_exhausted_fails_clearly_and_commits_nothing(
    batches, dbs, proxy, tmp_path, monkeypatch
) -> None:
    landing, _ = batches
    url = dbs.new()

    def die() -> None:
        proxy.down = True
        proxy.cut()

    at(monkeypatch, "after_inserts", die)
    started = time.monotonic()
    with pytest.raises(DatabaseUnreachable) as err:
        load_pending(settings(proxy.url(url), landing, tmp_path, retry_attempts=3))
    assert time.monotonic() - started < 10
    assert err.value.exit_code == 5
    assert "failed after 3 attempt(s)" in str(err.value)
    counts = {t: sum(rows.values()) for t, rows in snapshot(url).items()}
    assert counts == dict.fromkeys(counts, 0)  # never a partial commit


@pytest.mark.parametrize("dbs", SERVERS, indirect=True)
def test_cli_exit_5_after_the_retry_budget(batches, dbs, proxy, tmp_path) -> None:
    landing, _ = batches
    url = dbs.new()
    proxy.down = True
    env = loader_env(FROTA_RETRY_ATTEMPTS="3", FROTA_RETRY_MAX_SECONDS="5")
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "frota", "--database", proxy.url(url), "--landing", landing, "load"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 5, proc.stderr
    assert "failed after 3 attempt(s)" in proc.stderr
    assert proc.stderr.count("retrying in") == 2
    assert time.monotonic() - started < 15


@pytest.mark.parametrize("dbs", SERVERS, indirect=True)
def test_terminal_errors_fail_fast_without_retries(batches, dbs, tmp_path) -> None:
    landing, _ = batches
    url = sa.make_url(dbs.new()).set(username="frota_nobody", password="wrong")
    unschema = dbs.new(schema=False)
    for target, code in ((url.render_as_string(hide_password=False), 5), (unschema, 7)):
        started = time.monotonic()
        proc = subprocess.run(
            [sys.executable, "-m", "frota", "--database", target, "--landing", landing, "load"],
            env=loader_env(),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert proc.returncode == code, proc.stderr
        assert "retrying" not in proc.stderr
        assert time.monotonic() - started < 5
    assert "wrong" not in proc.stderr


def test_transient_and_terminal_classification(tmp_path: Path) -> None:
    """By class and driver code: each error here is built as its driver builds it."""
    import sqlite3
    import ssl

    import psycopg

    def wrapped(orig: Exception) -> sa.exc.DBAPIError:
        return sa.exc.OperationalError("SELECT 1", {}, orig)

    def pymysql_connect_error(cause: OSError) -> pymysql.err.OperationalError:
        # What PyMySQL raises when the socket or its TLS handshake fails.
        err = pymysql.err.OperationalError(2003, f"Can't connect to MySQL server ({cause})")
        err.original_exception = cause
        return err

    for code in (2006, 2013, 1205, 1213, 2003):
        assert is_transient(wrapped(pymysql.err.OperationalError(code, "x")))
    for code in (1045, 1049, 1146, 1064):
        assert not is_transient(wrapped(pymysql.err.OperationalError(code, "x")))
    assert is_transient(wrapped(pymysql_connect_error(ConnectionRefusedError(111, "refused"))))
    ssl_refused = pymysql_connect_error(ssl.SSLCertVerificationError(1, "certificate verify"))
    assert not is_transient(wrapped(ssl_refused))
    for state in ("08006", "08001", "40001", "40P01", "57P01", "57P03"):
        assert is_transient(wrapped(psycopg.errors.lookup(state)("x")))
    for state in ("28P01", "42P01", "42501", "23505"):
        assert not is_transient(wrapped(psycopg.errors.lookup(state)("x")))
    assert is_transient(wrapped(psycopg.OperationalError("server closed the connection")))
    with pytest.raises(psycopg.OperationalError) as nobody_listens:
        psycopg.connect("postgresql://frota@127.0.0.1:1/x", connect_timeout=5)
    assert is_transient(wrapped(nobody_listens.value))
    db = str(tmp_path / "locked.db")
    holder, other = sqlite3.connect(db), sqlite3.connect(db, timeout=0)
    holder.execute("CREATE TABLE t (a INT)")
    holder.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError) as locked:
        other.execute("BEGIN IMMEDIATE")
    with pytest.raises(sqlite3.OperationalError) as no_table:
        other.execute("SELECT * FROM veiculos")
    holder.close(), other.close()
    assert is_transient(wrapped(locked.value))
    assert not is_transient(wrapped(no_table.value))
    assert not is_transient(LockHeld("another frota load is running"))
    assert is_transient(LockOfLostSession("another frota load is running"))


def test_a_failed_postgres_connection_attempt_is_judged_by_the_servers_answer() -> None:
    """Starting up (57P03) or silent: transient; refusing us (28P01): terminal."""
    import psycopg

    def error_response(sqlstate: str) -> bytes:
        fields = b"SFATAL\0C" + sqlstate.encode() + b"\0Mthe server says no\0\0"
        return b"E" + struct.pack("!i", len(fields) + 4) + fields

    def serve(server: socket.socket, reply: bytes) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:  # read the startup message, answer, hang up
                (size,) = struct.unpack("!i", conn.recv(4))
                conn.recv(size - 4)
                conn.sendall(reply)
            time.sleep(0.2)  # slow to come back to accept(), as a busy machine makes it

    cases = [(error_response("57P03"), True), (error_response("28P01"), False), (b"", True)]
    for reply, transient in cases:
        server = socket.create_server(("127.0.0.1", 0))
        threading.Thread(target=serve, args=(server, reply), daemon=True).start()
        url = f"postgresql://frota@127.0.0.1:{server.getsockname()[1]}/x"
        with pytest.raises(psycopg.OperationalError) as failed:
            psycopg.connect(url, sslmode="disable", gssencmode="disable", connect_timeout=5)
        assert failed.value.sqlstate is None
        # Judged while the server still listens: is_transient asks it again. Closed first, the
        # answer depended on whether the serving thread was already back in accept() (a
        # closed socket still accepts for a thread blocked there): under pytest -n 3 it was
        # not, the probe found no server, and 28P01 was judged transient.
        assert is_transient(sa.exc.OperationalError("connect", {}, failed.value)) is transient
        server.close()


@pytest.mark.postgres
def test_a_postgres_server_refusing_the_connection_is_terminal(postgres_url: str) -> None:
    """No SQLSTATE on a failed connection attempt: the server answers PQping, so it is up."""
    import psycopg

    url = sa.make_url(postgres_url).set(drivername="postgresql", username="frota_nobody")
    for target in (url, sa.make_url(postgres_url).set(drivername="postgresql", database="nope")):
        with pytest.raises(psycopg.OperationalError) as refused:
            psycopg.connect(target.render_as_string(hide_password=False))
        assert refused.value.sqlstate is None
        assert not is_transient(sa.exc.OperationalError("connect", {}, refused.value))


def test_backoff_is_exponential_with_jitter_and_bounded() -> None:
    waits: list[float] = []
    calls: list[int] = []

    def flaky(attempt: int) -> str:
        calls.append(attempt)
        if attempt < 4:
            raise sa.exc.OperationalError("x", {}, pymysql.err.OperationalError(2013, "lost"))
        return "ok"

    policy = RetryPolicy(attempts=6, max_seconds=60, base=1, cap=3)
    assert retry_call(flaky, policy, "t", sleep=waits.append) == "ok"
    assert calls == [1, 2, 3, 4]
    assert [w <= cap for w, cap in zip(waits, (1, 2, 3), strict=True)] == [True] * 3
    with pytest.raises(DatabaseUnreachable, match="after 2 attempt"):
        retry_call(flaky, RetryPolicy(attempts=2), "t", sleep=waits.append)
