"""`facturier run` and time (SPEC 4.1, 6.1, revision 2), on real git books with
a real SMTP server: a document issued late is due from the day it is issued,
so a catch-up never e-mails an invoice and its reminder together; a run
never goes back in time."""
from __future__ import annotations

import json

import pytest

from test_daily_support import Handler, Server, base_files, facturier, git, recurrence

INVOICE = """\
kind: invoice
customer: acme
date: 2025-01-01
due: 2025-01-31
number: "2025-0002"
validated: 2025-01-01
lines:
  - description: Work
    quantity: 1
    unit_price: "100.00"
    vat: "8.1"
"""


@pytest.fixture
def server():
    s = Server(Handler())
    yield s
    s.stop()


def run(root, as_of, *args):
    proc = facturier(root, "--as-of", as_of, "run", "--format", "json", *args)
    return proc.returncode, (json.loads(proc.stdout) if proc.stdout.strip() else None), \
        proc.stderr


def head(root) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def due_of(root, doc_id) -> str:
    proc = facturier(root, "doc", "show", doc_id, "--format", "json")
    return json.loads(proc.stdout)["due"]


# --------------------------------------------------------------------------- late generation

def test_a_catch_up_run_never_emails_an_invoice_and_its_reminder_together(make_book, server):
    """The issue's case: two months late, `issue: send`: the invoices are
    issued today, due 30 days from today; no reminder in the same run."""
    files = base_files(server.port, max_catch_up=3)
    files["recurrences/hosting.yaml"] = recurrence(issue="send", last="2025-01-01")
    root = make_book(files)
    code, out, err = run(root, "2025-03-20")
    assert code == 0, err
    assert out["generated"] == ["hosting-2025-02-01", "hosting-2025-03-01"]
    assert out["sent"] == ["hosting-2025-02-01", "hosting-2025-03-01"]
    assert out["reminded"] == []
    assert server.handler.subjects() == ["Invoice 2025-0002 from Atelier Exemple SA",
                                         "Invoice 2025-0003 from Atelier Exemple SA"]
    assert [due_of(root, d) for d in out["generated"]] == ["2025-04-19", "2025-04-19"]
    # each level gets its full term from the due date
    code, out, _ = run(root, "2025-04-19")
    assert out["reminded"] == []
    code, out, _ = run(root, "2025-04-20")
    assert out["reminded"] == ["hosting-2025-02-01", "hosting-2025-03-01"]


def test_an_occurrence_generated_on_time_keeps_its_term_from_its_date(make_book):
    files = base_files()
    files["recurrences/hosting.yaml"] = recurrence(last="2025-01-01")
    root = make_book(files)
    code, out, _ = run(root, "2025-02-01")
    assert out["generated"] == ["hosting-2025-02-01"]
    assert due_of(root, "hosting-2025-02-01") == "2025-03-03"


def test_a_scheduled_invoice_processed_late_is_due_from_its_processing(make_book, server):
    """A sibling: `future_invoices: process` validating and sending a
    scheduled invoice weeks after its date gave it a due date already past,
    and its first reminder in the same run."""
    files = base_files(server.port, future="process")
    files["documents/2025/02/inv-later.yaml"] = (
        "kind: invoice\ncustomer: acme\ndate: 2025-02-01\nscheduled: true\n"
        "lines: [{description: Work, quantity: 1, unit_price: 100, vat: 8.1}]\n")
    root = make_book(files)
    code, out, err = run(root, "2025-03-20")
    assert code == 0, err
    assert out["validated"] == ["inv-later"] and out["sent"] == ["inv-later"]
    assert out["reminded"] == []
    assert due_of(root, "inv-later") == "2025-04-19"
    assert len(server.handler.received) == 1


# --------------------------------------------------------------------------- never back in time

def test_a_run_before_a_recorded_reminder_is_refused_naming_its_date(make_book):
    """The issue's case: a level-3 reminder dated before the level-2 one."""
    files = base_files()
    files["documents/2025/01/inv-late.yaml"] = INVOICE + (
        "reminders:\n  - level: 1\n    date: 2025-02-01\n  - level: 2\n    date: 2025-02-12\n")
    root = make_book(files)
    before = head(root)
    for extra in ((), ("--dry-run",)):
        code, out, err = run(root, "2025-02-11", *extra)
        assert code == 2, err
        assert out is None
        assert "cannot run on 2025-02-11: the book already records reminder 2 of inv-late " \
            "on 2025-02-12" in err, err
        assert "Traceback" not in err
        assert head(root) == before
    assert git(root, "status", "--porcelain") == ""
    code, out, _ = run(root, "2025-02-12")          # the same day is not going back
    assert code == 0 and out["reminded"] == []
    code, out, _ = run(root, "2025-02-23")
    assert code == 0 and out["reminded"] == ["inv-late"]
    assert "level: 3\n    date: 2025-02-23" in (root / "documents/2025/01/inv-late.yaml").read_text()


def test_a_run_before_a_generation_or_a_delivery_is_refused(make_book):
    files = base_files()
    files["recurrences/hosting.yaml"] = recurrence(last="2025-01-01")
    files["documents/2025/01/inv-late.yaml"] = INVOICE + (
        "deliveries:\n  - {channel: email, at: \"2025-01-20T09:00:00+01:00\", "
        "to: ap@acme.example, result: sent}\n")
    root = make_book(files)
    code, _, err = run(root, "2025-01-19")
    assert code == 2 and "an e-mail delivery of inv-late on 2025-01-20" in err, err
    code, out, err = run(root, "2025-03-01", "--no-send")
    assert code == 0, err
    assert out["generated"] == ["hosting-2025-02-01", "hosting-2025-03-01"]
    code, _, err = run(root, "2025-02-15")
    assert code == 2, err
    assert "cannot run on 2025-02-15" in err and "on 2025-03-01" in err, err
