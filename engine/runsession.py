"""What every step of `facturier run` (engine/runner.py) shares: the
:class:`RunReport` it returns, the run's session (:class:`_Session`: the
writer, the renderer and the SMTP session opened once, the commits of text
appends), the trailers and catalogue messages of its commits, and
:class:`DryWriter` (a run's plan without commits: ``--dry-run`` and a repair's
preview).
"""
from __future__ import annotations

import contextlib
import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator, Optional

from .appends import _appended, _check_appends, _reads_as_appended, _with_items
from .diagnostics import FacturierError
from .i18n import Message
from .model import Book, Document

if TYPE_CHECKING:
    from .mail import SmtpSession
    from .pdf import Renderer
    from .runspec import Speculation


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
    unpublished: Optional[Message] = None                # doc send's outcome not pushed (SPEC 9)
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
        self.mailer: Optional["SmtpSession"] = None     # the run's, opened at its first e-mail
        self._fault_reported = False
        self.parsed: dict = {}          # path -> (bytes, kind, record, diagnostics) of edit()
        self._renderer: Optional["Renderer"] = None     # the run's one Typst compiler
        # the reminders' appends worked out while the recurrences are committed
        # (engine/runspec.py); None in a dry run, and once the reminders begin
        self.speculation: Optional["Speculation"] = None

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

    @contextlib.contextmanager
    def mailing(self) -> Iterator[None]:
        """Steps that may e-mail: the run's SMTP session is closed at the
        end (QUIT), or only its socket when they were interrupted."""
        try:
            yield
        except BaseException:
            self.end_mail(interrupted=True)
            raise
        self.end_mail(interrupted=False)

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
        data = self.read_bytes(path)
        return data.decode("utf-8") if isinstance(data, bytes) else data

    def read_bytes(self, path: str) -> bytes:
        reader = getattr(self.w, "read", None)
        if reader is not None:
            return reader(path)
        from .safepath import read_bytes
        return read_bytes(self.root, path)

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

    def append_many(self, pairs: list) -> list[bytes]:
        """:meth:`edit` with ``append`` for many (record, append) pairs at
        once, as a run records tens of thousands of reminders: the text
        appends are made here, then parsed back on every core
        (appends._check_appends: the very check of :meth:`edit`, each file
        read whole by the loader); each one that does not read back as
        intended goes through the round trip, as in :meth:`edit`. A file
        whose append was worked out and parsed back ahead, while the
        recurrences were committed (engine/runspec.py), is not parsed again
        when that work is provably this one (same record, append and bytes)."""
        texts, ahead = [], []
        for record, append in pairs:
            current = self.read_bytes(record.path)
            data = self.speculation.appended(record, append, current) \
                if self.speculation is not None else None
            ahead.append(data is not None)
            if data is None:
                fast = _appended(current.decode("utf-8"), append)
                data = fast.encode("utf-8") if fast is not None else None
            texts.append(data)
        verdicts = iter(_check_appends([(record, data, append) for (record, append), data, known
                                        in zip(pairs, texts, ahead)
                                        if data is not None and not known]))
        out = []
        for (record, append), data, known in zip(pairs, texts, ahead):
            if data is not None and (known or next(verdicts)):
                self.parsed[record.path] = (data, "document", _with_items(record, append), [])
                out.append(data)
            else:
                out.append(self.round_trip(record, append=append))
        return out

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
        from .session import Change
        parsed = {p: self.parsed.pop(p) for p in writes if p in self.parsed}
        self.w.commit(Change(action, subject, writes, trailers=trailers, new=tuple(new),
                             parsed=parsed))
        self.report.commits += 1

    def has_document(self, doc_id: str) -> bool:
        """Is the id taken (ignoring case)? Without scanning the book each time."""
        return self.book.has_document_id(doc_id)

    def try_commit(self, record, action: str, subject: str, writes, trailers=(),
                   new=()) -> bool:
        """commit, or report why it was refused (a file with uncommitted
        edits, one that cannot be edited safely...) against ``record`` and go
        on with the rest of the run. ``writes``: a dict, or a function making
        it (so that a file that cannot be edited is reported the same way)."""
        from .gitstore import PublishLost
        try:
            if callable(writes):
                writes = writes()
            self.commit(action, subject, writes, trailers, new)
            return True
        except PublishLost:
            raise               # the run's commits since its last publish are void: it stops
        except (FacturierError, ValueError) as exc:
            self.report.error(record.path, record.line, "%s: %s" % (subject, exc))
            return False

    def dirty(self, paths) -> set:
        check = getattr(self.w, "dirty", None)
        return set(check(list(paths))) if check is not None and paths else set()


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


# --------------------------------------------------------------------------- a run without commits

class DryWriter:
    """Stands in for the real writer in ``--dry-run``: each change makes a
    new in-memory book value (so later steps see it; the book it was given
    is unchanged), nothing is written."""

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
        from .session import parse_writes
        parsed = parse_writes(change)       # refused as the real commit would be
        for path, data in change.writes.items():
            self._texts[path] = data
        if self._book is not None:
            self._book = self._book.with_change(change, parsed)


# --------------------------------------------------------------------------- edits of a file's text

def _read_text(book: Book, path: str) -> str:
    from .planning import _read
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
