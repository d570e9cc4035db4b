"""The parsed-record cache in ``.facturier/``.

For every book file parsed before, the cache holds its path, its git blob id,
the record (or None) and the file's diagnostics, and for documents their total
(valid for the settings it was computed with). A file is parsed again only
when its blob id changed.

Two files: ``records.msgpack`` (the base, every entry) and
``records-delta.msgpack`` (entries changed or removed since the base). A run
that re-parsed a few files writes only the small delta, so editing one document
in a 100,000-document book costs milliseconds, not a 40 MB rewrite; the base is
rewritten when the delta grows past a twentieth of the book.

The cache is a convenience, never a source of truth: a file that does not
decode, or that was written by another version of the engine (the key includes
a digest of the parsing code), is ignored and rebuilt. It is facturier's own
(SPEC 1.5): when anything under ``.facturier/`` is tracked by git (it came
with a clone, and could hide documents) or ``.facturier`` is a link, the book
is loaded without it and none is written (engine/book.py). Files are written to a
temporary name and renamed into place, so a crash never leaves half a cache.
"""
from __future__ import annotations

import hashlib
import os
import secrets
import tempfile
from decimal import Decimal
from pathlib import Path
from typing import Mapping, Optional

import msgspec

from .diagnostics import Diagnostic
from .model import Contact, Document, Recurrence, Settings

CACHE_DIR = ".facturier"
CACHE_FILE = "records.msgpack"
DELTA_FILE = "records-delta.msgpack"


class DocumentEntry(msgspec.Struct, array_like=True, gc=False):
    path: str
    blob: str
    record: Optional[Document]
    diagnostics: list[Diagnostic]
    total: Optional[Decimal] = None


class ContactEntry(msgspec.Struct, array_like=True, gc=False):
    path: str
    blob: str
    record: Optional[Contact]
    diagnostics: list[Diagnostic]


class RecurrenceEntry(msgspec.Struct, array_like=True, gc=False):
    path: str
    blob: str
    record: Optional[Recurrence]
    diagnostics: list[Diagnostic]


class SettingsEntry(msgspec.Struct, array_like=True, gc=False):
    path: str
    blob: str
    record: Optional[Settings]
    diagnostics: list[Diagnostic]


ENTRY_TYPES = {"document": DocumentEntry, "contact": ContactEntry,
               "recurrence": RecurrenceEntry, "settings": SettingsEntry}


class CacheFile(msgspec.Struct):
    engine: str
    base_id: str = ""                   # ties a delta to the base it extends
    totals_key: str = ""                # the settings the document totals were computed with
    listing: str = ""                   # digest of git's listing the entries are exactly
    documents: list[DocumentEntry] = []
    contacts: list[ContactEntry] = []
    recurrences: list[RecurrenceEntry] = []
    settings: list[SettingsEntry] = []
    removed: list[str] = []             # delta only: paths gone since the base


class Snapshot(msgspec.Struct):
    """What was read: every entry (base with the delta applied), the base's
    own entries (to tell what changed since), and the keys."""
    entries: dict = {}
    base: dict = {}
    base_id: str = ""
    totals_key: str = ""
    delta_size: int = 0
    listing: str = ""       # see listing_digest: "" when not known


_encoder = msgspec.msgpack.Encoder()


class _Decoder:
    """The cache's decoder, made when a cache is first read (resolving every
    record type takes a few milliseconds that an action on one document,
    which reads no cache, need not spend)."""
    _made: Optional["msgspec.msgpack.Decoder[CacheFile]"] = None

    def decode(self, data: bytes) -> CacheFile:
        if self._made is None:
            self._made = msgspec.msgpack.Decoder(CacheFile)
        return self._made.decode(data)


_decoder = _Decoder()
_engine_digest: Optional[str] = None


def source_digest(files) -> str:
    """A digest of these source files (names and bytes): what keys a cache
    to the code that made it (a file that cannot be read counts by name)."""
    h = hashlib.sha1()
    for path in files:
        h.update(Path(path).name.encode())
        try:
            h.update(Path(path).read_bytes())
        except OSError:
            pass
    return h.hexdigest()


def engine_digest() -> str:
    """A digest of the code that turns text into records: when it changes,
    every cached record is stale."""
    global _engine_digest
    if _engine_digest is None:
        here = Path(__file__).resolve().parent
        _engine_digest = source_digest(here / name for name in (
            "model.py", "loader.py", "yamlsafe.py", "diagnostics.py", "cache.py", "money.py"))
    return _engine_digest


def own_folder(root, create: bool = True) -> Optional[Path]:
    """The book's ``.facturier/`` to write a cache into, never through a link
    (engine/safepath.py ``state_dir``), made when ``create`` and absent, and
    ignoring itself for git: a book made by hand may lack facturier's
    .gitignore, and a cache must never be committed by a `git add -A`. None
    when it cannot be had: not an error of the book (the cache is made again)."""
    from .safepath import UnsafePath, state_dir
    try:
        folder = state_dir(root, create=create)
        if not folder.is_dir():
            return None
        ignore = folder / ".gitignore"
        if not ignore.exists():
            ignore.write_text("*\n")
        return folder
    except (UnsafePath, OSError):
        return None


def totals_key(settings: Settings) -> str:
    """What a document's total depends on besides the document itself."""
    return "%s|%s" % (settings.currency, settings.vat)


def cache_path(root) -> Path:
    return Path(root) / CACHE_DIR / CACHE_FILE


def _decode(path: Path) -> Optional[CacheFile]:
    try:
        data = path.read_bytes()
    except OSError:
        return None
    try:
        cached = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError):
        return None
    return cached if cached.engine == engine_digest() else None


def _entries(cached: CacheFile) -> dict:
    entries: dict[str, object] = {}
    for group in (cached.documents, cached.contacts, cached.recurrences, cached.settings):
        for entry in group:
            entries[entry.path] = entry
    return entries


def read_snapshot(root) -> Snapshot:
    """The cache of the book at ``root``; empty when absent, stale or corrupt."""
    folder = Path(root) / CACHE_DIR
    base = _decode(folder / CACHE_FILE)
    if base is None:
        return Snapshot()
    base_entries = _entries(base)
    entries = dict(base_entries)
    delta = _decode(folder / DELTA_FILE)
    size = 0
    listing = base.listing
    if delta is not None and delta.base_id == base.base_id and \
            delta.totals_key == base.totals_key:
        changed = _entries(delta)
        entries.update(changed)
        for path in delta.removed:
            entries.pop(path, None)
        size = len(changed) + len(delta.removed)
        listing = delta.listing
    return Snapshot(entries, base_entries, base.base_id, base.totals_key, size, listing)


def listing_digest(out: bytes, status: bytes) -> str:
    """What ties the cache to a listing of the book (engine/gitrepo.py
    ``listing``): when git's index listing is byte for byte the one the
    entries were written for, with no uncommitted edit, untracked file or
    link, every entry is the file's and the book loads without comparing
    100,000 blob ids. "" (never equal) when the listing is not that simple."""
    return hashlib.sha1(out).hexdigest() if plain_listing(out, status) else ""


def plain_listing(out: bytes, status: bytes) -> bool:
    """No uncommitted edit, untracked file or link in git's listing: the
    index is the work tree, each file's blob id is the one listed."""
    return not status and b"120000 " not in out


def read(root) -> dict[str, object]:
    """``{path: entry}`` from the cache; empty when absent, stale or corrupt."""
    return read_snapshot(root).entries


def pack_entries(entries) -> bytes:
    """Entries of any kinds as one msgpack payload (see unpack_entries)."""
    return _encoder.encode(_payload([e for e in entries if e is not None]))


def unpack_entries(data: bytes) -> list:
    cached = _decoder.decode(data)
    return [*cached.documents, *cached.contacts, *cached.recurrences, *cached.settings]


def _payload(entries, **keys) -> CacheFile:
    groups: dict[type, list] = {t: [] for t in ENTRY_TYPES.values()}
    for entry in entries:
        groups[type(entry)].append(entry)
    return CacheFile(engine=engine_digest(), documents=groups[DocumentEntry],
                     contacts=groups[ContactEntry], recurrences=groups[RecurrenceEntry],
                     settings=groups[SettingsEntry], **keys)


def write(root, entries: Mapping[str, object], previous: Optional[Snapshot] = None,
          totals: str = "", listing: str = "") -> None:
    """Store ``entries``: as a small delta over the previous base when few
    changed since it (and the totals' settings did not), else as a new base.
    ``listing``: the digest of the listing ``entries`` are exactly
    (:func:`listing_digest`), kept with them.
    Failure to write is not an error of the book: the next run parses again."""
    folder = own_folder(root)
    if folder is None:
        return
    try:
        if previous is not None and previous.base_id and previous.totals_key == totals:
            base = previous.base
            changed = [e for p, e in entries.items() if base.get(p) is not e]
            removed = [p for p in base if p not in entries]
            if len(changed) + len(removed) <= max(500, len(entries) // 20):
                _replace(folder / DELTA_FILE, _payload(
                    changed, base_id=previous.base_id, totals_key=totals, removed=removed,
                    listing=listing))
                return
        _replace(folder / CACHE_FILE, _payload(entries.values(), base_id=secrets.token_hex(8),
                                               totals_key=totals, listing=listing))
        try:
            os.unlink(folder / DELTA_FILE)
        except FileNotFoundError:
            pass
    except OSError:
        pass


def _replace(target: Path, payload: msgspec.Struct) -> None:
    replace_file(target, payload)


def replace_file(target: Path, payload: msgspec.Struct) -> None:
    """Write ``payload`` (msgpack) as ``target``: to a temporary name, then
    renamed into place, so a crash never leaves half a file."""
    fd, tmp = tempfile.mkstemp(prefix=".records-", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(_encoder.encode(payload))
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
