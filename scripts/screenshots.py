#!/usr/bin/env python3
"""Make the README's screenshots from the real app on the demo book.

    python scripts/screenshots.py [OUT_DIR]     (default: docs/images)

The demo book is built for a pinned date (2026-11-23) in a temporary folder;
the app is driven by Textual's pilot and each screen saved as SVG.
"""
from __future__ import annotations

import asyncio
import datetime as dt
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from engine.cli.demo import make_demo_book  # noqa: E402
from tui.app import FacturierApp  # noqa: E402
from tui.document_list import DocumentListScreen  # noqa: E402
from tui.recurrence_list import RecurrenceListScreen  # noqa: E402
from tui.repair_dialog import RepairDialog  # noqa: E402
from tui.reports_screen import ReportsScreen  # noqa: E402

AS_OF = dt.date(2026, 11, 23)
SIZE = (100, 30)


async def wait_for(pilot, condition, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit("timed out waiting for %s" % what)
        await pilot.pause(0.05)
    await pilot.pause(0.2)


async def shoot(book: Path, out: Path) -> None:
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    async with app.run_test(size=SIZE) as pilot:
        await wait_for(pilot, lambda: app.snapshot is not None and app.snapshot.complete, "the book")
        app.save_screenshot("dashboard.svg", str(out))
        app.open_list("All documents")
        await wait_for(pilot, lambda: isinstance(app.screen, DocumentListScreen), "the list")
        app.save_screenshot("list.svg", str(out))
        await pilot.press("escape")
        app.action_recurrences(stopped_only=True)
        await wait_for(pilot, lambda: isinstance(app.screen, RecurrenceListScreen), "recurrences")
        await pilot.press("p")
        await wait_for(pilot, lambda: isinstance(app.screen, RepairDialog), "the repair dialog")
        app.save_screenshot("repair.svg", str(out))
        await pilot.press("escape")
        app.action_reports("revenue")
        await wait_for(pilot, lambda: isinstance(app.screen, ReportsScreen)
                       and len(app.screen.reports) == 3, "the reports")
        app.save_screenshot("reports.svg", str(out))


def main() -> None:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else REPO / "docs" / "images"
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        book = Path(tmp) / "demo"
        make_demo_book(book, AS_OF, None)
        asyncio.run(shoot(book, out))
    print("screenshots in %s" % out)


if __name__ == "__main__":
    main()
