"""The plans that record an event on a document (SPEC 5.1): a payment, a
discount, a write-off, a hold and its release, a declined quote, a returned
letter.
"""
from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from .model import Book, Document
from .planning import (_amount, _change_doc, _currency, _doc, _edited, _edited_text, _need_kind,
                       _need_validated, _refuse, _with_input, label)
from .session import Change


def _same_entries(entries, entry: dict) -> int:
    """How many of ``entries`` (payments, discounts) have this date, amount
    and reference or reason: a replay records it only when the other head
    has no more of them than this one had."""
    return sum(1 for e in entries if e.date == entry["date"] and e.amount == entry["amount"]
               and (getattr(e, "reference", "") or getattr(e, "reason", "") or "")
               == (entry.get("reference") or entry.get("reason") or ""))


class _Settlement(NamedTuple):
    """What differs between a payment and a discount: both settle an invoice
    or an expense by a dated amount, appended to a list of the document."""
    key: str            # the document's list: payments | discounts
    note: str           # the entry's optional text: reference | reason
    done: str           # for refuse.kind: "paid"
    doing: str          # for refuse.not_validated: "recording a payment"
    what: str           # for the amount's refusals: "the payment"
    action: str         # the commit's action
    subject: str        # the commit's subject, before "AMOUNT CURRENCY on DOCUMENT"
    replay: str         # the input recorded for a replay (SPEC 9)


_PAYMENT = _Settlement("payments", "reference", "paid", "recording a payment", "the payment",
                       "document.payment", "Record payment of", "pay")
_DISCOUNT = _Settlement("discounts", "reason", "discounted", "granting a discount",
                        "the discount", "document.discount", "Grant discount of", "discount")


def plan_payment(book: Book, doc_id: str, amount, date: dt.date, reference: str = "") -> Change:
    """Record a payment received (invoices) or made (expenses)."""
    return _settle(book, _PAYMENT, doc_id, amount, date, reference)


def plan_discount(book: Book, doc_id: str, amount, date: dt.date, reason: str = "") -> Change:
    return _settle(book, _DISCOUNT, doc_id, amount, date, reason)


def _settle(book: Book, how: _Settlement, doc_id: str, amount, date: dt.date,
            note: str) -> Change:
    doc = _doc(book, doc_id)
    _need_kind(doc, ("invoice", "expense"), how.done)
    if doc.kind == "invoice":
        _need_validated(doc, how.doing)
    currency = _currency(book, doc)
    amount = _amount(amount, how.what, currency)
    entry = {"date": date, "amount": amount}
    if note:
        entry[how.note] = note
    data, _ = _edited(book, doc.path, append={how.key: [entry]})
    return _with_input(_change_doc(how.action, "%s %s %s on %s"
                                   % (how.subject, amount, currency, label(doc)), doc, data),
                       how.replay, doc=doc.id, amount=str(amount), date=date.isoformat(),
                       n=_same_entries(getattr(doc, how.key), entry), **{how.note: note})


def plan_write_off(book: Book, doc_id: str, date: dt.date, reason: str = "") -> Change:
    from .status import amounts
    doc = _doc(book, doc_id)
    _need_kind(doc, ("invoice",), "written off")
    _need_validated(doc, "writing it off")
    if doc.write_off is not None:
        _refuse("refuse.already_written_off", doc=label(doc), date=str(doc.write_off.date))
    left = amounts(doc, book, date).open
    if left <= 0:
        _refuse("refuse.nothing_to_write_off", field_name="date", doc=label(doc), date=date.isoformat())
    entry: dict[str, object] = {"date": date}
    if reason:
        entry["reason"] = reason
    data, _ = _edited(book, doc.path, {"write_off": entry})
    return _with_input(_change_doc("document.write-off", "Write off %s %s on %s"
                       % (left, _currency(book, doc), label(doc)), doc, data),
                       "write-off", doc=doc.id, date=date.isoformat(), reason=reason)


def plan_hold(book: Book, doc_id: str, date: dt.date, reason: str = "") -> Change:
    doc = _doc(book, doc_id)
    for hold in doc.holds:
        if hold.end is None or (hold.start <= date < hold.end):
            _refuse("refuse.already_on_hold", doc=label(doc), date=hold.start.isoformat())
    entry: dict[str, object] = {"from": date}
    if reason:
        entry["reason"] = reason
    data, _ = _edited(book, doc.path, append={"holds": [entry]})
    return _with_input(_change_doc("document.hold", "Put %s on hold%s" % (
        label(doc), (": " + reason) if reason else ""), doc, data),
        "hold", doc=doc.id, date=date.isoformat(), reason=reason)


def plan_release(book: Book, doc_id: str, date: dt.date) -> Change:
    doc = _doc(book, doc_id)
    open_holds = [i for i, h in enumerate(doc.holds) if h.end is None]
    if not open_holds:
        _refuse("refuse.not_on_hold", doc=label(doc))
    index = open_holds[-1]
    if doc.holds[index].start > date:
        _refuse("refuse.release_before_hold", field_name="date", doc=label(doc),
                start=doc.holds[index].start.isoformat(), date=date.isoformat())
    if doc.holds[index].start == date:
        # released the day it started: it covered no day, so it goes (git keeps the trace)
        data, _ = _edited(book, doc.path, remove=("holds.%d" % index,))
        if len(doc.holds) == 1:
            data, _ = _edited_text(doc.path, data.decode("utf-8"), remove=("holds",))
        change = _change_doc("document.release", "Release the hold on %s (same day: the hold "
                             "is removed)" % label(doc), doc, data)
    else:
        data, _ = _edited(book, doc.path, {"holds.%d.to" % index: date})
        change = _change_doc("document.release", "Release the hold on %s" % label(doc), doc, data)
    return _with_input(change, "release", doc=doc.id, date=date.isoformat())


def plan_decline(book: Book, doc_id: str, date: dt.date) -> Change:
    doc = _doc(book, doc_id)
    _need_kind(doc, ("quote",), "declined")
    if doc.converted_to:
        _refuse("refuse.decline_converted", doc=label(doc), to=doc.converted_to)
    if doc.declined is not None:
        _refuse("refuse.already_declined", doc=label(doc), date=doc.declined.isoformat())
    data, _ = _edited(book, doc.path, {"declined": date})
    return _with_input(_change_doc("document.decline", "Record that the customer declined %s"
                                   % label(doc), doc, data),
                       "decline", doc=doc.id, date=date.isoformat())


def refuse_before_document(doc: Document, day: dt.date, action: str) -> None:
    """Refuse to record ``action`` (a catalogue word: "refuse.as_of.emailed")
    on ``day`` when the document's own dates come later: its date, its
    validation, its last delivery. A record is never dated before what it
    follows (as numbers are never dated before their predecessor)."""
    from .i18n import Message
    found = [("refuse.as_of.date", doc.date)]
    if doc.validated is not None:
        found.append(("refuse.as_of.validated", doc.validated))
    for delivery in doc.deliveries:
        try:
            found.append(("refuse.as_of.delivery", dt.date.fromisoformat(delivery.at[:10])))
        except ValueError:          # the loader checked it; a hand-made record may not be
            continue
    what, latest = max(found, key=lambda item: item[1])
    if day < latest:
        _refuse("refuse.as_of_before", doc=label(doc), what=Message(what),
                date=latest.isoformat(), action=Message(action), as_of=day.isoformat())


def plan_returned(book: Book, doc_id: str, at: str) -> Change:
    """The post brought the document back (``at``: ISO timestamp with offset;
    refused when it falls before the document's own dates)."""
    doc = _doc(book, doc_id)
    refuse_before_document(doc, dt.date.fromisoformat(at[:10]), "refuse.as_of.returned")
    data, _ = _edited(book, doc.path, append={"deliveries": [
        {"channel": "post", "at": at, "result": "returned"}]})
    return _with_input(_change_doc("document.return", "Record %s returned by the post"
                                   % label(doc), doc, data), "returned", doc=doc.id, at=at)
