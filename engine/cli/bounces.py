"""`facturier bounces FILE...`: record RFC 3464 delivery reports (SPEC 5.2)."""
from __future__ import annotations

from pathlib import Path

import click

from ..diagnostics import ActionRefused
from ..i18n import localize
from . import main
from .common import Context, emit_json, fail, pass_ctx, say


@main.command("bounces")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False,
                                                                  path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table",
              show_default=True, help="Output format.")
@pass_ctx
def bounces_command(ctx: Context, files, fmt: str):
    """Read delivery status notifications (bounce messages saved as files) and
    record each failed delivery on the e-mail it names, by Message-ID
    (one `document.bounce` commit each). Reports of delayed or delivered mail
    are listed and change nothing.

    Exit status 0 when every file was understood, 1 otherwise.
    """
    from ..api import RecordBounce, now_in, perform
    from ..mail import parse_dsn
    settings, as_of = ctx.settings, ctx.as_of
    rows, problems = [], 0
    for path in files:
        try:
            reports = parse_dsn(path.read_bytes())
        except OSError as exc:
            say(ctx.t("cli.cannot_read", name=path, reason=exc.strerror))
            problems += 1
            continue
        if not reports:
            say(ctx.t("cli.bounces.not_dsn", path=path))
            problems += 1
            continue
        for report in reports:
            row = {"file": str(path), "message_id": report.message_id,
                   "recipient": report.recipient, "action": report.action,
                   "status": report.status, "diagnostic": report.diagnostic,
                   "document": None, "recorded": False, "note": ""}
            if not report.failed:
                row["note"] = ctx.t("cli.bounces.not_bounce",
                                    action=report.action or ctx.t("cli.bounces.no_action"))
            else:              # one commit each, through the engine API (engine/api.py)
                result = perform(ctx.book_path, "bounce", RecordBounce(report), as_of,
                                 ctx.author, lang=ctx.lang,
                                 now=lambda: now_in(settings.timezone, as_of))
                if result.refusal is not None and result.change is not None:
                    raise ActionRefused(result.refusal.code, **result.refusal.params)
                if result.refusal is not None:
                    row["note"] = result.refusal.render(ctx.lang)
                    problems += result.refusal.code != "refuse.bounce.already"
                else:
                    row.update(document=result.change.ids("Facturier-Document")[0],
                               recorded=True, note=localize(result.change.subject, ctx.lang))
            rows.append(row)
    if fmt == "json":
        emit_json(rows)
    else:
        for row in rows:
            click.echo("%s: %s" % (row["file"], row["note"]))
    if problems:
        fail("", 1)
