"""What every command shares: the context (book, as_of, author, language) and
the three output formats. Data goes to stdout, messages for people to stderr.

This is the only place below the entry point that reads the clock: ``as_of``
defaults to today in the book's timezone and is then passed down explicitly.
"""
from __future__ import annotations

import datetime as dt
import os
import sys
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import AbstractSet, Any, Iterable, NoReturn, Optional, Sequence

import click

from ..diagnostics import FacturierError

FORMATS = ("table", "json", "csv")


@dataclass
class Context:
    book_path: Path
    as_of_option: Optional[dt.date] = None
    author: Optional[str] = None
    lang_option: Optional[str] = None
    _book: Any = field(default=None, repr=False)
    _settings: Any = field(default=None, repr=False)

    @property
    def book(self):
        """The whole book (cached parse, see engine/book.py)."""
        if self._book is None:
            from ..book import load_book
            self._book = load_book(self.book_path)
            self._settings = self._book.settings
        return self._book

    def reload(self):
        self._book = None
        return self.book

    @property
    def settings(self):
        if self._settings is None:
            from ..book import load_settings
            self._settings = load_settings(self.book_path)
        return self._settings

    @property
    def as_of(self) -> dt.date:
        if self.as_of_option is not None:
            return self.as_of_option
        return today_in(self.settings.timezone)

    def __post_init__(self) -> None:
        _CURRENT[:] = [self]

    @property
    def lang(self) -> str:
        return self.lang_option or self.settings.locale or "en"

    def t(self, code: str, **params) -> str:
        """The catalogue message ``code`` (engine/i18n.py) in the person's language."""
        from ..i18n import render
        return render(code, self.lang, **params)


_CURRENT: list = []         # the command's context, for the entry point's messages
_BEFORE: list = []          # before it exists: the language the command line asks (click_lang)


def current_lang() -> str:
    """The language of the running command's messages (--lang, else the
    book's locale, else English when even the settings cannot be read)."""
    for ctx in _CURRENT:
        try:
            return ctx.lang
        except Exception:
            return ctx.lang_option or "en"
    for ask in _BEFORE:
        return ask()
    return "en"


def words(code: str, **params) -> str:
    """The catalogue message ``code`` in the running command's language."""
    from ..i18n import render
    return render(code, current_lang(), **params)


def today_in(timezone: str) -> dt.date:
    """Today's date in an IANA zone (UTC when the zone is unknown)."""
    try:
        from zoneinfo import ZoneInfo
        return dt.datetime.now(ZoneInfo(timezone)).date()
    except Exception:
        return dt.datetime.now(dt.timezone.utc).date()


def now_in(timezone: str, as_of: dt.date) -> str:
    """engine.api's ``now_in`` (the faces' clock helper lives with the engine
    API both faces call), imported when a command needs the time: `status`
    and `--version` do not load the engine's actions."""
    from ..api import now_in as engine_now_in
    return engine_now_in(timezone, as_of)


pass_ctx = click.make_pass_decorator(Context)


def format_option(func):
    return click.option("--format", "fmt", type=click.Choice(FORMATS), default="table",
                        show_default=True, help="Output format.")(func)


def diagnostic_text(d, lang: str) -> str:
    """``path:line:col: message`` (Diagnostic.__str__) in the person's language
    for the messages the catalogue knows (engine.i18n.translate)."""
    return d.render(lang)


def say(message: str) -> None:
    """A message for a person: stderr, never mixed with data."""
    click.echo(message, err=True)


def fail(message: str, code: int = 1) -> NoReturn:
    """Stop the command with a message and an exit status."""
    raise CommandFailed(message, code)


class CommandFailed(FacturierError):
    def __init__(self, message: str, code: int = 1):
        super().__init__(message)
        self.code = code


def to_plain(value: Any) -> Any:
    """JSON-ready values: Decimal and dates as strings."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: to_plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_plain(v) for v in value]
    return value


def emit_json(data: Any) -> None:
    import json
    sys.stdout.write(json.dumps(to_plain(data), ensure_ascii=False, indent=1))
    sys.stdout.write("\n")


def emit_rows(rows: Sequence[dict], columns: Sequence[tuple[str, str]], fmt: str,
              *, table_rows: Optional[Sequence[Sequence[str]]] = None,
              right: Iterable[str] = (), keep: Iterable[str] = ()) -> None:
    """Print ``rows`` (dicts) as json, csv or a table.

    ``columns`` are (key, heading) pairs for the table and csv. ``table_rows``
    may give already formatted cells for the table (localized money...).
    ``keep``: the keys of the columns a table never shortens (ids, numbers,
    dates, action names); the others are shortened first.
    """
    if fmt == "json":
        emit_json(list(rows))
        return
    if fmt == "csv":
        import csv
        import io
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow([key for key, _ in columns])
        for row in rows:
            writer.writerow(["" if row.get(k) is None else to_plain(row.get(k))
                             for k, _ in columns])
        sys.stdout.write(out.getvalue())
        return
    cells = table_rows if table_rows is not None else [
        ["" if row.get(k) is None else str(to_plain(row.get(k))) for k, _ in columns]
        for row in rows]
    keys = [k for k, _ in columns]
    sys.stdout.write(render_table([h for _, h in columns], cells,
                                  right={i for i, k in enumerate(keys) if k in set(right)},
                                  keep={i for i, k in enumerate(keys) if k in set(keep)}))


def table_width() -> Optional[int]:
    """How wide a table may be: the terminal's width; when stdout is not a
    terminal, ``$COLUMNS`` when it is set, else no limit (piped output keeps
    every cell whole, so that grep finds what the book holds)."""
    if sys.stdout.isatty():
        import shutil
        return shutil.get_terminal_size((80, 24)).columns
    try:
        columns = int(os.environ.get("COLUMNS", "") or 0)
    except ValueError:
        columns = 0
    return columns if columns > 0 else None


MIN_WIDTH = 6       # a shortened column keeps at least this many characters


def render_table(headings: Sequence[str], cells: Sequence[Sequence[str]],
                 right: AbstractSet[int] = frozenset(), width: Optional[int] = None,
                 keep: AbstractSet[int] = frozenset()) -> str:
    """A plain text table, one line per row (a line break inside a cell is
    shown as a space: a row never wraps), that fits ``width`` columns
    (:func:`table_width` when None): the widest of the columns not in ``keep``
    is cut with an ellipsis, one character at a time, down to MIN_WIDTH. The
    columns in ``keep`` (ids, numbers, dates) are never cut: when they alone
    are wider than ``width``, the line is longer."""
    if width is None:
        width = table_width()
    n = len(headings)
    cells = [[" ".join(c.split()) if ("\n" in c or "\r" in c or "\t" in c) else c for c in row]
             for row in cells]
    widths = [len(h) for h in headings]
    for row in cells:
        for i, cell in enumerate(row):
            if len(cell) > widths[i]:
                widths[i] = len(cell)
    natural = list(widths)
    if width is not None:
        budget = width - 2 * (n - 1)
        excess = sum(widths) - budget
        while excess > 0:
            shrinkable = [j for j in range(n) if j not in keep and widths[j] > MIN_WIDTH]
            if not shrinkable:
                break
            i = max(shrinkable, key=lambda j: widths[j])
            widths[i] -= 1
            excess -= 1
    for i in keep:
        widths[i] = natural[i]

    def fit(text: str, w: int, i: int) -> str:
        if len(text) > w:
            text = text[: max(w - 1, 0)] + "…"
        return text.rjust(w) if i in right else text.ljust(w)

    lines = ["  ".join(fit(h, widths[i], i) for i, h in enumerate(headings)).rstrip()]
    lines.append("  ".join("-" * w for w in widths))
    for row in cells:
        lines.append("  ".join(fit(c, widths[i], i) for i, c in enumerate(row)).rstrip())
    return "\n".join(lines) + "\n"


def read_text(source, name: str) -> str:
    """The text of a file a person gives (an open binary file or a path), or
    a clear failure when it is not UTF-8 (never an internal error)."""
    try:
        data = source.read() if hasattr(source, "read") else Path(source).read_bytes()
    except OSError as exc:
        fail(words("cli.cannot_read", name=name, reason=exc.strerror or exc))
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        fail(words("cli.not_utf8", name=name, line=line, byte=exc.start + 1))


def parse_decimal(text: str, what: str, example: str = "120.50") -> Decimal:
    """An amount, quantity or rate given on the command line, read as the book
    reads its files (engine.loader.read_decimal: digits with an optional
    point; no exponent, '_', hex, nan or inf); a usage error (exit 2)
    otherwise. What the value may be (its sign, size, decimals) is the
    action's rule, refused with exit 1."""
    from ..loader import NOT_DECIMAL, read_decimal
    value, problem = read_decimal(text)
    if problem == NOT_DECIMAL:
        raise click.BadParameter(words("cli.not_number", text=text, example=example),
                                 param_hint=what)
    return value if value is not None else Decimal(text.strip())


def parse_date(text: str, what: str = "date") -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter(words("cli.not_date", text=text), param_hint=what) from None


class DateType(click.ParamType):
    name = "YYYY-MM-DD"

    def convert(self, value, param, ctx):
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            self.fail(words("cli.not_date", text=value), param, ctx)


DATE = DateType()
