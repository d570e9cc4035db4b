"""YAML that facturier writes.

Two ways, both pure (text in, text out):

- files facturier *creates* are canonical (:func:`dump_document`,
  :func:`dump_contact`, :func:`dump_recurrence`): keys in the order of SPEC 1.4,
  amounts, quantities and rates as quoted strings, dates ``YYYY-MM-DD``,
  empty or default fields left out. The same record always gives the same
  bytes, so two clones doing the same thing write the same file.
- files facturier *changes* go through :func:`update_yaml`, a ruamel.yaml
  round trip that keeps a person's comments, quotes and key order; keys it adds
  go at the end.

Also here: where a new document goes (:func:`document_path`) and the ids
facturier makes (:func:`new_document_id`, :func:`slug_id`).

Longer than 500 lines on purpose: the canonical dump and the checked round-
trip edit must write every scalar alike (quotes, dates, amounts), so they
share the scalar writers.
"""
from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import json
import re
import unicodedata
from decimal import Decimal
from typing import AbstractSet, Any, Iterable, Optional

from .model import ID_PREFIX, Address, Contact, Document, Recurrence

# --------------------------------------------------------------------------- scalars

_PLAIN = re.compile(r"[^\W\d][\w ./@()+'=;,&%-]*\Z")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null", "nan", "inf"}
_UNPRINTABLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff]")


def quote(text: str) -> str:
    """A YAML double-quoted scalar for any text."""
    out = json.dumps(text, ensure_ascii=False)
    return _UNPRINTABLE.sub(lambda m: "\\u%04x" % ord(m.group(0)), out)


def scalar(text: str) -> str:
    """``text`` as a plain scalar when nothing can misread it (no YAML 1.1
    boolean or null either), else double-quoted."""
    if (_PLAIN.match(text) and not text.endswith(" ") and "  " not in text
            and text.lower() not in _RESERVED):
        return text
    return quote(text)


def decimal_text(value: Decimal) -> str:
    """A decimal in fixed notation, keeping its scale (``120.00`` stays so)."""
    value = Decimal(value)
    text = format(value, "f")
    return "0" if text in ("-0", "+0") else text


def _text_block(key: str, text: str, indent: str) -> list[str]:
    """``key: |`` literal block for multi-line text when it can be written
    exactly so; a double-quoted scalar otherwise."""
    ok = ("\n" in text and not _UNPRINTABLE.search(text) and "\r" not in text
          and "\t" not in text and not text.startswith((" ", "\n")))
    if ok:
        body = text.rstrip("\n")
        trailing = len(text) - len(body)
        if any(line.endswith(" ") for line in body.split("\n")):
            ok = False
    if not ok:
        return ["%s%s: %s" % (indent, key, scalar(text))]
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    lines = ["%s%s: |%s" % (indent, key, chomp)]
    pad = indent + "  "
    for line in body.split("\n"):
        lines.append(pad + line if line else "")
    if trailing > 1:
        lines.extend([""] * (trailing - 1))
    return lines


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return quote(decimal_text(value))
    if isinstance(value, dt.datetime):
        return quote(value.isoformat())
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (list, tuple)):
        return "[%s]" % ", ".join(_flow(item) for item in value)
    return scalar(str(value))


def _flow(value: Any) -> str:
    """A value inside a flow collection: a mapping as ``{k: v, ...}``; text
    holding a flow indicator is quoted."""
    if isinstance(value, dict):
        return "{%s}" % ", ".join("%s: %s" % (k, _flow(v)) for k, v in value.items())
    text = _value(value)
    if any(c in text for c in ",[]{}") and not text.startswith('"'):
        return quote(str(value))
    return text


class _Out:
    def __init__(self) -> None:
        self.lines: list[str] = []

    def field(self, key: str, value: Any, indent: str = "") -> None:
        if isinstance(value, str) and "\n" in value:
            self.lines.extend(_text_block(key, value, indent))
        else:
            self.lines.append("%s%s: %s" % (indent, key, _value(value)))

    def mapping(self, key: str, pairs: list[tuple[str, Any]], indent: str = "") -> None:
        self.lines.append("%s%s:" % (indent, key))
        for k, v in pairs:
            self.field(k, v, indent + "  ")

    def items(self, key: str, items: Iterable[list[tuple[str, Any]]]) -> None:
        """A block sequence of mappings: ``key:`` then ``  - k: v``."""
        self.lines.append("%s:" % key)
        for pairs in items:
            sub = _Out()
            for k, v in pairs:
                sub.field(k, v)
            for i, line in enumerate(sub.lines):
                self.lines.append(("  - " if i == 0 else "    ") + line if line else "")

    def text(self) -> str:
        return "\n".join(self.lines) + "\n"


def _present(pairs: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Drop absent and empty values (None, "", empty tuples)."""
    return [(k, v) for k, v in pairs if v is not None and v != "" and v != ()]


# --------------------------------------------------------------------------- records

def dump_document(doc: Document) -> str:
    """The canonical YAML of a new document file (SPEC 1.4 key order)."""
    out = _Out()
    out.field("kind", doc.kind)
    out.field(doc.party_key, doc.contact)
    out.field("date", doc.date)
    for key in ("due", "currency", "number", "validated"):
        value = getattr(doc, key)
        if value is not None and value != "":
            out.field(key, value)
    if doc.scheduled:
        out.field("scheduled", True)
    if doc.lines:
        out.items("lines", [_present([("description", line.description),
                                      ("quantity", line.quantity),
                                      ("unit_price", line.unit_price),
                                      ("vat", line.vat)]) for line in doc.lines])
    if doc.total is not None:
        out.field("total", doc.total)
    if doc.payments:
        out.items("payments", [_present([("date", p.date), ("amount", p.amount),
                                         ("reference", p.reference)]) for p in doc.payments])
    if doc.discounts:
        out.items("discounts", [_present([("date", d.date), ("amount", d.amount),
                                          ("reason", d.reason)]) for d in doc.discounts])
    if doc.write_off is not None:
        out.mapping("write_off", _present([("date", doc.write_off.date),
                                           ("reason", doc.write_off.reason)]))
    if doc.holds:
        out.items("holds", [_present([("from", h.start), ("to", h.end), ("reason", h.reason)])
                            for h in doc.holds])
    if doc.deliveries:
        out.items("deliveries", [_present([
            ("channel", d.channel), ("at", d.at), ("to", d.to),
            ("result", d.result), ("message_id", d.message_id), ("detail", d.detail),
            ("attachments", tuple({"name": a.name, "sha256": a.sha256} for a in d.attachments))])
            for d in doc.deliveries])
    if doc.reminders:
        out.items("reminders", [[("level", r.level), ("date", r.date)] for r in doc.reminders])
    for key in ("credits", "converted_to", "converted_from", "declined", "recurrence",
                "occurrence", "notes"):
        value = getattr(doc, key)
        if value is not None and value != "":
            out.field(key, value)
    return out.text()


def dump_contact(contact: Contact) -> str:
    out = _Out()
    out.field("name", contact.name)
    if contact.email:
        out.field("email", contact.email)
    if isinstance(contact.address, Address):
        out.mapping("address", [(k, getattr(contact.address, k)) for k in
                                ("street", "number", "postcode", "city", "country")
                                if getattr(contact.address, k)])
    elif contact.address:
        out.field("address", contact.address)
    if contact.payment_days is not None:
        out.field("payment_days", contact.payment_days)
    for key in ("vat_id", "buyer_reference"):
        if getattr(contact, key):
            out.field(key, getattr(contact, key))
    if contact.einvoice != "pdf":
        out.field("einvoice", contact.einvoice)
    return out.text()


def dump_recurrence(rec: Recurrence) -> str:
    out = _Out()
    out.field("name", rec.name)
    out.field("template", rec.template)
    out.field("rule", rec.rule)
    out.field("start", rec.start)
    if rec.until is not None:
        out.field("until", rec.until)
    out.field("issue", rec.issue)
    if rec.lead_days:
        out.field("lead_days", rec.lead_days)
    if rec.last is not None:
        out.field("last", rec.last)
    if rec.skipped:
        out.lines.append("skipped:")
        out.lines.extend("  - %s" % d.isoformat() for d in rec.skipped)
    if rec.stopped is not None:
        out.mapping("stopped", _present([("at", rec.stopped.at),
                                         ("occurrence", rec.stopped.occurrence),
                                         ("cause", rec.stopped.cause)]))
    if rec.ended is not None:
        out.field("ended", rec.ended)
    return out.text()


def dump_data(data: dict) -> Optional[str]:
    """Block-style YAML for plain data (mappings, lists, scalars as
    :func:`update_yaml` writes them: amounts quoted, dates ``YYYY-MM-DD``,
    None left out), as the round trip of an empty file would write it, without
    its cost; checked to read back (as facturier's loader sees it) as ``data``.
    None when it cannot be written so (the caller uses the round trip)."""
    lines: list[str] = []
    try:
        _emit_mapping(data, "", lines)
    except _Unwritable:
        return None
    if not lines:
        return None                 # the round trip writes "{}"
    text = "\n".join(lines) + "\n"
    try:
        if plain_data(text) != _plain_value(data):
            return None
    except ValueError:
        return None
    return text


class _Unwritable(Exception):
    pass


_KEY = re.compile(r"[a-z_][a-z0-9_-]*\Z")     # field names, written plain


def _emit_mapping(data: dict, indent: str, lines: list[str]) -> None:
    for key, value in data.items():
        if value is None:
            continue
        if not isinstance(key, str) or not _KEY.match(key):
            raise _Unwritable(key)      # written as the round trip would: left to it
        name = key
        if isinstance(value, dict):
            if all(v is None for v in value.values()):
                lines.append("%s%s: {}" % (indent, name))
            else:
                lines.append("%s%s:" % (indent, name))
                _emit_mapping(value, indent + "  ", lines)
        elif isinstance(value, (list, tuple)):
            if not value:
                lines.append("%s%s: []" % (indent, name))
                continue
            lines.append("%s%s:" % (indent, name))
            for item in value:
                _emit_item(item, indent + "  ", lines)
        elif isinstance(value, str) and "\n" in value:
            lines.extend(_text_block(name, value, indent))
        else:
            lines.append("%s%s: %s" % (indent, name, _value(value)))


def _emit_item(item: Any, indent: str, lines: list[str]) -> None:
    """One ``- `` item of a block list at ``indent`` (the dash's column)."""
    if isinstance(item, dict) and any(v is not None for v in item.values()):
        sub: list[str] = []
        _emit_mapping(item, indent + "  ", sub)
        sub[0] = indent + "- " + sub[0][len(indent) + 2:]
        lines.extend(sub)
    elif isinstance(item, (dict, list, tuple)) or item is None or \
            (isinstance(item, str) and "\n" in item):
        raise _Unwritable(item)
    else:
        lines.append("%s- %s" % (indent, _value(item)))


# --------------------------------------------------------------------------- round trip

def _yaml():
    from ruamel.yaml import YAML
    y = YAML(typ="rt")
    y.preserve_quotes = True
    y.width = 4096
    y.allow_duplicate_keys = False
    y.Constructor, y.Representer = _verbatim_classes()
    return y


_VERBATIM: list = []


def _verbatim_classes():
    """A round trip that keeps plain floats, timestamps, integers and booleans
    as the person wrote them. ruamel reads ``0.33333333333333333333`` through
    a binary float and writes back ``0.33333333333333331483`` (and ``1e400`` as
    ``.inf``), ``number: +1`` as ``1`` and ``True`` as ``true``: an unrelated
    edit, a payment, would change a line or the number of a validated invoice."""
    if not _VERBATIM:
        from ruamel.yaml.constructor import RoundTripConstructor
        from ruamel.yaml.representer import RoundTripRepresenter

        class Verbatim(str):
            """A plain scalar's text, with the tag YAML resolved it to."""
            tag = ""

        class Constructor(RoundTripConstructor):
            pass

        class Representer(RoundTripRepresenter):
            def ignore_aliases(self, data):
                # never an anchor and an alias (the same date object set
                # twice): facturier's loader refuses them, as it should
                return True

        def construct(tag):
            def build(self, node):
                value = Verbatim(node.value)
                value.tag = tag
                return value
            return build

        for tag in ("tag:yaml.org,2002:float", "tag:yaml.org,2002:timestamp",
                    "tag:yaml.org,2002:int", "tag:yaml.org,2002:bool"):
            Constructor.add_constructor(tag, construct(tag))
        Representer.add_representer(
            Verbatim, lambda self, data: self.represent_scalar(data.tag, str(data)))
        _VERBATIM.extend((Constructor, Representer))
    return _VERBATIM[0], _VERBATIM[1]


def _to_node(value: Any):
    """A python value as ruamel round-trip data (amounts quoted, block style)."""
    from ruamel.yaml.comments import CommentedMap, CommentedSeq
    from ruamel.yaml.scalarstring import DoubleQuotedScalarString, LiteralScalarString
    if isinstance(value, bool) or isinstance(value, int) or value is None:
        return value
    if isinstance(value, Decimal):
        return DoubleQuotedScalarString(decimal_text(value))
    if isinstance(value, dt.datetime):
        return DoubleQuotedScalarString(value.isoformat())
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        if "\n" in value and len(_text_block("k", value, "")) > 1 and value.endswith("\n") \
                and not value.endswith("\n\n"):
            return LiteralScalarString(value)
        if scalar(value) != value:
            return DoubleQuotedScalarString(value)
        return value
    if isinstance(value, dict):
        m = CommentedMap()
        for k, v in value.items():
            if v is None:
                continue
            m[k] = _to_node(v)
        m.fa.set_block_style()
        return m
    if isinstance(value, (list, tuple)):
        s = CommentedSeq(_to_node(v) for v in value)
        s.fa.set_block_style()
        return s
    return str(value)


def _guess_indent(text: str) -> tuple[int, int]:
    """(sequence indent, dash offset) as the person wrote their lists; the
    canonical ``  - `` when the file has no block list."""
    m = re.search(r"^(\w[\w-]*):[ \t]*(#.*)?\n( *)- ", text, re.M)
    if m is None:
        return 4, 2
    offset = len(m.group(3))
    return offset + 2, offset


def _walk(data, dotted: str, create: bool = False, new_map: Any = None):
    """The container and final key of ``a.b.2.c`` inside ``data``; missing
    mappings on the way are made with ``new_map`` when ``create`` (ruamel's
    CommentedMap by default: the round trip; a dict for plain data)."""
    keys = dotted.split(".")
    node = data
    for key in keys[:-1]:
        if isinstance(node, list):
            node = node[int(key)]
        else:
            if key not in node and create:
                if new_map is None:
                    from ruamel.yaml.comments import CommentedMap
                    new_map = CommentedMap
                node[key] = new_map()
            node = node[key]
    last = keys[-1]
    return node, (int(last) if isinstance(node, list) else last)


def update_yaml(text: str, set_fields: Optional[dict] = None, remove: Iterable[str] = (),
                append: Optional[dict] = None) -> str:
    """``text`` with fields set, removed, or items appended to lists, keeping
    everything else (comments, quotes, key order) as the person wrote it.

    Keys of ``set_fields`` and ``remove`` are top-level names or dotted paths
    (``holds.0.to``: list items by 0-based index). Values are python objects:
    Decimal -> quoted string, date -> YYYY-MM-DD, dict/list -> block mapping
    or sequence. ``append`` adds items to a list field, creating it at the end
    when absent. Raises ValueError when ``text`` is not a YAML mapping.
    """
    y = _yaml()
    seq_indent, offset = _guess_indent(text)
    y.indent(mapping=2, sequence=seq_indent, offset=offset)
    try:
        data = y.load(text)
    except Exception as exc:
        raise ValueError("the file is not valid YAML: %s" % exc) from None
    if data is None:
        from ruamel.yaml.comments import CommentedMap
        data = CommentedMap()
    if not hasattr(data, "items"):
        raise ValueError("the file does not hold a mapping")
    for key, value in (set_fields or {}).items():
        container, last = _walk(data, key, create=True)
        node = _to_node(value)
        if isinstance(container, list):
            container[last] = node
        else:
            container[last] = node
    for key in remove:
        try:
            container, last = _walk(data, key)
        except (KeyError, IndexError):
            continue
        if isinstance(container, list):
            if 0 <= last < len(container):
                del container[last]
        elif last in container:
            del container[last]
    for key, items in (append or {}).items():
        container, last = _walk(data, key, create=True)
        current = container.get(last) if not isinstance(container, list) else container[last]
        if current is None:
            container[last] = _to_node(list(items))
        elif not isinstance(current, list):
            raise ValueError("'%s' is not a list" % key)
        else:
            for item in items:
                current.append(_to_node(item))
    out = io.StringIO()
    y.dump(data, out)
    new = out.getvalue()
    check_edit(text, new, set_fields, remove, append)
    return new


# --------------------------------------------------------------------------- the edit, checked

_SKIPPED = object()         # a node yamlsafe already refused (an alias...)


def plain_data(text: str) -> Any:
    """What facturier's loader sees in ``text``: mappings as dicts, lists,
    every scalar as its text (None for a null), read with the real loader's
    first stage (engine/yamlsafe). Raises ValueError when it does not parse."""
    from . import yamlsafe
    root, diagnostics = yamlsafe.compose(text, "")
    errors = [d for d in diagnostics if d.is_error]
    if errors:
        raise ValueError(errors[0].message)
    return {} if root is None else _plain(root)


def _plain(node) -> Any:
    from . import yamlsafe
    cls = node.__class__
    if cls is yamlsafe.MappingNode:
        return {key.value: _plain(value) for key, value in node.value}
    if cls is yamlsafe.SequenceNode:
        return [_plain(value) for value in node.value]
    if yamlsafe.is_skip(node):
        return _SKIPPED
    if yamlsafe.is_null(node):
        return None
    return node.value


def _plain_value(value: Any) -> Any:
    """A python value as :func:`plain_data` reads it once written."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Decimal):
        return decimal_text(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain_value(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain_value(v) for v in value]
    return str(value)


def intended_data(old: Any, set_fields: Optional[dict] = None, remove: Iterable[str] = (),
                  append: Optional[dict] = None) -> Any:
    """``old`` (as :func:`plain_data` gives it) with the edit of
    :func:`update_yaml` applied: what the edited file must read as."""
    import copy
    data = copy.deepcopy(old) if old is not None else {}
    for key, value in (set_fields or {}).items():
        container, last = _walk(data, key, create=True, new_map=dict)
        container[last] = _plain_value(value)
    for key in remove:
        try:
            container, last = _walk(data, key)
        except (KeyError, IndexError, TypeError, ValueError):
            continue
        if isinstance(container, list):
            if 0 <= last < len(container):
                del container[last]
        elif isinstance(container, dict) and last in container:
            del container[last]
    for key, items in (append or {}).items():
        container, last = _walk(data, key, create=True, new_map=dict)
        current = container.get(last) if isinstance(container, dict) else container[last]
        if current is None:
            container[last] = _plain_value(list(items))
        else:
            current.extend(_plain_value(list(items)))
    return data


def check_edit(old_text: str, new_text: str, set_fields: Optional[dict] = None,
               remove: Iterable[str] = (), append: Optional[dict] = None) -> None:
    """Raise ValueError unless ``new_text`` reads (as facturier's loader reads
    it) as ``old_text`` with exactly this edit: nothing else changed, nothing
    lost, whatever the style of the file (flow mappings, quoted keys, strings
    that look like keys)."""
    try:
        expected = intended_data(plain_data(old_text), set_fields, remove, append)
    except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
        raise ValueError("the edit cannot be checked: %s" % exc) from None
    try:
        written = plain_data(new_text)
    except ValueError as exc:
        raise ValueError("the edited file would not be valid YAML (%s); edit it by hand, or "
                         "rewrite it in block style" % exc) from None
    if written != expected:
        raise ValueError("the edited file would not read back as intended (%s); edit it "
                         "by hand, or rewrite it in block style" % _first_difference(expected,
                                                                                      written))


def _first_difference(expected: Any, written: Any, where: str = "") -> str:
    if isinstance(expected, dict) and isinstance(written, dict):
        for key in list(expected) + [k for k in written if k not in expected]:
            if expected.get(key, _SKIPPED) != written.get(key, _SKIPPED):
                return _first_difference(expected.get(key), written.get(key),
                                         "%s.%s" % (where, key) if where else str(key))
    if isinstance(expected, list) and isinstance(written, list) and len(expected) == len(written):
        for i, (a, b) in enumerate(zip(expected, written)):
            if a != b:
                return _first_difference(a, b, "%s.%d" % (where, i))
    return "field '%s'" % where if where else "the whole file"


# --------------------------------------------------------------------------- paths and ids

def document_path(doc_id: str, date: dt.date) -> str:
    """``documents/<yyyy>/<mm>/<id>.yaml`` by the document's date (SPEC 1)."""
    return "documents/%04d/%02d/%s.yaml" % (date.year, date.month, doc_id)


def contact_path(contact_id: str) -> str:
    return "contacts/%s.yaml" % contact_id


def recurrence_path(rec_id: str) -> str:
    return "recurrences/%s.yaml" % rec_id


def _base32(data: bytes, n: int = 4) -> str:
    return base64.b32encode(data).decode("ascii").lower()[:n]


def new_document_id(kind: str, date: dt.date, existing_ids: Iterable[str], seed: str,
                    lowered: Optional[AbstractSet[str]] = None) -> str:
    """``<prefix>-<yyyymmdd>-<4 lowercase base32>`` (SPEC 1), derived from
    ``seed`` (the same seed gives the same id) and unique among
    ``existing_ids`` compared case-insensitively (``lowered``: those ids in
    lower case, when the caller keeps them, so that a session creating
    thousands of documents does not lower the whole book each time)."""
    taken = lowered if lowered is not None else {i.lower() for i in existing_ids}
    base = "%s-%s-" % (ID_PREFIX[kind], date.strftime("%Y%m%d"))
    n = 0
    while True:
        digest = hashlib.sha256(("%s\0%d" % (seed, n)).encode("utf-8")).digest()
        candidate = base + _base32(digest)
        if candidate.lower() not in taken:
            return candidate
        n += 1


def slug(name: str) -> str:
    text = unicodedata.normalize("NFKD", name)
    text = "".join(c for c in text if not unicodedata.combining(c)).lower()
    text = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return text[:56].rstrip("-")


def slug_id(name: str, existing_ids: Iterable[str], fallback: str = "item") -> str:
    """A slug of ``name`` (``ACME SA`` -> ``acme-sa``), made unique among
    ``existing_ids`` (case-insensitively) with ``-2``, ``-3``..."""
    taken = {i.lower() for i in existing_ids}
    base = slug(name) or fallback
    candidate, n = base, 1
    while candidate.lower() in taken:
        n += 1
        candidate = "%s-%d" % (base, n)
    return candidate
