"""The app on a shared book (SPEC 9): the dashboard counts the commits the
remote lacks and offers to sync; the sync publishes them."""
from __future__ import annotations

import asyncio
import datetime as dt

from textual.widgets import Button

from tui.app import FacturierApp
from tui.dashboard import AlertBar

from tests.conftest import git
from tests.tui_support import until




def test_the_dashboard_counts_unpublished_commits_and_syncs_them(tmp_path, make_book):
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    root = make_book({"facturier.yaml": "currency: EUR\nsync: {remote: origin, branch: main}\n",
                      "contacts/acme.yaml": "name: ACME\n"})
    git(root, "remote", "add", "origin", str(remote))
    git(root, "push", "-q", "origin", "main")
    git(root, "fetch", "-q", "origin")
    (root / "contacts/acme.yaml").write_text("name: ACME SA\n")
    git(root, "commit", "-qam", "ACME is an SA")
    app = FacturierApp(root, as_of=dt.date(2026, 3, 10), lang="en", watch=False)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None)
            bar = app.screen.query_one("#alert-unpublished", AlertBar)
            assert app.snapshot.unpublished == 1 and bar.has_class("-shown")
            assert "1 commit not published" in str(bar.query_one("Label").render())
            await pilot.click(bar.query_one(Button))
            await until(pilot, lambda: not bar.has_class("-shown") and not app.busy)

    asyncio.run(run())
    assert git(remote, "rev-parse", "main") == git(root, "rev-parse", "HEAD")
