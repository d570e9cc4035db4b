"""SPEC 6 as a user meets it at the command line: documents addressed by
number, tables that never cut an id, one repair choice, amounts and addresses
read one way."""
from __future__ import annotations

import json

import pytest

from tests.conftest import git

SETTINGS = 'currency: CHF\nvat: "8.1"\nnumbering:\n  quote: "{year}-{seq:04d}"\n'
CONTACT = "name: ACME SA\nemail: ap@acme.example\n"


def _invoice(number: str, paid: str = "") -> str:
    return ("kind: invoice\ncustomer: acme\ndate: 2025-01-05\nnumber: %s\nvalidated: 2025-01-05\n"
            "lines:\n  - {description: Work, quantity: 1, unit_price: \"100.00\"}\n%s"
            % (number, paid))


QUOTE_0001 = ("kind: quote\ncustomer: acme\ndate: 2025-01-06\nnumber: 2025-0001\n"
              "validated: 2025-01-06\nlines:\n  - {description: Offer, quantity: 1, "
              "unit_price: \"10\"}\n")


@pytest.fixture
def numbered(make_book):
    return make_book({"facturier.yaml": SETTINGS, "contacts/acme.yaml": CONTACT,
                      "documents/2025/01/inv-20250105-aaaa.yaml": _invoice("2025-0001"),
                      "documents/2025/01/inv-20250105-bbbb.yaml": _invoice("2025-0002"),
                      "documents/2025/01/q-20250106-cccc.yaml": QUOTE_0001})


# --------------------------------------------------------------------------- by number

def test_a_document_is_addressed_by_its_number(cli, numbered):
    r = cli("--as-of", "2025-01-20", "doc", "pay", "2025-0002", "50", book=numbered)
    assert r.code == 0, r
    assert "Record payment of 50.00 CHF on invoice 2025-0002 (inv-20250105-bbbb)" in r.err
    r = cli("--as-of", "2025-01-20", "doc", "show", "2025-0002", "--format", "json", book=numbered)
    assert r.code == 0, r
    data = json.loads(r.out)
    assert (data["id"], data["paid"]) == ("inv-20250105-bbbb", "50.00")
    r = cli("log", "2025-0002", "--format", "json", book=numbered)
    assert r.code == 0, r
    assert [e["action"] for e in json.loads(r.out)][-1] == "document.payment"


def test_ids_still_work_and_ignore_case(cli, numbered):
    r = cli("--as-of", "2025-01-20", "doc", "hold", "INV-20250105-AAAA", book=numbered)
    assert r.code == 0, r
    assert "inv-20250105-aaaa" in r.err


def test_a_number_two_kinds_share_is_refused_with_the_candidates(cli, numbered):
    head = git(numbered, "rev-parse", "HEAD")
    for args in (("doc", "pay", "2025-0001", "50"), ("doc", "show", "2025-0001"),
                 ("doc", "hold", "2025-0001"), ("log", "2025-0001")):
        r = cli("--as-of", "2025-01-20", *args, book=numbered)
        assert r.code == 1, (args, r)
        assert "2025-0001 is the number of 2 documents" in r.err, r
        assert "invoice 2025-0001 (inv-20250105-aaaa)" in r.err
        assert "quote 2025-0001 (q-20250106-cccc)" in r.err
        assert "Traceback" not in r.err
    assert git(numbered, "rev-parse", "HEAD") == head


def test_an_unknown_number_says_so(cli, numbered):
    r = cli("doc", "pay", "2025-0099", "5", book=numbered)
    assert r.code == 1 and "no document '2025-0099'" in r.err, r


def test_a_credit_note_names_its_invoice_by_number(cli, numbered):
    r = cli("--as-of", "2025-01-20", "doc", "new", "--kind", "credit_note", "--customer", "acme",
            "--credits", "2025-0002", "--line", "Refund;1;10", book=numbered)
    assert r.code == 0, r
    r = cli("doc", "show", r.out.strip(), "--format", "json", book=numbered)
    assert json.loads(r.out)["credits"] == "inv-20250105-bbbb"


def test_resolution_in_the_engine_prefers_an_id_to_a_number():
    from engine.diagnostics import ActionRefused
    from engine.lookup import resolve_document
    from engine.loader import parse_file
    from engine.model import Book
    docs = {}
    for path, text in (("documents/2025-0001.yaml", _invoice("2025-0002")),
                       ("documents/inv-b.yaml", _invoice("2025-0001")),
                       ("documents/inv-c.yaml", _invoice("F-7"))):
        _, record, problems = parse_file(path, text)
        assert not problems
        docs[record.id] = record
    book = Book(documents=docs)
    assert resolve_document(book, "2025-0001").id == "2025-0001"      # the id, not inv-b's number
    assert resolve_document(book, "2025-0002").id == "2025-0001"
    assert resolve_document(book, "f-7").id == "inv-c"
    with pytest.raises(ActionRefused, match="no document 'F-8'"):
        resolve_document(book, "F-8")
