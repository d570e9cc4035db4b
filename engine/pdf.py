"""Rendering a document to PDF with the Typst compiler (SPEC 8.1).

One :class:`Renderer` holds one ``typst.Compiler`` and the shipped fonts: build
it once and render many documents (a few milliseconds each). The layout is a
Typst template read through :mod:`engine.resources` (``data/templates/
document.typ``), or a book's own ``templates/document.typ``; the data is the
JSON of :func:`engine.sheet.document_sheet`, passed as ``sys.inputs.data``.

Deterministic: only the shipped fonts are used (system fonts are ignored), the
PDF's timestamp is the document's date (midnight UTC), and the file identifier
is derived from the content by Typst, so the same book gives the same bytes on
every machine. Invoices and credit notes are PDF/A-3b; with ``einvoice:
facturx`` they carry the Factur-X XML (engine/facturx.py).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import tempfile
from pathlib import Path
from typing import Optional

from .diagnostics import FacturierError
from .model import Book, Document
from .resources import data_path

TEMPLATE = "document.typ"
BOOK_TEMPLATES = "templates"
PDFA_KINDS = ("invoice", "credit_note")


class RenderError(FacturierError):
    """A template does not compile; the message says where and why."""


_font_dir: Optional[str] = None


def _fonts_folder() -> str:
    """A folder holding the shipped fonts: the package folder itself when it is
    on the file system, else a private copy (a zipped install)."""
    global _font_dir
    if _font_dir is None:
        fonts = data_path("fonts")
        if isinstance(fonts, Path) or os.path.isdir(str(fonts)):
            _font_dir = str(fonts)
        else:                                       # pragma: no cover - zipped install
            folder = tempfile.mkdtemp(prefix="facturier-fonts-")
            for entry in fonts.iterdir():
                if entry.name.endswith(".ttf"):
                    (Path(folder) / entry.name).write_bytes(entry.read_bytes())
            _font_dir = folder
    return _font_dir


def timestamp_of(doc: Document) -> dt.datetime:
    """The PDF's creation date: the document's date (validation date once
    validated), at midnight UTC — never the clock."""
    day = doc.date
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.timezone.utc)


def book_template(root) -> Optional[bytes]:
    """The book's own ``templates/document.typ``, or None. A symbolic link is
    refused (SPEC 1.5): never followed."""
    if root is None:
        return None
    path = Path(root) / BOOK_TEMPLATES / TEMPLATE
    folder = Path(root) / BOOK_TEMPLATES
    if folder.is_symlink() or path.is_symlink():
        raise RenderError("%s is a symbolic link: facturier never follows one in a book "
                          "(SPEC 1.5); replace it with a file" % path.relative_to(root))
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RenderError("cannot read %s: %s" % (path, exc.strerror or exc)) from exc


class Renderer:
    """Typst, its fonts and the template, ready to render documents."""

    def __init__(self, template: Optional[bytes] = None, root: Optional[str] = None):
        import typst
        self.template = template if template is not None else data_path(
            "templates", TEMPLATE).read_bytes()
        self.custom = template is not None
        self.root = root
        fonts = typst.Fonts(include_system_fonts=False, include_embedded_fonts=False,
                            font_paths=[_fonts_folder()])
        self._compiler = typst.Compiler(font_paths=fonts, ignore_system_fonts=True,
                                        root=root or None)

    @classmethod
    def for_book(cls, book: Book) -> "Renderer":
        """The book's own template when it has one, else the shipped one."""
        template = book_template(book.root)
        if template is None:
            return cls()
        return cls(template, root=str(Path(str(book.root)) / BOOK_TEMPLATES))

    def render_sheet(self, sheet: dict, timestamp: dt.datetime, pdfa: bool = False,
                     attachments: dict | None = None) -> bytes:
        """PDF bytes of one sheet. ``attachments``: {name: (bytes, mime type,
        relationship, description)} embedded as PDF/A-3 associated files."""
        import typst
        data = dict(sheet)
        names = sorted(attachments or {})
        data["attachments"] = names
        inputs = {"data": json.dumps(data, ensure_ascii=False, sort_keys=True)}
        source = self.template
        if attachments:
            source = source + _attach_source(attachments)
            for index, name in enumerate(names):
                inputs["attachment%d" % index] = attachments[name][0].decode("utf-8")
        try:
            pdf = self._compiler.compile(input=source, format="pdf", sys_inputs=inputs,
                                         pdf_standards="a-3b" if pdfa else [],
                                         timestamp=timestamp)
        except typst.TypstError as exc:
            where = "templates/%s" % TEMPLATE if self.custom else "the shipped template"
            raise RenderError("%s does not compile: %s" % (where, _typst_problem(exc, where))) \
                from None
        assert isinstance(pdf, bytes)
        return pdf


def _typst_problem(exc: Exception, where: str) -> str:
    """Typst's diagnostic (with line and column), naming the template file."""
    text = str(getattr(exc, "diagnostic", "") or "")
    if not isinstance(text, str) or not text.strip():
        text = str(exc)
    import re
    text = re.sub(r"[^\s:]*__typst_py_bytes__\.typ", where, text).strip()
    return text[:2000]


def _attach_source(attachments: dict) -> bytes:
    """Typst lines embedding each attachment (text files) as an associated file."""
    lines = ["\n"]
    for index, name in enumerate(sorted(attachments)):
        _, mime, relationship, description = attachments[name]
        lines.append('#pdf.attach(%s, bytes(sys.inputs.attachment%d), relationship: %s, '
                     'mime-type: %s, description: %s)\n' % (
                         json.dumps(name), index, json.dumps(relationship), json.dumps(mime),
                         json.dumps(description)))
    return "".join(lines).encode("utf-8")


def render_document(book: Book, doc: Document, lang: Optional[str] = None,
                    renderer: Optional[Renderer] = None) -> bytes:
    """The PDF of ``doc`` as the customer receives it (SPEC 8.1-8.3)."""
    from .sheet import document_sheet
    renderer = renderer or Renderer.for_book(book)
    sheet = document_sheet(book, doc, lang)
    pdfa = doc.kind in PDFA_KINDS
    return renderer.render_sheet(sheet, timestamp_of(doc), pdfa=pdfa)


def pdf_name(doc: Document) -> str:
    """``<number or id>.pdf``, safe as a file name (a number may hold '/')."""
    base = doc.number if (doc.number and not doc.is_draft) else doc.id
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in base) + ".pdf"


__all__ = ["Renderer", "RenderError", "render_document", "pdf_name", "timestamp_of"]
