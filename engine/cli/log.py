"""`facturier log [ID] [--action A]...` (SPEC 5.3)."""
from __future__ import annotations

import click

from ..i18n import localize
from . import main
from .common import Context, emit_rows, fail, pass_ctx


def _object_id(ctx: Context, ident: str) -> str:
    """A document's number stands for its id (SPEC 6); an id of a document,
    recurrence or contact is kept as it is (also when the object is gone: its
    history remains)."""
    from pathlib import Path

    from ..actions import find_document_path
    from ..loader import is_valid_id
    if find_document_path(ctx.book_path, ident) is not None:
        return ident
    root = Path(ctx.book_path)
    if is_valid_id(ident) and any((root / folder / ("%s.yaml" % ident)).is_file()
                                  for folder in ("recurrences", "contacts")):
        return ident            # without loading the book
    book = ctx.book
    if book.recurrence(ident) is not None or book.contact(ident) is not None:
        return ident
    from ..lookup import documents_numbered, resolve_document
    if documents_numbered(book, ident):
        return resolve_document(book, ident).id
    return ident


@main.command("log")
@click.argument("ident", metavar="[ID]", required=False)
@click.option("--action", "actions", multiple=True, metavar="ACTION",
              help="Only this action (e.g. document.payment, manual); repeat for more.")
@click.option("--format", "fmt", type=click.Choice(("table", "json", "csv")), default="table",
              show_default=True, help="Output format.")
@pass_ctx
def log_command(ctx: Context, ident, actions, fmt):
    """The audit trail, oldest first: of one document (by id or number),
    recurrence or contact (commits whose trailers name it, and commits that
    touched its file; hand edits show as `manual`), or of the whole book."""
    from ..book import find_root
    from ..history import ACTIONS, MANUAL, book_history, object_history
    known = ACTIONS + (MANUAL,)
    for action in actions:
        if action not in known:
            import difflib
            close = difflib.get_close_matches(action, known, n=1, cutoff=0.6)
            raise click.BadParameter(ctx.t(
                "cli.log.not_action_close" if close else "cli.log.not_action", action=action,
                close=close[0] if close else "", actions=", ".join(known)), param_hint="--action")
    root = find_root(ctx.book_path)
    if ident:
        ident = _object_id(ctx, ident)
        entries = object_history(root, ident, actions)
        if not entries and not actions:
            fail(ctx.t("cli.log.nothing", id=ident))
    else:
        entries = book_history(root, actions)
    rows = [e.as_json() for e in entries]
    if fmt == "json":
        emit_rows(rows, [], "json")
        return
    if fmt == "csv":
        emit_rows([dict(r, documents=" ".join(r["documents"]),
                        recurrences=" ".join(r["recurrences"]),
                        contacts=" ".join(r["contacts"])) for r in rows],
                  [(k, k) for k in ("commit", "date", "author", "action", "documents",
                                    "recurrences", "contacts", "subject")], "csv")
        return
    cells = [[r["date"][:16].replace("T", " "), r["commit"][:10], r["action"],
              r["author"].split(" <")[0], localize(r["subject"], ctx.lang) + "".join(
                  "  [%s %s…]" % (a["name"], a["sha256"][:12]) for a in r["attachments"])]
             for r in rows]
    emit_rows(rows, [(k, ctx.t("cli.log.heading." + k))
                     for k in ("date", "commit", "action", "author", "subject")],
              "table", table_rows=cells,
              keep=("date", "commit", "action"))
