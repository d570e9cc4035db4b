"""Every action of SPEC 5.1: *plan* (book + inputs -> :class:`Change`), then
*commit* (through :mod:`engine.gitstore`, one commit per action).

Plan functions take the loaded book and the action's inputs (dates given,
never read from the clock) and return a :class:`Change`: the files to write or
delete, the subject line and the trailers. They raise :class:`ActionRefused`
with a reason a person reads. The only thing they read besides the book is the
current text of the files they change (to edit it with a round trip that
keeps a person's comments); the writer has checked those files are clean.

:class:`Writer` holds the book lock, checks that the target files have no
uncommitted edits, commits, and keeps ``w.book`` up to date, so that one
session can make many commits (a daily run of 1,000 generated invoices)::

    with open_writer(root, author=None) as w:
        sha = w.commit(plan_payment(w.book, "inv-20250105-k3f9", Decimal("50"), day))

or in one call: ``sha, change = perform(root, plan_payment, doc_id, amount, day)``.

Validated documents are legal records (SPEC 2): they cannot be deleted, and
their contact, date, currency, lines, number (and kind) cannot change.
"""
from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any, Callable, Iterable, NoReturn, Optional, Union

import msgspec

from . import gitstore, safepath
from .diagnostics import ActionRefused, Diagnostic
from .i18n import Lines
from .model import Book, Contact, Document, Line, Recurrence, Settings
from .numbering import NUMBERED_KINDS, is_partial, next_number
from .writer import (contact_path, document_path, dump_contact, dump_data, dump_document,
                     dump_recurrence, new_document_id, recurrence_path, slug_id, update_yaml)

KIND_WORDS = {"invoice": "invoice", "credit_note": "credit note", "quote": "quote",
              "work_order": "work order", "expense": "expense"}
# what a validated document keeps (SPEC 2); `credits` too: retargeting a
# validated credit note would move its amount from one invoice to another
PROTECTED = ("kind", "contact", "date", "currency", "lines", "number", "validated", "credits")
def a_kind(kind: str) -> str:
    """'an invoice', 'a quote'."""
    word = KIND_WORDS.get(kind, kind.replace("_", " "))
    return ("an " if word[:1] in "aeiou" else "a ") + word


FIELD_WORDS = {"contact": "customer", "lines": "lines", "kind": "kind", "date": "date",
               "currency": "currency", "number": "number", "validated": "validation",
               "credits": "credited invoice (`credits`)"}


# =========================================================================== the change

@dataclass(frozen=True)
class Change:
    """One action: files to write (path -> bytes) and delete, one commit."""
    action: str                                   # e.g. "document.payment"
    subject: str                                  # the commit's subject line
    writes: dict[str, bytes] = field(default_factory=dict)
    deletes: tuple[str, ...] = ()
    trailers: tuple[tuple[str, str], ...] = ()    # ("Facturier-Document", id)...
    new: tuple[str, ...] = ()                     # paths that must not exist yet
    reads: tuple[str, ...] = ()                   # other files the change depends on
    # path -> (bytes, kind, record, diagnostics): what the planner already got
    # by parsing exactly those bytes, so the check before the commit need not
    # parse them again (a run's tens of thousands of reminders)
    parsed: dict = field(default_factory=dict, compare=False, repr=False)

    @property
    def paths(self) -> tuple[str, ...]:
        return tuple(self.writes) + tuple(self.deletes)

    @property
    def message(self) -> str:
        subject = " ".join(self.subject.split())
        lines = ["Facturier-Action: %s" % self.action]
        lines += ["%s: %s" % (k, " ".join(str(v).split())) for k, v in self.trailers]
        return "%s\n\n%s\n" % (subject, "\n".join(lines))

    def ids(self, key: str) -> tuple[str, ...]:
        return tuple(v for k, v in self.trailers if k == key)


# =========================================================================== the writer

class Writer:
    """A write session on a book (see module docstring). Use
    :func:`open_writer`; ``commit`` returns the new commit id (None when the
    change leaves every file as it is)."""

    def __init__(self, root, author: Optional[str] = None, timeout: float = 10.0):
        self.root = Path(root)
        self.author = author
        self.timeout = timeout
        self._lock: Optional[gitstore.BookLock] = None
        self._store: Optional[gitstore.Store] = None
        self._book: Optional[Book] = None
        self.commits: list[str] = []
        self.publisher: Any = None  # engine.sync.Publisher when the book has `sync` (SPEC 9)

    def __enter__(self) -> "Writer":
        from .book import find_root
        find_root(self.root)
        safepath.state_dir(self.root)   # the lock and journal never go through a link
        self._lock = gitstore.BookLock(self.root, self.timeout).acquire()
        try:
            self._store = gitstore.Store(self.root, self.author)
            from .sync import publisher_for
            self.publisher = publisher_for(self)
        except BaseException:
            if self._store is not None:
                self._store.close()
                self._store = None
            self._lock.release()
            raise
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        try:
            if self._store is not None:
                self._store.close()
        finally:
            self._store = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    @property
    def recovered(self) -> list[str]:
        """What the recovery of an interrupted session did (messages)."""
        return list(self._store.recovered) if self._store else []

    def _opened(self) -> gitstore.Store:
        if self._store is None:
            raise ActionRefused("the writer is closed")
        return self._store

    @property
    def head(self) -> str:
        return self._opened().head

    @property
    def book(self) -> Book:
        """The whole book, loaded when first asked, then kept up to date by
        commit (never one that load_documents or load_numbering loaded in part)."""
        if self._book is None or is_partial(self._book):
            from .book import load_book
            self._book = load_book(self.root)
        return self._book

    def load_documents(self, ids: Iterable[str]) -> Book:
        """Use a book holding only the settings and these documents (found by
        id without listing the whole book): enough for the actions that touch
        one document alone (payment, discount, hold, release, decline,
        returned), and fast in a book of 100,000 documents."""
        from .book import load_settings
        from .loader import parse_file
        book = Book(root=str(self.root), settings=load_settings(self.root))
        for doc_id in ids:
            path = find_document_path(self.root, doc_id)
            if path is None:
                continue
            try:
                data = safepath.read_bytes(self.root, path)
            except (OSError, safepath.UnsafePath):
                continue
            _kind, record, diagnostics = parse_file(path, data)
            book.diagnostics.extend(diagnostics)
            if isinstance(record, Document):
                book.documents[record.id] = record
        from .numbering import mark_partial
        mark_partial(book)          # never numbers from it
        self._book = book
        return book

    def load_numbering(self, doc_id: str) -> Book:
        """Use the book as giving ``doc_id`` its number needs it (engine/book.py
        ``load_for_numbering``: the document, its contact, the settings, and
        the numbers of the others from the numbering index), in a
        100,000-document book a fraction of the whole load."""
        from .book import load_for_numbering
        self._book = load_for_numbering(self.root, doc_id)
        return self._book

    def dirty(self, paths: Iterable[str]) -> list[str]:
        return self._opened().dirty(paths)

    def read(self, path: str) -> bytes:
        """The bytes of ``path`` as this session's last commit left it
        (raises FileNotFoundError when it does not exist)."""
        data = self._opened().read(path)
        if data is None:
            raise FileNotFoundError(path)
        return data

    @contextlib.contextmanager
    def batch(self):
        """``with w.batch():`` the commits made inside are each a commit of
        their own, published together (one pack, one move of the branch, the
        work tree once; every 500 commits at most): a daily run's thousands
        of generated documents. Read files through :meth:`read` meanwhile
        (the work tree follows at the end). A kill before the end loses the
        batch's commits whole, never half of one."""
        self._store.begin_batch()
        try:
            yield self
        except BaseException:
            try:
                if self._store is not None:
                    self._store.end_batch()
            finally:
                if self.publisher is not None:
                    self.publisher.abandon()    # never a number left unpublished
            raise
        if self._store is not None:
            self._store.end_batch()
        if self.publisher is not None:
            self.publisher.flush()              # SPEC 9: published before success

    def commit(self, change: Change) -> Optional[str]:
        if self._store is None:
            raise ActionRefused("refuse.writer_closed")
        from .safepath import check_writable
        checked: set = set()
        for path in change.paths:           # never through a link, never out of the book
            check_writable(self.root, path, checked)
        taken = [p for p in change.new if self._store.blob_at_head(p) is not None
                 or (self.root / p).exists()]
        if taken:
            raise ActionRefused("refuse.exists" if len(taken) == 1 else "refuse.exist",
                                paths=", ".join(taken))
        dirty = self._store.dirty(change.paths)
        if dirty:
            raise ActionRefused("refuse.uncommitted", paths=", ".join(dirty))
        # what the change was computed from must be what HEAD holds, or the
        # commit would record a result of edits it does not contain
        dirty = [p for p in self._store.dirty(change.reads) if p not in change.paths]
        if dirty:
            raise ActionRefused("refuse.uncommitted_read", paths=", ".join(dirty))
        parsed = parse_writes(change)
        before = self._store._published
        sha = self._store.commit(change.writes, change.deletes, change.message)
        if sha is not None:
            self.commits.append(sha)
            if self._book is not None:
                apply_to_book(self._book, change, parsed)
            if self.publisher is not None:
                self.publisher.committed(change, before)    # SPEC 9: pushed before success
                if not self._store._batching and self._store.head != sha:
                    sha = self._store.head      # planned again on the remote's head
        return sha


_PARSED: "dict[tuple[str, bytes], tuple]" = {}
_PARSED_MAX = 2048          # a plan's files until their commit; bounded memory


def _parse_file(path: str, data: Union[bytes, str]) -> tuple:
    """``loader.parse_file(path, data)``, remembered for these very bytes: a
    plan parses the file it writes (to refuse early, naming the problem) and
    the check before the commit must read the same bytes back, so a file is
    parsed once, not three times (parse_file is pure: the same path and bytes
    always give the same result)."""
    from .loader import parse_file
    if not isinstance(data, bytes):
        return parse_file(path, data)
    key = (path, data)
    hit = _PARSED.get(key)
    if hit is None:
        kind, record, diagnostics = parse_file(path, data)
        hit = (kind, record, tuple(diagnostics))
        if len(_PARSED) >= _PARSED_MAX:
            _PARSED.clear()
        _PARSED[key] = hit
    return hit[0], hit[1], list(hit[2])


def parse_writes(change: Change) -> dict:
    """Every book file the change writes, parsed back with the loader before
    anything is written: ``{path: (kind, record, diagnostics)}``. Refuses
    (ActionRefused, nothing changed) when one does not load — a file
    facturier would commit broken."""
    out = {}
    broken: list[str] = []
    for path, data in change.writes.items():
        known = change.parsed.get(path)
        if known is not None and known[0] is data:
            kind, record, diagnostics = known[1:]
        else:
            kind, record, diagnostics = _parse_file(path, data)
        if kind is not None and (record is None or any(d.is_error for d in diagnostics)):
            broken.extend(str(d) for d in diagnostics if d.is_error)
            if record is None and not diagnostics:
                broken.append("%s: cannot be read" % path)
        out[path] = (kind, record, diagnostics)
    if broken:
        raise ActionRefused("the file%s written would not load (%s); nothing was changed:\n%s"
                            % ("" if len(change.writes) == 1 else "s", change.subject,
                               "\n".join(broken)))
    return out


_DATED_ID = (re.compile(r"-(\d{4})(\d{2})\d{2}-[A-Za-z0-9]{1,12}\Z"),
             re.compile(r"-(\d{4})-(\d{2})-\d{2}\Z"))


def find_document_path(root, doc_id: str) -> Optional[str]:
    """The path of document ``doc_id``: where facturier puts it by the date in
    its id when it is there, else looked up (any folder, ignoring case)."""
    from .loader import is_valid_id
    if not is_valid_id(doc_id):
        return None
    root = Path(root)
    for pattern in _DATED_ID:
        m = pattern.search(doc_id)
        if m:
            guess = "documents/%s/%s/%s.yaml" % (m.group(1), m.group(2), doc_id)
            if safepath.is_file(root, guess):
                return guess
    found = gitstore.find_paths(root, ":(glob,icase)documents/**/%s.yaml" % doc_id)
    found = [p for p in found if safepath.is_file(root, p)]
    return found[0] if found else None


def open_writer(root, author: Optional[str] = None, timeout: float = 10.0) -> Writer:
    """``with open_writer(root) as w:`` — takes the book lock (waiting up to
    ``timeout`` seconds), finishes an interrupted session if any."""
    return Writer(root, author=author, timeout=timeout)


def perform(root, plan_fn: Callable[..., Change], *args, author: Optional[str] = None,
            timeout: float = 10.0, **kwargs) -> tuple[Optional[str], Change]:
    """Lock, load, plan, commit: ``(commit id or None, change)``."""
    with open_writer(root, author=author, timeout=timeout) as w:
        change = plan_fn(w.book, *args, **kwargs)
        return w.commit(change), change


def apply_to_book(book: Book, change: Change, parsed: Optional[dict] = None) -> None:
    """Bring an in-memory book in line with a committed change (parsing only
    the files it wrote, unless ``parsed`` by :func:`parse_writes`)."""
    touched = set(change.paths)
    kept = book.__dict__.get("_facturier_lower_ids")
    lowered = kept[1] if kept is not None and kept[0] is book.documents else None
    book.diagnostics = [d for d in book.diagnostics if d.path not in touched]
    tables: dict[str, dict[str, Any]] = {"document": book.documents, "contact": book.contacts,
                                         "recurrence": book.recurrences}
    for path in touched:
        stem = path.rsplit("/", 1)[-1][:-5] if path.endswith(".yaml") else ""
        for table in tables.values():
            record = table.get(stem) if stem else None
            if record is not None and record.path == path:
                del table[stem]
                if table is book.documents and lowered is not None:
                    lowered.discard(stem.lower())
    written = []
    for path, data in change.writes.items():
        known = parsed.get(path) if parsed else None
        kind, record, diagnostics = known if known is not None else _parse_file(path, data)
        book.diagnostics.extend(diagnostics)
        if record is None or kind is None:
            continue
        if isinstance(record, Settings):
            book.settings = record
            book.__dict__.pop("_facturier_series", None)
        else:
            tables[kind][record.id] = record
            if kind == "document":
                written.append(record)
                if lowered is not None:
                    lowered.add(record.id.lower())
    from .numbering import note_numbers
    note_numbers(book, written)
    book._credit_notes = None
    book._by_recurrence = None


# =========================================================================== helpers

def _refuse(code: str, **params: Any) -> NoReturn:
    """Refuse with a catalogue message (engine/i18n.py), rendered at the face."""
    raise ActionRefused(code, **params)


def _file_problems(book: Book, path: str) -> list[Diagnostic]:
    return [d for d in book.diagnostics if d.path == path and d.is_error]


def _broken(book: Book, folder: str, ident: str) -> Optional[str]:
    """The path of a file of ``folder`` named ``ident`` that failed to load."""
    lowered = ident.lower()
    for d in book.diagnostics:
        if d.is_error and d.path.startswith(folder + "/") and \
                d.path.rsplit("/", 1)[-1][:-5].lower() == lowered:
            return d.path
    return None


def _doc(book: Book, doc_id: str) -> Document:
    doc = book.document(doc_id)
    if doc is None:
        broken = _broken(book, "documents", doc_id)
        if broken:
            _refuse("refuse.has_errors", path=broken, problems=Lines(_file_problems(book, broken)))
        _refuse("refuse.no_document", id=doc_id)
    return doc


def _has_errors(book: Book, broken: str):
    from .i18n import Message
    return Message("refuse.has_errors", path=broken, problems=Lines(_file_problems(book, broken)))


def _contact(book: Book, contact_id: str) -> Contact:
    contact = book.contact(contact_id)
    if contact is None:
        broken = _broken(book, "contacts", contact_id)
        if broken:
            raise ActionRefused(_has_errors(book, broken))
        _refuse("refuse.no_contact", id=contact_id)
    return contact


def _recurrence(book: Book, rec_id: str) -> Recurrence:
    rec = book.recurrence(rec_id)
    if rec is None:
        broken = _broken(book, "recurrences", rec_id)
        if broken:
            raise ActionRefused(_has_errors(book, broken))
        _refuse("refuse.no_recurrence", id=rec_id)
    return rec


def _fix_of_broken(book: Book, folder: str, ident: str, text, action: str,
                   trailer: str) -> Optional[Change]:
    """A new text for a file of ``folder`` that does not load: the change that
    fixes it when the text loads (a person fixing a typo with `edit`), else
    None (the caller refuses as usual)."""
    tables: dict[str, dict[str, Any]] = {"contacts": book.contacts, "recurrences": book.recurrences}
    table = tables[folder]
    if text is None or _find_record(table, ident) is not None:
        return None
    broken = _broken(book, folder, ident)
    if broken is None:
        return None
    data = text.encode("utf-8") if isinstance(text, str) else text
    record = _parse(broken, data)
    if folder == "recurrences":
        _check_recurrence_record(book, record)
    return Change(action=action, subject="Fix %s %s" % (folder[:-1], record.id),
                  writes={broken: data}, trailers=((trailer, record.id),))


def _find_record(table: dict, ident: str):
    lowered = ident.lower()
    return table.get(ident) or next((v for k, v in table.items() if k.lower() == lowered), None)


def label(doc: Document) -> str:
    """'invoice 2025-0042 (inv-20250105-k3f9)' or 'invoice inv-20250105-k3f9'
    (a Message: 'facture 2025-0042 (inv-20250105-k3f9)' in French)."""
    from .i18n import Message
    kind = Message("kind.word.%s" % doc.kind)
    if doc.number:
        return Message("doc.label", kind=kind, number=doc.number, id=doc.id)
    return Message("doc.label.draft", kind=kind, id=doc.id)


def _read(book: Book, path: str, checked: Optional[set] = None) -> str:
    """The text of a book file (``checked``: folders already found not to be
    links, for a plan reading thousands of files)."""
    if book.root is None:
        _refuse("refuse.no_folder", path=path)
    try:
        # as Path.read_text did: universal newlines
        return safepath.read_bytes(book.root, path, checked).decode("utf-8").replace(
            "\r\n", "\n").replace("\r", "\n")
    except FileNotFoundError:
        _refuse("refuse.gone", path=path)
    except UnicodeDecodeError:
        _refuse("refuse.not_utf8", path=path)


def _parse(path: str, text: Union[str, bytes], source: Optional[str] = None,
           positions: bool = True):
    """Parse ``text`` as the book file ``path``; refuse with every error.
    ``positions``: False when the text was made from options (its lines and
    columns mean nothing to the person; the field names say it)."""
    _kind, record, diagnostics = _parse_file(path, text)
    errors = [d for d in diagnostics if d.is_error]
    if errors or record is None:
        shown = []
        for d in errors:
            if source:
                d = Diagnostic(source, d.line if positions else 0, d.col if positions else 0,
                               d.field, d.message, d.severity)
            shown.append(d)
        if not shown:
            _refuse("refuse.unreadable", path=source or path)
        _refuse("problems.list", problems=Lines(shown))
    return record


def _edited(book: Book, path: str, set_fields: Optional[dict] = None, remove: Iterable[str] = (),
            append: Optional[dict] = None) -> tuple[bytes, Any]:
    """The file at ``path`` with the edit applied (comments kept), checked.

    Items appended to a list the file lacks, or to a block list that ends it
    (a payment, a delivery: where facturier puts them), are written as text
    and kept only when the loader reads the result as the document with
    exactly those items added (``daily._reads_as_appended``, its lines
    included); anything else is the ruamel round trip, itself checked
    (``writer.check_edit``). Both are parsed back once, here."""
    text = _read(book, path)
    if append and not set_fields and not remove:
        from .daily import _appended, _with_items
        old = _record_at(book, path)
        fast = _appended(text, append) if old is not None else None
        if fast is not None:
            data = fast.encode("utf-8")
            _kind, record, diagnostics = _parse_file(path, data)
            if record is not None and not any(d.is_error for d in diagnostics) \
                    and _with_items(old, append, record) == record:
                return data, record
    try:
        new = update_yaml(text, set_fields, tuple(remove), append)
    except (ValueError, KeyError, IndexError) as exc:
        _refuse("refuse.cannot_edit", path=path, reason=str(exc))
    data = new.encode("utf-8")
    return data, _parse(path, data)


def _lower_ids(book: Book) -> set[str]:
    """The book's document ids in lower case, kept on the book and brought up
    to date by :func:`apply_to_book` (made again when the documents were
    changed some other way: their count differs)."""
    kept = book.__dict__.get("_facturier_lower_ids")
    if kept is None or kept[0] is not book.documents or len(kept[1]) != len(book.documents):
        kept = (book.documents, {i.lower() for i in book.documents})
        book.__dict__["_facturier_lower_ids"] = kept
    return kept[1]


def _record_at(book: Book, path: str) -> Optional[Document]:
    """The document of the book read from ``path`` (None when there is none)."""
    stem = path.rsplit("/", 1)[-1][:-5] if path.endswith(".yaml") else ""
    doc = book.documents.get(stem)
    return doc if doc is not None and doc.path == path else None


def _edited_text(path: str, text: str, set_fields: Optional[dict] = None,
                 remove: Iterable[str] = ()) -> tuple[bytes, Any]:
    try:
        new = update_yaml(text, set_fields, tuple(remove))
    except (ValueError, KeyError, IndexError) as exc:
        _refuse("%s: cannot be edited: %s" % (path, exc))
    data = new.encode("utf-8")
    return data, _parse(path, data)


def _amount(value, what: str, currency: str) -> Decimal:
    from .money import minor_units
    from .loader import read_decimal       # the book's own reading: no exponent, nan...
    read = value if isinstance(value, Decimal) else read_decimal(str(value))[0]
    if read is None:
        raise ActionRefused("refuse.amount.not_amount", what=_what(what), value=str(value))
    amount = read
    if not amount.is_finite() or amount <= 0:
        _refuse("refuse.amount.not_positive", what=_what(what), value=str(value))
    from .loader import MAX_DIGITS
    if amount.adjusted() >= MAX_DIGITS:
        _refuse("refuse.amount.too_large", what=_what(what), value=str(value), digits=MAX_DIGITS)
    places = minor_units(currency)
    quantum = Decimal(1).scaleb(-places)
    if amount != amount.quantize(quantum):
        _refuse("refuse.amount.decimals", what=_what(what), value=str(value), currency=currency,
                places=places)
    return amount.quantize(quantum)


def _message(code: str, **params):
    from .i18n import Message
    return Message(code, **params)


def _word(word: str):
    """A word of the catalogue ('customer' -> Message('word.customer')), or the
    word itself when the catalogue lacks it."""
    from .i18n import MESSAGES
    code = "word." + word.replace(" ", "_")
    return _message(code) if code in MESSAGES else word


def _fields(changed: list[str]) -> list:
    return [_word(w) for w in changed]


def _a_kind(kind: str):
    """'an invoice' / 'une facture'."""
    return _message("kind.a.%s" % kind)


def _or(items: list):
    """'an invoice or a work order' in the person's language."""
    if len(items) == 1:
        return items[0]
    return _message("word.or", a=items[0], b=_or(items[1:]))


def _what(what: str):
    """'the payment' as a Message ('le paiement'); other words as they are."""
    return _word(what)


def _currency(book: Book, doc: Document) -> str:
    return doc.currency or book.settings.currency


def _doc_trailer(*docs: Union[Document, str]) -> tuple[tuple[str, str], ...]:
    return tuple(("Facturier-Document", d if isinstance(d, str) else d.id) for d in docs)


def _trailers_for(doc: Document) -> tuple[tuple[str, str], ...]:
    out = _doc_trailer(doc)
    if doc.recurrence:
        out += (("Facturier-Recurrence", doc.recurrence),)
    return out


def _change_doc(action: str, subject: str, doc: Document, data: bytes,
                extra: tuple = (), settings=None) -> Change:
    if doc.validated is not None or action != "document.modify":
        # every rewrite of a legal record (and every action on a draft other
        # than an edit) keeps what SPEC 2 protects, however the file was
        # rewritten; validation gives only the number and its date
        changed = _protected_changes(doc, _parse(doc.path, data), settings)
        if action == "document.validate":
            changed = [c for c in changed if c not in ("number", "validation")]
        if changed and doc.validated is None:
            _refuse("refuse.rewrite_changes", doc=label(doc), fields=_fields(changed),
                    action=action)
        if changed:
            _refuse("refuse.validated_protected", doc=label(doc), fields=_fields(changed),
                    id=doc.id)
    return Change(action=action, subject=subject, writes={doc.path: data},
                  trailers=_trailers_for(doc) + tuple(extra))


_DOINGS = {"recording a payment": "payment", "granting a discount": "discount",
           "writing it off": "write_off", "crediting it": "credit"}


def _need_validated(doc: Document, doing: str) -> None:
    if doc.validated is None:
        if doing in _DOINGS:
            _refuse("refuse.draft." + _DOINGS[doing], doc=label(doc), id=doc.id)
        _refuse("%s is a draft: validate it before %s (facturier doc validate %s)"
                % (label(doc), doing, doc.id))


def _need_kind(doc: Document, kinds: tuple[str, ...], doing: str) -> None:
    if doc.kind not in kinds:
        from .i18n import MESSAGES
        code = "refuse.kind.%s.%s" % ("_".join(kinds), doing.replace(" ", "_"))
        if code in MESSAGES:
            _refuse(code, doc=label(doc))
        _refuse("%s: only %s can be %s" % (label(doc), " or ".join(
            KIND_WORDS[k] + "s" for k in kinds), doing))


# =========================================================================== documents

def plan_validate(book: Book, doc_id: str, as_of: dt.date, issued_late: bool = False) -> Change:
    """Give the draft its number (next in its kind's series for the year of
    its date, never dated before the series' last one) and ``validated:
    as_of``; drop ``scheduled``. ``issued_late``: the daily run issues a
    scheduled invoice after its date (a catch-up), so its term runs from
    ``as_of`` (SPEC 4.1: never due before it was issued)."""
    doc = _doc(book, doc_id)
    if doc.validated is not None:
        _refuse("refuse.already_validated", doc=label(doc), date=doc.validated.isoformat())
    if doc.kind not in NUMBERED_KINDS:
        _refuse("refuse.expense_not_validated", doc=label(doc))
    if book.contact(doc.contact) is None:
        _refuse("refuse.validate_no_contact", doc=label(doc), contact=doc.contact,
                party=_word(doc.party_key))
    if doc.kind == "credit_note":
        target = book.document(doc.credits) if doc.credits else None
        if target is None or target.kind != "invoice":
            _refuse("refuse.credit_needs_invoice", doc=label(doc))
        if target.validated is None:
            _refuse("refuse.credit_draft_invoice", doc=label(doc), invoice=label(target))
        from .checks import foreign_rates
        foreign = foreign_rates(book, doc, target) if target is not None else []
        if foreign and target is not None:
            _refuse("refuse.credit_foreign_rates", doc=label(doc),
                    rates=", ".join("%s%%" % _rate_text(r, "en") for r in foreign),
                    invoice=label(target))
        from .money import document_totals
        total = document_totals(doc, book.settings).total
        left = document_totals(target, book.settings).total - sum(
            (document_totals(cn, book.settings).total for cn in book.credit_notes_for(target.id)
             if cn.validated is not None and cn.id != doc.id), Decimal(0))
        if total > left:
            _refuse("refuse.credit_too_much", doc=label(doc), total=str(total),
                    invoice=label(target), left=str(left))
    if doc.kind != "expense" and not doc.lines:
        _refuse("refuse.no_lines", doc=label(doc))
    number = next_number(book, doc.kind, doc.date, validated=as_of)
    fields: dict[str, Any] = {"number": number, "validated": as_of}
    fields.update(_frozen_defaults(book, doc))
    if issued_late and doc.kind == "invoice" and as_of > doc.date:
        from .status import due_date
        fields["due"] = as_of + (due_date(doc, book) - doc.date)
    data, _ = _edited(book, doc.path, fields, remove=("scheduled",))
    change = _change_doc("document.validate", "Validate %s %s as %s"
                         % (KIND_WORDS[doc.kind], doc.id, number), doc, data,
                         settings=book.settings)
    # the number follows the series format of the settings; the frozen due
    # date, the contact's payment days
    change = _with_input(change, "validate", doc=doc.id, as_of=as_of.isoformat(), late=issued_late)
    return dataclasses.replace(change, reads=("facturier.yaml", _contact(book, doc.contact).path))


def _with_input(change: Change, op: str, **data: Any) -> Change:
    """The change with what it was planned from, so that it can be planned
    again on another head of the book (SPEC 9, engine/sync.py)."""
    from .trailers import input_trailer
    return dataclasses.replace(change, trailers=change.trailers + input_trailer(op, **data))


def _same_entries(entries, entry: dict) -> int:
    """How many of ``entries`` (payments, discounts) have this date, amount
    and reference or reason: a replay records it only when the other head
    has no more of them than this one had."""
    return sum(1 for e in entries if e.date == entry["date"] and e.amount == entry["amount"]
               and (getattr(e, "reference", "") or getattr(e, "reason", "") or "")
               == (entry.get("reference") or entry.get("reason") or ""))


def _frozen_defaults(book: Book, doc: Document) -> dict[str, Any]:
    """What a draft takes from the settings or its contact, written into it
    at validation: a legal record must not change when someone later edits
    the default VAT rate, currency or payment days (SPEC 2)."""
    from .status import due_date
    fields: dict[str, Any] = {}
    if not doc.currency:
        fields["currency"] = book.settings.currency
    if doc.kind == "invoice" and doc.due is None:
        fields["due"] = due_date(doc, book)
    for i, line in enumerate(doc.lines):
        if line.vat is None:
            fields["lines.%d.vat" % i] = book.settings.vat
    return fields


def plan_payment(book: Book, doc_id: str, amount, date: dt.date, reference: str = "") -> Change:
    """Record a payment received (invoices) or made (expenses)."""
    doc = _doc(book, doc_id)
    _need_kind(doc, ("invoice", "expense"), "paid")
    if doc.kind == "invoice":
        _need_validated(doc, "recording a payment")
    currency = _currency(book, doc)
    amount = _amount(amount, "the payment", currency)
    entry = {"date": date, "amount": amount}
    if reference:
        entry["reference"] = reference
    data, _ = _edited(book, doc.path, append={"payments": [entry]})
    return _with_input(_change_doc("document.payment", "Record payment of %s %s on %s"
                                   % (amount, currency, label(doc)), doc, data),
                       "pay", doc=doc.id, amount=str(amount), date=date.isoformat(),
                       reference=reference, n=_same_entries(doc.payments, entry))


def plan_discount(book: Book, doc_id: str, amount, date: dt.date, reason: str = "") -> Change:
    doc = _doc(book, doc_id)
    _need_kind(doc, ("invoice", "expense"), "discounted")
    if doc.kind == "invoice":
        _need_validated(doc, "granting a discount")
    currency = _currency(book, doc)
    amount = _amount(amount, "the discount", currency)
    entry = {"date": date, "amount": amount}
    if reason:
        entry["reason"] = reason
    data, _ = _edited(book, doc.path, append={"discounts": [entry]})
    return _with_input(_change_doc("document.discount", "Grant discount of %s %s on %s"
                                   % (amount, currency, label(doc)), doc, data),
                       "discount", doc=doc.id, amount=str(amount), date=date.isoformat(),
                       reason=reason, n=_same_entries(doc.discounts, entry))


def plan_write_off(book: Book, doc_id: str, date: dt.date, reason: str = "") -> Change:
    from .status import amounts
    doc = _doc(book, doc_id)
    _need_kind(doc, ("invoice",), "written off")
    _need_validated(doc, "writing it off")
    if doc.write_off is not None:
        _refuse("refuse.already_written_off", doc=label(doc), date=str(doc.write_off.date))
    left = amounts(doc, book, date).open
    if left <= 0:
        _refuse("refuse.nothing_to_write_off", doc=label(doc), date=date.isoformat())
    entry: dict[str, object] = {"date": date}
    if reason:
        entry["reason"] = reason
    data, _ = _edited(book, doc.path, {"write_off": entry})
    return _with_input(_change_doc("document.write-off", "Write off %s %s on %s"
                       % (left, _currency(book, doc), label(doc)), doc, data),
                       "write-off", doc=doc.id, date=date.isoformat(), reason=reason)


def plan_hold(book: Book, doc_id: str, date: dt.date, reason: str = "") -> Change:
    doc = _doc(book, doc_id)
    for hold in doc.holds:
        if hold.end is None or (hold.start <= date < hold.end):
            _refuse("refuse.already_on_hold", doc=label(doc), date=hold.start.isoformat())
    entry: dict[str, object] = {"from": date}
    if reason:
        entry["reason"] = reason
    data, _ = _edited(book, doc.path, append={"holds": [entry]})
    return _with_input(_change_doc("document.hold", "Put %s on hold%s" % (
        label(doc), (": " + reason) if reason else ""), doc, data),
        "hold", doc=doc.id, date=date.isoformat(), reason=reason)


def plan_release(book: Book, doc_id: str, date: dt.date) -> Change:
    doc = _doc(book, doc_id)
    open_holds = [i for i, h in enumerate(doc.holds) if h.end is None]
    if not open_holds:
        _refuse("refuse.not_on_hold", doc=label(doc))
    index = open_holds[-1]
    if doc.holds[index].start > date:
        _refuse("refuse.release_before_hold", doc=label(doc),
                start=doc.holds[index].start.isoformat(), date=date.isoformat())
    if doc.holds[index].start == date:
        # released the day it started: it covered no day, so it goes (git keeps the trace)
        data, _ = _edited(book, doc.path, remove=("holds.%d" % index,))
        if len(doc.holds) == 1:
            data, _ = _edited_text(doc.path, data.decode("utf-8"), remove=("holds",))
        change = _change_doc("document.release", "Release the hold on %s (same day: the hold "
                             "is removed)" % label(doc), doc, data)
    else:
        data, _ = _edited(book, doc.path, {"holds.%d.to" % index: date})
        change = _change_doc("document.release", "Release the hold on %s" % label(doc), doc, data)
    return _with_input(change, "release", doc=doc.id, date=date.isoformat())


def plan_decline(book: Book, doc_id: str, date: dt.date) -> Change:
    doc = _doc(book, doc_id)
    _need_kind(doc, ("quote",), "declined")
    if doc.converted_to:
        _refuse("refuse.decline_converted", doc=label(doc), to=doc.converted_to)
    if doc.declined is not None:
        _refuse("refuse.already_declined", doc=label(doc), date=doc.declined.isoformat())
    data, _ = _edited(book, doc.path, {"declined": date})
    return _with_input(_change_doc("document.decline", "Record that the customer declined %s"
                                   % label(doc), doc, data),
                       "decline", doc=doc.id, date=date.isoformat())


def refuse_before_document(doc: Document, day: dt.date, action: str) -> None:
    """Refuse to record ``action`` (a catalogue word: "refuse.as_of.emailed")
    on ``day`` when the document's own dates come later: its date, its
    validation, its last delivery. A record is never dated before what it
    follows (as numbers are never dated before their predecessor)."""
    from .i18n import Message
    found = [("refuse.as_of.date", doc.date)]
    if doc.validated is not None:
        found.append(("refuse.as_of.validated", doc.validated))
    for delivery in doc.deliveries:
        try:
            found.append(("refuse.as_of.delivery", dt.date.fromisoformat(delivery.at[:10])))
        except ValueError:          # the loader checked it; a hand-made record may not be
            continue
    what, latest = max(found, key=lambda item: item[1])
    if day < latest:
        _refuse("refuse.as_of_before", doc=label(doc), what=Message(what),
                date=latest.isoformat(), action=Message(action), as_of=day.isoformat())


def plan_returned(book: Book, doc_id: str, at: str) -> Change:
    """The post brought the document back (``at``: ISO timestamp with offset;
    refused when it falls before the document's own dates)."""
    doc = _doc(book, doc_id)
    refuse_before_document(doc, dt.date.fromisoformat(at[:10]), "refuse.as_of.returned")
    data, _ = _edited(book, doc.path, append={"deliveries": [
        {"channel": "post", "at": at, "result": "returned"}]})
    return _with_input(_change_doc("document.return", "Record %s returned by the post"
                                   % label(doc), doc, data), "returned", doc=doc.id, at=at)


def _new_document(book: Book, record: Document, seed_extra: str = "",
                  doc_id: Optional[str] = None) -> tuple[Document, bytes]:
    """Give a new document its id and path; its canonical bytes."""
    if doc_id is None:
        seed = dump_document(record) + seed_extra
        doc_id = new_document_id(record.kind, record.date, book.documents.keys(), seed,
                                 lowered=_lower_ids(book))
    elif book.document(doc_id) is not None:
        _refuse("refuse.document_exists", id=doc_id)
    record = msgspec.structs.replace(record, id=doc_id, path=document_path(doc_id, record.date))
    data = dump_document(record).encode("utf-8")
    _parse(record.path, data)          # the canonical file must read back
    return record, data


def plan_credit(book: Book, doc_id: str, as_of: dt.date, amount=None) -> Change:
    """A credit-note draft for the invoice (SPEC 5.4) that keeps its VAT: the
    invoice's lines when it credits the whole untouched invoice, else
    ``amount`` (gross; default: the open amount) split over the invoice's VAT
    rates in proportion to each rate's share of its gross total, one line per
    rate (:func:`engine.money.split_credit`), so that the credit note's total is
    exactly ``amount`` and it carries no rate the invoice did not have.
    Refused, naming the nearest amounts that can be, when no split reaches
    ``amount`` exactly (a single VAT rate: VAT is rounded per rate, so at 20 %
    no net gives 0.03)."""
    from .i18n import t
    from .money import SplitError, document_totals, split_credit
    from .status import amounts
    doc = _doc(book, doc_id)
    _need_kind(doc, ("invoice",), "credited")
    _need_validated(doc, "crediting it")
    currency = _currency(book, doc)
    sums = amounts(doc, book, as_of)
    drafts = [cn for cn in book.credit_notes_for(doc.id) if cn.validated is None]
    if drafts:
        _refuse("refuse.credit_draft_exists", doc=label(doc), draft=drafts[0].id)
    asked = amount is not None
    if amount is None:
        amount = sums.open
        if amount <= 0:
            _refuse("refuse.nothing_to_credit", doc=label(doc), date=as_of.isoformat())
    else:
        amount = _amount(amount, "the credit", currency)
    if amount > sums.total - sums.credited:
        _refuse("refuse.credit_more_than_left", doc=label(doc), amount=str(amount),
                left=str(sums.total - sums.credited))
    default_rate = book.settings.vat
    if amount == sums.total and sums.credited == 0 and doc.lines:
        lines = tuple(msgspec.structs.replace(
            line, line=0, vat=default_rate if line.vat is None else line.vat)
            for line in doc.lines)
    else:
        try:
            split = split_credit(document_totals(doc, book.settings).by_rate, amount, currency)
        except SplitError as exc:
            raise ActionRefused(_unreachable_credit(doc, exc, currency, asked)) from None
        except ValueError as exc:
            _refuse("%s: %s" % (label(doc), exc))
        lang = book.settings.locale
        lines = tuple(Line(description=t("credit.line", lang, number=doc.number or doc.id,
                                         rate=_rate_text(rate, lang)),
                           quantity=Decimal("1"), unit_price=net, vat=rate)
                      for rate, net in split)
    draft = Document(id="new", path="", kind="credit_note", contact=doc.contact, date=as_of,
                     currency=doc.currency, lines=lines, credits=doc.id)
    credit, data = _new_document(book, draft)
    total = document_totals(credit, book.settings).total
    if total != amount:             # split_credit's promise; never a wrong legal record
        _refuse("refuse.credit_total", doc=label(doc), total=total, amount=amount)
    return Change(action="document.credit",
                  subject="Create credit note %s of %s %s for %s"
                  % (credit.id, total, currency, label(doc)),
                  writes={credit.path: data}, trailers=_doc_trailer(credit, doc),
                  new=(credit.path,))


def _rate_text(rate: Decimal, lang: str) -> str:
    """8.1 -> "8.1" ("8,1" in French); 20.00 -> "20"."""
    text = format(rate.normalize(), "f") if rate else "0"
    return text.replace(".", ",") if (lang or "")[:2] == "fr" else text


def _unreachable_credit(doc: Document, exc, currency: str, asked: bool):
    from .i18n import Message
    nearest = [str(a) for a in (exc.below, exc.above) if a is not None]
    rates = sorted({line.vat for line in doc.lines if line.vat is not None})
    return Message(
        "refuse.unreachable." + ("asked" if asked else "open"), doc=label(doc),
        amount=exc.amount, currency=currency,
        at=Message("refuse.unreachable.at", rates="/".join(_rate_text(r, "en") for r in rates))
        if rates else "",
        nearest=Message("word.or", a=nearest[0], b=nearest[1]) if len(nearest) > 1
        else nearest[0] if nearest else "", id=doc.id)


CONVERSIONS = {"quote": ("invoice", "work_order"), "work_order": ("invoice",)}


def plan_convert(book: Book, doc_id: str, as_of: dt.date, to: Optional[str] = None) -> Change:
    """Quote -> invoice (default) or work order; work order -> invoice. The
    new draft names its source (``converted_from``) and the source names it
    (``converted_to``), in one commit."""
    doc = _doc(book, doc_id)
    targets = CONVERSIONS.get(doc.kind)
    if not targets:
        _refuse("refuse.convert_kind", doc=label(doc))
    to = to or "invoice"
    if to not in targets:
        _refuse("refuse.convert_to", doc=label(doc),
                targets=_or([_a_kind(t) for t in targets]), to=_a_kind(to))
    if doc.converted_to:
        _refuse("refuse.already_converted", doc=label(doc), to=doc.converted_to)
    if doc.declined is not None:
        _refuse("refuse.convert_declined", doc=label(doc), date=doc.declined.isoformat())
    draft = Document(id="new", path="", kind=to, contact=doc.contact, date=as_of,
                     currency=doc.currency,
                     lines=tuple(msgspec.structs.replace(line, line=0) for line in doc.lines),
                     notes=doc.notes, converted_from=doc.id)
    new, data = _new_document(book, draft)
    source, _ = _edited(book, doc.path, {"converted_to": new.id})
    return Change(action="document.convert",
                  subject="Convert %s to %s %s" % (label(doc), KIND_WORDS[to], new.id),
                  writes={doc.path: source, new.path: data}, trailers=_doc_trailer(new, doc),
                  new=(new.path,))


def _referrers(book: Book, doc: Document) -> list[str]:
    lowered = doc.id.lower()
    found = []
    for other in book.documents.values():
        if other.id == doc.id:
            continue
        for key in ("credits", "converted_from", "converted_to"):
            value = getattr(other, key)
            if value and value.lower() == lowered:
                found.append(_message("refuse.referrer", doc=label(other), key=key))
    for rec in book.recurrences.values():
        if rec.template.lower() == lowered:
            found.append(_message("refuse.referrer_recurrence", id=rec.id))
    return found


def plan_delete_document(book: Book, doc_id: str) -> Change:
    doc = _doc(book, doc_id)
    if doc.validated is not None:
        _refuse("refuse.delete_validated", doc=label(doc), id=doc.id)
    refs = _referrers(book, doc)
    if refs:
        _refuse("refuse.delete_referred" if len(refs) == 1 else "refuse.delete_referred.many",
                doc=label(doc), refs=refs)
    return Change(action="document.delete", subject="Delete %s" % label(doc),
                  deletes=(doc.path,), trailers=_trailers_for(doc))


def _yaml_input(fields: Union[dict, str, bytes], defaults: dict) -> str:
    """YAML text from a mapping or a person's text, with ``defaults`` added
    for the top-level keys it lacks (at the end, so error lines stay right)."""
    if isinstance(fields, bytes):
        fields = fields.decode("utf-8", "replace")
    if isinstance(fields, str):
        from . import yamlsafe
        root, _ = yamlsafe.compose(fields, "input")
        present = set()
        if root is not None and hasattr(root, "value") and isinstance(root.value, list):
            for pair in root.value:
                if isinstance(pair, tuple):
                    present.add(getattr(pair[0], "value", None))
        missing = {k: v for k, v in defaults.items() if k not in present and v is not None}
        if not missing or root is None:
            return fields
        try:
            return update_yaml(fields, missing)
        except ValueError:
            return fields
    data = {k: v for k, v in defaults.items() if v is not None and k not in fields}
    data.update({k: v for k, v in fields.items() if v is not None})
    text = dump_data(data)
    if text is not None:
        return text
    try:
        return update_yaml("", data)
    except ValueError as exc:
        _refuse("cannot write these fields: %s" % exc)


def _check_new_document(book: Book, record: Document) -> None:
    if record.number or record.validated:
        _refuse("refuse.new_is_draft", kind=_message("kind.word.%s" % record.kind))
    if record.kind != "expense" and record.payments:
        _refuse("refuse.draft_payments", kind=_message("kind.word.%s" % record.kind))
    _check_references(book, record)


def _check_references(book: Book, record: Document) -> None:
    if book.contact(record.contact) is None:
        _refuse("refuse.no_contact_for", id=record.contact, party=_word(record.party_key))
    if record.credits:
        target = book.document(record.credits)
        if target is None or target.kind != "invoice":
            _refuse("refuse.credits_not_invoice", id=record.credits,
                    what=_message("word.missing") if target is None else _a_kind(target.kind))
    if record.kind == "credit_note" and not record.credits:
        _refuse("refuse.credit_without_invoice")
    for key in ("converted_from", "converted_to"):
        value = getattr(record, key)
        if value and book.document(value) is None:
            _refuse("refuse.names_missing", key=key, id=value)
    if record.recurrence and book.recurrence(record.recurrence) is None:
        _refuse("refuse.names_missing", key="recurrence", id=record.recurrence)


def plan_create_document(book: Book, fields: Union[dict, str, bytes], as_of: dt.date,
                         source: str = "<input>") -> Change:
    """A new draft from a mapping ({"kind":, "customer":, "lines": [...]}) or
    YAML text; ``date`` defaults to ``as_of``. The file is canonical and its id
    is derived from its content, so the same input gives the same file."""
    text = _yaml_input(fields, {"date": as_of})
    given = _id_from(text, "documents", source)
    record = _parse("documents/%s.yaml" % (given or "new"), text, source,
                    positions=isinstance(fields, (str, bytes)))
    _check_new_document(book, record)
    _refuse_new_errors(book, None, record, source, positions=isinstance(fields, (str, bytes)))
    doc, data = _new_document(book, record, doc_id=given)
    whom = "for" if doc.kind != "expense" else "from"
    return Change(action="document.create", subject="Create %s %s %s %s"
                  % (KIND_WORDS[doc.kind], doc.id, whom, doc.contact),
                  writes={doc.path: data}, trailers=_trailers_for(doc), new=(doc.path,))


def _protected_changes(old: Document, new: Document, settings=None) -> list[str]:
    """The protected fields that differ; with ``settings``, by their effective
    values (a line without `vat` has the default rate, which writing it out
    does not change)."""
    def lines(doc):
        default = settings.vat if settings is not None else None
        return [(ln.description, ln.quantity, ln.unit_price, default if ln.vat is None else ln.vat)
                for ln in doc.lines]
    changed = []
    for key in PROTECTED:
        if key == "lines":
            if lines(old) != lines(new) or old.total != new.total:
                changed.append("lines")
        elif key == "currency" and settings is not None:
            if (old.currency or settings.currency) != (new.currency or settings.currency):
                changed.append(FIELD_WORDS[key])
        elif getattr(old, key) != getattr(new, key):
            changed.append(FIELD_WORDS[key] if key != "contact" else old.party_key)
    return changed


def _unchanged_since(book: Book, path: str, base: Optional[str]) -> None:
    """Refuse a new text made from ``base`` when the file no longer holds
    ``base`` (changed while a person's editor was open: a payment or an
    e-mail recorded meanwhile would be undone)."""
    if base is not None and _read(book, path) != base:
        _refuse("refuse.changed_meanwhile", path=path)


def plan_edit_document(book: Book, doc_id: str, text: Optional[Union[str, bytes]] = None,
                       set_fields: Optional[dict] = None, remove: Iterable[str] = (),
                       append: Optional[dict] = None, base: Optional[str] = None) -> Change:
    """The document with a new text (a person's edit) or fields set/removed.
    Refused when the result does not load, names a missing contact, or
    changes what a validated document keeps (SPEC 2); and when ``base`` (the
    text the person's edit started from) is no longer the file's."""
    broken = _broken(book, "documents", doc_id) if book.document(doc_id) is None else None
    if broken:
        _unchanged_since(book, broken, base)
    else:
        _unchanged_since(book, _doc(book, doc_id).path, base)
    if broken and text is not None:
        # a file that does not load can be fixed by a new text that does
        data = text.encode("utf-8") if isinstance(text, str) else text
        new = _parse(broken, data)
        _check_references(book, new)
        _refuse_new_errors(book, None, new)
        return Change(action="document.modify", subject="Fix %s" % label(new),
                      writes={broken: data}, trailers=_trailers_for(new))
    doc = _doc(book, doc_id)
    if text is not None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        new = _parse(doc.path, data)
    else:
        data, new = _edited(book, doc.path, set_fields, remove, append)
    if doc.validated is not None:
        changed = _protected_changes(doc, new, book.settings)
        if changed:
            _refuse("refuse.validated_protected", doc=label(doc), fields=_fields(changed),
                    id=doc.id)
    elif new.number or new.validated:
        _refuse("refuse.number_by_validation", id=doc.id)
    if new.contact != doc.contact or new.credits != doc.credits or \
            new.recurrence != doc.recurrence:
        _check_references(book, new)
    _refuse_new_errors(book, doc, new)
    return _change_doc("document.modify", "Edit %s" % label(doc), doc, data)


def _refuse_new_errors(book: Book, old: Optional[Document], new: Document,
                       source: Optional[str] = None, positions: bool = True) -> None:
    """Refuse an edit that gives the document an error `facturier check`
    would report (payments on a draft, a reference to nothing...); errors it
    already had do not block fixing something else. ``source``: the name of
    the input a new document came from (its errors are named after it)."""
    from .checks import document_errors
    before = {(d.field, d.message) for d in document_errors(book, old)} if old else set()
    introduced = [d for d in document_errors(book, new) if (d.field, d.message) not in before]
    if source:
        introduced = [Diagnostic(source, d.line if positions else 0,
                                 d.col if positions else 0, d.field, d.message, d.severity)
                      for d in introduced]
    if introduced:
        _refuse("problems.list", problems=Lines(introduced))


# =========================================================================== contacts

def _id_from(text: str, folder: str, source: str) -> Optional[str]:
    from . import yamlsafe
    root, _ = yamlsafe.compose(text, source)
    if root is not None and hasattr(root, "value") and isinstance(root.value, list):
        for pair in root.value:
            if isinstance(pair, tuple) and getattr(pair[0], "value", None) == "id":
                value = getattr(pair[1], "value", None)
                if not isinstance(value, str) or not value:
                    return None
                from .loader import is_valid_id
                if not is_valid_id(value):
                    _refuse("refuse.bad_id", source=source, id=value)
                return value
    return None


def plan_create_contact(book: Book, fields: Union[dict, str, bytes],
                        source: str = "<input>") -> Change:
    """A new contact; its id is the given ``id`` or a slug of its name."""
    text = _yaml_input(fields, {})
    given = _id_from(text, "contacts", source)
    record = _parse(contact_path(given or "new"), text, source,
                    positions=isinstance(fields, (str, bytes)))
    if given:
        if book.contact(given) is not None:
            _refuse("refuse.contact_exists", id=given)
        contact_id = given
    else:
        contact_id = slug_id(record.name, book.contacts.keys(), "contact")
    record = msgspec.structs.replace(record, id=contact_id, path=contact_path(contact_id))
    data = dump_contact(record).encode("utf-8")
    _parse(record.path, data)
    return Change(action="contact.create", subject="Create contact %s (%s)"
                  % (contact_id, record.name), writes={record.path: data},
                  trailers=(("Facturier-Contact", contact_id),), new=(record.path,))


def plan_edit_contact(book: Book, contact_id: str, text: Optional[Union[str, bytes]] = None,
                      set_fields: Optional[dict] = None, remove: Iterable[str] = (),
                      base: Optional[str] = None) -> Change:
    broken = _broken(book, "contacts", contact_id) if book.contact(contact_id) is None else None
    _unchanged_since(book, broken or _contact(book, contact_id).path, base)
    fix = _fix_of_broken(book, "contacts", contact_id, text, "contact.modify",
                         "Facturier-Contact")
    if fix is not None:
        return fix
    contact = _contact(book, contact_id)
    if text is not None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        _parse(contact.path, data)
    else:
        data, _ = _edited(book, contact.path, set_fields, remove)
    return Change(action="contact.modify", subject="Edit contact %s" % contact.id,
                  writes={contact.path: data}, trailers=(("Facturier-Contact", contact.id),))


def documents_of_contact(book: Book, contact_id: str) -> list[Document]:
    lowered = contact_id.lower()
    return sorted((d for d in book.documents.values() if d.contact.lower() == lowered),
                  key=lambda d: (d.date, d.id))


def plan_delete_contact(book: Book, contact_id: str) -> Change:
    contact = _contact(book, contact_id)
    docs = documents_of_contact(book, contact.id)
    if docs:
        shown = ", ".join(d.id for d in docs[:5])
        more = _message("refuse.and_more", n=len(docs) - 5) if len(docs) > 5 else ""
        _refuse("refuse.contact_in_use.many" if len(docs) > 1 else "refuse.contact_in_use",
                id=contact.id, n=len(docs), shown=shown, more=more)
    return Change(action="contact.delete", subject="Delete contact %s (%s)"
                  % (contact.id, contact.name), deletes=(contact.path,),
                  trailers=(("Facturier-Contact", contact.id),))


# =========================================================================== recurrences

def _check_recurrence_record(book: Book, rec: Recurrence) -> None:
    from .recurrence import RuleError, parse_rule
    template = book.document(rec.template)
    if template is None:
        _refuse("refuse.no_template", id=rec.template)
    if template.kind not in ("invoice", "expense"):
        _refuse("refuse.template_kind", id=template.id, kind=_a_kind(template.kind))
    try:
        parse_rule(rec.rule, rec.start, rec.until)
    except (RuleError, ValueError) as exc:
        _refuse("cause.rule", rule=rec.rule, reason=getattr(exc, "message", None) or str(exc))


def plan_create_recurrence(book: Book, fields: Union[dict, str, bytes],
                           source: str = "<input>") -> Change:
    """A new recurrence (id: the given ``id`` or a slug of its name)."""
    text = _yaml_input(fields, {})
    given = _id_from(text, "recurrences", source)
    record = _parse(recurrence_path(given or "new"), text, source,
                    positions=isinstance(fields, (str, bytes)))
    if given:
        if book.recurrence(given) is not None:
            _refuse("refuse.recurrence_exists", id=given)
        rec_id = given
    else:
        rec_id = slug_id(record.name, book.recurrences.keys(), "recurrence")
    record = msgspec.structs.replace(record, id=rec_id, path=recurrence_path(rec_id))
    _check_recurrence_record(book, record)
    data = dump_recurrence(record).encode("utf-8")
    _parse(record.path, data)
    return Change(action="recurrence.create", subject="Create recurrence %s (%s)"
                  % (rec_id, record.name), writes={record.path: data},
                  trailers=(("Facturier-Recurrence", rec_id),
                            ("Facturier-Document", record.template)), new=(record.path,))


def plan_edit_recurrence(book: Book, rec_id: str, text: Optional[Union[str, bytes]] = None,
                         set_fields: Optional[dict] = None, remove: Iterable[str] = ()) -> Change:
    fix = _fix_of_broken(book, "recurrences", rec_id, text, "recurrence.modify",
                         "Facturier-Recurrence")
    if fix is not None:
        return fix
    rec = _recurrence(book, rec_id)
    if text is not None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        new = _parse(rec.path, data)
    else:
        data, new = _edited(book, rec.path, set_fields, remove)
    if (new.template, new.rule, new.start, new.until) != (rec.template, rec.rule, rec.start,
                                                          rec.until):
        _check_recurrence_record(book, new)
    return Change(action="recurrence.modify", subject="Edit recurrence %s" % rec.id,
                  writes={rec.path: data}, trailers=(("Facturier-Recurrence", rec.id),))


def plan_delete_recurrence(book: Book, rec_id: str) -> Change:
    """Delete the recurrence file; the documents it generated stay."""
    rec = _recurrence(book, rec_id)
    kept = len(book.documents_of_recurrence(rec.id))
    return Change(action="recurrence.delete", subject="Delete recurrence %s (%s)%s" % (
        rec.id, rec.name, "; its %d document%s stay" % (kept, "s" if kept != 1 else "")
        if kept else ""), deletes=(rec.path,), trailers=(("Facturier-Recurrence", rec.id),))
