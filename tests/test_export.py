"""Ledger exports (SPEC 10.2): the real `hledger check` and `bean-check` accept
the journal of a generated book, its balances equal facturier's own totals,
and exporting twice gives the same text."""
from __future__ import annotations

import csv
import datetime as dt
import io
import shutil
import subprocess
import sys
from decimal import Decimal as D
from pathlib import Path

import pytest

from engine.book import load_book
from engine.ledger import LedgerError, beancount_account
from engine.money import document_totals
from engine.reports import revenue_report, vat_report
from engine.status import amounts

AS_OF = dt.date(2026, 6, 30)
BEAN_CHECK = str(Path(sys.executable).parent / "bean-check")


def hledger(*args: str) -> str:
    return subprocess.run(["hledger", *args], check=True, capture_output=True,
                          text=True).stdout


def expected_balances(book) -> dict[str, D]:
    """What each account must hold, from facturier's own totals and amounts."""
    s = book.settings
    acc = s.accounts
    out: dict[str, D] = {}

    def add(account: str, amount: D) -> None:
        out[account] = out.get(account, D(0)) + amount

    revenue = revenue_report(book, "month")
    for total in revenue.totals:
        add(acc.income, -total["net"])
        add(acc.vat_due, -total["vat"])
    purchases = vat_report(book, dt.date(1900, 1, 1), dt.date(2999, 12, 31))
    for total in purchases.totals:
        if total["side"] == "purchases":
            add(acc.vat_deductible, total["vat"])
            add(acc.expense, total["net"])
            add(acc.payable, -total["gross"])
    validated = {k.lower() for k, x in book.documents.items()
                 if x.kind == "invoice" and x.validated}
    for x in book.documents.values():
        paid = sum((p.amount for p in x.payments), D(0))
        discounted = sum((p.amount for p in x.discounts), D(0))
        if x.kind == "invoice" and x.validated:
            end = amounts(x, book, dt.date(2999, 12, 31))
            written = D(0)
            if x.write_off is not None:
                written = max(amounts(x, book, x.write_off.date).open, D(0))
            add(acc.receivable, end.open - written)       # SPEC 3.1 open, less write-off
            add(acc.bank, paid)
            add(acc.discounts, discounted)
            add(acc.bad_debts, written)
        elif x.kind == "credit_note" and x.validated and (x.credits or "").lower() not in validated:
            add(acc.receivable, -document_totals(x, s).total)   # credits no exported invoice
        elif x.kind == "expense":
            add(acc.bank, -paid)
            add(acc.payable, paid + discounted)
            add(acc.expense, -discounted)
    return {k: v for k, v in out.items() if v != 0}


@pytest.fixture(scope="module")
def exported(synthetic_book_1k, tmp_path_factory):
    folder = tmp_path_factory.mktemp("ledgers")
    book_dir = folder / "book"
    shutil.copytree(synthetic_book_1k, book_dir)
    files = {}
    for fmt, name in (("hledger", "book.journal"), ("beancount", "book.beancount")):
        out = subprocess.run([sys.executable, "-m", "tui.entry", "--book", str(book_dir),
                              "export", fmt, "-o", str(folder / name)],
                             capture_output=True, text=True,
                             cwd=str(Path(__file__).resolve().parent.parent))
        assert out.returncode == 0, out.stderr
        files[fmt] = folder / name
    return load_book(book_dir), files, book_dir


def test_hledger_check_passes_and_balances_equal_facturiers_totals(exported):
    book, files, _ = exported
    journal = str(files["hledger"])
    hledger("-f", journal, "check", "-s")          # accounts and commodities declared too
    table = csv.reader(io.StringIO(hledger("-f", journal, "balance", "--output-format", "csv",
                                           "-N", "--no-elide", "--flat")))
    next(table)
    balances = {}
    for account, amount in table:
        number, currency = amount.split(" ")
        assert currency == "CHF"
        balances[account] = D(number)
    assert balances == expected_balances(book)
    assert balances[book.settings.accounts.income] < 0


def test_bean_check_passes_and_balances_equal_facturiers_totals(exported):
    book, files, _ = exported
    out = subprocess.run([BEAN_CHECK, str(files["beancount"])], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
    from beancount import loader
    from beancount.core import data
    entries, errors, _options = loader.load_file(str(files["beancount"]))
    assert errors == []
    balances: dict[str, D] = {}
    for entry in entries:
        if isinstance(entry, data.Transaction):
            for posting in entry.postings:
                balances[posting.account] = balances.get(posting.account, D(0)) + \
                    posting.units.number
    want = {beancount_account(k): v for k, v in expected_balances(book).items()}
    assert {k: v for k, v in balances.items() if v != 0} == want
    # the document's id and number are metadata
    first = next(e for e in entries if isinstance(e, data.Transaction)
                 and e.meta.get("kind") == "invoice")
    doc = book.documents[first.meta["id"]]
    assert first.meta["number"] == doc.number


def test_exporting_twice_gives_the_same_text(exported, cli):
    _, files, book_dir = exported
    for fmt in ("hledger", "beancount"):
        out = cli("export", fmt, book=book_dir)
        assert out.code == 0
        assert out.out == files[fmt].read_text(encoding="utf-8")


SMALL = {
    "facturier.yaml": """
        currency: EUR
        accounts:
          bank: "assets:bank:main"
          income: "revenue:services"
        """,
    "contacts/acme.yaml": "name: ACME; \"the\" client\n",
    "documents/2025/01/inv-1.yaml": """
        kind: invoice
        customer: acme
        date: 2025-01-10
        number: 2025-0001
        validated: 2025-01-10
        lines:
          - {description: Work, quantity: 1, unit_price: "100", vat: "20"}
          - {description: Books, quantity: 1, unit_price: "50", vat: "5.5"}
        payments: [{date: 2025-02-01, amount: "100.00", reference: "camt E1"}]
        discounts: [{date: 2025-02-01, amount: "2.75"}]
        """,
    "documents/2025/01/inv-2.yaml": """
        kind: invoice
        customer: acme
        date: 2025-01-20
        number: 2025-0002
        validated: 2025-01-20
        lines: [{description: Work, quantity: 1, unit_price: "10", vat: "20"}]
        write_off: {date: 2025-06-30, reason: gone}
        """,
    "documents/2025/01/cn-1.yaml": """
        kind: credit_note
        customer: acme
        date: 2025-02-15
        number: CN-2025-0001
        validated: 2025-02-15
        credits: inv-1
        lines: [{description: Back, quantity: 1, unit_price: "10", vat: "20"}]
        """,
    "documents/2025/01/inv-draft.yaml": """
        kind: invoice
        customer: acme
        date: 2025-01-20
        lines: [{description: Work, quantity: 1, unit_price: "999"}]
        """,
    "documents/2025/03/exp-1.yaml": """
        kind: expense
        supplier: acme
        date: 2025-03-01
        total: "30.00"
        payments: [{date: 2025-03-05, amount: "30.00"}]
        """,
}


def test_a_small_book_as_hledger_journal(make_book, cli, tmp_path):
    root = make_book(SMALL)
    out = cli("export", "hledger", book=root)
    assert out.code == 0, out
    text = out.out
    assert "2025-01-10 * ACME, \"the\" client | Invoice 2025-0001  ; id:inv-1, " \
           "number:2025-0001, kind:invoice\n" \
           "    assets:receivable  172.75 EUR\n" \
           "    revenue:services  -50.00 EUR  ; rate:5.5\n" \
           "    liabilities:vat  -2.75 EUR  ; rate:5.5\n" \
           "    revenue:services  -100.00 EUR  ; rate:20\n" \
           "    liabilities:vat  -20.00 EUR  ; rate:20\n" in text
    assert "reference:camt E1" in text and "    assets:bank:main  100.00 EUR" in text
    assert "Credit note CN-2025-0001" in text and "credits:inv-1" in text
    assert "    expenses:bad-debts  12.00 EUR" in text              # the open at write-off
    assert "999" not in text                                        # drafts are not exported
    journal = tmp_path / "small.journal"
    journal.write_text(text)
    hledger("-f", str(journal), "check", "-s")
    # --from/--to keep the transactions of those dates
    out = cli("export", "hledger", "--from", "2025-02-01", "--to", "2025-02-28", book=root)
    assert "Invoice 2025-0001" not in out.out and "Payment of invoice 2025-0001" in out.out
    assert "Credit note CN-2025-0001" in out.out and "Expense" not in out.out
    out = cli("export", "beancount", "-o", str(tmp_path / "small.beancount"), book=root)
    assert out.code == 0, out
    bean = (tmp_path / "small.beancount").read_text()
    assert '2025-01-10 * "ACME; \\"the\\" client" "Invoice 2025-0001"' in bean
    assert "Income:Services  -100.00 EUR" in bean and "Assets:Bank:Main  100.00 EUR" in bean
    check = subprocess.run([BEAN_CHECK, str(tmp_path / "small.beancount")],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_an_account_beancount_cannot_take_is_refused_naming_it(make_book, cli):
    files = dict(SMALL)
    files["facturier.yaml"] = "accounts:\n  bank: \"cash:main\"\n"
    root = make_book(files)
    out = cli("export", "beancount", book=root)
    assert out.code == 1 and "'cash:main'" in out.err and out.out == ""
    assert cli("export", "hledger", book=root).code == 0


@pytest.mark.parametrize("name, want", [
    ("assets:receivable", "Assets:Receivable"),
    ("expenses:bad-debts", "Expenses:Bad-debts"),
    ("Income:Sales:CH 8.1%", "Income:Sales:CH-8-1-"),
    ("revenue:services", "Income:Services"),
    ("liabilities", "Liabilities:Facturier"),
    ("assets:2025", "Assets:2025"),
])
def test_beancount_account_names(name, want):
    assert beancount_account(name) == want


@pytest.mark.parametrize("name", ["cash", "assets::x", ""])
def test_beancount_account_names_refused(name):
    with pytest.raises(LedgerError):
        beancount_account(name)


def test_unreadable_book_exports_nothing(make_book, cli, tmp_path):
    files = dict(SMALL)
    files["documents/2025/01/bad.yaml"] = "kind: invoice\ncustomer: [\n"
    root = make_book(files)
    target = tmp_path / "out.journal"
    out = cli("export", "hledger", "-o", str(target), book=root)
    assert out.code == 1 and "bad.yaml" in out.err and not target.exists()
