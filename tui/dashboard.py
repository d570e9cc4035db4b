"""The dashboard: the four categories, each status with its count and open
amount, and the alerts (stopped recurrences, invalid files, e-mails left
`sending`) above them."""
from __future__ import annotations

from typing import Optional

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import Screen
from textual.widget import Widget
from textual.widgets import Button, Header, Label, Static

from engine.status import CATEGORIES, STATUSES

from . import fmt
from .base_screens import KeysFooter
from .messages import OpenList, OpenProblems, OpenRecurrences, RunAction
from .strings import plural, tr
from .views import Snapshot


class StatusTile(Widget, can_focus=True):
    """One status: its label, how many documents, their open amount."""

    DEFAULT_CSS = """
    StatusTile { height: auto; padding: 0 1; }
    StatusTile:focus { background: $block-cursor-background; color: $block-cursor-foreground; }
    StatusTile.-empty { color: $text-muted; }
    """

    BINDINGS = [
        Binding("enter", "open", "Open", id="dashboard.open_status"),
        Binding("c", "open_category", "Category", id="dashboard.open_category"),
        Binding("up", "screen.step(-1)", "Up", show=False, id="dashboard.up"),
        Binding("down", "screen.step(1)", "Down", show=False, id="dashboard.down"),
        Binding("left", "screen.panel(-1)", "Previous category", show=False, id="dashboard.left"),
        Binding("right", "screen.panel(1)", "Next category", show=False, id="dashboard.right"),
    ]

    def __init__(self, code: str, category: str, lang: str, id: Optional[str] = None) -> None:
        super().__init__(id=id or "status-" + code)
        self.code = code
        self.category = category
        self.lang = lang
        self.count = 0
        self.open_text = ""

    def set_figures(self, count: int, open_text: str) -> None:
        self.count, self.open_text = count, open_text
        self.set_class(count == 0, "-empty")
        self.refresh(layout=True)

    def render(self):
        grid = Table.grid(expand=True, padding=(0, 0, 0, 1))
        grid.add_column(ratio=1)
        grid.add_column(justify="right", no_wrap=True, min_width=5)
        grid.add_column(justify="right", no_wrap=True, min_width=14)
        grid.add_row(Text(fmt.status(self.code, self.lang)), Text(str(self.count), style="bold"),
                     self.open_text)
        return grid

    def action_open(self) -> None:
        self.post_message(OpenList(fmt.status(self.code, self.lang), statuses=(self.code,)))

    def action_open_category(self) -> None:
        self.post_message(OpenList(fmt.category(self.category, self.lang), category=self.category))

    def on_click(self) -> None:
        if self.has_focus:
            self.action_open()


class TemplatesTile(StatusTile):
    """The drafts recurrences copy (``engine.listing.template_drafts``):
    counted here, not among the invoices awaiting validation; shown only
    when there are some."""

    def __init__(self, lang: str) -> None:
        super().__init__("template", "in_progress", lang, id="templates")
        self.ids: frozenset = frozenset()
        self.display = False

    def set_templates(self, ids: frozenset) -> None:
        self.ids = ids
        self.display = bool(ids)
        self.set_figures(len(ids), "")

    def render(self):
        grid = Table.grid(expand=True, padding=(0, 0, 0, 1))
        grid.add_column(ratio=1)
        grid.add_column(justify="right", no_wrap=True, min_width=5)
        grid.add_column(justify="right", no_wrap=True, min_width=14)
        grid.add_row(Text(tr("templates.tile", self.lang), style="italic"),
                     Text(str(self.count), style="bold"), "")
        return grid

    def action_open(self) -> None:
        self.post_message(OpenList(tr("templates.tile", self.lang), ids=self.ids))


class CategoryPanel(Vertical):
    DEFAULT_CSS = """
    CategoryPanel { height: auto; border: round $primary; border-title-style: bold; }
    CategoryPanel:focus-within { border: round $accent; }
    """

    def __init__(self, category: str, lang: str) -> None:
        super().__init__(id="category-" + category, classes="category")
        self.category = category
        self.lang = lang
        self.border_title = fmt.category(category, lang)

    def compose(self) -> ComposeResult:
        for code, cat in STATUSES.items():
            if cat == self.category:
                yield StatusTile(code, cat, self.lang)
        if self.category == "in_progress":
            yield TemplatesTile(self.lang)


class AlertBar(Horizontal):
    """A line of warning with one button."""

    DEFAULT_CSS = """
    AlertBar { height: auto; background: $error 30%; padding: 0 1; display: none; }
    AlertBar.-shown { display: block; }
    AlertBar > Label { width: 1fr; padding: 1 0 0 0; text-style: bold; }
    AlertBar > Button { min-width: 12; }
    """

    def __init__(self, id: str, button_label: str) -> None:
        super().__init__(id=id)
        self.button_label = button_label

    def compose(self) -> ComposeResult:
        yield Label("", classes="alert-text")
        yield Button(self.button_label, variant="error", compact=False)

    def show(self, text: Optional[str]) -> None:
        self.set_class(bool(text), "-shown")
        self.query_one(Label).update(text or "")


class Board(VerticalScroll, can_focus=False):
    """The categories, scrolled by the focused status (never focused itself:
    a Tab landing on it would show no cursor anywhere)."""


class DashboardScreen(Screen):
    """The four categories side by side (2×2 or stacked when narrow).

    ↑/↓ step through the alerts' buttons and every status, in screen order;
    the first status with documents has the focus once the book is shown."""

    AUTO_FOCUS = ""                 # the first status, not the first alert's button

    BINDINGS = [
        Binding("s", "stopped", "Stopped", id="dashboard.stopped"),
        Binding("e", "problems", "Problems", id="dashboard.problems"),
        Binding("a", "all_documents", "All", id="dashboard.all"),
        # not in the footer, which is full at 100 columns (docs/tui.md, the palette)
        Binding("b", "app.reports", "Reports", show=False, id="dashboard.reports"),
        Binding("i", "app.import_bank", "Bank import", show=False, id="dashboard.import_bank"),
        # on an alert's button (a status has its own, the same)
        Binding("up", "step(-1)", "Up", show=False, id="dashboard.alert_up"),
        Binding("down", "step(1)", "Down", show=False, id="dashboard.alert_down"),
    ]

    def __init__(self, lang: str) -> None:
        super().__init__(id="dashboard")
        self.lang = lang
        self.snapshot: Optional[Snapshot] = None

    def compose(self) -> ComposeResult:
        yield Header()
        yield AlertBar("alert-stopped", tr("alert.stopped.button", self.lang))
        yield AlertBar("alert-problems", tr("alert.invalid.button", self.lang))
        yield AlertBar("alert-sending", tr("alert.sending.button", self.lang))
        yield AlertBar("alert-unpublished", tr("alert.unpublished.button", self.lang))
        with Board(id="board-scroll"):
            yield Static(tr("loading", self.lang), id="loading")
            with Vertical(id="board"):
                for category in CATEGORIES:
                    yield CategoryPanel(category, self.lang)
        yield KeysFooter()

    def on_mount(self) -> None:
        # from here on a snapshot is drawn at once: `is_mounted` turns true
        # only after this returns, and a small book's load may land between
        self._drawable = True
        self.title = tr("app.title", self.lang)
        self.sub_title = tr("dashboard", self.lang)
        if self.snapshot is not None:
            self.show_snapshot(self.snapshot)

    def show_snapshot(self, snap: Snapshot) -> None:
        self.snapshot = snap
        if not (self.is_mounted or getattr(self, "_drawable", False)):
            return
        self.sub_title = "%s — %s" % (tr("dashboard", self.lang),
                                      tr("as_of", self.lang, date=fmt.long_day(snap.as_of, self.lang)))
        self.query_one("#loading").display = False
        for code, entry in snap.summary.items():
            try:
                tile = self.query_one("#status-" + code, StatusTile)
            except Exception:
                continue
            tile.set_figures(entry.count, fmt.open_amounts(entry.open, self.lang, snap.currency))
        self.query_one("#templates", TemplatesTile).set_templates(snap.templates)
        stopped = len(snap.stopped)
        self.query_one("#alert-stopped", AlertBar).show(
            plural("alert.stopped", stopped, self.lang) if stopped else None)
        self.query_one("#alert-problems", AlertBar).show(
            plural("alert.invalid", snap.error_count, self.lang) if snap.error_count else None)
        self.query_one("#alert-sending", AlertBar).show(
            plural("alert.sending", len(snap.sending), self.lang) if snap.sending else None)
        self.query_one("#alert-unpublished", AlertBar).show(
            plural("alert.unpublished", snap.unpublished, self.lang) if snap.unpublished else None)
        focused = self.focused
        if focused is None or not isinstance(focused, StatusTile) and not focused.parent.has_class("-shown"):
            self._focus_first()

    def _focus_first(self) -> None:
        tiles = [t for t in self.query(StatusTile) if t.count and t.display]
        target = tiles[0] if tiles else self.query(StatusTile).first()
        target.focus(scroll_visible=False)

    def on_button_pressed(self, event: Button.Pressed) -> None:
        bar = event.button.parent
        if bar is None:
            return
        if bar.id == "alert-stopped":
            self.action_stopped()
        elif bar.id == "alert-problems":
            self.action_problems()
        elif bar.id == "alert-sending" and self.snapshot is not None:
            self.post_message(OpenList(tr("list.sending", self.lang), ids=frozenset(self.snapshot.sending)))
        elif bar.id == "alert-unpublished":
            self.post_message(RunAction("sync", None, {}))

    def action_stopped(self) -> None:
        self.post_message(OpenRecurrences(stopped_only=True))

    def action_problems(self) -> None:
        self.post_message(OpenProblems())

    def action_all_documents(self) -> None:
        self.post_message(OpenList(tr("list.all", self.lang)))

    def action_step(self, delta: int) -> None:
        """Up/down through the shown alerts' buttons, then every status,
        across the categories."""
        stops: list[Widget] = [bar.query_one(Button) for bar in self.query(AlertBar)
                               if bar.has_class("-shown")]
        stops.extend(tile for tile in self.query(StatusTile) if tile.display)
        focused = self.focused
        if focused not in stops:
            return
        index = stops.index(focused) + delta
        if 0 <= index < len(stops):
            stops[index].focus()

    def action_panel(self, delta: int) -> None:
        focused = self.focused
        if not isinstance(focused, StatusTile):
            return
        panels = list(self.query(CategoryPanel))
        here = focused.parent
        index = panels.index(here) if here in panels else 0
        target = panels[(index + delta) % len(panels)]
        row = list(here.query(StatusTile)).index(focused)
        tiles = [tile for tile in target.query(StatusTile) if tile.display]
        tiles[min(row, len(tiles) - 1)].focus()
