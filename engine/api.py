"""The one engine API both faces call (the CLI and the app only parse input
and render): what a document looks like at a date, which actions it offers
(and why the others are not), and one :func:`perform` per action.

- :data:`REGISTRY`: every action the faces run by name, with its typed input
  (a frozen dataclass), what it needs loaded (the whole book, only the
  document it touches, or what numbering it needs) and its plan. Validation
  reads the document, its contact and the numbers already given (the
  numbering index, engine/book.py ``load_for_numbering``); an action that
  reads other documents (credit, convert, write-off, delete...) needs the
  whole book; the others (pay, discount, hold, release, decline, returned)
  read the one document, fast in a book of 100,000.
- :func:`available_actions` ``(book, doc, as_of)``: every document action
  with, for the unavailable ones, a reason code of the catalogue
  (``unavailable.*``, registered below). The rules are the plans' own
  refusals, decided on the document's state only, so a face offers what the
  engine would accept (the engine still decides and may refuse on inputs).
- :func:`document_view` ``(book, doc, as_of)``: everything about a document
  (``facturier doc show`` prints it, the app's document screen renders it).
- :func:`recurrence_view` ``(book, rec, as_of)``: a recurrence's state, next
  and missing occurrences, last generated, and what repair offers
  (``facturier recurrence show/list`` print it; the app's recurrence list,
  screen, repair dialog and stopped alert render it).
- :func:`perform` ``(root, name, inputs, as_of, author=)``: lock, load what the
  action needs, plan, commit; a :class:`Result` whose refusal is a catalogue
  :class:`~engine.i18n.Message` (a code and its parameters), never raised.

Every action the CLI and the app run goes through :func:`perform`: the
document actions, contacts, settings, recurrences (create, modify, delete,
repair), a bank statement's import (``bank.import``: the credits matched on
the locked book, in the result's ``detail``) and a person's assignment of an
entry (``bank.assign``), a delivery report (``bounce``). Two run their own
session, on purpose: ``send`` (one SMTP hand-over recorded before and after,
engine/deliveries.py's ``send_now``, which :func:`perform` calls), and
`facturier run` (engine/runner.py), which is not one action but a day's
session of many (recurrences, scheduled validations, sending, reminders):
it keeps one lock, one loaded book, one renderer and one SMTP connection
for hundreds of commits, and reports per step; going through :func:`perform`
would load the book and take the lock once per commit.

Not pure: :func:`perform` writes through the git layer, and :func:`now_in`
reads the clock (for the faces, the only callers that may).

Longer than 500 lines on purpose: this is the contract the two faces share
(inputs, registry, availability, view, perform), read as one page; its words
are registered here so that the catalogue's owner need not change.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
import threading
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Optional, Union

from . import i18n
from .diagnostics import ActionRefused
from .i18n import Message
from .model import Book, Document

# --------------------------------------------------------------------------- words

i18n.register({
    "action.validate": {"en": "Validate", "fr": "Valider"},
    "action.pay": {"en": "Pay", "fr": "Payer"},
    "action.discount": {"en": "Discount", "fr": "Escompte"},
    "action.write_off": {"en": "Write off", "fr": "Passer en perte"},
    "action.hold": {"en": "Hold", "fr": "Suspendre"},
    "action.release": {"en": "Release", "fr": "Reprendre"},
    "action.credit": {"en": "Credit", "fr": "Créditer"},
    "action.convert": {"en": "Convert", "fr": "Convertir"},
    "action.decline": {"en": "Decline", "fr": "Refuser"},
    "action.returned": {"en": "Returned by the post", "fr": "Retour de la poste"},
    "action.send": {"en": "Send", "fr": "Envoyer"},
    "action.mark_sent": {"en": "Mark sent", "fr": "Marquer envoyé"},
    "action.delete": {"en": "Delete", "fr": "Supprimer"},
    "action.edit": {"en": "Edit", "fr": "Modifier"},
    "unavailable.kind": {"en": "{kind} cannot be {done}",
                         "fr": "ce type de document ({kind}) ne peut pas être {done}"},
    "unavailable.draft": {"en": "a draft: validate it first",
                          "fr": "un brouillon : validez-le d'abord"},
    "unavailable.validated": {"en": "already validated", "fr": "déjà validé"},
    "unavailable.settled": {"en": "nothing is left open", "fr": "plus rien n'est ouvert"},
    "unavailable.written_off": {"en": "already written off", "fr": "déjà passé en perte"},
    "unavailable.on_hold": {"en": "already on hold", "fr": "déjà suspendu"},
    "unavailable.not_on_hold": {"en": "not on hold", "fr": "pas suspendu"},
    "unavailable.converted": {"en": "already converted", "fr": "déjà converti"},
    "unavailable.declined": {"en": "declined", "fr": "refusé"},
    "unavailable.credit_draft": {"en": "a credit-note draft exists: validate or delete it",
                                 "fr": "un brouillon de note de crédit existe : validez-le ou "
                                       "supprimez-le"},
    "unavailable.sent": {"en": "already e-mailed", "fr": "déjà envoyé par e-mail"},
    "unavailable.not_sending": {"en": "no e-mail is left `sending`",
                                "fr": "aucun e-mail n'est resté « en cours d'envoi »"},
    "unavailable.legal_record": {"en": "a validated document is a legal record: credit it",
                                 "fr": "un document validé est une pièce comptable : "
                                       "créditez-le"},
    "unavailable.unknown": {"en": "unknown action {name!r}", "fr": "action inconnue {name!r}"},
    "unavailable.not_stopped": {"en": "the recurrence is not stopped",
                                "fr": "la récurrence n'est pas arrêtée"},
    "unavailable.before_stop": {"en": "it was stopped on {date}, after the as-of date",
                                "fr": "elle a été arrêtée le {date}, après la date de référence"},
    "unavailable.none_missing": {"en": "no occurrence is missing",
                                 "fr": "aucune occurrence ne manque"},
    "unavailable.many_missing": {"en": "{n} occurrences are missing; only one can be created",
                                 "fr": "{n} occurrences manquent ; une seule peut être créée"},
    "done.validated": {"en": "validated", "fr": "validé"},
    "done.paid": {"en": "paid", "fr": "payé"},
    "done.discounted": {"en": "discounted", "fr": "escompté"},
    "done.written_off": {"en": "written off", "fr": "passé en perte"},
    "done.credited": {"en": "credited", "fr": "crédité"},
    "done.converted": {"en": "converted", "fr": "converti"},
    "done.declined": {"en": "declined", "fr": "refusé"},
    "done.sent": {"en": "e-mailed", "fr": "envoyé par e-mail"},
    "done.returned": {"en": "returned", "fr": "retourné"},
})


# --------------------------------------------------------------------------- inputs
# Each action's input is a frozen dataclass. Python builds a dataclass's
# methods by compiling their text, half a millisecond a class: the thirty
# classes below (and the views further down) would cost 15 ms of every
# command, and a command uses one or two.
# ``_on_use`` declares the class and makes it a dataclass when it is first
# instantiated (or ``dataclasses.fields`` is asked through ``_made``): the
# same class object, so REGISTRY and ``isinstance`` see it all along.

_OPTIONS: dict[type, dict] = {}
_MAKING = threading.Lock()


def _made(cls: type) -> type:
    """``cls``, made the dataclass it was declared (once)."""
    options = _OPTIONS.get(cls)
    if options is not None and "__dataclass_fields__" not in cls.__dict__:
        with _MAKING:
            if "__dataclass_fields__" not in cls.__dict__:
                dataclass(**options)(cls)
    return cls


class _Later:
    """The base of the classes declared with ``_on_use``: its ``__init__``
    runs once per class, makes the class a dataclass (whose own ``__init__``
    then comes first; until it is set, any thread lands here and waits for
    the lock) and starts again."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        cls = next(c for c in type(self).__mro__ if c in _OPTIONS)
        _made(cls).__init__(self, *args, **kwargs)    # type: ignore[misc]


def _lazy_dataclass(**options: Any) -> Callable[[type], type]:
    def declare(cls: type) -> type:
        if not issubclass(cls, _Later):
            raise TypeError("%s must derive from _Later" % cls.__name__)
        _OPTIONS[cls] = options
        return cls
    return declare


if TYPE_CHECKING:
    from dataclasses import dataclass as _on_use
else:
    _on_use = _lazy_dataclass


@_on_use(frozen=True)
class Validate(_Later):
    doc: str


@_on_use(frozen=True)
class Pay(_Later):
    doc: str
    amount: Any                          # Decimal, or text the plan reads (and refuses)
    date: Optional[dt.date] = None       # default: as_of
    reference: str = ""


@_on_use(frozen=True)
class Discount(_Later):
    doc: str
    amount: Any
    date: Optional[dt.date] = None
    reason: str = ""


@_on_use(frozen=True)
class WriteOff(_Later):
    doc: str
    date: Optional[dt.date] = None
    reason: str = ""


@_on_use(frozen=True)
class Hold(_Later):
    doc: str
    date: Optional[dt.date] = None
    reason: str = ""


@_on_use(frozen=True)
class Release(_Later):
    doc: str
    date: Optional[dt.date] = None


@_on_use(frozen=True)
class Credit(_Later):
    doc: str
    amount: Any = None                   # default: the open amount


@_on_use(frozen=True)
class Convert(_Later):
    doc: str
    to: Optional[str] = None             # default: invoice


@_on_use(frozen=True)
class Decline(_Later):
    doc: str
    date: Optional[dt.date] = None


@_on_use(frozen=True)
class Returned(_Later):
    doc: str


@_on_use(frozen=True)
class Delete(_Later):
    doc: str


@_on_use(frozen=True)
class Send(_Later):
    doc: str
    smtp_timeout: float = 30.0


@_on_use(frozen=True)
class MarkSent(_Later):
    doc: str


@_on_use(frozen=True)
class EditDocument(_Later):
    doc: str
    text: Optional[str] = None           # a person's new text, or:
    set_fields: Optional[dict] = None
    remove: tuple = ()
    base: Optional[str] = None           # the text the edit started from


@_on_use(frozen=True)
class CreateDocument(_Later):
    fields: Union[dict, str, bytes]      # {"kind":, "customer":, "lines": [...]} or YAML
    source: str = "<input>"


@_on_use(frozen=True)
class CreateContact(_Later):
    fields: Union[dict, str, bytes]
    source: str = "<input>"


@_on_use(frozen=True)
class EditContact(_Later):
    contact: str
    text: Optional[str] = None
    set_fields: Optional[dict] = None
    remove: tuple = ()
    base: Optional[str] = None


@_on_use(frozen=True)
class DeleteContact(_Later):
    contact: str


@_on_use(frozen=True)
class CreateRecurrence(_Later):
    fields: Union[dict, str, bytes]      # {"name":, "template":, "rule":, ...} or YAML
    source: str = "<input>"


@_on_use(frozen=True)
class EditRecurrence(_Later):
    recurrence: str
    text: Optional[Union[str, bytes]] = None
    set_fields: Optional[dict] = None
    remove: tuple = ()


@_on_use(frozen=True)
class DeleteRecurrence(_Later):
    recurrence: str


@_on_use(frozen=True)
class RepairRecurrence(_Later):
    recurrence: str
    choice: str                          # "skip-missing" | "create-missing" | "end"


@_on_use(frozen=True)
class ImportStatement(_Later):
    statement: Any                       # engine.bank.Statement, read by the face
    file: str                            # its name, in the commit's subject


@_on_use(frozen=True)
class AssignCredit(_Later):
    credit: Any                          # engine.bank.BankCredit the import left
    doc: str
    file: str = ""


@_on_use(frozen=True)
class RecordBounce(_Later):
    report: Any                          # engine.mail.DeliveryReport (failed)


@_on_use(frozen=True)
class EditSettings(_Later):
    set_fields: dict = field(default_factory=dict)     # dotted keys: "company.name"
    remove: tuple = ()


# --------------------------------------------------------------------------- the registry

@dataclass(frozen=True)
class Context:
    """What a plan gets besides the book and the inputs."""
    as_of: dt.date
    now: Callable[[], str]               # an ISO timestamp falling on as_of
    lang: str = "en"
    # what a plan found besides its change (a bank import's matches): the
    # result's ``detail``, kept when the plan or the commit is refused
    detail: dict = field(default_factory=dict)


Plan = Callable[[Book, Any, Context], Any]


@dataclass(frozen=True)
class ActionDef:
    name: str                            # what the faces call it: "pay", "write_off"
    action: str                          # the commit's Facturier-Action
    inputs: type
    needs: str                           # "book" | "document" (only the document it names)
    #                                      | "numbering" (the document, and the numbers given)
    plan: Optional[Plan]                 # None: run by its own session (send)
    offer: Optional[Callable[[Book, Document, dt.date], Optional[Message]]] = None
    creates: bool = False                # makes a document, contact or recurrence: the
                                         # result names it


def _amounts(book: Book, doc: Document, as_of: dt.date):
    from .status import amounts
    return amounts(doc, book, as_of)


def _kind(doc: Document, kinds: tuple[str, ...], done: str) -> Optional[Message]:
    if doc.kind in kinds:
        return None
    return Message("unavailable.kind", kind=Message("kind.word.%s" % doc.kind),
                   done=Message("done.%s" % done))


def _offer_validate(book, doc, as_of):
    from .numbering import NUMBERED_KINDS
    return (_kind(doc, tuple(NUMBERED_KINDS), "validated")
            or (Message("unavailable.validated") if doc.validated is not None else None))


def _offer_settle(done: str):
    def offer(book, doc, as_of):
        refused = _kind(doc, ("invoice", "expense"), done)
        if refused:
            return refused
        if doc.kind == "invoice" and doc.validated is None:
            return Message("unavailable.draft")
        if _amounts(book, doc, as_of).open <= 0:
            return Message("unavailable.settled")
        return None
    return offer


def _offer_write_off(book, doc, as_of):
    refused = _kind(doc, ("invoice",), "written_off")
    if refused:
        return refused
    if doc.validated is None:
        return Message("unavailable.draft")
    if doc.write_off is not None:
        return Message("unavailable.written_off")
    if _amounts(book, doc, as_of).open <= 0:
        return Message("unavailable.settled")
    return None


def _offer_hold(book, doc, as_of):
    if any(h.end is None or h.start <= as_of < h.end for h in doc.holds):
        return Message("unavailable.on_hold")
    return None


def _offer_release(book, doc, as_of):
    if not any(h.end is None for h in doc.holds):       # the person picks the day
        return Message("unavailable.not_on_hold")
    return None


def _offer_credit(book, doc, as_of):
    refused = _kind(doc, ("invoice",), "credited")
    if refused:
        return refused
    if doc.validated is None:
        return Message("unavailable.draft")
    if any(cn.validated is None for cn in book.credit_notes_for(doc.id)):
        return Message("unavailable.credit_draft")
    if _amounts(book, doc, as_of).open <= 0:
        return Message("unavailable.settled")
    return None


def _still_open_offer(doc, kinds: tuple, action: str):
    """Convert and decline: an offer of ``kinds`` neither converted nor declined yet."""
    refused = _kind(doc, kinds, action)
    if refused:
        return refused
    if doc.converted_to:
        return Message("unavailable.converted")
    if doc.declined is not None:
        return Message("unavailable.declined")
    return None


def _offer_convert(book, doc, as_of):
    return _still_open_offer(doc, ("quote", "work_order"), "converted")


def _offer_decline(book, doc, as_of):
    return _still_open_offer(doc, ("quote",), "declined")


def _offer_returned(book, doc, as_of):
    refused = _kind(doc, ("invoice", "credit_note", "quote", "work_order"), "returned")
    if refused:
        return refused
    return Message("unavailable.draft") if doc.validated is None else None


def _last_email(doc: Document):
    emails = [d for d in doc.deliveries if d.channel == "email"]
    return emails[-1] if emails else None


def _offer_send(book, doc, as_of):
    refused = _kind(doc, ("invoice", "credit_note", "quote", "work_order"), "sent")
    if refused:
        return refused
    if doc.validated is None:
        return Message("unavailable.draft")
    if any(d.channel == "email" and d.result == "sent" for d in doc.deliveries):
        return Message("unavailable.sent")
    return None


def _offer_mark_sent(book, doc, as_of):
    last = _last_email(doc)
    if last is None or last.result != "sending":
        return Message("unavailable.not_sending")
    return None


def _offer_delete(book, doc, as_of):
    return Message("unavailable.legal_record") if doc.validated is not None else None


def _offer_edit(book, doc, as_of):
    return None


def _day(value: Optional[dt.date], ctx: Context) -> dt.date:
    return value if value is not None else ctx.as_of


def _bank():
    from . import bank
    return bank


def _deliveries():
    from . import deliveries
    return deliveries


def _plan_repair(book: Book, inputs: RepairRecurrence, ctx: Context):
    from .planrepair import plan_repair
    return plan_repair(book, inputs.recurrence, inputs.choice, ctx.as_of)


def _plan_import(book: Book, inputs: ImportStatement, ctx: Context):
    """Match the statement's credits on the locked book (``detail["matches"]``)
    and record the matched ones: one change, or None when none matched."""
    bank = _bank()
    matches = bank.match_credits(book, inputs.statement.credits, ctx.as_of)
    ctx.detail["matches"] = matches
    return bank.plan_import(book, matches, inputs.file)


def _plans() -> dict[str, ActionDef]:
    from . import actions as a
    defs = [
        ActionDef("validate", "document.validate", Validate, "numbering",
                  lambda b, i, c: a.plan_validate(b, i.doc, c.as_of), _offer_validate),
        ActionDef("pay", "document.payment", Pay, "document",
                  lambda b, i, c: a.plan_payment(b, i.doc, i.amount, _day(i.date, c), i.reference),
                  _offer_settle("paid")),
        ActionDef("discount", "document.discount", Discount, "document",
                  lambda b, i, c: a.plan_discount(b, i.doc, i.amount, _day(i.date, c), i.reason),
                  _offer_settle("discounted")),
        ActionDef("write_off", "document.write-off", WriteOff, "book",
                  lambda b, i, c: a.plan_write_off(b, i.doc, _day(i.date, c), i.reason),
                  _offer_write_off),
        ActionDef("hold", "document.hold", Hold, "document",
                  lambda b, i, c: a.plan_hold(b, i.doc, _day(i.date, c), i.reason), _offer_hold),
        ActionDef("release", "document.release", Release, "document",
                  lambda b, i, c: a.plan_release(b, i.doc, _day(i.date, c)), _offer_release),
        ActionDef("credit", "document.credit", Credit, "book",
                  lambda b, i, c: a.plan_credit(b, i.doc, c.as_of, i.amount), _offer_credit,
                  creates=True),
        ActionDef("convert", "document.convert", Convert, "book",
                  lambda b, i, c: a.plan_convert(b, i.doc, c.as_of, i.to), _offer_convert,
                  creates=True),
        ActionDef("decline", "document.decline", Decline, "document",
                  lambda b, i, c: a.plan_decline(b, i.doc, _day(i.date, c)), _offer_decline),
        ActionDef("returned", "document.return", Returned, "document",
                  lambda b, i, c: a.plan_returned(b, i.doc, c.now()), _offer_returned),
        ActionDef("send", "document.send", Send, "book", None, _offer_send),
        ActionDef("mark_sent", "document.send", MarkSent, "book", None, _offer_mark_sent),
        ActionDef("delete", "document.delete", Delete, "book",
                  lambda b, i, c: a.plan_delete_document(b, i.doc), _offer_delete),
        ActionDef("edit", "document.modify", EditDocument, "book",
                  lambda b, i, c: a.plan_edit_document(b, i.doc, text=i.text,
                                                       set_fields=i.set_fields,
                                                       remove=i.remove, base=i.base),
                  _offer_edit),
        ActionDef("document.create", "document.create", CreateDocument, "book",
                  lambda b, i, c: a.plan_create_document(b, i.fields, c.as_of, source=i.source),
                  creates=True),
        ActionDef("contact.create", "contact.create", CreateContact, "book",
                  lambda b, i, c: a.plan_create_contact(b, i.fields, source=i.source),
                  creates=True),
        ActionDef("contact.modify", "contact.modify", EditContact, "book",
                  lambda b, i, c: a.plan_edit_contact(b, i.contact, text=i.text,
                                                      set_fields=i.set_fields, remove=i.remove,
                                                      base=i.base)),
        ActionDef("contact.delete", "contact.delete", DeleteContact, "book",
                  lambda b, i, c: a.plan_delete_contact(b, i.contact)),
        ActionDef("settings.modify", "settings.modify", EditSettings, "book",
                  lambda b, i, c: plan_edit_settings(b, i.set_fields, i.remove)),
        ActionDef("recurrence.create", "recurrence.create", CreateRecurrence, "book",
                  lambda b, i, c: a.plan_create_recurrence(b, i.fields, source=i.source),
                  creates=True),
        ActionDef("recurrence.modify", "recurrence.modify", EditRecurrence, "book",
                  lambda b, i, c: a.plan_edit_recurrence(b, i.recurrence, text=i.text,
                                                         set_fields=i.set_fields,
                                                         remove=i.remove)),
        ActionDef("recurrence.delete", "recurrence.delete", DeleteRecurrence, "book",
                  lambda b, i, c: a.plan_delete_recurrence(b, i.recurrence)),
        ActionDef("recurrence.repair", "recurrence.repair", RepairRecurrence, "book",
                  _plan_repair),
        ActionDef("bank.import", "document.payment", ImportStatement, "book", _plan_import),
        ActionDef("bank.assign", "document.payment", AssignCredit, "book",
                  lambda b, i, c: _bank().plan_assign(b, i.credit, i.doc, i.file)),
        ActionDef("bounce", "document.bounce", RecordBounce, "book",
                  lambda b, i, c: _deliveries().plan_bounce(b, i.report)),
    ]
    return {d.name: d for d in defs}


REGISTRY: dict[str, ActionDef] = _plans()

# the document actions, in the order the faces list them
DOCUMENT_ACTIONS: tuple[str, ...] = tuple(name for name, d in REGISTRY.items()
                                          if d.offer is not None)


def plan_edit_settings(book: Book, set_fields: dict, remove=()):
    """`settings.modify`: facturier.yaml with fields set (dotted keys) or
    removed, a person's comments and key order kept; refused when the result
    does not load."""
    from . import actions as a
    path = book.settings.path or "facturier.yaml"
    data, _record = a._edited(book, path, set_fields or {}, remove)
    changed = sorted(set(set_fields or {}) | set(remove))
    return a.Change(action="settings.modify", subject="Edit the settings (%s)" % ", ".join(changed),
                    writes={path: data})


# --------------------------------------------------------------------------- availability

@_on_use(frozen=True)
class Availability(_Later):
    name: str
    reason: Optional[Message] = None     # None: available

    @property
    def available(self) -> bool:
        return self.reason is None

    def as_json(self, lang: str = "en") -> dict:
        return {"action": self.name, "available": self.available,
                "reason": None if self.reason is None else self.reason.code,
                "why": None if self.reason is None else self.reason.render(lang)}


def available_actions(book: Book, doc: Document, as_of: dt.date) -> list[Availability]:
    """Every document action, in :data:`DOCUMENT_ACTIONS` order, each with the
    reason it is unavailable (None when it is offered)."""
    out = []
    for name in DOCUMENT_ACTIONS:
        offer = REGISTRY[name].offer
        assert offer is not None
        out.append(Availability(name, offer(book, doc, as_of)))
    return out


def left_sending(book: Book) -> list[str]:
    """Ids of the documents whose latest e-mail was left `sending` (handed
    over, outcome unknown: the daily run reports them and sends nothing
    again until a person says, `doc send ID [--mark-sent]`)."""
    return sorted(doc.id for doc in book.documents.values()
                  if doc.deliveries and (_last_email(doc) or _NO_EMAIL).result == "sending")


class _NoEmail:
    result = ""


_NO_EMAIL = _NoEmail()


# --------------------------------------------------------------------------- the view

@_on_use()
class DocumentView(_Later):
    """Everything about a document at ``as_of``: what `doc show` prints and
    the app's document screen shows."""
    doc: Document
    status: str
    category: str
    currency: str
    contact_name: str
    totals: Any                          # engine.money.Totals
    amounts: Any                         # engine.status.Amounts
    line_nets: list                      # Decimal per line
    line_vats: list                      # the rate of each line (the book's when it has none)
    credit_notes: list                   # Documents crediting it
    base_of: list                        # (recurrence id, name) it serves as template to
    recurrence_name: Optional[str] = None
    due: Optional[dt.date] = None        # the file's, else date + payment days
    actions: list = field(default_factory=list)     # Availability per document action

    @property
    def allowed(self) -> frozenset:
        return frozenset(a.name for a in self.actions if a.available)

    @property
    def is_template(self) -> bool:
        return bool(self.base_of)

    @property
    def is_draft_template(self) -> bool:
        """A template never validated: a model, not an invoice to validate
        (``engine.listing.template_drafts``)."""
        from .listing import is_draft_template
        return self.is_template and is_draft_template(self.doc)

    def as_json(self, lang: str = "en") -> dict:
        doc, sums, totals = self.doc, self.amounts, self.totals
        return {
            "id": doc.id, "path": doc.path, "kind": doc.kind, "number": doc.number,
            "contact": doc.contact, "date": doc.date, "due": self.due,
            "currency": self.currency, "validated": doc.validated,
            "scheduled": doc.scheduled, "status": self.status, "category": self.category,
            "net": totals.net, "vat": totals.vat, "total": totals.total,
            "credited": sums.credited, "paid": sums.paid, "discounted": sums.discounted,
            "open": sums.open,
            "lines": [{"description": line.description, "quantity": line.quantity,
                       "unit_price": line.unit_price, "vat": vat, "net": net}
                      for line, vat, net in zip(doc.lines, self.line_vats, self.line_nets)],
            "payments": [{"date": p.date, "amount": p.amount, "reference": p.reference}
                         for p in doc.payments],
            "discounts": [{"date": d.date, "amount": d.amount, "reason": d.reason}
                          for d in doc.discounts],
            "write_off": ({"date": doc.write_off.date, "reason": doc.write_off.reason}
                          if doc.write_off else None),
            "holds": [{"from": h.start, "to": h.end, "reason": h.reason} for h in doc.holds],
            "deliveries": [{"channel": d.channel, "at": d.at, "result": d.result, "to": d.to,
                            "message_id": d.message_id, "detail": d.detail,
                            "attachments": [{"name": a.name, "sha256": a.sha256}
                                            for a in d.attachments]}
                           for d in doc.deliveries],
            "reminders": [{"level": r.level, "date": r.date} for r in doc.reminders],
            "credits": doc.credits, "credit_notes": [c.id for c in self.credit_notes],
            "converted_to": doc.converted_to, "converted_from": doc.converted_from,
            "declined": doc.declined, "recurrence": doc.recurrence,
            "occurrence": doc.occurrence,
            "template_of": sorted(rec_id for rec_id, _name in self.base_of),
            "notes": doc.notes,
            "actions": [a.as_json(lang) for a in self.actions],
        }


def line_net(line, currency: str) -> Decimal:
    """A line's net, rounded as the totals round it."""
    from .money import round_money
    return round_money(line.quantity * line.unit_price, currency)


def document_view(book: Book, doc: Document, as_of: dt.date) -> DocumentView:
    from .money import currency_of, document_totals
    from .status import category_of, due_date, status_and_amounts
    code, sums = status_and_amounts(doc, book, as_of)
    currency = currency_of(doc, book.settings)
    contact = book.contact(doc.contact)
    rec = book.recurrence(doc.recurrence) if doc.recurrence else None
    lowered = doc.id.lower()
    return DocumentView(
        doc=doc, status=code, category=category_of(code), currency=currency,
        contact_name=contact.name if contact is not None else "",
        totals=document_totals(doc, book.settings), amounts=sums,
        line_nets=[line_net(line, currency) for line in doc.lines],
        line_vats=[line.vat if line.vat is not None else book.settings.vat for line in doc.lines],
        credit_notes=list(book.credit_notes_for(doc.id)) if doc.kind == "invoice" else [],
        base_of=sorted((r.id, r.name) for r in book.recurrences.values()
                       if r.template.lower() == lowered),
        recurrence_name=rec.name if rec is not None else None,
        due=due_date(doc, book),
        actions=available_actions(book, doc, as_of))


# --------------------------------------------------------------------------- a recurrence

# the repairs of a stopped recurrence (SPEC 4.4), as `recurrence repair` takes them
REPAIR_CHOICES: tuple[str, ...] = ("skip-missing", "create-missing", "end")


@_on_use()
class RecurrenceView(_Later):
    """A recurrence at ``as_of``: what `facturier recurrence show/list` print
    and the app's recurrence list, screen, repair dialog and stopped alert
    show. ``summary`` is engine.recurrence.summary's dict (the JSON of
    `recurrence show`); ``repairs`` the three repairs, each with the reason
    it is not offered (None when it is)."""
    rec: Any                             # engine.model.Recurrence
    summary: dict
    contact_name: str
    template_exists: bool
    repairs: list = field(default_factory=list)      # Availability per REPAIR_CHOICES

    @property
    def state(self) -> str:
        return self.summary["state"]

    @property
    def next(self) -> Optional[dt.date]:
        return self.summary["next"]

    @property
    def next_occurrences(self) -> list:
        return self.summary["next_occurrences"]

    @property
    def missing(self) -> list:
        return self.summary["missing"]

    @property
    def last(self) -> Optional[dt.date]:
        return self.summary["last"]

    @property
    def generated(self) -> int:
        return self.summary["generated"]

    @property
    def cause(self) -> Optional[str]:
        return self.summary["cause"]

    @property
    def offered_repairs(self) -> frozenset:
        return frozenset(a.name for a in self.repairs if a.available)


def _repair_offers(rec, state: str, missing: list, as_of: dt.date) -> list[Availability]:
    """What plan_repair would refuse on the recurrence's state alone (it
    still checks, on the locked book, that the cause is gone)."""
    if state != "stopped":
        return [Availability(name, Message("unavailable.not_stopped")) for name in REPAIR_CHOICES]
    stopped_on = rec.stopped.at[:10]
    if as_of.isoformat() < stopped_on:
        return [Availability(name, Message("unavailable.before_stop", date=stopped_on))
                for name in REPAIR_CHOICES]
    create = None
    if not missing:
        create = Message("unavailable.none_missing")
    elif len(missing) > 1:
        create = Message("unavailable.many_missing", n=len(missing))
    return [Availability("skip-missing"), Availability("create-missing", create),
            Availability("end")]


def recurrence_view(book: Book, rec, as_of: dt.date, lang: str = "en",
                    n_next: int = 5) -> RecurrenceView:
    """A recurrence's state, next occurrences, missing occurrences, last
    generated and what repair offers, at ``as_of`` (the rule in words in
    ``lang``)."""
    from .recurrence import summary
    info = summary(rec, book, as_of, lang, n_next=n_next)
    contact = book.contact(info["contact"]) if info["contact"] else None
    return RecurrenceView(
        rec=rec, summary=info, contact_name=contact.name if contact is not None else "",
        template_exists=book.document(rec.template) is not None,
        repairs=_repair_offers(rec, info["state"], info["missing"], as_of))


# --------------------------------------------------------------------------- perform

@dataclass
class Result:
    """What :func:`perform` did: the commit (None when nothing changed or it
    was refused), the change, the document it made, or the refusal (a
    catalogue Message: ``refusal.code``) and the input field it is about
    (``field_name``: its top-level key; ``refusal.field``: the whole path)."""
    action: str
    commit: Optional[str] = None
    change: Any = None
    created: Optional[str] = None
    refusal: Optional[Message] = None
    field_name: Optional[str] = None   # the input field the refusal is about
    report: Any = None                   # send: the engine.daily.RunReport
    detail: dict = field(default_factory=dict)      # what the plan found (Context.detail)
    recovered: list = field(default_factory=list)
    published: Optional[str] = None      # with `sync`: the subject as published
    pushes: int = 0                      # with `sync`: the pushes it took

    @property
    def ok(self) -> bool:
        return self.refusal is None

    @property
    def subject(self) -> str:
        if self.published:
            return self.published
        return self.change.subject if self.change is not None else ""


def now_in(timezone: str, as_of: dt.date) -> str:
    """An ISO 8601 timestamp with offset that falls on ``as_of`` (SPEC 6: the
    dates and timestamps a command records fall on its as_of day): the current
    time of day in the book's zone, on the as_of date. Reads the clock: for
    the faces only."""
    try:
        from zoneinfo import ZoneInfo
        zone: dt.tzinfo = ZoneInfo(timezone)
    except Exception:
        zone = dt.timezone.utc
    now = dt.datetime.now(zone)
    stamp = dt.datetime.combine(as_of, now.time().replace(microsecond=0), zone)
    return stamp.isoformat()


def field_of(message: Message) -> Optional[str]:
    """The input field a refusal is about (its top-level key: "lines" for
    "lines.1.vat"), as the plan that refused said it (``message.field``:
    ``ActionRefused(code, field_name=...)``, or the field of the first
    diagnostic of parsed input), else None."""
    named = getattr(message, "field", None)
    return named.split(".", 1)[0] if named else None


def _target(inputs: Any) -> Optional[str]:
    return getattr(inputs, "doc", None)


def perform(root, name: str, inputs: Any, as_of: dt.date, author: Optional[str] = None, *,
            now: Optional[Callable[[], str]] = None, lang: str = "en",
            timeout: float = 10.0, environ=None) -> Result:
    """Do action ``name`` (a key of :data:`REGISTRY`) with ``inputs`` (its
    input dataclass) as of ``as_of``: lock the book, load what the action
    needs, plan, commit. Refusals (ActionRefused) come back in the result;
    a broken environment (git missing, lock timeout) still raises."""
    definition = REGISTRY.get(name)
    if definition is None:
        return Result(name, refusal=Message("unavailable.unknown", name=name))
    if not isinstance(inputs, definition.inputs):
        raise TypeError("%s takes %s, not %r" % (name, definition.inputs.__name__, inputs))
    if now is None:
        from .book import load_settings
        timezone = load_settings(root).timezone
        now = lambda: now_in(timezone, as_of)      # noqa: E731
    result = Result(name)
    context = Context(as_of, now, lang, result.detail)
    try:
        if definition.plan is None:
            return _send(root, definition, inputs, as_of, author, now, environ, result)
        from .actions import open_writer
        with open_writer(root, author=author, timeout=timeout) as writer:
            result.recovered = writer.recovered
            target = _target(inputs)
            if definition.needs == "document" and target:
                book = writer.load_documents([target])
            elif definition.needs == "numbering" and target:
                book = writer.load_numbering(target)
            else:
                book = writer.book
            change = definition.plan(book, inputs, context)
            result.change = change
            result.commit = writer.commit(change) if change is not None else None
            # with `sync` (SPEC 9) the change may have been planned again on
            # the remote's head (a validation's number): what was published
            publisher = getattr(writer, "publisher", None)
            if publisher is not None and result.commit:
                replayed = publisher.report.replayed or publisher.report.dropped
                # planned again: the commit's own subject says its number
                result.published = publisher.subject(result.commit) if replayed \
                    else change.subject
                result.pushes = publisher.report.pushes
    except ActionRefused as exc:
        result.refusal = exc.message
        result.field_name = field_of(exc.message)
        return result
    if definition.creates and result.change is not None:
        made = [v for k, v in result.change.trailers
                if k in ("Facturier-Document", "Facturier-Contact", "Facturier-Recurrence")]
        result.created = made[0] if made else None
    return result


def _send(root, definition: ActionDef, inputs, as_of, author, now, environ, result) -> Result:
    from .daily import send_now
    kwargs: dict = {"author": author, "now": now, "mark_sent": definition.name == "mark_sent"}
    if environ is not None:
        kwargs["environ"] = environ
    if isinstance(inputs, Send):
        kwargs["smtp_timeout"] = inputs.smtp_timeout
    result.report = send_now(root, inputs.doc, as_of, **kwargs)
    return result


def inputs_for(name: str, **values) -> Any:
    """The input dataclass of action ``name`` from keyword values, ignoring
    the ones it does not take (a form's extra fields)."""
    cls = _made(REGISTRY[name].inputs)
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in values.items() if k in names})
