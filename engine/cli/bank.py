"""`facturier import bank FILE…` (SPEC 10.3): a face over engine/bank.py."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import click

from . import main
from ..i18n import localize, plural, render
from .common import Context, emit_json, fail, pass_ctx, say


@main.group("import")
def import_group():
    """Bring outside records into the book: bank statements (SPEC 10.3)."""


@import_group.command("bank")
@click.argument("files", nargs=-1, required=True,
                type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--csv-map", "csv_map", default=None, metavar="FIELD=COLUMN,…",
              help="Read the files as CSV, with these columns: date, amount and reference "
                   "are needed; currency, debtor, structured, text are optional "
                   "(e.g. 'date=Date,amount=Credit,reference=Id,text=Purpose').")
@click.option("--dry-run", is_flag=True, help="Match and list, record nothing.")
@click.option("--assign", "assign", multiple=True, metavar="REFERENCE=DOCUMENT",
              help="Record the entry with this bank reference (one the matching left for a "
                   "person: unmatched or ambiguous) as a payment of this invoice, one commit "
                   "each, after the file's import. Repeatable.")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@pass_ctx
def import_bank_command(ctx: Context, files, csv_map: Optional[str], dry_run: bool, assign,
                        fmt: str):
    """Record the credits of bank statements (ISO 20022 camt.053 / camt.054, or CSV
    with --csv-map) as payments of the invoices they match: by structured
    reference (QR or RF creditor reference), else an invoice number in the
    remittance text, else the one open invoice of that customer with that exact
    amount. One commit per file; an entry already recorded (its bank reference
    is a payment's reference) is never recorded twice. Unmatched and ambiguous
    entries are listed for a person; nothing is guessed.

    Exit status 0 when every file was read (unmatched entries included), 1 when
    a file could not be read or recorded, or an --assign was refused or names
    no entry of the files (the other files and assignments are still done).
    """
    from ..api import AssignCredit, ImportStatement, now_in, perform
    from ..bank import StatementError, match_credits, parse_csv_map, read_statement
    assignments: dict[str, str] = {}
    for given in assign:
        reference, sep, document = given.partition("=")
        if not sep or not reference.strip() or not document.strip():
            fail(ctx.t("cli.bank.assign_usage", given=given), 2)
        assignments[reference.strip()] = document.strip()
    if assignments and dry_run:
        fail(ctx.t("cli.bank.assign_dry"), 2)
    mapping = None
    if csv_map is not None:
        try:
            mapping = parse_csv_map(csv_map)
        except StatementError as exc:
            fail(exc.render(ctx.lang), 2)
    results: list[dict] = []
    problems = 0
    settings, as_of = ctx.settings, ctx.as_of
    for path in files:
        entry: dict = {"file": str(path), "kind": None, "commit": None, "recorded": [],
                       "already": [], "unmatched": [], "ambiguous": [], "skipped": [],
                       "assigned": [], "error": None}
        results.append(entry)
        try:
            statement = read_statement(path.read_bytes(), path.name, mapping, settings.currency)
        except OSError as exc:
            entry["error"] = ctx.t("cli.export.unreadable", problem=exc.strerror or exc)
        except StatementError as exc:
            entry["error"] = exc.message     # English in JSON, the person's language below
        if entry["error"]:
            problems += 1
            say(ctx.t("cli.bank.nothing", path=path, problem=entry["error"]))
            continue
        entry["kind"] = statement.kind
        entry["skipped"] = statement.skipped
        if dry_run:            # matched on the book as it is, nothing recorded
            matches = match_credits(ctx.book, statement.credits, as_of)
        else:                  # matched and recorded under the book's lock (engine/api.py)
            result = perform(ctx.book_path, "bank.import", ImportStatement(statement, path.name),
                             as_of, ctx.author, lang=ctx.lang,
                             now=lambda: now_in(settings.timezone, as_of))
            for message in result.recovered:
                say(ctx.t("cli.recovered", message=message))
            matches = result.detail.get("matches", [])
            entry["commit"] = result.commit
        for m in matches:
            row = _row(m)
            key = {"matched": "recorded", "recorded": "already"}.get(m.outcome, m.outcome)
            entry[key].append(row)
        if not dry_run and result.refusal is not None:
            entry["error"] = str(result.refusal)
            entry["recorded"] = []
            problems += 1
            say(ctx.t("cli.bank.refused", path=path, problem=result.refusal.render(ctx.lang)))
        # a person's assignments of this file's entries: one payment commit each,
        # through the action the app's bank screen performs
        for credit in statement.credits:
            document = assignments.pop(credit.reference, None)
            if document is None:
                continue
            done = perform(ctx.book_path, "bank.assign", AssignCredit(credit, document, path.name),
                           as_of, ctx.author, lang=ctx.lang,
                           now=lambda: now_in(settings.timezone, as_of))
            if done.refusal is not None:
                problems += 1
                say(ctx.t("cli.bank.assign_refused", path=path, reference=credit.reference,
                          problem=done.refusal.render(ctx.lang)))
                continue
            row = {"reference": credit.reference, "date": credit.date, "amount": credit.amount,
                   "currency": credit.currency,
                   "document": dict(done.change.trailers).get("Facturier-Document", document),
                   "commit": done.commit}
            entry["assigned"].append(row)
            for key in ("unmatched", "ambiguous"):
                entry[key] = [r for r in entry[key] if r["reference"] != credit.reference]
    for reference, document in assignments.items():
        problems += 1
        say(ctx.t("cli.bank.no_entry", reference=reference, document=document))
    if fmt == "json":
        emit_json(results)
    else:
        _print(results, dry_run, ctx.lang)
    if problems:
        fail("", 1)


def _row(m) -> dict:
    c = m.credit
    return {"where": c.where, "reference": c.reference, "date": c.date, "amount": c.amount,
            "currency": c.currency, "debtor": c.debtor, "structured": c.structured,
            "text": c.text, "document": m.document, "how": m.how,
            "candidates": list(m.candidates), "reason": m.reason,
            "reason_code": getattr(m.reason, "code", "")}


def _print(results: list[dict], dry_run: bool, lang: str = "en") -> None:
    for entry in results:
        if entry["error"] and entry["kind"] is None:
            continue
        click.echo(render("cli.bank.summary", lang, file=entry["file"],
                          recorded=plural("cli.bank.would_record" if dry_run
                                          else "cli.bank.recorded", len(entry["recorded"]), lang),
                          already=len(entry["already"]), unmatched=len(entry["unmatched"]),
                          ambiguous=len(entry["ambiguous"])))
        for row in entry["recorded"]:
            click.echo(render("cli.bank.row", lang, date=row["date"], amount=row["amount"],
                              currency=row["currency"], document=row["document"],
                              how=render("bank.how." + row["how"], lang)))
        for row in entry["assigned"]:
            click.echo(render("cli.bank.assigned", lang, reference=row["reference"],
                              date=row["date"], amount=row["amount"], currency=row["currency"],
                              document=row["document"]))
        for key in ("unmatched", "ambiguous"):
            for row in entry[key]:
                who = row["debtor"] or "?"
                extra = (" [%s]" % ", ".join(row["candidates"])) if row["candidates"] else ""
                click.echo(render("bank.left", lang, outcome=render("bank.left." + key, lang),
                                  where=localize(row["where"], lang), date=row["date"],
                                  amount=row["amount"], currency=row["currency"], debtor=who,
                                  reference=row["reference"],
                                  reason=localize(row["reason"], lang), extra=extra))
