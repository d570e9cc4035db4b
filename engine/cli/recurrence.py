"""`facturier recurrence list/show/new/edit/delete/repair` (SPEC 4, 4.4, 6)."""
from __future__ import annotations

import sys

import click

from . import main
from .common import Context, emit_json, emit_rows, fail, format_option, pass_ctx, say

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
