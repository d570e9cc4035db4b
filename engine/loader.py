"""Book files -> typed records + diagnostics (SPEC 1, 1.1-1.4 and the recurrence file of 4).

``parse_file(path, data)`` reads one file of a book: :mod:`engine.yamlsafe`
composes the text into nodes (no implicit typing, no tags, anchors, aliases or
duplicate keys), then this module reads every value *by the type of its field*:

- text fields take the scalar's text as written: ``name: NO`` is "NO",
  ``number: 0123`` is "0123";
- money, quantities and rates are ``Decimal(text)`` of the scalar's own text
  (``1200``, ``"1200.50"``, ``0.125``, ``8.10`` -> Decimal("8.10")); exponents,
  underscores, hex, ``nan`` and ``inf`` are refused; negative amounts are errors;
- dates are ``YYYY-MM-DD`` and must exist; timestamps are ISO 8601 *with* an
  offset and are kept as the text written (see ``model.Delivery.at``);
- integers are plain digits; booleans are ``true`` or ``false``;
- **absent values**: an empty plain value (``notes:``), ``~`` and ``null`` (also
  ``Null``/``NULL``, or an explicit ``!!null``) mean the field is absent: an
  optional field takes its default, a required field is reported as missing.
  A quoted ``""`` is the empty text, not absence.

Unknown keys are errors with a did-you-mean; keys starting with ``x-`` are
ignored at every level. Every problem of a file is reported (a YAML syntax error
ends the file's parse), each with path, 1-based line and column, and the dotted
field (``lines.1.vat``: list items are counted from 1).

A record is None when its file has at least one error. Settings are the
exception: :func:`parse_settings` always returns a ``Settings``, with the
default for every value that is absent or broken (an empty or missing
``facturier.yaml`` is valid: all defaults).

This module is pure: bytes in, records and diagnostics out.

Longer than 500 lines on purpose: one reader per field type and one schema per
kind of file, all under the same rules of absence, positions and did-you-mean;
split, those rules would be read in several places.
"""
from __future__ import annotations

import datetime as dt
import difflib
import re
from decimal import Decimal, InvalidOperation
from typing import Callable, Optional, Union

from . import yamlsafe
from .diagnostics import Diagnostic
from .i18n import Message
from .model import (CONTACT_EINVOICE, DELIVERY_RESULTS, DOCUMENT_KINDS, EINVOICE_SETTINGS,
                    ISSUE_MODES, PAYMENT_QR, Accounts, Address, Attachment, Company, Contact,
                    Delivery, Discount, Document, EmailSettings, Hold, Line, Numbering, Payment, Recurrence,
                    Reminder, Settings, Stopped, SyncSettings, Terms, WriteOff)
from .yamlsafe import MappingNode, ScalarNode, SequenceNode

__all__ = ["kind_of_path", "parse_file", "parse_settings", "parse_contact", "parse_document",
           "parse_recurrence", "ID_PATTERN", "is_valid_id"]

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}", re.ASCII)
SETTINGS_FILE = "facturier.yaml"

_DECIMAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)", re.ASCII)
_INT = re.compile(r"[+-]?\d+", re.ASCII)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}", re.ASCII)
_TIMESTAMP = re.compile(r"(\d{4}-\d{2}-\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?"
                        r"(Z|[+-]\d{2}:?\d{2})?", re.ASCII)
_CURRENCY = re.compile(r"[A-Z]{3}", re.ASCII)
_TRUE = frozenset(("true", "True", "TRUE"))
_FALSE = frozenset(("false", "False", "FALSE"))

KIND_NAMES = {"invoice": "an invoice", "credit_note": "a credit note", "quote": "a quote",
              "work_order": "a work order", "expense": "an expense"}


class _Bad:
    """A value that could not be read (its problem is already reported)."""
    __slots__ = ()

    def __repr__(self):
        return "<bad>"


BAD = _Bad()


def is_valid_id(text: str) -> bool:
    return ID_PATTERN.fullmatch(text) is not None


# --------------------------------------------------------------------------- context

class _Ctx:
    __slots__ = ("path", "diagnostics", "errors")

    def sorted(self) -> list[Diagnostic]:
        """Diagnostics in file order (whole-file ones first)."""
        if len(self.diagnostics) > 1:
            self.diagnostics.sort(key=lambda d: (d.line, d.col))
        return self.diagnostics

    def __init__(self, path: str):
        self.path = path
        self.diagnostics: list[Diagnostic] = []
        self.errors = 0

    def error(self, node, field: str, message: str) -> _Bad:
        if node is None:
            line = col = 0
        else:
            mark = node.start_mark
            line, col = mark.line + 1, mark.column + 1
        self.diagnostics.append(Diagnostic(self.path, line, col, field, message))
        self.errors += 1
        return BAD

    def extend(self, diagnostics: list[Diagnostic]) -> None:
        self.diagnostics.extend(diagnostics)
        self.errors += sum(1 for d in diagnostics if d.is_error)


def _say(code: str, **params) -> str:
    """A diagnostic's text: the English of catalogue message ``code``
    (engine/i18n.py), which the faces read back in the person's language."""
    return str(Message(code, **params))


def _shape(node) -> Union[str, Message]:
    if node.__class__ is MappingNode:
        return Message("load.shape.mapping")
    if node.__class__ is SequenceNode:
        return Message("load.shape.list")
    return "'%s'" % node.value


# --------------------------------------------------------------------------- scalar readers
# A reader is ``reader(ctx, node, field) -> value | BAD``; the node is never null
# nor a yamlsafe SKIP node (the mapping reader handles those).

def _scalar(ctx: _Ctx, node, field: str, what: str, **params) -> Optional[str]:
    """The scalar's text; else an error saying the field must be ``what`` (a
    key of load.what.*, e.g. "text")."""
    if node.__class__ is ScalarNode:
        return node.value
    ctx.error(node, field, _say("load.must_be", field=field,
                                what=Message("load.what." + what, **params), shape=_shape(node)))
    return None


def _text(ctx, node, field):
    text = _scalar(ctx, node, field, "text")
    return BAD if text is None else text


def _required_text(ctx, node, field):
    text = _scalar(ctx, node, field, "text")
    if text is None:
        return BAD
    if not text.strip():
        return ctx.error(node, field, _say("load.empty", field=field))
    return text


def _reference(ctx, node, field):
    """The id of another object (contact, document, recurrence)."""
    text = _scalar(ctx, node, field, "id")
    if text is None:
        return BAD
    if ID_PATTERN.fullmatch(text) is None:
        return ctx.error(node, field, _say("load.bad_reference", field=field, text=text))
    return text


NOT_DECIMAL, NEGATIVE, TOO_LARGE = "not_decimal", "negative", "too_large"


def read_decimal(text: str) -> tuple[Optional[Decimal], Optional[str]]:
    """How every face reads an amount, a quantity or a rate a person writes
    (book files, command-line arguments, the app's forms): ``(value, None)``,
    or ``(None, problem)`` with problem NOT_DECIMAL (an exponent, '_', hex,
    nan, inf or no digits) or TOO_LARGE (MAX_DIGITS digits or more before the
    point). The sign is the caller's rule (see NEGATIVE)."""
    stripped = text.strip()
    if _DECIMAL.fullmatch(stripped) is None:
        return None, NOT_DECIMAL
    try:
        value = Decimal(stripped)
    except InvalidOperation:            # pragma: no cover - the pattern excludes it
        return None, NOT_DECIMAL
    if value.adjusted() >= MAX_DIGITS:
        return None, TOO_LARGE
    return value, None


def _decimal_reader(negative_ok: bool) -> Callable:
    def read(ctx, node, field):
        text = _scalar(ctx, node, field, "decimal")
        if text is None:
            return BAD
        value, problem = read_decimal(text)
        if problem == NOT_DECIMAL:
            return ctx.error(node, field, _say("load.not_decimal", field=field, text=text))
        if value is not None and value < 0 and not negative_ok:
            return ctx.error(node, field, _say("load.negative", field=field, text=text))
        if problem == TOO_LARGE:
            return ctx.error(node, field, _say("load.too_large", field=field, text=text.strip(),
                                               digits=MAX_DIGITS))
        return value
    return read


# An e-mail address a message can be sent to: one addr-spec (no display name,
# no list), with a dotted domain of letters, digits and hyphens. engine/mail.py
# sends only to addresses this accepts.
EMAIL_ADDRESS = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
                           r"(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*", re.ASCII)


def is_email_address(text: str) -> bool:
    """Whether ``text`` is one e-mail address (``ap@acme.example``)."""
    return len(text) <= 254 and EMAIL_ADDRESS.fullmatch(text) is not None


def _email(ctx, node, field):
    """An e-mail address, or empty (none)."""
    text = _scalar(ctx, node, field, "text")
    if text is None:
        return BAD
    if text.strip() and not is_email_address(text.strip()):
        return ctx.error(node, field, _say("load.not_email", field=field, text=text))
    return text


def is_mailbox(text: str) -> bool:
    """Whether ``text`` is one sender: an address, or a name and an address
    ("Name <name@example.com>"), as `email.from` is written (SPEC 1.2)."""
    from email.utils import getaddresses
    stripped = text.strip()
    if "\n" in stripped or "\r" in stripped:
        return False
    if "<" not in stripped:
        return is_email_address(stripped)
    found = getaddresses([stripped])
    return (len(found) == 1 and is_email_address(found[0][1])
            and stripped.endswith(">") and stripped.count("<") == 1)


def _mailbox(ctx, node, field):
    """A sender (``email.from``): empty (none), an address, or "Name <address>"."""
    text = _scalar(ctx, node, field, "text")
    if text is None:
        return BAD
    if text.strip() and not is_mailbox(text):
        return ctx.error(node, field, _say("load.not_mailbox", field=field, text=text))
    return text


# Amounts, quantities and rates stay far below what exact decimal arithmetic
# handles (money computes with 100 digits): a quadrillion is plenty.
MAX_DIGITS = 15


_amount = _decimal_reader(False)


def _date(ctx, node, field):
    text = _scalar(ctx, node, field, "date")
    if text is None:
        return BAD
    stripped = text.strip()
    if _DATE.fullmatch(stripped) is None:
        return ctx.error(node, field, _say("load.not_date", field=field, text=text))
    try:
        return dt.date.fromisoformat(stripped)
    except ValueError as exc:
        return ctx.error(node, field, _say("load.bad_date", field=field, text=text,
                                           reason=_date_reason(exc)))


_DATE_REASONS = {"month must be in 1..12": "load.date.month",
                 "day is out of range for month": "load.date.day",
                 "year 0 is out of range": "load.date.year"}


def _date_reason(exc: ValueError) -> Union[str, Message]:
    """Python's reason for a date that does not exist, as a catalogue message
    when it is one of the three a YYYY-MM-DD text can give."""
    code = _DATE_REASONS.get(str(exc))
    return Message(code) if code else str(exc)


def _timestamp(ctx, node, field):
    text = _scalar(ctx, node, field, "timestamp")
    if text is None:
        return BAD
    stripped = text.strip()
    match = _TIMESTAMP.fullmatch(stripped)
    if match is None:
        return ctx.error(node, field, _say("load.not_timestamp", field=field, text=text))
    if match.group(5) is None:
        return ctx.error(node, field, _say("load.no_offset", field=field, text=text))
    try:
        dt.datetime.fromisoformat(stripped)
    except ValueError as exc:
        return ctx.error(node, field, _say("load.bad_timestamp", field=field, text=text,
                                           reason=_date_reason(exc)))
    return stripped


def _int_reader(low: int, high: Optional[int] = None) -> Callable:
    def read(ctx, node, field):
        text = _scalar(ctx, node, field, "whole")
        if text is None:
            return BAD
        stripped = text.strip()
        if _INT.fullmatch(stripped) is None:
            return ctx.error(node, field, _say("load.not_whole", field=field, text=text))
        value = int(stripped)
        if value < low or (high is not None and value > high):
            if high is None:
                return ctx.error(node, field, _say("load.at_least", field=field, low=low,
                                                   text=text))
            return ctx.error(node, field, _say("load.from_to", field=field, low=low, high=high,
                                               text=text))
        return value
    return read


def _bool(ctx, node, field):
    text = _scalar(ctx, node, field, "bool")
    if text is None:
        return BAD
    stripped = text.strip()
    if stripped in _TRUE:
        return True
    if stripped in _FALSE:
        return False
    return ctx.error(node, field, _say("load.not_bool", field=field, text=text))


def _enum_reader(choices: tuple[str, ...]) -> Callable:
    def read(ctx, node, field):
        text = _scalar(ctx, node, field, "one_of", choices=", ".join(choices))
        if text is None:
            return BAD
        if text in choices:
            return text
        close = difflib.get_close_matches(text.strip().lower(), choices, n=1)
        if close:
            return ctx.error(node, field, _say("load.not_one_of_close", field=field, text=text,
                                               choices=", ".join(choices), close=close[0]))
        return ctx.error(node, field, _say("load.not_one_of", field=field, text=text,
                                           choices=", ".join(choices)))
    return read


def _currency(ctx, node, field):
    text = _scalar(ctx, node, field, "currency")
    if text is None:
        return BAD
    if _CURRENCY.fullmatch(text) is None:
        return ctx.error(node, field, _say("load.not_currency", field=field, text=text))
    return text


def _timezone(ctx, node, field):
    text = _scalar(ctx, node, field, "timezone")
    if text is None:
        return BAD
    import zoneinfo
    try:
        zoneinfo.ZoneInfo(text)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return ctx.error(node, field, _say("load.not_timezone", field=field, text=text))
    return text


def _number_format(ctx, node, field):
    text = _scalar(ctx, node, field, "number_format")
    if text is None:
        return BAD
    problem = number_format_problem(text)
    if problem:
        return ctx.error(node, field, _say("load.field_problem", field=field, problem=problem))
    return text


def number_format_problem(text: str) -> Optional[str]:
    """Why ``text`` is not a valid numbering format, or None: one that cannot
    be read back unambiguously is an error of the settings (SPEC 2), judged
    by :func:`engine.numbering.format_problem` without ever formatting it."""
    from .numbering import format_problem
    return format_problem(text)


_COUNTRY = re.compile(r"[A-Z]{2}", re.ASCII)
_IBAN = re.compile(r"[A-Z]{2}\d{2}[A-Z0-9]{11,30}", re.ASCII)
_BIC = re.compile(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?", re.ASCII)
LOCALES = ("en", "fr")


def _country(ctx, node, field):
    text = _scalar(ctx, node, field, "country")
    if text is None:
        return BAD
    if text and _COUNTRY.fullmatch(text) is None:
        return ctx.error(node, field, _say("load.not_country", field=field, text=text))
    return text


def iban_problem(text: str) -> Optional[str]:
    """Why a compact IBAN (no spaces) is not one, or None (ISO 13616: shape and
    the mod-97 check digits)."""
    if _IBAN.fullmatch(text) is None:
        return _say("load.iban.shape", text=text)
    digits = "".join(str(int(c, 36)) for c in text[4:] + text[:4])
    if int(digits) % 97 != 1:
        return _say("load.iban.check", text=text)
    return None


def _iban(ctx, node, field):
    text = _scalar(ctx, node, field, "iban")
    if text is None:
        return BAD
    compact = "".join(text.split()).upper()
    if not compact:
        return ""
    problem = iban_problem(compact)
    if problem:
        return ctx.error(node, field, _say("load.field_problem", field=field, problem=problem))
    return compact


def _bic(ctx, node, field):
    text = _scalar(ctx, node, field, "bic")
    if text is None:
        return BAD
    compact = text.strip().upper()
    if compact and _BIC.fullmatch(compact) is None:
        return ctx.error(node, field, _say("load.not_bic", field=field, text=text))
    return compact


def _postal_address(ctx, node, field):
    """Free lines (text) or the structured mapping of SPEC 1.3."""
    if node.__class__ is MappingNode:
        return _ADDRESS_READER(ctx, node, field)
    text = _scalar(ctx, node, field, "address")
    return BAD if text is None else text


def _legal_notes(ctx, node, field):
    """{locale: [line, ...]}: the legal mentions printed on invoices per locale."""
    if node.__class__ is not MappingNode:
        return ctx.error(node, field, _say("load.legal_notes", field=field, shape=_shape(node)))
    schema = {locale: (locale, _list_reader(_text), False) for locale in LOCALES}
    values: dict = {}
    _read_map(ctx, node, field + ".", schema, values, {})
    return values


# --------------------------------------------------------------------------- mappings
# A schema is {key: (attribute, reader, required)}.

def _read_map(ctx: _Ctx, node: MappingNode, prefix: str, schema: dict,
              values: dict, keys: dict) -> set:
    """Read a mapping's pairs by the schema into ``values`` (attribute -> value,
    only those read without error) and ``keys`` (key -> key node, every known key
    present, null or broken included). Reports unknown keys and missing required
    ones. Returns the keys whose value is null (absent)."""
    nulls = set()
    for key, value in node.value:
        name = key.value
        spec = schema.get(name)
        if spec is None:
            if name.startswith("x-"):
                continue
            field = prefix + name
            close = difflib.get_close_matches(name, list(schema), n=1)
            if close:
                ctx.error(key, field, _say("load.unknown_field_close", field=field,
                                           close=prefix + close[0]))
            else:
                ctx.error(key, field, _say("load.unknown_field", field=field))
            continue
        keys[name] = key
        tag = value.tag
        if tag == yamlsafe.SKIP_TAG:
            continue
        attribute, reader, required = spec
        if value.__class__ is ScalarNode and (
                tag == yamlsafe.NULL_TAG or (not value.style and value.value in yamlsafe.NULL_TEXTS)):
            if required:
                ctx.error(value, prefix + name, _say("load.needs_value", field=prefix + name))
            nulls.add(name)
            continue
        result = reader(ctx, value, prefix + name)
        if result is not BAD:
            values[attribute] = result
    for name, spec in schema.items():
        if spec[2] and name not in keys:
            ctx.error(node, prefix + name, _say("load.missing", field=prefix + name))
    return nulls


def _record_reader(cls, schema: dict, check: Optional[Callable] = None, *,
                   partial: bool = False, with_line: bool = True) -> Callable:
    """A reader for a mapping that becomes a record of ``cls``. With ``partial``
    (settings), the record is built from what was read without error."""
    def read(ctx, node, field):
        if node.__class__ is not MappingNode:
            return ctx.error(node, field, _say("load.must_be_mapping", field=field,
                                               shape=_shape(node)))
        before = ctx.errors
        values: dict = {}
        keys: dict = {}
        _read_map(ctx, node, field + ".", schema, values, keys)
        if check is not None:
            check(ctx, node, field, values, keys)
        if ctx.errors != before and not partial:
            return BAD
        if with_line:
            values["line"] = node.start_mark.line + 1
        return cls(**values)
    return read


def _list_reader(item: Callable) -> Callable:
    def read(ctx, node, field):
        if node.__class__ is not SequenceNode:
            return ctx.error(node, field, _say("load.must_be_list", field=field,
                                               shape=_shape(node)))
        before = ctx.errors
        out = []
        for index, child in enumerate(node.value, 1):
            if child.tag == yamlsafe.SKIP_TAG:
                continue
            item_field = "%s.%d" % (field, index)
            if yamlsafe.is_null(child):
                ctx.error(child, item_field, _say("load.empty_item", index=index, field=field))
                continue
            value = item(ctx, child, item_field)
            if value is not BAD:
                out.append(value)
        if ctx.errors != before:
            return BAD
        return tuple(out)
    return read


def _check_hold(ctx, node, field, values, keys):
    start, end = values.get("start"), values.get("end")
    if start is not None and end is not None and end <= start:
        ctx.error(keys["to"], field + ".to", _say("load.hold_order", field=field, end=end,
                                                  start=start))


_LINE = {
    "description": ("description", _text, False),
    "quantity": ("quantity", _amount, False),
    "unit_price": ("unit_price", _amount, False),
    "vat": ("vat", _amount, False),
}
_PAYMENT = {
    "date": ("date", _date, True),
    "amount": ("amount", _amount, True),
    "reference": ("reference", _text, False),
}
_DISCOUNT = {
    "date": ("date", _date, True),
    "amount": ("amount", _amount, True),
    "reason": ("reason", _text, False),
}
_WRITE_OFF = {
    "date": ("date", _date, True),
    "reason": ("reason", _text, False),
}
_HOLD = {
    "from": ("start", _date, True),
    "to": ("end", _date, False),
    "reason": ("reason", _text, False),
}
def _sha256(ctx, node, field):
    text = _scalar(ctx, node, field, "a SHA-256")
    if text is None:
        return BAD
    if not _SHA256.fullmatch(text):
        return ctx.error(node, field, "field '%s': '%s' is not a SHA-256 (64 lowercase hex "
                                      "digits)" % (field, text))
    return text


_SHA256 = re.compile(r"[0-9a-f]{64}")
_ATTACHMENT = {
    "name": ("name", _required_text, True),
    "sha256": ("sha256", _sha256, True),
}
_DELIVERY = {
    "channel": ("channel", _enum_reader(("email", "post")), True),
    "at": ("at", _timestamp, True),
    "to": ("to", _text, False),
    "result": ("result", _enum_reader(DELIVERY_RESULTS), True),
    "message_id": ("message_id", _text, False),
    "detail": ("detail", _text, False),
    "attachments": ("attachments", _list_reader(_record_reader(Attachment, _ATTACHMENT,
                                                               with_line=False)), False),
}
_REMINDER = {
    "level": ("level", _int_reader(1, 3), True),
    "date": ("date", _date, True),
}

_DOCUMENT = {
    "id": ("id", _text, False),
    "kind": ("kind", _enum_reader(DOCUMENT_KINDS), True),
    "customer": ("contact", _reference, False),
    "supplier": ("contact", _reference, False),
    "date": ("date", _date, True),
    "due": ("due", _date, False),
    "currency": ("currency", _currency, False),
    "number": ("number", _required_text, False),
    "validated": ("validated", _date, False),
    "scheduled": ("scheduled", _bool, False),
    "lines": ("lines", _list_reader(_record_reader(Line, _LINE)), False),
    "total": ("total", _amount, False),
    "payments": ("payments", _list_reader(_record_reader(Payment, _PAYMENT)), False),
    "discounts": ("discounts", _list_reader(_record_reader(Discount, _DISCOUNT)), False),
    "write_off": ("write_off", _record_reader(WriteOff, _WRITE_OFF), False),
    "holds": ("holds", _list_reader(_record_reader(Hold, _HOLD, _check_hold)), False),
    "deliveries": ("deliveries", _list_reader(_record_reader(Delivery, _DELIVERY)), False),
    "reminders": ("reminders", _list_reader(_record_reader(Reminder, _REMINDER)), False),
    "credits": ("credits", _reference, False),
    "converted_to": ("converted_to", _reference, False),
    "converted_from": ("converted_from", _reference, False),
    "declined": ("declined", _date, False),
    "recurrence": ("recurrence", _reference, False),
    "occurrence": ("occurrence", _date, False),
    "notes": ("notes", _text, False),
}
# fields that only some kinds may carry
_ONLY_FOR = {
    "credits": ("credit_note",),
    "declined": ("quote",),
    "converted_to": ("quote", "work_order"),
    "total": ("expense",),
}

_CONTACT = {
    "id": ("id", _text, False),
    "name": ("name", _required_text, True),
    "email": ("email", _email, False),
    "address": ("address", _postal_address, False),
    "payment_days": ("payment_days", _int_reader(0), False),
    "vat_id": ("vat_id", _text, False),
    "buyer_reference": ("buyer_reference", _text, False),
    "einvoice": ("einvoice", _enum_reader(CONTACT_EINVOICE), False),
}

_STOPPED = {
    "at": ("at", _timestamp, True),
    "occurrence": ("occurrence", _date, False),
    "cause": ("cause", _text, False),
}
_RECURRENCE = {
    "id": ("id", _text, False),
    "name": ("name", _required_text, True),
    "template": ("template", _reference, True),
    "rule": ("rule", _required_text, True),
    "start": ("start", _date, True),
    "until": ("until", _date, False),
    "issue": ("issue", _enum_reader(ISSUE_MODES), False),
    "lead_days": ("lead_days", _int_reader(0), False),
    "last": ("last", _date, False),
    "skipped": ("skipped", _list_reader(_date), False),
    "stopped": ("stopped", _record_reader(Stopped, _STOPPED, with_line=False), False),
    "ended": ("ended", _date, False),
}

_ADDRESS = {name: (name, _text, False) for name in ("street", "number", "postcode", "city")}
_ADDRESS["country"] = ("country", _country, False)
_ADDRESS_READER = _record_reader(Address, _ADDRESS, with_line=False)
_COMPANY = {name: (name, _text, False)
            for name in ("name", "phone", "vat_id", "registration")}
_COMPANY["email"] = ("email", _email, False)
_COMPANY["address"] = ("address", _postal_address, False)
_COMPANY["iban"] = ("iban", _iban, False)
_COMPANY["bic"] = ("bic", _bic, False)
_TERMS = {name: (name, _int_reader(0), False)
          for name in ("payment_days", "first_reminder_days", "second_reminder_days")}
_NUMBERING = {name: (name, _number_format, False)
              for name in ("invoice", "credit_note", "quote", "work_order")}
_RECURRENCE_SETTINGS = {"max_catch_up": ("max_catch_up", _int_reader(1), False)}
_EMAIL = {
    "from": ("sender", _mailbox, False),
    "smtp_host": ("smtp_host", _required_text, False),
    "smtp_port": ("smtp_port", _int_reader(1, 65535), False),
    "starttls": ("starttls", _bool, False),
}

_ACCOUNTS = {name: (name, _required_text, False)
             for name in ("receivable", "payable", "income", "expense", "vat_due",
                          "vat_deductible", "bank", "discounts", "bad_debts")}


def _read_settings_recurrences(ctx, node, field):
    if node.__class__ is not MappingNode:
        return ctx.error(node, field, _say("load.must_be_mapping", field=field,
                                           shape=_shape(node)))
    values: dict = {}
    _read_map(ctx, node, field + ".", _RECURRENCE_SETTINGS, values, {})
    return values.get("max_catch_up", BAD)


_REMOTE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
_BRANCH_NAME = re.compile(r"(?!.*(\.\.|//|@\{|\.lock(/|$)))[A-Za-z0-9_][A-Za-z0-9._/-]{0,199}(?<![./])")


def _named(pattern, what: str, example: str) -> Callable:
    def read(ctx, node, field):
        text = _scalar(ctx, node, field, what)
        if text is None:
            return BAD
        if pattern.fullmatch(text) is None:
            return ctx.error(node, field, "field '%s': '%s' is not %s, e.g. %s"
                             % (field, text, what, example))
        return text
    return read


_SYNC = {"remote": ("remote", _named(_REMOTE_NAME, "the name of a git remote", "origin"), False),
         "branch": ("branch", _named(_BRANCH_NAME, "a branch name", "main"), False)}


def _sync(ctx, node, field):
    """`sync: {remote, branch}` (SPEC 9); an empty mapping is no sync at all."""
    if node.__class__ is MappingNode and not node.value:
        return None
    # not partial: a remote or branch that does not read is no sync at all, and
    # the publishing actions refuse while facturier.yaml says so (engine/sync.py)
    return _record_reader(SyncSettings, _SYNC, with_line=False)(ctx, node, field)


_SETTINGS = {
    "company": ("company", _record_reader(Company, _COMPANY, partial=True, with_line=False),
                False),
    "currency": ("currency", _currency, False),
    "locale": ("locale", _enum_reader(("en", "fr")), False),
    "timezone": ("timezone", _timezone, False),
    "vat": ("vat", _amount, False),
    "terms": ("terms", _record_reader(Terms, _TERMS, partial=True, with_line=False), False),
    "future_invoices": ("future_invoices", _enum_reader(("draft", "process")), False),
    "numbering": ("numbering", _record_reader(Numbering, _NUMBERING, partial=True,
                                              with_line=False), False),
    "recurrences": ("max_catch_up", _read_settings_recurrences, False),
    "email": ("email", _record_reader(EmailSettings, _EMAIL, partial=True, with_line=False),
              False),
    "accounts": ("accounts", _record_reader(Accounts, _ACCOUNTS, partial=True, with_line=False),
                 False),
    "payment_qr": ("payment_qr", _enum_reader(PAYMENT_QR), False),
    "einvoice": ("einvoice", _enum_reader(EINVOICE_SETTINGS), False),
    "legal_notes": ("legal_notes", _legal_notes, False),
    "sync": ("sync", _sync, False),
}


# --------------------------------------------------------------------------- files

def kind_of_path(path: str) -> Optional[str]:
    """Which kind of record a book path holds, or None for other files.

    ``facturier.yaml`` -> 'settings'; ``contacts/<id>.yaml`` -> 'contact';
    ``documents/**/<id>.yaml`` (any depth) -> 'document';
    ``recurrences/<id>.yaml`` -> 'recurrence'.
    """
    if path == SETTINGS_FILE:
        return "settings"
    if not path.endswith(".yaml"):
        return None
    parts = path.split("/")
    if len(parts) < 2 or not parts[-1][:-5]:
        return None
    top = parts[0]
    if top == "documents":
        return "document"
    if len(parts) == 2:
        if top == "contacts":
            return "contact"
        if top == "recurrences":
            return "recurrence"
    return None


def parse_file(path: str, data: Union[bytes, str]
               ) -> tuple[Optional[str], Union[Settings, Document, Contact, Recurrence, None], list[Diagnostic]]:
    """(kind, record or None, diagnostics) for one file; path is relative to the
    book root with '/'. Files that are not book files give (None, None, [])."""
    kind = kind_of_path(path)
    if kind is None:
        return None, None, []
    record: Union[Settings, Document, Contact, Recurrence, None]
    if kind == "settings":
        record, diagnostics = parse_settings(data, path)
    elif kind == "document":
        record, diagnostics = parse_document(data, path)
    elif kind == "contact":
        record, diagnostics = parse_contact(data, path)
    else:
        record, diagnostics = parse_recurrence(data, path)
    return kind, record, diagnostics


def _file_id(ctx: _Ctx) -> Optional[str]:
    name = ctx.path.rsplit("/", 1)[-1]
    if name.endswith(".yaml"):
        name = name[:-5]
    if ID_PATTERN.fullmatch(name) is None:
        ctx.error(None, "id", _say("load.bad_file_name", name=name))
        return None
    return name


def _root(ctx: _Ctx, data, what: str, empty_ok: bool = False) -> Optional[MappingNode]:
    root, diagnostics = yamlsafe.compose(data, ctx.path)
    ctx.extend(diagnostics)
    if root is None:
        if not diagnostics and not empty_ok:
            ctx.error(None, "", _say("load.empty_file", what=Message(what)))
        return None
    if root.__class__ is not MappingNode:
        if yamlsafe.is_null(root):          # "---" alone, "~": nothing in the file
            if not empty_ok:
                ctx.error(None, "", _say("load.empty_file", what=Message(what)))
            return None
        ctx.error(root, "", _say("load.not_mapping_file", what=Message(what), shape=Message(
            "load.shape.list" if root.__class__ is SequenceNode else "load.shape.value")))
        return None
    return root


def _fields(root: MappingNode) -> dict:
    return {key.value: key.start_mark.line + 1 for key, _ in root.value}


def _check_id_key(ctx: _Ctx, values: dict, keys: dict, file_id: Optional[str]) -> None:
    written = values.pop("id", None)
    if written is not None and file_id is not None and written != file_id:
        ctx.error(keys["id"], "id", _say("load.id_differs", id=written, name=file_id))


def parse_settings(data, path: str = SETTINGS_FILE) -> tuple[Settings, list[Diagnostic]]:
    """Always a Settings: defaults for what is absent or broken."""
    ctx = _Ctx(path)
    root = _root(ctx, data, "load.a.settings", empty_ok=True)
    if root is None:
        return Settings(path=path), ctx.sorted()
    values: dict = {}
    _read_map(ctx, root, "", _SETTINGS, values, {})
    return Settings(path=path, line=root.start_mark.line + 1, fields=_fields(root),
                    **values), ctx.sorted()


def parse_contact(data, path: str) -> tuple[Optional[Contact], list[Diagnostic]]:
    ctx = _Ctx(path)
    file_id = _file_id(ctx)
    root = _root(ctx, data, "load.a.contact")
    if root is None:
        return None, ctx.sorted()
    values: dict = {}
    keys: dict = {}
    _read_map(ctx, root, "", _CONTACT, values, keys)
    _check_id_key(ctx, values, keys, file_id)
    if ctx.errors:
        return None, ctx.sorted()
    assert file_id is not None          # a bad file name is an error
    return Contact(id=file_id, path=path, line=root.start_mark.line + 1, fields=_fields(root),
                   **values), ctx.sorted()


def parse_recurrence(data, path: str) -> tuple[Optional[Recurrence], list[Diagnostic]]:
    ctx = _Ctx(path)
    file_id = _file_id(ctx)
    root = _root(ctx, data, "load.a.recurrence")
    if root is None:
        return None, ctx.sorted()
    values: dict = {}
    keys: dict = {}
    _read_map(ctx, root, "", _RECURRENCE, values, keys)
    _check_id_key(ctx, values, keys, file_id)
    if ctx.errors:
        return None, ctx.sorted()
    assert file_id is not None          # a bad file name is an error
    return Recurrence(id=file_id, path=path, line=root.start_mark.line + 1,
                      fields=_fields(root), **values), ctx.sorted()


def parse_document(data, path: str) -> tuple[Optional[Document], list[Diagnostic]]:
    ctx = _Ctx(path)
    file_id = _file_id(ctx)
    root = _root(ctx, data, "load.a.document")
    if root is None:
        return None, ctx.sorted()
    values: dict = {}
    keys: dict = {}
    nulls = _read_map(ctx, root, "", _DOCUMENT, values, keys)
    _check_id_key(ctx, values, keys, file_id)
    _check_document(ctx, root, values, keys, nulls)
    if ctx.errors:
        return None, ctx.sorted()
    assert file_id is not None          # a bad file name is an error
    return Document(id=file_id, path=path, line=root.start_mark.line + 1, fields=_fields(root),
                    **values), ctx.sorted()


def _check_document(ctx: _Ctx, root: MappingNode, values: dict, keys: dict, nulls: set) -> None:
    """The rules that depend on the document's kind (SPEC 1.4)."""
    kind = values.get("kind")
    customer, supplier = keys.get("customer"), keys.get("supplier")
    if kind is None:                        # missing or broken: already reported
        if customer is not None and supplier is not None:
            ctx.error(supplier, "supplier", _say("load.both_parties"))
        elif customer is None and supplier is None:
            ctx.error(root, "customer", _say("load.missing_party"))
        if "lines" not in keys and "total" not in keys:
            ctx.error(root, "lines", _say("load.missing_lines_or_total"))
        return
    name = Message("kind.a." + kind)
    if nulls:                               # an absent value is no value: ignore its key
        keys = {key: node for key, node in keys.items() if key not in nulls or key == "lines"}
    if kind == "expense":
        if customer is not None:
            ctx.error(customer, "customer", _say("load.expense_customer"))
        elif supplier is None:
            ctx.error(root, "supplier", _say("load.missing", field="supplier"))
    else:
        if supplier is not None:
            ctx.error(supplier, "supplier", _say("load.supplier_only_expense", kind=name))
        elif customer is None:
            ctx.error(root, "customer", _say("load.missing", field="customer"))
    for key, kinds in _ONLY_FOR.items():
        if kind not in kinds and key in keys:
            ctx.error(keys[key], key, _say("load.only_for", field=key, kind=name,
                                           allowed=Message("load.kinds." + "_".join(kinds))))
    lines_key = keys.get("lines")
    lines = () if "lines" in nulls else values.get("lines")
    if kind == "expense":
        if lines_key is not None and "total" in keys:
            ctx.error(keys["total"], "total", _say("load.lines_and_total"))
        elif lines_key is None and "total" not in keys:
            ctx.error(root, "lines", _say("load.missing_lines_or_total"))
        elif lines_key is not None and lines == ():
            ctx.error(lines_key, "lines", _say("load.expense_no_line"))
    else:
        if lines_key is None:
            ctx.error(root, "lines", _say("load.missing_lines", kind=name))
        elif lines == ():
            ctx.error(lines_key, "lines", _say("load.no_line", kind=name))
