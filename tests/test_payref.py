"""Payment references (SPEC 8.3): derived from the invoice number, read back
from a bank statement's reference to the same key."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, strategies as st

from engine.model import Company, Document, Settings
from engine.payref import (creditor_reference, format_reference, is_qr_iban, mod10_check,
                           payment_reference, reference_key)

QR_IBAN = "CH4431999123000889012"
IBAN = "CH9300762011623852957"


def invoice(number, validated=True, kind="invoice"):
    return Document(id="inv-1", path="documents/inv-1.yaml", kind=kind, contact="acme",
                    date=dt.date(2025, 3, 5), number=number,
                    validated=dt.date(2025, 3, 5) if validated else None)


def settings(iban):
    return Settings(company=Company(iban=iban))


def test_published_examples():
    assert creditor_reference("539007547034") == "RF18539007547034"       # ISO 11649
    assert mod10_check("21000000000313947143000901") == "7"              # SIX IG annex B
    assert is_qr_iban(QR_IBAN) and not is_qr_iban(IBAN)
    assert not is_qr_iban("FR7630006000011234567890189")


@pytest.mark.parametrize("iban,number,expected", [
    (QR_IBAN, "2025-0042", "000000000000000000202500423"),
    (IBAN, "2025-0042", "RF4020250042"),
    ("FR7630006000011234567890189", "F/2025/17", "RF58F202517"),
    ("", "2025-0042", "RF4020250042"),
])
def test_the_reference_is_derived_from_the_number(iban, number, expected):
    assert payment_reference(invoice(number), settings(iban)) == expected


def test_drafts_credit_notes_and_quotes_have_none():
    assert payment_reference(invoice(None, validated=False), settings(IBAN)) is None
    assert payment_reference(invoice("CN-1", kind="credit_note"), settings(IBAN)) is None
    assert payment_reference(invoice("Q-1", kind="quote"), settings(IBAN)) is None


def test_printed_forms():
    assert format_reference("000000000000000000202500423") == "00 00000 00000 00000 02025 00423"
    assert format_reference("RF4020250042") == "RF40 2025 0042"


numbers = st.text(alphabet="0123456789-/ABCDEFGHJK", min_size=1, max_size=18).filter(
    lambda n: any(c.isalnum() for c in n))


@given(numbers, st.sampled_from([QR_IBAN, IBAN]))
def test_a_reference_as_a_bank_prints_it_reads_back_to_its_invoice(number, iban):
    reference = payment_reference(invoice(number), settings(iban))
    if reference is None:
        return
    if reference.startswith("RF"):      # ISO 11649: moved to the end, mod 97 is 1
        assert int("".join(str(int(c, 36)) for c in reference[4:] + reference[:4])) % 97 == 1
    key = reference_key(format_reference(reference))
    assert key is not None and key == reference_key(reference)
    # a typo in one character is never taken for a valid reference of the same key
    flipped = reference[:-1] + ("0" if reference[-1] != "0" else "1")
    assert reference_key(flipped) != key
