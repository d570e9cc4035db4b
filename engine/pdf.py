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
import re
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
        raise RenderError("render.symlink", path=str(path.relative_to(root)))
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise RenderError("render.cannot_read", path=str(path), reason=exc.strerror or str(exc)) \
            from exc


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
            where = "templates/%s" % TEMPLATE if self.custom else "data/templates/%s" % TEMPLATE
            raise RenderError("render.compile", where=where, problem=_typst_problem(exc, where)) \
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


FACTURX_NAME = "factur-x.xml"
FACTURX_NS = "urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#"
_FACTURX_SCHEMA = (
    '<rdf:li rdf:parseType="Resource"><pdfaSchema:schema>Factur-X PDFA Extension Schema'
    '</pdfaSchema:schema><pdfaSchema:namespaceURI>%s</pdfaSchema:namespaceURI>'
    '<pdfaSchema:prefix>fx</pdfaSchema:prefix><pdfaSchema:property><rdf:Seq>%s</rdf:Seq>'
    '</pdfaSchema:property></rdf:li>') % (FACTURX_NS, "".join(
        '<rdf:li rdf:parseType="Resource"><pdfaProperty:name>%s</pdfaProperty:name>'
        '<pdfaProperty:valueType>Text</pdfaProperty:valueType><pdfaProperty:category>external'
        '</pdfaProperty:category><pdfaProperty:description>%s</pdfaProperty:description>'
        '</rdf:li>' % pair for pair in (
            ("DocumentFileName", "The name of the embedded XML document"),
            ("DocumentType", "The type of the hybrid document in capital letters, e.g. INVOICE"),
            ("Version", "The actual version of the standard applying to the embedded XML "
                        "document"),
            ("ConformanceLevel", "The conformance level of the embedded XML document"))))
_FACTURX_VALUES = (
    '<rdf:Description rdf:about="" xmlns:fx="%s"><fx:DocumentType>INVOICE</fx:DocumentType>'
    '<fx:DocumentFileName>%s</fx:DocumentFileName><fx:Version>1.0</fx:Version>'
    '<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel></rdf:Description>'
    % (FACTURX_NS, FACTURX_NAME))


def facturx_xmp(xmp: bytes) -> bytes:
    """Typst's XMP with the Factur-X extension schema and values added (the
    Factur-X 1.0 specification, section 6.2.2). Only text is added: the
    dates stay those Typst wrote, the document's own."""
    text = xmp.decode("utf-8")
    bag = "<pdfaExtension:schemas><rdf:Bag>"
    if bag not in text or "</rdf:RDF>" not in text:     # pragma: no cover - Typst's own layout
        raise RenderError("the PDF's XMP metadata has no PDF/A extension schemas to extend")
    text = text.replace(bag, bag + _FACTURX_SCHEMA, 1)
    text = text.replace("</rdf:RDF>", _FACTURX_VALUES + "</rdf:RDF>", 1)
    return text.encode("utf-8")


_TRAILER = re.compile(rb"trailer\s*<<(.*?)>>\s*startxref\s*(\d+)\s*%%EOF\s*$", re.S)
_METADATA_REF = re.compile(rb"/Metadata\s+(\d+)\s+0\s+R")


def _with_facturx_metadata(pdf: bytes) -> bytes:
    """The PDF with the Factur-X XMP, as an incremental update (PDF 1.7,
    7.5.6, allowed by PDF/A-3): the metadata stream is written again after the
    file with a new cross-reference section. Plain byte work on Typst's
    output (a classic cross-reference table, an uncompressed XMP stream): no
    clock, a fraction of a millisecond."""
    trailer = _TRAILER.search(pdf)
    root_ref = re.search(rb"/Root\s+(\d+)\s+0\s+R", trailer.group(1)) if trailer else None
    if trailer is None or root_ref is None:    # pragma: no cover - Typst's own layout
        raise RenderError("cannot add the Factur-X metadata: unexpected PDF trailer")
    previous = int(trailer.group(2))
    offsets = _xref_offsets(pdf, previous)
    catalog = _object_body(pdf, offsets[int(root_ref.group(1))])
    metadata_ref = _METADATA_REF.search(catalog)
    if metadata_ref is None:                    # pragma: no cover - PDF/A always has it
        raise RenderError("cannot add the Factur-X metadata: the PDF has no XMP")
    number = int(metadata_ref.group(1))
    body = _object_body(pdf, offsets[number])
    head, _, rest = body.partition(b"stream\n")
    length = re.search(rb"/Length\s+(\d+)", head)
    if length is None:                          # pragma: no cover - Typst's own layout
        raise RenderError("cannot add the Factur-X metadata: the XMP stream has no length")
    xmp = rest[:int(length.group(1))]
    new_xmp = facturx_xmp(xmp)
    update = bytearray(pdf)
    if not update.endswith(b"\n"):
        update += b"\n"
    at = len(update)
    update += b"%d 0 obj\n<</Length %d/Type/Metadata/Subtype/XML>>\nstream\n" % (
        number, len(new_xmp))
    update += new_xmp + b"\nendstream\nendobj\n"
    xref = len(update)
    update += b"xref\n0 1\n0000000000 65535 f\r\n%d 1\n%010d 00000 n\r\n" % (number, at)
    update += b"trailer\n<<%s/Prev %d>>\nstartxref\n%d\n%%%%EOF\n" % (
        trailer.group(1).strip(), previous, xref)
    return bytes(update)


def _xref_offsets(pdf: bytes, at: int) -> dict[int, int]:
    """Object number -> offset, from the classic cross-reference table at ``at``."""
    if pdf[at:at + 4] != b"xref":                # pragma: no cover - Typst's own layout
        raise RenderError("cannot add the Factur-X metadata: no cross-reference table")
    offsets: dict[int, int] = {}
    lines = pdf[at:pdf.index(b"trailer", at)].split(b"\n")[1:]
    index = 0
    while index < len(lines):
        fields = lines[index].split()
        index += 1
        if len(fields) != 2:
            continue
        first, count = int(fields[0]), int(fields[1])
        for number in range(first, first + count):
            entry = lines[index].split()
            index += 1
            if entry[2] == b"n":
                offsets[number] = int(entry[0])
    return offsets


def _object_body(pdf: bytes, offset: int) -> bytes:
    end = pdf.index(b"endobj", offset)
    return pdf[pdf.index(b"obj", offset) + 3:end]


def render_document(book: Book, doc: Document, lang: Optional[str] = None,
                    renderer: Optional[Renderer] = None) -> bytes:
    """The PDF of ``doc`` as the customer receives it (SPEC 8.1-8.3): invoices
    and credit notes are PDF/A-3b and, with ``einvoice: facturx``, carry the
    Factur-X XML as ``factur-x.xml``; an invoice carries the payment code
    ``payment_qr`` chooses (engine/paycode.py)."""
    from .paycode import payment_code
    from .sheet import document_sheet
    renderer = renderer or Renderer.for_book(book)
    sheet = document_sheet(book, doc, lang, payment={"qr": payment_code(book, doc, lang)})
    pdfa = doc.kind in PDFA_KINDS
    attachments = None
    if pdfa and book.settings.einvoice == "facturx":
        from .einvoice import cii_xml
        xml = cii_xml(book, doc)
        attachments = {FACTURX_NAME: (xml, "text/xml", "alternative", "Factur-X invoice")}
    pdf = renderer.render_sheet(sheet, timestamp_of(doc), pdfa=pdfa, attachments=attachments)
    if attachments:
        pdf = _with_facturx_metadata(pdf)
    return pdf


def pdf_name(doc: Document) -> str:
    """``<number or id>.pdf``, safe as a file name (a number may hold '/')."""
    base = doc.number if (doc.number and not doc.is_draft) else doc.id
    return "".join(c if c.isalnum() or c in "._-" else "_" for c in base) + ".pdf"


__all__ = ["Renderer", "RenderError", "render_document", "pdf_name", "timestamp_of"]
