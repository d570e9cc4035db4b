"""`facturier doc send`: one document e-mailed now, through a real SMTP server
(and servers that misbehave at a precise point: tests/fault_smtp.py)."""
from __future__ import annotations

import json

import yaml

from fault_smtp import FaultServer
from test_daily_support import Handler, Server, base_files, free_port, facturier, git

DRAFT = """\
kind: invoice
customer: acme
date: 2025-03-01
lines:
  - {description: Design, quantity: 1, unit_price: "100.00"}
"""


def book_with_invoice(make_book, port):
    files = base_files(port)
    files["documents/2025/03/inv-1.yaml"] = DRAFT
    root = make_book(files)
    assert facturier(root, "--as-of", "2025-03-02", "doc", "validate", "inv-1").returncode == 0
    return root


def deliveries(root):
    return yaml.safe_load((root / "documents/2025/03/inv-1.yaml").read_text()).get("deliveries", [])


def test_send_commits_the_attempt_then_the_outcome_and_never_twice(make_book):
    handler = Handler()
    server = Server(handler)
    try:
        root = book_with_invoice(make_book, server.port)
        before = int(git(root, "rev-list", "--count", "HEAD"))
        sent = facturier(root, "--as-of", "2025-03-02", "doc", "send", "inv-1")
        assert sent.returncode == 0, sent.stderr
        assert len(handler.received) == 1
        assert int(git(root, "rev-list", "--count", "HEAD")) == before + 2   # sending, then sent
        [entry] = deliveries(root)
        assert entry["result"] == "sent" and entry["to"] == "ap@acme.example"
        assert entry["message_id"].startswith("<")
        again = facturier(root, "--as-of", "2025-03-02", "doc", "send", "inv-1")
        assert again.returncode == 1 and "already e-mailed" in again.stderr
        assert len(handler.received) == 1
    finally:
        server.stop()


def test_send_with_nothing_listening_is_deferred_and_a_draft_is_refused(make_book):
    port = free_port()
    root = book_with_invoice(make_book, port)
    result = facturier(root, "--as-of", "2025-03-02", "doc", "send", "inv-1", "--smtp-timeout", "2")
    assert result.returncode == 1 and "deferred" in result.stderr
    assert deliveries(root)[-1]["result"] == "deferred"
    (root / "documents/2025/03/inv-2.yaml").write_text(DRAFT)
    git(root, "add", "-A")
    git(root, "commit", "-qm", "a draft by hand")
    draft = facturier(root, "--as-of", "2025-03-02", "doc", "send", "inv-2")
    assert draft.returncode == 1 and "draft" in draft.stderr


def test_an_attempt_left_sending_is_resent_or_marked_sent_only_on_request(make_book):
    root = book_with_invoice(make_book, free_port())
    path = root / "documents/2025/03/inv-1.yaml"
    path.write_text(path.read_text() + 'deliveries:\n  - {channel: email, at: "2025-03-02T09:00:00+00:00", '
                    'to: ap@acme.example, result: sending, message_id: "<x@y>"}\n')
    git(root, "commit", "-qam", "a crash left it sending")
    marked = facturier(root, "--as-of", "2025-03-02", "doc", "send", "inv-1", "--mark-sent")
    assert marked.returncode == 0, marked.stderr
    assert deliveries(root)[-1]["result"] == "sent"
    assert git(root, "log", "-1", "--format=%(trailers:key=Facturier-Action,valueonly)").strip() \
        == "document.send"
    refused = facturier(root, "--as-of", "2025-03-02", "doc", "send", "inv-1", "--mark-sent")
    assert refused.returncode == 1 and "no e-mail attempt left" in refused.stderr


def test_a_lost_answer_leaves_the_attempt_sending_and_says_what_to_do(make_book):
    with FaultServer(after_dot="silent") as server:
        root = book_with_invoice(make_book, server.port)
        result = facturier(root, "--as-of", "2025-03-02", "doc", "send", "inv-1", "--smtp-timeout", "1")
        assert result.returncode == 1
        assert "answer never came" in result.stderr and "--mark-sent" in result.stderr
        [entry] = deliveries(root)
        assert entry["result"] == "sending" and "may have been delivered" in entry["detail"]
        assert len(server.messages) == 1
        # `run` reports it and never resends it
        run = facturier(root, "--as-of", "2025-03-03", "run", "--format", "json")
        assert json.loads(run.stdout)["sending"] == ["inv-1"] and len(server.messages) == 1


def test_resending_an_attempt_left_sending_is_a_new_attempt_on_request(make_book):
    with FaultServer(after_dot="close", after_dot_at=1) as server:
        root = book_with_invoice(make_book, server.port)
        first = facturier(root, "--as-of", "2025-03-02", "doc", "send", "inv-1")
        assert first.returncode == 1 and deliveries(root)[-1]["result"] == "sending"
        again = facturier(root, "--as-of", "2025-03-02", "doc", "send", "inv-1")
        assert again.returncode == 0, again.stderr
        assert [d["result"] for d in deliveries(root)] == ["sending", "sent"]
        assert deliveries(root)[0]["message_id"] != deliveries(root)[1]["message_id"]
        assert len(server.messages) == 2 and server.connections == 2
        run = facturier(root, "--as-of", "2025-03-03", "run", "--format", "json")
        assert json.loads(run.stdout)["sending"] == [] and len(server.messages) == 2


def test_a_rejected_session_names_the_settings_and_is_deferred_not_bounced(make_book):
    with FaultServer(replies={"MAIL": "553 5.7.1 sender address rejected"}) as server:
        root = book_with_invoice(make_book, server.port)
        result = facturier(root, "--as-of", "2025-03-02", "doc", "send", "inv-1")
        assert result.returncode == 1
        assert "facturier.yaml" in result.stderr and "553 5.7.1 sender address rejected" in result.stderr
        assert "deferred" in result.stderr and "bounced" not in result.stderr
        assert [d["result"] for d in deliveries(root)] == ["deferred"]
        assert server.messages == []
