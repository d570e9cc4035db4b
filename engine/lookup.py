"""Finding a document by what a person types: its id or its number (SPEC 6).

Pure: the book in, a document out. Every face (CLI, app) resolves a
person's reference here, so that `facturier doc pay 2025-0042 50` and the app
agree on which document that is.

Choices where the SPEC is silent (docs/cli.md repeats them):
- an id wins over a number: ids are unique (ignoring case), and facturier's
  own ids (``inv-20250105-k3f9``, ``hosting-acme-2025-03-01``) never look like
  the numbers it gives;
- numbers are compared ignoring case, like ids;
- a number two documents share (an invoice and a quote both numbered
  ``2025-0042`` when their series have the same format) is refused, naming
  every candidate by kind, number and id.
"""
from __future__ import annotations

from .diagnostics import ActionRefused
from .i18n import Message
from .model import Book, Document


def documents_numbered(book: Book, number: str) -> list[Document]:
    """Every document whose number is ``number`` (ignoring case), by kind and id."""
    wanted = number.strip().lower()
    if not wanted:
        return []
    found = [d for d in book.documents.values() if d.number and d.number.lower() == wanted]
    return sorted(found, key=lambda d: (d.kind, d.id))


def resolve_document(book: Book, ref: str) -> Document:
    """The document ``ref`` names: its id, else its number.

    Raises :class:`ActionRefused` when nothing has that id or number, or when
    several documents carry that number (the candidates are named).
    """
    doc = book.document(ref)
    if doc is not None:
        return doc
    found = documents_numbered(book, ref)
    if len(found) == 1:
        return found[0]
    if not found:
        raise ActionRefused("refuse.no_document", id=ref)
    raise ActionRefused("refuse.ambiguous_number", number=ref, n=len(found), candidates=[
        Message("doc.label", kind=Message("kind.word.%s" % d.kind), number=d.number, id=d.id)
        for d in found])


def document_id(book: Book, ref: str) -> str:
    """The id of the document ``ref`` names (see :func:`resolve_document`)."""
    return resolve_document(book, ref).id
