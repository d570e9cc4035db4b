"""Legal numbers (SPEC 2): given at validation, per kind and per year of the
document's date, in validation order, starting at 1, without gaps, and in
date order (a number is never dated before the one given before it).

A series' format is a Python format string with the fields ``year`` and
``seq`` (``"{year}-{seq:04d}"``). :func:`read_number` reads a number back
through its format, so that the next number follows the highest one already
given, whatever the width or the text around it. A format without ``{year}``
makes one series for every year (numbers would otherwise repeat).

Choices where the SPEC is silent (docs/architecture.md repeats them):

- *Readable formats* (:func:`format_problem`): the fields are ``{year}`` and
  ``{seq}`` only, without conversion, attribute or index; ``{seq}`` appears once
  and takes no spec, ``d``, or a zero padding ``0N``/``0Nd`` with 1 ≤ N ≤ 12;
  ``{year}`` the same. Any other spec (``{seq:3}`` pads with spaces, ``{seq:x}``
  writes hexadecimal, ``{seq:,}`` groups digits...) cannot be read back as a
  run of digits, so the next number could not follow the last one: the
  settings are in error and no number is given until they are fixed. The
  format is judged by its text alone (never formatted first: ``{seq:99999999999}``
  would ask for a 100 GB string).
- ``{year}`` is read back as exactly four digits (``max(4, N)`` with a padding
  of N), so ``{year}{seq:03d}`` (``2025001``) reads back unambiguously; a number
  that would not read back to its year and sequence (a year before 1000) is
  refused, never given.
- *A changed format.* Numbers of the series and year that do not follow the
  current format were given under an earlier one: they are counted, and the
  series goes on after them (42 numbers under ``{year}-{seq:04d}``, then
  ``F{year}/{seq:05d}`` gives ``F2025/00043``). ``check`` says so once per
  series and year (a warning), and reports as an error a number that does not
  follow the format although a number that does was given before it.

Pure: no I/O, no clock.
"""
from __future__ import annotations

import datetime as dt
import re
import string
from functools import lru_cache
from typing import Any, Optional

from .diagnostics import ActionRefused
from .i18n import Message
from .model import Book

NUMBERED_KINDS = ("invoice", "credit_note", "quote", "work_order")
MAX_WIDTH = 12
_SPEC = re.compile(r"(0?)(\d*)d?\Z")


def _spec_problem(name: str, spec: str) -> Optional[tuple[str, dict]]:
    """(catalogue key, parameters) of why ``{name:spec}`` cannot be read back."""
    m = _SPEC.match(spec)
    field = "{%s:%s}" % (name, spec)
    example = "{%s:04d}" % name
    if m is None:
        return "numbering.spec.not_digits", {"field": field, "example": example}
    zero, digits = m.groups()
    if digits and not zero:
        if len(digits) < 3:
            return "numbering.spec.spaces", {"field": field, "max": MAX_WIDTH, "example": example}
        return "numbering.spec.spaces_width", {"field": field, "digits": digits, "max": MAX_WIDTH,
                                               "example": example}
    if zero and (not digits or len(digits) > 2 or not 1 <= int(digits) <= MAX_WIDTH):
        return "numbering.spec.width", {"field": field, "digits": digits or "0", "max": MAX_WIDTH}
    return None


def _width(spec: str) -> int:
    """The zero padding of a readable spec (0 when none)."""
    m = _SPEC.match(spec)
    digits = m.group(2) if m is not None else ""
    return int(digits) if digits else 0


def format_problem(fmt: str) -> Optional[str]:
    """Why ``fmt`` cannot serve as a numbering format (a sentence for a
    person: an engine.i18n.Message, its English text kept by the loader and
    read back in the person's language), or None when numbers written with
    it read back unambiguously."""
    example = Message("numbering.example", format='"{year}-{seq:04d}"')
    try:
        parsed = list(string.Formatter().parse(fmt))
    except ValueError as exc:
        return Message("numbering.invalid", fmt=fmt, reason=str(exc), example=example)
    seqs = 0
    for _literal, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in ("year", "seq"):
            return Message("numbering.field", fmt=fmt, field="{%s}" % name, year="{year}",
                           seq="{seq}", example=example)
        if conversion:
            return Message("numbering.conversion", fmt=fmt, field="{%s}" % name,
                           conversion=conversion)
        problem = _spec_problem(name, spec or "")
        if problem:
            return Message(problem[0], fmt=fmt, **problem[1])
        if name == "seq":
            seqs += 1
    if seqs == 0:
        return Message("numbering.no_seq", fmt=fmt, seq="{seq}", example=example)
    if seqs > 1:
        return Message("numbering.seqs", fmt=fmt, seq="{seq}", n=seqs)
    return None


@lru_cache(maxsize=64)
def _pattern(fmt: str) -> tuple[re.Pattern, bool]:
    """The regular expression that reads ``fmt`` back, and whether it has a
    year. Raises ValueError (the reason) for a format :func:`format_problem`
    rejects."""
    problem = format_problem(fmt)
    if problem:
        raise ValueError(problem)
    parts = []
    has_year = False
    for literal, name, spec, _conv in string.Formatter().parse(fmt):
        parts.append(re.escape(literal))
        if name is None:
            continue
        if name == "year":
            # fixed width; a second {year} (maybe padded otherwise) is checked
            # by writing the number again (read_number)
            digits = r"\d{%d}" % max(4, _width(spec or ""))
            parts.append(digits if has_year else "(?P<year>%s)" % digits)
            has_year = True
        else:
            parts.append(r"(?P<seq>\d+)")
    return re.compile("".join(parts) + r"\Z"), has_year


def has_year(fmt: str) -> bool:
    """Whether the (readable) format has a ``{year}``: else its series runs
    across the years."""
    try:
        return _pattern(fmt)[1]
    except ValueError:
        return False


def check_format(fmt: str) -> Optional[str]:
    """Why ``fmt`` cannot serve as a numbering format, or None when it can."""
    return format_problem(fmt)


def read_number(fmt: str, number: str) -> Optional[tuple[Optional[int], int]]:
    """``(year, seq)`` of a number written with ``fmt`` (year None when the
    format has none), or None when the number does not follow the format (or
    the format is not a readable one).

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
    if fmt.format(year=year if year is not None else 0, seq=seq) != number:
        return None
    return year, seq


def format_number(fmt: str, year: int, seq: int) -> str:
    """The number ``seq`` of ``year`` written with ``fmt``; ValueError when
    the format is not a readable one (never formatted then)."""
    problem = format_problem(fmt)
    if problem:
        raise ValueError(problem)
    return fmt.format(year=year, seq=seq)


def series_format(book: Book, kind: str) -> str:
    if kind not in NUMBERED_KINDS:
        raise ActionRefused("%s documents are not numbered" % kind.replace("_", " "))
    return book.settings.numbering.format_for(kind)


class Series:
    """What the book holds of one series (kind, year) under one format: the
    sequence numbers that follow the format, how many numbers do not (given
    under an earlier format), and the latest validation date with its number."""
    __slots__ = ("seqs", "older", "last_validated", "last_number")

    def __init__(self) -> None:
        self.seqs: set[int] = set()
        self.older: set[str] = set()        # ids: a rewritten document counts once
        self.last_validated: Optional[dt.date] = None
        self.last_number = ""

    @property
    def highest(self) -> int:
        """The sequence number given last: the highest one read, or the count
        of numbers given (those of an earlier format included), whichever is
        more."""
        top = max(self.seqs) if self.seqs else 0
        return max(top, len(self.older) + len(self.seqs)) if self.older else top

    def add(self, doc, seq: Optional[int]) -> None:
        self.add_number(doc.id, doc.number, doc.validated, seq)

    def add_number(self, doc_id: str, number: str, validated: Optional[dt.date],
                   seq: Optional[int]) -> None:
        if seq is None:
            self.older.add(doc_id)
        else:
            self.seqs.add(seq)
        if validated is not None and (self.last_validated is None
                                      or validated > self.last_validated):
            self.last_validated = validated
            self.last_number = number


KIND_CODES = {"invoice": b"i", "credit_note": b"c", "quote": b"q", "work_order": b"w",
              "expense": b"e"}
BROKEN = b"!"                   # a document file that does not load (it may hide a number)
NOT_A_DOCUMENT = b"-"           # a file under documents/ that is not a document file


class Numbers:
    """The numbers of every document file of a book, one row per file (the
    numbering index, engine/numindex.py): what a book loaded in part gives
    numbers from. ``kinds``: one letter per row (:data:`KIND_CODES`),
    ``years`` of each document's date, ``numbers`` ("" none), ``validated``
    (date ordinals, 0 none), ``path_of(row)`` the path of a row, and
    ``skip``: the rows whose records the book holds."""
    __slots__ = ("kinds", "years", "numbers", "validated", "path_of", "skip")

    def __init__(self, kinds: bytes, years: list, numbers: list, validated: list,
                 path_of, skip: frozenset) -> None:
        self.kinds, self.years, self.numbers, self.validated = kinds, years, numbers, validated
        self.path_of, self.skip = path_of, skip

    def id_of(self, row: int) -> str:
        return self.path_of(row).rsplit("/", 1)[-1][:-5]


def mark_partial(book: Book, numbers: Optional[Numbers] = None) -> Book:
    """``book`` as one that holds only some of the book's documents. With
    ``numbers`` (every document file of the book) it can still give numbers:
    the series are read from them, except for the rows ``numbers.skip``
    (their records are in ``book.documents``); without, :func:`next_number`
    refuses (a number from part of the book could be one given already)."""
    return book.in_part(numbers if numbers is not None else True)


def is_partial(book: Book) -> bool:
    """Whether ``book`` holds only some of the book's documents (:func:`mark_partial`)."""
    return book.part is not None


def series(book: Book, kind: str, year: int) -> Series:
    """The series of ``kind`` for ``year`` under the book's current format.

    Built once per book value (``Book.memo``) and handed on to the value a
    commit makes, brought up to date by :func:`_noted` (numbers only grow),
    so a session validating 1,000 documents in a 100,000-document book does
    not scan the book 1,000 times.
    """
    fmt = series_format(book, kind)
    return book.memo(("numbering.series", kind, year, fmt),
                     lambda b: _scan(b, kind, year, fmt),
                     lambda value, removed, added: _noted(value, kind, year, fmt, removed, added))


def highest_seq(book: Book, kind: str, year: int) -> int:
    """The highest sequence number given so far in the series of ``kind`` for
    ``year`` (0 when none); numbers given under an earlier format count."""
    return series(book, kind, year).highest


def _member(doc, kind: str, year: int, fmt: str, has_year: bool):
    """Whether ``doc`` holds a number of the series (kind, year): ``(True,
    seq)`` for a number that follows ``fmt``, ``(True, None)`` for one that
    does not (an earlier format), ``(False, None)`` otherwise."""
    if doc.kind != kind or not doc.number:
        return False, None
    return _member_of(doc.number, doc.date.year, year, fmt, has_year)


def _member_of(number: str, doc_year: int, year: int, fmt: str, has_year: bool):
    """:func:`_member` for a number of the right kind, its document dated in ``doc_year``."""
    if has_year and doc_year != year and str(year) not in number:
        return False, None          # cheap: most documents of a book are of other years
    read = read_number(fmt, number)
    if read is None:
        return (not has_year or doc_year == year), None
    number_year, seq = read
    if has_year and (number_year if number_year is not None else doc_year) != year:
        return False, None
    return True, seq


def _noted(found: Series, kind: str, year: int, fmt: str, removed, added) -> bool:
    """Bring ``found`` in line once the documents ``removed`` (replaced or
    deleted) and ``added`` changed in the book; False when it cannot be (a
    number of the series left the book: scanned again)."""
    numbers = {(doc.id, doc.number) for doc in added if doc.number}
    for doc in removed:
        if doc.kind == kind and doc.number and (doc.id, doc.number) not in numbers:
            return False
    has_year = _pattern(fmt)[1]
    for doc in added:
        if not doc.number or doc.kind != kind:
            continue
        member, seq = _member(doc, kind, year, fmt, has_year)
        if member:
            found.add(doc, seq)
    return True


def _scan(book: Book, kind: str, year: int, fmt: str) -> Series:
    try:
        _, has_year = _pattern(fmt)
    except ValueError as exc:
        raise ActionRefused(str(exc)) from None
    found = Series()
    rows = book.part if isinstance(book.part, Numbers) else None
    if rows is None:
        if book.part is not None:
            raise ActionRefused("cannot give a number from a book loaded in part (only some "
                                "of its documents): nothing was changed")
        for doc in book.documents.values():
            member, seq = _member(doc, kind, year, fmt, has_year)
            if member:
                found.add(doc, seq)
        return found
    # a book loaded in part: the numbers of the documents it does not hold
    # from the index, in the order of their paths as the whole book reads
    # them (the first of two numbers given the same day is named the last)
    records: dict[str, Any] = {doc.path: doc for doc in book.documents.values()}
    code, kinds, years, numbers, skip = (KIND_CODES[kind], rows.kinds, rows.years,
                                         rows.numbers, rows.skip)
    text = str(year)
    i = kinds.find(code)
    while i >= 0:
        if i in skip:
            doc = records.pop(rows.path_of(i), None)
            member, seq = _member(doc, kind, year, fmt, has_year) if doc else (False, None)
            if member:
                found.add(doc, seq)
        elif numbers[i] and (not has_year or years[i] == year or text in numbers[i]):
            number = numbers[i]
            member, seq = _member_of(number, years[i], year, fmt, has_year)
            if member:
                signed = rows.validated[i]
                found.add_number(rows.id_of(i) if seq is None else "", number,
                                 dt.date.fromordinal(signed) if signed else None, seq)
        i = kinds.find(code, i + 1)
    for doc in records.values():        # what the session wrote since, or of another kind
        member, seq = _member(doc, kind, year, fmt, has_year)
        if member:
            found.add(doc, seq)
    return found


def next_number(book: Book, kind: str, date: dt.date,
                validated: Optional[dt.date] = None) -> str:
    """The number the next validated document of ``kind`` dated ``date`` gets,
    when validated on ``validated``.

    Raises ActionRefused (nothing is given) when the kind is not numbered,
    the format cannot be read back, facturier.yaml or a document file does
    not load, ``validated`` is before the date the series' last number was
    given (SPEC 2: numbers in date order), or the number would not read back.
    """
    from .i18n import Lines, Message
    word = Message("kind.word." + kind)
    fmt = series_format(book, kind)
    problem = format_problem(fmt)
    if problem:
        raise ActionRefused("refuse.number.format", kind=word, problem=problem, key=kind)
    unknown = unreadable_numbers(book)
    if "facturier.yaml" in unknown:
        errors = [d for d in book.diagnostics if d.path == "facturier.yaml" and d.is_error]
        numbering = [d for d in errors if (d.field or "").startswith("numbering")]
        raise ActionRefused("refuse.number.settings_format" if numbering
                            else "refuse.number.settings",
                            problems=Lines(numbering or errors))
    if unknown:
        raise ActionRefused("refuse.number.unread.one" if len(unknown) == 1
                            else "refuse.number.unread.many", paths=", ".join(unknown))
    found = series(book, kind, date.year)
    if validated is not None and found.last_validated is not None \
            and validated < found.last_validated:
        raise ActionRefused(
            "refuse.number.before", kind=word, date=validated.isoformat(),
            of_year=Message("check.of_year", year=date.year) if _pattern(fmt)[1] else "",
            number=found.last_number, last=found.last_validated.isoformat())
    seq = found.highest + 1
    number = format_number(fmt, date.year, seq)
    read = read_number(fmt, number)
    if read is None or read[1] != seq or read[0] not in (None, date.year):
        raise ActionRefused("cannot number the %s dated %s: %r, the number the format %r "
                            "gives, would not read back as number %d of %d"
                            % (word, date.isoformat(), number, fmt, seq, date.year))
    return number


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
