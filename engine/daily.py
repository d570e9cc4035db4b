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

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Optional

from .diagnostics import ActionRefused, FacturierError
from .i18n import Message
from .model import Book, Document, Recurrence

if TYPE_CHECKING:
    from .actions import Change
    from .mail import SmtpSession
    from .pdf import Renderer

_SMTP_VARS = ("FACTURIER_SMTP_USER", "FACTURIER_SMTP_PASSWORD")
REMINDER_STATUSES = ("first_reminder", "second_reminder", "litigation", "partially_paid")
AUTO_SEND_DAYS = 30
_SETTLED = ("paid", "paid_with_discount", "cancelled_by_credit_note", "written_off")     # a `send` document validated longer ago than this is never sent on its own


@dataclass
class RunReport:
    as_of: dt.date
    dry_run: bool = False
    sending_enabled: bool = True
    generated: list = field(default_factory=list)
    stopped: list = field(default_factory=list)          # recurrences stopped after the run
    stopped_now: list = field(default_factory=list)      # ... by this run
    validated: list = field(default_factory=list)
    scheduled: list = field(default_factory=list)        # drafts whose scheduled mark was dropped
    sent: list = field(default_factory=list)
    deferred: list = field(default_factory=list)
    bounced: list = field(default_factory=list)
    reminded: list = field(default_factory=list)
    sending: list = field(default_factory=list)          # attempts left `sending` (a crash)
    errors: list = field(default_factory=list)           # {"file", "line", "message"}
    messages: list = field(default_factory=list)         # what happened, for a person
    commits: int = 0

    def as_json(self) -> dict:
        return {"as_of": self.as_of.isoformat(), "dry_run": self.dry_run,
                "generated": self.generated, "stopped": self.stopped,
                "stopped_now": self.stopped_now, "validated": self.validated,
                "scheduled": self.scheduled, "sent": self.sent, "deferred": self.deferred,
                "bounced": self.bounced, "reminded": self.reminded, "sending": self.sending,
                "errors": self.errors}

    @property
    def exit_code(self) -> int:
        if self.errors:
            return 1
        if self.stopped:
            return 3
        return 0

    def say(self, text: str) -> None:
        self.messages.append(text)

    def error(self, path: str, line: int, message: str) -> None:
        self.errors.append({"file": path, "line": line, "message": message})


# --------------------------------------------------------------------------- helpers

def _latest_email(doc: Document):
    for delivery in reversed(doc.deliveries):
        if delivery.channel == "email":
            return delivery
    return None


def _trailers(doc_ids=(), rec_ids=()) -> tuple:
    return tuple(("Facturier-Document", d) for d in doc_ids) + \
        tuple(("Facturier-Recurrence", r) for r in rec_ids)


def _input(op: str, **data) -> tuple:
    """The Facturier-Input trailer (SPEC 9: what engine/sync.py replays)."""
    from .trailers import input_trailer
    return input_trailer(op, **data)


def _emails(doc: Document) -> int:
    return sum(1 for d in doc.deliveries if d.channel == "email")


def _item(doc: Document, entry: Optional[dict] = None, level: Optional[int] = None,
          day: Optional[dt.date] = None) -> dict:
    """One document of a `deliver` input: the e-mail entry and/or reminder
    appended, and how many e-mail entries the document had before."""
    item: dict = {"doc": doc.id, "n": _emails(doc)}
    if entry is not None:
        item["entry"] = entry
    if level is not None:
        item["level"], item["date"] = level, day
    return item


def _block(key: str, items: list[dict]) -> str:
    """A block list in facturier's canonical style (appended at the end)."""
    from .writer import _value
    lines = ["%s:" % key]
    for item in items:
        first = True
        for k, v in item.items():
            if v is None or v == "":
                continue
            lines.append("%s%s: %s" % ("  - " if first else "    ", k, _value(v)))
            first = False
    return "\n".join(lines) + "\n"


def _appended(text: str, append: dict) -> Optional[str]:
    """``text`` with the items of ``append`` added as block-list items, or None
    when a list is not one this can extend safely: absent (a new block at the
    end), or a ``key:`` block list that runs to the end of the file."""
    for key, items in append.items():
        if not re.search(r"^%s[ \t]*:" % re.escape(key), text, re.M):
            if text and not text.endswith("\n"):
                text += "\n"
            text += _block(key, items)
            continue
        lines = text.split("\n")
        head = key + ":"
        starts = [i for i, line in enumerate(lines) if line.startswith(head)
                  and (not line[len(head):].strip() or line[len(head):].strip().startswith("#"))]
        if len(starts) != 1:
            return None
        indent = None
        for line in lines[starts[0] + 1:]:
            bare = line.strip()
            if not bare or bare.startswith("#"):
                continue
            if indent is None:
                m = re.match(r"( *)- ", line)
                if m is None:
                    return None
                indent = m.group(1)
            elif not (line.startswith(indent + "- ") or line.startswith(indent + "  ")):
                return None             # another key after the list, or odd indentation
        if indent is None:
            return None
        block = _block(key, items).split("\n", 1)[1]          # the items, "  - " style
        body = "".join(indent + line[2:] + "\n" if line.startswith("  ") else ""
                       for line in block.splitlines())
        if text and not text.endswith("\n"):
            text += "\n"
        text += body
    return text


_ITEM_RECORDS: dict = {}


def _with_items(old, append: dict, written=None):
    """The record ``old`` with the items of ``append`` added at the end of
    their lists (their ``line`` taken from the same items of ``written``, else
    0), or None when an item does not make a record."""
    import msgspec

    from .model import Attachment, Delivery, Discount, Payment, Reminder
    if not _ITEM_RECORDS:
        _ITEM_RECORDS.update(reminders=Reminder, deliveries=Delivery, payments=Payment,
                             discounts=Discount)
    changes: dict = {} if written is None else {"line": written.line, "fields": written.fields}
    for key, items in append.items():
        cls = _ITEM_RECORDS.get(key)
        before = getattr(old, key, None)
        after = getattr(written, key, None) if written is not None else None
        if cls is None or before is None or (written is not None and (
                after is None or len(after) != len(before) + len(items))):
            return None
        added = []
        for n, item in enumerate(items):
            line = after[len(before) + n].line if after is not None else 0
            values = {k: v for k, v in item.items() if v is not None and v != ""}
            if cls is Delivery and "attachments" in values:
                values["attachments"] = tuple(Attachment(**a) for a in values["attachments"])
            try:
                added.append(cls(line=line, **values))
            except (TypeError, msgspec.ValidationError):
                return None
        changes[key] = before + tuple(added)
    return msgspec.structs.replace(old, **changes)


def _reads_as_appended(old, data: bytes, append: dict) -> bool:
    """Does ``data``, parsed back with the real loader, read as the record
    ``old`` with exactly the items of ``append`` added, nothing else changed
    (lines of the old part included: a text append moves nothing)?"""
    from .loader import parse_file
    _kind, new, diagnostics = parse_file(old.path, data)
    if new is None or any(d.is_error for d in diagnostics):
        return False
    return _with_items(old, append, new) == new


_CHECKING: list = []        # what forked workers of _check_appends read


def _check_chunk(indices) -> list[int]:
    return [i for i in indices if not _reads_as_appended(*_CHECKING[i])]


def _check_appends(items: list, processes: Optional[int] = None) -> list[bool]:
    """_reads_as_appended for each (old record, bytes, append): on every core
    when there are many (a first run reminds tens of thousands of invoices;
    each file is parsed back before the commit)."""
    import os
    if processes is None:
        processes = os.cpu_count() or 1
    if processes < 2 or len(items) < 2000:
        return [_reads_as_appended(*item) for item in items]
    import multiprocessing
    try:
        context = multiprocessing.get_context("fork")
    except ValueError:
        return [_reads_as_appended(*item) for item in items]
    _CHECKING[:] = items                # the workers see them through fork
    try:
        parts = processes * 4
        with context.Pool(processes) as pool:
            bad = {i for found in pool.map(_check_chunk, [range(k, len(items), parts)
                                                          for k in range(parts)])
                   for i in found}
    finally:
        _CHECKING[:] = []
    return [i not in bad for i in range(len(items))]


class _Session:
    """The state shared by the steps of one run."""

    def __init__(self, writer, root: Path, as_of: dt.date, now: Callable[[], str],
                 report: RunReport, send: bool, environ, smtp_timeout: float):
        self.w = writer
        self.root = root
        self.as_of = as_of
        self.now = now
        self.report = report
        self.send = send
        self.environ = environ
        self.smtp_timeout = smtp_timeout
        self.to_send: set[str] = set()
        self._lower_ids: Optional[set] = None
        self.mailer: Optional["SmtpSession"] = None     # the run's, opened at its first e-mail
        self._fault_reported = False
        self.parsed: dict = {}          # path -> (bytes, kind, record, diagnostics) of edit()
        self._renderer: Optional["Renderer"] = None     # the run's one Typst compiler

    def parts(self, doc: Document, level: Optional[int] = None) -> Optional[list]:
        """The files the e-mail of ``doc`` (or of its reminder) carries
        (engine.attachments), rendered with the run's one compiler; None, the
        problem reported against the document, when they cannot be made (the
        e-mail is then not attempted: a later run tries again)."""
        from .attachments import document_parts
        try:
            if self._renderer is None:
                from .pdf import Renderer
                self._renderer = Renderer.for_book(self.book)
            return document_parts(self.book, doc, renderer=self._renderer,
                                  reminder=level is not None)
        except (FacturierError, ValueError) as exc:
            what = "reminder %d of %s" % (level, doc.id) if level else doc.id
            self.report.error(doc.path, doc.line, "cannot e-mail %s: its attachments cannot be "
                              "made: %s" % (what, exc))
            return None

    def smtp_ok(self) -> bool:
        """Can the run's SMTP session be used for the next e-mail? It is
        opened once (connection, STARTTLS, login) and serves every e-mail of
        the run. Once it cannot be used (an outage, a session the server
        rejects, an answer lost after a message), no further e-mail of the run
        is attempted: the next run tries them."""
        if self.mailer is None:
            from .mail import SmtpSession
            self.mailer = SmtpSession(self.book.settings.email, environ=self.environ,
                                      timeout=self.smtp_timeout)
        ok = self.mailer.open() is None
        self.note_smtp_fault()
        return ok

    @property
    def smtp_problem(self) -> Optional[str]:
        """Why the SMTP session cannot be used (None while it can)."""
        problem = self.mailer.problem if self.mailer is not None else None
        return problem.detail if problem is not None else None

    def note_smtp_fault(self) -> None:
        """A session the server rejected (greeting, STARTTLS, login, sender)
        says the settings are wrong: an error of the run (exit 1), once."""
        problem = self.mailer.problem if self.mailer is not None else None
        if problem is None or not problem.settings_fault or self._fault_reported:
            return
        self._fault_reported = True
        self.report.error("facturier.yaml", 0,
                          _message("run.smtp_fault", detail=_detail(problem.detail),
                                   user=_SMTP_VARS[0],
                                   password=_SMTP_VARS[1]))

    def end_mail(self, interrupted: bool) -> None:
        """Close the run's SMTP session (QUIT; after an interruption, just
        the socket)."""
        mailer, self.mailer = self.mailer, None
        if mailer is not None:
            mailer.abort() if interrupted else mailer.close()

    @property
    def book(self) -> Book:
        return self.w.book

    def read(self, path: str) -> str:
        reader = getattr(self.w, "read", None)
        if reader is not None:
            data = reader(path)
        else:
            from .safepath import read_bytes
            data = read_bytes(self.root, path)
        return data.decode("utf-8") if isinstance(data, bytes) else data

    def edit(self, record, set_fields=None, remove=(), append=None) -> bytes:
        """The record's file with fields set/removed/appended, keeping a
        person's comments and order. Items appended to a list the file lacks,
        or to a block list that ends the file (where facturier puts them), are
        written as text (what the round trip would write, a hundred times
        faster: a first run can remind tens of thousands of invoices), kept
        only when the loader reads it back as ``record`` with exactly those
        items added; anything else goes through the ruamel round trip, itself
        checked (writer.check_edit). Raises ActionRefused when the file cannot
        be edited so (it is then left as it is)."""
        if append and not set_fields and not remove:
            data = self.appended(record, append)
            if data is not None and _reads_as_appended(record, data, append):
                self.parsed[record.path] = (data, "document", _with_items(record, append), [])
                return data
        return self.round_trip(record, set_fields, remove, append)

    def appended(self, record, append: dict) -> Optional[bytes]:
        """The text append of :meth:`edit`, unchecked (None when it does not apply)."""
        fast = _appended(self.read(record.path), append)
        return fast.encode("utf-8") if fast is not None else None

    def round_trip(self, record, set_fields=None, remove=(), append=None) -> bytes:
        from .loader import parse_file
        from .writer import update_yaml
        try:
            data = update_yaml(self.read(record.path), set_fields=set_fields, remove=remove,
                               append=append).encode("utf-8")
        except (ValueError, KeyError, IndexError) as exc:
            from .diagnostics import ActionRefused
            raise ActionRefused("%s: cannot be edited: %s" % (record.path, exc)) from None
        self.parsed[record.path] = (data,) + parse_file(record.path, data)
        return data

    def commit(self, action: str, subject: str, writes: dict, trailers=(), new=()) -> None:
        from .actions import Change
        parsed = {p: self.parsed.pop(p) for p in writes if p in self.parsed}
        self.w.commit(Change(action, subject, writes, trailers=trailers, new=tuple(new),
                             parsed=parsed))
        self.report.commits += 1

    def has_document(self, doc_id: str) -> bool:
        """Is the id taken (ignoring case)? Without scanning the book each time."""
        if doc_id in self.book.documents:
            return True
        if self._lower_ids is None:
            self._lower_ids = {k.lower() for k in self.book.documents}
        return doc_id.lower() in self._lower_ids

    def try_commit(self, record, action: str, subject: str, writes, trailers=(),
                   new=()) -> bool:
        """commit, or report why it was refused (a file with uncommitted
        edits, one that cannot be edited safely...) against ``record`` and go
        on with the rest of the run. ``writes``: a dict, or a function making
        it (so that a file that cannot be edited is reported the same way)."""
        try:
            if callable(writes):
                writes = writes()
            self.commit(action, subject, writes, trailers, new)
            return True
        except (FacturierError, ValueError) as exc:
            self.report.error(record.path, record.line, "%s: %s" % (subject, exc))
            return False

    def dirty(self, paths) -> set:
        check = getattr(self.w, "dirty", None)
        return set(check(list(paths))) if check is not None and paths else set()


# --------------------------------------------------------------------------- 1. recurrences

_LAST_LINE = None


def _with_last(s: _Session, rec: Recurrence, occurrence: dt.date) -> bytes:
    """The recurrence file with ``last: occurrence``. The common case (a
    one-line top-level ``last:``, or none) is a text edit checked by reading
    the result back; anything else goes through the round trip."""
    import re

    from .loader import parse_file
    global _LAST_LINE
    if _LAST_LINE is None:
        _LAST_LINE = re.compile(r"^last:[ \t]*(\d{4}-\d{2}-\d{2}|\"\d{4}-\d{2}-\d{2}\"|"
                                r"'\d{4}-\d{2}-\d{2}')?[ \t]*(#[^\n]*)?$", re.M)
    text = s.read(rec.path)
    found = list(_LAST_LINE.finditer(text))
    new = None
    if len(found) == 1:
        m = found[0]
        comment = (" " + m.group(2)) if m.group(2) else ""
        new = text[:m.start()] + "last: %s%s" % (occurrence.isoformat(), comment) + text[m.end():]
    elif not found and "last" not in (rec.fields or {}):
        new = (text if text.endswith("\n") or not text else text + "\n") + "last: %s\n" % occurrence.isoformat()
    if new is not None:
        _, record, diagnostics = parse_file(rec.path, new.encode("utf-8"))
        if isinstance(record, Recurrence) and not any(d.is_error for d in diagnostics) and \
                record.last == occurrence and _same_but_last(record, rec):
            return new.encode("utf-8")
    return s.edit(rec, set_fields={"last": occurrence})


def _same_but_last(a: Recurrence, b: Recurrence) -> bool:
    import msgspec
    keep = dict(fields={}, line=1, last=None)
    return msgspec.structs.replace(a, **keep) == msgspec.structs.replace(b, **keep)


def _message(code: str, **params) -> Message:
    return Message(code, **params)


def _detail(text: Optional[str]):
    """An SMTP outcome's detail (English, as its delivery entry keeps it) as
    the catalogue Message it is, so that a run line shows it in the person's
    language; the text itself when it is the server's own words."""
    from .i18n import parse_message
    return (parse_message(text) if text else None) or text or ""


def _reason(exc: Exception):
    """An error's message: the catalogue Message it carries, else its text."""
    message = getattr(exc, "message", None)
    return message if isinstance(message, Message) else str(exc)


def _stop(s: _Session, rec: Recurrence, occurrence: Optional[dt.date], cause: str) -> None:
    stopped = {"at": s.now(), "occurrence": occurrence, "cause": str(cause)}   # English in the file
    if not s.try_commit(rec, "recurrence.stop", "Stop recurrence %s: %s" % (rec.id, cause),
                        lambda: {rec.path: s.edit(rec, set_fields={"stopped": stopped})},
                        _trailers(rec_ids=[rec.id])):
        return
    s.report.stopped_now.append(rec.id)
    s.report.say("stopped %s: %s" % (rec.id, cause))


def _generated(s: _Session, rec: Recurrence, occurrence: dt.date) -> Document:
    """The document of one occurrence, validated with the next number when the
    recurrence says so and the occurrence has come. Raises ValueError or
    FacturierError with the cause."""
    import msgspec

    from .numbering import NUMBERED_KINDS, next_number
    from .recurrence import generate_document
    book = s.book
    template = book.document(rec.template)
    if template is None:        # check_recurrence says so first; never an AttributeError here
        raise ValueError("template %s does not exist" % rec.template)
    doc = generate_document(rec, template, occurrence, book, s.as_of)
    if rec.issue in ("validate", "send") and not doc.scheduled and doc.kind in NUMBERED_KINDS:
        number = next_number(book, doc.kind, doc.date, validated=s.as_of)
        # A legal record keeps what it took from the settings (as validate does).
        lines = tuple(line if line.vat is not None else
                      msgspec.structs.replace(line, vat=book.settings.vat) for line in doc.lines)
        doc = msgspec.structs.replace(doc, number=number, validated=s.as_of, lines=lines,
                                      currency=doc.currency or book.settings.currency)
    return doc


def run_recurrences(s: _Session) -> None:
    from .recurrence import RuleError, check_recurrence, due_occurrences, state_of
    from .writer import dump_document
    for rec_id in sorted(s.book.recurrences, key=str.lower):
        rec = s.book.recurrences.get(rec_id)
        if rec is None or state_of(rec, s.as_of) != "active":
            continue
        limit = s.book.settings.max_catch_up
        try:
            due = due_occurrences(rec, s.as_of, limit=limit + 1)
        except RuleError:
            due = None
        if due == []:
            continue
        cause = check_recurrence(rec, s.book, s.as_of)
        if cause:
            _stop(s, rec, due[0] if due else None, cause)
            continue
        assert due is not None          # a rule that does not parse is a cause above
        for occurrence in due:
            rec = s.book.recurrences[rec_id]
            try:
                cause = check_recurrence(rec, s.book)
                doc = None if cause else _generated(s, rec, occurrence)
            except (ValueError, FacturierError) as exc:
                cause, doc = _message("cause.cannot_generate", date=str(occurrence),
                                      reason=getattr(exc, "message", None) or str(exc)), None
            if doc is not None:
                existing = s.book.document(doc.id) if s.has_document(doc.id) else None
                if existing is not None:
                    cause = _message("cause.document_exists", id=doc.id, path=existing.path,
                                     last=str(rec.last) if rec.last else _message("word.not_set"))
                elif (s.root / doc.path).exists():
                    cause = _message("cause.file_exists", path=doc.path)
            if cause:
                _stop(s, rec, occurrence, cause)
                break
            assert doc is not None      # no cause: the document was generated
            subject = "Generate %s from recurrence %s" % (doc.id, rec.id)
            if doc.validated is not None:
                subject += " (number %s)" % doc.number
            if not s.try_commit(rec, "document.generate", subject,
                                lambda doc=doc, rec=rec, occurrence=occurrence: {
                                    doc.path: dump_document(doc).encode("utf-8"),
                                    rec.path: _with_last(s, rec, occurrence)},
                                _trailers([doc.id], [rec.id]) + _input(
                                    "generate", rec=rec.id, occ=occurrence, as_of=s.as_of,
                                    doc=doc.id, number=doc.validated is not None),
                                new=(doc.path,)):
                break
            if s._lower_ids is not None:
                s._lower_ids.add(doc.id.lower())
            s.report.generated.append(doc.id)
            s.report.say("generated %s%s" % (doc.id, " (%s)" % doc.number if doc.number else ""))
            if doc.validated is not None:
                s.report.validated.append(doc.id)
                if rec.issue == "send":
                    s.to_send.add(doc.id)


# --------------------------------------------------------------------------- 2. scheduled

def run_scheduled(s: _Session) -> None:
    from .numbering import NUMBERED_KINDS
    todo = sorted((d for d in s.book.documents.values()
                   if d.scheduled and d.is_draft and d.date <= s.as_of),
                  key=lambda d: (d.date, d.id))
    for doc in todo:
        doc = s.book.documents.get(doc.id) or doc
        if not (doc.scheduled and doc.is_draft):
            continue            # processed meanwhile by another clone (SPEC 9)
        rec = s.book.recurrence(doc.recurrence) if doc.recurrence else None
        if rec is not None:
            mode = rec.issue
        elif s.book.settings.future_invoices == "process":
            contact = s.book.contact(doc.contact)
            mode = "send" if contact is not None and (contact.email or "").strip() else "validate"
        else:
            mode = "draft"
        if mode == "draft" or doc.kind not in NUMBERED_KINDS:
            if not s.try_commit(doc, "document.modify", "%s reached its date: waiting for validation" % doc.id,
                     lambda doc=doc: {doc.path: s.edit(doc, remove=("scheduled",))}, _trailers([doc.id])):
                continue
            s.report.scheduled.append(doc.id)
            s.report.say("%s reached its date: waiting for validation" % doc.id)
            continue
        from .actions import plan_validate
        try:
            change = plan_validate(s.book, doc.id, s.as_of, issued_late=True)
            s.w.commit(change)
        except FacturierError as exc:
            s.report.error(doc.path, doc.line, "cannot validate %s on its date: %s" % (doc.id, exc))
            continue
        s.report.commits += 1
        number = s.book.documents[doc.id].number
        s.report.validated.append(doc.id)
        s.report.say("validated %s as %s" % (doc.id, number))
        if mode == "send":
            s.to_send.add(doc.id)


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
        s.report.say("%s: not e-mailed here: another clone of the book e-mails it" % doc_id)
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


# --------------------------------------------------------------------------- 4. reminders

def reminders_due(book: Book, as_of: dt.date) -> list[tuple[Document, int]]:
    """(invoice, next level) for every validated invoice whose dunning level is
    above its highest recorded reminder."""
    from .status import dunning_level, status_of
    out = []
    for doc in book.documents.values():
        if doc.kind != "invoice" or doc.validated is None or doc.date > as_of:
            continue
        highest = max((r.level for r in doc.reminders), default=0)
        if highest >= 3:
            continue
        if doc.due is not None and doc.due >= as_of and not doc.reminders:
            continue
        if status_of(doc, book, as_of) not in REMINDER_STATUSES:
            continue
        if dunning_level(doc, book, as_of) > highest:
            out.append((doc, highest + 1))
    out.sort(key=lambda pair: pair[0].id.lower())
    return out


def _note_reminders(book: Book, items, as_of: dt.date) -> None:
    import msgspec

    from .model import Delivery, Reminder
    for doc, level, entry in items:
        changes = {"reminders": doc.reminders + (Reminder(level=level, date=as_of),)}
        if entry is not None:
            changes["deliveries"] = doc.deliveries + (Delivery(**entry),)
        book.documents[doc.id] = msgspec.structs.replace(doc, **changes)


def run_reminders(s: _Session) -> None:
    """Record the reminders due, and e-mail them.

    The reminders that are not e-mailed (no address, ``--no-send``) are
    recorded in one commit. Each e-mailed one is recorded in the commit that
    also marks its e-mail `sending`, just before that e-mail is attempted, then
    its outcome is committed: an interruption leaves at most the one in flight
    `sending`, and the reminders not reached yet are simply not recorded (the
    next run records and sends them). When the SMTP session cannot be used,
    the rest are recorded in one commit with their e-mail `deferred`, never
    tried (the next run sends them)."""
    from .mail import MailError, build_message
    due = reminders_due(s.book, s.as_of)
    if not due:
        return
    quiet: list[tuple[Document, int, Optional[dict]]] = []
    mails, problems = [], []
    for doc, level in due:
        latest = _latest_email(doc)
        contact = s.book.contact(doc.contact)
        if s.send and contact is not None and (contact.email or "").strip() \
                and not (latest is not None and latest.result == "sending"):
            try:
                msg = build_message(doc, s.book, s.as_of, reminder_level=level)
            except MailError as exc:
                problems.append((doc.path, doc.line, _message(
                    "run.cannot_email_reminder", level=level, id=doc.id, reason=exc.message)))
            else:
                mails.append((doc, level, msg))
                continue
        quiet.append((doc, level, None))
    if mails and not s.smtp_ok():
        quiet = sorted(quiet + [(doc, level, _untried(s, msg)) for doc, level, msg in mails],
                       key=lambda item: item[0].id.lower())
        mails = []
    _record_reminders(s, quiet)
    for n, (doc, level, msg) in enumerate(mails):
        if not s.smtp_ok():
            _record_reminders(s, [(s.book.documents[d.id], lv, _untried(s, m))
                                  for d, lv, m in mails[n:]])
            break
        _remind_and_send(s, s.book.documents[doc.id], level, msg)
    for problem in problems:
        s.report.error(*problem)
    s.report.reminded.sort(key=str.lower)


def _untried(s: _Session, msg) -> dict:
    """The delivery entry of an e-mail due but not attempted, because the SMTP
    session cannot be used: `deferred`, so the next run sends it."""
    from .mail import recipient_of
    return {"channel": "email", "at": s.now(), "to": recipient_of(msg), "result": "deferred",
            "detail": str(_message("run.not_sent", problem=s.smtp_problem))}


def _remind_and_send(s: _Session, doc: Document, level: int, msg) -> None:
    """One commit: the reminder and its e-mail marked `sending`; then the
    e-mail, then its outcome."""
    from .mail import add_attachments
    if any(r.level >= level for r in doc.reminders):
        return          # recorded meanwhile by another clone (SPEC 9)
    parts = s.parts(doc, level)
    if parts is None:
        return          # not recorded: the next run records and e-mails it
    msg = add_attachments(msg, parts)
    index = len(doc.deliveries)
    entry = _attempt_entry(s, msg, parts)
    writes = {doc.path: s.edit(doc, append={"reminders": [{"level": level, "date": s.as_of}],
                                            "deliveries": [entry]})}
    if not s.try_commit(doc, "document.remind", str(_message(
            "subject.reminder_email", level=level, id=doc.id, contact=doc.contact)),
            writes, _sent_trailers(doc.id, parts) + _input(
                "deliver", items=[_item(doc, entry, level, s.as_of)])):
        return
    s.report.reminded.append(doc.id)
    _finish_attempt(s, doc.id, msg, index, _message("run.what.reminder", level=level))


def _record_reminders(s: _Session, items) -> None:
    """Record ``items`` ((invoice, level, delivery entry or None)) in one
    commit; files with uncommitted edits are left out and named."""
    # as the book stands now (another clone's reminders may have come in, SPEC 9)
    items = [(s.book.documents.get(doc.id, doc), level, entry) for doc, level, entry in items]
    items = [item for item in items if not any(r.level >= item[1] for r in item[0].reminders)]
    if not items:
        return
    try:
        _commit_reminders(s, items)
        return
    except (FacturierError, ValueError) as exc:
        # a file with uncommitted edits refuses the batch: leave those out
        dirty = s.dirty(doc.path for doc, _, _ in items)
        if not dirty:
            s.report.error("", 0, _message("run.reminders_failed", reason=_reason(exc)))
            return
    for doc, _, _ in items:
        if doc.path in dirty:
            s.report.error(doc.path, doc.line, _message("run.reminder_dirty", id=doc.id))
    items = [item for item in items if item[0].path not in dirty]
    if items:
        try:
            _commit_reminders(s, items)
        except (FacturierError, ValueError) as exc:
            s.report.error("", 0, _message("run.reminders_failed", reason=_reason(exc)))


def _commit_reminders(s: _Session, items) -> None:
    writes: dict[str, bytes] = {}
    for doc, level, entry in items:
        append = {"reminders": [{"level": level, "date": s.as_of}]}
        if entry is not None:
            append["deliveries"] = [entry]
        writes[doc.path] = s.edit(doc, append=append)
    ids = [doc.id for doc, _, _ in items]
    subject = str(_message("subject.reminder", level=items[0][1], id=items[0][0].id)
                  if len(items) == 1 else
                  _message("subject.reminders", n=len(items), date=s.as_of.isoformat()))
    # Tens of thousands of reminders on a first run: rather than have the
    # writer read every file back, the records are updated here (they differ
    # from the old ones by the entries appended).
    book = s.book
    detached = getattr(s.w, "_book", None) is book
    if detached:
        s.w._book = None
    try:
        s.commit("document.remind", subject, writes, _trailers(ids) + _input(
            "deliver", items=[_item(doc, entry, level, s.as_of) for doc, level, entry in items]))
    finally:
        if detached:
            s.w._book = book
    if detached:
        _note_reminders(book, items, s.as_of)
    s.report.reminded.extend(ids)
    s.report.say("recorded %d reminder%s" % (len(items), "" if len(items) == 1 else "s"))
    deferred = [doc.id for doc, _, entry in items if entry is not None]
    if deferred:
        s.report.deferred.extend(deferred)
        s.report.say(_message("run.deferred_n.one" if len(deferred) == 1
                              else "run.deferred_n.many", n=len(deferred),
                              problem=_detail(s.smtp_problem)))


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


# --------------------------------------------------------------------------- the run

class DryWriter:
    """Stands in for the real writer in ``--dry-run``: each change is applied
    to an in-memory copy of the book (so later steps see it), nothing is
    written."""

    def __init__(self, book: Book, root: Path):
        self._book = book
        self.root = root
        self._texts: dict[str, bytes] = {}

    @property
    def book(self) -> Book:
        return self._book

    def read(self, path: str) -> bytes:
        if path in self._texts:
            return self._texts[path]
        from .safepath import read_bytes
        return read_bytes(self.root, path)

    def commit(self, change) -> None:
        from .actions import apply_to_book, parse_writes
        parsed = parse_writes(change)       # refused as the real commit would be
        for path, data in change.writes.items():
            self._texts[path] = data
        if self._book is not None:
            apply_to_book(self._book, change, parsed)


def run(root, as_of: dt.date, *, now: Callable[[], str], author: Optional[str] = None,
        dry_run: bool = False, send: bool = True, environ=None,
        smtp_timeout: float = 30.0) -> RunReport:
    """Do the daily job on the book at ``root`` for ``as_of`` (SPEC 6.1).

    ``now`` gives the timestamps recorded (ISO 8601 with offset, on ``as_of``).
    ``send=False`` sends no e-mail (reminders are still recorded). Raises
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
    from .actions import open_writer
    with open_writer(root, author) as writer:
        refuse_going_back(writer.book, as_of)
        session = _Session(writer, root, as_of, now, report, send, environ, smtp_timeout)
        try:
            _steps(session, dry_run=False)
        except BaseException:
            session.end_mail(interrupted=True)
            raise
        session.end_mail(interrupted=False)
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


# --------------------------------------------------------------------------- repair (SPEC 4.4)

REPAIRS = {"skip-missing": "recurrence.skip-missing", "end": "recurrence.end",
           "create-missing": "recurrence.create-missing"}


def _read_text(book: Book, path: str) -> str:
    from .actions import _read
    return _read(book, path)


def _update(path: str, text: str, set_fields=None, remove=()) -> str:
    """writer.update_yaml, refused (ActionRefused) when the file cannot be
    edited so that it reads back as intended."""
    from .diagnostics import ActionRefused
    from .writer import update_yaml
    try:
        return update_yaml(text, set_fields, remove=remove)
    except (ValueError, KeyError, IndexError) as exc:
        raise ActionRefused("%s: cannot be edited: %s" % (path, exc)) from None


def plan_repair(book: Book, rec_id: str, choice: str, as_of: dt.date):
    """The one commit that repairs a stopped recurrence (SPEC 4.4):

    - ``skip-missing``: every missing occurrence goes to ``skipped``, ``last``
      moves to the latest of them, ``stopped`` goes;
    - ``end``: ``ended = as_of``, ``stopped`` goes;
    - ``create-missing``: only with exactly one missing occurrence: its
      document (4.1, validated when the recurrence says so) and ``last``, and
      ``stopped`` goes. Refused otherwise, saying why.

    Raises ActionRefused with a reason a person reads.
    """
    from .actions import Change
    from .diagnostics import ActionRefused
    from .recurrence import check_recurrence, missing_occurrences, state_of
    from .writer import dump_document
    if choice not in REPAIRS:
        raise ActionRefused("refuse.repair.unknown", choice=choice, choices=", ".join(REPAIRS))
    rec = book.recurrence(rec_id)
    if rec is None:
        raise ActionRefused("refuse.no_recurrence", id=rec_id)
    state = state_of(rec, as_of)
    if state != "stopped":
        raise ActionRefused("refuse.repair.not_stopped", id=rec.id,
                            state=_message("state.%s" % state))
    assert rec.stopped is not None
    if as_of.isoformat() < rec.stopped.at[:10]:     # a repair never comes before the stop
        raise ActionRefused("refuse.repair.before_stop", id=rec.id, date=rec.stopped.at[:10],
                            as_of=as_of.isoformat())
    missing = missing_occurrences(rec, as_of)
    text = _read_text(book, rec.path)
    assert rec.stopped is not None and book.root is not None    # stopped; read from a book on disk
    trailers = _trailers(rec_ids=[rec.id])
    if choice == "end":
        data = _update(rec.path, text, {"ended": as_of}, remove=("stopped",))
        return Change(REPAIRS[choice], "End recurrence %s on %s (it was stopped: %s)"
                      % (rec.id, as_of.isoformat(), rec.stopped.cause), {rec.path: data.encode()},
                      trailers=trailers)
    if choice == "skip-missing":
        fields: dict = {}
        if missing:
            # fresh date objects: ruamel would write a shared object as an anchor
            # and an alias, which facturier's loader (rightly) refuses
            fields["skipped"] = [_fresh(d) for d in sorted(set(rec.skipped) | set(missing))]
            fields["last"] = _fresh(max(missing[-1], rec.last) if rec.last else missing[-1])
        data = _update(rec.path, text, fields, remove=("stopped",))
        return Change(REPAIRS[choice], "Reactivate recurrence %s, skipping %s"
                      % (rec.id, _dates(missing) or "nothing"), {rec.path: data.encode()},
                      trailers=trailers)
    # create-missing
    if len(missing) != 1:
        raise ActionRefused("refuse.repair.create_many", id=rec.id, n=len(missing),
                            dates=_dates(missing) or _message("word.none"))
    occurrence = missing[0]
    cleared = msgspec_replace(rec, stopped=None)
    cause = check_recurrence(cleared, book)
    if cause:
        raise ActionRefused("refuse.repair.cause_holds", cause=cause)
    session = _Session(DryWriter(book, Path(book.root)), Path(book.root), as_of, lambda: "",
                       RunReport(as_of=as_of), False, None, 0)
    try:
        doc = _generated(session, cleared, occurrence)
    except (ValueError, FacturierError) as exc:
        raise ActionRefused("cause.cannot_generate", date=str(occurrence),
                            reason=getattr(exc, "message", None) or str(exc)) from None
    if book.document(doc.id) is not None:
        raise ActionRefused("refuse.repair.document_exists", id=doc.id)
    data = _update(rec.path, text, {"last": occurrence}, remove=("stopped",))
    return Change(REPAIRS[choice], "Reactivate recurrence %s, creating the missing %s%s"
                  % (rec.id, doc.id, " (number %s)" % doc.number if doc.number else ""),
                  {doc.path: dump_document(doc).encode("utf-8"), rec.path: data.encode()},
                  trailers=_trailers([doc.id], [rec.id]), new=(doc.path,))


def msgspec_replace(record, **changes):
    import msgspec
    return msgspec.structs.replace(record, **changes)


def _fresh(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, day.day)


def _dates(days) -> str:
    return ", ".join(d.isoformat() for d in days)


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
    from .actions import Change
    from .diagnostics import ActionRefused
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
    """
    from .actions import open_writer
    from .diagnostics import ActionRefused
    report = RunReport(as_of=as_of, dry_run=False, sending_enabled=True)
    with open_writer(root, author) as writer:
        s = _Session(writer, Path(root), as_of, now, report, True, environ, smtp_timeout)
        doc = _sendable(s.book, doc_id)
        from .actions import refuse_before_document
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
            return report
        _, msg, parts = prepare_send(s.book, doc.id, as_of)
        try:
            if not s.smtp_ok():         # nothing was tried: deferred, no `sending` phase
                _record_postponed(s, [(doc, msg)])
            else:
                index = len(doc.deliveries)
                entry = _attempt_entry(s, msg, parts)
                s.commit("document.send", "Send %s %s to %s" % (what, doc.number or doc.id, doc.contact),
                         {doc.path: s.edit(doc, append={"deliveries": [entry]})},
                         _sent_trailers(doc.id, parts) + _input("deliver", items=[_item(doc, entry)]))
                _finish_attempt(s, doc.id, msg, index, what)
        except BaseException:
            s.end_mail(interrupted=True)
            raise
        s.end_mail(interrupted=False)
    return report


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
