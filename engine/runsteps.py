"""The steps of `facturier run` that make documents and reminders (SPEC 6.1):
1. recurrences (SPEC 4.2, 4.3), 2. scheduled future-dated drafts (SPEC 3.4),
4. reminders. Step 3, sending, is in engine/deliveries.py; their order and
rules are in engine/runner.py.
"""
from __future__ import annotations

import datetime as dt
from typing import Optional

from .appends import _item
from .deliveries import _attempt_entry, _finish_attempt, _sent_trailers
from .diagnostics import FacturierError
from .model import Book, Document, Recurrence
from .runsession import (REMINDER_STATUSES, _detail, _input, _latest_email, _message, _reason,
                         _Session, _trailers)


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
        data = new.encode("utf-8")
        kind, record, diagnostics = parse_file(rec.path, data)
        if isinstance(record, Recurrence) and not any(d.is_error for d in diagnostics) and \
                record.last == occurrence and _same_but(record, rec, "last"):
            s.parsed[rec.path] = (data, kind, record, diagnostics)   # the commit's check: parsed
            return data
    return s.edit(rec, set_fields={"last": occurrence})


def _same_but(a: Recurrence, b: Recurrence, name: str) -> bool:
    """Do ``a`` and ``b`` read the same but for field ``name`` (its key's
    line in ``fields`` included; every other key on the same line)?"""
    import msgspec
    keep = {"fields": {}, "line": 1, name: None}
    fields_a = {k: v for k, v in (a.fields or {}).items() if k != name}
    fields_b = {k: v for k, v in (b.fields or {}).items() if k != name}
    return fields_a == fields_b and a.line == b.line and \
        msgspec.structs.replace(a, **keep) == msgspec.structs.replace(b, **keep)


def _same_but_last(a: Recurrence, b: Recurrence) -> bool:
    return _same_but(a, b, "last")


def _with_stopped(s: _Session, rec: Recurrence, stopped: dict) -> bytes:
    """The recurrence file with its ``stopped`` mapping. When the file has no
    ``stopped`` key, the mapping is written at its end as text (what the round
    trip writes there, in block style, without its cost: a run can stop a
    thousand recurrences), kept only when the loader reads the whole file
    back as ``rec`` with exactly that ``stopped`` and nothing else changed;
    otherwise (a flow-style file, a key the text cannot see...) the round
    trip, itself checked (writer.check_edit)."""
    from .loader import parse_file
    from .model import Stopped
    from .writer import dump_data
    block = dump_data({"stopped": stopped}) if "stopped" not in (rec.fields or {}) else None
    if block is not None:
        text = s.read(rec.path)
        data = ((text if text.endswith("\n") or not text else text + "\n") + block).encode("utf-8")
        kind, record, diagnostics = parse_file(rec.path, data)
        expected = Stopped(at=stopped["at"], occurrence=stopped["occurrence"],
                           cause=stopped["cause"])
        if isinstance(record, Recurrence) and not any(d.is_error for d in diagnostics) and \
                record.stopped == expected and _same_but(record, rec, "stopped"):
            s.parsed[rec.path] = (data, kind, record, diagnostics)   # the commit's check: parsed
            return data
    return s.edit(rec, set_fields={"stopped": stopped})


def _stop(s: _Session, rec: Recurrence, occurrence: Optional[dt.date], cause: str) -> None:
    stopped = {"at": s.now(), "occurrence": occurrence, "cause": str(cause)}   # English in the file
    if not s.try_commit(rec, "recurrence.stop", "Stop recurrence %s: %s" % (rec.id, cause),
                        lambda: {rec.path: _with_stopped(s, rec, stopped)},
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
        from .plandocument import plan_validate
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
    if s.speculation is not None:
        s.speculation.results()     # the child ends: what it found so far, the step does the rest
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
    pairs = []
    for doc, level, entry in items:
        append = {"reminders": [{"level": level, "date": s.as_of}]}
        if entry is not None:
            append["deliveries"] = [entry]
        pairs.append((doc, append))
    # each file parsed back whole before the commit, on every core
    writes = {doc.path: data for (doc, _), data in zip(pairs, s.append_many(pairs))}
    ids = [doc.id for doc, _, _ in items]
    subject = str(_message("subject.reminder", level=items[0][1], id=items[0][0].id)
                  if len(items) == 1 else
                  _message("subject.reminders", n=len(items), date=s.as_of.isoformat()))
    # Tens of thousands of reminders on a first run: s.edit kept the record
    # each file reads back as, so the writer's new book value is made from
    # those, nothing parsed again.
    s.commit("document.remind", subject, writes, _trailers(ids) + _input(
        "deliver", items=[_item(doc, entry, level, s.as_of) for doc, level, entry in items]))
    s.report.reminded.extend(ids)
    s.report.say("recorded %d reminder%s" % (len(items), "" if len(items) == 1 else "s"))
    deferred = [doc.id for doc, _, entry in items if entry is not None]
    if deferred:
        s.report.deferred.extend(deferred)
        s.report.say(_message("run.deferred_n.one" if len(deferred) == 1
                              else "run.deferred_n.many", n=len(deferred),
                              problem=_detail(s.smtp_problem)))
