"""Schema operations a migration can run twice: each checks the database before it acts.

MariaDB and MySQL commit every DDL statement on its own, so a migration killed half-way leaves
its first statements done and its revision not yet recorded; the rerun starts that migration
again from the top. Written with these helpers, every step then skips what is already there.
(On PostgreSQL and SQLite a migration runs in one transaction and the check always finds the
state before it.)

Each helper passes a fault checkpoint (`ddl`) after its statement, so the crash tests can
kill an upgrade between any two statements (see frota.faults).
"""

from __future__ import annotations

import os
from typing import Any

import sqlalchemy as sa
from alembic import op


def _inspector() -> sa.Inspector:
    return sa.inspect(op.get_bind())


def _done() -> None:
    if os.environ.get("FROTA_FAULT_PAUSE"):  # tests only: import the fault hooks lazily
        from frota.faults import checkpoint

        checkpoint("ddl")


def data_step_done() -> None:
    """The same fault checkpoint after a migration's data step (an UPDATE of many rows): the
    crash tests kill there too."""
    _done()


def has_table(name: str) -> bool:
    return _inspector().has_table(name)


def has_column(table: str, column: str) -> bool:
    return any(c["name"] == column for c in _inspector().get_columns(table))


def has_index(table: str, name: str) -> bool:
    insp = _inspector()
    indexes = {i["name"] for i in insp.get_indexes(table)}
    # A UNIQUE constraint shows as an index on MySQL, as a constraint elsewhere.
    indexes |= {u["name"] for u in insp.get_unique_constraints(table)}
    return name in indexes


def create_table(name: str, *columns: Any, **kwargs: Any) -> None:
    """CREATE TABLE unless it exists."""
    if not has_table(name):
        op.create_table(name, *columns, **kwargs)
        _done()


def add_column(table: str, column: sa.Column) -> None:
    """ALTER TABLE … ADD COLUMN unless the column exists."""
    if not has_column(table, column.name):
        op.add_column(table, column)
        _done()


def create_index(name: str, table: str, columns: list[str], *, unique: bool = False) -> None:
    """CREATE [UNIQUE] INDEX unless an index of that name exists."""
    if not has_index(table, name):
        op.create_index(name, table, columns, unique=unique)
        _done()


def drop_index(name: str, table: str) -> None:
    """DROP INDEX if it exists."""
    if has_table(table) and has_index(table, name):
        op.drop_index(name, table_name=table)
        _done()


def rename_column(table: str, old: str, new: str, type_: Any, *, nullable: bool) -> None:
    """ALTER TABLE … RENAME COLUMN unless it is already renamed (`type_` and `nullable`: MySQL
    restates the whole column)."""
    if has_column(table, old) and not has_column(table, new):
        op.alter_column(
            table, old, new_column_name=new, existing_type=type_, existing_nullable=nullable
        )
        _done()


def drop_column(table: str, column: str) -> None:
    """ALTER TABLE … DROP COLUMN if the column exists."""
    if has_column(table, column):
        op.drop_column(table, column)
        _done()
