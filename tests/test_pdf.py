"""`facturier doc pdf` (SPEC 8.1): the page of every kind, read back with pypdf;
drafts; the legal notes; PDF/A-3b; the same bytes from two processes; a
book's own template."""
from __future__ import annotations

import io
import os
import subprocess
import sys

import pytest
from pypdf import PdfReader

from conftest import REPO, git

SETTINGS = """\
company:
  name: Atelier Pixel SARL
  address: {street: Rue des Tanneurs, number: "12", postcode: "69001", city: Lyon, country: FR}
  email: billing@pixel.example
  phone: "+33 4 00 00 00 00"
  vat_id: FR32812345678
  registration: SIRET 812 345 678 00012
  iban: FR76 3000 6000 0112 3456 7890 189
  bic: AGRIFRPP
currency: EUR
locale: fr
vat: "20"
legal_notes:
  fr: ["Indemnité forfaitaire pour frais de recouvrement : 40 €."]
  en: ["Late payment: 40 EUR recovery fee."]
"""
CONTACT = """\
name: Brightside SAS
email: ap@brightside.example
address: {street: Place Bellecour, number: "4", postcode: "69002", city: Lyon, country: FR}
vat_id: FR45123456789
buyer_reference: PO-7781
"""
INVOICE = """\
kind: invoice
customer: bright
date: 2025-03-05
number: 2025-0042
validated: 2025-03-05
lines:
  - {description: Site design, quantity: 2, unit_price: "500.00", vat: "20"}
  - {description: Printed book, quantity: 3, unit_price: "10.00", vat: "5.5"}
payments: [{date: 2025-03-20, amount: "300.00", reference: bank 1}]
"""
CREDIT = """\
kind: credit_note
customer: bright
date: 2025-03-25
number: CN-2025-0001
validated: 2025-03-25
credits: inv-42
lines:
  - {description: Site design (credit), quantity: 1, unit_price: "100.00", vat: "20"}
"""
DRAFT = """\
kind: invoice
customer: bright
date: 2025-04-01
lines: [{description: Hosting April, quantity: 1, unit_price: "45.00"}]
"""
OTHERS = {
    "q-1": "kind: quote\ncustomer: bright\ndate: 2025-01-10\nnumber: Q-2025-0001\n"
           "validated: 2025-01-10\nlines: [{description: Redesign offer, quantity: 1, "
           "unit_price: '900'}]\n",
    "wo-1": "kind: work_order\ncustomer: bright\ndate: 2025-01-12\n"
            "lines: [{description: Install work, quantity: 4, unit_price: '60'}]\n",
    "exp-1": "kind: expense\nsupplier: bright\ndate: 2025-01-15\ntotal: '99.90'\n",
}


def issuing_book(make_book):
    """A French book with one invoice, its credit note, a draft and one document
    of each other kind."""
    files = {"facturier.yaml": SETTINGS, "contacts/bright.yaml": CONTACT,
             "documents/2025/03/inv-42.yaml": INVOICE,
             "documents/2025/03/cn-1.yaml": CREDIT,
             "documents/2025/04/inv-draft.yaml": DRAFT}
    for doc_id, text in OTHERS.items():
        files["documents/2025/01/%s.yaml" % doc_id] = text
    return make_book(files)


@pytest.fixture
def book(make_book):
    return issuing_book(make_book)


def facturier(*args, cwd=REPO, book=None) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "tui.entry"] + (["--book", str(book)] if book else [])
    return subprocess.run(cmd + list(args), capture_output=True, cwd=str(cwd),
                          env=dict(os.environ, PYTHONPATH=str(REPO)))


def pdf_of(book, doc_id, *extra) -> bytes:
    done = facturier(*extra, "doc", "pdf", doc_id, "-o", "-", book=book)
    assert done.returncode == 0, done.stderr.decode()
    assert done.stdout.startswith(b"%PDF-")
    return done.stdout


def text_of(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def flat(text: str) -> str:
    return " ".join(text.replace("\u00a0", " ").replace("\u202f", " ").split())


def test_an_invoice_shows_everything_spec_8_1_lists(book):
    text = flat(text_of(pdf_of(book, "inv-42")))
    for expected in [
        "Atelier Pixel SARL", "Rue des Tanneurs 12", "69001 Lyon", "FR32812345678",
        "SIRET 812 345 678 00012", "billing@pixel.example",            # the seller
        "Brightside SAS", "Place Bellecour 4", "69002 Lyon", "FR45123456789", "PO-7781",
        "Facture", "2025-0042", "5 mars 2025", "4 avril 2025",          # kind, number, dates
        "Site design", "500,00 €", "1 000,00 €", "Printed book", "5,5 %", "30,00 €",
        "TVA 20 % sur 1 000,00 € 200,00 €", "TVA 5,5 % sur 30,00 € 1,65 €",  # VAT per rate
        "Total HT 1 030,00 €", "Total TTC 1 231,65 €",
        "Paiement du 20 mars 2025 -300,00 €",
        "Note de crédit CN-2025-0001 -120,00 €", "Reste à payer 811,65 €",
        "FR76 3000 6000 0112 3456 7890 189", "AGRIFRPP", "RF40 2025 0042",  # payment details
        "Indemnité forfaitaire pour frais de recouvrement : 40 €.",     # legal notes (fr)
    ]:
        assert expected in text, expected
    assert "BROUILLON" not in text and "40 EUR" not in text


def test_english_on_request(book):
    text = flat(text_of(pdf_of(book, "inv-42", "--lang", "en")))
    assert "Invoice" in text and "Total €1,231.65" in text and "Amount due €811.65" in text
    assert "Late payment: 40 EUR recovery fee." in text and "Indemnité" not in text


def test_a_credit_note_names_the_invoice_it_credits(book):
    text = flat(text_of(pdf_of(book, "cn-1")))
    assert "Note de crédit" in text and "CN-2025-0001" in text
    assert "facture 2025-0042 du 5 mars 2025" in text


def test_a_draft_says_so_and_has_no_number(book):
    text = flat(text_of(pdf_of(book, "inv-draft")))
    assert "BROUILLON" in text and "Hosting April" in text and "54,00 €" in text
    assert "N° 20" not in text and "2025-0" not in text
    english = flat(text_of(pdf_of(book, "inv-draft", "--lang", "en")))
    assert "DRAFT" in english


@pytest.mark.parametrize("doc_id,words", [
    ("q-1", ["Offre", "Q-2025-0001", "Redesign offer", "1 080,00 €"]),
    ("wo-1", ["Bon de travail", "BROUILLON", "Install work", "288,00 €"]),
    ("exp-1", ["Dépense", "Brightside SAS", "99,90 €"]),
])
def test_every_kind_renders(book, doc_id, words):
    text = flat(text_of(pdf_of(book, doc_id)))
    for word in words:
        assert word in text, word


def test_invoices_and_credit_notes_are_pdf_a_3b_dated_by_the_document(book):
    for doc_id, day in (("inv-42", "20250305"), ("cn-1", "20250325")):
        reader = PdfReader(io.BytesIO(pdf_of(book, doc_id)))
        xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
        assert "<pdfaid:part>3</pdfaid:part>" in xmp and "<pdfaid:conformance>B" in xmp
        assert reader.metadata["/CreationDate"].startswith("D:" + day)
    quote = PdfReader(io.BytesIO(pdf_of(book, "q-1")))
    assert "/Metadata" not in quote.trailer["/Root"] or "pdfaid:part" not in \
        quote.trailer["/Root"]["/Metadata"].get_object().get_data().decode()


def test_two_processes_give_the_same_bytes(book):
    assert pdf_of(book, "inv-42") == pdf_of(book, "inv-42")


def test_default_file_name_is_the_number_in_the_current_folder(book, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    done = facturier("doc", "pdf", "inv-42", cwd=out, book=book)
    assert done.returncode == 0, done.stderr
    assert (out / "2025-0042.pdf").read_bytes().startswith(b"%PDF-")
    done = facturier("doc", "pdf", "inv-draft", cwd=out, book=book)
    assert (out / "inv-draft.pdf").exists()
    done = facturier("doc", "pdf", "inv-42", "-o", str(tmp_path / "x.pdf"), book=book)
    assert done.returncode == 0 and (tmp_path / "x.pdf").exists()
    assert sorted(p.name for p in out.iterdir()) == ["2025-0042.pdf", "inv-draft.pdf"]


def test_unknown_document_and_unwritable_output_are_refused(book, tmp_path):
    done = facturier("--lang", "en", "doc", "pdf", "nope", book=book)
    assert done.returncode == 1 and b"no document 'nope'" in done.stderr
    done = facturier("--lang", "en", "doc", "pdf", "inv-42", "-o", str(tmp_path / "no" / "x.pdf"),
                     book=book)
    assert done.returncode == 1 and b"cannot write" in done.stderr and b"Traceback" not in done.stderr


def test_a_book_template_replaces_the_shipped_one(book):
    (book / "templates").mkdir()
    (book / "templates" / "document.typ").write_text(
        '#let d = json(bytes(sys.inputs.data))\n#set text(font: "Lato")\n'
        "Our own layout: #d.title #d.number, #d.total\n")
    git(book, "add", "-A")
    git(book, "commit", "-q", "-m", "own template")
    text = flat(text_of(pdf_of(book, "inv-42")))
    assert text == "Our own layout: Facture 2025-0042, 1 231,65 €"
    (book / "templates" / "document.typ").write_text("#let x = (\n")
    done = facturier("doc", "pdf", "inv-42", "-o", "-", book=book)
    # the message is in the book's language (French here)
    assert done.returncode == 1 and b"templates/document.typ ne compile pas" in done.stderr
