"""Payment codes printed on invoices (SPEC 8.3): the Swiss QR-bill payment
part and the EPC QR code of a SEPA credit transfer, chosen by ``payment_qr``.

- :func:`code_kind` says which one an invoice gets: with ``auto``, a QR-bill
  on invoices in CHF or EUR when ``company.iban`` is Swiss or from
  Liechtenstein, an EPC QR code on EUR invoices with another IBAN, none
  otherwise; ``swiss`` and ``epc`` ask for that code wherever it can be
  made (a QR-bill: CHF/EUR with a CH/LI IBAN; EPC: EUR); ``none`` for none.
  Drafts (no number, so no reference), other kinds, an invoice without an
  IBAN or with nothing left to pay get none.
- :func:`payment_code` gives the code as SVG (plus what it encodes), ready
  for the PDF template's ``qr`` slot. The QR-bill is drawn by the ``qrbill``
  library (SIX Implementation Guidelines QR-bill v2.3: structured addresses,
  a QR reference on a QR-IBAN, else the ISO 11649 creditor reference of
  engine/payref.py); the EPC payload is written here field by field
  (EPC069-12 version 002) and encoded by ``segno``.

Deterministic: the same invoice gives the same SVG text. Pure: no I/O, no
clock, no git.
"""
from __future__ import annotations

import io
from decimal import Decimal
from typing import Optional

from . import i18n
from .model import Book, Document, Settings, structured

SWISS_COUNTRIES = ("CH", "LI")
SWISS_CURRENCIES = ("CHF", "EUR")
# SIX IG QR-bill v2.3, 3.4: Arial, Frutiger, Helvetica or Liberation Sans;
# Liberation Sans is shipped (data/fonts), so the bill looks the same everywhere.
QRBILL_FONT = "Liberation Sans"


def choose(setting: str, currency: str, iban: str) -> Optional[str]:
    """The code an invoice in ``currency`` paid to ``iban`` gets under
    ``payment_qr: setting``: "swiss", "epc" or None (the table of SPEC 8.3)."""
    if not iban or setting == "none":
        return None
    swiss_possible = iban[:2].upper() in SWISS_COUNTRIES and currency in SWISS_CURRENCIES
    if setting == "swiss":
        return "swiss" if swiss_possible else None
    if setting == "epc":
        return "epc" if currency == "EUR" else None
    if swiss_possible:
        return "swiss"
    return "epc" if currency == "EUR" else None


def amount_due(book: Book, doc: Document) -> Decimal:
    """What the code asks the customer to pay: the total less every payment,
    discount and validated credit note recorded (as the page's "amount due")."""
    remaining = book.total_of(doc)
    remaining -= sum((p.amount for p in doc.payments), Decimal(0))
    remaining -= sum((d.amount for d in doc.discounts), Decimal(0))
    for note in book.credit_notes_for(doc.id):
        if not note.is_draft:
            remaining -= book.total_of(note)
    return max(remaining, Decimal(0))


def code_kind(book: Book, doc: Document) -> Optional[str]:
    """"swiss", "epc" or None for ``doc`` (see the module's docstring)."""
    from .money import currency_of
    if doc.kind != "invoice" or doc.is_draft or not doc.number:
        return None
    settings = book.settings
    kind = choose(settings.payment_qr, currency_of(doc, settings), settings.company.iban)
    if kind is None or amount_due(book, doc) <= 0:
        return None
    if kind == "swiss" and swiss_creditor_missing(settings):
        return None
    if kind == "epc" and not settings.company.name.strip():
        return None
    return kind


def swiss_creditor_missing(settings: Settings) -> list[str]:
    """What a QR-bill needs of the company and the book lacks (a structured
    address with postcode, city and country, and a name)."""
    company = settings.company
    missing = []
    if not company.name.strip():
        missing.append("company.name")
    address = structured(company.address)
    if address is None:
        missing.append("company.address (the mapping {street, number, postcode, city, country})")
    else:
        missing.extend("company.address.%s" % key for key in ("postcode", "city", "country")
                       if not getattr(address, key).strip())
    return missing


def _label(book: Book, doc: Document, lang: str) -> str:
    return "%s %s" % (i18n.t("kind.invoice", lang), doc.number)


# --------------------------------------------------------------------------- EPC QR

def epc_payload(name: str, iban: str, amount: Decimal, bic: str = "", reference: str = "",
                text: str = "") -> str:
    """The EPC QR payload of a SEPA credit transfer (EPC069-12, version 002,
    UTF-8), one field a line: service tag, version, character set,
    identification, BIC, beneficiary name, IBAN, amount, purpose, structured
    remittance (an ISO 11649 reference), unstructured remittance, information
    to the originator. A structured reference wins over the text (the two
    exclude each other); trailing empty fields are left out."""
    fields = ["BCD", "002", "1", "SCT", bic, name[:70], iban,
              "EUR%s" % format(amount.quantize(Decimal("0.01")), "f"), "",
              reference if reference.startswith("RF") else "",
              "" if reference.startswith("RF") else text[:140]]
    while fields and not fields[-1]:
        fields.pop()
    return "\n".join(fields)


def _epc_svg(payload: str) -> str:
    import segno
    code = segno.make_qr(payload, error="m", boost_error=False, encoding="utf-8")
    out = io.BytesIO()
    code.save(out, kind="svg", scale=1, border=4, xmldecl=False, svgclass=None,
              lineclass=None)
    return out.getvalue().decode("utf-8")


# --------------------------------------------------------------------------- QR-bill

def _swiss_address(name: str, address) -> Optional[dict]:
    postal = structured(address)
    if postal is None or not (name.strip() and postal.postcode and postal.city and postal.country):
        return None
    return {"name": name[:70], "street": postal.street[:70], "house_num": postal.number[:16],
            "pcode": postal.postcode[:16], "city": postal.city[:35],
            "country": postal.country.upper()}


def qr_bill(book: Book, doc: Document, lang: str):
    """The ``qrbill.QRBill`` of ``doc`` (qrbill validates the IBAN, addresses,
    amount and reference as SIX's guidelines require; ValueError otherwise)."""
    from qrbill import QRBill

    from .money import currency_of
    from .payref import payment_reference
    settings = book.settings
    company = settings.company
    contact = book.contact(doc.contact)
    debtor = _swiss_address(contact.name, contact.address) if contact is not None else None
    bill = QRBill(account=company.iban, creditor=_swiss_address(company.name, company.address),
                  debtor=debtor, amount=format(amount_due(book, doc).quantize(Decimal("0.01")), "f"),
                  currency=currency_of(doc, settings),
                  reference_number=payment_reference(doc, settings) or None,
                  additional_information=_label(book, doc, lang)[:140],
                  language=lang if lang in ("en", "de", "fr", "it") else "en")
    bill.font_family = QRBILL_FONT
    return bill


def _bill_svg(bill) -> str:
    out = io.StringIO()
    bill.as_svg(out)
    return out.getvalue()


# --------------------------------------------------------------------------- both

def payment_code(book: Book, doc: Document, lang: Optional[str] = None) -> Optional[dict]:
    """``{"kind": "swiss"|"epc", "svg": text, "payload": text}`` for the PDF
    template's ``qr`` slot, or None when ``doc`` gets no code."""
    from .payref import payment_reference
    lang = i18n.language(lang or book.settings.locale)
    kind = code_kind(book, doc)
    if kind == "swiss":
        try:
            bill = qr_bill(book, doc, lang)
        except ValueError:          # data qrbill refuses (check names what is missing)
            return None
        return {"kind": "swiss", "svg": _bill_svg(bill), "payload": bill.qr_data()}
    if kind == "epc":
        company = book.settings.company
        payload = epc_payload(company.name, company.iban, amount_due(book, doc), bic=company.bic,
                              reference=payment_reference(doc, book.settings) or "",
                              text=_label(book, doc, lang))
        return {"kind": "epc", "svg": _epc_svg(payload), "payload": payload}
    return None


__all__ = ["choose", "code_kind", "payment_code", "epc_payload", "qr_bill", "amount_due",
           "swiss_creditor_missing"]
