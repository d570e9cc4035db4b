"""Payment codes (SPEC 8.3): which code `payment_qr` chooses (currency × IBAN
country × setting), the EPC QR payload field by field against EPC069-12, the
Swiss QR-bill as the qrbill library validates it (with python-stdnum checking
the references independently), and the PDFs that carry them: the same bytes
twice, the payment part's words on the page."""
from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader
from stdnum import iso11649
from stdnum.ch import esr

from engine.book import load_book
from engine.paycode import choose, code_kind, epc_payload, payment_code, qr_bill
from engine.payref import reference_key
from engine.pdf import render_document

from test_pdf import issuing_book, pdf_of

IBANS = {"CH": "CH9300762011623852957", "CH-QR": "CH4431999123000889012",
         "LI": "LI0508800636123378777", "FR": "FR7630006000011234567890189",
         "DE": "DE89370400440532013000", "": ""}

# setting, currency, IBAN -> code
TABLE = [
    ("auto", "CHF", "CH", "swiss"), ("auto", "EUR", "CH", "swiss"),
    ("auto", "CHF", "CH-QR", "swiss"), ("auto", "EUR", "LI", "swiss"),
    ("auto", "USD", "CH", None), ("auto", "EUR", "FR", "epc"), ("auto", "EUR", "DE", "epc"),
    ("auto", "CHF", "DE", None), ("auto", "GBP", "FR", None), ("auto", "EUR", "", None),
    ("swiss", "CHF", "CH", "swiss"), ("swiss", "EUR", "FR", None), ("swiss", "USD", "LI", None),
    ("epc", "EUR", "CH", "epc"), ("epc", "EUR", "FR", "epc"), ("epc", "CHF", "CH", None),
    ("epc", "EUR", "", None),
    ("none", "CHF", "CH", None), ("none", "EUR", "FR", None),
]


@pytest.mark.parametrize("setting,currency,iban,expected", TABLE)
def test_payment_qr_chooses_by_currency_and_iban_country(setting, currency, iban, expected):
    assert choose(setting, currency, IBANS[iban]) == expected


SWISS = """\
company:
  name: Robert Schneider AG
  address: {street: Rue du Lac, number: "1268", postcode: "2501", city: Biel, country: CH}
  vat_id: CHE-123.456.789 MWST
  iban: %s
currency: CHF
locale: fr
vat: "8.1"
payment_qr: %s
"""
SWISS_CONTACT = """\
name: Pia-Maria Rutschmann-Schnyder
email: ap@pia.example
address: {street: Grosse Marktgasse, number: "28", postcode: "9400", city: Rorschach, country: CH}
vat_id: CHE-987.654.321
"""
SWISS_INVOICE = """\
kind: invoice
customer: pia
date: 2025-03-05
number: 2025-0042
validated: 2025-03-05
lines:
  - {description: Hosting, quantity: 1, unit_price: "1200.00"}
payments: [{date: 2025-03-20, amount: "97.20"}]
"""


def swiss_book(make_book, iban=IBANS["CH-QR"], setting="auto", contact=SWISS_CONTACT):
    return make_book({"facturier.yaml": SWISS % (iban, setting), "contacts/pia.yaml": contact,
                      "documents/2025/03/inv-1.yaml": SWISS_INVOICE,
                      "documents/2025/03/inv-2.yaml": SWISS_INVOICE.replace(
                          "number: 2025-0042\nvalidated: 2025-03-05\n", "")})


def test_qr_bill_on_a_qr_iban_carries_the_qr_reference_and_structured_addresses(make_book):
    book = load_book(swiss_book(make_book))
    code = payment_code(book, book.document("inv-1"))
    assert code is not None and code["kind"] == "swiss"
    fields = code["payload"].split("\r\n")
    # SIX IG QR-bill v2.3, 4.3.3: header, account, creditor (S = structured), ultimate
    # creditor (empty), amount, currency, debtor, reference, message, trailer
    assert fields[:4] == ["SPC", "0200", "1", "CH4431999123000889012"]
    assert fields[4:11] == ["S", "Robert Schneider AG", "Rue du Lac", "1268", "2501", "Biel", "CH"]
    assert fields[11:18] == [""] * 7
    assert fields[18:20] == ["1200.00", "CHF"]          # the total less the payment recorded
    assert fields[20:27] == ["S", "Pia-Maria Rutschmann-Schnyder", "Grosse Marktgasse", "28",
                             "9400", "Rorschach", "CH"]
    assert fields[27] == "QRR" and esr.is_valid(fields[28])
    assert reference_key(fields[28]) == reference_key("000000000000000000202500423")
    assert fields[29:] == ["Facture 2025-0042", "EPD"]
    assert code["svg"].startswith("<?xml") and "Section paiement" in code["svg"]
    assert 'font-family="Liberation Sans"' in code["svg"]


def test_qr_bill_on_a_plain_iban_uses_the_creditor_reference(make_book):
    book = load_book(swiss_book(make_book, iban=IBANS["CH"]))
    bill = qr_bill(book, book.document("inv-1"), "en")
    fields = bill.qr_data().split("\r\n")
    assert fields[27] == "SCOR" and iso11649.is_valid(fields[28])
    assert fields[28] == "RF4020250042"
    assert "Payment part" in payment_code(book, book.document("inv-1"), "en")["svg"]


def test_qr_bill_without_a_structured_customer_address_leaves_the_debtor_empty(make_book):
    contact = SWISS_CONTACT.replace(
        'address: {street: Grosse Marktgasse, number: "28", postcode: "9400", city: Rorschach, '
        'country: CH}', "address: |\n  Grosse Marktgasse 28\n  9400 Rorschach")
    book = load_book(swiss_book(make_book, contact=contact))
    fields = payment_code(book, book.document("inv-1"))["payload"].split("\r\n")
    assert fields[20:27] == [""] * 7


@pytest.mark.parametrize("doc_id,setting,kind", [
    ("inv-1", "auto", "swiss"), ("inv-1", "none", None), ("inv-1", "epc", None),
    ("inv-2", "auto", None),                     # a draft: no number, no reference, no code
])
def test_which_invoices_get_a_code(make_book, doc_id, setting, kind):
    book = load_book(swiss_book(make_book, setting=setting))
    assert code_kind(book, book.document(doc_id)) == kind


def test_a_paid_invoice_credit_note_or_quote_gets_no_code(make_book):
    book = load_book(issuing_book(make_book))
    assert code_kind(book, book.document("inv-42")) == "epc"
    for doc_id in ("cn-1", "q-1", "inv-draft"):
        assert payment_code(book, book.document(doc_id)) is None
    paid = make_book({"facturier.yaml": SWISS % (IBANS["CH"], "auto"),
                      "contacts/pia.yaml": SWISS_CONTACT,
                      "documents/2025/03/inv-1.yaml": SWISS_INVOICE.replace('"97.20"', '"1297.20"')})
    book = load_book(paid)
    assert code_kind(book, book.document("inv-1")) is None


def test_a_company_address_in_free_lines_gives_no_qr_bill(make_book):
    root = swiss_book(make_book)
    settings = (root / "facturier.yaml").read_text().replace(
        '{street: Rue du Lac, number: "1268", postcode: "2501", city: Biel, country: CH}',
        '"Rue du Lac 1268, 2501 Biel"')
    (root / "facturier.yaml").write_text(settings)
    book = load_book(root)
    assert code_kind(book, book.document("inv-1")) is None


def test_epc_payload_follows_epc069_12_field_order(make_book):
    book = load_book(issuing_book(make_book))
    code = payment_code(book, book.document("inv-42"))
    assert code is not None and code["kind"] == "epc"
    payload = code["payload"]
    fields = payload.split("\n")
    # EPC069-12 v2: service tag, version, character set (1 = UTF-8), identification,
    # BIC, beneficiary name, IBAN, amount (1231.65 less the payment of 300 and the
    # credit note of 120), purpose, structured remittance (RF)
    assert fields == ["BCD", "002", "1", "SCT", "AGRIFRPP", "Atelier Pixel SARL",
                      "FR7630006000011234567890189", "EUR811.65", "", "RF4020250042"]
    assert iso11649.is_valid(fields[9])
    assert len(payload.encode("utf-8")) <= 331
    assert code["svg"].startswith("<svg") and "<path" in code["svg"]


def test_epc_payload_text_when_there_is_no_creditor_reference():
    payload = epc_payload("Zürich Bäckerei GmbH", "DE89370400440532013000", Decimal("12.3"),
                          text="Invoice 2025/Ä-1")
    assert payload.split("\n") == ["BCD", "002", "1", "SCT", "", "Zürich Bäckerei GmbH",
                                   "DE89370400440532013000", "EUR12.30", "", "",
                                   "Invoice 2025/Ä-1"]


def test_epc_and_swiss_pdfs_are_the_same_bytes_twice(make_book):
    for root, doc_id in ((issuing_book(make_book), "inv-42"), (swiss_book(make_book), "inv-1")):
        book = load_book(root)
        doc = book.document(doc_id)
        first = render_document(book, doc)
        assert render_document(book, doc) == first
        assert pdf_of(root, doc_id) == first            # another process: the same bytes


def test_the_qr_bill_payment_part_is_on_the_page(make_book):
    root = swiss_book(make_book)
    reader = PdfReader(io.BytesIO(pdf_of(root, "inv-1")))
    text = reader.pages[-1].extract_text()
    for words in ("Section paiement", "Récépissé", "CH44 3199 9123 0008 8901 2",
                  "00 00000 00000 00000 02025 00423", "CHF 1 200.00", "Payable par"):
        assert words in text
    fonts = {str(f.get_object()["/BaseFont"]).split("+")[-1]
             for f in reader.pages[-1]["/Resources"]["/Font"].values()}
    assert {"LiberationSans", "LiberationSans-Bold"} <= fonts


def test_payment_qr_none_leaves_the_code_out_of_the_pdf(make_book):
    with_code = pdf_of(swiss_book(make_book), "inv-1")
    without = pdf_of(swiss_book(make_book, setting="none"), "inv-1")
    assert "Section paiement" not in PdfReader(io.BytesIO(without)).pages[-1].extract_text()
    assert len(without) < len(with_code)
