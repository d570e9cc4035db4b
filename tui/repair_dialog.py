"""The repair dialog of a stopped recurrence (SPEC 4.4): the cause, the
missing occurrences, three choices; "create missing" is disabled, with the
reason shown, unless exactly one occurrence is missing. Dismisses with
``"skip"``, ``"create"``, ``"end"`` or None."""
from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, Static

from engine.i18n import localize

from . import fmt
from .strings import tr
from .views import RecurrenceItem


class RepairDialog(ModalScreen):
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="repair.cancel")]

    def __init__(self, item: RecurrenceItem, cause: str, lang: str) -> None:
        super().__init__()
        self.item = item
        self.cause = cause
        self.lang = lang

    def compose(self) -> ComposeResult:
        lang, missing = self.lang, self.item.missing
        with Vertical(classes="dialog", id="repair"):
            yield Label(tr("repair.title", lang, name=self.item.name), classes="dialog-title")
            yield Static(Text.assemble((tr("repair.cause", lang) + ": ", "bold"),
                                         localize(self.cause, lang) or "—"))
            yield Static(Text.assemble((tr("rec.missing", lang) + ": ", "bold"),
                                       ", ".join(fmt.day(o) for o in missing) or tr("rec.none", lang)),
                         id="repair-missing")
            yield Button(tr("repair.skip", lang), id="skip", variant="primary", compact=True)
            create = Button(tr("repair.create", lang), id="create", variant="warning", compact=True)
            reason = ""
            # what the engine offers (engine.api.recurrence_view), in the dialog's words
            offer = next((a for a in self.item.repairs if a.name == "create-missing"), None)
            refused = offer.reason if offer is not None else None
            if refused is not None:
                create.disabled = True
                reason = (tr("repair.create.none", lang)
                          if refused.code == "unavailable.none_missing"
                          else tr("repair.create.many", lang, n=refused.params["n"])
                          if refused.code == "unavailable.many_missing"
                          else refused.render(lang))
            yield create
            yield Static(reason, id="create-reason", classes="dialog-note")
            yield Button(tr("repair.end", lang), id="end", variant="error", compact=True)
            yield Button(tr("repair.cancel", lang), id="cancel", compact=True)

    def on_mount(self) -> None:
        self.query_one("#skip").focus()

    def on_key(self, event) -> None:
        if event.key in ("up", "down"):
            (self.focus_previous if event.key == "up" else self.focus_next)()
            event.stop()

    @on(Button.Pressed)
    def _chosen(self, event: Button.Pressed) -> None:
        choice = event.button.id
        self.dismiss(None if choice == "cancel" else choice)

    def action_cancel(self) -> None:
        self.dismiss(None)
