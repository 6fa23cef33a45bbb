"""The Babel extractor for src/frota/cli/*.py (pyproject.toml, [tool.babel]; `make i18n`):
the `_()`/`N_()` calls, as Babel's Python extractor finds them, then the help texts of the
commands the file defines, exactly as frota.cli.locale translates them."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click

from frota.cli import cli
from frota.cli.locale import help_fields, msgid


def help_texts(command: click.Command) -> Iterator[tuple[click.Command, str]]:
    """(command that defines it, English text) of every help text under `command`."""
    owner = command
    for obj, attr in help_fields(command):
        if isinstance(obj, click.Command):
            owner = obj
        text = msgid(obj, attr)
        if text:
            yield owner, text


def extract_help(
    fileobj: Any, keywords: Any, comment_tags: Any, options: Any
) -> Iterator[tuple[Any, ...]]:
    """Babel's extractor signature: (line, function, message, comments) per message."""
    from babel.messages.extract import extract_python

    yield from extract_python(fileobj, keywords, comment_tags, options)
    path = Path(getattr(fileobj, "name", "")).resolve()
    for command, text in help_texts(cli):
        if command.callback is None:
            continue
        code = inspect.unwrap(command.callback).__code__  # under click's pass decorators
        if Path(code.co_filename).resolve() == path:
            yield code.co_firstlineno, None, text, []
