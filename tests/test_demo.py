"""The demo book: alive on any day, valid, every status, the six recurrences in
their intended states; `facturier demo` and `facturier init --demo`."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections import Counter

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import REPO, git
from engine.book import load_book, load_files
from engine.demo import DEMO_TIMEZONE, demo_files, month_start, render
from engine.gitstore import init_repository
from engine.model import Book
from engine.recurrence import generate_document, missing_occurrences, occurrences, state_of
from engine.status import STATUSES, amounts, status_of

DAYS = [dt.date(2026, 11, 23), dt.date(2027, 2, 28), dt.date(2028, 2, 29),
        dt.date(2026, 12, 31), dt.date(2027, 1, 1), dt.date(2027, 3, 31)]

INTENDED = {                      # recurrence -> (state, number of missing occurrences)
    "hosting-brightside": ("active", 0),
    "maintenance-nordic": ("active", 0),
    "licence-atlas": ("active", 0),
    "servers-cloudnest": ("active", 0),
    "newsletter-martin": ("stopped", 1),
    "seo-harbour": ("stopped", 7),
}


def book_from(files: dict[str, bytes]) -> Book:
    """The book the engine reads from these files (no git): pure and fast."""
    return load_files(files, check=True)


def assert_alive(book: Book, today: dt.date) -> None:
    assert [str(d) for d in book.diagnostics] == []
    seen = Counter(status_of(doc, book, today) for doc in book.documents.values())
    assert sorted(set(STATUSES) - set(seen)) == []
    for rec_id, (state, missing) in INTENDED.items():
        rec = book.recurrences[rec_id]
        assert (state_of(rec, today), len(missing_occurrences(rec, today))) == (state, missing), \
            rec_id


@pytest.mark.parametrize("today", DAYS, ids=str)
def test_demo_book_in_git_has_every_status_and_no_error(tmp_path, today):
    root = tmp_path / "demo"
    init_repository(root, demo_files(today), "Create the demo book", "Demo <demo@example.com>")
    book = load_book(root)
    assert [str(d) for d in book.diagnostics if d.is_error] == []
    assert 130 <= len(book.documents) <= 180
    assert_alive(book, today)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2035, 12, 31)))
def test_demo_book_is_alive_on_any_day(today):
    assert_alive(book_from(demo_files(today)), today)


def test_the_demo_is_deterministic_and_moves_with_today():
    today = dt.date(2026, 11, 23)
    assert demo_files(today) == demo_files(today)
    later = demo_files(today + dt.timedelta(days=1))
    assert later != demo_files(today)
    assert not any(b"{{" in data for data in later.values())


def test_recurrences_match_their_generated_documents():
    today = dt.date(2027, 2, 28)
    book = book_from(demo_files(today))
    assert set(book.recurrences) == set(INTENDED)
    for rec in book.recurrences.values():
        template = book.document(rec.template)
        assert template is not None and template.kind in ("invoice", "expense")
        made = book.documents_of_recurrence(rec.id)
        expected = occurrences(rec, through=rec.last) if rec.last else []
        assert [d.occurrence for d in made] == expected, rec.id
        assert all(d.id == "%s-%s" % (rec.id, d.occurrence) and d.date == d.occurrence
                   and d.kind == template.kind and d.contact == template.contact for d in made)
        assert "{" not in "".join(line.description for d in made for line in d.lines)
    # the one-missing recurrence can be repaired by creating its document
    newsletter = book.recurrences["newsletter-martin"]
    assert missing_occurrences(newsletter, today) == [dt.date(2027, 2, 1)]
    assert newsletter.stopped.occurrence == dt.date(2027, 2, 1)
    assert book.contacts["martin-bakery"].email == ""      # the cause still written in it
    assert len(book.documents_of_recurrence("newsletter-martin")) == 8
    assert book.documents_of_recurrence("seo-harbour") == ()


def test_generated_documents_are_what_the_engine_generates():
    """The demo's recurring documents are copies the daily run would make
    (then validated, sent, paid as time went by)."""
    today = dt.date(2026, 11, 23)
    book = book_from(demo_files(today))
    checked = 0
    for rec in book.recurrences.values():
        template = book.document(rec.template)
        for doc in book.documents_of_recurrence(rec.id):
            # generated on time: by a run on the occurrence's date (or before it)
            fresh = generate_document(rec, template, doc.occurrence, book,
                                      min(today, doc.occurrence))
            for field in ("id", "path", "kind", "contact", "date", "due", "currency", "total",
                          "notes", "recurrence", "occurrence", "scheduled"):
                assert getattr(doc, field) == getattr(fresh, field), (doc.id, field)
            assert [(x.description, x.quantity, x.unit_price, x.vat) for x in doc.lines] == \
                [(x.description, x.quantity, x.unit_price, x.vat) for x in fresh.lines]
            checked += 1
    assert checked == 12 + 5 + 1 + 12 + 8


def test_the_daily_run_has_nothing_to_do_on_the_demo_but_reports_the_stopped(cli, tmp_path):
    today = "2027-02-28"
    root = tmp_path / "demo"
    init_repository(root, demo_files(dt.date.fromisoformat(today)), "Create the demo book")
    run = cli("--as-of", today, "run", "--dry-run", "--format", "json", book=root)
    assert run.code == 3, run                  # success, but recurrences are stopped
    report = json.loads(run.out)
    assert sorted(report["stopped"]) == ["newsletter-martin", "seo-harbour"]
    assert [report[key] for key in ("generated", "validated", "sent", "reminded", "errors")] \
        == [[], [], [], [], []]


def test_the_situations_a_newcomer_should_meet():
    today = dt.date(2026, 11, 23)
    book = book_from(demo_files(today))
    docs = list(book.documents.values())
    latest = [d.deliveries[-1].result for d in docs if d.deliveries]
    assert "bounced" in latest and "returned" in latest
    assert any(d.write_off for d in docs)
    assert any(h.end is None for d in docs for h in d.holds)
    assert any(h.end is not None for d in docs for h in d.holds)
    overpaid = [d for d in docs if status_of(d, book, today) == "overpaid"]
    assert amounts(overpaid[0], book, today).open < 0
    cancelled = [d for d in docs if status_of(d, book, today) == "cancelled_by_credit_note"]
    assert [cn.validated is not None for cn in book.credit_notes_for(cancelled[0].id)] == [True]
    assert book.settings.locale == "en" and book.settings.currency == "EUR"
    assert book.settings.timezone == DEMO_TIMEZONE
    assert book.settings.company.name and book.settings.company.address.city == "Lyon"
    assert Counter(d.kind for d in docs).keys() == {"invoice", "credit_note", "quote",
                                                    "work_order", "expense"}


def test_numbers_are_gap_free_per_kind_and_year_in_validation_order():
    book = book_from(demo_files(dt.date(2027, 1, 1)))
    series: dict = {}
    for doc in book.documents.values():
        if doc.number:
            series.setdefault((doc.kind, doc.date.year), []).append(doc)
    assert ("invoice", 2026) in series and ("quote", 2026) in series
    for members in series.values():
        members.sort(key=lambda d: int(d.number.rsplit("-", 1)[1]))
        assert [int(d.number.rsplit("-", 1)[1]) for d in members] == \
            list(range(1, len(members) + 1))
        assert [d.validated for d in members] == sorted(d.validated for d in members)


def test_date_tokens():
    today = dt.date(2028, 2, 29)
    assert month_start(today, -13) == dt.date(2027, 1, 1)
    assert render("{{-45}} {{+1|ymd}} {{m0}} {{m-13+20}} {{m0@06:00}} {{number}}", today) == \
        "2028-01-15 20280301 2028-02-01 2027-01-21 2028-02-01T06:00:00+00:00 {{number}}"


# --------------------------------------------------------------------------- the commands

def test_facturier_demo_makes_a_book_that_check_accepts(cli, tmp_path):
    target = tmp_path / "my demo"
    made = cli("--as-of", "2027-02-28", "demo", str(target), "--no-open")
    assert made.code == 0, made
    assert str(target) in made.err
    assert git(target, "log", "--format=%s").splitlines() == ["Create the demo book"]
    assert git(target, "status", "--porcelain") == ""
    for name in (".gitignore", ".vscode/settings.json", ".schemas/document.schema.json",
                 "recurrences/seo-harbour.yaml", "contacts/brightside.yaml"):
        assert (target / name).is_file(), name
    checked = cli("--as-of", "2027-02-28", "check", book=target)
    assert checked.code == 0, checked
    assert "no errors" in checked.err
    again = cli("demo", str(target), "--no-open")
    assert again.code == 1 and "already holds a book" in again.err


def test_facturier_init_demo_is_the_same_book(cli, tmp_path):
    made = cli("--as-of", "2026-11-23", "init", str(tmp_path / "b"), "--demo")
    assert made.code == 0, made
    files = demo_files(dt.date(2026, 11, 23))
    for path, data in files.items():
        assert (tmp_path / "b" / path).read_bytes() == data, path
    status = cli("--as-of", "2026-11-23", "status", "--format", "json", book=tmp_path / "b")
    assert status.code == 0, status
    assert '"status": "litigation"' in status.out


def test_facturier_demo_without_dir_uses_a_fresh_temporary_folder(cli, tmp_path):
    made = cli("demo", "--no-open", env={"TMPDIR": str(tmp_path)})
    assert made.code == 0, made
    [folder] = [p for p in tmp_path.iterdir() if p.name.startswith("facturier-demo-")]
    assert str(folder) in made.err
    assert (folder / "facturier.yaml").is_file()


def test_demo_without_the_app_says_how_to_open_it(tmp_path):
    """Run through the engine's CLI alone (no `tui` command registered): the book
    is made and the message says how to open it."""
    code = ("import sys; from engine.cli import main; "
            "main.main(args=sys.argv[1:], prog_name='facturier')")
    proc = subprocess.run([sys.executable, "-c", code, "--as-of", "2026-11-23", "demo",
                           str(tmp_path / "d")], capture_output=True, text=True, cwd=str(REPO),
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.returncode == 0, proc.stderr
    assert "open it with: facturier --book %s" % (tmp_path / "d") in proc.stderr
    assert (tmp_path / "d" / "facturier.yaml").is_file()
