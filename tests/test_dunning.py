"""The dunning clock (SPEC 3.3): counted days, holds, recorded reminders."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D

import pytest

from engine.model import (Book, Contact, Document, Hold, Line, Payment, Reminder, Settings,
                          Terms)
from engine.status import dunning_dates, dunning_level, status_of

d = dt.date.fromisoformat


def invoice(holds=(), reminders=(), **kw) -> Document:
    fields = dict(id="inv-1", path="documents/2025/01/inv-1.yaml", kind="invoice",
                  contact="acme", date=d("2025-01-01"), validated=d("2025-01-01"),
                  number="2025-0001", lines=(Line(quantity=D(1), unit_price=D(100)),),
                  holds=tuple(holds), reminders=tuple(reminders))
    fields.update(kw)
    return Document(**fields)


TERMS = Terms(payment_days=30, first_reminder_days=10, second_reminder_days=10)


def book_of(doc, terms=TERMS) -> Book:
    return Book(settings=Settings(terms=terms),
                contacts={"acme": Contact(id="acme", path="contacts/acme.yaml", name="ACME")},
                documents={doc.id: doc})


def days(first: str, last: str):
    day, end = d(first), d(last)
    while day <= end:
        yield day
        day += dt.timedelta(days=1)


def expected_by_day(ranges):
    """{day: status} from [(first, last, status), ...]."""
    return {day: status for first, last, status in ranges for day in days(first, last)}


def test_worked_example_without_hold_day_by_day():
    doc = invoice()
    book = book_of(doc)
    expected = expected_by_day([
        ("2025-01-01", "2025-01-31", "processing"),      # due 2025-01-31
        ("2025-02-01", "2025-02-11", "first_reminder"),
        ("2025-02-12", "2025-02-22", "second_reminder"),
        ("2025-02-23", "2025-03-31", "litigation"),
    ])
    assert {day: status_of(doc, book, day) for day in expected} == expected
    assert dunning_dates(doc, book, d("2025-01-15")) == (
        d("2025-02-01"), d("2025-02-12"), d("2025-02-23"))


def test_worked_example_with_hold_day_by_day():
    doc = invoice(holds=[Hold(start=d("2025-02-05"), end=d("2025-02-10"), reason="dispute")])
    book = book_of(doc)
    expected = expected_by_day([
        ("2025-01-01", "2025-01-31", "processing"),
        ("2025-02-01", "2025-02-04", "first_reminder"),
        ("2025-02-05", "2025-02-09", "on_hold"),         # 5 days covered
        ("2025-02-10", "2025-02-16", "first_reminder"),
        ("2025-02-17", "2025-02-27", "second_reminder"),
        ("2025-02-28", "2025-03-31", "litigation"),
    ])
    assert {day: status_of(doc, book, day) for day in expected} == expected
    assert dunning_dates(doc, book, d("2025-02-07")) == (
        d("2025-02-01"), d("2025-02-17"), d("2025-02-28"))
    # while on hold the level keeps what the clock reached
    assert dunning_level(doc, book, d("2025-02-07")) == 1


def test_hold_before_the_due_date_does_not_move_the_clock():
    doc = invoice(holds=[Hold(start=d("2025-01-10"), end=d("2025-01-20"))])
    assert dunning_dates(doc, book_of(doc), d("2025-03-01")) == (
        d("2025-02-01"), d("2025-02-12"), d("2025-02-23"))


def test_hold_covering_the_first_day_after_due_delays_the_first_reminder():
    doc = invoice(holds=[Hold(start=d("2025-01-25"), end=d("2025-02-03"))])
    book = book_of(doc)
    # 02-01 and 02-02 are covered: the first counted day is 02-03
    assert dunning_dates(doc, book, d("2025-03-01")) == (
        d("2025-02-03"), d("2025-02-14"), d("2025-02-25"))
    assert status_of(doc, book, d("2025-02-02")) == "on_hold"
    assert status_of(doc, book, d("2025-02-03")) == "first_reminder"


def test_overlapping_and_adjacent_holds_count_each_day_once():
    doc = invoice(holds=[Hold(start=d("2025-02-05"), end=d("2025-02-08")),
                         Hold(start=d("2025-02-07"), end=d("2025-02-10")),
                         Hold(start=d("2025-02-10"), end=d("2025-02-11"))])
    # covered: 02-05 .. 02-10 (6 days) -> r2 = 02-12 + 6
    assert dunning_dates(doc, book_of(doc), d("2025-03-01"))[1:] == (
        d("2025-02-18"), d("2025-03-01"))


def test_open_ended_hold_stops_the_clock_and_release_restarts_it():
    held = invoice(holds=[Hold(start=d("2025-02-05"))])
    book = book_of(held)
    assert dunning_dates(held, book, d("2025-06-01")) == (d("2025-02-01"), None, None)
    assert dunning_level(held, book, d("2025-06-01")) == 1
    assert status_of(held, book, d("2025-06-01")) == "on_hold"
    released = invoice(holds=[Hold(start=d("2025-02-05"), end=d("2025-06-01"))])
    book = book_of(released)
    # 02-02..02-04 counted (3), then 8 more from 06-01: 06-08
    assert dunning_dates(released, book, d("2025-06-01"))[1] == d("2025-06-08")
    assert status_of(released, book, d("2025-06-01")) == "first_reminder"
    assert status_of(released, book, d("2025-06-08")) == "second_reminder"


def test_recorded_reminder_shifts_the_later_levels():
    # the first reminder was only issued on 02-05 (a late run): level 2 runs its full term
    doc = invoice(reminders=[Reminder(level=1, date=d("2025-02-05"))])
    book = book_of(doc)
    assert dunning_dates(doc, book, d("2025-02-05")) == (
        d("2025-02-05"), d("2025-02-16"), d("2025-02-27"))
    assert status_of(doc, book, d("2025-02-15")) == "first_reminder"
    assert status_of(doc, book, d("2025-02-16")) == "second_reminder"
    assert status_of(doc, book, d("2025-02-26")) == "second_reminder"
    assert status_of(doc, book, d("2025-02-27")) == "litigation"


def test_recorded_reminders_of_every_level():
    doc = invoice(reminders=[Reminder(level=1, date=d("2025-02-03")),
                             Reminder(level=2, date=d("2025-02-20"))])
    book = book_of(doc)
    assert dunning_dates(doc, book, d("2025-02-20")) == (
        d("2025-02-03"), d("2025-02-20"), d("2025-03-03"))
    assert status_of(doc, book, d("2025-03-02")) == "second_reminder"
    assert status_of(doc, book, d("2025-03-03")) == "litigation"


def test_reminders_recorded_after_as_of_are_ignored():
    doc = invoice(reminders=[Reminder(level=1, date=d("2025-02-05"))])
    book = book_of(doc)
    # before 02-05 the clock computes r1 = 02-01 and the projection follows it
    assert dunning_dates(doc, book, d("2025-02-03")) == (
        d("2025-02-01"), d("2025-02-12"), d("2025-02-23"))
    assert status_of(doc, book, d("2025-02-03")) == "first_reminder"


def test_earliest_recorded_reminder_of_a_level_counts():
    doc = invoice(reminders=[Reminder(level=1, date=d("2025-02-08")),
                             Reminder(level=1, date=d("2025-02-04"))])
    assert dunning_dates(doc, book_of(doc), d("2025-03-01"))[:2] == (
        d("2025-02-04"), d("2025-02-15"))


def test_recorded_reminder_and_hold_together():
    doc = invoice(reminders=[Reminder(level=1, date=d("2025-02-03"))],
                  holds=[Hold(start=d("2025-02-06"), end=d("2025-02-09"))])
    # from 02-03: 02-04, 02-05 counted, 02-06..02-08 covered, 9 more from 02-09 -> 02-17
    assert dunning_dates(doc, book_of(doc), d("2025-03-01"))[1] == d("2025-02-17")


@pytest.mark.parametrize("terms, expected", [
    (Terms(payment_days=45, first_reminder_days=10, second_reminder_days=10),
     ("2025-02-16", "2025-02-27", "2025-03-10")),
    (Terms(payment_days=30, first_reminder_days=0, second_reminder_days=0),
     ("2025-02-01", "2025-02-02", "2025-02-03")),
    (Terms(payment_days=30, first_reminder_days=14, second_reminder_days=30),
     ("2025-02-01", "2025-02-16", "2025-03-19")),
])
def test_reminder_terms_from_the_settings(terms, expected):
    doc = invoice()
    assert dunning_dates(doc, book_of(doc, terms), d("2025-01-01")) == tuple(map(d, expected))


def test_the_due_date_of_the_document_or_contact_starts_the_clock():
    doc = invoice(due=d("2025-01-10"))
    assert dunning_dates(doc, book_of(doc), d("2025-01-01"))[0] == d("2025-01-11")
    slow = Contact(id="acme", path="contacts/acme.yaml", name="ACME", payment_days=60)
    doc = invoice()
    book = Book(settings=Settings(), contacts={"acme": slow}, documents={doc.id: doc})
    assert dunning_dates(doc, book, d("2025-01-01"))[0] == d("2025-03-03")


def test_level_is_reported_for_any_document_state():
    # dunning_level is the clock alone; the status rules decide whether it shows
    doc = invoice(payments=(Payment(date=d("2025-01-05"), amount=D(100)),))
    book = book_of(doc)
    assert dunning_level(doc, book, d("2025-02-12")) == 2
    assert status_of(doc, book, d("2025-02-12")) == "paid"
