"""`facturier export hledger|beancount` (SPEC 10.2): a face over engine/ledger.py."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import click

from . import main
from ..i18n import localize, plural
from .common import DATE, Context, fail, pass_ctx, say


@main.command("export")
@click.argument("ledger", type=click.Choice(["hledger", "beancount"]))
@click.option("--from", "start", type=DATE, default=None, help="First day exported.")
@click.option("--to", "end", type=DATE, default=None, help="Last day exported (included).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the journal to this file (default, or -: stdout).")
@pass_ctx
def export_command(ctx: Context, ledger: str, start, end, output: Optional[Path]):
    """Write the book as an hledger or beancount journal: validated invoices
    and credit notes, their payments, discounts and write-offs, and expenses,
    with the accounts of `accounts:` in facturier.yaml and each document's id
    and number as tags (hledger) or metadata (beancount). The same book gives
    the same text.

    Exit status 1 when a file of the book cannot be read (nothing is written)
    or an account name does not suit the format.
    """
    from ..ledger import LedgerError, export
    if start is not None and end is not None and end < start:
        fail(ctx.t("cli.to_before_from", end=end, start=start), 2)
    book = ctx.book
    if book.errors:
        files = sorted({d.path for d in book.errors})
        for path in files:
            say(ctx.t("cli.export.unreadable", problem=next(
                d for d in book.errors if d.path == path).render(ctx.lang)))
        fail(plural("cli.export.not_written", len(files), ctx.lang))
    try:
        text = export(book, ledger, start, end)
    except LedgerError as exc:
        fail("facturier.yaml: %s" % localize(exc, ctx.lang))
    if output is None or str(output) == "-":
        sys.stdout.write(text)
        return
    tmp = output.with_name(output.name + ".tmp")
    try:
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(output)
    except OSError as exc:
        fail(ctx.t("cli.cannot_write", path=output, reason=exc.strerror or exc))
    say(ctx.t("cli.wrote", path=output))
