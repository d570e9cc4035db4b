"""`facturier doc ...`: document actions (SPEC 5.1, 6), each one commit.

Every action prints what it did and the commit id on stderr; stdout gets the
commit id (or, for commands that make a document — new, credit, convert —
the new document's id), so scripts can capture it.

Longer than 500 lines on purpose: the `doc` command group, one module per
group as the rest of engine/cli; each command only parses its input and prints
the engine's answer.
"""
from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Optional

import click

from ..diagnostics import ActionRefused
from . import main
from ..i18n import localize
from .common import (DATE, Context, current_lang, emit_json, fail, now_in, parse_decimal, pass_ctx,
                     read_text, say, words)

KINDS = ("invoice", "credit_note", "quote", "work_order", "expense")


def run_action(ctx: Context, name: str, inputs):
    """One action through the engine API (engine/api.py, what the app calls
    too): lock, load what it needs, plan, commit. Prints what it did and the
    commit on stderr, and the commit id (or the id of what it made) on
    stdout; a refusal is raised as ActionRefused."""
    from ..api import perform
    settings = ctx.settings
    as_of = ctx.as_of
    result = perform(ctx.book_path, name, inputs, as_of, ctx.author, lang=ctx.lang,
                     now=lambda: now_in(settings.timezone, as_of))
    for message in result.recovered:
        say(ctx.t("cli.recovered", message=message))
    if result.refusal is not None:
        raise ActionRefused(result.refusal.code, **result.refusal.params)
    if result.commit is None:
        say(ctx.t("cli.nothing_to_change"))
        return result
    say(ctx.t("cli.committed", subject=localize(result.subject, ctx.lang),
              commit=result.commit[:10]))
    if result.pushes > 1:
        say(ctx.t("cli.sync.attempts", n=result.pushes))
    click.echo(result.created or result.commit)
    return result


@main.group("doc")
def doc_group():
    """Documents: new, show, edit, delete, validate, send, pay, discount,
    write-off, hold, release, credit, convert, decline, returned.

    ID is a document's id or its number (`facturier doc pay 2025-0042 50`); an
    id wins over a number, and a number two documents share is refused, naming
    them."""


# --------------------------------------------------------------------------- new

def _parse_line(text: str) -> dict:
    parts = [p.strip() for p in text.split(";")]
    if len(parts) < 3 or len(parts) > 4 or not parts[0]:
        raise click.BadParameter(words("cli.doc.line_shape", text=text), param_hint="--line")
    line: dict[str, object] = {"description": parts[0]}
    for key, value in zip(("quantity", "unit_price", "vat"), parts[1:]):
        if value == "" and key == "vat":
            continue
        try:
            line[key] = parse_decimal(value, "--line")
        except click.BadParameter as exc:
            raise click.BadParameter(words("cli.doc.line_" + key, text=text, problem=exc.message),
                                     param_hint="--line") from None
    return line


@doc_group.command("new")
@click.option("--kind", type=click.Choice(KINDS), default="invoice", show_default=True)
@click.option("--customer", metavar="CONTACT", help="Contact id of the customer.")
@click.option("--supplier", metavar="CONTACT", help="Contact id of the supplier (expenses).")
@click.option("--date", "date", type=DATE, help="Document date (default: --as-of).")
@click.option("--due", type=DATE, help="Due date (default: date + payment days).")
@click.option("--currency", help="ISO 4217 code (default: the book's).")
@click.option("--line", "lines", multiple=True, metavar='"DESC;QTY;PRICE[;VAT]"',
              help="A line; repeat for more.")
@click.option("--total", help="Expenses: the total instead of lines.")
@click.option("--credits", metavar="INVOICE", help="Credit notes: the invoice credited (id or number).")
@click.option("--notes", help="Free text.")
@click.option("--file", "file", type=click.File("rb"),
              help="Read the document as YAML from a file ('-' for stdin).")
@pass_ctx
def new_command(ctx: Context, kind, customer, supplier, date, due, currency, lines, total,
                credits, notes, file):
    """Create a draft document from options or from YAML (--file F, or - for
    stdin). Prints the new document's id.

    With no --customer, --supplier, --line or --file, and $EDITOR (or
    $VISUAL) set or a terminal on stdin, opens the editor on a template of
    the --kind (as `doc edit` does): the saved text is the new document; a
    text left unchanged creates nothing; a refused one is kept in
    .facturier/rejected-new.yaml."""
    from ..api import CreateDocument
    if file is None and not (customer or supplier or lines or total is not None or credits) \
            and _can_edit():
        _new_in_editor(ctx, kind, date or ctx.as_of, due, currency, notes)
        return
    if file is not None:
        source = "<stdin>" if file.name in ("<stdin>", "-") else file.name
        text = read_text(file, source)
        run_action(ctx, "document.create", CreateDocument(text, source=source))
        return
    if customer and supplier:
        fail(ctx.t("cli.doc.both_parties"), 2)
    party = supplier or customer
    if not party:
        fail(ctx.t("cli.doc.supplier_needed" if kind == "expense" else "cli.doc.customer_needed"), 2)
    fields = {"kind": kind, "supplier" if kind == "expense" else "customer": party}
    fields["date"] = date or ctx.as_of
    if due:
        fields["due"] = due
    if currency:
        fields["currency"] = currency
    if lines:
        fields["lines"] = [_parse_line(line) for line in lines]
    if total is not None:
        fields["total"] = parse_decimal(total, "--total")
    if credits:
        fields["credits"] = ref_in_field(ctx, credits)
    if notes:
        fields["notes"] = notes
    run_action(ctx, "document.create", CreateDocument(fields, source=ctx.t("cli.the_options")))


def _can_edit() -> bool:
    import os
    return bool(os.environ.get("VISUAL") or os.environ.get("EDITOR")) or sys.stdin.isatty()


def new_template(kind: str, date, due=None, currency=None, notes=None, contacts=()) -> str:
    """The text `doc new` opens the editor on."""
    party = "supplier" if kind == "expense" else "customer"
    known = ", ".join(sorted(contacts)[:8]) + (", …" if len(contacts) > 8 else "")
    out = ["# A new %s: fill it in, save and close (leave it unchanged to create nothing)."
           % kind.replace("_", " ")]
    if known:
        out.append("# contacts: %s" % known)
    out += ["kind: %s" % kind, "%s: " % party, "date: %s" % date]
    if due:
        out.append("due: %s" % due)
    if currency:
        out.append("currency: %s" % currency)
    if kind == "credit_note":
        out.append("credits:     # the invoice's id")
    out += ["lines:", "  - description: ", "    quantity: 1", '    unit_price: "0.00"']
    if notes:
        out.append("notes: %s" % notes)
    return "\n".join(out) + "\n"


def _new_in_editor(ctx: Context, kind: str, date, due, currency, notes) -> None:
    from ..book import load_book
    contacts = load_book(ctx.book_path).contacts.keys()
    template = new_template(kind, date, due, currency, notes, tuple(contacts))
    edited = edit_text(ctx, "new.yaml", template)
    if edited is None or not edited.strip():
        say(ctx.t("cli.no_change"))
        return
    from ..api import CreateDocument
    try:
        run_action(ctx, "document.create", CreateDocument(edited, source="the editor"))
    except ActionRefused as exc:
        kept = _save_rejected(ctx, "new", edited)
        fail(ctx.t("cli.edit_kept", message=exc.render(ctx.lang), path=kept))


# --------------------------------------------------------------------------- show

def resolve_ref(ctx: Context, ref: str) -> str:
    """The id of the document ``ref`` names: its id or its number (SPEC 6).
    An id whose file exists is taken as it is, without loading the whole book
    (a payment in a book of 100,000 documents stays fast); a number needs the
    book (engine.lookup.resolve_document)."""
    from ..actions import find_document_path
    if find_document_path(ctx.book_path, ref) is not None:
        return ref
    from ..lookup import document_id
    return document_id(ctx.book, ref)


def ref_in_field(ctx: Context, ref: str) -> str:
    """For a field that names a document (``--credits``, ``--template``): the
    id of the document whose number ``ref`` is, else ``ref`` as given (the
    action then says what is wrong with it)."""
    from ..actions import find_document_path
    if find_document_path(ctx.book_path, ref) is not None:
        return ref
    from ..lookup import documents_numbered, resolve_document
    if documents_numbered(ctx.book, ref):
        return resolve_document(ctx.book, ref).id
    return ref


def _resolved(click_ctx: click.Context, _param, value: str) -> str:
    ctx = click_ctx.find_object(Context)
    assert ctx is not None, "the facturier group sets the context"
    return resolve_ref(ctx, value)


def doc_argument(func):
    """The ``ID`` argument of a document command: an id or a number, resolved
    to the id before the command runs."""
    return click.argument("doc_id", metavar="ID", callback=_resolved)(func)


def _find(book, ref: str):
    doc = book.document(ref)
    if doc is None:
        broken = [d.render(current_lang()) for d in book.diagnostics
                  if d.path.rsplit("/", 1)[-1].lower() == ("%s.yaml" % ref).lower()
                  and d.path.startswith("documents/")]
        if broken:
            fail(words("cli.doc.unreadable", id=ref, problems="\n".join(broken)))
        from ..lookup import resolve_document
        doc = resolve_document(book, ref)
    return doc


@doc_group.command("show")
@click.option("--format", "fmt", type=click.Choice(("table", "json")), default="table",
              show_default=True, help="Output format.")
@doc_argument
@pass_ctx
def show_command(ctx: Context, doc_id: str, fmt: str):
    """Everything about one document: fields, lines, totals, status at --as-of."""
    from ..i18n import format_money, render, status_label
    book = ctx.book
    doc = _find(book, doc_id)
    from ..api import document_view
    view = document_view(book, doc, ctx.as_of)
    data = view.as_json(ctx.lang)
    if fmt == "json":
        emit_json(data)
        return
    lang, cur = ctx.lang, data["currency"]

    def money(value):
        return format_money(value, cur, lang)

    def w(code: str, **params) -> str:
        return render("show." + code, lang, **params)

    out = []
    # expenses have no number and are never validated: not drafts
    title = " ".join(filter(None, (render("kind.%s" % doc.kind, lang),
                                   doc.number or ("" if doc.kind == "expense" else w("draft")))))
    out.append("%s  —  %s" % (title, doc.id))
    out.append(w("status", status=status_label(data["status"], lang)))
    out.append(w("supplier" if doc.kind == "expense" else "customer", contact=doc.contact))
    out.append(w("dates", date=doc.date, due=data["due"]) +
               (w("validated", date=doc.validated) if doc.validated else ""))
    if doc.lines:
        out.append("")
        heads = (w("description"), w("quantity"), w("unit_price"), w("vat_rate"))
        width = max(len(line["description"]) for line in data["lines"])
        width = min(max(width, len(heads[0])), 40)
        out.append("%-*s  %8s  %12s  %6s" % (width, *heads))
        for line in data["lines"]:
            desc = line["description"] if len(line["description"]) <= width else \
                line["description"][:width - 1] + "…"
            out.append("%-*s  %8s  %12s  %6s" % (width, desc, line["quantity"],
                                                 line["unit_price"], line["vat"]))
    out.append("")
    out.append(w("totals", net=money(data["net"]), vat=money(data["vat"]),
                 total=money(data["total"])))
    if doc.kind in ("invoice", "expense"):
        out.append(w("sums", paid=money(data["paid"]), discounted=money(data["discounted"]),
                     credited=money(data["credited"]), open=money(data["open"])))
    for p in doc.payments:
        out.append(w("payment", date=p.date, amount=money(p.amount), reference=p.reference))
    for d in doc.discounts:
        out.append(w("discount", date=d.date, amount=money(d.amount), reason=d.reason))
    if doc.write_off:
        out.append(w("write_off", date=doc.write_off.date, reason=doc.write_off.reason))
    for h in doc.holds:
        out.append(w("hold_to" if h.end else "hold", start=h.start, end=h.end, reason=h.reason))
    for d in doc.deliveries:
        out.append(w("delivery", at=d.at, channel=d.channel, result=w("result." + d.result),
                     to=d.to))
        for a in d.attachments:
            out.append(w("attachment", name=a.name, sha256=a.sha256))
    for r in doc.reminders:
        out.append(w("reminder", level=r.level, date=r.date))
    for key in ("credits", "converted_from", "converted_to", "declined"):
        if data[key]:
            out.append(w(key, value=data[key]))
    if data["credit_notes"]:
        out.append(w("credit_notes", ids=", ".join(data["credit_notes"])))
    if doc.recurrence:
        out.append(w("generated_by", id=doc.recurrence, occurrence=doc.occurrence))
    for rec in data["template_of"]:
        out.append(w("base_of", id=rec))
    if doc.notes:
        out.append(w("notes", notes=doc.notes))
    sys.stdout.write("\n".join(out) + "\n")


# --------------------------------------------------------------------------- edit / delete

def edit_text(ctx: Context, path: str, text: str) -> Optional[str]:
    """Open $EDITOR on ``text``; the edited text, or None when unchanged."""
    edited = click.edit(text, extension=".yaml", require_save=True)
    if edited is None or edited == text:
        return None
    return edited


def _save_rejected(ctx: Context, name: str, text: str) -> str:
    folder = Path(ctx.book_path) / ".facturier"
    folder.mkdir(exist_ok=True)
    target = folder / ("rejected-%s.yaml" % name)
    target.write_text(text, encoding="utf-8")
    return str(target)


@doc_group.command("edit")
@doc_argument
@pass_ctx
def edit_command(ctx: Context, doc_id: str):
    """Edit the document's file in $EDITOR; the result is checked (it must
    load, and a validated document keeps its contact, date, currency, lines
    and number), then committed."""
    from ..actions import find_document_path
    from ..api import EditDocument
    path = find_document_path(ctx.book_path, doc_id)
    if path is None:
        fail(ctx.t("refuse.no_document", id=doc_id))
    original = read_text(Path(ctx.book_path) / path, path)
    edited = edit_text(ctx, path, original)
    if edited is None:
        say(ctx.t("cli.no_change"))
        return
    try:
        run_action(ctx, "edit", EditDocument(doc_id, text=edited, base=original))
    except ActionRefused as exc:
        kept = _save_rejected(ctx, doc_id, edited)
        fail(ctx.t("cli.edit_kept", message=exc.render(ctx.lang), path=kept))


@doc_group.command("delete")
@doc_argument
@pass_ctx
def delete_command(ctx: Context, doc_id: str):
    """Delete a draft (validated documents are legal records: credit them)."""
    from ..api import Delete
    run_action(ctx, "delete", Delete(doc_id))


# --------------------------------------------------------------------------- actions

@doc_group.command("validate")
@doc_argument
@pass_ctx
def validate_command(ctx: Context, doc_id: str):
    """Give the draft its number and validate it on --as-of."""
    from ..api import Validate
    run_action(ctx, "validate", Validate(doc_id))


def _money_arg(text: str, what: str) -> Decimal:
    return parse_decimal(text, what)


# an AMOUNT argument may start with '-' (a refusal says why, not "no such option")
AMOUNT_ARGS = {"ignore_unknown_options": True}


@doc_group.command("pay", context_settings=AMOUNT_ARGS)
@doc_argument
@click.argument("amount")
@click.option("--date", "date", type=DATE, help="Payment date (default: --as-of).")
@click.option("--reference", default="", help="Bank reference.")
@pass_ctx
def pay_command(ctx: Context, doc_id: str, amount: str, date, reference: str):
    """Record a payment of AMOUNT."""
    from ..api import Pay
    run_action(ctx, "pay", Pay(doc_id, _money_arg(amount, "AMOUNT"), date, reference))


@doc_group.command("discount", context_settings=AMOUNT_ARGS)
@doc_argument
@click.argument("amount")
@click.option("--date", "date", type=DATE, help="Date (default: --as-of).")
@click.option("--reason", default="")
@pass_ctx
def discount_command(ctx: Context, doc_id: str, amount: str, date, reason: str):
    """Record a discount (e.g. early payment) of AMOUNT."""
    from ..api import Discount
    run_action(ctx, "discount", Discount(doc_id, _money_arg(amount, "AMOUNT"), date, reason))


@doc_group.command("write-off")
@doc_argument
@click.option("--date", "date", type=DATE, help="Date (default: --as-of).")
@click.option("--reason", default="")
@pass_ctx
def write_off_command(ctx: Context, doc_id: str, date, reason: str):
    """Write off the open balance (a loss on a debtor)."""
    from ..api import WriteOff
    run_action(ctx, "write_off", WriteOff(doc_id, date, reason))


@doc_group.command("hold")
@doc_argument
@click.option("--date", "date", type=DATE, help="Start of the hold (default: --as-of).")
@click.option("--reason", default="")
@pass_ctx
def hold_command(ctx: Context, doc_id: str, date, reason: str):
    """Put the document on hold (dunning stops counting)."""
    from ..api import Hold
    run_action(ctx, "hold", Hold(doc_id, date, reason))


@doc_group.command("release")
@doc_argument
@click.option("--date", "date", type=DATE, help="End of the hold (default: --as-of).")
@pass_ctx
def release_command(ctx: Context, doc_id: str, date):
    """End the document's hold."""
    from ..api import Release
    run_action(ctx, "release", Release(doc_id, date))


@doc_group.command("credit")
@doc_argument
@click.option("--amount", default=None,
              help="Gross amount to credit, VAT included (default: the open amount).")
@pass_ctx
def credit_command(ctx: Context, doc_id: str, amount):
    """Make a credit-note draft for the invoice. Prints the credit note's id.

    The credit note keeps the invoice's VAT: crediting a whole untouched
    invoice copies its lines; a partial amount is split over the invoice's
    VAT rates by their share of its total, one line per rate, and the credit
    note's total is exactly that amount. An amount that no net reaches
    exactly (VAT is rounded per rate) is refused, naming the nearest ones."""
    from ..api import Credit
    value = _money_arg(amount, "--amount") if amount is not None else None
    run_action(ctx, "credit", Credit(doc_id, value))


@doc_group.command("convert")
@doc_argument
@click.option("--to", "to", type=click.Choice(["invoice", "work_order"]), default=None,
              help="Kind of the new document (default: invoice).")
@pass_ctx
def convert_command(ctx: Context, doc_id: str, to):
    """Quote -> invoice or work order; work order -> invoice. Prints the new id."""
    from ..api import Convert
    run_action(ctx, "convert", Convert(doc_id, to))


@doc_group.command("decline")
@doc_argument
@click.option("--date", "date", type=DATE, help="Date (default: --as-of).")
@pass_ctx
def decline_command(ctx: Context, doc_id: str, date):
    """Record that the customer declined the quote."""
    from ..api import Decline
    run_action(ctx, "decline", Decline(doc_id, date))


@doc_group.command("returned")
@doc_argument
@pass_ctx
def returned_command(ctx: Context, doc_id: str):
    """Record that the post brought the document back (wrong address)."""
    from ..api import Returned
    run_action(ctx, "returned", Returned(doc_id))


@doc_group.command("send")
@doc_argument
@click.option("--mark-sent", is_flag=True,
              help="The last attempt was left `sending` (a crash) but did reach the server: "
                   "record it as sent, e-mail nothing.")
@click.option("--smtp-timeout", type=float, default=30.0, show_default=True,
              help="Seconds to wait for the SMTP server.")
@pass_ctx
def send_command(ctx: Context, doc_id: str, mark_sent: bool, smtp_timeout: float):
    """E-mail a validated document to its contact now (or resend one whose last
    attempt was left `sending`, deferred or bounced), with its PDF and the
    e-invoice the contact asks for; the delivery records each file's SHA-256.

    The attempt is committed as `sending` just before the message is handed
    over and its outcome (sent, deferred, bounced) after; when the server's
    answer to the message is lost, it stays `sending` (it may have arrived:
    check, then --mark-sent or send again). A document already sent is
    refused, and so is an invoice or credit note whose e-invoice (EN 16931)
    would lack data (naming it). Exit 1 unless the server accepted the message.
    """
    from ..api import MarkSent, Send, perform
    settings = ctx.settings
    as_of = ctx.as_of
    inputs = MarkSent(doc_id) if mark_sent else Send(doc_id, smtp_timeout)
    result = perform(ctx.book_path, "mark_sent" if mark_sent else "send", inputs, as_of,
                     ctx.author, lang=ctx.lang, now=lambda: now_in(settings.timezone, as_of))
    if result.refusal is not None:
        raise ActionRefused(result.refusal.code, **result.refusal.params)
    report = result.report
    if report.unpublished is not None:
        say(localize(report.unpublished, ctx.lang))
    if report.sent:
        say(ctx.t("cli.send.marked" if mark_sent else "cli.send.sent", id=doc_id))
        return
    for line in report.messages:
        say(localize(line, ctx.lang))
    for error in report.errors:
        message = localize(error["message"], ctx.lang)
        say(ctx.t("cli.diagnostic", where=error["file"], prefix="", message=message)
            if error["file"] else message)
    if report.sending:
        fail(ctx.t("cli.send.sending", id=doc_id))
    if report.deferred:
        fail(ctx.t("cli.send.deferred", id=doc_id))
    if report.bounced:
        fail(ctx.t("cli.send.bounced", id=doc_id))
    fail(ctx.t("cli.send.not_sent", id=doc_id))
