"""SVG snapshots of the main screens (pytest-textual-snapshot), clock pinned
to 2026-06-30 on a copy of the synthetic 1,000-document book.

Update after a deliberate change of the look:
``python -m pytest tests/test_tui_snapshots.py --snapshot-update`` and look at
the SVG files in tests/__snapshots__/ before committing them."""
from __future__ import annotations

import datetime as dt
import shutil
import time
from pathlib import Path

import pytest

from tui.app import FacturierApp
from tui.document_view import DocumentScreen
from tui.recurrence_list import RecurrenceListScreen
from tui.repair_dialog import RepairDialog

AS_OF = dt.date(2026, 6, 30)
@pytest.fixture
def book(tmp_path, synthetic_book_1k) -> Path:
    root = tmp_path / "book"
    shutil.copytree(synthetic_book_1k, root, ignore=shutil.ignore_patterns(".facturier"))
    return root


async def loaded(pilot) -> None:
    app = pilot.app
    deadline = time.monotonic() + 30
    while app.snapshot is None or not app.snapshot.complete:
        assert time.monotonic() < deadline, "the book did not load"
        await pilot.pause(0.05)
    await pilot.pause()


async def history_shown(pilot) -> None:
    deadline = time.monotonic() + 30
    while True:
        panes = pilot.app.screen.query("#history-body")
        if panes and "…" not in str(panes.first().render()):
            break
        assert time.monotonic() < deadline, "the history did not load"
        await pilot.pause(0.05)
    await pilot.pause()


def test_dashboard(book, snap_compare):
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    assert snap_compare(app, terminal_size=(100, 30), run_before=loaded)


def test_dashboard_french_80x24(book, snap_compare):
    app = FacturierApp(book, as_of=AS_OF, lang="fr", watch=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=loaded)


def test_dashboard_wide_side_by_side(book, snap_compare):
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    assert snap_compare(app, terminal_size=(180, 20), run_before=loaded)


def test_status_list_sorted(book, snap_compare):
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)

    async def run_before(pilot):
        await loaded(pilot)
        app.open_list("Invoices in processing", statuses=("processing",))
        await pilot.pause()
        await pilot.press("s", "s")         # sort by contact

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)


def test_document_view(book, snap_compare):
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)

    async def run_before(pilot):
        await loaded(pilot)
        app.open_document("inv-20260628-000732")
        while not isinstance(app.screen, DocumentScreen):
            await pilot.pause(0.05)
        await history_shown(pilot)

    assert snap_compare(app, terminal_size=(100, 36), run_before=run_before)


def test_repair_dialog(book, snap_compare):
    path = book / "recurrences" / "rec-00001.yaml"
    text = "".join(ln for ln in path.read_text().splitlines(True) if not ln.startswith("last:"))
    path.write_text(text + "last: 2026-02-28\nstopped:\n  at: \"2026-06-30T06:00:00+00:00\"\n"
                    "  occurrence: 2026-03-31\n  cause: \"more than 3 occurrences are due\"\n")
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)

    async def run_before(pilot):
        await loaded(pilot)
        app.action_recurrences(stopped_only=True)
        while not isinstance(app.screen, RecurrenceListScreen):
            await pilot.pause(0.05)
        await pilot.pause()
        await pilot.press("p")
        deadline = time.monotonic() + 20
        while not isinstance(app.screen, RepairDialog):
            assert time.monotonic() < deadline, "the repair dialog did not open"
            await pilot.pause(0.05)
        await pilot.pause()

    assert snap_compare(app, terminal_size=(100, 30), run_before=run_before)
