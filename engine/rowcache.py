"""The status rows of a book, remembered in ``.facturier/rows.msgpack``.

:func:`engine.listing.document_rows` computes the status and amounts of every
document (SPEC 3) at a date: about a second on a 100,000-document book, every
time `facturier status` runs or the app opens. The rows are a pure function of
the book's files, the date and the engine's code, so when the book was loaded
from a listing of git that is byte for byte the one the rows were computed
for (``Book.source``, set by engine/book.py only then: no uncommitted edit,
no untracked file, no link, the cache trusted), they are read back instead.

One entry is kept: the last book and date asked, with what a face made of
them (``views``: the app's dashboard figures, as bytes it encodes itself),
so the app can draw its dashboard from :func:`remembered` before the book
is loaded (``load_book(listing=)`` then loads the very files listed). Like the record cache it is
a convenience, never a source of truth: anything that does not decode, or
that another version of the engine wrote (the key holds a digest of every
engine module), is ignored and computed again; it is written to a temporary
name and renamed into place; it lives only in a ``.facturier/`` facturier
made and git does not track (engine/safepath.py ``state_dir``, SPEC 1.5).
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import NamedTuple, Optional

import msgspec

from .book import BookListing, list_book
from .cache import own_folder, replace_file, source_digest
from .listing import Row, document_rows
from .model import Book

ROWS_FILE = "rows.msgpack"


class RowsFile(msgspec.Struct):
    key: str                    # engine code + the book's listing + the date
    rows: list[Row] = []
    views: dict[str, bytes] = {}    # name -> what a face made of this book and date


class Remembered(NamedTuple):
    listing: BookListing        # hand it to load_book(listing=): the same files
    rows: list[Row]
    view: Optional[bytes]       # the view asked for, None when none was kept


_decoder = msgspec.msgpack.Decoder(RowsFile)
_code: Optional[str] = None


def _code_digest() -> str:
    """A digest of every engine module: a status rule changed, rows computed again."""
    global _code
    if _code is None:
        _code = source_digest(sorted(Path(__file__).resolve().parent.glob("*.py")))
    return _code


def _key(source: str, as_of: dt.date) -> str:
    return "%s|%s|%s" % (_code_digest(), source, as_of.isoformat())


def _target(root) -> Optional[Path]:
    folder = own_folder(root)
    return folder / ROWS_FILE if folder is not None else None


def _read(target: Optional[Path], key: str) -> Optional[RowsFile]:
    if target is None:
        return None
    try:
        kept = _decoder.decode(target.read_bytes())
    except (OSError, msgspec.DecodeError, msgspec.ValidationError, ValueError, TypeError):
        return None
    return kept if kept.key == key else None


def _write(target: Path, kept: RowsFile) -> None:
    try:
        replace_file(target, kept)
    except OSError:
        pass                    # not an error of the book: computed again next time


def rows(book: Book, as_of: dt.date) -> list[Row]:
    """``document_rows(book, as_of)``, read back when this very book (by its
    listing) and date were computed before, else computed and remembered."""
    source = book.source
    target = _target(book.root) if source and book.root else None
    if target is None:
        return document_rows(book, as_of)
    key = _key(source, as_of)
    kept = _read(target, key)
    if kept is not None:
        return kept.rows
    computed = document_rows(book, as_of)
    _write(target, RowsFile(key, computed))
    return computed


def remembered(root, as_of: dt.date, view: str) -> Optional[Remembered]:
    """The rows (and the view named ``view``) of the book at ``root`` as it
    is now, when they were kept for exactly these files and this date; else
    None. Lists the files (git) but loads none."""
    listing = list_book(root)
    if listing is None or not listing.source:
        return None
    kept = _read(_target(root), _key(listing.source, as_of))
    if kept is None:
        return None
    return Remembered(listing, kept.rows, kept.views.get(view))


def remember_view(book: Book, as_of: dt.date, view: str, data: bytes) -> None:
    """Keep ``data`` as the view named ``view`` of this book and date, next to
    its rows (nothing when the rows of this book are not kept)."""
    target = _target(book.root) if book.source and book.root else None
    kept = _read(target, _key(book.source, as_of))
    if target is None or kept is None:
        return
    kept.views[view] = data
    _write(target, kept)
