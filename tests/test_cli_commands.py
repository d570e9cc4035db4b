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


# --------------------------------------------------------------------------- tables

LONG_NAME = "Compagnie Générale des Établissements Industriels du Léman et Environs SA"
LONG_ID = "inv-20261130-jimx"
REC_ID = "hosting-and-maintenance-of-the-customer-portal"


@pytest.fixture
def wide(make_book):
    """A book whose table cells are wider than 80 columns put together."""
    files = {"facturier.yaml": SETTINGS,
             "contacts/compagnie-generale.yaml": "name: %s\nemail: ap@cg.example\n" % LONG_NAME,
             "documents/2026/11/%s.yaml" % LONG_ID:
                 _invoice("2026-0001").replace("customer: acme", "customer: compagnie-generale")
                 .replace("2025-01-05", "2026-11-30"),
             "recurrences/%s.yaml" % REC_ID:
                 "name: %s\ntemplate: %s\nrule: FREQ=MONTHLY;BYMONTHDAY=1\nstart: 2026-12-01\n"
                 % (LONG_NAME, LONG_ID)}
    for i in range(3):
        files["documents/2026/11/%s-2026-1%d-01.yaml" % (REC_ID, i)] = (
            "kind: invoice\ncustomer: compagnie-generale\ndate: 2026-11-0%d\nrecurrence: %s\n"
            "occurrence: 2026-11-0%d\nlines:\n  - {description: Hosting, quantity: 1, "
            "unit_price: \"10\"}\n" % (i + 1, REC_ID, i + 1))
    return make_book(files)


def _table_lines(out: str) -> list[str]:
    lines = out.rstrip("\n").split("\n")
    assert set(lines[1].replace(" ", "")) <= {"-"}, out     # the rule under the headings
    return lines


def test_tables_never_cut_ids_numbers_or_actions_at_80_columns(cli, wide):
    r = cli("--as-of", "2026-12-20", "doc", "pay", "2026-0001", "10", book=wide)
    assert r.code == 0, r
    r = cli("--as-of", "2026-12-20", "status", book=wide)           # piped, COLUMNS=80
    lines = _table_lines(r.out)
    assert len(lines) == 2 + 4                                      # one line per document
    for i in range(3):
        assert any(line.startswith("%s-2026-1%d-01 ↻ " % (REC_ID, i)) for line in lines), r.out
    assert any(line.startswith("2026-0001 ") for line in lines), r.out
    assert all("CHF" in line for line in lines[2:])                # the amount is whole
    assert "…" in r.out                                             # the contact was shortened
    r = cli("log", "--format", "table", book=wide)
    lines = _table_lines(r.out)
    assert any("document.payment" in line for line in lines), r.out
    for line in lines[2:]:
        assert len(line.split()[2]) == 10                           # the commit, whole
    r = cli("--as-of", "2026-12-20", "recurrence", "list", book=wide)
    lines = _table_lines(r.out)
    assert lines[2].startswith(REC_ID + "  "), r.out
    assert "  2026-12-01  active" in lines[2] and "…" in lines[2]
    # the id alone takes more than half the width: the other texts give way
    assert "  Compa…  compa…  " in lines[2]


def test_a_table_fits_80_columns_when_the_whole_cells_allow_it(cli, wide):
    r = cli("--as-of", "2026-12-20", "contact", "list", book=wide)
    assert all(len(line) <= 80 for line in r.out.splitlines()), r.out
    assert "compagnie-generale " in r.out


def test_piped_without_columns_keeps_every_cell_whole(cli, wide):
    r = cli("--as-of", "2026-12-20", "status", book=wide, env={"COLUMNS": ""})
    assert r.code == 0, r
    assert "…" not in r.out and LONG_NAME in r.out
    assert len(r.out.rstrip("\n").split("\n")) == 2 + 4


# --------------------------------------------------------------------------- input

@pytest.mark.parametrize("args, code, said", [
    (("doc", "pay", "2025-0002", "1e3"), 2, "'1e3' is not a number"),
    (("doc", "pay", "2025-0002", "1_000"), 2, "'1_000' is not a number"),
    (("doc", "pay", "2025-0002", "nan"), 2, "'nan' is not a number"),
    (("doc", "pay", "2025-0002", "1000000000000000"), 1,
     "the payment 1000000000000000 is too large (at most 15 digits"),
    (("doc", "new", "--customer", "acme", "--line", "Work;1;1000000000000000"), 1,
     "field 'lines.1.unit_price': 1000000000000000 is too large"),
    (("doc", "pay", "2025-0002", "-5"), 1, "the payment must be more than zero, not -5"),
    (("doc", "pay", "2025-0002", "0"), 1, "the payment must be more than zero, not 0"),
    (("doc", "pay", "2025-0002", "5.001"), 1, "more decimals than CHF allows"),
    (("doc", "discount", "2025-0002", "-5"), 1, "the discount must be more than zero, not -5"),
    (("doc", "credit", "2025-0002", "--amount", "-5"), 1, "the credit must be more than zero"),
    (("doc", "credit", "2025-0002", "--amount", "2E1"), 2, "'2E1' is not a number"),
    (("doc", "new", "--customer", "acme", "--line", "Work;1e2;5"), 2,
     "the quantity '1e2' is not a number"),
    (("doc", "new", "--customer", "acme", "--line", "Work;1;inf"), 2,
     "the unit price 'inf' is not a number"),
    (("doc", "new", "--kind", "expense", "--supplier", "acme", "--total", "0x10"), 2,
     "'0x10' is not a number"),
    (("doc", "new", "--customer", "acme", "--line", "Work;-1;5"), 1,
     "field 'lines.1.quantity' must not be negative (-1)"),
    (("contact", "new", "--name", "Bob", "--email", "not-an-email"), 1,
     "field 'email': 'not-an-email' is not an e-mail address"),
    (("contact", "edit", "acme", "--email", "ap@acme.example, bo@acme.example"), 1,
     "is not an e-mail address"),
])
def test_amounts_and_addresses_are_read_as_the_book_reads_them(cli, numbered, args, code, said):
    head = git(numbered, "rev-parse", "HEAD")
    r = cli("--as-of", "2025-01-20", *args, book=numbered)
    assert r.code == code, r
    assert said in r.err, r
    assert "No such option" not in r.err and "Traceback" not in r.err
    assert git(numbered, "rev-parse", "HEAD") == head


def test_a_contact_file_with_a_bad_address_is_a_check_error(cli, make_book):
    root = make_book({"contacts/acme.yaml": "name: ACME\nemail: ap at acme\n"})
    r = cli("check", book=root)
    assert r.code == 1
    assert "contacts/acme.yaml:2:8: field 'email': 'ap at acme' is not an e-mail address" in r.out


@pytest.mark.parametrize("text, ok", [("1200.50", True), ("1'200.50", True), ("1 200", True),
                                      ("1e3", False), ("nan", False), ("0x10", False),
                                      ("1_000", False), ("-5", False)])
def test_the_app_reads_amounts_as_the_book_does(text, ok):
    from tui.forms import FieldSpec, parse_value
    value, error = parse_value(FieldSpec("amount", "", "money", positive=True), text, "en")
    assert (error is None) == ok, (text, value, error)


# --------------------------------------------------------------------------- check: schedules

def test_check_warns_about_schedules_that_surprise(cli, numbered):
    from tests.conftest import write_files
    write_files(numbered, {
        "recurrences/end-of-month.yaml": "name: End of month\ntemplate: inv-20250105-aaaa\n"
                                         "rule: FREQ=MONTHLY\nstart: 2025-01-31\n",
        "recurrences/backwards.yaml": "name: Backwards\ntemplate: inv-20250105-aaaa\n"
                                      "rule: FREQ=MONTHLY;BYMONTHDAY=1\nstart: 2025-03-01\n"
                                      "until: 2025-02-01\n",
        "recurrences/fine.yaml": "name: Fine\ntemplate: inv-20250105-aaaa\n"
                                 "rule: FREQ=MONTHLY;BYMONTHDAY=-1\nstart: 2025-01-31\n"})
    r = cli("check", book=numbered)
    assert r.code == 0, r                                  # warnings, not errors
    assert ("recurrences/end-of-month.yaml:3:1: warning: the rule 'FREQ=MONTHLY' falls on day 31, "
            "which not every month has: RFC 5545 skips those months (February, April, June, "
            "September, November), so it happens 7 times in a common year, not 12; write "
            "BYMONTHDAY=-1") in r.out, r
    assert ("recurrences/backwards.yaml:5:1: warning: until 2025-02-01 is before start "
            "2025-03-01") in r.out
    assert "fine.yaml" not in r.out
    assert len([line for line in r.out.splitlines()
                if line.startswith("recurrences/") and ": warning: " in line]) == 2
    r = cli("--lang", "fr", "check", book=numbered)
    assert ("recurrences/end-of-month.yaml:3:1 : avertissement : la règle 'FREQ=MONTHLY' tombe "
            "le 31 du mois") in r.out, r
    assert "(février, avril, juin, septembre, novembre)" in r.out
    assert "aucune erreur" in r.err
    assert len([line for line in r.out.splitlines()
                if line.startswith("recurrences/") and " : avertissement : " in line]) == 2


def test_status_says_a_recurrence_template_is_one_in_both_languages(make_book, cli):
    """A draft a recurrence copies is a model, not an invoice waiting for
    validation: `status` says so (as the app does); a plain draft does not."""
    draft = ("kind: invoice\ncustomer: acme\ndate: 2026-01-01\n"
             "lines:\n  - description: Hosting\n    unit_price: \"120.00\"\n")
    root = make_book({
        "contacts/acme.yaml": "name: ACME\n",
        "documents/2026/01/inv-tpl.yaml": draft,
        "documents/2026/01/inv-plain.yaml": draft,
        "recurrences/hosting.yaml": "name: Hosting\ntemplate: inv-tpl\n"
                                    "rule: FREQ=MONTHLY;BYMONTHDAY=1\nstart: 2026-01-01\n",
    })
    for lang, word in (("en", "inv-tpl (template)"), ("fr", "inv-tpl (modèle)")):
        r = cli("--as-of", "2026-01-15", "--lang", lang, "status", book=root)
        assert r.code == 0, r
        lines = {line.split()[0]: line for line in r.out.splitlines() if line.startswith("inv-")}
        assert word in lines["inv-tpl"], r.out
        assert "(" not in lines["inv-plain"], r.out
