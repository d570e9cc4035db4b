"""Legal numbers (SPEC 2, revision 2): formats that read back unambiguously,
numbers in date order, and a changed format that keeps counting."""
from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.numbering import format_number, format_problem, read_number
from tests.conftest import git


# --------------------------------------------------------------------------- formats

@pytest.mark.parametrize("fmt, problem", [
    ("{year}-{seq:04d}", None),
    ("CN-{year}-{seq:04d}", None),
    ("F{seq}/{year}", None),
    ("{seq:d}", None),
    ("{year}{seq:03d}", None),                  # the year is read as four digits
    ("{seq}{year}", None),
    ("{seq:012d}", None),
    ("{year:04d}-{seq:02}", None),
    ("{{{year}}}-{seq}", None),                 # escaped braces are text
    ("{seq:3}", "pads with spaces"),
    ("{seq:3d}", "pads with spaces"),
    ("{seq:x}", "cannot be read back as digits"),
    ("{seq:,}", "cannot be read back as digits"),
    ("{seq:>5}", "cannot be read back as digits"),
    ("{seq:+d}", "cannot be read back as digits"),
    ("{seq:{year}}", "cannot be read back as digits"),
    ("{seq:013d}", "width of 13"),
    ("{seq:00d}", "width of 0"),
    ("{seq:99999999999}", "width of 99999999999"),
    ("{seq:0" + "9" * 40 + "}", "width of 9999"),
    ("{year:x}-{seq}", "{year:x} cannot be read back"),
    ("{seq!r}", "converts {seq} with !r"),
    ("{n}-{seq}", "only use {year} and {seq}"),
    ("{seq.real}", "only use {year} and {seq}"),
    ("{seq[0]}", "only use {year} and {seq}"),
    ("{}", "only use {year} and {seq}"),
    ("{year}", "has no {seq}"),
    ("INV-{seq}-{seq}", "{seq} 2 times"),
    ("{seq", "not a valid format"),
])
def test_a_format_that_cannot_be_read_back_is_refused(fmt, problem):
    found = format_problem(fmt)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found, found


SPECS = st.sampled_from(["", ":d", ":04d", ":02", ":012d", ":3", ":x", ":013d", ":,", ":>4",
                         ":00d", "!s", ".real"])
TEXT = st.text(alphabet="AF-/_ .0123456789", max_size=4)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(TEXT, st.sampled_from(["year", "seq"]), SPECS), min_size=1,
                max_size=3), TEXT,
       st.integers(min_value=1000, max_value=9999),
       st.lists(st.integers(min_value=1, max_value=10**7), min_size=2, max_size=6, unique=True))
def test_a_readable_format_gives_numbers_that_read_back_to_one_year_and_sequence(
        parts, tail, year, seqs):
    """Whatever the literal text (digits included) and the order of the
    fields, a format that is accepted writes numbers that read back to the
    year and sequence they were made from, and never two equal numbers."""
    fmt = "".join("%s{%s%s}" % (text, name, spec) for text, name, spec in parts) + tail
    if format_problem(fmt) is not None:
        with pytest.raises(ValueError):
            format_number(fmt, year, 1)
        assert read_number(fmt, "2025-0001") is None
        return
    has_year = any(name == "year" for _t, name, _s in parts)
    numbers = [format_number(fmt, year, seq) for seq in seqs]
    assert len(set(numbers)) == len(numbers)
    for seq, number in zip(seqs, numbers):
        assert read_number(fmt, number) == ((year if has_year else None), seq), (fmt, number)


def test_a_huge_width_is_judged_without_being_written():
    """`{seq:99999999999}` used to ask Python for a 100 GB string."""
    assert "width" in format_problem("{seq:99999999999}")
    with pytest.raises(ValueError):
        format_number("{seq:99999999999}", 2025, 1)
    assert read_number("{seq:99999999999}", "1") is None


# --------------------------------------------------------------------------- on a real book

@pytest.fixture
def book(make_book):
    return make_book({"facturier.yaml": "currency: EUR\n",
                      "contacts/acme.yaml": "name: ACME SA\n"})


def _new(cli, book, day):
    r = cli("--as-of", day, "doc", "new", "--customer", "acme", "--line", "Work;1;100",
            book=book)
    assert r.code == 0, r
    return r.out.strip()


def _validate(cli, book, doc, day):
    return cli("--as-of", day, "doc", "validate", doc, book=book)


def _number(cli, book, doc):
    r = cli("doc", "show", doc, "--format", "json", book=book)
    return json.loads(r.out)["number"]


@pytest.mark.parametrize("fmt", ["{seq:3}", "{year}-{seq:x}", "{seq:99999999999}",
                                 "{year}-{seq:013d}", "{year}-{number}"])
def test_an_unreadable_format_is_a_settings_error_and_gives_no_number(cli, make_book, fmt):
    """`{seq:3}` gave every invoice the same number; `{seq:99999999999}`
    exhausted memory. Now: an error of facturier.yaml (line, field) at check,
    and validation refuses, naming it; nothing is changed."""
    book = make_book({"facturier.yaml": 'currency: EUR\nnumbering:\n  invoice: "%s"\n' % fmt,
                      "contacts/acme.yaml": "name: ACME SA\n"})
    r = cli("check", book=book)
    assert r.code == 1, r
    assert "facturier.yaml:3:" in r.out and "numbering.invoice" in r.out, r
    doc = _new(cli, book, "2025-03-01")
    head = git(book, "rev-parse", "HEAD")
    r = _validate(cli, book, doc, "2025-03-01")
    assert r.code == 1, r
    assert "numbering format cannot be used" in r.err and "numbering.invoice" in r.err, r
    assert "Traceback" not in r.err
    assert git(book, "rev-parse", "HEAD") == head
    # fixed: numbers are given again
    (book / "facturier.yaml").write_text('currency: EUR\nnumbering:\n  invoice: "{seq:03d}"\n')
    git(book, "commit", "-qam", "fix the format")
    assert _validate(cli, book, doc, "2025-03-01").code == 0
    assert _number(cli, book, doc) == "001"


def test_a_changed_format_keeps_counting_the_numbers_of_the_year(cli, book):
    first = [_new(cli, book, "2025-03-0%d" % day) for day in (1, 2, 3)]
    for doc in first:
        assert _validate(cli, book, doc, "2025-03-03").code == 0
    assert _number(cli, book, first[-1]) == "2025-0003"
    (book / "facturier.yaml").write_text('currency: EUR\nnumbering: {invoice: "F{year}/{seq:05d}"}\n')
    git(book, "commit", "-qam", "new numbering")
    later = _new(cli, book, "2025-03-04")
    assert _validate(cli, book, later, "2025-03-04").code == 0
    assert _number(cli, book, later) == "F2025/00004"
    again = _new(cli, book, "2025-03-05")
    assert _validate(cli, book, again, "2025-03-05").code == 0
    assert _number(cli, book, again) == "F2025/00005"
    # a new year starts at 1 with the new format
    next_year = _new(cli, book, "2026-01-02")
    assert _validate(cli, book, next_year, "2026-01-02").code == 0
    assert _number(cli, book, next_year) == "F2026/00001"
    r = cli("check", book=book)
    assert r.code == 0, r
    assert "warning: 3 invoice numbers of 2025 (2025-0001 … 2025-0003) do not follow the " \
        "current format 'F{year}/{seq:05d}': counted as given under an earlier format, so " \
        "the series goes on at 6" in r.out, r
    # an old-format number given after the change is an error, not an earlier format
    path = next((book / "documents").rglob("%s.yaml" % again))
    path.write_text(path.read_text().replace("F2025/00005", "2025-0005"))
    r = cli("check", book=book)
    assert r.code == 1, r
    assert "number 2025-0005 does not follow the invoice format 'F{year}/{seq:05d}', and " \
        "numbers that do were given before it (from 2025-03-04)" in r.out, r


def test_a_restarted_series_after_a_format_change_is_an_error(cli, book):
    """Before the fix, a new format restarted at 1: check says so."""
    docs = [_new(cli, book, "2025-03-01") for _ in range(2)]
    for doc in docs:
        assert _validate(cli, book, doc, "2025-03-01").code == 0
    (book / "facturier.yaml").write_text('currency: EUR\nnumbering: {invoice: "F{year}/{seq:05d}"}\n')
    git(book, "commit", "-qam", "new numbering")
    later = _new(cli, book, "2025-03-04")
    assert _validate(cli, book, later, "2025-03-04").code == 0
    path = next((book / "documents").rglob("%s.yaml" % later))
    path.write_text(path.read_text().replace("F2025/00003", "F2025/00001"))
    r = cli("check", book=book)
    assert r.code == 1 and "number F2025/00001 gives sequence 1 again: 2 invoice numbers of " \
        "2025 were given under an earlier format" in r.out, r


# --------------------------------------------------------------------------- date order

def test_validation_never_dates_a_number_before_the_last_one_of_its_series(cli, book):
    """--as-of earlier than the last validation gave a number dated before
    its predecessor. Refused, naming that date; nothing changed."""
    first = _new(cli, book, "2025-03-01")
    assert _validate(cli, book, first, "2025-03-10").code == 0
    second = _new(cli, book, "2025-03-02")
    head = git(book, "rev-parse", "HEAD")
    r = _validate(cli, book, second, "2025-03-09")
    assert r.code == 1, r
    assert "the last invoice number of 2025, 2025-0001, was given on 2025-03-10" in r.err, r
    assert git(book, "rev-parse", "HEAD") == head
    assert _validate(cli, book, second, "2025-03-10").code == 0        # the same day is fine
    assert _number(cli, book, second) == "2025-0002"
    # another series (credit notes) and another year have their own last date
    third = _new(cli, book, "2026-01-05")
    assert _validate(cli, book, third, "2026-01-05").code == 0
    assert cli("check", book=book).code == 0


def _recurring_book(make_book, issue):
    return make_book({
        "facturier.yaml": "currency: EUR\n",
        "contacts/acme.yaml": "name: ACME SA\n",
        "documents/2025/01/tpl.yaml": "kind: invoice\ncustomer: acme\ndate: 2025-01-01\n"
                                      "lines: [{description: Hosting, unit_price: 10}]\n",
        "recurrences/hosting.yaml": "name: Hosting\ntemplate: tpl\nrule: FREQ=MONTHLY\n"
                                    "start: 2025-03-01\nissue: %s\n" % issue})


def test_a_run_does_not_number_before_a_number_given_by_hand(cli, make_book):
    """The run's generation validates on its date: a number given by hand
    later in the series stops the recurrence with the cause (SPEC 4.3)
    instead of a number out of date order."""
    book = _recurring_book(make_book, "validate")
    hand = _new(cli, book, "2025-03-01")
    assert _validate(cli, book, hand, "2025-03-05").code == 0
    r = cli("--as-of", "2025-03-02", "run", "--no-send", book=book)
    assert r.code == 3, r
    r = cli("--as-of", "2025-03-02", "recurrence", "show", "hosting", "--format", "json",
            book=book)
    assert "was given on 2025-03-05" in json.loads(r.out)["cause"], r.out
    assert cli("check", book=book).code == 0


def test_one_session_keeps_counting_an_earlier_format_once(cli, book):
    """The series is remembered during a session (a run validating thousands):
    rewriting a document numbered under the earlier format (a payment) must
    not count its number twice."""
    import datetime as dt
    from decimal import Decimal

    from engine import actions as A
    old = [_new(cli, book, "2025-03-01") for _ in range(2)]
    for doc in old:
        assert _validate(cli, book, doc, "2025-03-01").code == 0
    (book / "facturier.yaml").write_text('currency: EUR\nnumbering: {invoice: "F{year}/{seq:05d}"}\n')
    git(book, "commit", "-qam", "new numbering")
    drafts = [_new(cli, book, "2025-03-02") for _ in range(2)]
    day = dt.date(2025, 3, 2)
    with A.open_writer(book) as w:
        w.commit(A.plan_validate(w.book, drafts[0], day))
        for _ in range(3):
            w.commit(A.plan_payment(w.book, old[0], Decimal("1"), day))
        w.commit(A.plan_validate(w.book, drafts[1], day))
    assert [_number(cli, book, d) for d in drafts] == ["F2025/00003", "F2025/00004"]
