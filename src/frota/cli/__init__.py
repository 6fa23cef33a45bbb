"""The `frota` command line: parse options, call one library function, print, map errors to
exit codes (see frota.errors). No SQL, file I/O or retries here.

One module per group of commands (`pipeline`, `status`, `observe`, `schedule`,
`quarantine`); `app` holds the group and its global options; `main` is the console script.
"""

from __future__ import annotations

import sys
import traceback

import click

from frota.cli import (  # noqa: F401  (they register)
    batch,
    observe,
    pipeline,
    quarantine,
    report,
    schedule,
    snapshot,
    status,
)
from frota.cli.app import accept_global_options_after_commands, cli, use_language
from frota.cli.locale import route_click
from frota.errors import EXIT_INTERNAL, EXIT_OK, EXIT_USAGE, FrotaError, LocalFileError
from frota.i18n import _
from frota.observe.log import logger
from frota.redact import redact

__all__ = ["cli", "main"]

route_click()
accept_global_options_after_commands(cli)

# ---------------------------------------------------------------- entry point


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the CLI, turning every error into a message and an exit code."""
    try:
        use_language()  # the group applies --config and --lang once it has parsed them
        try:
            code = cli.main(args=argv, prog_name="frota", standalone_mode=False)
        except OSError as exc:  # the system refused a file operation: not a bug of frota's
            raise _local_file_error(exc) from exc
        sys.exit(code if isinstance(code, int) else EXIT_OK)
    except FrotaError as exc:
        click.echo(_("error: {message}").format(message=redact(exc.message)), err=True)
        if exc.hint:
            click.echo("  " + _("hint: {hint}").format(hint=redact(exc.hint)), err=True)
        logger.debug("details", exc_info=True)
        sys.exit(exc.exit_code)
    except click.exceptions.Abort:
        click.echo(_("aborted"), err=True)
        sys.exit(EXIT_USAGE)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo(_("interrupted: nothing half-written was committed"), err=True)
        sys.exit(130)
    except Exception as exc:  # the boundary: a bug, reported without leaking secrets
        error = redact(f"{type(exc).__name__}: {exc}")
        click.echo(_("internal error: {error}").format(error=error), err=True)
        if "-v" in (argv or sys.argv) or "--verbose" in (argv or sys.argv):
            click.echo(redact(traceback.format_exc()), err=True)
        else:
            click.echo(_("run again with -v for details; please report it"), err=True)
        sys.exit(EXIT_INTERNAL)


def _local_file_error(exc: OSError) -> LocalFileError:
    error = exc.strerror or exc
    return LocalFileError(
        _("cannot use {path}: {error}").format(path=exc.filename, error=error)
        if exc.filename
        else _("cannot use: {error}").format(error=error),
        hint=_(
            "check that the path exists, that this user may read and write it, "
            "and that the disk has space"
        ),
    )
