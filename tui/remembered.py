"""The dashboard drawn before the book is loaded.

On a 100,000-document book, loading the records takes about a second and the
status rows another; a person opening the app again on the same day, the book
unchanged, should not wait for either. The engine keeps the status rows of the
last book and date asked, tied to git's listing of the files
(engine/rowcache.py); next to them the App keeps what else its dashboard
shows (this module's :class:`DashboardView`: currency, templates, stopped
recurrences, problems, e-mails left sending). When both are there for the
files as they are now, the dashboard is drawn from them, then the book is
loaded from that very listing (``load_book(listing=)``) behind it; anything
that needs the book meanwhile waits for it (``Snapshot.book``).

The view is keyed by the language and a digest of the App's code besides the
engine's key: a change to either, or to any file, and it is made again from
the book.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path
from typing import Optional

import msgspec

from .views import RecurrenceItem, Snapshot


class DashboardView(msgspec.Struct):
    currency: str
    templates: list[str]
    stopped: list[RecurrenceItem]       # the list's fields only (details come from the book)
    problems: list[str]
    error_count: int
    sending: list[str]


_decoder = msgspec.msgpack.Decoder(DashboardView)
_code: Optional[str] = None


def view_name(lang: str) -> str:
    """The view's name in the rows file: the language and the App's code."""
    global _code
    if _code is None:
        from engine.cache import source_digest
        _code = source_digest(sorted(Path(__file__).resolve().parent.glob("*.py")))[:16]
    return "dashboard|%s|%s" % (lang, _code)


def encode(snap: Snapshot) -> bytes:
    stopped = [dataclasses.replace(item, missing=[], next_occurrences=[], repairs=[])
               for item in snap.stopped]
    return msgspec.msgpack.encode(DashboardView(
        snap.currency, sorted(snap.templates), stopped, list(snap.problems), snap.error_count,
        list(snap.sending)))


def remember(snap: Snapshot) -> None:
    """Keep the dashboard of ``snap`` next to its rows (worker thread, after it is drawn)."""
    from engine.rowcache import remember_view
    remember_view(snap.book, snap.as_of, view_name(snap.lang), encode(snap))


def snapshot(root, as_of: dt.date, lang: str, unpublished) -> Optional[tuple[Snapshot, object]]:
    """A snapshot without its book (``Snapshot.book`` waits for it) and the
    listing to load the book from, when the rows and the dashboard of the
    files as they are now were kept; else None (load the book)."""
    from engine.listing import summary
    from engine.rowcache import remembered
    kept = remembered(root, as_of, view_name(lang))
    if kept is None or kept.view is None:
        return None
    try:
        view = _decoder.decode(kept.view)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError):
        return None
    rows = kept.rows
    templates = frozenset(view.templates)
    snap = Snapshot(root=str(root), as_of=as_of, lang=lang, currency=view.currency,
                    book_value=None, rows=rows,
                    summary=summary([r for r in rows if r.id not in templates]
                                    if templates else rows),
                    templates=templates, recurrences=view.stopped, problems=view.problems,
                    error_count=view.error_count, sending=view.sending, complete=False,
                    unpublished=unpublished())
    return snap, kept.listing
