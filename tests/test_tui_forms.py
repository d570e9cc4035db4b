"""The app's forms (tui/edit_forms.py) driven as a person would: a document
made with a contact picked by name and lines totalled as they are typed, a
contact, the settings; each OK is one commit, and a refusal keeps what was
typed with the engine's reason beside the field."""
from __future__ import annotations

import asyncio
import datetime as dt

import pytest
from textual.widgets import Input, Label, OptionList, Static

from engine.book import load_book
from tests.conftest import git
from tui.app import FacturierApp
from tui.document_view import DocumentScreen
from tui.edit_forms import ContactForm, DocumentForm, SettingsForm
from tui.messages import OpenRecurrenceForm
from tests.tui_support import commits, until

AS_OF = dt.date(2025, 3, 1)


@pytest.fixture
def book(make_book):
    return make_book({
        "facturier.yaml": 'currency: CHF\nvat: "8.1"\n',
        "contacts/acme.yaml": "name: ACME SA\nemail: ap@acme.example\n",
        "contacts/cafe-creme.yaml": "name: Café Crème\n",
        "contacts/cafferty.yaml": "name: Cafferty Ltd\n",
        "documents/2025/01/inv-one.yaml": (
            "kind: invoice\ncustomer: acme\ndate: 2025-01-05\nnumber: 2025-0001\n"
            "validated: 2025-01-05\nlines:\n"
            '  - {description: Work, quantity: 2, unit_price: "500.00", vat: "8.1"}\n'),
    })






async def loaded(pilot, app) -> None:
    await until(pilot, lambda: app.snapshot is not None and app.snapshot.complete)


def _drawn(dashboard) -> bool:
    """The dashboard composed and showing the book, not "Loading…" (a small
    book may load before the dashboard's widgets are composed)."""
    loading = dashboard.query("#loading")
    return bool(loading) and not loading.first().display


def text_of(widget) -> str:
    """What a Static shows, as plain text."""
    from rich.console import Console
    content = widget.content
    if isinstance(content, str):
        return content
    console = Console(width=80, record=True, file=open("/dev/null", "w"))
    console.print(content)
    return console.export_text()


async def type_into(pilot, screen, selector: str, text: str) -> None:
    box = screen.query_one(selector, Input)
    box.focus()
    box.value = ""
    await pilot.pause()
    await pilot.press(*text) if text else None
    await pilot.pause()


def test_a_new_invoice_with_a_contact_picked_by_name_and_live_totals(book):
    before = commits(book)
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, DocumentForm))
            form = app.screen
            # "cafe" finds "Café Crème" (accents folded), and "Cafferty" too
            await type_into(pilot, form, "#field-contact", "cafe")
            matches = form.query_one("#contact-matches", OptionList)
            assert matches.display and matches.option_count == 1
            await type_into(pilot, form, "#field-contact", "caf")
            assert matches.option_count == 2
            await pilot.press("down", "enter")        # the first: Café Crème
            assert form.contact_id == "cafe-creme"
            assert form.query_one("#field-contact", Input).value == "Café Crème"
            await type_into(pilot, form, "#line-0-description", "Design")
            await type_into(pilot, form, "#line-0-quantity", "3")
            await type_into(pilot, form, "#line-0-unit_price", "100")
            form.action_add_line()
            await pilot.pause()
            await type_into(pilot, form, "#line-1-description", "Books")
            await type_into(pilot, form, "#line-1-unit_price", "50")
            await type_into(pilot, form, "#line-1-vat", "2.6")
            totals = text_of(form.query_one("#totals", Static))
            seen["totals"] = totals
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, DocumentForm))

    asyncio.run(run())
    # net 350.00; VAT 8.1% of 300 = 24.30 and 2.6% of 50 = 1.30; total 375.60
    for words in ("350.00", "VAT 2.6%", "1.30", "VAT 8.1%", "24.30", "375.60"):
        assert words in seen["totals"], (words, seen["totals"])
    assert commits(book) == before + 1
    assert "Facturier-Action: document.create" in git(book, "log", "-1", "--format=%B")
    made = [d for d in load_book(book).documents.values() if d.contact == "cafe-creme"]
    assert len(made) == 1 and made[0].kind == "invoice" and made[0].date == AS_OF
    assert [(ln.description, ln.quantity, ln.unit_price, ln.vat) for ln in made[0].lines] == \
        [("Design", 3, 100, None), ("Books", 1, 50, made[0].lines[1].vat)]
    assert str(made[0].lines[1].vat) == "2.6"


def test_the_document_form_opened_again_shows_only_what_it_opens_on(book):
    """The App keeps one document form and resets it at each opening: what was
    typed and cancelled, another document's lines, an old error never show."""
    before = commits(book)
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    def fields(form) -> dict:
        return {i.id: i.value for i in form.query(Input)}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, DocumentForm))
            form = app.screen
            seen["fresh"] = fields(form)
            await type_into(pilot, form, "#field-contact", "caf")
            await type_into(pilot, form, "#line-0-description", "Design")
            await type_into(pilot, form, "#line-0-unit_price", "12x")
            await pilot.press("ctrl+s")             # refused by the form: errors shown
            await pilot.press("escape")
            await until(pilot, lambda: not isinstance(app.screen, DocumentForm))
            app.open_document("inv-one")
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, DocumentForm)
                        and app.screen.query("#line-0-description"))
            await pilot.pause(0.2)
            seen["edit"] = fields(app.screen)
            seen["edit_title"] = str(app.screen.query_one(".dialog-title", Label).render())
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            await pilot.press("escape")
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, DocumentForm)
                        and app.screen.query("#line-0-description"))
            await pilot.pause(0.2)
            again = app.screen
            seen["same"] = again is form
            seen["again"] = fields(again)
            seen["errors"] = [text_of(label) for label in again.query(".field-error")
                              if label.display]
            seen["matches"] = again.query_one("#contact-matches", OptionList).display
            # and it still makes a document, once
            await type_into(pilot, again, "#field-contact", "ACME")
            await type_into(pilot, again, "#line-0-description", "Audit")
            await type_into(pilot, again, "#line-0-unit_price", "200")
            seen["totals"] = text_of(again.query_one("#totals", Static))
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, DocumentForm))

    asyncio.run(run())
    assert seen["same"] and seen["again"] == seen["fresh"], (seen["again"], seen["fresh"])
    assert seen["errors"] == [] and seen["matches"] is False
    assert seen["edit"]["field-contact"] == "ACME SA" and seen["edit"]["field-date"] == "2025-01-05"
    assert seen["edit"]["line-0-description"] == "Work" and "line-1-description" not in seen["edit"]
    assert "2025-0001" in seen["edit_title"]
    assert "216.20" in seen["totals"]           # 200 + 8.1 %
    assert commits(book) == before + 1
    made = [d for d in load_book(book).documents.values() if d.id != "inv-one"]
    assert [(d.contact, [ln.description for ln in d.lines]) for d in made] == [("acme", ["Audit"])]


def test_a_refused_edit_keeps_what_was_typed_and_says_why_by_the_field(book):
    before = commits(book)
    app = FacturierApp(book, as_of=AS_OF, lang="fr", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            app.open_document("inv-one")
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, DocumentForm))
            form = app.screen
            # a validated invoice keeps its lines (SPEC 2): the engine refuses
            await type_into(pilot, form, "#line-0-unit_price", "450")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: form.query_one("#error-lines", Label).display
                        or form.query_one("#error-form", Label).display)
            shown = [text_of(label) for label in form.query(".field-error") if label.display]
            seen["shown"] = shown
            assert app.screen is form
            assert form.query_one("#line-0-unit_price", Input).value == "450"
            # the person puts the price back and changes the notes: accepted
            await type_into(pilot, form, "#line-0-unit_price", "500.00")
            await type_into(pilot, form, "#field-notes", "Merci")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, DocumentForm))

    asyncio.run(run())
    assert any("Refusé" in text and "lignes" in text for text in seen["shown"]), seen
    assert commits(book) == before + 1
    assert load_book(book).document("inv-one").notes == "Merci"


def test_a_contact_refused_by_the_field_then_made(book):
    before = commits(book)
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            app.action_new_contact()
            await until(pilot, lambda: isinstance(app.screen, ContactForm))
            form = app.screen
            await type_into(pilot, form, "#field-id", "acme")
            await type_into(pilot, form, "#field-name", "Another ACME")
            await type_into(pilot, form, "#field-email", "billing@another.example")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: form.query_one("#error-id", Label).display)
            seen["id"] = text_of(form.query_one("#error-id", Label))
            assert form.query_one("#field-name", Input).value == "Another ACME"
            await type_into(pilot, form, "#field-id", "acme2")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, ContactForm))

    asyncio.run(run())
    assert "already exists" in seen["id"]
    assert commits(book) == before + 1
    contact = load_book(book).contact("acme2")
    assert contact is not None and contact.email == "billing@another.example"


def test_the_settings_form_edits_facturier_yaml(book):
    before = commits(book)
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            app.action_settings()
            await until(pilot, lambda: isinstance(app.screen, SettingsForm))
            form = app.screen
            await type_into(pilot, form, "#field-currency", "euro")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: form.query_one("#error-currency", Label).display)
            seen["currency"] = text_of(form.query_one("#error-currency", Label))
            await type_into(pilot, form, "#field-currency", "EUR")
            await type_into(pilot, form, "#field-company_name", "Atelier Sàrl")
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, SettingsForm))

    asyncio.run(run())
    assert "not a currency code" in seen["currency"]
    assert commits(book) == before + 1
    settings = load_book(book).settings
    assert (settings.currency, settings.company.name) == ("EUR", "Atelier Sàrl")
    assert str(settings.vat) == "8.1"


# ---------------------------------------------------------------- snapshots (80×24, en and fr)

async def _open(pilot, opener, form_type) -> None:
    app = pilot.app
    await loaded(pilot, app)
    # the dashboard under the form drawn with the book, not "Loading…"
    await until(pilot, lambda: app.loaded.is_set()
                and _drawn(app.dashboard))
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.2)                  # its new content composited before it is covered
    opener(app)
    await until(pilot, lambda: isinstance(app.screen, form_type))
    steady_cursors(app.screen)


def steady_cursors(form) -> None:
    """The input cursor drawn as it is between blinks, so that a snapshot
    never depends on when in the blink it is taken (a loaded machine)."""
    for box in form.query(Input):
        box.cursor_blink = False


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_snapshot_new_document(book, snap_compare, lang):
    app = FacturierApp(book, as_of=AS_OF, lang=lang, watch=False)

    async def run_before(pilot):
        await _open(pilot, lambda a: a.action_new_document(), DocumentForm)
        await type_into(pilot, pilot.app.screen, "#field-contact", "caf")
        await type_into(pilot, pilot.app.screen, "#line-0-description", "Design")
        await type_into(pilot, pilot.app.screen, "#line-0-unit_price", "120")
        form = pilot.app.screen
        # everything typed has been shown: the matches and the totals
        await until(pilot, lambda: form.query_one("#contact-matches", OptionList).option_count == 2
                    and "129" in text_of(form.query_one("#totals", Static)))
        steady_cursors(form)            # the line rows typed in came after the opening
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.2)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_snapshot_edit_document(book, snap_compare, lang):
    app = FacturierApp(book, as_of=AS_OF, lang=lang, watch=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=lambda pilot: _open(
        pilot, lambda a: a.action_edit_document("inv-one"), DocumentForm))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_snapshot_contact_form(book, snap_compare, lang):
    app = FacturierApp(book, as_of=AS_OF, lang=lang, watch=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=lambda pilot: _open(
        pilot, lambda a: a.edit_contact("acme"), ContactForm))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_snapshot_settings_form(book, snap_compare, lang):
    app = FacturierApp(book, as_of=AS_OF, lang=lang, watch=False)
    assert snap_compare(app, terminal_size=(80, 24), run_before=lambda pilot: _open(
        pilot, lambda a: a.action_settings(), SettingsForm))


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_snapshot_recurrence_form_refused(book, snap_compare, lang):
    """The recurrence form as the engine refused it: everything typed kept,
    the reason under the template it is about."""
    from tui.recurrence_form import RecurrenceForm
    app = FacturierApp(book, as_of=AS_OF, lang=lang, watch=False)

    async def run_before(pilot):
        await _open(pilot, lambda a: a.action_new_recurrence(), RecurrenceForm)
        form = pilot.app.screen
        await type_into(pilot, form, "#name", "Support ACME")
        await type_into(pilot, form, "#template", "inv-nope")
        await type_into(pilot, form, "#rule", "FREQ=MONTHLY;BYMONTHDAY=-1")
        await pilot.press("ctrl+s")
        error = form.query_one("#error-template", Label)
        await until(pilot, lambda: error.display and not form.waiting)
        form.query_one("#name", Input).focus()
        for box in form.query(Input):       # the cursor drawn, never half-way through a blink
            box.cursor_blink = False
        await pilot.pause(0.2)
        await pilot.wait_for_scheduled_animations()

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_snapshot_recurrence_form_edit(book, snap_compare, lang):
    from tui.recurrence_form import RecurrenceForm
    root = book
    (root / "recurrences").mkdir(exist_ok=True)
    (root / "recurrences" / "hosting.yaml").write_text(
        "name: Hosting ACME\ntemplate: inv-one\nrule: FREQ=MONTHLY;BYMONTHDAY=-1;COUNT=12\n"
        "start: 2025-01-31\nissue: validate\nlead_days: 3\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "A recurrence (test set-up)")
    app = FacturierApp(root, as_of=AS_OF, lang=lang, watch=False)

    async def run_before(pilot):
        await _open(pilot, lambda a: a.post_message(OpenRecurrenceForm("hosting")), RecurrenceForm)
        form = pilot.app.screen
        # drawn whole: the preview computed, the name field focused
        await until(pilot, lambda: "2025-03-31" in str(form.query_one("#preview").render())
                    and form.query_one("#name", Input).has_focus)
        for box in form.query(Input):       # the cursor drawn, never half-way through a blink
            box.cursor_blink = False
        await pilot.wait_for_scheduled_animations()
        await pilot.pause(0.3)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)


@pytest.mark.parametrize("typed", ["café", "cafe", "CAFÉ crème", "Crème"])
def test_the_app_search_folds_accents_as_status_search_does(make_book, typed):
    from engine.listing import document_rows, filter_rows
    from tui.document_list import DocumentListScreen
    root = make_book({
        "facturier.yaml": "currency: CHF\n",
        "contacts/cafe-creme.yaml": "name: Café Crème\n",
        "contacts/acme.yaml": "name: ACME SA\n",
        "documents/2025/01/inv-a.yaml": "kind: invoice\ncustomer: cafe-creme\ndate: 2025-01-05\n"
                                        'lines: [{description: Coffee, quantity: 1, unit_price: "5"}]\n',
        "documents/2025/01/inv-b.yaml": "kind: invoice\ncustomer: acme\ndate: 2025-01-06\n"
                                        'lines: [{description: Tea, quantity: 1, unit_price: "4"}]\n',
    })
    book = load_book(root)
    engine_found = [r.id for r in filter_rows(document_rows(book, AS_OF), search=typed, book=book)]
    assert engine_found == ["inv-a"]
    app = FacturierApp(root, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            app.open_list("all", ids=frozenset(r.id for r in app.snapshot.rows))
            await until(pilot, lambda: isinstance(app.screen, DocumentListScreen))
            await pilot.press("slash")
            await type_into(pilot, app.screen, "#search", typed)
            await pilot.pause(0.1)
            seen["ids"] = [row.id for row in app.screen.table.rows]

    asyncio.run(run())
    assert seen["ids"] == engine_found


def test_every_offered_action_of_a_document_is_in_the_palette(book):
    from tui.forms import ActionForm
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            app.open_document("inv-one")
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            await pilot.press("ctrl+p")
            await pilot.pause(0.2)
            await pilot.press(*"Write off")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ActionForm))
            seen["title"] = app.screen.form_title

    asyncio.run(run())
    assert seen["title"].startswith("Write off") and "2025-0001" in seen["title"]


def test_an_expense_is_never_called_a_draft(make_book):
    root = make_book({"facturier.yaml": "currency: CHF\n", "contacts/acme.yaml": "name: ACME\n",
                      "documents/2025/01/exp-a.yaml": 'kind: expense\nsupplier: acme\n'
                                                      'date: 2025-01-05\ntotal: "40.00"\n'
                                                      'payments: [{date: 2025-01-06, amount: "40.00"}]\n'})
    from tui.document_list import document_columns
    app = FacturierApp(root, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await loaded(pilot, app)
            row = app.snapshot.rows[0]
            seen["cell"] = document_columns("en")[0].cell(row)
            app.open_document("exp-a")
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            seen["title"] = app.screen.title

    asyncio.run(run())
    assert "draft" not in seen["title"].lower() and "exp-a" in seen["title"]
    assert "draft" not in seen["cell"].lower() and "exp-a" in seen["cell"]


# ---------------------------------------------------------------- the kept form, the kept footer

@pytest.fixture
def two_lines(book):
    """The book with a draft of two lines (its edit form has more line rows
    than a new document's)."""
    (book / "documents/2025/02").mkdir(parents=True)
    (book / "documents/2025/02/inv-two.yaml").write_text(
        "kind: invoice\ncustomer: cafferty\ndate: 2025-02-03\nlines:\n"
        '  - {description: Audit, quantity: 1, unit_price: "900.00"}\n'
        '  - {description: Travel, quantity: 2, unit_price: "45.50", vat: "0"}\n')
    git(book, "add", "-A")
    git(book, "commit", "-qm", "A draft of two lines (test set-up)")
    return book


async def _drawn_form(pilot, opener) -> str:
    """Open the document form and return the whole screen as drawn."""
    app = pilot.app
    opener(app)
    await until(pilot, lambda: isinstance(app.screen, DocumentForm)
                and app.screen.query("#line-0-description"))
    steady_cursors(app.screen)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.2)
    return app.export_screenshot()


async def _dashboard_drawn(pilot) -> None:
    app = pilot.app
    await loaded(pilot, app)
    await until(pilot, lambda: app.loaded.is_set()
                and _drawn(app.dashboard))
    await pilot.wait_for_scheduled_animations()
    await pilot.pause(0.2)


def test_the_document_form_opened_again_is_drawn_as_when_first_opened(two_lines):
    """The App keeps its document form and shows it again without laying it
    out or restyling it (docs/performance.md): after typing, an error, a
    cancel, an edit form of more lines, a resize, it is drawn exactly as at
    its first opening; and after a theme change exactly as a form opened
    first in that theme."""
    new = lambda a: a.action_new_document()          # noqa: E731
    seen = {}

    async def first_app():
        app = FacturierApp(two_lines, as_of=AS_OF, lang="en", watch=False)
        async with app.run_test(size=(80, 24)) as pilot:
            await _dashboard_drawn(pilot)
            seen["first"] = await _drawn_form(pilot, new)
            form = app.screen
            await type_into(pilot, form, "#field-contact", "caf")
            await type_into(pilot, form, "#line-0-description", "Design")
            await type_into(pilot, form, "#line-0-unit_price", "12x")
            await type_into(pilot, form, "#field-due", "soon")
            await pilot.press("ctrl+s")             # refused by the form: errors shown
            await until(pilot, lambda: form.query_one("#error-due", Label).display)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.dashboard)
            edit = await _drawn_form(pilot, lambda a: a.action_edit_document("inv-two"))
            seen["edit_rows"] = len(app.screen.query("#line-1-description"))
            assert edit != seen["first"]
            await pilot.press("escape")
            await pilot.resize_terminal(100, 30)
            await _drawn_form(pilot, new)
            await pilot.press("escape")
            await pilot.resize_terminal(80, 24)
            await until(pilot, lambda: app.screen is app.dashboard)
            await pilot.pause(0.2)
            seen["again"] = await _drawn_form(pilot, new)
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.dashboard)
            app.theme = "textual-light"
            await pilot.pause(0.2)
            seen["light_again"] = await _drawn_form(pilot, new)

    async def light_app():
        app = FacturierApp(two_lines, as_of=AS_OF, lang="en", watch=False)
        async with app.run_test(size=(80, 24)) as pilot:
            app.theme = "textual-light"
            await _dashboard_drawn(pilot)
            seen["light_first"] = await _drawn_form(pilot, new)

    asyncio.run(first_app())
    asyncio.run(light_app())
    assert seen["edit_rows"] == 1
    assert seen["again"] == seen["first"]
    assert seen["light_again"] == seen["light_first"]
    assert seen["light_first"] != seen["first"]


def test_a_screen_keeps_its_footer_under_a_form_and_redraws_it_when_its_keys_change(two_lines):
    """The footer of the screen beneath a form is not composed again when
    the form opens and closes (its keys are the same); when the keys change
    (a draft validated offers other actions) it shows the new ones."""
    from textual.widgets._footer import FooterKey
    from tui.forms import Confirm
    app = FacturierApp(two_lines, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    def footer_keys(screen) -> list:
        return list(screen.query(FooterKey))

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await _dashboard_drawn(pilot)
            before = footer_keys(app.dashboard)
            await _drawn_form(pilot, lambda a: a.action_new_document())
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is app.dashboard)
            await pilot.pause(0.2)
            after = footer_keys(app.dashboard)
            seen["same_widgets"] = len(before) > 3 and all(a is b for a, b in zip(before, after)) \
                and len(before) == len(after)
            app.open_document("inv-two")
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            view = app.screen
            await pilot.pause(0.2)
            seen["draft"] = {key.key for key in footer_keys(view)}
            await pilot.press("v")
            await until(pilot, lambda: isinstance(app.screen, Confirm))
            await pilot.press("y")
            await until(pilot, lambda: app.screen is view and "p" in
                        {key.key for key in footer_keys(view)})
            seen["validated"] = {key.key for key in footer_keys(view)}

    asyncio.run(run())
    assert seen["same_widgets"]
    assert "v" in seen["draft"] and "p" not in seen["draft"]
    assert "v" not in seen["validated"] and {"p", "m"} <= seen["validated"]
