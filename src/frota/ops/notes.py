"""A person's note on an operator decision (dismissing a row, acknowledging a rejected batch):
required, kept with the decision, and shown with it, together with who took it and when."""

from __future__ import annotations

import getpass
from datetime import UTC, datetime

from frota.errors import UsageError
from frota.i18n import _

MAX_NOTE_CHARS = 2000


def operator() -> str:
    """Who runs the command, as the system names them (kept with the note)."""
    try:
        return getpass.getuser()[:64]
    except (OSError, KeyError):  # no login name (a container without a passwd entry)
        return "unknown"


def checked_note(note: str | None, what: str) -> str:
    """The note, stripped; UsageError when it is missing or too long."""
    text = (note or "").strip()
    if not text:
        raise UsageError(
            _("{what} needs a note saying why").format(what=what),
            hint=_('add --note "…" (it is kept and shown with the decision)'),
        )
    if len(text) > MAX_NOTE_CHARS:
        message = _("the note has {n} characters; at most {most}")
        raise UsageError(message.format(n=len(text), most=MAX_NOTE_CHARS))
    return text


def now() -> datetime:
    """Naive UTC, as the databases keep times."""
    return datetime.now(UTC).replace(tzinfo=None)
