"""Ledger exports (SPEC 10.2): the book as an hledger or beancount journal.

Pure: the book in, text out; no git, no clock. The same book gives the same
text, byte for byte (transactions sorted by date, then by kind of event, then
by document id and position).

What becomes a transaction (amounts in the document's currency; the accounts
are the settings' ``accounts:``):

- a validated invoice, on its ``validated`` date (as the VAT report's invoice
  basis): receivable debited with the total; income credited with each rate's
  net and VAT due with each rate's VAT, one posting per rate (tagged
  ``rate``);
- a validated credit note, on its ``validated`` date: the same, reversed
  (tagged with the invoice it ``credits``);
- each payment of a validated invoice: bank debited, receivable credited
  (the payment's ``reference`` as a tag);
- each discount of a validated invoice: discounts debited, receivable credited;
- a write-off of a validated invoice, on its date: bad debts debited with the
  open amount at that date (SPEC 3.1; nothing when nothing is open),
  receivable credited;
- an expense (expenses are not validated), on its ``date``: expense debited
  with each rate's net and deductible VAT with each rate's VAT, payable
  credited with the total (an expense giving only ``total:`` is one expense
  posting); its payments: payable debited, bank credited; its discounts:
  payable debited, expense credited.

Each transaction carries the document's ``id``, its ``number`` when it has
one, and its ``kind`` as tags (hledger) or metadata (beancount). Drafts,
quotes and work orders are not exported. Postings of zero are left out, and a
transaction whose postings are all zero is not written. ``--from``/``--to``
keep the transactions dated within them.

hledger account names are written as the settings give them; beancount's
must start with Assets, Liabilities, Equity, Income or Expenses and have
capitalized components, so ``assets:receivable`` becomes
``Assets:Receivable`` (``income``/``revenue`` → Income, ``expense`` →
Expenses; characters beancount refuses become ``-``).
"""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Optional

from .model import Book, Document
from .money import WIDE, currency_of, document_totals
from .status import amounts

_ZERO = Decimal(0)
FORMATS = ("hledger", "beancount")
# the order of events of one day: documents before the money that settles them
_ORDER = {"invoice": 0, "credit_note": 1, "expense": 2, "payment": 3, "discount": 4,
          "write_off": 5}


class LedgerError(ValueError):
    """The settings name an account the ledger format cannot take."""


@dataclass(frozen=True)
class Posting:
    account: str                    # a key of Accounts (receivable, income…)
    amount: Decimal
    currency: str
    tags: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Transaction:
    date: dt.date
    order: tuple
    payee: str
    narration: str
    tags: tuple[tuple[str, str], ...]
    postings: tuple[Posting, ...]


def _rate_text(rate: Decimal) -> str:
    text = format(rate, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _in(day: dt.date, start: Optional[dt.date], end: Optional[dt.date]) -> bool:
    return (start is None or day >= start) and (end is None or day <= end)


def transactions(book: Book, start: Optional[dt.date] = None,
                 end: Optional[dt.date] = None) -> list[Transaction]:
    """Every transaction of the book dated in ``[start, end]``, in order."""
    out: list[Transaction] = []
    with localcontext(WIDE):
        for doc in book.documents.values():
            if doc.kind in ("invoice", "credit_note") and doc.validated is not None:
                _sales(book, doc, out)
            elif doc.kind == "expense":
                _purchase(book, doc, out)
    kept = [t for t in out if _in(t.date, start, end)
            and any(p.amount != 0 for p in t.postings)]
    kept.sort(key=lambda t: (t.date, t.order))
    return kept


def _payee(book: Book, doc: Document) -> str:
    contact = book.contact(doc.contact)
    return contact.name if contact is not None else doc.contact


def _doc_tags(doc: Document) -> tuple[tuple[str, str], ...]:
    tags: tuple[tuple[str, str], ...] = (("id", doc.id),)
    if doc.number:
        tags += (("number", doc.number),)
    tags += (("kind", doc.kind),)
    if doc.kind == "credit_note" and doc.credits:
        tags += (("credits", doc.credits),)
    return tags


_WORDS = {"invoice": "Invoice", "credit_note": "Credit note", "expense": "Expense"}


def _sales(book: Book, doc: Document, out: list) -> None:
    settings = book.settings
    currency = currency_of(doc, settings)
    totals = document_totals(doc, settings)
    sign = -1 if doc.kind == "credit_note" else 1
    label = doc.number or doc.id
    payee = _payee(book, doc)
    tags = _doc_tags(doc)
    validated = doc.validated
    assert validated is not None
    postings = [Posting("receivable", sign * totals.total, currency)]
    for rate, net, vat in totals.by_rate:
        rate_tag = (("rate", _rate_text(rate)),)
        postings.append(Posting("income", -sign * net, currency, rate_tag))
        postings.append(Posting("vat_due", -sign * vat, currency, rate_tag))
    if not totals.by_rate:
        postings.append(Posting("income", -sign * totals.total, currency))
    out.append(Transaction(validated, (_ORDER[doc.kind], doc.id, 0), payee,
                           "%s %s" % (_WORDS[doc.kind], label), tags, tuple(postings)))
    if doc.kind != "invoice":
        return
    _settlements(out, doc, payee, label, tags, currency, "invoice",
                 paid=("bank", "receivable"), discounted=("discounts", "receivable"))
    if doc.write_off is not None:
        day = doc.write_off.date
        open_amount = amounts(doc, book, day).open
        if open_amount > 0:
            out.append(Transaction(day, (_ORDER["write_off"], doc.id, 0), payee,
                                   "Write-off of invoice %s" % label, tags, (
                                       Posting("bad_debts", open_amount, currency),
                                       Posting("receivable", -open_amount, currency))))


def _purchase(book: Book, doc: Document, out: list) -> None:
    settings = book.settings
    currency = currency_of(doc, settings)
    totals = document_totals(doc, settings)
    label = doc.number or doc.id
    payee = _payee(book, doc)
    tags = _doc_tags(doc)
    postings = []
    for rate, net, vat in totals.by_rate:
        rate_tag = (("rate", _rate_text(rate)),)
        postings.append(Posting("expense", net, currency, rate_tag))
        postings.append(Posting("vat_deductible", vat, currency, rate_tag))
    if not totals.by_rate:
        postings.append(Posting("expense", totals.total, currency))
    postings.append(Posting("payable", -totals.total, currency))
    out.append(Transaction(doc.date, (_ORDER["expense"], doc.id, 0), payee,
                           "Expense %s" % label, tags, tuple(postings)))
    _settlements(out, doc, payee, label, tags, currency, "expense",
                 paid=("payable", "bank"), discounted=("payable", "expense"))


# =========================================================================== hledger

def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _hledger_text(text: str) -> str:
    # ';' starts a comment in a description; '|' splits payee and note
    return _one_line(text).replace(";", ",").replace("|", "/")


def _hledger_tag_value(text: str) -> str:
    # a tag's value ends at a comma or the end of the line
    return _one_line(text).replace(",", ";")


def _hledger_tags(tags) -> str:
    return ", ".join("%s:%s" % (k, _hledger_tag_value(v)) for k, v in tags)


def to_hledger(book: Book, start: Optional[dt.date] = None,
               end: Optional[dt.date] = None) -> str:
    """The journal in hledger's format."""
    accounts = book.settings.accounts
    txns = transactions(book, start, end)
    used = sorted({getattr(accounts, p.account) for t in txns for p in t.postings})
    currencies = sorted({p.currency for t in txns for p in t.postings})
    lines = ["; facturier export: %d transactions" % len(txns), ""]
    lines += ["account %s" % a for a in used]
    lines += ["commodity %s" % c for c in currencies]
    lines.append("")
    for t in txns:
        lines.append("%s * %s | %s  ; %s" % (t.date.isoformat(), _hledger_text(t.payee),
                                              _hledger_text(t.narration), _hledger_tags(t.tags)))
        for p in t.postings:
            if p.amount == 0:
                continue
            line = "    %s  %s %s" % (getattr(accounts, p.account), p.amount, p.currency)
            if p.tags:
                line += "  ; %s" % _hledger_tags(p.tags)
            lines.append(line)
        lines.append("")
    return "\n".join(lines)


# =========================================================================== beancount

_ROOTS = {"assets": "Assets", "asset": "Assets", "liabilities": "Liabilities",
          "liability": "Liabilities", "equity": "Equity", "income": "Income",
          "revenue": "Income", "revenues": "Income", "expenses": "Expenses",
          "expense": "Expenses"}


def beancount_account(name: str) -> str:
    """``assets:receivable`` -> ``Assets:Receivable`` (see the module notes)."""
    parts = [p.strip() for p in name.split(":")]
    root = _ROOTS.get(parts[0].lower()) if parts else None
    if root is None or any(not p for p in parts):
        raise LedgerError(
            "account %r cannot be a beancount account: it must start with assets, "
            "liabilities, equity, income or expenses (set accounts: in facturier.yaml)" % name)
    out = [root]
    for part in parts[1:]:
        part = re.sub(r"[^A-Za-z0-9-]", "-", part)
        if not part[0].isalnum():
            part = "X" + part
        out.append(part[0].upper() + part[1:])
    if len(out) == 1:
        out.append("Facturier")
    return ":".join(out)


def _bean_string(text: str) -> str:
    return '"%s"' % _one_line(text).replace("\\", "\\\\").replace('"', '\\"')


def to_beancount(book: Book, start: Optional[dt.date] = None,
                 end: Optional[dt.date] = None) -> str:
    """The journal in beancount's format (v2 and v3)."""
    accounts = book.settings.accounts
    txns = transactions(book, start, end)
    names = {key: beancount_account(getattr(accounts, key))
             for key in {p.account for t in txns for p in t.postings}}
    opened: dict[str, dt.date] = {}
    for t in txns:
        for p in t.postings:
            account = names[p.account]
            if account not in opened:
                opened[account] = t.date
    currencies = sorted({p.currency for t in txns for p in t.postings})
    lines = ["; facturier export: %d transactions" % len(txns), ""]
    for account in sorted(opened):
        lines.append("%s open %s" % (min(opened.values()).isoformat(), account))
    for currency in currencies:
        if txns:
            lines.append("%s commodity %s" % (txns[0].date.isoformat(), currency))
    lines.append("")
    for t in txns:
        lines.append("%s * %s %s" % (t.date.isoformat(), _bean_string(t.payee),
                                     _bean_string(t.narration)))
        for k, v in t.tags:
            lines.append("  %s: %s" % (k, _bean_string(v)))
        for p in t.postings:
            if p.amount == 0:
                continue
            lines.append("  %s  %s %s" % (names[p.account], p.amount, p.currency))
            for k, v in p.tags:
                lines.append("    %s: %s" % (k, _bean_string(v)))
        lines.append("")
    return "\n".join(lines)


def export(book: Book, fmt: str, start: Optional[dt.date] = None,
           end: Optional[dt.date] = None) -> str:
    if fmt == "hledger":
        return to_hledger(book, start, end)
    if fmt == "beancount":
        return to_beancount(book, start, end)
    raise ValueError("format must be one of %s" % ", ".join(FORMATS))


def _settlements(out: list, doc, payee, label: str, tags: tuple, currency: str, word: str,
                 paid: tuple[str, str], discounted: tuple[str, str]) -> None:
    """The payments and discounts of an invoice or expense, each a transaction
    from the first account of its pair (debited) to the second (credited)."""
    for i, payment in enumerate(doc.payments):
        extra = (("reference", payment.reference),) if payment.reference else ()
        out.append(Transaction(payment.date, (_ORDER["payment"], doc.id, i), payee,
                               "Payment of %s %s" % (word, label), tags + extra, (
                                   Posting(paid[0], payment.amount, currency),
                                   Posting(paid[1], -payment.amount, currency))))
    for i, discount in enumerate(doc.discounts):
        out.append(Transaction(discount.date, (_ORDER["discount"], doc.id, i), payee,
                               "Discount on %s %s" % (word, label), tags, (
                                   Posting(discounted[0], discount.amount, currency),
                                   Posting(discounted[1], -discount.amount, currency))))
