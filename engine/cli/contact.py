"""`facturier contact new/edit/delete/list` (SPEC 1.3, 5.1)."""
from __future__ import annotations

from pathlib import Path

import click

from ..diagnostics import ActionRefused
from . import main
from .common import Context, emit_rows, fail, format_option, pass_ctx, read_text, say
from .doc import _save_rejected, edit_text, run_action


@main.group("contact")
def contact_group():
    """Customers and suppliers: list, new, edit, delete."""


@contact_group.command("list")
@format_option
@pass_ctx
def list_command(ctx: Context, fmt: str):
    """One row per contact, with how many documents name it."""
    from ..model import address_lines
    book = ctx.book
    counts: dict[str, int] = {}
    for doc in book.documents.values():
        counts[doc.contact.lower()] = counts.get(doc.contact.lower(), 0) + 1
    rows = [{"id": c.id, "name": c.name, "email": c.email, "payment_days": c.payment_days,
             "address": "\n".join(address_lines(c.address)), "documents": counts.get(c.id.lower(), 0)}
            for _, c in sorted(book.contacts.items(), key=lambda kv: kv[0].lower())]
    if fmt == "table":
        emit_rows(rows, [(k, ctx.t("cli.contact.heading." + k))
                         for k in ("id", "name", "email", "documents")], fmt, right=("documents",),
                  keep=("id", "documents"))
    else:
        emit_rows(rows, [(k, k) for k in ("id", "name", "email", "payment_days", "address",
                                          "documents")], fmt)


def _contact_fields(name, email, address, payment_days) -> dict:
    fields = {}
    if name is not None:
        fields["name"] = name
    if email is not None:
        fields["email"] = email
    if address is not None:
        fields["address"] = address.replace("\\n", "\n")
    if payment_days is not None:
        fields["payment_days"] = payment_days
    return fields


@contact_group.command("new")
@click.option("--id", "contact_id", default=None, help="The id (default: a slug of the name).")
@click.option("--name", default=None, help="Name (required unless --file).")
@click.option("--email", default=None)
@click.option("--address", default=None, help="Postal address (\\n between lines).")
@click.option("--payment-days", type=click.IntRange(0, 3650), default=None)
@click.option("--file", "file", type=click.File("rb"),
              help="Read the contact as YAML from a file ('-' for stdin).")
@pass_ctx
def new_command(ctx: Context, contact_id, name, email, address, payment_days, file):
    """Create a contact. Prints its id."""
    from ..api import CreateContact
    if file is not None:
        source = "<stdin>" if file.name in ("<stdin>", "-") else file.name
        run_action(ctx, "contact.create", CreateContact(read_text(file, source), source=source))
        return
    if not name:
        fail(ctx.t("cli.contact.name_needed"), 2)
    fields = _contact_fields(name, email, address, payment_days)
    if contact_id:
        fields = {"id": contact_id, **fields}
    run_action(ctx, "contact.create", CreateContact(fields, source=ctx.t("cli.the_options")))


@contact_group.command("edit")
@click.argument("contact_id", metavar="ID")
@click.option("--name", default=None)
@click.option("--email", default=None)
@click.option("--address", default=None, help="Postal address (\\n between lines).")
@click.option("--payment-days", type=click.IntRange(0, 3650), default=None)
@pass_ctx
def edit_command(ctx: Context, contact_id, name, email, address, payment_days):
    """Change fields given as options, or edit the file in $EDITOR when none
    is given. Comments and key order in the file are kept."""
    from ..api import EditContact
    fields = _contact_fields(name, email, address, payment_days)
    if fields:
        run_action(ctx, "contact.modify", EditContact(contact_id, set_fields=fields))
        return
    path = Path(ctx.book_path) / "contacts" / ("%s.yaml" % contact_id)
    book = ctx.book
    contact = book.contact(contact_id)
    if contact is not None:
        path = Path(ctx.book_path) / contact.path
    if not path.is_file():
        fail(ctx.t("refuse.no_contact", id=contact_id))
    original = read_text(path, str(path.relative_to(Path(ctx.book_path))))
    edited = edit_text(ctx, str(path), original)
    if edited is None:
        say(ctx.t("cli.no_change"))
        return
    try:
        run_action(ctx, "contact.modify", EditContact(contact_id, text=edited, base=original))
    except ActionRefused as exc:
        kept = _save_rejected(ctx, contact_id, edited)
        fail(ctx.t("cli.edit_kept", message=exc.render(ctx.lang), path=kept))


@contact_group.command("delete")
@click.argument("contact_id", metavar="ID")
@pass_ctx
def delete_command(ctx: Context, contact_id):
    """Delete a contact that no document names."""
    from ..api import DeleteContact
    run_action(ctx, "contact.delete", DeleteContact(contact_id))
