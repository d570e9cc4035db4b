"""`facturier log [ID] [--action A]...` (SPEC 5.3)."""
from __future__ import annotations

import click

from . import main
from .common import Context, emit_rows, fail, pass_ctx


@main.command("log")
@click.argument("ident", metavar="[ID]", required=False)
@click.option("--action", "actions", multiple=True, metavar="ACTION",
              help="Only this action (e.g. document.payment, manual); repeat for more.")
@click.option("--format", "fmt", type=click.Choice(("table", "json", "csv")), default="table",
              show_default=True, help="Output format.")
@pass_ctx
def log_command(ctx: Context, ident, actions, fmt):
    """The audit trail, oldest first: of one document, recurrence or contact
    (commits whose trailers name it, and commits that touched its file; hand
    edits show as `manual`), or of the whole book."""
    from ..book import find_root
    from ..history import ACTIONS, MANUAL, book_history, object_history
    known = ACTIONS + (MANUAL,)
    for action in actions:
        if action not in known:
            import difflib
            close = difflib.get_close_matches(action, known, n=1, cutoff=0.6)
            raise click.BadParameter(
                "%r is not an action%s (actions: %s)" % (
                    action, " — did you mean %r?" % close[0] if close else "",
                    ", ".join(known)), param_hint="--action")
    root = find_root(ctx.book_path)
    if ident:
        entries = object_history(root, ident, actions)
        if not entries and not actions:
            fail("nothing in the history names %s" % ident)
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
              r["author"].split(" <")[0], r["subject"]] for r in rows]
    emit_rows(rows, [("date", "Date"), ("commit", "Commit"), ("action", "Action"),
                     ("author", "Author"), ("subject", "Subject")], "table", table_rows=cells)
