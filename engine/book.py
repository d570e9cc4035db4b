"""Loading a book: files on disk -> records + diagnostics, through the cache.

``load_book(root)`` lists the book's YAML files with their git blob ids
(engine/gitstore.py), takes unchanged files from the cache (engine/cache.py),
parses the others (on every core when there are many), and returns a
:class:`~engine.model.Book`. Files that fail to load are absent from the book
and named in ``book.diagnostics``: one broken file never hides the others.
Cross-file invariants (SPEC 2) are computed by :func:`engine.checks.check_book`,
which ``facturier check`` runs.
"""
from __future__ import annotations

import gc
import os
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Union

from . import cache, gitstore, safepath
from .diagnostics import BookNotFound, Diagnostic
from .i18n import render
from .model import Book, Settings, Table

_Entry = Union[cache.DocumentEntry, cache.ContactEntry, cache.RecurrenceEntry, cache.SettingsEntry]

SETTINGS_FILE = "facturier.yaml"
PARALLEL_THRESHOLD = 2000      # below this many files to parse, one process is faster


def find_root(path) -> Path:
    """The book at ``path`` (which must hold facturier.yaml; a link there is
    a book whose settings are an error, SPEC 1.5)."""
    root = Path(path).expanduser()
    if not (root / SETTINGS_FILE).is_file() and not (root / SETTINGS_FILE).is_symlink():
        raise BookNotFound("%s is not a facturier book (no %s there); make one with "
                           "`facturier init DIR`, or point --book / $FACTURIER_BOOK at one"
                           % (root, SETTINGS_FILE))
    return root


def load_settings(root) -> Settings:
    """Only the settings (cheap): for the timezone and locale of a command."""
    from .loader import parse_settings
    root = find_root(root)
    try:
        data = safepath.read_bytes(root, SETTINGS_FILE)
    except safepath.UnsafePath:
        return Settings()           # a link: the defaults (load_book reports it)
    settings, _ = parse_settings(data, SETTINGS_FILE)
    return settings


def load_book(root, *, use_cache: bool = True, processes: Optional[int] = None) -> Book:
    """Load every file of the book at ``root`` as it is in the work tree."""
    root = find_root(root)
    # Records are acyclic: the cyclic garbage collector has nothing to find in
    # them, and scanning 100,000 fresh objects again and again costs seconds.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(root, use_cache, processes)
    finally:
        if collecting:
            gc.enable()


def load_files(files: Mapping[str, Union[bytes, str]], *, check: bool = False,
               root: Optional[str] = None) -> Book:
    """The book these files make (``{path: bytes}``, paths relative to the
    book root with forward slashes), as :func:`load_book` reads them from a
    work tree, but pure: no git, no disk, no cache; for tests, dry runs and
    the demo (as beancount's ``load_string``). Paths that are not book files
    are ignored; a missing facturier.yaml is the defaults. ``check``: add
    the cross-file diagnostics of `facturier check` (engine.checks)."""
    from .loader import parse_file
    entries: dict[str, _Entry] = {}
    given = dict(files)
    given.setdefault(SETTINGS_FILE, b"")
    for path, data in given.items():
        kind, record, diagnostics = parse_file(path, data)
        if kind is None:
            continue
        entries[path] = cache.ENTRY_TYPES[kind](path, "", record, list(diagnostics))
    book = assemble(entries, root=root)
    if check:
        from .checks import check_book
        book = book.with_diagnostics(check_book(book))
    return book


def _load(root: Path, use_cache: bool, processes: Optional[int]) -> Book:
    # a publish a kill interrupted is settled first: never read a half-moved work tree
    recovered = gitstore.recover_book(root) if gitstore.is_repository(root) else []
    untrusted: dict = {}
    blobs = gitstore.list_blobs(root, untrusted=untrusted)
    links = untrusted["links"] + safepath.links_under(root, "templates")
    if SETTINGS_FILE not in links:
        blobs.setdefault(SETTINGS_FILE, "")
    # The cache is facturier's own, in a .facturier/ it made: one that came
    # with a clone (committed) could hide documents; never read nor written.
    own = _own_state_dir(root)
    if not own and not untrusted["state"]:
        links.append(safepath.STATE_DIR)
    use_cache = use_cache and not untrusted["state"] and own
    snapshot = cache.read_snapshot(root) if use_cache else cache.Snapshot()
    cached = snapshot.entries
    entries: dict[str, _Entry] = {}
    todo: list[tuple[str, str]] = []
    for path, blob in blobs.items():
        entry = cached.get(path)
        if entry is not None and entry.blob == blob and blob:
            entries[path] = entry
        else:
            todo.append((path, blob))
    if todo:
        for entry in _parse_all(root, todo, processes):
            if entry is not None:
                entries[entry.path] = entry
    more = []
    for message in recovered:
        path, _, text = message.partition(": ")
        more.append(Diagnostic(path, 0, 0, "", text, "warning"))
    more.extend(untrusted_diagnostics(links, untrusted["state"]))
    book = assemble(entries, root=str(root), more=more)
    key = cache.totals_key(book.settings)
    computed = _remember_totals(book, entries, snapshot.totals_key == key)
    if use_cache and (todo or computed or len(entries) != len(cached)):
        cache.write(root, entries, snapshot, key)
    return book


def _own_state_dir(root: Path) -> bool:
    try:
        safepath.state_dir(root)
        return True
    except safepath.UnsafePath:
        return False


def untrusted_diagnostics(links, state) -> list[Diagnostic]:
    """What the book never trusts (SPEC 1.5), as errors naming each path:
    symbolic links (a .facturier that is one included), anything committed
    under .facturier/."""
    out = [Diagnostic(path, 0, 0, "", render("book.link", "en")) for path in links]
    for path in state:
        out.append(Diagnostic(path, 0, 0, "", render("book.committed_state", "en")))
    return out


def _remember_totals(book: Book, entries: dict, trusted: bool) -> bool:
    """Give the book the document totals the cache holds (when computed with
    these settings); compute and store the others. True when any was computed."""
    computed = False
    documents = book.documents
    for entry in entries.values():
        if type(entry) is not cache.DocumentEntry or entry.record is None:
            continue
        record = entry.record
        if documents.get(record.id) is not record:
            continue
        if trusted and entry.total is not None:
            book.remember_total(record, entry.total)
        else:
            entry.total = book.total_of(record)
            computed = True
    return computed


def assemble(entries: dict[str, _Entry], root: Optional[str] = None,
             more: Iterable[Diagnostic] = ()) -> Book:
    """Build the Book from parsed entries (and ``more`` diagnostics); ids
    must be unique per kind, compared case-insensitively (SPEC 1)."""
    settings = Settings()
    documents: dict[str, Any] = {}
    contacts: dict[str, Any] = {}
    recurrences: dict[str, Any] = {}
    diagnostics: list[Diagnostic] = []
    seen: dict[tuple[str, str], str] = {}
    tables: dict[type, dict[str, Any]] = {
        cache.DocumentEntry: documents, cache.ContactEntry: contacts,
        cache.RecurrenceEntry: recurrences}
    for path in sorted(entries):
        entry = entries[path]
        diagnostics.extend(entry.diagnostics)
        record = entry.record
        if record is None:
            continue
        if isinstance(record, Settings):
            settings = record
            continue
        table = tables[type(entry)]
        key = (type(entry).__name__, record.id.lower())
        first = seen.get(key)
        if first is not None:
            diagnostics.append(Diagnostic(path, 0, 0, "id", render("book.id_used", "en",
                                                                   id=record.id, path=first)))
            continue
        seen[key] = path
        table[record.id] = record
    diagnostics.extend(more)
    return Book(settings, Table(contacts), Table(documents), Table(recurrences), diagnostics,
                root)


def _parse_all(root: Path, todo: list[tuple[str, str]], processes: Optional[int]) -> list:
    if processes is None:
        processes = os.cpu_count() or 1
    if processes > 1 and len(todo) >= PARALLEL_THRESHOLD:
        import multiprocessing
        import multiprocessing.context
        context: multiprocessing.context.BaseContext
        try:
            context = multiprocessing.get_context("fork")
        except ValueError:
            context = multiprocessing.get_context()
        chunks = [todo[i::processes * 8] for i in range(processes * 8)]
        with context.Pool(processes) as pool:
            packed = pool.map(_parse_chunk_packed, [(str(root), chunk) for chunk in chunks])
        return [entry for data in packed for entry in cache.unpack_entries(data)]
    return _parse_chunk((str(root), todo))


def _parse_chunk(args) -> list:
    root, todo = args
    checked: set = set()        # folders found not to be links
    return [_parse_one(Path(root), path, blob, checked) for path, blob in todo]


def _parse_chunk_packed(args) -> bytes:
    """A worker's result as msgpack: far cheaper to send back than pickles."""
    gc.disable()
    return cache.pack_entries(_parse_chunk(args))


def _parse_one(root: Path, path: str, blob: str, checked: Optional[set] = None):
    from .loader import parse_file
    try:
        data = safepath.read_bytes(root, path, checked)
    except FileNotFoundError:
        if path == SETTINGS_FILE:
            data = b""
        else:
            return None
    except safepath.UnsafePath as exc:
        return cache.ENTRY_TYPES[_kind_guess(path)](path, blob, None, [
            Diagnostic(path, 0, 0, "", str(exc))])
    except OSError as exc:
        return cache.ENTRY_TYPES[_kind_guess(path)](path, blob, None, [
            Diagnostic(path, 0, 0, "", render("book.cannot_read", "en", reason=exc.strerror))])
    kind, record, diagnostics = parse_file(path, data)
    if kind is None:
        return None
    return cache.ENTRY_TYPES[kind](path, blob or gitstore.blob_id(data), record, list(diagnostics))


def _kind_guess(path: str) -> str:
    if path == SETTINGS_FILE:
        return "settings"
    return {"contacts": "contact", "recurrences": "recurrence"}.get(path.split("/", 1)[0], "document")
