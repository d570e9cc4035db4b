"""Legal numbers (SPEC 2): given at validation, per kind and per year of the
document's date, in validation order, starting at 1, without gaps.

A series' format is a Python format string with the fields ``year`` and
``seq`` (``"{year}-{seq:04d}"``). :func:`read_number` reads a number back
through its format, so that the next number follows the highest one already
given, whatever the width or the text around it. A format without ``{year}``
makes one series for every year (numbers would otherwise repeat).

Pure: no I/O, no clock.
"""
from __future__ import annotations

import datetime as dt
import re
import string
from functools import lru_cache
from typing import Optional

from .diagnostics import ActionRefused
from .model import Book

NUMBERED_KINDS = ("invoice", "credit_note", "quote", "work_order")


@lru_cache(maxsize=64)
def _pattern(fmt: str) -> tuple[re.Pattern, bool]:
    """The regular expression that reads ``fmt`` back, and whether it has a year."""
    parts = []
    has_year = False
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        raise ValueError("numbering format %r does not parse: %s" % (fmt, exc))
    seen: set[str] = set()
    for literal, name, spec, _conv in parsed:
        parts.append(re.escape(literal))
        if name is None:
            continue
        if name not in ("year", "seq"):
            raise ValueError("numbering format %r names {%s}; only {year} and {seq} exist"
                             % (fmt, name))
        if name in seen:
            parts.append("(?P=%s)" % name)
            continue
        seen.add(name)
        has_year = has_year or name == "year"
        parts.append(r"(?P<%s>\d+)" % name)
    if "seq" not in seen:
        raise ValueError("numbering format %r has no {seq}" % fmt)
    return re.compile("".join(parts) + r"\Z"), has_year


def check_format(fmt: str) -> Optional[str]:
    """Why ``fmt`` cannot serve as a numbering format, or None when it can."""
    try:
        _pattern(fmt)
        fmt.format(year=2025, seq=1)
    except (ValueError, KeyError, IndexError) as exc:
        return str(exc)
    return None


def read_number(fmt: str, number: str) -> Optional[tuple[Optional[int], int]]:
    """``(year, seq)`` of a number written with ``fmt`` (year None when the
    format has none), or None when the number does not follow the format.

    The number must be exactly what the format gives for those values, so
    ``2025-42`` does not follow ``{year}-{seq:04d}``.
    """
    try:
        pattern, has_year = _pattern(fmt)
    except ValueError:
        return None
    m = pattern.match(number)
    if m is None:
        return None
    seq = int(m.group("seq"))
    year = int(m.group("year")) if has_year else None
    try:
        again = fmt.format(year=year if year is not None else 0, seq=seq)
    except (ValueError, KeyError, IndexError):
        return None
    if again != number:
        return None
    return year, seq


def format_number(fmt: str, year: int, seq: int) -> str:
    return fmt.format(year=year, seq=seq)


def series_format(book: Book, kind: str) -> str:
    if kind not in NUMBERED_KINDS:
        raise ActionRefused("%s documents are not numbered" % kind.replace("_", " "))
    return book.settings.numbering.format_for(kind)


_CACHE = "_facturier_series"


def highest_seq(book: Book, kind: str, year: int) -> int:
    """The highest sequence number given so far in the series of ``kind`` for
    ``year`` (0 when none).

    Remembered on the book while its number of documents does not change
    and kept current by :func:`note_numbers` (the writer calls it after each
    commit), so a session validating 1,000 documents in a 100,000-document
    book does not scan the book 1,000 times.
    """
    fmt = series_format(book, kind)
    cache = book.__dict__.get(_CACHE)
    key = (kind, year, fmt)
    if cache is not None and cache["n"] == len(book.documents) and key in cache:
        return cache[key]
    value = _scan(book, kind, year, fmt)
    if cache is None or cache["n"] != len(book.documents):
        cache = {"n": len(book.documents)}
        book.__dict__[_CACHE] = cache
    cache[key] = value
    return value


def note_numbers(book: Book, documents) -> None:
    """Bring the remembered series in line after ``documents`` were put in
    the book (numbers only grow: validated documents are never deleted)."""
    cache = book.__dict__.get(_CACHE)
    if cache is None:
        return
    for doc in documents:
        if not doc.number:
            continue
        for key in list(cache):
            if key == "n" or key[0] != doc.kind:
                continue
            kind, year, fmt = key
            read = read_number(fmt, doc.number)
            if read is None:
                continue
            number_year = read[0] if read[0] is not None else doc.date.year
            if not _pattern(fmt)[1] or number_year == year:
                cache[key] = max(cache[key], read[1])
    cache["n"] = len(book.documents)


def _scan(book: Book, kind: str, year: int, fmt: str) -> int:
    try:
        _, has_year = _pattern(fmt)
    except ValueError as exc:
        raise ActionRefused(str(exc))
    highest = 0
    for doc in book.documents.values():
        if doc.kind != kind or not doc.number:
            continue
        if has_year and doc.date.year != year and not doc.number.count(str(year)):
            continue
        read = read_number(fmt, doc.number)
        if read is None:
            continue
        number_year, seq = read
        if has_year and (number_year if number_year is not None else doc.date.year) != year:
            continue
        if seq > highest:
            highest = seq
    return highest


def next_number(book: Book, kind: str, date: dt.date) -> str:
    """The number the next validated document of ``kind`` dated ``date`` gets.

    Raises ActionRefused when the kind is not numbered or the format is broken.
    """
    fmt = series_format(book, kind)
    problem = check_format(fmt)
    if problem:
        raise ActionRefused("cannot number the %s: %s (fix `numbering.%s` in facturier.yaml)"
                            % (kind.replace("_", " "), problem, kind))
    unknown = unreadable_numbers(book)
    if "facturier.yaml" in unknown:
        raise ActionRefused("cannot give a number while facturier.yaml has errors: the "
                            "numbering format might not be the one meant; fix it first "
                            "(facturier check)")
    if unknown:
        raise ActionRefused(
            "cannot give a number while %s cannot be read: a number %s could be given "
            "twice; fix %s first (facturier check)" % (
                ", ".join(unknown), "it holds" if len(unknown) == 1 else "they hold",
                "it" if len(unknown) == 1 else "them"))
    return format_number(fmt, date.year, highest_seq(book, kind, date.year) + 1)


def unreadable_numbers(book: Book) -> list[str]:
    """Files whose numbers the book does not know: document files that did
    not load (they may hold a legal number), and facturier.yaml when it has
    errors (a misspelt `numbering:` key would silently give the default
    format). Giving a number past them could repeat one."""
    suspects = sorted({d.path for d in book.diagnostics if d.is_error and (
        d.path.startswith("documents/") or d.path == "facturier.yaml")})
    if not suspects:
        return []
    loaded = {doc.path for doc in book.documents.values()}
    return [path for path in suspects if path not in loaded]
