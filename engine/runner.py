"""`facturier run`: the daily job (SPEC 6.1).

In this order, for ``as_of``:

1. recurrences (SPEC 4.2, 4.3): each active recurrence's due occurrences, oldest
   first, each one document and one commit that also moves ``last``; or one
   ``recurrence.stop`` commit with a cause a person understands (nothing is
   generated, no number is used up) when any occurrence cannot be generated or
   more than ``max_catch_up`` are due;
2. scheduled future-dated drafts whose date has come (SPEC 3.4): generated ones
   with their recurrence's ``issue`` mode, others per ``future_invoices``;
3. sending (SPEC 5.2): validated documents whose recurrence says ``send`` (or
   that ``future_invoices: process`` validated) and that have no e-mail delivery
   yet, and every document whose latest e-mail attempt was ``deferred``. One
   SMTP session serves the whole run. Each attempt is committed as ``sending``
   just before its message is handed over, and its outcome after: ``sent``,
   ``bounced``, ``deferred``, or left ``sending`` when the answer to the
   message's final dot never came (unknown: never resent on its own). An
   attempt left ``sending`` is reported, never resent. Once the session cannot
   be used (an outage, a session the server rejects, a lost answer), the
   e-mails still due are recorded ``deferred`` without being tried; a rejected
   session (greeting, STARTTLS, login, sender) is an error of the run;
4. reminders: an invoice whose dunning level is above its highest recorded
   reminder gets the *next* level, dated ``as_of``. The reminders that are not
   e-mailed are recorded in one ``document.remind`` commit; each e-mailed one
   in a commit of its own that also marks its e-mail ``sending``, just before
   it is attempted; each e-mail's outcome is then its own commit.

Every decision is made on the book as it stands after the previous commit, so a
run interrupted anywhere and run again does nothing twice: ``last`` covers what
was generated, a number is only given in the commit that records it, and a
``sending`` entry is never resent.
"""
from __future__ import annotations

import contextlib
import datetime as dt
from pathlib import Path
from typing import Callable, Optional

from .deliveries import _wants_sending, report_sending, run_sending
from .diagnostics import ActionRefused
from .i18n import Message
from .model import Book
from .runsession import DryWriter, RunReport, _Session
from .runspec import working_ahead
from .runsteps import run_recurrences, run_reminders, run_scheduled


# --------------------------------------------------------------------------- never back in time

class RunBackInTime(ActionRefused):
    """``run --as-of`` earlier than a date a run already recorded (SPEC 6.1):
    a usage error (exit 2); nothing is done."""

    def __init__(self, as_of: dt.date, latest: dt.date, what: str):
        super().__init__("refuse.run_back", as_of=as_of.isoformat(), what=what,
                         latest=latest.isoformat())
        self.as_of = as_of
        self.latest = latest


def latest_run_date(book: Book) -> Optional[tuple[dt.date, str]]:
    """The latest date a run recorded in the book, and what recorded it:
    a reminder's date, a delivery's day (its timestamp as written), a
    recurrence's ``stopped.at`` day, or a generation's date. A generated
    document records its generation as: its ``validated`` date when
    validated; else, still ``scheduled``, its date less the recurrence's
    ``lead_days`` (it was generated no earlier); else its date (generated, or
    processed, on that day or later). None for a book no run has touched."""
    best = ""
    what = ""
    for doc in book.documents.values():
        for reminder in doc.reminders:
            day = reminder.date.isoformat()
            if day > best:
                best, what = day, Message("run.last.reminder", level=reminder.level, id=doc.id)
        for delivery in doc.deliveries:
            day = delivery.at[:10]
            if day > best:
                best, what = day, Message("run.last.email" if delivery.channel == "email"
                                          else "run.last.post", id=doc.id)
        if doc.recurrence and doc.occurrence is not None:
            if doc.validated is not None:
                day = doc.validated.isoformat()
            elif doc.scheduled:
                rec = book.recurrences.get(doc.recurrence)
                lead = rec.lead_days if rec is not None else 0
                day = (doc.date - dt.timedelta(days=lead)).isoformat()
            else:
                day = doc.date.isoformat()
            if day > best:
                best, what = day, Message("run.last.generation", id=doc.id)
    for rec in book.recurrences.values():
        if rec.stopped is not None and rec.stopped.at[:10] > best:
            best, what = rec.stopped.at[:10], Message("run.last.stop", id=rec.id)
    if not best:
        return None
    try:
        return dt.date.fromisoformat(best), what
    except ValueError:
        return None


def refuse_going_back(book: Book, as_of: dt.date) -> None:
    """Raise :class:`RunBackInTime` when ``as_of`` is before the latest date a
    run recorded in ``book``."""
    latest = latest_run_date(book)
    if latest is not None and as_of < latest[0]:
        raise RunBackInTime(as_of, latest[0], latest[1])


def run(root, as_of: dt.date, *, now: Callable[[], str], author: Optional[str] = None,
        dry_run: bool = False, send: bool = True, environ=None,
        smtp_timeout: float = 30.0, ahead: bool = True) -> RunReport:
    """Do the daily job on the book at ``root`` for ``as_of`` (SPEC 6.1).

    ``now`` gives the timestamps recorded (ISO 8601 with offset, on ``as_of``).
    ``send=False`` sends no e-mail (reminders are still recorded).
    ``ahead``: the reminders' appends are worked out in a child process
    while the recurrences are committed (engine/runspec.py; never in a dry
    run); False does all of it at the reminders step. Raises
    :class:`RunBackInTime` (nothing done) when ``as_of`` is before the latest
    date a run recorded in the book.
    """
    from .book import load_book
    root = Path(root)
    report = RunReport(as_of=as_of, dry_run=dry_run, sending_enabled=send)
    if dry_run:
        book = load_book(root)
        refuse_going_back(book, as_of)
        session = _Session(DryWriter(book, root), root, as_of, now, report, send, environ, smtp_timeout)
        _steps(session, dry_run=True)
        return report
    from .session import open_writer
    with open_writer(root, author) as writer:
        refuse_going_back(writer.book, as_of)
        session = _Session(writer, root, as_of, now, report, send, environ, smtp_timeout)
        with session.mailing(), (working_ahead(session) if ahead else contextlib.nullcontext()):
            _steps(session, dry_run=False)
    return report


def _steps(s: _Session, dry_run: bool) -> None:
    for diag in s.book.diagnostics:
        if diag.is_error:
            s.report.error(diag.path, diag.line, diag.message)
    batch = getattr(s.w, "batch", None)
    if batch is not None:
        with batch():          # thousands of generated documents: one publish
            run_recurrences(s)
    else:
        run_recurrences(s)
    run_scheduled(s)
    report_sending(s)
    if s.send and not dry_run:
        run_sending(s)
    elif s.send:
        _plan_sending(s)
    if dry_run:
        s.send = False      # record what would be reminded, send nothing
        run_reminders(s)
        s.send = True
        for doc_id in s.report.reminded:
            doc = s.book.documents.get(doc_id)
            contact = s.book.contact(doc.contact) if doc else None
            if contact is not None and (contact.email or "").strip():
                s.report.sent.append(doc_id)
    else:
        run_reminders(s)
    from .recurrence import state_of
    s.report.stopped = sorted((r.id for r in s.book.recurrences.values()
                               if state_of(r, s.as_of) == "stopped"), key=str.lower)


def _plan_sending(s: _Session) -> None:
    for doc_id in sorted(s.book.documents, key=str.lower):
        doc = s.book.documents[doc_id]
        if not doc.deliveries and doc.id not in s.to_send and not doc.recurrence:
            continue
        if _wants_sending(s, doc) is not None:
            s.report.sent.append(doc.id)
            s.report.say("would e-mail %s" % doc.id)
