"""`frota` commands — status and db: what the pipeline holds, and its schema."""

from __future__ import annotations

import json
import sys

import click
from rich.markup import escape

from frota.cli.app import Context, cli, kv_table, out, pass_ctx
from frota.i18n import N_, _

# ---------------------------------------------------------------- status / db


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def status(obj: Context, as_json: bool) -> None:
    """What to check first: landing area, ledger, quarantine, last runs (exit 5, 6 or 7 when a
    part cannot be read)."""
    from frota.observe.status import collect_status

    st = collect_status(obj.settings)
    if as_json:
        click.echo(json.dumps(st.to_dict(), indent=2, default=str))
        sys.exit(st.exit_code)
    unknown = _("unknown (the ledger could not be read)")
    out.print(
        kv_table(
            _("landing area"),
            [
                (_("location"), st.landing),
                (_("batches"), st.landing_batches),
                (_("complete, not loaded"), len(st.complete_pending) if st.inspected else unknown),
                (_("incomplete"), len(st.incomplete) if st.inspected else unknown),
                (_("rejected"), len(st.rejected) if st.inspected else unknown),
                *([(_("error"), st.landing_error)] if st.landing_error else []),
            ],
        )
    )
    for item in st.incomplete + st.rejected:
        out.print(f"  {escape(item['batch_id'])}: {escape(item['problem'])}")
    out.print(
        kv_table(
            _("database"),
            [
                (_("location"), st.database),
                *([(_("schema"), st.schema)] if st.schema else []),
                *([(_("error"), st.database_error)] if st.database_error else []),
                (_("batches loaded"), st.batches_loaded),
                (_("last load (UTC)"), st.last_load or _("never")),
                *((_("rows in {table}").format(table=t), n) for t, n in st.rows.items()),
                (_("quarantine held"), sum(st.quarantine_held.values())),
                *((f"  {reason}", n) for reason, n in st.quarantine_held.items()),
                (_("quarantine released"), st.quarantine_released),
            ],
        )
    )
    if st.last_runs:
        from frota.cli.observe import runs_table

        out.print(runs_table(st.last_runs, title=N_("last runs (frota runs)")))
    if st.exit_code:
        message = _("status could not read everything it shows (see error above)")
        click.echo(_("error: {message}").format(message=message), err=True)
    sys.exit(st.exit_code)


@cli.group()
def db() -> None:
    """Schema and users of the operational database."""


def _upgrade(obj: Context, target: str = "head") -> None:
    from frota.db.engine import database_engine, mask
    from frota.db.migrate import upgrade_schema

    s = obj.settings
    engine = database_engine(s)
    try:
        done = upgrade_schema(engine, target)
    finally:
        engine.dispose()
    where = mask(s.database)
    if done.adopted:
        message = _("adopted {database}: made by a frota from before schema migrations")
        out.print(message.format(database=where))
    if done.changed:
        message = _("upgraded {database} from {before} to {after}")
        before = done.before or _("an empty schema")
        out.print(message.format(database=where, before=before, after=done.after))
    else:
        message = _("{database} is already at revision {revision}; nothing to do")
        out.print(message.format(database=where, revision=done.after))


@db.command("init")
@pass_ctx
def db_init(obj: Context) -> None:
    """Create the schema (= upgrade from empty; idempotent; run as the admin user)."""
    _upgrade(obj)


@db.command("upgrade")
@click.option("--to", "target", default="head", show_default=True, help="The revision to stop at.")
@pass_ctx
def db_upgrade(obj: Context, target: str) -> None:
    """Bring the schema to this frota's revision, keeping every row (run as the admin user)."""
    _upgrade(obj, target)


@db.command("current")
@pass_ctx
def db_current(obj: Context) -> None:
    """Say the schema revision of the database and the one this frota needs."""
    from frota.db.connect import connect
    from frota.db.engine import database_engine, mask
    from frota.db.migrate import schema_state

    s = obj.settings
    engine = database_engine(s)
    try:
        with connect(engine) as conn:
            state = schema_state(conn)
    finally:
        engine.dispose()
    message = _("{database}: schema {revision}")
    out.print(message.format(database=mask(s.database), revision=state.describe()))
    if not state.at_head and state.known:
        out.print(_("run `frota db upgrade` to bring it to head"))


@db.command("grants")
@click.option(
    "--dialect", type=click.Choice(["mysql", "postgresql"]), help="[default: from --database]"
)
@click.option("--database-name", default="logistica_fonte", show_default=True)
@pass_ctx
def db_grants(obj: Context, dialect: str | None, database_name: str) -> None:
    """Print the SQL that creates the database and least-privilege users."""
    from frota.db.engine import parse_url
    from frota.db.grants import grants_sql

    if dialect is None:
        dialect = parse_url(obj.settings.database).get_backend_name()
        if dialect == "sqlite":
            raise click.UsageError(_("SQLite has no users; pass --dialect mysql or postgresql"))
    click.echo(grants_sql(dialect, database_name), nl=False)
