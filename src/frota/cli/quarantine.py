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
from frota.contract.validate import REASONS

# ---------------------------------------------------------------- quarantine


@cli.group()
def quarantine() -> None:
    """Rows the loader held back: list them, export them to fix, retry them."""


_batch_opt = click.option("--batch", help="Only rows of this batch id.")
_reason_opt = click.option(
    "--reason", type=click.Choice(list(REASONS)), help="Only rows with this reason code."
)
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
    from frota.ops.quarantine import list_quarantine

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
    if out.width >= 120:
        out.print(rows)
    else:
        _print_rows_narrow(listing.rows)
    if listing.total > len(listing.rows):
        out.print(f"showing {len(listing.rows)} of {listing.total}; see --limit or export them")


def _print_rows_narrow(held: Sequence[Any]) -> None:
    """One block per row, for terminals too narrow for seven columns (an SSH session): the
    batch id, file:line and reason whole; detail and raw text wrap instead of being cut."""
    for r in held:
        where = f"{r.file}:{r.line}" + (f", column {r.column_name}" if r.column_name else "")
        out.print(f"[bold]#{r.id}[/bold] {escape(r.reason)}: {escape(where)}")
        out.print(f"  batch {escape(r.batch_id)}")
        if r.detail:
            out.print(f"  {escape(r.detail)}", soft_wrap=False)
        if r.raw:
            raw = r.raw if len(r.raw) <= 200 else r.raw[:200] + "…"
            out.print(f"  raw: {escape(raw)}", soft_wrap=False)


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
    from frota.ops.quarantine import export_quarantine

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
    from frota.ops.quarantine import retry_quarantine

    r = retry_quarantine(obj.settings, batch=batch, reason=reason, ids=ids)
    out.print(
        kv_table(
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
