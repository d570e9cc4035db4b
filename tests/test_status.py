"""Statuses (SPEC 3): the 12 invoice rules in order, amounts at as_of, other kinds, labels."""
from __future__ import annotations

import datetime as dt
import subprocess
import sys
from decimal import Decimal as D

import pytest

from engine.i18n import (category_label, format_date, month_name, period_label, register,
                         status_label, t)
from engine.model import (Book, Contact, Delivery, Discount, Document, Hold, Line, Payment,
                          Reminder, Settings, Terms, WriteOff)
from engine.status import (CATEGORIES, STATUSES, Amounts, amounts, category_of, due_date,
                           is_active_hold, status_and_amounts, status_of)

d = dt.date.fromisoformat
JAN1 = d("2025-01-01")
AS_OF = d("2025-01-15")       # before the due date (2025-01-31): no dunning yet


def make_invoice(**kw) -> Document:
    fields = dict(id="inv-1", path="documents/2025/01/inv-1.yaml", kind="invoice",
                  contact="acme", date=JAN1, validated=JAN1, number="2025-0001",
                  lines=(Line(quantity=D(1), unit_price=D(100)),))
    fields.update(kw)
    return Document(**fields)


def credit_note(amount="100", date=JAN1, validated=JAN1, id="cn-1", credits="inv-1") -> Document:
    return Document(id=id, path="documents/2025/01/%s.yaml" % id, kind="credit_note",
                    contact="acme", date=d(date) if isinstance(date, str) else date,
                    validated=validated, credits=credits,
                    lines=(Line(quantity=D(1), unit_price=D(amount)),))


def make_book(*docs, settings=None, contacts=None) -> Book:
    return Book(settings=settings or Settings(),
                contacts=contacts or {"acme": Contact(id="acme", path="contacts/acme.yaml",
                                                      name="ACME SA")},
                documents={doc.id: doc for doc in docs})


def pay(amount, date="2025-01-10"):
    return Payment(date=d(date), amount=D(amount))


def disc(amount, date="2025-01-10"):
    return Discount(date=d(date), amount=D(amount))


def delivery(result, at="2025-01-02T09:00:00+01:00", channel="email"):
    return Delivery(channel=channel, at=at, result=result)


def hold(start, end=None):
    return Hold(start=d(start), end=None if end is None else d(end))


# --------------------------------------------------------------------------- the table

# (name, invoice fields, extra documents, as_of, expected status)
CASES = [
    # rule 1: an active hold wins over everything
    ("1 hold, open-ended", dict(holds=(hold("2025-01-10"),)), [], AS_OF, "on_hold"),
    ("1 hold ending later", dict(holds=(hold("2025-01-10", "2025-01-16"),)), [], AS_OF, "on_hold"),
    ("1 hold ended on as_of", dict(holds=(hold("2025-01-10", "2025-01-15"),)), [], AS_OF,
     "processing"),
    ("1 hold starting later", dict(holds=(hold("2025-01-16"),)), [], AS_OF, "processing"),
    ("1 hold beats a draft", dict(validated=None, number=None, holds=(hold("2025-01-01"),)),
     [], AS_OF, "on_hold"),
    ("1 hold beats a future date", dict(date=d("2025-02-01"), holds=(hold("2025-01-01"),)),
     [], AS_OF, "on_hold"),
    ("1 hold beats paid", dict(payments=(pay(100),), holds=(hold("2025-01-01"),)), [], AS_OF,
     "on_hold"),
    # rule 2
    ("2 future-dated draft", dict(date=d("2025-01-20"), validated=None, number=None), [],
     AS_OF, "pending_processing"),
    ("2 future-dated validated", dict(date=d("2025-01-20"), validated=d("2025-01-10")), [],
     AS_OF, "pending_processing"),
    # rule 3
    ("3 draft", dict(validated=None, number=None), [], AS_OF, "awaiting_validation"),
    ("3 draft with credit note", dict(validated=None, number=None), [credit_note()], AS_OF,
     "awaiting_validation"),
    # rule 4
    ("4 fully credited", {}, [credit_note("100")], AS_OF, "cancelled_by_credit_note"),
    ("4 credited more than total", {}, [credit_note("120")], AS_OF, "cancelled_by_credit_note"),
    ("4 two credit notes", {}, [credit_note("60"), credit_note("40", id="cn-2")], AS_OF,
     "cancelled_by_credit_note"),
    ("4 not when something was paid", dict(payments=(pay(10),)), [credit_note("100")], AS_OF,
     "overpaid"),
    ("4 draft credit note does not count", {}, [credit_note("100", validated=None)], AS_OF,
     "processing"),
    # rule 5
    ("5 overpaid", dict(payments=(pay(120),)), [], AS_OF, "overpaid"),
    ("5 overpaid by discount", dict(payments=(pay(99),), discounts=(disc(2),)), [], AS_OF,
     "overpaid"),
    ("5 overpaid beats write-off", dict(payments=(pay(101),),
                                        write_off=WriteOff(date=d("2025-01-12"))), [], AS_OF,
     "overpaid"),
    # rule 6
    ("6 paid", dict(payments=(pay(60), pay(40, "2025-01-12"))), [], AS_OF, "paid"),
    ("6 paid with discount", dict(payments=(pay(98),), discounts=(disc(2),)), [], AS_OF,
     "paid_with_discount"),
    ("6 paid partly by credit note", dict(payments=(pay(50),)), [credit_note("50")], AS_OF,
     "paid"),
    ("6 paid beats write-off", dict(payments=(pay(100),), write_off=WriteOff(date=JAN1)), [],
     AS_OF, "paid"),
    ("6 paid beats bounced", dict(payments=(pay(100),), deliveries=(delivery("bounced"),)), [],
     AS_OF, "paid"),
    ("6 paid beats litigation", dict(payments=(pay(100),)), [], d("2025-03-01"), "paid"),
    # rule 7
    ("7 written off", dict(payments=(pay(30),), write_off=WriteOff(date=d("2025-01-12"))), [],
     AS_OF, "written_off"),
    ("7 write-off beats bounced", dict(write_off=WriteOff(date=JAN1),
                                       deliveries=(delivery("bounced"),)), [], AS_OF,
     "written_off"),
    ("7 write-off beats litigation", dict(write_off=WriteOff(date=d("2025-02-01"))), [],
     d("2025-03-01"), "written_off"),
    # rule 8
    ("8 bounced", dict(deliveries=(delivery("bounced"),)), [], AS_OF, "email_undelivered"),
    ("8 returned", dict(deliveries=(delivery("returned", channel="post"),)), [], AS_OF,
     "wrong_postal_address"),
    ("8 bounced then sent", dict(deliveries=(delivery("bounced"), delivery("sent"))), [], AS_OF,
     "processing"),
    ("8 sent then bounced", dict(deliveries=(delivery("sent"), delivery("bounced"))), [], AS_OF,
     "email_undelivered"),
    ("8 deferred", dict(deliveries=(delivery("deferred"),)), [], AS_OF, "processing"),
    ("8 bounced beats litigation", dict(deliveries=(delivery("bounced"),)), [], d("2025-03-01"),
     "email_undelivered"),
    ("8 bounced beats partially paid", dict(payments=(pay(10),),
                                            deliveries=(delivery("bounced"),)), [], AS_OF,
     "email_undelivered"),
    # rule 9
    ("9 litigation", {}, [], d("2025-02-23"), "litigation"),
    ("9 litigation beats partially paid", dict(payments=(pay(10),)), [], d("2025-02-23"),
     "litigation"),
    # rule 10
    ("10 partially paid", dict(payments=(pay(10),)), [], AS_OF, "partially_paid"),
    ("10 partially discounted", dict(discounts=(disc(10),)), [], AS_OF, "partially_paid"),
    ("10 partially credited", {}, [credit_note("10")], AS_OF, "partially_paid"),
    ("10 partially paid beats second reminder", dict(payments=(pay(10),)), [], d("2025-02-12"),
     "partially_paid"),
    ("10 partially paid beats first reminder", dict(payments=(pay(10),)), [], d("2025-02-01"),
     "partially_paid"),
    # rule 11
    ("11 first reminder", {}, [], d("2025-02-01"), "first_reminder"),
    ("11 second reminder", {}, [], d("2025-02-12"), "second_reminder"),
    ("11 reminder beats recurring", dict(recurrence="hosting", occurrence=JAN1), [],
     d("2025-02-01"), "first_reminder"),
    # rule 12
    ("12 processing", {}, [], AS_OF, "processing"),
    ("12 processing on its due date", {}, [], d("2025-01-31"), "processing"),
    ("12 recurring", dict(recurrence="hosting", occurrence=JAN1), [], AS_OF, "recurring"),
]


@pytest.mark.parametrize("fields, others, as_of, expected",
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_invoice_rules_in_order(fields, others, as_of, expected):
    doc = make_invoice(**fields)
    book = make_book(doc, *others)
    assert status_of(doc, book, as_of) == expected
    status, _ = status_and_amounts(doc, book, as_of)
    assert status == expected


def test_every_rule_of_3_2_has_a_case():
    rules = {name.split()[0] for name, *_ in CASES}
    assert rules == {str(n) for n in range(1, 13)}


def test_zero_total_invoice_is_paid_not_cancelled():
    doc = make_invoice(lines=(Line(quantity=D(1), unit_price=D(0)),))
    assert status_of(doc, make_book(doc), AS_OF) == "paid"


# --------------------------------------------------------------------------- amounts & time travel

def test_amounts_of_an_invoice():
    doc = make_invoice(lines=(Line(quantity=D(2), unit_price=D("100"), vat=D("8.1")),),
                       payments=(pay("50.00"), pay("20", "2025-01-11")), discounts=(disc("1.20"),))
    book = make_book(doc, credit_note("10"), credit_note("5", id="cn-2", validated=None))
    assert amounts(doc, book, AS_OF) == Amounts(
        total=D("216.20"), credited=D("10.00"), paid=D("70.00"), discounted=D("1.20"),
        settled=D("81.20"), open=D("135.00"))
    assert status_and_amounts(doc, book, AS_OF) == ("partially_paid", amounts(doc, book, AS_OF))


def test_entries_dated_after_as_of_are_ignored():
    doc = make_invoice(
        payments=(pay(30, "2025-01-10"), pay(70, "2025-01-20")),
        discounts=(disc(5, "2025-01-21"),),
        write_off=WriteOff(date=d("2025-01-22")),
        deliveries=(delivery("sent", "2025-01-02T09:00:00+01:00"),
                    delivery("bounced", "2025-01-16T09:00:00+01:00")),
        reminders=(Reminder(level=1, date=d("2025-01-16")),))
    book = make_book(doc, credit_note("100", date="2025-01-25"))
    early = amounts(doc, book, AS_OF)
    assert (early.paid, early.discounted, early.credited, early.open) == (
        D("30"), D("0"), D("0"), D("70.00"))
    assert status_of(doc, book, AS_OF) == "partially_paid"
    # each entry, on its own day, changes what is seen
    timeline = [("2025-01-09", "processing"), ("2025-01-10", "partially_paid"),
                ("2025-01-16", "email_undelivered"),   # the bounce of that day
                ("2025-01-20", "paid"),                 # 30 + 70
                ("2025-01-21", "overpaid"),             # + 5 discount
                ("2025-01-25", "overpaid")]
    for day, expected in timeline:
        assert status_of(doc, book, d(day)) == expected, day


def test_write_off_and_credit_note_count_from_their_date():
    doc = make_invoice(write_off=WriteOff(date=d("2025-01-20")))
    book = make_book(doc)
    assert status_of(doc, book, d("2025-01-19")) == "processing"
    assert status_of(doc, book, d("2025-01-20")) == "written_off"
    doc2 = make_invoice()
    book2 = make_book(doc2, credit_note("100", date="2025-01-20"))
    assert status_of(doc2, book2, d("2025-01-19")) == "processing"
    assert amounts(doc2, book2, d("2025-01-19")).credited == 0
    assert status_of(doc2, book2, d("2025-01-20")) == "cancelled_by_credit_note"


def test_a_delivery_counts_on_the_day_written_in_its_own_offset():
    # 23:30 at -05:00 on the 15th is already the 16th in UTC: the written day is what counts
    doc = make_invoice(deliveries=(delivery("bounced", "2025-01-15T23:30:00-05:00"),))
    book = make_book(doc)
    assert status_of(doc, book, d("2025-01-14")) == "processing"
    assert status_of(doc, book, d("2025-01-15")) == "email_undelivered"


def test_credit_note_crediting_another_invoice_does_not_count():
    doc = make_invoice()
    book = make_book(doc, credit_note("100", credits="inv-2"))
    assert status_of(doc, book, AS_OF) == "processing"


def test_credit_note_reference_is_case_insensitive():
    doc = make_invoice(id="INV-1")
    book = make_book(doc, credit_note("100", credits="inv-1"))
    assert status_of(doc, book, AS_OF) == "cancelled_by_credit_note"


# --------------------------------------------------------------------------- 3.4 future-dated

def test_future_dated_invoice_waits_then_needs_validation():
    doc = make_invoice(date=d("2025-03-01"), validated=None, number=None, scheduled=True)
    book = make_book(doc)
    assert status_of(doc, book, d("2025-02-28")) == "pending_processing"
    assert category_of(status_of(doc, book, d("2025-02-28"))) == "action_required"
    assert status_of(doc, book, d("2025-03-01")) == "awaiting_validation"


# --------------------------------------------------------------------------- 3.5 other kinds

def other(kind, **kw) -> Document:
    fields = dict(id="x-1", path="documents/x-1.yaml", kind=kind, contact="acme", date=JAN1,
                  lines=(Line(quantity=D(1), unit_price=D(100)),))
    fields.update(kw)
    return Document(**fields)


@pytest.mark.parametrize("doc, as_of, expected", [
    (other("quote"), AS_OF, "offer"),
    (other("quote", converted_to="inv-9"), AS_OF, "converted"),
    (other("quote", converted_to="inv-9", declined=JAN1), AS_OF, "converted"),
    (other("quote", declined=d("2025-01-10")), AS_OF, "declined"),
    (other("quote", declined=d("2025-01-20")), AS_OF, "offer"),
    (other("quote", date=d("2025-02-01")), AS_OF, "offer"),
    (other("quote", holds=(hold("2025-01-10"),), converted_to="inv-9"), AS_OF, "on_hold"),
    (other("work_order"), AS_OF, "work_order"),
    (other("work_order", converted_to="inv-9"), AS_OF, "converted"),
    (other("work_order", holds=(hold("2025-01-10", "2025-01-20"),)), AS_OF, "on_hold"),
    (other("credit_note", credits="inv-1"), AS_OF, "credit_note_awaiting_validation"),
    (other("credit_note", credits="inv-1", validated=JAN1), AS_OF, "credit_note"),
    (other("credit_note", holds=(hold("2025-01-10"),)), AS_OF, "on_hold"),
    (other("expense"), AS_OF, "expense_open"),
    (other("expense"), d("2025-01-31"), "expense_open"),           # due date itself
    (other("expense"), d("2025-02-01"), "expense_overdue"),
    (other("expense", due=d("2025-01-10")), AS_OF, "expense_overdue"),
    (other("expense", payments=(pay(100),)), d("2025-02-01"), "expense_paid"),
    (other("expense", payments=(pay(90),), discounts=(disc(10),)), AS_OF, "expense_paid"),
    (other("expense", payments=(pay(100, "2025-01-20"),)), AS_OF, "expense_open"),
    (other("expense", payments=(pay(50),)), d("2025-02-01"), "expense_overdue"),
    (other("expense", lines=(), total=D("40.50"), payments=(pay("40.50"),)), AS_OF,
     "expense_paid"),
    (other("expense", holds=(hold("2025-01-10"),)), d("2025-03-01"), "on_hold"),
], ids=lambda v: "" if not isinstance(v, str) else v)
def test_other_kinds(doc, as_of, expected):
    assert status_of(doc, make_book(doc), as_of) == expected


# SPEC 3.1: `open` of every kind, so that a sum over documents counts money once
@pytest.mark.parametrize("doc, as_of, expected", [
    (other("quote"), AS_OF, "100.00"),                                   # an offer
    (other("quote", declined=d("2025-01-20")), AS_OF, "100.00"),         # declined later
    (other("quote", declined=d("2025-01-10")), AS_OF, "0"),
    (other("quote", converted_to="inv-9"), AS_OF, "0"),
    (other("quote", holds=(hold("2025-01-10"),)), AS_OF, "100.00"),     # a hold keeps it
    (other("quote", holds=(hold("2025-01-10"),), converted_to="inv-9"), AS_OF, "0"),
    (other("work_order"), AS_OF, "100.00"),
    (other("work_order", converted_to="inv-9"), AS_OF, "0"),
    (other("credit_note", credits="inv-1"), AS_OF, "0"),                 # a draft
    (other("credit_note", credits="inv-1", validated=JAN1), AS_OF, "0"),
    (other("expense"), AS_OF, "100.00"),
    (other("expense", payments=(pay(60),), discounts=(disc(10),)), AS_OF, "30.00"),
    (other("expense", payments=(pay(60, "2025-01-20"),)), AS_OF, "100.00"),
    (other("expense", lines=(), total=D("40.50"), payments=(pay("40.50"),)), AS_OF, "0.00"),
], ids=lambda v: "" if not isinstance(v, str) else v)
def test_open_amount_of_every_kind(doc, as_of, expected):
    assert amounts(doc, make_book(doc), as_of).open == D(expected)
    assert status_and_amounts(doc, make_book(doc), as_of)[1].open == D(expected)


def test_open_amounts_add_up_without_counting_money_twice():
    """A quote converted to an invoice, credited in part, plus a declined quote:
    the sum of `open` is what the customer still owes, once."""
    from engine.listing import document_rows, summary
    quote = other("quote", id="q-1", converted_to="inv-1",
                  lines=(Line(quantity=D(1), unit_price=D(300)),))
    declined = other("quote", id="q-2", declined=d("2025-01-05"))
    invoice = make_invoice(converted_from="q-1", payments=(pay(50),),
                           lines=(Line(quantity=D(1), unit_price=D(300)),))
    note = credit_note("100")
    book = make_book(quote, declined, invoice, note)
    rows = document_rows(book, AS_OF)
    assert {r.id: r.open for r in rows} == {"q-1": 0, "q-2": 0, "inv-1": D("150.00"),
                                           "cn-1": 0}
    assert sum(r.open for r in rows) == D("150.00")
    totals = summary(rows)
    assert sum(v for s in totals.values() for v in s.open.values()) == D("150.00")
    assert totals["credit_note"].count == 1 and totals["credit_note"].open == {}


def test_expense_due_uses_the_supplier_payment_days():
    supplier = Contact(id="shop", path="contacts/shop.yaml", name="Shop", payment_days=10)
    doc = other("expense", contact="shop")
    book = make_book(doc, contacts={"shop": supplier})
    assert due_date(doc, book) == d("2025-01-11")
    assert status_of(doc, book, d("2025-01-11")) == "expense_open"
    assert status_of(doc, book, d("2025-01-12")) == "expense_overdue"


def test_due_date_sources():
    book = make_book(settings=Settings(terms=Terms(payment_days=20)),
                     contacts={"acme": Contact(id="acme", path="c", name="A"),
                               "slow": Contact(id="slow", path="c", name="S", payment_days=45)})
    assert due_date(make_invoice(due=d("2025-01-07")), book) == d("2025-01-07")
    assert due_date(make_invoice(), book) == d("2025-01-21")
    assert due_date(make_invoice(contact="slow"), book) == d("2025-02-15")
    assert due_date(make_invoice(contact="SLOW"), book) == d("2025-02-15")
    assert due_date(make_invoice(contact="missing"), book) == d("2025-01-21")


def test_is_active_hold_boundaries():
    doc = make_invoice(holds=(hold("2025-02-05", "2025-02-10"),))
    assert [is_active_hold(doc, d("2025-02-%02d" % day)) for day in (4, 5, 9, 10)] == [
        False, True, True, False]


def test_unknown_kind_is_refused_clearly():
    doc = other("receipt")
    with pytest.raises(ValueError, match="unknown kind"):
        status_of(doc, make_book(doc), AS_OF)


# --------------------------------------------------------------------------- the table of SPEC 3

SPEC_ORDER = [
    ("in_progress", "offer"), ("in_progress", "work_order"), ("in_progress", "processing"),
    ("in_progress", "recurring"), ("in_progress", "expense_open"),
    ("action_required", "awaiting_validation"), ("action_required", "pending_processing"),
    ("action_required", "credit_note_awaiting_validation"),
    ("action_required", "email_undelivered"), ("action_required", "wrong_postal_address"),
    ("action_required", "overpaid"),
    ("to_monitor", "first_reminder"), ("to_monitor", "second_reminder"),
    ("to_monitor", "litigation"), ("to_monitor", "on_hold"), ("to_monitor", "partially_paid"),
    ("to_monitor", "expense_overdue"),
    ("done", "paid"), ("done", "written_off"), ("done", "credit_note"),
    ("done", "cancelled_by_credit_note"), ("done", "paid_with_discount"), ("done", "converted"),
    ("done", "declined"), ("done", "expense_paid"),
]


def test_statuses_and_categories_follow_the_spec_table():
    assert CATEGORIES == ("in_progress", "action_required", "to_monitor", "done")
    assert [(cat, code) for code, cat in STATUSES.items()] == SPEC_ORDER
    assert all(category_of(code) == cat for cat, code in SPEC_ORDER)


@pytest.mark.parametrize("code, en, fr", [
    ("offer", "Offers", "Offres"),
    ("recurring", "Recurring invoices", "Factures en récurrences"),
    ("email_undelivered", "E-mail not delivered", "Email non délivré"),
    ("on_hold", "On hold", "Mis en suspens"),
    ("written_off", "Balance written off", "Solde en perte sur débiteur"),
    ("expense_paid", "Paid expenses", "Dépenses payées"),
])
def test_status_labels_from_the_spec(code, en, fr):
    assert status_label(code, "en") == en
    assert status_label(code, "fr") == fr
    assert status_label(code, "fr_CH") == fr


def test_every_status_and_category_has_a_label_in_both_languages():
    for code in STATUSES:
        en, fr = status_label(code, "en"), status_label(code, "fr")
        assert en and fr and en != code and fr != code, code
    assert len({status_label(c, "en") for c in STATUSES}) == len(STATUSES)
    assert len({status_label(c, "fr") for c in STATUSES}) == len(STATUSES)
    assert [category_label(c, "en") for c in CATEGORIES] == [
        "In progress", "Action required", "To monitor", "Done"]
    assert [category_label(c, "fr") for c in CATEGORIES] == [
        "En cours", "Action requise", "À monitorer", "Terminé"]


# --------------------------------------------------------------------------- i18n

def test_dates_months_and_messages_in_both_languages():
    march = d("2025-03-01")
    assert period_label(march, "en") == "March 2025"
    assert period_label(march, "fr") == "mars 2025"
    assert month_name(march, "fr") == "mars"
    assert format_date(march, "en") == "Mar 1, 2025"
    assert format_date(march, "fr", "long") == "1 mars 2025"
    assert t("kind.invoice", "fr") == "Facture"
    assert t("kind.invoice", "de") == "Invoice"          # unknown language: English
    assert t("no.such.key", "fr") == "no.such.key"       # shows, never crashes
    register({"test.hello": {"en": "Hello {name}", "fr": "Bonjour {name}"}})
    assert t("test.hello", "fr", name="Ada") == "Bonjour Ada"


def test_statuses_do_not_import_babel():
    code = ("import sys, datetime; import engine.status, engine.i18n, engine.money; "
            "engine.i18n.status_label('paid', 'fr'); print('babel' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "False"
