"""Money: currency minor units, half-up rounding and document totals (SPEC 1.4).

Pure: no I/O, no clock. Money is ``decimal.Decimal`` throughout, never float.

Totals follow SPEC 1.4:

- a line's net is ``quantity × unit_price`` rounded half-up to the currency's
  minor unit;
- VAT is computed *per rate*, on the sum of the nets at that rate, rounded
  half-up (not line by line); a line without ``vat`` takes ``settings.vat``;
- total = nets + VAT.

Choices the SPEC leaves open, written down here:

- "half-up" is commercial rounding: halves go away from zero
  (``decimal.ROUND_HALF_UP``), so -0.005 EUR rounds to -0.01.
- An expense that gives ``total:`` (instead of lines) has ``net = total``,
  ``vat = 0`` and ``by_rate = ()``; the total is taken as written (the loader
  already refused anything that is not a decimal), and is not re-rounded
  (`facturier check` reports one finer than the currency's minor unit).
  When an expense gives both lines and ``total:``, ``total:`` wins.
- ``by_rate`` lists every rate used by at least one line, lowest rate first,
  including a 0 % rate; a document without lines has ``by_rate = ()``.
- A currency this table does not know has 2 decimals (ISO 4217's usual case).
"""
from __future__ import annotations

from decimal import (ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, DivisionByZero,
                     InvalidOperation, Overflow, localcontext)

import msgspec

# ISO 4217 exponents that differ from 2 (active codes, plus the funds codes a
# careful user might meet). Everything else has 2 decimals.
_EXPONENTS: dict[str, int] = {
    # 0 decimals
    "BIF": 0, "BYR": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
    "KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0,
    "XOF": 0, "XPF": 0,
    # 3 decimals
    "BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
    # 4 decimals
    "CLF": 4, "UYW": 4,
}
_QUANTA = {n: Decimal(1).scaleb(-n) for n in range(0, 5)}
_QUANTUM_2 = _QUANTA[2]
_ZERO = Decimal(0)
_HUNDRED = Decimal(100)
# money is computed with 100 significant digits: with the default 28, quantize
# fails on a product of two large (loader-accepted, 15-digit) decimals
WIDE = Context(prec=100, rounding=ROUND_HALF_EVEN, Emin=-999999, Emax=999999,
                traps=[InvalidOperation, DivisionByZero, Overflow])


def minor_units(currency: str) -> int:
    """The ISO 4217 exponent of ``currency``: 2 unless ISO says otherwise."""
    return _EXPONENTS.get(currency.upper(), 2) if currency else 2


def _quantum(currency: str) -> Decimal:
    exp = _EXPONENTS.get(currency) if currency else None
    if exp is None:
        if currency and currency != currency.upper():
            return _quantum(currency.upper())
        return _QUANTUM_2
    return _QUANTA[exp]


def round_money(amount: Decimal, currency: str) -> Decimal:
    """``amount`` rounded half-up (away from zero on halves) to the minor unit."""
    with localcontext(WIDE):
        return amount.quantize(_quantum(currency), rounding=ROUND_HALF_UP)


class Totals(msgspec.Struct, frozen=True, gc=False):
    """A document's totals in its currency.

    ``by_rate`` holds ``(rate, net at that rate, VAT at that rate)`` triples,
    lowest rate first.
    """
    net: Decimal
    vat: Decimal
    total: Decimal
    by_rate: tuple[tuple[Decimal, Decimal, Decimal], ...] = ()


def currency_of(doc, settings) -> str:
    """The document's currency: its own ``currency:``, else the book's default."""
    return doc.currency or settings.currency


def document_totals(doc, settings) -> Totals:
    """Totals of ``doc`` (SPEC 1.4): nets per line, VAT per rate, total.

    Computed with 100 significant digits: the default 28 would make
    ``quantize`` fail on a product of two large (loader-accepted) decimals."""
    with localcontext(WIDE):
        return _document_totals(doc, settings)


def _document_totals(doc, settings) -> Totals:
    currency = doc.currency or settings.currency
    if doc.total is not None and doc.kind == "expense":
        return Totals(net=doc.total, vat=_ZERO, total=doc.total, by_rate=())
    lines = doc.lines
    if not lines:
        if doc.total is not None:
            return Totals(net=doc.total, vat=_ZERO, total=doc.total, by_rate=())
        return Totals(net=_ZERO, vat=_ZERO, total=_ZERO, by_rate=())
    quantum = _quantum(currency)
    default_rate = settings.vat
    if len(lines) == 1:
        line = lines[0]
        rate = default_rate if line.vat is None else line.vat
        net = (line.quantity * line.unit_price).quantize(quantum, rounding=ROUND_HALF_UP)
        vat = (net * rate / _HUNDRED).quantize(quantum, rounding=ROUND_HALF_UP)
        return Totals(net=net, vat=vat, total=net + vat, by_rate=((rate, net, vat),))
    nets: dict[Decimal, Decimal] = {}
    for line in lines:
        rate = default_rate if line.vat is None else line.vat
        net = (line.quantity * line.unit_price).quantize(quantum, rounding=ROUND_HALF_UP)
        nets[rate] = nets.get(rate, _ZERO) + net
    by_rate = []
    net_total = _ZERO
    vat_total = _ZERO
    for rate in sorted(nets):
        net = nets[rate]
        vat = (net * rate / _HUNDRED).quantize(quantum, rounding=ROUND_HALF_UP)
        by_rate.append((rate, net, vat))
        net_total += net
        vat_total += vat
    return Totals(net=net_total, vat=vat_total, total=net_total + vat_total,
                  by_rate=tuple(by_rate))
