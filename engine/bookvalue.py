"""The book as an immutable value (issue 15).

A :class:`Book` never changes once made: its tables are read-only mappings,
its diagnostics a tuple, and every index derived from it (ids in lower case,
credit notes by invoice, documents by recurrence, totals, and what other
modules remember through :meth:`Book.memo`, such as numbering's series) is
owned by the value and built lazily, at most once. A change makes a new
value: ``book.with_change(change, parsed)`` (a committed change: the records
of the files it wrote) or ``book.with_records(...)`` (records replaced in
memory, the daily run's reminders); the old value stays valid and answers
as before.

Cost. A daily run on a 100,000-document book commits tens of thousands of
changes one by one and reads the book between them: copying 100,000-entry
dicts at every change (2-7 ms each) would cost minutes. So a new value
shares the old one's base dict and carries a small overlay of the records
changed since (:class:`Table`: lookups look in the overlay, then the base);
the overlay is folded into a fresh base when it grows past
``max(256, sqrt(n))`` entries. Full iteration (``values()``, ``items()``,
``iter``) uses a merged dict built once per value, at C speed.

Indexes are handed from the old value to the new one and updated
incrementally (a run's thousands of commits do not rebuild them); the old
value then forgets its own and rebuilds it from its own tables if it is ever
asked again, so its answers never change. A value is meant to be read from
one thread at a time while new values are made from it (the writer's
session); readers in other threads take values nobody changes (the app's
snapshot).

Pure: no I/O, no clock, no git.
"""
from __future__ import annotations

from collections.abc import KeysView, Mapping
from decimal import Decimal
from math import isqrt
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Optional, Protocol, TypeVar

if TYPE_CHECKING:
    from .diagnostics import Diagnostic
    from .model import Contact, Document, Recurrence, Settings

V = TypeVar("V")
_GONE: Any = object()       # in an overlay: the key was removed
_MISS: Any = object()


class Table(Mapping[str, V]):
    """Records by id, read-only: a base dict (shared between book values,
    never written once shared) and an overlay of the changes since it
    (id -> record, or removed)."""
    __slots__ = ("_base", "_over", "_merged", "_len")

    def __init__(self, base: Optional[dict] = None, _over: Optional[dict] = None,
                 _len: Optional[int] = None) -> None:
        self._base: dict = base if base is not None else {}
        self._over: dict = _over or {}
        self._merged: Optional[dict] = None if self._over else self._base
        self._len = len(self._base) if _len is None else _len

    # lookups: overlay, then base
    def __getitem__(self, key: str) -> V:
        over = self._over
        if over:
            value = over.get(key, _MISS)
            if value is not _MISS:
                if value is _GONE:
                    raise KeyError(key)
                return value
        return self._base[key]

    def get(self, key: str, default: Any = None) -> Any:
        over = self._over
        if over:
            value = over.get(key, _MISS)
            if value is not _MISS:
                return default if value is _GONE else value
        return self._base.get(key, default)

    def __contains__(self, key: object) -> bool:
        over = self._over
        if over:
            value = over.get(key, _MISS)
            if value is not _MISS:
                return value is not _GONE
        return key in self._base

    def __len__(self) -> int:
        return self._len

    # full iteration: the merged dict, built once per value
    def _all(self) -> dict:
        merged = self._merged
        if merged is None:
            merged = dict(self._base)
            for key, value in self._over.items():
                if value is _GONE:
                    merged.pop(key, None)
                else:
                    merged[key] = value
            self._merged = merged
        return merged

    def __iter__(self) -> Iterator[str]:
        return iter(self._all())

    def keys(self):                 # type: ignore[override]
        return self._all().keys()

    def values(self):               # type: ignore[override]
        return self._all().values()

    def items(self):                # type: ignore[override]
        return self._all().items()

    def __repr__(self) -> str:
        return "Table(%r)" % (self._all(),)

    def changed(self, updates: dict) -> "Table":
        """A new table: this one with ``updates`` (id -> record, or _GONE)."""
        if not updates:
            return self
        over = dict(self._over)
        n = self._len
        base = self._base
        for key, value in updates.items():
            n += (value is not _GONE) - (key in self)
            if value is _GONE and key not in base:
                over.pop(key, None)
            else:
                over[key] = value
        if len(over) > max(256, isqrt(len(base))):
            folded = Table(base, over, n)._all()
            return Table(folded)
        return Table(base, over, n)


def table(records: Optional[Mapping]) -> Table:
    """``records`` as a Table (a Table as it is; a dict copied once)."""
    if isinstance(records, Table):
        return records
    return Table(dict(records) if records else {})


class ChangeLike(Protocol):
    """What :meth:`Book.with_change` reads of an engine.session.Change."""
    @property
    def writes(self) -> dict: ...
    @property
    def paths(self) -> tuple: ...


# An index another module keeps through Book.memo: updated in place for a new
# value by ``update(value, removed, added)`` (documents replaced or deleted,
# documents written); False: it cannot be, the new value builds its own.
Update = Callable[[Any, list, list], bool]


class Book:
    """Everything loaded from one book, plus the diagnostics of every file.

    Files that failed to load are absent from the tables and named in
    ``diagnostics``; one broken file never hides the others. Ids are the keys
    as written; ``find_*`` helpers compare case-insensitively (SPEC 1).
    Immutable (module docstring): a change returns a new Book.
    """
    __slots__ = ("settings", "contacts", "documents", "recurrences", "diagnostics", "root", "part",
                 "source",
                 "_lower", "_credit_notes", "_by_recurrence", "_totals", "_memo", "_diag_paths")

    settings: "Settings"
    contacts: Table["Contact"]
    documents: Table["Document"]
    recurrences: Table["Recurrence"]
    diagnostics: tuple["Diagnostic", ...]
    root: Optional[str]
    part: Any           # None: the whole book; else it holds only some documents (in_part)
    source: str         # the digest of git's listing the loader read it from exactly, else ""
    _lower: dict[str, dict[str, str]]
    _credit_notes: Optional[dict[str, tuple]]
    _by_recurrence: Optional[dict[str, tuple]]
    _totals: dict[str, tuple]
    _memo: dict[Any, tuple]
    _diag_paths: Optional[set[str]]

    def __init__(self, settings: Optional["Settings"] = None,
                 contacts: Optional[Mapping[str, "Contact"]] = None,
                 documents: Optional[Mapping[str, "Document"]] = None,
                 recurrences: Optional[Mapping[str, "Recurrence"]] = None,
                 diagnostics: Iterable["Diagnostic"] = (), root: Optional[str] = None,
                 part: Any = None, *, source: str = "") -> None:
        if settings is None:
            from .model import Settings
            settings = Settings()
        s = object.__setattr__
        s(self, "settings", settings)
        s(self, "contacts", table(contacts))
        s(self, "documents", table(documents))
        s(self, "recurrences", table(recurrences))
        s(self, "diagnostics", tuple(diagnostics))
        s(self, "root", root)
        s(self, "part", part)
        s(self, "source", source)         # never handed to a changed value (engine/rowcache.py)
        s(self, "_lower", {})             # table name -> {id in lower case: id}
        s(self, "_credit_notes", None)
        s(self, "_by_recurrence", None)
        s(self, "_totals", {})            # id -> (record, total, settings): shared by values
        s(self, "_memo", {})              # key -> (value, update or None)
        s(self, "_diag_paths", None)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError("a Book is immutable: make a new one (with_change, with_records)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("a Book is immutable")

    def __repr__(self) -> str:
        return "Book(root=%r, %d documents, %d contacts, %d recurrences, %d diagnostics)" % (
            self.root, len(self.documents), len(self.contacts), len(self.recurrences),
            len(self.diagnostics))

    # ------------------------------------------------------------------ lookups

    def contact(self, contact_id: Optional[str]) -> Optional["Contact"]:
        return self._find("contacts", contact_id)

    def document(self, document_id: Optional[str]) -> Optional["Document"]:
        return self._find("documents", document_id)

    def recurrence(self, recurrence_id: Optional[str]) -> Optional["Recurrence"]:
        return self._find("recurrences", recurrence_id)

    def _find(self, name: str, key: Optional[str]) -> Any:
        if key is None:
            return None
        records: Table = getattr(self, name)
        found = records.get(key)
        if found is not None:
            return found
        real = self._lowered(name).get(key.lower())
        return records.get(real) if real is not None else None

    def _lowered(self, name: str) -> dict:
        index = self._lower.get(name)
        if index is None:
            index = {k.lower(): k for k in getattr(self, name)}
            self._lower[name] = index
        return index

    def document_ids_lower(self) -> KeysView[str]:
        """The document ids in lower case (a set-like view; SPEC 1: ids are
        unique ignoring case)."""
        return self._lowered("documents").keys()

    def has_document_id(self, document_id: str) -> bool:
        """Is the id taken, ignoring case?"""
        return document_id in self.documents or \
            document_id.lower() in self._lowered("documents")

    @property
    def errors(self) -> list["Diagnostic"]:
        return [d for d in self.diagnostics if d.is_error]

    # ------------------------------------------------------------------ derived

    def total_of(self, doc: "Document") -> Decimal:
        """The document's total (SPEC 1.4), remembered for this very record and
        these settings (a replaced record or settings computes it again). The
        loader's cache keeps totals across runs (engine/book.py)."""
        hit = self._totals.get(doc.id)
        if hit is not None and hit[0] is doc and hit[2] is self.settings:
            return hit[1]
        from .money import document_totals
        total = document_totals(doc, self.settings).total
        self._totals[doc.id] = (doc, total, self.settings)
        return total

    def remember_total(self, doc: "Document", total: Decimal) -> None:
        """Seed the totals remembered (the loader's cache): a cache, never
        an answer of its own (total_of checks the record and settings)."""
        self._totals[doc.id] = (doc, total, self.settings)

    def remember_totals(self, pairs: Iterable[tuple["Document", Decimal]]) -> None:
        """:meth:`remember_total` of many (record, total) pairs at once."""
        settings = self.settings
        self._totals.update({doc.id: (doc, total, settings) for doc, total in pairs})

    def credit_notes_for(self, invoice_id: str) -> tuple["Document", ...]:
        """Credit notes (drafts included) whose `credits` names the invoice,
        by date then id."""
        index = self._credit_notes
        if index is None:
            built: dict[str, list] = {}
            for doc in self.documents.values():
                if doc.kind == "credit_note" and doc.credits:
                    built.setdefault(doc.credits.lower(), []).append(doc)
            index = {k: tuple(sorted(v, key=_date_order)) for k, v in built.items()}
            object.__setattr__(self, "_credit_notes", index)
        return index.get(invoice_id.lower(), ())

    def documents_of_recurrence(self, recurrence_id: str) -> tuple["Document", ...]:
        """Documents whose `recurrence` names it, oldest occurrence first."""
        index = self._by_recurrence
        if index is None:
            built: dict[str, list] = {}
            for doc in self.documents.values():
                if doc.recurrence:
                    built.setdefault(doc.recurrence.lower(), []).append(doc)
            index = {k: tuple(sorted(v, key=_occurrence_order)) for k, v in built.items()}
            object.__setattr__(self, "_by_recurrence", index)
        return index.get(recurrence_id.lower(), ())

    def memo(self, key: Any, build: Callable[["Book"], V], update: Optional[Update] = None) -> V:
        """What ``build(book)`` gives, built once for this value. With
        ``update``, the value is handed to the next value made by a change
        (which updates it in place; this one then builds its own again if
        asked); without, each value builds its own. Settings changed: built
        again."""
        hit = self._memo.get(key)
        if hit is not None:
            return hit[0]
        value = build(self)
        self._memo[key] = (value, update)
        return value

    # ------------------------------------------------------------------ new values

    def with_change(self, change: ChangeLike, parsed: Optional[dict] = None) -> "Book":
        """The book once ``change`` is committed: records of the files it
        deletes or writes removed, those it writes added (``parsed``: ``{path:
        (kind, record, diagnostics)}`` of engine.session.parse_writes, else
        parsed here), their diagnostics replaced. This value is unchanged."""
        from .model import Settings
        touched = set(change.paths)
        updates: dict[str, dict] = {"documents": {}, "contacts": {}, "recurrences": {}}
        removed: dict[str, list] = {"documents": [], "contacts": [], "recurrences": []}
        for path in touched:
            stem = path.rsplit("/", 1)[-1][:-5] if path.endswith(".yaml") else ""
            if not stem:
                continue
            for name in updates:
                record = getattr(self, name).get(stem)
                if record is not None and record.path == path:
                    updates[name][stem] = _GONE
                    removed[name].append(record)
        settings = self.settings
        new_diagnostics: list = []
        for path, data in change.writes.items():
            known = parsed.get(path) if parsed else None
            if known is None:
                from .loader import parse_file
                known = parse_file(path, data)
            kind, record, diagnostics = known
            new_diagnostics.extend(diagnostics)
            if record is None or kind is None:
                continue
            if isinstance(record, Settings):
                settings = record
            else:
                updates[kind + "s"][record.id] = record
        # diagnostics: those of the touched files replaced
        old = self.diagnostics
        if touched & self._paths_with_diagnostics():
            kept: tuple = tuple(d for d in old if d.path not in touched)
        else:
            kept = old
        diagnostics_out = kept + tuple(new_diagnostics) if new_diagnostics else kept
        return self._made(updates, removed, settings, diagnostics_out, touched,
                          {d.path for d in new_diagnostics})

    def with_records(self, documents: Iterable["Document"] = (),
                     contacts: Iterable["Contact"] = (),
                     recurrences: Iterable["Recurrence"] = ()) -> "Book":
        """The book with these records put in place of those of the same id
        (or added), read from the same files: diagnostics unchanged (the
        daily run's reminders, whose records it makes itself)."""
        updates: dict[str, dict] = {"documents": {}, "contacts": {}, "recurrences": {}}
        removed: dict[str, list] = {"documents": [], "contacts": [], "recurrences": []}
        for name, records in (("documents", documents), ("contacts", contacts),
                              ("recurrences", recurrences)):
            current = getattr(self, name)
            for record in records:
                before = current.get(record.id)
                if before is not None:
                    removed[name].append(before)
                updates[name][record.id] = record
        return self._made(updates, removed, self.settings, self.diagnostics, set(), set())

    def in_part(self, part: Any = True) -> "Book":
        """The same records as a book that holds only some of the book's
        documents (``part``: True, or what numbering gives numbers from:
        engine.numbering.mark_partial); the values a change makes from it
        stay so."""
        return Book(self.settings, self.contacts, self.documents, self.recurrences,
                    self.diagnostics, self.root, part)

    def with_diagnostics(self, diagnostics: Iterable["Diagnostic"]) -> "Book":
        """The book with these diagnostics added (the loader's own)."""
        more = tuple(diagnostics)
        if not more:
            return self
        book = Book(self.settings, self.contacts, self.documents, self.recurrences,
                    self.diagnostics + more, self.root, self.part)
        self._hand_over(book, {}, {}, same_settings=True, touched=set(),
                        new_paths={d.path for d in more})
        return book

    def _made(self, updates: dict, removed: dict, settings: "Settings",
              diagnostics: tuple, touched: set, new_paths: set) -> "Book":
        book = Book(settings,
                    self.contacts.changed(updates["contacts"]),
                    self.documents.changed(updates["documents"]),
                    self.recurrences.changed(updates["recurrences"]),
                    diagnostics, self.root, self.part)
        added = {name: [r for r in table_updates.values() if r is not _GONE]
                 for name, table_updates in updates.items()}
        self._hand_over(book, removed, added, settings is self.settings, touched, new_paths)
        return book

    def _hand_over(self, book: "Book", removed: dict, added: dict, same_settings: bool,
                   touched: set, new_paths: set) -> None:
        """Give ``book`` this value's indexes, brought up to date with the
        records removed and added; this value forgets them (it builds its own
        again from its own tables if asked: its answers never change)."""
        s = object.__setattr__
        s(book, "_totals", self._totals)        # keyed by record and settings: always true
        paths = self._diag_paths
        if paths is not None:
            s(self, "_diag_paths", None)
            paths.difference_update(touched)
            paths.update(new_paths)
            s(book, "_diag_paths", paths)
        for name, index in self._lower.items():
            for record in removed.get(name, ()):
                index.pop(record.id.lower(), None)
            for record in added.get(name, ()):
                index[record.id.lower()] = record.id
            book._lower[name] = index
        s(self, "_lower", {})
        docs_removed = removed.get("documents", [])
        docs_added = added.get("documents", [])
        if self._credit_notes is not None:
            s(book, "_credit_notes", _credit_notes_updated(self._credit_notes, docs_removed,
                                                           docs_added))
            s(self, "_credit_notes", None)
        if self._by_recurrence is not None:
            s(book, "_by_recurrence", _by_recurrence_updated(self._by_recurrence, docs_removed,
                                                             docs_added))
            s(self, "_by_recurrence", None)
        if same_settings and self._memo:
            kept = {}
            for key, (value, update) in self._memo.items():
                if update is None:
                    kept[key] = (value, update)
                elif update(value, docs_removed, docs_added):
                    book._memo[key] = (value, update)
            s(self, "_memo", kept)

    def _paths_with_diagnostics(self) -> set:
        paths = self._diag_paths
        if paths is None:
            paths = {d.path for d in self.diagnostics}
            object.__setattr__(self, "_diag_paths", paths)
        return paths


def _occurrence_order(doc: "Document") -> tuple:
    return (doc.occurrence or doc.date, doc.id)


def _date_order(doc: "Document") -> tuple:
    return (doc.date, doc.id)


def _credit_notes_updated(index: dict, removed: list, added: list) -> dict:
    for doc in removed:
        if doc.kind == "credit_note" and doc.credits:
            key = doc.credits.lower()
            left = tuple(d for d in index.get(key, ()) if d is not doc)
            if left:
                index[key] = left
            else:
                index.pop(key, None)
    for doc in added:
        if doc.kind == "credit_note" and doc.credits:
            key = doc.credits.lower()
            index[key] = tuple(sorted(index.get(key, ()) + (doc,), key=_date_order))
    return index


def _by_recurrence_updated(index: dict, removed: list, added: list) -> dict:
    touched = set()
    for doc in removed:
        if doc.recurrence:
            key = doc.recurrence.lower()
            index[key] = tuple(d for d in index.get(key, ()) if d is not doc)
            touched.add(key)
    for doc in added:
        if doc.recurrence:
            key = doc.recurrence.lower()
            index[key] = index.get(key, ()) + (doc,)
            touched.add(key)
    for key in touched:
        if index[key]:
            index[key] = tuple(sorted(index[key], key=_occurrence_order))
        else:
            del index[key]
    return index
