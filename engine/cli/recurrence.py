"""`facturier recurrence list/show/new/edit/delete/repair` (SPEC 4, 4.4, 6)."""
from __future__ import annotations

import sys

import click

from . import main
from ..i18n import localize
from .common import (DATE as DATE_TYPE, Context, emit_json, emit_rows, fail, format_option,
                     pass_ctx, say, words, current_lang)

def _state(state: str, lang: str) -> str:
    """The state as the tables show it (a stopped one in capitals)."""
    from ..i18n import MESSAGES, render
    code = "cli.rec.state." + state
    return render(code, lang) if code in MESSAGES else state


def _find(book, rec_id: str):
    rec = book.recurrence(rec_id)
    if rec is None:
        broken = [d.render(current_lang()) for d in book.diagnostics
                  if d.path.lower() == ("recurrences/%s.yaml" % rec_id).lower()]
        if broken:
            fail(words("cli.rec.unreadable", id=rec_id, problems="\n".join(broken)))
        fail(words("cli.rec.none", id=rec_id))
    return rec


@main.group("recurrence")
def recurrence_group():
    """Recurring documents: list, show, new, edit, delete, repair."""


@recurrence_group.command("list")
@click.option("--state", type=click.Choice(["active", "stopped", "ended"]), default=None,
              help="Only recurrences in this state.")
@format_option
@pass_ctx
def list_command(ctx: Context, state, fmt: str):
    """One row per recurrence: state, rule in words, next occurrence, generated
    count, missing occurrences and the cause when stopped."""
    from ..api import recurrence_view
    book, as_of, lang = ctx.book, ctx.as_of, ctx.lang
    rows = [recurrence_view(book, rec, as_of, lang, n_next=1).summary
            for _, rec in sorted(book.recurrences.items(), key=lambda kv: kv[0].lower())]
    if state:
        rows = [r for r in rows if r["state"] == state]
    if fmt == "json":
        keys = ("id", "name", "state", "next", "generated", "missing", "cause", "contact",
                "rule", "rule_words", "issue", "last")
        emit_json([{k: r[k] for k in keys} for r in rows])
    elif fmt == "csv":
        emit_rows([dict(r, missing=" ".join(d.isoformat() for d in r["missing"])) for r in rows],
                  [(k, k) for k in ("id", "name", "state", "next", "generated", "missing", "cause",
                                    "contact", "rule", "issue", "last")], "csv")
    else:
        columns = [(k, ctx.t("cli.rec.heading." + k))
                   for k in ("id", "name", "contact", "rule_words", "next", "state", "generated")]
        cells = [[r["id"], r["name"], r["contact"] or "", r["rule_words"],
                  r["next"].isoformat() if r["next"] else "", _state(r["state"], lang),
                  str(r["generated"])] for r in rows]
        emit_rows(rows, columns, "table", table_rows=cells, right=("generated",),
                  keep=("id", "next", "state", "generated"))
        stopped = [r for r in rows if r["state"] == "stopped"]
        for r in stopped:
            say(ctx.t("cli.rec.stopped", id=r["id"], cause=localize(r["cause"], lang)))


@recurrence_group.command("show")
@click.argument("rec_id", metavar="ID")
@click.option("--next", "n_next", type=click.IntRange(1, 100), default=5, show_default=True,
              help="How many next occurrences to show.")
@format_option
@pass_ctx
def show_command(ctx: Context, rec_id: str, n_next: int, fmt: str):
    """A recurrence: state, rule in words, next occurrences, generated documents,
    missing occurrences and the cause when stopped."""
    from ..api import recurrence_view
    book = ctx.book
    rec = _find(book, rec_id)
    view = recurrence_view(book, rec, ctx.as_of, ctx.lang, n_next=n_next)
    row = view.summary
    if fmt == "json":
        emit_json(row)
        return
    if fmt == "csv":
        emit_rows([{k: (" ".join(str(x) for x in v) if isinstance(v, list) else v)
                    for k, v in row.items()}], [(k, k) for k in row], "csv")
        return
    t = ctx.t
    lines = [
        (t("cli.rec.label.recurrence"), "%s — %s" % (row["id"], row["name"])),
        (t("cli.rec.label.state"), _state(row["state"], ctx.lang)),
        (t("cli.rec.label.rule"), "%s (%s)" % (row["rule_words"], row["rule"])),
        (t("cli.rec.label.template"), row["template"]),
        (t("cli.rec.label.contact"), row["contact"] or "?"),
        (t("cli.rec.label.start"), row["start"].isoformat()),
        (t("cli.rec.label.until"), row["until"].isoformat() if row["until"] else "—"),
        (t("cli.rec.label.issue"), t("cli.rec.issue." + row["issue"])),
        (t("cli.rec.label.lead_days"), str(row["lead_days"])),
        (t("cli.rec.label.last"), row["last"].isoformat() if row["last"] else "—"),
    ]
    if row["ended"]:
        lines.append((t("cli.rec.label.ended"), row["ended"].isoformat()))
    if row["skipped"]:
        lines.append((t("cli.rec.label.skipped"), ", ".join(d.isoformat() for d in row["skipped"])))
    if row["state"] == "stopped":
        lines.append((t("cli.rec.label.stopped"),
                      "%s — %s" % (row["stopped_at"], localize(row["cause"], ctx.lang))))
        lines.append((t("cli.rec.label.missing"),
                      ", ".join(d.isoformat() for d in row["missing"]) or "—"))
    lines.append((t("cli.rec.label.next"),
                  ", ".join(d.isoformat() for d in row["next_occurrences"]) or "—"))
    lines.append((t("cli.rec.label.generated"), "%d" % row["generated"]))
    width = max(len(k) for k, _ in lines)
    out = ["%s  %s" % (k.ljust(width), v) for k, v in lines]
    out.extend("  " + " " * width + d for d in row["documents"])
    sys.stdout.write("\n".join(out) + "\n")
    if view.state == "stopped":
        n = len(view.missing)
        say(ctx.t("cli.rec.repair_one" if n == 1 else "cli.rec.repair_many", id=row["id"], n=n))


# --------------------------------------------------------------------------- changes

def _commit(ctx: Context, name: str, inputs):
    """One action through the engine API (engine/api.py, what the app calls
    too): one commit. A plan's refusal is `refused: ...`; the commit's (a file
    edited by hand meanwhile...) the CLI's error, as for every command."""
    from ..api import now_in, perform
    from ..diagnostics import ActionRefused
    settings, as_of = ctx.settings, ctx.as_of
    result = perform(ctx.book_path, name, inputs, as_of, ctx.author, lang=ctx.lang,
                     now=lambda: now_in(settings.timezone, as_of))
    for message in result.recovered:
        say(ctx.t("cli.recovered", message=message))
    if result.refusal is not None:
        if result.change is None:
            fail(ctx.t("cli.refused", message=result.refusal.render(ctx.lang)))
        raise ActionRefused(result.refusal.code, **result.refusal.params)
    if result.commit is None:
        say(ctx.t("cli.nothing_changed"))
    else:
        say(ctx.t("cli.committed", subject=localize(result.subject, ctx.lang),
                  commit=result.commit[:10]))
    return result


@recurrence_group.command("repair")
@click.argument("rec_id", metavar="ID")
@click.option("--skip-missing", is_flag=True,
              help="Reactivate, recording every missing occurrence as skipped.")
@click.option("--create-missing", is_flag=True,
              help="Reactivate and create the missing document (only when exactly one is missing).")
@click.option("--end", is_flag=True, help="End the recurrence (ended = the as-of date).")
@pass_ctx
def repair_command(ctx: Context, rec_id: str, skip_missing: bool, create_missing: bool, end: bool):
    """Repair a stopped recurrence with exactly one of --skip-missing,
    --create-missing or --end (one commit). If the cause still holds, the next
    run stops it again."""
    from ..api import RepairRecurrence
    chosen = [name for name, given in (("skip-missing", skip_missing),
                                       ("create-missing", create_missing), ("end", end)) if given]
    if len(chosen) != 1:
        raise click.UsageError(ctx.t(
            "cli.rec.one_choice.not" if chosen else "cli.rec.one_choice",
            given=ctx.t("cli.and").join("--" + c for c in chosen)))
    choice = chosen[0]
    _find(ctx.book, rec_id)
    _commit(ctx, "recurrence.repair", RepairRecurrence(rec_id, choice))


@recurrence_group.command("new")
@click.option("--file", "file", type=click.File("r", encoding="utf-8"), default=None,
              help="The recurrence as YAML (SPEC 4); '-' for stdin. Other options are ignored.")
@click.option("--id", "rec_id", default=None, help="Its id (default: a slug of the name).")
@click.option("--name", default=None, help="Its name.")
@click.option("--template", default=None, help="The invoice or expense it copies (id or number).")
@click.option("--frequency", type=click.Choice(["weekly", "monthly", "quarterly", "yearly", "last-day"]),
              default=None, help="A frequency anchored on --start (instead of --rule).")
@click.option("--rule", default=None, help='An RFC 5545 RRULE without DTSTART, e.g. "FREQ=MONTHLY;BYMONTHDAY=1".')
@click.option("--start", type=DATE_TYPE, default=None, help="The first possible occurrence (default: --as-of).")
@click.option("--until", type=DATE_TYPE, default=None,
              help="The last possible occurrence (not with --count).")
@click.option("--count", type=click.IntRange(1), default=None,
              help="How many occurrences in all (not with --until).")
@click.option("--issue", type=click.Choice(["draft", "validate", "send"]), default="draft",
              show_default=True, help="What each generated document becomes.")
@click.option("--lead-days", type=click.IntRange(0, 365), default=0, show_default=True,
              help="Generate this many days before each occurrence.")
@pass_ctx
def new_command(ctx: Context, file, rec_id, name, template, frequency, rule, start, until, count,
                issue, lead_days):
    """Create a recurrence (one commit), from options or a YAML file."""
    from ..api import CreateRecurrence
    from ..recurrence import RuleError, rule_for_frequency, rule_in_words
    if file is not None:
        _commit(ctx, "recurrence.create", CreateRecurrence(file.read(), source=file.name))
        return
    if not name or not template:
        raise click.UsageError(ctx.t("cli.rec.name_template"))
    from .doc import ref_in_field
    template = ref_in_field(ctx, template)
    start = start or ctx.as_of
    if bool(frequency) == bool(rule):
        raise click.UsageError(ctx.t("cli.rec.frequency_or_rule"))
    if until is not None and count is not None:
        raise click.UsageError(ctx.t("cli.rec.until_and_count"))
    if count is not None and rule and any(part.split("=", 1)[0].strip().upper() in ("COUNT", "UNTIL")
                                          for part in rule.split(";")):
        raise click.UsageError(ctx.t("cli.rec.count_in_rule"))
    if frequency:
        try:
            rule = rule_for_frequency(frequency, start, count)
        except RuleError as exc:
            raise click.UsageError(exc.render(ctx.lang)) from None
    elif count:
        rule += ";COUNT=%d" % count
    fields = {"id": rec_id, "name": name, "template": template, "rule": rule, "start": start,
              "until": until, "issue": issue, "lead_days": lead_days or None}
    _commit(ctx, "recurrence.create",
            CreateRecurrence({k: v for k, v in fields.items() if v is not None}))
    say(ctx.t("cli.rec.rule", words=rule_in_words(rule, start, ctx.lang)))


@recurrence_group.command("edit")
@click.argument("rec_id", metavar="ID")
@click.option("--set", "sets", multiple=True, metavar="KEY=VALUE",
              help="Set a field (name, template, rule, start, until, issue, lead_days, last, ended).")
@click.option("--unset", "unsets", multiple=True, metavar="KEY", help="Remove a field.")
@click.option("--file", "file", type=click.File("r", encoding="utf-8"), default=None,
              help="Replace the whole file by this YAML ('-' for stdin).")
@pass_ctx
def edit_command(ctx: Context, rec_id, sets, unsets, file):
    """Change a recurrence (one commit); comments and key order are kept."""
    from ..api import EditRecurrence
    _find(ctx.book, rec_id)
    if file is not None:
        _commit(ctx, "recurrence.modify", EditRecurrence(rec_id, text=file.read()))
        return
    if not sets and not unsets:
        raise click.UsageError(ctx.t("cli.rec.edit_what"))
    fields = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.UsageError(ctx.t("cli.rec.set_shape", item=item))
        key, value = key.strip(), value.strip()
        fields[key] = _typed(key, value)
    _commit(ctx, "recurrence.modify",
            EditRecurrence(rec_id, set_fields=fields, remove=tuple(unsets)))


def _typed(key: str, value: str):
    import datetime as dt
    if key in ("start", "until", "last", "ended"):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise click.UsageError(words("cli.rec.set_date", key=key, value=value)) from None
    if key == "lead_days":
        if not value.isdigit():
            raise click.UsageError(words("cli.rec.set_lead_days", value=value))
        return int(value)
    return value


@recurrence_group.command("delete")
@click.argument("rec_id", metavar="ID")
@pass_ctx
def delete_command(ctx: Context, rec_id):
    """Delete a recurrence (one commit); the documents it generated stay."""
    from ..api import DeleteRecurrence
    _find(ctx.book, rec_id)
    _commit(ctx, "recurrence.delete", DeleteRecurrence(rec_id))
