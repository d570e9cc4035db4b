"""`facturier bounces FILE...`: an RFC 3464 report recorded on the e-mail it
names (SPEC 5.2), on a real book."""
from __future__ import annotations

import json

from test_daily_support import base_files, facturier, git

SENT = """\
kind: invoice
customer: acme
date: 2025-02-01
number: "2025-0002"
validated: 2025-02-01
lines:
  - description: Hosting
    unit_price: "100.00"
deliveries:
  - channel: email
    at: "2025-02-01T09:00:00+00:00"
    to: ap@acme.example
    result: sent
    message_id: "<170000.facturier@atelier.example>"
"""

DSN = """\
From: MAILER-DAEMON@mx.acme.example
To: billing@atelier.example
Subject: Undelivered Mail Returned to Sender
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="XX"

--XX
Content-Type: text/plain

Your message could not be delivered.

--XX
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.acme.example

Final-Recipient: rfc822; ap@acme.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 User unknown

--XX
Content-Type: message/rfc822

From: Atelier Exemple <billing@atelier.example>
To: ACME SA <ap@acme.example>
Subject: Invoice 2025-0002 from Atelier Exemple SA
Message-ID: <MSGID>

Hello

--XX--
"""


def status_of(root, doc_id, as_of="2025-02-05"):
    rows = json.loads(facturier(root, "--as-of", as_of, "status", "--format", "json").stdout)
    return {r["id"]: r["status"] for r in rows}[doc_id]


def test_a_bounce_report_marks_the_delivery_bounced_in_one_commit(make_book, tmp_path):
    files = base_files()
    files["documents/2025/02/inv-sent.yaml"] = SENT
    root = make_book(files)
    assert status_of(root, "inv-sent") == "processing"
    report = tmp_path / "bounce.eml"
    report.write_text(DSN.replace("MSGID", "170000.facturier@atelier.example"))
    before = git(root, "rev-parse", "HEAD")
    proc = facturier(root, "bounces", str(report), "--format", "json")
    assert proc.returncode == 0, proc.stderr
    (row,) = json.loads(proc.stdout)
    assert row["document"] == "inv-sent" and row["recorded"] and row["status"] == "5.1.1"
    assert git(root, "rev-list", "--count", "%s..HEAD" % before.strip()) == "1\n"
    assert git(root, "log", "-1", "--format=%(trailers:key=Facturier-Action,valueonly)").strip() == \
        "document.bounce"
    text = (root / "documents/2025/02/inv-sent.yaml").read_text()
    assert "result: bounced" in text and "User unknown" in text and text.count("channel:") == 1
    assert status_of(root, "inv-sent") == "email_undelivered"
    # the same report again: nothing more, not a failure
    head = git(root, "rev-parse", "HEAD")
    proc = facturier(root, "bounces", str(report))
    assert proc.returncode == 0 and "already recorded" in proc.stdout
    assert git(root, "rev-parse", "HEAD") == head


def test_unknown_message_id_and_files_that_are_not_reports_fail(make_book, tmp_path):
    files = base_files()
    files["documents/2025/02/inv-sent.yaml"] = SENT
    root = make_book(files)
    unknown = tmp_path / "unknown.eml"
    unknown.write_text(DSN.replace("MSGID", "nobody@elsewhere.example"))
    plain = tmp_path / "plain.eml"
    plain.write_text("From: a@b.example\nSubject: hi\n\nhello\n")
    head = git(root, "rev-parse", "HEAD")
    proc = facturier(root, "bounces", str(unknown), str(plain))
    assert proc.returncode == 1
    assert "no document has an e-mail with the Message-ID <nobody@elsewhere.example>" in proc.stdout
    assert "not a delivery status notification" in proc.stderr
    assert git(root, "rev-parse", "HEAD") == head


def test_a_bounce_report_settles_an_attempt_left_sending(make_book, tmp_path):
    # the answer to the message was lost (left `sending`); the bounce that comes
    # back later says what happened: bounced, and `run` stops reporting it
    files = base_files()
    files["documents/2025/02/inv-sent.yaml"] = SENT.replace("result: sent", "result: sending")
    root = make_book(files)
    run = json.loads(facturier(root, "--as-of", "2025-02-05", "run", "--no-send", "--format",
                               "json").stdout)
    assert run["sending"] == ["inv-sent"]
    report = tmp_path / "bounce.eml"
    report.write_text(DSN.replace("MSGID", "170000.facturier@atelier.example"))
    assert facturier(root, "bounces", str(report)).returncode == 0
    assert "result: bounced" in (root / "documents/2025/02/inv-sent.yaml").read_text()
    run = json.loads(facturier(root, "--as-of", "2025-02-05", "run", "--no-send", "--format",
                               "json").stdout)
    assert run["sending"] == []
    assert status_of(root, "inv-sent") == "email_undelivered"
