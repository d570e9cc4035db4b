"""Bank statements in the app (SPEC 10.3): after an import, the credits it
could not match (unmatched, ambiguous) are listed; a person assigns each to an
open invoice — one payment, one commit, its reference the bank's entry
reference, so that importing the file again never records it twice.

The screen posts :class:`WantCandidates` up; the App answers with
``engine.bank.candidates`` in a :class:`CandidatePicker`, and commits the
choice with ``engine.bank.plan_assign``.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen, Screen
from textual.widgets import DataTable, Header, Static

from engine import i18n

from . import bookkeeping_strings  # noqa: F401  (the words below)
from .base_screens import KeysFooter
from .strings import tr


@dataclass
class ImportResult:
    """What importing one statement file did (plain data for the screen)."""
    file: str                       # the file's name
    kind: str                       # camt.053 | camt.054 | csv
    recorded: int                   # payments recorded by this import's commit
    already: int                    # entries recorded before
    skipped: list[str]              # debits, reversals, pending (why)
    left: list[Any]                 # engine.bank.Match, unmatched or ambiguous
    commit: Optional[str] = None


@dataclass
class WantCandidates(Message):
    """The person wants to assign ``match``'s credit: the App finds the open
    invoices (``engine.bank.candidates``) and opens the picker."""
    match: Any
    file: str
    screen: Any


def _money(amount, currency: str, lang: str) -> str:
    try:
        return i18n.format_amount(amount, currency, lang)
    except Exception:
        return str(amount)


class BankScreen(Screen):
    """The entries of one statement a person must assign."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="bank.back"),
        Binding("a", "assign", "Assign", id="bank.assign"),     # enter too (the table's row)
    ]

    DEFAULT_CSS = """
    BankScreen #bank-summary { padding: 0 1; text-style: bold; }
    BankScreen #bank-hint { padding: 0 1; color: $text-muted; }
    BankScreen #bank-table { height: 1fr; }
    """

    def __init__(self, result: ImportResult, lang: str) -> None:
        super().__init__(id="bank")
        self.result = result
        self.lang = lang

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static("", id="bank-summary")
        yield Static("", id="bank-hint")
        yield DataTable(id="bank-table", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.title = tr("bank.title", self.lang, file=self.result.file)
        table = self.query_one("#bank-table", DataTable)
        for key in ("where", "outcome", "date", "amount", "debtor", "reference", "text", "why"):
            label = tr("bank.col." + key, self.lang)
            table.add_column(Text(label, justify="right") if key == "amount" else label, key=key)
        self.show_entries()
        table.focus()

    def show_entries(self) -> None:
        lang, result = self.lang, self.result
        self.query_one("#bank-summary", Static).update(tr(
            "bank.summary", lang, kind=result.kind, recorded=result.recorded, already=result.already,
            left=len(result.left), skipped=len(result.skipped)))
        self.query_one("#bank-hint", Static).update(
            tr("bank.hint", lang) if result.left else tr("bank.nothing_left", lang))
        table = self.query_one("#bank-table", DataTable)
        table.clear()
        for m in result.left:
            c = m.credit
            reason = i18n.localize(m.reason, lang)
            if m.candidates:
                reason += " [%s]" % ", ".join(m.candidates)
            table.add_row(i18n.localize(c.where, lang), i18n.t("bank.left." + m.outcome, lang), c.date.isoformat(),
                          Text("%s %s" % (_money(c.amount, c.currency, lang), c.currency), justify="right"),
                          c.debtor or tr("bank.unknown_debtor", lang), c.reference, c.text, reason,
                          key=c.reference)

    def current(self):
        table = self.query_one("#bank-table", DataTable)
        if not self.result.left or table.cursor_row is None:
            return None
        index = min(table.cursor_row, len(self.result.left) - 1)
        return self.result.left[index]

    def action_assign(self) -> None:
        match = self.current()
        if match is not None:
            self.post_message(WantCandidates(match, self.result.file, self))

    @on(DataTable.RowSelected, "#bank-table")
    def _selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_assign()

    def assigned(self, reference: str) -> None:
        """The entry was recorded (the App says so after the commit)."""
        self.result.left = [m for m in self.result.left if m.credit.reference != reference]
        self.result.recorded += 1
        if self.is_mounted:
            self.show_entries()

    def action_back(self) -> None:
        self.dismiss()


class CandidatePicker(ModalScreen):
    """The open invoices an entry may be assigned to, closest amount first;
    dismisses with the chosen document id or None."""

    BINDINGS = [Binding("escape", "cancel", "Cancel", id="pick.cancel")]

    DEFAULT_CSS = """
    CandidatePicker #pick-table { height: auto; max-height: 14; }
    """

    def __init__(self, match, candidates: list, lang: str) -> None:
        super().__init__()
        self.match = match
        self.candidates = candidates
        self.lang = lang

    def compose(self) -> ComposeResult:
        c, lang = self.match.credit, self.lang
        with Vertical(classes="dialog wide"):
            yield Static(tr("bank.pick.title", lang, amount="%s %s" % (_money(c.amount, c.currency, lang),
                                                                        c.currency),
                            date=c.date.isoformat(), debtor=c.debtor or tr("bank.unknown_debtor", lang)),
                         classes="dialog-title")
            yield Static(tr("bank.pick.hint", lang, currency=c.currency) if self.candidates
                         else tr("bank.pick.none", lang, currency=c.currency), classes="dialog-note")
            yield DataTable(id="pick-table", cursor_type="row")

    def on_mount(self) -> None:
        lang = self.lang
        table = self.query_one("#pick-table", DataTable)
        named = set(self.match.candidates)
        table.add_column("", key="named")
        for key in ("number", "contact", "date"):
            table.add_column(tr("bank.col." + key, lang), key=key)
        for key in ("open", "difference"):
            table.add_column(Text(tr("bank.col." + key, lang), justify="right"), key=key)
        for cand in self.candidates:
            table.add_row("★" if cand.document in named else "", cand.number or cand.document, cand.name,
                          cand.date.isoformat(), Text(_money(cand.open, cand.currency, lang), justify="right"),
                          Text(_money(cand.difference, cand.currency, lang), justify="right"),
                          key=cand.document)
        table.focus()

    @on(DataTable.RowSelected, "#pick-table")
    def _chosen(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.dismiss(event.row_key.value)

    def action_cancel(self) -> None:
        self.dismiss(None)
