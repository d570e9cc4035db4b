"""The status rows of a book, remembered in ``.facturier/rows.msgpack``.

:func:`engine.listing.document_rows` computes the status and amounts of every
document (SPEC 3) at a date: about a second on a 100,000-document book, every
time `facturier status` runs or the app opens. The rows are a pure function of
the book's files, the date and the engine's code, so when the book was loaded
from a listing of git that is byte for byte the one the rows were computed
for (``Book.source``, set by engine/book.py only then: no uncommitted edit,
no untracked file, no link, the cache trusted), they are read back instead.

One entry is kept: the last book and date asked. Like the record cache it is
a convenience, never a source of truth: anything that does not decode, or
that another version of the engine wrote (the key holds a digest of every
engine module), is ignored and computed again; it is written to a temporary
name and renamed into place; it lives only in a ``.facturier/`` facturier
made and git does not track (engine/safepath.py ``state_dir``, SPEC 1.5).
"""
from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path
from typing import Optional

import msgspec

from .listing import Row, document_rows
from .model import Book

ROWS_FILE = "rows.msgpack"


class RowsFile(msgspec.Struct):
    key: str                    # engine code + the book's listing + the date
    rows: list[Row] = []


_decoder = msgspec.msgpack.Decoder(RowsFile)
_code: Optional[str] = None


def _code_digest() -> str:
    """A digest of every engine module: a status rule changed, rows computed again."""
    global _code
    if _code is None:
        h = hashlib.sha1()
        for module in sorted(Path(__file__).resolve().parent.glob("*.py")):
            h.update(module.name.encode())
            try:
                h.update(module.read_bytes())
            except OSError:
                pass
        _code = h.hexdigest()
    return _code


def rows(book: Book, as_of: dt.date) -> list[Row]:
    """``document_rows(book, as_of)``, read back when this very book (by its
    listing) and date were computed before, else computed and remembered."""
    source = book.source
    if not source or not book.root:
        return document_rows(book, as_of)
    from .safepath import UnsafePath, state_dir
    key = "%s|%s|%s" % (_code_digest(), source, as_of.isoformat())
    try:
        folder = state_dir(book.root)
    except (UnsafePath, OSError):
        return document_rows(book, as_of)
    target = folder / ROWS_FILE
    try:
        kept = _decoder.decode(target.read_bytes())
        if kept.key == key:
            return kept.rows
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError):
        pass
    computed = document_rows(book, as_of)
    from .cache import replace_file
    try:
        replace_file(target, RowsFile(key, computed))
    except OSError:
        pass                    # not an error of the book: computed again next time
    return computed
