"""The loader's database engine, the one every writer of loader tables opens (the load step
and the operator commands in `frota.ops`)."""

from __future__ import annotations

from sqlalchemy.engine import Engine

from frota.config import Settings
from frota.db.engine import database_engine
from frota.load.bulk import check_local_infile_setting, guard_engine


def loader_engine(settings: Settings) -> Engine:
    """An engine whose SQLite transactions take the write lock at BEGIN (IMMEDIATE) and whose
    MySQL connections allow LOAD DATA LOCAL, guarded, when the settings opt in."""
    engine = database_engine(settings, execution_options={"sqlite_begin": "IMMEDIATE"})
    if check_local_infile_setting(settings.mysql_local_infile) and engine.dialect.name == "mysql":
        guard_engine(engine)  # LOAD DATA LOCAL, answering only with frota's own files
    return engine
