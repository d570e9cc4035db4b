"""The history at the bottom of a document or recurrence: oldest first, each
commit with date, author, action and subject; filterable by action."""
from __future__ import annotations

from typing import Optional, Sequence

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Label, Select, Static

from engine.i18n import localize

from .strings import tr


def _get(entry, name: str, default=""):
    if isinstance(entry, dict):
        return entry.get(name, default)
    return getattr(entry, name, default)


class HistoryPane(Vertical):
    DEFAULT_CSS = """
    HistoryPane { height: auto; margin-top: 1; }
    HistoryPane > .section-title { text-style: bold; }
    HistoryPane > Select { width: 40; }
    """

    def __init__(self, lang: str, filterable: bool = False, id: Optional[str] = None) -> None:
        super().__init__(id=id)
        self.lang = lang
        self.filterable = filterable
        self.entries: Optional[list] = None
        self.action_filter: Optional[str] = None
        self.shown: list = []

    def compose(self) -> ComposeResult:
        yield Label(tr("history", self.lang), classes="section-title")
        if self.filterable:
            yield Select([], prompt=tr("history.all", self.lang), id="history-filter")
        yield Static(tr("history.loading", self.lang), id="history-body")

    def show(self, entries: Sequence) -> None:
        self.entries = list(entries)
        if self.filterable:
            actions = sorted({str(_get(e, "action")) for e in self.entries if _get(e, "action")})
            select = self.query_one("#history-filter", Select)
            select.set_options([(a, a) for a in actions])
        self._draw()

    def show_error(self, message: str) -> None:
        self.query_one("#history-body", Static).update(Text(message, style="red"))

    def on_select_changed(self, event: Select.Changed) -> None:
        self.action_filter = None if event.value is Select.BLANK else str(event.value)
        self._draw()
        event.stop()

    def _draw(self) -> None:
        body = self.query_one("#history-body", Static)
        entries = self.entries or []
        if self.action_filter:
            entries = [e for e in entries if _get(e, "action") == self.action_filter]
        self.shown = entries
        if not entries:
            body.update(tr("history.empty", self.lang))
            return
        table = Table.grid(padding=(0, 1), expand=True)
        table.add_column(no_wrap=True)
        table.add_column(no_wrap=True, style="cyan")
        table.add_column(ratio=1)
        table.add_column(no_wrap=True, style="dim", max_width=24)
        for e in entries:
            date = _get(e, "date")
            date_text = (date.isoformat() if hasattr(date, "isoformat") else str(date))[:16].replace("T", " ")
            table.add_row(date_text, str(_get(e, "action") or ""),
                          localize(str(_get(e, "subject") or ""), self.lang),
                          str(_get(e, "author") or ""))
            for name, digest in _get(e, "attachments", ()) or ():
                table.add_row("", "", Text("↳ %s  sha256 %s…" % (name, digest[:16]), style="dim"), "")
        body.update(table)
