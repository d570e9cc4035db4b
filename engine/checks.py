"""The invariants of SPEC 2 that span files, as a plain list of functions.

Each check takes the Book and returns diagnostics; `facturier check` prints
them with the per-file diagnostics of the loader. Choices where the SPEC is
silent (docs/book-format.md repeats them):

- a document whose `recurrence` names a recurrence that no longer exists is a
  *warning*: deleting a recurrence legitimately leaves its documents (SPEC 4);
- payments on a draft concern invoices, credit notes, quotes and work orders;
  expenses are never validated, so they are paid as they are;
- the gap check counts from 1 to the highest number of a series and year; the
  missing numbers are reported on the document holding the next one.
- a numbering format without `{year}` makes one series across the years, as
  numbering gives them.
- an expense total, payment or discount finer than the currency's minor unit
  (12.345 EUR) is an error: its open amount could never be shown or paid.
- numbers out of chronological order are an error (SPEC 2, revision 2).
- numbers that do not follow the current format, all validated no later than
  the first number of their series and year that does, were given under an
  earlier format: one warning per series and year, and the series counts them
  (engine/numbering.py); such a number validated later is an error, and so is
  a current-format number that repeats one of their sequence numbers. Numbers
  of a kind whose `numbering` setting is in error are not judged (the
  settings' error says it).
- a credit note with a VAT rate its invoice lacks (SPEC 5.4) is an error on a
  draft and a warning on a validated one (a legal record, corrected by a
  credit note, not by an edit).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Callable, Iterable, Union

from .diagnostics import ERROR, WARNING, Diagnostic
from .i18n import Message
from .model import Book, Discount, Document, Payment

NUMBERED_KINDS = ("invoice", "credit_note", "quote", "work_order")
KIND_WORDS = {"invoice": "invoice", "credit_note": "credit note", "quote": "quote",
              "work_order": "work order", "expense": "expense"}


def _a_kind(kind: str) -> Message:
    return Message("kind.a." + kind)


def _kind(kind: str) -> Message:
    return Message("kind.word." + kind)


def _say(code: str, **params) -> str:
    """A diagnostic's text: the English of catalogue message ``code``, read
    back in the person's language by the faces (engine/i18n.py)."""
    return str(Message(code, **params))


def _at(record, field: str, message: str, severity: str = ERROR) -> Diagnostic:
    line = record.fields.get(field.split(".")[0], record.line) if record.fields else record.line
    return Diagnostic(record.path, line, 1 if line else 0, field, message, severity)


def document_references(book: Book, doc: Document) -> Iterable[Diagnostic]:
    if book.contact(doc.contact) is None:
        yield _at(doc, doc.party_key, _say("check.no_contact", key=doc.party_key, id=doc.contact,
                                           file=doc.contact))
    for field in ("credits", "converted_to", "converted_from"):
        target = getattr(doc, field)
        if target and book.document(target) is None:
            yield _at(doc, field, _say("check.no_document", key=field, id=target))
    if doc.recurrence and book.recurrence(doc.recurrence) is None:
        yield _at(doc, "recurrence", _say("check.no_recurrence", id=doc.recurrence), WARNING)


def check_references(book: Book) -> Iterable[Diagnostic]:
    for doc in book.documents.values():
        yield from document_references(book, doc)
    for rec in book.recurrences.values():
        if book.document(rec.template) is None:
            yield _at(rec, "template", _say("check.no_template", id=rec.template))


def foreign_rates(book: Book, note: Document, invoice: Document) -> list[Decimal]:
    """The VAT rates of credit note ``note`` that ``invoice`` does not have
    (SPEC 5.4: a credit note never carries one; its VAT would not reverse
    the invoice's). A line without `vat` has the settings' rate."""
    default = book.settings.vat
    have = {default if line.vat is None else line.vat for line in invoice.lines}
    return sorted({default if line.vat is None else line.vat for line in note.lines} - have)


def document_credits(book: Book, doc: Document) -> Iterable[Diagnostic]:
    if doc.kind == "credit_note" and not doc.credits:
        yield _at(doc, "kind", _say("check.credits_nothing"))
    if doc.kind == "credit_note" and doc.credits:
        target = book.document(doc.credits)
        if target is not None and target.kind != "invoice":
            yield _at(doc, "credits", _say("check.credits_kind", id=doc.credits,
                                           kind=_a_kind(target.kind)))
        elif target is not None and target.lines:
            foreign = foreign_rates(book, doc, target)
            if foreign:
                # a draft can be fixed; a validated one is a legal record: said, not blocked
                code = "check.foreign_rates" if len(foreign) > 1 else "check.foreign_rate"
                yield _at(doc, "lines", _say(
                    code + (".fix" if doc.validated is None else ""),
                    rates=", ".join("%s%%" % _rate(r) for r in foreign), invoice=doc.credits,
                    have=", ".join("%s%%" % _rate(r) for r in sorted(
                        {book.settings.vat if ln.vat is None else ln.vat
                         for ln in target.lines}))),
                    ERROR if doc.validated is None else WARNING)


def _rate(rate: Decimal) -> str:
    return format(rate.normalize(), "f") if rate else "0"


def check_credit_notes(book: Book) -> Iterable[Diagnostic]:
    for doc in book.documents.values():
        yield from document_credits(book, doc)


def document_draft_rules(book: Book, doc: Document) -> Iterable[Diagnostic]:
    if doc.kind == "expense":
        return
    if doc.validated is None:
        if doc.payments:
            yield _at(doc, "payments", _say("check.draft_payments", kind=_kind(doc.kind)))
        if doc.number:
            yield _at(doc, "number", _say("check.draft_number"))
    elif not doc.number:
        yield _at(doc, "validated", _say("check.validated_no_number", kind=_kind(doc.kind)))


def check_drafts(book: Book) -> Iterable[Diagnostic]:
    for doc in book.documents.values():
        yield from document_draft_rules(book, doc)


def document_money(book: Book, doc: Document) -> Iterable[Diagnostic]:
    """Amounts of money finer than the currency's minor unit (12.345 EUR): the
    totals and open amounts computed from them could not be shown or paid."""
    from .money import currency_of, minor_units
    currency = currency_of(doc, book.settings)
    places = minor_units(currency)

    def too_fine(amount) -> bool:
        # the exponent test alone settles nearly every amount ("120.50")
        return amount.is_finite() and amount.as_tuple().exponent < -places and \
            amount != amount.quantize(Decimal(1).scaleb(-places))

    def message(what: str, amount) -> str:
        return _say("check.too_fine", what=Message(what), amount=amount, currency=currency,
                    places=places)
    if doc.total is not None and too_fine(doc.total):
        yield _at(doc, "total", message("check.the_total", doc.total))
    amounts: tuple[tuple[str, tuple[Union[Payment, Discount], ...]], ...] = (
        ("payments", doc.payments), ("discounts", doc.discounts))
    for key, entries in amounts:
        for i, entry in enumerate(entries):
            if too_fine(entry.amount):
                line = entry.line or (doc.fields or {}).get(key, doc.line)
                yield Diagnostic(doc.path, line, 1 if line else 0, "%s.%d.amount" % (key, i + 1),
                                 message("check.the_amount", entry.amount))


DOCUMENT_CHECKS: tuple[Callable[[Book, Document], Iterable[Diagnostic]], ...] = (
    document_references, document_credits, document_draft_rules, document_money)


def check_money(book: Book) -> Iterable[Diagnostic]:
    for doc in book.documents.values():
        yield from document_money(book, doc)


def document_errors(book: Book, doc: Document) -> list[Diagnostic]:
    """The errors of one document against the rest of the book (the checks of
    this module that concern it alone; numbering spans documents): what an
    action must not introduce."""
    return [d for check in DOCUMENT_CHECKS for d in check(book, doc) if d.is_error]


def _broken_numbering(book: Book) -> set[str]:
    """Kinds whose `numbering` setting has an error: their numbers cannot be
    judged against a format (the loader fell back to the default one)."""
    broken: set[str] = set()
    for d in book.diagnostics:
        if d.path == "facturier.yaml" and d.is_error and (d.field or "").startswith("numbering"):
            kind = (d.field or "").partition(".")[2]
            broken.update([kind] if kind else NUMBERED_KINDS)
    return broken


def check_numbering(book: Book) -> Iterable[Diagnostic]:
    from .numbering import has_year, read_number
    numbering = book.settings.numbering
    broken = _broken_numbering(book)
    series: dict[tuple[str, int], list[tuple[int, Document]]] = {}
    older: dict[tuple[str, int], list[Document]] = {}
    seen: dict[tuple[str, str], Document] = {}
    for doc in sorted(book.documents.values(), key=lambda d: d.path):
        if doc.kind not in NUMBERED_KINDS or not doc.number:
            continue
        key = (doc.kind, doc.number)
        first = seen.get(key)
        if first is not None:
            yield _at(doc, "number", _say("check.number_used", number=doc.number,
                                          kind=_kind(doc.kind), id=first.id))
            continue
        seen[key] = doc
        if doc.kind in broken:
            continue            # the settings' error says it; the format is not known
        fmt = numbering.format_for(doc.kind)
        read = read_number(fmt, doc.number)
        if read is None:
            # given under an earlier format of the series, or wrong: decided
            # below, once the series' numbers that follow the format are known
            older.setdefault((doc.kind, doc.date.year if has_year(fmt) else 0), []).append(doc)
            continue
        year, seq = read
        if year is not None and year != doc.date.year:
            yield _at(doc, "number", _say("check.number_year", number=doc.number, year=year,
                                          kind=_kind(doc.kind), date=doc.date.isoformat()))
            continue
        if seq < 1:
            yield _at(doc, "number", _say("check.number_zero", number=doc.number))
            continue
        # a format without {year} is one series across the years (engine/numbering.py)
        series.setdefault((doc.kind, doc.date.year if year is not None else 0), []).append(
            (seq, doc))
    for (kind, year) in sorted(set(series) | set(older)):
        members = sorted(series.get((kind, year), []), key=lambda m: m[0])
        fmt = numbering.format_for(kind)
        of_year: Union[str, Message] = Message("check.of_year", year=year) if year else ""
        word = _kind(kind)
        first_current = min((doc.validated for _seq, doc in members if doc.validated),
                            default=None)
        earlier: list[Document] = []
        for doc in older.get((kind, year), []):
            if first_current is None or (doc.validated and doc.validated <= first_current):
                earlier.append(doc)
            else:
                yield _at(doc, "number", _say("check.number_format_late", number=doc.number,
                                              kind=word, format=fmt,
                                              date=first_current.isoformat()))
        if earlier:
            earlier.sort(key=lambda d: (d.validated or d.date, d.path))
            after = max([len(earlier) + len({m[0] for m in members})]
                        + [m[0] for m in members[-1:]]) + 1
            if len(earlier) > 1:
                text = _say("check.number_format_old", n=len(earlier), kind=word,
                            of_year=of_year, first=earlier[0].number,
                            last=" … %s" % earlier[-1].number, format=fmt, next=after)
            else:
                text = _say("check.number_format_old.one", kind=word, of_year=of_year,
                            first=earlier[0].number, format=fmt, next=after)
            yield _at(earlier[0], "number", text, WARNING)
        expected = len(earlier) + 1
        for seq, doc in members:
            if seq < expected and seq <= len(earlier):
                yield _at(doc, "number", _say(
                    "check.number_again" if len(earlier) > 1 else "check.number_again.one",
                    number=doc.number, seq=seq, n=len(earlier), kind=word, of_year=of_year))
                continue
            if seq > expected:
                if seq == expected + 1:
                    text = _say("check.gap", kind=word, of_year=of_year, missing=expected,
                                number=doc.number)
                else:
                    text = _say("check.gap_range", kind=word, of_year=of_year, first=expected,
                                last=seq - 1, number=doc.number)
                yield _at(doc, "number", text)
            expected = max(expected, seq + 1)
        previous = None
        for _, doc in members:
            if previous is not None and doc.validated and previous.validated \
                    and doc.validated < previous.validated:
                yield _at(doc, "number", _say("check.out_of_order", number=doc.number,
                                              date=doc.validated, previous=previous.number,
                                              then=previous.validated))
            previous = doc


def check_recurrences(book: Book) -> Iterable[Diagnostic]:
    from .recurrence import RuleError, parse_rule, schedule_warnings
    for rec in book.recurrences.values():
        try:
            parse_rule(rec.rule, rec.start, rec.until)
        except RuleError as exc:
            yield _at(rec, "rule", _say("check.rule", reason=getattr(exc, "message", None)
                                        or str(exc)))
        for field, message in schedule_warnings(rec.rule, rec.start, rec.until):
            yield _at(rec, field, message, WARNING)
        template = book.document(rec.template)
        if template is not None and template.kind not in ("invoice", "expense"):
            yield _at(rec, "template", _say("check.template_kind", id=template.id,
                                            kind=_a_kind(template.kind)))


def check_einvoice_data(book: Book) -> Iterable[Diagnostic]:
    """What the e-invoices of the book's invoices and credit notes need and the
    book lacks (SPEC 2, 8.2): warnings, once on facturier.yaml for the
    company and once on each customer's file (not on each document), as long
    as one invoice or credit note is issued with an e-invoice. Issuing refuses
    them (engine/einvoice.refuse_incomplete)."""
    from .einvoice import EINVOICE_KINDS, company_gaps, contact_gaps
    everyone = book.settings.einvoice == "facturx"
    customers = {}
    # one pass over the documents (a set of ids), then one look-up per contact
    for contact_id in {doc.contact for doc in book.documents.values() if doc.kind in EINVOICE_KINDS}:
        contact = book.contact(contact_id)
        if contact is not None and (everyone or contact.einvoice != "pdf"):
            customers[contact.path] = contact
    if not customers:
        return
    for gap in company_gaps(book.settings):
        yield _at(book.settings, "company", Message("einvoice.check.company", field=gap), WARNING)
    for path in sorted(customers):
        contact = customers[path]
        for gap in contact_gaps(contact):
            yield _at(contact, gap.split(" ")[0].split(".")[0],
                      Message("einvoice.check.contact", field=gap), WARNING)


def check_payment_codes(book: Book) -> Iterable[Diagnostic]:
    """A Swiss QR-bill (SPEC 8.3) that ``payment_qr`` would print but the
    company's data cannot make: a warning on facturier.yaml (the invoices are
    printed without it)."""
    from .paycode import SWISS_COUNTRIES, swiss_creditor_missing
    settings = book.settings
    if settings.payment_qr not in ("auto", "swiss") or \
            settings.company.iban[:2] not in SWISS_COUNTRIES:
        return
    if not any(doc.kind == "invoice" for doc in book.documents.values()):
        return
    for gap in swiss_creditor_missing(settings):
        yield _at(settings, "company", Message("einvoice.check.qrbill", setting=settings.payment_qr,
                                               field=gap), WARNING)


CHECKS: tuple[Callable[[Book], Iterable[Diagnostic]], ...] = (
    check_references, check_credit_notes, check_drafts, check_money, check_numbering,
    check_recurrences, check_einvoice_data, check_payment_codes)


def check_book(book: Book) -> list[Diagnostic]:
    """Every cross-file diagnostic of the book, sorted by file and line."""
    found = [d for check in CHECKS for d in check(book)]
    found.sort(key=lambda d: (d.path, d.line, d.col, d.message))
    return found
