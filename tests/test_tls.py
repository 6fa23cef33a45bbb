"""TLS to the operational database, against a second MariaDB started by this module on
127.0.0.1:<free port> with a CA and server certificate made here with openssl."""

from __future__ import annotations

import logging
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from batchkit import M1_LINES, V1_LINES, publish_lines
from ci import missing
from faultkit import loader_env

from frota.config import Settings, load_settings
from frota.db.engine import create_engine, database_engine, database_url
from frota.errors import ConfigError, DatabaseUnreachable
from frota.load import load_pending

MARIADBD = shutil.which("mariadbd") or "/usr/sbin/mariadbd"
INSTALL_DB = shutil.which("mariadb-install-db")


def _openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


def make_ca(folder: Path, name: str) -> None:
    _openssl(
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", f"{name}.key", "-out", f"{name}.pem", "-subj", f"/CN=frota test {name}",
        cwd=folder,
    )  # fmt: skip


def make_cert(folder: Path, name: str, ca: str, san: str | None) -> None:
    _openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key",
        "-out", f"{name}.csr", "-subj", f"/CN={name}",
        cwd=folder,
    )  # fmt: skip
    ext = folder / f"{name}.ext"
    ext.write_text(f"subjectAltName={san}\n" if san else "basicConstraints=CA:FALSE\n")
    _openssl(
        "x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca}.pem", "-CAkey", f"{ca}.key",
        "-CAcreateserial", "-days", "2", "-out", f"{name}.pem", "-extfile", ext.name,
        cwd=folder,
    )  # fmt: skip


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class TlsServer:
    def __init__(self, folder: Path, port: int, proc: subprocess.Popen) -> None:
        self.folder, self.port, self.proc = folder, port, proc
        self.ca = str(folder / "ca.pem")
        self.wrong_ca = str(folder / "other.pem")
        self.client_cert, self.client_key = str(folder / "client.pem"), str(folder / "client.key")

    def url(self, user: str, host: str = "127.0.0.1", db: str = "frota") -> str:
        return f"mysql+pymysql://{user}:pw@{host}:{self.port}/{db}"


@pytest.fixture(scope="module")
def tls_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[TlsServer]:
    if not (INSTALL_DB and Path(MARIADBD).exists() and shutil.which("openssl")):
        missing("mariadb-install-db, mariadbd and openssl")
    folder = tmp_path_factory.mktemp("tls")
    make_ca(folder, "ca")
    make_ca(folder, "other")
    make_cert(folder, "server", "ca", "IP:127.0.0.1")
    make_cert(folder, "client", "ca", None)
    data = folder / "data"
    subprocess.run(
        [INSTALL_DB, "--no-defaults", f"--datadir={data}", "--user=root",
         "--auth-root-authentication-method=normal", "--skip-test-db"],
        check=True, capture_output=True,
    )  # fmt: skip
    port, sock = _free_port(), folder / "mysqld.sock"
    log = open(folder / "server.log", "wb")  # noqa: SIM115 - lives as long as the server
    proc = subprocess.Popen(
        [MARIADBD, "--no-defaults", f"--datadir={data}", "--user=root", f"--port={port}",
         "--bind-address=127.0.0.1", f"--socket={sock}", f"--pid-file={folder / 'pid'}",
         "--skip-log-bin", "--innodb-buffer-pool-size=16M", "--skip-name-resolve",
         f"--ssl-ca={folder / 'ca.pem'}", f"--ssl-cert={folder / 'server.pem'}",
         f"--ssl-key={folder / 'server.key'}"],
        stdout=log, stderr=log,
    )  # fmt: skip
    try:
        admin = sa.create_engine(
            f"mysql+pymysql://root@localhost/mysql?unix_socket={sock}", isolation_level="AUTOCOMMIT"
        )
        for _ in range(300):
            try:
                with admin.connect() as conn:
                    for sql in (
                        "CREATE DATABASE frota",
                        "CREATE USER 'frota_tls'@'%' IDENTIFIED BY 'pw' REQUIRE SSL",
                        "CREATE USER 'frota_x509'@'%' IDENTIFIED BY 'pw' REQUIRE X509",
                        "GRANT ALL ON frota.* TO 'frota_tls'@'%'",
                        "GRANT ALL ON frota.* TO 'frota_x509'@'%'",
                    ):
                        conn.exec_driver_sql(sql.replace("%", "%%"))
                break
            except sa.exc.OperationalError:
                if proc.poll() is not None:
                    pytest.fail((folder / "server.log").read_text()[-2000:])
                time.sleep(0.1)
        admin.dispose()
        yield TlsServer(folder, port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def cipher(url: str, **tls) -> str:
    engine = database_engine(Settings(database=url, **tls))
    try:
        with engine.connect() as conn:
            return conn.exec_driver_sql("SHOW SESSION STATUS LIKE 'Ssl_cipher'").one()[1]
    finally:
        engine.dispose()


@pytest.mark.mysql
def test_verified_tls_connects_and_loads(tls_server: TlsServer, tmp_path: Path) -> None:
    url = tls_server.url("frota_tls")
    assert cipher(url, db_ssl_ca=tls_server.ca)  # encrypted, server verified
    landing = str(tmp_path / "landing")
    publish_lines(tmp_path, landing, 1, V1_LINES, M1_LINES)
    env = loader_env(FROTA_DB_SSL_CA=tls_server.ca, FROTA_REQUIRE_TLS="true")
    for args in (["db", "init"], ["--landing", landing, "load"]):
        proc = subprocess.run(
            [sys.executable, "-m", "frota", "--database", url, *args],
            env=env, cwd=tmp_path, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert proc.returncode == 0, proc.stderr
        assert "SECURITY" not in proc.stderr


@pytest.mark.mysql
def test_wrong_ca_is_refused_at_once(tls_server: TlsServer, tmp_path: Path) -> None:
    s = Settings(
        database=tls_server.url("frota_tls"), db_ssl_ca=tls_server.wrong_ca, landing=str(tmp_path)
    )
    started = time.monotonic()
    with pytest.raises(DatabaseUnreachable, match="certificate verify failed"):
        load_pending(s)
    assert time.monotonic() - started < 3  # terminal: not retried


@pytest.mark.mysql
def test_identity_is_verified(tls_server: TlsServer) -> None:
    """The certificate names 127.0.0.1; `localhost` fails unless identity checks are off."""
    url = tls_server.url("frota_tls", host="localhost")
    with pytest.raises(sa.exc.OperationalError, match="match|certificate"):
        cipher(url, db_ssl_ca=tls_server.ca)
    assert cipher(url, db_ssl_ca=tls_server.ca, db_ssl_verify_identity=False)


@pytest.mark.mysql
def test_client_certificate(tls_server: TlsServer) -> None:
    url = tls_server.url("frota_x509")
    with pytest.raises(sa.exc.OperationalError, match="Access denied"):
        cipher(url, db_ssl_ca=tls_server.ca)
    ok = cipher(
        url, db_ssl_ca=tls_server.ca, db_ssl_cert=tls_server.client_cert,
        db_ssl_key=tls_server.client_key,
    )  # fmt: skip
    assert ok


@pytest.mark.mysql
def test_server_without_tls_is_refused_when_a_ca_is_set(
    tls_server: TlsServer, mysql_url: str
) -> None:
    """The main test server has TLS off: with db_ssl_ca set frota never falls back to clear."""
    with pytest.raises(sa.exc.OperationalError, match="SSL is required"):
        cipher(mysql_url, db_ssl_ca=tls_server.ca)


def test_remote_host_without_tls_warns_or_is_refused(caplog: pytest.LogCaptureFixture) -> None:
    log = logging.getLogger("frota")
    log.addHandler(caplog.handler)
    try:
        create_engine("mysql+pymysql://u@db.example.com/x").dispose()
        create_engine("postgresql+psycopg://u@10.0.0.5/x?sslmode=require").dispose()
        create_engine("mysql+pymysql://u@127.0.0.1/x").dispose()
    finally:
        log.removeHandler(caplog.handler)
    warnings = {r.getMessage() for r in caplog.records if r.levelno == logging.WARNING}
    assert len(warnings) == 2  # none for the loopback host
    assert any("db.example.com without TLS" in w for w in warnings)
    assert any("10.0.0.5 with TLS but without verifying the server" in w for w in warnings)
    with pytest.raises(ConfigError, match="require_tls"):
        database_engine(Settings(database="mysql://u@db.example.com/x", require_tls=True))
    verified = Settings(
        database="postgresql://u@db.example.com/x", db_ssl_ca="/ca.pem", require_tls=True
    )
    database_engine(verified).dispose()  # verified TLS: allowed


def test_tls_settings_become_driver_parameters(tmp_path: Path) -> None:
    env = {
        "FROTA_DATABASE": "postgresql://u@db.example.com/frota",
        "FROTA_DB_SSL_CA": "/etc/frota/ca.pem",
        "FROTA_DB_SSL_CERT": "/etc/frota/client.pem",
        "FROTA_DB_SSL_KEY": "/etc/frota/client.key",
    }
    url = database_url(load_settings(env=env))
    assert dict(url.query) == {
        "sslmode": "verify-full",
        "sslrootcert": "/etc/frota/ca.pem",
        "sslcert": "/etc/frota/client.pem",
        "sslkey": "/etc/frota/client.key",
    }
    env["FROTA_DATABASE"] = "mysql://u@db.example.com/frota"
    env["FROTA_DB_SSL_VERIFY_IDENTITY"] = "false"
    url = database_url(load_settings(env=env))
    assert url.query["ssl_ca"] == "/etc/frota/ca.pem"
    assert url.query["ssl_check_hostname"] == "false"
