"""`frota` commands — quarantine: the rows held back, for people to list, export and retry."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click
from rich.markup import escape
from rich.table import Table as RichTable

from frota.cli.app import Context, cli, kv_table, out, pass_ctx
from frota.contract.validate import REASONS, explain, fix_for
from frota.i18n import N_, _

# ---------------------------------------------------------------- quarantine

_ROW_COLUMNS = (
    N_("id"),
    N_("batch"),
    N_("file:line"),
    N_("column"),
    N_("reason"),
    N_("detail"),
    N_("raw"),
)
# The statuses' names, for extraction (shown with _(status)).
_STATUSES = (N_("held"), N_("released"), N_("dismissed"), N_("all"))


@cli.group()
def quarantine() -> None:
    """Rows the loader held back: list them, export them to fix, retry or dismiss them."""


_batch_opt = click.option("--batch", help="Only rows of this batch id.")
_reason_opt = click.option(
    "--reason", type=click.Choice(list(REASONS)), help="Only rows with this reason code."
)
_status_opt = click.option(
    "--status",
    type=click.Choice(["held", "released", "dismissed", "all"]),
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
    from frota.ops.quarantine import list_quarantine

    listing = list_quarantine(obj.settings, batch=batch, reason=reason, status=status, limit=limit)
    if as_json:
        body = {"counts": listing.counts, "rows": [r.__dict__ for r in listing.rows]}
        click.echo(json.dumps(body, indent=2, ensure_ascii=False, default=str))
        return
    if not listing.total:
        if status == "all":
            out.print(_("no rows in the quarantine"))
        else:
            out.print(_("no rows in the quarantine ({status})").format(status=_(status)))
        return
    title = _("quarantine ({status}): {total} rows").format(status=_(status), total=listing.total)
    counts = RichTable(title=title, title_justify="left")
    counts.add_column(_("reason"))
    counts.add_column(_("rows"), justify="right")
    counts.add_column(_("what it means"))
    counts.add_column(_("what to do"))
    for code, n in listing.counts.items():
        counts.add_row(code, str(n), explain(code), fix_for(code))
    out.print(counts)
    noted = any(r.note for r in listing.rows)
    rows = RichTable(title_justify="left")
    for col in _ROW_COLUMNS:
        rows.add_column(_(col), overflow="fold")
    if noted:
        rows.add_column(_("note"), overflow="fold")
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
            *((_note(r),) if noted else ()),
        )
        rows.add_row(*(escape(c) for c in cells))  # data is data, never rich markup
    if out.width >= 120:
        out.print(rows)
    else:
        _print_rows_narrow(listing.rows)
    if listing.total > len(listing.rows):
        message = _("showing {shown} of {total}; see --limit or export them")
        out.print(message.format(shown=len(listing.rows), total=listing.total))


def _note(row: Any) -> str:
    """A person's note on a row, with who wrote it and when."""
    if not row.note:
        return ""
    when = row.noted_at.strftime("%Y-%m-%d %H:%M") if row.noted_at else "?"
    return _("{status} by {who} at {when} UTC: {note}").format(
        status=_(row.status), who=row.noted_by or "?", when=when, note=row.note
    )


def _print_rows_narrow(held: Sequence[Any]) -> None:
    """One block per row, for terminals too narrow for seven columns (an SSH session): the
    batch id, file:line and reason whole; detail and raw text wrap instead of being cut."""
    for r in held:
        where = f"{r.file}:{r.line}"
        if r.column_name:
            where += ", " + _("column {column}").format(column=r.column_name)
        out.print(f"[bold]#{r.id}[/bold] {escape(r.reason)}: {escape(where)}")
        out.print("  " + _("batch {batch_id}").format(batch_id=escape(r.batch_id)))
        if r.detail:
            out.print(f"  {escape(r.detail)}", soft_wrap=False)
        if r.raw:
            raw = r.raw if len(r.raw) <= 200 else r.raw[:200] + "…"
            out.print("  " + _("raw: {raw}").format(raw=escape(raw)), soft_wrap=False)
        if r.note:
            out.print(f"  {escape(_note(r))}", soft_wrap=False)


@quarantine.command("export")
@click.argument("path", type=click.Path())
@_batch_opt
@_reason_opt
@_status_opt
@click.option("--table", type=click.Choice(["veiculos", "manutencoes"]), help="Only this table.")
@click.option("--delimiter", type=click.Choice([";", ","]), default=";", show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv", "excel-br"]),
    default="csv",
    show_default=True,
    help="excel-br: PATH is a folder; one sheet per table with the table's own columns, "
    "decimal comma and dd/mm/yyyy, to correct and give back to `quarantine retry --from`.",
)
@pass_ctx
def quarantine_export(
    obj: Context,
    path: str,
    batch: str | None,
    reason: str | None,
    status: str,
    table: str | None,
    delimiter: str,
    fmt: str,
) -> None:
    """Write the rows to a CSV to fix in Excel (UTF-8 with BOM; formulas neutralised)."""
    from frota.ops.quarantine import export_excel_br, export_quarantine

    if fmt == "excel-br":
        written = export_excel_br(
            obj.settings, Path(path), batch=batch, reason=reason, status=status, table=table
        )
        if not written:
            out.print(_("no rows to export"))
        for name, n in written.items():
            sheet = escape(str(Path(path) / f"{name}.csv"))
            out.print(_("exported {n} row(s) to {path}").format(n=n, path=sheet))
        return
    if Path(path).is_dir():
        raise click.BadParameter(_("a folder: give a file name"), param_hint="PATH")

    n = export_quarantine(
        obj.settings,
        Path(path),
        batch=batch,
        reason=reason,
        status=status,
        table=table,
        delimiter=delimiter,
    )
    out.print(_("exported {n} row(s) to {path}").format(n=n, path=path))


@quarantine.command("retry")
@_batch_opt
@_reason_opt
@click.option("--id", "ids", type=int, multiple=True, help="Only this row (repeatable).")
@click.option(
    "--from",
    "sheet",
    type=click.Path(dir_okay=False, exists=True),
    help="A sheet `export --format excel-br` wrote, corrected: its rows get its values and "
    "only they are retried.",
)
@pass_ctx
def quarantine_retry(
    obj: Context, batch: str | None, reason: str | None, ids: tuple[int, ...], sheet: str | None
) -> None:
    """Re-validate held rows and load those that pass now (idempotent, under the load lock).

    duplicate_row and conflicting_duplicate rows need a decision: retry them with --reason
    duplicate_row, or release the right copy of a conflict with --id.
    """
    from frota.ops.quarantine import read_corrections, retry_quarantine

    if sheet and (batch or reason or ids):
        raise click.UsageError(
            _("--from takes the rows from the sheet: no --batch, --reason, --id")
        )
    corrections = read_corrections(Path(sheet)) if sheet else ()
    r = retry_quarantine(
        obj.settings,
        batch=batch,
        reason=reason,
        ids=ids,
        corrections=corrections,
        sheet=Path(sheet).name if sheet else "",
    )
    out.print(
        kv_table(
            _("quarantine retry"),
            [
                (_("examined"), r.examined),
                (_("released"), r.released),
                (_("still held"), r.still_held),
                (_("reason changed"), r.reason_changed),
                (_("cannot be retried (no values kept)"), r.not_retryable),
                *(((_("corrected by the sheet"), r.corrected),) if sheet else ()),
                *(((_("in the sheet, no longer held"), r.not_held),) if sheet else ()),
                (
                    _("veiculos inserted / updated / stale"),
                    f"{r.veiculos_inserted} / {r.veiculos_updated} / {r.veiculos_stale}",
                ),
                (_("manutencoes inserted"), r.manutencoes_inserted),
                (_("manutencoes updated"), r.manutencoes_updated),
                (_("manutencoes already present"), r.manutencoes_present),
                (_("manutencoes stale"), r.manutencoes_stale),
                *(
                    ("  " + _("held: {reason}").format(reason=code), n)
                    for code, n in r.by_reason.items()
                ),
            ],
        )
    )


@quarantine.command("dismiss")
@_batch_opt
@_reason_opt
@click.option("--id", "ids", type=int, multiple=True, help="This row (repeatable).")
@click.option("--note", help="Why these rows will never load (required; kept and shown).")
@pass_ctx
def quarantine_dismiss(
    obj: Context, batch: str | None, reason: str | None, ids: tuple[int, ...], note: str | None
) -> None:
    """Set held rows aside for good, with a note: never retried, never released."""
    from frota.ops.quarantine import dismiss_quarantine

    n = dismiss_quarantine(obj.settings, note=note, batch=batch, reason=reason, ids=ids)
    message = _("dismissed {n} row(s); see them with `frota quarantine list --status dismissed`")
    out.print(message.format(n=n))
