"""The records of a book: immutable, typed, each carrying its source.

Records are frozen ``msgspec.Struct`` values so that the cache (engine/cache.py)
can store and decode 100,000 of them in well under a second. Money, quantities
and rates are ``Decimal``; dates are ``datetime.date``; collections are tuples.
Every top-level record carries ``path`` (relative to the book root, forward
slashes), ``line`` (where the mapping starts) and ``fields`` (top-level key ->
line) so that checks can name the line of the field they are about.

Timestamps (delivery ``at``, ``stopped.at``) are kept as the ISO 8601 text the
file holds (validated by the loader): the offset a person wrote is what they see
again, and ``day`` gives the calendar date in that offset.

This module is pure: no I/O, no clock, no git.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional, Union

import msgspec


DOCUMENT_KINDS = ("invoice", "credit_note", "quote", "work_order", "expense")
ID_PREFIX = {"invoice": "inv", "credit_note": "cn", "quote": "q", "work_order": "wo",
             "expense": "exp"}
DELIVERY_RESULTS = ("sending", "sent", "deferred", "bounced", "returned")
ISSUE_MODES = ("draft", "validate", "send")


class _Record(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    pass


# --------------------------------------------------------------------------- settings

class Address(_Record, frozen=True, kw_only=True, gc=False):
    """A structured postal address (SPEC 1.2, 1.3): what e-invoices and QR-bills
    need. ``country`` is ISO 3166 alpha-2."""
    street: str = ""
    number: str = ""
    postcode: str = ""
    city: str = ""
    country: str = ""

    def lines(self) -> list[str]:
        street = " ".join(p for p in (self.street, self.number) if p)
        town = " ".join(p for p in (self.postcode, self.city) if p)
        return [p for p in (street, town, self.country) if p]


# A postal address as written: free lines (text) or the structured mapping.
PostalAddress = Union[str, Address]


def address_lines(address: PostalAddress) -> list[str]:
    """The lines to print for an address, free lines as written."""
    if isinstance(address, Address):
        return address.lines()
    return [line.strip() for line in address.splitlines() if line.strip()]


def structured(address: PostalAddress) -> Optional[Address]:
    """The structured address, or None when it is free lines (or absent)."""
    return address if isinstance(address, Address) else None


PAYMENT_QR = ("auto", "swiss", "epc", "none")
EINVOICE_SETTINGS = ("facturx", "none")
CONTACT_EINVOICE = ("pdf", "facturx", "xrechnung", "ubl")


class Company(_Record, frozen=True, kw_only=True, gc=False):
    name: str = ""
    address: PostalAddress = ""
    email: str = ""
    phone: str = ""
    vat_id: str = ""
    registration: str = ""              # SIREN/SIRET, Handelsregister, UID...
    iban: str = ""                      # compact form (no spaces), checked by the loader
    bic: str = ""


class Terms(_Record, frozen=True, kw_only=True, gc=False):
    payment_days: int = 30
    first_reminder_days: int = 10
    second_reminder_days: int = 10


class Numbering(_Record, frozen=True, kw_only=True, gc=False):
    invoice: str = "{year}-{seq:04d}"
    credit_note: str = "CN-{year}-{seq:04d}"
    quote: str = "Q-{year}-{seq:04d}"
    work_order: str = "WO-{year}-{seq:04d}"

    def format_for(self, kind: str) -> str:
        return getattr(self, kind)


class EmailSettings(_Record, frozen=True, kw_only=True, gc=False):
    sender: str = ""            # the `from:` key of the file
    smtp_host: str = "localhost"
    smtp_port: int = 25
    starttls: bool = False


class Accounts(_Record, frozen=True, kw_only=True, gc=False):
    """Ledger account names for the exports (SPEC 1.2, 10.2)."""
    receivable: str = "assets:receivable"
    payable: str = "liabilities:payable"
    income: str = "income:sales"
    expense: str = "expenses:general"
    vat_due: str = "liabilities:vat"
    vat_deductible: str = "assets:vat"
    bank: str = "assets:bank"
    discounts: str = "expenses:discounts"       # discounts granted on invoices
    bad_debts: str = "expenses:bad-debts"       # balances written off


class SyncSettings(_Record, frozen=True, kw_only=True, gc=False):
    """`sync: {remote, branch}` (SPEC 9): the shared book of record. ``branch``
    empty: the checked-out branch's name."""
    remote: str = "origin"
    branch: str = ""


class Settings(_Record, frozen=True, kw_only=True, gc=False):
    path: str = "facturier.yaml"
    line: int = 1
    fields: dict = {}
    company: Company = Company()
    currency: str = "EUR"
    locale: str = "en"
    timezone: str = "UTC"
    vat: Decimal = Decimal("0")
    terms: Terms = Terms()
    future_invoices: str = "draft"      # draft | process
    numbering: Numbering = Numbering()
    max_catch_up: int = 3               # the `recurrences: {max_catch_up:}` key
    email: EmailSettings = EmailSettings()
    accounts: Accounts = Accounts()
    payment_qr: str = "auto"            # one of PAYMENT_QR (SPEC 8.3)
    einvoice: str = "facturx"           # one of EINVOICE_SETTINGS (SPEC 8.2)
    legal_notes: dict[str, tuple[str, ...]] = {}   # locale -> lines (SPEC 8.1)
    sync: Optional[SyncSettings] = None  # SPEC 9; None: no shared remote (nothing of 9 applies)

    def legal_notes_for(self, locale: str) -> tuple[str, ...]:
        return tuple(self.legal_notes.get(locale, ()))


# --------------------------------------------------------------------------- contacts

class Contact(_Record, frozen=True, kw_only=True, gc=False):
    id: str
    path: str
    line: int = 1
    fields: dict = {}
    name: str
    email: str = ""
    address: PostalAddress = ""
    payment_days: Optional[int] = None
    vat_id: str = ""
    buyer_reference: str = ""           # the customer's reference (Leitweg-ID, PO)
    einvoice: str = "pdf"               # one of CONTACT_EINVOICE: what e-mails attach


# --------------------------------------------------------------------------- documents

class Line(_Record, frozen=True, kw_only=True, gc=False):
    line: int = 0
    description: str = ""
    quantity: Decimal = Decimal("1")
    unit_price: Decimal = Decimal("0")
    vat: Optional[Decimal] = None       # percent; None = settings.vat


class Payment(_Record, frozen=True, kw_only=True, gc=False):
    line: int = 0
    date: dt.date
    amount: Decimal
    reference: str = ""


class Discount(_Record, frozen=True, kw_only=True, gc=False):
    line: int = 0
    date: dt.date
    amount: Decimal
    reason: str = ""


class WriteOff(_Record, frozen=True, kw_only=True, gc=False):
    line: int = 0
    date: dt.date
    reason: str = ""


class Hold(_Record, frozen=True, kw_only=True, gc=False):
    line: int = 0
    start: dt.date                      # the `from:` key
    end: Optional[dt.date] = None       # the `to:` key; None = still on hold
    reason: str = ""


class Attachment(_Record, frozen=True, kw_only=True, gc=False):
    """A file an e-mail carried (SPEC 5.2): its name and the SHA-256 of its
    bytes (64 lowercase hex digits), so the history proves what was sent."""
    name: str
    sha256: str


class Delivery(_Record, frozen=True, kw_only=True, gc=False):
    line: int = 0
    channel: str                        # email | post
    at: str                             # ISO 8601 with offset, as written
    result: str                         # one of DELIVERY_RESULTS
    to: str = ""
    message_id: str = ""
    detail: str = ""                    # the server's answer, a bounce diagnostic...
    attachments: tuple[Attachment, ...] = ()    # what the e-mail carried

    @property
    def day(self) -> dt.date:
        return dt.date.fromisoformat(self.at[:10])


class Reminder(_Record, frozen=True, kw_only=True, gc=False):
    line: int = 0
    level: int
    date: dt.date


class Document(_Record, frozen=True, kw_only=True, gc=False):
    id: str
    path: str
    line: int = 1
    fields: dict = {}
    kind: str
    contact: str                        # `customer:` (or `supplier:` for expenses)
    date: dt.date
    due: Optional[dt.date] = None
    currency: Optional[str] = None      # None = settings.currency
    number: Optional[str] = None
    validated: Optional[dt.date] = None
    scheduled: bool = False
    lines: tuple[Line, ...] = ()
    total: Optional[Decimal] = None     # expenses only, instead of lines
    payments: tuple[Payment, ...] = ()
    discounts: tuple[Discount, ...] = ()
    write_off: Optional[WriteOff] = None
    holds: tuple[Hold, ...] = ()
    deliveries: tuple[Delivery, ...] = ()
    reminders: tuple[Reminder, ...] = ()
    credits: Optional[str] = None
    converted_to: Optional[str] = None
    converted_from: Optional[str] = None
    declined: Optional[dt.date] = None
    recurrence: Optional[str] = None
    occurrence: Optional[dt.date] = None
    notes: str = ""

    @property
    def is_draft(self) -> bool:
        return self.validated is None

    @property
    def party_key(self) -> str:
        return "supplier" if self.kind == "expense" else "customer"


# --------------------------------------------------------------------------- recurrences

class Stopped(_Record, frozen=True, kw_only=True, gc=False):
    at: str                             # ISO 8601 timestamp with offset
    occurrence: Optional[dt.date] = None
    cause: str = ""


class Recurrence(_Record, frozen=True, kw_only=True, gc=False):
    id: str
    path: str
    line: int = 1
    fields: dict = {}
    name: str
    template: str
    rule: str
    start: dt.date
    until: Optional[dt.date] = None
    issue: str = "draft"                # one of ISSUE_MODES
    lead_days: int = 0
    last: Optional[dt.date] = None
    skipped: tuple[dt.date, ...] = ()
    stopped: Optional[Stopped] = None
    ended: Optional[dt.date] = None


RECORD_TYPES = {"settings": Settings, "contact": Contact, "document": Document,
                "recurrence": Recurrence}


# --------------------------------------------------------------------------- the book

# The loaded whole, an immutable value (engine/bookvalue.py).
from .bookvalue import Book as Book, Table as Table  # noqa: E402
