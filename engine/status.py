"""Statuses: amounts at ``as_of``, the dunning clock, one status per document (SPEC 3).

Pure: the status is a function of the document, the book (its credit notes,
contacts, settings) and ``as_of``; it is never stored, never reads the clock.

``status_and_amounts(doc, book, as_of)`` is the workhorse (listings call it for
every document); ``status_of`` and ``amounts`` are thin views of it.

Choices the SPEC leaves open, written down here:

- *Time travel.* Payments, discounts, the write-off, deliveries (by the calendar
  day of their ``at`` in the offset written), reminders and credit notes (by
  their ``date``) count only when dated on or before ``as_of``. A credit note
  counts in ``credited`` when it is validated (``validated`` set, whatever its
  date) and its ``date`` ≤ ``as_of``. Likewise a document is "validated" when its
  ``validated`` key is set: the validation date itself is not compared with
  ``as_of`` (SPEC 3.1 lists what is filtered by date; validation is not in it).
- *Holds* are intervals ``[from, to)``. Rule 1 applies to every kind. For the
  dunning clock every hold in the file counts, including one that starts after
  ``as_of``: it can only move reminder dates that lie after ``as_of`` (the
  projection ``dunning_dates`` shows), never the level at ``as_of``.
- *Recorded reminders.* When several reminders of one level are dated on or
  before ``as_of``, the earliest one is that level's date. Levels outside 1–3
  are ignored. A level whose date cannot be reached (an open-ended hold stops
  the clock) is ``None``, and so are the computed levels after it.
- *Rule 4* (cancelled by credit note) needs at least one counted credit note:
  an invoice of total 0 that nobody credited is ``paid`` (rule 6), not
  "cancelled by credit note".
- *Rule 8.* The latest attempt is the last one, in file order, among the
  attempts whose day is ≤ ``as_of``; ``sending``, ``sent`` and ``deferred``
  leave the status to the later rules.
- *Amounts of other kinds* (SPEC 3.1). ``paid``, ``discounted`` and ``settled``
  use the same formulas for every kind (``credited`` is 0 except for
  invoices), but ``open`` is defined by kind so that a sum of ``open`` over
  documents never counts money twice: an expense's is ``total − paid −
  discounted``; a quote's or work order's is its total while it is an offer
  or a work order (a quote declined after ``as_of`` is still an offer), 0 once
  converted (the document made from it carries the money) or declined; a
  credit note's is 0, validated or not (its amount is counted on the invoice it
  credits once validated, and a draft moves no money). A hold changes no
  amount.
- *Expenses.* ``due`` is the expense's ``due:``, else its date plus payment
  days (the supplier's, else the settings'); a write-off on an expense does not
  change its status (SPEC 3.5 has no rule for it).
- An unknown ``kind`` (the loader refuses them, so only hand-built records can
  have one) raises ``ValueError``.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional

import msgspec


CATEGORIES: tuple[str, ...] = ("in_progress", "action_required", "to_monitor", "done")

STATUSES: dict[str, str] = {
    "offer": "in_progress",
    "work_order": "in_progress",
    "processing": "in_progress",
    "recurring": "in_progress",
    "expense_open": "in_progress",
    "awaiting_validation": "action_required",
    "pending_processing": "action_required",
    "credit_note_awaiting_validation": "action_required",
    "email_undelivered": "action_required",
    "wrong_postal_address": "action_required",
    "overpaid": "action_required",
    "first_reminder": "to_monitor",
    "second_reminder": "to_monitor",
    "litigation": "to_monitor",
    "on_hold": "to_monitor",
    "partially_paid": "to_monitor",
    "expense_overdue": "to_monitor",
    "paid": "done",
    "written_off": "done",
    "credit_note": "done",
    "cancelled_by_credit_note": "done",
    "paid_with_discount": "done",
    "converted": "done",
    "declined": "done",
    "expense_paid": "done",
}

_ZERO = Decimal(0)
_ONE_DAY = dt.timedelta(days=1)


class Amounts(msgspec.Struct, frozen=True, gc=False):
    """What a document weighs at ``as_of`` (SPEC 3.1), in its currency."""
    total: Decimal
    credited: Decimal
    paid: Decimal
    discounted: Decimal
    settled: Decimal
    open: Decimal


def category_of(status: str) -> str:
    """The category of a status code (``KeyError`` for an unknown code)."""
    return STATUSES[status]


def is_active_hold(doc, as_of: dt.date) -> bool:
    """A hold with ``from ≤ as_of`` and no ``to``, or ``to > as_of`` (rule 1)."""
    for hold in doc.holds:
        if hold.start <= as_of and (hold.end is None or hold.end > as_of):
            return True
    return False


def due_date(doc, book) -> dt.date:
    """``due:``, else date + the contact's payment days, else the settings'."""
    if doc.due is not None:
        return doc.due
    contact = book.contacts.get(doc.contact)
    if contact is None:
        contact = book.contact(doc.contact)
    days = None if contact is None else contact.payment_days
    if days is None:
        days = book.settings.terms.payment_days
    return doc.date + dt.timedelta(days=days)


# --------------------------------------------------------------------------- amounts

def _sum_dated(entries, as_of: dt.date) -> Decimal:
    total = _ZERO
    for entry in entries:
        if entry.date <= as_of:
            total += entry.amount
    return total


def _credited(doc, book, as_of: dt.date) -> tuple[Decimal, bool]:
    """Totals of the validated credit notes dated ≤ as_of that credit ``doc``."""
    credited = _ZERO
    counted = False
    for note in book.credit_notes_for(doc.id):
        if note.validated is not None and note.date <= as_of:
            credited += book.total_of(note)
            counted = True
    return credited, counted


def _amounts(doc, book, as_of: dt.date, total: Decimal) -> tuple[Amounts, bool]:
    paid = _sum_dated(doc.payments, as_of) if doc.payments else _ZERO
    discounted = _sum_dated(doc.discounts, as_of) if doc.discounts else _ZERO
    if doc.kind == "invoice":
        credited, counted = _credited(doc, book, as_of)
    else:
        credited, counted = _ZERO, False
    settled = paid + discounted + credited
    return Amounts(total=total, credited=credited, paid=paid, discounted=discounted,
                   settled=settled, open=_open(doc, as_of, total, settled)), counted


def _open(doc, as_of: dt.date, total: Decimal, settled: Decimal) -> Decimal:
    """SPEC 3.1: what is still open on ``doc``, by kind (see the module notes)."""
    kind = doc.kind
    if kind == "invoice" or kind == "expense":
        return total - settled
    if kind == "credit_note":
        return _ZERO
    if doc.converted_to or (kind == "quote" and doc.declined is not None
                            and doc.declined <= as_of):
        return _ZERO                    # no longer an offer or a work order (3.5)
    return total


def amounts(doc, book, as_of: dt.date) -> Amounts:
    """SPEC 3.1 amounts of ``doc`` at ``as_of``."""
    return _amounts(doc, book, as_of, book.total_of(doc))[0]


# --------------------------------------------------------------------------- dunning

def _merged_holds(holds) -> list[tuple[dt.date, Optional[dt.date]]]:
    """Hold intervals [from, to) sorted and merged; ``None`` = open-ended."""
    spans = sorted(((h.start, h.end) for h in holds if h.end is None or h.end > h.start),
                   key=lambda span: span[0])
    merged: list[list] = []
    for start, end in spans:
        if merged:
            last = merged[-1]
            if last[1] is None:
                break
            if start <= last[1]:
                if end is None or end > last[1]:
                    last[1] = end
                continue
        merged.append([start, end])
    return [(s, e) for s, e in merged]


def _advance(start: dt.date, count: int, spans) -> Optional[dt.date]:
    """The first day d with ``count`` counted (hold-free) days in (start, d]."""
    cur = start                         # the last day already walked
    for hold_from, hold_to in spans:
        if hold_to is not None and hold_to <= cur + _ONE_DAY:
            continue                    # the hold ended before cur + 1
        free_from = cur + _ONE_DAY
        if hold_from > free_from:
            free = (hold_from - free_from).days
            if free >= count:
                return cur + dt.timedelta(days=count)
            count -= free
        if hold_to is None:
            return None                 # on hold for ever: the clock never gets there
        cur = max(cur, hold_to - _ONE_DAY)
    return cur + dt.timedelta(days=count)


def _dunning(doc, book, as_of: dt.date, due: dt.date):
    terms = book.settings.terms
    recorded: list[Optional[dt.date]] = [None, None, None]
    for reminder in doc.reminders:
        level = reminder.level
        if 1 <= level <= 3 and reminder.date <= as_of:
            known = recorded[level - 1]
            if known is None or reminder.date < known:
                recorded[level - 1] = reminder.date
    counts = (1, terms.first_reminder_days + 1, terms.second_reminder_days + 1)
    spans = _merged_holds(doc.holds) if doc.holds else None
    dates: list[Optional[dt.date]] = [None, None, None]
    previous: Optional[dt.date] = due
    for k in range(3):
        date = recorded[k]
        if date is None and previous is not None:
            if spans:
                date = _advance(previous, counts[k], spans)
            else:
                date = previous + dt.timedelta(days=counts[k])
        dates[k] = date
        previous = date
    return dates


def dunning_dates(doc, book, as_of: dt.date):
    """``(r1, r2, r3)`` of SPEC 3.3: when each reminder level starts (or started).

    A date may lie after ``as_of`` (a projection); ``None`` = never reached.
    """
    return tuple(_dunning(doc, book, as_of, due_date(doc, book)))


def _level(dates, as_of: dt.date) -> int:
    for k in (2, 1, 0):
        date = dates[k]
        if date is not None and date <= as_of:
            return k + 1
    return 0


def dunning_level(doc, book, as_of: dt.date) -> int:
    """The highest level k with ``rk ≤ as_of`` (0 when none) — SPEC 3.3."""
    return _level(_dunning(doc, book, as_of, due_date(doc, book)), as_of)


# --------------------------------------------------------------------------- status

def _latest_delivery_result(doc, as_of: dt.date) -> Optional[str]:
    day = as_of.isoformat()
    result = None
    for delivery in doc.deliveries:
        if delivery.at[:10] <= day:
            result = delivery.result
    return result


def _invoice_status(doc, book, as_of: dt.date, amounts: Amounts, counted: bool) -> str:
    if doc.date > as_of:
        return "pending_processing"
    if doc.validated is None:
        return "awaiting_validation"
    total = amounts.total
    if counted and amounts.credited >= total and amounts.paid + amounts.discounted == 0:
        return "cancelled_by_credit_note"
    settled = amounts.settled
    if settled > total:
        return "overpaid"
    if settled == total:
        return "paid_with_discount" if amounts.discounted > 0 else "paid"
    write_off = doc.write_off
    if write_off is not None and write_off.date <= as_of:
        return "written_off"
    if doc.deliveries:
        result = _latest_delivery_result(doc, as_of)
        if result == "bounced":
            return "email_undelivered"
        if result == "returned":
            return "wrong_postal_address"
    level = _level(_dunning(doc, book, as_of, due_date(doc, book)), as_of)
    if level == 3:
        return "litigation"
    if settled > 0:
        return "partially_paid"
    if level == 2:
        return "second_reminder"
    if level == 1:
        return "first_reminder"
    return "recurring" if doc.recurrence else "processing"


def status_and_amounts(doc, book, as_of: dt.date) -> tuple[str, Amounts]:
    """The status code of ``doc`` at ``as_of`` and its amounts, computed together."""
    total = book.total_of(doc)
    amounts, counted = _amounts(doc, book, as_of, total)
    if doc.holds and is_active_hold(doc, as_of):
        return "on_hold", amounts
    kind = doc.kind
    if kind == "invoice":
        return _invoice_status(doc, book, as_of, amounts, counted), amounts
    if kind == "quote":
        if doc.converted_to:
            return "converted", amounts
        if doc.declined is not None and doc.declined <= as_of:
            return "declined", amounts
        return "offer", amounts
    if kind == "work_order":
        return ("converted" if doc.converted_to else "work_order"), amounts
    if kind == "credit_note":
        return ("credit_note_awaiting_validation" if doc.validated is None
                else "credit_note"), amounts
    if kind == "expense":
        if amounts.paid + amounts.discounted >= total:
            return "expense_paid", amounts
        if as_of > due_date(doc, book):
            return "expense_overdue", amounts
        return "expense_open", amounts
    raise ValueError("document %s has an unknown kind %r" % (doc.id, kind))


def status_of(doc, book, as_of: dt.date) -> str:
    """The status code of ``doc`` at ``as_of`` (a key of ``STATUSES``)."""
    return status_and_amounts(doc, book, as_of)[0]
