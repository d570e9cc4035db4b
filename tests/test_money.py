"""Totals (SPEC 1.4): per-line nets rounded half-up, VAT per rate, currency decimals."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal as D
from fractions import Fraction

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from engine.i18n import format_money
from engine.model import Document, Line, Settings
from engine.money import Totals, currency_of, document_totals, minor_units, round_money

DAY = dt.date(2025, 1, 5)


def invoice(lines, currency=None, **kw) -> Document:
    return Document(id="inv-1", path="documents/inv-1.yaml", kind="invoice", contact="acme",
                    date=DAY, currency=currency, lines=tuple(lines), **kw)


def line(quantity, price, vat=None) -> Line:
    return Line(quantity=D(quantity), unit_price=D(price), vat=None if vat is None else D(vat))


@pytest.mark.parametrize("currency, exponent", [
    ("EUR", 2), ("CHF", 2), ("USD", 2), ("JPY", 0), ("KRW", 0), ("CLP", 0), ("ISK", 0),
    ("BHD", 3), ("KWD", 3), ("JOD", 3), ("OMR", 3), ("TND", 3), ("LYD", 3), ("IQD", 3),
    ("jpy", 0), ("XYZ", 2),
])
def test_minor_units_follow_iso_4217(currency, exponent):
    assert minor_units(currency) == exponent


@pytest.mark.parametrize("amount, currency, expected", [
    ("1.005", "EUR", "1.01"), ("1.004", "EUR", "1.00"), ("-1.005", "EUR", "-1.01"),
    ("2.5", "JPY", "3"), ("1.4999", "JPY", "1"), ("1.0005", "BHD", "1.001"),
    ("1.00049", "KWD", "1.000"), ("7", "EUR", "7.00"),
])
def test_round_money_is_half_up_to_the_minor_unit(amount, currency, expected):
    rounded = round_money(D(amount), currency)
    assert rounded == D(expected) and str(rounded) == expected


def test_line_nets_then_vat_per_rate_then_total():
    doc = invoice([line("3", "33.333", "8.1"), line("1", "100", "8.1"), line("2", "9.995", "2.6")],
                  currency="CHF")
    totals = document_totals(doc, Settings())
    # nets: 99.999 -> 100.00, 100.00, 19.99; VAT 8.1 % of 200.00 = 16.20; 2.6 % of 19.99 = 0.51974
    assert totals.by_rate == ((D("2.6"), D("19.99"), D("0.52")), (D("8.1"), D("200.00"), D("16.20")))
    assert (totals.net, totals.vat, totals.total) == (D("219.99"), D("16.72"), D("236.71"))


def test_vat_is_rounded_per_rate_not_per_line():
    # each line's VAT would be 0.005 -> 0.01, three lines 0.03; per rate 0.015 -> 0.02
    doc = invoice([line("1", "0.05", "10")] * 3)
    totals = document_totals(doc, Settings())
    assert totals.vat == D("0.02")
    assert totals.total == D("0.17")


def test_a_line_without_vat_takes_the_settings_rate():
    doc = invoice([line("1", "100"), line("1", "50", "8.1")])
    totals = document_totals(doc, Settings(vat=D("7.7")))
    assert totals.by_rate == ((D("7.7"), D("100.00"), D("7.70")), (D("8.1"), D("50.00"), D("4.05")))
    assert totals.total == D("161.75")


def test_rates_written_differently_are_one_rate():
    doc = invoice([line("1", "0.05", "8.1"), line("1", "0.05", "8.10")])
    totals = document_totals(doc, Settings())
    assert len(totals.by_rate) == 1 and totals.vat == D("0.01")


def test_zero_decimal_currency():
    doc = invoice([line("3", "333.5", "10")], currency="JPY")
    totals = document_totals(doc, Settings())
    # net 1000.5 -> 1001; VAT 100.1 -> 100
    assert (totals.net, totals.vat, totals.total) == (D("1001"), D("100"), D("1101"))
    assert str(totals.total) == "1101"


def test_three_decimal_currency():
    doc = invoice([line("1", "10.0005", "5"), line("2", "0.0125", "5")], currency="BHD")
    totals = document_totals(doc, Settings())
    # nets 10.001 + 0.025 = 10.026; VAT 0.5013 -> 0.501
    assert (totals.net, totals.vat, totals.total) == (D("10.026"), D("0.501"), D("10.527"))


def test_document_currency_else_settings_currency():
    settings = Settings(currency="CHF")
    assert currency_of(invoice([]), settings) == "CHF"
    assert currency_of(invoice([], currency="JPY"), settings) == "JPY"
    # the settings' currency decides the rounding when the document names none
    doc = invoice([line("1", "10.4")])
    assert document_totals(doc, Settings(currency="JPY")).total == D("10")


def test_expense_with_a_total_has_no_vat():
    doc = Document(id="exp-1", path="documents/exp-1.yaml", kind="expense", contact="shop",
                   date=DAY, total=D("84.30"))
    assert document_totals(doc, Settings(vat=D("8.1"))) == Totals(
        net=D("84.30"), vat=D("0"), total=D("84.30"), by_rate=())


def test_no_lines_totals_zero():
    assert document_totals(invoice([]), Settings()).total == D("0")


# --------------------------------------------------------------------------- hypothesis

def _half_up(value: Fraction, exponent: int) -> Fraction:
    scale = 10 ** exponent
    scaled = abs(value) * scale
    rounded = int(scaled + Fraction(1, 2))      # floor(x + 1/2) for x >= 0
    return (rounded if value >= 0 else -rounded) / Fraction(scale)


def _exact_totals(lines, default_rate, exponent):
    nets: dict[Fraction, Fraction] = {}
    for q, p, v in lines:
        rate = Fraction(default_rate if v is None else v)
        nets[rate] = nets.get(rate, Fraction(0)) + _half_up(Fraction(q) * Fraction(p), exponent)
    net = sum(nets.values(), Fraction(0))
    vat = sum((_half_up(n * r / 100, exponent) for r, n in nets.items()), Fraction(0))
    return net, vat, net + vat


quantities = st.decimals(min_value=0, max_value=10_000, places=3, allow_nan=False)
prices = st.decimals(min_value=0, max_value=100_000, places=4, allow_nan=False)
rates = st.sampled_from([None, "0", "2.6", "3.8", "7.7", "8.1", "19.6", "20", "5.5"])


@hsettings(max_examples=200, deadline=None)
@given(lines=st.lists(st.tuples(quantities, prices, rates), min_size=1, max_size=8),
       currency=st.sampled_from(["EUR", "JPY", "BHD"]),
       default_rate=st.sampled_from(["0", "8.1", "20"]))
def test_totals_equal_an_exact_computation(lines, currency, default_rate):
    doc = invoice([Line(quantity=q, unit_price=p, vat=None if v is None else D(v))
                   for q, p, v in lines], currency=currency)
    totals = document_totals(doc, Settings(vat=D(default_rate)))
    net, vat, total = _exact_totals([(q, p, v) for q, p, v in lines], D(default_rate),
                                    minor_units(currency))
    assert (Fraction(totals.net), Fraction(totals.vat), Fraction(totals.total)) == (net, vat, total)
    assert totals.total == totals.net + totals.vat
    assert sum(n for _, n, _ in totals.by_rate) == totals.net
    assert sum(v for _, _, v in totals.by_rate) == totals.vat
    # every amount carries exactly the currency's decimals
    assert -totals.total.as_tuple().exponent == minor_units(currency)


# --------------------------------------------------------------------------- formatting

@pytest.mark.parametrize("amount, currency, lang, expected", [
    ("1200.5", "CHF", "en", "CHF\u00a01,200.50"),
    ("1200.5", "CHF", "fr", "1\u202f200,50\u00a0CHF"),
    ("1200.5", "EUR", "en", "€1,200.50"),
    ("1200.5", "JPY", "en", "¥1,201"),
    ("1.0005", "BHD", "fr", "1,001\u00a0BHD"),
])
def test_format_money_uses_the_currency_decimals_and_the_locale(amount, currency, lang, expected):
    assert format_money(D(amount), currency, lang) == expected


# --------------------------------------------------------------------------- formatting for people

@hsettings(max_examples=300, deadline=None)
@given(st.decimals(min_value=D("-1e15"), max_value=D("1e15"), allow_nan=False,
                   allow_infinity=False, places=3),
       st.sampled_from(["EUR", "CHF", "USD", "JPY", "GBP", "BHD", "SEK"]),
       st.sampled_from(["en", "fr", "de", "fr-CH", "en-US", None]))
def test_money_reads_exactly_as_babel_formats_it(amount, currency, lang):
    """format_money applies babel's pattern itself (100,000 rows of `status`
    would spend 10 s in babel): the text is babel's, sign, grouping, symbol
    and spacing included, for every amount."""
    from engine.i18n import _babel_money, format_money
    from engine.money import round_money
    assert format_money(amount, currency, lang) == _babel_money(
        round_money(amount, currency), currency, lang)
