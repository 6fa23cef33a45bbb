"""The CLI in the user's language (frota.i18n): help texts, click's own words, the error lines.

Help texts are the commands' docstrings and the options' `help=`: click reads them at import,
before the language is known. So they stay plain text in the code, `localize` translates the
command tree whenever a language is activated (from the msgids it keeps), and the Babel
extractor (frota.cli.extract) collects exactly what `localize` looks up. Click marks its own
words (Usage:, Options, its usage errors) with the standard library's global gettext;
`route_click` sends them through frota's catalog, which translates the ones listed in
CLICK_MESSAGES.
"""

from __future__ import annotations

import gettext as stdlib_gettext
import inspect
import sys
from collections.abc import Iterator
from typing import Any

import click

from frota import i18n
from frota.i18n import N_, Nn_

# The words of click's that a user meets in help pages and usage errors (click's own msgids,
# byte for byte: tests/test_i18n.py checks they are still in click's source).
HELP_OPTION = N_("Show this message and exit.")
CLICK_MESSAGES = (
    N_("Usage:"),
    N_("Options"),
    N_("Commands"),
    HELP_OPTION,
    N_("Show the version and exit."),
    N_("%(prog)s, version %(version)s"),
    N_("default: {default}"),
    N_("required"),
    N_("Aborted!"),
    N_("Error: {message}"),
    N_("Try '{command} {option}' for help."),
    N_("Missing command."),
    N_("No such command {name!r}."),
    N_("No such option {name!r}."),
    N_("Missing argument"),
    N_("Missing option"),
    N_("Invalid value for {param_hint}: {message}"),
    N_("Invalid value: {message}"),
    N_("Option {name!r} does not take a value."),
    N_("{value!r} is not a valid {number_type}."),
    N_("{value} is not in the range {range}."),
    N_("{name} {filename!r} does not exist."),
    N_("file"),
    N_("directory"),
    N_("path"),
)
CLICK_PLURALS = (
    Nn_("{value!r} is not {choice}.", "{value!r} is not one of {choices}."),
    Nn_("Option {name!r} requires an argument.", "Option {name!r} requires {nargs} arguments."),
    Nn_("Got unexpected extra argument ({args})", "Got unexpected extra arguments ({args})"),
    Nn_("Did you mean {possibility}?", "(Did you mean one of: {possibilities}?)"),
    Nn_(
        "{value!r} does not match the format {format}.",
        "{value!r} does not match the formats {formats}.",
    ),
)


def route_click() -> None:
    """Send click's gettext calls through frota's active catalog (once, at import)."""
    for name, module in list(sys.modules.items()):
        if name != "click" and not name.startswith("click."):
            continue
        if getattr(module, "_", None) is stdlib_gettext.gettext:
            module._ = i18n.gettext  # type: ignore[attr-defined]
        if getattr(module, "ngettext", None) is stdlib_gettext.ngettext:
            module.ngettext = i18n.ngettext  # type: ignore[attr-defined]


# ---------------------------------------------------------------- help texts


def help_fields(command: click.Command) -> Iterator[tuple[Any, str]]:
    """(object, attribute) of every help text under `command`, itself included."""
    for attr in ("help", "short_help", "epilog"):
        yield command, attr
    for param in command.params:
        if isinstance(param, click.Option):
            yield param, "help"
    help_option = getattr(command, "_help_option", None)  # click ≥ 8.1.8 builds it once,
    if help_option is not None:  # in the language active then: its msgid is click's own
        help_option.__dict__.setdefault("_frota_msgids", {"help": HELP_OPTION})
        yield help_option, "help"
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            yield from help_fields(sub)


def msgid(obj: Any, attr: str) -> str | None:
    """The English text of a help field, kept the first time it is seen."""
    kept: dict[str, str | None] = obj.__dict__.setdefault("_frota_msgids", {})
    if attr not in kept:
        value = getattr(obj, attr)
        kept[attr] = inspect.cleandoc(value) if value else None
    return kept[attr]


def localize(command: click.Command) -> None:
    """Put every help text under `command` in the active language."""
    for obj, attr in help_fields(command):
        text = msgid(obj, attr)
        if text:
            setattr(obj, attr, i18n.gettext(text))
