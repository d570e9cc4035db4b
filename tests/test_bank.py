"""Bank statements (SPEC 10.3): camt.053/.054 and CSV, matched by reference,
number, then debtor and amount; one commit per file; idempotent."""
from __future__ import annotations

import json
from decimal import Decimal as D
from pathlib import Path

import pytest
from hypothesis import given, strategies as st

from engine.bank import (StatementError, qr_check_digit, qr_reference, read_camt, rf_reference,
                         rf_valid)
from engine.book import load_book

from conftest import git

DATA = Path(__file__).parent / "data" / "bank"


def invoice(number: str, customer: str, price: str, currency: str = "") -> str:
    return ("kind: invoice\ncustomer: %s\ndate: 2025-01-10\nnumber: %s\nvalidated: 2025-01-10\n"
            "%slines:\n  - {description: Work, quantity: 1, unit_price: \"%s\", vat: \"8.1\"}\n"
            % (customer, number, "currency: %s\n" % currency if currency else "", price))


BOOK = {
    "facturier.yaml": "currency: CHF\n",
    "contacts/acme.yaml": "name: ACME SA\n",
    "contacts/bob.yaml": "name: Bob GmbH\n",
    "documents/2025/01/inv-1.yaml": invoice("2025-0001", "acme", "100"),      # 108.10
    "documents/2025/01/inv-2.yaml": invoice("2025-0002", "acme", "200"),      # 216.20
    "documents/2025/01/inv-3.yaml": invoice("2025-0003", "bob", "50"),        # 54.05
    "documents/2025/01/inv-4.yaml": invoice("2025-0004", "bob", "50"),        # 54.05
    "documents/2025/01/inv-5.yaml": invoice("2025-0005", "acme", "50", "EUR"),
}


def payments(root: Path, doc_id: str):
    return [(p.date.isoformat(), p.amount, p.reference)
            for p in load_book(root).documents[doc_id].payments]


def commits(root: Path) -> list[str]:
    return git(root, "log", "--format=%s").splitlines()


def test_camt053_and_camt054_are_matched_and_recorded_one_commit_per_file(make_book, cli):
    root = make_book(BOOK)
    out = cli("--as-of", "2025-03-10", "import", "bank", str(DATA / "camt053_v02.xml"),
              str(DATA / "camt054_v08.xml"), "--format", "json", book=root)
    assert out.code == 0, out
    report = json.loads(out.out)
    first, second = report
    assert first["kind"] == "camt.053" and second["kind"] == "camt.054"
    assert [(r["document"], r["how"], r["amount"]) for r in first["recorded"]] == [
        ("inv-1", "reference", "108.10"),       # RF creditor reference of 2025-0001
        ("inv-2", "number", "100.00"),          # "Invoice 2025-0002" in the text
        ("inv-2", "amount", "116.20"),          # ACME's one open invoice of 106.20 + 10 charges
    ]
    (ambiguous,) = first["ambiguous"]           # Bob has two open invoices of 54.05
    assert ambiguous["candidates"] == ["inv-3", "inv-4"] and ambiguous["reference"] == "E2/2"
    (unmatched,) = first["unmatched"]
    assert unmatched["debtor"] == "A Stranger" and unmatched["amount"] == "999.00"
    assert first["skipped"] == ["entry 3: a debit", "entry 6: a reversal"]
    assert [(r["document"], r["how"]) for r in second["recorded"]] == [("inv-3", "reference")]
    assert second["skipped"] == ["entry 2: not booked (PDNG)"]
    # one commit per file, each payment's reference the bank's
    log = commits(root)
    assert log[:2] == ["Import 1 payment from camt054_v08.xml",
                       "Import 3 payments from camt053_v02.xml"]
    trailers = git(root, "log", "-1", "--skip=1",
                   "--format=%(trailers:key=Facturier-Document,valueonly)").split()
    assert sorted(trailers) == ["inv-1", "inv-2"]
    assert payments(root, "inv-1") == [("2025-02-03", D("108.10"), "E1")]
    assert payments(root, "inv-2") == [("2025-02-04", D("100.00"), "E2/1"),
                                       ("2025-02-06", D("116.20"), "E4")]
    assert payments(root, "inv-3") == [("2025-03-01", D("54.05"), "T-054-1")]
    assert git(root, "status", "--porcelain") == ""
    # status follows SPEC 3: inv-2 is paid by its two payments
    status = cli("--as-of", "2025-03-10", "status", "--format", "json", book=root)
    by_id = {row["id"]: row["status"] for row in json.loads(status.out)}
    assert by_id["inv-1"] == by_id["inv-2"] == by_id["inv-3"] == "paid"

    # importing again records no entry twice; Bob's 54.05 was ambiguous, and now that
    # inv-3 is paid (by its QR reference) his one open invoice of 54.05 is inv-4
    args = ("--as-of", "2025-03-10", "import", "bank", str(DATA / "camt053_v02.xml"),
            str(DATA / "camt054_v08.xml"))
    again = cli(*args, book=root)
    assert again.code == 0, again
    assert "recorded 1 payment, 3 already recorded, 1 unmatched, 0 ambiguous" in again.out
    assert "recorded 0 payments, 1 already recorded, 0 unmatched, 0 ambiguous" in again.out
    assert payments(root, "inv-4") == [("2025-02-04", D("54.05"), "E2/2")]
    log = commits(root)
    third = cli(*args, book=root)
    assert "recorded 0 payments, 4 already recorded, 1 unmatched, 0 ambiguous" in third.out
    assert commits(root) == log


def test_a_table_lists_what_a_person_must_assign(make_book, cli):
    root = make_book(BOOK)
    out = cli("--as-of", "2025-03-10", "import", "bank", "--dry-run",
              str(DATA / "camt053_v02.xml"), book=root)
    assert out.code == 0, out
    assert "would record 3 payments" in out.out
    assert "ambiguous: entry 2, transaction 2 2025-02-04 54.05 CHF from bob  gmbh" not in out.out
    assert "ambiguous: entry 2, transaction 2 2025-02-04 54.05 CHF from bob gmbh, ref E2/2: " \
           "several open invoices of bob gmbh have this amount [inv-3, inv-4]" in out.out
    assert "unmatched: entry 5" in out.out and "A Stranger" in out.out
    assert commits(root) == ["Test book"]


CAMT = """<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.{v}">
 <BkToCstmrStmt><Stmt><Id>S</Id>
  <Ntry><Amt Ccy="CHF">108.10</Amt><CdtDbtInd>CRDT</CdtDbtInd>{status}
   <BookgDt><Dt>2025-02-03</Dt></BookgDt><AcctSvcrRef>R{v}</AcctSvcrRef>
   <NtryDtls><TxDtls><RmtInf><Ustrd>2025-0001</Ustrd></RmtInf></TxDtls></NtryDtls>
  </Ntry></Stmt></BkToCstmrStmt></Document>"""


@pytest.mark.parametrize("version", ["02", "03", "04", "05", "06", "07", "08"])
def test_every_namespace_from_001_02_to_001_08_is_read(version):
    status = "<Sts>BOOK</Sts>" if version < "07" else "<Sts><Cd>BOOK</Cd></Sts>"
    statement = read_camt(CAMT.format(v=version, status=status).encode())
    (credit,) = statement.credits
    assert (credit.amount, credit.currency, credit.reference, credit.text) == (
        D("108.10"), "CHF", "R" + version, "2025-0001")


@pytest.mark.parametrize("data, message", [
    (CAMT.format(v="09", status="").encode(), "001.02 to 001.08"),
    (b"<Document xmlns='urn:iso:std:iso:20022:tech:xsd:pain.001.001.03'/>", "not an ISO 20022"),
    (b"<?xml version='1.0'?><!DOCTYPE d [<!ENTITY a 'aaaa'>]><d>&a;</d>", "document type"),
    (b"<Document", "not well-formed"),
    (CAMT.format(v="02", status="").replace("108.10", "1O8").encode(), "not a number"),
])
def test_files_that_are_not_statements_are_refused_by_name(data, message):
    with pytest.raises(StatementError, match=message):
        read_camt(data)


def test_a_refused_file_records_nothing_and_the_others_are_imported(make_book, cli, tmp_path):
    root = make_book(BOOK)
    bomb = tmp_path / "bomb.xml"
    bomb.write_text('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                    '<!ENTITY lol2 "&lol;&lol;&lol;">]><Document>&lol2;</Document>')
    out = cli("--as-of", "2025-03-10", "import", "bank", str(bomb),
              str(DATA / "camt054_v08.xml"), book=root)
    assert out.code == 1
    assert "bomb.xml: the file declares a document type" in out.err
    assert commits(root)[0] == "Import 1 payment from camt054_v08.xml"


def test_an_uncommitted_edit_refuses_the_files_commit_whole(make_book, cli):
    root = make_book(BOOK)
    path = root / "documents/2025/01/inv-2.yaml"
    path.write_text(path.read_text() + "notes: typing\n")
    out = cli("--as-of", "2025-03-10", "import", "bank", str(DATA / "camt053_v02.xml"),
              book=root)
    assert out.code == 1 and "uncommitted edits in documents/2025/01/inv-2.yaml" in out.err
    assert commits(root) == ["Test book"]
    assert payments(root, "inv-1") == []


def test_csv_with_a_column_map(make_book, cli, tmp_path):
    root = make_book(BOOK)
    statement = tmp_path / "bank.csv"
    statement.write_text(
        "Buchungsdatum;Betrag;Referenz;Auftraggeber;Mitteilung\n"
        "03.02.2025;108,10;B-1;ACME SA;Rechnung 2025-0001\n"
        "04.02.2025;-50,00;B-2;Vermieter;Miete\n"
        "05.02.2025;1'000.00;B-3;Unknown;?\n", encoding="utf-8")
    mapping = "date=Buchungsdatum,amount=Betrag,reference=Referenz,debtor=Auftraggeber," \
              "text=Mitteilung"
    out = cli("--as-of", "2025-03-10", "import", "bank", "--csv-map", mapping, str(statement),
              "--format", "json", book=root)
    assert out.code == 0, out
    (report,) = json.loads(out.out)
    assert [(r["document"], r["how"]) for r in report["recorded"]] == [("inv-1", "number")]
    assert report["skipped"] == ["line 3: a debit"]
    assert [r["amount"] for r in report["unmatched"]] == ["1000.00"]
    assert payments(root, "inv-1") == [("2025-02-03", D("108.10"), "B-1")]
    bad = cli("import", "bank", "--csv-map", "date=Buchungsdatum,amount=Betrag", str(statement),
              book=root)
    assert bad.code == 2 and "reference=COLUMN" in bad.err
    missing = cli("import", "bank", "--csv-map", "date=Datum,amount=Betrag,reference=Referenz",
                  str(statement), book=root)
    assert missing.code == 1 and "no column 'Datum'" in missing.err


def test_a_reference_in_another_currency_is_not_recorded(make_book, cli, tmp_path):
    root = make_book(BOOK)
    data = CAMT.format(v="04", status="<Sts>BOOK</Sts>").replace("2025-0001", "2025-0005")
    (tmp_path / "s.xml").write_text(data)
    out = cli("--as-of", "2025-03-10", "import", "bank", str(tmp_path / "s.xml"),
              "--format", "json", book=root)
    (report,) = json.loads(out.out)
    assert report["recorded"] == [] and "in EUR, not CHF" in report["ambiguous"][0]["reason"]


# --------------------------------------------------------------------------- references

def test_known_references():
    assert rf_valid("RF18 5390 0754 7034")            # ISO 11649's example
    assert not rf_valid("RF19539007547034")
    assert qr_check_digit("21000000000313947143000901") == "7"    # SIX's example
    assert qr_reference("2025-0003") == "000000000000000000202500033"


@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=21))
def test_rf_references_made_from_any_number_pass_the_check(body):
    if any(c.isalnum() for c in body):
        assert rf_valid(rf_reference(body))


# --------------------------------------------------------------------------- a person assigns

def test_candidates_are_open_invoices_of_the_currency_closest_amount_then_debtor_first(make_book):
    import datetime as dt

    from engine.bank import BankCredit, candidates
    root = make_book(BOOK)
    book = load_book(root)
    credit = BankCredit(reference="X1", date=dt.date(2025, 2, 4), amount=D("54.05"),
                        currency="CHF", debtor="Bob GmbH")
    found = candidates(book, credit, dt.date(2025, 3, 10))
    # inv-5 is in EUR: never offered for a CHF credit
    assert [(c.document, c.difference) for c in found] == [
        ("inv-3", D("0")), ("inv-4", D("0")), ("inv-1", D("54.05")), ("inv-2", D("162.15"))]
    # the same amounts, another debtor: ACME's invoices now come first among equals
    by_acme = candidates(book, BankCredit(reference="X2", date=dt.date(2025, 2, 4),
                                          amount=D("81.075"), currency="CHF", debtor="ACME"),
                         dt.date(2025, 3, 10))
    assert [c.document for c in by_acme][:2] == ["inv-1", "inv-3"]     # both 27.025 away


def test_an_assigned_entry_is_one_payment_commit_and_a_second_import_skips_it(make_book, cli):
    import datetime as dt

    from engine.actions import perform
    from engine.bank import match_credits, plan_assign, read_statement
    from engine.diagnostics import ActionRefused
    root = make_book(BOOK)
    assert cli("--as-of", "2025-03-10", "import", "bank", str(DATA / "camt053_v02.xml"),
               book=root).code == 0
    statement = read_statement((DATA / "camt053_v02.xml").read_bytes(), "camt053_v02.xml")
    left = [m for m in match_credits(load_book(root), statement.credits, dt.date(2025, 3, 10))
            if m.outcome in ("unmatched", "ambiguous")]
    ambiguous = next(m for m in left if m.outcome == "ambiguous")
    sha, change = perform(root, plan_assign, ambiguous.credit, "inv-4", "camt053_v02.xml")
    assert sha and change.action == "document.payment"
    assert payments(root, "inv-4") == [("2025-02-04", D("54.05"), "E2/2")]
    message = git(root, "log", "-1", "--format=%B")
    assert "Facturier-Document: inv-4" in message and "Facturier-Bank-Reference: E2/2" in message
    # the same entry again is refused, nothing written
    with pytest.raises(ActionRefused, match="E2/2 is already recorded"):
        perform(root, plan_assign, ambiguous.credit, "inv-3")
    before = commits(root)
    out = cli("--as-of", "2025-03-10", "import", "bank", str(DATA / "camt053_v02.xml"),
              "--format", "json", book=root)
    assert out.code == 0, out
    (report,) = json.loads(out.out)
    assert report["ambiguous"] == [] and "E2/2" in [r["reference"] for r in report["already"]]
    assert commits(root) == before
def test_assign_in_the_cli_is_the_apps_assignment(make_book, cli):
    """`import bank --assign REF=DOC` does what the app's bank screen does
    (api.perform("bank.assign")): the same commit, after the file's import."""
    import datetime as dt

    from engine import api
    from engine.bank import match_credits, read_statement
    statement_file = str(DATA / "camt053_v02.xml")
    by_cli = make_book(BOOK)
    out = cli("--as-of", "2025-03-10", "import", "bank", statement_file, "--assign", "E2/2=inv-4",
              "--format", "json", book=by_cli)
    assert out.code == 0, out
    (report,) = json.loads(out.out)
    assert [(r["reference"], r["document"]) for r in report["assigned"]] == [("E2/2", "inv-4")]
    assert report["ambiguous"] == []                # no longer left for a person
    assert payments(by_cli, "inv-4") == [("2025-02-04", D("54.05"), "E2/2")]
    # the app's way on an identical book: the import, then the assignment
    by_app = make_book(BOOK)
    assert cli("--as-of", "2025-03-10", "import", "bank", statement_file, book=by_app).code == 0
    statement = read_statement((DATA / "camt053_v02.xml").read_bytes(), "camt053_v02.xml")
    ambiguous = next(m for m in match_credits(load_book(by_app), statement.credits,
                                              dt.date(2025, 3, 10)) if m.outcome == "ambiguous")
    done = api.perform(by_app, "bank.assign",
                       api.AssignCredit(ambiguous.credit, "inv-4", "camt053_v02.xml"),
                       dt.date(2025, 3, 10))
    assert done.commit and done.refusal is None
    for what in ("%T", "%B"):
        assert git(by_cli, "log", "-2", "--format=" + what) == \
            git(by_app, "log", "-2", "--format=" + what)
    assert git(by_cli, "status", "--porcelain") == ""


def test_assign_refusals_are_said_and_change_nothing_else(make_book, cli):
    root = make_book(BOOK)
    args = ("--as-of", "2025-03-10", "import", "bank", str(DATA / "camt053_v02.xml"))
    usage = cli(*args, "--assign", "E2/2", book=root)
    assert usage.code == 2 and "REFERENCE=DOCUMENT" in usage.err and commits(root) == ["Test book"]
    dry = cli(*args, "--dry-run", "--assign", "E2/2=inv-4", book=root)
    assert dry.code == 2 and "--dry-run" in dry.err and commits(root) == ["Test book"]
    # E1 is matched by the import itself: assigning it again is refused; NOPE is in no file
    out = cli("--lang", "fr", *args, "--assign", "E1=inv-2", "--assign", "NOPE=inv-3",
              "--assign", "E2/2=inv-4", book=root)
    assert out.code == 1, out
    assert "E1" in out.err and "déjà" in out.err
    assert "aucune écriture NOPE" in out.err
    assert payments(root, "inv-4") == [("2025-02-04", D("54.05"), "E2/2")]
    assert [p[2] for p in payments(root, "inv-2")] == ["E2/1", "E4"]
    assert len(commits(root)) == 3                  # the import and the one assignment


def test_a_statement_of_thousands_is_recorded_whole_in_one_commit(make_book, cli):
    """2,100 credits, one per invoice: the payments are appended and read back
    on every core (a forked worker ends without a traceback); one of the
    invoices is in flow style (text cannot be appended to it: the round trip
    records its payment), another has a comment that must stay."""
    files = dict(BOOK)
    entries = []
    for i in range(2100):
        number = "2024-%04d" % (i + 1)
        files["documents/2024/06/inv-b%d.yaml" % i] = invoice(number, "acme", "10").replace(
            "2025-01-10", "2024-06-10")
        entries.append('<Ntry><Amt Ccy="CHF">10.81</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
                       "<Sts>BOOK</Sts><BookgDt><Dt>2025-02-03</Dt></BookgDt>"
                       "<AcctSvcrRef>B%d</AcctSvcrRef><NtryDtls><TxDtls><RmtInf>"
                       "<Ustrd>Invoice %s</Ustrd></RmtInf></TxDtls></NtryDtls></Ntry>"
                       % (i, number))
    files["documents/2024/06/inv-b0.yaml"] = (
        "{kind: invoice, customer: acme, date: 2024-06-10, number: 2024-0001, "
        "validated: 2024-06-10, lines: [{description: Work, quantity: 1, "
        "unit_price: \"10\", vat: \"8.1\"}]}\n")
    files["documents/2024/06/inv-b1.yaml"] += "# kept by every payment\n"
    root = make_book(files)
    statement = root.parent / "big.xml"
    statement.write_text(
        '<?xml version="1.0"?>\n<Document xmlns="urn:iso:std:iso:20022:tech:xsd:'
        'camt.053.001.04"><BkToCstmrStmt><Stmt><Id>S</Id>%s</Stmt></BkToCstmrStmt>'
        "</Document>" % "\n".join(entries))
    out = cli("--as-of", "2025-03-10", "import", "bank", str(statement), "--format", "json",
              book=root)
    assert out.code == 0, out
    assert "Traceback" not in out.err and out.err == "", out.err
    assert len(json.loads(out.out)[0]["recorded"]) == 2100
    assert commits(root) == ["Import 2100 payments from big.xml", "Test book"]
    assert git(root, "status", "--porcelain") == ""
    book = load_book(root)
    assert not [d for d in book.diagnostics if d.is_error]
    for i in (0, 1, 1234, 2099):
        assert [(p.amount, p.reference) for p in book.documents["inv-b%d" % i].payments] == \
            [(D("10.81"), "B%d" % i)]
    assert (root / "documents/2024/06/inv-b1.yaml").read_text().count(
        "# kept by every payment") == 1
    assert git(root, "fsck", "--strict", "--no-progress") == ""
