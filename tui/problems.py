"""The problems screen: every diagnostic as ``file:line:col: message``, and
what to do ("fix it, then press r to reload")."""
from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Static

from .base_screens import KeysFooter
from .strings import tr
from .views import Snapshot


class ProblemsScreen(Screen):
    BINDINGS = [Binding("escape", "back", "Back", id="problems.back")]

    def __init__(self, snapshot: Snapshot) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.lang = snapshot.lang

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(Text(tr("problems.hint", self.lang), style="bold"), id="problems-hint")
        with VerticalScroll(id="problems-body"):
            yield Static(id="problems")
        yield KeysFooter()

    _stale = False

    def on_screen_resume(self) -> None:
        if self._stale:
            self.show_snapshot(self.snapshot)

    def on_mount(self) -> None:
        self.title = tr("problems.title", self.lang)
        self.show_snapshot(self.snapshot)
        self.query_one("#problems-body").focus()

    def show_snapshot(self, snap: Snapshot) -> None:
        self.snapshot = snap
        if not self.is_mounted:
            self._stale = True
            return
        self._stale = False
        if not snap.problems:
            self.query_one("#problems", Static).update(tr("problems.none", self.lang))
            return
        text = Text()
        for line in snap.problems:
            where, _, message = line.partition(": ")
            text.append(where + ": ", style="bold cyan")
            text.append(message + "\n", style="yellow" if message.startswith("warning:") else "")
        self.query_one("#problems", Static).update(text)

    def action_back(self) -> None:
        self.dismiss()
