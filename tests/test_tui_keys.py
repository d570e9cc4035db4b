"""The app's defects of issue 15, each driven by the keys a person presses
(Textual's pilot) on a real book in a real git repository: the recurrence
form keeps fast typing and what was typed when the engine refuses; ↑/↓ and
Tab on the dashboard; `s` after a search; every document action in the
palette; templates shown as templates; the document view's VAT column."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from textual import events
from textual.app import _character_to_key
from textual.widgets import Input, Label, Select

from engine.book import load_book
from engine.listing import document_rows, template_drafts
from tui.app import FacturierApp
from tui.dashboard import DashboardScreen, StatusTile
from tui.document_list import DocumentListScreen
from tui.document_view import DocumentScreen
from tui.forms import Confirm
from tui.recurrence_form import RecurrenceForm
from tui.recurrence_list import RecurrenceListScreen
from tests.tui_support import commits, until

AS_OF = dt.date(2025, 3, 1)


@pytest.fixture
def book(make_book):
    return make_book({
        "facturier.yaml": 'currency: CHF\nvat: "8.1"\n',
        "contacts/acme.yaml": "name: ACME SA\nemail: ap@acme.example\n",
        "contacts/cafe-creme.yaml": "name: Café Crème\n",
        # a validated invoice; its lines give no VAT: the book's 8.1 applies
        "documents/2025/01/inv-one.yaml": (
            "kind: invoice\ncustomer: acme\ndate: 2025-01-05\nnumber: 2025-0001\n"
            "validated: 2025-01-05\nlines:\n"
            '  - {description: Work, quantity: 2, unit_price: "500.00"}\n'
            '  - {description: Books, quantity: 1, unit_price: "50.00", vat: "2.6"}\n'),
        # a draft to validate, and a draft that a recurrence copies (a template)
        "documents/2025/02/inv-todo.yaml": (
            "kind: invoice\ncustomer: cafe-creme\ndate: 2025-02-10\n"
            'lines: [{description: Coffee, quantity: 1, unit_price: "5.00"}]\n'),
        "documents/2025/01/inv-model.yaml": (
            "kind: invoice\ncustomer: acme\ndate: 2025-01-01\n"
            'lines: [{description: "Hosting {month}", quantity: 1, unit_price: "90.00"}]\n'),
        "recurrences/hosting.yaml": (
            "name: Hosting ACME\ntemplate: inv-model\nrule: FREQ=MONTHLY;BYMONTHDAY=1\n"
            "start: 2025-04-01\n"),
        # a recurrence the run stopped: the dashboard's alert
        "recurrences/stopped.yaml": (
            "name: Stopped one\ntemplate: inv-one\nrule: FREQ=MONTHLY\nstart: 2025-01-05\n"
            "last: 2025-01-05\nstopped:\n  at: \"2025-02-05T06:00:00+00:00\"\n"
            "  occurrence: 2025-02-05\n  cause: \"template inv-one has no e-mail\"\n"),
        # an expense, paid
        "documents/2025/01/exp-paid.yaml": (
            'kind: expense\nsupplier: acme\ndate: 2025-01-05\ntotal: "40.00"\n'
            'payments: [{date: 2025-01-06, amount: "40.00"}]\n'),
    })






async def loaded(pilot) -> None:
    app = pilot.app
    await until(pilot, lambda: app.snapshot is not None and app.snapshot.complete
                and app.loaded.is_set())


def typed_fast(app, text: str) -> None:
    """Keys as a fast typist's terminal sends them: all queued at once,
    none waiting for the app to finish with the one before."""
    for char in text:
        key = char if char.isalnum() else _character_to_key(char)
        event = events.Key(key, char)
        event.set_sender(app)
        app._driver.send_message(event)


# ---------------------------------------------------------------- the recurrence form

@pytest.mark.parametrize("rule", ["FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=MONTHLY;BYMONTHDAY=15",
                                  "FREQ=WEEKLY;BYDAY=MO,TH", "FREQ=YEARLY;BYMONTH=3"])
def test_a_rule_typed_fast_is_kept_whole(book, rule):
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    seen = []

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            await pilot.press("R")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceListScreen))
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceForm))
            form = app.screen
            box = form.query_one("#rule", Input)
            for _ in range(3):
                box.focus()
                box.value = ""
                await pilot.pause()
                typed_fast(app, rule)
                await until(pilot, lambda: len(box.value) >= len(rule))
                await pilot.pause(0.3)
                seen.append((box.value, form.query_one("#frequency", Select).value))

    asyncio.run(run())
    preset = "last_day" if rule.endswith("=-1") else "raw"
    assert seen == [(rule, preset)] * 3


def test_picking_a_frequency_still_writes_its_rule(book):
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            app.action_new_recurrence()
            await until(pilot, lambda: isinstance(app.screen, RecurrenceForm))
            form = app.screen
            form.query_one("#frequency", Select).focus()
            await pilot.press("enter")              # the list opens on "Monthly"
            await pilot.press("down", "enter")      # Quarterly
            await pilot.pause(0.2)
            seen["rule"] = form.query_one("#rule", Input).value

    asyncio.run(run())
    assert seen["rule"] == "FREQ=MONTHLY;INTERVAL=3"


def test_a_refused_recurrence_keeps_what_was_typed_and_says_why_by_the_template(book):
    before = commits(book)
    app = FacturierApp(book, as_of=AS_OF, lang="fr", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            app.action_new_recurrence()
            await until(pilot, lambda: isinstance(app.screen, RecurrenceForm))
            form = app.screen
            await pilot.press(*"Support ACME")
            await pilot.press("tab", *"inv-nope")
            await pilot.press("ctrl+s")
            error = form.query_one("#error-template", Label)
            await until(pilot, lambda: error.display and not form.waiting)
            seen["error"] = str(error.render())
            seen["screen"] = app.screen is form
            seen["kept"] = (form.query_one("#name", Input).value,
                            form.query_one("#template", Input).value)
            # the person puts the right template: done, the form closes
            form.query_one("#template", Input).value = ""
            await pilot.click("#template")
            await pilot.press(*"inv-model", "ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, RecurrenceForm) and not app.busy)

    asyncio.run(run())
    assert seen["screen"] and seen["kept"] == ("Support ACME", "inv-nope")
    assert "Refusé" in seen["error"] and "inv-nope" in seen["error"], seen
    assert commits(book) == before + 1
    assert load_book(book).recurrence("support-acme").template == "inv-model"


# ---------------------------------------------------------------- the dashboard

def test_the_dashboard_keys_go_through_the_alert_and_every_status(book):
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    seen = []

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            screen = app.screen
            assert isinstance(screen, DashboardScreen)

            def where():
                f = screen.focused
                if isinstance(f, StatusTile):
                    return f.id
                return "%s in %s" % (type(f).__name__, f.parent.id if f else None)
            seen.append(where())
            for key in ("up",) * 7 + ("down", "tab", "shift+tab", "shift+tab"):
                await pilot.press(key)
                seen.append(where())
            # Enter on the alert opens the stopped recurrences
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceListScreen))

    asyncio.run(run())
    # the first status with documents (the templates line, in "In progress")
    assert seen[0] == "templates"
    # ↑ through every status above it, then the alert's button, where it stays
    assert seen[1:8] == ["status-expense_open", "status-recurring", "status-processing",
                         "status-work_order", "status-offer", "Button in alert-stopped",
                         "Button in alert-stopped"]
    # ↓ back; Tab and shift+Tab never land on anything unseen
    assert seen[8:] == ["status-offer", "status-work_order", "status-offer",
                        "Button in alert-stopped"]


# ---------------------------------------------------------------- lists

def test_after_a_search_s_sorts(book):
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            await pilot.press("a")
            await until(pilot, lambda: isinstance(app.screen, DocumentListScreen))
            screen = app.screen
            box = screen.query_one("#search", Input)
            await pilot.press("slash", *"acme")
            seen["found"] = len(screen.table.rows)
            await pilot.press("escape")             # the search is cleared...
            await pilot.press("s")                  # ...and `s` sorts
            seen["box"] = box.value
            seen["sorted"] = screen.table.sort_column
            await pilot.press("slash", *"cafe", "enter", "s")
            seen["box2"] = box.value
            seen["sorted2"] = screen.table.sort_column
            seen["rows"] = [r.id for r in screen.table.rows]
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
            # the recurrences' list: the same keys, and its search folds accents too
            await pilot.press("R")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceListScreen))
            screen = app.screen
            await pilot.press("slash", *"hébergement", "escape")
            await pilot.press("slash", *"Hösting", "down", "s")
            seen["recurrences"] = [r.id for r in screen.table.rows]
            seen["rec_sorted"] = screen.table.sort_column

    asyncio.run(run())
    assert seen["found"] == 3                   # inv-one, inv-model, exp-paid
    assert seen["box"] == "" and seen["sorted"] is not None
    assert seen["box2"] == "cafe" and seen["sorted2"] is not None and seen["rows"] == ["inv-todo"]
    assert seen["recurrences"] == ["hosting"] and seen["rec_sorted"] is not None


# ---------------------------------------------------------------- the palette

@pytest.mark.parametrize("doc_id, typed, opens", [
    ("inv-todo", "Delete", Confirm),            # no key at all: only in the palette
    ("inv-one", "Returned mail", Confirm),      # beyond the footer at 80 columns
])
def test_document_actions_beyond_the_footer_are_in_the_palette(book, doc_id, typed, opens):
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            app.open_document(doc_id)
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            from engine.api import available_actions
            screen = app.screen
            book_ = app.snapshot.book
            seen["offered"] = {a.name for a in available_actions(book_, book_.document(doc_id), AS_OF)
                               if a.available}
            from tui.commands import FacturierCommands
            seen["palette"] = [text for text, _c, _h in FacturierCommands(screen)._document_actions()]
            await pilot.press("ctrl+p")
            await pilot.pause(0.2)
            await pilot.press(*typed)
            await pilot.pause(0.5)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, opens))

    asyncio.run(run())
    from tui.strings import tr
    for name in seen["offered"]:
        assert any(text.startswith(tr("act." + name, "en") + " —") for text in seen["palette"]), \
            (name, seen["palette"])
    assert any(text.startswith("PDF") for text in seen["palette"])


# ---------------------------------------------------------------- templates

def test_a_template_draft_is_shown_as_a_template_not_as_work_to_do(book):
    b = load_book(book)
    assert template_drafts(b) == {"inv-model"}      # inv-one is a template too, but validated
    statuses = {r.id: r.status for r in document_rows(b, AS_OF)}
    assert statuses["inv-model"] == statuses["inv-todo"] == "awaiting_validation"
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            dash = app.screen
            seen["awaiting"] = dash.query_one("#status-awaiting_validation", StatusTile).count
            templates = dash.query_one("#templates", StatusTile)
            seen["templates"] = (templates.display, templates.count)
            dash.query_one("#status-awaiting_validation", StatusTile).focus()
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DocumentListScreen))
            seen["to_validate"] = [r.id for r in app.screen.table.rows]
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
            templates.focus()
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DocumentListScreen))
            listing = app.screen
            seen["template_rows"] = [r.id for r in listing.table.rows]
            number = listing.table.columns[0].cell(listing.table.rows[0])
            status = listing.table.columns[-1].cell(listing.table.rows[0])
            seen["cells"] = (number, status)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            seen["title"] = (app.screen.title, app.screen.sub_title)

    asyncio.run(run())
    assert seen["awaiting"] == 1 and seen["to_validate"] == ["inv-todo"]
    assert seen["templates"] == (True, 1) and seen["template_rows"] == ["inv-model"]
    assert "template" in seen["cells"][0] and "draft" not in seen["cells"][0]
    assert seen["cells"][1] == "Recurrence template"
    assert "template" in seen["title"][0] and seen["title"][1] == "Recurrence template"


# ---------------------------------------------------------------- the document view

def test_the_vat_column_shows_the_books_rate_and_an_expense_is_no_draft(book):
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot)
            app.open_document("inv-one")
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            seen["lines"] = _plain(app.screen.query_one("#doc-lines"))
            await pilot.press("escape")
            app.open_document("exp-paid")
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            seen["expense"] = (app.screen.title, _plain(app.screen.query_one("#doc-head")))

    asyncio.run(run())
    work = next(line for line in seen["lines"].splitlines() if "Work" in line)
    books = next(line for line in seen["lines"].splitlines() if "Books" in line)
    assert " 8.1 " in work and " 2.6 " in books
    title, head = seen["expense"]
    assert "draft" not in title.lower() and "draft" not in head.lower()
    assert "Validated" not in head and "Paid expenses" in head


def _plain(widget) -> str:
    from rich.console import Console
    console = Console(width=78, record=True, file=open("/dev/null", "w"))
    console.print(widget.content)
    return console.export_text()


def test_the_app_imports_no_clock_of_the_cli():
    import subprocess
    import sys
    code = ("import sys, tui.app, tui.edit_forms, tui.recurrence_form, tui.dashboard; "
            "print(sorted(m for m in sys.modules if m.startswith('engine.cli')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"
    from pathlib import Path
    root = Path(__file__).resolve().parents[1] / "tui"
    for path in root.glob("*.py"):
        if path.name == "entry.py":         # the console script: the CLI plus `tui`
            continue
        assert "today_in" not in path.read_text() and "engine.cli" not in path.read_text(), path
