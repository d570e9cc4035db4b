"""`facturier init`, `check` and `status` as a user runs them."""
import csv
import io
import json

from conftest import git

CONTACTS = {
    "contacts/acme.yaml": "name: ACME SA\nemail: ap@acme.example\n",
    "contacts/globex.yaml": "name: Globex\npayment_days: 10\n",
}
PAID = """
kind: invoice
customer: acme
date: 2025-01-05
number: 2025-0001
validated: 2025-01-05
lines:
  - {description: Design work, quantity: 2, unit_price: "100.00", vat: "8.1"}
payments: [{date: 2025-01-20, amount: "216.20"}]
"""
LATE = """
kind: invoice
customer: globex
date: 2025-01-10
number: 2025-0002
validated: 2025-01-10
recurrence: hosting
occurrence: 2025-01-10
lines:
  - {description: Hosting January, quantity: 1, unit_price: "50.00"}
"""
QUOTE = """
kind: quote
customer: acme
date: 2025-01-12
lines:
  - {description: Redesign, quantity: 1, unit_price: "1000"}
"""
RECURRENCE = "name: Hosting\ntemplate: inv-late\nrule: FREQ=MONTHLY\nstart: 2025-01-10\nlast: 2025-01-10\n"


def book_files():
    files = dict(CONTACTS)
    files["documents/2025/01/inv-paid.yaml"] = PAID
    files["documents/2025/01/inv-late.yaml"] = LATE
    files["documents/2025/01/q-1.yaml"] = QUOTE
    files["recurrences/hosting.yaml"] = RECURRENCE
    return files


def test_init_makes_a_committed_book_and_refuses_an_existing_one(cli, tmp_path):
    target = tmp_path / "books" / "mine"
    result = cli("init", str(target))
    assert result.code == 0, result
    assert (target / "facturier.yaml").read_text().startswith("# facturier settings")
    assert (target / ".gitignore").read_text().strip() == ".facturier/"
    for folder in ("contacts", "documents", "recurrences"):
        assert (target / folder).is_dir()
    assert git(target, "status", "--porcelain") == ""
    assert git(target, "log", "--format=%s").strip() == "Create the book"
    again = cli("init", str(target))
    assert again.code == 1 and "already holds a book" in again.err
    status = cli("status", "--format", "json", book=target)
    assert status.code == 0 and json.loads(status.out) == []


def test_status_json_has_the_spec_fields(cli, make_book):
    root = make_book(book_files())
    result = cli("--as-of", "2025-02-25", "status", "--format", "json", book=root)
    assert result.code == 0, result
    rows = {r["id"]: r for r in json.loads(result.out)}
    assert set(rows) == {"inv-paid", "inv-late", "q-1"}
    paid = rows["inv-paid"]
    assert paid == {"id": "inv-paid", "kind": "invoice", "number": "2025-0001", "contact": "acme",
                    "contact_name": "ACME SA", "date": "2025-01-05", "due": "2025-02-04", "currency": "EUR",
                    "total": "216.20", "open": "0.00", "status": "paid", "category": "done",
                    "recurrence": None}
    late = rows["inv-late"]
    # globex pays at 10 days: due 01-20; first reminder 01-21, second 01-31, litigation 02-10
    assert late["due"] == "2025-01-20" and late["status"] == "litigation"
    assert late["category"] == "to_monitor" and late["recurrence"] == "hosting"
    assert rows["q-1"]["status"] == "offer"


def test_as_of_travels_in_time(cli, make_book):
    root = make_book(book_files())
    early = json.loads(cli("--as-of", "2025-01-15", "status", "--format", "json", book=root).out)
    by_id = {r["id"]: r for r in early}
    assert by_id["inv-paid"]["status"] == "processing"      # the payment is dated 01-20
    assert by_id["inv-paid"]["open"] == "216.20"
    assert by_id["inv-late"]["status"] == "recurring"


def test_status_filters(cli, make_book):
    root = make_book(book_files())
    def ids(*args):
        result = cli("--as-of", "2025-02-25", "status", "--format", "json", *args, book=root)
        assert result.code == 0, result
        return sorted(r["id"] for r in json.loads(result.out))
    assert ids("--category", "done") == ["inv-paid"]
    assert ids("--status", "offer", "--status", "paid") == ["inv-paid", "q-1"]
    assert ids("--recurring") == ["inv-late"]
    assert ids("--search", "redesign") == ["q-1"]
    assert ids("--search", "GLOBEX") == ["inv-late"]
    assert ids("--search", "2025-0001") == ["inv-paid"]
    bad = cli("status", "--status", "nonsense", book=root)
    assert bad.code == 2 and "nonsense" in bad.err


def test_status_csv_and_table(cli, make_book):
    root = make_book(book_files())
    out = cli("--as-of", "2025-02-25", "status", "--format", "csv", book=root).out
    rows = list(csv.DictReader(io.StringIO(out)))
    assert {r["id"] for r in rows} == {"inv-paid", "inv-late", "q-1"}
    table = cli("--as-of", "2025-02-25", "status", book=root)
    assert table.code == 0, table
    lines = table.out.splitlines()
    assert all(len(line) <= 80 for line in lines)
    assert any("2025-0002 ↻" in line and "Litigation" in line for line in lines)
    french = cli("--as-of", "2025-02-25", "--lang", "fr", "status", book=root).out
    assert "Facture en contentieux" in french and "Factures payées" in french


def test_status_names_a_broken_file_and_lists_the_others(cli, make_book):
    files = book_files()
    files["documents/2025/01/inv-bad.yaml"] = ("kind: invoice\ncustomer: acme\ndate: 2025-02-30\n"
                                                "lines: [{description: x, quantity: 1, unit_price: 1}]\n")
    root = make_book(files)
    result = cli("--as-of", "2025-02-25", "status", "--format", "json", book=root)
    assert result.code == 1
    assert len(json.loads(result.out)) == 3
    assert "documents/2025/01/inv-bad.yaml:3:7: " in result.err and "date" in result.err


def test_check_reports_every_problem_with_file_and_line(cli, make_book):
    files = book_files()
    files["documents/2025/01/inv-bad.yaml"] = ("kind: invoice\ncusotmer: acme\ndate: 2025-01-02\n"
                                                "lines: [{description: x, quantity: 1, unit_price: 1}]\n")
    files["documents/2025/02/inv-gap.yaml"] = PAID.replace("2025-0001", "2025-0004").replace(
        "payments", "x-payments")
    files["documents/2025/02/cn-1.yaml"] = ("kind: credit_note\ncustomer: nobody\ndate: 2025-02-01\n"
                                             "credits: q-1\nlines: [{description: x, quantity: 1, unit_price: 1}]\n")
    root = make_book(files)
    result = cli("check", book=root)
    assert result.code == 1
    out = result.out
    assert "documents/2025/01/inv-bad.yaml:2:1: unknown field 'cusotmer'" in out
    assert "did you mean 'customer'?" in out
    assert "documents/2025/02/inv-gap.yaml:4:1: gap in the invoice numbers of 2025: 3 missing" in out
    assert "documents/2025/02/cn-1.yaml:2:1: customer 'nobody' does not exist" in out
    assert "documents/2025/02/cn-1.yaml:4:1: a credit note credits an invoice, but 'q-1' is a quote" in out
    as_json = json.loads(cli("check", "--format", "json", book=root).out)
    assert {"file", "line", "col", "field", "message", "severity"} <= set(as_json[0])


def test_check_passes_a_good_book_and_reports_numbers_out_of_date_order(cli, make_book):
    """SPEC 2 (revision 2): numbers out of chronological order are an error."""
    root = make_book(book_files())
    result = cli("check", book=root)
    assert result.code == 0, result
    assert "no errors" in result.err
    late = root / "documents/2025/01/inv-late.yaml"
    late.write_text(late.read_text().replace("validated: 2025-01-10", "validated: 2025-01-04"))
    failed = cli("check", book=root)
    assert failed.code == 1
    assert "documents/2025/01/inv-late.yaml:4:1: number 2025-0002 was validated on " \
        "2025-01-04, before 2025-0001" in failed.out
    assert not [line for line in failed.out.splitlines() if "inv-late" in line and "warning" in line]


def test_no_traceback_for_a_missing_book(cli, tmp_path):
    result = cli("status", book=tmp_path)
    assert result.code == 1
    assert "not a facturier book" in result.err and "Traceback" not in result.err


def test_search_ignores_accents_and_case(cli, make_book):
    files = book_files()
    files["contacts/acme.yaml"] = "name: Café Élysée\n"
    root = make_book(files)
    result = cli("--as-of", "2025-02-25", "status", "--format", "json", "--search", "cafe ELYSEE",
                 book=root)
    assert sorted(r["id"] for r in json.loads(result.out)) == ["inv-paid", "q-1"]
