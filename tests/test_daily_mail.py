"""`facturier run` and its e-mails (SPEC 5.2, 6.1), against real SMTP servers
on 127.0.0.1 that misbehave at precise points (tests/fault_smtp.py): what the
committed files say, how many times the server received each message over two
runs, the run's exit status and message; one session per run; Ctrl-C while
reminders are e-mailed."""
from __future__ import annotations

import collections
import json
import os
import signal
import subprocess
import sys

import pytest
import yaml

from fault_smtp import FaultServer
from test_daily_support import (REPO, base_files, facturier, free_port, git, issuing_files,
                                recurrence)

AS_OF = "2025-03-01"
LATE = ("a", "b", "c", "d", "e", "f")


def overdue(n: int) -> str:
    return ("kind: invoice\ncustomer: acme\ndate: 2025-01-01\nnumber: \"2025-%04d\"\n"
            "validated: 2025-01-01\nlines:\n  - description: Consulting\n    unit_price: \"100.00\"\n"
            % (100 + n))


def book_files(port: int, late=LATE[:2], send_recurrence: bool = True) -> dict:
    """A `send` recurrence with two occurrences due (step 3) and overdue
    invoices inv-<x> whose first reminder is due (step 4)."""
    files = base_files(port)
    if send_recurrence:
        files["recurrences/mail.yaml"] = recurrence(issue="send", last="2025-01-01")
    for n, x in enumerate(late):
        files["documents/2025/01/inv-%s.yaml" % x] = overdue(n)
    return files


def run(root, *args, env=None):
    proc = facturier(root, "--as-of", AS_OF, "run", "--format", "json", *args, env=env)
    assert proc.returncode in (0, 1), proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def emails(root) -> dict:
    """{document id: its e-mail delivery entries}, from the committed files."""
    out = {}
    for path in root.glob("documents/**/*.yaml"):
        data = yaml.safe_load(path.read_text())
        found = [d for d in data.get("deliveries") or [] if d.get("channel") == "email"]
        if found or data.get("reminders"):
            out[path.stem] = found
    return out


def results(root) -> dict:
    return {doc_id: [d["result"] for d in entries] for doc_id, entries in emails(root).items()}


def sending_per_commit(root, since: str) -> list[int]:
    """For each commit after ``since``: how many e-mail entries are `sending`."""
    commits = git(root, "rev-list", "%s..HEAD" % since).split()
    counts = []
    for commit in commits:
        grep = subprocess.run(["git", "-C", str(root), "grep", "-c", "result: sending", commit,
                               "--", "documents"], capture_output=True, text=True)
        counts.append(sum(int(line.rsplit(":", 1)[1]) for line in grep.stdout.split()))
    return counts


# --------------------------------------------------------------------------- one session

def test_a_run_sending_five_messages_opens_one_connection_and_marks_one_at_a_time(make_book):
    with FaultServer() as server:
        root = make_book(book_files(server.port, late=LATE[:3]))
        before = git(root, "rev-parse", "HEAD").strip()
        code, out, err = run(root)
        assert code == 0, err
        assert sorted(out["sent"]) == ["inv-a", "inv-b", "inv-c", "mail-2025-02-01", "mail-2025-03-01"]
        assert server.connections == 1 and len(server.messages) == 5
        assert server.commands.count("EHLO") == 1
    # never more than the one message being attempted marked `sending`
    assert max(sending_per_commit(root, before)) == 1
    assert all(r == ["sent"] for r in results(root).values())


# --------------------------------------------------------------------------- after the dot

@pytest.mark.parametrize("lost", ["silent", "close"])
def test_a_lost_answer_after_the_dot_stays_sending_and_is_never_resent(make_book, lost):
    # the first message is the reminder of inv-a; the server takes it, then its answer is lost
    with FaultServer(after_dot=lost, after_dot_at=1) as server:
        root = make_book(book_files(server.port, send_recurrence=False))
        code, out, err = run(root, "--smtp-timeout", "1")
        assert code == 0
        assert out["sending"] == ["inv-a"] and out["sent"] == [] and out["deferred"] == ["inv-b"]
        assert "never finished" in err and "inv-a" in err
        [entry] = emails(root)["inv-a"]
        assert entry["result"] == "sending" and "answer never came" in entry["detail"]
        # the session stopped: inv-b was recorded deferred, never tried
        assert results(root)["inv-b"] == ["deferred"] and "not sent" in emails(root)["inv-b"][0]["detail"]
        assert server.documents() == ["inv-a"]
        code, out, err = run(root)                 # the next run: the same server now answers
        assert out["sending"] == ["inv-a"] and out["sent"] == ["inv-b"]
        code, out, err = run(root)
        assert out["sending"] == ["inv-a"] and out["sent"] == []
        assert sorted(server.documents()) == ["inv-a", "inv-b"]      # each once, over three runs
    assert results(root) == {"inv-a": ["sending"], "inv-b": ["deferred", "sent"]}


@pytest.mark.parametrize("quit_answer", ["421 4.3.2 shutting down", "500 5.5.1 what?"])
def test_a_refused_quit_after_the_250_still_records_sent(make_book, quit_answer):
    with FaultServer(replies={"QUIT": quit_answer}) as server:
        root = make_book(book_files(server.port))
        code, out, err = run(root)
        assert code == 0, err
        assert sorted(out["sent"]) == ["inv-a", "inv-b", "mail-2025-02-01", "mail-2025-03-01"]
        code, out, err = run(root)
        assert out["sent"] == [] and out["deferred"] == [] and out["sending"] == []
        assert sorted(collections.Counter(server.documents()).values()) == [1, 1, 1, 1]
    assert all(r == ["sent"] for r in results(root).values())


# --------------------------------------------------------------------------- a rejected session

AUTH = "250-fault.example\r\n250 AUTH PLAIN LOGIN"
REJECTIONS = [
    # (the server's answers, what the run names, the answers once the settings are right)
    ({"MAIL": "550 5.7.1 sender not allowed"}, "the sender billing@atelier.example", {}),
    ({"MAIL": "530 5.7.0 authentication required"}, "the sender billing@atelier.example", {}),
    ({"EHLO": "550 5.7.1 go away"}, "the greeting", {}),
    ({"GREETING": "554 5.7.1 no service"}, "the connection", {}),
    ({"EHLO": AUTH, "AUTH": "535 5.7.8 bad credentials"}, "the login of me", {"EHLO": AUTH}),
]


@pytest.mark.parametrize("replies,named,fixed", REJECTIONS)
def test_a_rejected_session_defers_everything_and_the_run_exits_1_naming_it(make_book, replies,
                                                                           named, fixed):
    login = {"FACTURIER_SMTP_USER": "me", "FACTURIER_SMTP_PASSWORD": "pw"} if "AUTH" in replies else {}
    refusal = [v for k, v in replies.items() if k != "EHLO" or len(replies) == 1][0][4:]
    with FaultServer(replies=replies) as server:
        root = make_book(book_files(server.port))
        code, out, err = run(root, env=login)
        assert code == 1
        assert "facturier.yaml" in err and named in err and "rejected" in err and refusal in err
        assert [e["file"] for e in out["errors"]] == ["facturier.yaml"]
        assert out["bounced"] == [] and out["sent"] == [] and out["sending"] == []
        assert sorted(out["deferred"]) == ["inv-a", "inv-b", "mail-2025-02-01", "mail-2025-03-01"]
        assert server.messages == [] and server.commands.count("MAIL") <= 1
        # nothing bounced, nothing left `sending`: all deferred, the server's answer kept
        assert all(r == ["deferred"] for r in results(root).values())
        assert all(refusal in d["detail"] for e in emails(root).values() for d in e)
        status = json.loads(facturier(root, "--as-of", AS_OF, "status", "--format", "json").stdout)
        assert "email_undelivered" not in {row["status"] for row in status}
        server.replies = dict(fixed)               # the settings are put right
        code, out, err = run(root, env=login)
        assert code == 0, err
        assert sorted(out["sent"]) == ["inv-a", "inv-b", "mail-2025-02-01", "mail-2025-03-01"]
        assert sorted(server.documents()) == ["inv-a", "inv-b", "mail-2025-02-01", "mail-2025-03-01"]


def test_a_greylisted_sender_is_deferred_without_failing_the_run(make_book):
    with FaultServer(replies={"MAIL": "451 4.7.1 greylisted, come back later"}) as server:
        root = make_book(book_files(server.port, send_recurrence=False))
        code, out, err = run(root)
        assert code == 0 and out["errors"] == []
        assert out["deferred"] == ["inv-a", "inv-b"] and server.connections == 1
    assert all("greylisted" in d["detail"] for e in emails(root).values() for d in e)


# --------------------------------------------------------------------------- Ctrl-C

INTERRUPTIBLE = """
import signal
signal.signal(signal.SIGINT, signal.default_int_handler)   # as in a terminal
import sys
from tui.entry import main
sys.argv[0] = "facturier"
main()
"""


def test_ctrl_c_while_reminders_are_emailed_leaves_only_the_one_in_flight_sending(make_book):
    # six reminders to e-mail; the server takes the third message and keeps its answer
    with FaultServer(after_dot="silent", after_dot_at=3) as server:
        root = make_book(book_files(server.port, late=LATE, send_recurrence=False))
        proc = subprocess.Popen(
            [sys.executable, "-c", INTERRUPTIBLE, "--book", str(root), "--as-of", AS_OF, "run",
             "--smtp-timeout", "120"], cwd=str(REPO), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            text=True, env=dict(os.environ, PYTHONPATH=str(REPO)))
        try:
            assert server.reached_dot.wait(120), "the run never reached the third message"
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=120)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        assert proc.returncode != 0 and "Traceback" not in err, err
        server.release()
        assert server.documents() == ["inv-a", "inv-b", "inv-c"]
        # a and b sent; c in flight: `sending`; d, e, f neither marked nor recorded
        assert results(root) == {"inv-a": ["sent"], "inv-b": ["sent"], "inv-c": ["sending"]}
        assert git(root, "status", "--porcelain") == ""
        code, out, err = run(root)
        assert code == 0, err
        assert out["sending"] == ["inv-c"] and out["sent"] == ["inv-d", "inv-e", "inv-f"]
        assert sorted(server.documents()) == ["inv-%s" % x for x in LATE]     # each once
    assert results(root)["inv-c"] == ["sending"]
    assert all(results(root)["inv-%s" % x] == ["sent"] for x in "abdef")


# --------------------------------------------------------------------------- attachments (SPEC 5.2, 8)

def received(server) -> dict:
    """{document id: {file name: bytes}} of every message the server took."""
    import email.policy
    out = {}
    for data in server.messages:
        msg = email.message_from_bytes(data, policy=email.policy.default)
        out.setdefault(str(msg["X-Facturier-Document"]), []).append(
            {part.get_filename(): part.get_payload(decode=True) for part in msg.iter_attachments()})
    return out


def sha256(data: bytes) -> str:
    import hashlib
    return hashlib.sha256(data).hexdigest()


def recorded(root, doc_id) -> list:
    """The attachments recorded by each e-mail entry of the document: [[(name, sha256)]]."""
    return [[(a["name"], a["sha256"]) for a in entry.get("attachments", [])]
            for entry in emails(root)[doc_id]]


def test_every_email_of_a_run_carries_the_pdf_whose_sha256_is_recorded(make_book):
    with FaultServer() as server:
        root = make_book(book_files(server.port, late=LATE[:1]))
        code, out, err = run(root)
        assert code == 0, err
        got = received(server)
    import yaml as _yaml
    generated = {d: _yaml.safe_load(next(root.glob("documents/**/%s.yaml" % d)).read_text())["number"]
                 for d in ("mail-2025-02-01", "mail-2025-03-01")}
    for doc_id, number in dict(generated, **{"inv-a": "2025-0100"}).items():
        [files] = got[doc_id]
        # the PDF alone (the contact asks for nothing more), named after the number
        assert list(files) == ["%s.pdf" % number]
        pdf = files["%s.pdf" % number]
        assert pdf.startswith(b"%PDF-")
        assert recorded(root, doc_id) == [[("%s.pdf" % number, sha256(pdf))]]
        # the same bytes `doc pdf` writes: rendering is deterministic
        shown = subprocess.run([sys.executable, "-m", "tui.entry", "--book", str(root), "doc", "pdf",
                                doc_id, "-o", "-"], capture_output=True, cwd=str(REPO),
                               env=dict(os.environ, PYTHONPATH=str(REPO)))
        assert shown.returncode == 0 and shown.stdout == pdf


def test_a_reminder_carries_the_invoice_pdf_and_never_the_einvoice_again(make_book):
    with FaultServer() as server:
        files = book_files(server.port, late=LATE[:1], send_recurrence=False)
        files.update(issuing_files(server.port, "xrechnung"))
        root = make_book(files)
        code, out, err = run(root)
        assert code == 0, err
        assert out["reminded"] == ["inv-a"]
        [[files_sent]] = received(server).values()
    # the first reminder: the invoice's own PDF, no XML (the customer would book it twice)
    assert list(files_sent) == ["2025-0100.pdf"]
    assert recorded(root, "inv-a") == [[("2025-0100.pdf", sha256(files_sent["2025-0100.pdf"]))]]
    trailers = git(root, "log", "-1", "--format=%(trailers)", "HEAD~1")
    assert "Facturier-Action: document.remind" in trailers
    assert "Facturier-Attachment: 2025-0100.pdf sha256:%s" % sha256(files_sent["2025-0100.pdf"]) \
        in trailers


SEND = {"GIT_AUTHOR_NAME": "a", "GIT_AUTHOR_EMAIL": "a@example.org",
        "GIT_COMMITTER_NAME": "a", "GIT_COMMITTER_EMAIL": "a@example.org"}
INVOICE = ("kind: invoice\ncustomer: acme\ndate: 2025-02-03\nnumber: \"2025-0042\"\n"
           "validated: 2025-02-03\nlines:\n  - {description: Design, unit_price: \"800.00\", "
           "vat: \"8.1\"}\n")


def send_one(root, *args):
    return facturier(root, "--as-of", "2025-02-05", "doc", "send", "inv-42", *args, env=SEND)


# (the contact's einvoice, the book's einvoice) -> the files an e-mail of an invoice carries
FORMATS = [
    ("pdf", "facturx", ["2025-0042.pdf"]),
    ("facturx", "facturx", ["2025-0042.pdf"]),
    ("facturx", "none", ["2025-0042.pdf", "2025-0042.xml"]),
    ("xrechnung", "facturx", ["2025-0042.pdf", "2025-0042.xml"]),
    ("pdf", "none", ["2025-0042.pdf"]),
]


@pytest.mark.parametrize("contact_wants,book_embeds,names", FORMATS)
def test_doc_send_attaches_what_the_contact_asks_for(make_book, contact_wants, book_embeds, names):
    import io

    import pypdf
    with FaultServer() as server:
        files = issuing_files(server.port, contact_wants, book_embeds)
        files["documents/2025/02/inv-42.yaml"] = INVOICE
        root = make_book(files)
        sent = send_one(root)
        assert sent.returncode == 0, sent.stderr
        [[got]] = received(server).values()
    assert sorted(got) == names
    assert recorded(root, "inv-42") == [[(name, sha256(got[name])) for name in names]]
    embedded = pypdf.PdfReader(io.BytesIO(got["2025-0042.pdf"])).attachments
    assert list(embedded) == (["factur-x.xml"] if book_embeds == "facturx" else [])
    if "2025-0042.xml" in got:
        xml = got["2025-0042.xml"].decode()
        assert "<rsm:CrossIndustryInvoice" in xml and "2025-0042" in xml
        assert ("xrechnung" in xml) == (contact_wants == "xrechnung")
    # doc show and the log show what was sent
    show = facturier(root, "--as-of", "2025-02-05", "doc", "show", "inv-42")
    for name in names:
        assert "attached %s  sha256 %s" % (name, sha256(got[name])) in show.stdout
    log = json.loads(facturier(root, "log", "inv-42", "--format", "json").stdout)
    assert [e["attachments"] for e in log if e["attachments"]] == [
        [{"name": name, "sha256": sha256(got[name])} for name in names]]


def test_two_books_with_the_same_content_send_identical_bytes(make_book):
    hashes, pdfs = [], []
    for _ in range(2):
        with FaultServer() as server:
            files = issuing_files(server.port, "xrechnung")
            files["documents/2025/02/inv-42.yaml"] = INVOICE
            root = make_book(files)
            assert send_one(root).returncode == 0
            [[got]] = received(server).values()
        hashes.append(recorded(root, "inv-42"))
        pdfs.append(got["2025-0042.pdf"])
    assert hashes[0] == hashes[1] and len(hashes[0][0]) == 2
    assert pdfs[0] == pdfs[1]


def test_attachments_that_cannot_be_made_send_nothing_and_the_next_run_sends(make_book):
    with FaultServer() as server:
        files = book_files(server.port, late=LATE[:1])
        files["templates/document.typ"] = "#let x = (\n"           # does not compile
        root = make_book(files)
        refused = facturier(root, "--as-of", AS_OF, "doc", "send", "inv-a", env=SEND)
        assert refused.returncode == 1 and "templates/document.typ" in refused.stderr
        assert "Traceback" not in refused.stderr
        head = git(root, "rev-parse", "HEAD")
        code, out, err = run(root)
        assert code == 1 and "templates/document.typ" in err
        # generated and validated, but no e-mail tried, none recorded, no reminder recorded
        assert sorted(e["file"].rsplit("/", 1)[-1] for e in out["errors"]) == [
            "inv-a.yaml", "mail-2025-02-01.yaml", "mail-2025-03-01.yaml"]
        assert server.messages == [] and out["sent"] == [] and out["reminded"] == []
        assert git(root, "rev-parse", "HEAD") != head          # the generations are committed
        assert all(entries == [] for entries in emails(root).values())
        (root / "templates/document.typ").unlink()
        git(root, "commit", "-qam", "Back to the shipped template")
        code, out, err = run(root)
        assert code == 0, err
        assert sorted(out["sent"]) == ["inv-a", "mail-2025-02-01", "mail-2025-03-01"]
        assert out["reminded"] == ["inv-a"]
    assert all(r == ["sent"] for r in results(root).values())


def test_an_email_not_attempted_records_no_attachment(make_book):
    files = book_files(free_port(), late=LATE[:1])      # nothing listens there
    root = make_book(files)
    code, out, err = run(root, "--smtp-timeout", "2")
    assert code == 0 and sorted(out["deferred"]) == ["inv-a", "mail-2025-02-01", "mail-2025-03-01"]
    entries = [d for e in emails(root).values() for d in e]
    assert entries and all(d["result"] == "deferred" and "attachments" not in d for d in entries)
