"""Least privilege, for real: the users `frota db grants` creates on MariaDB and PostgreSQL.
The admin creates the schema; the loader loads but cannot create, drop or alter tables,
grant, delete, or read/write server files; the analytics user can only read."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from batchkit import M1_LINES, V1_LINES, publish_lines
from faultkit import MYSQL_ADMIN, PG_ADMIN, loader_env, require_server

from frota.db.grants import grants_sql

ROLES = ("admin", "loader", "analytics")


def raw(conn: sa.Connection, sql: str) -> None:
    """Run SQL as written (no parameter parsing: `'%'` is a MySQL host, not a placeholder)."""
    cursor = conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(sql)
    finally:
        cursor.close()


class Users:
    """The grants script run with unique user/database names; everything dropped after."""

    def __init__(self, backend: str) -> None:
        self.backend = backend
        tag = secrets.token_hex(3)
        self.db = f"frota_g_{tag}"
        self.names = {r: f"frota_{r}_{tag}" for r in ROLES}
        self.passwords = {r: f"pw-{r}-{secrets.token_hex(4)}" for r in ROLES}
        self.admin_url = MYSQL_ADMIN if backend == "mysql" else PG_ADMIN
        sql = grants_sql(backend, self.db)
        for role in ROLES:
            sql = re.sub(rf"\bfrota_{role}\b", self.names[role], sql)
            sql = sql.replace(f"<{role.upper()}_PASSWORD>", self.passwords[role])
        self.sql = sql

    def create(self) -> None:
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        try:
            conn = engine.connect()
            for line in self.sql.splitlines():
                line = line.strip()
                if not line or line.startswith("--"):
                    continue
                if line.startswith("\\connect"):
                    conn.close()
                    url = sa.make_url(self.admin_url).set(database=line.split()[1])
                    engine.dispose()
                    engine = sa.create_engine(url, isolation_level="AUTOCOMMIT")
                    conn = engine.connect()
                    continue
                raw(conn, line.rstrip(";"))
            conn.close()
        finally:
            engine.dispose()

    def url(self, role: str, with_password: bool = False) -> str:
        url = sa.make_url(self.admin_url).set(
            username=self.names[role],
            password=self.passwords[role] if with_password else None,
            database=self.db,
        )
        return url.render_as_string(hide_password=False)

    def engine(self, role: str) -> sa.Engine:
        return sa.create_engine(self.url(role, with_password=True))

    def drop(self) -> None:
        engine = sa.create_engine(self.admin_url, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            if self.backend == "mysql":
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS `{self.db}`")
                for name in self.names.values():
                    raw(conn, f"DROP USER IF EXISTS '{name}'@'%'")
            else:
                conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
                for role in ("analytics", "loader", "admin"):
                    conn.exec_driver_sql(f"DROP ROLE IF EXISTS {self.names[role]}")
        engine.dispose()


@pytest.fixture(
    params=[
        pytest.param("mysql", marks=pytest.mark.mysql),
        pytest.param("postgresql", marks=pytest.mark.postgres),
    ]
)
def users(request: pytest.FixtureRequest) -> Iterator[Users]:
    require_server(request.param)
    made = Users(request.param)
    made.create()
    yield made
    made.drop()


def frota(users: Users, role: str, tmp: Path, *args: str) -> subprocess.CompletedProcess:
    """The CLI as `role`, its password from FROTA_DATABASE_PASSWORD (never in the URL)."""
    env = loader_env(FROTA_DATABASE_PASSWORD=users.passwords[role])
    return subprocess.run(
        [sys.executable, "-m", "frota", "--database", users.url(role), *args],
        env=env,
        cwd=tmp,
        capture_output=True,
        text=True,
        timeout=120,
    )


def denied(engine: sa.Engine, sql: str) -> bool:
    try:
        with engine.begin() as conn:
            raw(conn, sql)
    except Exception as exc:  # noqa: BLE001 - the driver's own error class
        text = str(getattr(exc, "orig", exc)).lower()
        return any(w in text for w in ("denied", "permission", "must be ", "privilege"))
    return False


def test_least_privilege_users(users: Users, tmp_path: Path) -> None:
    landing = str(tmp_path / "landing")
    publish_lines(tmp_path, landing, 1, V1_LINES, M1_LINES)
    bad = publish_lines(tmp_path, landing, 2, ["XYZ9A99,Van,ativo,1,2020-01-01"]).batch_id
    edited = Path(landing) / "batches" / bad / "veiculos.csv"
    edited.write_bytes(edited.read_bytes().replace(b"Van", b"VAN"))  # rejected, set aside
    # The loader never runs DDL: without a schema it names the admin step.
    early = frota(users, "loader", tmp_path, "--landing", landing, "load")
    assert early.returncode == 7 and "frota db init" in early.stderr
    init = frota(users, "admin", tmp_path, "db", "init")
    assert init.returncode == 0, init.stderr
    load = frota(users, "loader", tmp_path, "--landing", landing, "load")
    assert load.returncode == 0, load.stderr
    assert f"set aside batch {bad}" in load.stdout  # the loader may record a rejection
    seen = frota(
        users, "loader", tmp_path, "--landing", landing, "batch", "reject", bad, "--note", "ok"
    )
    assert seen.returncode == 0, seen.stderr
    status = frota(users, "analytics", tmp_path, "--landing", landing, "status")
    assert status.returncode == 0, status.stderr
    assert "batches loaded" in status.stdout

    loader, analytics = users.engine("loader"), users.engine("analytics")
    try:
        with analytics.connect() as conn:
            assert conn.exec_driver_sql("SELECT COUNT(*) FROM manutencoes").scalar() == 2
        forbidden = [
            "CREATE TABLE frota_evil (a INT)",
            "DROP TABLE manutencoes",
            "ALTER TABLE veiculos ADD COLUMN evil INT",
            "DELETE FROM manutencoes",
            "TRUNCATE TABLE manutencoes",
        ]
        if users.backend == "mysql":
            forbidden += [
                f"GRANT INSERT ON `{users.db}`.* TO '{users.names['analytics']}'@'%'",
                f"CREATE USER 'frota_evil_{secrets.token_hex(2)}'@'%'",
                f"SELECT * FROM veiculos INTO OUTFILE '/tmp/frota-evil-{secrets.token_hex(3)}'",
            ]
        else:
            forbidden += [
                "CREATE ROLE frota_evil",
                f"ALTER ROLE {users.names['analytics']} SUPERUSER",
                f"COPY veiculos TO '/tmp/frota-evil-{secrets.token_hex(3)}'",
                "SELECT pg_read_file('/etc/hostname')",
            ]
        for sql in forbidden:
            assert denied(loader, sql), f"the loader could run: {sql}"
        with loader.connect() as conn:
            if users.backend == "mysql":
                # LOAD_FILE without the FILE privilege returns NULL instead of the file.
                assert conn.exec_driver_sql("SELECT LOAD_FILE('/etc/hostname')").scalar() is None
            else:
                # A GRANT by a non-owner is a no-op warning in PostgreSQL: check its effect.
                conn.exec_driver_sql(f"GRANT INSERT ON veiculos TO {users.names['analytics']}")
                conn.commit()
        for sql in (
            "INSERT INTO veiculos (placa) VALUES ('EVL0A00')",
            "UPDATE veiculos SET status = 'x'",
            "DELETE FROM veiculos",
            "CREATE TABLE frota_evil (a INT)",
        ):
            assert denied(analytics, sql), f"the analytics user could run: {sql}"
    finally:
        loader.dispose()
        analytics.dispose()
