"""The editor schemas: they accept the demo book, reject what the loader
rejects, and every new book is wired to them."""
from __future__ import annotations

import datetime as dt
import json

import pytest
import yaml
from jsonschema import Draft7Validator

from conftest import git
from engine.demo import demo_files
from engine.loader import parse_file
from engine.resources import read_data
from engine.schemas import SCHEMA_FILES, editor_files, schema_for_path


class DatesAsText(yaml.SafeLoader):
    """The safe loader, reading dates as strings (as the YAML language server
    does with YAML 1.2, where a date is not a type)."""


DatesAsText.yaml_implicit_resolvers = {
    first: [r for r in resolvers if r[0] != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()}

VALIDATORS = {name: Draft7Validator(json.loads(read_data("schemas", name)))
              for name in SCHEMA_FILES}


def schema_errors(path: str, text: str) -> list[str]:
    data = yaml.load(text, Loader=DatesAsText)
    validator = VALIDATORS[schema_for_path(path)]
    return [e.message for e in validator.iter_errors(data)]


def loader_errors(path: str, text: str) -> list[str]:
    _, _, diagnostics = parse_file(path, text)
    return [d.message for d in diagnostics if d.is_error]


def test_the_schemas_are_valid_draft_07():
    for name in SCHEMA_FILES:
        Draft7Validator.check_schema(json.loads(read_data("schemas", name)))


@pytest.mark.parametrize("today", [dt.date(2026, 11, 23), dt.date(2028, 2, 29)], ids=str)
def test_every_file_of_the_demo_book_is_accepted(today):
    files = demo_files(today)
    checked = 0
    for path, data in files.items():
        assert schema_for_path(path) is not None, path
        assert schema_errors(path, data.decode()) == [], path
        checked += 1
    assert checked == len(files) > 150


INVOICE = """
kind: invoice
customer: acme
date: 2025-01-05
lines:
  - {description: Design, quantity: 2, unit_price: "100.00"}
"""

SENT = """deliveries:
  - {channel: email, at: "2025-01-05T09:00:00+01:00", to: ap@acme.example, result: sent,
     attachments: [{name: a.pdf, sha256: SHA}]}
"""

# (path, text, what is wrong): both the loader and the schema must refuse it
BAD = [
    ("contacts/acme.yaml", "name: ACME\nemial: ap@acme.example\n", "unknown key"),
    ("contacts/acme.yaml", "email: ap@acme.example\n", "missing name"),
    ("contacts/acme.yaml", "name: ACME\npayment_days: -5\n", "negative payment days"),
    ("documents/2025/01/x.yaml", INVOICE.replace("customer", "cusotmer"), "misspelt key"),
    ("documents/2025/01/x.yaml", INVOICE.replace("kind: invoice", "kind: bill"), "bad kind"),
    ("documents/2025/01/x.yaml", INVOICE.replace("date: 2025-01-05\n", ""), "missing date"),
    ("documents/2025/01/x.yaml", INVOICE.replace("2025-01-05", "05/01/2025"), "bad date"),
    ("documents/2025/01/x.yaml", INVOICE.replace('"100.00"', '"-100.00"'), "negative price"),
    ("documents/2025/01/x.yaml", INVOICE.replace("quantity: 2", "quantity: -2"),
     "negative quantity"),
    ("documents/2025/01/x.yaml", INVOICE.replace("unit_price", "unit_prize"), "line key"),
    ("documents/2025/01/x.yaml", INVOICE + 'payments: [{date: 2025-01-09, amount: "-5"}]\n',
     "negative payment"),
    ("documents/2025/01/x.yaml", INVOICE + "payments: [{date: 2025-01-09}]\n",
     "payment without amount"),
    ("documents/2025/01/x.yaml", INVOICE + "deliveries: [{channel: email, "
     "at: '2025-01-05T09:00:00+01:00', result: delivered}]\n", "bad delivery result"),
    ("documents/2025/01/x.yaml", INVOICE + "deliveries: [{channel: fax, "
     "at: '2025-01-05T09:00:00+01:00', result: sent}]\n", "bad channel"),
    ("documents/2025/01/x.yaml", INVOICE + "deliveries: [{channel: email, "
     "at: '2025-01-05T09:00:00', result: sent}]\n", "timestamp without offset"),
    ("documents/2025/01/x.yaml", INVOICE + "reminders: [{level: 4, date: 2025-02-01}]\n",
     "reminder level"),
    ("documents/2025/01/x.yaml", INVOICE + "holds: [{to: 2025-02-01}]\n", "hold without from"),
    ("documents/2025/01/x.yaml", INVOICE + "scheduled: maybe\n", "not a boolean"),
    ("documents/2025/01/x.yaml", INVOICE + "currency: eur\n", "bad currency"),
    ("documents/2025/01/x.yaml", INVOICE + "credits: inv-1\n", "credits on an invoice"),
    ("documents/2025/01/x.yaml", INVOICE + 'total: "10.00"\n', "total on an invoice"),
    ("documents/2025/01/x.yaml", INVOICE + "declined: 2025-01-09\n", "declined on an invoice"),
    ("documents/2025/01/x.yaml", INVOICE.split("lines:")[0], "invoice without lines"),
    ("documents/2025/01/x.yaml", INVOICE.split("lines:")[0] + "lines: []\n", "no line"),
    ("documents/2025/01/x.yaml", INVOICE.replace("kind: invoice", "kind: expense"),
     "expense with a customer"),
    ("documents/2025/01/x.yaml", "kind: expense\nsupplier: acme\ndate: 2025-01-05\n",
     "expense without lines or total"),
    ("documents/2025/01/x.yaml", INVOICE + "supplier: acme\n",
     "invoice with a supplier"),
    ("documents/2025/01/x.yaml", INVOICE + SENT.replace("SHA", "ABC123"),
     "an attachment's SHA-256 that is not 64 hex digits"),
    ("documents/2025/01/x.yaml", INVOICE + SENT.replace("SHA", "A" * 64),
     "an attachment's SHA-256 in capitals"),
    ("documents/2025/01/x.yaml", INVOICE + SENT.replace("name: a.pdf, ", ""),
     "an attachment without a name"),
    ("documents/2025/01/x.yaml", INVOICE + "recurrence: 'not an id!'\n", "bad reference"),
    ("recurrences/r.yaml", "name: R\ntemplate: inv-1\nrule: FREQ=MONTHLY\nstart: 2025-01-01\n"
     "issue: mail\n", "bad issue"),
    ("recurrences/r.yaml", "name: R\nrule: FREQ=MONTHLY\nstart: 2025-01-01\n",
     "missing template"),
    ("recurrences/r.yaml", "name: R\ntemplate: inv-1\nrrule: FREQ=MONTHLY\nstart: 2025-01-01\n",
     "misspelt rule"),
    ("recurrences/r.yaml", "name: R\ntemplate: inv-1\nrule: FREQ=MONTHLY\nstart: 2025-01-01\n"
     "lead_days: -1\n", "negative lead days"),
    ("recurrences/r.yaml", "name: R\ntemplate: inv-1\nrule: FREQ=MONTHLY\nstart: 2025-01-01\n"
     "stopped: {cause: broken}\n", "stopped without at"),
    ("facturier.yaml", "locale: de\n", "bad locale"),
    ("facturier.yaml", "curency: EUR\n", "misspelt currency"),
    ("facturier.yaml", "currency: euro\n", "bad currency"),
    ("facturier.yaml", "future_invoices: later\n", "bad future_invoices"),
    ("facturier.yaml", "email: {smtp_port: 70000}\n", "port out of range"),
    ("facturier.yaml", "terms: {payment_days: 30, reminder_days: 10}\n", "unknown term"),
    ("facturier.yaml", 'vat: "-8.1"\n', "negative vat"),
    ("facturier.yaml", "numbering: {invoice: '{year}'}\n", "format without seq"),
    ("facturier.yaml", "payment_qr: swis\n", "bad payment_qr"),
    ("facturier.yaml", "einvoice: xrechnung\n", "bad settings einvoice"),
    ("facturier.yaml", "legal_notes: {de: [a]}\n", "legal notes of an unknown locale"),
    ("facturier.yaml", "legal_notes: {fr: one line}\n", "legal notes not a list"),
    ("facturier.yaml", "company: {address: {street: A, contry: FR}}\n", "misspelt address key"),
    ("facturier.yaml", "company: {address: {country: fr}}\n", "lowercase country"),
    ("facturier.yaml", "company: {iban: '12345'}\n", "not an IBAN"),
    ("facturier.yaml", "company: {bic: 'PO-FI'}\n", "not a BIC"),
    ("facturier.yaml", "company: {fax: '123'}\n", "unknown company key"),
    ("contacts/acme.yaml", "name: ACME\neinvoice: pdfa\n", "bad contact einvoice"),
    ("contacts/acme.yaml", "name: ACME\naddress: {city: Lyon, zip: '69001'}\n",
     "unknown address key"),
    ("contacts/acme.yaml", "name: ACME\naddress: [Rue, Lyon]\n", "address as a list"),
]


@pytest.mark.parametrize("path,text,why", BAD, ids=[b[2] for b in BAD])
def test_bad_samples_are_rejected_by_the_loader_and_the_schema(path, text, why):
    assert loader_errors(path, text), "the loader accepts it: not a fair sample"
    assert schema_errors(path, text), "the schema accepts %s" % why


GOOD = [
    ("contacts/norway.yaml", "name: NO\npayment_days: '45'\nx-crm-id: 42\n"),
    ("documents/2025/01/x.yaml", INVOICE.replace("kind: invoice", "kind: invoice\nnumber: 0123"
                                                 "\nvalidated: 2025-01-05\nnotes:\nx-tag: a")),
    ("documents/2025/01/x.yaml", INVOICE.replace('"100.00"', "8.10, x-sku: A1")),
    ("documents/2025/01/x.yaml", "kind: expense\nsupplier: acme\ndate: 2025-01-05\n"
                                 "total: 1200\n"),
    ("recurrences/r.yaml", "name: R\ntemplate: inv-1\nrule: FREQ=MONTHLY;BYMONTHDAY=-1\n"
                           "start: 2025-01-31\nskipped: [2025-02-28]\nlead_days: 5\n"),
    ("facturier.yaml", ""),
    ("facturier.yaml", "company: {name: Pixel, x-logo: logo.png}\nvat: 8.1\n"),
    ("facturier.yaml", "company:\n  name: Pixel\n  address: {street: Rue du Lac, number: '1', "
                       "postcode: '1000', city: Lausanne, country: CH}\n  phone: '+41 21 000'\n"
                       "  vat_id: CHE-123.456.789 MWST\n  registration: CHE-123.456.789\n"
                       "  iban: CH93 0076 2011 6238 5295 7\n  bic: POFICHBEXXX\n"
                       "payment_qr: swiss\neinvoice: none\nlegal_notes: {fr: [a, b], en: []}\n"),
    ("facturier.yaml", "company: {address: \"Rue du Lac 1\\n1000 Lausanne\"}\n"),
    ("contacts/acme.yaml", "name: ACME\naddress: {street: Hauptstr., number: '5', postcode: "
                           "'10115', city: Berlin, country: DE}\nvat_id: DE123456789\n"
                           "buyer_reference: 04011000-1234512345-06\neinvoice: xrechnung\n"),
]


GOOD.append(("documents/2025/01/x.yaml", INVOICE + SENT.replace("SHA", "0a" * 32)))


@pytest.mark.parametrize("path,text", GOOD)
def test_what_the_loader_accepts_the_schema_accepts(path, text):
    assert loader_errors(path, text) == []
    assert schema_errors(path, text) == []


def test_editor_files_map_every_kind_of_file_to_a_copy_of_its_schema():
    files = editor_files()
    mapping = json.loads(files[".vscode/settings.json"])["yaml.schemas"]
    assert set(mapping.values()) == {"/facturier.yaml", "/contacts/*.yaml",
                                     "/documents/**/*.yaml", "/recurrences/*.yaml"}
    for schema, glob in mapping.items():
        copy = files[schema[2:]]
        assert copy == read_data("schemas", schema.rsplit("/", 1)[1])
        example = glob[1:].replace("**/", "2025/01/").replace("*", "acme")
        assert schema_for_path(example) == schema.rsplit("/", 1)[1]
    helix = files[".helix/languages.toml"].decode()
    assert all('"%s" = "%s"' % (k, v) in helix for k, v in mapping.items())
    assert not any(path.startswith(".facturier/") for path in files)


def test_a_new_book_is_wired_for_editors(cli, tmp_path):
    made = cli("init", str(tmp_path / "book"))
    assert made.code == 0, made
    for path, data in editor_files().items():
        assert (tmp_path / "book" / path).read_bytes() == data, path
    # committed, not ignored
    assert cli("check", book=tmp_path / "book").code == 0
    tracked = git(tmp_path / "book", "ls-files").splitlines()
    assert ".vscode/settings.json" in tracked and ".schemas/contact.schema.json" in tracked
