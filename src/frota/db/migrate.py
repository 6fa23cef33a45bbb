"""Schema migrations (Alembic): where a database stands, and bringing it to head.

The migrations ship inside the package (`frota/db/migrations/versions`), one per schema
change, never edited once released. `upgrade_schema` runs them under the load lock (no loader writes
while the schema changes), recording the revision in `frota_alembic_version` (frota's prefix:
the database may hold another application's own `alembic_version`).

- PostgreSQL and SQLite: the whole upgrade is one transaction; a killed upgrade leaves the
  database exactly as it was.
- MariaDB/MySQL commit each DDL statement: every migration runs in its own transaction and
  is written to be re-run from the top after a kill (frota.db.ddl).

A database made before migrations existed (release ff3cdaf: frota's tables, no version table)
is adopted by the baseline revision, whose steps find everything already there.

Alembic is imported only where it is used: the loader's check that the schema is at head
reads the recorded revision with one SELECT and the head from the migration files' names
(importing Alembic was most of an idle `frota load`, docs/benchmarks.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from frota.db.connect import connect
from frota.db.engine import mask
from frota.db.lock import load_lock
from frota.errors import ConfigError
from frota.i18n import N_, _

VERSION_TABLE = "frota_alembic_version"
BASELINE = "0001_baseline"
MIGRATIONS = Path(__file__).parent / "migrations"
UPGRADE_HINT = N_("run `frota db upgrade` as a user allowed to change the schema")

if TYPE_CHECKING:
    from alembic.config import Config


def _config() -> Config:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head() -> str:
    """The revision this frota's code expects: the newest migration's. Each is named by its
    revision (NNNN_name.py), one after another, so that is the greatest name; the tests hold
    it to Alembic's own head (tests/test_db_migrations.py)."""
    return max(p.stem for p in (MIGRATIONS / "versions").glob("[0-9][0-9][0-9][0-9]_*.py"))


def revisions() -> list[str]:
    """Every revision, oldest first (from Alembic's script directory)."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(_config())
    return [r.revision for r in reversed(list(script.walk_revisions()))]


@dataclass(frozen=True)
class SchemaState:
    """Where a database's schema stands against this frota's code."""

    current: str | None  # the recorded revision; None: no version table
    head: str
    has_tables: bool  # frota's tables exist (with current None: made before migrations)

    @property
    def at_head(self) -> bool:
        return self.current == self.head

    @property
    def known(self) -> bool:
        """The recorded revision is one this frota knows (False: a newer frota made it)."""
        return self.current is None or self.current in revisions()

    def describe(self) -> str:
        if self.current is None:
            return (
                _("created before schema migrations (no revision recorded)")
                if self.has_tables
                else _("empty (no frota schema)")
            )
        if self.at_head:
            return _("{revision} (head)").format(revision=self.current)
        if not self.known:
            message = _("{revision} (newer than this frota's head {head})")
            return message.format(revision=self.current, head=self.head)
        behind = len(revisions()) - revisions().index(self.current) - 1
        message = _("{revision} ({behind} revision(s) behind head {head})")
        return message.format(revision=self.current, behind=behind, head=self.head)


def schema_state(conn: Connection) -> SchemaState:
    """Read the recorded revision (a SELECT: the loader's user may do it)."""
    insp = sa.inspect(conn)
    has_tables = insp.has_table("veiculos") and insp.has_table("frota_batches")
    current = None
    if insp.has_table(VERSION_TABLE):  # Alembic's table: one row, the revision
        version: sa.Select[Any] = sa.select(sa.column("version_num")).select_from(
            sa.table(VERSION_TABLE)
        )
        current = conn.execute(version).scalar()
    conn.rollback()
    return SchemaState(current, head(), has_tables)


def require_head(conn: Connection) -> None:
    """ConfigError (exit 7) unless the schema is at this frota's head revision."""
    state = schema_state(conn)
    if state.at_head:
        return
    where = mask(conn.engine.url)
    if state.current is None and not state.has_tables:
        raise ConfigError(
            _("{database} has no frota schema").format(database=where),
            hint=_("create it first: frota db init (as a user allowed to create tables)"),
        )
    if not state.known:
        raise ConfigError(
            _(
                "the schema of {database} is at revision {revision}, newer than this frota "
                "knows ({head})"
            ).format(database=where, revision=state.current, head=state.head),
            hint=_("upgrade frota on this machine to the version the database was upgraded with"),
        )
    raise ConfigError(
        _("the schema of {database} is {revision}; this frota needs revision {head}").format(
            database=where, revision=state.describe(), head=state.head
        ),
        hint=_(UPGRADE_HINT),
    )


def ensure_schema(conn: Connection) -> None:
    """ConfigError unless the schema is at this frota's revision (the loader never runs DDL;
    it only reads the recorded revision)."""
    require_head(conn)


def configure_context(context: Any, connection: Connection) -> None:
    """The transaction rules (called from migrations/env.py)."""
    mysql = connection.dialect.name == "mysql"
    context.configure(
        connection=connection,
        version_table=VERSION_TABLE,
        # MySQL commits DDL itself: one transaction per migration keeps each migration's data
        # and its revision together. Elsewhere the whole upgrade is one transaction.
        transactional_ddl=not mysql,
        transaction_per_migration=mysql,
    )


@dataclass(frozen=True)
class Upgrade:
    """What `upgrade_schema` did."""

    before: str | None
    after: str
    adopted: bool  # the database was made before migrations and is now versioned

    @property
    def changed(self) -> bool:
        return self.before != self.after


def upgrade_schema(engine: Engine, target: str = "head") -> Upgrade:
    """Bring the schema to `target` (default head), under the load lock; idempotent."""
    if target != "head" and target not in revisions():
        raise ConfigError(
            _("unknown schema revision {revision!r}").format(revision=target),
            hint=_("revisions: {revisions}").format(revisions=", ".join(revisions())),
        )
    engine = engine.execution_options(sqlite_begin="IMMEDIATE")
    with connect(engine) as conn, load_lock(conn):
        before = schema_state(conn)
        if not before.known:
            require_head(conn)  # refuses: a newer frota upgraded this database
        from alembic import command

        config = _config()
        config.attributes["connection"] = conn
        command.upgrade(config, target)
        conn.commit()
        after = schema_state(conn)
    assert after.current is not None
    return Upgrade(before.current, after.current, before.current is None and before.has_tables)
