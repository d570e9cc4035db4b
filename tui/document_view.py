"""One document: every field of the file, totals, payments, deliveries,
reminders, links to its recurrence, its history at the bottom; the document
actions as keys, each through a modal form, each one commit."""
from __future__ import annotations

import datetime as dt
from typing import Optional

from rich import box
from rich.table import Table
from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Header, Static

from . import fmt
from .base_screens import KeysFooter, WithHistory
from .forms import ActionForm, Confirm, FieldSpec
from .history_pane import HistoryPane
from .messages import OpenRecurrence, RunAction, WantHistory, WantSendPreview, WritePdf
from .strings import tr
from .views import DocumentDetail

# action name -> key; the footer shows only those that apply to the document
ACTION_KEYS = {
    "validate": "v", "pay": "p", "discount": "d", "hold": "h", "release": "u",
    "credit": "c", "write_off": "w", "convert": "o", "decline": "x", "returned": "t",
    "send": "m", "mark_sent": "k",
}


class DocumentScreen(WithHistory, Screen):
    BINDINGS = [Binding("escape", "back", "Back", id="document.back"),
                Binding("g", "base_of", "Its recurrence", show=False, id="document.base_of"),
                Binding("P", "pdf", "PDF", show=False, id="document.pdf")] + [
                Binding("e", "app.edit_document", "Edit", id="document.edit")] + [
        Binding(key, "act('%s')" % name, name.replace("_", " ").capitalize(),
                id="document." + name)
        for name, key in ACTION_KEYS.items()]

    def __init__(self, detail: DocumentDetail, lang: str, as_of: dt.date) -> None:
        super().__init__()
        self.detail = detail
        self.lang = lang
        self.as_of = as_of

    # ------------------------------------------------------------------ layout

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="doc-body"):
            yield Static(id="doc-head")
            yield Button("", id="link-recurrence", classes="link")
            yield Static(id="doc-base-of")
            yield Static(id="doc-lines")
            yield Static(id="doc-totals")
            yield Static(id="doc-entries")
            yield HistoryPane(self.lang, id="doc-history")
        yield KeysFooter()

    def on_mount(self) -> None:
        self._fill()
        self.post_message(WantHistory(self.detail.doc.id, "documents", self))
        self.query_one("#doc-body").focus()

    def show_detail(self, detail: Optional[DocumentDetail]) -> None:
        """The book changed: show the document again (or say it is gone)."""
        if not self.is_mounted:
            if detail is not None:
                self.detail = detail
            return
        if detail is None:
            self.query_one("#doc-head", Static).update(Text(tr("doc.missing", self.lang), style="bold red"))
            return
        self.detail = detail
        self._fill()
        self.refresh_bindings()
        self.post_message(WantHistory(detail.doc.id, "documents", self))

    def _fill(self) -> None:
        d, lang = self.detail, self.lang
        doc = d.doc
        # expenses have no number and are never validated: not drafts (as `doc show`);
        # a draft a recurrence copies is its template, not an invoice to validate
        template = d.is_draft_template
        if doc.number or doc.kind == "expense":
            name = doc.number or doc.id
        else:
            name = "%s (%s)" % (doc.id, tr("template" if template else "draft", lang))
        kind = tr("doc.kind." + doc.kind, lang)
        self.title = "%s %s" % (kind, name)
        status = tr("status.template", lang) if template else fmt.status(d.status, lang)
        self.sub_title = status

        head = Table.grid(padding=(0, 2))
        head.add_column(style="bold", no_wrap=True)
        head.add_column()
        head.add_row(tr("doc.status", lang), Text(status, style="bold"))
        party = "doc.supplier" if doc.kind == "expense" else "doc.customer"
        head.add_row(tr(party, lang), "%s (%s)" % (d.contact_name, doc.contact) if d.contact_name
                     else doc.contact)
        head.add_row(tr("doc.number", lang), doc.number or "—")
        head.add_row(tr("doc.date", lang), fmt.long_day(doc.date, lang))
        if d.due:
            head.add_row(tr("doc.due", lang), fmt.long_day(d.due, lang))
        if doc.kind != "expense":       # an expense is never validated
            head.add_row(tr("doc.validated", lang),
                         fmt.long_day(doc.validated, lang) if doc.validated else "—")
        if doc.scheduled:
            head.add_row("", tr("doc.scheduled", lang))
        if doc.credits:
            head.add_row(tr("doc.credits", lang), doc.credits)
        if doc.converted_to:
            head.add_row(tr("doc.converted_to", lang), doc.converted_to)
        if doc.converted_from:
            head.add_row(tr("doc.converted_from", lang), doc.converted_from)
        if doc.declined:
            head.add_row(tr("doc.declined", lang), fmt.long_day(doc.declined, lang))
        head.add_row(tr("doc.file", lang), Text(doc.path, style="dim"))
        self.query_one("#doc-head", Static).update(head)

        link = self.query_one("#link-recurrence", Button)
        if doc.recurrence:
            link.label = Text(tr("doc.generated_by", lang, name=d.recurrence_name or doc.recurrence))
            link.display = True
        else:
            link.display = False
        base = self.query_one("#doc-base-of", Static)
        if d.base_of:
            base.update(Text.assemble("\n".join(tr("doc.base_of", lang, name="%s (%s)" % (n, i))
                                                 for i, n in d.base_of), ("  (g)", "dim")))
            base.display = True
        else:
            base.display = False

        cur = d.currency
        if doc.lines:
            lines = Table(title=tr("doc.lines", lang), title_justify="left", expand=True,
                          show_edge=False, pad_edge=False, box=box.SIMPLE_HEAD)
            lines.add_column(tr("doc.description", lang), ratio=1)
            lines.add_column(tr("doc.quantity", lang), justify="right", no_wrap=True)
            lines.add_column(tr("doc.unit_price", lang), justify="right", no_wrap=True)
            lines.add_column(tr("doc.vat", lang), justify="right", no_wrap=True)
            lines.add_column(tr("doc.net", lang), justify="right", no_wrap=True)
            for line, vat, net in zip(doc.lines, d.line_vats, d.line_nets):
                lines.add_row(line.description, str(line.quantity), fmt.money(line.unit_price, cur, lang),
                              str(vat), fmt.money(net, cur, lang))
            self.query_one("#doc-lines", Static).update(lines)
        else:
            self.query_one("#doc-lines", Static).update("")

        totals = Table.grid(padding=(0, 2))
        totals.add_column(style="bold", no_wrap=True)
        totals.add_column(justify="right", no_wrap=True)
        t, a = d.totals, d.amounts
        if t is not None:
            totals.add_row(tr("doc.net", lang), fmt.money(t.net, cur, lang))
            for rate, _net, vat in getattr(t, "by_rate", ()) or ():
                totals.add_row("  %s %s%%" % (tr("doc.vat", lang).split()[0], rate), fmt.money(vat, cur, lang))
        if a is not None:
            totals.add_row(tr("doc.total", lang), fmt.money(a.total, cur, lang))
            if a.paid:
                totals.add_row(tr("doc.paid", lang), fmt.money(a.paid, cur, lang))
            if a.discounted:
                totals.add_row(tr("doc.discounted", lang), fmt.money(a.discounted, cur, lang))
            if a.credited:
                totals.add_row(tr("doc.credited", lang), fmt.money(a.credited, cur, lang))
            totals.add_row(Text(tr("doc.open", lang), style="bold"),
                           Text(fmt.money(a.open, cur, lang), style="bold"))
        self.query_one("#doc-totals", Static).update(totals)

        self.query_one("#doc-entries", Static).update(self._entries())

    def _entries(self):
        d, lang = self.detail, self.lang
        doc, cur = d.doc, d.currency
        out = Table.grid(padding=(0, 2), expand=True)
        out.add_column(no_wrap=True)
        out.add_column(ratio=1)

        def section(key: str, rows: list) -> None:
            if not rows:
                return
            out.add_row(Text(tr(key, lang), style="bold underline"), "")
            for left, right in rows:
                out.add_row(left, right)

        section("doc.payments", [(fmt.day(p.date), "%s  %s" % (fmt.money(p.amount, cur, lang), p.reference))
                                 for p in doc.payments])
        section("doc.discounts", [(fmt.day(x.date), "%s  %s" % (fmt.money(x.amount, cur, lang), x.reason))
                                  for x in doc.discounts])
        section("doc.credit_notes", [(c.number or c.id, fmt.day(c.date)) for c in d.credit_notes])
        if doc.write_off:
            section("doc.write_off", [(fmt.day(doc.write_off.date), doc.write_off.reason)])
        section("doc.holds", [("%s → %s" % (fmt.day(h.start), fmt.day(h.end) if h.end else tr("until_open", lang)),
                               h.reason) for h in doc.holds])
        section("doc.deliveries", [(x.at[:16].replace("T", " "),
                                    Text.assemble((x.result, "bold red" if x.result in ("bounced", "returned", "sending")
                                                   else "green"),
                                                  "  %s %s %s" % (x.channel, x.to, x.detail),
                                                  *(("\n  ↳ %s  sha256 %s" % (a.name, a.sha256), "dim")
                                                    for a in x.attachments)))
                                   for x in doc.deliveries])
        section("doc.reminders", [(fmt.day(r.date), tr("level", lang, n=r.level)) for r in doc.reminders])
        if doc.notes:
            section("doc.notes", [("", doc.notes)])
        return out

    # ------------------------------------------------------------------ links and keys

    @on(Button.Pressed, "#link-recurrence")
    def _open_recurrence(self) -> None:
        if self.detail.doc.recurrence:
            self.post_message(OpenRecurrence(self.detail.doc.recurrence))

    def action_base_of(self) -> None:
        if self.detail.base_of:
            self.post_message(OpenRecurrence(self.detail.base_of[0][0]))

    def action_back(self) -> None:
        self.dismiss()

    def action_pdf(self) -> None:
        """Write the document's PDF (to the current folder, or a path typed),
        then open it."""
        from engine.pdf import pdf_name
        lang, doc = self.lang, self.detail.doc
        fields = [FieldSpec("target", tr("pdf.target", lang), default=pdf_name(doc)),
                  FieldSpec("then", tr("pdf.then", lang), "choice", "open",
                            choices=[(tr("pdf.open", lang), "open"), (tr("pdf.keep", lang), "keep")])]

        def done(values) -> None:
            if values:
                self.post_message(WritePdf(doc.id, values["target"], values["then"] == "open"))

        self.app.push_screen(ActionForm(tr("pdf.title", lang, name=doc.number or doc.id), fields, lang),
                             done)

    def check_action(self, action: str, parameters: tuple) -> Optional[bool]:
        if action == "act" and parameters:
            return parameters[0] in self.detail.allowed
        return True

    def action_act(self, name: str) -> None:
        if name not in self.detail.allowed:
            return
        lang, doc = self.lang, self.detail.doc
        today = self.as_of.isoformat()
        open_amount = str(self.detail.amounts.open) if self.detail.amounts is not None else ""
        title = "%s — %s" % (tr("act." + name, lang), doc.number or doc.id)
        forms = {
            "pay": [FieldSpec("amount", tr("form.amount", lang), "money", open_amount, positive=True),
                    FieldSpec("date", tr("form.date", lang), "date", today),
                    FieldSpec("reference", tr("form.reference", lang), required=False)],
            "discount": [FieldSpec("amount", tr("form.amount", lang), "money", open_amount, positive=True),
                         FieldSpec("date", tr("form.date", lang), "date", today),
                         FieldSpec("reason", tr("form.reason", lang), required=False)],
            "hold": [FieldSpec("date", tr("form.date", lang), "date", today),
                     FieldSpec("reason", tr("form.reason", lang), required=False)],
            "release": [FieldSpec("date", tr("form.date", lang), "date", today)],
            "write_off": [FieldSpec("date", tr("form.date", lang), "date", today),
                          FieldSpec("reason", tr("form.reason", lang), required=False)],
            "decline": [FieldSpec("date", tr("form.date", lang), "date", today)],
            "convert": [FieldSpec("to", tr("form.kind", lang), "choice", "invoice",
                                  choices=[(tr("doc.kind.invoice", lang), "invoice"),
                                           (tr("doc.kind.work_order", lang), "work_order")]
                                  if doc.kind == "quote" else [(tr("doc.kind.invoice", lang), "invoice")])],
        }

        def done(values) -> None:
            if values is True:      # confirmed
                self.post_message(RunAction(name, doc.id, {}))
            # a form's action was performed by the App (the form closes once
            # it is done; refused, it stays open with the reason)

        if name == "send":          # the App shows the message and its attachments first
            self.post_message(WantSendPreview(doc.id))
        elif name in forms:
            self.app.push_screen(ActionForm(title, forms[name], lang, action=(name, doc.id)), done)
        else:
            self.app.push_screen(Confirm(tr("form.confirm", lang, what=title), lang), done)
