"""The terminal app driven as a person would (Textual's pilot), on a real book
in a real git repository: every action must land as exactly one commit."""
from __future__ import annotations

import asyncio
import datetime as dt
import subprocess
from decimal import Decimal
from pathlib import Path

import pytest

from tui.app import FacturierApp
from tui.dashboard import DashboardScreen, StatusTile
from tui.document_list import DocumentListScreen
from tui.document_view import DocumentScreen
from tui.recurrence_list import RecurrenceListScreen
from tui.recurrence_view import RecurrenceScreen
from tui.repair_dialog import RepairDialog
from tests.tui_support import commits, until

AS_OF = dt.date(2026, 6, 30)
def git(root, *args) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout




def trailers(root, rev="HEAD") -> str:
    return git(root, "log", "-1", "--format=%(trailers)", rev)


@pytest.fixture
def book(book_1k) -> Path:
    return book_1k


def stop_recurrence(root: Path, rec_id: str, last: str, cause: str) -> None:
    """A recurrence the daily run stopped: its `stopped` block, committed."""
    path = root / "recurrences" / (rec_id + ".yaml")
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("last:")]
    lines += ["last: %s" % last, "stopped:", '  at: "2026-06-30T06:00:00+00:00"',
              "  occurrence: 2026-06-01", '  cause: "%s"' % cause]
    path.write_text("\n".join(lines) + "\n")
    git(root, "commit", "-q", "-am", "Stop %s (test set-up)" % rec_id)




def app_for(root: Path, lang: str = "en", watch: bool = False) -> FacturierApp:
    return FacturierApp(root, as_of=AS_OF, lang=lang, watch=watch)


def test_status_list_search_open_and_pay(book):
    before = commits(book)
    app = app_for(book)
    seen = {}

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None and app.snapshot.complete)
            assert isinstance(app.screen, DashboardScreen)
            tile = app.screen.query_one("#status-processing", StatusTile)
            assert tile.count == app.snapshot.summary["processing"].count > 0
            tile.focus()
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DocumentListScreen))
            screen = app.screen
            rows = screen.table.rows
            assert rows and all(r.status == "processing" for r in rows)
            target = rows[-1]
            seen["target"] = target
            await pilot.press("slash", *list(target.number))
            await until(pilot, lambda: len(screen.table.rows) == 1)
            assert screen.table.current_row.id == target.id
            await pilot.press("enter")          # leaves the search for the table
            await pilot.press("enter")          # opens the document
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            doc_screen = app.screen
            assert doc_screen.detail.doc.id == target.id
            await pilot.press("p")
            await pilot.pause()
            form = app.screen
            amount = form.query_one("#field-amount")
            assert Decimal(amount.value) == target.open
            # a bad amount is refused inline, nothing is committed
            amount.value = "12,x"
            await pilot.pause()
            assert "amount" in str(form.query_one("#error-amount").render()).lower()
            amount.value = "100.00"
            form.query_one("#field-reference").value = "bank 42"
            await pilot.pause()
            await pilot.click("#ok")
            await until(pilot, lambda: app.screen is doc_screen and not app.busy
                        and doc_screen.detail.amounts.open == target.open - Decimal("100.00"),
                        timeout=30)
            assert any(p.reference == "bank 42" for p in doc_screen.detail.doc.payments)

    asyncio.run(run())
    assert commits(book) == before + 1
    assert "Facturier-Action: document.payment" in trailers(book)
    target = seen["target"]
    assert "Facturier-Document: %s" % target.id in trailers(book)
    text = next(book.glob("documents/*/*/%s.yaml" % target.id)).read_text()
    assert 'amount: "100.00"' in text and "bank 42" in text
    assert git(book, "status", "--porcelain") == ""


def test_stopped_alert_list_and_repair_skip(book):
    stop_recurrence(book, "rec-00000", "2026-05-01", "template inv-x does not exist")
    before = commits(book)
    app = app_for(book)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None)
            alert = app.screen.query_one("#alert-stopped")
            assert alert.has_class("-shown")
            assert "1 recurrence stopped" in str(alert.query_one(".alert-text").render())
            await pilot.click("#alert-stopped Button")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceListScreen))
            listing = app.screen
            assert [r.id for r in listing.table.rows] == ["rec-00000"]
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, RepairDialog))
            dialog = app.screen
            assert [d.isoformat() for d in dialog.item.missing] == ["2026-06-01"]
            assert not dialog.query_one("#create").disabled
            await pilot.click("#skip")
            await until(pilot, lambda: not app.busy and app.snapshot.complete
                        and not app.snapshot.stopped, timeout=30)

    asyncio.run(run())
    assert commits(book) == before + 1
    assert "Facturier-Action: recurrence.skip-missing" in trailers(book)
    assert "Facturier-Recurrence: rec-00000" in trailers(book)


def test_repair_create_disabled_with_reason_when_several_missing(book):
    stop_recurrence(book, "rec-00001", "2026-02-28", "more than 3 occurrences are due")
    app = app_for(book, lang="fr")

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.snapshot is not None and app.snapshot.complete)
            await pilot.press("s")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceListScreen))
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceScreen))
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, RepairDialog))
            dialog = app.screen
            assert len(dialog.item.missing) > 1
            assert dialog.query_one("#create").disabled
            reason = str(dialog.query_one("#create-reason").render())
            assert "%d occurrences manquent" % len(dialog.item.missing) in reason
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceScreen))

    before = commits(book)
    asyncio.run(run())
    assert commits(book) == before


def test_outside_commit_refreshes_the_dashboard(book):
    app = app_for(book, watch=True)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None and app.snapshot.signature)
            first = app.snapshot
            before = first.summary["awaiting_validation"].count
            draft = next(r for r in first.rows if r.status == "awaiting_validation")
            # another process validates a draft while the app is open
            out = subprocess.run(["facturier", "--book", str(book), "--as-of", AS_OF.isoformat(),
                                  "doc", "validate", draft.id], capture_output=True, text=True)
            assert out.returncode == 0, out.stderr
            await until(pilot, lambda: app.snapshot is not first, timeout=30)
            tile = app.dashboard.query_one("#status-awaiting_validation", StatusTile)
            assert tile.count == before - 1

    asyncio.run(run())


def test_a_refused_payment_keeps_the_form_and_what_was_typed(book):
    """The engine refuses the payment (the file was edited meanwhile): the
    form stays open with the reason and the amount and reference typed; once
    the edit is undone, OK records it and the form closes."""
    before = commits(book)
    app = app_for(book)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None and app.snapshot.complete)
            target = next(r for r in app.snapshot.rows if r.status == "processing")
            app.open_document(target.id)
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            doc_screen = app.screen
            await pilot.press("p")
            await until(pilot, lambda: app.screen is not doc_screen)
            form = app.screen
            form.query_one("#field-amount").value = "10.00"
            form.query_one("#field-reference").value = "bank 7"
            path = next(book.glob("documents/*/*/%s.yaml" % target.id))
            original = path.read_text()
            path.write_text(original + "# a note typed meanwhile\n")
            await pilot.pause()
            await pilot.click("#ok")
            error = form.query_one("#error-form")
            await until(pilot, lambda: error.display and not app.busy, timeout=30)
            assert app.screen is form
            assert "Refused" in str(error.render())
            assert form.query_one("#field-amount").value == "10.00"
            assert form.query_one("#field-reference").value == "bank 7"
            assert commits(book) == before
            path.write_text(original)
            await pilot.click("#ok")
            await until(pilot, lambda: app.screen is doc_screen and not app.busy, timeout=30)

    asyncio.run(run())
    assert commits(book) == before + 1
    assert "bank 7" in git(book, "show", "HEAD")
