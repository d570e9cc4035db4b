"""Modal forms for the document actions: fields checked as you type, the
error under the field, OK only when everything reads; the result is a dict of
parsed values (Decimal, date, str) or None when cancelled — or, for a form
given its engine action, the action is asked of the App (:class:`SubmitForm`)
and the form stays open with the engine's reason by the field when refused."""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Optional, Sequence

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select, Static

from .strings import tr


@dataclass
class FieldSpec:
    name: str
    label: str
    kind: str = "text"              # text | money | date | int | choice
    default: str = ""
    required: bool = True
    choices: Sequence[tuple[str, str]] = ()     # (label, value) for kind choice
    positive: bool = False


def parse_value(spec: FieldSpec, text: str, lang: str) -> tuple[Any, Optional[str]]:
    """(value, None) when ``text`` reads as the field's kind, else (None, error)."""
    text = text.strip()
    if not text:
        if spec.required:
            return None, tr("form.required", lang)
        return None, None
    if spec.kind == "money":
        from engine.loader import read_decimal      # as the book and the CLI read amounts
        value, _problem = read_decimal(text.replace("'", "").replace("\u202f", "").replace(" ", ""))
        if value is None:
            return None, tr("form.bad_amount", lang)
        if spec.positive and value <= 0:
            return None, tr("form.positive", lang)
        return value, None
    if spec.kind == "date":
        try:
            return dt.date.fromisoformat(text), None
        except ValueError:
            return None, tr("form.bad_date", lang)
    if spec.kind == "int":
        try:
            value = int(text)
        except ValueError:
            return None, tr("form.bad_int", lang)
        if spec.positive and value < 0:
            return None, tr("form.bad_int", lang)
        return value, None
    return text, None


class FormScreen(ModalScreen):
    """A form the App answers: closed when the engine did it, else
    :meth:`refused` with the reason and the field it is about."""

    def refused(self, message: str, field: Optional[str]) -> None:
        raise NotImplementedError


@dataclass
class SubmitForm(Message):
    """A form asks the App to perform ``inputs`` (an engine.api input) as
    action ``action``; the App answers with ``form.refused`` or closes it."""
    form: FormScreen
    action: str
    inputs: Any


class ActionForm(FormScreen):
    """A small form; dismisses with {name: value} or None. With ``action``
    (an engine.api action name and the document it acts on), OK asks the App
    to perform it and the form stays open until it is done; refused, the
    reason shows by its field (else under the form) and everything typed stays."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="form.cancel"),
        Binding("ctrl+s", "submit", "OK", id="form.submit"),
    ]

    def __init__(self, title: str, fields: Sequence[FieldSpec], lang: str,
                 note: str = "", action: Optional[tuple[str, str]] = None) -> None:
        super().__init__()
        self.form_title = title
        self.fields = list(fields)
        self.lang = lang
        self.note = note
        self.action = action
        self.waiting = False

    def compose(self) -> ComposeResult:
        with Vertical(id="form", classes="dialog"):
            yield Label(self.form_title, classes="dialog-title")
            if self.note:
                yield Static(self.note, classes="dialog-note")
            with VerticalScroll(classes="form-fields"):
                for spec in self.fields:
                    yield Label(spec.label, classes="field-label")
                    if spec.kind == "choice":
                        yield Select(list(spec.choices), value=spec.default or spec.choices[0][1],
                                     allow_blank=False, id="field-" + spec.name, compact=True)
                    else:
                        yield Input(spec.default, id="field-" + spec.name,
                                    placeholder="YYYY-MM-DD" if spec.kind == "date" else "")
                    yield Label("", id="error-" + spec.name, classes="field-error")
            yield Label("", id="error-form", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(tr("form.ok", self.lang), variant="primary", id="ok", compact=True)
                yield Button(tr("form.cancel", self.lang), id="cancel", compact=True)

    def on_mount(self) -> None:
        for label in self.query(".field-error"):
            label.display = False
        self._check()
        first = self.query("Input, Select").first()
        first.focus()

    def _check(self, show_required: bool = False) -> Optional[dict]:
        values, ok = {}, True
        for spec in self.fields:
            widget = self.query_one("#field-" + spec.name)
            if spec.kind == "choice":
                values[spec.name] = widget.value
                continue
            value, error = parse_value(spec, widget.value, self.lang)
            label = self.query_one("#error-" + spec.name, Label)
            if error and not widget.value.strip() and not show_required:
                shown = ""       # say "required" only once OK is pressed
            else:
                shown = error or ""
            label.update(shown)
            label.display = bool(shown)
            widget.set_class(bool(error), "-invalid")
            if error:
                ok = False
            values[spec.name] = value
        self.query_one("#ok", Button).disabled = False
        return values if ok else None

    @on(Input.Changed)
    def _changed(self) -> None:
        self._check()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_submit()

    @on(Button.Pressed, "#ok")
    def action_submit(self) -> None:
        if self.waiting:
            return
        values = self._check(show_required=True)
        if values is None:
            return
        if self.action is None:
            self.dismiss(values)
            return
        from engine import api
        name, doc_id = self.action
        self.waiting = True
        self.query_one("#ok", Button).disabled = True
        self.query_one("#error-form", Label).display = False
        self.post_message(SubmitForm(self, name, api.inputs_for(name, doc=doc_id, **values)))

    def refused(self, message: str, field: Optional[str]) -> None:
        """The engine refused: the reason by ``field`` when the form has it,
        else under the form; what was typed stays."""
        self.waiting = False
        self.query_one("#ok", Button).disabled = False
        text = tr("form.refused", self.lang, message=message)
        named = [spec.name for spec in self.fields if spec.name == field]
        label = self.query_one("#error-" + (named[0] if named else "form"), Label)
        label.update(text)
        label.display = True
        if named:
            self.query_one("#field-" + named[0]).focus()

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


class Confirm(ModalScreen):
    """Yes / no; dismisses with True or False."""

    BINDINGS = [Binding("escape", "no", "Cancel", id="confirm.cancel"),
                Binding("y", "yes", "Yes", show=False, id="confirm.yes")]

    def __init__(self, question: str, lang: str) -> None:
        super().__init__()
        self.question = question
        self.lang = lang

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog"):
            yield Label(self.question, classes="dialog-title")
            with Horizontal(classes="dialog-buttons"):
                yield Button(tr("form.ok", self.lang), variant="primary", id="yes", compact=True)
                yield Button(tr("form.cancel", self.lang), id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#yes").focus()

    @on(Button.Pressed, "#yes")
    def action_yes(self) -> None:
        self.dismiss(True)

    @on(Button.Pressed, "#no")
    def action_no(self) -> None:
        self.dismiss(False)
