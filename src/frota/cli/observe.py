"""`frota` commands — runs: the run history of every step, on this machine and its database."""

from __future__ import annotations

import json
import sys
from typing import Any

import click
from rich import box
from rich.markup import escape
from rich.table import Table as RichTable

from frota.cli.app import Context, cli, kv_table, out, pass_ctx

# ---------------------------------------------------------------- runs


def _what(counts: dict[str, Any]) -> str:
    """Counts as words: '2 batches loaded, 1,234 rows loaded'."""
    return ", ".join(
        f"{v:,} {k.replace('_', ' ')}" if isinstance(v, int) else f"{k.replace('_', ' ')} {v}"
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


def runs_table(runs: list[Any], *, title: str = "runs") -> RichTable:
    """Runs (RunRecord or their dicts), newest first; fits 80 columns (what it did folds)."""
    from frota.observe.runstore import RunRecord

    runs = _nested([r if isinstance(r, RunRecord) else RunRecord.from_dict(r) for r in runs])
    table = RichTable(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        padding=(0, 1),
        collapse_padding=True,
        pad_edge=False,
        show_edge=False,
    )
    table.add_column("started (UTC)", no_wrap=True)
    table.add_column("run", no_wrap=True)
    table.add_column("step", overflow="fold")
    table.add_column("status", no_wrap=True)
    table.add_column("took", justify="right", no_wrap=True)
    table.add_column("what it did", overflow="fold", ratio=1)
    for r in runs:
        style = {"failed": "red", "rejected": "red", "skipped": "yellow"}.get(r.status, "")
        status = f"[{style}]{r.status}[/{style}]" if style else r.status
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
        out.print("no runs recorded" + (" that match" if step or status or since else ""))
    _exit_if_unreadable(listing.errors)


def _exit_if_unreadable(errors: list[Any]) -> None:
    """What could not be read is an error (its exit code) after showing what could."""
    for error in errors:
        click.echo(f"error: {error}", err=True)
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
        raise click.UsageError(f"no run {run_id!r} in the run history (see frota runs)")
    if as_json:
        body = {**record.to_dict(), "steps": [s.to_dict() for s in steps]}
        click.echo(json.dumps(body, indent=2, default=str))
        return
    out.print(
        kv_table(
            f"run {record.run_id}",
            [
                ("step", record.step),
                ("status", record.status),
                ("role", record.role or ""),
                ("host", record.host or ""),
                ("started (UTC)", record.started_at),
                ("ended (UTC)", record.finished_at or "not ended (running, or killed)"),
                ("took", _took(record) or "-"),
                *([("part of run", record.parent_run_id)] if record.parent_run_id else []),
                *((k.replace("_", " "), v) for k, v in record.counts.items()),
                *([("error", record.error)] if record.error else []),
            ],
        )
    )
    if steps:
        out.print(runs_table(steps, title="its steps"))
