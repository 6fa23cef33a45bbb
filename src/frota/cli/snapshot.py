"""`frota` commands — snapshot: the operational state as of a batch, as Parquet files, and
its versions in a DVC repository."""

from __future__ import annotations

from pathlib import Path

import click
from rich.markup import escape

from frota.cli.app import Context, cli, kv_table, out, pass_ctx
from frota.i18n import _


@cli.command()
@click.option(
    "--as-of",
    "as_of",
    metavar="BATCH",
    help="The state right after this batch was loaded [default: the last batch loaded].",
)
@click.option(
    "--out",
    "out_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Folder for veiculos.parquet, manutencoes.parquet and manifest.json.",
)
@click.option(
    "--dvc",
    is_flag=True,
    help="Record it in the folder's DVC repository (made if needed): dvc add, a git commit "
    "tagged with the batch id, dvc push.",
)
@click.option(
    "--remote",
    metavar="URL",
    help="With --dvc: the DVC remote to push to (a folder, s3://…, gdrive://…); kept as the "
    "repository's default remote.",
)
@pass_ctx
def snapshot(obj: Context, as_of: str | None, out_dir: Path, dvc: bool, remote: str | None) -> None:
    """Write the operational state as of a batch as deterministic Parquet files."""
    from frota.ops.versions import take_snapshot

    if remote and not dvc:
        raise click.UsageError(_("--remote goes with --dvc"))
    version = take_snapshot(obj.settings, out_dir, as_of=as_of, dvc=dvc, remote=remote)
    s = version.snapshot
    rows = [
        (_("as of batch"), s.as_of_batch or _("(nothing loaded yet)")),
        (_("batches"), s.batches),
    ]
    file_rows = _("{rows} rows, sha256 {sha256}…")
    rows += [(f.file, file_rows.format(rows=f.rows, sha256=f.sha256[:16])) for f in s.files]
    t = version.tracked
    if t is not None:
        done = _("committed") if t.committed else _("unchanged")
        rows.append(("git", f"{t.commit[:12]} {done}"))
        rows.append(("tag", t.tag or "-"))
        rows.append(("dvc push", t.pushed_to or _("no remote: not pushed")))
    out.print(kv_table(_("snapshot {folder}").format(folder=escape(str(s.out_dir))), rows))
