"""engine/recurrence.py: rules × occurrences, state, due/missing, placeholders,
the generated document, causes, the rule in words. Pure: every date pinned."""
from __future__ import annotations

import calendar
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given, settings, strategies as st

from engine.model import Book, Contact, Document, Line, Recurrence, Settings, Stopped, Terms
from engine.recurrence import (PlaceholderError, RuleError, check_recurrence, due_occurrences,
                               expand_placeholders, generate_document, missing_occurrences,
                               next_occurrences, occurrences, parse_rule, rule_in_words, state_of)

D = dt.date
START = D(2025, 1, 1)


def rec(rule="FREQ=MONTHLY;BYMONTHDAY=1", start=START, **kw) -> Recurrence:
    base = dict(id="hosting-acme", path="recurrences/hosting-acme.yaml", name="Hosting ACME",
                template="inv-tpl", rule=rule, start=start)
    base.update(kw)
    return Recurrence(**base)


def book(*, email="ap@acme.example", template_kind="invoice", lines=None, notes="",
         payment_days=None, due=None, locale="en", max_catch_up=3) -> Book:
    tpl = Document(id="inv-tpl", path="documents/2025/01/inv-tpl.yaml", kind=template_kind,
                   contact="acme", date=D(2025, 1, 5), due=due, currency="CHF",
                   number="2025-0001", validated=D(2025, 1, 5),
                   lines=tuple(lines or (Line(description="Hosting {period}", quantity=Decimal("1"),
                                              unit_price=Decimal("120.00"), vat=Decimal("8.1")),)),
                   notes=notes)
    return Book(settings=Settings(locale=locale, max_catch_up=max_catch_up,
                                  terms=Terms(payment_days=30)),
                contacts={"acme": Contact(id="acme", path="contacts/acme.yaml", name="ACME SA",
                                          email=email, payment_days=payment_days)},
                documents={"inv-tpl": tpl})


# --------------------------------------------------------------------------- RFC 5545 3.8.5.3

RFC_EXAMPLES = [
    ("FREQ=DAILY;COUNT=10", D(1997, 9, 2), [D(1997, 9, d) for d in range(2, 12)]),
    ("FREQ=DAILY;INTERVAL=10;COUNT=5", D(1997, 9, 2),
     [D(1997, 9, 2), D(1997, 9, 12), D(1997, 9, 22), D(1997, 10, 2), D(1997, 10, 12)]),
    ("FREQ=WEEKLY;COUNT=10", D(1997, 9, 2),
     [D(1997, 9, 2), D(1997, 9, 9), D(1997, 9, 16), D(1997, 9, 23), D(1997, 9, 30), D(1997, 10, 7),
      D(1997, 10, 14), D(1997, 10, 21), D(1997, 10, 28), D(1997, 11, 4)]),
    ("FREQ=MONTHLY;COUNT=10;BYDAY=1FR", D(1997, 9, 5),
     [D(1997, 9, 5), D(1997, 10, 3), D(1997, 11, 7), D(1997, 12, 5), D(1998, 1, 2), D(1998, 2, 6),
      D(1998, 3, 6), D(1998, 4, 3), D(1998, 5, 1), D(1998, 6, 5)]),
    ("FREQ=MONTHLY;COUNT=6;BYDAY=-2MO", D(1997, 9, 22),
     [D(1997, 9, 22), D(1997, 10, 20), D(1997, 11, 17), D(1997, 12, 22), D(1998, 1, 19),
      D(1998, 2, 16)]),
    ("FREQ=MONTHLY;BYMONTHDAY=-3", D(1997, 9, 28),
     [D(1997, 9, 28), D(1997, 10, 29), D(1997, 11, 28), D(1997, 12, 29), D(1998, 1, 29),
      D(1998, 2, 26)]),
    ("FREQ=MONTHLY;COUNT=10;BYMONTHDAY=2,15", D(1997, 9, 2),
     [D(1997, 9, 2), D(1997, 9, 15), D(1997, 10, 2), D(1997, 10, 15), D(1997, 11, 2),
      D(1997, 11, 15), D(1997, 12, 2), D(1997, 12, 15), D(1998, 1, 2), D(1998, 1, 15)]),
    ("FREQ=YEARLY;COUNT=10;BYMONTH=6,7", D(1997, 6, 10),
     [D(y, m, 10) for y in range(1997, 2002) for m in (6, 7)]),
    ("FREQ=MONTHLY;BYDAY=FR;BYMONTHDAY=13", D(1997, 9, 2),
     [D(1998, 2, 13), D(1998, 3, 13), D(1998, 11, 13), D(1999, 8, 13), D(2000, 10, 13)]),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", D(1997, 9, 29),
     [D(1997, 9, 30), D(1997, 10, 31), D(1997, 11, 28), D(1997, 12, 31), D(1998, 1, 30),
      D(1998, 2, 27), D(1998, 3, 31)]),
    ("FREQ=MONTHLY;BYMONTHDAY=15,30;COUNT=5", D(2007, 1, 15),
     [D(2007, 1, 15), D(2007, 1, 30), D(2007, 2, 15), D(2007, 3, 15), D(2007, 3, 30)]),
]


@pytest.mark.parametrize("rule,start,expected", RFC_EXAMPLES, ids=[r for r, _, _ in RFC_EXAMPLES])
def test_rfc5545_examples_give_their_listed_dates(rule, start, expected):
    assert occurrences(rec(rule, start), limit=len(expected)) == expected


def test_count_ends_the_series():
    assert len(occurrences(rec("FREQ=DAILY;COUNT=10", D(1997, 9, 2)))) == 10


# --------------------------------------------------------------------------- month ends, leap years

def test_31st_skips_shorter_months_and_last_day_does_not():
    r31 = rec("FREQ=MONTHLY;BYMONTHDAY=31", D(2024, 1, 1))
    assert occurrences(r31, through=D(2024, 6, 30)) == [D(2024, 1, 31), D(2024, 3, 31), D(2024, 5, 31)]
    last = rec("FREQ=MONTHLY;BYMONTHDAY=-1", D(2024, 1, 1))
    assert occurrences(last, through=D(2024, 4, 30)) == [D(2024, 1, 31), D(2024, 2, 29),
                                                        D(2024, 3, 31), D(2024, 4, 30)]


@given(st.dates(min_value=D(1990, 1, 1), max_value=D(2090, 12, 31)), st.integers(1, 40))
@settings(max_examples=60, deadline=None)
def test_last_day_of_month_is_always_the_month_end(start, n):
    got = occurrences(rec("FREQ=MONTHLY;BYMONTHDAY=-1", start), limit=n)
    assert len(got) == n
    for day in got:
        assert day.day == calendar.monthrange(day.year, day.month)[1]
    months = [(d.year, d.month) for d in got]
    assert len(set(months)) == n                           # one per month, none missed
    first = (start.year, start.month)
    assert months[0] == first
    for (y1, m1), (y2, m2) in zip(months, months[1:]):
        assert (y2 * 12 + m2) - (y1 * 12 + m1) == 1


def test_29_february_yearly_only_in_leap_years():
    got = occurrences(rec("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", D(2023, 1, 1)), limit=3)
    assert got == [D(2024, 2, 29), D(2028, 2, 29), D(2032, 2, 29)]


@given(st.dates(min_value=D(2000, 1, 1), max_value=D(2060, 1, 1)), st.sampled_from(list("0123456")))
@settings(max_examples=40, deadline=None)
def test_weekly_rule_lands_on_its_day_every_seven_days(start, day):
    code = ["MO", "TU", "WE", "TH", "FR", "SA", "SU"][int(day)]
    got = occurrences(rec("FREQ=WEEKLY;BYDAY=%s" % code, start), limit=10)
    assert all(d.weekday() == int(day) for d in got)
    assert got[0] >= start and (got[0] - start).days < 7
    assert all((b - a).days == 7 for a, b in zip(got, got[1:]))


# --------------------------------------------------------------------------- parsing

@pytest.mark.parametrize("rule,words", [
    ("", "empty"), ("FREQ=HOURLY", "within a day"), ("FREQ=MONTHLY;BYMONTHDAY=40", "out of range"),
    ("FREQ=MONTLY", "not a frequency"), ("BYMONTHDAY=1", "FREQ is missing"),
    ("DTSTART:20250101\nRRULE:FREQ=DAILY", "without DTSTART"), ("FREQ=DAILY;COUNT=0", "1 or more"),
    ("FREQ=DAILY;COUNT=2;UNTIL=20250101", "COUNT and UNTIL"), ("FREQ=DAILY;FOO=1", "unknown rule part"),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=30", "never happens"), ("FREQ=DAILY;BYHOUR=9", "times"),
])
def test_bad_rules_say_why(rule, words):
    with pytest.raises(RuleError, match=words):
        parse_rule(rule, D(2025, 1, 1), None)


def test_until_bounds_the_rule_and_a_utc_until_in_the_rule_is_read():
    r = rec("FREQ=MONTHLY;BYMONTHDAY=1", D(2025, 1, 1), until=D(2025, 3, 15))
    assert occurrences(r) == [D(2025, 1, 1), D(2025, 2, 1), D(2025, 3, 1)]
    r = rec("FREQ=MONTHLY;BYMONTHDAY=1;UNTIL=20250201T000000Z", D(2025, 1, 1))
    assert occurrences(r) == [D(2025, 1, 1), D(2025, 2, 1)]
    r = rec("FREQ=MONTHLY;BYMONTHDAY=1;COUNT=10", D(2025, 1, 1), until=D(2025, 2, 15))
    assert occurrences(r) == [D(2025, 1, 1), D(2025, 2, 1)]


# --------------------------------------------------------------------------- state, due, missing

def test_due_occurrences_after_last_with_lead_days():
    r = rec(last=D(2025, 1, 1))
    assert due_occurrences(r, D(2025, 2, 28)) == [D(2025, 2, 1)]
    assert due_occurrences(r, D(2025, 3, 1)) == [D(2025, 2, 1), D(2025, 3, 1)]
    early = rec(last=D(2025, 1, 1), lead_days=5)
    assert due_occurrences(early, D(2025, 2, 24)) == [D(2025, 2, 1), D(2025, 3, 1)]
    assert due_occurrences(early, D(2025, 2, 23)) == [D(2025, 2, 1)]


def test_no_last_means_every_occurrence_from_start_is_due():
    assert due_occurrences(rec(start=D(2025, 1, 15)), D(2025, 3, 1)) == [D(2025, 2, 1), D(2025, 3, 1)]


def test_skipped_and_ended_occurrences_are_never_due():
    r = rec(last=D(2025, 1, 1), skipped=(D(2025, 2, 1),))
    assert due_occurrences(r, D(2025, 3, 1)) == [D(2025, 3, 1)]
    r = rec(last=D(2025, 1, 1), ended=D(2025, 2, 15))
    assert due_occurrences(r, D(2025, 6, 1)) == [D(2025, 2, 1)]


def test_states():
    assert state_of(rec(last=D(2025, 1, 1)), D(2025, 6, 1)) == "active"
    stopped = Stopped(at="2025-03-01T06:00:00+00:00", occurrence=D(2025, 3, 1), cause="x")
    assert state_of(rec(stopped=stopped), D(2025, 6, 1)) == "stopped"
    assert state_of(rec(ended=D(2025, 5, 1), stopped=stopped), D(2025, 6, 1)) == "ended"
    done = rec("FREQ=MONTHLY;BYMONTHDAY=1;COUNT=3", last=D(2025, 3, 1))
    assert state_of(done, D(2025, 6, 1)) == "ended"
    assert state_of(rec(until=D(2025, 12, 31), last=D(2025, 12, 1)), D(2025, 12, 2)) == "ended"
    # an end date still to come: active until then
    assert state_of(rec(ended=D(2025, 9, 1), last=D(2025, 5, 1)), D(2025, 6, 1)) == "active"


def test_missing_and_next_of_a_stopped_recurrence():
    stopped = Stopped(at="2025-03-01T06:00:00+00:00", occurrence=D(2025, 2, 1), cause="x")
    r = rec(last=D(2025, 1, 1), stopped=stopped)
    assert missing_occurrences(r, D(2025, 3, 10)) == [D(2025, 2, 1), D(2025, 3, 1)]
    assert next_occurrences(r, D(2025, 3, 10), n=2) == [D(2025, 4, 1), D(2025, 5, 1)]
    assert missing_occurrences(rec(last=D(2025, 1, 1)), D(2025, 3, 10)) == []
    assert next_occurrences(rec(last=D(2025, 1, 1)), D(2025, 1, 10), n=2) == [D(2025, 2, 1), D(2025, 3, 1)]
    assert next_occurrences(rec(ended=D(2025, 1, 1)), D(2025, 1, 10)) == []


@given(st.lists(st.integers(1, 3), min_size=1, max_size=30),
       st.sampled_from(["FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=WEEKLY;BYDAY=MO", "FREQ=MONTHLY;BYMONTHDAY=31",
                        "FREQ=DAILY;INTERVAL=9", "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29"]),
       st.integers(0, 10))
@settings(max_examples=60, deadline=None)
def test_handling_due_occurrences_run_after_run_covers_each_exactly_once(gaps, rule, lead):
    """Runs after gaps of up to 3 occurrences (max_catch_up) each handle the due
    occurrences and move `last`: together they give every occurrence once."""
    r = rec(rule, D(2023, 12, 20), lead_days=lead)
    every = occurrences(r, limit=sum(gaps) + 1)
    handled: list = []
    for n in range(len(gaps)):
        target = every[sum(gaps[: n + 1]) - 1]
        as_of = target - dt.timedelta(days=lead)
        due = due_occurrences(r, as_of)
        assert len(due) <= 3
        handled.extend(due)
        if due:
            r = rec(rule, D(2023, 12, 20), lead_days=lead, last=due[-1])
        assert due_occurrences(r, as_of) == []              # a second run finds nothing
    assert handled == every[: sum(gaps)]


# --------------------------------------------------------------------------- placeholders

def test_placeholders_in_english_and_french():
    day = D(2025, 3, 1)
    text = "{period}|{month}|{year}|{quarter}|{date}|{{literal}}"
    assert expand_placeholders(text, day, "en") == "March 2025|March|2025|Q1|March 1, 2025|{literal}"
    assert expand_placeholders(text, day, "fr") == "mars 2025|mars|2025|T1|1 mars 2025|{literal}"
    with pytest.raises(PlaceholderError, match=r"\{perod\}"):
        expand_placeholders("Hosting {perod}", day, "en")


# --------------------------------------------------------------------------- generation

def test_generated_document_copies_the_template_for_the_occurrence():
    b = book(locale="fr", notes="Période {period}")
    doc = generate_document(rec(), b.documents["inv-tpl"], D(2025, 3, 1), b, D(2025, 3, 1))
    assert doc.id == "hosting-acme-2025-03-01"
    assert doc.path == "documents/2025/03/hosting-acme-2025-03-01.yaml"
    assert (doc.kind, doc.contact, doc.currency, doc.date) == ("invoice", "acme", "CHF", D(2025, 3, 1))
    assert doc.due == D(2025, 3, 31)
    assert doc.lines[0].description == "Hosting mars 2025"
    assert doc.lines[0].unit_price == Decimal("120.00") and doc.lines[0].vat == Decimal("8.1")
    assert doc.notes == "Période mars 2025"
    assert (doc.number, doc.validated, doc.payments, doc.deliveries) == (None, None, (), ())
    assert (doc.recurrence, doc.occurrence, doc.scheduled) == ("hosting-acme", D(2025, 3, 1), False)
    assert doc == generate_document(rec(), b.documents["inv-tpl"], D(2025, 3, 1), b, D(2025, 3, 1))


def test_generated_due_follows_the_templates_own_term_or_the_contact():
    b = book(due=D(2025, 1, 15))
    assert generate_document(rec(), b.documents["inv-tpl"], D(2025, 3, 1), b, D(2025, 3, 1)).due == D(2025, 3, 11)
    b = book(payment_days=45)
    assert generate_document(rec(), b.documents["inv-tpl"], D(2025, 3, 1), b, D(2025, 3, 1)).due == D(2025, 4, 15)


@pytest.mark.parametrize("template_due, run_on, due", [
    (None, D(2025, 3, 1), D(2025, 3, 31)),           # on time: 30 payment days
    (None, D(2025, 5, 10), D(2025, 6, 9)),           # late: from the run's date
    (D(2025, 1, 15), D(2025, 3, 1), D(2025, 3, 11)),  # the template's own 10 days
    (D(2025, 1, 15), D(2025, 5, 10), D(2025, 5, 20)),
    (D(2025, 1, 5), D(2025, 5, 10), D(2025, 5, 10)),  # due on issue
    (None, D(2025, 2, 24), D(2025, 3, 31)),          # early (lead days): from its date
])
def test_a_document_generated_late_is_due_from_the_day_it_is_issued(template_due, run_on, due):
    """SPEC 4.1: due = d + the template's term, d the later of the occurrence
    and the run's date."""
    b = book(due=template_due)
    assert generate_document(rec(), b.documents["inv-tpl"], D(2025, 3, 1), b, run_on).due == due


def test_generated_before_its_date_is_scheduled():
    b = book()
    doc = generate_document(rec(lead_days=5), b.documents["inv-tpl"], D(2025, 3, 1), b, D(2025, 2, 24))
    assert doc.scheduled and doc.date == D(2025, 3, 1)


# --------------------------------------------------------------------------- causes

def test_causes_a_person_understands():
    assert check_recurrence(rec(), book()) is None
    assert "template inv-nope does not exist" in check_recurrence(rec(template="inv-nope"), book())
    assert "must be an invoice or an expense" in check_recurrence(rec(), book(template_kind="quote"))
    assert check_recurrence(rec(issue="send"), book(email="")) == \
        "contact acme has no e-mail address, and this recurrence sends its invoices"
    assert check_recurrence(rec(issue="validate"), book(email="")) is None
    bad = book(lines=[Line(description="Hosting {perod}", unit_price=Decimal("1"))])
    assert "unknown placeholder {perod}" in check_recurrence(rec(), bad)
    assert "does not parse" in check_recurrence(rec("FREQ=SOMETIMES"), book())
    b = book()
    b = Book(settings=b.settings, documents=b.documents, recurrences=b.recurrences)
    assert "contact acme of template inv-tpl does not exist" in check_recurrence(rec(), b)
    cause = check_recurrence(rec(last=D(2025, 1, 1)), book(), as_of=D(2025, 5, 1))
    assert "4 occurrences are due at once (2025-02-01 to 2025-05-01), more than max_catch_up (3)" in cause
    assert check_recurrence(rec(last=D(2025, 1, 1)), book(), as_of=D(2025, 4, 1)) is None


# --------------------------------------------------------------------------- in words

@pytest.mark.parametrize("rule,en,fr", [
    ("FREQ=MONTHLY;BYMONTHDAY=1", "monthly on the 1st", "le 1er de chaque mois"),
    ("FREQ=MONTHLY;BYMONTHDAY=-1", "monthly on the last day of the month", "le dernier jour de chaque mois"),
    ("FREQ=WEEKLY;BYDAY=MO", "every week on Monday", "chaque semaine le lundi"),
    ("FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=15", "every 3 months on the 15th", "le 15 tous les 3 mois"),
    ("FREQ=YEARLY", "every year on March 1", "chaque année le 1er mars"),
    ("FREQ=MONTHLY", "monthly on the 1st", "le 1er de chaque mois"),
    ("FREQ=WEEKLY;BYDAY=TH,MO;COUNT=4", "every week on Monday and Thursday, 4 times",
     "chaque semaine le lundi et jeudi, 4 fois"),
    ("FREQ=MONTHLY;BYDAY=-1FR", "monthly on the last Friday", "le dernier vendredi de chaque mois"),
    ("FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1", "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1",
     "FREQ=MONTHLY;BYDAY=MO,TU,WE,TH,FR;BYSETPOS=-1"),
])
def test_rule_in_words(rule, en, fr):
    assert rule_in_words(rule, D(2025, 3, 1), "en") == en
    assert rule_in_words(rule, D(2025, 3, 1), "fr") == fr


# --------------------------------------------------------------------------- schedules that surprise

@pytest.mark.parametrize("rule, start, until, expected", [
    ("FREQ=MONTHLY", D(2025, 1, 31), None, [("rule", "schedule.short_months.count", 7, 12)]),
    ("FREQ=MONTHLY;BYMONTHDAY=31", D(2025, 1, 1), None,
     [("rule", "schedule.short_months.count", 7, 12)]),
    ("FREQ=MONTHLY;BYMONTHDAY=30", D(2025, 1, 1), None,
     [("rule", "schedule.short_months.count", 11, 12)]),
    ("FREQ=MONTHLY;BYMONTHDAY=29", D(2025, 1, 1), None,
     [("rule", "schedule.short_months.count", 11, 12)]),
    ("FREQ=MONTHLY;INTERVAL=3", D(2025, 1, 31), None,
     [("rule", "schedule.short_months.count", 3, 4)]),
    ("FREQ=MONTHLY;INTERVAL=5", D(2025, 1, 31), None, [("rule", "schedule.short_months", None, None)]),
    ("FREQ=MONTHLY;BYMONTH=1,2;BYMONTHDAY=31", D(2025, 1, 1), None,
     [("rule", "schedule.short_months.count", 1, 2)]),
    ("FREQ=YEARLY", D(2024, 2, 29), None, [("rule", "schedule.february_29", None, None)]),
    ("FREQ=MONTHLY;BYMONTHDAY=-31", D(2025, 1, 1), None,
     [("rule", "schedule.short_months.count", 7, 12)]),
    # what the warnings suggest, and rules that are fine
    ("FREQ=MONTHLY;BYMONTHDAY=-1", D(2025, 1, 31), None, []),
    ("FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1", D(2025, 1, 31), None, []),
    ("FREQ=MONTHLY", D(2025, 1, 28), None, []),
    ("FREQ=MONTHLY;BYMONTH=1,3,5;BYMONTHDAY=31", D(2025, 1, 1), None, []),
    ("FREQ=YEARLY", D(2025, 1, 31), None, []),
    ("FREQ=WEEKLY", D(2025, 1, 31), None, []),
    ("FREQ=MONTHLY;BYDAY=-1FR", D(2025, 1, 31), None, []),
    # until before start, no occurrence at all
    ("FREQ=MONTHLY", D(2025, 1, 15), D(2025, 1, 14), [("until", "schedule.until_before_start",
                                                      None, None)]),
    ("FREQ=MONTHLY;UNTIL=20240101", D(2025, 1, 15), None,
     [("rule", "schedule.no_occurrence", None, None)]),
    ("FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29;BYDAY=SU;COUNT=1", D(2025, 3, 1), D(2030, 1, 1),
     [("rule", "schedule.no_occurrence", None, None)]),
    ("FREQ=SOMETIMES", D(2025, 1, 1), None, []),          # an error of its own, not a warning
])
def test_schedules_that_surprise(rule, start, until, expected):
    from engine.recurrence import schedule_warnings
    found = [(field, m.code, m.params.get("n"), m.params.get("expected"))
             for field, m in schedule_warnings(rule, start, until)]
    assert found == expected


def test_the_suggested_rules_do_what_the_warning_says():
    from engine.recurrence import schedule_warnings
    (_, warning), = schedule_warnings("FREQ=MONTHLY", D(2025, 1, 31))
    assert warning.params["days"] == "28,29,30,31"
    assert "BYMONTHDAY=-1" in warning and "7 times in a common year, not 12" in warning
    for suggested in ("FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=MONTHLY;BYMONTHDAY=28,29,30,31;BYSETPOS=-1"):
        got = occurrences(rec(suggested, start=D(2025, 1, 31)), limit=4)
        assert got == [D(2025, 1, 31), D(2025, 2, 28), D(2025, 3, 31), D(2025, 4, 30)]
    assert len(occurrences(rec("FREQ=MONTHLY", start=D(2025, 1, 31)),
                           through=D(2025, 12, 31))) == 7
