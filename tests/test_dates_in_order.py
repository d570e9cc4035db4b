"""What a command records is never dated before what it follows (issue 11):
`doc send` and `doc returned` before the document's own dates, a recurrence
repaired before it was stopped; `recurrence new` with both --until and
--count (RFC 5545: one or the other, a usage error)."""
from __future__ import annotations

import yaml

from test_daily_support import Handler, Server, base_files, facturier, git

INVOICE = """\
kind: invoice
customer: acme
date: 2025-03-10
lines:
  - {description: Design, quantity: 1, unit_price: "100.00"}
"""
STOPPED = """\
name: Hosting
template: inv-tpl
rule: FREQ=MONTHLY;BYMONTHDAY=1
start: 2025-01-01
last: 2025-02-01
stopped: {at: "2025-03-05T06:00:00+00:00", occurrence: 2025-03-01, cause: "template inv-x does not exist"}
"""


def _book(make_book, port=25):
    files = base_files(port)
    files["documents/2025/03/inv-1.yaml"] = INVOICE
    files["recurrences/hosting.yaml"] = STOPPED
    root = make_book(files)
    assert facturier(root, "--as-of", "2025-03-12", "doc", "validate", "inv-1").returncode == 0
    return root


def test_send_and_returned_before_the_documents_dates_are_refused(make_book):
    handler = Handler()
    server = Server(handler)
    try:
        root = _book(make_book, server.port)
        head = git(root, "rev-parse", "HEAD")
        cases = [
            (("--as-of", "2025-03-11", "doc", "send", "inv-1"),
             "its validation is 2025-03-12, so it cannot be e-mailed on 2025-03-11"),
            (("--as-of", "2025-03-09", "doc", "send", "inv-1"),
             "its validation is 2025-03-12, so it cannot be e-mailed on 2025-03-09"),
            (("--as-of", "2025-03-11", "doc", "returned", "inv-1"),
             "its validation is 2025-03-12, so it cannot be recorded as returned on 2025-03-11"),
            (("--lang", "fr", "--as-of", "2025-03-11", "doc", "send", "inv-1"),
             "sa validation est du 2025-03-12 ; ce document ne peut donc pas être envoyé par "
             "e-mail le 2025-03-11, avant cette date (--as-of 2025-03-12 ou plus tard)"),
        ]
        for args, said in cases:
            result = facturier(root, *args)
            assert result.returncode == 1, (args, result.stderr)
            assert said in result.stderr, (args, result.stderr)
            assert "Traceback" not in result.stderr
        assert git(root, "rev-parse", "HEAD") == head and not handler.received
        sent = facturier(root, "--as-of", "2025-03-14", "doc", "send", "inv-1")
        assert sent.returncode == 0, sent.stderr
        # the delivery is now the latest of the document's dates
        late = facturier(root, "--as-of", "2025-03-13", "doc", "returned", "inv-1")
        assert late.returncode == 1 and "its last delivery is 2025-03-14" in late.stderr
        ok = facturier(root, "--as-of", "2025-03-20", "doc", "returned", "inv-1")
        assert ok.returncode == 0, ok.stderr
        deliveries = yaml.safe_load((root / "documents/2025/03/inv-1.yaml").read_text())["deliveries"]
        assert [d["result"] for d in deliveries] == ["sent", "returned"]
    finally:
        server.stop()


def test_a_recurrence_is_never_repaired_before_it_was_stopped(make_book):
    root = _book(make_book)
    head = git(root, "rev-parse", "HEAD")
    for choice in ("--end", "--skip-missing", "--create-missing"):
        result = facturier(root, "--as-of", "2025-03-04", "recurrence", "repair", "hosting", choice)
        assert result.returncode == 1, result.stderr
        assert ("recurrence hosting was stopped on 2025-03-05: it cannot be repaired on "
                "2025-03-04") in result.stderr
    assert git(root, "rev-parse", "HEAD") == head
    done = facturier(root, "--as-of", "2025-03-05", "recurrence", "repair", "hosting", "--end")
    assert done.returncode == 0, done.stderr
    assert "ended: 2025-03-05" in (root / "recurrences/hosting.yaml").read_text()


def test_recurrence_new_takes_until_or_count_not_both(make_book):
    root = _book(make_book)
    head = git(root, "rev-parse", "HEAD")
    cases = [
        ("--frequency", "monthly", "--until", "2025-12-31", "--count", "3"),
        ("--rule", "FREQ=MONTHLY;BYMONTHDAY=1", "--until", "2025-12-31", "--count", "3"),
        ("--rule", "FREQ=MONTHLY;COUNT=4", "--count", "3"),
        ("--rule", "FREQ=MONTHLY;UNTIL=20251231", "--count", "3"),
    ]
    for extra in cases:
        result = facturier(root, "--as-of", "2025-03-01", "recurrence", "new", "--name", "Hosting 2",
                           "--template", "inv-tpl", *extra)
        assert result.returncode == 2, (extra, result.stderr)
        assert "--count" in result.stderr and "Traceback" not in result.stderr
    assert git(root, "rev-parse", "HEAD") == head
    fr = facturier(root, "--lang", "fr", "--as-of", "2025-03-01", "recurrence", "new", "--name",
                   "Hosting 2", "--template", "inv-tpl", "--frequency", "monthly", "--until",
                   "2025-12-31", "--count", "3")
    assert fr.returncode == 2 and "donnez --until ou --count, pas les deux" in fr.stderr
    for extra in (("--count", "3"), ("--until", "2025-12-31")):
        ok = facturier(root, "--as-of", "2025-03-01", "recurrence", "new", "--name",
                       "Hosting %s" % extra[0], "--template", "inv-tpl", "--frequency", "monthly",
                       *extra)
        assert ok.returncode == 0, ok.stderr


def test_a_number_dated_before_its_predecessor_is_refused_in_french(make_book):
    root = _book(make_book)
    (root / "documents/2025/03/inv-2.yaml").write_text(INVOICE)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Second draft")
    result = facturier(root, "--lang", "fr", "--as-of", "2025-03-11", "doc", "validate", "inv-2")
    assert result.returncode == 1, result.stderr
    assert ("impossible de numéroter ce document (facture) le 2025-03-11 : le dernier numéro "
            "(facture) de 2025, 2025-0002, a été donné le 2025-03-12") in result.stderr, result.stderr
