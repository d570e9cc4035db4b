"""`facturier run`: the daily job (SPEC 6.1). Exit 0, 1 (errors), or 3 when it
succeeded but a recurrence is stopped (so a scheduled CI job can alert)."""
from __future__ import annotations

import click

from . import main
from ..i18n import localize, plural
from .common import Context, emit_json, fail, now_in, pass_ctx, say, words

_SECTIONS = ("generated", "validated", "scheduled", "sent", "deferred", "bounced", "reminded",
             "stopped_now")          # counted in the summary line (cli.run.count.* in engine/i18n.py)


def _some(ids, shown: int = 10) -> str:
    text = ", ".join(ids[:shown])
    return text + (words("cli.run.and_more", n=len(ids) - shown) if len(ids) > shown else "")


@main.command("run")
@click.option("--dry-run", is_flag=True, help="Print what the run would do; change nothing, send nothing.")
@click.option("--no-send", is_flag=True, help="Send no e-mail (reminders are still recorded).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@click.option("--smtp-timeout", type=click.FloatRange(1, 600), default=30, show_default=True,
              help="Seconds to wait for the SMTP server.")
@pass_ctx
def run_command(ctx: Context, dry_run: bool, no_send: bool, fmt: str, smtp_timeout: float):
    """The daily job: generate due recurring documents (or stop the recurrences
    that cannot go on), process scheduled invoices on their date, send e-mails,
    record reminders.

    One SMTP session serves the run; each e-mail is committed as `sending` just
    before it is handed over, then its outcome (sent, deferred and retried by
    the next run, bounced, or left `sending` when the server's answer was lost:
    never resent on its own).

    With `sync` in facturier.yaml (SPEC 9) the run first syncs with the remote
    (and stops, changing nothing, when it cannot be reached), publishes each
    number and each e-mail attempt before the e-mail is handed over, and
    syncs again at the end.

    A run never goes back in time: --as-of earlier than the latest date a run
    recorded in the book (a generation, a reminder, a delivery) is refused.

    Exit status: 0 done; 1 errors (named on stderr), among them an SMTP server
    that rejects the session (greeting, STARTTLS, login, sender: the settings
    are wrong); 2 usage error (an --as-of before the book's last run date,
    named); 3 done, but at least one recurrence is stopped and needs a person
    (facturier recurrence list).
    """
    from ..daily import RunBackInTime, run
    settings = ctx.settings
    as_of = ctx.as_of
    shared = settings.sync is not None and not dry_run
    if shared:
        # SPEC 9: the run starts from the book of record (and stops, changing
        # nothing, when it cannot be reached)
        from ..sync import sync_book
        from .sync import report_sync
        report_sync(ctx, sync_book(ctx.book_path, author=ctx.author))
    try:
        report = run(ctx.book_path, as_of, now=lambda: now_in(settings.timezone, as_of),
                     author=ctx.author, dry_run=dry_run, send=not no_send,
                     smtp_timeout=smtp_timeout)
    except RunBackInTime as exc:
        fail(localize(exc, ctx.lang), 2)
    if fmt == "json":
        emit_json(report.as_json())
    else:
        lang = ctx.lang
        prefix = ctx.t("cli.run.would") if dry_run else ""
        for line in report.messages:
            click.echo(prefix + localize(line, lang))
        counts = ", ".join(plural("cli.run.count." + key, len(getattr(report, key)), lang)
                           for key in _SECTIONS if getattr(report, key))
        click.echo(ctx.t("cli.run.summary", dry=ctx.t("cli.run.dry") if dry_run else "",
                         date=as_of.isoformat(), counts=counts or ctx.t("cli.run.nothing"),
                         commits=plural("cli.run.commits", report.commits, lang)
                         if report.commits else ""))
    for error in report.errors:
        where = error["file"] + (":%d" % error["line"] if error["line"] else "")
        message = localize(error["message"], ctx.lang)
        say("%s: %s" % (where, message) if where else message)
    if report.sending:
        say(plural("cli.run.sending", len(report.sending), ctx.lang, ids=_some(report.sending)))
    if report.stopped:
        say(plural("cli.run.stopped", len(report.stopped), ctx.lang, ids=_some(report.stopped)))
    if shared:
        # what the run recorded without publishing (outcomes, quiet reminders)
        # leaves with it: a CI runner's clone is gone after the job
        report_sync(ctx, sync_book(ctx.book_path, author=ctx.author))
    if report.exit_code:
        fail("", report.exit_code)      # the messages are out already
