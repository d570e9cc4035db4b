"""`facturier recurrence list/show/new/edit/delete/repair` (SPEC 4, 4.4, 6)."""
from __future__ import annotations

import sys

import click

from . import main
from .common import DATE as DATE_TYPE, Context, emit_json, emit_rows, fail, format_option, pass_ctx, say

STATE_WORDS = {"en": {"active": "active", "stopped": "STOPPED", "ended": "ended"},
               "fr": {"active": "active", "stopped": "ARRÊTÉE", "ended": "terminée"}}


def _state(state: str, lang: str) -> str:
    return STATE_WORDS["fr" if lang == "fr" else "en"].get(state, state)


def _find(book, rec_id: str):
    rec = book.recurrence(rec_id)
    if rec is None:
        broken = [str(d) for d in book.diagnostics
                  if d.path.lower() == ("recurrences/%s.yaml" % rec_id).lower()]
        if broken:
            fail("recurrence %s cannot be read:\n%s" % (rec_id, "\n".join(broken)))
        fail("there is no recurrence %s (see `facturier recurrence list`)" % rec_id)
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
    from ..recurrence import summary
    book, as_of, lang = ctx.book, ctx.as_of, ctx.lang
    rows = [summary(rec, book, as_of, lang, n_next=1)
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
        columns = [("id", "ID"), ("name", "Name" if lang != "fr" else "Nom"),
                   ("contact", "Contact"), ("rule_words", "Rule" if lang != "fr" else "Règle"),
                   ("next", "Next" if lang != "fr" else "Prochaine"),
                   ("state", "State" if lang != "fr" else "État"),
                   ("generated", "Gen." if lang != "fr" else "Gén.")]
        cells = [[r["id"], r["name"], r["contact"] or "", r["rule_words"],
                  r["next"].isoformat() if r["next"] else "", _state(r["state"], lang),
                  str(r["generated"])] for r in rows]
        emit_rows(rows, columns, "table", table_rows=cells, right=("generated",))
        stopped = [r for r in rows if r["state"] == "stopped"]
        for r in stopped:
            say("%s is stopped: %s (repair: facturier recurrence repair %s --skip-missing | "
                "--create-missing | --end)" % (r["id"], r["cause"], r["id"]))


@recurrence_group.command("show")
@click.argument("rec_id", metavar="ID")
@click.option("--next", "n_next", type=click.IntRange(1, 100), default=5, show_default=True,
              help="How many next occurrences to show.")
@format_option
@pass_ctx
def show_command(ctx: Context, rec_id: str, n_next: int, fmt: str):
    """A recurrence: state, rule in words, next occurrences, generated documents,
    missing occurrences and the cause when stopped."""
    from ..recurrence import summary
    book = ctx.book
    rec = _find(book, rec_id)
    row = summary(rec, book, ctx.as_of, ctx.lang, n_next=n_next)
    if fmt == "json":
        emit_json(row)
        return
    if fmt == "csv":
        emit_rows([{k: (" ".join(str(x) for x in v) if isinstance(v, list) else v)
                    for k, v in row.items()}], [(k, k) for k in row], "csv")
        return
    fr = ctx.lang == "fr"
    lines = [
        ("Recurrence" if not fr else "Récurrence", "%s — %s" % (row["id"], row["name"])),
        ("State" if not fr else "État", _state(row["state"], ctx.lang)),
        ("Rule" if not fr else "Règle", "%s (%s)" % (row["rule_words"], row["rule"])),
        ("Template" if not fr else "Modèle", row["template"]),
        ("Contact", row["contact"] or "?"),
        ("Start" if not fr else "Début", row["start"].isoformat()),
        ("Until" if not fr else "Jusqu'au", row["until"].isoformat() if row["until"] else "—"),
        ("Issue" if not fr else "Émission", row["issue"]),
        ("Lead days" if not fr else "Jours d'avance", str(row["lead_days"])),
        ("Last handled" if not fr else "Dernière traitée", row["last"].isoformat() if row["last"] else "—"),
    ]
    if row["ended"]:
        lines.append(("Ended" if not fr else "Terminée le", row["ended"].isoformat()))
    if row["skipped"]:
        lines.append(("Skipped" if not fr else "Sautées", ", ".join(d.isoformat() for d in row["skipped"])))
    if row["state"] == "stopped":
        lines.append(("Stopped" if not fr else "Arrêtée", "%s — %s" % (row["stopped_at"], row["cause"])))
        lines.append(("Missing" if not fr else "Manquantes",
                      ", ".join(d.isoformat() for d in row["missing"]) or "—"))
    lines.append(("Next" if not fr else "Prochaines",
                  ", ".join(d.isoformat() for d in row["next_occurrences"]) or "—"))
    lines.append(("Generated" if not fr else "Générés", "%d" % row["generated"]))
    width = max(len(k) for k, _ in lines)
    out = ["%s  %s" % (k.ljust(width), v) for k, v in lines]
    out.extend("  " + " " * width + d for d in row["documents"])
    sys.stdout.write("\n".join(out) + "\n")
    if row["state"] == "stopped":
        n = len(row["missing"])
        say("Repair: facturier recurrence repair %s --skip-missing | --end%s"
            % (row["id"], " | --create-missing" if n == 1 else
               " (--create-missing needs exactly one missing occurrence; %d are missing)" % n))


# --------------------------------------------------------------------------- changes

def _commit(ctx: Context, plan, *args, **kwargs):
    """Plan on the locked book and commit: one action, one commit."""
    from ..actions import open_writer
    from ..diagnostics import ActionRefused
    with open_writer(ctx.book_path, ctx.author) as w:
        try:
            change = plan(w.book, *args, **kwargs)
        except ActionRefused as exc:
            fail("refused: %s" % exc)
        sha = w.commit(change)
    if sha is None:
        say("nothing changed")
    else:
        say("%s (commit %s)" % (change.subject, sha[:10]))
    return change


@recurrence_group.command("repair")
@click.argument("rec_id", metavar="ID")
@click.option("--skip-missing", "choice", flag_value="skip-missing",
              help="Reactivate, recording every missing occurrence as skipped.")
@click.option("--create-missing", "choice", flag_value="create-missing",
              help="Reactivate and create the missing document (only when exactly one is missing).")
@click.option("--end", "choice", flag_value="end", help="End the recurrence (ended = the as-of date).")
@pass_ctx
def repair_command(ctx: Context, rec_id: str, choice):
    """Repair a stopped recurrence: --skip-missing, --create-missing or --end
    (one commit). If the cause still holds, the next run stops it again."""
    from ..daily import plan_repair
    if choice is None:
        raise click.UsageError("choose one of --skip-missing, --create-missing, --end")
    _find(ctx.book, rec_id)
    _commit(ctx, plan_repair, rec_id, choice, ctx.as_of)


@recurrence_group.command("new")
@click.option("--file", "file", type=click.File("r", encoding="utf-8"), default=None,
              help="The recurrence as YAML (SPEC 4); '-' for stdin. Other options are ignored.")
@click.option("--id", "rec_id", default=None, help="Its id (default: a slug of the name).")
@click.option("--name", default=None, help="Its name.")
@click.option("--template", default=None, help="The invoice or expense it copies.")
@click.option("--frequency", type=click.Choice(["weekly", "monthly", "quarterly", "yearly", "last-day"]),
              default=None, help="A frequency anchored on --start (instead of --rule).")
@click.option("--rule", default=None, help='An RFC 5545 RRULE without DTSTART, e.g. "FREQ=MONTHLY;BYMONTHDAY=1".')
@click.option("--start", type=DATE_TYPE, default=None, help="The first possible occurrence (default: --as-of).")
@click.option("--until", type=DATE_TYPE, default=None, help="The last possible occurrence.")
@click.option("--count", type=click.IntRange(1), default=None, help="How many occurrences in all.")
@click.option("--issue", type=click.Choice(["draft", "validate", "send"]), default="draft",
              show_default=True, help="What each generated document becomes.")
@click.option("--lead-days", type=click.IntRange(0, 365), default=0, show_default=True,
              help="Generate this many days before each occurrence.")
@pass_ctx
def new_command(ctx: Context, file, rec_id, name, template, frequency, rule, start, until, count,
                issue, lead_days):
    """Create a recurrence (one commit), from options or a YAML file."""
    from ..actions import plan_create_recurrence
    from ..recurrence import RuleError, rule_for_frequency, rule_in_words
    if file is not None:
        _commit(ctx, plan_create_recurrence, file.read(), source=file.name)
        return
    if not name or not template:
        raise click.UsageError("--name and --template are required (or give --file)")
    start = start or ctx.as_of
    if bool(frequency) == bool(rule):
        raise click.UsageError("give either --frequency or --rule")
    if frequency:
        try:
            rule = rule_for_frequency(frequency, start, count)
        except RuleError as exc:
            raise click.UsageError(str(exc)) from None
    elif count:
        rule += ";COUNT=%d" % count
    fields = {"id": rec_id, "name": name, "template": template, "rule": rule, "start": start,
              "until": until, "issue": issue, "lead_days": lead_days or None}
    _commit(ctx, plan_create_recurrence, {k: v for k, v in fields.items() if v is not None})
    say("rule: %s" % rule_in_words(rule, start, ctx.lang))


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
    from ..actions import plan_edit_recurrence
    _find(ctx.book, rec_id)
    if file is not None:
        _commit(ctx, plan_edit_recurrence, rec_id, text=file.read())
        return
    if not sets and not unsets:
        raise click.UsageError("give --set KEY=VALUE, --unset KEY or --file")
    fields = {}
    for item in sets:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise click.UsageError("--set takes KEY=VALUE, not %r" % item)
        key, value = key.strip(), value.strip()
        fields[key] = _typed(key, value)
    _commit(ctx, plan_edit_recurrence, rec_id, set_fields=fields, remove=tuple(unsets))


def _typed(key: str, value: str):
    import datetime as dt
    if key in ("start", "until", "last", "ended"):
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            raise click.UsageError("%s must be a date (YYYY-MM-DD), not %r" % (key, value)) from None
    if key == "lead_days":
        if not value.isdigit():
            raise click.UsageError("lead_days must be a whole number, not %r" % value)
        return int(value)
    return value


@recurrence_group.command("delete")
@click.argument("rec_id", metavar="ID")
@pass_ctx
def delete_command(ctx: Context, rec_id):
    """Delete a recurrence (one commit); the documents it generated stay."""
    from ..actions import plan_delete_recurrence
    _find(ctx.book, rec_id)
    _commit(ctx, plan_delete_recurrence, rec_id)
