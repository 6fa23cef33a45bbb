"""`frota` commands — schedule: the same commands on cron, systemd or Windows Task Scheduler."""

from __future__ import annotations

import sys
from typing import Any

import click

from frota.cli.app import Context, cli, out, pass_ctx
from frota.errors import ConfigError
from frota.i18n import _

# ---------------------------------------------------------------- schedule


def _check_every(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """A bad --every is a usage error (exit 2), said before anything else runs."""
    from frota.orchestrate.schedule import parse_interval

    try:
        parse_interval(value)
    except ConfigError as exc:
        raise click.BadParameter(str(exc), ctx, param) from None
    return value


def _check_at(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
    from frota.orchestrate.schedule import parse_interval

    if value is not None:
        try:
            parse_interval("1d", value)
        except ConfigError as exc:
            raise click.BadParameter(str(exc), ctx, param) from None
    return value


@cli.command()
@click.option(
    "--role",
    type=click.Choice(["all", "source", "server", "analytics", "report"]),
    default="all",
    show_default=True,
    help="What to run: `frota run --role ROLE`, or `frota report` for report.",
)
@click.option(
    "--every",
    default="15m",
    show_default=True,
    callback=_check_every,
    help="5m, 15m, 1h, 6h, 1d (daily), hourly…",
)
@click.option("--at", "at", callback=_check_at, help="HH:MM for daily schedules [default 02:00].")
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
@click.option(
    "--from",
    "from_dir",
    help="Roles source and all: the runs publish each new export your export job leaves in "
    "this folder (`frota run --from DIR`) instead of generating data.",
)
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
    from_dir: str | None,
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
            _(
                "--format windows needs --frota-bin and --workdir as Windows paths, e.g. "
                "C:\\frota\\.venv\\Scripts\\frota.exe and C:\\frota"
            )
        )
    if uninstall:
        change = sched.uninstall_cron(role)
        out.print(f"crontab: {change.action} (frota {role})")
        return
    config = os.path.abspath(obj._config) if obj._config and fmt != "windows" else obj._config
    kwargs: dict[str, Any] = dict(
        frota_bin=frota_bin or shutil.which("frota") or os.path.abspath(sys.argv[0]),
        workdir=os.path.abspath(workdir)
        if workdir and fmt != "windows"
        else workdir or os.getcwd(),
        config=config,
        at=at,
        secrets_file=secrets_file,
        log_dir=obj.settings.log_dir,
        from_dir=os.path.abspath(from_dir) if from_dir and fmt != "windows" else from_dir,
    )
    try:  # every value validate checks comes from a flag: a bad one is a usage error
        sched.validate(
            role,
            every,
            at,
            frota_bin=kwargs["frota_bin"],
            workdir=kwargs["workdir"],
            config=config,
            secrets_file=secrets_file,
            windows=fmt == "windows",
            from_dir=kwargs["from_dir"],
        )
    except ConfigError as exc:
        raise click.UsageError(str(exc)) from None
    if install:
        if fmt != "cron":
            raise click.UsageError(
                _(
                    "--install works with --format cron; for systemd and Windows write "
                    "the files with --out (docs/deployment.md)"
                )
            )
        change = sched.install_cron(role, every, **kwargs)
        out.print(f"crontab: {change.action}: {change.entry}")
        return
    files = sched.render(role, every, fmt, **kwargs)
    if fmt == "systemd":  # systemd appends to the log file but does not create its folder
        sched.create_log_dir(str(kwargs["workdir"]), obj.settings.log_dir)
    if out_dir:
        for path in sched.write_files(files, out_dir):
            out.print(_("wrote {path}").format(path=path))
        return
    for name, content in files.items():
        click.echo(f"# ---- {name}")
        click.echo(content.replace("\r\n", "\n"))
