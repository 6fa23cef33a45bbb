"""The `frota` group, its global options, and what every command shares."""

from __future__ import annotations

import shutil
from typing import Any

import click
from rich.console import Console
from rich.table import Table as RichTable

from frota import __version__, i18n
from frota.cli.locale import localize
from frota.config import Settings, load_settings
from frota.errors import EXIT_CODES, ConfigError, FrotaError
from frota.observe.log import new_run_id, setup_logging

out = Console(highlight=False, soft_wrap=True)


def _fit_output() -> None:
    """A terminal's own width (rich follows it); when piped, COLUMNS where set, else 160 (a
    log file, cron's mail). Read at each command, not at import."""
    if not out.is_terminal:
        out.width = shutil.get_terminal_size((160, 24)).columns


class Context:
    """What every command gets: settings (lazily loaded) and the run id."""

    def __init__(
        self, config: str | None, flags: dict[str, Any], verbose: bool, quiet: bool = False
    ) -> None:
        self._config, self._flags, self.verbose, self.quiet = config, flags, verbose, quiet
        self.run_id = new_run_id()
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(self._config, **self._flags)
            setup_logging(
                self.run_id,
                verbose=self.verbose,
                quiet=self.quiet,
                secrets_=self._settings.secret_values(),
            )
        return self._settings


pass_ctx = click.make_pass_decorator(Context)


@click.group(
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog="\b\nExit codes:\n" + "\n".join(f"  {n}  {text}" for n, text in EXIT_CODES.items()),
)
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
    f"[env FROTA_LANDING; default {Settings.landing}].",
)
@click.option(
    "--database",
    help=f"Operational database URL [env FROTA_DATABASE; default {Settings.database}].",
)
@click.option(
    "--warehouse",
    help=f"Warehouse URL [env FROTA_WAREHOUSE; default {Settings.warehouse}].",
)
@click.option(
    "--source",
    help=f"This machine's name in batch ids [env FROTA_SOURCE; default {Settings.source}].",
)
@click.option(
    "--outbox",
    help=f"Where generate writes and publish reads [env FROTA_OUTBOX; default {Settings.outbox}].",
)
@click.option(
    "--lang",
    "language",
    is_eager=True,  # before --help, when given first: `frota --lang pt-BR --help`
    callback=lambda ctx, param, value: _check_language(value),
    help="Language of messages and help: en, pt-BR [env FROTA_LANGUAGE; default: from LANG].",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logging; tracebacks on internal errors.")
@click.option("-q", "--quiet", is_flag=True, help="Only warnings and errors; no progress bars.")
@click.pass_context
def cli(ctx: click.Context, config: str | None, verbose: bool, quiet: bool, **flags: Any) -> None:
    """frota: fleet data from source machines, through a landing area, exactly once into the
    operational database, then into an analytics warehouse.

    Flags beat FROTA_* environment variables, which beat frota.toml, which beats defaults.
    These options may also follow the command: frota status --database URL.
    """
    _fit_output()
    ctx.obj = Context(config, flags, verbose, quiet)
    use_language(config, flags.get("language"))


def use_language(config: str | None = None, flag: str | None = None) -> None:
    """Speak the `language` setting (--lang, FROTA_LANGUAGE, frota.toml; else the locale) and
    put the help texts in it. A configuration that cannot be read here is reported by the
    command that needs it, in the locale's language."""
    try:
        setting = flag or load_settings(config).language
    except FrotaError:
        setting = ""
    try:
        i18n.activate(setting)
    except i18n.UnknownLanguage as exc:
        raise ConfigError(str(exc), hint=exc.hint) from None
    localize(cli)


def _check_language(value: str | None) -> str | None:
    """An unknown --lang is a usage error (exit 2); a known one applies at once."""
    if value:
        try:
            i18n.normalise(value)
        except i18n.UnknownLanguage as exc:
            raise click.BadParameter(str(ConfigError(str(exc), hint=exc.hint))) from None
        i18n.activate(value)
        localize(cli)
    return value


def kv_table(title: str, rows: list[tuple[str, Any]]) -> RichTable:
    table = RichTable(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for key, value in rows:
        table.add_row(key, str(value))
    return table


def _after_the_command(ctx: click.Context, param: click.Parameter, value: Any) -> None:
    """A global option given after the command name (`frota status --database X`): the same
    as before it, and it wins."""
    if value is None or value is False or param.name is None:
        return
    obj = ctx.find_object(Context)
    if obj is None:  # --help before any group callback: nothing to set
        return
    if param.name in ("verbose", "quiet"):
        setattr(obj, param.name, True)
    elif param.name == "language":
        _check_language(value)  # speak it from here on
        obj._flags[param.name] = value
    elif param.name == "config":
        obj._config = value
    else:
        obj._flags[param.name] = value


def accept_global_options_after_commands(
    group: click.Group, options: list[click.Option] | None = None
) -> None:
    """Give every command under `group` the root's options too, hidden from its help (which
    points at `frota --help`), so that they may come after the command's name."""
    if options is None:
        options = [p for p in group.params if isinstance(p, click.Option) and p.name != "version"]
    for command in group.commands.values():
        taken = {opt for param in command.params for opt in param.opts}
        for option in options:
            if taken & set(option.opts):
                continue  # the command's own option of that name wins
            command.params.append(
                click.Option(
                    option.opts,
                    is_flag=option.is_flag,
                    type=None if option.is_flag else option.type,
                    hidden=True,
                    expose_value=False,
                    callback=_after_the_command,
                )
            )
        if isinstance(command, click.Group):
            accept_global_options_after_commands(command, options)
