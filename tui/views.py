"""Plain data the App hands down to screens: no Textual, no engine calls.

A :class:`Snapshot` is everything the screens show about the book at one
moment (the App builds it in a worker, after each load); details of one
document or recurrence are built on demand by the App.
"""
from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field
from typing import Any, Optional

from engine.api import DocumentView


@dataclass
class RecurrenceItem:
    id: str
    name: str
    contact: str
    contact_name: str
    rule_words: str
    next: Optional[dt.date]
    state: str                      # active | stopped | ended
    generated: int
    cause: str = ""
    missing: list = field(default_factory=list)
    haystack: str = ""
    next_occurrences: list = field(default_factory=list)
    repairs: list = field(default_factory=list)     # engine.api.Availability per repair
    template_exists: bool = True


@dataclass
class Snapshot:
    root: str
    as_of: dt.date
    lang: str
    currency: str
    book_value: Any                 # engine.model.Book; None while it loads (see `book`)
    rows: list                      # engine.listing.Row, newest first
    summary: dict                   # status -> StatusSummary(count, open{currency: Decimal})
    recurrences: list[RecurrenceItem]
    problems: list[str]             # "path:line:col: message", errors first
    error_count: int
    sending: list[str]              # ids of documents whose last e-mail is left `sending`
    signature: str = ""
    search_texts: Optional[dict] = None     # id -> search text, built on the first search
    complete: bool = True           # False until every recurrence is listed (second phase)
    unpublished: int = 0            # commits the shared remote lacks (SPEC 9; 0 without `sync`)
    templates: frozenset = frozenset()      # drafts that are recurrence templates (not to do)
    ready: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)
    # set once the dashboard is drawn, or when someone waits for the book: the
    # load's second phase then begins (tui/app.py)
    go: threading.Event = field(default_factory=threading.Event, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.book_value is not None:
            self.ready.set()

    @property
    def book(self) -> Any:
        """The book (engine.model.Book). A dashboard drawn from remembered
        rows (tui/remembered.py) is shown while its book loads: asking for
        the book meanwhile waits for it (a second at most on 100,000
        documents). A load that failed (the App said why) gives an empty book."""
        if not self.ready.is_set():
            self.go.set()
            self.ready.wait()
        if self.book_value is None:
            from engine.model import Book
            return Book()
        return self.book_value

    def book_loaded(self, book: Any) -> None:
        """The background load is over (``book`` None: it failed)."""
        self.book_value = book
        self.ready.set()

    @property
    def stopped(self) -> list[RecurrenceItem]:
        return [r for r in self.recurrences if r.state == "stopped"]


# a document's view is the engine's (what `facturier doc show` prints)
DocumentDetail = DocumentView


@dataclass
class SendPreview:
    """The e-mail `doc send` would hand over (engine.daily.prepare_send),
    shown before it goes."""
    doc_id: str
    to: str
    subject: str
    body: str
    attachments: list                   # (name, size in bytes, SHA-256)


@dataclass
class RecurrenceDetail:
    item: RecurrenceItem
    rec: Any                        # engine.model.Recurrence
    documents: list                 # rows (engine.listing.Row) of its generated documents
    next: list                      # next occurrence dates
    template_exists: bool = True
