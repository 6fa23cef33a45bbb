"""Alembic environment for frota's operational database.

frota runs migrations itself (`frota db upgrade`, frota.db.migrate), passing an open
connection in `config.attributes["connection"]`; the lock and the transaction rules live there.
"""

from __future__ import annotations

from alembic import context

from frota.db.migrate import configure_context

connection = context.config.attributes.get("connection")
if connection is None:
    raise SystemExit("run migrations with `frota db upgrade`, not the alembic command")
configure_context(context, connection)
with context.begin_transaction():
    context.run_migrations()
