"""The payment reference of an invoice (SPEC 8.3, 10.3), derived from its
number so that a bank statement's structured reference leads back to it.

- On a Swiss QR-IBAN (institution id 30000-31999, IBAN characters 5-9): a QR
  reference, 27 digits: the digits of the invoice number, left-padded with
  zeros to 26, then the recursive mod-10 check digit (SIX IG QR-bill, annex B).
- Otherwise: an ISO 11649 creditor reference, ``RF`` + two check digits + the
  letters and digits of the number in capitals (at most 21).

Reading back (:func:`reference_key`): the digits of a QR reference without
leading zeros and its check digit, or the body of an RF reference; a document
matches when the same function of its number gives the same key. Drafts have
no number, so no reference. Pure.
"""
from __future__ import annotations

from typing import Optional

from .model import Document, Settings

_TABLE = (0, 9, 4, 6, 8, 2, 7, 1, 3, 5)


def is_qr_iban(iban: str) -> bool:
    return iban[:2] in ("CH", "LI") and iban[4:9].isdigit() and 30000 <= int(iban[4:9]) <= 31999


def mod10_check(digits: str) -> str:
    carry = 0
    for digit in digits:
        carry = _TABLE[(carry + int(digit)) % 10]
    return str((10 - carry) % 10)


def qr_reference(number: str) -> Optional[str]:
    digits = "".join(c for c in number if c.isdigit()).lstrip("0") or "0"
    if len(digits) > 26:
        return None
    body = digits.rjust(26, "0")
    return body + mod10_check(body)


def creditor_reference(number: str) -> Optional[str]:
    body = "".join(c for c in number.upper() if c.isascii() and c.isalnum())
    if not body or len(body) > 21:
        return None
    numeric = "".join(str(int(c, 36)) for c in body + "RF00")
    return "RF%02d%s" % (98 - int(numeric) % 97, body)


def payment_reference(doc: Document, settings: Settings) -> Optional[str]:
    """The structured reference a customer pays ``doc`` with, or None (drafts,
    kinds other than invoices, a number too long for any reference)."""
    if doc.kind != "invoice" or doc.is_draft or not doc.number:
        return None
    if is_qr_iban(settings.company.iban):
        return qr_reference(doc.number)
    return creditor_reference(doc.number)


def reference_key(reference: str) -> Optional[str]:
    """What a reference read from a bank statement says, comparable with
    ``reference_key(payment_reference(doc))``; None when it is not valid."""
    text = "".join(reference.split()).upper()
    if text.startswith("RF"):
        body = text[4:]
        if body and creditor_reference(body) == text:
            return "RF:" + body
        return None
    if len(text) == 27 and text.isdigit() and mod10_check(text[:26]) == text[26]:
        return "QR:" + (text[:26].lstrip("0") or "0")
    return None


def format_reference(reference: str) -> str:
    """For people: RF in groups of four; a QR reference as 2 + 5 × 5 digits."""
    if reference.startswith("RF"):
        return " ".join(reference[i:i + 4] for i in range(0, len(reference), 4))
    return reference[:2] + " " + " ".join(reference[i:i + 5] for i in range(2, 27, 5))
