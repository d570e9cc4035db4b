"""Problems in the book are values, never control flow.

A :class:`Diagnostic` names the file, the line and column (1-based), the field
and what is wrong. ``check`` collects them for every file; the CLI prints them as
``path:line:col: message``. A broken *environment* (git missing, a lock held too
long) is not a diagnostic: it raises :class:`FacturierError` or a subclass.
"""
from __future__ import annotations

from typing import Optional

import msgspec

ERROR = "error"
WARNING = "warning"


class Diagnostic(msgspec.Struct, frozen=True, array_like=True):
    path: str            # relative to the book root, with forward slashes
    line: int            # 1-based; 0 when the problem is about the whole file
    col: int             # 1-based; 0 when unknown
    field: str           # dotted field path ("lines.2.vat"), "" for the whole file
    message: str
    severity: str = ERROR

    def __str__(self) -> str:
        where = self.path
        if self.line:
            where += ":%d" % self.line
            if self.col:
                where += ":%d" % self.col
        prefix = "warning: " if self.severity == WARNING else ""
        return "%s: %s%s" % (where, prefix, self.message)

    def render(self, lang: Optional[str]) -> str:
        """``path:line:col: message`` in ``lang`` (the message read back from
        its English text by engine.i18n.translate when the catalogue knows it)."""
        from .i18n import language, localize, render
        if language(lang) == "en":
            return str(self)
        where = self.path
        if self.line:
            where += ":%d" % self.line
            if self.col:
                where += ":%d" % self.col
        prefix = render("cli.warning", lang) if self.severity == WARNING else ""
        return render("cli.diagnostic", lang, where=where, prefix=prefix,
                      message=localize(self.message, lang))

    @property
    def is_error(self) -> bool:
        return self.severity == ERROR

    def as_json(self) -> dict:
        return {"file": self.path, "line": self.line, "col": self.col, "field": self.field,
                "message": self.message, "severity": self.severity}


class FacturierError(Exception):
    """The environment or an action failed; the message is for a person.

    ``FacturierError(code, **params)``: a key of the catalogue (engine/i18n.py)
    and its parameters, rendered at the face in the person's language
    (``exc.render(lang)``); ``str(exc)`` is the English text. A text that is
    not a catalogue key is kept as it is.

    ``field_name``: the input field it is about, when the code that refuses
    knows it (a dotted path, "lines.1.vat"; a form shows the reason there):
    ``exc.message.field``. A Message given as ``code`` keeps its own.
    """

    def __init__(self, code: str = "", /, *, field_name: Optional[str] = None, **params):
        from .i18n import Message
        if isinstance(code, Message) and not params:
            message = code
        else:
            message = Message(code, **params)
        if field_name is not None:
            message = message.about(field_name)
        self.message = message
        super().__init__(str(self.message))

    @property
    def field_name(self) -> Optional[str]:
        return self.message.field

    def render(self, lang: Optional[str]) -> str:
        return self.message.render(lang)

    def __reduce__(self):
        return (_rebuild_error, (type(self), self.message.code, self.message.params,
                                 self.message.field))


def _rebuild_error(cls, code: str, params: dict, field: Optional[str] = None) -> "FacturierError":
    error = cls(code, **params)
    if field is not None:
        error.message = error.message.about(field)
    return error


class ActionRefused(FacturierError):
    """An action was refused (validated document, dirty file, bad input...):
    ``ActionRefused("refuse.validated", doc=label)``."""


class BookNotFound(FacturierError):
    """The folder is not a facturier book."""
