"""E-mail (SPEC 5.2): the localized message, SMTP sending with its outcome
classified, and RFC 3464 delivery reports.

- :func:`build_message` makes the message of a document (or of one of its
  reminders) in the book's language, naming number, total and due date. Names
  and subjects pass through :func:`clean_header_text` and
  ``email.headerregistry``, so a CR/LF in a contact's name or a subject adds no
  header and no recipient; the envelope recipient is given explicitly.
- :class:`SmtpSession` talks SMTP with the standard library, one session
  (connection, EHLO, STARTTLS, login) for many messages: STARTTLS (when set)
  verifies the server's certificate with ``ssl.create_default_context()``;
  credentials come only from FACTURIER_SMTP_USER / FACTURIER_SMTP_PASSWORD.
  Each message's outcome is a value, decided by where the exchange stopped
  (SPEC 5.2): ``sent`` once the server answered 250 to the final dot (a failed
  QUIT afterwards changes nothing); ``sending`` (unknown) when the dot left
  but its answer never came; ``bounced`` when RCPT or DATA is refused for good
  (5xx); ``deferred`` for anything refused for now (4xx) or before the dot (no
  connection, a timeout, a dropped connection). A rejection of the session
  itself (greeting, STARTTLS, login, MAIL FROM: 5xx) is ``deferred`` with
  ``settings_fault``: the settings are wrong, never the recipient.
  :func:`send_message` is one message in a session of its own.
- :func:`parse_dsn` reads an RFC 3464 delivery status notification.

Network only in :class:`SmtpSession`; the rest is pure.

Longer than 500 lines on purpose: the message, the SMTP exchange whose
stopping point decides the outcome, and the delivery reports are SPEC 5.2's
one e-mail contract.
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
from .i18n import Message
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
        "en": "Please find attached our {kind_lower} {number} dated {date}.\n\n"
              "Total: {total}\nDue date: {due}",
        "fr": "Veuillez trouver ci-joint notre {kind_lower} {number} du {date}.\n\n"
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
    """A message cannot be built (no or invalid address); the text says why:
    ``MailError(code, **params)``, a catalogue key of engine/i18n.py
    ("mail.error...."); ``str(exc)`` is the English text, ``exc.message``
    the :class:`engine.i18n.Message` shown in the person's language."""

    def __init__(self, code: str, /, **params):
        self.message = Message(code, **params)
        super().__init__(str(self.message))

    def render(self, lang: Optional[str]) -> str:
        return self.message.render(lang)

    def __reduce__(self):
        return (_mail_error, (self.message.code, self.message.params))


def _mail_error(code: str, params: dict) -> MailError:
    return MailError(code, **params)


@dataclass(frozen=True)
class Outcome:
    """What happened to one sending attempt (see :meth:`SmtpSession.send`)."""
    result: str                 # sent | sending (unknown) | deferred | bounced
    message_id: str
    detail: str = ""            # the server's answer or the error, for a person
    stop: bool = False          # the session is over for this run: send no more
    settings_fault: bool = False    # the server rejected the session itself (greeting,
                                    # STARTTLS, login, sender: 5xx): the settings are wrong

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
        raise MailError("mail.error.from_line_break")
    name, addr = parseaddr(raw)
    if not valid_address(addr):
        raise MailError("mail.error.from_invalid", value=raw)
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
        raise MailError("mail.error.no_contact", id=doc.contact)
    to_addr = (contact.email or "").strip()
    if not to_addr:
        raise MailError("mail.error.no_address", id=contact.id)
    if not valid_address(to_addr):
        raise MailError("mail.error.bad_address", id=contact.id, address=to_addr)
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


def add_attachments(msg: EmailMessage, parts) -> EmailMessage:
    """``msg`` with each part (engine.attachments.Part: name, data, mime)
    attached as a file, its bytes exactly those given (base64 on the wire),
    so the SHA-256 recorded from them is that of what the recipient gets."""
    for part in parts:
        maintype, _, subtype = part.mime.partition("/")
        msg.add_attachment(part.data, maintype=maintype, subtype=subtype,
                           filename=clean_header_text(part.name))
    return msg


def message_text(msg: EmailMessage) -> str:
    """The plain-text body of ``msg`` (what a person reads)."""
    body = msg.get_body(preferencelist=("plain",))
    return body.get_content() if body is not None else ""


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
    """Send ``msg`` to its one recipient in a session of its own; never raises
    for an SMTP or network failure, which is the :class:`Outcome`."""
    with SmtpSession(settings_email, environ=environ, timeout=timeout,
                     ssl_context=ssl_context) as session:
        return session.send(msg)


class _Dropped(Exception):
    """The server went away before the message was handed over."""


class SmtpSession:
    """One SMTP session for many messages (SPEC 5.2: one per run).

    :meth:`open` connects, greets (EHLO, else HELO), starts TLS when the
    settings say so and logs in when FACTURIER_SMTP_USER is set: once. Each
    :meth:`send` is then one mail transaction on that connection. When the
    server drops an idle connection between messages, the next message
    reconnects once (nothing of it was handed over, so that is safe).

    When the session cannot be used (nothing answers, the server rejects the
    greeting, STARTTLS, the login or the sender), :attr:`problem` says why and
    every later :meth:`send` returns it without talking to the server: those
    messages would all fail the same way. ``connections`` counts the
    connections opened.
    """

    def __init__(self, settings_email, *, environ: Optional[dict] = None,
                 timeout: float = DEFAULT_TIMEOUT, ssl_context: Optional[ssl.SSLContext] = None):
        self.settings = settings_email
        self.environ = os.environ if environ is None else environ
        self.timeout = timeout
        self.ssl_context = ssl_context
        self.host = settings_email.smtp_host or "localhost"
        self.port = int(settings_email.smtp_port or 25)
        self.connections = 0
        self.problem: Optional[Outcome] = None
        self._smtp: Optional[smtplib.SMTP] = None
        self._served = 0            # messages the current connection has carried

    def __enter__(self) -> "SmtpSession":
        return self

    def __exit__(self, exc_type, *rest) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

    @property
    def where(self) -> str:
        return "%s:%d" % (self.host, self.port)

    # ------------------------------------------------------------------ session

    def open(self) -> Optional[Outcome]:
        """None when the session is ready; else why it cannot be used (a
        ``deferred`` :class:`Outcome` with ``stop``, and ``settings_fault``
        when the server rejected the session for good)."""
        if self.problem is not None:
            return self.problem
        if self._smtp is None:
            try:
                self._smtp = self._connect()
                self._served = 0
            except _Refused as exc:
                self.problem = exc.outcome
        return self.problem

    def close(self) -> None:
        """QUIT and close. Whatever the server answers (421, 500, nothing)
        changes no outcome: the messages were answered already."""
        smtp, self._smtp = self._smtp, None
        if smtp is None:
            return
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            pass
        finally:
            smtp.close()

    def abort(self) -> None:
        """Close the connection without QUIT (after Ctrl-C: no QUIT that could
        wait for a silent server)."""
        smtp, self._smtp = self._smtp, None
        if smtp is not None:
            smtp.close()

    def _refused(self, detail: str, settings_fault: bool = False) -> "_Refused":
        return _Refused(Outcome("deferred", "", detail, stop=True, settings_fault=settings_fault))

    def _rejected(self, what, code, answer) -> "_Refused":
        """The server answered a session command with an error: for good
        (5xx: the settings are wrong) or for now (4xx)."""
        text = _answer(code, answer)
        if isinstance(code, int) and 500 <= code < 600:
            return self._refused(_say("smtp.rejected", where=self.where, what=what, answer=text),
                                 settings_fault=True)
        return self._refused(_say("smtp.not_now", where=self.where, what=what, answer=text))

    def _connect(self) -> smtplib.SMTP:
        self.connections += 1
        smtp = None
        try:
            try:
                smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            except smtplib.SMTPConnectError as exc:
                raise self._rejected(Message("smtp.what.connection"), exc.smtp_code,
                                     exc.smtp_error) from None
            self._greet(smtp)
            if self.settings.starttls:
                if not smtp.has_extn("starttls"):
                    raise self._refused(_say("smtp.no_starttls", where=self.where),
                                        settings_fault=True)
                try:
                    code, answer = smtp.starttls(context=self.ssl_context or ssl.create_default_context())
                except smtplib.SMTPResponseException as exc:
                    raise self._rejected("STARTTLS", exc.smtp_code, exc.smtp_error) from None
                self._greet(smtp)
            user = self.environ.get(SMTP_USER_VAR)
            if user:
                if not smtp.has_extn("auth"):
                    raise self._refused(_say("smtp.no_auth", where=self.where,
                                             user_var=SMTP_USER_VAR), settings_fault=True)
                try:
                    smtp.login(user, self.environ.get(SMTP_PASSWORD_VAR, ""))
                except smtplib.SMTPAuthenticationError as exc:
                    raise self._rejected(Message("smtp.what.login", user=user,
                                                 user_var=SMTP_USER_VAR,
                                                 password_var=SMTP_PASSWORD_VAR),
                                         exc.smtp_code, exc.smtp_error) from None
                except smtplib.SMTPServerDisconnected:
                    raise
                except smtplib.SMTPException as exc:      # no method in common
                    raise self._refused(_say("smtp.login_refused", where=self.where, user=user,
                                             reason=exc), settings_fault=True) from None
            return smtp
        except _Refused:
            if smtp is not None:
                smtp.close()
            raise
        except ssl.SSLCertVerificationError as exc:
            _close(smtp)
            raise self._refused(_say("smtp.certificate", where=self.where,
                                     reason=exc.verify_message or exc), settings_fault=True) from None
        except ssl.SSLError as exc:
            _close(smtp)
            raise self._refused(_say("smtp.tls", where=self.where, reason=exc),
                                settings_fault=True) from None
        except (socket.timeout, TimeoutError):
            _close(smtp)
            raise self._refused(_say("smtp.timeout", where=self.where,
                                     seconds="%g" % self.timeout)) from None
        except ConnectionRefusedError:
            raise self._refused(_say("smtp.refused", where=self.where)) from None
        except smtplib.SMTPServerDisconnected as exc:
            _close(smtp)
            if "timed out" in str(exc):
                raise self._refused(_say("smtp.timeout", where=self.where,
                                         seconds="%g" % self.timeout)) from None
            raise self._refused(_say("smtp.closed", where=self.where,
                                     reason=exc or Message("smtp.no_answer"))) from None
        except (smtplib.SMTPException, OSError) as exc:
            _close(smtp)
            raise self._refused(_say("smtp.cannot_talk", where=self.where,
                                     reason=exc or type(exc).__name__)) from None

    def _greet(self, smtp: smtplib.SMTP) -> None:
        code, answer = smtp.ehlo()
        if not 200 <= code < 300:
            code, answer = smtp.helo()
            if not 200 <= code < 300:
                raise self._rejected(Message("smtp.what.greeting"), code, answer)

    # ------------------------------------------------------------------ messages

    def send(self, msg: EmailMessage) -> Outcome:
        """One message to its one recipient; never raises for an SMTP or
        network failure. The outcome:

        - ``sent``: the server answered 250 to the message's final dot
          (whatever happens after);
        - ``sending``: the final dot left but its answer did not come (a
          timeout, a lost connection): the server may hold the message, the
          outcome is unknown and the session stops;
        - ``bounced``: the recipient (RCPT) or the message (DATA) refused for
          good (5xx);
        - ``deferred``: refused for now (4xx), or nothing was handed over (no
          connection, a timeout or a lost connection before the final dot, a
          rejected session: with ``stop``)."""
        message_id = str(msg["Message-ID"])
        to_addr = recipient_of(msg)
        from_addr = msg["From"].addresses[0].addr_spec
        data = _flattened(msg)
        for attempt in (1, 2):
            problem = self.open()
            if problem is not None:
                return _with_id(problem, message_id)
            reused = self._served > 0
            try:
                outcome = self._transaction(from_addr, to_addr, data, message_id)
                self._served += 1
                return outcome
            except _Dropped as exc:
                self.abort()
                if reused and attempt == 1:
                    continue            # dropped while idle, between messages: once more
                self.problem = Outcome("deferred", "", str(exc), stop=True)
                return _with_id(self.problem, message_id)
            except _Refused as exc:
                self.abort()
                self.problem = exc.outcome
                return _with_id(self.problem, message_id)
            except (smtplib.SMTPException, OSError) as exc:     # a garbled answer...
                self.abort()
                self.problem = Outcome("deferred", "", _say(
                    "smtp.exchange_failed", where=self.where, reason=exc or type(exc).__name__),
                    stop=True)
                return _with_id(self.problem, message_id)
        raise AssertionError("unreachable")

    def _transaction(self, from_addr: str, to_addr: str, data: bytes, message_id: str) -> Outcome:
        smtp = self._smtp
        assert smtp is not None
        def lost(reason) -> str:
            return _say("smtp.closed_before", where=self.where,
                        reason=str(reason) or Message("smtp.no_answer"))
        try:
            code, answer = smtp.mail(from_addr)
        except smtplib.SMTPServerDisconnected as exc:
            raise _Dropped(lost(exc)) from None
        if code == 421:
            raise _Dropped(lost(_answer(code, answer)))
        if code != 250:
            if 500 <= code < 600:
                raise self._rejected(Message("smtp.what.sender", sender=from_addr), code, answer)
            self._reset()
            return Outcome("deferred", message_id, _say("smtp.sender_for_now", sender=from_addr,
                                                        answer=_answer(code, answer)))
        try:
            code, answer = smtp.rcpt(to_addr)
            if code in (250, 251):
                to: Optional[str] = None
                code, answer = smtp.docmd("DATA")
                if code == 354:
                    smtp.send(_dot_stuffed(data))
                    return self._answer_to_dot(smtp, message_id)
            else:
                to = to_addr
        except smtplib.SMTPServerDisconnected as exc:
            raise self._refused(lost(exc)) from None
        if code == 421:
            raise self._refused(lost(_answer(code, answer)))
        self._reset()
        return _classified(code, answer, message_id, to)

    def _answer_to_dot(self, smtp: smtplib.SMTP, message_id: str) -> Outcome:
        try:
            code, answer = smtp.getreply()
            if not 200 <= code < 600:
                raise smtplib.SMTPResponseException(code, answer)
        except (smtplib.SMTPException, OSError) as exc:
            self.abort()
            reason = str(exc)
            if "timed out" in reason:
                reason = _say("smtp.no_answer_within", seconds="%g" % self.timeout)
            elif isinstance(exc, smtplib.SMTPResponseException):
                reason = _say("smtp.not_smtp", answer=_answer(exc.smtp_code, exc.smtp_error))
            elif isinstance(exc, smtplib.SMTPServerDisconnected) or not reason:
                # smtplib's "Connection unexpectedly closed": said in the person's language
                reason = _say("smtp.connection_lost")
            self.problem = Outcome("deferred", "", _say("smtp.stopped_answering",
                                                        where=self.where), stop=True)
            return Outcome("sending", message_id, _say("smtp.answer_lost", reason=reason),
                           stop=True)
        if code == 250:
            return Outcome("sent", message_id, "")
        if code == 421:
            self.abort()
            self.problem = Outcome("deferred", "", _say("smtp.closed_session", where=self.where,
                                                        answer=_answer(code, answer)), stop=True)
        return _classified(code, answer, message_id)

    def _reset(self) -> None:
        """RSET after a refused transaction, so the session can go on; a
        server that does not answer it is left (the next message reconnects)."""
        if self._smtp is None:
            return
        try:
            code, _ = self._smtp.rset()
        except (smtplib.SMTPException, OSError):
            code = 0
        if code != 250:
            self.abort()


class _Refused(Exception):
    def __init__(self, outcome: Outcome):
        super().__init__(outcome.detail)
        self.outcome = outcome


def _close(smtp: Optional[smtplib.SMTP]) -> None:
    if smtp is not None:
        smtp.close()


def _with_id(outcome: Outcome, message_id: str) -> Outcome:
    return Outcome(outcome.result, message_id, outcome.detail, stop=outcome.stop,
                   settings_fault=outcome.settings_fault)


def _flattened(msg: EmailMessage) -> bytes:
    """The message as it goes on the wire (what smtplib.send_message sends)."""
    import copy
    import io
    from email.generator import BytesGenerator
    msg = copy.copy(msg)
    del msg["Bcc"]
    del msg["Resent-Bcc"]
    with io.BytesIO() as out:
        BytesGenerator(out).flatten(msg, linesep="\r\n")
        return out.getvalue()


def _dot_stuffed(data: bytes) -> bytes:
    """The DATA of RFC 5321 4.5.2: a line's leading dot doubled, CRLF line
    ends, then the final ``.``."""
    data = re.sub(rb"(?:\r\n|\n|\r(?!\n))", b"\r\n", data)
    data = re.sub(rb"(?m)^\.", b"..", data)
    if not data.endswith(b"\r\n"):
        data += b"\r\n"
    return data + b".\r\n"


def _answer(code, text) -> str:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return clean_header_text(("%s %s" % (code, text)).strip())


def _classified(code, text, message_id: str, to: Optional[str] = None) -> Outcome:
    """The server refused the message (``to`` None) or its recipient ``to``:
    for good (5xx, bounced) or for now."""
    answer = _answer(code, text)
    which = "message" if to is None else "recipient"
    if isinstance(code, int) and 500 <= code < 600:
        return Outcome("bounced", message_id, _say("smtp.bounced." + which, to=to, answer=answer))
    return Outcome("deferred", message_id, _say("smtp.for_now." + which, to=to, answer=answer))


def _say(code: str, **params) -> str:
    """An outcome's detail: the English of catalogue message ``code`` (kept
    in the delivery entry as written; shown in the person's language through
    engine.i18n.translate)."""
    return str(Message(code, **params))


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
            if isinstance(inner, email.message.Message) and inner.get("Message-ID"):
                original_id = str(inner.get("Message-ID"))
        elif ctype in ("text/rfc822-headers", "message/global-headers") and not original_id:
            raw = part.get_payload(decode=True)
            headers = email.message_from_bytes(raw if isinstance(raw, bytes) else b"",
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
