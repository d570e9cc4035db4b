"""What the list screens and the detail screens share."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label

from .history_pane import HistoryPane
from .strings import tr


class ListScreen(Screen):
    """A search bar over one FastTable (``self.table``). A screen not shown
    when new data came (``_stale``) takes it when it comes back."""

    _stale = False

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="list-bar"):
            yield Input(placeholder=tr("list.search", self.lang), id="search")
            yield Label("", id="list-count")
        yield self.table
        yield Footer()

    def on_screen_resume(self) -> None:
        if self._stale:
            self.show_snapshot(self.snapshot)


class WithHistory:
    """A detail screen with a HistoryPane the App fills (WantHistory)."""

    def show_history(self, entries) -> None:
        self.query_one(HistoryPane).show(entries)

    def show_history_error(self, message: str) -> None:
        self.query_one(HistoryPane).show_error(message)
