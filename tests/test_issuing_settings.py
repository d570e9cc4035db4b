"""The settings and contact fields of issuing (SPEC 1.2, 1.3): structured
addresses, VAT ids, bank details, payment codes, e-invoices and legal notes,
read by the strict rules of SPEC 1.1; a new French book gets the legal mentions."""
from __future__ import annotations

import pytest

from conftest import git
from engine.loader import iban_problem, parse_contact, parse_settings
from engine.model import Address, address_lines, structured
from engine.writer import dump_contact

SETTINGS = """\
company:
  name: Atelier Pixel
  address: {street: Rue du Lac, number: "1", postcode: "1000", city: Lausanne, country: CH}
  email: hello@pixel.example
  phone: "+41 21 555 00 00"
  vat_id: CHE-123.456.789 MWST
  registration: CHE-123.456.789
  iban: ch93 0076 2011 6238 5295 7
  bic: poficHBEXXX
payment_qr: swiss
einvoice: none
legal_notes:
  en: ["Payable within 30 days."]
  fr: ["Pas d'escompte."]
"""


def test_every_issuing_field_of_the_settings_is_read():
    settings, diagnostics = parse_settings(SETTINGS)
    assert diagnostics == []
    company = settings.company
    assert company.address == Address(street="Rue du Lac", number="1", postcode="1000",
                                      city="Lausanne", country="CH")
    assert address_lines(company.address) == ["Rue du Lac 1", "1000 Lausanne", "CH"]
    assert (company.phone, company.registration) == ("+41 21 555 00 00", "CHE-123.456.789")
    # an IBAN is kept compact and in capitals, whatever the spacing written
    assert (company.iban, company.bic) == ("CH9300762011623852957", "POFICHBEXXX")
    assert (settings.payment_qr, settings.einvoice) == ("swiss", "none")
    assert settings.legal_notes_for("fr") == ("Pas d'escompte.",)
    assert settings.legal_notes_for("en") == ("Payable within 30 days.",)


def test_defaults_when_absent():
    settings, diagnostics = parse_settings("")
    assert diagnostics == []
    assert (settings.payment_qr, settings.einvoice, settings.legal_notes) == ("auto", "facturx", {})
    assert settings.company.iban == "" and address_lines(settings.company.address) == []


# (settings text, field named, words of the message)
BAD_SETTINGS = [
    ("company: {iban: CH94 0076 2011 6238 5295 7}\n", "company.iban", "check digits"),
    ("company: {iban: '12345'}\n", "company.iban", "is not an IBAN"),
    ("company: {bic: 'POFI'}\n", "company.bic", "is not a BIC"),
    ("company: {address: {country: Suisse}}\n", "company.address.country", "country code"),
    ("company: {address: {street: A, contry: CH}}\n", "company.address.contry",
     "did you mean 'company.address.country'"),
    ("company: {address: [a, b]}\n", "company.address", "text or a mapping"),
    ("payment_qr: qr\n", "payment_qr", "auto, swiss, epc, none"),
    ("einvoice: ubl\n", "einvoice", "facturx, none"),
    ("legal_notes: {de: [a]}\n", "legal_notes.de", "unknown field"),
    ("legal_notes: [a]\n", "legal_notes", "mapping of locale"),
    ("legal_notes: {fr: 12}\n", "legal_notes.fr", "must be a list"),
]


@pytest.mark.parametrize("text,field,words", BAD_SETTINGS, ids=[b[1] + ":" + b[2] for b in BAD_SETTINGS])
def test_a_bad_issuing_setting_names_its_field_and_line(text, field, words):
    settings, diagnostics = parse_settings("currency: CHF\n" + text)
    assert [d.field for d in diagnostics] == [field]
    assert diagnostics[0].line == 2 and words in diagnostics[0].message
    assert settings.currency == "CHF"           # the rest of the settings still reads


def test_iban_check_digits_table():
    assert iban_problem("CH9300762011623852957") is None
    assert iban_problem("FR7630006000011234567890189") is None
    assert iban_problem("DE89370400440532013000") is None
    assert "check digits" in iban_problem("DE89370400440532013001")


def test_a_contact_with_a_structured_address_round_trips_through_the_writer():
    text = ("name: Müller GmbH\naddress: {street: Hauptstraße, number: '5', postcode: '10115', "
            "city: Berlin, country: DE}\nvat_id: DE123456789\nbuyer_reference: '0401'\n"
            "einvoice: xrechnung\n")
    contact, diagnostics = parse_contact(text, "contacts/mueller.yaml")
    assert diagnostics == []
    assert structured(contact.address).postcode == "10115"
    assert (contact.vat_id, contact.buyer_reference, contact.einvoice) == (
        "DE123456789", "0401", "xrechnung")
    again, problems = parse_contact(dump_contact(contact), "contacts/mueller.yaml")
    assert problems == []
    assert (again.address, again.vat_id, again.buyer_reference, again.einvoice) == (
        contact.address, contact.vat_id, contact.buyer_reference, contact.einvoice)


def test_free_address_lines_stay_text():
    contact, _ = parse_contact("name: A\naddress: |\n  Rue du Lac 1\n  1000 Lausanne\n",
                               "contacts/a.yaml")
    assert structured(contact.address) is None
    assert address_lines(contact.address) == ["Rue du Lac 1", "1000 Lausanne"]
    assert contact.einvoice == "pdf"


def test_a_contact_einvoice_must_be_known():
    _, diagnostics = parse_contact("name: A\neinvoice: zugferd\n", "contacts/a.yaml")
    assert [(d.field, d.line) for d in diagnostics] == [("einvoice", 2)]


def test_a_new_french_book_has_the_legal_mentions_as_editable_notes(cli, tmp_path):
    made = cli("init", str(tmp_path / "fr"), "--locale", "fr")
    assert made.code == 0, made
    settings, diagnostics = parse_settings((tmp_path / "fr" / "facturier.yaml").read_bytes())
    assert diagnostics == [] and settings.locale == "fr"
    notes = " ".join(settings.legal_notes_for("fr"))
    assert "Pénalités de retard" in notes and "40 €" in notes and "escompte" in notes
    assert cli("check", book=tmp_path / "fr").code == 0
    assert git(tmp_path / "fr", "status", "--porcelain") == ""
    # an English book has none, and says where they go
    assert cli("init", str(tmp_path / "en")).code == 0
    english, _ = parse_settings((tmp_path / "en" / "facturier.yaml").read_bytes())
    assert english.legal_notes == {} and english.locale == "en"
    assert "legal_notes:" in (tmp_path / "en" / "facturier.yaml").read_text()
