"""The command palette (ctrl+p): jump to a status or category, open a
document by number or id, run the daily job, reload, recurrences."""
from __future__ import annotations

from functools import partial

from textual.command import DiscoveryHit, Hit, Hits, Provider

from engine.status import CATEGORIES, STATUSES

from . import fmt
from .strings import tr

MAX_DOCUMENT_HITS = 20


class FacturierCommands(Provider):
    def _commands(self) -> list[tuple[str, object, str]]:
        app = self.app
        lang = app.lang
        out = [
            (tr("cmd.run_daily", lang), app.action_run_daily, tr("cmd.run_daily.help", lang)),
            (tr("cmd.sync", lang), app.action_sync, tr("cmd.sync.help", lang)),
            (tr("cmd.reload", lang), app.action_reload, ""),
            (tr("cmd.dashboard", lang), app.action_dashboard, ""),
            (tr("cmd.recurrences", lang), app.action_recurrences, ""),
            (tr("cmd.stopped", lang), partial(app.action_recurrences, True), ""),
            (tr("cmd.new_recurrence", lang), app.action_new_recurrence, ""),
            (tr("cmd.problems", lang), app.action_problems, ""),
            (tr("cmd.reports", lang), app.action_reports, ""),
            (tr("cmd.import_bank", lang), app.action_import_bank, tr("cmd.import_bank.help", lang)),
            (tr("cmd.export_hledger", lang), partial(app.action_export_ledger, "hledger"),
             tr("cmd.export.help", lang)),
            (tr("cmd.export_beancount", lang), partial(app.action_export_ledger, "beancount"),
             tr("cmd.export.help", lang)),
            (tr("edit.new_document", lang), app.action_new_document, ""),
            (tr("edit.new_contact", lang), app.action_new_contact, ""),
            (tr("edit.settings", lang), app.action_settings, ""),
        ]
        out.extend(self._document_actions())
        for category in CATEGORIES:
            label = fmt.category(category, lang)
            out.append((tr("cmd.goto", lang, label=label), partial(app.open_list, label, category=category), ""))
        for code in STATUSES:
            label = fmt.status(code, lang)
            out.append((tr("cmd.goto", lang, label=label), partial(app.open_list, label, statuses=(code,)), ""))
        return out

    def _document_actions(self) -> list[tuple[str, object, str]]:
        """On a document: every action the engine offers on it
        (``engine.api.available_actions``, in its order), keys a narrow
        footer hides included, then its PDF and its recurrence's link."""
        from .document_view import ACTION_KEYS, DocumentScreen
        screen = self.screen
        if not isinstance(screen, DocumentScreen):
            return []
        lang, detail = self.app.lang, screen.detail
        doc = detail.doc
        name = doc.number or doc.id
        out: list[tuple[str, object, str]] = []
        for offered in detail.actions:
            if not offered.available:
                continue
            key = "e" if offered.name == "edit" else ACTION_KEYS.get(offered.name)
            command = (partial(self.app.action_edit_document, doc.id) if offered.name == "edit"
                       else partial(screen.action_act, offered.name))
            out.append(("%s — %s" % (tr("act." + offered.name, lang), name), command,
                        tr("cmd.key", lang, letter=key) if key else ""))
        out.append(("%s — %s" % (tr("act.pdf", lang), name), screen.action_pdf,
                    tr("cmd.key", lang, letter="P")))
        for rec_id, rec_name in detail.base_of:
            out.append((tr("doc.base_of", lang, name="%s (%s)" % (rec_name, rec_id)),
                        partial(self.app.open_recurrence, rec_id), tr("cmd.key", lang, letter="g")))
        if doc.recurrence:
            out.append((tr("doc.generated_by", lang, name=detail.recurrence_name or doc.recurrence),
                        partial(self.app.open_recurrence, doc.recurrence), ""))
        return out

    async def discover(self) -> Hits:
        for text, command, help_text in self._commands()[:11]:
            yield DiscoveryHit(text, command, help=help_text or None)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for text, command, help_text in self._commands():
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text or None)
        snap = getattr(self.app, "snapshot", None)
        from engine.listing import fold     # as every search of the book folds
        wanted = fold(query.strip())
        if snap is None or len(wanted) < 2:
            return
        found = 0
        lang = self.app.lang
        for contact in snap.book.contacts.values():     # "Edit contact ACME SA"
            text = tr("edit.edit_contact", lang, name=contact.name)
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), partial(self.app.edit_contact, contact.id),
                          text=text, help=contact.id)
        for row in snap.rows:       # a plain scan: ~20 ms over 100,000 rows
            number = (row.number or "").lower()
            if wanted in number or wanted in row.id.lower():
                name = row.number or row.id
                text = tr("cmd.document", lang, name=name)
                exact = wanted in (number, row.id.lower())
                yield Hit(1.0 if exact else 0.6, text, partial(self.app.open_document, row.id), text=text,
                          help="%s · %s · %s" % (row.contact_name, fmt.status(row.status, lang),
                                                 fmt.money(row.total, row.currency, lang)))
                found += 1
                if found >= MAX_DOCUMENT_HITS:
                    break
