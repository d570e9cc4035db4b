"""Plain data the App hands down to screens: no Textual, no engine calls.

A :class:`Snapshot` is everything the screens show about the book at one
moment (the App builds it in a worker, after each load); details of one
document or recurrence are built on demand by the App.
"""
from __future__ import annotations

import datetime as dt
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
    book: Any                       # engine.model.Book
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
