"""What the list screens and the detail screens share."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.screen import Screen
from textual.widgets import Footer, Header, Input, Label

from .history_pane import HistoryPane
from .strings import tr


class KeysFooter(Footer):
    """Textual's Footer, composed again only when the keys it shows change.

    Textual recomposes a screen's footer each time the screen's bindings may
    have changed: focus moving, and every form pushed over the screen or
    closed (the screen is suspended, then resumed). Recomposing removes and
    mounts a widget per key, restyles them and lays out the screen beneath
    the form again, which then draws the form over it again: about half the
    time a form took to open (docs/performance.md, "The app"). The keys a
    screen offers do not change when a form covers it, so the footer is
    kept as drawn unless what :meth:`compose` reads differs."""

    _shown: object = None

    def _keys(self) -> object:
        """What compose draws: each active key, how it is shown, whether
        enabled, its tooltip; the palette's key."""
        display = self.app.get_key_display
        return (self.show_command_palette, self.app.ENABLE_COMMAND_PALETTE,
                tuple((key, active.binding, active.enabled, active.tooltip,
                       display(active.binding))
                      for key, active in self.screen.active_bindings.items()))

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._keys()
        yield from super().compose()

    async def recompose(self) -> None:
        if self._bindings_ready and self.is_attached and self._shown is not None \
                and self._keys() == self._shown:
            return
        await super().recompose()


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
        yield KeysFooter()

    def on_screen_resume(self) -> None:
        if self._stale:
            self.show_snapshot(self.snapshot)

    def key_down(self, event) -> None:
        """↓ from the search box goes to the list."""
        if self.focused is self.query_one("#search"):
            self.table.focus()
            event.stop()

    def leave_search(self) -> bool:
        """Escape in the search box: the search is cleared and the list has
        the keys again (`s` sorts, it is not typed); False when the search
        box did not have the focus (Escape then leaves the screen)."""
        box = self.query_one("#search", Input)
        if self.focused is not box:
            return False
        if box.value:
            box.value = ""
        self.table.focus()
        return True


class WithHistory:
    """A detail screen with a HistoryPane the App fills (WantHistory)."""

    def show_history(self, entries) -> None:
        self.query_one(HistoryPane).show(entries)

    def show_history_error(self, message: str) -> None:
        self.query_one(HistoryPane).show_error(message)
