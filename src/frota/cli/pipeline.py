"""`frota` commands — generate, publish, load, run, warehouse: the steps of the data flow."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import click
from rich import box
from rich.markup import escape
from rich.table import Table as RichTable

from frota.cli.app import Context, cli, kv_table, out, pass_ctx
from frota.errors import EXIT_BAD_INPUT
from frota.i18n import N_, _, ngettext
from frota.observe.progress import progress_bar

# ---------------------------------------------------------------- generate / publish


@cli.command()
@click.option("--seed", type=int, help="Random seed of a new fleet [setting seed; default 7].")
@click.option(
    "--vehicles",
    type=click.IntRange(min=1),
    help="Size of a new fleet [setting vehicles; default 200].",
)
@click.option(
    "--until", type=click.DateTime(["%Y-%m-%d"]), help="Last simulated day [default: today]."
)
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Days to simulate [default: since the last run; 730 days of history on the first].",
)
@pass_ctx
def generate(
    obj: Context, seed: int | None, vehicles: int | None, until: Any, days: int | None
) -> None:
    """Simulate the fleet forward and write a batch of CSVs to the outbox."""
    from frota.orchestrate.run import generate_step

    s = obj.settings.with_overrides(seed=seed, vehicles=vehicles)
    with progress_bar("generating", "vehicles") as report:
        result = generate_step(s, until=until.date() if until else None, days=days, progress=report)
    out.print(
        kv_table(
            _("generated"),
            [
                (_("folder"), result.out_dir),
                (_("step"), result.step),
                (_("window"), f"{result.start} .. {result.end}"),
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
@click.option("--delimiter", type=click.Choice([",", ";", "tab"]), help="[default: detect].")
@click.option(
    "--decimal-comma/--decimal-point",
    default=None,
    help="How numbers are written [default: comma when the delimiter is ';'].",
)
@click.option(
    "--as-of",
    "as_of",
    help="With --from: when the export's data was true, e.g. 2026-01-31 (midnight UTC) or "
    "2026-01-31T18:00-03:00 [default: now]. Not in the future.",
)
@click.option(
    "--snapshot",
    is_flag=True,
    help="With --from: the export is complete for its period; stored maintenances of this "
    "source in that period that it lacks are retired (kept, out of every count).",
)
@click.option(
    "--period",
    help="With --snapshot: the period the export is complete for, e.g. "
    "2026-01-01..2026-01-31 [default: its first to last service date].",
)
@click.option(
    "--allow-retire",
    is_flag=True,
    help="With --snapshot: retire even more than snapshot_max_retire_share of the period.",
)
@click.option(
    "--dry-run",
    is_flag=True,
    help="With --from: check the exports and print every problem as file:line:column, "
    "publishing nothing (exit 3 when a file is refused).",
)
@click.option(
    "--report",
    "report_path",
    type=click.Path(dir_okay=False),
    help="With --from: also write the problems to this sheet for Excel (';', UTF-8 with BOM).",
)
@pass_ctx
def publish(
    obj: Context,
    from_dir: str | None,
    encoding: str | None,
    delimiter: str | None,
    decimal_comma: bool | None,
    as_of: str | None,
    snapshot: bool,
    period: str | None,
    allow_retire: bool,
    dry_run: bool,
    report_path: str | None,
) -> None:
    """Publish batches to the landing area (manifest last, never overwriting)."""
    from frota.batch import parse_as_of
    from frota.publish import check_export, publish_export, publish_outbox

    s = obj.settings
    for flag, given in (
        ("--as-of", as_of),
        ("--dry-run", dry_run),
        ("--report", report_path),
        ("--snapshot", snapshot),
    ):
        if given and not from_dir:
            message = _("{flag} goes with --from (generated batches are checked)")
            raise click.UsageError(message.format(flag=flag))
    for flag, given in (("--period", period), ("--allow-retire", allow_retire)):
        if given and not snapshot:
            raise click.UsageError(_("{flag} goes with --snapshot").format(flag=flag))
    try:
        days = _period(period) if period else None
    except ValueError:
        raise click.BadParameter(
            _("{value!r} is not a period like 2026-01-01..2026-01-31").format(value=period),
            param_hint="--period",
        ) from None
    try:
        when = parse_as_of(as_of) if as_of is not None else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--as-of") from None
    read: dict[str, Any] = {
        "encoding": encoding,
        "delimiter": "\t" if delimiter == "tab" else delimiter,
        "decimal_comma": decimal_comma,
    }
    report = Path(report_path) if report_path else None
    if from_dir and dry_run:
        check = check_export(Path(from_dir), s, **read, report=report, on_finding=_say)
        _print_check(check, report_path)
        if check.refused:
            message = _("{n} file(s) refused: nothing would be published")
            out.print(message.format(n=len(check.refused)))
            raise click.exceptions.Exit(EXIT_BAD_INPUT)
        out.print(_("dry run: {rows} rows would be published; nothing was").format(rows=check.rows))
        return
    if from_dir:
        result = publish_export(
            Path(from_dir),
            s,
            **read,
            as_of=when,
            report=report,
            snapshot=snapshot,
            period=days,
            allow_retire=allow_retire,
        )
        if result.check is not None:
            _print_check(result.check, report_path, first_few=True)
        results = [result]
    else:
        with progress_bar("publishing", "batches") as progress:
            results = publish_outbox(s, progress=progress)
    if not results:
        out.print(_("nothing to publish"))
    for r in results:
        if r.status == "no_rows":
            out.print(_("no rows today: every file holds only its header; nothing published"))
            continue
        line = _("{status}: {batch_id} ({rows} rows) -> {landing}")
        out.print(
            line.format(
                status=published_word(r.status), batch_id=r.batch_id, rows=r.rows, landing=r.landing
            )
        )


def _period(text: str) -> tuple[date, date]:
    """'2026-01-01..2026-01-31' -> the two dates (ValueError unless start <= end)."""
    first, last = (date.fromisoformat(part.strip()) for part in text.split(".."))
    if first > last:
        raise ValueError(text)
    return first, last


def published_word(status: str) -> str:
    """A publish result's status (published, completed, already_published) as words."""
    from frota.cli.observe import count_word

    return count_word(status)


def _say(finding: Any) -> None:
    """One problem, as it is found: `file:line:column: what is wrong: 'value' [reason]`."""
    click.echo(str(finding))


def _print_check(check: Any, report_path: str | None, *, first_few: bool = False) -> None:
    """A dry run: per file, its rows and what the loader will hold, and the unexpected files.
    A publish (`first_few`; those lines are in its log): the counts and the first problems."""
    if not first_few:
        for line in check.lines():
            out.print(escape(line))
        for warning in check.warnings():
            word = _("warning:")
            out.print(f"[yellow]{word}[/yellow] {escape(warning)}")
    held = check.reasons
    if first_few and held:
        total = sum(held.values())
        counts = ", ".join(f"{reason} x{n}" for reason, n in held.most_common())
        message = _(
            "the loader will hold {rows} row(s) in the quarantine ({total} problem(s): "
            "{counts}); the first:"
        )
        out.print(message.format(rows=check.held_rows, total=total, counts=counts))
        for finding in check.first():
            out.print(f"  {escape(str(finding))}")
        if total > len(check.first()):
            out.print("  " + _("… all of them: frota publish --from DIR --dry-run [--report FILE]"))
    if report_path:
        out.print(_("problems written to {path}").format(path=escape(report_path)))


# ---------------------------------------------------------------- load / run


# (wide header, narrow header, BatchResult attribute)
_LOAD_COLUMNS = (
    (N_("read"), N_("read"), "rows_read"),
    (N_("veic. new"), N_("new"), "veiculos_inserted"),
    (N_("veic. upd."), N_("upd."), "veiculos_updated"),
    (N_("stale"), N_("stale"), "veiculos_stale"),
    (N_("manut. new"), N_("m.new"), "manutencoes_inserted"),
    (N_("manut. upd."), N_("m.upd"), "manutencoes_updated"),
    (N_("present"), N_("pres."), "manutencoes_present"),
    (N_("m. stale"), N_("m.st."), "manutencoes_stale"),
    (N_("quarantined"), N_("quar."), "quarantined"),
    (N_("released"), N_("rel."), "released"),
    (N_("dupl."), N_("dupl."), "duplicates"),
    (N_("blank"), N_("blank"), "blank_lines"),
)
_CAPTIONS = (
    N_(
        "read = veic. new + upd. + stale + manut. new + upd. + present + m. stale + quarantined "
        "+ dupl. (blank and released apart)"
    ),
    N_(
        "read = new + upd. + stale + m.new + m.upd + pres. + m.st. + quar. + dupl.\n"
        "(blank, rel. apart)"
    ),
)


def _load_table(loaded: Any, *, narrow: bool) -> RichTable:
    """One row per batch. `narrow` (an 80-column terminal): short headers, and a number
    instead of the batch id (listed under the table), and no vertical rules, so that every
    count stays whole."""
    table = RichTable(
        title=_("loaded batches"),
        title_justify="left",
        caption_justify="left",
        box=box.SIMPLE_HEAD if narrow else box.HEAVY_HEAD,
        padding=(0, 0) if narrow else (0, 1),
        pad_edge=not narrow,
    )
    table.add_column("#" if narrow else _("batch"), no_wrap=True)
    for wide, short, _attr in _LOAD_COLUMNS:
        table.add_column(_(short if narrow else wide), justify="right", no_wrap=True)
    for n, b in enumerate(loaded, 1):
        counts = (f"{getattr(b, column[2]):,}" for column in _LOAD_COLUMNS)
        table.add_row(str(n) if narrow else b.batch_id, *counts)
    table.caption = _(_CAPTIONS[narrow])
    return table


def _print_retired(loaded: Any) -> None:
    """Retirements are not rows read, so the table's reconciliation leaves them out: a
    snapshot that retired stored records says so under it."""
    for b in loaded:
        if b.manutencoes_retired:
            line = ngettext(
                "snapshot {batch_id} retired {n} stored maintenance its period lacks "
                "(kept, out of every count): frota batch show {batch_id}",
                "snapshot {batch_id} retired {n} stored maintenances its period lacks "
                "(kept, out of every count): frota batch show {batch_id}",
                b.manutencoes_retired,
            )
            text = line.format(batch_id=escape(b.batch_id), n=b.manutencoes_retired)
            out.print(text, soft_wrap=False)


def _print_load(result: Any) -> None:
    from frota.load import LoadResult

    assert isinstance(result, LoadResult)
    if result.loaded:
        table = _load_table(result.loaded, narrow=False)
        natural = out.measure(table, options=out.options.update(max_width=10_000)).maximum
        if natural > out.width:  # too narrow for the ids and every count: number the batches
            table = _load_table(result.loaded, narrow=True)
            out.print(table)
            for n, b in enumerate(result.loaded, 1):
                out.print(f"  {n} = {escape(b.batch_id)}")
        else:
            out.print(table)
        _print_retired(result.loaded)
    elif not result.rejected:
        out.print(_("nothing new to load"))
    for batch_id, why in result.incomplete:
        message = _("skipped incomplete batch {batch_id}: {why}")
        out.print(message.format(batch_id=escape(batch_id), why=escape(why)), soft_wrap=False)
    for batch_id in result.already_loaded:
        message = _("batch {batch_id} was loaded by another loader")
        out.print(message.format(batch_id=escape(batch_id)))
    for rejected in result.rejected:
        word = _("set aside")
        out.print(f"[yellow]{word}[/yellow] {escape(str(rejected))}", soft_wrap=False)
        message = _(
            "later batches go on loading; see `frota batch show {batch_id}`, then "
            "`frota batch retry {batch_id}` after a fix"
        )
        out.print("  " + message.format(batch_id=rejected.batch_id), soft_wrap=False)
    if result.set_aside:
        message = _("{n} rejected batch(es) wait for a person: `frota batch list --state rejected`")
        out.print(message.format(n=result.set_aside))


@cli.command()
@pass_ctx
def load(obj: Context) -> None:
    """Load every complete, not-yet-loaded batch, exactly once, in publish order.

    A batch that breaks the contract is set aside (see `frota batch`); the others still load.
    """
    from frota.load import load_pending

    with progress_bar("loading", "rows") as report:
        result = load_pending(obj.settings, run_id=obj.run_id, progress=report)
    _print_load(result)


@cli.command()
@click.option(
    "--role",
    type=click.Choice(["all", "source", "server", "analytics"]),
    default="all",
    show_default=True,
    help="source: publish (your exports, or generated data); server: load; analytics: "
    "warehouse and the report.",
)
@click.option(
    "--from",
    "from_dir",
    type=click.Path(file_okay=False, exists=True),
    help="Roles source and all: publish each new export your export job left in this folder, "
    "once, instead of generating data [setting exports].",
)
@click.option("--no-warehouse", is_flag=True, help="Skip the warehouse and report steps.")
@pass_ctx
def run(obj: Context, role: str, from_dir: str | None, no_warehouse: bool) -> None:
    """Run the pipeline: publish -> load -> warehouse -> report (embedded defaults)."""
    from frota.errors import EXIT_BAD_INPUT
    from frota.orchestrate.run import run_pipeline

    if from_dir and role not in ("all", "source"):
        raise click.UsageError(_("--from goes with --role source or all (the roles that publish)"))
    result = run_pipeline(
        obj.settings,
        role,
        run_id=obj.run_id,
        warehouse=not no_warehouse,
        progress=progress_bar,
        from_dir=from_dir,
    )
    if result.exports is not None:
        _print_exports(result.exports)
    if result.generated:
        g = result.generated
        message = _(
            "generated step {step} ({start} .. {end}): {veiculos} veiculos, "
            "{manutencoes} manutencoes"
        )
        out.print(
            message.format(
                step=g.step,
                start=g.start,
                end=g.end,
                veiculos=g.veiculos,
                manutencoes=g.manutencoes,
            )
        )
    for p in result.published or ():
        if p.status == "no_rows":
            out.print(_("no rows today: every file holds only its header; nothing published"))
            continue
        line = _("{status}: {batch_id} ({rows} rows)")
        out.print(line.format(status=published_word(p.status), batch_id=p.batch_id, rows=p.rows))
    if result.loaded:
        _print_load(result.loaded)
    if result.warehouse is not None:
        _print_warehouse(result.warehouse)
    if result.report is not None:
        from frota.cli.report import print_report

        print_report(result.report)
    if result.report is not None and result.report.unavailable:
        from frota.errors import EXIT_WAREHOUSE

        raise click.exceptions.Exit(EXIT_WAREHOUSE)
    if result.exports is not None and result.exports.refused:
        raise click.exceptions.Exit(EXIT_BAD_INPUT)


def _print_exports(result: Any) -> None:
    for folder in result.waiting:
        message = _("waiting: {folder} is still being written")
        out.print(message.format(folder=escape(str(folder))), soft_wrap=False)
    for folder, why in result.refused:
        message = _("[red]refused[/red] export {folder}: {why}")
        out.print(message.format(folder=escape(str(folder)), why=escape(why)), soft_wrap=False)
        out.print("  " + _("fix the files; a changed export is taken again on the next run"))
    if not result.published and not result.refused:
        message = _("no new export ({seen} published or refused before)")
        out.print(message.format(seen=result.seen))


@cli.group(invoke_without_command=True)
@click.option("--no-dbt", is_flag=True, help="Only replicate new batches into the raw schema.")
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Rebuild every model from the raw layer and test every row (dbt --full-refresh).",
)
@click.option(
    "--select",
    "select",
    multiple=True,
    metavar="SELECTOR",
    help="Build only these dbt nodes (dbt's --select syntax, e.g. mart_disponibilidade+); "
    "repeatable.",
)
@pass_ctx
def warehouse(obj: Context, no_dbt: bool, full_refresh: bool, select: tuple[str, ...]) -> None:
    """Replicate new batches into the warehouse and build the dbt models (star schema, KPIs)."""
    if click.get_current_context().invoked_subcommand is not None:
        return  # `frota warehouse init-project …`
    from frota.orchestrate.run import build_warehouse_step

    if no_dbt and (full_refresh or select):
        raise click.UsageError(_("--full-refresh and --select need dbt: leave out --no-dbt."))
    with progress_bar("replicating", "rows") as bar:
        built = build_warehouse_step(
            obj.settings, run_dbt=not no_dbt, full_refresh=full_refresh, select=select, bar=bar
        )
    _print_warehouse(built)


@warehouse.command("init-project")
@click.argument("directory", type=click.Path(file_okay=False, path_type=Path))
def warehouse_init_project(directory: Path) -> None:
    """Write a dbt project of your own that builds on frota's (an example mart included);
    point the warehouse_project setting at it and `frota warehouse` builds it."""
    from frota.warehouse import init_project

    made = init_project(directory)
    out.print(_("dbt project {name!r} written to {path}:").format(name=made.name, path=made.path))
    for name in made.files:
        out.print(f"  {name}")
    message = _(
        'next: set warehouse_project = "{path}" in frota.toml (or FROTA_WAREHOUSE_PROJECT), '
        "then run `frota warehouse`"
    )
    out.print(message.format(path=made.path.resolve()))


def _print_warehouse(result: Any) -> None:
    rows = ", ".join(f"{n} {t}" for t, n in result.rows_replicated.items()) or _("no rows")
    message = _("warehouse {warehouse}: {batches} new batch(es) replicated ({rows}) in {seconds}s")
    out.print(
        message.format(
            warehouse=result.warehouse,
            batches=result.batches_replicated,
            rows=rows,
            seconds=f"{result.replicate_seconds:.1f}",
        )
    )
    if result.up_to_date:
        out.print(_("dbt: nothing new since the last build; the models are up to date"))
    if result.dbt_ran:
        message = _(
            "dbt: {models} models built, {passed} tests passed, {failed} failed, {warned} warned "
            "({seconds}s{refresh})"
        )
        refresh = ", " + _("full refresh") if result.full_refresh else ""
        out.print(
            message.format(
                models=result.models_built,
                passed=result.tests_passed,
                failed=result.tests_failed,
                warned=result.tests_warned,
                seconds=f"{result.dbt_seconds:.1f}",
                refresh=refresh,
            )
        )
    word = _("freshness")
    for warning in result.freshness_warnings:
        out.print(f"[yellow]{word}[/yellow] {warning}")
