"""`facturier doc pdf` and `facturier doc export`: the document a customer
receives (SPEC 8.1, 8.2). Messages come from engine/i18n.py (`cli.issue.*`)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from .common import Context, fail, pass_ctx, say, words
from .doc import _find, doc_group


def _write_output(data: bytes, output: Optional[str], default_name: str) -> None:
    """``-o -``: stdout; no ``-o``: ``default_name`` in the current folder;
    written to a temporary name then renamed, so a failure leaves no half file."""
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(output or default_name)
    temporary = target.with_name(".%s.facturier-tmp" % target.name)
    try:
        temporary.write_bytes(data)
        temporary.replace(target)
    except OSError as exc:
        try:
            temporary.unlink()
        except OSError:
            pass
        fail(words("cli.issue.cannot_write", path=str(target), reason=exc.strerror or str(exc)))
    say(words("cli.issue.wrote", path=str(target), size=len(data)))


@doc_group.command("pdf")
@click.argument("doc_id", metavar="ID")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Where to write it ('-' for stdout; default <number or id>.pdf here).")
@pass_ctx
def pdf_command(ctx: Context, doc_id: str, output: Optional[str]):
    """Render document ID to PDF, in the book's language (--lang to change it).

    Invoices and credit notes are PDF/A-3b; the same book gives the same bytes."""
    from ..pdf import RenderError, pdf_name, render_document
    book = ctx.book
    doc = _find(book, doc_id)
    try:
        data = render_document(book, doc, lang=ctx.lang)
    except RenderError as exc:
        fail(exc.render(ctx.lang))
    _write_output(data, output, pdf_name(doc))


EXPORTERS = {"cii": "facturx", "xrechnung": "xrechnung", "ubl": "ubl"}


@doc_group.command("export")
@click.argument("doc_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(list(EXPORTERS)), default="cii",
              show_default=True, help="cii: UN/CEFACT CII, EN 16931 (the XML of Factur-X); "
                                      "xrechnung: the German CIUS on CII; ubl: OASIS UBL 2.1, "
                                      "EN 16931.")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Where to write it ('-' for stdout; default <number or id>.xml here).")
@pass_ctx
def export_command(ctx: Context, doc_id: str, fmt: str, output: Optional[str]):
    """Write the e-invoice of invoice or credit note ID (SPEC 8.2)."""
    from ..einvoice import EINVOICE_KINDS, cii_xml, ubl_xml
    from ..i18n import Message
    from ..pdf import pdf_name
    book = ctx.book
    doc = _find(book, doc_id)
    if doc.kind not in EINVOICE_KINDS:
        fail(ctx.t("cli.issue.no_einvoice", id=doc.id, kind=Message("kind.a.%s" % doc.kind)))
    data = ubl_xml(book, doc) if fmt == "ubl" else cii_xml(book, doc, flavor=EXPORTERS[fmt])
    _write_output(data, output, pdf_name(doc)[:-4] + ".xml")
