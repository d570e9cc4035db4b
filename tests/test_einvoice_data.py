"""What an e-invoice needs (SPEC 2, 8.2): `check` warns, naming the field, once
on facturier.yaml and once on each business customer's file; issuing refuses
(`doc send`, a recurrence with `issue: send`), naming the fields, in the
person's language; nothing is asked when no e-invoice is made."""
from __future__ import annotations

import pytest
import yaml

from engine.book import load_book
from engine.einvoice import missing_einvoice_data
from engine.recurrence import check_recurrence

from conftest import git
from test_daily_support import facturier as daily_facturier
from test_daily_support import free_port, recurrence
from test_pdf import facturier

FULL_COMPANY = """\
company:
  name: Atelier Pixel SARL
  address: {street: Rue des Tanneurs, number: "12", postcode: "69001", city: Lyon, country: FR}
  vat_id: FR32812345678
"""
BARE_COMPANY = "company: {name: Atelier Pixel SARL}\n"
BUSINESS = "name: Brightside SAS\nemail: ap@bright.example\nvat_id: FR45123456789\n" \
           "address: |\n  Place Bellecour 4\n  69002 Lyon\n"
PRIVATE = "name: Jeanne Martin\nemail: jeanne@example.org\n"
INVOICE = """\
kind: invoice
customer: %s
date: 2025-03-05
number: 2025-0001
validated: 2025-03-05
lines: [{description: Design, quantity: 1, unit_price: "100.00", vat: "20"}]
"""


def book_of(make_book, settings, contact=BUSINESS, customer="bright", port=25):
    return make_book({
        "facturier.yaml": settings + "currency: EUR\nemail: {from: billing@pixel.example, "
                                     "smtp_host: 127.0.0.1, smtp_port: %d}\n" % port,
        "contacts/%s.yaml" % customer: contact,
        "documents/2025/03/inv-1.yaml": INVOICE % customer})


def warnings(root) -> list[str]:
    done = facturier("--lang", "en", "check", book=root)
    output = done.stdout.decode() + done.stderr.decode()
    return [line for line in output.splitlines() if "e-invoice" in line]


def test_check_warns_once_per_file_naming_each_field(make_book):
    found = warnings(book_of(make_book, BARE_COMPANY))
    assert [line.split(": warning: ")[0].split(":")[0] for line in found] == \
        ["contacts/bright.yaml", "facturier.yaml", "facturier.yaml"]
    text = "\n".join(found)
    assert "needs company.address (the mapping {street, number, postcode, city, country})" in text
    assert "needs company.vat_id" in text
    assert "contacts/bright.yaml:4:" in text and "needs address (the mapping" in text


@pytest.mark.parametrize("settings,contact,expected", [
    (FULL_COMPANY, BUSINESS.replace("address: |\n  Place Bellecour 4\n  69002 Lyon\n",
                                    "address: {street: Place Bellecour, city: Lyon, "
                                    "country: FR}\n"), []),
    (FULL_COMPANY, PRIVATE, []),                                    # a private customer
    (FULL_COMPANY, BUSINESS.replace("vat_id: FR45123456789\n", "einvoice: ubl\n"),
     ["contacts/bright.yaml: address (the mapping {street, number, postcode, city, country})",
      "contacts/bright.yaml: vat_id"]),                             # asks for e-invoices
    (FULL_COMPANY.replace('postcode: "69001", ', ""), PRIVATE, ["company.address.postcode"]),
    (BARE_COMPANY + "einvoice: none\n", PRIVATE, []),               # no e-invoice is made
    (BARE_COMPANY + "einvoice: none\n", PRIVATE + "einvoice: xrechnung\n",
     ["company.address (the mapping {street, number, postcode, city, country})",
      "company.vat_id", "contacts/bright.yaml: address (the mapping {street, number, postcode, "
      "city, country})", "contacts/bright.yaml: vat_id"]),
])
def test_what_is_missing_depends_on_who_gets_an_e_invoice(make_book, settings, contact, expected):
    book = load_book(book_of(make_book, settings, contact))
    assert missing_einvoice_data(book, book.document("inv-1")) == expected
    assert bool(warnings(book.root)) == bool(expected)


def test_doc_send_refuses_naming_the_fields_and_sends_nothing(make_book):
    root = book_of(make_book, BARE_COMPANY, port=free_port())
    done = facturier("--lang", "fr", "doc", "send", "inv-1", book=root)
    assert done.returncode == 1
    err = done.stderr.decode()
    assert "facture 2025-0001 (inv-1) ne peut pas être émise" in err
    assert "company.vat_id" in err and "contacts/bright.yaml: address" in err
    assert "deliveries" not in yaml.safe_load((root / "documents/2025/03/inv-1.yaml").read_text())
    assert git(root, "rev-list", "--count", "HEAD").strip() == "1"
    done = facturier("--lang", "en", "doc", "send", "inv-1", book=root)
    assert "invoice 2025-0001 (inv-1) cannot be issued: its e-invoice (EN 16931) lacks " \
           "company.address" in done.stderr.decode()


def test_a_recurrence_that_sends_stops_with_the_missing_fields_one_that_drafts_does_not(make_book):
    root = book_of(make_book, BARE_COMPANY)
    for issue in ("send", "validate", "draft"):
        (root / "recurrences").mkdir(exist_ok=True)
        (root / "recurrences" / ("r-%s.yaml" % issue)).write_text(
            recurrence(template="inv-1", issue=issue))
    book = load_book(root)
    cause = check_recurrence(book.recurrences["r-send"], book)
    assert cause is not None
    assert str(cause).startswith("this recurrence sends its invoices, and their e-invoice "
                                 "(EN 16931) lacks company.address")
    assert "contacts/bright.yaml: address" in cause.render("fr")
    assert cause.render("fr").startswith("cette récurrence envoie ses factures")
    assert check_recurrence(book.recurrences["r-validate"], book) is None
    assert check_recurrence(book.recurrences["r-draft"], book) is None


def test_the_daily_run_stops_a_sending_recurrence_and_says_why(make_book):
    root = book_of(make_book, BARE_COMPANY)
    (root / "recurrences").mkdir()
    (root / "recurrences" / "r.yaml").write_text(recurrence(template="inv-1", issue="send"))
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a recurrence")
    done = daily_facturier(root, "--as-of", "2025-02-01", "run")
    stopped = yaml.safe_load((root / "recurrences" / "r.yaml").read_text())["stopped"]
    assert "company.vat_id" in stopped["cause"], done.stderr
    assert [p.name for p in (root / "documents").rglob("*.yaml")] == ["inv-1.yaml"]


def test_check_says_it_in_french_too(make_book):
    root = book_of(make_book, BARE_COMPANY)
    done = facturier("--lang", "fr", "check", book=root)
    out = done.stdout.decode()
    assert "facturier.yaml:1:1 : avertissement : une facture électronique (EN 16931) demande " \
           "company.vat_id : l'émission d'une facture ou d'une note de crédit est refusée" in out
    assert "contacts/bright.yaml:4:1 : avertissement : une facture électronique (EN 16931) à ce " \
           "client demande address (the mapping" in out


def test_check_warns_when_a_qr_bill_cannot_be_made(make_book):
    settings = FULL_COMPANY.replace(
        '{street: Rue des Tanneurs, number: "12", postcode: "69001", city: Lyon, country: FR}',
        "{street: Rue du Lac, city: Biel, country: CH}") + "  iban: CH9300762011623852957\n"
    done = facturier("--lang", "en", "check", book=book_of(make_book, settings))
    found = [line for line in done.stdout.decode().splitlines() if "QR-bill" in line]
    assert found == ["facturier.yaml:1:1: warning: a Swiss QR-bill (payment_qr: auto) needs "
                     "company.address.postcode: invoices are printed without one until it is set"]
