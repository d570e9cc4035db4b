"""click's own words (the usage frame, usage errors) in the person's language.

click asks ``gettext`` for each of its messages; this module gives click a
``gettext`` and an ``ngettext`` that answer from the catalogue of
engine/i18n.py (keys ``"click:" + click's English text``) when the command
speaks French, and click's English otherwise. The language is the one of
the running command (engine.cli.common.current_lang) or, before the command
is known (a usage error in the global options), `--lang` as written, else
the locale of the book that --book or $FACTURIER_BOOK names.
"""
from __future__ import annotations

import os
from typing import Callable, Optional, Sequence

_MODULES = ("core", "exceptions", "parser", "types", "formatting", "decorators", "termui")


def _argv_lang(args: Sequence[str]) -> Optional[str]:
    """--lang as written on the command line, else the book's locale."""
    book = os.environ.get("FACTURIER_BOOK") or "."
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(args):
            return args[i + 1]
        if arg.startswith("--lang="):
            return arg.split("=", 1)[1]
        if arg == "--book" and i + 1 < len(args):
            book = args[i + 1]
        elif arg.startswith("--book="):
            book = arg.split("=", 1)[1]
    try:
        from pathlib import Path

        from ..book import load_settings
        return load_settings(Path(book)).locale
    except Exception:           # no book there, or none readable: click's English
        return None


def install(args: Sequence[str]) -> None:
    """Make click speak the command's language from now on."""
    import importlib

    from ..i18n import MESSAGES, language
    from .common import _BEFORE, _CURRENT, current_lang
    found: dict[str, Optional[str]] = {}

    def asked() -> str:
        if "argv" not in found:
            found["argv"] = _argv_lang(args)
        return found["argv"] or "en"

    def lang() -> str:
        return current_lang() if _CURRENT else asked()

    _BEFORE[:] = [asked]

    from . import main

    def gettext(message: str) -> str:
        if getattr(main, "declaring", False) or language(lang()) != "fr":
            return message
        texts = MESSAGES.get("click:" + message)
        return texts["fr"] if texts else message

    def ngettext(singular: str, plural: str, n: int) -> str:
        return gettext(singular if n == 1 else plural)

    for name in _MODULES:
        module = importlib.import_module("click." + name)
        patch(module, "_", gettext)
        patch(module, "ngettext", ngettext)
    _path_words(main, gettext)
    # and the commands of the modules loaded later (engine/cli/__init__.py)
    main.on_load[:] = [lambda group: _path_words(group, gettext)]


class _Word(str):
    """A click.Path's name ("file"), made when the command was declared, put
    in the person's language when click shows it ("{name} ... does not exist")."""
    gettext: Callable[[str], str]

    def title(self) -> str:
        return self.gettext(str(self)).title()


def _path_words(command, gettext: Callable[[str], str]) -> None:
    import click
    for param in command.params:
        if isinstance(param.type, click.Path) and not isinstance(param.type.name, _Word):
            word = _Word(param.type.name)
            word.gettext = gettext
            param.type.name = word
    for sub in getattr(command, "commands", {}).values():
        _path_words(sub, gettext)


def patch(module, name: str, function: Callable) -> None:
    if hasattr(module, name):
        setattr(module, name, function)
