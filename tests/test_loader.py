"""Reading book files into records: values by the type of their field, every
problem reported with file, line, column and field (SPEC 1, 1.1-1.4, 4)."""
from __future__ import annotations

import datetime as dt
import json
import textwrap
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.loader import (kind_of_path, parse_contact, parse_document, parse_file,
                           parse_recurrence, parse_settings)
from engine.model import Contact, Document, Recurrence, Settings

INVOICE = "documents/2025/01/inv-20250105-k3f9.yaml"


def yaml(text: str) -> bytes:
    return textwrap.dedent(text).lstrip("\n").encode()


def invoice(extra="", line: str = 'unit_price: "120.00"') -> bytes:
    """A valid invoice; ``line`` is the last key of its only line (more keys may
    follow on lines indented by 4), ``extra`` is appended from line 8 on."""
    head = ("kind: invoice\ncustomer: acme\ndate: 2025-01-05\nlines:\n"
            "  - description: Hosting\n    quantity: 1\n    %s\n" % line).encode()
    return head + (extra if isinstance(extra, bytes) else extra.encode())


def only_error(diagnostics):
    errors = [d for d in diagnostics if d.is_error]
    assert len(errors) == 1, [str(d) for d in diagnostics]
    return errors[0]


def where(diagnostic):
    return (diagnostic.line, diagnostic.col, diagnostic.field)


# --------------------------------------------------------------------------- paths

@pytest.mark.parametrize("path, kind", [
    ("facturier.yaml", "settings"),
    ("contacts/acme.yaml", "contact"),
    ("documents/2025/01/inv-1.yaml", "document"),
    ("documents/inv-1.yaml", "document"),
    ("documents/old/archive/q-1.yaml", "document"),
    ("recurrences/hosting.yaml", "recurrence"),
    ("contacts/sub/acme.yaml", None),
    ("recurrences/a/b.yaml", None),
    ("contacts/acme.yml", None),
    ("README.md", None),
    ("other.yaml", None),
    (".facturier/cache.yaml", None),
    ("documents/.yaml", None),
])
def test_kind_of_path(path, kind):
    assert kind_of_path(path) == kind


def test_parse_file_dispatches_by_path():
    kind, record, diagnostics = parse_file(INVOICE, invoice())
    assert kind == "document" and isinstance(record, Document) and diagnostics == []
    kind, record, _ = parse_file("contacts/acme.yaml", b"name: ACME SA\n")
    assert kind == "contact" and isinstance(record, Contact)
    kind, record, _ = parse_file("recurrences/h.yaml", yaml("""
        name: Hosting
        template: inv-1
        rule: FREQ=MONTHLY
        start: 2025-01-01
        """))
    assert kind == "recurrence" and isinstance(record, Recurrence)
    kind, record, _ = parse_file("facturier.yaml", b"")
    assert kind == "settings" and isinstance(record, Settings)
    assert parse_file("notes.txt", b"whatever: [") == (None, None, [])


def test_broken_settings_still_give_settings_through_parse_file():
    kind, record, diagnostics = parse_file("facturier.yaml", b"currency: CHF\nlocale: de\n")
    assert kind == "settings" and record.currency == "CHF" and record.locale == "en"
    assert where(only_error(diagnostics)) == (2, 9, "locale")


# --------------------------------------------------------------------------- a full document

def test_a_full_document_reads_every_field():
    text = yaml("""
        # a comment first
        kind: invoice
        customer: acme
        date: 2025-01-05
        due: 2025-02-04
        currency: CHF
        number: 2025-0042
        validated: 2025-01-05
        scheduled: true
        lines:
          - description: Hosting {period}
            quantity: 1
            unit_price: "120.00"
            vat: "8.1"
        payments:   [{date: 2025-01-20, amount: "50.00", reference: "bank 123"}]
        discounts:  [{date: 2025-01-20, amount: "2.00", reason: "2% early payment"}]
        write_off:  {date: 2025-06-30, reason: "debtor bankrupt"}
        holds:      [{from: 2025-02-01, to: 2025-02-15, reason: "dispute"}, {from: 2025-03-01}]
        deliveries:
          - {channel: email, at: "2025-01-05T09:00:00+01:00", to: ap@acme.example,
             result: sent, message_id: "<a@b>"}
          - {channel: post, at: 2025-01-06T10:00Z, result: returned, detail: moved}
        reminders:  [{level: 1, date: 2025-02-05}]
        converted_from: q-20250101-cc22
        recurrence: hosting-acme
        occurrence: 2025-03-01
        notes: "free text"
        x-internal: {anything: [goes, here]}
        """)
    doc, diagnostics = parse_document(text, INVOICE)
    assert diagnostics == []
    assert doc.id == "inv-20250105-k3f9" and doc.path == INVOICE and doc.line == 2
    assert doc.kind == "invoice" and doc.contact == "acme"
    assert doc.date == dt.date(2025, 1, 5) and doc.due == dt.date(2025, 2, 4)
    assert doc.currency == "CHF" and doc.number == "2025-0042"
    assert doc.validated == dt.date(2025, 1, 5) and doc.scheduled is True
    (line,) = doc.lines
    assert (line.line, line.description, line.quantity, line.unit_price, line.vat) == (
        11, "Hosting {period}", Decimal("1"), Decimal("120.00"), Decimal("8.1"))
    assert doc.payments[0].amount == Decimal("50.00") and doc.payments[0].reference == "bank 123"
    assert doc.payments[0].line == 15
    assert doc.discounts[0].amount == Decimal("2.00")
    assert doc.write_off.date == dt.date(2025, 6, 30) and doc.write_off.line == 17
    assert doc.holds[0].start == dt.date(2025, 2, 1) and doc.holds[0].end == dt.date(2025, 2, 15)
    assert doc.holds[1].end is None
    assert doc.deliveries[0].at == "2025-01-05T09:00:00+01:00"
    assert doc.deliveries[0].day == dt.date(2025, 1, 5)
    assert doc.deliveries[1].at == "2025-01-06T10:00Z" and doc.deliveries[1].result == "returned"
    assert doc.deliveries[0].line == 20 and doc.deliveries[1].line == 22
    assert doc.reminders[0].level == 1
    assert doc.converted_from == "q-20250101-cc22"
    assert doc.recurrence == "hosting-acme" and doc.occurrence == dt.date(2025, 3, 1)
    assert doc.notes == "free text"
    assert doc.fields["kind"] == 2 and doc.fields["lines"] == 10 and doc.fields["notes"] == 27


# --------------------------------------------------------------------------- typing by field

def test_text_fields_keep_what_yaml_would_retype():
    contact, diagnostics = parse_contact(b"name: NO\naddress: 0123\nemail: yes@no\n",
                                         "contacts/norway.yaml")
    assert diagnostics == []
    assert contact.name == "NO" and contact.address == "0123" and contact.email == "yes@no"
    doc, diagnostics = parse_document(invoice("number: 0123\nnotes: 8.10\n"), INVOICE)
    assert diagnostics == [] and doc.number == "0123" and doc.notes == "8.10"


def test_rates_keep_their_exact_text():
    doc, _ = parse_document(invoice(line="unit_price: 0.125\n    vat: 8.10"), INVOICE)
    assert doc.lines[0].vat == Decimal("8.10") and str(doc.lines[0].vat) == "8.10"
    assert str(doc.lines[0].unit_price) == "0.125"


@pytest.mark.parametrize("written", ["1200", '"1200.50"', "0.125", "'7'", "0", "1200.", ".5"])
def test_decimal_spellings_accepted(written):
    doc, diagnostics = parse_document(invoice(line="unit_price: %s" % written), INVOICE)
    assert diagnostics == []
    assert doc.lines[0].unit_price == Decimal(written.strip("'\""))


@pytest.mark.parametrize("written", ["1e3", "nan", "inf", "-inf", "1_000", "0x10", "1,5",
                                     '"12 CHF"', "'.'", "٣"])
def test_decimal_spellings_refused_with_a_clear_message(written):
    doc, diagnostics = parse_document(invoice(line="unit_price: %s" % written), INVOICE)
    assert doc is None
    problem = only_error(diagnostics)
    assert where(problem) == (7, 17, "lines.1.unit_price")
    assert "is not a decimal number" in problem.message


@settings(max_examples=200, deadline=None)
@given(st.decimals(allow_nan=False, allow_infinity=False, min_value=Decimal(1 - 10 ** 15),
                   max_value=Decimal(10 ** 15 - 1)),     # larger is refused (MAX_DIGITS)
       st.sampled_from(["%s", '"%s"', "'%s'"]))
def test_any_decimal_text_round_trips_exactly(value, quoting):
    text = format(value.copy_abs(), "f")
    doc, diagnostics = parse_document(invoice(line="unit_price: " + quoting % text), INVOICE)
    assert diagnostics == []
    read = doc.lines[0].unit_price
    assert format(read, "f") == text and read.as_tuple() == Decimal(text).as_tuple()


@pytest.mark.parametrize("field, line", [
    ("quantity", "quantity: -3"),
    ("unit_price", 'unit_price: "-0.01"'),
])
def test_negative_line_amounts_are_errors_on_their_line(field, line):
    text = yaml("""
        kind: invoice
        customer: acme
        date: 2025-01-05
        lines:
          - description: x
            %s
        """ % line)
    doc, diagnostics = parse_document(text, INVOICE)
    problem = only_error(diagnostics)
    assert doc is None and problem.line == 6 and problem.field == "lines.1." + field
    assert "must not be negative" in problem.message


def test_negative_payment_discount_and_total_are_errors():
    doc, diagnostics = parse_document(invoice(yaml("""
        payments: [{date: 2025-01-20, amount: "-5"}]
        discounts:
          - date: 2025-01-20
            amount: -1
        """)), INVOICE)
    assert doc is None
    assert [(d.line, d.field) for d in diagnostics] == [(8, "payments.1.amount"),
                                                       (11, "discounts.1.amount")]
    expense, diagnostics = parse_document(yaml("""
        kind: expense
        supplier: swisscom
        date: 2025-01-05
        total: "-80"
        """), "documents/exp-1.yaml")
    assert expense is None and where(only_error(diagnostics)) == (4, 8, "total")


@pytest.mark.parametrize("written, words", [
    ("2025-02-30", "not a valid date"),
    ("2025-13-01", "not a valid date"),
    ("20250105", "write YYYY-MM-DD"),
    ("5.1.2025", "write YYYY-MM-DD"),
    ("2025-01-05T10:00:00+01:00", "write YYYY-MM-DD"),
])
def test_bad_dates_name_the_field(written, words):
    doc, diagnostics = parse_document(invoice("validated: %s\n" % written), INVOICE)
    problem = only_error(diagnostics)
    assert doc is None and where(problem) == (8, 12, "validated")
    assert written in problem.message and words in problem.message


@pytest.mark.parametrize("written, words", [
    ("2025-01-05T09:00:00", "no offset"),
    ('"2025-01-05 09:00"', "no offset"),
    ("2025-01-05", "not an ISO 8601 timestamp"),
    ("yesterday", "not an ISO 8601 timestamp"),
    ("2025-01-05T25:00:00+01:00", "not a valid timestamp"),
])
def test_bad_timestamps(written, words):
    doc, diagnostics = parse_document(invoice(yaml("""
        deliveries:
          - channel: email
            at: %s
            result: sent
        """ % written)), INVOICE)
    problem = only_error(diagnostics)
    assert doc is None and where(problem) == (10, 9, "deliveries.1.at") and words in problem.message


def test_timestamps_are_kept_as_written():
    doc, diagnostics = parse_document(invoice(yaml("""
        deliveries:
          - {channel: email, at: 2025-01-05T09:00:00.123+01:00, result: sending}
          - {channel: email, at: "2025-01-05 23:30:00-05:00", result: deferred}
        """)), INVOICE)
    assert diagnostics == []
    assert [d.at for d in doc.deliveries] == ["2025-01-05T09:00:00.123+01:00",
                                              "2025-01-05 23:30:00-05:00"]


@pytest.mark.parametrize("written, expected", [("true", True), ("false", False), ("True", True),
                                               ("", False), ("~", False)])
def test_booleans(written, expected):
    doc, diagnostics = parse_document(invoice("scheduled: %s\n" % written), INVOICE)
    assert diagnostics == [] and doc.scheduled is expected


@pytest.mark.parametrize("written", ["yes", "no", "on", "1", "'t'"])
def test_booleans_are_true_or_false_only(written):
    doc, diagnostics = parse_document(invoice("scheduled: %s\n" % written), INVOICE)
    assert doc is None and "not true or false" in only_error(diagnostics).message


def test_null_means_absent_but_quoted_empty_is_text():
    doc, diagnostics = parse_document(invoice("notes:\ndue: ~\ncurrency: null\n"), INVOICE)
    assert diagnostics == [] and doc.notes == "" and doc.due is None and doc.currency is None
    contact, diagnostics = parse_contact(b"name: ACME\nemail: ''\naddress: 'null'\n",
                                         "contacts/acme.yaml")
    assert diagnostics == [] and contact.email == "" and contact.address == "null"


def test_a_required_field_left_empty_is_reported_at_its_value():
    contact, diagnostics = parse_contact(b"email: a@b.example\nname:\n", "contacts/acme.yaml")
    problem = only_error(diagnostics)
    assert contact is None and where(problem) == (2, 6, "name") and "needs a value" in \
        problem.message
    contact, diagnostics = parse_contact(b"name: ''\n", "contacts/acme.yaml")
    assert contact is None and "must not be empty" in only_error(diagnostics).message


def test_a_text_field_given_a_list_is_an_error():
    contact, diagnostics = parse_contact(b"name: [a, b]\n", "contacts/acme.yaml")
    problem = only_error(diagnostics)
    assert contact is None and problem.field == "name" and "must be text, not a list" in \
        problem.message


# --------------------------------------------------------------------------- keys

def test_unknown_key_says_did_you_mean():
    text = invoice().replace(b"customer:", b"cusotmer:")
    doc, diagnostics = parse_document(text, INVOICE)
    assert doc is None
    unknown = [d for d in diagnostics if "unknown" in d.message]
    assert [str(d) for d in unknown] == [
        INVOICE + ":2:1: unknown field 'cusotmer' — did you mean 'customer'?"]
    assert unknown[0].field == "cusotmer"
    # and the customer is then missing
    assert any(d.field == "customer" and "missing" in d.message for d in diagnostics)


def test_unknown_nested_key_names_its_dotted_field():
    doc, diagnostics = parse_document(invoice(line="unit_price: 1\n    vta: 8"), INVOICE)
    problem = only_error(diagnostics)
    assert where(problem) == (8, 5, "lines.1.vta")
    assert problem.message == "unknown field 'lines.1.vta' — did you mean 'lines.1.vat'?"


def test_unknown_key_without_a_close_match():
    _, diagnostics = parse_contact(b"name: A\nzzzzzz: 1\n", "contacts/a.yaml")
    assert only_error(diagnostics).message == "unknown field 'zzzzzz'"


def test_x_keys_are_ignored_at_every_level():
    doc, diagnostics = parse_document(invoice(
        line="unit_price: 1\n    x-cost-center: 42",
        extra="x-crm: {id: 7, tags: [a, b]}\npayments: [{date: 2025-01-06, amount: 1, "
              "x-bank: ubs}]\n"), INVOICE)
    assert diagnostics == [] and doc.payments[0].amount == 1
    settings_, diagnostics = parse_settings(b"x-note: hi\nemail: {x-relay: yes, smtp_port: 2525}\n")
    assert diagnostics == [] and settings_.email.smtp_port == 2525


def test_x_keys_still_may_not_hide_a_dangerous_tag(tmp_path):
    marker = tmp_path / "pwned"
    doc, diagnostics = parse_document(invoice(
        "x-evil: !!python/object/apply:os.system ['touch %s']\n" % marker), INVOICE)
    assert doc is None and not marker.exists()
    assert where(only_error(diagnostics)) == (8, 9, "x-evil")


def test_python_tag_in_a_field_is_refused_once_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    doc, diagnostics = parse_document(invoice(
        "notes: !!python/object/apply:os.system ['touch %s']\n" % marker), INVOICE)
    assert doc is None and not marker.exists()
    problem = only_error(diagnostics)       # no second error about the value's type
    assert where(problem) == (8, 8, "notes") and "not allowed" in problem.message


def test_alias_bomb_in_a_document_is_refused_fast():
    import time
    levels = ['x-l0: &l0 ["lol"]'] + [
        "x-l%d: &l%d [%s]" % (i, i, ", ".join(["*l%d" % (i - 1)] * 10)) for i in range(1, 10)]
    started = time.perf_counter()
    doc, diagnostics = parse_document(invoice("\n".join(levels) + "\nnotes: *l9\n"), INVOICE)
    assert time.perf_counter() - started < 0.5
    assert doc is None
    assert any(d.field == "notes" and "alias '*l9'" in d.message for d in diagnostics)


def test_duplicate_key_is_an_error_naming_both_lines():
    doc, diagnostics = parse_document(invoice("customer: other\n"), INVOICE)
    problem = only_error(diagnostics)
    assert doc is None and where(problem) == (8, 1, "customer")
    assert "duplicate key 'customer'" in problem.message and "line 2" in problem.message


# --------------------------------------------------------------------------- every error

def test_every_problem_of_a_file_is_reported_with_file_line_and_field():
    text = yaml("""
        kind: invoice
        customer: acme
        date: 2025-02-30
        cusotmer: x
        lines:
          - description: NO
            quantity: 1e3
            unit_price: "-3"
          - {description: ok, vta: 1}
        deliveries:
          - {channel: fax, at: "2025-01-05T09:00:00", result: snt}
        holds: [{from: 2025-02-01, to: 2025-01-01}]
        credits: inv-1
        scheduled: yes
        reminders: [{level: 4, date: 2025-02-01}]
        """)
    doc, diagnostics = parse_document(text, INVOICE)
    assert doc is None
    assert [(d.path, d.line, d.field) for d in diagnostics] == [
        (INVOICE, 3, "date"),
        (INVOICE, 4, "cusotmer"),
        (INVOICE, 7, "lines.1.quantity"),
        (INVOICE, 8, "lines.1.unit_price"),
        (INVOICE, 9, "lines.2.vta"),
        (INVOICE, 11, "deliveries.1.channel"),
        (INVOICE, 11, "deliveries.1.at"),
        (INVOICE, 11, "deliveries.1.result"),
        (INVOICE, 12, "holds.1.to"),
        (INVOICE, 13, "credits"),
        (INVOICE, 14, "scheduled"),
        (INVOICE, 15, "reminders.1.level"),
    ]
    assert all(d.col >= 1 and d.is_error for d in diagnostics)
    messages = {d.field: d.message for d in diagnostics}
    assert "did you mean 'sent'" in messages["deliveries.1.result"]
    assert "'fax' is not one of email, post" in messages["deliveries.1.channel"]
    assert "only applies to credit notes" in messages["credits"]
    assert "must be after 'from'" in messages["holds.1.to"]
    assert "from 1 to 3" in messages["reminders.1.level"]


def test_a_syntax_error_ends_the_parse_with_its_position():
    doc, diagnostics = parse_document(b"kind: invoice\ncustomer: [acme\ndate: 2025-01-05\n",
                                      INVOICE)
    problem = only_error(diagnostics)
    assert doc is None and problem.line == 3 and "YAML syntax error" in problem.message


@pytest.mark.parametrize("text, words", [
    (b"", "empty"),
    (b"# nothing yet\n", "empty"),
    (b"---\n", "empty"),
    (b"~\n", "empty"),
    (b"- kind: invoice\n", "not a list"),
    (b"just text\n", "not a single value"),
])
def test_a_file_must_hold_a_mapping(text, words):
    doc, diagnostics = parse_document(text, INVOICE)
    assert doc is None and words in only_error(diagnostics).message


# --------------------------------------------------------------------------- ids

def test_the_id_is_the_file_name_and_an_id_key_must_match():
    doc, diagnostics = parse_document(invoice("id: inv-20250105-k3f9\n"), INVOICE)
    assert diagnostics == [] and doc.id == "inv-20250105-k3f9"
    doc, diagnostics = parse_document(invoice("id: other\n"), INVOICE)
    problem = only_error(diagnostics)
    assert doc is None and where(problem) == (8, 1, "id") and "differs from the file name" in \
        problem.message


@pytest.mark.parametrize("name", ["-lead", "with space", "é", "a" * 65, "_x"])
def test_a_file_name_that_is_no_valid_id_is_an_error(name):
    contact, diagnostics = parse_contact(b"name: A\n", "contacts/%s.yaml" % name)
    problem = only_error(diagnostics)
    assert contact is None and problem.field == "id" and "not a valid id" in problem.message


# --------------------------------------------------------------------------- kinds

def test_expense_uses_supplier_and_may_give_a_total():
    doc, diagnostics = parse_document(yaml("""
        kind: expense
        supplier: swisscom
        date: 2025-01-05
        total: "80.50"
        """), "documents/2025/01/exp-20250105-aaaa.yaml")
    assert diagnostics == [] and doc.contact == "swisscom" and doc.total == Decimal("80.50")
    assert doc.lines == () and doc.party_key == "supplier"


def test_customer_and_supplier_swapped_say_which_to_use():
    _, diagnostics = parse_document(yaml("""
        kind: expense
        customer: swisscom
        date: 2025-01-05
        total: 1
        """), "documents/exp-1.yaml")
    problem = only_error(diagnostics)
    assert where(problem) == (2, 1, "customer") and "write 'supplier:'" in problem.message
    _, diagnostics = parse_document(invoice().replace(b"customer:", b"supplier:"), INVOICE)
    problem = only_error(diagnostics)
    assert problem.field == "supplier" and "write 'customer:'" in problem.message


@pytest.mark.parametrize("kind, key, value, ok", [
    ("credit_note", "credits", "inv-1", True),
    ("invoice", "credits", "inv-1", False),
    ("quote", "declined", "2025-01-09", True),
    ("invoice", "declined", "2025-01-09", False),
    ("work_order", "declined", "2025-01-09", False),
    ("quote", "converted_to", "inv-2", True),
    ("work_order", "converted_to", "inv-2", True),
    ("invoice", "converted_to", "inv-2", False),
    ("credit_note", "converted_to", "inv-2", False),
    ("invoice", "total", "10", False),
    ("quote", "total", "10", False),
    ("invoice", "converted_from", "q-1", True),
])
def test_fields_that_only_some_kinds_carry(kind, key, value, ok):
    text = invoice("%s: %s\n" % (key, value)).replace(b"kind: invoice", b"kind: " + kind.encode())
    doc, diagnostics = parse_document(text, INVOICE)
    if ok:
        assert diagnostics == [] and doc.kind == kind
    else:
        problem = only_error(diagnostics)
        assert doc is None and where(problem) == (8, 1, key) and "only applies to" in \
            problem.message


@pytest.mark.parametrize("kind", ["invoice", "credit_note", "quote", "work_order"])
def test_lines_are_required_except_for_expenses(kind):
    text = yaml("""
        kind: %s
        customer: acme
        date: 2025-01-05
        """ % kind)
    doc, diagnostics = parse_document(text, INVOICE)
    assert doc is None and only_error(diagnostics).field == "lines"
    doc, diagnostics = parse_document(text + b"lines: []\n", INVOICE)
    assert doc is None and "at least one line" in only_error(diagnostics).message


def test_an_expense_needs_lines_or_total_but_not_both():
    base = b"kind: expense\nsupplier: s\ndate: 2025-01-05\n"
    _, diagnostics = parse_document(base, "documents/exp-1.yaml")
    assert "'total'" in only_error(diagnostics).message
    doc, diagnostics = parse_document(base + b"lines: [{unit_price: 3}]\n", "documents/exp-1.yaml")
    assert diagnostics == [] and doc.lines[0].unit_price == 3
    _, diagnostics = parse_document(base + b"lines: [{unit_price: 3}]\ntotal: 3\n",
                                    "documents/exp-1.yaml")
    assert "not both" in only_error(diagnostics).message


def test_missing_required_document_fields():
    doc, diagnostics = parse_document(b"notes: hi\n", INVOICE)
    assert doc is None
    assert sorted(d.field for d in diagnostics) == ["customer", "date", "kind", "lines"]
    assert all(d.line == 1 and "missing required field" in d.message for d in diagnostics)


def test_bad_kind_suggests_the_close_one():
    doc, diagnostics = parse_document(invoice().replace(b"kind: invoice", b"kind: invoce"), INVOICE)
    problem = only_error(diagnostics)
    assert doc is None and problem.field == "kind" and "did you mean 'invoice'" in problem.message


def test_hold_to_must_be_after_from():
    _, diagnostics = parse_document(invoice("holds: [{from: 2025-02-01, to: 2025-02-01}]\n"),
                                    INVOICE)
    assert where(only_error(diagnostics)) == (8, 28, "holds.1.to")


def test_currency_is_three_capital_letters():
    _, diagnostics = parse_document(invoice("currency: chf\n"), INVOICE)
    assert where(only_error(diagnostics)) == (8, 11, "currency")


# --------------------------------------------------------------------------- contacts

def test_contact():
    contact, diagnostics = parse_contact(yaml("""
        name: ACME SA
        email: ap@acme.example
        address: |
          Rue du Lac 1
          1000 Lausanne
        payment_days: 45
        """), "contacts/acme.yaml")
    assert diagnostics == []
    assert contact.id == "acme" and contact.name == "ACME SA"
    assert contact.address == "Rue du Lac 1\n1000 Lausanne\n" and contact.payment_days == 45
    assert contact.fields == {"name": 1, "email": 2, "address": 3, "payment_days": 6}
    contact, diagnostics = parse_contact(b"name: A\npayment_days: 0x10\n", "contacts/a.yaml")
    assert contact is None and where(only_error(diagnostics)) == (2, 15, "payment_days")
    contact, diagnostics = parse_contact(b"name: A\npayment_days: -1\n", "contacts/a.yaml")
    assert contact is None and "at least 0" in only_error(diagnostics).message


# --------------------------------------------------------------------------- recurrences

def test_recurrence_file():
    rec, diagnostics = parse_recurrence(yaml("""
        name: Hosting ACME
        template: inv-20250105-k3f9
        rule: FREQ=MONTHLY;BYMONTHDAY=1
        start: 2025-01-01
        until: 2025-12-31
        issue: send
        lead_days: 5
        last: 2025-02-01
        skipped: [2025-02-01, 2025-01-01]
        stopped:
          at: "2025-03-01T06:00:00+00:00"
          occurrence: 2025-03-01
          cause: "template inv-20250105-k3f9 does not exist"
        ended: 2025-06-30
        """), "recurrences/hosting-acme.yaml")
    assert diagnostics == []
    assert rec.id == "hosting-acme" and rec.name == "Hosting ACME"
    assert rec.rule == "FREQ=MONTHLY;BYMONTHDAY=1" and rec.start == dt.date(2025, 1, 1)
    assert rec.until == dt.date(2025, 12, 31) and rec.issue == "send" and rec.lead_days == 5
    assert rec.skipped == (dt.date(2025, 2, 1), dt.date(2025, 1, 1))
    assert rec.stopped.at == "2025-03-01T06:00:00+00:00"
    assert rec.stopped.occurrence == dt.date(2025, 3, 1)
    assert rec.ended == dt.date(2025, 6, 30)


def test_recurrence_errors():
    rec, diagnostics = parse_recurrence(yaml("""
        name: Hosting
        rule: FREQ=MONTHLY
        start: 2025-01-01
        issue: mail
        lead_days: 1.5
        skipped: [2025-02-01, 2025-02-31]
        stopped: {occurrence: 2025-03-01}
        """), "recurrences/h.yaml")
    assert rec is None
    assert [(d.line, d.field) for d in diagnostics] == [
        (1, "template"), (4, "issue"), (5, "lead_days"), (6, "skipped.2"), (7, "stopped.at")]


# --------------------------------------------------------------------------- settings

def test_empty_or_missing_settings_are_all_defaults():
    for text in (b"", b"# nothing\n", "", b"~\n"):
        settings_, diagnostics = parse_settings(text)
        assert diagnostics == [] and settings_ == Settings()


def test_settings_file():
    settings_, diagnostics = parse_settings(yaml("""
        company: {name: Atelier SA, vat_id: CHE-123}
        currency: CHF
        locale: fr
        timezone: Europe/Zurich
        vat: "8.1"
        terms: {payment_days: 10, first_reminder_days: 5, second_reminder_days: 7}
        future_invoices: process
        numbering:
          invoice: "F{year}/{seq}"
          quote: "{seq:05d}"
        recurrences:
          max_catch_up: 6
        email:
          from: "Atelier <billing@atelier.example>"
          smtp_host: mail.example
          smtp_port: 587
          starttls: true
        """))
    assert diagnostics == []
    assert settings_.company.name == "Atelier SA" and settings_.company.vat_id == "CHE-123"
    assert settings_.currency == "CHF" and settings_.locale == "fr"
    assert settings_.timezone == "Europe/Zurich" and settings_.vat == Decimal("8.1")
    assert settings_.terms.payment_days == 10 and settings_.terms.second_reminder_days == 7
    assert settings_.future_invoices == "process"
    assert settings_.numbering.invoice == "F{year}/{seq}"
    assert settings_.numbering.credit_note == "CN-{year}-{seq:04d}"     # default kept
    assert settings_.max_catch_up == 6
    assert settings_.email.sender == "Atelier <billing@atelier.example>"
    assert settings_.email.smtp_port == 587 and settings_.email.starttls is True
    assert settings_.fields["email"] == 13


def test_broken_settings_fall_back_to_defaults_field_by_field():
    settings_, diagnostics = parse_settings(yaml("""
        currency: eur
        timezone: Mars/Olympus
        locale: de
        vat: abc
        numbering: {invoice: "{year}-{n}", quote: "{year}", work_order: "{seq:q}",
                    credit_note: "NC{seq}"}
        recurrences: {max_catch_up: 0}
        email: {from: me, smtp_port: 99999, starttls: maybe}
        terms: {payment_days: 45, first_reminder_days: x}
        """))
    assert settings_.currency == "EUR" and settings_.timezone == "UTC"
    assert settings_.numbering.invoice == "{year}-{seq:04d}"
    assert settings_.numbering.credit_note == "NC{seq}"          # the valid one is kept
    assert settings_.email.sender == "" and settings_.email.smtp_port == 25
    assert settings_.terms.payment_days == 45 and settings_.terms.first_reminder_days == 10
    assert settings_.max_catch_up == 3
    assert [d.field for d in diagnostics] == [
        "currency", "timezone", "locale", "vat", "numbering.invoice", "numbering.quote",
        "numbering.work_order", "recurrences.max_catch_up", "email.from", "email.smtp_port",
        "email.starttls", "terms.first_reminder_days"]
    messages = {d.field: d.message for d in diagnostics}
    assert "only use {year} and {seq}" in messages["numbering.invoice"]
    assert "has no {seq}" in messages["numbering.quote"]
    assert "not a known time zone" in messages["timezone"]


def test_settings_with_an_unknown_key():
    settings_, diagnostics = parse_settings(b"currency: CHF\ncurency: EUR\n")
    assert settings_.currency == "CHF"
    assert only_error(diagnostics).message == "unknown field 'curency' — did you mean 'currency'?"


def test_settings_that_are_not_a_mapping():
    settings_, diagnostics = parse_settings(b"- a\n")
    assert settings_ == Settings() and only_error(diagnostics).line == 1


@pytest.mark.parametrize("address, ok", [
    ("ap@acme.example", True), ("a.b+billing@sub.acme-corp.example", True), ("x@localhost", True),
    ("", True),                                         # no address: the contact is not e-mailed
    ("not-an-email", False), ("ap@", False), ("@acme.example", False), ("a b@acme.example", False),
    ("ACME <ap@acme.example>", False), ("ap@acme.example, bo@acme.example", False),
    ("ap@acme.example\nBcc: x@evil.example", False), ("ap@-acme.example", False),
    ("ap@acme..example", False), ("é@acme.example", False),
])
def test_a_contact_email_is_one_address(address, ok):
    text = "name: ACME\nemail: %s\n" % json.dumps(address)
    contact, diagnostics = parse_contact(text.encode(), "contacts/acme.yaml")
    if ok:
        assert diagnostics == [] and contact.email == address
    else:
        (d,) = diagnostics
        assert (d.line, d.field) == (2, "email")
        assert "is not an e-mail address" in d.message and contact is None
