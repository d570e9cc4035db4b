"""Bookkeeping in the app (SPEC 10): the part of the App that talks to the
engine for reports, ledger exports and bank statements. ``FacturierApp``
inherits it, so only the App calls the engine (in workers), as everywhere
else; the screens are ``tui/reports_screen.py`` and ``tui/bank_screen.py``.

It calls what the CLI calls: ``engine.reports.vat_report/aging_report/
revenue_report`` (`facturier report`), ``engine.ledger.export`` and
``transactions`` (`facturier export`), ``engine.bank.read_statement`` then
``engine.api.perform("bank.import")`` (`facturier import bank`), and for a
person's assignment ``engine.bank.candidates`` and
``engine.api.perform("bank.assign")`` (the payment action).
"""
from __future__ import annotations

import os
from functools import partial
from pathlib import Path
from typing import Any, Optional

from textual import work

from engine.diagnostics import FacturierError

from . import bookkeeping_strings  # noqa: F401  (the words below)
from .bank_screen import BankScreen, CandidatePicker, ImportResult, WantCandidates
# tui.reports_screen (plotext) is imported when the reports open: not at start-up
from .strings import tr

LEDGER_SUFFIX = {"hledger": ".journal", "beancount": ".beancount"}


def localize_screens(lang: str) -> None:
    """Key descriptions of the bookkeeping screens in ``lang`` (as the App's
    ``localize_bindings`` does for the others)."""
    import dataclasses

    from textual.binding import Binding

    from .reports_screen import ReportsScreen
    from .strings import binding_words
    for cls in (ReportsScreen, BankScreen, CandidatePicker):
        changed = []
        for binding in cls.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                words = binding_words(binding.id, lang)
                if words and words != binding.description:
                    binding = dataclasses.replace(binding, description=words)
            changed.append(binding)
        cls.BINDINGS = changed
        cls._merged_bindings = cls._merge_bindings()


class BookkeepingMixin:
    """Reports, exports and bank statements for :class:`tui.app.FacturierApp`."""

    # provided by FacturierApp
    root: Path
    lang: str
    as_of: Any
    author: Optional[str]
    snapshot: Any

    # ------------------------------------------------------------------ reports

    def action_reports(self, tab: str = "vat") -> None:
        from .reports_screen import ReportsScreen
        snap = self.snapshot
        if snap is None:
            return
        localize_screens(self.lang)
        self.push_screen(ReportsScreen(self.lang, self.as_of, snap.currency, tab))  # type: ignore[attr-defined]

    def on_want_report(self, message) -> None:
        """A :class:`tui.reports_screen.WantReport`."""
        self.compute_report(message.kind, message.params, message.serial, message.screen)

    @work(thread=True, group="report")
    def compute_report(self, kind: str, params: dict, serial: int, screen) -> None:
        """`facturier report vat|aging|revenue` on the loaded book."""
        from engine import reports
        snap = self.snapshot
        if snap is None:
            return
        try:
            if kind == "vat":
                report = reports.vat_report(snap.book, params["start"], params["end"], params["basis"])
            elif kind == "aging":
                report = reports.aging_report(snap.book, params["as_of"])
            else:
                report = reports.revenue_report(snap.book, params["by"], params["start"], params["end"])
        except Exception as exc:        # never a traceback in front of a person
            self.call_from_thread(screen.show_error, kind, serial,  # type: ignore[attr-defined]
                                  tr("error", self.lang, message="%s: %s" % (type(exc).__name__, exc)))
            return
        self.call_from_thread(screen.show_report, kind, serial, report)  # type: ignore[attr-defined]

    # ------------------------------------------------------------------ ledger exports

    def action_export_ledger(self, ledger: str) -> None:
        """Ask where to write the journal (default: the current folder), then write it."""
        from .forms import ActionForm, Confirm, FieldSpec
        if self.snapshot is None:
            return
        lang = self.lang
        default = Path(os.getcwd()) / (self.root.name + LEDGER_SUFFIX[ledger])
        fields = [FieldSpec("path", tr("export.path", lang), default=str(default)),
                  FieldSpec("start", tr("export.from", lang), kind="date", required=False),
                  FieldSpec("end", tr("export.to", lang), kind="date", required=False)]

        def confirmed(values: dict, ok: Optional[bool]) -> None:
            if ok:
                self.export_ledger(ledger, values)

        def chosen(values: Optional[dict]) -> None:
            if not values:
                return
            path = Path(values["path"]).expanduser()
            values["path"] = path
            if path.exists():
                self.push_screen(Confirm(tr("export.replace", lang, path=path), lang),  # type: ignore[attr-defined]
                                 partial(confirmed, values))
            else:
                self.export_ledger(ledger, values)

        self.push_screen(ActionForm(tr("export.title", lang, format=ledger), fields, lang),  # type: ignore[attr-defined]
                         chosen)

    @work(thread=True, group="export")
    def export_ledger(self, ledger: str, values: dict) -> None:
        """`facturier export hledger|beancount -o PATH` (the loaded book)."""
        from engine.ledger import LedgerError, export, transactions
        snap = self.snapshot
        lang = self.lang
        path: Path = values["path"]
        start, end = values.get("start"), values.get("end")
        say = partial(self.call_from_thread, self.notify)  # type: ignore[attr-defined]
        if snap is None:
            return
        book = snap.book
        if book.errors:
            say(tr("export.unreadable", lang, n=len({d.path for d in book.errors})),
                severity="error", timeout=10)
            return
        if start is not None and end is not None and end < start:
            say(tr("reports.bad_period", lang), severity="error")
            return
        try:
            text = export(book, ledger, start, end)
        except LedgerError as exc:
            say("facturier.yaml: %s" % exc, severity="error", timeout=10)
            return
        tmp = path.with_name(path.name + ".tmp")
        try:
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        except OSError as exc:
            say(tr("export.failed", lang, path=path, reason=exc.strerror or exc), severity="error",
                timeout=10)
            return
        say(tr("export.done", lang, n=len(transactions(book, start, end)), path=path), timeout=8)

    # ------------------------------------------------------------------ bank statements

    def action_import_bank(self) -> None:
        from .forms import ActionForm, FieldSpec
        lang = self.lang
        fields = [FieldSpec("path", tr("bank.path", lang)),
                  FieldSpec("csv_map", tr("bank.csv_map", lang), required=False)]

        def chosen(values: Optional[dict]) -> None:
            if values:
                self.import_statement(str(values["path"]), values.get("csv_map") or "")

        self.push_screen(ActionForm(tr("bank.form.title", lang), fields, lang,  # type: ignore[attr-defined]
                                    note=tr("bank.form.note", lang)), chosen)

    @work(thread=True, exclusive=True, group="act")
    def import_statement(self, file: str, csv_map: str = "") -> None:
        """`facturier import bank FILE [--csv-map MAP]`: the credits it matches
        recorded in one commit, then the screen of the others."""
        from engine.api import ImportStatement
        from engine.bank import StatementError, parse_csv_map, read_statement
        from engine.book import load_settings
        lang = self.lang
        path = Path(file).expanduser()
        say = partial(self.call_from_thread, self.notify)  # type: ignore[attr-defined]
        try:
            mapping = parse_csv_map(csv_map) if csv_map.strip() else None
            data = path.read_bytes()
            if mapping is None and not data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
                say(tr("bank.needs_map", lang, file=path.name), severity="error", timeout=10)
                return
            self.busy = True
            statement = read_statement(data, path.name, mapping, load_settings(self.root).currency)
            done = self.perform_api("bank.import",  # type: ignore[attr-defined]
                                    ImportStatement(statement, path.name))
            if done.refusal is not None:
                raise FacturierError(done.refusal.code, **done.refusal.params)
            matches, sha = done.detail.get("matches", []), done.commit
        except OSError as exc:
            say(tr("bank.unreadable", lang, file=path, reason=exc.strerror or exc), severity="error",
                timeout=10)
            return
        except StatementError as exc:
            say("%s: %s" % (path.name, exc.render(lang)), severity="error", timeout=10)
            return
        except FacturierError as exc:
            say(tr("act.failed", lang, message=exc.render(lang)),
                severity="error", timeout=10)
            return
        except Exception as exc:        # never a traceback in front of a person
            say(tr("error", lang, message="%s: %s" % (type(exc).__name__, exc)), severity="error",
                timeout=10)
            return
        finally:
            self.busy = False
        result = ImportResult(file=path.name, kind=statement.kind,
                              recorded=sum(1 for m in matches if m.outcome == "matched") if sha else 0,
                              already=sum(1 for m in matches if m.outcome == "recorded"),
                              skipped=list(statement.skipped),
                              left=[m for m in matches if m.outcome in ("unmatched", "ambiguous")],
                              commit=sha)
        self.call_from_thread(self._show_import, result)

    def _show_import(self, result: ImportResult) -> None:
        localize_screens(self.lang)
        self.push_screen(BankScreen(result, self.lang))  # type: ignore[attr-defined]
        self.load_book()  # type: ignore[attr-defined]

    def on_want_candidates(self, message: WantCandidates) -> None:
        self.find_candidates(message.match, message.file, message.screen)

    @work(thread=True, exclusive=True, group="candidates")
    def find_candidates(self, match, file: str, screen) -> None:
        """The open invoices of the credit's currency, read from the book as
        it is now (the import's commit and earlier assignments included)."""
        from engine.bank import candidates
        from engine.book import load_book
        try:
            found = candidates(load_book(self.root), match.credit, self.as_of)
        except Exception as exc:
            self.call_from_thread(self.notify, tr("error", self.lang,  # type: ignore[attr-defined]
                                                  message="%s: %s" % (type(exc).__name__, exc)),
                                  severity="error")
            return
        self.call_from_thread(self._pick, match, file, screen, found)

    def _pick(self, match, file: str, screen, found: list) -> None:
        def chosen(doc_id: Optional[str]) -> None:
            if doc_id:
                self.assign_entry(match, doc_id, file, screen)

        self.push_screen(CandidatePicker(match, found, self.lang), chosen)  # type: ignore[attr-defined]

    @work(thread=True, exclusive=True, group="act")
    def assign_entry(self, match, doc_id: str, file: str, screen) -> None:
        """One commit: the credit as a payment of ``doc_id`` (``plan_assign``)."""
        from engine.api import AssignCredit
        lang = self.lang
        self.busy = True
        try:
            done = self.perform_api("bank.assign",  # type: ignore[attr-defined]
                                    AssignCredit(match.credit, doc_id, file))
            if done.refusal is not None:
                raise FacturierError(done.refusal.code, **done.refusal.params)
            change = done.change
        except FacturierError as exc:
            self.call_from_thread(self.notify, tr("act.failed", lang,  # type: ignore[attr-defined]
                                                  message=exc.render(lang)), severity="error", timeout=8)
            return
        except Exception as exc:        # never a traceback in front of a person
            self.call_from_thread(self.notify, tr("error", lang,  # type: ignore[attr-defined]
                                                  message="%s: %s" % (type(exc).__name__, exc)),
                                  severity="error", timeout=8)
            return
        finally:
            self.busy = False
        self.call_from_thread(self.notify, tr("act.done", lang, subject=change.subject),  # type: ignore[attr-defined]
                              timeout=4)
        if screen is not None:
            self.call_from_thread(screen.assigned, match.credit.reference)
        self.call_from_thread(self.load_book)  # type: ignore[attr-defined]
