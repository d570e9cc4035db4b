"""A recurrence's summary: its settings, state (and cause when stopped), its
generated documents (Enter previews one), its next occurrences, and its
history at the bottom, oldest first, filterable by action."""
from __future__ import annotations

import datetime as dt

from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, Label, Static

from engine.i18n import localize

from . import fmt
from .base_screens import KeysFooter, WithHistory
from .document_list import document_columns
from .fast_table import FastTable
from .history_pane import HistoryPane
from .messages import OpenDocument, OpenRecurrenceForm, OpenRepair, WantHistory
from .strings import tr
from .views import RecurrenceDetail


class RecurrenceScreen(WithHistory, Screen):
    BINDINGS = [
        Binding("escape", "back", "Back", id="recurrence.back"),
        Binding("p", "repair", "Repair", id="recurrence.repair"),
        Binding("e", "edit", "Edit", id="recurrence.edit"),
    ]

    def __init__(self, detail: RecurrenceDetail, lang: str, as_of: dt.date) -> None:
        super().__init__()
        self.detail = detail
        self.lang = lang
        self.as_of = as_of
        self.documents = FastTable(document_columns(lang), detail.documents, id="rec-documents")

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="rec-body"):
            yield Static(id="rec-head")
            yield Label(tr("rec.generated", self.lang), classes="section-title")
            yield self.documents
            yield Static(id="rec-next")
            yield HistoryPane(self.lang, filterable=True, id="rec-history")
        yield KeysFooter()

    def on_mount(self) -> None:
        self._fill()
        self.documents.focus()
        self.post_message(WantHistory(self.detail.rec.id, "recurrences", self))

    def show_detail(self, detail) -> None:
        if not self.is_mounted:
            if detail is not None:
                self.detail = detail
            return
        if detail is None:
            self.dismiss()
            return
        self.detail = detail
        self.documents.set_rows(detail.documents)
        self._fill()
        self.refresh_bindings()
        self.post_message(WantHistory(detail.rec.id, "recurrences", self))

    def _fill(self) -> None:
        d, lang = self.detail, self.lang
        rec, item = d.rec, d.item
        self.title = tr("rec.title", lang, name=rec.name)
        self.sub_title = tr("rec.state." + item.state, lang)
        head = Table.grid(padding=(0, 2))
        head.add_column(style="bold", no_wrap=True)
        head.add_column()
        state_style = {"stopped": "bold white on #5f1f3f", "ended": "dim"}.get(item.state, "bold green")
        head.add_row(tr("col.state", lang), Text(" %s " % tr("rec.state." + item.state, lang), style=state_style))
        if rec.stopped is not None:
            head.add_row("", Text(tr("rec.stopped", lang, at=rec.stopped.at[:16].replace("T", " "),
                                     cause=localize(rec.stopped.cause, lang)), style="bold"))
            missing = ", ".join(fmt.day(o) for o in item.missing) or tr("rec.none", lang)
            head.add_row(tr("rec.missing", lang), missing)
        head.add_row(tr("col.contact", lang), "%s (%s)" % (item.contact_name, item.contact)
                     if item.contact_name else item.contact or "—")
        template = rec.template if d.template_exists else Text(
            tr("rec.missing_template", lang, id=rec.template), style="red")
        head.add_row(tr("rec.template", lang), template)
        head.add_row(tr("rec.rule", lang), Text.assemble(item.rule_words, ("  " + rec.rule, "dim")))
        head.add_row(tr("rec.start", lang), fmt.day(rec.start))
        if rec.until:
            head.add_row(tr("rec.until", lang), fmt.day(rec.until))
        head.add_row(tr("rec.issue", lang), tr("issue." + rec.issue, lang))
        if rec.lead_days:
            head.add_row(tr("rec.lead_days", lang), str(rec.lead_days))
        head.add_row(tr("rec.last", lang), fmt.day(rec.last) or "—")
        if rec.skipped:
            head.add_row(tr("rec.skipped", lang), ", ".join(fmt.day(s) for s in rec.skipped))
        if rec.ended:
            head.add_row(tr("rec.ended", lang), fmt.day(rec.ended))
        head.add_row(tr("doc.file", lang), Text(rec.path, style="dim"))
        self.query_one("#rec-head", Static).update(head)
        nxt = ", ".join(fmt.day(o) for o in d.next) or tr("rec.none", lang)
        self.query_one("#rec-next", Static).update(
            Text.assemble((tr("rec.next", lang) + ": ", "bold"), nxt))
        self.documents.styles.height = min(max(len(d.documents), 1), 10) + 1

    @on(FastTable.RowSelected, "#rec-documents")
    def _open(self, event: FastTable.RowSelected) -> None:
        self.post_message(OpenDocument(event.row.id))

    def check_action(self, action: str, parameters: tuple):
        if action == "repair":
            return self.detail.item.state == "stopped"
        return True

    def action_back(self) -> None:
        self.dismiss()

    def action_repair(self) -> None:
        if self.detail.item.state == "stopped":
            self.post_message(OpenRepair(self.detail.rec.id))

    def action_edit(self) -> None:
        self.post_message(OpenRecurrenceForm(self.detail.rec.id))
