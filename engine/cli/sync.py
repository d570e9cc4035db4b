"""`facturier sync` (SPEC 9): fetch, replay the local commits on the remote's
head, push. Exit 0 published (or nothing to do); 1 the remote cannot be
reached, a commit cannot be replayed (nothing changed, the branch kept as
refs/facturier/backup/<time>), or the book has no `sync` setting."""
from __future__ import annotations

import click

from . import main
from ..i18n import localize
from .common import Context, emit_json, pass_ctx, say


@main.command("sync")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@pass_ctx
def sync_command(ctx: Context, fmt: str):
    """Share the book through its remote (`sync: {remote, branch}` in
    facturier.yaml): fetch the remote branch, plan your unpublished facturier
    commits again on its head (a validation takes the next free number there;
    what the remote already has — a generated occurrence, a payment, an
    e-mail attempt — is not recorded twice), apply your own commits as
    `git cherry-pick` would, and push.

    On a conflict nothing changes: the files (or the reason) are named and
    your branch is also kept as refs/facturier/backup/<time>.

    Exit status: 0 up to date; 1 the remote cannot be reached, a conflict, or
    no `sync` setting.
    """
    from ..sync import sync_book
    report = sync_book(ctx.book_path, author=ctx.author)
    if fmt == "json":
        emit_json(report.as_json())
        return
    report_sync(ctx, report)


def report_sync(ctx: Context, report) -> None:
    """What a sync did, on stderr (shared with `run`)."""
    if report.fetched:
        say(ctx.t("cli.sync.fetched", n=report.fetched, remote=report.remote))
    for subject in report.replayed:
        say(ctx.t("cli.sync.replayed", subject=localize(subject, ctx.lang)))
    for subject in report.dropped:
        say(ctx.t("cli.sync.dropped", subject=localize(subject, ctx.lang)))
    for subject in report.published:
        say(ctx.t("cli.sync.published", subject=localize(subject, ctx.lang)))
    say(ctx.t("cli.sync.done", remote=report.remote, n=len(report.published)))
