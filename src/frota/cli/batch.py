"""`frota` commands — batch and landing: what operators do with batches (list, show, reject,
retry) and with the landing area (prune)."""

from __future__ import annotations

import json
from typing import Any

import click
from rich.markup import escape
from rich.table import Table as RichTable

from frota.cli.app import Context, cli, kv_table, out, pass_ctx
from frota.i18n import N_, _

# ---------------------------------------------------------------- batch

_STATES = ("loaded", "undone", "rejected", "acknowledged", "pending", "incomplete")  # ops.batches


@cli.group()
def batch() -> None:
    """The batches: list them, show one, set one aside, retry a rejected one, undo a loaded
    one and replay it."""


_LIST_COLUMNS = (
    N_("batch"),
    N_("state"),
    N_("published (UTC)"),
    N_("loaded (UTC)"),
    N_("rows"),
    N_("problem"),
)


def _when(moment: Any) -> str:
    return moment.isoformat(sep=" ", timespec="seconds") if moment else ""


@batch.command("list")
@click.option("--state", type=click.Choice(_STATES), help="Only batches in this state.")
@click.option("--limit", type=click.IntRange(min=1), default=20, show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def batch_list(obj: Context, state: str | None, limit: int, as_json: bool) -> None:
    """The newest batches: loaded, rejected, acknowledged, pending or incomplete."""
    from frota.ops.batches import list_batches

    listing = list_batches(obj.settings, state=state, limit=limit)
    if as_json:
        body = {"counts": listing.counts, "rows": [r.__dict__ for r in listing.rows]}
        if listing.landing_error:
            body["landing_error"] = listing.landing_error
        click.echo(json.dumps(body, indent=2, ensure_ascii=False, default=str))
        return
    if listing.landing_error:
        words = _("landing area not read")
        out.print(f"[yellow]{words}[/yellow]: {escape(listing.landing_error)}")
    # States stay codes (they are what --state takes), like reason codes.
    counts = ", ".join(f"{n} {s}" for s, n in sorted(listing.counts.items())) or _("no batches")
    table = RichTable(title=_("batches ({counts})").format(counts=counts), title_justify="left")
    for col in _LIST_COLUMNS:
        table.add_column(_(col), overflow="fold")
    for r in listing.rows:
        cells = (
            r.batch_id,
            r.state,
            _when(r.published_at),
            _when(r.loaded_at),
            "" if r.rows_read is None else f"{r.rows_read:,}",
            r.problem or "",
        )
        table.add_row(*(escape(c) for c in cells))
    out.print(table)
    shown = sum(listing.counts.get(s, 0) for s in ([state] if state else listing.counts))
    if shown > len(listing.rows):
        message = _("showing the newest {shown} of {total}; see --limit")
        out.print(message.format(shown=len(listing.rows), total=shown))


@batch.command("show")
@click.argument("batch_id")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@pass_ctx
def batch_show(obj: Context, batch_id: str, as_json: bool) -> None:
    """Everything about one batch: state, counts or reason, files, quarantined rows."""
    from frota.ops.batches import show_batch

    d = show_batch(obj.settings, batch_id)
    if as_json:
        body = {
            **d.row.__dict__,
            "counts": d.counts,
            "rejection": d.rejection,
            "in_landing": d.in_landing,
            "files": [f.__dict__ for f in d.manifest.files] if d.manifest else None,
            "quarantine": d.quarantine,
        }
        click.echo(json.dumps(body, indent=2, ensure_ascii=False, default=str))
        return
    rows: list[tuple[str, Any]] = [
        (_("state"), d.row.state),
        (_("source"), d.row.source),
        (_("published (UTC)"), _when(d.row.published_at)),
    ]
    if d.manifest is not None:
        rows += [
            (_("as of (UTC)"), _when(d.manifest.effective_at)),
            (_("sequence"), d.manifest.sequence),
        ]
        size = _("{rows} rows, {bytes} bytes")
        rows += [
            (
                _("file {name}").format(name=f.name),
                size.format(rows=f"{f.rows:,}", bytes=f"{f.bytes:,}"),
            )
            for f in d.manifest.files
        ]
    there = _("yes") if d.in_landing else _("no (pruned or never there)")
    rows.append((_("in the landing area"), there))
    if d.counts:
        from frota.cli.observe import count_word

        rows.append((_("loaded (UTC)"), _when(d.row.loaded_at)))
        rows += [(count_word(name), f"{n:,}") for name, n in d.counts.items()]
    if d.rejection:
        rows += _rejection_rows(d.rejection)
    elif d.row.problem:
        rows.append((_("problem"), d.row.problem))
    held = _("quarantine {status}: {reason}")
    for status, reasons in d.quarantine.items():
        rows += [(held.format(status=_(status), reason=r), n) for r, n in reasons.items()]
    title = _("batch {batch_id}").format(batch_id=escape(batch_id))
    out.print(kv_table(title, [(k, escape(str(v))) for k, v in rows]))


def _rejection_rows(rejection: dict[str, Any]) -> list[tuple[str, Any]]:
    where = ", ".join(
        str(p)
        for p in (
            rejection["file"],
            rejection["line"] and _("line {line}").format(line=rejection["line"]),
            rejection["column_name"]
            and _("column {column!r}").format(column=rejection["column_name"]),
        )
        if p
    )
    rows: list[tuple[str, Any]] = [
        (_("rejected (UTC)"), _when(rejection["rejected_at"])),
        (_("reason"), rejection["message"]),
    ]
    rows += [(_("where"), where)] if where else []
    rows += [(_("hint"), rejection["hint"])] if rejection["hint"] else []
    if rejection["note"]:
        by = f"{rejection['noted_by']}, {_when(rejection['noted_at'])} UTC"
        rows.append((_("note"), f"{rejection['note']} ({by})"))
    if rejection["retried_at"]:
        rows.append((_("loaded by a retry (UTC)"), _when(rejection["retried_at"])))
    return rows


@batch.command("reject")
@click.argument("batch_id")
@click.option("--note", required=True, help="Why (kept and shown with the batch).")
@pass_ctx
def batch_reject(obj: Context, batch_id: str, note: str) -> None:
    """Set a batch aside by hand, or acknowledge one the loader rejected (prune may remove
    it then). A loaded batch is undone instead: frota batch undo."""
    from frota.ops.batches import reject_batch

    result = reject_batch(obj.settings, batch_id, note)
    if result.outcome == "acknowledged":
        out.print(
            _("acknowledged the rejection of batch {batch_id}").format(batch_id=escape(batch_id))
        )
    else:
        message = _("rejected batch {batch_id}: the loader will leave it alone")
        out.print(message.format(batch_id=escape(batch_id)))


@batch.command("retry")
@click.argument("batch_id")
@pass_ctx
def batch_retry(obj: Context, batch_id: str) -> None:
    """Load a rejected batch again after a fix (under the load lock, exactly once)."""
    from frota.cli.pipeline import _print_load
    from frota.ops.batches import retry_batch

    retry = retry_batch(obj.settings, batch_id, run_id=obj.run_id)
    _print_load(retry.result)
    if retry.loaded:
        out.print(_("batch {batch_id} is loaded").format(batch_id=escape(batch_id)))


_cascade_opt = click.option(
    "--cascade", is_flag=True, help="Also the batches that depend on it (undo: newest first)."
)
_apply_opt = click.option(
    "--apply", is_flag=True, help="Do it (default: only show what it would do)."
)


@batch.command("undo")
@click.argument("batch_id")
@_cascade_opt
@_apply_opt
@pass_ctx
def batch_undo(obj: Context, batch_id: str, cascade: bool, apply: bool) -> None:
    """Take back what a loaded batch did: its records retired, its changes set back, its
    vehicle states withdrawn. A dry run unless --apply."""
    from frota.ops.batches import undo_batch

    result = undo_batch(obj.settings, batch_id, cascade=cascade, apply=apply, run_id=obj.run_id)
    _print_operation(result, undo=True)


@batch.command("replay")
@click.argument("batch_id")
@_cascade_opt
@_apply_opt
@pass_ctx
def batch_replay(obj: Context, batch_id: str, cascade: bool, apply: bool) -> None:
    """Apply an undone batch again, from what the database kept. A dry run unless --apply."""
    from frota.ops.batches import replay_batch

    result = replay_batch(obj.settings, batch_id, cascade=cascade, apply=apply, run_id=obj.run_id)
    _print_operation(result, undo=False)


def _print_operation(result: Any, *, undo: bool) -> None:
    if undo:
        line = _(
            "{batch_id}: {written} record(s) it inserted to retire, {changed} it changed to "
            "set back, {states} vehicle state(s) to withdraw, {rows} quarantine row(s)"
        )
    else:
        line = _(
            "{batch_id}: {written} record(s) it inserted to restore, {changed} it changed to "
            "change again, {states} vehicle state(s) to put back, {rows} quarantine row(s)"
        )
    for p in result.previews:
        out.print(
            line.format(
                batch_id=escape(p.batch_id),
                written=f"{p.records_written:,}",
                changed=f"{p.records_changed:,}",
                states=f"{p.vehicle_states:,}",
                rows=f"{p.quarantine_rows:,}",
            )
        )
    if not result.applied:
        hint = _("dry run: nothing changed; run again with --apply to do it")
        out.print(hint)
        return
    done = (
        _("undone {batch_id} (operation {op})")
        if undo
        else _("replayed {batch_id} (operation {op})")
    )
    for e in result.effects:
        out.print(done.format(batch_id=escape(e.batch_id), op=escape(e.operation_id)))


# ---------------------------------------------------------------- landing


@cli.group()
def landing() -> None:
    """The landing area: remove the batches the server no longer needs."""


@landing.command("prune")
@click.option(
    "--older-than",
    "older_than",
    required=True,
    help="Only batches published longer ago than this: 12h, 30d, 2w.",
)
@click.option("--apply", is_flag=True, help="Remove them (default: only list them).")
@pass_ctx
def landing_prune(obj: Context, older_than: str, apply: bool) -> None:
    """Remove loaded batches (and acknowledged rejected ones) from the landing area; never
    one that is waiting or incomplete. A dry run unless --apply."""
    from frota.ops.landing import parse_age, prune_landing

    result = prune_landing(obj.settings, parse_age(older_than), apply=apply)
    one = _("removed {batch_id} ({state})") if apply else _("would remove {batch_id} ({state})")
    for batch_id, state in result.removable:
        out.print(one.format(batch_id=escape(batch_id), state=state))
    total = _("removed {n} batch folder(s)") if apply else _("would remove {n} batch folder(s)")
    summary = total.format(n=len(result.removable))
    kept = ", ".join(f"{n} {why}" for why, n in sorted(result.kept.items()))
    if kept:
        summary += "; " + _("kept {kept}").format(kept=kept)
    if not apply:
        summary += "; " + _("run again with --apply to remove them")
    out.print(summary)
