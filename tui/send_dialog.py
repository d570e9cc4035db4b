"""What `doc send` is about to hand over, shown before it goes (SPEC 7,
"Issuing"): recipient, subject, the text of the message and each attached
file with its size. Dismisses with True (send) or False."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from . import fmt
from .strings import tr
from .views import SendPreview


class SendDialog(ModalScreen):
    BINDINGS = [Binding("escape", "no", "Cancel", id="send.cancel"),
                Binding("y", "yes", "Send", show=False, id="send.yes")]

    def __init__(self, preview: SendPreview, title: str, lang: str) -> None:
        super().__init__()
        self.preview = preview
        self.dialog_title = title
        self.lang = lang

    def compose(self) -> ComposeResult:
        p, lang = self.preview, self.lang
        head = Table.grid(padding=(0, 2))
        head.add_column(style="bold", no_wrap=True)
        head.add_column()
        head.add_row(tr("send.to", lang), p.to)
        head.add_row(tr("send.subject", lang), p.subject)
        files = Table.grid(padding=(0, 2))
        files.add_column()
        files.add_column(justify="right", no_wrap=True)
        for name, size, _sha256 in p.attachments:
            files.add_row(name, fmt.size(size, lang))
        with Vertical(classes="dialog wide", id="send-dialog"):
            yield Label(self.dialog_title, classes="dialog-title")
            yield Static(head, id="send-head")
            with VerticalScroll(id="send-body"):
                yield Static(Text(p.body), id="send-text")
            yield Label(tr("send.attachments", lang), classes="field-label")
            yield Static(files, id="send-files")
            with Horizontal(classes="dialog-buttons"):
                yield Button(tr("send.send", lang), variant="primary", id="yes", compact=True)
                yield Button(tr("form.cancel", lang), id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#yes").focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)
