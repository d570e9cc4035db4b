"""The write session of every action: :class:`Change` (the files a plan writes
or deletes, its subject and trailers) and :class:`Writer`, which holds the book
lock, checks that the target files have no uncommitted edits, commits (through
:mod:`engine.gitstore`, one commit per action), and keeps ``w.book`` up to date,
so that one session can make many commits (a daily run of 1,000 generated
invoices)::

    with open_writer(root, author=None) as w:
        sha = w.commit(plan_payment(w.book, "inv-20250105-k3f9", Decimal("50"), day))

or in one call: ``sha, change = perform(root, plan_payment, doc_id, amount, day)``.
Every file is read back before its commit (:func:`parse_writes`) and
``w.book`` becomes the new book value made from it (``Book.with_change``).
"""
from __future__ import annotations

import contextlib
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Union

from . import gitstore, safepath
from .diagnostics import ActionRefused
from .model import Book, Document


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
        from .numbering import is_partial
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
        documents: dict[str, Document] = {}
        diagnostics: list = []
        for doc_id in ids:
            path = find_document_path(self.root, doc_id)
            if path is None:
                continue
            try:
                data = safepath.read_bytes(self.root, path)
            except (OSError, safepath.UnsafePath):
                continue
            _kind, record, found = parse_file(path, data)
            diagnostics.extend(found)
            if isinstance(record, Document):
                documents[record.id] = record
        book = Book(load_settings(self.root), documents=documents, diagnostics=diagnostics,
                    root=str(self.root))
        from .numbering import mark_partial
        book = mark_partial(book)          # never numbers from it
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
        self._store.store_ahead(change.writes)      # many files: git stores them while checked
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
        sha = self._store.commit(change.writes, change.deletes, change.message,
                                 links_checked=True)
        if sha is not None:
            self.commits.append(sha)
            if self._book is not None:
                self._book = self._book.with_change(change, parsed)
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


def apply_to_book(book: Book, change: Change, parsed: Optional[dict] = None) -> Book:
    """The in-memory book once a committed change is in it: a new value
    (``book.with_change``; parsing only the files it wrote, unless
    ``parsed`` by :func:`parse_writes`). ``book`` itself is unchanged."""
    if parsed is None:
        parsed = {path: _parse_file(path, data) for path, data in change.writes.items()}
    return book.with_change(change, parsed)
