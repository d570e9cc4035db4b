"""More flows of the terminal app, on a real book in a real git repository:
creating a missing occurrence and following the links between a generated
document and its recurrence, the recurrence form and its live preview, the
command palette, and the problems screen ("fix it, then press r")."""
from __future__ import annotations

import asyncio

import test_tui_flows
from test_tui_flows import app_for, commits, git, stop_recurrence, trailers, until
from tui.dashboard import DashboardScreen
from tui.history_pane import HistoryPane
from tui.document_view import DocumentScreen
from tui.problems import ProblemsScreen
from tui.recurrence_form import RecurrenceForm
from tui.recurrence_list import RecurrenceListScreen
from tui.recurrence_view import RecurrenceScreen
from tui.repair_dialog import RepairDialog

book = test_tui_flows.book             # the fixture: the same real book in git


def test_create_the_one_missing_document_then_follow_the_links(book):
    stop_recurrence(book, "rec-00000", "2026-05-01", "the SMTP server was down")
    before = commits(book)
    app = app_for(book)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None and app.snapshot.complete)
            app.action_recurrences(stopped_only=True)
            await until(pilot, lambda: isinstance(app.screen, RecurrenceListScreen))
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceScreen))
            summary = app.screen
            assert summary.detail.item.state == "stopped"
            await pilot.press("p")
            await until(pilot, lambda: isinstance(app.screen, RepairDialog))
            assert not app.screen.query_one("#create").disabled
            await pilot.click("#create")
            await until(pilot, lambda: app.screen is summary and not app.busy
                        and summary.detail.item.state == "active" and summary.detail.documents,
                        timeout=30)
            generated = summary.detail.documents[0]
            assert generated.id == "rec-00000-2026-06-01"
            summary.documents.focus()
            await pilot.press("enter")          # preview the generated document
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            link = app.screen.query_one("#link-recurrence")
            assert link.display and "Recurring service 0" in str(link.label)
            # the history pane names the commit that made it
            pane = app.screen.query_one(HistoryPane)
            await until(pilot, lambda: pane.entries is not None, timeout=30)
            assert "recurrence.create-missing" in [e.action for e in pane.entries]
            await pilot.click("#link-recurrence")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceScreen)
                        and app.screen is not summary)
            # its history, oldest first, filterable by action
            pane = app.screen.query_one(HistoryPane)
            await until(pilot, lambda: pane.entries is not None, timeout=30)
            actions = [e.action for e in pane.entries]
            assert actions[-2:] == ["manual", "recurrence.create-missing"]
            pane.query_one("#history-filter").value = "recurrence.create-missing"
            await pilot.pause()
            assert [e.action for e in pane.shown] == ["recurrence.create-missing"]

    asyncio.run(run())
    assert commits(book) == before + 1
    assert "Facturier-Action: recurrence.create-missing" in trailers(book)


def test_recurrence_form_previews_and_creates(book):
    before = commits(book)
    app = app_for(book)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None and app.snapshot.complete)
            await pilot.press("R")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceListScreen))
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceForm))
            form = app.screen
            form.query_one("#name").value = "Hosting test"
            form.query_one("#template").value = "inv-20260310-000003"
            form.query_one("#start").value = "2026-07-01"
            form.query_one("#frequency").value = "last_day"
            await pilot.pause()
            assert form.query_one("#rule").value == "FREQ=MONTHLY;BYMONTHDAY=-1"
            preview = str(form.query_one("#preview").render())
            assert "2026-07-31, 2026-08-31, 2026-09-30" in preview
            # a rule that does not parse: said in the preview, nothing committed
            form.query_one("#rule").value = "FREQ=SOMETIMES"
            await pilot.pause()
            assert "Rule problem" in str(form.query_one("#preview").render())
            assert form.query_one("#frequency").value == "raw"
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert app.screen is form
            form.query_one("#frequency").value = "quarterly"
            form.query_one("#count").value = "4"
            await pilot.pause()
            assert "2026-10-01" in str(form.query_one("#preview").render())
            await pilot.press("ctrl+s")
            await until(pilot, lambda: not isinstance(app.screen, RecurrenceForm) and not app.busy
                        and app.snapshot.book.recurrence("hosting-test") is not None, timeout=30)

    asyncio.run(run())
    assert commits(book) == before + 1
    assert "Facturier-Action: recurrence.create" in trailers(book)
    text = (book / "recurrences" / "hosting-test.yaml").read_text()
    assert "FREQ=MONTHLY;INTERVAL=3;COUNT=4" in text and "2026-07-01" in text


def test_palette_opens_a_document_by_number(book):
    app = app_for(book, lang="fr")

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None and app.snapshot.complete)
            await pilot.press("ctrl+p")
            await pilot.pause()
            for ch in "2026-0160":
                await pilot.press(ch)
            await pilot.pause(0.5)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            assert app.screen.detail.doc.number == "2026-0160"
            assert "Facture" in app.screen.title

    asyncio.run(run())


def test_invalid_file_alert_problems_screen_and_reload(book):
    broken = next(book.glob("documents/2026/06/*.yaml"))
    good = broken.read_text()
    broken.write_text(good.replace("kind: invoice", "kind: invoice\nkind: quote", 1)
                      if "kind: invoice" in good else "kind: [\n")
    app = app_for(book)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None)
            alert = app.screen.query_one("#alert-problems")
            assert alert.has_class("-shown")
            await pilot.press("e")
            await until(pilot, lambda: isinstance(app.screen, ProblemsScreen))
            shown = str(app.screen.query_one("#problems").render())
            assert broken.relative_to(book).as_posix() + ":" in shown
            assert "press r to reload" in str(app.screen.query_one("#problems-hint").render())
            broken.write_text(good)             # the person fixes the file...
            first = app.snapshot
            await pilot.press("r")              # ...and reloads
            await until(pilot, lambda: app.snapshot is not first)
            assert "No problem" in str(app.screen.query_one("#problems").render())
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, DashboardScreen))
            assert not app.screen.query_one("#alert-problems").has_class("-shown")

    asyncio.run(run())
    assert git(book, "status", "--porcelain") == ""


def test_a_refused_action_keeps_its_form_open_with_the_reason_and_no_commit(book):
    app = app_for(book)
    before = commits(book)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None and app.snapshot.complete)
            # an invoice that can be put on hold (one with a hold to come cannot)
            row = next(r for r in app.snapshot.rows if r.status == "processing"
                       and not app.snapshot.book.document(r.id).holds)
            app.open_document(row.id)
            await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
            doc_screen = app.screen
            # someone is editing the file by hand, not committed yet
            path = next(book.glob("documents/*/*/%s.yaml" % row.id))
            path.write_text(path.read_text() + "notes: \"call them\"\n")
            await pilot.press("h")
            await until(pilot, lambda: app.screen is not doc_screen)
            form = app.screen
            form.query_one("#field-reason").value = "disputed"
            await pilot.press("ctrl+s")
            error = form.query_one("#error-form")
            await until(pilot, lambda: not app.busy and error.display, timeout=30)
            message = str(error.render())
            assert "Refused" in message
            assert row.id in message or path.name in message
            assert app.screen is form
            assert form.query_one("#field-reason").value == "disputed"
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is doc_screen)

    asyncio.run(run())
    assert commits(book) == before


def test_send_by_email_through_a_real_smtp_server(book):
    import socket

    from aiosmtpd.controller import Controller

    received = []

    class Handler:
        async def handle_DATA(self, server, session, envelope):
            received.append((list(envelope.rcpt_tos), envelope.content))
            return "250 OK queued"

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings = book / "facturier.yaml"
    settings.write_text(settings.read_text().replace("smtp_port: 8025", "smtp_port: %d" % port)
                        .replace("smtp_host: localhost", "smtp_host: 127.0.0.1")
                        # the structured address an e-invoice needs (SPEC 8.2)
                        .replace("  address: |\n    Rue du Lac 1\n    1000 Lausanne\n",
                                 '  address: {street: Rue du Lac, number: "1", postcode: "1000", '
                                 'city: Lausanne, country: CH}\n'))
    git(book, "commit", "-q", "-am", "Use the test SMTP server")
    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    app = app_for(book)
    before = commits(book)
    try:
        async def run():
            async with app.run_test(size=(100, 30)) as pilot:
                await until(pilot, lambda: app.snapshot is not None and app.snapshot.complete)
                row = next(r for r in app.snapshot.rows if r.status == "processing"
                           and not app.snapshot.book.document(r.id).deliveries)
                app.open_document(row.id)
                await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
                screen = app.screen
                await pilot.press("m")
                await pilot.pause()
                await pilot.press("enter")          # OK in the confirmation
                await until(pilot, lambda: not app.busy and app.screen is screen
                            and screen.detail.doc.deliveries
                            and screen.detail.doc.deliveries[-1].result == "sent", timeout=30)
                return row

        row = asyncio.run(run())
    finally:
        controller.stop()
    assert len(received) == 1
    contact = app.snapshot.book.contact(row.contact)
    assert received[0][0] == [contact.email]
    assert row.number.encode() in received[0][1]
    assert commits(book) > before
    assert "Facturier-Action: document.send" in trailers(book)


def test_recurrence_form_warns_as_you_type_about_days_short_months_lack(book):
    app = app_for(book, lang="fr")

    async def run():
        async with app.run_test(size=(100, 40)) as pilot:
            await until(pilot, lambda: app.snapshot is not None and app.snapshot.complete)
            await pilot.press("R")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceListScreen))
            await pilot.press("n")
            await until(pilot, lambda: isinstance(app.screen, RecurrenceForm))
            form = app.screen
            form.query_one("#start").value = "2026-01-31"
            form.query_one("#frequency").value = "monthly"
            await pilot.pause()
            preview = str(form.query_one("#preview").render())
            # the same words as `facturier --lang fr check`
            assert "tombe le 31 du mois" in preview and "7 fois" in preview, preview
            assert "BYMONTHDAY=-1" in preview
            form.query_one("#frequency").value = "last_day"       # what the warning suggests
            await pilot.pause()
            preview = str(form.query_one("#preview").render())
            assert "2026-08-31, 2026-09-30" in preview and "RFC 5545" not in preview
            form.query_one("#until").value = "2025-12-31"
            await pilot.pause()
            assert "précède le début" in str(form.query_one("#preview").render())
            await pilot.press("escape")

    asyncio.run(run())
