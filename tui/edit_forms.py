"""Forms that create and edit what the book holds: a document (kind, contact
picked by name, dates, lines with live totals and VAT per rate), a contact,
the settings (SPEC 7, revision 2).

OK does not close the form: it posts :class:`SubmitForm` with the engine
API's typed input (``engine.api``); the App performs it in a worker and
either closes the form (done: one commit) or calls :meth:`EngineForm.refused`
with the engine's reason, shown beside the field it is about, everything
typed kept. Fields are checked as they are typed (dates, amounts), as the
action forms do.

Longer than 500 lines on purpose: three forms that share the field checks and
the display of the engine's refusals (EngineForm).
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Optional

from rich.table import Table
from rich.text import Text
from textual import events, on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import Button, Input, Label, OptionList, Select, Static
from textual.widgets.option_list import Option

from engine import api
from engine.listing import fold

from . import fmt
from .forms import FieldSpec, FormScreen, SubmitForm, parse_value
from .strings import BINDING_WORDS, STRINGS, tr

STRINGS.update({
    "edit.new_document": {"en": "New document", "fr": "Nouveau document"},
    "edit.edit_document": {"en": "Edit {name}", "fr": "Modifier {name}"},
    "edit.new_contact": {"en": "New contact", "fr": "Nouveau contact"},
    "edit.edit_contact": {"en": "Edit contact {name}", "fr": "Modifier le contact {name}"},
    "edit.settings": {"en": "Settings", "fr": "Réglages"},
    "edit.kind": {"en": "Kind", "fr": "Type"},
    "edit.contact": {"en": "Contact (type a name)", "fr": "Contact (tapez un nom)"},
    "edit.contact_unknown": {"en": "no contact named so: pick one in the list",
                             "fr": "aucun contact de ce nom : choisissez-en un dans la liste"},
    "edit.date": {"en": "Date", "fr": "Date"},
    "edit.due": {"en": "Due (optional)", "fr": "Échéance (facultative)"},
    "edit.currency": {"en": "Currency (default {currency})", "fr": "Monnaie (par défaut {currency})"},
    "edit.notes": {"en": "Notes", "fr": "Notes"},
    "edit.lines": {"en": "Lines: description, quantity, unit price, VAT % (default {vat})",
                   "fr": "Lignes : description, quantité, prix unitaire, TVA % (par défaut {vat})"},
    "edit.add_line": {"en": "+ Line", "fr": "+ Ligne"},
    "edit.remove_line": {"en": "− Line", "fr": "− Ligne"},
    "edit.net": {"en": "Net", "fr": "Net"},
    "edit.vat_rate": {"en": "VAT {rate}%", "fr": "TVA {rate} %"},
    "edit.total": {"en": "Total", "fr": "Total"},
    "edit.id": {"en": "Id (optional: from the name)", "fr": "Identifiant (facultatif : d'après le nom)"},
    "edit.name": {"en": "Name", "fr": "Nom"},
    "edit.email": {"en": "E-mail", "fr": "E-mail"},
    "edit.address": {"en": "Postal address", "fr": "Adresse postale"},
    "edit.payment_days": {"en": "Payment days (optional)", "fr": "Jours de paiement (facultatif)"},
    "edit.company": {"en": "Company name", "fr": "Nom de l'entreprise"},
    "edit.book_currency": {"en": "Currency", "fr": "Monnaie"},
    "edit.locale": {"en": "Language (en, fr)", "fr": "Langue (en, fr)"},
    "edit.timezone": {"en": "Time zone", "fr": "Fuseau horaire"},
    "edit.vat": {"en": "Default VAT %", "fr": "TVA par défaut %"},
    "edit.terms_days": {"en": "Payment days", "fr": "Jours de paiement"},
    "edit.refused": {"en": "Refused: {message}", "fr": "Refusé : {message}"},
    "key.add_line": {"en": "Add line", "fr": "Ajouter une ligne"},
    "key.edit_document": {"en": "Edit", "fr": "Modifier"},
})
BINDING_WORDS.setdefault("add_line", "key.add_line")
BINDING_WORDS.setdefault("new_document", "edit.new_document")

KINDS = ("invoice", "quote", "work_order", "expense")
CURRENCY_LIKE = Decimal("0.01")


def show_text(label: Static, text: str) -> None:
    """``label`` shows ``text``: updated only when it changes, as an update
    lays the whole form out again."""
    if label.content != text:
        label.update(text)


class EngineForm(FormScreen):
    """A form whose OK goes to the engine and that stays open on refusal."""

    DEFAULT_CSS = """
    EngineForm .form-fields { max-height: 19; }
    EngineForm #contact-matches { height: auto; max-height: 6; }
    EngineForm .line-row { height: 1; }
    EngineForm .line-row > Input { margin-right: 1; }
    EngineForm .line-description { width: 1fr; }
    EngineForm .line-number { width: 11; }
    EngineForm .line-vat { width: 7; }
    EngineForm #totals { margin-top: 1; height: auto; }
    EngineForm #lines { height: auto; }
    """

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="edit_form.cancel"),
        Binding("ctrl+s", "submit", "OK", id="edit_form.submit"),
    ]
    # engine field (as the refusal names it) -> this form's field
    FIELD_ALIASES: dict[str, str] = {}

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang
        self.waiting = False

    # subclasses: compose_fields(), inputs() -> (action, input) or None
    def compose_fields(self) -> ComposeResult:
        raise NotImplementedError
        yield

    def title_text(self) -> str:
        raise NotImplementedError

    def inputs(self) -> Optional[tuple[str, Any]]:
        raise NotImplementedError

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog wide edit-form"):
            yield Label(self.title_text(), classes="dialog-title")
            with VerticalScroll(classes="form-fields"):
                yield from self.compose_fields()
            yield Label("", id="error-form", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(tr("form.ok", self.lang), variant="primary", id="ok", compact=True)
                yield Button(tr("form.cancel", self.lang), id="cancel", compact=True)

    def first_field(self) -> Widget:
        """The field that has the focus when the form opens."""
        return self.query("Input, Select").first()

    def on_mount(self) -> None:
        # Textual calls each class's on_mount (a subclass's first): a
        # subclass adds its own without calling this one
        for label in self.query(".field-error"):
            label.display = False
        self.first_field().focus()

    _styled_for: Optional[tuple] = None

    def on_screen_resume(self, event: events.ScreenResume) -> None:
        """Shown again (the App keeps the document form): Textual restyles
        every widget of a resumed screen, a quarter of the form's opening
        time, though what changed meanwhile (classes, focus, disabled) was
        restyled as it changed. Skipped when nothing the styles depend on
        changed since the form was last shown: the app's CSS (a theme
        change counts it), its classes, whether the terminal has the focus.
        Runs before Textual's own handler (subclass first)."""
        app = self.app
        state = (getattr(app, "_css_update_count", None), app.theme, app.app_focus,
                 frozenset(app.classes))
        if state[0] is not None and state == self._styled_for:
            event.refresh_styles = False
        self._styled_for = state

    # ------------------------------------------------------------------ checking

    def field(self, name: str, label: str, value: str = "", placeholder: str = "") -> ComposeResult:
        yield Label(label, classes="field-label")
        yield Input(value, id="field-" + name, placeholder=placeholder)
        yield Label("", id="error-" + name, classes="field-error")

    def say(self, name: str, text: str) -> None:
        found = self.query("#error-" + name)
        label = found.first(Label) if found else self.query_one("#error-form", Label)
        show_text(label, text)
        label.display = bool(text)

    def read(self, spec: FieldSpec, final: bool) -> tuple[Any, bool]:
        """(value, ok) of the Input ``field-<name>``, its error shown under it."""
        widget = self.query_one("#field-" + spec.name, Input)
        value, error = parse_value(spec, widget.value, self.lang)
        shown = "" if (error and not widget.value.strip() and not final) else (error or "")
        self.say(spec.name, shown)
        widget.set_class(bool(error), "-invalid")
        return value, not error

    def text_of(self, name: str) -> str:
        return self.query_one("#field-" + name, Input).value.strip()

    # ------------------------------------------------------------------ submitting

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#ok")
    def action_submit(self) -> None:
        if self.waiting:
            return
        self.say("form", "")
        asked = self.inputs()
        if asked is None:
            return
        self.waiting = True
        self.query_one("#ok", Button).disabled = True
        self.post_message(SubmitForm(self, *asked))

    def refused(self, message: str, field: Optional[str]) -> None:
        """The engine refused: say why beside ``field`` (else under the
        form); everything typed stays."""
        self.waiting = False
        self.query_one("#ok", Button).disabled = False
        name = self.FIELD_ALIASES.get(field or "", field or "")
        text = tr("edit.refused", self.lang, message=message)
        if name and self.query("#error-" + name):
            self.say(name, text)
            target = self.query("#field-" + name)
            if target:
                target.first().focus()
        else:
            self.say("form", text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


# =========================================================================== documents

class LineRow(Horizontal):
    """One line: description, quantity, unit price, VAT %."""

    def __init__(self, index: int, line=None, default_vat: str = "") -> None:
        super().__init__(classes="line-row", id="line-%d" % index)
        self.index = index
        self.line = line
        self.default_vat = default_vat

    @staticmethod
    def texts(line) -> dict[str, str]:
        """What the row's inputs show for ``line`` (None: a new line)."""
        return {"description": line.description if line else "",
                "quantity": str(line.quantity) if line else "1",
                "unit_price": str(line.unit_price) if line else "",
                "vat": "" if line is None or line.vat is None else str(line.vat)}

    def compose(self) -> ComposeResult:
        i, texts = self.index, self.texts(self.line)
        yield Input(texts["description"], id="line-%d-description" % i,
                    classes="line-description")
        yield Input(texts["quantity"], id="line-%d-quantity" % i, classes="line-number")
        yield Input(texts["unit_price"], id="line-%d-unit_price" % i,
                    classes="line-number", placeholder="0.00")
        yield Input(texts["vat"], id="line-%d-vat" % i, classes="line-vat",
                    placeholder=self.default_vat)

    def show(self, line, default_vat: str) -> None:
        """Show ``line`` in the inputs already there (a form opened again)."""
        self.line, self.default_vat = line, default_vat
        for key, text in self.texts(line).items():
            box = self.query_one("#line-%d-%s" % (self.index, key), Input)
            with box.prevent(Input.Changed):
                box.value = text
            box.set_class(False, "-invalid")
        self.query_one("#line-%d-vat" % self.index, Input).placeholder = default_vat


class DocumentForm(EngineForm):
    """A new document, or the edit of one (``doc``)."""

    BINDINGS = [Binding("ctrl+n", "add_line", "Add line", id="edit_form.add_line")]
    FIELD_ALIASES = {"customer": "contact", "supplier": "contact", "lines": "lines",
                     "quantity": "lines", "unit_price": "lines", "vat": "lines",
                     "description": "lines"}

    def __init__(self, lang: str, as_of: dt.date, settings, contacts: list[tuple[str, str]],
                 doc=None, contact_name: str = "") -> None:
        super().__init__(lang)
        self.as_of = as_of
        self.settings = settings
        self.contacts = contacts            # (id, name), by name
        self.doc = doc
        self.contact_id: Optional[str] = doc.contact if doc is not None else None
        self.contact_name = contact_name or (doc.contact if doc is not None else "")
        self.rows = max(1, len(doc.lines)) if doc is not None and doc.lines else 1
        self._totals_shown: Optional[tuple] = None

    def title_text(self) -> str:
        if self.doc is None:
            return tr("edit.new_document", self.lang)
        return tr("edit.edit_document", self.lang, name=self.doc.number or self.doc.id)

    def _kinds(self) -> tuple[str, ...]:
        doc = self.doc
        return KINDS if doc is None or doc.kind in KINDS else (*KINDS, doc.kind)

    def reset(self, settings, contacts: list[tuple[str, str]], doc=None,
              contact_name: str = "") -> None:
        """Show the form afresh, for a new document or for ``doc``, without
        composing it again (the App keeps one document form: composing its
        widgets is most of the time a form takes to open,
        docs/performance.md). Before it is first shown, only the fields change."""
        self.settings, self.contacts, self.doc = settings, contacts, doc
        self.contact_id = doc.contact if doc is not None else None
        self.contact_name = contact_name or (doc.contact if doc is not None else "")
        self.rows = max(1, len(doc.lines)) if doc is not None and doc.lines else 1
        self.waiting = False
        if not self.is_mounted:
            return
        lang = self.lang
        show_text(self.query_one(".dialog-title", Label), self.title_text())
        kind = self.query_one("#field-kind", Select)
        kinds = self._kinds()
        if tuple(value for _prompt, value in kind._options) != kinds:
            kind.set_options([(tr("doc.kind." + k, lang), k) for k in kinds])
        kind.value = doc.kind if doc is not None else "invoice"
        kind.disabled = doc is not None
        values = {"contact": self.contact_name,
                  "date": (doc.date if doc is not None else self.as_of).isoformat(),
                  "due": doc.due.isoformat() if doc is not None and doc.due else "",
                  "currency": (doc.currency or "") if doc is not None else "",
                  "notes": doc.notes if doc is not None else ""}
        for name, value in values.items():
            box = self.query_one("#field-" + name, Input)
            with box.prevent(Input.Changed):
                box.value = value
            box.set_class(False, "-invalid")
        self.query_one("#contact-matches", OptionList).display = False
        show_text(self.query_one("#field-currency").parent.query_one(".field-label", Label),
                  tr("edit.currency", lang, currency=settings.currency))
        show_text(self.query_one("#lines-label", Label), tr("edit.lines", lang, vat=settings.vat))
        for label in self.query(".field-error"):
            show_text(label, "")
            label.display = False
        ok = self.query_one("#ok", Button)
        ok.disabled = False
        # the focus now, not after a refresh as Widget.focus() does: the
        # form's first frame is then its last (each frame draws the screen
        # beneath again, docs/performance.md)
        self.set_focus(self.first_field(), scroll_visible=False)
        self.query_one(VerticalScroll).scroll_home(animate=False)
        lines = list(doc.lines) if doc is not None and doc.lines else [None]
        rows = list(self.query(LineRow))
        if [row.index for row in rows] == list(range(len(lines))):
            for row, line in zip(rows, lines):      # as many rows: new texts only
                row.show(line, str(settings.vat))
            self._totals()
        else:
            self.call_later(self._fresh_lines, lines, str(settings.vat))

    async def _fresh_lines(self, lines: list, default_vat: str) -> None:
        """Line rows for the form's new content when it has not as many
        lines as the rows there (the old ones removed first: the new ones
        take their ids), then the totals."""
        holder = self.query_one("#lines", Vertical)
        await holder.remove_children()
        await holder.mount_all([LineRow(i, line, default_vat) for i, line in enumerate(lines)])
        self._totals()

    def compose_fields(self) -> ComposeResult:
        lang, doc = self.lang, self.doc
        yield Label(tr("edit.kind", lang), classes="field-label")
        yield Select([(tr("doc.kind." + k, lang), k) for k in self._kinds()],
                     value=doc.kind if doc is not None else "invoice", allow_blank=False,
                     id="field-kind", compact=True, disabled=doc is not None)
        yield from self.field("contact", tr("edit.contact", lang), self.contact_name)
        yield OptionList(id="contact-matches")
        with Horizontal(classes="form-row"):
            with Vertical():
                yield from self.field("date", tr("edit.date", lang),
                                      (doc.date if doc is not None else self.as_of).isoformat(),
                                      "YYYY-MM-DD")
            with Vertical():
                yield from self.field("due", tr("edit.due", lang),
                                      doc.due.isoformat() if doc is not None and doc.due else "",
                                      "YYYY-MM-DD")
            with Vertical():
                yield from self.field("currency",
                                      tr("edit.currency", lang, currency=self.settings.currency),
                                      (doc.currency or "") if doc is not None else "")
        yield Label(tr("edit.lines", lang, vat=self.settings.vat), classes="field-label",
                    id="lines-label")
        with Vertical(id="lines"):
            lines = list(doc.lines) if doc is not None and doc.lines else [None]
            for i, line in enumerate(lines):
                yield LineRow(i, line, str(self.settings.vat))
        yield Label("", id="error-lines", classes="field-error")
        with Horizontal(classes="form-row"):
            yield Button(tr("edit.add_line", lang), id="add-line", compact=True)
            yield Button(tr("edit.remove_line", lang), id="remove-line", compact=True)
        yield Static("", id="totals")
        yield from self.field("notes", tr("edit.notes", lang), doc.notes if doc is not None else "")

    def first_field(self) -> Widget:
        return self.query_one("#field-contact", Input)

    def on_mount(self) -> None:
        self.query_one("#contact-matches", OptionList).display = False
        self._totals()

    # ------------------------------------------------------------------ contact by name

    def matches(self, text: str, limit: int = 6) -> list[tuple[str, str]]:
        """Contacts whose name or id holds ``text`` (accents and case folded),
        those starting with it first."""
        wanted = fold(text.strip())
        if not wanted:
            return []
        found = [(cid, name) for cid, name in self.contacts
                 if wanted in fold(name) or wanted in fold(cid)]
        found.sort(key=lambda c: (not fold(c[1]).startswith(wanted), fold(c[1])))
        return found[:limit]

    def _contact_typed(self, text: str) -> None:
        listing = self.query_one("#contact-matches", OptionList)
        exact = [c for c in self.contacts if c[0] == text.strip() or c[1] == text.strip()]
        self.contact_id = exact[0][0] if len(exact) == 1 else None
        found = [] if self.contact_id else self.matches(text)
        listing.clear_options()
        listing.add_options([Option("%s  (%s)" % (name, cid), id=cid) for cid, name in found])
        listing.display = bool(found)

    @on(OptionList.OptionSelected, "#contact-matches")
    def _contact_picked(self, event: OptionList.OptionSelected) -> None:
        cid = event.option.id or ""
        name = next((n for c, n in self.contacts if c == cid), cid)
        box = self.query_one("#field-contact", Input)
        with box.prevent(Input.Changed):
            box.value = name
        self.contact_id = cid
        event.option_list.display = False
        self.say("contact", "")
        self.query_one("#field-date", Input).focus()

    def on_key(self, event) -> None:
        """↓ from the contact box goes to its matches."""
        listing = self.query_one("#contact-matches", OptionList)
        if event.key == "down" and self.focused is self.query_one("#field-contact", Input) \
                and listing.display:
            listing.focus()
            listing.highlighted = 0
            event.stop()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id == "field-contact":
            self._contact_typed(event.value)
            return
        if event.input.id and event.input.id.startswith("line-"):
            self._totals()
        elif event.input.id == "field-currency":
            self._totals()
        else:
            name = (event.input.id or "").removeprefix("field-")
            spec = self._specs().get(name)
            if spec is not None:
                self.read(spec, final=False)

    # ------------------------------------------------------------------ lines and totals

    def _row_count(self) -> int:
        return len(self.query(LineRow))

    @on(Button.Pressed, "#add-line")
    def action_add_line(self) -> None:
        i = max((row.index for row in self.query(LineRow)), default=-1) + 1
        row = LineRow(i, None, str(self.settings.vat))
        self.query_one("#lines", Vertical).mount(row)
        self.call_after_refresh(lambda: self.query_one("#line-%d-description" % i, Input).focus())

    @on(Button.Pressed, "#remove-line")
    def _remove_line(self) -> None:
        rows = list(self.query(LineRow))
        if len(rows) > 1:
            rows[-1].remove()
            self.call_after_refresh(self._totals)

    def _lines(self, final: bool) -> tuple[list[dict], bool]:
        """The lines as the engine takes them, and whether every one reads."""
        out, ok, problems = [], True, []
        for n, row in enumerate(self.query(LineRow), start=1):
            i = row.index
            desc = self.query_one("#line-%d-description" % i, Input).value.strip()
            texts = {key: self.query_one("#line-%d-%s" % (i, key), Input).value.strip()
                     for key in ("quantity", "unit_price", "vat")}
            if not desc and not texts["unit_price"]:
                continue                    # an empty row is no line
            line: dict[str, Any] = {"description": desc}
            for key in ("quantity", "unit_price", "vat"):
                widget = self.query_one("#line-%d-%s" % (i, key), Input)
                if key == "vat" and not texts[key]:
                    widget.set_class(False, "-invalid")
                    continue
                value, error = parse_value(FieldSpec(key, "", "money"), texts[key], self.lang)
                if error is None and key == "quantity" and value == 0:
                    error = tr("form.positive", self.lang)
                widget.set_class(bool(error) and (final or bool(texts[key])), "-invalid")
                if error:
                    ok = False
                    if final or texts[key]:
                        problems.append("%d: %s" % (n, error))
                else:
                    line[key] = value
            if not desc:
                ok = False
                if final:
                    problems.append("%d: %s" % (n, tr("form.required", self.lang)))
            out.append(line)
        if final and not out and self._kind() != "expense":
            ok = False
            problems.append(tr("form.required", self.lang))
        self.say("lines", "; ".join(problems))
        return out, ok

    def _kind(self) -> str:
        return str(self.query_one("#field-kind", Select).value)

    def _currency(self) -> str:
        return self.text_of("currency").upper() or self.settings.currency

    def _totals(self) -> None:
        """Net, VAT per rate and total of the lines as typed (engine.money)."""
        from engine.model import Document, Line
        from engine.money import document_totals
        lines, _ok = self._lines(final=False)
        records = tuple(Line(description=ln.get("description", ""),
                             quantity=ln.get("quantity", Decimal(0)),
                             unit_price=ln.get("unit_price", Decimal(0)), vat=ln.get("vat"))
                        for ln in lines if "quantity" in ln and "unit_price" in ln)
        currency = self._currency()
        doc = Document(id="form", path="", kind=self._kind(), contact="", date=self.as_of,
                       currency=currency, lines=records)
        shown = self.query_one("#totals", Static)
        try:
            totals = document_totals(doc, self.settings)
        except Exception:                   # an amount too large to compute: no totals yet
            self._totals_shown = None
            show_text(shown, "")
            return
        rows = ((tr("edit.net", self.lang), fmt.money(totals.net, currency, self.lang)),
                *((tr("edit.vat_rate", self.lang, rate=rate), fmt.money(vat, currency, self.lang))
                  for rate, _net, vat in totals.by_rate),
                (tr("edit.total", self.lang), fmt.money(totals.total, currency, self.lang)))
        if rows == self._totals_shown:
            return                          # as shown: no layout again (most keys typed)
        self._totals_shown = rows
        grid = Table.grid(padding=(0, 2))
        grid.add_column(no_wrap=True)
        grid.add_column(justify="right", no_wrap=True)
        for words, amount in rows[:-1]:
            grid.add_row(words, amount)
        grid.add_row(Text(rows[-1][0], style="bold"), Text(rows[-1][1], style="bold"))
        shown.update(grid)

    # ------------------------------------------------------------------ the input

    def _specs(self) -> dict[str, FieldSpec]:
        return {"date": FieldSpec("date", "", "date"),
                "due": FieldSpec("due", "", "date", required=False),
                "currency": FieldSpec("currency", "", "text", required=False),
                "notes": FieldSpec("notes", "", "text", required=False)}

    def inputs(self) -> Optional[tuple[str, Any]]:
        values, ok = {}, True
        for name, spec in self._specs().items():
            values[name], good = self.read(spec, final=True)
            ok = ok and good
        lines, good = self._lines(final=True)
        ok = ok and good
        if self.contact_id is None:
            typed = self.text_of("contact")
            found = self.matches(typed)
            if len(found) == 1:
                self.contact_id = found[0][0]
            else:
                self.say("contact", tr("form.required", self.lang) if not typed
                         else tr("edit.contact_unknown", self.lang))
                ok = False
        if not ok:
            return None
        kind = self._kind()
        party = "supplier" if kind == "expense" else "customer"
        fields: dict[str, Any] = {"kind": kind, party: self.contact_id, "date": values["date"]}
        for key in ("due", "notes"):
            if values[key]:
                fields[key] = values[key]
        if values["currency"]:
            fields["currency"] = values["currency"].upper()
        if lines:
            fields["lines"] = lines
        if self.doc is None:
            return "document.create", api.CreateDocument(fields, source=tr("edit.new_document",
                                                                           "en"))
        return self._edit(fields)

    def _edit(self, fields: dict) -> Optional[tuple[str, Any]]:
        doc = self.doc
        old: dict[str, Any] = {doc.party_key: doc.contact, "date": doc.date, "due": doc.due,
                               "currency": doc.currency, "notes": doc.notes or None,
                               "lines": [_line_dict(ln) for ln in doc.lines] or None}
        set_fields = {k: v for k, v in fields.items()
                      if k != "kind" and old.get(k) != v}
        remove = tuple(k for k in ("due", "currency", "notes", "lines")
                       if old.get(k) is not None and k not in fields)
        if not set_fields and not remove:
            self.dismiss(None)
            return None
        return "edit", api.EditDocument(doc.id, set_fields=set_fields, remove=remove)


def _line_dict(line) -> dict:
    out: dict[str, Any] = {"description": line.description, "quantity": line.quantity,
                           "unit_price": line.unit_price}
    if line.vat is not None:
        out["vat"] = line.vat
    return out


# =========================================================================== contacts

class ContactForm(EngineForm):
    """A new contact, or the edit of one (``contact``)."""

    FIELD_ALIASES = {"payment_days": "payment_days", "email": "email", "name": "name",
                     "address": "address", "id": "id"}

    def __init__(self, lang: str, contact=None) -> None:
        super().__init__(lang)
        self.contact = contact

    def title_text(self) -> str:
        if self.contact is None:
            return tr("edit.new_contact", self.lang)
        return tr("edit.edit_contact", self.lang, name=self.contact.name)

    def compose_fields(self) -> ComposeResult:
        lang, c = self.lang, self.contact
        if c is None:
            yield from self.field("id", tr("edit.id", lang))
        yield from self.field("name", tr("edit.name", lang), c.name if c else "")
        yield from self.field("email", tr("edit.email", lang), c.email if c else "")
        address = c.address if c is not None and isinstance(c.address, str) else ""
        yield from self.field("address", tr("edit.address", lang), address.replace("\n", " / "))
        yield from self.field("payment_days", tr("edit.payment_days", lang),
                              str(c.payment_days) if c is not None and c.payment_days is not None
                              else "")

    def inputs(self) -> Optional[tuple[str, Any]]:
        specs = [FieldSpec("name", "", "text"), FieldSpec("email", "", "text", required=False),
                 FieldSpec("address", "", "text", required=False),
                 FieldSpec("payment_days", "", "int", required=False, positive=True)]
        if self.contact is None:
            specs.insert(0, FieldSpec("id", "", "text", required=False))
        values, ok = {}, True
        for spec in specs:
            values[spec.name], good = self.read(spec, final=True)
            ok = ok and good
        if not ok:
            return None
        if values.get("address"):
            values["address"] = "\n".join(p.strip() for p in values["address"].split(" / "))
        if self.contact is None:
            return "contact.create", api.CreateContact(
                {k: v for k, v in values.items() if v not in (None, "")},
                source=tr("edit.new_contact", "en"))
        c = self.contact
        old = {"name": c.name, "email": c.email or None,
               "address": (c.address or None) if isinstance(c.address, str) else None,
               "payment_days": c.payment_days}
        set_fields = {k: v for k, v in values.items() if v not in (None, "") and old.get(k) != v}
        remove = tuple(k for k, v in values.items() if v in (None, "") and old.get(k) is not None)
        if not set_fields and not remove:
            self.dismiss(None)
            return None
        return "contact.modify", api.EditContact(c.id, set_fields=set_fields, remove=remove)


# =========================================================================== settings

class SettingsForm(EngineForm):
    """The settings a person changes most: company name, currency, language,
    time zone, default VAT, payment days (the others: edit facturier.yaml)."""

    FIELDS = (("company.name", "edit.company", "text"), ("currency", "edit.book_currency", "text"),
              ("locale", "edit.locale", "text"), ("timezone", "edit.timezone", "text"),
              ("vat", "edit.vat", "money"), ("terms.payment_days", "edit.terms_days", "int"))

    def __init__(self, lang: str, settings) -> None:
        super().__init__(lang)
        self.settings = settings

    def title_text(self) -> str:
        return tr("edit.settings", self.lang)

    def _current(self, key: str):
        value: Any = self.settings
        for part in key.split("."):
            value = getattr(value, part)
        return value

    def compose_fields(self) -> ComposeResult:
        for key, label, _kind in self.FIELDS:
            yield from self.field(key.replace(".", "_"), tr(label, self.lang), str(self._current(key)))

    def refused(self, message: str, field: Optional[str]) -> None:
        names = {"company": "company_name", "terms": "terms_payment_days",
                 "payment_days": "terms_payment_days"}
        super().refused(message, names.get(field or "", field))

    def inputs(self) -> Optional[tuple[str, Any]]:
        values, ok = {}, True
        for key, _label, kind in self.FIELDS:
            spec = FieldSpec(key.replace(".", "_"), "", kind, required=key != "company.name")
            values[key], good = self.read(spec, final=True)
            ok = ok and good
        if not ok:
            return None
        set_fields = {k: v for k, v in values.items() if v is not None and v != self._current(k)}
        if values["company.name"] is None and self.settings.company.name:
            set_fields["company.name"] = ""
        if not set_fields:
            self.dismiss(None)
            return None
        return "settings.modify", api.EditSettings(set_fields)
