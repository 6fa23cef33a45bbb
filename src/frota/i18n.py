"""Messages in the user's language: gettext, domain `frota`, English as the source and default.

The language is the `language` setting (frota.toml, `FROTA_LANGUAGE`, `--lang`) when set,
else the locale, as gettext reads it (`LANGUAGE`, `LC_ALL`, `LC_MESSAGES`, `LANG`:
`LANG=pt_BR.UTF-8` gives Portuguese). Catalogs live in `frota/locale/<ll_CC>/LC_MESSAGES/`:
the `.po` files are the source, the `.mo` files are compiled when the package is built or
installed (setup.py) and by `make i18n`, never committed.

Marking text (CONTRIBUTING.md, "Translating frota"): `_("…")` translates now; `N_("…")` only
marks text that is translated later, where it is shown (text defined at import, before the
language is known); `ngettext(singular, plural, n)` for counts (`Nn_` marks such a pair).
Placeholders are named (`_("{count} batches").format(count=n)`), so a translation may reorder
them. Machine fields (JSON keys, reason codes, exit codes) are never translated.
"""

from __future__ import annotations

import gettext as _gettext
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

DOMAIN = "frota"
LOCALE_DIR = Path(__file__).parent / "locale"
SOURCE_LANGUAGE = "en"

_active: _gettext.NullTranslations = _gettext.NullTranslations()


def available() -> tuple[str, ...]:
    """The languages frota speaks, as `ll_CC` codes: English and every catalog shipped."""
    shipped = sorted(p.parent.parent.name for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LANGUAGE, *shipped)


class UnknownLanguage(ValueError):
    """A language frota has no catalog for. Not a FrotaError: errors.py speaks through this
    module, so this module never imports it; the callers (the CLI, the report) turn it into a
    ConfigError."""

    def __init__(self, message: str, hint: str) -> None:
        super().__init__(message)
        self.hint = hint


def normalise(language: str) -> str:
    """`pt-BR`, `pt_br`, `pt_BR.UTF-8` → `pt_BR`; `en`, `en_US`, `C` → `en`; a language with
    one catalog matches by its first part (`pt` → `pt_BR`). UnknownLanguage when frota does
    not speak it."""
    code = language.strip().split(".")[0].split("@")[0].replace("-", "_")
    if code.upper() in ("C", "POSIX") or code.lower().split("_")[0] == SOURCE_LANGUAGE:
        return SOURCE_LANGUAGE
    known = available()
    for candidate in known:
        if candidate.lower() == code.lower():
            return candidate
    same_language = [c for c in known if c.split("_")[0] == code.lower().split("_")[0]]
    if len(same_language) == 1:
        return same_language[0]
    raise UnknownLanguage(
        f"frota does not speak the language {language!r}",
        "use one of: " + ", ".join(c.replace("_", "-") for c in known),
    )


def activate(language: str = "") -> str:
    """Use `language` (a setting's value; empty: the locale) from now on; return its code."""
    global _active
    if language:
        code = normalise(language)
        _active = (
            _gettext.NullTranslations()
            if code == SOURCE_LANGUAGE
            else _gettext.translation(DOMAIN, LOCALE_DIR, languages=[code], fallback=True)
        )
    else:  # gettext reads LANGUAGE, LC_ALL, LC_MESSAGES and LANG itself
        _active = _gettext.translation(DOMAIN, LOCALE_DIR, fallback=True)
    return current()


@contextmanager
def speaking(language: str) -> Iterator[str]:
    """Messages in `language` inside the block (a page in another language than the command
    line's: the report), the active language again after it."""
    global _active
    before = _active
    try:
        yield activate(language)
    finally:
        _active = before


def current() -> str:
    """The active language's code (`en` when no catalog is in use)."""
    return _active.info().get("language") or SOURCE_LANGUAGE


def gettext(message: str) -> str:
    """`message` in the active language (itself when it has no translation)."""
    return _active.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The singular or plural form for `n`, in the active language."""
    return _active.ngettext(singular, plural, n)


def N_(message: str) -> str:
    """Mark `message` for extraction only: it is translated where it is shown."""
    return message


def Nn_(singular: str, plural: str) -> tuple[str, str]:
    """Mark a singular/plural pair for extraction only (translated with `ngettext`)."""
    return singular, plural


_ = gettext
