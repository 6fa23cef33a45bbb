"""Logging: human-readable lines on stderr, and JSON lines in a rotating file in `log_dir`
(`frota.jsonl`, one object per event: time, level, message, run id, step, and what the event
carries: batch id, counts, status). Every line carries the run id; secrets never reach one.

The file is opened by the first recorded step of a process (frota.observe.runs) and by
`frota check`: commands that only read (status, runs, metrics) create no folder.
"""

from __future__ import annotations

import json
import logging
import logging.handlers
import secrets
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from frota.i18n import _
from frota.redact import redact

if TYPE_CHECKING:
    from frota.config import Settings

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


LOG_FILE = "frota.jsonl"
# What a log call may add with `extra=`, kept in its JSON line.
_EXTRAS = ("batch_id", "counts", "status", "problem")
_state: dict[str, Any] = {"run_id": None, "secrets": (), "quiet": False}


def setup_logging(
    run_id: str,
    *,
    verbose: bool = False,
    quiet: bool = False,
    secrets_: tuple[str, ...] = (),
) -> None:
    """Log to stderr with the run id on every line (`quiet`: warnings and errors only)."""
    logger.handlers.clear()
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    _state.update(run_id=run_id, secrets=secrets_, quiet=quiet and not verbose)
    handler = logging.StreamHandler(sys.stderr)
    handler.setLevel(logging.WARNING if quiet and not verbose else logging.NOTSET)
    handler.setFormatter(
        logging.Formatter(
            "%(asctime)s %(levelname)s [run %(run_id)s] %(message)s", "%Y-%m-%dT%H:%M:%S"
        )
    )
    handler.addFilter(_RedactingFilter(run_id, secrets_))
    logger.addHandler(handler)


class JsonLines(logging.Formatter):
    """One JSON object per record: time (UTC, ISO 8601), level, message, run id, step, and the
    record's extras (batch_id, counts, status, problem)."""

    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "message": record.getMessage(),
            "run_id": getattr(record, "run_id", None),
            "step": getattr(record, "step", None),
        }
        body.update({k: getattr(record, k) for k in _EXTRAS if hasattr(record, k)})
        if record.exc_info:
            body["traceback"] = self.formatException(record.exc_info)
        return json.dumps(body, ensure_ascii=False, default=str)


class _JsonFile(logging.handlers.RotatingFileHandler):
    """The rotating JSON-lines file; frota's own, so it can be found and replaced."""


def log_to_file(settings: Settings) -> Path:
    """Add (or move) the JSON-lines log file in the settings' `log_dir` (rotating at
    `log_max_bytes`, keeping `log_backups`); a folder that cannot be created or written is a
    LocalFileError naming it."""
    from frota.errors import LocalFileError

    log_dir, secrets_ = settings.log_dir, settings.secret_values()
    path = Path(log_dir) / LOG_FILE
    current = [h for h in logger.handlers if isinstance(h, _JsonFile)]
    if current and Path(current[0].baseFilename) == path.resolve():
        return path
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handler = _JsonFile(
            path,
            maxBytes=settings.log_max_bytes,
            backupCount=settings.log_backups,
            encoding="utf-8",
        )
    except OSError as exc:
        raise LocalFileError(
            _("log_dir {log_dir} cannot be written: {error}").format(
                log_dir=log_dir, error=exc.strerror or exc
            ),
            hint=_("set log_dir (FROTA_LOG_DIR) to a folder this user can write"),
        ) from None
    for old in current:
        logger.removeHandler(old)
        old.close()
    handler.setFormatter(JsonLines())
    handler.addFilter(_RedactingFilter(_state["run_id"] or new_run_id(), secrets_))
    logger.addHandler(handler)
    if logger.level == logging.NOTSET or logger.level > logging.INFO:
        logger.setLevel(logging.INFO)  # used as a library: the file still gets every event
    return path


def quiet() -> bool:
    """Whether -q asked for warnings and errors only (and no progress bars)."""
    return bool(_state["quiet"])
