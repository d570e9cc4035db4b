"""The facturier terminal app. The App is the only part that talks to the
engine: it loads the book in a worker thread, hands plain data down to the
screens, and turns the messages they post up into engine calls (each action
one commit, in a worker, errors shown as notifications — never a traceback).

It calls exactly what the CLI calls: ``engine.book.load_book``,
``engine.listing.document_rows/summary``, ``engine.recurrence``,
``engine.api`` (a document's view, the actions it offers, ``perform`` by the
registry's names and typed inputs), ``engine.history``, ``engine.daily``.

Longer than 500 lines on purpose: the one place the app talks to the engine
(loading, workers, each message turned into one engine call), so that the
screens make none.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import threading
import time
from pathlib import Path
from typing import Optional

from textual import on, work
from textual.app import App
from textual.binding import Binding

from engine import i18n
from engine.diagnostics import FacturierError

from .bookkeeping import BookkeepingMixin
from .commands import FacturierCommands
from .dashboard import DashboardScreen
from .document_list import DocumentListScreen
from .document_view import DocumentScreen
from .edit_forms import ContactForm, DocumentForm, EngineForm, FormScreen, SettingsForm, SubmitForm
from .messages import (OpenDocument, OpenList, OpenProblems, OpenRecurrence, OpenRecurrenceForm,
                       OpenRecurrences, OpenRepair, RunAction, WantHistory, WantSendPreview, WritePdf)
from .problems import ProblemsScreen
from .recurrence_form import RecurrenceForm
from .recurrence_list import RecurrenceListScreen
from .recurrence_view import RecurrenceScreen
from .repair_dialog import RepairDialog
from .send_dialog import SendDialog
from .strings import binding_words, tr
from .views import DocumentDetail, RecurrenceDetail, RecurrenceItem, SendPreview, Snapshot

WATCH_SECONDS = 2.0


def open_app(ctx) -> None:
    """Open the app on ``ctx.book_path`` (called by `facturier` / `facturier tui`)."""
    from engine.book import find_root
    root = find_root(ctx.book_path)
    app = FacturierApp(root, as_of=ctx.as_of, lang=i18n.language(ctx.lang), author=ctx.author)
    app.run()


class FacturierApp(BookkeepingMixin, App):
    CSS_PATH = "app.tcss"
    TITLE = "facturier"
    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (110, "-medium"), (170, "-wide")]
    COMMANDS = App.COMMANDS | {FacturierCommands}
    BINDINGS = [
        Binding("q", "quit", "Quit", id="app.quit"),
        Binding("r", "reload", "Reload", id="app.reload"),
        Binding("R", "recurrences", "Recurrences", id="app.recurrences"),
        Binding("n", "new_document", "New document", show=False, id="app.new_document"),
    ]

    def __init__(self, root, *, as_of: dt.date, lang: str = "en", author: Optional[str] = None,
                 watch: bool = True) -> None:
        localize_bindings(lang)
        super().__init__()
        self.root = Path(root)
        self.as_of = as_of
        self.lang = lang
        self.author = author
        self.watch_outside = watch
        self.snapshot: Optional[Snapshot] = None
        self.busy = False
        self._signature_lock = threading.Lock()
        self.dashboard = DashboardScreen(lang)
        self.loaded = threading.Event()     # set after each snapshot is shown (tests wait on it)
        self.load_seconds: Optional[float] = None     # from the load's start to the dashboard shown
        self.drawn_from_memory = False      # the last dashboard came from tui/remembered.py
        self._next_watch = 0.0
        self._doc_form: Optional[DocumentForm] = None

    # ------------------------------------------------------------------ start and load

    def on_mount(self) -> None:
        self.push_screen(self.dashboard)
        self.load_book()
        if self.watch_outside:
            self.set_interval(WATCH_SECONDS, self.check_outside_changes)

    @work(thread=True, exclusive=True, group="load")
    def load_book(self, outside: bool = False) -> None:
        started = time.perf_counter()
        early = None
        try:
            # the same files and day as last time: the dashboard first, the book behind it
            early = None if outside else self.remembered_snapshot()
            snap = early[0] if early is not None else self.build_snapshot()
        except Exception as exc:        # never a traceback in front of a person
            self.call_from_thread(self.notify, self._load_problem(exc), severity="error",
                                  timeout=10)
            return
        self.load_seconds = time.perf_counter() - started
        self.drawn_from_memory = early is not None
        # (no call_from_thread between this one and the book loaded behind a
        # remembered dashboard: the App's thread may be waiting for that book)
        self.call_from_thread(self.show_snapshot, snap, outside, True)
        # second phase, once the dashboard is drawn (its Python would hold the
        # lock the drawing needs: a second more before a person sees the
        # figures): the book when the dashboard was remembered, else the
        # dashboard remembered for next time; the signature the watcher
        # compares with (a change in the second between the load and this is
        # seen at the next change), then every recurrence's state, next
        # occurrence and rule in words
        snap.go.wait(timeout=5)
        if early is not None:
            if not self._load_behind(snap, early[1]):
                return
        else:
            self._remember(snap)
        signature: dict = {}
        watcher = threading.Thread(target=self._signature_into, args=(signature,), daemon=True)
        watcher.start()
        try:
            items = self.recurrence_items(snap.book)
        except Exception as exc:
            self.call_from_thread(self.notify, "%s: %s" % (type(exc).__name__, exc), severity="error")
            items = snap.recurrences
        watcher.join()
        snap.signature = signature.get("value", "")
        snap.recurrences = items
        snap.complete = True
        self.call_from_thread(self.show_snapshot, snap, False)

    def remembered_snapshot(self):
        """(snapshot without its book, listing) when the dashboard of the
        book as it is now was remembered (tui/remembered.py), else None."""
        from engine.book import load_settings

        from . import remembered
        return remembered.snapshot(self.root, self.as_of, self.lang,
                                   lambda: self._unpublished(load_settings(self.root)))

    def _load_behind(self, snap: Snapshot, listing) -> bool:
        """Load the book of a remembered dashboard from the listing it was
        drawn for; False when it failed (said to the person)."""
        from engine.book import load_book
        book, error = None, None
        try:
            book = load_book(self.root, listing=listing)
        except Exception as exc:        # never a traceback in front of a person
            error = self._load_problem(exc)
        finally:
            snap.book_loaded(book)
        if error is not None:
            self.call_from_thread(self.notify, error, severity="error", timeout=10)
        return book is not None

    def _load_problem(self, exc: Exception) -> str:
        """What a person reads when loading the book failed."""
        if isinstance(exc, FacturierError):
            return i18n.localize(exc, self.lang)
        return "%s: %s" % (type(exc).__name__, exc)

    def _remember(self, snap: Snapshot) -> None:
        from . import remembered
        try:
            remembered.remember(snap)
        except Exception:
            pass                        # a convenience: the next start loads the book

    def _signature_into(self, out: dict) -> None:
        try:
            out["value"] = self.outside_signature()
        except Exception:
            out["value"] = ""

    def build_snapshot(self) -> Snapshot:
        """Load the book and compute what the dashboard shows (worker thread).

        Only the stopped recurrences are looked at here (the alert); the full
        recurrence list comes in a second phase, after the dashboard is drawn.
        """
        from engine.book import load_book
        from engine.listing import summary, template_drafts
        from engine.rowcache import rows as document_rows
        book = load_book(self.root)
        rows = document_rows(book, self.as_of)
        # a draft a recurrence copies is a template, not an invoice to validate
        templates = template_drafts(book)
        stopped = [self.recurrence_item(book, rec) for rec in book.recurrences.values()
                   if rec.stopped is not None]
        stopped = [item for item in stopped if item.state == "stopped"]
        diagnostics = sorted(book.diagnostics, key=lambda d: (not d.is_error, d.path, d.line))
        from engine.api import left_sending
        sending = left_sending(book)
        return Snapshot(root=str(self.root), as_of=self.as_of, lang=self.lang,
                        currency=book.settings.currency, book_value=book, rows=rows,
                        summary=summary([r for r in rows if r.id not in templates]
                                        if templates else rows),
                        templates=templates, recurrences=stopped,
                        problems=[d.render(self.lang) for d in diagnostics],
                        error_count=sum(1 for d in diagnostics if d.is_error),
                        sending=sending, complete=not book.recurrences,
                        unpublished=self._unpublished(book.settings))

    def _unpublished(self, settings) -> int:
        """Commits the shared remote lacks, as of the last fetch or push (SPEC 9)."""
        if getattr(settings, "sync", None) is None:
            return 0
        from engine import sync
        try:
            remote = sync.remote_of(self.root, settings)
            return (sync.unpublished(self.root, remote) or 0) if remote else 0
        except FacturierError:
            return 0

    def recurrence_items(self, book) -> list[RecurrenceItem]:
        items = [self.recurrence_item(book, rec) for rec in book.recurrences.values()]
        items.sort(key=lambda r: ({"stopped": 0, "active": 1}.get(r.state, 2), r.name.lower()))
        return items

    def recurrence_item(self, book, rec, n_next: int = 1) -> RecurrenceItem:
        """What the list shows of a recurrence: ``engine.api.recurrence_view``,
        what `facturier recurrence list/show` print."""
        from engine.api import recurrence_view
        from engine.listing import fold
        view = recurrence_view(book, rec, self.as_of, self.lang, n_next=n_next)
        contact_id = view.summary["contact"] or ""
        words = view.summary["rule_words"] or rec.rule
        item = RecurrenceItem(id=rec.id, name=rec.name, contact=contact_id,
                              contact_name=view.contact_name, rule_words=words, next=view.next,
                              state=view.state, generated=view.generated,
                              cause=i18n.localize(view.cause or "", self.lang),
                              missing=list(view.missing),
                              haystack=fold(" ".join((rec.id, rec.name, contact_id,
                                                      view.contact_name, words))))
        item.next_occurrences = list(view.next_occurrences)
        item.repairs = list(view.repairs)
        item.template_exists = view.template_exists
        return item

    def show_snapshot(self, snap: Snapshot, outside: bool = False, first: bool = False) -> None:
        """Hand the new data down to every screen on the stack (``first``: the
        load's first showing; ``snap.go`` is set once it is drawn)."""
        if first:
            self.call_after_refresh(snap.go.set)
        self.snapshot = snap
        for screen in list(self.screen_stack):
            if isinstance(screen, DocumentScreen):
                screen.show_detail(self.document_detail(screen.detail.doc.id))
            elif isinstance(screen, RecurrenceScreen):
                screen.show_detail(self.recurrence_detail(screen.detail.rec.id))
            elif hasattr(screen, "show_snapshot"):
                screen.show_snapshot(snap)
        if outside:
            self.notify(tr("reloaded", self.lang), timeout=3)
        self.loaded.set()

    def search_texts(self) -> dict:
        """{document id: the lower-cased text a search looks in}
        (``engine.listing.search_text``, what `status --search` reads), built
        on the first search and kept with the snapshot."""
        snap = self.snapshot
        if snap is None:
            return {}
        if snap.search_texts is None:
            from engine.listing import search_text
            book = snap.book
            snap.search_texts = {row.id: search_text(book, row) for row in snap.rows}
        return snap.search_texts

    # ------------------------------------------------------------------ outside changes

    def outside_signature(self) -> str:
        """What changes when anyone commits, pulls or edits a file.

        Uses ``engine.gitstore.change_signature(root)`` when the engine has it
        (HEAD plus a `git status`-level view), else every book file's blob id
        (``gitstore.list_blobs``: ``git ls-files -s`` + ``git status``).
        """
        from engine import gitstore
        quick = getattr(gitstore, "change_signature", None)
        if quick is not None:
            return str(quick(self.root))
        blobs = gitstore.list_blobs(self.root)
        digest = hashlib.sha1()
        for path in sorted(blobs):
            digest.update(path.encode())
            digest.update(blobs[path].encode())
        return digest.hexdigest()

    def check_outside_changes(self) -> None:
        snap = self.snapshot
        if snap is None or not snap.signature or self.busy:
            return
        if time.monotonic() < self._next_watch:
            return
        self._watch(snap)

    @work(thread=True, exclusive=True, group="watch")
    def _watch(self, snap: Snapshot) -> None:
        started = time.monotonic()
        try:
            signature = self.outside_signature()
        except Exception:
            return
        # on a big book the check itself takes time: never spend more than a
        # third of the machine's time watching
        spent = time.monotonic() - started
        self._next_watch = time.monotonic() + max(0.0, 3 * spent - WATCH_SECONDS)
        if signature != snap.signature and not self.busy and snap is self.snapshot:
            self.call_from_thread(self.load_book, True)

    # ------------------------------------------------------------------ details

    def document_detail(self, doc_id: str) -> Optional[DocumentDetail]:
        """``engine.api.document_view``: what `facturier doc show` prints,
        the actions it offers included."""
        from engine.api import document_view
        snap = self.snapshot
        if snap is None:
            return None
        doc = snap.book.document(doc_id)
        if doc is None:
            return None
        return document_view(snap.book, doc, self.as_of)

    def recurrence_detail(self, rec_id: str) -> Optional[RecurrenceDetail]:
        snap = self.snapshot
        if snap is None:
            return None
        book = snap.book
        rec = book.recurrence(rec_id)
        if rec is None:
            return None
        item = self.recurrence_item(book, rec, n_next=5)
        ids = {d.id for d in book.documents_of_recurrence(rec.id)}
        rows = [r for r in snap.rows if r.id in ids] if ids else []
        rows.sort(key=lambda r: r.date)
        return RecurrenceDetail(item=item, rec=rec, documents=rows, next=item.next_occurrences,
                                template_exists=item.template_exists)

    def preview_occurrences(self, rule: str, start: dt.date, until: Optional[dt.date],
                            as_of: dt.date, n: int = 5) -> list[dt.date]:
        """The next ``n`` occurrences of a rule being typed (the form's preview);
        raises the engine's RuleError with its reason."""
        from engine import recurrence as engine_rec
        from engine.model import Recurrence
        rec = Recurrence(id="preview", path="", name="", template="", rule=rule, start=start, until=until)
        engine_rec.parse_rule(rule, start, until)
        after = as_of - dt.timedelta(days=1) if as_of > start else None
        return engine_rec.occurrences(rec, after=after, limit=n)

    def rule_words(self, rule: str, start: dt.date) -> str:
        from engine import recurrence as engine_rec
        return engine_rec.rule_in_words(rule, start, self.lang)

    # ------------------------------------------------------------------ navigation

    def open_list(self, title: str, statuses=None, category=None, ids=None) -> None:
        if self.snapshot is None:
            return
        self.push_screen(DocumentListScreen(self.snapshot, title, statuses=statuses, category=category,
                                            ids=ids))

    def open_document(self, doc_id: str) -> None:
        detail = self.document_detail(doc_id)
        if detail is None:
            self.notify(tr("doc.missing", self.lang), severity="warning")
            return
        self.push_screen(DocumentScreen(detail, self.lang, self.as_of))

    def open_recurrence(self, rec_id: str) -> None:
        detail = self.recurrence_detail(rec_id)
        if detail is None:
            self.notify(rec_id, severity="warning")
            return
        self.push_screen(RecurrenceScreen(detail, self.lang, self.as_of))

    @on(OpenList)
    def _open_list(self, message: OpenList) -> None:
        self.open_list(message.title, message.statuses, message.category, message.ids)

    @on(OpenDocument)
    def _open_document(self, message: OpenDocument) -> None:
        self.open_document(message.doc_id)

    @on(OpenRecurrence)
    def _open_recurrence(self, message: OpenRecurrence) -> None:
        self.open_recurrence(message.rec_id)

    @on(OpenRecurrences)
    def _open_recurrences(self, message: OpenRecurrences) -> None:
        self.action_recurrences(message.stopped_only)

    @on(OpenProblems)
    def _open_problems(self) -> None:
        self.action_problems()

    @on(OpenRepair)
    def _open_repair(self, message: OpenRepair) -> None:
        snap = self.snapshot
        if snap is None:
            return
        rec = snap.book.recurrence(message.rec_id)
        if rec is None:
            return
        item = self.recurrence_item(snap.book, rec)

        def chosen(choice: Optional[str]) -> None:
            if choice:
                self.do_action("repair", rec.id, {"choice": choice})

        self.push_screen(RepairDialog(item, item.cause, self.lang), chosen)

    @on(OpenRecurrenceForm)
    def _open_form(self, message: OpenRecurrenceForm) -> None:
        """The recurrence form: its OK comes back as a SubmitForm (one
        commit through ``engine.api.perform``), a refusal kept in the form."""
        snap = self.snapshot
        rec = snap.book.recurrence(message.rec_id) if (snap and message.rec_id) else None
        self.push_screen(RecurrenceForm(self.lang, self.as_of, rec))

    def action_dashboard(self) -> None:
        while len(self.screen_stack) > 2:
            self.pop_screen()

    def action_recurrences(self, stopped_only: bool = False) -> None:
        if self.snapshot is not None:
            self.push_screen(RecurrenceListScreen(self.snapshot, stopped_only=stopped_only))

    def action_problems(self) -> None:
        if self.snapshot is not None:
            self.push_screen(ProblemsScreen(self.snapshot))

    def action_new_recurrence(self) -> None:
        self.post_message(OpenRecurrenceForm(None))

    def action_reload(self) -> None:
        self.load_book()

    # ------------------------------------------------------------------ forms (engine.api)

    def _contacts(self) -> list[tuple[str, str]]:
        book = self.snapshot.book if self.snapshot else None
        if book is None:
            return []
        return sorted(((c.id, c.name) for c in book.contacts.values()), key=lambda c: c[1].lower())

    def action_new_document(self) -> None:
        if self.snapshot is not None:
            self._document_form()

    def action_edit_document(self, doc_id: Optional[str] = None) -> None:
        snap = self.snapshot
        if doc_id is None and isinstance(self.screen, DocumentScreen):
            doc_id = self.screen.detail.doc.id
        doc = snap.book.document(doc_id) if snap is not None and doc_id else None
        if doc is None:
            return
        contact = snap.book.contact(doc.contact)
        self._document_form(doc, contact.name if contact else "")

    def _document_form(self, doc=None, contact_name: str = "") -> None:
        """Open the document form (new, or the edit of ``doc``). The App keeps
        one, composed at its first opening and reset at the next ones:
        composing its widgets is most of the time a form takes to open
        (docs/performance.md)."""
        assert self.snapshot is not None
        settings, contacts = self.snapshot.book.settings, self._contacts()
        form = self._doc_form
        if form is not None and form in self.screen_stack:
            return                      # already open
        if form is None:
            form = DocumentForm(self.lang, self.as_of, settings, contacts, doc=doc,
                                contact_name=contact_name)
            self._doc_form = form
            self.install_screen(form, "document-form")
        else:
            form.reset(settings, contacts, doc=doc, contact_name=contact_name)
        self.push_screen("document-form")

    def action_new_contact(self) -> None:
        self.push_screen(ContactForm(self.lang))

    def edit_contact(self, contact_id: str) -> None:
        contact = self.snapshot.book.contact(contact_id) if self.snapshot else None
        if contact is not None:
            self.push_screen(ContactForm(self.lang, contact))

    def action_settings(self) -> None:
        if self.snapshot is not None:
            self.push_screen(SettingsForm(self.lang, self.snapshot.book.settings))

    @on(SubmitForm)
    def _submit_form(self, message: SubmitForm) -> None:
        self.busy = True
        self._perform_form(message.form, message.action, message.inputs)

    @work(thread=True, group="act")
    def _perform_form(self, form: FormScreen, name: str, inputs) -> None:
        """A form's action through ``engine.api.perform``: done, the form
        closes; refused, it stays with the reason beside the field."""
        try:
            result = self.perform_api(name, inputs)
        except Exception as exc:        # never a traceback: the form says it
            self.busy = False
            self.call_from_thread(form.refused, i18n.localize(exc, self.lang), None)
            return
        self.busy = False
        if result.refusal is not None:
            self.call_from_thread(form.refused, result.refusal.render(self.lang), result.field_name)
            return
        self.call_from_thread(self._form_done, form, result)

    def _form_done(self, form: FormScreen, result) -> None:
        if form.is_attached:
            form.dismiss(result)
        if result.commit:
            self.notify(tr("act.done", self.lang, subject=i18n.localize(result.subject, self.lang)),
                        timeout=4)
        self.load_book()

    def action_run_daily(self) -> None:
        self.do_action("daily", None, {})

    def action_sync(self) -> None:
        self.do_action("sync", None, {})

    # ------------------------------------------------------------------ history

    @on(WantHistory)
    def _want_history(self, message: WantHistory) -> None:
        self.load_history(message.object_id, message.kind, message.screen)

    @work(thread=True, group="history")
    def load_history(self, object_id: str, kind: str, screen) -> None:
        """SPEC 5.3 history (what `facturier log ID` prints), oldest first."""
        try:
            from engine.history import object_history
            entries = object_history(self.root, object_id, kinds=(kind,))
        except Exception as exc:
            self.call_from_thread(screen.show_history_error, i18n.localize(exc, self.lang))
            return
        self.call_from_thread(screen.show_history, entries)

    # ------------------------------------------------------------------ issuing

    @on(WantSendPreview)
    def _want_send_preview(self, message: WantSendPreview) -> None:
        self.notify(tr("send.preparing", self.lang), timeout=2)
        self.prepare_send(message.doc_id)

    @work(thread=True, exclusive=True, group="issue")
    def prepare_send(self, doc_id: str) -> None:
        """The message `doc send` would hand over, with its attachments
        (engine.daily.prepare_send: rendered as the send renders them); shown
        in the send dialog, which sends only when confirmed."""
        from engine import daily
        from engine.mail import message_text, recipient_of
        snap = self.snapshot
        if snap is None:
            return
        try:
            doc, msg, parts = daily.prepare_send(snap.book, doc_id, self.as_of)
        except FacturierError as exc:
            self.call_from_thread(self.notify, tr("act.failed", self.lang, message=exc.render(self.lang)),
                                  severity="error", timeout=8)
            return
        except Exception as exc:        # never a traceback in front of a person
            self.call_from_thread(self.notify, tr("error", self.lang, message="%s: %s" % (type(exc).__name__, exc)),
                                  severity="error", timeout=8)
            return
        preview = SendPreview(doc_id=doc.id, to=str(msg["To"]) or recipient_of(msg),
                              subject=str(msg["Subject"]), body=message_text(msg),
                              attachments=[(p.name, p.size, p.sha256) for p in parts])
        self.call_from_thread(self.show_send_preview, preview, doc.number or doc.id)

    def show_send_preview(self, preview: SendPreview, name: str) -> None:
        def chosen(send: Optional[bool]) -> None:
            if send:
                self.do_action("send", preview.doc_id, {})

        self.push_screen(SendDialog(preview, tr("send.title", self.lang, name=name), self.lang), chosen)

    @on(WritePdf)
    def _write_pdf(self, message: WritePdf) -> None:
        self.write_pdf(message.doc_id, message.target, message.open_it)

    @work(thread=True, group="pdf")
    def write_pdf(self, doc_id: str, target: str, open_it: bool) -> None:
        """`facturier doc pdf ID -o TARGET` (a folder gets <number or id>.pdf;
        a relative path is from the folder the app was started in), then
        open it with xdg-open when asked and there is one; otherwise say
        where it is."""
        from engine.attachments import write_pdf
        snap = self.snapshot
        doc = snap.book.document(doc_id) if snap is not None else None
        if doc is None:
            self.call_from_thread(self.notify, tr("doc.missing", self.lang), severity="warning")
            return
        try:
            path = write_pdf(snap.book, doc, Path(target.strip() or "."), lang=self.lang).resolve()
        except FacturierError as exc:
            self.call_from_thread(self.notify, tr("act.failed", self.lang, message=exc.render(self.lang)),
                                  severity="error", timeout=8)
            return
        except Exception as exc:
            self.call_from_thread(self.notify, tr("error", self.lang, message="%s: %s" % (type(exc).__name__, exc)),
                                  severity="error", timeout=8)
            return
        from . import fmt
        words = {"path": str(path), "size": fmt.size(path.stat().st_size, self.lang)}
        if not open_it:
            self.call_from_thread(self.notify, tr("pdf.written", self.lang, **words), timeout=10)
            return
        opened = open_file(path)
        self.call_from_thread(self.notify, tr("pdf.opening" if opened else "pdf.no_opener", self.lang, **words),
                              timeout=10)

    # ------------------------------------------------------------------ actions

    @on(RunAction)
    def _run_action(self, message: RunAction) -> None:
        self.do_action(message.action, message.target, message.values)

    def do_action(self, action: str, target: Optional[str], values: dict) -> None:
        self.busy = True
        self.notify(tr("busy", self.lang), timeout=1)
        self._perform(action, target, values)

    @work(thread=True, exclusive=True, group="act")
    def _perform(self, action: str, target: Optional[str], values: dict) -> None:
        try:
            subject = self.perform(action, target, values)
        except FacturierError as exc:
            self.call_from_thread(self.notify, tr("act.failed", self.lang,
                                                  message=i18n.localize(exc, self.lang)),
                                  severity="error", timeout=8)
            self.busy = False
            return
        except Exception as exc:        # never a traceback in front of a person
            self.call_from_thread(self.notify, tr("error", self.lang, message="%s: %s" % (type(exc).__name__, exc)),
                                  severity="error", timeout=8)
            self.busy = False
            return
        self.busy = False
        if subject:
            self.call_from_thread(self.notify, tr("act.done", self.lang,
                                                  subject=i18n.localize(subject, self.lang)),
                                  timeout=4)
        self.call_from_thread(self.load_book)

    def perform(self, action: str, target: Optional[str], values: dict) -> str:
        """Do one action through the engine (worker thread); return what to say."""
        if action == "daily":
            return self._daily()
        if action == "sync":
            from engine.sync import sync_book
            report = sync_book(self.root, author=self.author)
            return tr("sync.done", self.lang, remote=report.remote, n=len(report.published))
        if action == "repair":
            return self._repair(target, values["choice"])
        from engine import api
        if action not in api.REGISTRY:
            raise FacturierError(tr("act.unavailable", self.lang))
        inputs = api.inputs_for(action, doc=target, **values)
        result = self.perform_api(action, inputs)
        if result.refusal is not None:
            raise FacturierError(result.refusal.code, **result.refusal.params)
        if result.report is not None:
            return _report_words(result.report, target or "")
        return _subject_of(result.change) if result.commit else ""

    def perform_api(self, name: str, inputs):
        """``engine.api.perform`` (worker thread): what `facturier doc ...` runs."""
        from engine import api
        timezone = self.snapshot.book.settings.timezone if self.snapshot else "UTC"
        return api.perform(self.root, name, inputs, self.as_of, self.author, lang=self.lang,
                           now=lambda: api.now_in(timezone, self.as_of))

    def _repair(self, rec_id: str, choice: str) -> str:
        """`facturier recurrence repair ID --skip-missing|--create-missing|--end`."""
        from engine import api
        engine_choice = {"skip": "skip-missing", "create": "create-missing", "end": "end"}[choice]
        result = self.perform_api("recurrence.repair", api.RepairRecurrence(rec_id, engine_choice))
        if result.refusal is not None:
            raise FacturierError(result.refusal.code, **result.refusal.params)
        return _subject_of(result.change) if result.commit else ""

    def _daily(self) -> str:
        """`facturier run` for the app's as_of (engine.daily.run)."""
        from engine import daily
        from engine.api import now_in
        timezone = self.snapshot.book.settings.timezone if self.snapshot else "UTC"
        shared = self.snapshot is not None and getattr(self.snapshot.book.settings, "sync", None)
        if shared:         # as `facturier run` does (SPEC 9): from the book of record
            from engine.sync import sync_book
            sync_book(self.root, author=self.author)
        report = daily.run(self.root, self.as_of, now=lambda: now_in(timezone, self.as_of),
                           author=self.author)
        if shared:
            sync_book(self.root, author=self.author)
        parts = []
        for key in ("generated", "stopped_now", "validated", "sent", "deferred", "bounced",
                    "reminded", "errors"):
            items = getattr(report, key, None)
            if items:
                parts.append("%s %d" % (key.replace("_now", ""), len(items)))
        return tr("daily.done", self.lang, summary=", ".join(parts) or tr("daily.nothing", self.lang))


def open_file(path: Path) -> bool:
    """Open ``path`` with the desktop's viewer (xdg-open; `open` on macOS),
    detached from the app. False when there is none."""
    import shutil
    import subprocess
    import sys
    opener = shutil.which("open" if sys.platform == "darwin" else "xdg-open")
    if opener is None:
        return False
    try:
        subprocess.Popen([opener, str(path)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    except OSError:
        return False
    return True


def localize_bindings(lang: str) -> None:
    """Key descriptions (the footer) in ``lang``, found by each Binding's id."""
    import dataclasses

    from .dashboard import StatusTile
    from .fast_table import FastTable
    from .forms import ActionForm, Confirm
    classes = (FacturierApp, DashboardScreen, StatusTile, DocumentListScreen, DocumentScreen,
               RecurrenceListScreen, RecurrenceScreen, RepairDialog, RecurrenceForm, ProblemsScreen,
               ActionForm, Confirm, FastTable, SendDialog)
    classes += (EngineForm, DocumentForm)
    for cls in classes:
        if "BINDINGS" not in cls.__dict__:
            continue
        changed = []
        for binding in cls.BINDINGS:
            if isinstance(binding, Binding) and binding.id:
                words = binding_words(binding.id, lang)
                if words and words != binding.description:
                    binding = dataclasses.replace(binding, description=words)
            changed.append(binding)
        cls.BINDINGS = changed
        cls._merged_bindings = cls._merge_bindings()


def _report_words(report, doc_id: str) -> str:
    """What a send said (``engine.daily.RunReport``)."""
    said = [m for m in getattr(report, "messages", []) if m]
    if said:
        return "; ".join(said)
    for key in ("sent", "deferred", "bounced"):
        if getattr(report, key, None):
            return "%s: %s" % (key, doc_id)
    return ""


def _subject_of(change) -> str:
    if change is None:
        return ""
    if isinstance(change, str):
        return change
    for name in ("subject", "message"):
        value = getattr(change, name, None)
        if value:
            return str(value).splitlines()[0]
    return ""
