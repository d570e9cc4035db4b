"""The parsed-record cache in ``.facturier/``.

One msgpack file holds, for every book file parsed before, its path, its git
blob id, the record (or None) and the file's diagnostics. A file is parsed
again only when its blob id changed. The cache is a convenience, never a source
of truth: a file that does not decode, or that was written by another version
of the engine (the key includes a digest of the parsing code), is ignored and
rebuilt. It is written to a temporary file and renamed into place, so a crash
never leaves half a cache.
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Optional

import msgspec

from .diagnostics import Diagnostic
from .model import Contact, Document, Recurrence, Settings

CACHE_DIR = ".facturier"
CACHE_FILE = "records.msgpack"


class DocumentEntry(msgspec.Struct, array_like=True, gc=False):
    path: str
    blob: str
    record: Optional[Document]
    diagnostics: list[Diagnostic]


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
    documents: list[DocumentEntry] = []
    contacts: list[ContactEntry] = []
    recurrences: list[RecurrenceEntry] = []
    settings: list[SettingsEntry] = []


_decoder = msgspec.msgpack.Decoder(CacheFile)
_encoder = msgspec.msgpack.Encoder()
_engine_digest: Optional[str] = None


def engine_digest() -> str:
    """A digest of the code that turns text into records: when it changes,
    every cached record is stale."""
    global _engine_digest
    if _engine_digest is None:
        h = hashlib.sha1()
        here = Path(__file__).resolve().parent
        for name in ("model.py", "loader.py", "yamlsafe.py", "diagnostics.py", "cache.py"):
            try:
                h.update((here / name).read_bytes())
            except OSError:
                h.update(name.encode())
        _engine_digest = h.hexdigest()
    return _engine_digest


def cache_path(root) -> Path:
    return Path(root) / CACHE_DIR / CACHE_FILE


def read(root) -> dict[str, object]:
    """``{path: entry}`` from the cache; empty when absent, stale or corrupt."""
    path = cache_path(root)
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    try:
        cached = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError):
        return {}
    if cached.engine != engine_digest():
        return {}
    entries: dict[str, object] = {}
    for group in (cached.documents, cached.contacts, cached.recurrences, cached.settings):
        for entry in group:
            entries[entry.path] = entry
    return entries


def pack_entries(entries) -> bytes:
    """Entries of any kinds as one msgpack payload (see unpack_entries)."""
    return _encoder.encode(_payload([e for e in entries if e is not None]))


def unpack_entries(data: bytes) -> list:
    cached = _decoder.decode(data)
    return [*cached.documents, *cached.contacts, *cached.recurrences, *cached.settings]


def _payload(entries) -> CacheFile:
    groups: dict[type, list] = {t: [] for t in ENTRY_TYPES.values()}
    for entry in entries:
        groups[type(entry)].append(entry)
    return CacheFile(engine=engine_digest(), documents=groups[DocumentEntry],
                     contacts=groups[ContactEntry], recurrences=groups[RecurrenceEntry],
                     settings=groups[SettingsEntry])


def write(root, entries: dict[str, object]) -> None:
    """Replace the cache with ``entries`` (atomically). Failure to write is not
    an error of the book: the next run simply parses again."""
    payload = _payload(entries.values())
    folder = Path(root) / CACHE_DIR
    try:
        folder.mkdir(exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".records-", dir=folder)
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(_encoder.encode(payload))
            os.replace(tmp, folder / CACHE_FILE)
        except BaseException:
            try:
                os.unlink(tmp)
            except OSError:
                pass
            raise
    except OSError:
        pass
