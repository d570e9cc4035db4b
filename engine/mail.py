"""E-mail (SPEC 5.2): the localized message, SMTP sending with its outcome
classified, and RFC 3464 delivery reports.

- :func:`build_message` makes the message of a document (or of one of its
  reminders) in the book's language, naming number, total and due date. Names
  and subjects pass through :func:`clean_header_text` and
  ``email.headerregistry``, so a CR/LF in a contact's name or a subject adds no
  header and no recipient; the envelope recipient is given explicitly.
- :func:`send_message` talks SMTP with the standard library: STARTTLS (when
  set) verifies the server's certificate with ``ssl.create_default_context()``;
  credentials come only from FACTURIER_SMTP_USER / FACTURIER_SMTP_PASSWORD.
  The outcome is a value: ``sent`` (with the Message-ID), ``deferred`` (4xx,
  refused connection, timeout, a configuration problem: retried by the next run)
  or ``bounced`` (the server refused the recipient or the message for good, 5xx).
- :func:`parse_dsn` reads an RFC 3464 delivery status notification.

Network only in :func:`send_message`; the rest is pure.
"""
from __future__ import annotations

import datetime as dt
import email
import email.policy
import os
import re
import smtplib
import socket
import ssl
from dataclasses import dataclass
from decimal import Decimal
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from typing import Optional

from . import i18n
from .model import Book, Document

SMTP_USER_VAR = "FACTURIER_SMTP_USER"
SMTP_PASSWORD_VAR = "FACTURIER_SMTP_PASSWORD"
DEFAULT_TIMEOUT = 30.0

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\x85]+")

i18n.register({
    "mail.subject": {"en": "{kind} {number} from {company}",
                     "fr": "{kind} {number} de {company}"},
    "mail.subject.reminder": {"en": "{level}: {kind} {number} from {company}",
                              "fr": "{level} : {kind} {number} de {company}"},
    "mail.greeting": {"en": "Hello {name},", "fr": "Bonjour {name},"},
    "mail.body": {
        "en": "Please find below our {kind_lower} {number} dated {date}.\n\n"
              "Total: {total}\nDue date: {due}",
        "fr": "Veuillez trouver ci-dessous notre {kind_lower} {number} du {date}.\n\n"
              "Total : {total}\nÉchéance : {due}"},
    "mail.body.reminder.1": {
        "en": "Unless we are mistaken, our {kind_lower} {number} of {total}, due on {due}, "
              "is still unpaid.\nAmount open: {open}\n\nPlease settle it at your earliest "
              "convenience; if you have already paid, please disregard this message.",
        "fr": "Sauf erreur de notre part, notre {kind_lower} {number} de {total}, échue le {due}, "
              "reste impayée.\nSolde ouvert : {open}\n\nNous vous remercions de la régler "
              "dans les meilleurs délais ; si vous l'avez déjà payée, merci de ne pas tenir "
              "compte de ce message."},
    "mail.body.reminder.2": {
        "en": "Despite our first reminder, our {kind_lower} {number} of {total}, due on {due}, "
              "is still unpaid.\nAmount open: {open}\n\nPlease pay it within ten days.",
        "fr": "Malgré notre premier rappel, notre {kind_lower} {number} de {total}, échue le "
              "{due}, reste impayée.\nSolde ouvert : {open}\n\nMerci de la régler dans les "
              "dix jours."},
    "mail.body.reminder.3": {
        "en": "Our {kind_lower} {number} of {total}, due on {due}, is still unpaid after two "
              "reminders.\nAmount open: {open}\n\nWithout payment, we will hand the matter "
              "over to collection.",
        "fr": "Notre {kind_lower} {number} de {total}, échue le {due}, reste impayée après deux "
              "rappels.\nSolde ouvert : {open}\n\nSans paiement de votre part, nous "
              "transmettrons le dossier au recouvrement."},
    "mail.lines": {"en": "Details:", "fr": "Détail :"},
    "mail.closing": {"en": "Kind regards,", "fr": "Meilleures salutations,"},
})


class MailError(ValueError):
    """A message cannot be built (no or invalid address); the text says why."""


@dataclass(frozen=True)
class Outcome:
    """What happened to one sending attempt."""
    result: str                 # sent | deferred | bounced
    message_id: str
    detail: str = ""            # the server's answer or the error, for a person
    reached: bool = True        # False: failed before the message was handed over
                                # (no connection, TLS, credentials): the server is not usable

    @property
    def sent(self) -> bool:
        return self.result == "sent"


@dataclass(frozen=True)
class DeliveryReport:
    """One recipient's entry of an RFC 3464 delivery status notification."""
    message_id: str             # the original message's Message-ID, "<...>"
    recipient: str
    action: str                 # failed | delayed | delivered | relayed | expanded
    status: str                 # e.g. "5.1.1"
    diagnostic: str

    @property
    def failed(self) -> bool:
        return self.action == "failed"


# --------------------------------------------------------------------------- building

def clean_header_text(text: str) -> str:
    """One line of text for a header: control characters (CR, LF, NUL, tab...)
    become a single space, so no header can be injected."""
    return _CONTROL.sub(" ", text or "").strip()


def valid_address(addr: str) -> bool:
    from .loader import is_email_address      # one rule for the book, the CLI and sending
    return bool(addr) and is_email_address(addr)


def sender_address(settings_email) -> tuple[str, str]:
    """(display name, address) of ``email.from``; raises MailError when unusable."""
    raw = settings_email.sender or ""
    if _CONTROL.search(raw):
        raise MailError("email.from in facturier.yaml contains a line break")
    name, addr = parseaddr(raw)
    if not valid_address(addr):
        raise MailError("email.from in facturier.yaml (%r) is not \"Name <address>\" with a valid "
                        "address" % raw)
    return clean_header_text(name), addr


def new_message_id(addr: str) -> str:
    """A fresh Message-ID in the sender's domain: "<...@domain>"."""
    domain = addr.rpartition("@")[2] or "facturier.invalid"
    return make_msgid(idstring="facturier", domain=domain)


def _doc_words(doc: Document, book: Book, as_of: dt.date, lang: str) -> dict:
    from .money import currency_of, document_totals
    from .status import amounts, due_date
    currency = currency_of(doc, book.settings)
    totals = document_totals(doc, book.settings)
    kind = i18n.t("kind.%s" % doc.kind, lang)
    try:
        open_amount = amounts(doc, book, as_of).open
    except Exception:           # an expense or odd document: the total is what is open
        open_amount = totals.total
    return {
        "kind": kind, "kind_lower": kind[:1].lower() + kind[1:],
        "number": doc.number or doc.id,
        "company": clean_header_text(book.settings.company.name) or _sender_name(book),
        "date": i18n.format_date(doc.date, lang, "long"),
        "due": i18n.format_date(due_date(doc, book), lang, "long"),
        "total": i18n.format_money(totals.total, currency, lang),
        "open": i18n.format_money(Decimal(open_amount), currency, lang),
        "currency": currency,
    }


def _sender_name(book: Book) -> str:
    name, _ = parseaddr(book.settings.email.sender or "")
    return clean_header_text(name)


def build_message(doc: Document, book: Book, as_of: dt.date, *, reminder_level: Optional[int] = None,
                  lang: Optional[str] = None, message_id: Optional[str] = None) -> EmailMessage:
    """The e-mail of ``doc`` (or of its reminder of ``reminder_level``) to its
    contact, in the book's language. Raises :class:`MailError` when the contact
    or the sender has no usable address."""
    lang = i18n.language(lang or book.settings.locale)
    contact = book.contact(doc.contact)
    if contact is None:
        raise MailError("contact %s does not exist" % doc.contact)
    to_addr = (contact.email or "").strip()
    if not to_addr:
        raise MailError("contact %s has no e-mail address" % contact.id)
    if not valid_address(to_addr):
        raise MailError("the e-mail address of contact %s (%r) is not valid" % (contact.id, to_addr))
    from_name, from_addr = sender_address(book.settings.email)
    words = _doc_words(doc, book, as_of, lang)
    if reminder_level:
        level = i18n.t("reminder.level.%d" % min(reminder_level, 3), lang)
        subject = i18n.t("mail.subject.reminder", lang, level=level, **words)
        body = i18n.t("mail.body.reminder.%d" % min(reminder_level, 3), lang, **words)
    else:
        subject = i18n.t("mail.subject", lang, **words)
        body = i18n.t("mail.body", lang, **words)
    name = clean_header_text(contact.name)
    parts = [i18n.t("mail.greeting", lang, name=name or contact.id), "", body]
    if not reminder_level and doc.lines:
        parts += ["", i18n.t("mail.lines", lang)]
        from .money import currency_of, round_money
        currency = currency_of(doc, book.settings)
        for line in doc.lines:
            net = round_money(line.quantity * line.unit_price, currency)
            parts.append("- %s: %s × %s = %s" % (
                clean_header_text(line.description), _plain(line.quantity),
                i18n.format_money(line.unit_price, currency, lang),
                i18n.format_money(net, currency, lang)))
    parts += ["", i18n.t("mail.closing", lang), words["company"] or from_name]
    msg = EmailMessage(policy=email.policy.SMTP)
    msg["From"] = Address(display_name=from_name, addr_spec=from_addr)
    msg["To"] = Address(display_name=name, addr_spec=to_addr)
    msg["Subject"] = clean_header_text(subject)
    msg["Date"] = formatdate(_noon(as_of), localtime=False)
    msg["Message-ID"] = message_id or new_message_id(from_addr)
    msg["X-Facturier-Document"] = clean_header_text(doc.id)
    msg.set_content("\n".join(parts) + "\n")
    return msg


def _plain(value: Decimal) -> str:
    text = format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return text


def _noon(day: dt.date) -> float:
    return dt.datetime(day.year, day.month, day.day, 12, tzinfo=dt.timezone.utc).timestamp()


def recipient_of(msg: EmailMessage) -> str:
    return msg["To"].addresses[0].addr_spec


# --------------------------------------------------------------------------- sending

def send_message(msg: EmailMessage, settings_email, *, environ: Optional[dict] = None,
                 timeout: float = DEFAULT_TIMEOUT,
                 ssl_context: Optional[ssl.SSLContext] = None) -> Outcome:
    """Send ``msg`` to its one recipient; never raises for an SMTP or network
    failure, which is the :class:`Outcome`'s ``deferred`` or ``bounced``."""
    return _smtp(settings_email, msg, environ, timeout, ssl_context)


def probe(settings_email, *, environ: Optional[dict] = None, timeout: float = DEFAULT_TIMEOUT,
          ssl_context: Optional[ssl.SSLContext] = None) -> Optional[str]:
    """None when the SMTP server can be used (connection, STARTTLS, login),
    else why not, for a person."""
    outcome = _smtp(settings_email, None, environ, timeout, ssl_context)
    return None if outcome.reached else outcome.detail


def _smtp(settings_email, msg: Optional[EmailMessage], environ, timeout: float,
          ssl_context) -> Outcome:
    env = os.environ if environ is None else environ
    message_id = str(msg["Message-ID"]) if msg is not None else ""
    to_addr = recipient_of(msg) if msg is not None else ""
    from_addr = msg["From"].addresses[0].addr_spec if msg is not None else ""
    host, port = settings_email.smtp_host or "localhost", int(settings_email.smtp_port or 25)

    def deferred(detail: str) -> Outcome:
        return Outcome("deferred", message_id, detail, reached=False)

    try:
        with smtplib.SMTP(host, port, timeout=timeout) as smtp:
            smtp.ehlo_or_helo_if_needed()
            if settings_email.starttls:
                smtp.starttls(context=ssl_context or ssl.create_default_context())
                smtp.ehlo()
            user = env.get(SMTP_USER_VAR)
            if user:
                smtp.login(user, env.get(SMTP_PASSWORD_VAR, ""))
            if msg is not None:
                smtp.send_message(msg, from_addr=from_addr, to_addrs=[to_addr])
    except smtplib.SMTPRecipientsRefused as exc:
        code, answer = next(iter(exc.recipients.values()), (0, b""))
        return _classified(code, answer, message_id, "the server refused %s" % to_addr)
    except smtplib.SMTPAuthenticationError as exc:
        return deferred("the SMTP server refused the credentials of %s: %s"
                        % (SMTP_USER_VAR, _answer(exc.smtp_code, exc.smtp_error)))
    except smtplib.SMTPSenderRefused as exc:
        return deferred("the SMTP server refused the sender %s: %s"
                        % (from_addr, _answer(exc.smtp_code, exc.smtp_error)))
    except smtplib.SMTPNotSupportedError as exc:
        return deferred("the SMTP server at %s:%d does not support %s"
                        % (host, port, "STARTTLS" if settings_email.starttls else exc))
    except smtplib.SMTPConnectError as exc:
        return deferred("the SMTP server at %s:%d refused the connection: %s"
                        % (host, port, _answer(exc.smtp_code, exc.smtp_error)))
    except smtplib.SMTPResponseException as exc:     # DATA refused, and others with a code
        return _classified(exc.smtp_code, exc.smtp_error, message_id, "the server refused the message")
    except ssl.SSLCertVerificationError as exc:
        return deferred("the certificate of the SMTP server at %s:%d could not be verified: %s"
                        % (host, port, exc.verify_message or exc))
    except (socket.timeout, TimeoutError):
        return deferred("the SMTP server at %s:%d did not answer within %g s" % (host, port, timeout))
    except ConnectionRefusedError:
        return deferred("nothing answers at %s:%d (connection refused)" % (host, port))
    except (smtplib.SMTPException, OSError) as exc:
        return deferred("sending through %s:%d failed: %s" % (host, port, exc or type(exc).__name__))
    return Outcome("sent", message_id, "")


def _answer(code, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return clean_header_text(("%s %s" % (code, text)).strip())


def _classified(code, text, message_id: str, what: str) -> Outcome:
    answer = _answer(code, text)
    if isinstance(code, int) and 500 <= code < 600:
        return Outcome("bounced", message_id, "%s: %s" % (what, answer))
    return Outcome("deferred", message_id, "%s for now: %s" % (what, answer))


# --------------------------------------------------------------------------- delivery reports

def parse_dsn(data: bytes) -> list[DeliveryReport]:
    """The recipients' entries of an RFC 3464 delivery status notification
    (a ``multipart/report; report-type=delivery-status`` message), each with
    the original Message-ID (from the returned message or headers, else the
    per-message ``Original-Envelope-Id``). A file that is not a DSN gives []."""
    msg = email.message_from_bytes(data, policy=email.policy.compat32)
    status_part = None
    original_id = ""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status" and status_part is None:
            status_part = part
        elif ctype in ("message/rfc822", "message/global") and not original_id:
            payload = part.get_payload()
            inner = payload[0] if isinstance(payload, list) and payload else None
            if inner is not None and inner.get("Message-ID"):
                original_id = inner.get("Message-ID")
        elif ctype in ("text/rfc822-headers", "message/global-headers") and not original_id:
            headers = email.message_from_bytes(part.get_payload(decode=True) or b"",
                                               policy=email.policy.compat32)
            original_id = headers.get("Message-ID") or ""
    if status_part is None:
        return []
    blocks = _status_blocks(status_part)
    if not blocks:
        return []
    per_message, recipients = blocks[0], blocks[1:]
    if not original_id:
        original_id = per_message.get("Original-Envelope-Id", "")
    original_id = _normal_id(original_id)
    out = []
    for block in recipients:
        recipient = block.get("Final-Recipient") or block.get("Original-Recipient") or ""
        out.append(DeliveryReport(
            message_id=original_id,
            recipient=clean_header_text(recipient.split(";", 1)[-1]),
            action=clean_header_text(block.get("Action", "")).lower(),
            status=clean_header_text(block.get("Status", "")),
            diagnostic=clean_header_text(_unfold(block.get("Diagnostic-Code", "")).split(";", 1)[-1])))
    return out


def _status_blocks(part) -> list:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [b for b in payload if len(b.keys())]
    text = part.get_payload(decode=True) or b""
    blocks = re.split(rb"\r?\n\s*\r?\n", text.strip())
    return [email.message_from_bytes(b + b"\n", policy=email.policy.compat32) for b in blocks if b.strip()]


def _unfold(value) -> str:
    return re.sub(r"\r?\n[ \t]+", " ", str(value or ""))


def _normal_id(value: str) -> str:
    value = clean_header_text(_unfold(value))
    if value and not value.startswith("<"):
        value = "<%s>" % value
    return value
