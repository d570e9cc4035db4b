"""E-mail deliveries (SPEC 5.2): step 3 of `facturier run` (sending, each
attempt committed ``sending`` before its message is handed over and its
outcome after), bounces recorded from delivery reports, and `doc send`
(:func:`send_now`, :func:`prepare_send`: the e-mail it would hand over).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from .appends import _item
from .diagnostics import FacturierError
from .i18n import Message
from .model import Book, Document
from .runsession import (_SETTLED, AUTO_SEND_DAYS, REMINDER_STATUSES, RunReport, _detail, _input,
                         _latest_email, _message, _read_text, _reason, _Session, _trailers,
                         _update)

if TYPE_CHECKING:
    from .session import Change


# --------------------------------------------------------------------------- 3. sending

def _reminder_level_of_attempt(doc: Document, attempt) -> Optional[int]:
    """What a deferred attempt was carrying: the highest reminder recorded on
    or before its day, else the document itself (None)."""
    levels = [r.level for r in doc.reminders if r.date <= attempt.day]
    return max(levels) if levels else None


def _wants_sending(s: _Session, doc: Document) -> Optional[tuple]:
    """(reminder level or None,) when the document is to be e-mailed now."""
    if doc.is_draft:
        return None
    latest = _latest_email(doc)
    if latest is not None:
        if latest.result == "deferred":
            from .status import status_of
            level = _reminder_level_of_attempt(doc, latest)
            status = status_of(doc, s.book, s.as_of)
            if level is not None and status not in REMINDER_STATUSES:
                return None         # paid (or on hold...) since: the reminder is moot
            if status in _SETTLED:
                return None
            return (level,)
        return None
    if doc.id in s.to_send:
        return (None,)
    if doc.recurrence and doc.validated is not None \
            and (s.as_of - doc.validated).days <= AUTO_SEND_DAYS:
        rec = s.book.recurrence(doc.recurrence)
        if rec is not None and rec.issue == "send":
            return (None,)
    return None


def _attempt_entry(s: _Session, msg, parts=()) -> dict:
    from .mail import recipient_of
    entry: dict = {"channel": "email", "at": s.now(), "to": recipient_of(msg), "result": "sending",
                   "message_id": str(msg["Message-ID"])}
    if parts:
        entry["attachments"] = [part.entry() for part in parts]
    return entry


def _sent_trailers(doc_id: str, parts) -> tuple:
    """The trailers of the commit recording an attempt: the document, and each
    attachment's name and SHA-256 (so `facturier log` shows what was sent)."""
    return _trailers([doc_id]) + tuple(("Facturier-Attachment", "%s sha256:%s" % (p.name, p.sha256))
                                       for p in parts)


def _finish_attempt(s: _Session, doc_id: str, msg, index: int, what: str) -> None:
    """Send ``msg`` through the run's session (opened: ``s.smtp_ok()``; its
    `sending` entry at ``deliveries[index]`` is committed) and commit the
    outcome. An unknown outcome (the answer to the final dot lost) stays
    `sending`, with why in ``detail``."""
    assert s.mailer is not None
    # the attempt's entry as published: with `sync` (SPEC 9) a replay may have
    # moved it, or left it out because another clone e-mails this document
    doc = s.book.documents.get(doc_id)
    found = [i for i, d in enumerate(doc.deliveries if doc else ())
             if d.message_id == str(msg["Message-ID"])]
    if doc is None or not found:
        s.report.say(_message("run.emailed_elsewhere", id=doc_id))
        return
    index = found[-1]
    outcome = s.mailer.send(msg)
    s.note_smtp_fault()
    doc = s.book.documents[doc_id]
    fields = {"deliveries.%d.result" % index: outcome.result}
    if outcome.detail:
        fields["deliveries.%d.detail" % index] = outcome.detail
    number = doc.number or doc.id
    if outcome.result == "sent":
        subject, action = str(_message("subject.sent", what=what, number=number,
                                       contact=doc.contact)), "document.send"
    elif outcome.result == "bounced":
        subject, action = str(_message("subject.email_bounced", what=what, number=number,
                                       detail=outcome.detail)), "document.bounce"
    elif outcome.result == "sending":
        subject, action = str(_message("subject.email_unknown", what=what,
                                       number=number)), "document.send"
    else:
        subject, action = str(_message("subject.email_deferred", what=what, number=number,
                                       detail=outcome.detail)), "document.send"
    if not s.try_commit(doc, action, subject[:200], lambda: {doc.path: s.edit(doc, set_fields=fields)},
                        _trailers([doc.id]) + _input(
                            "outcome", doc=doc.id, mid=str(msg["Message-ID"]),
                            set={k.rsplit(".", 1)[1]: v for k, v in fields.items()})):
        s.report.sending.append(doc.id)
        return
    getattr(s.report, outcome.result).append(doc.id)
    s.report.say(_message("run.unknown" if outcome.result == "sending" else "run." + outcome.result,
                          what=what, id=doc.id,
                          detail=_message("run.paren", text=_detail(outcome.detail))
                          if outcome.detail else ""))


def run_sending(s: _Session) -> None:
    from .mail import MailError, add_attachments, build_message
    postponed: list = []
    for doc_id in sorted(s.book.documents, key=str.lower):
        doc = s.book.documents[doc_id]
        if not doc.deliveries and doc.id not in s.to_send and not doc.recurrence:
            continue
        latest = _latest_email(doc)
        if latest is not None and latest.result == "sending":
            continue            # reported by report_sending
        wanted = _wants_sending(s, doc)
        if wanted is None:
            continue
        level = wanted[0]
        try:
            msg = build_message(doc, s.book, s.as_of, reminder_level=level)
        except MailError as exc:
            s.report.error(doc.path, doc.line, _message("run.cannot_email", id=doc.id,
                                                        reason=exc.message))
            continue
        if not s.smtp_ok():
            postponed.append((doc, msg))
            continue
        parts = s.parts(doc, level)
        if parts is None:
            continue
        msg = add_attachments(msg, parts)
        what = (_message("run.what.reminder", level=level) if level
                else doc.kind.replace("_", " "))
        index = len(doc.deliveries)
        entry = _attempt_entry(s, msg, parts)
        if not s.try_commit(doc, "document.send", "Send %s %s to %s"
                            % (what, doc.number or doc.id, doc.contact),
                            lambda doc=doc, entry=entry: {
                                doc.path: s.edit(doc, append={"deliveries": [entry]})},
                            _sent_trailers(doc.id, parts) + _input("deliver", items=[_item(doc, entry)])):
            continue
        _finish_attempt(s, doc.id, msg, index, what)
    if postponed:
        _record_postponed(s, postponed)


def _record_postponed(s: _Session, postponed) -> None:
    """The SMTP server cannot be used: each e-mail due is recorded as a
    `deferred` attempt (never tried, so never `sending`), in one commit; the
    next run tries them again."""
    from .mail import recipient_of
    writes, ids, items = {}, [], []
    for doc, msg in postponed:
        entry = {"channel": "email", "at": s.now(), "to": recipient_of(msg), "result": "deferred",
                 "detail": str(_message("run.not_sent", problem=s.smtp_problem))}
        try:
            writes[doc.path] = s.edit(doc, append={"deliveries": [entry]})
        except FacturierError as exc:
            s.report.error(doc.path, doc.line, _message("run.deferred_not_recorded", id=doc.id,
                                                        reason=_reason(exc)))
            continue
        ids.append(doc.id)
        items.append(_item(doc, entry))
    if not writes:
        return
    try:
        s.commit("document.send", str(_message(
            "subject.deferred_n.one" if len(ids) == 1 else "subject.deferred_n.many",
            n=len(ids), problem=s.smtp_problem)), writes,
            _trailers(ids) + _input("deliver", items=items))
    except (FacturierError, ValueError) as exc:
        s.report.error("", 0, _message("run.deferred_failed", reason=_reason(exc)))
        return
    s.report.deferred.extend(ids)
    s.report.say(_message("run.deferred_n.one" if len(ids) == 1 else "run.deferred_n.many",
                          n=len(ids), problem=_detail(s.smtp_problem)))


def report_sending(s: _Session) -> None:
    for doc in s.book.documents.values():
        if not doc.deliveries:
            continue
        latest = _latest_email(doc)
        if latest is not None and latest.result == "sending":
            s.report.sending.append(doc.id)
            s.report.say(_message("run.never_finished", id=doc.id, at=latest.at,
                                  message_id=latest.message_id or "?"))
    s.report.sending.sort()


# --------------------------------------------------------------------------- bounces (SPEC 5.2)

def find_delivery(book: Book, message_id: str) -> Optional[tuple[Document, int]]:
    """The document and index of the e-mail delivery with this Message-ID."""
    wanted = message_id.strip().lower()
    if not wanted:
        return None
    for doc in book.documents.values():
        for index, delivery in enumerate(doc.deliveries):
            if delivery.channel == "email" and delivery.message_id.strip().lower() == wanted:
                return doc, index
    return None


def plan_bounce(book: Book, report) -> "Change":
    """Record a delivery report (engine.mail.DeliveryReport, action failed) on
    the delivery it names: its result becomes ``bounced`` with the report's
    status and diagnostic as detail (SPEC 5.2). Raises ActionRefused when no
    delivery has that Message-ID or it is already recorded as bounced."""
    from .diagnostics import ActionRefused
    from .session import Change
    found = find_delivery(book, report.message_id)
    if found is None:
        raise ActionRefused("refuse.bounce.unknown",
                            message_id=report.message_id or _message("refuse.bounce.no_id"))
    doc, index = found
    delivery = doc.deliveries[index]
    if delivery.result == "bounced":
        raise ActionRefused("refuse.bounce.already", message_id=report.message_id, id=doc.id)
    detail = " ".join(x for x in (report.status, report.diagnostic) if x) or "bounced"
    text = _read_text(book, doc.path)
    data = _update(doc.path, text, {"deliveries.%d.result" % index: "bounced",
                              "deliveries.%d.detail" % index: "delivery report: %s" % detail})
    return Change("document.bounce", "E-mail of %s to %s bounced: %s"
                  % (doc.number or doc.id, delivery.to or report.recipient, detail)[:200],
                  {doc.path: data.encode("utf-8")}, trailers=_trailers([doc.id]))


# --------------------------------------------------------------------------- doc send (SPEC 5.2, 6)

def send_now(root, doc_id: str, as_of: dt.date, *, now: Callable[[], str],
             author: Optional[str] = None, environ=None, smtp_timeout: float = 30.0,
             mark_sent: bool = False) -> RunReport:
    """`facturier doc send ID`: e-mail one validated document now, with the
    same guarantees as the daily run (the session is opened, the attempt
    committed as `sending`, the message handed over, its outcome committed; a
    transient failure is `deferred` and retried by the next run, a rejected
    session is an error of the report naming the settings, an answer lost
    after the message leaves it `sending`).

    A document already e-mailed successfully is refused: nothing is sent twice
    by accident. An attempt left `sending` by a crash is resent only when a
    person asks for it (this command); with ``mark_sent`` the person says the
    attempt did reach the server, and it is recorded as `sent` without e-mail.

    With `sync` (SPEC 9) the `sending` commit is published before the message
    is handed over (the write session does it), and the outcome is published
    right after, so that the other clones see the e-mail as sent; when the
    remote cannot be reached then, the outcome stays committed here, the
    report says so, and the next `sync` or run publishes it.
    """
    report = RunReport(as_of=as_of, dry_run=False, sending_enabled=True)
    shared = _send_in_session(root, doc_id, as_of, now, author, environ, smtp_timeout, mark_sent,
                              report)
    if shared and report.commits:
        from .sync import sync_book
        try:
            sync_book(root, author=author)
        except FacturierError as exc:
            reason = getattr(exc, "message", None)
            report.unpublished = _message("sync.outcome_later",
                                          reason=reason if isinstance(reason, Message) else str(exc))
    return report


def _send_in_session(root, doc_id: str, as_of: dt.date, now: Callable[[], str],
                     author: Optional[str], environ, smtp_timeout: float, mark_sent: bool,
                     report: RunReport) -> bool:
    """send_now's work under the book's lock; whether the book is shared
    through a remote."""
    from .diagnostics import ActionRefused
    from .session import open_writer
    with open_writer(root, author) as writer:
        shared = writer.publisher is not None and not writer.publisher.problem
        s = _Session(writer, Path(root), as_of, now, report, True, environ, smtp_timeout)
        doc = _sendable(s.book, doc_id)
        from .planentries import refuse_before_document
        refuse_before_document(doc, as_of, "refuse.as_of.emailed")
        latest = _latest_email(doc)
        what = doc.kind.replace("_", " ")
        if mark_sent:
            if latest is None or latest.result != "sending":
                raise ActionRefused("refuse.send.nothing_to_mark", id=doc.id)
            index = max(i for i, d in enumerate(doc.deliveries) if d is latest)
            s.commit("document.send", "Mark the e-mail of %s %s as sent" % (what, doc.number or doc.id),
                     {doc.path: s.edit(doc, set_fields={"deliveries.%d.result" % index: "sent"})},
                     _trailers([doc.id]) + _input("outcome", doc=doc.id, mid=latest.message_id or "",
                                                  set={"result": "sent"}))
            report.sent.append(doc.id)
            return shared
        _, msg, parts = prepare_send(s.book, doc.id, as_of)
        with s.mailing():
            if not s.smtp_ok():         # nothing was tried: deferred, no `sending` phase
                _record_postponed(s, [(doc, msg)])
            else:
                index = len(doc.deliveries)
                entry = _attempt_entry(s, msg, parts)
                s.commit("document.send", "Send %s %s to %s" % (what, doc.number or doc.id, doc.contact),
                         {doc.path: s.edit(doc, append={"deliveries": [entry]})},
                         _sent_trailers(doc.id, parts) + _input("deliver", items=[_item(doc, entry)]))
                _finish_attempt(s, doc.id, msg, index, what)
    return shared


def _sendable(book: Book, doc_id: str) -> Document:
    """The document ``doc send`` may e-mail (it exists and is validated)."""
    from .diagnostics import ActionRefused
    doc = book.document(doc_id)
    if doc is None:
        raise ActionRefused("refuse.no_document", id=doc_id)
    if doc.is_draft:
        raise ActionRefused("refuse.send.draft", id=doc.id)
    return doc


def prepare_send(book: Book, doc_id: str, as_of: dt.date, renderer=None):
    """(document, message, parts): the e-mail `doc send` would hand over now,
    with its attachments (engine.attachments.Part) already attached — what the
    app shows before sending. Raises ActionRefused (nothing happens) when the
    document is missing, a draft, already e-mailed, has no usable address, or
    its attachments cannot be made."""
    from .attachments import document_parts
    from .diagnostics import ActionRefused
    from .einvoice import refuse_incomplete
    from .mail import MailError, add_attachments, build_message
    doc = _sendable(book, doc_id)
    latest = _latest_email(doc)
    if latest is not None and latest.result == "sent":
        raise ActionRefused("refuse.send.already", id=doc.id, at=latest.at,
                            message_id=latest.message_id or "?")
    refuse_incomplete(book, doc)        # an e-invoice lacking data is never sent (SPEC 8.2)
    try:
        msg = build_message(doc, book, as_of)
        parts = document_parts(book, doc, renderer=renderer)
    except (MailError, FacturierError) as exc:
        raise ActionRefused("refuse.send.cannot", id=doc.id,
                            reason=getattr(exc, "message", None) or str(exc)) from None
    return doc, add_attachments(msg, parts), parts
