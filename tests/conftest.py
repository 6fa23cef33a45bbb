"""Shared fixtures: real databases (a SQLite file, the MariaDB and PostgreSQL servers on
127.0.0.1), each test with its own fresh database.

In CI (CI=true) a server that cannot be reached fails the test instead of skipping it.
"""

from __future__ import annotations

import os
import secrets
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
