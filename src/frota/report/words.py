"""The page's words in the report's language, from frota's gettext catalogs (frota.i18n):
marked `N_("…")` where they are written, translated here for the page's language, which may
differ from the command line's (the report is in Portuguese by default)."""

from __future__ import annotations

import gettext
from collections.abc import Callable

from frota.errors import ConfigError
from frota.i18n import DOMAIN, LOCALE_DIR, UnknownLanguage, normalise

CATALOGS = {"pt-BR": "pt_BR"}  # report language -> catalog (English is the source)
DEFAULT = "pt-BR"  # the people who read it: a Brazilian fleet manager


def report_language(setting: str) -> str:
    """The report's language for the `language` setting: its own when set, else pt-BR
    (ConfigError for a language frota does not speak)."""
    if not setting:
        return DEFAULT
    try:
        code = normalise(setting)
    except UnknownLanguage as exc:
        raise ConfigError(str(exc), hint=exc.hint) from None
    return next((lang for lang, catalog in CATALOGS.items() if catalog == code), "en")


def translator(lang: str) -> Callable[[str], str]:
    """The page's words in `lang` ("pt-BR" or "en")."""
    if lang not in CATALOGS:
        return lambda text: text
    return gettext.translation(
        DOMAIN, LOCALE_DIR, languages=[CATALOGS[lang]], fallback=True
    ).gettext
