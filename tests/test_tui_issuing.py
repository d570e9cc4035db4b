"""Issuing from the app (SPEC 7, "Issuing"), driven with Textual's pilot on a
real book: a document's PDF written (and opened where something opens
files), and the send dialog that shows the message and its attachments
before a real SMTP server receives them."""
from __future__ import annotations

import asyncio
import datetime as dt
import email
import email.policy
import hashlib
import os
import shutil
import subprocess
import sys
import time

import pytest
import yaml
from rich.console import Console

from test_daily_support import REPO, Handler, Server, git, issuing_files
from tui.app import FacturierApp
from tui.document_view import DocumentScreen
from tui.forms import ActionForm
from tui.messages import WantSendPreview
from tui.send_dialog import SendDialog
from tests.tui_support import commits, until

AS_OF = dt.date(2025, 2, 5)
INVOICE = ("kind: invoice\ncustomer: acme\ndate: 2025-02-03\nnumber: \"2025-0042\"\n"
           "validated: 2025-02-03\nlines:\n  - {description: Design, unit_price: \"800.00\", "
           "vat: \"8.1\"}\n")
PATH = "documents/2025/02/inv-42.yaml"


@pytest.fixture
def book(make_book, tmp_path):
    """A book whose SMTP server is a real one on 127.0.0.1 (handler.received)."""
    handler = Handler()
    server = Server(handler)
    files = issuing_files(server.port, "xrechnung")
    files[PATH] = INVOICE
    root = make_book(files)
    git(root, "config", "user.name", "Test Person")
    git(root, "config", "user.email", "test@example.org")
    yield root, handler
    server.stop()


@pytest.fixture
def bin_dir(tmp_path, monkeypatch):
    """A PATH holding git alone: nothing that opens files unless a test adds it."""
    folder = tmp_path / "bin"
    folder.mkdir()
    (folder / "git").symlink_to(shutil.which("git"))
    monkeypatch.setenv("PATH", str(folder))
    return folder




def text_of(widget) -> str:
    console = Console(record=True, width=120)
    console.print(widget.content)
    return console.export_text()




def said(app) -> list[str]:
    return [n.message for n in app._notifications]


async def open_invoice(pilot, app) -> DocumentScreen:
    await until(pilot, lambda: app.snapshot is not None and app.snapshot.complete)
    app.open_document("inv-42")
    await until(pilot, lambda: isinstance(app.screen, DocumentScreen))
    return app.screen


@pytest.mark.parametrize("opener", [False, True], ids=["no xdg-open", "xdg-open"])
def test_the_pdf_is_written_to_a_folder_and_opened_where_something_opens_files(
        book, bin_dir, tmp_path, opener):
    root, _ = book
    out = tmp_path / "out"
    out.mkdir()
    opened = tmp_path / "opened.txt"
    if opener:
        name = "open" if sys.platform == "darwin" else "xdg-open"
        (bin_dir / name).write_text("#!/bin/sh\necho \"$1\" > %s\n" % opened)
        (bin_dir / name).chmod(0o755)
    before = commits(root)
    app = FacturierApp(root, as_of=AS_OF, lang="en", watch=False)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_invoice(pilot, app)
            await pilot.press("P")
            await until(pilot, lambda: isinstance(app.screen, ActionForm))
            target = app.screen.query_one("#field-target")
            assert target.value == "2025-0042.pdf"       # the current folder, `doc pdf`'s name
            target.value = str(out)                       # a folder: the name is added
            await pilot.pause()
            await pilot.click("#ok")
            await until(pilot, lambda: app.screen is screen and any(
                str(out) in m for m in said(app)))
            return said(app)

    messages = asyncio.run(run())
    written = out / "2025-0042.pdf"
    assert written.read_bytes()[:5] == b"%PDF-"
    [message] = [m for m in messages if str(written) in m]
    if opener:
        assert "opening it" in message
        deadline = time.monotonic() + 10
        while not opened.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert opened.read_text().strip() == str(written)
    else:
        assert "no xdg-open" in message and "open it yourself" in message
        assert not opened.exists()
    assert commits(root) == before             # writing a PDF changes nothing in the book
    # the same bytes as `facturier doc pdf`
    proc = subprocess.run(
        [sys.executable, "-m", "tui.entry", "--book", str(root), "doc", "pdf", "inv-42", "-o", "-"],
        capture_output=True, cwd=str(REPO), env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0 and proc.stdout == written.read_bytes()


def test_a_pdf_that_cannot_be_written_is_said_and_nothing_is_left(book, bin_dir, tmp_path):
    root, _ = book
    app = FacturierApp(root, as_of=AS_OF, lang="fr", watch=False)
    missing = tmp_path / "no" / "such" / "folder" / "x.pdf"

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await open_invoice(pilot, app)
            await pilot.press("P")
            await until(pilot, lambda: isinstance(app.screen, ActionForm))
            app.screen.query_one("#field-target").value = str(missing)
            await pilot.pause()
            await pilot.click("#ok")
            await until(pilot, lambda: any("impossible d'écrire" in m for m in said(app)))

    asyncio.run(run())
    assert not missing.parent.exists()


def test_the_send_dialog_shows_the_message_and_attachments_then_sends_those_bytes(book):
    root, handler = book
    before = commits(root)
    app = FacturierApp(root, as_of=AS_OF, lang="en", watch=False)
    seen = {}

    async def run():
        async with app.run_test(size=(100, 40)) as pilot:
            screen = await open_invoice(pilot, app)
            await pilot.press("m")
            await until(pilot, lambda: isinstance(app.screen, SendDialog))
            dialog = app.screen
            head = text_of(dialog.query_one("#send-head"))
            assert "ACME SA <ap@acme.example>" in head
            assert "Invoice 2025-0042 from Atelier Exemple SA" in head
            assert "Please find attached our invoice 2025-0042" in text_of(dialog.query_one("#send-text"))
            files = text_of(dialog.query_one("#send-files"))
            # the PDF and the XRechnung XML the contact asks for, with their sizes
            assert "2025-0042.pdf" in files and "2025-0042.xml" in files and "kB" in files
            seen["shown"] = {name: sha for name, _size, sha in dialog.preview.attachments}
            await pilot.press("escape")                 # not now: nothing is sent
            await until(pilot, lambda: app.screen is screen)
            assert handler.received == [] and commits(root) == before
            await pilot.press("m")
            await until(pilot, lambda: isinstance(app.screen, SendDialog))
            await pilot.click("#yes")
            await until(pilot, lambda: commits(root) == before + 2 and not app.busy)

    asyncio.run(run())
    [data] = handler.received
    msg = email.message_from_bytes(data, policy=email.policy.default)
    got = {p.get_filename(): hashlib.sha256(p.get_payload(decode=True)).hexdigest()
           for p in msg.iter_attachments()}
    entry = yaml.safe_load((root / PATH).read_text())["deliveries"][-1]
    assert entry["result"] == "sent"
    assert {a["name"]: a["sha256"] for a in entry["attachments"]} == got == seen["shown"]


def test_sending_a_draft_is_refused_before_any_dialog(book):
    root, handler = book
    (root / PATH).write_text(INVOICE.replace('number: "2025-0042"\nvalidated: 2025-02-03\n', ""))
    git(root, "commit", "-qam", "Back to a draft")
    app = FacturierApp(root, as_of=AS_OF, lang="en", watch=False)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            screen = await open_invoice(pilot, app)
            app.post_message(WantSendPreview("inv-42"))
            await until(pilot, lambda: any("draft" in m for m in said(app)))
            assert app.screen is screen

    asyncio.run(run())
    assert handler.received == []
