"""Logging: every line carries the run id; secrets never reach a log line."""

from __future__ import annotations

import logging
import secrets
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from frota.redact import redact

logger = logging.getLogger("frota")
# (run id, step) of the step being recorded (frota.observe.runs): log lines carry its id.
current_run: ContextVar[tuple[str, str] | None] = ContextVar("frota_log_run", default=None)


def new_run_id() -> str:
    """A short unique id tying together every log line and record of one run."""
    return secrets.token_hex(6)


class _RedactingFilter(logging.Filter):
    def __init__(self, run_id: str, secrets_: tuple[str, ...]) -> None:
        super().__init__()
        self.run_id = run_id
        self.secrets = secrets_

    def filter(self, record: logging.LogRecord) -> bool:
        run = current_run.get()
        record.run_id, record.step = run if run else (self.run_id, None)
        message = redact(record.getMessage(), self.secrets)
        record.msg, record.args = message, None
        return True


def setup_logging(
    run_id: str,
    *,
    verbose: bool = False,
    log_file: Path | None = None,
    secrets_: tuple[str, ...] = (),
) -> None:
    """Log to stderr (and a file, if given) with the run id on every line."""
    logger.handlers.clear()
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    fmt = logging.Formatter(
        "%(asctime)s %(levelname)s [run %(run_id)s] %(message)s", "%Y-%m-%dT%H:%M:%S"
    )
    handlers: list[logging.Handler] = [logging.StreamHandler(sys.stderr)]
    if log_file is not None:
        log_file.parent.mkdir(parents=True, exist_ok=True)
        handlers.append(logging.FileHandler(log_file, encoding="utf-8"))
    for handler in handlers:
        handler.setFormatter(fmt)
        handler.addFilter(_RedactingFilter(run_id, secrets_))
        logger.addHandler(handler)


@contextmanager
def progress_bar(description: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A progress callback: a bar on a terminal, a log line every ~10% otherwise."""
    if sys.stderr.isatty():
        from rich.progress import Progress

        with Progress(transient=True) as bar:
            task = bar.add_task(description, total=total)
            yield lambda done: bar.update(task, completed=done)
        return
    step = max((total or 0) // 10, 100_000)
    state = {"next": step}

    def report(done: int) -> None:
        if done >= state["next"]:
            logger.info(
                "%s: %s rows%s", description, f"{done:,}", f" of {total:,}" if total else ""
            )
            state["next"] = done + step

    yield report
