"""`facturier report vat|aging|revenue` (SPEC 10.1): a face over engine/reports.py.

Tables label their columns in the book's language (or --lang) and put the
totals below the rows; json gives ``{"report", the parameters, "rows",
"totals"}`` with amounts as decimal strings; csv gives the rows, then the
totals (the keys the totals are not per read ``total``).
"""
from __future__ import annotations

import csv
import io
import sys
import click

from . import main
from ..i18n import plural
from .common import DATE, Context, emit_json, fail, format_option, pass_ctx, render_table, say, words


@main.group("report")
def report_group():
    """Bookkeeping reports: VAT, aging of receivables, revenue (SPEC 10.1).

    Amounts are exact decimals in each document's currency (currencies are
    never added together); the rows add up to the totals.
    """


def _loaded(ctx: Context):
    book = ctx.book
    if book.errors:
        files = sorted({d.path for d in book.errors})
        say(plural("cli.report.left_out", len(files), ctx.lang))
    return book


def _period(start, end) -> None:
    if start is not None and end is not None and end < start:
        fail(words("cli.to_before_from", end=end, start=start), 2)


@report_group.command("vat")
@click.option("--from", "start", type=DATE, required=True, help="First day of the period.")
@click.option("--to", "end", type=DATE, required=True, help="Last day of the period (included).")
@click.option("--basis", type=click.Choice(["invoice", "payment"]), default="invoice",
              show_default=True,
              help="invoice: by validation date; payment: by payment date, in proportion.")
@format_option
@pass_ctx
def vat_command(ctx: Context, start, end, basis: str, fmt: str):
    """VAT of a period, per currency and rate: net, VAT and gross of validated
    invoices minus validated credit notes (sales), and of expenses (deductible
    VAT, purchases); then the VAT payable per currency."""
    from ..reports import vat_report
    _period(start, end)
    report = vat_report(_loaded(ctx), start, end, basis)
    _emit(report, fmt, ctx.lang)


@report_group.command("aging")
@format_option
@pass_ctx
def aging_command(ctx: Context, fmt: str):
    """Open receivables per contact at --as-of, by days past due: not due,
    1–30, 31–60, 61–90, over 90 (written-off invoices left out)."""
    from ..reports import aging_report
    report = aging_report(_loaded(ctx), ctx.as_of)
    _emit(report, fmt, ctx.lang)


@report_group.command("revenue")
@click.option("--by", type=click.Choice(["month", "quarter", "contact"]), default="month",
              show_default=True, help="How to group the revenue.")
@click.option("--from", "start", type=DATE, default=None, help="First validation date counted.")
@click.option("--to", "end", type=DATE, default=None, help="Last validation date counted.")
@format_option
@pass_ctx
def revenue_command(ctx: Context, by: str, start, end, fmt: str):
    """Revenue: net, VAT and gross of validated invoices minus validated
    credit notes, by validation date, per month, quarter or contact."""
    from ..reports import revenue_report
    _period(start, end)
    report = revenue_report(_loaded(ctx), by, start, end)
    _emit(report, fmt, ctx.lang)


# --------------------------------------------------------------------------- output

def _columns(report) -> list[str]:
    counts = [c for c in ("invoices", "credit_notes") if report.rows and c in report.rows[0]]
    return list(report.keys) + list(report.texts) + counts + list(report.amounts)


def _cell(report, key: str, value, row: dict, lang: str) -> str:
    from ..i18n import format_amount, t
    if value is None:
        return t("report.no_rate", lang) if key == "rate" else ""
    if key in report.amounts or key in ("vat_due", "vat_deductible", "vat_payable"):
        return format_amount(value, row["currency"], lang)
    if key == "side":
        return t("report.side.%s" % value, lang)
    if key == "rate":
        text = format(value.normalize(), "f") if value == value.to_integral() else str(value)
        return (text.replace(".", ",") if lang == "fr" else text) + " %"
    return str(value)


def _emit(report, fmt: str, lang: str) -> None:
    if fmt == "json":
        emit_json(report.as_json())
        return
    columns = _columns(report)
    if fmt == "csv":
        _emit_csv(report, columns)
        return
    from ..i18n import format_date, t
    params = report.params
    if report.name == "vat":
        title = t("report.title.vat", lang, start=format_date(params["from"], lang),
                  end=format_date(params["to"], lang),
                  basis=t("report.basis.%s" % params["basis"], lang))
    elif report.name == "aging":
        title = t("report.title.aging", lang, as_of=format_date(params["as_of"], lang))
    else:
        title = t("report.title.revenue", lang, by=t("report.by.%s" % params["by"], lang))
    say(title)
    if not report.rows:
        say(t("report.empty", lang))
        return
    cells = _table_cells(report, columns, lang)
    width = _available_width()
    if _natural_width(columns, cells, lang) > width:
        # numbers and ids are never cut: leave out the names and counts instead
        columns = list(report.keys) + list(report.amounts)
        cells = _table_cells(report, columns, lang)
    headings = [t("report.col.%s" % c, lang) for c in columns]
    right = {i for i, c in enumerate(columns)
             if c in report.amounts or c in ("rate", "invoices", "credit_notes")}
    sys.stdout.write(render_table(headings, cells, right=right,
                                  width=max(width, _natural_width(columns, cells, lang))))
    if report.summary:
        keys = list(report.summary[0])
        sys.stdout.write("\n")
        sys.stdout.write(render_table(
            [t("report.col.%s" % k, lang) for k in keys],
            [[_cell(report, k, s[k], s, lang) for k in keys] for s in report.summary],
            right=set(range(1, len(keys)))))


def _table_cells(report, columns: list[str], lang: str) -> list[list[str]]:
    from ..i18n import t
    cells = [[_cell(report, c, row.get(c), row, lang) for c in columns] for row in report.rows]
    for total in report.totals:
        line, labelled = [], False
        for c in columns:
            if c in total:
                line.append(_cell(report, c, total[c], total, lang))
            elif c in report.keys and not labelled:
                line.append(t("report.total", lang))
                labelled = True
            else:
                line.append("")
        cells.append(line)
    return cells


def _natural_width(columns: list[str], cells: list[list[str]], lang: str) -> int:
    from ..i18n import t
    widths = [len(t("report.col.%s" % c, lang)) for c in columns]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row)]
    return sum(widths) + 2 * (len(columns) - 1)


def _available_width() -> int:
    import os
    import shutil
    if sys.stdout.isatty():
        return shutil.get_terminal_size((80, 24)).columns
    return int(os.environ.get("COLUMNS", "80") or 80)


def _emit_csv(report, columns: list[str]) -> None:
    from .common import to_plain
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(columns)
    for row in report.rows:
        writer.writerow(["" if row.get(c) is None else to_plain(row[c]) for c in columns])
    for total in report.totals:
        writer.writerow([to_plain(total[c]) if c in total else
                         ("total" if c in report.keys else "") for c in columns])
    sys.stdout.write(out.getvalue())
