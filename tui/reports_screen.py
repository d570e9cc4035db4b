"""The reports screen (SPEC 7, 10.1): VAT of a period, aging of receivables,
revenue by month, quarter or contact — the tables `facturier report` prints,
with a chart where a person would rather look than read (revenue by month or
quarter, the aging buckets).

The screen asks for a report by posting :class:`WantReport`; the App computes
it with ``engine.reports`` in a worker and hands the
:class:`engine.reports.Report` back (``show_report``). Numbers are the
engine's, formatted by ``engine.i18n``; the charts are drawn with
``textual-plotext`` from the same totals.
"""
from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Optional

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Header, Input, Label, Select, Static, TabbedContent, TabPane
from textual_plotext import PlotextPlot

from engine import i18n

from . import bookkeeping_strings  # noqa: F401  (the words below)
from .base_screens import KeysFooter
from .strings import tr

PRESETS = ("this_quarter", "last_quarter", "this_year", "last_year", "this_month", "last_month",
           "custom")
AGING_BUCKETS = ("not_due", "d1_30", "d31_60", "d61_90", "over_90")


def period(preset: str, as_of: dt.date) -> tuple[dt.date, dt.date]:
    """First and last day of a named period around ``as_of``."""
    year, month = as_of.year, as_of.month
    if preset in ("this_month", "last_month"):
        if preset == "last_month":
            year, month = (year - 1, 12) if month == 1 else (year, month - 1)
        start = dt.date(year, month, 1)
        end = (dt.date(year + 1, 1, 1) if month == 12 else dt.date(year, month + 1, 1)) - dt.timedelta(1)
        return start, end
    if preset in ("this_quarter", "last_quarter"):
        quarter = (month - 1) // 3
        if preset == "last_quarter":
            year, quarter = (year - 1, 3) if quarter == 0 else (year, quarter - 1)
        start = dt.date(year, 3 * quarter + 1, 1)
        end = (dt.date(year + 1, 1, 1) if quarter == 3 else dt.date(year, 3 * quarter + 4, 1)) \
            - dt.timedelta(1)
        return start, end
    if preset == "last_year":
        year -= 1
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def periods_between(start: dt.date, end: dt.date, by: str) -> list[str]:
    """Every month (``2025-03``) or quarter (``2025-Q1``) from start to end, so
    that a chart shows the months without revenue too."""
    out: list[str] = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        label = "%04d-%02d" % (year, month) if by == "month" else "%04d-Q%d" % (year, (month - 1) // 3 + 1)
        if not out or out[-1] != label:
            out.append(label)
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def axis_ticks(top: Decimal) -> list[Decimal]:
    """Round steps (1, 2 or 5 times a power of ten) from 0 to the first at or
    above ``top``: a chart's axis reads 0, 5,000, 10,000, not 3493.7."""
    if top <= 0:
        return [Decimal(0)]
    magnitude = Decimal(10) ** (top.adjusted() - 1)
    step = next(magnitude * f for f in (1, 2, 5, 10, 20, 50) if top / (magnitude * f) <= 5)
    count = math.ceil(top / step)
    return [step * i for i in range(count + 1)]


def tick_label(value: Decimal, lang: str) -> str:
    text = "{:,f}".format(value.normalize())
    return text.replace(",", "\u202f").replace(".", ",") if lang == "fr" else text


@dataclass
class WantReport(Message):
    """The screen wants ``kind`` (vat | aging | revenue) with ``params``; the
    App answers ``screen.show_report(kind, serial, report)``."""
    kind: str
    params: dict
    serial: int
    screen: Any


def _rate(value: Decimal, lang: str) -> str:
    text = format(value.normalize(), "f") if value == value.to_integral() else str(value)
    return (text.replace(".", ",") if lang == "fr" else text) + " %"


def cell(report, key: str, value, row: dict, lang: str) -> str:
    """A report's value as the CLI's table shows it."""
    if value is None:
        return i18n.t("report.no_rate", lang) if key == "rate" else ""
    if key in report.amounts or key in ("vat_due", "vat_deductible", "vat_payable"):
        return i18n.format_amount(value, row["currency"], lang)
    if key == "side":
        return i18n.t("report.side.%s" % value, lang)
    if key == "rate":
        return _rate(value, lang)
    return str(value)


class BarChart(PlotextPlot):
    """A bar chart of amounts; drawn again whenever its size changes (a tab
    shown, a resized terminal), since plotext draws for one size."""

    def __init__(self, lang: str, id: str) -> None:
        super().__init__(id=id)
        self.lang = lang
        self.data: Optional[tuple[list[str], list[Decimal], str]] = None

    def show(self, labels: list[str], values: list[Decimal], title: str) -> None:
        self.data = (labels, values, title)
        self.draw()

    def on_resize(self) -> None:
        self.draw()

    def draw(self) -> None:
        if self.data is None or not self.size.width:
            return
        labels, values, title = self.data
        plt = self.plt
        plt.clear_data()
        plt.clear_figure()
        plt.bar(list(range(1, len(labels) + 1)), [float(v) for v in values], marker="hd", width=0.6)
        # every label when they fit, else every second, third… (plotext's own
        # choice depends on what it drew before)
        room = max(self.size.width - 12, 10)
        widest = max((len(label) for label in labels), default=1) + 2
        every = max(1, math.ceil(len(labels) * widest / room))
        shown = [i for i in range(len(labels)) if i % every == 0]
        plt.xticks([i + 1 for i in shown], [labels[i] for i in shown])
        ticks = axis_ticks(max(values, default=Decimal(0)))
        plt.yticks([float(t) for t in ticks], [tick_label(t, self.lang) for t in ticks])
        plt.ylim(0, float(ticks[-1]) or 1.0)
        plt.title(title)
        self.refresh()


class PeriodBar(Horizontal):
    """A named period (this quarter, this year…) or two dates."""

    DEFAULT_CSS = """
    PeriodBar { height: 1; margin-bottom: 1; }
    PeriodBar > Label { width: auto; padding: 0 1; color: $text-muted; }
    PeriodBar > Select { width: 22; }
    PeriodBar > Input { width: 14; height: 1; border: none; padding: 0 1; background: $boost; }
    PeriodBar > Input.-invalid { background: $error 30%; }
    PeriodBar > .choice { width: 16; }
    """

    def __init__(self, name: str, preset: str, as_of: dt.date, lang: str,
                 choice: Optional[tuple[str, list[tuple[str, str]], str]] = None) -> None:
        super().__init__(id=name + "-bar")
        self.prefix = name
        self.preset = preset
        self.as_of = as_of
        self.lang = lang
        self.choice = choice
        self.start, self.end = period(preset, as_of)

    def compose(self) -> ComposeResult:
        yield Select([(tr("period." + p, self.lang), p) for p in PRESETS], value=self.preset,
                     allow_blank=False, compact=True, id=self.prefix + "-preset")
        yield Label(tr("reports.from", self.lang))
        yield Input(self.start.isoformat(), id=self.prefix + "-from")
        yield Label(tr("reports.to", self.lang))
        yield Input(self.end.isoformat(), id=self.prefix + "-to")
        if self.choice is not None:
            name, options, value = self.choice
            yield Select(options, value=value, allow_blank=False, compact=True,
                         id=self.prefix + "-" + name, classes="choice")

    @on(Select.Changed)
    def _preset(self, event: Select.Changed) -> None:
        if event.select.id != self.prefix + "-preset" or event.value == "custom":
            return
        self.start, self.end = period(str(event.value), self.as_of)
        self.query_one("#%s-from" % self.prefix, Input).value = self.start.isoformat()
        self.query_one("#%s-to" % self.prefix, Input).value = self.end.isoformat()

    @on(Input.Changed)
    def _dates(self, event: Input.Changed) -> None:
        """Typed dates: read both; an unreadable date or an end before the
        start marks the fields and keeps the last good period."""
        start_in = self.query_one("#%s-from" % self.prefix, Input)
        end_in = self.query_one("#%s-to" % self.prefix, Input)
        try:
            start = dt.date.fromisoformat(start_in.value.strip())
            end = dt.date.fromisoformat(end_in.value.strip())
            good = end >= start
        except ValueError:
            good = False
        start_in.set_class(not good, "-invalid")
        end_in.set_class(not good, "-invalid")
        if not good:
            event.stop()
            return
        self.start, self.end = start, end
        if period(self.query_one("#%s-preset" % self.prefix, Select).value,
                                        self.as_of) != (start, end):
            self.query_one("#%s-preset" % self.prefix, Select).value = "custom"


class ReportsScreen(Screen):
    """Three tabs: VAT (this quarter), aging (at the as-of date), revenue
    (this year, by month)."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="reports.back"),
        Binding("1", "tab('vat')", "VAT", id="reports.vat"),
        Binding("2", "tab('aging')", "Aging", id="reports.aging"),
        Binding("3", "tab('revenue')", "Revenue", id="reports.revenue"),
    ]

    DEFAULT_CSS = """
    ReportsScreen TabPane { padding: 0 1; }
    ReportsScreen .report-title { text-style: bold; margin-bottom: 1; }
    ReportsScreen .report-note { color: $text-muted; }
    ReportsScreen DataTable { height: auto; margin-bottom: 1; }
    ReportsScreen BarChart { height: 12; margin-bottom: 1; }
    """

    def __init__(self, lang: str, as_of: dt.date, currency: str, tab: str = "vat") -> None:
        super().__init__(id="reports")
        self.lang = lang
        self.as_of = as_of
        self.currency = currency
        self.initial = tab
        self.serials = {"vat": 0, "aging": 0, "revenue": 0}
        self.reports: dict[str, Any] = {}       # kind -> the engine's Report shown

    def compose(self) -> ComposeResult:
        lang = self.lang
        yield Header()
        with TabbedContent(initial="tab-" + self.initial):
            with TabPane(tr("reports.tab.vat", lang), id="tab-vat"):
                with VerticalScroll():
                    yield PeriodBar("vat", "this_quarter", self.as_of, lang, choice=(
                        "basis", [(i18n.t("report.basis.%s" % b, lang), b)
                                  for b in ("invoice", "payment")], "invoice"))
                    yield Static(tr("reports.computing", lang), id="vat-title", classes="report-title")
                    yield DataTable(id="vat-table", cursor_type="row", zebra_stripes=True)
                    yield DataTable(id="vat-summary", cursor_type="row")
            with TabPane(tr("reports.tab.aging", lang), id="tab-aging"):
                with VerticalScroll():
                    yield Static(tr("reports.computing", lang), id="aging-title", classes="report-title")
                    yield BarChart(self.lang, id="aging-chart")
                    yield Static("", id="aging-note", classes="report-note")
                    yield DataTable(id="aging-table", cursor_type="row", zebra_stripes=True)
            with TabPane(tr("reports.tab.revenue", lang), id="tab-revenue"):
                with VerticalScroll():
                    yield PeriodBar("revenue", "this_year", self.as_of, lang, choice=(
                        "by", [(i18n.t("report.by.%s" % b, lang), b)
                               for b in ("month", "quarter", "contact")], "month"))
                    yield Static(tr("reports.computing", lang), id="revenue-title", classes="report-title")
                    yield BarChart(self.lang, id="revenue-chart")
                    yield Static("", id="revenue-note", classes="report-note")
                    yield DataTable(id="revenue-table", cursor_type="row", zebra_stripes=True)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.title = tr("reports.title", self.lang)
        self.sub_title = tr("as_of", self.lang, date=i18n.format_date(self.as_of, self.lang))
        self.ask_all()
        self._focus_table(self.initial)

    # ------------------------------------------------------------------ asking

    def ask_all(self) -> None:
        for kind in ("vat", "aging", "revenue"):
            self.ask(kind)

    def show_snapshot(self, _snap) -> None:
        """The book changed (an action, or outside the app): ask again."""
        if self.is_mounted:
            self.ask_all()

    def params(self, kind: str) -> dict:
        if kind == "aging":
            return {"as_of": self.as_of}
        bar = self.query_one("#%s-bar" % kind, PeriodBar)
        out: dict[str, Any] = {"start": bar.start, "end": bar.end}
        if kind == "vat":
            out["basis"] = self.query_one("#vat-basis", Select).value
        else:
            out["by"] = self.query_one("#revenue-by", Select).value
        return out

    def ask(self, kind: str) -> None:
        self.serials[kind] += 1
        self.post_message(WantReport(kind, self.params(kind), self.serials[kind], self))

    @on(Input.Changed)
    def _typed(self, event: Input.Changed) -> None:
        bar = event.input.parent
        if isinstance(bar, PeriodBar):
            self.ask(bar.prefix)

    @on(Select.Changed)
    def _chosen(self, event: Select.Changed) -> None:
        bar = event.select.parent
        if isinstance(bar, PeriodBar) and event.select.id != bar.prefix + "-preset":
            self.ask(bar.prefix)

    # ------------------------------------------------------------------ showing

    def show_report(self, kind: str, serial: int, report) -> None:
        if serial != self.serials.get(kind) or not self.is_mounted:
            return          # an answer to an older question
        self.reports[kind] = report
        getattr(self, "_show_" + kind)(report)
        self._relayout()

    def show_error(self, kind: str, serial: int, message: str) -> None:
        if serial == self.serials.get(kind) and self.is_mounted:
            self.query_one("#%s-title" % kind, Static).update(Text(message, style="bold red"))

    def _fill(self, table_id: str, report, columns: list[str]) -> None:
        """The rows, then the totals in bold (as `facturier report` prints them)."""
        lang = self.lang
        table = self.query_one("#" + table_id, DataTable)
        table.clear(columns=True)
        right = set(report.amounts) | {"rate", "invoices", "credit_notes"}
        if self._width(report, columns) > self.size.width - 4:
            # amounts are never cut: leave out the counts instead (as the CLI does)
            columns = [c for c in columns if c not in ("invoices", "credit_notes")]
        for c in columns:
            label = i18n.t("report.col.%s" % c, lang)
            table.add_column(Text(label, justify="right") if c in right else label, key=c)

        def line(row: dict, style: str = "", total: bool = False) -> list[Text]:
            out, labelled = [], False
            for c in columns:
                if c in row:
                    text = cell(report, c, row[c], row, lang)
                elif total and c not in report.amounts and not labelled:
                    text, labelled = i18n.t("report.total", lang), True
                else:
                    text = ""
                out.append(Text(text, style=style, justify="right" if c in right else "left"))
            return out

        for row in report.rows:
            table.add_row(*line(row))
        for total in report.totals:
            table.add_row(*line(total, "bold", total=True))

    def _width(self, report, columns: list[str]) -> int:
        """The table's natural width (two cells of padding per column)."""
        width = 0
        for c in columns:
            values = [cell(report, c, row.get(c), row, self.lang) for row in report.rows + report.totals]
            width += max([len(i18n.t("report.col.%s" % c, self.lang))] + [len(v) for v in values]) + 2
        return width

    def _columns(self, report) -> list[str]:
        """The CLI's columns, a contact shown by its name (the id is for typing)."""
        counts = [c for c in ("invoices", "credit_notes") if report.rows and c in report.rows[0]]
        keys = ["name" if k == "contact" and "name" in report.texts else k for k in report.keys]
        texts = [t for t in report.texts if t not in keys]
        return keys + texts + counts + list(report.amounts)

    def _title(self, kind: str, text: str, report) -> None:
        if not report.rows:
            text += "\n" + i18n.t("report.empty", self.lang)
        self.query_one("#%s-title" % kind, Static).update(text)

    def _show_vat(self, report) -> None:
        lang, p = self.lang, report.params
        self._title("vat", i18n.t("report.title.vat", lang, start=i18n.format_date(p["from"], lang),
                                  end=i18n.format_date(p["to"], lang),
                                  basis=i18n.t("report.basis.%s" % p["basis"], lang)), report)
        self._fill("vat-table", report, self._columns(report))
        summary = self.query_one("#vat-summary", DataTable)
        summary.clear(columns=True)
        keys = ["currency", "vat_due", "vat_deductible", "vat_payable"]
        for k in keys:
            label = i18n.t("report.col.%s" % k, lang)
            summary.add_column(label if k == "currency" else Text(label, justify="right"), key=k)
        for s in report.summary:
            summary.add_row(*[Text(cell(report, k, s[k], s, lang), justify="left" if k == "currency"
                                   else "right", style="bold" if k == "vat_payable" else "")
                              for k in keys])
        summary.display = bool(report.summary)

    def _relayout(self) -> None:
        """A table's height follows its rows once they are measured (an
        auto-height DataTable filled after the first layout keeps its old
        height otherwise)."""
        self.call_after_refresh(lambda: [table.refresh(layout=True) for table in self.query(DataTable)])

    def _chart_currency(self, report) -> tuple[str, bool]:
        """The currency the chart shows (the book's when it has any) and
        whether the table holds others."""
        currencies = [t["currency"] for t in report.totals]
        currency = self.currency if self.currency in currencies or not currencies else currencies[0]
        return currency, any(c != currency for c in currencies)

    def _bars(self, chart_id: str, labels: list[str], values: list[Decimal], title: str) -> None:
        self.query_one("#" + chart_id, BarChart).show(labels, values, title)

    def _show_aging(self, report) -> None:
        lang = self.lang
        self._title("aging", i18n.t("report.title.aging", lang,
                                    as_of=i18n.format_date(report.params["as_of"], lang)), report)
        currency, others = self._chart_currency(report)
        total = next((t for t in report.totals if t["currency"] == currency), {})
        self.chart_values = [total.get(b, Decimal(0)) for b in AGING_BUCKETS]
        self._bars("aging-chart", [i18n.t("report.col.%s" % b, lang) for b in AGING_BUCKETS],
                   self.chart_values, tr("reports.chart.aging", lang, currency=currency))
        self.query_one("#aging-note", Static).update(
            tr("reports.chart.others", lang, currency=currency) if others else "")
        self._fill("aging-table", report, self._columns(report))

    def _show_revenue(self, report) -> None:
        lang, p = self.lang, report.params
        by = p["by"]
        self._title("revenue", "%s — %s … %s" % (
            i18n.t("report.title.revenue", lang, by=i18n.t("report.by.%s" % by, lang)),
            i18n.format_date(p["from"], lang), i18n.format_date(p["to"], lang)), report)
        chart = self.query_one("#revenue-chart", BarChart)
        chart.display = by != "contact"
        note = ""
        if by != "contact":
            currency, others = self._chart_currency(report)
            labels = periods_between(p["from"], p["to"], by)
            net = {r[by]: r["net"] for r in report.rows if r["currency"] == currency}
            values = [net.get(label, Decimal(0)) for label in labels]
            self._bars("revenue-chart", labels, values,
                       tr("reports.chart.revenue", lang, by=i18n.t("report.by.%s" % by, lang),
                          currency=currency))
            note = tr("reports.chart.others", lang, currency=currency) if others else ""
        self.query_one("#revenue-note", Static).update(note)
        self._fill("revenue-table", report, self._columns(report))

    # ------------------------------------------------------------------ keys

    def action_tab(self, kind: str) -> None:
        self.query_one(TabbedContent).active = "tab-" + kind
        self._focus_table(kind)

    def _focus_table(self, kind: str) -> None:
        """The table has the keys (1 2 3, arrows), not a date field that
        would take the digits."""
        self.query_one("#%s-table" % kind, DataTable).focus()

    @on(TabbedContent.TabActivated)
    def _tab_shown(self, event: TabbedContent.TabActivated) -> None:
        pane = event.pane.id or ""
        if pane.startswith("tab-"):
            self._focus_table(pane[4:])

    def action_back(self) -> None:
        self.dismiss()
