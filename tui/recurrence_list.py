"""The recurrences: name, contact, rule in words, next occurrence, state,
generated count; stopped ones on a dark pink background."""
from __future__ import annotations

from textual import on
from textual.binding import Binding
from textual.widgets import Input, Label

from . import fmt
from .base_screens import ListScreen
from .fast_table import Column, FastTable
from .messages import OpenRecurrence, OpenRecurrenceForm, OpenRepair
from .strings import tr
from .views import Snapshot


def recurrence_columns(lang: str) -> list[Column]:
    return [
        Column("name", tr("col.name", lang), 20, lambda r: r.name, sort_key=lambda r: r.name.lower(), flex=True),
        Column("contact", tr("col.contact", lang), 14, lambda r: r.contact_name or r.contact,
               sort_key=lambda r: (r.contact_name or r.contact).lower()),
        Column("rule", tr("col.rule", lang), 22, lambda r: r.rule_words, sort_key=lambda r: r.rule_words),
        Column("next", tr("col.next", lang), 10, lambda r: fmt.day(r.next), sort_key=lambda r: r.next),
        Column("state", tr("col.state", lang), 9, lambda r: tr("rec.state." + r.state, lang),
               sort_key=lambda r: r.state),
        Column("generated", tr("col.generated", lang), 9, lambda r: str(r.generated),
               sort_key=lambda r: r.generated, right=True),
    ]


class RecurrenceListScreen(ListScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="recurrences.back"),
        Binding("slash", "search", "Search", id="recurrences.search"),
        Binding("n", "new", "New recurrence", id="recurrences.new"),
        Binding("p", "repair", "Repair", id="recurrences.repair"),
        Binding("s", "sort", "Sort", id="recurrences.sort"),
    ]

    def __init__(self, snapshot: Snapshot, stopped_only: bool = False) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.lang = snapshot.lang
        self.stopped_only = stopped_only
        self.table = FastTable(recurrence_columns(self.lang), self._items(snapshot), id="recurrences",
                               row_class=lambda r: "stopped" if r.state == "stopped" else
                               ("muted" if r.state == "ended" else None))

    def _items(self, snap: Snapshot) -> list:
        if self.stopped_only:
            return snap.stopped
        return list(snap.recurrences)

    def on_mount(self) -> None:
        self.title = tr("rec.stopped_list" if self.stopped_only else "rec.list", self.lang)
        self.table.focus()
        self._count()

    def _count(self) -> None:
        self.query_one("#list-count", Label).update("%d / %d" % (len(self.table.rows), len(self.table._all)))

    def show_snapshot(self, snap: Snapshot) -> None:
        self.snapshot = snap
        if not self.is_mounted:
            self._stale = True
            return
        self._stale = False
        self.table.set_rows(self._items(snap))
        self._count()

    @on(Input.Changed, "#search")
    def _search(self, event: Input.Changed) -> None:
        from engine.listing import matches, search_words   # as `status --search` folds
        words = search_words(event.value)
        self.table.set_filter((lambda r: matches(r.haystack, words)) if words else None)
        self._count()

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.table.focus()

    @on(FastTable.RowSelected, "#recurrences")
    def _open(self, event: FastTable.RowSelected) -> None:
        self.post_message(OpenRecurrence(event.row.id))

    def check_action(self, action: str, parameters: tuple):
        if action == "repair":
            row = self.table.current_row
            return row is not None and row.state == "stopped"
        return True

    @on(FastTable.CursorMoved, "#recurrences")
    def _moved(self) -> None:
        self.refresh_bindings()

    def action_back(self) -> None:
        if not self.leave_search():
            self.dismiss()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_new(self) -> None:
        self.post_message(OpenRecurrenceForm(None))

    def action_repair(self) -> None:
        row = self.table.current_row
        if row is not None and row.state == "stopped":
            self.post_message(OpenRepair(row.id))

    def action_sort(self) -> None:
        self.table.cycle_sort()
