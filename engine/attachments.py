"""The files an e-mail of a document carries (SPEC 5.2, 8): its PDF and, for
an invoice or credit note, the e-invoice its contact asks for.

Each file is rendered once: the :class:`Part` holds those bytes, its SHA-256
is computed from them and :func:`engine.mail.add_attachments` attaches them,
so the hash a delivery entry records is the hash of what was sent. Rendering
is deterministic (engine/pdf.py), so the same book gives the same hashes on
every machine.

What the contact's ``einvoice`` asks for (SPEC 1.3, 8.2):

- ``pdf`` (the default): the PDF — with the book's ``einvoice: facturx``, an
  invoice's PDF already carries the Factur-X XML;
- ``facturx``: the same Factur-X PDF; when the book says ``einvoice: none``
  (its PDFs embed nothing), the CII XML rides beside the PDF instead;
- ``xrechnung``: the PDF and the XRechnung XML (CII);
- ``ubl``: the PDF and the UBL 2.1 XML.

A reminder carries the invoice's PDF only: an e-invoice received a second
time would be booked a second time by the customer's software.

Not pure: the PDF is rendered with the book's template (engine/pdf.py).
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from . import i18n
from .diagnostics import FacturierError
from .model import Book, Document

i18n.register({
    "attach.cannot_write": {"en": "cannot write {path}: {reason}",
                            "fr": "impossible d'écrire {path} : {reason}"},
})

PDF_TYPE = "application/pdf"
XML_TYPE = "application/xml"


@dataclass(frozen=True)
class Part:
    """One attached file: its name, bytes and MIME type."""
    name: str
    data: bytes = field(repr=False)
    mime: str = PDF_TYPE

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def size(self) -> int:
        return len(self.data)

    def entry(self) -> dict:
        """What the delivery entry records: ``{name, sha256}``."""
        return {"name": self.name, "sha256": self.sha256}


class AttachmentError(FacturierError):
    """A file the e-mail must carry cannot be made; the message says why."""


def document_parts(book: Book, doc: Document, *, lang: Optional[str] = None,
                   renderer=None, reminder: bool = False) -> list[Part]:
    """The files an e-mail of ``doc`` carries, the PDF first (see the module
    docstring). ``renderer``: an ``engine.pdf.Renderer`` to reuse (a run
    renders every e-mail's PDF with one compiler). Raises FacturierError
    (RenderError, AttachmentError) when a file cannot be made."""
    from .pdf import pdf_name, render_document
    lang = i18n.language(lang or book.settings.locale)
    pdf = render_document(book, doc, lang=lang, renderer=renderer)
    parts = [Part(pdf_name(doc), pdf, PDF_TYPE)]
    if reminder:
        return parts
    xml = einvoice_for_contact(book, doc)
    if xml is not None:
        parts.append(Part(pdf_name(doc)[:-len(".pdf")] + ".xml", xml, XML_TYPE))
    return parts


def einvoice_for_contact(book: Book, doc: Document) -> Optional[bytes]:
    """The XML e-invoice sent beside the PDF for the contact's ``einvoice``
    choice, or None when the PDF is all (or ``doc`` has no e-invoice)."""
    from .einvoice import EINVOICE_KINDS, cii_xml, ubl_xml
    if doc.kind not in EINVOICE_KINDS:
        return None
    contact = book.contact(doc.contact)
    if contact is None:
        return None
    wanted = contact.einvoice
    if wanted == "xrechnung":
        return cii_xml(book, doc, flavor="xrechnung")
    if wanted == "facturx" and book.settings.einvoice != "facturx":
        return cii_xml(book, doc)
    if wanted == "ubl":
        return ubl_xml(book, doc)
    return None


def write_pdf(book: Book, doc: Document, target, *, lang: Optional[str] = None) -> Path:
    """Render ``doc`` and write its PDF to ``target`` (a file, or a folder
    that gets ``<number or id>.pdf``), under a temporary name then renamed,
    so a failure leaves no half file. Returns the path written. Raises
    FacturierError when it cannot be rendered or written."""
    from .pdf import pdf_name, render_document
    data = render_document(book, doc, lang=lang)
    path = Path(target).expanduser()
    if path.is_dir():
        path = path / pdf_name(doc)
    temporary = path.with_name(".%s.facturier-tmp" % path.name)
    try:
        temporary.write_bytes(data)
        temporary.replace(path)
    except OSError as exc:
        try:
            temporary.unlink()
        except OSError:
            pass
        raise AttachmentError("attach.cannot_write", path=str(path),
                              reason=exc.strerror or str(exc)) from None
    return path


__all__ = ["Part", "AttachmentError", "document_parts", "einvoice_for_contact", "write_pdf"]
