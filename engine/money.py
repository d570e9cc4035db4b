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

from decimal import (ROUND_FLOOR, ROUND_HALF_EVEN, ROUND_HALF_UP, Context, Decimal, DivisionByZero,
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


# --------------------------------------------------------------------------- credit notes (SPEC 5.4)

class SplitError(ValueError):
    """No credit note whose totals follow SPEC 1.4 has exactly this gross
    amount at the invoice's rates. ``below`` and ``above`` are the nearest
    amounts that can be credited exactly (None when there is none)."""

    def __init__(self, amount: Decimal, below, above):
        super().__init__("%s cannot be a total at these VAT rates" % amount)
        self.amount = amount
        self.below = below
        self.above = above


def _gross(net: Decimal, rate: Decimal, quantum: Decimal) -> Decimal:
    """What one rate's nets give in a total (SPEC 1.4): net + VAT rounded half-up."""
    return net + (net * rate / _HUNDRED).quantize(quantum, rounding=ROUND_HALF_UP)


def _floor_net(target: Decimal, rate: Decimal, quantum: Decimal) -> Decimal:
    """The largest net (≥ 0, in minor units) whose gross is at most ``target``.
    The gross grows strictly with the net, so the search starts at
    ``target / (1 + rate)`` and moves a unit or two."""
    net = (target * _HUNDRED / (_HUNDRED + rate)).quantize(quantum, rounding=ROUND_FLOOR)
    if net < 0:
        net = _ZERO.quantize(quantum)
    while _gross(net + quantum, rate, quantum) <= target:
        net += quantum
    while net > 0 and _gross(net, rate, quantum) > target:
        net -= quantum
    return net


_STEPS = (0, -1, 1, -2, 2)


def _exact_nets(rates, shares, amount: Decimal, quantum: Decimal):
    """Nets per rate, each close to its share, whose grosses add up to
    ``amount`` exactly; None when no such nets lie within two minor units of
    each share's closest net."""
    nets = [_floor_net(share, rate, quantum) for rate, share in zip(rates, shares)]
    grosses = [_gross(n, r, quantum) for n, r in zip(nets, rates)]
    missing = amount - sum(grosses, _ZERO)
    if missing == 0:
        return nets
    # the fewest unit moves of nets that make up what is missing, found by a
    # small dynamic programme over the rates: sum of gross changes -> (moves, steps)
    states: dict[Decimal, tuple[int, tuple[int, ...]]] = {_ZERO: (0, ())}
    for i, rate in enumerate(rates):
        nxt: dict[Decimal, tuple[int, tuple[int, ...]]] = {}
        for reached, (cost, steps) in states.items():
            for step in _STEPS:
                net = nets[i] + step * quantum
                if net < 0:
                    continue
                key = reached + _gross(net, rate, quantum) - grosses[i]
                known = nxt.get(key)
                if known is None or cost + abs(step) < known[0]:
                    nxt[key] = (cost + abs(step), steps + (step,))
        states = nxt
    found = states.get(missing)
    if found is None:
        return None
    return [n + step * quantum for n, step in zip(nets, found[1])]


def split_credit(by_rate, amount: Decimal, currency: str) -> tuple[tuple[Decimal, Decimal], ...]:
    """``(rate, net)`` pairs of a credit note of gross ``amount`` on an invoice
    whose totals are ``by_rate`` (SPEC 5.4), lowest rate first, rates with a
    zero net left out.

    The amount is split over the invoice's rates in proportion to each rate's
    share of the invoice's gross total, rounded half-up to the minor unit, the
    last (highest) rate taking the remainder. Each rate's net is then the one
    whose net + VAT (SPEC 1.4) is that share. VAT is rounded per rate, so some
    grosses are out of reach of any net (at 20 %, a net of 0.02 gives 0.02 and
    0.03 gives 0.04: nothing gives 0.03); the nets then move by a minor unit
    or two between rates so that the total is still exactly ``amount``. With
    a single rate there is nothing to move between: :class:`SplitError`, with
    the nearest amounts that can be credited exactly.
    """
    with localcontext(WIDE):
        quantum = _quantum(currency)
        rates = [rate for rate, _net, _vat in by_rate]
        grosses = [net + vat for _rate, net, vat in by_rate]
        whole = sum(grosses, _ZERO)
        if not rates or whole <= 0:
            raise ValueError("the invoice has no amount to split a credit over")
        nets = _split(rates, grosses, whole, amount, quantum)
        if nets is None:
            below = next((a for a in (amount - k * quantum for k in range(1, 101))
                          if a > 0 and _split(rates, grosses, whole, a, quantum) is not None),
                         None)
            above = next((a for a in (amount + k * quantum for k in range(1, 101))
                          if _split(rates, grosses, whole, a, quantum) is not None), None)
            raise SplitError(amount, below, above)
        return tuple((rate, net) for rate, net in zip(rates, nets) if net != 0)


def _split(rates, grosses, whole: Decimal, amount: Decimal, quantum: Decimal):
    shares = [(amount * g / whole).quantize(quantum, rounding=ROUND_HALF_UP)
              for g in grosses[:-1]]
    shares.append(amount - sum(shares, _ZERO))
    while shares[-1] < 0:           # many rates rounded up past a tiny last share
        i = max(range(len(shares) - 1), key=lambda k: shares[k])
        shares[i] -= quantum
        shares[-1] += quantum
    return _exact_nets(rates, shares, amount, quantum)
