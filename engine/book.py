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
from typing import Any, Iterable, Mapping, NamedTuple, Optional, Union

from . import cache, gitstore, safepath
from .diagnostics import BookNotFound, Diagnostic
from .i18n import render
from .gitrepo import PendingListing, blobs_of_listing
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
    # one parse per process: a command reads the settings for its language,
    # its date, its action and its publisher; the same bytes give the same
    # (frozen) Settings, and a file changed meanwhile is parsed again
    known = _SETTINGS_READ.get(data)
    if known is None:
        known, _ = parse_settings(data, SETTINGS_FILE)
        _SETTINGS_READ.clear()
        _SETTINGS_READ[data] = known
    return known


_SETTINGS_READ: dict[bytes, Settings] = {}      # the last settings file parsed, by its bytes


def load_book(root, *, use_cache: bool = True, processes: Optional[int] = None,
              listing: Optional["BookListing"] = None) -> Book:
    """Load every file of the book at ``root`` as it is in the work tree.
    ``listing``: what :func:`list_book` gave a moment ago (the book is then
    the files as they were listed; engine/rowcache.py shows rows first)."""
    root = find_root(root)
    # Records are acyclic: the cyclic garbage collector has nothing to find in
    # them, and scanning 100,000 fresh objects again and again costs seconds.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load(root, use_cache, processes, listing)
    finally:
        if collecting:
            gc.enable()


class BookListing(NamedTuple):
    """git's listing of a book's files (engine/gitrepo.py ``listing``),
    taken after settling an interrupted publish; ``source`` is the digest
    ``Book.source`` will have (engine/cache.py ``listing_digest``), "" when
    the listing is not that simple or no cache may be trusted."""
    out: bytes
    status: bytes
    recovered: list
    source: str


def list_book(root) -> Optional[BookListing]:
    """The listing :func:`load_book` starts with (None outside git), to
    learn ``source`` before loading, then hand to ``load_book(listing=)``."""
    root = find_root(root)
    if not gitstore.is_repository(root):
        return None
    recovered = gitstore.recover_book(root)
    out, status = PendingListing(root).result()
    return BookListing(out, status, recovered, _source(root, out, status))


def _source(root: Path, out: bytes, status: bytes) -> str:
    if _tracks_state(out):
        return ""                   # no cache trusted
    return cache.listing_digest(out, status) if _own_state_dir(root) else ""


def _tracks_state(out: bytes) -> bool:
    """Does git's listing (``gitrepo.listing``: its `.facturier` entries sort
    first) show anything tracked under .facturier/ (SPEC 1.5)?"""
    return out[:out.find(b"\0")].partition(b"\t")[2].startswith(b".")


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


def _load(root: Path, use_cache: bool, processes: Optional[int],
          listing: Optional[BookListing] = None) -> Book:
    repository = gitstore.is_repository(root)
    # The cache is facturier's own, in a .facturier/ it made: one that came
    # with a clone (committed) could hide documents; never read nor written.
    own = _own_state_dir(root)
    if listing is not None:
        recovered = listing.recovered
        snapshot = cache.read_snapshot(root) if use_cache and own else cache.Snapshot()
        out, status = listing.out, listing.status
    else:
        # a publish a kill interrupted is settled first: never read a half-moved work tree
        recovered = gitstore.recover_book(root) if repository else []
        pending = PendingListing(root) if repository else None
        try:
            # decoded while git lists the files (git status is the slow part)
            snapshot = cache.read_snapshot(root) if use_cache and own else cache.Snapshot()
            out, status = pending.result() if pending is not None else (b"", b"")
        except BaseException:
            if pending is not None:
                pending.cancel()
            raise
    untrusted: dict = {}
    digest = _source(root, out, status) if repository else ""
    if repository:
        blobs = None if digest and digest == snapshot.listing else \
            blobs_of_listing(root, out, status, untrusted)
    else:
        blobs = gitstore.list_blobs(root, untrusted=untrusted)
    if blobs is None:
        # the listing the cache was written for, byte for byte: every entry is its file's
        untrusted["links"], untrusted["state"] = [], []
    links = untrusted["links"] + safepath.links_under(root, "templates")
    if not own and not untrusted["state"]:
        links.append(safepath.STATE_DIR)
    use_cache = use_cache and not untrusted["state"] and own
    if not use_cache:
        snapshot = cache.Snapshot()
    cached = snapshot.entries
    entries: dict[str, _Entry]
    todo: list[tuple[str, str]] = []
    if blobs is None:
        entries = cached
    else:
        if SETTINGS_FILE not in links:
            blobs.setdefault(SETTINGS_FILE, "")
        entries = {}
        for path, blob in blobs.items():
            entry = cached.get(path)
            if entry is not None and entry.blob == blob and blob:
                entries[path] = entry
            else:
                todo.append((path, blob))
    fresh_key: Optional[str] = None       # the settings the parsed entries' totals are for
    if todo:
        known = entries.get(SETTINGS_FILE)
        parsed, fresh_key = _parse_all(root, todo, processes,
                                       known.record if isinstance(known, cache.SettingsEntry)
                                       else None)
        for entry in parsed:
            if entry is not None:
                entries[entry.path] = entry
    more = []
    for message in recovered:
        path, _, text = message.partition(": ")
        more.append(Diagnostic(path, 0, 0, "", text, "warning"))
    more.extend(untrusted_diagnostics(links, untrusted["state"]))
    book = assemble(entries, root=str(root), more=more, source=digest if use_cache else "")
    key = cache.totals_key(book.settings)
    computed = _remember_totals(book, entries, snapshot.totals_key,
                                {path for path, _blob in todo}, fresh_key)
    # the digest kept always names the listing the kept entries are exactly
    if use_cache and (todo or computed or len(entries) != len(cached)
                      or (digest and digest != snapshot.listing)):
        cache.write(root, entries, snapshot, key, digest)
    return book


def load_for_numbering(root, doc_id: str, *, processes: Optional[int] = None) -> Book:
    """The book as giving document ``doc_id`` its number needs it, without
    loading every document: the settings, the document, its contact, for a
    credit note the invoice it credits and that invoice's credit notes,
    every file that does not load (it may hide a number) and every document
    whose id another one shares — each parsed whole, with its diagnostics as
    :func:`load_book` gives them — and, for the numbers of the others, the
    numbering index (engine/numindex.py: a few fields per file, by path and
    git blob id; a file whose blob id changed is parsed again, so the index
    is exact). The files are listed as :func:`load_book` lists them (git's
    index and the work tree's uncommitted edits), so the number given is the
    one the whole book would give, and refusals are the same.

    When no cache may be trusted (anything under ``.facturier/`` tracked by
    git, a link, not a git repository): the whole book, as :func:`load_book`."""
    root = find_root(root)
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _load_for_numbering(root, doc_id, processes)
    finally:
        if collecting:
            gc.enable()


def _load_for_numbering(root: Path, doc_id: str, processes: Optional[int]) -> Book:
    from . import numindex
    from .gitrepo import listing
    if not gitstore.is_repository(root) or not _own_state_dir(root):
        return _load(root, True, processes)
    recovered = gitstore.recover_book(root)
    out, status = listing(root)
    if _tracks_state(out):
        return _load(root, True, processes)         # no cache trusted
    segment = _segment(out, b"documents/")
    # no uncommitted edit, untracked file or link: git's index is the work tree
    clean = cache.plain_listing(out, status)
    old = numindex.read(root)
    parsed: dict[str, _Entry] = {}
    found = _rows_unchanged(root, old, segment, parsed, processes) if clean else None
    blobs: Optional[dict[str, str]] = None
    links: list[str] = []
    if found is None:
        untrusted: dict = {}
        blobs = blobs_of_listing(root, out, status, untrusted)
        links = untrusted["links"]
        documents = {p: b for p, b in blobs.items() if p.startswith("documents/")}
        rows = _rows_anew(root, old, documents, segment if clean else b"", parsed, processes)
        numindex.write(root, rows)
    else:
        rows, changed = found
        if changed:
            numindex.write(root, rows)
    links += safepath.links_under(root, "templates")
    book = _partial_book(root, doc_id, rows, parsed, out, blobs, links)
    more = []
    for message in recovered:
        path, _, text = message.partition(": ")
        more.append(Diagnostic(path, 0, 0, "", text, "warning"))
    more.extend(untrusted_diagnostics(links, []))
    return book.with_diagnostics(more)


def _segment(out: bytes, prefix: bytes) -> bytes:
    """The lines of ``git ls-files -s -z`` output whose path starts with
    ``prefix`` (sorted: they follow each other), each ending with NUL."""
    first = out.find(b"\t" + prefix)
    if first < 0:
        return b""
    last = out.rfind(b"\t" + prefix)
    return out[out.rfind(b"\0", 0, first) + 1:out.find(b"\0", last) + 1]


def _line(line: bytes) -> tuple[str, str]:
    """(path, blob id) of a line of ``git ls-files -s``."""
    meta, _, path = line.partition(b"\t")
    return path.decode("utf-8", "surrogateescape"), meta.split(b" ")[1].decode()


def _set_row(rows, kinds: bytearray, i: int, record, is_document: bool) -> None:
    from . import numbering
    if not is_document:
        code = numbering.NOT_A_DOCUMENT
    elif record is None:
        code = numbering.BROKEN
    else:
        code = numbering.KIND_CODES.get(record.kind, numbering.NOT_A_DOCUMENT)
    kinds[i:i + 1] = code
    rows.years[i] = record.date.year if record is not None else 0
    rows.numbers[i] = (record.number or "") if record is not None else ""
    rows.validated[i] = record.validated.toordinal() if record is not None and \
        record.validated is not None else 0
    rows.credits.pop(i, None)
    if record is not None and record.credits:
        rows.credits[i] = record.credits


def _rows_unchanged(root: Path, old, segment: bytes, parsed: dict, processes):
    """The index when the listing is its segment again, or differs from it
    by the blob ids of a few files (parsed again here): None otherwise."""
    if old is None or not old.segment:
        return None
    if old.segment == segment:
        return old, False
    lines, before = segment.split(b"\0"), old.segment.split(b"\0")
    if len(lines) != len(before):
        return None
    changed = [i for i, (a, b) in enumerate(zip(lines, before)) if a != b]
    if len(changed) > PARALLEL_THRESHOLD:
        return None
    todo = [_line(lines[i]) for i in changed]
    if any(_line(before[i])[0] != path for i, (path, _) in zip(changed, todo)):
        return None                                 # files renamed: ids to compare again
    _parse_rows(root, todo, parsed, processes)
    kinds = bytearray(old.kinds)
    for i, (path, _blob) in zip(changed, todo):
        entry = parsed.get(path)
        _set_row(old, kinds, i, entry.record if entry is not None else None,
                 entry is not None)
    old.kinds = bytes(kinds)
    old.segment = segment
    return old, True


def _parse_rows(root: Path, todo: list, parsed: dict, processes) -> None:
    for entry in _parse_all(root, todo, processes)[0] if todo else ():
        if entry is not None:
            parsed[entry.path] = entry


def _rows_anew(root: Path, old, documents: dict, segment: bytes, parsed: dict, processes):
    """The index made again for ``documents`` (``{path: blob}``), reusing
    the rows of ``old`` whose path and blob id are the same; the rows follow
    ``segment`` when given (the work tree has no uncommitted edit)."""
    from . import numbering, numindex
    known: dict[str, tuple] = {}
    if old is not None:
        if old.segment:
            pairs = [_line(line) for line in old.segment.split(b"\0") if line]
        else:
            pairs = list(zip(old.paths, old.blobs))
        for i, (path, blob) in enumerate(pairs):
            known[path] = (blob, i)
    if segment:
        order = [_line(line) for line in segment.split(b"\0") if line]
    else:                   # in the order of the paths, as load_book assembles them
        order = sorted(documents.items())
    todo = [(p, b) for p, b in order if p in documents and
            ((hit := known.get(p)) is None or hit[0] != b)]
    seeded: dict = {}
    if len(todo) > PARALLEL_THRESHOLD:             # never written, or a large pull
        seeded = numindex.seed(root, dict(todo))
        todo = [(p, b) for p, b in todo if p not in seeded]
    _parse_rows(root, todo, parsed, processes)
    n = len(order)
    rows = numindex.Rows(segment=segment, paths=[] if segment else [p for p, _ in order],
                         blobs=[] if segment else [b for _, b in order],
                         years=[0] * n, numbers=[""] * n, validated=[0] * n, credits={})
    kinds = bytearray(numbering.NOT_A_DOCUMENT * n)
    for i, (path, _blob) in enumerate(order):
        if path not in documents:
            continue                                # not a *.yaml file
        entry = parsed.get(path)
        if entry is not None or path in seeded:
            _set_row(rows, kinds, i, entry.record if entry is not None else seeded[path], True)
            continue
        hit = known.get(path)
        if hit is None or old is None:
            continue                                # gone meanwhile
        j = hit[1]
        kinds[i:i + 1] = old.kinds[j:j + 1]
        rows.years[i], rows.numbers[i], rows.validated[i] = \
            old.years[j], old.numbers[j], old.validated[j]
        if j in old.credits:
            rows.credits[i] = old.credits[j]
    rows.kinds = bytes(kinds)
    ids = [_id_of(p) for p, _ in order]
    if len(set(ids)) != len(ids):
        from collections import Counter
        rows.shared = sorted(i for i, k in Counter(ids).items() if k > 1)
    return rows


def _id_of(path: str) -> str:
    """The id (lowered: ids are compared ignoring case) of a document path."""
    return path[path.rfind("/") + 1:-5].lower()


def _partial_book(root: Path, doc_id: str, rows, parsed: dict, out: bytes,
                  blobs: Optional[dict], links: list) -> Book:
    """The book for numbering ``doc_id`` from the index ``rows``."""
    from . import numbering
    from .loader import is_valid_id
    if rows.segment:
        lines = rows.segment.split(b"\0")

        def row(i: int) -> tuple[str, str]:
            return _line(lines[i])
    else:
        def row(i: int) -> tuple[str, str]:
            return rows.paths[i], rows.blobs[i]

    whole: set[int] = set()
    at = rows.kinds.find(numbering.BROKEN)
    while at >= 0:                                  # files that do not load
        whole.add(at)
        at = rows.kinds.find(numbering.BROKEN, at + 1)
    if rows.shared:                                 # ids two files share
        shared = set(rows.shared)
        whole.update(i for i in range(len(rows.kinds))
                     if rows.kinds[i:i + 1] != numbering.NOT_A_DOCUMENT
                     and _id_of(row(i)[0]) in shared)

    def rows_of(ident: str) -> list[int]:
        if not is_valid_id(ident):
            return []
        lowered = ident.lower()
        if lowered in rows.shared:      # the first path that loads is the book's
            return sorted((i for i in whole if _id_of(row(i)[0]) == lowered),
                          key=lambda i: row(i)[0])
        if rows.segment:
            text, needle = rows.segment, ("/%s.yaml\0" % ident).encode()
            at = text.find(needle)
            if at < 0:
                text, needle = text.lower(), needle.lower()
                at = text.find(needle)
            return [text.count(b"\0", 0, at)] if at >= 0 else []
        return [i for i, p in enumerate(rows.paths) if _id_of(p) == lowered]

    def parse(i: int):
        path, blob = row(i)
        entry = parsed.get(path)
        if entry is None:
            entry = parsed[path] = _parse_one(root, path, blob)
        return entry

    doc = None
    for i in rows_of(doc_id):
        whole.add(i)
        entry = parse(i)
        if doc is None and entry is not None and entry.record is not None:
            doc = entry.record                      # the one the whole book holds
    if doc is not None and doc.kind == "credit_note" and doc.credits:
        invoice = doc.credits.lower()
        whole.update(rows_of(doc.credits))
        whole.update(i for i, c in rows.credits.items() if c.lower() == invoice)
    loaded: dict[str, _Entry] = {}
    for i in whole:
        entry = parse(i)
        if entry is not None:
            loaded[entry.path] = entry
    if SETTINGS_FILE not in links:                  # else its diagnostic says so
        settings = _parse_one(root, SETTINGS_FILE, "")
        if settings is not None:
            loaded[SETTINGS_FILE] = settings
    if doc is not None:
        for path, blob in _contacts(out, blobs, doc.contact):
            entry = _parse_one(root, path, blob)
            if entry is not None:
                loaded[path] = entry
    book = assemble(loaded, root=str(root))
    return numbering.mark_partial(book, numbering.Numbers(
        rows.kinds, rows.years, rows.numbers, rows.validated,
        lambda i: row(i)[0], frozenset(whole)))


def _contacts(out: bytes, blobs: Optional[dict], contact_id: str) -> list[tuple[str, str]]:
    """(path, blob) of the contact files whose id is ``contact_id`` (ignoring
    case), as :func:`load_book` lists them: ``blobs`` when given (the work
    tree has uncommitted edits), else git's index (``out``)."""
    lowered = contact_id.lower()
    if blobs is not None:
        pairs = list(blobs.items())
    else:
        pairs = [_line(line) for line in _segment(out, b"contacts/").split(b"\0") if line]
    return sorted((p, b) for p, b in pairs if p.startswith("contacts/") and p.count("/") == 1
                  and p.endswith(".yaml") and _id_of(p) == lowered)


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


def _remember_totals(book: Book, entries: dict, cached_key: str, parsed: set,
                     parsed_key: Optional[str]) -> bool:
    """Give the book the document totals its entries hold when computed with
    its settings — those of the entries kept from the cache with
    ``cached_key``, those of the ``parsed`` paths (by the parsing workers)
    with ``parsed_key`` (see cache.totals_key); compute and store the others.
    True when any was computed."""
    mine: list[Any] = [e for e in entries.values()
                       if type(e) is cache.DocumentEntry and e.record is not None]
    if len(mine) != len(book.documents):       # ids shared: only the records the book kept
        documents = book.documents
        mine = [e for e in mine if documents.get(e.record.id) is e.record]
    key = cache.totals_key(book.settings)
    if cached_key != key or (parsed and parsed_key != key):
        for entry in mine:
            if (parsed_key if entry.path in parsed else cached_key) != key:
                entry.total = None
    book.remember_totals([(e.record, e.total) for e in mine if e.total is not None])
    mine = [e for e in mine if e.total is None]
    for entry in mine:
        entry.total = book.total_of(entry.record)
    return bool(mine)


def assemble(entries: dict[str, _Entry], root: Optional[str] = None,
             more: Iterable[Diagnostic] = (), source: str = "") -> Book:
    """Build the Book from parsed entries (and ``more`` diagnostics); ids
    must be unique per kind, compared case-insensitively (SPEC 1).
    ``source``: the digest of the listing the entries are exactly (Book.source)."""
    ordered = [entries[path] for path in sorted(entries)]
    kinds: dict[type, list] = {cache.DocumentEntry: [], cache.ContactEntry: [],
                               cache.RecurrenceEntry: [], cache.SettingsEntry: []}
    for kind, group in kinds.items():
        group.extend(e for e in ordered if type(e) is kind and e.record is not None)
    tables = []
    for kind in (cache.ContactEntry, cache.DocumentEntry, cache.RecurrenceEntry):
        records = {e.record.id: e.record for e in kinds[kind]}
        if len(records) != len(kinds[kind]) or \
                len({key.lower() for key in records}) != len(records):
            return _assemble_shared_ids(ordered, root, more, source)
        tables.append(records)
    settings = kinds[cache.SettingsEntry][-1].record if kinds[cache.SettingsEntry] else Settings()
    diagnostics = [d for e in ordered if e.diagnostics for d in e.diagnostics]
    diagnostics.extend(more)
    contacts, documents, recurrences = tables
    return Book(settings, Table(contacts), Table(documents), Table(recurrences), diagnostics,
                root, source=source)


def _assemble_shared_ids(ordered: list, root: Optional[str], more: Iterable[Diagnostic],
                         source: str) -> Book:
    """:func:`assemble` when some ids are used twice: the first file (by path)
    keeps its id, each other one is named in a diagnostic."""
    settings = Settings()
    documents: dict[str, Any] = {}
    contacts: dict[str, Any] = {}
    recurrences: dict[str, Any] = {}
    diagnostics: list[Diagnostic] = []
    seen: dict[tuple[str, str], str] = {}
    tables: dict[type, dict[str, Any]] = {
        cache.DocumentEntry: documents, cache.ContactEntry: contacts,
        cache.RecurrenceEntry: recurrences}
    for entry in ordered:
        path = entry.path
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
                root, source=source)


def quiet_worker() -> None:
    """A pool worker's signals: SIGTERM (the pool ending it) ends it at once,
    as the kernel does, and Ctrl-C is the parent's to handle. A Python-level
    handler inherited from the CLI could miss a SIGTERM that arrives just
    before the worker blocks on the pool's queue, and hang the command."""
    import signal
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _parse_all(root: Path, todo: list[tuple[str, str]], processes: Optional[int],
               settings: Optional[Settings] = None) -> tuple[list, Optional[str]]:
    """The entries of the files ``todo`` lists, and the settings key
    (cache.totals_key) their documents' totals were computed with: on every
    core, each worker computes the totals of the documents it parsed, with
    the book's settings (``settings``, those already loaded, or the settings
    file parsed here first when ``todo`` holds it); in this process, none
    (None)."""
    if processes is None:
        processes = os.cpu_count() or 1
    if processes > 1 and len(todo) >= PARALLEL_THRESHOLD:
        settings_blob = next((blob for path, blob in todo if path == SETTINGS_FILE), None)
        if settings_blob is not None:
            settings = None
            first = _parse_one(root, SETTINGS_FILE, settings_blob)
            if first is not None and type(first) is cache.SettingsEntry and \
                    first.record is not None:
                settings = first.record
        import multiprocessing
        import multiprocessing.context
        context: multiprocessing.context.BaseContext
        try:
            context = multiprocessing.get_context("fork")
        except ValueError:
            context = multiprocessing.get_context()
        chunks = [todo[i::processes * 8] for i in range(processes * 8)]
        with context.Pool(processes, initializer=quiet_worker) as pool:
            packed = pool.map(_parse_chunk_packed,
                              [(str(root), chunk, settings) for chunk in chunks])
        return ([entry for data in packed for entry in cache.unpack_entries(data)],
                None if settings is None else cache.totals_key(settings))
    return _parse_chunk((str(root), todo)), None


def _parse_chunk(args) -> list:
    root, todo = args
    checked: set = set()        # folders found not to be links
    return [_parse_one(Path(root), path, blob, checked) for path, blob in todo]


def _parse_chunk_packed(args) -> bytes:
    """A worker's result as msgpack: far cheaper to send back than pickles;
    with the totals of its documents when the settings are given."""
    gc.disable()
    root, todo, settings = args
    entries = _parse_chunk((root, todo))
    if settings is not None:
        from .money import document_totals
        for entry in entries:
            if type(entry) is cache.DocumentEntry and entry.record is not None:
                entry.total = document_totals(entry.record, settings).total
    return cache.pack_entries(entries)


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
