"""E-invoices (SPEC 8.2): the UN/CEFACT Cross Industry Invoice of an invoice or
credit note, profile EN 16931 (Factur-X / ZUGFeRD "EN 16931"), or XRechnung
(the German CIUS on CII), and the list of what is missing for a valid one.

``cii_xml(book, doc, flavor="facturx"|"xrechnung", payment_reference="")``
returns the XML bytes; ``missing_einvoice_data(book, doc)`` names the fields an
e-invoice needs and the book lacks (``check`` warns, issuing refuses).

Pure: no I/O, no clock, no git. Amounts are the engine's own (engine/money.py),
so the XML's totals are those of the PDF.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Optional
from xml.etree import ElementTree as ET

from .model import Book, Document, structured

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
GUIDELINES = {
    "facturx": "urn:cen.eu:en16931:2017",
    "xrechnung": "urn:cen.eu:en16931:2017#compliant#urn:xeinkauf.de:kosit:xrechnung_3.0",
}
TYPE_CODES = {"invoice": "380", "credit_note": "381"}
EINVOICE_KINDS = tuple(TYPE_CODES)

for _prefix, _uri in (("rsm", RSM), ("ram", RAM), ("udt", UDT), ("qdt", QDT)):
    ET.register_namespace(_prefix, _uri)


def _el(parent: ET.Element, tag: str, text: Optional[str] = None, **attrs: str) -> ET.Element:
    ns = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}[tag.split(":")[0]]
    element = ET.SubElement(parent, "{%s}%s" % (ns, tag.split(":")[1]), attrs)
    if text is not None:
        element.text = text
    return element


def _date(parent: ET.Element, tag: str, day: dt.date, qualified: bool = False) -> None:
    holder = _el(parent, tag)
    _el(holder, "qdt:DateTimeString" if qualified else "udt:DateTimeString",
        day.strftime("%Y%m%d"), format="102")


def _amount(value: Decimal) -> str:
    return format(value, "f")


def _rate(value: Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _category(rate: Decimal) -> str:
    """UNCL 5305: S standard rate, Z zero rated."""
    return "S" if rate > 0 else "Z"


def makes_einvoice(book: Book, doc: Document) -> bool:
    """Whether ``doc`` is issued with an e-invoice: an invoice or credit note
    when the PDF embeds one (``einvoice: facturx``) or its contact asks for
    one by e-mail (``einvoice: facturx|xrechnung|ubl``)."""
    if doc.kind not in EINVOICE_KINDS:
        return False
    if book.settings.einvoice == "facturx":
        return True
    contact = book.contact(doc.contact)
    return contact is not None and contact.einvoice != "pdf"


def company_gaps(settings) -> list[str]:
    """What every e-invoice needs of the seller (EN 16931 BR-6, BR-8, BR-9,
    BR-S-02) and ``facturier.yaml`` lacks, as field names."""
    missing = []
    company = settings.company
    if not company.name.strip():
        missing.append("company.name")
    address = structured(company.address)
    if address is None:
        missing.append("company.address (the mapping {street, number, postcode, city, country})")
    else:
        missing.extend("company.address.%s" % key for key in ("city", "postcode", "country")
                       if not getattr(address, key).strip())
    if not company.vat_id.strip():
        missing.append("company.vat_id")
    return missing


def is_business(contact) -> bool:
    """A B2B customer (SPEC 2): one with a VAT id, or one that asks for
    e-invoices (``einvoice:`` other than ``pdf``)."""
    return bool(contact.vat_id.strip()) or contact.einvoice != "pdf"


def contact_gaps(contact) -> list[str]:
    """What an e-invoice needs of a business customer (SPEC 2; EN 16931 BR-10,
    BR-11: a postal address with its city and country; its VAT id) and the
    contact lacks, as field names of its file. A private customer (no VAT
    id, ``einvoice: pdf``) is asked for nothing."""
    if not is_business(contact):
        return []
    missing = []
    address = structured(contact.address)
    if address is None:
        missing.append("address (the mapping {street, number, postcode, city, country})")
    else:
        missing.extend("address.%s" % key for key in ("city", "country")
                       if not getattr(address, key).strip())
    if not contact.vat_id.strip():
        missing.append("vat_id")
    return missing


def missing_einvoice_data(book: Book, doc: Document) -> list[str]:
    """The fields the EN 16931 e-invoice of ``doc`` needs and the book lacks,
    named as a person finds them (``company.vat_id``, ``contacts/acme.yaml:
    address.country``). Empty when ``doc`` is issued without an e-invoice
    (other kinds; ``einvoice: none`` and a contact that asks for none)."""
    if not makes_einvoice(book, doc):
        return []
    missing = company_gaps(book.settings)
    contact = book.contact(doc.contact)
    if contact is not None:
        missing.extend("%s: %s" % (contact.path, gap) for gap in contact_gaps(contact))
    return missing


def refuse_incomplete(book: Book, doc: Document) -> None:
    """Refuse to issue ``doc`` (SPEC 8.2) when its e-invoice would lack data,
    naming every missing field."""
    missing = missing_einvoice_data(book, doc)
    if missing:
        from .diagnostics import ActionRefused
        from .i18n import Message
        kind = Message("kind.word.%s" % doc.kind)
        label = (Message("doc.label", kind=kind, number=doc.number, id=doc.id) if doc.number
                 else Message("doc.label.draft", kind=kind, id=doc.id))
        raise ActionRefused("refuse.einvoice_missing", doc=label, fields="; ".join(missing))


def _party(parent: ET.Element, tag: str, name: str, address, vat_id: str,
           registration: str = "", email: str = "") -> None:
    party = _el(parent, tag)
    _el(party, "ram:Name", name)
    if registration:
        legal = _el(party, "ram:SpecifiedLegalOrganization")
        _el(legal, "ram:ID", registration)
    postal = structured(address)
    if postal is not None:
        addr = _el(party, "ram:PostalTradeAddress")
        if postal.postcode:
            _el(addr, "ram:PostcodeCode", postal.postcode)
        street = " ".join(p for p in (postal.street, postal.number) if p)
        if street:
            _el(addr, "ram:LineOne", street)
        if postal.city:
            _el(addr, "ram:CityName", postal.city)
        _el(addr, "ram:CountryID", postal.country or "ZZ")
    if email:
        uri = _el(party, "ram:URIUniversalCommunication")
        _el(uri, "ram:URIID", email, schemeID="EM")
    if vat_id:
        tax = _el(party, "ram:SpecifiedTaxRegistration")
        _el(tax, "ram:ID", "".join(vat_id.split()), schemeID="VA")


def cii_xml(book: Book, doc: Document, flavor: str = "facturx",
            payment_reference: Optional[str] = None) -> bytes:
    """The CII XML of an invoice or credit note (SPEC 8.2); the payment
    reference is the document's own (engine/payref.py) unless given."""
    from .money import currency_of, document_totals, round_money
    from .status import due_date
    if doc.kind not in EINVOICE_KINDS:
        raise ValueError("only invoices and credit notes have an e-invoice")
    settings = book.settings
    company = settings.company
    contact = book.contact(doc.contact)
    if payment_reference is None:
        from .payref import payment_reference as reference_of
        payment_reference = reference_of(doc, settings) or ""
    currency = currency_of(doc, settings)
    totals = document_totals(doc, settings)

    root = ET.Element("{%s}CrossIndustryInvoice" % RSM)
    context = _el(root, "rsm:ExchangedDocumentContext")
    guideline = _el(context, "ram:GuidelineSpecifiedDocumentContextParameter")
    _el(guideline, "ram:ID", GUIDELINES[flavor])
    header = _el(root, "rsm:ExchangedDocument")
    _el(header, "ram:ID", doc.number or doc.id)
    _el(header, "ram:TypeCode", TYPE_CODES[doc.kind])
    _date(header, "ram:IssueDateTime", doc.date)
    if doc.notes:
        note = _el(header, "ram:IncludedNote")
        _el(note, "ram:Content", doc.notes)
    for text in settings.legal_notes_for(settings.locale):
        note = _el(header, "ram:IncludedNote")
        _el(note, "ram:Content", text)
        _el(note, "ram:SubjectCode", "REG")

    trade = _el(root, "rsm:SupplyChainTradeTransaction")
    for index, line in enumerate(doc.lines, 1):
        rate = settings.vat if line.vat is None else line.vat
        item = _el(trade, "ram:IncludedSupplyChainTradeLineItem")
        _el(_el(item, "ram:AssociatedDocumentLineDocument"), "ram:LineID", str(index))
        _el(_el(item, "ram:SpecifiedTradeProduct"), "ram:Name", line.description or "-")
        agreement = _el(item, "ram:SpecifiedLineTradeAgreement")
        price = _el(agreement, "ram:NetPriceProductTradePrice")
        _el(price, "ram:ChargeAmount", _amount(line.unit_price))
        delivery = _el(item, "ram:SpecifiedLineTradeDelivery")
        _el(delivery, "ram:BilledQuantity", _amount(line.quantity), unitCode="C62")
        settlement = _el(item, "ram:SpecifiedLineTradeSettlement")
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:CategoryCode", _category(rate))
        _el(tax, "ram:RateApplicablePercent", _rate(rate))
        summation = _el(settlement, "ram:SpecifiedTradeSettlementLineMonetarySummation")
        _el(summation, "ram:LineTotalAmount",
            _amount(round_money(line.quantity * line.unit_price, currency)))

    agreement = _el(trade, "ram:ApplicableHeaderTradeAgreement")
    if contact is not None and contact.buyer_reference:
        _el(agreement, "ram:BuyerReference", contact.buyer_reference)
    elif flavor == "xrechnung":
        _el(agreement, "ram:BuyerReference", doc.number or doc.id)
    _party(agreement, "ram:SellerTradeParty", company.name, company.address, company.vat_id,
           company.registration, company.email)
    if contact is not None:
        _party(agreement, "ram:BuyerTradeParty", contact.name, contact.address, contact.vat_id,
               email=contact.email)
    else:
        _party(agreement, "ram:BuyerTradeParty", doc.contact, "", "")
    _el(trade, "ram:ApplicableHeaderTradeDelivery")

    settlement = _el(trade, "ram:ApplicableHeaderTradeSettlement")
    if payment_reference:
        _el(settlement, "ram:PaymentReference", payment_reference)
    _el(settlement, "ram:InvoiceCurrencyCode", currency)
    if company.iban and doc.kind == "invoice":
        means = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _el(means, "ram:TypeCode", "58")               # SEPA credit transfer
        account = _el(means, "ram:PayeePartyCreditorFinancialAccount")
        _el(account, "ram:IBANID", company.iban)
        if company.bic:
            institution = _el(means, "ram:PayeeSpecifiedCreditorFinancialInstitution")
            _el(institution, "ram:BICID", company.bic)
    for rate, net, vat in totals.by_rate:
        tax = _el(settlement, "ram:ApplicableTradeTax")
        _el(tax, "ram:CalculatedAmount", _amount(vat))
        _el(tax, "ram:TypeCode", "VAT")
        _el(tax, "ram:BasisAmount", _amount(net))
        _el(tax, "ram:CategoryCode", _category(rate))
        _el(tax, "ram:RateApplicablePercent", _rate(rate))
    if doc.kind == "invoice":
        terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
        _date(terms, "ram:DueDateDateTime", due_date(doc, book))
    summation = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(summation, "ram:LineTotalAmount", _amount(totals.net))
    _el(summation, "ram:TaxBasisTotalAmount", _amount(totals.net))
    _el(summation, "ram:TaxTotalAmount", _amount(totals.vat), currencyID=currency)
    _el(summation, "ram:GrandTotalAmount", _amount(totals.total))
    _el(summation, "ram:DuePayableAmount", _amount(totals.total))
    if doc.kind == "credit_note" and doc.credits:
        invoice = book.document(doc.credits)
        referenced = _el(settlement, "ram:InvoiceReferencedDocument")
        _el(referenced, "ram:IssuerAssignedID",
            (invoice.number or invoice.id) if invoice is not None else doc.credits)
        if invoice is not None:
            _date(referenced, "ram:FormattedIssueDateTime", invoice.date, qualified=True)
    ET.indent(root)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="utf-8",
                                                                      xml_declaration=False) + b"\n"


# --------------------------------------------------------------------------- UBL 2.1

UBL_NS = {
    "invoice": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
    "credit_note": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
}
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
ET.register_namespace("cac", CAC)
ET.register_namespace("cbc", CBC)


def _u(parent: ET.Element, tag: str, text: Optional[str] = None, **attrs: str) -> ET.Element:
    prefix, name = tag.split(":")
    element = ET.SubElement(parent, "{%s}%s" % ({"cac": CAC, "cbc": CBC}[prefix], name), attrs)
    if text is not None:
        element.text = text
    return element


def _ubl_party(parent: ET.Element, tag: str, name: str, address, vat_id: str,
               registration: str = "", email: str = "") -> None:
    party = _u(_u(parent, tag), "cac:Party")
    if email:
        _u(party, "cbc:EndpointID", email, schemeID="EM")
    postal = structured(address)
    if postal is not None:
        addr = _u(party, "cac:PostalAddress")
        street = " ".join(p for p in (postal.street, postal.number) if p)
        if street:
            _u(addr, "cbc:StreetName", street)
        if postal.city:
            _u(addr, "cbc:CityName", postal.city)
        if postal.postcode:
            _u(addr, "cbc:PostalZone", postal.postcode)
        _u(_u(addr, "cac:Country"), "cbc:IdentificationCode", postal.country or "ZZ")
    if vat_id:
        scheme = _u(party, "cac:PartyTaxScheme")
        _u(scheme, "cbc:CompanyID", "".join(vat_id.split()))
        _u(_u(scheme, "cac:TaxScheme"), "cbc:ID", "VAT")
    legal = _u(party, "cac:PartyLegalEntity")
    _u(legal, "cbc:RegistrationName", name)
    if registration:
        _u(legal, "cbc:CompanyID", registration)


def _ubl_category(parent: ET.Element, tag: str, rate: Decimal) -> None:
    category = _u(parent, tag)
    _u(category, "cbc:ID", _category(rate))
    _u(category, "cbc:Percent", _rate(rate))
    _u(_u(category, "cac:TaxScheme"), "cbc:ID", "VAT")


def ubl_xml(book: Book, doc: Document, payment_reference: Optional[str] = None) -> bytes:
    """The UBL 2.1 XML (Invoice, or CreditNote for a credit note) of ``doc``,
    EN 16931 (its UBL syntax binding): the same data and totals as
    :func:`cii_xml`."""
    from .money import currency_of, document_totals, round_money
    from .status import due_date
    if doc.kind not in EINVOICE_KINDS:
        raise ValueError("only invoices and credit notes have an e-invoice")
    settings = book.settings
    company = settings.company
    contact = book.contact(doc.contact)
    if payment_reference is None:
        from .payref import payment_reference as reference_of
        payment_reference = reference_of(doc, settings) or ""
    currency = currency_of(doc, settings)
    totals = document_totals(doc, settings)
    invoice = doc.kind == "invoice"
    root_name = "Invoice" if invoice else "CreditNote"
    root = ET.Element("{%s}%s" % (UBL_NS[doc.kind], root_name))
    _u(root, "cbc:CustomizationID", GUIDELINES["facturx"])
    _u(root, "cbc:ID", doc.number or doc.id)
    _u(root, "cbc:IssueDate", doc.date.isoformat())
    if invoice:
        _u(root, "cbc:DueDate", due_date(doc, book).isoformat())
    _u(root, "cbc:InvoiceTypeCode" if invoice else "cbc:CreditNoteTypeCode", TYPE_CODES[doc.kind])
    if doc.notes:
        _u(root, "cbc:Note", doc.notes)
    for text in settings.legal_notes_for(settings.locale):
        _u(root, "cbc:Note", "#REG#" + text)
    _u(root, "cbc:DocumentCurrencyCode", currency)
    if contact is not None and contact.buyer_reference:
        _u(root, "cbc:BuyerReference", contact.buyer_reference)
    if doc.kind == "credit_note" and doc.credits:
        credited = book.document(doc.credits)
        reference = _u(_u(root, "cac:BillingReference"), "cac:InvoiceDocumentReference")
        _u(reference, "cbc:ID", (credited.number or credited.id) if credited is not None
           else doc.credits)
        if credited is not None:
            _u(reference, "cbc:IssueDate", credited.date.isoformat())
    _ubl_party(root, "cac:AccountingSupplierParty", company.name, company.address,
               company.vat_id, company.registration, company.email)
    if contact is not None:
        _ubl_party(root, "cac:AccountingCustomerParty", contact.name, contact.address,
                   contact.vat_id, email=contact.email)
    else:
        _ubl_party(root, "cac:AccountingCustomerParty", doc.contact, "", "")
    if company.iban and invoice:
        means = _u(root, "cac:PaymentMeans")
        _u(means, "cbc:PaymentMeansCode", "58")            # SEPA credit transfer
        if payment_reference:
            _u(means, "cbc:PaymentID", payment_reference)
        account = _u(means, "cac:PayeeFinancialAccount")
        _u(account, "cbc:ID", company.iban)
        if company.bic:
            _u(_u(account, "cac:FinancialInstitutionBranch"), "cbc:ID", company.bic)
    tax_total = _u(root, "cac:TaxTotal")
    _u(tax_total, "cbc:TaxAmount", _amount(totals.vat), currencyID=currency)
    for rate, net, vat in totals.by_rate:
        subtotal = _u(tax_total, "cac:TaxSubtotal")
        _u(subtotal, "cbc:TaxableAmount", _amount(net), currencyID=currency)
        _u(subtotal, "cbc:TaxAmount", _amount(vat), currencyID=currency)
        _ubl_category(subtotal, "cac:TaxCategory", rate)
    money = _u(root, "cac:LegalMonetaryTotal")
    _u(money, "cbc:LineExtensionAmount", _amount(totals.net), currencyID=currency)
    _u(money, "cbc:TaxExclusiveAmount", _amount(totals.net), currencyID=currency)
    _u(money, "cbc:TaxInclusiveAmount", _amount(totals.total), currencyID=currency)
    _u(money, "cbc:PayableAmount", _amount(totals.total), currencyID=currency)
    for index, line in enumerate(doc.lines, 1):
        rate = settings.vat if line.vat is None else line.vat
        item_line = _u(root, "cac:InvoiceLine" if invoice else "cac:CreditNoteLine")
        _u(item_line, "cbc:ID", str(index))
        _u(item_line, "cbc:InvoicedQuantity" if invoice else "cbc:CreditedQuantity",
           _amount(line.quantity), unitCode="C62")
        _u(item_line, "cbc:LineExtensionAmount",
           _amount(round_money(line.quantity * line.unit_price, currency)), currencyID=currency)
        item = _u(item_line, "cac:Item")
        _u(item, "cbc:Name", line.description or "-")
        _ubl_category(item, "cac:ClassifiedTaxCategory", rate)
        _u(_u(item_line, "cac:Price"), "cbc:PriceAmount", _amount(line.unit_price),
           currencyID=currency)
    ET.indent(root)
    # the root's namespace as the default one, as UBL documents are written (ElementTree
    # gives it a prefix: only the root element has it, and text never holds a raw "<")
    text = ET.tostring(root, encoding="utf-8", xml_declaration=False)
    text = text.replace(b"<ns0:", b"<", 1).replace(b"</ns0:", b"</", 1).replace(
        b"xmlns:ns0=", b"xmlns=", 1)
    return b'<?xml version="1.0" encoding="UTF-8"?>\n' + text + b"\n"
