"""The recurrence form: name, template, frequency (presets or a raw RRULE),
start, end date or count, issue mode, lead days, with a live preview of the
next occurrences and, under it, the warnings `facturier check` gives about
schedules that surprise (engine.recurrence.schedule_warnings: the 31st that
skips short months...); the "Last day of the month" frequency is
BYMONTHDAY=-1.

OK does not close the form: as the other forms (tui/edit_forms.py) it posts
:class:`~tui.edit_forms.SubmitForm` with the engine API's typed input
(``recurrence.create`` / ``recurrence.modify``); the App performs it and
either closes the form (one commit) or calls :meth:`RecurrenceForm.refused`
with the engine's reason, shown beside the field, everything typed kept.

The frequency list and the RRULE field follow each other: picking a preset
writes its rule; typing a rule selects the preset it matches, without that
selection writing the field back (it would overwrite keys typed since).

The preview asks the App (``app.preview_occurrences``), which calls the
engine's own occurrence rules, so what the form shows is what the run does.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, Input, Label, Select, Static

from engine import api
from engine.i18n import localize
from engine.recurrence import schedule_warnings

from .edit_forms import FormScreen, SubmitForm
from .forms import FieldSpec, parse_value
from .strings import tr


def _said(exc: Exception, lang: str) -> str:
    """An engine error (a RuleError...) in the person's language."""
    return localize(exc, lang)

PRESETS = {
    "weekly": "FREQ=WEEKLY",
    "monthly": "FREQ=MONTHLY",
    "quarterly": "FREQ=MONTHLY;INTERVAL=3",
    "yearly": "FREQ=YEARLY",
    "last_day": "FREQ=MONTHLY;BYMONTHDAY=-1",
}
ISSUE_MODES = ("draft", "validate", "send")


def preset_of(rule: str) -> str:
    for name, text in PRESETS.items():
        if text == rule:
            return name
    return "raw"


def split_count(rule: str) -> tuple[str, str]:
    """(rule without COUNT, count text)."""
    parts = [p for p in rule.split(";") if p]
    count = ""
    kept = []
    for p in parts:
        if p.upper().startswith("COUNT="):
            count = p.split("=", 1)[1]
        else:
            kept.append(p)
    return ";".join(kept), count


class RecurrenceForm(FormScreen):
    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="recurrence_form.cancel"),
        Binding("ctrl+s", "submit", "OK", id="recurrence_form.submit"),
    ]

    def __init__(self, lang: str, as_of: dt.date, rec=None) -> None:
        super().__init__()
        self.lang = lang
        self.as_of = as_of
        self.rec = rec
        self.waiting = False

    def compose(self) -> ComposeResult:
        lang, rec = self.lang, self.rec
        rule, count = split_count(rec.rule) if rec else ("FREQ=MONTHLY", "")
        title = tr("form.edit_recurrence", lang, name=rec.name) if rec else tr("form.new_recurrence", lang)
        with Vertical(classes="dialog wide", id="recurrence-form"):
            yield Label(title, classes="dialog-title")
            with VerticalScroll(classes="form-fields"):
                yield Label(tr("form.name", lang), classes="field-label")
                yield Input(rec.name if rec else "", id="name")
                yield Label("", id="error-name", classes="field-error")
                yield Label(tr("form.template", lang), classes="field-label")
                yield Input(rec.template if rec else "", id="template")
                yield Label("", id="error-template", classes="field-error")
                yield Label(tr("form.frequency", lang), classes="field-label")
                yield Select([(tr("freq." + k, lang), k) for k in (*PRESETS, "raw")],
                             value=preset_of(rule), allow_blank=False, id="frequency", compact=True)
                yield Label(tr("form.rrule", lang), classes="field-label")
                yield Input(rule, id="rule")
                yield Label("", id="error-rule", classes="field-error")
                with Horizontal(classes="form-row"):
                    with Vertical():
                        yield Label(tr("form.start", lang), classes="field-label")
                        yield Input((rec.start if rec else self.as_of).isoformat(), id="start")
                        yield Label("", id="error-start", classes="field-error")
                    with Vertical():
                        yield Label(tr("form.until", lang), classes="field-label")
                        yield Input(rec.until.isoformat() if rec and rec.until else "", id="until",
                                    placeholder="YYYY-MM-DD")
                        yield Label("", id="error-until", classes="field-error")
                    with Vertical():
                        yield Label(tr("form.count", lang), classes="field-label")
                        yield Input(count, id="count")
                        yield Label("", id="error-count", classes="field-error")
                with Horizontal(classes="form-row"):
                    with Vertical():
                        yield Label(tr("form.issue", lang), classes="field-label")
                        yield Select([(tr("issue." + m, lang), m) for m in ISSUE_MODES],
                                     value=rec.issue if rec else "draft", allow_blank=False, id="issue", compact=True)
                    with Vertical():
                        yield Label(tr("form.lead_days", lang), classes="field-label")
                        yield Input(str(rec.lead_days) if rec else "0", id="lead_days")
                        yield Label("", id="error-lead_days", classes="field-error")
                yield Static("", id="preview")
            yield Label("", id="error-form", classes="field-error")
            with Horizontal(classes="dialog-buttons"):
                yield Button(tr("form.ok", lang), variant="primary", id="ok", compact=True)
                yield Button(tr("form.cancel", lang), id="cancel", compact=True)

    def on_mount(self) -> None:
        for label in self.query("#error-rule, #error-form"):
            label.display = False
        self.query_one("#name").focus()
        self._update()

    @on(Select.Changed, "#frequency")
    def _preset(self, event: Select.Changed) -> None:
        """A person picked a frequency: its rule goes in the RRULE field."""
        if event.value in PRESETS:
            rule = self.query_one("#rule", Input)
            if rule.value != PRESETS[event.value]:
                rule.value = PRESETS[event.value]
        self._update()

    @on(Input.Changed)
    def _changed(self, event: Input.Changed) -> None:
        if event.input.id == "rule":
            freq = self.query_one("#frequency", Select)
            wanted = preset_of(event.value.strip())
            if freq.value != wanted:
                # no Select.Changed: handled later, it would write the preset's
                # rule over the keys typed in between (";BYMONTHDAY=-1" lost)
                with freq.prevent(Select.Changed):
                    freq.value = wanted
            self.say("rule", "")
        self._update()

    @on(Input.Submitted)
    def _submitted(self) -> None:
        self.action_submit()

    def _values(self, final: bool = False) -> Optional[dict]:
        lang = self.lang
        specs = [FieldSpec("name", "", "text"), FieldSpec("template", "", "text"),
                 FieldSpec("start", "", "date"), FieldSpec("until", "", "date", required=False),
                 FieldSpec("count", "", "int", required=False, positive=True),
                 FieldSpec("lead_days", "", "int", positive=True)]
        values, ok = {}, True
        for spec in specs:
            widget = self.query_one("#" + spec.name, Input)
            value, error = parse_value(spec, widget.value, lang)
            shown = "" if (error and not widget.value.strip() and not final) else (error or "")
            label = self.query_one("#error-" + spec.name, Label)
            label.update(shown)
            label.display = bool(shown)
            widget.set_class(bool(error), "-invalid")
            ok = ok and not error
            values[spec.name] = value
        if values.get("until") and values.get("count"):
            label = self.query_one("#error-count", Label)
            label.update(tr("form.until_or_count", lang))
            label.display = True
            ok = False
        rule = self.query_one("#rule", Input).value.strip()
        rule, _ = split_count(rule)
        if values.get("count"):
            rule += ";COUNT=%d" % values["count"]
        values["rule"] = rule
        values["issue"] = self.query_one("#issue", Select).value
        values.pop("count", None)
        return values if ok else None

    def _update(self) -> None:
        """The live preview: needs only the rule, start, end and count."""
        self._values()                  # refresh the inline errors
        preview = self.query_one("#preview", Static)
        start, _ = parse_value(FieldSpec("start", "", "date"), self.query_one("#start", Input).value, self.lang)
        until, bad_until = parse_value(FieldSpec("until", "", "date", required=False),
                                       self.query_one("#until", Input).value, self.lang)
        count, bad_count = parse_value(FieldSpec("count", "", "int", required=False, positive=True),
                                       self.query_one("#count", Input).value, self.lang)
        if start is None or bad_until or bad_count:
            preview.update("")
            return
        rule, _ = split_count(self.query_one("#rule", Input).value.strip())
        if count:
            rule += ";COUNT=%d" % count
        try:
            dates = self.app.preview_occurrences(rule, start, until, self.as_of)
        except Exception as exc:       # the engine's RuleError: a reason a person reads
            preview.update(Text(tr("form.preview.bad", self.lang, message=_said(exc, self.lang)),
                                style="red"))
            return
        words = getattr(self.app, "rule_words", lambda r, s: r)(rule, start)
        shown = Text.assemble((tr("form.preview", self.lang), "bold"), " (%s): " % words,
                              ", ".join(d.isoformat() for d in dates) or "—")
        for _field, warning in schedule_warnings(rule, start, until):
            # what `facturier check` warns about, said as the rule is typed
            shown.append("\n")
            shown.append(warning.render(self.lang), style="yellow")
        preview.update(shown)

    @on(Button.Pressed, "#ok")
    def action_submit(self) -> None:
        if self.waiting:
            return
        self.say("form", "")
        values = self._values(final=True)
        if values is None:
            return
        try:
            self.app.preview_occurrences(values["rule"], values["start"], values.get("until"), self.as_of)
        except Exception as exc:
            self.query_one("#preview", Static).update(
                Text(tr("form.preview.bad", self.lang, message=_said(exc, self.lang)), style="red"))
            return
        asked = self.inputs(values)
        if asked is None:
            self.dismiss(None)              # nothing changed
            return
        self.waiting = True
        self.query_one("#ok", Button).disabled = True
        self.post_message(SubmitForm(self, *asked))

    def inputs(self, values: dict) -> Optional[tuple[str, object]]:
        """The engine API's input for these values; None when an edit changes nothing."""
        return recurrence_inputs(self.rec, values)

    def say(self, name: str, text: str) -> None:
        label = self.query_one("#error-" + name, Label)
        label.update(text)
        label.display = bool(text)

    def refused(self, message: str, field: Optional[str]) -> None:
        """The engine refused: say why beside ``field`` (else under the
        form); everything typed stays."""
        self.waiting = False
        self.query_one("#ok", Button).disabled = False
        text = tr("edit.refused", self.lang, message=message)
        if field and self.query("#error-" + field) and field != "form":
            self.say(field, text)
            self.query_one("#" + field).focus()
        else:
            self.say("form", text)

    @on(Button.Pressed, "#cancel")
    def action_cancel(self) -> None:
        self.dismiss(None)


def recurrence_inputs(rec, values: dict) -> Optional[tuple[str, object]]:
    """(action, engine API input) the recurrence form gives ``api.perform``
    for ``values`` on ``rec`` (None: a new recurrence); None when an edit
    changes nothing."""
    if rec is None:
        fields = {k: v for k, v in values.items() if v is not None}
        return "recurrence.create", api.CreateRecurrence(
            fields, source=tr("form.new_recurrence", "en"))
    changed = {k: v for k, v in values.items()
               if v is not None and getattr(rec, k, None) != v}
    remove = tuple(k for k, v in values.items()
                   if v is None and getattr(rec, k, None) is not None)
    if not changed and not remove:
        return None
    return "recurrence.modify", api.EditRecurrence(rec.id, set_fields=changed, remove=remove)
