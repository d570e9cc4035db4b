"""The payment codes as a customer's banking app reads them (SPEC 8.3, issue 12):
the PDF that `facturier doc pdf` writes is rasterized by PDFium (pypdfium2) and
its QR codes decoded by ZXing (zxing-cpp), two tools independent of the ones
that drew them (qrbill, segno, Typst). The decoded text must be exactly the
EPC069-12 or Swiss QR-bill payload, with the invoice's open amount and the
reference a bank statement matches back; no code chosen, nothing to decode."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pypdfium2 as pdfium
import pytest
import zxingcpp
from stdnum import iso11649
from stdnum.ch import esr

from engine.bank import BankCredit, match_credits
from engine.book import load_book
from engine.payref import payment_reference
from engine.status import amounts

from test_paycode import IBANS, SWISS, SWISS_CONTACT, SWISS_INVOICE, swiss_book
from test_pdf import issuing_book, pdf_of

SCALE = 4                       # 288 dpi: a module of a 46 mm QR-bill code is ≈ 10 pixels
AS_OF = dt.date(2025, 4, 1)     # after the payments and the credit note of the fixtures
MM_PER_PIXEL = 25.4 / (72 * SCALE)


def decoded(pdf: bytes) -> list[tuple[int, zxingcpp.Barcode]]:
    """(page index, barcode) of every barcode ZXing finds on the pages of ``pdf``
    rendered in grey levels (any format, not only QR codes)."""
    found = []
    document = pdfium.PdfDocument(pdf)
    try:
        for index in range(len(document)):
            bitmap = document[index].render(scale=SCALE, grayscale=True)
            assert bitmap.n_channels == 1
            view = zxingcpp.ImageView(memoryview(bitmap.buffer), bitmap.width, bitmap.height,
                                      zxingcpp.ImageFormat.Lum, bitmap.stride)
            found.extend((index, code) for code in zxingcpp.read_barcodes(view))
    finally:
        document.close()
    return found


def only_qr_code(pdf: bytes) -> tuple[int, zxingcpp.Barcode]:
    codes = decoded(pdf)
    assert len(codes) == 1, [code.text for _, code in codes]
    page, code = codes[0]
    assert code.format == zxingcpp.BarcodeFormat.QRCode and code.valid
    assert code.ec_level == "M"         # EPC069-12 and SIX IG QR-bill 4.2.3 both require M
    return page, code


def matched_back(book, reference: str, amount: Decimal, currency: str) -> list:
    """What a bank statement's credit carrying only ``reference`` (no debtor,
    no text) is matched to by `import bank`'s rules."""
    credit = BankCredit(reference="stmt-1", date=AS_OF, amount=amount, currency=currency,
                        structured=reference)
    return [(m.outcome, m.document, m.how) for m in match_credits(book, [credit], AS_OF)]


def test_an_eur_invoice_on_a_french_iban_carries_exactly_the_epc_payload(make_book):
    root = issuing_book(make_book)
    book = load_book(root)
    doc = book.document("inv-42")
    _, code = only_qr_code(pdf_of(root, "inv-42"))
    text = code.bytes.decode("utf-8")
    # EPC069-12 v002: service tag, version, UTF-8, SEPA credit transfer, BIC, name,
    # IBAN, amount (1231.65 less the payment of 300 and the credit note of 120),
    # purpose (none), structured remittance: the ISO 11649 reference of 2025-0042
    assert text == ("BCD\n002\n1\nSCT\nAGRIFRPP\nAtelier Pixel SARL\n"
                    "FR7630006000011234567890189\nEUR811.65\n\nRF4020250042")
    fields = text.split("\n")
    assert Decimal(fields[7][3:]) == amounts(doc, book, AS_OF).open == Decimal("811.65")
    assert fields[9] == payment_reference(doc, book.settings) and iso11649.is_valid(fields[9])
    assert matched_back(book, fields[9], Decimal(fields[7][3:]), "EUR") == [
        ("matched", "inv-42", "reference")]


SWISS_PAYLOAD = [
    "SPC", "0200", "1",                                     # header: type, version, UTF-8
    "CH4431999123000889012",                                # the QR-IBAN
    "S", "Robert Schneider AG", "Rue du Lac", "1268", "2501", "Biel", "CH",   # creditor
    "", "", "", "", "", "", "",                             # ultimate creditor (reserved)
    "1200.00", "CHF",                                       # 1297.20 less the payment of 97.20
    "S", "Pia-Maria Rutschmann-Schnyder", "Grosse Marktgasse", "28", "9400", "Rorschach",
    "CH",                                                   # debtor
    "QRR", "000000000000000000202500423",                   # QR reference of 2025-0042
    "Facture 2025-0042", "EPD",                             # message, trailer
]


def test_a_chf_invoice_on_a_qr_iban_carries_exactly_the_qr_bill_payload(make_book):
    root = swiss_book(make_book)
    book = load_book(root)
    doc = book.document("inv-1")
    page, code = only_qr_code(pdf_of(root, "inv-1"))
    fields = code.bytes.decode("utf-8").split("\r\n")    # SIX IG 4.1.4: CR LF between fields
    assert fields == SWISS_PAYLOAD
    assert Decimal(fields[18]) == amounts(doc, book, AS_OF).open
    assert fields[28] == payment_reference(doc, book.settings) and esr.is_valid(fields[28])
    assert matched_back(book, fields[28], Decimal(fields[18]), "CHF") == [
        ("matched", "inv-1", "reference")]
    # where a scanner looks for it: in the payment part (right of the 62 mm receipt,
    # in the bottom 105 mm of the A4 page), 46 × 46 mm (SIX IG 3.5, 5.2)
    corners = code.position
    left, top = corners.top_left.x * MM_PER_PIXEL, corners.top_left.y * MM_PER_PIXEL
    width = (corners.top_right.x - corners.top_left.x) * MM_PER_PIXEL
    height = (corners.bottom_left.y - corners.top_left.y) * MM_PER_PIXEL
    assert page == 0 and left > 62 and top > 297 - 105
    assert abs(width - 46) < 1 and abs(height - 46) < 1


def test_an_eur_invoice_on_a_swiss_iban_gets_a_qr_bill_with_a_creditor_reference(make_book):
    root = make_book({"facturier.yaml": SWISS % (IBANS["CH"], "auto"),
                      "contacts/pia.yaml": SWISS_CONTACT,
                      "documents/2025/03/inv-1.yaml": SWISS_INVOICE.replace(
                          "date: 2025-03-05\n", "date: 2025-03-05\ncurrency: EUR\n", 1)})
    book = load_book(root)
    _, code = only_qr_code(pdf_of(root, "inv-1"))
    fields = code.bytes.decode("utf-8").split("\r\n")
    assert fields[3] == IBANS["CH"] and fields[18:20] == ["1200.00", "EUR"]
    assert fields[27:29] == ["SCOR", "RF4020250042"]       # no QR-IBAN: ISO 11649
    assert matched_back(book, fields[28], Decimal("1200.00"), "EUR") == [
        ("matched", "inv-1", "reference")]


@pytest.mark.parametrize("case", ["payment_qr none", "USD invoice", "draft", "paid"])
def test_no_code_chosen_nothing_decodes(make_book, case):
    setting = "none" if case == "payment_qr none" else "auto"
    invoice = SWISS_INVOICE
    if case == "USD invoice":
        invoice = invoice.replace("date: 2025-03-05\n", "date: 2025-03-05\ncurrency: USD\n", 1)
    elif case == "draft":
        invoice = invoice.replace("number: 2025-0042\nvalidated: 2025-03-05\n", "")
    elif case == "paid":
        invoice = invoice.replace('"97.20"', '"1297.20"')
    root = make_book({"facturier.yaml": SWISS % (IBANS["CH-QR"], setting),
                      "contacts/pia.yaml": SWISS_CONTACT,
                      "documents/2025/03/inv-1.yaml": invoice})
    assert decoded(pdf_of(root, "inv-1")) == []
