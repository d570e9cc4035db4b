"""What the page of a document shows (SPEC 8.1), as plain JSON-able data.

``document_sheet(book, doc, lang)`` gathers, in words for people, everything a
PDF template prints: the seller (company settings), the customer, kind and
number (a draft has none and says DRAFT / BROUILLON), dates, lines, VAT per
rate, totals, payments and the open amount, payment details, the legal notes of
the language, and the invoice a credit note credits. Amounts and dates are
formatted here (engine/i18n.py), so a template only lays text out.

The sheet depends on the book's content only — never on the clock: payments,
discounts and credit notes are all those recorded, whatever today is — so the
same book gives the same PDF bytes (engine/pdf.py).

Pure: no I/O, no clock, no git.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Optional

from . import i18n
from .model import Book, Document, address_lines

i18n.register({
    "sheet.draft": {"en": "DRAFT", "fr": "BROUILLON"},
    "sheet.number": {"en": "No.", "fr": "N°"},
    "sheet.date": {"en": "Date", "fr": "Date"},
    "sheet.due": {"en": "Due date", "fr": "Échéance"},
    "sheet.valid_until": {"en": "Valid until", "fr": "Valable jusqu'au"},
    "sheet.customer": {"en": "Bill to", "fr": "Facturé à"},
    "sheet.supplier": {"en": "Supplier", "fr": "Fournisseur"},
    "sheet.vat_id": {"en": "VAT no.", "fr": "N° TVA"},
    "sheet.registration": {"en": "Reg. no.", "fr": "N° d'immatriculation"},
    "sheet.buyer_reference": {"en": "Your reference", "fr": "Votre référence"},
    "sheet.description": {"en": "Description", "fr": "Désignation"},
    "sheet.quantity": {"en": "Qty", "fr": "Qté"},
    "sheet.unit_price": {"en": "Unit price", "fr": "Prix unitaire"},
    "sheet.vat_rate": {"en": "VAT", "fr": "TVA"},
    "sheet.net": {"en": "Net", "fr": "Montant HT"},
    "sheet.net_total": {"en": "Total excl. VAT", "fr": "Total HT"},
    "sheet.vat_on": {"en": "VAT {rate}% on {net}", "fr": "TVA {rate} % sur {net}"},
    "sheet.total": {"en": "Total", "fr": "Total TTC"},
    "sheet.payment": {"en": "Payment of {date}", "fr": "Paiement du {date}"},
    "sheet.discount": {"en": "Discount of {date}", "fr": "Escompte du {date}"},
    "sheet.credit": {"en": "Credit note {number}", "fr": "Note de crédit {number}"},
    "sheet.open": {"en": "Amount due", "fr": "Reste à payer"},
    "sheet.pay_to": {"en": "Payment details", "fr": "Coordonnées de paiement"},
    "sheet.iban": {"en": "IBAN", "fr": "IBAN"},
    "sheet.bic": {"en": "BIC", "fr": "BIC"},
    "sheet.reference": {"en": "Reference", "fr": "Référence"},
    "sheet.credits": {"en": "Credits invoice {number} of {date}.",
                      "fr": "Annule et remplace la facture {number} du {date}."},
    "sheet.converted_from": {"en": "From {kind} {number}.", "fr": "Selon {kind} {number}."},
    "sheet.page": {"en": "Page", "fr": "Page"},
})


def _money(amount: Decimal, currency: str, lang: str) -> str:
    return i18n.format_money(amount, currency, lang)


def rate_text(rate: Decimal, lang: str) -> str:
    """A VAT rate as people write it: 8.1 / 8,1 ; 20 (never 20.00)."""
    text = format(rate.normalize(), "f") if rate == rate.to_integral() else format(rate, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", ",") if i18n.language(lang) == "fr" else text


def quantity_text(quantity: Decimal, lang: str) -> str:
    return rate_text(quantity, lang)


def group_iban(iban: str) -> str:
    return " ".join(iban[i:i + 4] for i in range(0, len(iban), 4))


def _party(name: str, address, **extra: str) -> dict:
    return {"name": name, "lines": address_lines(address), **extra}


def document_sheet(book: Book, doc: Document, lang: Optional[str] = None,
                   payment: Optional[dict] = None) -> dict[str, Any]:
    """The page's content for ``doc`` in ``lang`` (default: the book's locale).
    ``payment`` (engine/paycode.py) adds the payment reference and QR code."""
    from .money import currency_of, document_totals, round_money
    from .status import due_date
    lang = i18n.language(lang or book.settings.locale)
    settings = book.settings
    company = settings.company
    currency = currency_of(doc, settings)
    totals = document_totals(doc, settings)
    contact = book.contact(doc.contact)

    def t(key: str, **kw) -> str:
        return i18n.t(key, lang, **kw)

    def money(amount: Decimal) -> str:
        return _money(amount, currency, lang)

    def day(d: dt.date) -> str:
        return i18n.format_date(d, lang, "long")

    draft = doc.is_draft and doc.kind != "expense"
    title = t("kind.%s" % doc.kind)
    dates = [[t("sheet.date"), day(doc.date)]]
    if doc.kind == "invoice":
        dates.append([t("sheet.due"), day(due_date(doc, book))])
    elif doc.kind == "quote" and doc.due is not None:
        dates.append([t("sheet.valid_until"), day(doc.due)])
    seller = _party(company.name, company.address, email=company.email, phone=company.phone,
                    vat_id=company.vat_id, registration=company.registration)
    if contact is not None:
        customer = _party(contact.name, contact.address, vat_id=contact.vat_id,
                          buyer_reference=contact.buyer_reference)
    else:
        customer = _party(doc.contact, "", vat_id="", buyer_reference="")
    if doc.kind == "expense":         # the supplier issued it: the parties swap sides
        seller, customer = customer, seller

    lines = []
    for line in doc.lines:
        rate = settings.vat if line.vat is None else line.vat
        lines.append({
            "description": line.description,
            "quantity": quantity_text(line.quantity, lang),
            "unit_price": money(line.unit_price),
            "vat": rate_text(rate, lang) + ("\u00a0%" if lang == "fr" else "%"),
            "net": money(round_money(line.quantity * line.unit_price, currency)),
        })
    vat_rows = [[t("sheet.vat_on", rate=rate_text(rate, lang), net=money(net)), money(vat)]
                for rate, net, vat in totals.by_rate]

    settled: list[list[str]] = []
    remaining = totals.total
    if not doc.is_draft or doc.kind == "expense":
        for p in doc.payments:
            settled.append([t("sheet.payment", date=day(p.date)), money(-p.amount)])
            remaining -= p.amount
        for d in doc.discounts:
            settled.append([t("sheet.discount", date=day(d.date)), money(-d.amount)])
            remaining -= d.amount
        if doc.kind == "invoice":
            for note in sorted(book.credit_notes_for(doc.id), key=lambda n: (n.date, n.id)):
                if note.is_draft:
                    continue
                amount = book.total_of(note)
                settled.append([t("sheet.credit", number=note.number or note.id), money(-amount)])
                remaining -= amount
    open_text = money(max(remaining, Decimal(0))) if settled else ""

    references = []
    if doc.kind == "credit_note" and doc.credits:
        invoice = book.document(doc.credits)
        if invoice is not None:
            references.append(t("sheet.credits", number=invoice.number or invoice.id,
                                date=day(invoice.validated or invoice.date)))
        else:
            references.append(t("sheet.credits", number=doc.credits, date="?"))
    if doc.converted_from:
        source = book.document(doc.converted_from)
        if source is not None and source.number:
            references.append(t("sheet.converted_from", kind=t("kind.%s" % source.kind).lower(),
                                number=source.number))

    pay: list[list[str]] = []
    if doc.kind == "invoice" and company.iban:
        pay.append([t("sheet.iban"), group_iban(company.iban)])
        if company.bic:
            pay.append([t("sheet.bic"), company.bic])
        from .payref import format_reference, payment_reference
        reference = payment_reference(doc, settings)
        if reference:
            pay.append([t("sheet.reference"), format_reference(reference)])

    return {
        "lang": lang,
        "kind": doc.kind,
        "title": title,
        "draft": draft,
        "draft_label": t("sheet.draft") if draft else "",
        "number": "" if draft else (doc.number or ""),
        "labels": {key: t("sheet." + key) for key in (
            "number", "customer", "supplier", "vat_id", "registration", "buyer_reference",
            "description", "quantity", "unit_price", "vat_rate", "net", "net_total", "total",
            "open", "pay_to", "page")},
        "seller": seller,
        "customer": customer,
        "customer_label": t("sheet.supplier") if doc.kind == "expense" else t("sheet.customer"),
        "dates": dates,
        "lines": lines,
        "net_total": money(totals.net),
        "vat_rows": vat_rows,
        "total": money(totals.total),
        "settled": settled,
        "open": open_text,
        "payment": pay,
        "qr": (payment or {}).get("qr"),
        "references": references,
        "notes": doc.notes,
        "legal_notes": list(settings.legal_notes_for(lang)) if doc.kind in (
            "invoice", "credit_note") else [],
    }
