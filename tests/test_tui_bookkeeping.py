"""Bookkeeping in the app (SPEC 7, 10), driven as a person would with Textual's
pilot on real books in real git repositories: the reports screen shows the
engine's figures, the palette exports the ledger journals, and a bank
statement's leftovers are assigned one commit at a time."""
from __future__ import annotations

import asyncio
import datetime as dt
import time
from decimal import Decimal
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select

from engine import i18n
from engine.book import load_book
from engine.reports import aging_report, revenue_report, vat_report
from tui.app import FacturierApp
from tui.bank_screen import BankScreen, CandidatePicker
from tui.dashboard import DashboardScreen
from tui.forms import ActionForm, Confirm
from tui.reports_screen import ReportsScreen, axis_ticks, period, periods_between, tick_label

from conftest import git
from tests.tui_support import until

AS_OF = dt.date(2026, 6, 30)
BANK_DATA = Path(__file__).parent / "data" / "bank"




def said(app) -> list[str]:
    return [str(n.message) for n in app._notifications]


def cells(table: DataTable) -> list[list[str]]:
    return [[str(c) for c in table.get_row_at(i)] for i in range(table.row_count)]


def log(root: Path) -> list[str]:
    return git(root, "log", "--format=%s").splitlines()


@pytest.fixture
def book(book_1k) -> Path:
    return book_1k


# --------------------------------------------------------------------------- periods

@pytest.mark.parametrize("preset, as_of, expected", [
    ("this_quarter", "2026-06-30", ("2026-04-01", "2026-06-30")),
    ("this_quarter", "2026-01-01", ("2026-01-01", "2026-03-31")),
    ("last_quarter", "2026-02-15", ("2025-10-01", "2025-12-31")),
    ("last_quarter", "2026-11-30", ("2026-07-01", "2026-09-30")),
    ("this_year", "2026-06-30", ("2026-01-01", "2026-12-31")),
    ("last_year", "2026-06-30", ("2025-01-01", "2025-12-31")),
    ("this_month", "2024-02-10", ("2024-02-01", "2024-02-29")),
    ("last_month", "2026-01-31", ("2025-12-01", "2025-12-31")),
    ("this_month", "2026-12-05", ("2026-12-01", "2026-12-31")),
])
def test_named_periods(preset, as_of, expected):
    start, end = period(preset, dt.date.fromisoformat(as_of))
    assert (start.isoformat(), end.isoformat()) == expected


def test_a_chart_has_every_month_or_quarter_of_the_period():
    assert periods_between(dt.date(2025, 11, 15), dt.date(2026, 2, 1), "month") == [
        "2025-11", "2025-12", "2026-01", "2026-02"]
    assert periods_between(dt.date(2025, 11, 15), dt.date(2026, 4, 1), "quarter") == [
        "2025-Q4", "2026-Q1", "2026-Q2"]


@pytest.mark.parametrize("top, en, fr", [
    ("20962.00", "0 5,000 10,000 15,000 20,000 25,000", "0 5\u202f000 10\u202f000 15\u202f000 20\u202f000 25\u202f000"),
    ("4530", "0 1,000 2,000 3,000 4,000 5,000", None),
    ("99", "0 20 40 60 80 100", None),
    ("0.5", "0 0.1 0.2 0.3 0.4 0.5", "0 0,1 0,2 0,3 0,4 0,5"),
    ("0", "0", "0"),
])
def test_a_charts_axis_reads_in_round_steps(top, en, fr):
    ticks = axis_ticks(Decimal(top))
    assert " ".join(tick_label(t, "en") for t in ticks) == en
    if fr is not None:
        assert " ".join(tick_label(t, "fr") for t in ticks) == fr


# --------------------------------------------------------------------------- reports

def test_reports_screen_shows_the_engines_totals_and_follows_the_period(book):
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    engine_book = load_book(book)
    seen: dict = {}

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None)
            assert isinstance(app.screen, DashboardScreen)
            await pilot.press("b")                  # the dashboard's key
            await until(pilot, lambda: isinstance(app.screen, ReportsScreen)
                        and len(app.screen.reports) == 3)
            screen = app.screen
            # VAT, this quarter, invoice basis: what `report vat` computes
            vat = vat_report(engine_book, dt.date(2026, 4, 1), dt.date(2026, 6, 30), "invoice")
            assert screen.query_one("#vat-from", Input).value == "2026-04-01"
            rows = cells(screen.query_one("#vat-table", DataTable))
            assert len(rows) == len(vat.rows) + len(vat.totals)
            for shown, total in zip(rows[len(vat.rows):], vat.totals):
                assert shown[:3] == [i18n.t("report.side.%s" % total["side"], "en"), total["currency"],
                                     "Total"]
                assert shown[-1] == i18n.format_amount(total["gross"], total["currency"], "en")
                assert shown[-2] == i18n.format_amount(total["vat"], total["currency"], "en")
            summary = cells(screen.query_one("#vat-summary", DataTable))
            assert [s[-1] for s in summary] == [
                i18n.format_amount(s["vat_payable"], s["currency"], "en") for s in vat.summary]
            # the payment basis: another report, the engine's again
            screen.query_one("#vat-basis", Select).value = "payment"
            await until(pilot, lambda: screen.reports["vat"].params["basis"] == "payment")
            paid = vat_report(engine_book, dt.date(2026, 4, 1), dt.date(2026, 6, 30), "payment")
            rows = cells(screen.query_one("#vat-table", DataTable))
            assert rows[-1][-1] == i18n.format_amount(paid.totals[-1]["gross"],
                                                      paid.totals[-1]["currency"], "en")
            # aging at the as-of date, its chart the totals of the buckets
            await pilot.press("2")
            aging = aging_report(engine_book, AS_OF)
            rows = cells(screen.query_one("#aging-table", DataTable))
            assert len(rows) == len(aging.rows) + len(aging.totals)
            (total,) = [t for t in aging.totals if t["currency"] == app.snapshot.currency]
            assert screen.chart_values == [total[b] for b in
                                           ("not_due", "d1_30", "d31_60", "d61_90", "over_90")]
            assert rows[-1][-1] == i18n.format_amount(aging.totals[-1]["total"],
                                                      aging.totals[-1]["currency"], "en")
            # revenue: this year by month; then a period typed, by quarter
            await pilot.press("3")
            revenue = revenue_report(engine_book, "month", dt.date(2026, 1, 1), dt.date(2026, 12, 31))
            rows = cells(screen.query_one("#revenue-table", DataTable))
            assert [r[0] for r in rows[:len(revenue.rows)]] == [r["month"] for r in revenue.rows]
            assert rows[-1][-1] == i18n.format_amount(revenue.totals[-1]["gross"],
                                                      revenue.totals[-1]["currency"], "en")
            screen.query_one("#revenue-by", Select).value = "quarter"
            screen.query_one("#revenue-from", Input).value = "2025-01-01"
            await until(pilot, lambda: screen.reports["revenue"].params["by"] == "quarter"
                        and screen.reports["revenue"].params["from"] == dt.date(2025, 1, 1))
            assert screen.query_one("#revenue-preset", Select).value == "custom"
            by_quarter = revenue_report(engine_book, "quarter", dt.date(2025, 1, 1), dt.date(2026, 12, 31))
            rows = cells(screen.query_one("#revenue-table", DataTable))
            assert [r[0] for r in rows[:len(by_quarter.rows)]] == [r["quarter"] for r in by_quarter.rows]
            # a date that does not read keeps the last report, nothing breaks
            screen.query_one("#revenue-to", Input).value = "2026-13-01"
            await pilot.pause(0.2)
            assert screen.query_one("#revenue-to", Input).has_class("-invalid")
            assert screen.reports["revenue"].params["to"] == dt.date(2026, 12, 31)
            seen["ok"] = True
            await pilot.press("escape")
            await until(pilot, lambda: isinstance(app.screen, DashboardScreen))

    asyncio.run(run())
    assert seen["ok"]


def test_reports_in_french_from_the_palette(book):
    app = FacturierApp(book, as_of=AS_OF, lang="fr", watch=False)

    async def run():
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: app.snapshot is not None)
            await pilot.press("ctrl+p")
            await pilot.press(*"Rapports")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ReportsScreen)
                        and len(app.screen.reports) == 3)
            title = str(app.screen.query_one("#vat-title").render())
            assert title.startswith("TVA du 1 avr. 2026 au 30 juin 2026 (base facturation)")
            header = [str(c.label) for c in app.screen.query_one("#vat-table", DataTable).columns.values()]
            assert header[:3] == ["Côté", "Monnaie", "Taux TVA"]

    asyncio.run(run())


# --------------------------------------------------------------------------- exports

@pytest.mark.parametrize("ledger, suffix", [("hledger", ".journal"), ("beancount", ".beancount")])
def test_export_from_the_palette_writes_the_journal_the_cli_writes(book, tmp_path, monkeypatch, cli,
                                                                   ledger, suffix):
    workdir = tmp_path / "here"
    workdir.mkdir()
    monkeypatch.chdir(workdir)
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    label = "Export hledger journal…" if ledger == "hledger" else "Export beancount…"
    before = log(book)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None)
            await pilot.press("ctrl+p")
            await pilot.press(*label[:-1])
            await pilot.pause(0.5)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ActionForm))
            path = app.screen.query_one("#field-path", Input)
            assert path.value == str(workdir / ("book" + suffix))      # the current folder
            await pilot.click("#ok")
            await until(pilot, lambda: any("Wrote" in m for m in said(app)))
            (done,) = [m for m in said(app) if m.startswith("Wrote ")]
            assert done.endswith(" transactions to %s" % (workdir / ("book" + suffix)))
            # again: the file exists, the app asks before replacing it
            await pilot.press("ctrl+p")
            await pilot.press(*label[:-1])
            await pilot.pause(0.5)
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, ActionForm))
            await pilot.click("#ok")
            await until(pilot, lambda: isinstance(app.screen, Confirm))
            await pilot.press("escape")
            await pilot.pause(0.3)

    asyncio.run(run())
    written = (workdir / ("book" + suffix)).read_text()
    out = cli("--as-of", AS_OF.isoformat(), "export", ledger, book=book)
    assert out.code == 0 and written == out.out
    assert log(book) == before                     # an export commits nothing


# --------------------------------------------------------------------------- bank statements

BANK_BOOK = {
    "facturier.yaml": "currency: CHF\n",
    "contacts/acme.yaml": "name: ACME SA\n",
    "contacts/bob.yaml": "name: Bob GmbH\n",
}


def _invoice(number: str, customer: str, price: str) -> str:
    return ("kind: invoice\ncustomer: %s\ndate: 2025-01-10\nnumber: %s\nvalidated: 2025-01-10\n"
            "lines:\n  - {description: Work, quantity: 1, unit_price: \"%s\", vat: \"8.1\"}\n"
            % (customer, number, price))


for _i, (_who, _price) in enumerate((("acme", "100"), ("acme", "200"), ("bob", "50"), ("bob", "50")), 1):
    BANK_BOOK["documents/2025/01/inv-%d.yaml" % _i] = _invoice("2025-000%d" % _i, _who, _price)


def test_bank_import_then_assign_the_ambiguous_entry_one_commit(make_book, cli):
    root = make_book(BANK_BOOK)
    git(root, "config", "user.name", "Test Person")
    git(root, "config", "user.email", "test@example.org")
    statement = BANK_DATA / "camt053_v02.xml"
    app = FacturierApp(root, as_of=dt.date(2025, 3, 10), lang="en", watch=False)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None)
            await pilot.press("i")                  # the dashboard's key
            await until(pilot, lambda: isinstance(app.screen, ActionForm))
            app.screen.query_one("#field-path", Input).value = str(statement)
            await pilot.click("#ok")
            await until(pilot, lambda: isinstance(app.screen, BankScreen))
            screen = app.screen
            summary = str(screen.query_one("#bank-summary").render())
            assert summary == "camt.053: 3 recorded now, 0 recorded before, 2 to assign, 2 not credits"
            rows = cells(screen.query_one("#bank-table", DataTable))
            assert [(r[0], r[1], r[4], r[5]) for r in rows] == [
                ("entry 2, transaction 2", "ambiguous", "bob gmbh", "E2/2"),
                ("entry 5", "unmatched", "A Stranger", "E5")]
            assert log(root)[0] == "Import 3 payments from camt053_v02.xml"
            # the ambiguous entry: its candidates, the two invoices of 54.05 first
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, CandidatePicker))
            picked = cells(app.screen.query_one("#pick-table", DataTable))
            assert [(r[0], r[1], r[-1]) for r in picked[:2]] == [
                ("★", "2025-0003", "0.00"), ("★", "2025-0004", "0.00")]
            assert len(picked) == 2             # 2025-0001 and 0002 are paid by the import
            await pilot.press("down", "enter")      # 2025-0004
            await until(pilot, lambda: app.screen is screen and len(screen.result.left) == 1
                        and not app.busy)
            rows = cells(screen.query_one("#bank-table", DataTable))
            assert [r[5] for r in rows] == ["E5"]
            # the stranger's 999.00: no invoice is open for that much; leave it
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, CandidatePicker))
            await pilot.press("escape")
            await until(pilot, lambda: app.screen is screen)

    asyncio.run(run())
    assert log(root)[:2] == ["Record payment of 54.05 CHF on invoice 2025-0004 (inv-4)",
                             "Import 3 payments from camt053_v02.xml"]
    message = git(root, "log", "-1", "--format=%B")
    assert "Facturier-Action: document.payment" in message
    assert "Facturier-Bank-Reference: E2/2" in message
    payments = load_book(root).documents["inv-4"].payments
    assert [(p.date, p.amount, p.reference) for p in payments] == [
        (dt.date(2025, 2, 4), Decimal("54.05"), "E2/2")]
    # importing the file again records nothing: the assigned entry is known
    out = cli("--as-of", "2025-03-10", "import", "bank", str(statement), book=root)
    assert out.code == 0 and "recorded 0 payments, 4 already recorded, 1 unmatched, 0 ambiguous" \
        in out.out, out
    assert len(log(root)) == 3


def test_a_statement_that_does_not_read_says_why_and_commits_nothing(make_book, tmp_path):
    root = make_book(BANK_BOOK)
    bad = tmp_path / "statement.csv"
    bad.write_text("Date;Amount\n2025-02-01;10\n")
    app = FacturierApp(root, as_of=dt.date(2025, 3, 10), lang="en", watch=False)

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            await until(pilot, lambda: app.snapshot is not None)
            for path, csv_map, expected in (
                    (bad, "", "statement.csv looks like CSV: say its columns"),
                    (bad, "date=Date,amount=Amount,reference=Ref", "no column 'Ref'"),
                    (tmp_path / "missing.xml", "", "missing.xml cannot be read")):
                app.action_import_bank()
                await until(pilot, lambda: isinstance(app.screen, ActionForm))
                app.screen.query_one("#field-path", Input).value = str(path)
                app.screen.query_one("#field-csv_map", Input).value = csv_map
                await pilot.click("#ok")
                await until(pilot, lambda expected=expected: any(expected in m for m in said(app)))
                assert isinstance(app.screen, DashboardScreen)

    asyncio.run(run())
    assert log(root) == ["Test book"]


# --------------------------------------------------------------------------- snapshots

def _reports_on(tab: str):
    async def run_before(pilot):
        app = pilot.app
        deadline = time.monotonic() + 30
        # the whole book: a partial snapshot's successor would ask the
        # reports again while they are being drawn
        while app.snapshot is None or not app.snapshot.complete or not app.loaded.is_set():
            assert time.monotonic() < deadline, "the book did not load"
            await pilot.pause(0.05)
        app.action_reports(tab)
        while not (isinstance(app.screen, ReportsScreen) and len(app.screen.reports) == 3):
            assert time.monotonic() < deadline, "the reports did not come"
            await pilot.pause(0.05)
        await pilot.pause(0.3)
    return run_before


@pytest.mark.parametrize("tab", ["vat", "aging", "revenue"])
def test_reports_screen_snapshot(book, snap_compare, tab):
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    assert snap_compare(app, terminal_size=(100, 30), run_before=_reports_on(tab))
