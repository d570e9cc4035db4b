"""Bank statements (SPEC 10.3): read ISO 20022 camt.053 / camt.054 and CSV,
match the credits to invoices, plan the payments.

Pure: bytes in, records out; the book and ``as_of`` are passed in; no git, no
clock (the command reads the files and commits through engine/actions.py).

Reading (:func:`read_camt`): the namespace decides the message
(``urn:iso:std:iso:20022:tech:xsd:camt.053.001.02`` … ``.08``, and camt.054
likewise); anything else is refused by name. XML is parsed with the standard
library with a document type declaration refused outright (no entities at
all, so no entity expansion bomb and no external entity). Each credit
(``CdtDbtInd`` CRDT) of a booked entry (``Sts`` BOOK, or ``<Sts><Cd>BOOK``) that
is not a reversal becomes one :class:`BankCredit` per transaction: an entry of a
batch or with several ``TxDtls`` gives one credit per ``TxDtls`` (its own
amount, debtor and remittance), an entry without details one credit. The
amount is the transaction's (``TxDtls/Amt``, else ``AmtDtls/TxAmt/Amt``, else
the entry's); when the transaction's charges were taken from it
(``Chrgs`` with ``ChrgInclInd`` true, or a charge record saying so), they are
added back: the customer paid the amount before the bank's charges, and the
charges are the business's cost, not a debt left on the invoice.

The *bank reference* that makes an import idempotent is, per transaction, its
``Refs/AcctSvcrRef``; else the entry's ``AcctSvcrRef`` (else ``NtryRef``), with
``/n`` (the transaction's position) added when the entry has several
transactions; else the statement's id and the entry's position. It becomes the
payment's ``reference``: a credit whose reference a payment of the book
already has is "already recorded", never recorded twice.

Matching (:func:`match_credits`), in this order, nothing guessed:

1. the structured reference (``RmtInf/Strd/CdtrRefInf/Ref``: a QR reference
   or an ISO 11649 ``RF`` creditor reference), looked up in a map of
   reference → document id (:func:`structured_references`, replaceable: the
   map is a parameter). The default map holds, for each validated invoice,
   the RF reference and the QR reference made from its number (RF: the
   number's letters and digits; QR: its digits, zero-padded to 26, with the
   mod-10 recursive check digit). An RF reference that passes the ISO 11649
   check but is not in the map is also matched when its body is an invoice's
   number or id (letters and digits, any case);
2. else an invoice number (or id) written in the remittance text (words are
   compared whole); two different invoices named: ambiguous;
3. else the debtor's name equals one contact's name (case and spaces aside)
   and exactly one of that contact's validated invoices in the credit's
   currency has an open amount (SPEC 3.1 at ``as_of``, less what this import
   already matched to it) equal to the credit: that invoice; several:
   ambiguous.

A matched invoice in another currency than the credit is not matched
(ambiguous, with the reason). Debits, reversals and pending entries are
counted, never recorded. Partial payments and overpayments are recorded as
they come (SPEC 3 gives the invoice its status).

Longer than 500 lines on purpose: one import read top to bottom (statement,
credits, references, matches, one change); reading and matching share the
credit record and the reference rules.
"""
from __future__ import annotations

import csv
import datetime as dt
import io
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Callable, Mapping, Optional

from .i18n import Message
from .model import Book, Document
from .money import currency_of
from .status import amounts

_ZERO = Decimal(0)
_NS = re.compile(r"^urn:iso:std:iso:20022:tech:xsd:(camt\.05[34])\.001\.(\d\d)$")
VERSIONS = ("02", "03", "04", "05", "06", "07", "08")


class StatementError(ValueError):
    """The file is not a statement facturier can read (the message says why):
    ``StatementError(code, **params)``, a catalogue key of engine/i18n.py
    ("bank.error...."); ``str(exc)`` is the English text, ``exc.message``
    the :class:`engine.i18n.Message` shown in the person's language."""

    def __init__(self, code: str, /, **params):
        self.message = Message(code, **params)
        super().__init__(str(self.message))

    def render(self, lang: Optional[str]) -> str:
        return self.message.render(lang)


@dataclass(frozen=True)
class BankCredit:
    reference: str                  # the bank's reference (idempotency)
    date: dt.date                   # booking date
    amount: Decimal
    currency: str
    debtor: str = ""
    structured: str = ""            # creditor reference (QR, RF…)
    text: str = ""                  # unstructured remittance information
    where: str = ""                 # "entry 3", "entry 3, transaction 2", "line 7"


@dataclass
class Statement:
    kind: str                       # camt.053 | camt.054 | csv
    credits: list[BankCredit] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)    # debits, reversals… (why)


# =========================================================================== camt

def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _kids(el, name: str) -> list:
    return [c for c in el if _local(c.tag) == name]


def _find(el, path: str):
    for name in path.split("/"):
        if el is None:
            return None
        found = _kids(el, name)
        el = found[0] if found else None
    return el


def _text(el, path: str) -> str:
    node = _find(el, path)
    return " ".join((node.text or "").split()) if node is not None else ""


def _refuse_dtd(*_args):
    raise StatementError("bank.error.doctype")


def parse_xml(data: bytes):
    """ElementTree root of ``data``; a DOCTYPE or an entity is refused before
    ElementTree sees the text (a first pass of expat with those handlers)."""
    from xml.parsers import expat
    guard = expat.ParserCreate()
    guard.StartDoctypeDeclHandler = _refuse_dtd
    guard.EntityDeclHandler = _refuse_dtd
    try:
        guard.Parse(data, True)
        return ET.fromstring(data)
    except (expat.ExpatError, ET.ParseError) as exc:
        raise StatementError("bank.error.xml", reason=str(exc)) from None


def _amount(el, where: str) -> tuple[Decimal, str]:
    try:
        value = Decimal((el.text or "").strip())
    except InvalidOperation:
        raise StatementError("bank.error.amount", where=where, value=el.text) from None
    if not value.is_finite() or value < 0:
        raise StatementError("bank.error.amount_negative", where=where, value=el.text)
    return value, el.get("Ccy", "")


def _date(el, where: str) -> dt.date:
    text = _text(el, "BookgDt/Dt") or _text(el, "BookgDt/DtTm")[:10] or \
        _text(el, "ValDt/Dt") or _text(el, "ValDt/DtTm")[:10]
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise StatementError("bank.error.no_date", where=where) from None


def _status(entry) -> str:
    return _text(entry, "Sts/Cd") or _text(entry, "Sts")


def _charges_included(tx) -> Decimal:
    """Charges taken from the transaction's amount (added back, see notes)."""
    total = _ZERO
    chrgs = _find(tx, "Chrgs")
    if chrgs is None:
        return total
    included_all = _text(chrgs, "ChrgInclInd").lower() == "true"
    records = _kids(chrgs, "Rcrd") or [chrgs]
    for record in records:
        amt = _find(record, "Amt")
        if amt is None:
            amt = _find(record, "TtlChrgsAndTaxAmt")
        if amt is None:
            continue
        included = _text(record, "ChrgInclInd").lower() == "true" or included_all
        debit = _text(record, "CdtDbtInd") in ("", "DBIT")
        if included and debit:
            try:
                total += Decimal((amt.text or "0").strip())
            except InvalidOperation:
                pass
    return total


def _debtor(tx) -> str:
    for path in ("RltdPties/Dbtr/Pty/Nm", "RltdPties/Dbtr/Nm", "RltdPties/UltmtDbtr/Pty/Nm",
                 "RltdPties/UltmtDbtr/Nm"):
        name = _text(tx, path)
        if name:
            return name
    return ""


def _remittance(tx) -> tuple[str, str]:
    structured = ""
    texts = []
    rmt = _find(tx, "RmtInf")
    if rmt is not None:
        for strd in _kids(rmt, "Strd"):
            ref = _text(strd, "CdtrRefInf/Ref")
            if ref and not structured:
                structured = ref
            texts += [" ".join((s.text or "").split()) for s in _kids(strd, "AddtlRmtInf")]
        texts = [" ".join((u.text or "").split()) for u in _kids(rmt, "Ustrd")] + texts
    info = _text(tx, "AddtlTxInf")
    if info:
        texts.append(info)
    return structured, " ".join(t for t in texts if t)


def read_camt(data: bytes, name: str = "") -> Statement:
    """The credits of a camt.053 or camt.054 file (see the module notes)."""
    root = parse_xml(data)
    ns = root.tag[1:].split("}", 1)[0] if root.tag.startswith("{") else ""
    m = _NS.match(ns)
    if not m:
        raise StatementError("bank.error.namespace", namespace=ns or "none")
    kind, version = m.group(1), m.group(2)
    if version not in VERSIONS:
        raise StatementError("bank.error.version", kind=kind, version=version)
    statement = Statement(kind=kind)
    body = _kids(root, "BkToCstmrStmt" if kind == "camt.053" else "BkToCstmrDbtCdtNtfctn")
    if not body:
        raise StatementError("bank.error.no_element", kind=kind,
                             element="BkToCstmrStmt" if kind == "camt.053"
                             else "BkToCstmrDbtCdtNtfctn")
    n = 0
    for report in _kids(body[0], "Stmt") + _kids(body[0], "Ntfctn"):
        report_id = _text(report, "Id")
        for entry in _kids(report, "Ntry"):
            n += 1
            where = Message("bank.where.entry", n=n)
            amt = _find(entry, "Amt")
            if amt is None:
                raise StatementError("bank.error.no_amount", where=where)
            entry_amount, entry_ccy = _amount(amt, where)
            if _text(entry, "CdtDbtInd") != "CRDT":
                statement.skipped.append(Message("bank.skip.debit", where=where))
                continue
            if _text(entry, "RvslInd").lower() == "true":
                statement.skipped.append(Message("bank.skip.reversal", where=where))
                continue
            status = _status(entry)
            if status and status != "BOOK":
                statement.skipped.append(Message("bank.skip.not_booked", where=where, status=status))
                continue
            day = _date(entry, where)
            entry_ref = _text(entry, "AcctSvcrRef") or _text(entry, "NtryRef")
            txs = [tx for details in _kids(entry, "NtryDtls") for tx in _kids(details, "TxDtls")]
            if not txs:
                txs = [None]
            for i, tx in enumerate(txs, 1):
                tx_where = where if len(txs) == 1 else Message("bank.where.transaction",
                                                               where=where, n=i)
                if tx is None:
                    amount, ccy = entry_amount, entry_ccy
                    debtor, structured, text, own_ref = "", "", "", ""
                else:
                    if _text(tx, "CdtDbtInd") == "DBIT":
                        statement.skipped.append(Message("bank.skip.debit", where=tx_where))
                        continue
                    node = _find(tx, "Amt")
                    if node is None:
                        node = _find(tx, "AmtDtls/TxAmt/Amt")
                    if node is None and len(txs) == 1:
                        node = amt
                    if node is None:
                        raise StatementError("bank.error.no_tx_amount", where=tx_where)
                    amount, ccy = _amount(node, tx_where)
                    amount += _charges_included(tx)
                    debtor = _debtor(tx)
                    structured, text = _remittance(tx)
                    own_ref = _text(tx, "Refs/AcctSvcrRef")
                if own_ref:
                    reference = own_ref
                elif entry_ref:
                    reference = entry_ref if len(txs) == 1 else "%s/%d" % (entry_ref, i)
                else:
                    reference = "%s/%d%s" % (report_id or name, n,
                                             "" if len(txs) == 1 else "/%d" % i)
                statement.credits.append(BankCredit(
                    reference=reference, date=day, amount=amount, currency=ccy or entry_ccy,
                    debtor=debtor, structured=structured, text=text, where=tx_where))
    return statement


# =========================================================================== CSV

CSV_FIELDS = ("date", "amount", "currency", "reference", "debtor", "structured", "text")


def parse_csv_map(text: str) -> dict[str, str]:
    """``date=Booking date,amount=Amount,…`` -> {field: column heading}."""
    out: dict[str, str] = {}
    for part in text.split(","):
        if not part.strip():
            continue
        key, sep, column = part.partition("=")
        key = key.strip()
        if not sep or key not in CSV_FIELDS or not column.strip():
            raise StatementError("bank.error.csv_map", part=part.strip(),
                                 fields=", ".join(CSV_FIELDS))
        out[key] = column.strip()
    missing = [k for k in ("date", "amount", "reference") if k not in out]
    if missing:
        raise StatementError("bank.error.csv_map_needs",
                             fields=", ".join("%s=COLUMN" % k for k in missing))
    return out


def _csv_amount(text: str) -> Decimal:
    text = text.strip().replace(" ", "").replace("'", "").replace("\u00a0", "")
    if "," in text and "." in text:
        text = text.replace(".", "").replace(",", ".") if text.rfind(",") > text.rfind(".") \
            else text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".")
    value = Decimal(text)
    if not value.is_finite():
        raise InvalidOperation
    return value


def _csv_date(text: str) -> dt.date:
    text = text.strip()
    for fmt in ("%Y-%m-%d", "%d.%m.%Y", "%d/%m/%Y"):
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    raise ValueError(text)


def read_csv(text: str, mapping: Mapping[str, str], currency: str) -> Statement:
    """Credits (positive amounts) of a CSV statement whose columns ``mapping``
    names; the delimiter (``,`` ``;`` or tab) is the one of the heading line."""
    first = text.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=first.count)
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    headings = reader.fieldnames or []
    absent = [c for c in mapping.values() if c not in headings]
    if absent:
        raise StatementError("bank.error.no_column", where=Message("bank.where.line", n=1),
                             columns=", ".join(repr(c) for c in absent),
                             headings=", ".join(headings))
    statement = Statement(kind="csv")
    for row in reader:
        line = reader.line_num
        where = Message("bank.where.line", n=line)

        def get(key: str, row: dict = row) -> str:
            column = mapping.get(key)
            return " ".join((row.get(column) or "").split()) if column else ""
        try:
            amount = _csv_amount(get("amount"))
        except (InvalidOperation, ValueError):
            raise StatementError("bank.error.amount", where=where, value=get("amount")) from None
        try:
            day = _csv_date(get("date"))
        except ValueError:
            raise StatementError("bank.error.date", where=where, value=get("date")) from None
        if amount <= 0:
            statement.skipped.append(Message("bank.skip.debit", where=where))
            continue
        reference = get("reference")
        if not reference:
            raise StatementError("bank.error.no_reference", where=where,
                                 column=mapping["reference"])
        statement.credits.append(BankCredit(
            reference=reference, date=day, amount=amount,
            currency=(get("currency") or currency).upper(), debtor=get("debtor"),
            structured=get("structured"), text=get("text"), where=where))
    return statement


def read_statement(data: bytes, name: str = "", csv_map: Optional[Mapping[str, str]] = None,
                   currency: str = "") -> Statement:
    """The credits of one statement file's bytes: CSV read with ``csv_map``
    (UTF-8, else Latin-1; amounts without a currency column in ``currency``),
    else camt.053/.054. What `import bank` and the app read."""
    if csv_map is None:
        return read_camt(data, name)
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("latin-1")
    return read_csv(text, csv_map, currency)


# =========================================================================== references

_NOT_ALNUM = re.compile(r"[^0-9A-Za-z]")


def _alnum(text: str) -> str:
    return _NOT_ALNUM.sub("", text).upper()


def _mod97(text: str) -> int:
    digits = "".join(str(int(c, 36)) for c in text)
    return int(digits) % 97


def rf_reference(body: str) -> str:
    """The ISO 11649 creditor reference of ``body`` (letters and digits)."""
    body = _alnum(body)[:21]
    check = 98 - _mod97(body + "RF00")
    return "RF%02d%s" % (check, body)


def rf_valid(ref: str) -> bool:
    ref = _alnum(ref)
    return (len(ref) >= 5 and len(ref) <= 25 and ref.startswith("RF")
            and ref[2:4].isdigit() and _mod97(ref[4:] + ref[:4]) == 1)


_MOD10 = (0, 9, 4, 6, 8, 2, 7, 1, 3, 5)


def qr_check_digit(digits: str) -> str:
    carry = 0
    for c in digits:
        carry = _MOD10[(carry + int(c)) % 10]
    return str((10 - carry) % 10)


def qr_reference(number: str) -> Optional[str]:
    """The 27-digit QR reference of a document number's digits (None: none)."""
    digits = re.sub(r"\D", "", number)
    if not digits or len(digits) > 26:
        return None
    body = digits.zfill(26)
    return body + qr_check_digit(body)


def normalize_reference(ref: str) -> str:
    return _alnum(ref)


def structured_references(book: Book) -> dict[str, str]:
    """Default map: normalized structured reference -> validated invoice id."""
    out: dict[str, str] = {}
    for doc in book.documents.values():
        if doc.kind != "invoice" or doc.validated is None or not doc.number:
            continue
        out[rf_reference(doc.number)] = doc.id
        qr = qr_reference(doc.number)
        if qr:
            out[qr] = doc.id
    return out


# =========================================================================== matching

@dataclass(frozen=True)
class Match:
    credit: BankCredit
    outcome: str                    # matched | unmatched | ambiguous | recorded (before)
    document: Optional[str] = None
    how: str = ""                   # reference | number | amount
    candidates: tuple[str, ...] = ()
    reason: str = ""                # a Message (English text; .code, .render(lang))


_WORD = re.compile(r"[0-9A-Za-z][0-9A-Za-z/._-]*[0-9A-Za-z]|[0-9A-Za-z]")


def _contact_key(name: str) -> str:
    return " ".join(name.casefold().split())


def match_credits(book: Book, credits: list[BankCredit], as_of: dt.date,
                  references: Optional[Mapping[str, str]] = None) -> list[Match]:
    """One :class:`Match` per credit (see the module notes). ``references``
    maps a normalized structured reference to a document id (default:
    :func:`structured_references`)."""
    # the default map is made at the first structured reference only (60,000
    # invoices' RF and QR references: seconds, for statements that have none)
    settings = book.settings
    invoices = [d for d in book.documents.values()
                if d.kind == "invoice" and d.validated is not None]
    by_number: dict[str, str] = {}
    by_code: dict[str, str] = {}
    for doc in invoices:
        for key in filter(None, (doc.number, doc.id)):
            by_number.setdefault(key.upper(), doc.id)
            by_code.setdefault(_alnum(key), doc.id)
    recorded = {p.reference for d in book.documents.values() for p in d.payments if p.reference}
    contacts: dict[str, list[str]] = {}
    for contact in book.contacts.values():
        contacts.setdefault(_contact_key(contact.name), []).append(contact.id.lower())
    of_contact: dict[str, list[Document]] = {}
    for doc in invoices:
        of_contact.setdefault(doc.contact.lower(), []).append(doc)
    pending: dict[str, Decimal] = {}          # matched in this import, per invoice
    seen: set[str] = set()
    out: list[Match] = []

    def accept(credit: BankCredit, doc_id: str, how: str) -> Match:
        doc = book.documents[doc_id]
        currency = currency_of(doc, settings)
        if currency != credit.currency:
            return Match(credit, "ambiguous", candidates=(doc_id,), how=how,
                         reason=Message("bank.reason.currency." + how,
                                        doc=doc.number or doc_id, currency=currency,
                                        credit=credit.currency))
        pending[doc_id] = pending.get(doc_id, _ZERO) + credit.amount
        return Match(credit, "matched", document=doc_id, how=how)

    for credit in credits:
        if credit.reference in recorded or credit.reference in seen:
            out.append(Match(credit, "recorded", reason=Message("bank.reason.recorded")))
            continue
        seen.add(credit.reference)
        # 1. structured reference
        if credit.structured:
            ref = _alnum(credit.structured)
            doc_id = None
            if references is None:
                # the RF reference of a number is its letters and digits, the QR
                # reference its digits: found without the map (the RF and QR
                # references of every invoice: seconds in a large book) when
                # the number is so written, checked against the number
                make: Callable[[str], Optional[str]] = rf_reference
                if rf_valid(ref):
                    found = by_code.get(ref[4:])
                else:
                    found, make = by_code.get(ref[:-1].lstrip("0")), qr_reference
                if found is not None and make(book.documents[found].number or "") == ref:
                    doc_id = found
            if doc_id is None:
                if references is None:
                    references = structured_references(book)
                doc_id = references.get(ref)
            if doc_id is None and rf_valid(ref):
                doc_id = by_code.get(ref[4:])
            if doc_id is not None and doc_id in book.documents:
                out.append(accept(credit, doc_id, "reference"))
                continue
        # 2. a number in the remittance text
        named = []
        for word in _WORD.findall(credit.text):
            doc_id = by_number.get(word.upper())
            if doc_id is not None and doc_id not in named:
                named.append(doc_id)
        if len(named) == 1:
            out.append(accept(credit, named[0], "number"))
            continue
        if len(named) > 1:
            out.append(Match(credit, "ambiguous", candidates=tuple(named), how="number",
                             reason=Message("bank.reason.several_named")))
            continue
        # 3. one open invoice of that debtor with that exact amount
        ids = contacts.get(_contact_key(credit.debtor), []) if credit.debtor else []
        if not ids:
            out.append(Match(credit, "unmatched", reason=Message(
                "bank.reason.unknown_debtor" if credit.debtor else "bank.reason.nothing")))
            continue
        fits = []
        for contact_id in ids:
            for doc in of_contact.get(contact_id, []):
                if currency_of(doc, settings) != credit.currency:
                    continue
                open_amount = amounts(doc, book, as_of).open - pending.get(doc.id, _ZERO)
                if open_amount == credit.amount:
                    fits.append(doc.id)
        if len(fits) == 1:
            out.append(accept(credit, fits[0], "amount"))
        elif fits:
            out.append(Match(credit, "ambiguous", candidates=tuple(sorted(fits)), how="amount",
                             reason=Message("bank.reason.several_amount",
                                            debtor=credit.debtor)))
        else:
            out.append(Match(credit, "unmatched",
                             reason=Message("bank.reason.no_amount", debtor=credit.debtor)))
    return out


# =========================================================================== the commit

def plan_import(book: Book, matches: list[Match], name: str):
    """One :class:`engine.actions.Change` recording every matched credit of
    one file as a payment (``document.payment``), or None when none matched."""
    from .actions import Change, _change_doc, _edited, _read, _trailers_for, label
    from .daily import _appended, _check_appends, _with_items
    per_doc: dict[str, list[dict]] = {}
    for m in matches:
        if m.outcome == "matched" and m.document is not None:
            per_doc.setdefault(m.document, []).append(
                {"date": m.credit.date, "amount": m.credit.amount,
                 "reference": m.credit.reference})
    if not per_doc:
        return None
    writes: dict[str, bytes] = {}
    trailers: list[tuple[str, str]] = []
    parsed: dict[str, tuple] = {}
    # The payments are appended as text (where facturier puts them), each file
    # kept only when the loader reads it back as the invoice with exactly those
    # payments (on every core for a statement of thousands); anything else
    # goes through the checked round trip.
    ids = sorted(per_doc)
    fast: dict[str, bytes] = {}
    folders: set = set()            # found not to be links: each lstat-ed once
    for doc_id in ids:
        doc = book.documents[doc_id]
        text = _appended(_read(book, doc.path, folders), {"payments": per_doc[doc_id]})
        if text is not None:
            fast[doc_id] = text.encode("utf-8")
    checked = _check_appends([(book.documents[i], fast[i], {"payments": per_doc[i]})
                              for i in fast])
    good = {i for i, ok in zip(fast, checked) if ok}
    for doc_id in ids:
        doc = book.documents[doc_id]
        if doc_id in good:
            # read back as the invoice plus these payments: nothing protected changed
            data = fast[doc_id]
            parsed[doc.path] = (data, "document",
                                _with_items(doc, {"payments": per_doc[doc_id]}), [])
            writes[doc.path] = data
            trailers += list(_trailers_for(doc))
            continue
        data, _ = _edited(book, doc.path, append={"payments": per_doc[doc_id]})
        change = _change_doc("document.payment", label(doc), doc, data)
        writes.update(change.writes)
        trailers += list(change.trailers)
    count = sum(len(v) for v in per_doc.values())
    subject = Message("subject.bank_import." + ("one" if count == 1 else "many"), n=count,
                      file=name)
    return Change(action="document.payment", subject=subject, writes=writes,
                  trailers=tuple(trailers) + (("Facturier-Bank-File", name),), parsed=parsed)


# =========================================================================== a person's choice

@dataclass(frozen=True)
class Candidate:
    """An open invoice a person may assign a bank credit to."""
    document: str
    number: str
    contact: str
    name: str                       # the contact's name
    date: dt.date
    open: Decimal                   # open amount at ``as_of`` (SPEC 3.1)
    currency: str
    difference: Decimal             # open - the credit's amount


def _likeness(a: str, b: str) -> float:
    from difflib import SequenceMatcher
    if not a or not b:
        return 0.0
    return SequenceMatcher(None, _contact_key(a), _contact_key(b)).ratio()


def candidates(book: Book, credit: BankCredit, as_of: dt.date) -> list[Candidate]:
    """The open invoices (validated, open amount above zero at ``as_of``, not
    written off) in the credit's currency, closest first: by the distance
    between their open amount and the credit, then by how much their
    contact's name looks like the debtor's, then by name and number."""
    from .status import status_and_amounts
    settings = book.settings
    out: list[tuple[tuple, Candidate]] = []
    for doc in book.documents.values():
        if doc.kind != "invoice" or doc.validated is None or doc.date > as_of:
            continue
        if currency_of(doc, settings) != credit.currency:
            continue
        status, open_amounts = status_and_amounts(doc, book, as_of)
        if open_amounts.open <= 0 or status == "written_off":
            continue
        contact = book.contact(doc.contact)
        name = contact.name if contact is not None else doc.contact
        difference = open_amounts.open - credit.amount
        key = (abs(difference), -_likeness(name, credit.debtor), name.casefold(),
               doc.number or "", doc.id)
        out.append((key, Candidate(document=doc.id, number=doc.number or "", contact=doc.contact,
                                   name=name, date=doc.date, open=open_amounts.open,
                                   currency=credit.currency, difference=difference)))
    out.sort(key=lambda item: item[0])
    return [c for _key, c in out]


def plan_assign(book: Book, credit: BankCredit, doc_id: str, file_name: str = ""):
    """A person assigns a credit the import could not match to an invoice:
    the payment action (``document.payment``, dated and of the amount of the
    credit, its ``reference`` the bank's entry reference, so importing the file
    again does not record it twice). Refused when a payment of the book
    already carries that reference."""
    from dataclasses import replace

    from .actions import plan_payment
    from .diagnostics import ActionRefused
    for doc in book.documents.values():
        for payment in doc.payments:
            if payment.reference == credit.reference:
                raise ActionRefused("refuse.bank_entry_recorded", reference=credit.reference,
                                    doc=doc.number or doc.id)
    change = plan_payment(book, doc_id, credit.amount, credit.date, reference=credit.reference)
    extra: tuple[tuple[str, str], ...] = (("Facturier-Bank-Reference", credit.reference),)
    if file_name:
        extra += (("Facturier-Bank-File", file_name),)
    return replace(change, trailers=tuple(change.trailers) + extra)
