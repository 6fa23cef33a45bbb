"""Secrets kept out of text: every log line, error message, display and schedule goes through here.

Imports nothing from frota, so every role (source, server, analytics) can use it without a
cycle. Three things are masked as `***`: the password of a URL (`user:***@host`), the value of
an option whose name says secret (`pass=***`, `"access_token": "***"`), and any secret value
the caller knows (a password from the settings).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
UNPARSEABLE = "<unparseable URL>"

# Words that make a name (an option, an environment variable) a secret's name.
_SECRET_WORDS = r"pass|pwd|token|secret|key|credential|private"
_SECRET_NAME = re.compile(_SECRET_WORDS, re.I)
# scheme://user:password@host -> scheme://user:***@host, anywhere in a text.
_URL_PASSWORD = re.compile(r"(?P<pre>[a-z][a-z0-9+.-]*://[^/\s:@]*:)(?P<pw>[^@\s/]+)(?=@)", re.I)
# `name=value` options (connection strings, rclone specs, stderr) and JSON fields `"name": "…"`.
_SECRET_OPTION = re.compile(
    rf"(?i)\b([\w-]*(?:{_SECRET_WORDS})[\w-]*)"
    r"(\s*=\s*|\"\s*:\s*)(\"[^\"]*\"|'[^']*'|\{[^}]*\}|[^\s,:\"'}&]+)"
)
# A URL that starts a value: its password is cut out whole (`user@host`), for schedules.
_LEADING_URL_PASSWORD = re.compile(r"^([A-Za-z][A-Za-z0-9+.\-]*://[^/@\s:]*):[^/\s]*@")


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """`text` with URL passwords, secret-named options and the given secret values masked."""
    text = _URL_PASSWORD.sub(rf"\g<pre>{MASK}", text)
    text = _SECRET_OPTION.sub(lambda m: f"{m.group(1)}{m.group(2)}{MASK}", text)
    for value in secrets:
        if value:
            text = text.replace(value, MASK)
    return text


def mask_url(url: Any) -> str:
    """A URL fit to show: text or a SQLAlchemy URL, its password and secret options masked.

    Text that does not parse as a URL but holds an `@` (where a password could hide) is not
    shown at all.
    """
    if hasattr(url, "render_as_string"):  # a SQLAlchemy URL
        return redact(url.render_as_string(hide_password=True))
    text = str(url)
    try:
        parts = urlsplit(text)
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        return UNPARSEABLE
    if not (parts.scheme and parts.netloc):
        return UNPARSEABLE if "@" in text else redact(text)
    if parts.password is not None:
        host = parts.netloc.rpartition("@")[2]
        parts = parts._replace(netloc=f"{parts.username or ''}:{MASK}@{host}")
    return redact(urlunsplit(parts))


def is_secret_name(name: str) -> bool:
    """Whether an option or environment variable name says it holds a secret."""
    return _SECRET_NAME.search(name) is not None


def without_url_password(value: str) -> tuple[str, bool]:
    """`value` with the password of a leading URL removed (`user:pw@host` → `user@host`), and
    whether there was one."""
    if not _LEADING_URL_PASSWORD.match(value):
        return value, False
    return _LEADING_URL_PASSWORD.sub(r"\1@", value, count=1), True


def url_secrets(url: str) -> list[str]:
    """The parts of a notification URL (apprise: `tgram://BOTTOKEN/CHAT`,
    `slack://TokenA/TokenB/TokenC`, `json://user:pw@host/hook`) that may be secrets: the URL
    itself, its password, and every user, host, path or query value that looks like a token
    (8+ characters with a digit or mixed case, or 20+). Callers pass them to `redact`."""
    found = [url]
    try:
        parts = urlsplit(url)
        password, user, host = parts.password, parts.username, parts.hostname
    except ValueError:
        return found
    if password and len(password) >= 4:
        found.append(password)
    pieces = [user or "", host or "", *parts.path.split("/")]
    pieces += [value for item in parts.query.split("&") for value in item.split("=")[1:]]
    found += [p for p in pieces if _looks_like_token(p)]
    return found


def _looks_like_token(text: str) -> bool:
    if len(text) < 8 or "." in text:
        return False
    mixed = any(c.isdigit() for c in text) or (text.lower() != text and text.upper() != text)
    return mixed or len(text) >= 20
