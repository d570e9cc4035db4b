"""One row per document: what `facturier status` prints and the app lists.

Pure: a Book and a date in, rows out. The CLI and the terminal app both call
:func:`document_rows`, :func:`filter_rows` and :func:`summary`, so the two faces
can never disagree on a status or an amount.
"""
from __future__ import annotations

import datetime as dt
import unicodedata
from decimal import Decimal
from typing import Iterable, Optional, Sequence

import msgspec

from . import status as status_mod
from .model import Book

ZERO = Decimal("0")


class Row(msgspec.Struct, frozen=True, gc=False):
    """The fields of SPEC 6's `status --format json`, plus the contact's name.
    ``msgspec.json.encode(rows)`` is the JSON output (amounts as decimal
    strings, dates as YYYY-MM-DD)."""
    id: str
    kind: str
    number: Optional[str]
    contact: str
    contact_name: str
    date: dt.date
    due: Optional[dt.date]
    currency: str
    total: Decimal
    open: Decimal
    status: str
    category: str
    recurrence: Optional[str]

    def as_json(self) -> dict:
        return msgspec.to_builtins(self)


COLUMNS = tuple(Row.__struct_fields__)


def document_rows(book: Book, as_of: dt.date) -> list[Row]:
    """Every document of the book with its status at ``as_of``, sorted by date
    (newest first), then id."""
    contacts = book.contacts
    settings = book.settings
    default_currency = settings.currency
    status_and_amounts = status_mod.status_and_amounts
    category_of = status_mod.STATUSES.__getitem__
    due_date = status_mod.due_date
    rows = []
    for doc in book.documents.values():
        code, amounts = status_and_amounts(doc, book, as_of)
        contact = contacts.get(doc.contact)
        name = contact.name if contact is not None else ""
        due = due_date(doc, book) if doc.kind in ("invoice", "expense") else doc.due
        rows.append(Row(doc.id, doc.kind, doc.number, doc.contact, name, doc.date, due,
                        doc.currency or default_currency, amounts.total, amounts.open, code,
                        category_of(code), doc.recurrence))
    rows.sort(key=_newest_first)
    return rows


def _newest_first(row: Row):
    return (-row.date.toordinal(), row.id)


def fold(text: str) -> str:
    """Lower case without accents: a search for "cafe" finds "Café"."""
    if text.isascii():
        return text.lower()
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def search_text(book: Book, row: Row) -> str:
    """The lower-cased text a search looks in: id, number, contact id and name,
    line descriptions and notes."""
    doc = book.documents.get(row.id)
    words = [row.id, row.number or "", row.contact, row.contact_name]
    if doc is not None:
        words.extend(line.description for line in doc.lines)
        words.append(doc.notes)
    return fold(" ".join(words))


def search_words(search: Optional[str]) -> tuple[str, ...]:
    """The words a search looks for, folded as :func:`search_text` is (what
    `status --search` and the app's search boxes both use)."""
    return tuple(fold(search).split()) if search else ()


def matches(haystack: str, words: Sequence[str]) -> bool:
    """A folded text holds every word of a search (:func:`search_words`)."""
    return all(w in haystack for w in words)


def filter_rows(rows: Iterable[Row], *, category: Optional[str] = None,
                statuses: Optional[Sequence[str]] = None, recurring: bool = False,
                search: Optional[str] = None, book: Optional[Book] = None) -> list[Row]:
    """The rows of a category and/or statuses, recurring ones only if asked,
    whose number, contact, id or text (with ``book``: line descriptions and
    notes too) contains every word of ``search``, ignoring case."""
    words = search_words(search)
    wanted = set(statuses) if statuses else None
    out = []
    for row in rows:
        if category and row.category != category:
            continue
        if wanted is not None and row.status not in wanted:
            continue
        if recurring and not row.recurrence:
            continue
        if words:
            haystack = search_text(book, row) if book is not None else " ".join(
                (row.id, row.number or "", row.contact, row.contact_name))
            if not matches(fold(haystack), words):
                continue
        out.append(row)
    return out


def is_draft_template(doc) -> bool:
    """A template (SPEC 4: the document a recurrence copies) that is this
    kind of document is a model, not work to do, while it was never
    validated (an expense is never validated: it is money owed)."""
    return doc.kind != "expense" and doc.validated is None


def template_drafts(book: Book) -> frozenset[str]:
    """Ids of the drafts that serve as template to a recurrence: their status
    is `awaiting_validation` (SPEC 3.2), but they wait for nobody — a face
    shows them as templates, apart from the invoices to validate."""
    out = set()
    for rec in book.recurrences.values():
        doc = book.document(rec.template)
        if doc is not None and is_draft_template(doc):
            out.add(doc.id)
    return frozenset(out)


class StatusSummary(msgspec.Struct):
    count: int = 0
    open: dict = {}        # currency -> Decimal


def summary(rows: Iterable[Row]) -> dict[str, StatusSummary]:
    """Per status: how many documents and their open amount per currency (the
    dashboard). Every status of SPEC 3 is present, with zero when unused."""
    out = {code: StatusSummary(0, {}) for code in status_mod.STATUSES}
    for row in rows:
        entry = out[row.status]
        entry.count += 1
        if row.open:
            entry.open[row.currency] = entry.open.get(row.currency, ZERO) + row.open
    return out
