"""Shared fixtures: real databases (a SQLite file, the MariaDB and PostgreSQL servers on
127.0.0.1), each test with its own fresh database; an FTP server for the fsspec landing.

In CI (CI=true) a server that cannot be reached fails the test instead of skipping it. A test
that uses a server's fixture must carry its marker, so that `-m "not mysql and not postgres"`
runs nothing that needs one (checked after each test, below).
"""

from __future__ import annotations

import logging
import os
import secrets
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from ci import missing

MYSQL_ADMIN = os.environ.get("FROTA_TEST_MYSQL", "mysql+pymysql://root@127.0.0.1:3306/test")
PG_ADMIN = os.environ.get(
    "FROTA_TEST_POSTGRES", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


def _server_or_skip(url: str, name: str) -> sa.Engine:
    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect():
            pass
    except sa.exc.OperationalError as exc:
        engine.dispose()
        missing(f"{name} ({exc.orig})")
    return engine


def _fresh_database(admin_url: str, name: str, quote: str, drop_suffix: str = "") -> Iterator[str]:
    """Create a uniquely named database on a server, yield its URL, drop it afterwards."""
    admin = _server_or_skip(admin_url, name)
    database = f"frota_t_{secrets.token_hex(4)}"
    with admin.connect() as conn:
        conn.execute(sa.text(f"CREATE DATABASE {quote}{database}{quote}"))
    yield sa.make_url(admin_url).set(database=database).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(sa.text(f"DROP DATABASE IF EXISTS {quote}{database}{quote}{drop_suffix}"))
    admin.dispose()


@pytest.fixture
def mysql_url() -> Iterator[str]:
    """A fresh MariaDB/MySQL database for one test."""
    yield from _fresh_database(MYSQL_ADMIN, "MariaDB", "`")


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one test."""
    yield from _fresh_database(PG_ADMIN, "PostgreSQL", '"', " WITH (FORCE)")


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'frota.db'}"


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("mysql", marks=pytest.mark.mysql),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def db_url(request: pytest.FixtureRequest) -> str:
    """The same test on SQLite, MariaDB and PostgreSQL."""
    return request.getfixturevalue(f"{request.param.replace('postgresql', 'postgres')}_url")


@pytest.fixture
def dbs(request: pytest.FixtureRequest, tmp_path: Path):
    """Fault tests: fresh databases on the backend named by the indirect parameter."""
    from faultkit import Databases, require_server

    require_server(request.param)
    made = Databases(request.param, tmp_path)
    yield made
    made.close()


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """One PostgreSQL database for the warehouse tests of the whole session (dbt is slow to
    start): its URL, without a driver name as a user would write it."""
    made = _fresh_database(PG_ADMIN, "PostgreSQL", '"', " WITH (FORCE)")
    url = sa.make_url(next(made)).set(drivername="postgresql")
    yield url.render_as_string(hide_password=False)
    next(made, None)


@pytest.fixture(params=["duckdb", pytest.param("postgres", marks=pytest.mark.postgres)])
def fresh_warehouse(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A warehouse URL of its own for one test, as a user writes it: a DuckDB file in the
    test's folder, or a fresh PostgreSQL database."""
    if request.param == "duckdb":
        return f"duckdb:///{tmp_path / 'warehouse.duckdb'}"
    url = request.getfixturevalue("postgres_url")
    return url.replace("postgresql+psycopg://", "postgresql://")


FTP_USER, FTP_PASSWORD = "frota", "s3cr3t-Pw9"


@pytest.fixture(scope="module")
def ftp_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """An FTP server with one user, on a free port: `(base URL with credentials, its home)`."""
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    logging.getLogger("pyftpdlib").setLevel(logging.WARNING)
    home = tmp_path_factory.mktemp("ftp-home")
    authorizer = DummyAuthorizer()
    authorizer.add_user(FTP_USER, FTP_PASSWORD, str(home), perm="elradfmwMT")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "auth_failed_timeout": 0})
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    port = server.socket.getsockname()[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"timeout": 0.1}, daemon=True)
    thread.start()
    yield f"ftp://{FTP_USER}:{FTP_PASSWORD}@127.0.0.1:{port}", home
    server.close_all()
    thread.join(5)


# Fixtures that need a database server, and the marker a test using them must carry.
SERVER_FIXTURES = {
    "mysql_url": "mysql",
    "postgres_url": "postgres",
    "pg_database": "postgres",
    "tls_server": "mysql",
}


@pytest.fixture(autouse=True)
def _server_tests_carry_their_marker(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    # After the test: `fixturenames` then holds the fixtures it asked for at run time too.
    for name in request.fixturenames:
        marker = SERVER_FIXTURES.get(name)
        if marker and request.node.get_closest_marker(marker) is None:
            pytest.fail(
                f"{request.node.nodeid} uses {name}: mark it @pytest.mark.{marker}",
                pytrace=False,
            )


@pytest.fixture
def mailbox() -> Iterator[object]:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""
    from alertkit import Mailbox

    box = Mailbox()
    yield box
    box.close()


@pytest.fixture
def receiver() -> Iterator[object]:
    """A real HTTP receiver of JSON webhooks on loopback."""
    from alertkit import Receiver

    made = Receiver()
    yield made
    made.close()


@pytest.fixture(autouse=True)
def _in_english() -> Iterator[None]:
    """Each test starts in frota's source language: a command run in-process with --lang
    pt-BR leaves Portuguese active for the process (right for one command), so a later test
    file in the same worker read Portuguese messages (7 failures with `-n 3`)."""
    from frota import i18n

    i18n.activate("en")
    yield
    i18n.activate("en")


@pytest.fixture(autouse=True)
def _run_in_tmp_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every test runs in its own folder: what frota writes by default under `data/` (the run
    history, the JSON log, the alert state) lands there, never in the repository. pytest-xdist's
    workers get COLUMNS=80 and LINES=24 from their launcher: the CLI's output is tested at a
    pipe's width, as in a serial run (the 80-column tests set COLUMNS themselves)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("COLUMNS", raising=False)
    monkeypatch.delenv("LINES", raising=False)
