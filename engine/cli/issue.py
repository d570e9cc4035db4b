"""`facturier doc pdf` and `facturier doc export`: the document a customer
receives (SPEC 8.1, 8.2)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from ..i18n import Message, localize
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
        fail(words("cli.cannot_write", path=target, reason=exc.strerror or exc))
    say(words("cli.wrote_bytes", path=target, n=len(data)))


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
        fail(localize(exc, ctx.lang))
    _write_output(data, output, pdf_name(doc))


@doc_group.command("export")
@click.argument("doc_id", metavar="ID")
@click.option("--format", "fmt", type=click.Choice(["cii", "xrechnung"]), default="cii",
              show_default=True, help="cii: UN/CEFACT CII, EN 16931 (the XML of Factur-X); "
                                      "xrechnung: the German CIUS on CII.")
@click.option("-o", "--output", default=None, metavar="FILE",
              help="Where to write it ('-' for stdout; default <number or id>.xml here).")
@pass_ctx
def export_command(ctx: Context, doc_id: str, fmt: str, output: Optional[str]):
    """Write the e-invoice of invoice or credit note ID (SPEC 8.2)."""
    from ..einvoice import EINVOICE_KINDS, cii_xml
    from ..pdf import pdf_name
    book = ctx.book
    doc = _find(book, doc_id)
    if doc.kind not in EINVOICE_KINDS:
        fail(ctx.t("cli.issue.no_einvoice", id=doc.id, kind=Message("kind.a." + doc.kind)))
    data = cii_xml(book, doc, flavor="facturx" if fmt == "cii" else "xrechnung")
    _write_output(data, output, pdf_name(doc)[:-4] + ".xml")
