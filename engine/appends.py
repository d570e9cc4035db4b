"""Items appended to a document's text (reminders, deliveries, payments): the
YAML block written at the end of the file, a hundred times faster than a
round-trip edit for the daily run, and the check that the new text reads back
as the old record with exactly those items (:func:`_reads_as_appended`, run on
every core when a run appends many).
"""
from __future__ import annotations

import datetime as dt
import re
from typing import Optional

from .model import Document


def _emails(doc: Document) -> int:
    return sum(1 for d in doc.deliveries if d.channel == "email")


def _item(doc: Document, entry: Optional[dict] = None, level: Optional[int] = None,
          day: Optional[dt.date] = None) -> dict:
    """One document of a `deliver` input: the e-mail entry and/or reminder
    appended, and how many e-mail entries the document had before."""
    item: dict = {"doc": doc.id, "n": _emails(doc)}
    if entry is not None:
        item["entry"] = entry
    if level is not None:
        item["level"], item["date"] = level, day
    return item


def _block(key: str, items: list[dict]) -> str:
    """A block list in facturier's canonical style (appended at the end)."""
    from .writer import _value
    lines = ["%s:" % key]
    for item in items:
        first = True
        for k, v in item.items():
            if v is None or v == "":
                continue
            lines.append("%s%s: %s" % ("  - " if first else "    ", k, _value(v)))
            first = False
    return "\n".join(lines) + "\n"


def _appended(text: str, append: dict) -> Optional[str]:
    """``text`` with the items of ``append`` added as block-list items, or None
    when a list is not one this can extend safely: absent (a new block at the
    end), or a ``key:`` block list that runs to the end of the file."""
    for key, items in append.items():
        if not re.search(r"^%s[ \t]*:" % re.escape(key), text, re.M):
            if text and not text.endswith("\n"):
                text += "\n"
            text += _block(key, items)
            continue
        lines = text.split("\n")
        head = key + ":"
        starts = [i for i, line in enumerate(lines) if line.startswith(head)
                  and (not line[len(head):].strip() or line[len(head):].strip().startswith("#"))]
        if len(starts) != 1:
            return None
        indent = None
        for line in lines[starts[0] + 1:]:
            bare = line.strip()
            if not bare or bare.startswith("#"):
                continue
            if indent is None:
                m = re.match(r"( *)- ", line)
                if m is None:
                    return None
                indent = m.group(1)
            elif not (line.startswith(indent + "- ") or line.startswith(indent + "  ")):
                return None             # another key after the list, or odd indentation
        if indent is None:
            return None
        block = _block(key, items).split("\n", 1)[1]          # the items, "  - " style
        body = "".join(indent + line[2:] + "\n" if line.startswith("  ") else ""
                       for line in block.splitlines())
        if text and not text.endswith("\n"):
            text += "\n"
        text += body
    return text


_ITEM_RECORDS: dict = {}


def _with_items(old, append: dict, written=None):
    """The record ``old`` with the items of ``append`` added at the end of
    their lists (their ``line`` taken from the same items of ``written``, else
    0), or None when an item does not make a record."""
    import msgspec

    from .model import Attachment, Delivery, Discount, Payment, Reminder
    if not _ITEM_RECORDS:
        _ITEM_RECORDS.update(reminders=Reminder, deliveries=Delivery, payments=Payment,
                             discounts=Discount)
    changes: dict = {} if written is None else {"line": written.line, "fields": written.fields}
    for key, items in append.items():
        cls = _ITEM_RECORDS.get(key)
        before = getattr(old, key, None)
        after = getattr(written, key, None) if written is not None else None
        if cls is None or before is None or (written is not None and (
                after is None or len(after) != len(before) + len(items))):
            return None
        added = []
        for n, item in enumerate(items):
            line = after[len(before) + n].line if after is not None else 0
            values = {k: v for k, v in item.items() if v is not None and v != ""}
            if cls is Delivery and "attachments" in values:
                values["attachments"] = tuple(Attachment(**a) for a in values["attachments"])
            try:
                added.append(cls(line=line, **values))
            except (TypeError, msgspec.ValidationError):
                return None
        changes[key] = before + tuple(added)
    return msgspec.structs.replace(old, **changes)


def _reads_as_appended(old, data: bytes, append: dict) -> bool:
    """Does ``data``, parsed back with the real loader, read as the record
    ``old`` with exactly the items of ``append`` added, nothing else changed
    (lines of the old part included: a text append moves nothing)?"""
    from .loader import parse_file
    _kind, new, diagnostics = parse_file(old.path, data)
    if new is None or any(d.is_error for d in diagnostics):
        return False
    return _with_items(old, append, new) == new


_CHECKING: list = []        # what forked workers of _check_appends read


def _check_chunk(indices) -> list[int]:
    return [i for i in indices if not _reads_as_appended(*_CHECKING[i])]


def _check_appends(items: list, processes: Optional[int] = None) -> list[bool]:
    """_reads_as_appended for each (old record, bytes, append): on every core
    when there are many (a first run reminds tens of thousands of invoices;
    each file is parsed back before the commit)."""
    import os
    if processes is None:
        processes = os.cpu_count() or 1
    if processes < 2 or len(items) < 2000:
        return [_reads_as_appended(*item) for item in items]
    import multiprocessing
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        return [_reads_as_appended(*item) for item in items]
    _CHECKING[:] = items                # the workers see them through fork
    try:
        parts = processes * 4
        from .book import quiet_worker
        with context.Pool(processes, initializer=quiet_worker) as pool:
            bad = {i for found in pool.map(_check_chunk, [range(k, len(items), parts)
                                                          for k in range(parts)])
                   for i in found}
    finally:
        _CHECKING[:] = []
    return [i not in bad for i in range(len(items))]
