"""A list of documents (one status, a category, or given ids): search as you
type, recurring-only filter, sort by column; ↻ marks recurring documents."""
from __future__ import annotations

from typing import AbstractSet, Optional

from textual import on
from textual.binding import Binding
from textual.widgets import Input, Label

from . import fmt
from .base_screens import ListScreen
from .fast_table import Column, FastTable
from .messages import OpenDocument
from .strings import tr
from .views import Snapshot

RECURRING_MARK = "↻"


def document_columns(lang: str, with_status: bool = True,
                     templates: AbstractSet[str] = frozenset()) -> list[Column]:
    """``templates``: ids of the drafts recurrences copy
    (``engine.listing.template_drafts``), shown as templates, not drafts."""
    def number(row):
        if row.number or row.kind == "expense":     # an expense is never a draft
            text = row.number or row.id
        else:
            text = "(%s) %s" % (tr("template" if row.id in templates else "draft", lang), row.id)
        return (RECURRING_MARK + " " if row.recurrence else "  ") + text

    def status(row):
        if row.id in templates:
            return tr("status.template", lang)
        return fmt.status(row.status, lang)

    columns = [
        Column("number", tr("col.number", lang), 22, number,
               sort_key=lambda r: (r.number or "~" + r.id), min_width=14),
        Column("contact", tr("col.contact", lang), 16, lambda r: r.contact_name or r.contact,
               sort_key=lambda r: (r.contact_name or r.contact).lower(), flex=True),
        Column("date", tr("col.date", lang), 10, lambda r: fmt.day(r.date), sort_key=lambda r: r.date,
               min_width=10),
        Column("due", tr("col.due", lang), 10, lambda r: fmt.day(r.due), sort_key=lambda r: r.due,
               min_width=10),
        Column("total", tr("col.total", lang), 14, lambda r: fmt.money(r.total, r.currency, lang),
               sort_key=lambda r: r.total, right=True, min_width=10),
        Column("open", tr("col.open", lang), 14, lambda r: fmt.money(r.open, r.currency, lang),
               sort_key=lambda r: r.open, right=True, min_width=10),
    ]
    if with_status:
        columns.append(Column("status", tr("col.status", lang), 18, status,
                              sort_key=lambda r: r.status))
    return columns


def select_rows(rows, statuses=None, category=None, ids=None,
                templates: frozenset = frozenset()) -> list:
    """The rows of the list (before search): a plain scan, ~10 ms per 100,000.
    A status's or category's list leaves the recurrence templates out (the
    dashboard counts them apart); given ids and the list of all keep them."""
    if ids is not None:
        return [r for r in rows if r.id in ids]
    if statuses:
        wanted = set(statuses)
        return [r for r in rows if r.status in wanted and r.id not in templates]
    if category:
        return [r for r in rows if r.category == category and r.id not in templates]
    return list(rows)


class DocumentListScreen(ListScreen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="list.back"),
        Binding("slash", "search", "Search", id="list.search"),
        Binding("f", "toggle_recurring", "Recurring only", id="list.recurring_only"),
        Binding("s", "sort", "Sort", id="list.sort"),
        Binding("S", "reverse", "Reverse", id="list.reverse"),
    ]

    def __init__(self, snapshot: Snapshot, title: str, statuses=None, category=None,
                 ids=None) -> None:
        super().__init__()
        self.snapshot = snapshot
        self.lang = snapshot.lang
        self.list_title = title
        self.statuses = tuple(statuses) if statuses else None
        self.category = category
        self.ids = ids
        self.recurring_only = False
        self.search = ""
        one_status = self.statuses is not None and len(self.statuses) == 1
        # kept as one set, updated in place when the book changes (the columns read it)
        self.templates: set = set(snapshot.templates)
        self.table = FastTable(document_columns(self.lang, with_status=not one_status,
                                                templates=self.templates),
                               select_rows(snapshot.rows, self.statuses, category, ids,
                                           snapshot.templates),
                               id="documents")

    def on_mount(self) -> None:
        self.title = self.list_title
        self.sub_title = tr("as_of", self.lang, date=fmt.long_day(self.snapshot.as_of, self.lang))
        self.table.focus()
        self._count()

    def show_snapshot(self, snap: Snapshot) -> None:
        """The book changed: same list, new rows, same search and cursor."""
        self.snapshot = snap
        if not self.is_mounted:
            self._stale = True
            return
        self._stale = False
        self.templates.clear()
        self.templates.update(snap.templates)
        self.table.set_rows(select_rows(snap.rows, self.statuses, self.category, self.ids,
                                        snap.templates))
        self._count()

    def _apply_filter(self, narrowing: bool = False) -> None:
        # the words and the match of `status --search` ("café" finds "Cafe")
        from engine.listing import matches, search_words
        words = search_words(self.search)
        recurring = self.recurring_only
        if not words and not recurring:
            self.table.set_filter(None)
        else:
            texts = self.app.search_texts() if words else {}

            def keep(row) -> bool:
                if recurring and not row.recurrence:
                    return False
                return not words or matches(texts[row.id], words)
            self.table.set_filter(keep, narrowing=narrowing)
        self._count()

    def _count(self) -> None:
        text = tr("list.count", self.lang, shown=len(self.table.rows), total=len(self.table._all))
        if self.recurring_only:
            text += " · " + RECURRING_MARK + " " + tr("list.recurring_only", self.lang)
        if self.table.sort_column is not None:
            text += " · " + tr("list.sorted", self.lang,
                               column=self.table.columns[self.table.sort_column].label)
        self.query_one("#list-count", Label).update(text)

    @on(Input.Changed, "#search")
    def _search_changed(self, event: Input.Changed) -> None:
        before = self.search
        self.search = event.value
        # one more letter typed at the end: only the rows shown can still match
        narrowing = bool(before.strip()) and event.value.startswith(before) and \
            len(event.value.split()) == len(before.split())
        self._apply_filter(narrowing)

    @on(Input.Submitted, "#search")
    def _search_done(self) -> None:
        self.table.focus()

    @on(FastTable.RowSelected, "#documents")
    def _open(self, event: FastTable.RowSelected) -> None:
        self.post_message(OpenDocument(event.row.id))

    def action_back(self) -> None:
        if not self.leave_search():
            self.dismiss()

    def action_search(self) -> None:
        self.query_one("#search", Input).focus()

    def action_toggle_recurring(self) -> None:
        self.recurring_only = not self.recurring_only
        self._apply_filter()

    def action_sort(self) -> None:
        self.table.cycle_sort()
        self._count()

    def action_reverse(self) -> None:
        if self.table.sort_column is None:
            self.table.cycle_sort()
        else:
            self.table.sort_by(self.table.sort_column, not self.table.sort_reverse)
        self._count()

    def selected_id(self) -> Optional[str]:
        row = self.table.current_row
        return row.id if row is not None else None
