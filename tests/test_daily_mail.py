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
from test_daily_support import REPO, base_files, facturier, git, recurrence

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
