"""engine/mail.py against a real SMTP server (aiosmtpd on 127.0.0.1): accepting,
550, 451, nothing listening, STARTTLS with an unverifiable certificate; the
message's words; header injection; RFC 3464 reports. Outcomes where a server
misbehaves at a precise point (tests/fault_smtp.py): after the final dot,
after the 250, at the session's commands; one session for many messages."""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import ssl
import subprocess
from decimal import Decimal

import msgspec
import pytest
from aiosmtpd.controller import Controller

from fault_smtp import FaultServer
from test_daily_support import free_port

from engine.mail import (MailError, SmtpSession, build_message, parse_dsn, send_message)
from engine.model import (Book, Company, Contact, Document, EmailSettings, Line, Settings)

D = dt.date


class Handler:
    def __init__(self, rcpt_answer=None, data_answer=None):
        self.rcpt_answer, self.data_answer = rcpt_answer, data_answer
        self.received = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_answer:
            return self.data_answer
        self.received.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.content))
        return "250 OK queued"


@pytest.fixture
def smtp_server():
    started = []

    def start(handler, **kw):
        port = free_port()
        controller = Controller(handler, hostname="127.0.0.1", port=port, **kw)
        controller.start()
        started.append(controller)
        return port

    yield start
    for c in started:
        c.stop()


def make_book(*, name="ACME SA", email_addr="ap@acme.example", locale="en", port=25,
              starttls=False) -> Book:
    doc = Document(id="inv-20250105-k3f9", path="documents/2025/01/inv-20250105-k3f9.yaml",
                   kind="invoice", contact="acme", date=D(2025, 1, 5), currency="CHF",
                   number="2025-0042", validated=D(2025, 1, 5),
                   lines=(Line(description="Hosting March 2025", quantity=Decimal("1"),
                               unit_price=Decimal("120.00"), vat=Decimal("8.1")),))
    return Book(settings=Settings(locale=locale, company=Company(name="Atelier Exemple SA"),
                                  email=EmailSettings(sender="Atelier Exemple <billing@atelier.example>",
                                                      smtp_host="127.0.0.1", smtp_port=port,
                                                      starttls=starttls)),
                contacts={"acme": Contact(id="acme", path="contacts/acme.yaml", name=name,
                                          email=email_addr)},
                documents={doc.id: doc})


def doc_of(book):
    return book.documents["inv-20250105-k3f9"]


# --------------------------------------------------------------------------- the words

def test_invoice_message_names_number_total_and_due_date_in_english():
    book = make_book()
    msg = build_message(doc_of(book), book, D(2025, 1, 5))
    assert msg["Subject"] == "Invoice 2025-0042 from Atelier Exemple SA"
    assert msg["To"] == "ACME SA <ap@acme.example>"
    body = msg.get_content()
    assert "CHF\u00a0129.72" in body                    # 120.00 + 8.1 % VAT
    assert "February 4, 2025" in body                     # due: date + 30 days
    assert msg["Message-ID"].endswith("@atelier.example>")


def test_invoice_message_in_french_and_reminders_per_level():
    book = make_book(locale="fr")
    msg = build_message(doc_of(book), book, D(2025, 1, 5))
    assert msg["Subject"] == "Facture 2025-0042 de Atelier Exemple SA"
    body = msg.get_content()
    assert "129,72\u00a0CHF" in body and "4 février 2025" in body
    first = build_message(doc_of(book), book, D(2025, 2, 5), reminder_level=1)
    second = build_message(doc_of(book), book, D(2025, 2, 16), reminder_level=2)
    assert first["Subject"].startswith("Premier rappel") and "2025-0042" in first["Subject"]
    assert second["Subject"].startswith("Second rappel")
    assert "Solde ouvert" in first.get_content() and "4 février 2025" in first.get_content()


def test_a_name_with_line_breaks_adds_no_header_and_no_recipient(smtp_server):
    handler = Handler()
    port = smtp_server(handler)
    book = make_book(name="ACME\r\nBcc: victim@evil.example\r\nX-Evil: 1", port=port)
    msg = build_message(doc_of(book), book, D(2025, 1, 5))
    outcome = send_message(msg, book.settings.email, environ={})
    assert outcome.result == "sent"
    (mail_from, rcpts, content), = handler.received
    assert rcpts == ["ap@acme.example"]
    parsed = email.message_from_bytes(content, policy=email.policy.default)
    assert parsed["Bcc"] is None and parsed["X-Evil"] is None
    assert "victim@evil.example" not in str(parsed["To"].addresses[0].addr_spec)
    assert len(parsed["To"].addresses) == 1


def test_an_address_with_line_breaks_is_refused():
    book = make_book(email_addr="ap@acme.example\r\nBcc: victim@evil.example")
    with pytest.raises(MailError, match="not valid"):
        build_message(doc_of(book), book, D(2025, 1, 5))
    with pytest.raises(MailError, match="no e-mail address"):
        build_message(doc_of(make_book(email_addr="")), make_book(email_addr=""), D(2025, 1, 5))


# --------------------------------------------------------------------------- outcomes

def test_accepted_is_sent_with_the_message_id(smtp_server):
    handler = Handler()
    port = smtp_server(handler)
    book = make_book(port=port)
    msg = build_message(doc_of(book), book, D(2025, 1, 5))
    outcome = send_message(msg, book.settings.email, environ={})
    assert (outcome.result, outcome.message_id) == ("sent", msg["Message-ID"])
    (mail_from, rcpts, content), = handler.received
    assert mail_from == "billing@atelier.example"
    assert msg["Message-ID"].encode() in content


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_attached_files_arrive_byte_for_byte_with_the_text_intact(smtp_server, lang):
    import hashlib

    from engine.attachments import document_parts
    from engine.mail import add_attachments, message_text
    handler = Handler()
    port = smtp_server(handler)
    book = make_book(port=port, locale=lang)
    doc = doc_of(book)
    parts = document_parts(book, doc)
    assert [(p.name, p.mime) for p in parts] == [("2025-0042.pdf", "application/pdf")]
    msg = add_attachments(build_message(doc, book, D(2025, 1, 5)), parts)
    assert send_message(msg, book.settings.email, environ={}).result == "sent"
    (_, _, content), = handler.received
    got = email.message_from_bytes(content, policy=email.policy.default)
    [attached] = list(got.iter_attachments())
    assert attached.get_filename() == "2025-0042.pdf"
    assert attached.get_content_type() == "application/pdf"
    assert attached.get_payload(decode=True) == parts[0].data
    assert hashlib.sha256(attached.get_payload(decode=True)).hexdigest() == parts[0].sha256
    # the text a person reads is still there, first, in the book's language
    assert message_text(got).splitlines() == message_text(msg).splitlines()
    assert ("ci-joint" if lang == "fr" else "Please find attached") in message_text(got)


def test_550_is_bounced_with_the_servers_answer(smtp_server):
    port = smtp_server(Handler(rcpt_answer="550 5.1.1 mailbox unavailable"))
    book = make_book(port=port)
    outcome = send_message(build_message(doc_of(book), book, D(2025, 1, 5)), book.settings.email,
                           environ={})
    assert outcome.result == "bounced"
    assert "550" in outcome.detail and "mailbox unavailable" in outcome.detail


def test_451_is_deferred_with_the_servers_answer(smtp_server):
    port = smtp_server(Handler(data_answer="451 4.3.0 try again later"))
    book = make_book(port=port)
    outcome = send_message(build_message(doc_of(book), book, D(2025, 1, 5)), book.settings.email,
                           environ={})
    assert outcome.result == "deferred" and "451" in outcome.detail and "try again later" in outcome.detail


def test_nothing_listening_is_deferred():
    book = make_book(port=free_port())
    outcome = send_message(build_message(doc_of(book), book, D(2025, 1, 5)), book.settings.email,
                           environ={}, timeout=5)
    assert outcome.result == "deferred" and "connection refused" in outcome.detail


def test_starttls_refuses_a_certificate_it_cannot_verify(smtp_server, tmp_path):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
                    "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"],
                   check=True, capture_output=True)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(str(cert), str(key))
    handler = Handler()
    port = smtp_server(handler, tls_context=context)
    book = make_book(port=port, starttls=True)
    outcome = send_message(build_message(doc_of(book), book, D(2025, 1, 5)), book.settings.email,
                           environ={}, timeout=10)
    assert outcome.result == "deferred" and "could not be verified" in outcome.detail
    assert outcome.settings_fault           # a person must act: `run` exits 1
    assert handler.received == []


# --------------------------------------------------------------------------- RFC 3464

DSN = b"""From: MAILER-DAEMON@mx.acme.example
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
Arrival-Date: Mon, 3 Mar 2025 09:00:01 +0000

Final-Recipient: rfc822; ap@acme.example
Original-Recipient: rfc822;ap@acme.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <ap@acme.example>: Recipient address
 rejected: User unknown

--XX
Content-Type: text/rfc822-headers

From: Atelier Exemple <billing@atelier.example>
To: ACME SA <ap@acme.example>
Subject: Invoice 2025-0042 from Atelier Exemple SA
Message-ID: <170000.facturier@atelier.example>

--XX--
"""


def test_parse_dsn_gives_the_original_message_id_and_the_diagnostic():
    (report,) = parse_dsn(DSN)
    assert report.message_id == "<170000.facturier@atelier.example>"
    assert (report.action, report.status, report.recipient) == ("failed", "5.1.1", "ap@acme.example")
    assert "User unknown" in report.diagnostic and report.failed


def test_a_file_that_is_not_a_dsn_gives_nothing():
    assert parse_dsn(b"From: a@b.example\nSubject: hello\n\nhi\n") == []


# --------------------------------------------------------------------------- where the exchange stops

REFUSED = "550 5.7.1 refused"
AUTH_OFFERED = "250-fault.example\r\n250 AUTH PLAIN LOGIN"

# (what the server does, the outcome, a settings fault?, messages the server got)
FAULTS = [
    # after the final dot: the server may hold the message
    (dict(after_dot="silent"), "sending", False, 1),
    (dict(after_dot="close"), "sending", False, 1),
    (dict(after_dot="garbled, not an SMTP answer"), "sending", False, 1),
    # after the server's 250: whatever happens next, it is sent
    (dict(replies={"QUIT": "421 4.3.2 shutting down"}), "sent", False, 1),
    (dict(replies={"QUIT": "500 5.5.1 what?"}), "sent", False, 1),
    # the answer to the message itself
    (dict(after_dot="451 4.3.0 try later"), "deferred", False, 1),
    (dict(after_dot="554 5.6.0 content refused"), "bounced", False, 1),
    # the recipient or the message refused before the dot
    (dict(replies={"RCPT": "550 5.1.1 no such user"}), "bounced", False, 0),
    (dict(replies={"RCPT": "450 4.2.1 mailbox busy"}), "deferred", False, 0),
    (dict(replies={"DATA": "554 5.7.1 not from you"}), "bounced", False, 0),
    (dict(replies={"DATA": "451 4.3.0 later"}), "deferred", False, 0),
    # the session itself: the settings' fault (5xx) or the server's for now (4xx)
    (dict(replies={"MAIL": "550 5.7.1 sender rejected"}), "deferred", True, 0),
    (dict(replies={"MAIL": "530 5.7.0 authentication required"}), "deferred", True, 0),
    (dict(replies={"MAIL": "451 4.7.1 greylisted"}), "deferred", False, 0),
    (dict(replies={"EHLO": "550 5.7.1 go away"}), "deferred", True, 0),
    (dict(replies={"GREETING": "554 5.7.1 no service for you"}), "deferred", True, 0),
    (dict(replies={"GREETING": "421 4.3.2 too busy"}), "deferred", False, 0),
    (dict(replies={"EHLO": AUTH_OFFERED, "AUTH": "535 5.7.8 bad credentials"}), "deferred", True, 0),
    (dict(replies={"EHLO": AUTH_OFFERED, "AUTH": "454 4.7.0 try later"}), "deferred", False, 0),
]


@pytest.mark.parametrize("fault,result,settings_fault,received", FAULTS)
def test_the_outcome_depends_on_where_the_exchange_stops(fault, result, settings_fault, received):
    with FaultServer(**fault) as server:
        book = make_book(port=server.port)
        msg = build_message(doc_of(book), book, D(2025, 1, 5))
        login = "AUTH" in fault.get("replies", {})
        outcome = send_message(msg, book.settings.email, timeout=1, environ={
            "FACTURIER_SMTP_USER": "me", "FACTURIER_SMTP_PASSWORD": "pw"} if login else {})
        assert (outcome.result, outcome.settings_fault, len(server.messages)) == \
            (result, settings_fault, received), outcome.detail
        assert outcome.message_id == msg["Message-ID"]
        if result != "sent":
            assert outcome.detail
    if settings_fault:
        assert "rejected" in outcome.detail


def test_starttls_asked_but_not_offered_is_the_settings_fault():
    with FaultServer() as server:
        book = make_book(port=server.port, starttls=True)
        outcome = send_message(build_message(doc_of(book), book, D(2025, 1, 5)), book.settings.email,
                               environ={}, timeout=5)
    assert (outcome.result, outcome.settings_fault) == ("deferred", True)
    assert "does not offer STARTTLS" in outcome.detail and server.messages == []


def messages(book, n):
    out = []
    for i in range(n):
        doc = doc_of(book)
        out.append(build_message(msgspec.structs.replace(doc, id="inv-%d" % i), book, D(2025, 1, 5)))
    return out


def test_one_session_carries_every_message_on_one_connection():
    with FaultServer() as server:
        book = make_book(port=server.port)
        with SmtpSession(book.settings.email, environ={}, timeout=5) as session:
            outcomes = [session.send(m) for m in messages(book, 5)]
        assert [o.result for o in outcomes] == ["sent"] * 5
        assert server.connections == 1 and session.connections == 1
        assert server.documents() == ["inv-%d" % i for i in range(5)]
        assert server.commands.count("EHLO") == 1 and server.commands[-1] == "QUIT"


def test_a_connection_dropped_between_messages_is_reopened_once():
    with FaultServer(drop_after_first=True) as server:
        book = make_book(port=server.port)
        with SmtpSession(book.settings.email, environ={}, timeout=5) as session:
            outcomes = [session.send(m) for m in messages(book, 3)]
        assert [o.result for o in outcomes] == ["sent"] * 3
        assert server.connections == 2
        assert server.documents() == ["inv-0", "inv-1", "inv-2"]


def test_after_a_lost_answer_or_a_rejected_session_nothing_more_is_tried():
    for fault in (dict(after_dot="silent", after_dot_at=2), dict(replies={"MAIL": REFUSED})):
        with FaultServer(**fault) as server:
            book = make_book(port=server.port)
            with SmtpSession(book.settings.email, environ={}, timeout=1) as session:
                outcomes = [session.send(m) for m in messages(book, 4)]
            commands = list(server.commands)
        results = [o.result for o in outcomes]
        if "after_dot" in fault:
            assert results == ["sent", "sending", "deferred", "deferred"]
            assert len(server.messages) == 2
        else:
            assert results == ["deferred"] * 4 and server.messages == []
            assert commands.count("MAIL") == 1          # the later ones never reached the server
        assert server.connections == 1
        assert all(o.stop for o in outcomes[results.index("sending") if "sending" in results else 0:])


def test_lines_that_start_with_a_dot_arrive_intact(smtp_server):
    handler = Handler()
    port = smtp_server(handler)
    book = make_book(port=port)
    msg = build_message(doc_of(book), book, D(2025, 1, 5))
    msg.set_content("Hello,\n.\n..two dots\n.one dot\nbye\n")
    assert send_message(msg, book.settings.email, environ={}).result == "sent"
    (_, _, content), = handler.received
    body = email.message_from_bytes(content, policy=email.policy.default).get_content()
    assert body.replace("\r\n", "\n") == "Hello,\n.\n..two dots\n.one dot\nbye\n"
