"""The numbering index in ``.facturier/``: what giving a legal number needs to
know of each document file, kept with the file's path and git blob id.

Giving the next number (SPEC 2: per kind and year, without gaps, never dated
before the last one) needs, of a book of 100,000 documents, only the kinds,
years, numbers, validation dates and credited invoices, and which files did
not load. Loading every record for that took seconds; this index keeps
those few fields per document file (one row per file, in columns), tied to
the file's path and git blob id like the parsed-record cache
(engine/cache.py), so it is exact: a row serves only the very bytes it was
made from, and a file whose blob id changed (edited by hand, committed or
not, pulled, rewritten by a replay) is parsed again (engine/book.py,
``load_for_numbering``). It is facturier's own under the record cache's
rule (SPEC 1.5): when anything under ``.facturier/`` is tracked by git, or
``.facturier`` is a link, no cache is read or written.

The rows follow ``segment``, the lines of ``git ls-files -s -z`` under
``documents/`` they were made from (mode, blob id, path), when the work tree
had no uncommitted edit then; otherwise ``paths`` and ``blobs`` (the blob
ids of the work tree's files). A book whose listing is the segment again
needs no parsing and no per-file comparison: one comparison of bytes. A
file that does not decode, or was written by another version of the
parsing code, is ignored. Written to a temporary name and renamed into
place.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import msgspec

from . import cache

INDEX_FILE = "numbers.msgpack"
VERSION = "2"                       # the layout below; with the parsing code's digest


class Rows(msgspec.Struct):
    """One row per document file (engine.numbering.Numbers reads them)."""
    engine: str = ""
    segment: bytes = b""            # the ls-files lines the rows follow, or b""
    paths: list[str] = []           # ... else the rows' paths
    blobs: list[str] = []           # ... and blob ids
    kinds: bytes = b""              # numbering.KIND_CODES; b"!" did not load, b"-" not a document
    years: list[int] = []           # the year of each document's date
    numbers: list[str] = []         # "" when none
    validated: list[int] = []       # the validation date's ordinal, 0 when none
    credits: dict[int, str] = {}    # row -> the invoice a credit note credits
    shared: list[str] = []          # ids (lowered) that two rows share


_decoder = msgspec.msgpack.Decoder(Rows)
_encoder = msgspec.msgpack.Encoder()


def _key() -> str:
    return "%s/%s" % (cache.engine_digest(), VERSION)


def read(root) -> Optional[Rows]:
    """The index of the book at ``root``; None when absent, stale or corrupt.
    The caller decides whether the book's ``.facturier/`` may be trusted."""
    try:
        data = (Path(root) / cache.CACHE_DIR / INDEX_FILE).read_bytes()
    except OSError:
        return None
    try:
        found = _decoder.decode(data)
    except (msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError):
        return None
    n = len(found.kinds)
    if found.engine != _key() or len(found.years) != n or len(found.numbers) != n or \
            len(found.validated) != n or (found.segment.count(b"\0") != n if found.segment
                                          else len(found.paths) != n or len(found.blobs) != n):
        return None
    return found


def write(root, rows: Rows) -> None:
    """Store ``rows``. Failure to write is not an error of the book: the next
    validation parses again."""
    folder = cache.own_folder(root)
    if folder is None:
        return
    try:
        rows.engine = _key()
        cache.replace_file(folder / INDEX_FILE, rows)
    except OSError:
        pass


def seed(root, documents: dict[str, str]) -> dict:
    """``{path: record or None}`` from the parsed-record cache, for the files
    it holds with the blob ids given (``{path: blob}``): a book whose index
    was never written need not be parsed again."""
    out: dict = {}
    for path, entry in cache.read_snapshot(root).entries.items():
        if type(entry) is cache.DocumentEntry and entry.blob and \
                documents.get(path) == entry.blob:
            out[path] = entry.record
    return out
