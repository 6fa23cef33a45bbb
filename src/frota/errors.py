"""frota's exceptions: one root, two kinds, each error carrying the exit code the CLI maps it to.

Every error frota raises on purpose is either a `TransientError` (the same call may succeed
later without anyone changing anything: the database is restarting, another loader holds the
lock) or a `TerminalError` (it fails the same way until someone fixes the data, the
configuration or the environment). Schedulers retry the first kind and fail at once on the
second (as dlt does); the loader's own in-run retry is narrower (see `frota.load.retry`).

Exit codes: `EXIT_CODES` below (README.md and docs/cli.md list them; a test keeps them in
step).
"""

from __future__ import annotations

from frota.i18n import _

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_LOCK_HELD = 4
EXIT_DB_UNREACHABLE = 5
EXIT_LANDING = 6
EXIT_CONFIG = 7
EXIT_WAREHOUSE = 8
EXIT_LOCAL_FILE = 9

#: Every exit code and what it means, as the docs say it.
EXIT_CODES: dict[int, str] = {
    EXIT_OK: "success, including nothing to do",
    EXIT_INTERNAL: "internal error: a bug (run again with -v and report it)",
    EXIT_USAGE: "usage error: an unknown command, a bad flag or flag value",
    EXIT_BAD_INPUT: "bad input: a file or batch was rejected (names file, line, column)",
    EXIT_LOCK_HELD: "lock held: another loader (or warehouse run) is running against it",
    EXIT_DB_UNREACHABLE: "database unreachable, or the connection was refused for good",
    EXIT_LANDING: "landing area unreachable or unusable",
    EXIT_CONFIG: "configuration error (frota.toml, environment, URLs, secrets file, schema)",
    EXIT_WAREHOUSE: "warehouse build failed (names the failing dbt model or test)",
    EXIT_LOCAL_FILE: "a local file or folder cannot be read or written",
}


class FrotaError(Exception):
    """Root of every error frota raises on purpose; `hint` says what to do next.

    Never raised itself: raise a `TransientError` or `TerminalError` subclass, which says
    whether trying again later can help and which exit code the CLI returns.
    """

    exit_code = EXIT_INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if not self.hint:
            return self.message
        return f"{self.message}\n  " + _("hint: {hint}").format(hint=self.hint)


class TransientError(FrotaError):
    """Trying the same call again later may succeed without anyone changing anything."""


class TerminalError(FrotaError):
    """Fails the same way on every try until the data, configuration or environment changes."""


class ConfigError(TerminalError):
    """The configuration cannot be used as given."""

    exit_code = EXIT_CONFIG


class BadInputError(TerminalError):
    """A file or a batch breaks the contract; nothing of it is committed."""

    exit_code = EXIT_BAD_INPUT

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ", ".join(
            part
            for part in (
                file,
                _("line {line}").format(line=line) if line is not None else None,
                _("column {column!r}").format(column=column) if column else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.what = message  # the message without the place
        self.file = file
        self.line = line
        self.column = column


class BatchRejected(BadInputError):
    """A whole batch was refused (bad manifest, checksum mismatch, bad header…)."""

    def __init__(self, batch_id: str, error: BadInputError) -> None:
        message = _("batch {batch_id} rejected: {message}")
        FrotaError.__init__(
            self, message.format(batch_id=batch_id, message=error.message), hint=error.hint
        )
        self.batch_id = batch_id
        self.file, self.line, self.column = error.file, error.line, error.column
        self.what = error.what


class UsageError(TerminalError):
    """An operator command cannot do what was asked: an unknown batch, a batch in a state
    the command does not apply to, a missing note."""

    exit_code = EXIT_USAGE


class LockHeld(TransientError):
    """Another run holds the lock (a loader's on its database, a warehouse run's on its
    warehouse): this run changed nothing, and the next one goes ahead."""

    exit_code = EXIT_LOCK_HELD


class LockOfLostSession(LockHeld):
    """The lock is still held by this run's own lost session, which the server has not
    noticed yet: the loader retries it within the run, on a new connection."""


class DatabaseUnreachable(TransientError):
    """The database did not answer (after retries, where they apply).

    Transient as a kind (a scheduler tries again later); whether the loader retries it
    within a run depends on the driver error behind it (bad credentials are not retried).
    """

    exit_code = EXIT_DB_UNREACHABLE


class LandingError(TerminalError):
    """The landing area cannot be read or written."""

    exit_code = EXIT_LANDING


class LocalFileError(TerminalError):
    """A local file or folder cannot be read or written (missing folder, permissions, full
    disk); the CLI raises it for an `OSError` that reaches it."""

    exit_code = EXIT_LOCAL_FILE


class MissingExtra(ConfigError):
    """An optional driver is not installed."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            _("the Python package {module!r} is not installed").format(module=module),
            hint=f"pip install 'frota[{extra}]'",
        )
