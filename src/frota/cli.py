"""The `frota` command line: parse options, call one library function, print, map errors to
exit codes (see frota.errors). No SQL, file I/O or retries here."""

from __future__ import annotations

import json
import sys
import traceback
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from frota import __version__
from frota.config import Settings, load_settings
from frota.errors import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, FrotaError
from frota.observe.log import logger, new_run_id, progress_bar, redact, setup_logging

out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 160)


class Context:
    """What every command gets: settings (lazily loaded) and the run id."""

    def __init__(self, config: str | None, flags: dict[str, Any], verbose: bool) -> None:
        self._config, self._flags, self.verbose = config, flags, verbose
        self.run_id = new_run_id()
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self._config, **self._flags)
            secrets = tuple(
                s.get()
                for s in (self._settings.database_password, self._settings.warehouse_password)
                if s
            )
            setup_logging(self.run_id, verbose=self.verbose, secrets_=secrets)
        return self._settings


pass_ctx = click.make_pass_decorator(Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="frota")
@click.option(
    "--config",
    type=click.Path(dir_okay=False),
    envvar="FROTA_CONFIG",
    help="A frota.toml (default: ./frota.toml if present).",
)
@click.option(
    "--landing",
    help="Landing area: folder, rclone:REMOTE:path or fsspec URL "
    "[env FROTA_LANDING; default data/landing].",
)
@click.option(
    "--database",
    help="Operational database URL [env FROTA_DATABASE; default sqlite:///data/frota.db].",
)
@click.option(
    "--warehouse",
    help="Warehouse URL [env FROTA_WAREHOUSE; default duckdb:///data/warehouse.duckdb].",
)
@click.option(
    "--source", help="This machine's name in batch ids [env FROTA_SOURCE; default local]."
)
@click.option(
    "--outbox",
    help="Where generate writes and publish reads [env FROTA_OUTBOX; default data/outbox].",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging; tracebacks on internal errors.")
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: bool, **flags: Any) -> None:
    """frota: fleet data from source machines, through a landing area, exactly once into the
    operational database, then into an analytics warehouse.

    Flags beat FROTA_* environment variables, which beat frota.toml, which beats defaults.
    Exit codes: 0 ok, 1 internal error, 2 usage, 3 bad input, 4 lock held,
    5 database unreachable, 6 landing area unusable, 7 configuration, 8 warehouse build failed.
    """
    ctx.obj = Context(config, flags, verbose)


def _table(title: str, rows: list[tuple[str, Any]]) -> RichTable:
    table = RichTable(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, str(value))
    return table


# ---------------------------------------------------------------- generate / publish


@cli.command()
@click.option("--seed", type=int, help="Random seed of a new fleet [setting seed; default 7].")
@click.option("--vehicles", type=int, help="Size of a new fleet [setting vehicles; default 200].")
@click.option(
    "--until", type=click.DateTime(["%Y-%m-%d"]), help="Last simulated day [default: today]."
)
@click.option(
    "--days",
    type=int,
    help="Days to simulate [default: since the last run; 730 days of history on the first].",
)
@pass_ctx
def generate(
    obj: Context, seed: int | None, vehicles: int | None, until: Any, days: int | None
) -> None:
    """Simulate the fleet forward and write a batch of CSVs to the outbox."""
    from frota.generate import generate_batch

    s = obj.settings.with_overrides(seed=seed, vehicles=vehicles)
    with progress_bar("generating maintenances", None) as report:
        result = generate_batch(
            Path(s.outbox),
            seed=s.seed,
            vehicles=s.vehicles,
            until=until.date() if until else None,
            days=days,
            progress=report,
        )
    out.print(
        _table(
            "generated",
            [
                ("folder", result.out_dir),
                ("step", result.step),
                ("window", f"{result.start} .. {result.end}"),
                ("veiculos", result.veiculos),
                ("manutencoes", result.manutencoes),
            ],
        )
    )


@cli.command()
@click.option(
    "--from",
    "from_dir",
    type=click.Path(file_okay=False, exists=True),
    help="Publish your own CSV exports from this folder (veiculos.csv, "
    "manutencoes.csv) instead of the outbox.",
)
@click.option("--encoding", help="Encoding of the exports [default: detect UTF-8/cp1252].")
@click.option("--delimiter", type=click.Choice([",", ";"]), help="[default: detect].")
@click.option(
    "--decimal-comma/--decimal-point",
    default=None,
    help="How numbers are written [default: comma when the delimiter is ';'].",
)
@pass_ctx
def publish(
    obj: Context,
    from_dir: str | None,
    encoding: str | None,
    delimiter: str | None,
    decimal_comma: bool | None,
) -> None:
    """Publish batches to the landing area (manifest last, never overwriting)."""
    from frota.publish import publish_export, publish_outbox

    s = obj.settings
    if from_dir:
        results = [
            publish_export(
                Path(from_dir),
                s,
                encoding=encoding,
                delimiter=delimiter,
                decimal_comma=decimal_comma,
            )
        ]
    else:
        results = publish_outbox(s)
    if not results:
        out.print("nothing to publish")
    for r in results:
        out.print(f"{r.status.replace('_', ' ')}: {r.batch_id} ({r.rows} rows) -> {r.landing}")


# ---------------------------------------------------------------- load / run


def _print_load(result: Any) -> None:
    from frota.load import LoadResult

    assert isinstance(result, LoadResult)
    if result.loaded:
        table = RichTable(title="loaded batches", title_justify="left")
        for col in (
            "batch",
            "read",
            "veic. new",
            "veic. upd.",
            "stale",
            "manut.",
            "quarantined",
            "released",
            "dupl.",
            "blank",
        ):
            table.add_column(col, justify="right" if col != "batch" else "left")
        for b in result.loaded:
            table.add_row(
                b.batch_id,
                *(
                    str(v)
                    for v in (
                        b.rows_read,
                        b.veiculos_inserted,
                        b.veiculos_updated,
                        b.veiculos_stale,
                        b.manutencoes_inserted,
                        b.quarantined,
                        b.released,
                        b.duplicates,
                        b.blank_lines,
                    )
                ),
            )
        table.caption = (
            "read = veic. new + upd. + stale + manut. + quarantined + dupl.; blank lines apart"
        )
        table.caption_justify = "left"
        out.print(table)
    else:
        out.print("nothing new to load")
    for batch_id, why in result.incomplete:
        out.print(f"skipped incomplete batch {batch_id}: {why}")
    for batch_id in result.already_loaded:
        out.print(f"batch {batch_id} was loaded by another loader")
    for rejected in result.rejected:
        out.print(f"[red]rejected[/red] {rejected}")


@cli.command()
@pass_ctx
def load(obj: Context) -> None:
    """Load every complete, not-yet-loaded batch, exactly once, oldest first."""
    from frota.load import load_pending

    with progress_bar("loading", None) as report:
        result = load_pending(obj.settings, run_id=obj.run_id, progress=report)
    _print_load(result)
    if result.rejected:
        sys.exit(result.rejected[0].exit_code)


@cli.command()
@click.option(
    "--role",
    type=click.Choice(["all", "source", "server", "analytics"]),
    default="all",
    show_default=True,
    help="source: generate+publish; server: load; analytics: warehouse.",
)
@click.option("--no-warehouse", is_flag=True, help="Skip the warehouse step.")
@pass_ctx
def run(obj: Context, role: str, no_warehouse: bool) -> None:
    """Run the pipeline: generate -> publish -> load -> warehouse (on embedded defaults)."""
    from frota.orchestrate.run import run_pipeline

    result = run_pipeline(
        obj.settings, role, run_id=obj.run_id, warehouse=not no_warehouse, progress=progress_bar
    )
    if result.generated:
        g = result.generated
        out.print(
            f"generated step {g.step} ({g.start} .. {g.end}): {g.veiculos} veiculos, "
            f"{g.manutencoes} manutencoes"
        )
    for p in result.published or ():
        out.print(f"{p.status.replace('_', ' ')}: {p.batch_id} ({p.rows} rows)")
    if result.loaded:
        _print_load(result.loaded)
    if result.warehouse is not None:
        _print_warehouse(result.warehouse)
    if result.loaded and result.loaded.rejected:
        sys.exit(result.loaded.rejected[0].exit_code)


@cli.command()
@click.option("--no-dbt", is_flag=True, help="Only replicate new batches into the raw schema.")
@pass_ctx
def warehouse(obj: Context, no_dbt: bool) -> None:
    """Replicate new batches into the warehouse and build the dbt models (star schema, KPIs)."""
    from frota.orchestrate.run import build_warehouse_step

    _print_warehouse(build_warehouse_step(obj.settings, run_dbt=not no_dbt))


def _print_warehouse(result: Any) -> None:
    rows = ", ".join(f"{n} {t}" for t, n in result.rows_replicated.items()) or "no rows"
    out.print(
        f"warehouse {result.warehouse}: {result.batches_replicated} new batch(es) "
        f"replicated ({rows}) in {result.replicate_seconds:.1f}s"
    )
    if result.dbt_ran:
        out.print(
            f"dbt: {result.models_built} models built, {result.tests_passed} tests passed, "
            f"{result.tests_failed} failed, {result.tests_warned} warned "
            f"({result.dbt_seconds:.1f}s)"
        )
    for warning in result.freshness_warnings:
        out.print(f"[yellow]freshness[/yellow] {warning}")


# ---------------------------------------------------------------- status / db


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def status(obj: Context, as_json: bool) -> None:
    """What to check first: landing area, ledger, quarantine, last runs."""
    from frota.observe.status import collect_status

    st = collect_status(obj.settings)
    if as_json:
        click.echo(json.dumps(st.to_dict(), indent=2, default=str))
        return
    out.print(
        _table(
            "landing area",
            [
                ("location", st.landing),
                ("batches", st.landing_batches),
                ("complete, not loaded", len(st.complete_pending)),
                ("incomplete", len(st.incomplete)),
                ("rejected", len(st.rejected)),
                *([("error", st.landing_error)] if st.landing_error else []),
            ],
        )
    )
    for item in st.incomplete + st.rejected:
        out.print(f"  {item['batch_id']}: {item['problem']}")
    out.print(
        _table(
            "database",
            [
                ("location", st.database),
                *([("error", st.database_error)] if st.database_error else []),
                ("batches loaded", st.batches_loaded),
                ("last load (UTC)", st.last_load or "never"),
                *((f"rows in {t}", n) for t, n in st.rows.items()),
                ("quarantine held", sum(st.quarantine_held.values())),
                *((f"  {reason}", n) for reason, n in st.quarantine_held.items()),
                ("quarantine released", st.quarantine_released),
            ],
        )
    )
    if st.last_runs:
        table = RichTable(title="last runs", title_justify="left")
        for col in ("started (UTC)", "run", "command", "status", "batches", "rows"):
            table.add_column(col)
        for r in st.last_runs:
            table.add_row(
                r["started_at"],
                r["run_id"],
                r["command"],
                r["status"],
                str(r["batches_loaded"]),
                str(r["rows_loaded"]),
            )
        out.print(table)


@cli.group()
def db() -> None:
    """Schema and users of the operational database."""


@db.command("init")
@pass_ctx
def db_init(obj: Context) -> None:
    """Create the tables from the contract (idempotent; run as the admin user)."""
    from frota.db.engine import create_engine, mask
    from frota.db.schema import create_schema

    s = obj.settings
    engine = create_engine(s.database, s.db_password())
    try:
        from frota.db.connect import connect

        with connect(engine):
            pass
        created = create_schema(engine)
    finally:
        engine.dispose()
    if created:
        out.print(f"created in {mask(s.database)}: {', '.join(created)}")
    else:
        out.print(f"schema already up to date in {mask(s.database)}")


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
            raise click.UsageError("SQLite has no users; pass --dialect mysql or postgresql")
    click.echo(grants_sql(dialect, database_name), nl=False)


# ---------------------------------------------------------------- schedule


@cli.command()
@click.option(
    "--role",
    type=click.Choice(["all", "source", "server", "analytics"]),
    default="all",
    show_default=True,
)
@click.option(
    "--every", default="15m", show_default=True, help="5m, 15m, 1h, 6h, 1d (daily), hourly…"
)
@click.option("--at", "at", help="HH:MM for daily schedules [default 02:00].")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["cron", "systemd", "windows"]),
    default="cron",
    show_default=True,
)
@click.option(
    "--workdir",
    type=click.Path(file_okay=False),
    help="Working directory of the runs [default: this one].",
)
@click.option("--frota-bin", help="Absolute path of the frota executable [default: this one].")
@click.option("--secrets-file", help="Secrets file passed to the runs as FROTA_SECRETS_FILE.")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    help="Write the files here instead of printing them.",
)
@click.option("--install", is_flag=True, help="cron: add the entry to your crontab (idempotent).")
@click.option("--uninstall", is_flag=True, help="cron: remove the role's entry from your crontab.")
@pass_ctx
def schedule(
    obj: Context,
    role: str,
    every: str,
    at: str | None,
    fmt: str,
    workdir: str | None,
    frota_bin: str | None,
    secrets_file: str | None,
    out_dir: str | None,
    install: bool,
    uninstall: bool,
) -> None:
    """Render (or install) a cron entry, systemd timer or Windows task that runs frota."""
    import os
    import shutil

    from frota.orchestrate import schedule as sched

    if fmt == "windows" and sys.platform != "win32" and not (frota_bin and workdir):
        raise click.UsageError(
            "--format windows needs --frota-bin and --workdir as Windows "
            "paths, e.g. C:\\frota\\.venv\\Scripts\\frota.exe and C:\\frota"
        )
    if uninstall:
        change = sched.uninstall_cron(role)
        out.print(f"crontab: {change.action} (frota {role})")
        return
    config = os.path.abspath(obj._config) if obj._config and fmt != "windows" else obj._config
    kwargs = dict(
        frota_bin=frota_bin or shutil.which("frota") or os.path.abspath(sys.argv[0]),
        workdir=os.path.abspath(workdir)
        if workdir and fmt != "windows"
        else workdir or os.getcwd(),
        config=config,
        at=at,
        secrets_file=secrets_file,
    )
    if install:
        if fmt != "cron":
            raise click.UsageError(
                "--install works with --format cron; for systemd and "
                "Windows write the files with --out (docs/deployment.md)"
            )
        change = sched.install_cron(role, every, **kwargs)
        out.print(f"crontab: {change.action}: {change.entry}")
        return
    files = sched.render(role, every, fmt, **kwargs)
    if out_dir:
        for path in sched.write_files(files, out_dir):
            out.print(f"wrote {path}")
        return
    for name, content in files.items():
        click.echo(f"# ---- {name}")
        click.echo(content.replace("\r\n", "\n"))


# ---------------------------------------------------------------- quarantine


@cli.group()
def quarantine() -> None:
    """Rows the loader held back: list them, export them to fix, retry them."""


_batch_opt = click.option("--batch", help="Only rows of this batch id.")
_reason_opt = click.option("--reason", help="Only rows with this reason code.")
_status_opt = click.option(
    "--status",
    type=click.Choice(["held", "released", "all"]),
    default="held",
    show_default=True,
)


@quarantine.command("list")
@_batch_opt
@_reason_opt
@_status_opt
@click.option("--limit", type=int, default=20, show_default=True, help="Rows to show.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def quarantine_list(
    obj: Context, batch: str | None, reason: str | None, status: str, limit: int, as_json: bool
) -> None:
    """Counts by reason and the first rows, with file, line, column and raw text."""
    from frota.load.quarantine_ops import list_quarantine
    from frota.validate import REASONS

    listing = list_quarantine(obj.settings, batch=batch, reason=reason, status=status, limit=limit)
    if as_json:
        body = {"counts": listing.counts, "rows": [r.__dict__ for r in listing.rows]}
        click.echo(json.dumps(body, indent=2, ensure_ascii=False, default=str))
        return
    if not listing.total:
        out.print("no rows in the quarantine" + (f" ({status})" if status != "all" else ""))
        return
    counts = RichTable(title=f"quarantine ({status}): {listing.total} rows", title_justify="left")
    for col in ("reason", "rows", "what it means"):
        counts.add_column(col, justify="right" if col == "rows" else "left")
    for code, n in listing.counts.items():
        counts.add_row(code, str(n), REASONS.get(code, ""))
    out.print(counts)
    rows = RichTable(title_justify="left")
    for col in ("id", "batch", "file:line", "column", "reason", "detail", "raw"):
        rows.add_column(col, overflow="fold")
    for r in listing.rows:
        raw = r.raw or ""
        cells = (
            str(r.id),
            r.batch_id,
            f"{r.file}:{r.line}",
            r.column_name or "",
            r.reason,
            r.detail or "",
            raw if len(raw) <= 80 else raw[:80] + "…",
        )
        rows.add_row(*(escape(c) for c in cells))  # data is data, never rich markup
    out.print(rows)
    if listing.total > len(listing.rows):
        out.print(f"showing {len(listing.rows)} of {listing.total}; see --limit or export them")


@quarantine.command("export")
@click.argument("path", type=click.Path(dir_okay=False))
@_batch_opt
@_reason_opt
@_status_opt
@click.option("--table", type=click.Choice(["veiculos", "manutencoes"]), help="Only this table.")
@click.option("--delimiter", type=click.Choice([";", ","]), default=";", show_default=True)
@pass_ctx
def quarantine_export(
    obj: Context,
    path: str,
    batch: str | None,
    reason: str | None,
    status: str,
    table: str | None,
    delimiter: str,
) -> None:
    """Write the rows to a CSV to fix in Excel (UTF-8 with BOM; formulas neutralised)."""
    from frota.load.quarantine_ops import export_quarantine

    n = export_quarantine(
        obj.settings,
        Path(path),
        batch=batch,
        reason=reason,
        status=status,
        table=table,
        delimiter=delimiter,
    )
    out.print(f"exported {n} row(s) to {path}")


@quarantine.command("retry")
@_batch_opt
@_reason_opt
@click.option("--id", "ids", type=int, multiple=True, help="Only this row (repeatable).")
@pass_ctx
def quarantine_retry(
    obj: Context, batch: str | None, reason: str | None, ids: tuple[int, ...]
) -> None:
    """Re-validate held rows and load those that pass now (idempotent, under the load lock).

    duplicate_row and conflicting_duplicate rows need a decision: retry them with --reason
    duplicate_row, or release the right copy of a conflict with --id.
    """
    from frota.load.quarantine_ops import retry_quarantine

    r = retry_quarantine(obj.settings, batch=batch, reason=reason, ids=ids)
    out.print(
        _table(
            "quarantine retry",
            [
                ("examined", r.examined),
                ("released", r.released),
                ("still held", r.still_held),
                ("reason changed", r.reason_changed),
                ("cannot be retried (no values kept)", r.not_retryable),
                (
                    "veiculos inserted / updated / stale",
                    f"{r.veiculos_inserted} / {r.veiculos_updated} / {r.veiculos_stale}",
                ),
                ("manutencoes inserted", r.manutencoes_inserted),
                *((f"  held: {code}", n) for code, n in r.by_reason.items()),
            ],
        )
    )


# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning every error into a message and an exit code."""
    try:
        code = cli.main(args=argv, prog_name="frota", standalone_mode=False)
        sys.exit(code if isinstance(code, int) else EXIT_OK)
    except FrotaError as exc:
        click.echo(f"error: {redact(str(exc))}", err=True)
        logger.debug("details", exc_info=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted: nothing half-written was committed", err=True)
        sys.exit(130)
    except Exception as exc:  # the boundary: a bug, reported without leaking secrets
        click.echo(f"internal error: {redact(type(exc).__name__ + ': ' + str(exc))}", err=True)
        if "-v" in (argv or sys.argv) or "--verbose" in (argv or sys.argv):
            click.echo(redact(traceback.format_exc()), err=True)
        else:
            click.echo("run again with -v for details; please report it", err=True)
        sys.exit(EXIT_INTERNAL)
