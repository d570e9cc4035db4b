"""Bookkeeping reports (SPEC 10.1): VAT, aging of receivables, revenue.

Pure: a report is a function of the book, the dates given and ``as_of``; no
git, no file system, no clock. Amounts come from the engine's own rules —
:func:`engine.money.document_totals` (nets and VAT per rate, SPEC 1.4) and
:func:`engine.status.status_and_amounts` (open amounts per kind, SPEC 3.1) —
and are exact decimals in each document's currency; currencies are never
added together.

A :class:`Report` is a table: ``rows`` (dicts) identified by ``keys``, with
the ``amounts`` columns, and ``totals`` that add the rows up per ``group``
(the currency, and for VAT the side). Every total is the exact sum of its
rows.

Choices the SPEC leaves open, written down here:

- *VAT, invoice basis.* A validated invoice counts on its ``validated`` date,
  a validated credit note likewise with its amounts negated; drafts never.
  Expenses are not validated in a book: an expense counts on its ``date``.
  An expense that gives only ``total:`` has no VAT breakdown: it appears on a
  row without a rate (``rate`` null), its VAT 0.
- *VAT, payment basis.* What was collected in the period: each payment dated
  in the period, on a validated invoice (or an expense), carries the share of
  each rate's net and VAT of its document in proportion to its amount. The
  shares are computed on the cumulative amount paid and the earlier payments'
  shares subtracted, so that the payments of a fully paid document add up to
  exactly its VAT per rate; a rate's gross share is rounded half-up, the
  highest rate taking the remainder, and its VAT is the same proportion of the
  rate's VAT, rounded half-up. Payments beyond the document's total (an
  overpayment) carry no VAT. Discounts, write-offs and credit notes are not
  payments: on this basis a credit note counts only through the payments it
  makes unnecessary (refunds of money already collected are not in a book).
- *Aging.* Open receivables are validated invoices dated on or before
  ``as_of`` with an open amount above zero (SPEC 3.1), except those written
  off; an invoice on hold stays in. Days past due = ``as_of − due``; 0 or less
  is "not due". One row per contact and currency.
- *Revenue.* Net (without VAT), VAT and gross of validated invoices minus
  validated credit notes, by ``validated`` date as the VAT report's invoice
  basis (so a quarter's revenue equals that quarter's VAT sales), grouped by
  month (``2025-03``), quarter (``2025-Q1``) or contact.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from typing import Any, Iterable, Optional

from .model import Book, Document
from .money import WIDE, currency_of, document_totals, round_money
from .status import due_date, status_and_amounts

_ZERO = Decimal(0)
BASES = ("invoice", "payment")
GROUPINGS = ("month", "quarter", "contact")
AGING_BUCKETS = ("not_due", "d1_30", "d31_60", "d61_90", "over_90")


@dataclass(frozen=True)
class Report:
    """One report: rows, and totals per ``group`` that add the rows up."""
    name: str                               # vat | aging | revenue
    params: dict
    keys: tuple[str, ...]                   # the columns that identify a row
    amounts: tuple[str, ...]                # the money columns
    group: tuple[str, ...]                  # the keys the totals are per
    rows: tuple[dict, ...]
    totals: tuple[dict, ...]
    texts: tuple[str, ...] = ()             # other columns (a contact's name)
    summary: tuple[dict, ...] = field(default=())

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"report": self.name}
        out.update(self.params)
        out["rows"] = list(self.rows)
        out["totals"] = list(self.totals)
        if self.summary:
            out["summary"] = list(self.summary)
        return out


def _totals(rows: Iterable[dict], group: tuple[str, ...], amounts: tuple[str, ...]) -> tuple:
    sums: dict[tuple, dict] = {}
    for row in rows:
        key = tuple(row[k] for k in group)
        total = sums.get(key)
        if total is None:
            total = sums[key] = dict(zip(group, key), **{a: _ZERO for a in amounts})
        for a in amounts:
            total[a] += row[a]
    return tuple(sums[k] for k in sorted(sums, key=_sort_key))


def _sort_key(key: tuple) -> tuple:
    # None (a row without a rate) after every value; sides in their own order
    return tuple((1, "") if v is None else (0, _SIDE_ORDER.get(v, v) if isinstance(v, str) else v)
                 for v in key)


_SIDE_ORDER = {"sales": "0", "purchases": "1"}


def _in(day: Optional[dt.date], start: Optional[dt.date], end: Optional[dt.date]) -> bool:
    return day is not None and (start is None or day >= start) and (end is None or day <= end)


# =========================================================================== VAT

def vat_report(book: Book, start: dt.date, end: dt.date, basis: str = "invoice") -> Report:
    """SPEC 10.1 VAT: per side (sales, purchases), currency and rate, net, VAT
    and gross of the period ``[start, end]`` (both included)."""
    if basis not in BASES:
        raise ValueError("basis must be one of %s" % ", ".join(BASES))
    settings = book.settings
    cells: dict[tuple, list[Decimal]] = {}

    def add(side: str, currency: str, rate: Optional[Decimal], gross: Decimal,
            vat: Decimal) -> None:
        cell = cells.get((side, currency, rate))
        if cell is None:
            cell = cells[(side, currency, rate)] = [_ZERO, _ZERO, _ZERO]
        cell[0] += gross - vat
        cell[1] += vat
        cell[2] += gross

    with localcontext(WIDE):
        for doc in book.documents.values():
            kind = doc.kind
            if kind == "expense":
                side = "purchases"
            elif kind in ("invoice", "credit_note") and doc.validated is not None:
                side = "sales"
            else:
                continue
            if basis == "invoice":
                day = doc.validated if side == "sales" else doc.date
                if not _in(day, start, end):
                    continue
                sign = -1 if kind == "credit_note" else 1
                for rate, gross, vat in _breakdown(doc, settings):
                    add(side, currency_of(doc, settings), rate, sign * gross, sign * vat)
            elif kind != "credit_note" and doc.payments:
                if not any(_in(p.date, start, end) for p in doc.payments):
                    continue
                for rate, gross, vat in _collected(doc, settings, start, end):
                    add(side, currency_of(doc, settings), rate, gross, vat)
    rows = tuple({"side": side, "currency": currency, "rate": rate,
                  "net": v[0], "vat": v[1], "gross": v[2]}
                 for (side, currency, rate), v in sorted(cells.items(),
                                                         key=lambda kv: _sort_key(kv[0])))
    amounts = ("net", "vat", "gross")
    totals = _totals(rows, ("side", "currency"), amounts)
    summary = []
    for currency in sorted({t["currency"] for t in totals}):
        due = sum((t["vat"] for t in totals if t["currency"] == currency
                   and t["side"] == "sales"), _ZERO)
        deductible = sum((t["vat"] for t in totals if t["currency"] == currency
                          and t["side"] == "purchases"), _ZERO)
        summary.append({"currency": currency, "vat_due": due, "vat_deductible": deductible,
                        "vat_payable": due - deductible})
    return Report(name="vat", params={"from": start, "to": end, "basis": basis},
                  keys=("side", "currency", "rate"), amounts=amounts,
                  group=("side", "currency"), rows=rows, totals=totals,
                  summary=tuple(summary))


def _breakdown(doc: Document, settings) -> list[tuple[Optional[Decimal], Decimal, Decimal]]:
    """``(rate, gross, vat)`` per rate of ``doc`` (SPEC 1.4); a document
    without lines (an expense's ``total:``) is one row without a rate."""
    totals = document_totals(doc, settings)
    if not totals.by_rate:
        return [(None, totals.total, _ZERO)] if totals.total else []
    return [(rate, net + vat, vat) for rate, net, vat in totals.by_rate]


def _share(parts, whole: Decimal, amount: Decimal, currency: str):
    """``(rate, gross, vat)`` of ``amount`` (0 ≤ amount ≤ whole) of a document
    whose gross per rate is ``parts``: each rate's gross in proportion, rounded
    half-up, the last rate taking the remainder; VAT in the same proportion."""
    if amount == whole:
        return list(parts)
    out = []
    given = _ZERO
    for i, (rate, gross, vat) in enumerate(parts):
        if i == len(parts) - 1:
            g = amount - given
        else:
            g = round_money(amount * gross / whole, currency)
            given += g
        v = round_money(g * vat / gross, currency) if gross else _ZERO
        out.append((rate, g, v))
    return out


def _collected(doc: Document, settings, start: dt.date, end: dt.date):
    """``(rate, gross, vat)`` collected by the payments of ``doc`` dated in
    ``[start, end]`` (payment basis; see the module notes)."""
    parts = _breakdown(doc, settings)
    whole = sum((g for _r, g, _v in parts), _ZERO)
    if whole <= 0:
        return []
    currency = currency_of(doc, settings)
    sums: dict[Optional[Decimal], list[Decimal]] = {}
    paid = _ZERO
    before = _share(parts, whole, _ZERO, currency)
    for payment in sorted(doc.payments, key=lambda p: p.date):
        if payment.date > end:
            break
        paid = min(paid + payment.amount, whole)
        after = _share(parts, whole, paid, currency)
        if payment.date >= start:
            for (rate, g1, v1), (_r, g0, v0) in zip(after, before):
                cell = sums.setdefault(rate, [_ZERO, _ZERO])
                cell[0] += g1 - g0
                cell[1] += v1 - v0
        before = after
    return [(rate, g, v) for rate, (g, v) in sums.items() if g or v]


# =========================================================================== aging

def aging_report(book: Book, as_of: dt.date) -> Report:
    """SPEC 10.1 aging: per contact and currency, open receivables at
    ``as_of`` by days past due."""
    settings = book.settings
    cells: dict[tuple[str, str], dict] = {}
    for doc in book.documents.values():
        if doc.kind != "invoice" or doc.validated is None or doc.date > as_of:
            continue
        status, amounts = status_and_amounts(doc, book, as_of)
        if amounts.open <= 0 or status == "written_off":
            continue
        days = (as_of - due_date(doc, book)).days
        bucket = ("not_due" if days <= 0 else "d1_30" if days <= 30 else "d31_60" if days <= 60
                  else "d61_90" if days <= 90 else "over_90")
        currency = currency_of(doc, settings)
        key = (doc.contact, currency)
        cell = cells.get(key)
        if cell is None:
            contact = book.contact(doc.contact)
            cell = cells[key] = {"contact": doc.contact,
                                 "name": contact.name if contact else doc.contact,
                                 "currency": currency, "invoices": 0,
                                 **{b: _ZERO for b in AGING_BUCKETS}, "total": _ZERO}
        cell[bucket] += amounts.open
        cell["total"] += amounts.open
        cell["invoices"] += 1
    rows = tuple(cells[k] for k in sorted(cells, key=lambda k: (k[0].lower(), k[0], k[1])))
    amounts_cols = AGING_BUCKETS + ("total",)
    return Report(name="aging", params={"as_of": as_of}, keys=("contact", "currency"),
                  texts=("name",), amounts=amounts_cols, group=("currency",), rows=rows,
                  totals=_totals(rows, ("currency",), amounts_cols))


# =========================================================================== revenue

def period_of(day: dt.date, by: str) -> str:
    if by == "month":
        return "%04d-%02d" % (day.year, day.month)
    return "%04d-Q%d" % (day.year, (day.month - 1) // 3 + 1)


def revenue_report(book: Book, by: str = "month", start: Optional[dt.date] = None,
                   end: Optional[dt.date] = None) -> Report:
    """SPEC 10.1 revenue: validated invoices minus validated credit notes (by
    ``validated`` date) per month, quarter or contact, and currency."""
    if by not in GROUPINGS:
        raise ValueError("by must be one of %s" % ", ".join(GROUPINGS))
    settings = book.settings
    cells: dict[tuple[str, str], dict] = {}
    with localcontext(WIDE):
        for doc in book.documents.values():
            kind = doc.kind
            if kind not in ("invoice", "credit_note") or not _in(doc.validated, start, end):
                continue
            totals = document_totals(doc, settings)
            sign = -1 if kind == "credit_note" else 1
            validated = doc.validated
            assert validated is not None            # _in refused a draft
            key_value = doc.contact if by == "contact" else period_of(validated, by)
            currency = currency_of(doc, settings)
            cell = cells.get((key_value, currency))
            if cell is None:
                cell = cells[(key_value, currency)] = {
                    by: key_value, "currency": currency, "invoices": 0, "credit_notes": 0,
                    "net": _ZERO, "vat": _ZERO, "gross": _ZERO}
                if by == "contact":
                    contact = book.contact(doc.contact)
                    cell["name"] = contact.name if contact else doc.contact
            cell["invoices" if sign > 0 else "credit_notes"] += 1
            cell["net"] += sign * totals.net
            cell["vat"] += sign * totals.vat
            cell["gross"] += sign * totals.total
    if by == "contact":
        order = sorted(cells, key=lambda k: (k[0].lower(), k[0], k[1]))
    else:
        order = sorted(cells)
    rows = tuple(cells[k] for k in order)
    amounts = ("net", "vat", "gross")
    return Report(name="revenue", params={"by": by, "from": start, "to": end},
                  keys=(by, "currency"), texts=("name",) if by == "contact" else (),
                  amounts=amounts, group=("currency",), rows=rows,
                  totals=_totals(rows, ("currency",), amounts))
