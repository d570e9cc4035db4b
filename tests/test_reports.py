"""Reports (SPEC 10.1): VAT on invoice and payment basis, aging buckets,
revenue; rows that add up to the totals; the three output formats."""
from __future__ import annotations

import csv
import datetime as dt
import io
import json
from decimal import Decimal as D

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from engine.model import Book, Contact, Document, Line, Payment, Settings, WriteOff
from engine.money import document_totals
from engine.reports import aging_report, revenue_report, vat_report
from engine.status import status_and_amounts

d = dt.date.fromisoformat


def doc(id, kind="invoice", date="2025-01-10", validated="same", lines=(("100", "8.1"),),
        contact="acme", **kw) -> Document:
    day = d(date)
    if validated == "same":
        validated = None if kind == "expense" else day
    elif isinstance(validated, str):
        validated = d(validated)
    return Document(id=id, path="documents/%s.yaml" % id, kind=kind, contact=contact, date=day,
                    validated=validated,
                    lines=tuple(Line(quantity=D(1), unit_price=D(p), vat=D(r)) for p, r in lines),
                    **kw)


def book(*docs, currency="EUR") -> Book:
    return Book(settings=Settings(currency=currency),
                contacts={"acme": Contact(id="acme", path="contacts/acme.yaml", name="ACME SA"),
                          "bob": Contact(id="bob", path="contacts/bob.yaml", name="Bob",
                                         payment_days=10)},
                documents={x.id: x for x in docs})


def rows(report, *keys):
    return [tuple(r[k] for k in keys) for r in report.rows]


# --------------------------------------------------------------------------- VAT

def test_vat_invoice_basis_per_rate_minus_credit_notes_plus_deductible_expenses():
    b = book(
        doc("inv-1", lines=(("100", "8.1"), ("50", "2.6"))),          # 108.10 + 51.30
        doc("inv-2", date="2025-02-03", lines=(("200", "8.1"),)),       # 216.20
        doc("cn-1", kind="credit_note", date="2025-02-10", credits="inv-2",
            lines=(("20", "8.1"),)),                                    # -21.62
        doc("inv-draft", validated=None, lines=(("999", "8.1"),)),       # a draft: never
        doc("inv-late", date="2025-03-31", validated="2025-04-01"),     # validated after
        doc("inv-usd", currency="USD", lines=(("10", "0"),)),           # its own currency
        doc("exp-1", kind="expense", date="2025-03-01", contact="bob",
            lines=(("30", "8.1"),)),                                    # 32.43
        Document(id="exp-2", path="documents/exp-2.yaml", kind="expense", contact="bob",
                 date=d("2025-03-02"), total=D("12.00")),               # no breakdown
    )
    report = vat_report(b, d("2025-01-01"), d("2025-03-31"))
    assert rows(report, "side", "currency", "rate", "net", "vat", "gross") == [
        ("sales", "EUR", D("2.6"), D("50.00"), D("1.30"), D("51.30")),
        ("sales", "EUR", D("8.1"), D("280.00"), D("22.68"), D("302.68")),
        ("sales", "USD", D("0"), D("10"), D("0"), D("10")),
        ("purchases", "EUR", D("8.1"), D("30.00"), D("2.43"), D("32.43")),
        ("purchases", "EUR", None, D("12.00"), D("0"), D("12.00")),
    ]
    assert [(t["side"], t["currency"], t["vat"]) for t in report.totals] == [
        ("sales", "EUR", D("23.98")), ("sales", "USD", D("0")), ("purchases", "EUR", D("2.43"))]
    assert [(s["currency"], s["vat_payable"]) for s in report.summary] == [
        ("EUR", D("21.55")), ("USD", D("0"))]


def test_vat_payment_basis_takes_each_payments_share_and_full_payment_gives_the_invoices_vat():
    # 100 at 8.1 % (108.10) + 50 at 2.6 % (51.30): total 159.40
    inv = doc("inv-1", lines=(("100", "8.1"), ("50", "2.6")),
              payments=(Payment(date=d("2025-01-20"), amount=D("79.70")),      # half
                        Payment(date=d("2025-02-05"), amount=D("79.70")),      # the rest
                        Payment(date=d("2025-02-06"), amount=D("5.00"))))      # overpaid
    b = book(inv)
    january = vat_report(b, d("2025-01-01"), d("2025-01-31"), "payment")
    assert rows(january, "rate", "net", "vat", "gross") == [
        (D("2.6"), D("25.00"), D("0.65"), D("25.65")),
        (D("8.1"), D("50.00"), D("4.05"), D("54.05"))]
    both = vat_report(b, d("2025-01-01"), d("2025-02-28"), "payment")
    whole = vat_report(b, d("2025-01-01"), d("2025-02-28"), "invoice")
    assert both.rows == whole.rows      # paid in full: exactly the invoice's VAT per rate


def test_vat_payment_basis_ignores_drafts_quotes_and_payments_outside_the_period():
    b = book(doc("inv-1", payments=(Payment(date=d("2024-12-31"), amount=D("10")),
                                    Payment(date=d("2025-02-01"), amount=D("10")))),
             doc("q-1", kind="quote", payments=()))
    assert vat_report(b, d("2025-01-01"), d("2025-01-31"), "payment").rows == ()


# --------------------------------------------------------------------------- aging

@pytest.mark.parametrize("as_of, bucket", [
    ("2025-02-09", "not_due"),      # due 2025-02-09 (30 days)
    ("2025-02-10", "d1_30"),
    ("2025-03-11", "d1_30"),        # 30 days late
    ("2025-03-12", "d31_60"),
    ("2025-04-10", "d31_60"),
    ("2025-04-11", "d61_90"),
    ("2025-05-10", "d61_90"),
    ("2025-05-11", "over_90"),
])
def test_aging_buckets_by_days_past_due(as_of, bucket):
    b = book(doc("inv-1", payments=(Payment(date=d("2025-01-15"), amount=D("8.10")),)))
    report = aging_report(b, d(as_of))
    (row,) = report.rows
    assert row[bucket] == D("100.00") and row["total"] == D("100.00")
    assert sum(row[k] for k in ("not_due", "d1_30", "d31_60", "d61_90", "over_90")) == D("100")


def test_aging_leaves_out_paid_written_off_drafts_and_future_invoices_and_keeps_holds():
    from engine.model import Hold
    b = book(
        doc("inv-paid", payments=(Payment(date=d("2025-01-20"), amount=D("108.10")),)),
        doc("inv-wo", write_off=WriteOff(date=d("2025-03-01"))),
        doc("inv-draft", validated=None),
        doc("inv-future", date="2025-06-01"),
        doc("inv-hold", contact="bob", holds=(Hold(start=d("2025-02-01")),)),
        doc("cn-1", kind="credit_note", credits="inv-paid"),
    )
    report = aging_report(b, d("2025-04-01"))
    assert rows(report, "contact", "name", "invoices", "total") == [("bob", "Bob", 1, D("108.10"))]
    # bob's payment days (10): due 2025-01-20, 71 days late on 2025-04-01
    assert report.rows[0]["d61_90"] == D("108.10")


# --------------------------------------------------------------------------- revenue

def test_revenue_by_month_quarter_and_contact():
    b = book(doc("inv-1", date="2025-01-10"),
             doc("inv-2", date="2025-02-10", contact="bob", lines=(("50", "0"),)),
             doc("cn-1", kind="credit_note", date="2025-04-02", credits="inv-1",
                 lines=(("10", "8.1"),)),
             doc("inv-3", date="2025-03-31", validated="2025-04-01"))
    assert rows(revenue_report(b, "month"), "month", "net", "gross") == [
        ("2025-01", D("100.00"), D("108.10")), ("2025-02", D("50.00"), D("50.00")),
        ("2025-04", D("90.00"), D("97.29"))]
    assert rows(revenue_report(b, "quarter"), "quarter", "invoices", "credit_notes", "net") == [
        ("2025-Q1", 2, 0, D("150.00")), ("2025-Q2", 1, 1, D("90.00"))]
    assert rows(revenue_report(b, "contact", d("2025-01-01"), d("2025-03-31")),
                "contact", "name", "net") == [("acme", "ACME SA", D("100.00")),
                                              ("bob", "Bob", D("50.00"))]


# --------------------------------------------------------------------------- properties

RATES = st.sampled_from(["0", "2.6", "8.1", "20", "5.5"])
AMOUNTS = st.decimals(min_value=D("0.01"), max_value=D("5000"), places=2)
DAYS = st.integers(min_value=0, max_value=364)


@st.composite
def books(draw):
    docs = []
    start = d("2025-01-01")
    for i in range(draw(st.integers(min_value=0, max_value=12))):
        kind = draw(st.sampled_from(["invoice", "invoice", "credit_note", "expense", "quote"]))
        day = start + dt.timedelta(days=draw(DAYS))
        lines = tuple((str(draw(AMOUNTS)), draw(RATES))
                      for _ in range(draw(st.integers(min_value=1, max_value=3))))
        validated = None if kind == "expense" or draw(st.integers(0, 5)) == 0 else day
        payments = ()
        if kind in ("invoice", "expense"):
            payments = tuple(Payment(date=day + dt.timedelta(days=draw(DAYS)),
                                     amount=draw(AMOUNTS))
                             for _ in range(draw(st.integers(min_value=0, max_value=3))))
        docs.append(doc("%s-%d" % (kind, i), kind=kind, date=day.isoformat(),
                        validated=validated, lines=lines,
                        currency=draw(st.sampled_from([None, "CHF", "JPY"])),
                        contact=draw(st.sampled_from(["acme", "bob"])), payments=payments,
                        credits="invoice-0" if kind == "credit_note" else None))
    return book(*docs)


def assert_adds_up(report):
    for total in report.totals:
        mine = [r for r in report.rows if all(r[k] == total[k] for k in report.group)]
        for column in report.amounts:
            assert sum((r[column] for r in mine), D(0)) == total[column]
    assert len(report.totals) == len({tuple(r[k] for k in report.group) for r in report.rows})


@hsettings(max_examples=150, deadline=None)
@given(books(), DAYS, DAYS, st.sampled_from(["invoice", "payment"]))
def test_every_report_adds_up_and_agrees_with_the_documents_totals(b, a, z, basis):
    start = d("2025-01-01") + dt.timedelta(days=min(a, z))
    end = d("2025-01-01") + dt.timedelta(days=max(a, z))
    vat = vat_report(b, start, end, basis)
    revenue = revenue_report(b, "quarter", start, end)
    aging = aging_report(b, end)
    for report in (vat, revenue, aging, revenue_report(b, "contact")):
        assert_adds_up(report)
    for row in vat.rows:
        assert row["net"] + row["vat"] == row["gross"]
    if basis == "invoice":
        # the sales side is the revenue of the same dates, currency by currency
        sales = {t["currency"]: (t["net"], t["vat"], t["gross"])
                 for t in vat.totals if t["side"] == "sales"}
        assert sales == {t["currency"]: (t["net"], t["vat"], t["gross"]) for t in revenue.totals}
    # aging: the open amounts SPEC 3.1 gives, nothing else
    expected: dict = {}
    for x in b.documents.values():
        if x.kind == "invoice" and x.validated and x.date <= end:
            status, amounts = status_and_amounts(x, b, end)
            if amounts.open > 0:
                cur = x.currency or "EUR"
                expected[cur] = expected.get(cur, D(0)) + amounts.open
    assert {t["currency"]: t["total"] for t in aging.totals} == expected


@hsettings(max_examples=100, deadline=None)
@given(books())
def test_payment_basis_of_fully_paid_documents_equals_their_vat(b):
    paid = {k: x for k, x in b.documents.items() if x.kind in ("invoice", "expense")
            and (x.validated or x.kind == "expense")
            and sum((p.amount for p in x.payments), D(0)) >= document_totals(x, b.settings).total
            and document_totals(x, b.settings).total > 0}   # nothing to collect on a zero
    only = book(*paid.values())
    start, end = d("2025-01-01"), d("2026-12-31")
    by_payment = vat_report(only, start, end, "payment")
    by_invoice = vat_report(only, start, end, "invoice")
    assert [t for t in by_payment.totals] == [t for t in by_invoice.totals]


# --------------------------------------------------------------------------- the command

def test_report_command_formats_and_languages(make_book, cli):
    root = make_book({
        "facturier.yaml": "currency: CHF\nlocale: fr\n",
        "contacts/acme.yaml": "name: ACME SA\n",
        "documents/2025/01/inv-1.yaml": """
            kind: invoice
            customer: acme
            date: 2025-01-10
            number: 2025-0001
            validated: 2025-01-10
            lines:
              - {description: Work, quantity: 10, unit_price: "123.45", vat: "8.1"}
            """,
    })
    out = cli("report", "vat", "--from", "2025-01-01", "--to", "2025-03-31", book=root)
    assert out.code == 0, out
    assert "8,1 %" in out.out and "1\u202f234,50" in out.out and "TVA à payer" in out.out
    assert "TVA du 1 janv. 2025 au 31 mars 2025" in out.err
    out = cli("--lang", "en", "report", "vat", "--from", "2025-01-01", "--to", "2025-03-31",
              "--format", "json", book=root)
    data = json.loads(out.out)
    assert data["rows"] == [{"side": "sales", "currency": "CHF", "rate": "8.1", "net": "1234.50",
                             "vat": "99.99", "gross": "1334.49"}]
    assert data["summary"][0]["vat_payable"] == "99.99"
    out = cli("--as-of", "2025-03-01", "report", "aging", "--format", "csv", book=root)
    table = list(csv.reader(io.StringIO(out.out)))
    assert table[0][:3] == ["contact", "currency", "name"]
    assert table[1][:3] == ["acme", "CHF", "ACME SA"] and table[-1][:2] == ["total", "CHF"]
    out = cli("--lang", "en", "--as-of", "2025-03-01", "report", "aging", book=root)
    assert "acme" in out.out and "1,334.49" in out.out and "1–30 d" in out.out
    out = cli("report", "revenue", "--by", "quarter", book=root)
    assert "2025-Q1" in out.out
    out = cli("report", "vat", "--from", "2025-03-01", "--to", "2025-01-01", book=root)
    assert out.code == 2 and "--to" in out.err
    out = cli("report", "vat", "--from", "2025-01-01", book=root)
    assert out.code == 2
