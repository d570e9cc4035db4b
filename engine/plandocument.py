"""The plans of a document's life (SPEC 5.1): create, edit, validate, credit,
convert, delete.

Validated documents are legal records (SPEC 2): they cannot be deleted, and
their contact, date, currency, lines, number (and kind) cannot change.
"""
from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from typing import Any, Iterable, Optional, Union

import msgspec

from .diagnostics import ActionRefused
from .model import Book, Document, Line
from .numbering import NUMBERED_KINDS, next_number
from .planning import (KIND_WORDS, _a_kind, _amount, _broken, _change_doc, _contact, _currency,
                       _doc, _doc_trailer, _edited, _fields, _id_from, _lower_ids, _message,
                       _need_kind, _need_validated, _or, _parse, _protected_changes, _refuse,
                       _refuse_new_errors, _trailers_for, _unchanged_since, _with_input, _word,
                       _yaml_input, label)
from .session import Change
from .writer import document_path, dump_document, new_document_id


# =========================================================================== documents

def plan_validate(book: Book, doc_id: str, as_of: dt.date, issued_late: bool = False) -> Change:
    """Give the draft its number (next in its kind's series for the year of
    its date, never dated before the series' last one) and ``validated:
    as_of``; drop ``scheduled``. ``issued_late``: the daily run issues a
    scheduled invoice after its date (a catch-up), so its term runs from
    ``as_of`` (SPEC 4.1: never due before it was issued)."""
    doc = _doc(book, doc_id)
    if doc.validated is not None:
        _refuse("refuse.already_validated", doc=label(doc), date=doc.validated.isoformat())
    if doc.kind not in NUMBERED_KINDS:
        _refuse("refuse.expense_not_validated", doc=label(doc))
    if book.contact(doc.contact) is None:
        _refuse("refuse.validate_no_contact", field_name=doc.party_key, doc=label(doc),
                contact=doc.contact,
                party=_word(doc.party_key))
    if doc.kind == "credit_note":
        target = book.document(doc.credits) if doc.credits else None
        if target is None or target.kind != "invoice":
            _refuse("refuse.credit_needs_invoice", doc=label(doc))
        if target.validated is None:
            _refuse("refuse.credit_draft_invoice", doc=label(doc), invoice=label(target))
        from .checks import foreign_rates
        foreign = foreign_rates(book, doc, target) if target is not None else []
        if foreign and target is not None:
            _refuse("refuse.credit_foreign_rates", doc=label(doc),
                    rates=", ".join("%s%%" % _rate_text(r, "en") for r in foreign),
                    invoice=label(target))
        from .money import document_totals
        total = document_totals(doc, book.settings).total
        left = document_totals(target, book.settings).total - sum(
            (document_totals(cn, book.settings).total for cn in book.credit_notes_for(target.id)
             if cn.validated is not None and cn.id != doc.id), Decimal(0))
        if total > left:
            _refuse("refuse.credit_too_much", doc=label(doc), total=str(total),
                    invoice=label(target), left=str(left))
    if doc.kind != "expense" and not doc.lines:
        _refuse("refuse.no_lines", field_name="lines", doc=label(doc))
    number = next_number(book, doc.kind, doc.date, validated=as_of)
    fields: dict[str, Any] = {"number": number, "validated": as_of}
    fields.update(_frozen_defaults(book, doc))
    if issued_late and doc.kind == "invoice" and as_of > doc.date:
        from .status import due_date
        fields["due"] = as_of + (due_date(doc, book) - doc.date)
    data, _ = _edited(book, doc.path, fields, remove=("scheduled",))
    change = _change_doc("document.validate", "Validate %s %s as %s"
                         % (KIND_WORDS[doc.kind], doc.id, number), doc, data,
                         settings=book.settings)
    # the number follows the series format of the settings; the frozen due
    # date, the contact's payment days
    change = _with_input(change, "validate", doc=doc.id, as_of=as_of.isoformat(), late=issued_late)
    return dataclasses.replace(change, reads=("facturier.yaml", _contact(book, doc.contact).path))


def _frozen_defaults(book: Book, doc: Document) -> dict[str, Any]:
    """What a draft takes from the settings or its contact, written into it
    at validation: a legal record must not change when someone later edits
    the default VAT rate, currency or payment days (SPEC 2)."""
    from .status import due_date
    fields: dict[str, Any] = {}
    if not doc.currency:
        fields["currency"] = book.settings.currency
    if doc.kind == "invoice" and doc.due is None:
        fields["due"] = due_date(doc, book)
    for i, line in enumerate(doc.lines):
        if line.vat is None:
            fields["lines.%d.vat" % i] = book.settings.vat
    return fields


def _new_document(book: Book, record: Document, seed_extra: str = "",
                  doc_id: Optional[str] = None) -> tuple[Document, bytes]:
    """Give a new document its id and path; its canonical bytes."""
    if doc_id is None:
        seed = dump_document(record) + seed_extra
        doc_id = new_document_id(record.kind, record.date, book.documents.keys(), seed,
                                 lowered=_lower_ids(book))
    elif book.document(doc_id) is not None:
        _refuse("refuse.document_exists", id=doc_id)
    record = msgspec.structs.replace(record, id=doc_id, path=document_path(doc_id, record.date))
    data = dump_document(record).encode("utf-8")
    _parse(record.path, data)          # the canonical file must read back
    return record, data


def plan_credit(book: Book, doc_id: str, as_of: dt.date, amount=None) -> Change:
    """A credit-note draft for the invoice (SPEC 5.4) that keeps its VAT: the
    invoice's lines when it credits the whole untouched invoice, else
    ``amount`` (gross; default: the open amount) split over the invoice's VAT
    rates in proportion to each rate's share of its gross total, one line per
    rate (:func:`engine.money.split_credit`), so that the credit note's total is
    exactly ``amount`` and it carries no rate the invoice did not have.
    Refused, naming the nearest amounts that can be, when no split reaches
    ``amount`` exactly (a single VAT rate: VAT is rounded per rate, so at 20 %
    no net gives 0.03)."""
    from .i18n import t
    from .money import SplitError, document_totals, split_credit
    from .status import amounts
    doc = _doc(book, doc_id)
    _need_kind(doc, ("invoice",), "credited")
    _need_validated(doc, "crediting it")
    currency = _currency(book, doc)
    sums = amounts(doc, book, as_of)
    drafts = [cn for cn in book.credit_notes_for(doc.id) if cn.validated is None]
    if drafts:
        _refuse("refuse.credit_draft_exists", doc=label(doc), draft=drafts[0].id)
    asked = amount is not None
    if amount is None:
        amount = sums.open
        if amount <= 0:
            _refuse("refuse.nothing_to_credit", doc=label(doc), date=as_of.isoformat())
    else:
        amount = _amount(amount, "the credit", currency)
    if amount > sums.total - sums.credited:
        _refuse("refuse.credit_more_than_left", doc=label(doc), amount=str(amount),
                left=str(sums.total - sums.credited))
    default_rate = book.settings.vat
    if amount == sums.total and sums.credited == 0 and doc.lines:
        lines = tuple(msgspec.structs.replace(
            line, line=0, vat=default_rate if line.vat is None else line.vat)
            for line in doc.lines)
    else:
        try:
            split = split_credit(document_totals(doc, book.settings).by_rate, amount, currency)
        except SplitError as exc:
            raise ActionRefused(_unreachable_credit(doc, exc, currency, asked)) from None
        except ValueError as exc:
            _refuse("%s: %s" % (label(doc), exc))
        lang = book.settings.locale
        lines = tuple(Line(description=t("credit.line", lang, number=doc.number or doc.id,
                                         rate=_rate_text(rate, lang)),
                           quantity=Decimal("1"), unit_price=net, vat=rate)
                      for rate, net in split)
    draft = Document(id="new", path="", kind="credit_note", contact=doc.contact, date=as_of,
                     currency=doc.currency, lines=lines, credits=doc.id)
    credit, data = _new_document(book, draft)
    total = document_totals(credit, book.settings).total
    if total != amount:             # split_credit's promise; never a wrong legal record
        _refuse("refuse.credit_total", doc=label(doc), total=total, amount=amount)
    return Change(action="document.credit",
                  subject="Create credit note %s of %s %s for %s"
                  % (credit.id, total, currency, label(doc)),
                  writes={credit.path: data}, trailers=_doc_trailer(credit, doc),
                  new=(credit.path,))


def _rate_text(rate: Decimal, lang: str) -> str:
    """8.1 -> "8.1" ("8,1" in French); 20.00 -> "20"."""
    text = format(rate.normalize(), "f") if rate else "0"
    return text.replace(".", ",") if (lang or "")[:2] == "fr" else text


def _unreachable_credit(doc: Document, exc, currency: str, asked: bool):
    from .i18n import Message
    nearest = [str(a) for a in (exc.below, exc.above) if a is not None]
    rates = sorted({line.vat for line in doc.lines if line.vat is not None})
    return Message(
        "refuse.unreachable." + ("asked" if asked else "open"), doc=label(doc),
        amount=exc.amount, currency=currency,
        at=Message("refuse.unreachable.at", rates="/".join(_rate_text(r, "en") for r in rates))
        if rates else "",
        nearest=Message("word.or", a=nearest[0], b=nearest[1]) if len(nearest) > 1
        else nearest[0] if nearest else "", id=doc.id)


CONVERSIONS = {"quote": ("invoice", "work_order"), "work_order": ("invoice",)}


def plan_convert(book: Book, doc_id: str, as_of: dt.date, to: Optional[str] = None) -> Change:
    """Quote -> invoice (default) or work order; work order -> invoice. The
    new draft names its source (``converted_from``) and the source names it
    (``converted_to``), in one commit."""
    doc = _doc(book, doc_id)
    targets = CONVERSIONS.get(doc.kind)
    if not targets:
        _refuse("refuse.convert_kind", doc=label(doc))
    to = to or "invoice"
    if to not in targets:
        _refuse("refuse.convert_to", doc=label(doc),
                targets=_or([_a_kind(t) for t in targets]), to=_a_kind(to))
    if doc.converted_to:
        _refuse("refuse.already_converted", doc=label(doc), to=doc.converted_to)
    if doc.declined is not None:
        _refuse("refuse.convert_declined", doc=label(doc), date=doc.declined.isoformat())
    draft = Document(id="new", path="", kind=to, contact=doc.contact, date=as_of,
                     currency=doc.currency,
                     lines=tuple(msgspec.structs.replace(line, line=0) for line in doc.lines),
                     notes=doc.notes, converted_from=doc.id)
    new, data = _new_document(book, draft)
    source, _ = _edited(book, doc.path, {"converted_to": new.id})
    return Change(action="document.convert",
                  subject="Convert %s to %s %s" % (label(doc), KIND_WORDS[to], new.id),
                  writes={doc.path: source, new.path: data}, trailers=_doc_trailer(new, doc),
                  new=(new.path,))


def _referrers(book: Book, doc: Document) -> list[str]:
    lowered = doc.id.lower()
    found = []
    for other in book.documents.values():
        if other.id == doc.id:
            continue
        for key in ("credits", "converted_from", "converted_to"):
            value = getattr(other, key)
            if value and value.lower() == lowered:
                found.append(_message("refuse.referrer", doc=label(other), key=key))
    for rec in book.recurrences.values():
        if rec.template.lower() == lowered:
            found.append(_message("refuse.referrer_recurrence", id=rec.id))
    return found


def plan_delete_document(book: Book, doc_id: str) -> Change:
    doc = _doc(book, doc_id)
    if doc.validated is not None:
        _refuse("refuse.delete_validated", doc=label(doc), id=doc.id)
    refs = _referrers(book, doc)
    if refs:
        _refuse("refuse.delete_referred" if len(refs) == 1 else "refuse.delete_referred.many",
                doc=label(doc), refs=refs)
    return Change(action="document.delete", subject="Delete %s" % label(doc),
                  deletes=(doc.path,), trailers=_trailers_for(doc))


def _check_new_document(book: Book, record: Document) -> None:
    if record.number or record.validated:
        _refuse("refuse.new_is_draft", field_name="number", kind=_message("kind.word.%s" % record.kind))
    if record.kind != "expense" and record.payments:
        _refuse("refuse.draft_payments", kind=_message("kind.word.%s" % record.kind))
    _check_references(book, record)


def _check_references(book: Book, record: Document) -> None:
    if book.contact(record.contact) is None:
        _refuse("refuse.no_contact_for", field_name=record.party_key, id=record.contact,
                party=_word(record.party_key))
    if record.credits:
        target = book.document(record.credits)
        if target is None or target.kind != "invoice":
            _refuse("refuse.credits_not_invoice", field_name="credits", id=record.credits,
                    what=_message("word.missing") if target is None else _a_kind(target.kind))
    if record.kind == "credit_note" and not record.credits:
        _refuse("refuse.credit_without_invoice", field_name="credits")
    for key in ("converted_from", "converted_to"):
        value = getattr(record, key)
        if value and book.document(value) is None:
            _refuse("refuse.names_missing", key=key, id=value)
    if record.recurrence and book.recurrence(record.recurrence) is None:
        _refuse("refuse.names_missing", key="recurrence", id=record.recurrence)


def plan_create_document(book: Book, fields: Union[dict, str, bytes], as_of: dt.date,
                         source: str = "<input>") -> Change:
    """A new draft from a mapping ({"kind":, "customer":, "lines": [...]}) or
    YAML text; ``date`` defaults to ``as_of``. The file is canonical and its id
    is derived from its content, so the same input gives the same file."""
    text = _yaml_input(fields, {"date": as_of})
    given = _id_from(text, "documents", source)
    record = _parse("documents/%s.yaml" % (given or "new"), text, source,
                    positions=isinstance(fields, (str, bytes)))
    _check_new_document(book, record)
    _refuse_new_errors(book, None, record, source, positions=isinstance(fields, (str, bytes)))
    doc, data = _new_document(book, record, doc_id=given)
    whom = "for" if doc.kind != "expense" else "from"
    return Change(action="document.create", subject="Create %s %s %s %s"
                  % (KIND_WORDS[doc.kind], doc.id, whom, doc.contact),
                  writes={doc.path: data}, trailers=_trailers_for(doc), new=(doc.path,))


def plan_edit_document(book: Book, doc_id: str, text: Optional[Union[str, bytes]] = None,
                       set_fields: Optional[dict] = None, remove: Iterable[str] = (),
                       append: Optional[dict] = None, base: Optional[str] = None) -> Change:
    """The document with a new text (a person's edit) or fields set/removed.
    Refused when the result does not load, names a missing contact, or
    changes what a validated document keeps (SPEC 2); and when ``base`` (the
    text the person's edit started from) is no longer the file's."""
    broken = _broken(book, "documents", doc_id) if book.document(doc_id) is None else None
    if broken:
        _unchanged_since(book, broken, base)
    else:
        _unchanged_since(book, _doc(book, doc_id).path, base)
    if broken and text is not None:
        # a file that does not load can be fixed by a new text that does
        data = text.encode("utf-8") if isinstance(text, str) else text
        new = _parse(broken, data)
        _check_references(book, new)
        _refuse_new_errors(book, None, new)
        return Change(action="document.modify", subject="Fix %s" % label(new),
                      writes={broken: data}, trailers=_trailers_for(new))
    doc = _doc(book, doc_id)
    if text is not None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        new = _parse(doc.path, data)
    else:
        data, new = _edited(book, doc.path, set_fields, remove, append)
    if doc.validated is not None:
        changed = _protected_changes(doc, new, book.settings)
        if changed:
            _refuse("refuse.validated_protected", doc=label(doc), fields=_fields(changed),
                    id=doc.id)
    elif new.number or new.validated:
        _refuse("refuse.number_by_validation", id=doc.id)
    if new.contact != doc.contact or new.credits != doc.credits or \
            new.recurrence != doc.recurrence:
        _check_references(book, new)
    _refuse_new_errors(book, doc, new)
    return _change_doc("document.modify", "Edit %s" % label(doc), doc, data)
