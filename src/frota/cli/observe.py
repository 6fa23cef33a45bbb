"""`frota` commands — runs: the run history of every step, on this machine and its database."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

import click
from rich import box
from rich.markup import escape
from rich.table import Table as RichTable

from frota.cli.app import Context, cli, kv_table, out, pass_ctx
from frota.i18n import N_, _
from frota.redact import redact

# ---------------------------------------------------------------- runs

# The run history's counts (machine keys, stored) and statuses as words for people.
_COUNT_WORDS = {
    "batches": N_("batches"),
    "batches_loaded": N_("batches loaded"),
    "batches_published": N_("batches published"),
    "batches_replicated": N_("batches replicated"),
    "bytes": N_("bytes"),
    "duplicates": N_("duplicates"),
    "examined": N_("examined"),
    "incomplete": N_("incomplete"),
    "loaded": N_("loaded"),
    "manutencoes": N_("manutencoes"),
    "models_built": N_("models built"),
    "quarantined": N_("quarantined"),
    "rejected": N_("rejected"),
    "released": N_("released"),
    "removable": N_("removable"),
    "removed": N_("removed"),
    "rows": N_("rows"),
    "rows_loaded": N_("rows loaded"),
    "rows_replicated": N_("rows replicated"),
    "rows_written": N_("rows written"),
    "sections_unavailable": N_("sections unavailable"),
    "still_held": N_("still held"),
    "tests_passed": N_("tests passed"),
    "tests_warned": N_("tests warned"),
    "veiculos": N_("veiculos"),
    "published": N_("published"),
    "completed": N_("completed"),
    "already_published": N_("already published"),
    "acknowledged": N_("acknowledged"),
    "rows_read": N_("rows read"),
    "veiculos_inserted": N_("veiculos inserted"),
    "veiculos_updated": N_("veiculos updated"),
    "veiculos_stale": N_("veiculos stale"),
    "manutencoes_inserted": N_("manutencoes inserted"),
    "manutencoes_updated": N_("manutencoes updated"),
    "manutencoes_present": N_("manutencoes already present"),
    "manutencoes_stale": N_("manutencoes stale"),
    "blank_lines": N_("blank lines"),
}
_STATUS_WORDS = {
    "running": N_("running"),
    "ok": N_("ok"),
    "rejected": N_("rejected"),
    "skipped": N_("skipped"),
    "failed": N_("failed"),
}


def count_word(key: str) -> str:
    """A count's key as words in the user's language."""
    return _(_COUNT_WORDS[key]) if key in _COUNT_WORDS else key.replace("_", " ")


def status_word(status: str) -> str:
    """A run status (ok, failed…) in the user's language."""
    return _(_STATUS_WORDS[status]) if status in _STATUS_WORDS else status


def _what(counts: dict[str, Any]) -> str:
    """Counts as words: '2 batches loaded, 1,234 rows loaded'."""
    return ", ".join(
        f"{v:,} {count_word(k)}" if isinstance(v, int) else f"{count_word(k)} {v}"
        for k, v in counts.items()
        if v
    )


def _took(record: Any) -> str:
    seconds = record.seconds
    return "" if seconds is None else f"{seconds:.0f}s"


def _nested(runs: list[Any]) -> list[Any]:
    """Newest first, each `frota run` followed by its steps in the order they ran."""
    ids = {r.run_id for r in runs}
    children: dict[str, list[Any]] = {}
    for r in runs:
        if r.parent_run_id in ids:
            children.setdefault(r.parent_run_id, []).append(r)
    ordered: list[Any] = []
    for r in runs:
        if r.parent_run_id not in ids:
            ordered += [r, *sorted(children.get(r.run_id, []), key=lambda c: c.started_at)]
    return ordered


def runs_table(runs: list[Any], *, title: str = N_("runs")) -> RichTable:
    """Runs (RunRecord or their dicts), newest first; fits 80 columns (what it did folds)."""
    from frota.observe.runstore import RunRecord

    runs = _nested([r if isinstance(r, RunRecord) else RunRecord.from_dict(r) for r in runs])
    table = RichTable(
        title=_(title),
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
        show_edge=False,
    )
    table.add_column(_("started (UTC)"), no_wrap=True)
    table.add_column(_("run"), no_wrap=True)
    table.add_column(_("step"), overflow="fold")
    table.add_column(_("status"), no_wrap=True)
    table.add_column(_("took"), justify="right", no_wrap=True)
    table.add_column(_("what it did"), overflow="fold", ratio=1)
    for r in runs:
        style = {"failed": "red", "rejected": "red", "skipped": "yellow"}.get(r.status, "")
        word = status_word(r.status)
        status = f"[{style}]{word}[/{style}]" if style else word
        what = escape(r.error) if r.error else _what(r.counts)
        child = "  " if r.parent_run_id else ""
        table.add_row(
            f"{r.started_at:%Y-%m-%d %H:%M}", r.run_id, child + r.step, status, _took(r), what
        )
    return table


@cli.group(invoke_without_command=True)
@click.option("--step", help="Only this step: generate, publish, load, warehouse, run, quarantine…")
@click.option(
    "--status",
    type=click.Choice(["running", "ok", "rejected", "skipped", "failed"]),
    help="Only runs that ended so.",
)
@click.option("--since", help="Only runs started this long ago or later: 2d, 12h, 30m.")
@click.option("--limit", type=int, default=20, show_default=True, help="Runs to show.")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.pass_context
def runs(
    ctx: click.Context,
    step: str | None,
    status: str | None,
    since: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """The run history of every step, newest first (`frota runs show RUN_ID` for one)."""
    if ctx.invoked_subcommand is not None:
        return
    from frota.observe.runs import Query, read_runs
    from frota.observe.runs import since as since_time

    obj = ctx.find_object(Context)
    assert obj is not None
    query = Query(step=step, status=status, since=since_time(since) if since else None, limit=limit)
    listing = read_runs(obj.settings, query)
    if as_json:
        click.echo(json.dumps([r.to_dict() for r in listing.runs], indent=2, default=str))
    elif listing.runs:
        out.print(runs_table(listing.runs))
    else:
        out.print(
            _("no runs recorded that match") if step or status or since else _("no runs recorded")
        )
    _exit_if_unreadable(listing.errors)


def _exit_if_unreadable(errors: list[Any]) -> None:
    """What could not be read is an error (its exit code) after showing what could."""
    for error in errors:
        click.echo(_("error: {message}").format(message=error), err=True)
    if errors:
        sys.exit(errors[0].exit_code)


@runs.command("show")
@click.argument("run_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def runs_show(obj: Context, run_id: str, as_json: bool) -> None:
    """One run in full, with the steps it ran."""
    from frota.observe.runs import run_with_steps

    record, steps = run_with_steps(obj.settings, run_id)
    if record is None:
        message = _("no run {run_id!r} in the run history (see frota runs)")
        raise click.UsageError(message.format(run_id=run_id))
    if as_json:
        body = {**record.to_dict(), "steps": [s.to_dict() for s in steps]}
        click.echo(json.dumps(body, indent=2, default=str))
        return
    out.print(
        kv_table(
            _("run {run_id}").format(run_id=record.run_id),
            [
                (_("step"), record.step),
                (_("status"), status_word(record.status)),
                (_("role"), record.role or ""),
                (_("host"), record.host or ""),
                (_("started (UTC)"), record.started_at),
                (_("ended (UTC)"), record.finished_at or _("not ended (running, or killed)")),
                (_("took"), _took(record) or "-"),
                *([(_("part of run"), record.parent_run_id)] if record.parent_run_id else []),
                *((count_word(k), v) for k, v in record.counts.items()),
                *([(_("error"), record.error)] if record.error else []),
            ],
        )
    )
    if steps:
        out.print(runs_table(steps, title=N_("its steps")))


# ---------------------------------------------------------------- check


@cli.command()
@click.option(
    "--role",
    type=click.Choice(["all", "source", "server", "analytics"]),
    default="all",
    show_default=True,
    help="What this machine runs: source (landing, own source), server (landing, database, "
    "batches, sources, loads, quarantine), analytics (database, warehouse lag).",
)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option(
    "--no-alerts", is_flag=True, help="Do not send alerts for problems that start or clear."
)
@click.pass_context
def check(ctx: click.Context, role: str, as_json: bool, no_alerts: bool) -> None:
    """Health check for cron, systemd, Nagios/Icinga/Zabbix and Airflow: one line per check;
    exit 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. Alerts when a problem starts or clears."""
    from frota.errors import FrotaError
    from frota.observe.alerts import report_check
    from frota.observe.check import run_checks
    from frota.observe.log import log_to_file

    obj = ctx.find_object(Context)
    assert obj is not None
    try:
        settings = obj.settings
        log_to_file(settings)
        report = run_checks(settings, role, warehouse=_warehouse_reader(role))
    except FrotaError as exc:  # the check itself cannot run (configuration): UNKNOWN
        click.echo(f"frota UNKNOWN: {redact(str(exc))}")
        sys.exit(3)
    except Exception as exc:  # a bug: still UNKNOWN to a monitoring system, never WARNING (1)
        error = _("internal error: {error}").format(error=f"{type(exc).__name__}: {exc}")
        click.echo(f"frota UNKNOWN: {redact(error)}")
        sys.exit(3)
    if as_json:
        click.echo(json.dumps(report.to_dict(), indent=2, default=str))
    else:
        _print_report(report)
    if not no_alerts:
        report_check(obj.settings, report)
    sys.exit(report.exit_code)


def _warehouse_reader(role: str) -> Any:
    """How check and metrics read the warehouse's ledger, for the roles that look at it."""
    if role not in ("all", "analytics"):
        return None
    from frota.warehouse.replicate import replicated_batch_ids

    return replicated_batch_ids


def _print_report(report: Any) -> None:
    """The monitoring-plugin first line (status: the worst problem), then one line per check."""
    worst = next((r for r in report.results if r.status == report.status), None)
    headline = f"{worst.name}: {worst.summary}" if worst and report.status != "OK" else ""
    critical = sum(r.status == "CRITICAL" for r in report.results)
    warning = sum(r.status == "WARNING" for r in report.results)
    tail = ", ".join(
        text.format(n=n)
        for text, n in ((_("{n} critical"), critical), (_("{n} warning"), warning))
        if n
    )
    first = headline + (f" ({tail})" if tail else "") if headline else _("every check passed")
    click.echo(f"frota {report.status}: {first}")
    width = max((len(r.name) for r in report.results), default=0)
    for r in report.results:
        click.echo(f"{r.status:<8} {r.name:<{width}}  {r.summary}")
        if r.hint:
            click.echo(f"{'':<8} {'':<{width}}  " + _("next: {hint}").format(hint=r.hint))


# ---------------------------------------------------------------- alerts


@cli.group()
def alerts() -> None:
    """Alert channels (apprise URLs in FROTA_ALERTS or the secrets file)."""


@alerts.command("test")
@pass_ctx
def alerts_test(obj: Context) -> None:
    """Send a test message to every channel now (and whatever waits from earlier)."""
    from frota.errors import ConfigError
    from frota.observe.alerts import channel_name, send_test

    done = send_test(obj.settings)
    urls = obj.settings.alert_urls()
    names = ", ".join(channel_name(i, u) for i, u in enumerate(urls, 1))
    out.print(_("{n} message(s) delivered to {channels}").format(n=done.sent, channels=names))
    if done.failed:
        raise ConfigError(
            _("{n} message(s) not delivered (the log says which channel and why)").format(
                n=done.failed
            ),
            hint=_(
                "check the channel's URL and that its service is reachable from this machine; "
                "undelivered messages are sent again next time"
            ),
        )


# ---------------------------------------------------------------- metrics


@cli.command()
@click.option(
    "--role",
    type=click.Choice(["all", "source", "server", "analytics"]),
    default="all",
    show_default=True,
    help="Which parts to read: as for frota check.",
)
@click.option(
    "--textfile",
    type=click.Path(dir_okay=False),
    help="Write them to this file (atomically) for node_exporter's textfile collector.",
)
@click.option("--serve", "address", help="Serve them on HOST:PORT/metrics (e.g. 127.0.0.1:9464).")
@pass_ctx
def metrics(obj: Context, role: str, textfile: str | None, address: str | None) -> None:
    """Metrics in the Prometheus text format: rows and batches loaded, rejected, quarantined;
    last success and duration of each step; newest batch age per source; warehouse lag."""
    from frota.observe import metrics as m

    if textfile and address:
        raise click.UsageError(_("use --textfile or --serve, not both"))
    reader = _warehouse_reader(role)
    if address:
        server, _thread = m.serve(obj.settings, address, role, reader)
        host, port = m.parse_address(address)
        message = _("serving metrics on http://{host}:{port}/metrics (Ctrl-C to stop)")
        out.print(message.format(host=host, port=port))
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            server.shutdown()
        return
    if textfile:
        m.write_textfile(obj.settings, textfile, role, reader)
        out.print(_("wrote {path}").format(path=textfile))
        return
    click.echo(m.exposition(obj.settings, role, reader), nl=False)
