"""The dashboard drawn from what the last opening kept (tui/remembered.py),
the book loaded behind it: same figures as a load, never stale, and a person
who acts at once waits for the book instead of meeting a half-loaded app."""
from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

import pytest

from tui.app import FacturierApp
from tui.dashboard import StatusTile
from tui.document_view import DocumentScreen
from tests.tui_support import until

from conftest import git

AS_OF = dt.date(2026, 6, 30)


@pytest.fixture
def book(book_1k) -> Path:
    return book_1k


def tiles(app) -> dict:
    return {t.id: (t.count, t.open_text, t.display) for t in app.screen.query(StatusTile)}


def open_app(root, lang="en", act=None) -> dict:
    """Open the app, wait for its dashboard (and, with ``act``, do that at
    once, before the book is loaded), then for the whole load; what it saw."""
    app = FacturierApp(root, as_of=AS_OF, lang=lang, watch=False)
    seen: dict = {}

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.loaded.is_set())
            seen["remembered"] = app.drawn_from_memory
            seen["tiles"] = tiles(app)
            seen["alerts"] = {bar.id: bar.display for bar in app.screen.query(".alert")}
            if act is not None:
                await act(app, pilot, seen)
            await until(pilot, lambda: app.snapshot.complete)
            seen["book"] = app.snapshot.book
            seen["documents"] = len(app.snapshot.book.documents)
            seen["stopped"] = [r.id for r in app.snapshot.stopped]
            seen["tiles after"] = tiles(app)

    asyncio.run(run())
    seen["app"] = app
    return seen


def kept_view(root) -> bool:
    from engine import rowcache
    target = root / ".facturier" / rowcache.ROWS_FILE
    return target.is_file() and bool(rowcache._decoder.decode(target.read_bytes()).views)


def test_opened_again_the_dashboard_is_the_same_and_the_book_follows(book):
    first = open_app(book)
    assert not first["remembered"] and kept_view(book)
    again = open_app(book)
    assert again["remembered"]
    assert again["tiles"] == first["tiles"] == first["tiles after"] == again["tiles after"]
    assert again["alerts"] == first["alerts"]
    assert again["documents"] == first["documents"] == 1000
    assert again["stopped"] == first["stopped"]


def test_a_change_of_the_book_is_never_shown_from_memory(book, cli):
    processing = "status-processing"
    first = open_app(book)
    invoice = next(r for r in first["app"].snapshot.rows
                   if r.kind == "invoice" and r.status == "processing")
    assert cli("--as-of", "2026-06-30", "doc", "pay", invoice.id, str(invoice.open),
               book=book).code == 0
    paid = open_app(book)
    assert not paid["remembered"]
    assert paid["tiles"][processing][0] == first["tiles"][processing][0] - 1
    assert open_app(book)["remembered"]
    french = open_app(book, lang="fr")              # the English dashboard is not the French one
    assert not french["remembered"] and french["tiles"] != paid["tiles"]
    assert open_app(book, lang="fr")["remembered"]
    git(book, "reset", "-q", "--hard", "HEAD~1")    # the first files again: their rows were replaced
    undone = open_app(book)
    assert not undone["remembered"] and undone["tiles"] == first["tiles"]
    contact = sorted((book / "contacts").iterdir())[0]
    contact.write_text(contact.read_text() + "# an edit not committed\n")
    edited = open_app(book)
    assert not edited["remembered"] and edited["tiles"] == first["tiles"]
    assert not open_app(book)["remembered"]         # never while the work tree differs


def test_a_document_opened_at_once_waits_for_the_book(book):
    open_app(book)                                  # keeps the dashboard

    async def act(app, pilot, seen):
        assert app.snapshot.rows
        doc_id = next(r.id for r in app.snapshot.rows if r.kind == "invoice" and r.number)
        app.open_document(doc_id)                   # needs the book: may still be loading
        await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
        seen["opened"] = app.screen.detail.doc.id

    seen = open_app(book, act=act)
    assert seen["opened"]
    assert seen["documents"] == 1000
