"""Formatting for the screens: labels, money and dates as the CLI words them
(``engine.i18n``, pure functions), cached because a list redraws often."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from functools import lru_cache
from typing import Optional

from engine import i18n


@lru_cache(maxsize=8192)
def money(amount: Decimal, currency: str, lang: str) -> str:
    try:
        return i18n.format_money(amount, currency, lang)
    except Exception:
        return "%s %s" % (amount, currency)


def amount(value: Optional[Decimal], currency: str, lang: str) -> str:
    return "" if value is None else money(value, currency, lang)


def day(value: Optional[dt.date]) -> str:
    """Dates in lists and forms: ISO, compact and sortable by eye."""
    return value.isoformat() if value else ""


@lru_cache(maxsize=4096)
def long_day(value: dt.date, lang: str) -> str:
    try:
        return i18n.format_date(value, lang)
    except Exception:
        return value.isoformat()


def status(code: str, lang: str) -> str:
    return i18n.status_label(code, lang)


def category(code: str, lang: str) -> str:
    return i18n.category_label(code, lang)


def open_amounts(open_by_currency: dict, lang: str, first: str) -> str:
    """"CHF 1,200.00 + EUR 30.00", the book's currency first; "" when none."""
    items = sorted(((c, a) for c, a in open_by_currency.items() if a),
                   key=lambda item: (item[0] != first, item[0]))
    return " + ".join(money(a, c, lang) for c, a in items)


def size(n: int, lang: str) -> str:
    """A file's size as a person reads it: "840 B", "12.3 kB" ("12,3 ko")."""
    fr = lang == "fr"
    if n < 1000:
        return "%d %s" % (n, "o" if fr else "B")
    for unit_en, unit_fr, scale in (("kB", "ko", 1e3), ("MB", "Mo", 1e6)):
        if n < scale * 1000 or unit_en == "MB":
            text = "%.1f" % (n / scale)
            return "%s %s" % (text.replace(".", ",") if fr else text, unit_fr if fr else unit_en)
    raise AssertionError("unreachable")
