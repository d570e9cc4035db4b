"""`facturier run`: the daily job (SPEC 6.1). Exit 0, 1 (errors), or 3 when it
succeeded but a recurrence is stopped (so a scheduled CI job can alert)."""
from __future__ import annotations

import click

from . import main
from .common import Context, emit_json, fail, now_in, pass_ctx, say

_SECTIONS = (("generated", "generated"), ("validated", "validated"), ("scheduled", "reached their date"),
             ("sent", "e-mailed"), ("deferred", "e-mail deferred (retried next run)"),
             ("bounced", "e-mail bounced"), ("reminded", "reminders recorded"),
             ("stopped_now", "recurrences stopped now"))


def _some(ids, shown: int = 10) -> str:
    text = ", ".join(ids[:shown])
    return text + (" and %d more" % (len(ids) - shown) if len(ids) > shown else "")


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
    try:
        report = run(ctx.book_path, as_of, now=lambda: now_in(settings.timezone, as_of),
                     author=ctx.author, dry_run=dry_run, send=not no_send,
                     smtp_timeout=smtp_timeout)
    except RunBackInTime as exc:
        fail(str(exc), 2)
    if fmt == "json":
        emit_json(report.as_json())
    else:
        prefix = "(dry run) would have: " if dry_run else ""
        for line in report.messages:
            click.echo(prefix + line)
        counts = ", ".join("%d %s" % (len(getattr(report, key)), words)
                           for key, words in _SECTIONS if getattr(report, key))
        click.echo("%s%s: %s%s" % ("(dry run) " if dry_run else "", as_of.isoformat(),
                                   counts or "nothing to do",
                                   "; %d commit%s" % (report.commits, "" if report.commits == 1 else "s")
                                   if report.commits else ""))
    for error in report.errors:
        where = error["file"] + (":%d" % error["line"] if error["line"] else "")
        say("%s: %s" % (where, error["message"]) if where else error["message"])
    if report.sending:
        say("%d e-mail attempt%s never finished (interrupted, or the server's answer was lost): %s "
            "— check whether they arrived, then `facturier doc send ID --mark-sent` or send them "
            "again with `facturier doc send ID`; facturier never resends them on its own"
            % (len(report.sending), "" if len(report.sending) == 1 else "s", _some(report.sending)))
    if report.stopped:
        say("%d recurrence%s stopped: %s — see `facturier recurrence list --state stopped`, then "
            "`facturier recurrence repair ID --skip-missing | --create-missing | --end`"
            % (len(report.stopped), " is" if len(report.stopped) == 1 else "s are",
               _some(report.stopped)))
    if report.exit_code:
        fail("", report.exit_code)      # the messages are out already
