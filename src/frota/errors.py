"""frota's exceptions: one root, each carrying the exit code the CLI maps it to.

Exit codes (documented in README.md and docs/cli.md):

====  ==========================================================
0     success (including "nothing to do")
1     unexpected internal error (a bug: please report it)
2     usage error (bad flag or argument)
3     bad input: a file or batch was rejected (names file, line, column)
4     lock held: another loader is running against this database
5     database unreachable (after the retry budget)
6     landing area unreachable or unusable
7     configuration error (bad frota.toml, unknown URL scheme, unsafe secrets file)
====  ==========================================================
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_BAD_INPUT = 3
EXIT_LOCK_HELD = 4
EXIT_DB_UNREACHABLE = 5
EXIT_LANDING = 6
EXIT_CONFIG = 7


class FrotaError(Exception):
    """Root of every error frota raises on purpose; `hint` says what to do next."""

    exit_code = EXIT_INTERNAL
    transient = False

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ConfigError(FrotaError):
    """The configuration cannot be used as given."""

    exit_code = EXIT_CONFIG


class BadInputError(FrotaError):
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
                f"line {line}" if line is not None else None,
                f"column {column!r}" if column else None,
            )
            if part
        )
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.file = file
        self.line = line
        self.column = column


class BatchRejected(BadInputError):
    """A whole batch was refused (bad manifest, checksum mismatch, bad header…)."""

    def __init__(self, batch_id: str, error: BadInputError) -> None:
        FrotaError.__init__(self, f"batch {batch_id} rejected: {error.message}", hint=error.hint)
        self.batch_id = batch_id
        self.file, self.line, self.column = error.file, error.line, error.column


class LockHeld(FrotaError):
    """Another loader holds this database's load lock."""

    exit_code = EXIT_LOCK_HELD


class DatabaseUnreachable(FrotaError):
    """The database did not answer (after retries, where they apply)."""

    exit_code = EXIT_DB_UNREACHABLE
    transient = True


class LandingError(FrotaError):
    """The landing area cannot be read or written."""

    exit_code = EXIT_LANDING


class MissingExtra(ConfigError):
    """An optional driver is not installed."""

    def __init__(self, module: str, extra: str) -> None:
        super().__init__(
            f"the Python package {module!r} is not installed",
            hint=f"pip install 'frota[{extra}]'",
        )
