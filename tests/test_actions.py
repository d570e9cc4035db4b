"""Document, contact and recurrence actions on real git books: each is one
commit with the SPEC's trailers; refusals change nothing; validated
documents are legal records; files are canonical or keep a person's edits."""
from __future__ import annotations

import datetime as dt
import shutil
from decimal import Decimal

import pytest

from engine import actions as A
from engine.book import load_book
from engine.checks import check_book
from engine.diagnostics import ActionRefused
from tests.conftest import git

D = Decimal
DAY = dt.date(2025, 1, 5)
ACME = "# our best customer\nname: ACME SA\nemail: ap@acme.example\n"


@pytest.fixture
def book(make_book):
    return make_book({"facturier.yaml": 'currency: EUR\nvat: "8.1"\n',
                      "contacts/acme.yaml": ACME, "contacts/beta.yaml": "name: Beta\n"})


def _trailers(root, key="Facturier-Action", rev="HEAD"):
    return git(root, "log", "-1", "--format=%(trailers:key=" + key + ",valueonly)", rev).split()


def _count(root):
    return int(git(root, "rev-list", "--count", "HEAD"))


def _invoice(root, lines=(("Consulting", "2", "500.00"),), validate=False, day=DAY,
             customer="acme"):
    fields = {"kind": "invoice", "customer": customer, "date": day,
              "lines": [{"description": d, "quantity": D(q), "unit_price": D(p)}
                        for d, q, p in lines]}
    _, change = A.perform(root, A.plan_create_document, fields, day)
    doc_id = change.ids("Facturier-Document")[0]
    if validate:
        A.perform(root, A.plan_validate, doc_id, day)
    return doc_id


def _doc(root, doc_id):
    return load_book(root).document(doc_id)


def test_create_writes_one_canonical_file_in_one_commit(book):
    n = _count(book)
    doc_id = _invoice(book)
    assert _count(book) == n + 1
    assert doc_id.startswith("inv-20250105-")
    path = book / "documents/2025/01" / (doc_id + ".yaml")
    assert path.read_text() == ('kind: invoice\ncustomer: acme\ndate: 2025-01-05\nlines:\n'
                                '  - description: Consulting\n    quantity: "2"\n'
                                '    unit_price: "500.00"\n')
    assert _trailers(book) == ["document.create"]
    assert _trailers(book, "Facturier-Document") == [doc_id]
    assert git(book, "log", "-1", "--format=%s").strip() == \
        "Create invoice %s for acme" % doc_id
    assert git(book, "status", "--porcelain", "--", "documents") == ""


def test_the_same_action_on_two_clones_gives_the_same_bytes(book, tmp_path):
    clone = tmp_path / "clone"
    shutil.copytree(book, clone)
    a, b = _invoice(book), _invoice(clone)
    assert a == b
    assert (book / "documents/2025/01" / (a + ".yaml")).read_bytes() == \
        (clone / "documents/2025/01" / (b + ".yaml")).read_bytes()
    A.perform(book, A.plan_validate, a, DAY)
    A.perform(clone, A.plan_validate, b, DAY)
    assert git(book, "rev-parse", "HEAD:documents") == git(clone, "rev-parse", "HEAD:documents")


def test_creating_for_a_missing_contact_is_refused_and_changes_nothing(book):
    n = _count(book)
    with pytest.raises(ActionRefused, match="no contact 'nobody'"):
        A.perform(book, A.plan_create_document,
                  {"kind": "invoice", "customer": "nobody",
                   "lines": [{"description": "x", "unit_price": D("1")}]}, DAY)
    with pytest.raises(ActionRefused, match=r"<stdin>:3:1: .*cusotmer"):
        A.perform(book, A.plan_create_document,
                  "kind: invoice\ndate: 2025-01-05\ncusotmer: acme\n", DAY, source="<stdin>")
    assert _count(book) == n


def test_numbers_follow_validation_order_per_kind_and_year_without_gaps(book):
    first = _invoice(book, day=dt.date(2025, 3, 1))
    second = _invoice(book, day=dt.date(2025, 1, 2), lines=(("Other", "1", "10"),))
    last_year = _invoice(book, day=dt.date(2024, 12, 30), lines=(("Old", "1", "10"),))
    for doc_id, day in ((second, dt.date(2025, 3, 2)), (first, dt.date(2025, 3, 3)),
                        (last_year, dt.date(2025, 3, 4))):
        A.perform(book, A.plan_validate, doc_id, day)
        assert _trailers(book) == ["document.validate"]
    loaded = load_book(book)
    assert loaded.document(second).number == "2025-0001"
    assert loaded.document(first).number == "2025-0002"
    assert loaded.document(last_year).number == "2024-0001"
    assert loaded.document(first).validated == dt.date(2025, 3, 3)
    assert [d for d in check_book(loaded) if d.is_error] == []
    with pytest.raises(ActionRefused, match="already validated"):
        A.perform(book, A.plan_validate, first, DAY)


def test_payment_discount_hold_release_keep_a_persons_comments(book):
    doc_id = _invoice(book, validate=True)
    path = book / "documents/2025/01" / (doc_id + ".yaml")
    path.write_text("# agreed by phone\n" + path.read_text().replace(
        "kind: invoice", "kind: invoice  # yes, an invoice"))
    git(book, "commit", "-qam", "Comment by hand")
    A.perform(book, A.plan_payment, doc_id, D("50"), dt.date(2025, 1, 20), "bank 123")
    assert _trailers(book) == ["document.payment"]
    A.perform(book, A.plan_discount, doc_id, "2.00", dt.date(2025, 1, 21), reason="early")
    A.perform(book, A.plan_hold, doc_id, dt.date(2025, 2, 1), reason="dispute")
    A.perform(book, A.plan_release, doc_id, dt.date(2025, 2, 10))
    text = path.read_text()
    assert text.startswith("# agreed by phone\nkind: invoice  # yes, an invoice\n")
    doc = _doc(book, doc_id)
    assert [(p.date, p.amount, p.reference) for p in doc.payments] == \
        [(dt.date(2025, 1, 20), D("50.00"), "bank 123")]
    assert 'amount: "50.00"' in text
    assert doc.discounts[0].amount == D("2.00")
    assert (doc.holds[0].start, doc.holds[0].end) == (dt.date(2025, 2, 1), dt.date(2025, 2, 10))
    with pytest.raises(ActionRefused, match="not on hold"):
        A.perform(book, A.plan_release, doc_id, dt.date(2025, 2, 11))


@pytest.mark.parametrize("amount,message", [("0", "more than zero"), ("-5", "more than zero"),
                                            ("1.005", "more decimals"), ("abc", "not an amount")])
def test_bad_payment_amounts_are_refused(book, amount, message):
    doc_id = _invoice(book, validate=True)
    with pytest.raises(ActionRefused, match=message):
        A.perform(book, A.plan_payment, doc_id, amount, DAY)


def test_a_draft_invoice_cannot_be_paid(book):
    doc_id = _invoice(book)
    with pytest.raises(ActionRefused, match="draft: validate it"):
        A.perform(book, A.plan_payment, doc_id, D("1"), DAY)


def test_a_validated_document_cannot_be_deleted_or_have_its_legal_fields_changed(book):
    doc_id = _invoice(book, validate=True)
    n = _count(book)
    with pytest.raises(ActionRefused, match="legal record.*credit note"):
        A.perform(book, A.plan_delete_document, doc_id)
    for fields in ({"customer": "beta"}, {"date": dt.date(2025, 1, 6)}, {"currency": "CHF"},
                   {"number": "2025-0099"},
                   {"lines": [{"description": "Consulting", "quantity": D("3"),
                               "unit_price": D("500.00")}]}):
        with pytest.raises(ActionRefused, match="is validated: its .* cannot be changed"):
            A.perform(book, A.plan_edit_document, doc_id, set_fields=fields)
    with pytest.raises(ActionRefused, match="cannot be changed"):
        A.perform(book, A.plan_edit_document, doc_id, remove=("validated", "number"))
    assert _count(book) == n
    A.perform(book, A.plan_edit_document, doc_id, set_fields={"notes": "Thanks!",
                                                              "due": dt.date(2025, 3, 1)})
    assert _trailers(book) == ["document.modify"]
    assert _doc(book, doc_id).notes == "Thanks!"


def test_a_draft_can_be_edited_and_deleted(book):
    doc_id = _invoice(book)
    A.perform(book, A.plan_edit_document, doc_id, set_fields={"customer": "beta"})
    assert _doc(book, doc_id).contact == "beta"
    with pytest.raises(ActionRefused, match="no contact 'ghost'"):
        A.perform(book, A.plan_edit_document, doc_id, set_fields={"customer": "ghost"})
    A.perform(book, A.plan_delete_document, doc_id)
    assert _trailers(book) == ["document.delete"]
    assert _doc(book, doc_id) is None
    assert list((book / "documents").rglob("*.yaml")) == []


def test_an_edit_to_a_file_with_uncommitted_edits_is_refused_naming_it(book):
    doc_id = _invoice(book, validate=True)
    path = book / "documents/2025/01" / (doc_id + ".yaml")
    path.write_text(path.read_text() + "notes: mine\n")
    n = _count(book)
    with pytest.raises(ActionRefused, match="uncommitted edits in documents/2025/01/%s.yaml"
                       % doc_id):
        A.perform(book, A.plan_payment, doc_id, D("1"), DAY)
    assert _count(book) == n
    assert path.read_text().endswith("notes: mine\n")


def test_credit_note_for_the_open_amount_references_the_invoice(book):
    doc_id = _invoice(book, validate=True)           # 1000.00 + 8.1 % = 1081.00
    A.perform(book, A.plan_payment, doc_id, D("81.00"), DAY)
    _, change = A.perform(book, A.plan_credit, doc_id, dt.date(2025, 2, 1))
    cn_id, inv = change.ids("Facturier-Document")
    assert inv == doc_id and _trailers(book) == ["document.credit"]
    cn = _doc(book, cn_id)
    assert (cn.kind, cn.credits, cn.contact, cn.validated) == ("credit_note", doc_id, "acme", None)
    # the open 1000.00 keeps the invoice's 8.1 % VAT: 925.07 + 74.93
    assert [(ln.quantity, ln.unit_price, ln.vat) for ln in cn.lines] == \
        [(D(1), D("925.07"), D("8.1"))]
    assert "VAT 8.1%" in cn.lines[0].description
    assert _trailers(book, "Facturier-Action") == ["document.credit"]
    assert "of 1000.00 EUR" in git(book, "log", "-1", "--format=%s")
    with pytest.raises(ActionRefused, match="already has a draft credit note"):
        A.perform(book, A.plan_credit, doc_id, dt.date(2025, 2, 1))
    A.perform(book, A.plan_validate, cn_id, dt.date(2025, 2, 2))
    assert _doc(book, cn_id).number == "CN-2025-0001"
    from engine.status import status_of
    loaded = load_book(book)
    assert status_of(loaded.document(doc_id), loaded, dt.date(2025, 2, 3)) == "paid"


def test_a_whole_credit_copies_the_invoice_lines(book):
    doc_id = _invoice(book, validate=True, lines=(("A", "1", "10"), ("B", "2", "5")))
    _, change = A.perform(book, A.plan_credit, doc_id, DAY)
    cn = _doc(book, change.ids("Facturier-Document")[0])
    assert [(ln.description, ln.quantity, ln.unit_price) for ln in cn.lines] == \
        [("A", D(1), D(10)), ("B", D(2), D(5))]


def test_convert_a_quote_links_both_documents_in_one_commit(book):
    _, change = A.perform(book, A.plan_create_document,
                          {"kind": "quote", "customer": "acme", "notes": "Offer",
                           "lines": [{"description": "Site", "unit_price": D("900")}]}, DAY)
    quote = change.ids("Facturier-Document")[0]
    n = _count(book)
    _, change = A.perform(book, A.plan_convert, quote, dt.date(2025, 1, 9), to="work_order")
    assert _count(book) == n + 1 and _trailers(book) == ["document.convert"]
    wo = change.ids("Facturier-Document")[0]
    loaded = load_book(book)
    assert loaded.document(quote).converted_to == wo
    assert loaded.document(wo).converted_from == quote
    assert (loaded.document(wo).kind, loaded.document(wo).date) == ("work_order", dt.date(2025, 1, 9))
    with pytest.raises(ActionRefused, match="already converted"):
        A.perform(book, A.plan_convert, quote, DAY)
    with pytest.raises(ActionRefused, match="cannot be deleted: quote"):
        A.perform(book, A.plan_delete_document, wo)
    _, change = A.perform(book, A.plan_convert, wo, DAY)
    assert _doc(book, change.ids("Facturier-Document")[0]).kind == "invoice"


def test_decline_write_off_and_returned(book):
    _, change = A.perform(book, A.plan_create_document,
                          {"kind": "quote", "customer": "acme",
                           "lines": [{"description": "Site", "unit_price": D("900")}]}, DAY)
    quote = change.ids("Facturier-Document")[0]
    A.perform(book, A.plan_decline, quote, dt.date(2025, 1, 9))
    assert _trailers(book) == ["document.decline"]
    assert _doc(book, quote).declined == dt.date(2025, 1, 9)
    with pytest.raises(ActionRefused, match="only invoices can be written off"):
        A.perform(book, A.plan_write_off, quote, DAY)
    inv = _invoice(book, validate=True)
    A.perform(book, A.plan_returned, inv, "2025-01-08T10:00:00+01:00")
    assert _trailers(book) == ["document.return"]
    assert _doc(book, inv).deliveries[-1].result == "returned"
    A.perform(book, A.plan_write_off, inv, dt.date(2025, 6, 30), "bankrupt")
    assert _trailers(book) == ["document.write-off"]
    with pytest.raises(ActionRefused, match="already written off"):
        A.perform(book, A.plan_write_off, inv, dt.date(2025, 7, 1))


def test_contacts_create_edit_and_delete_refused_while_documents_name_them(book):
    _, change = A.perform(book, A.plan_create_contact, {"name": "Élodie & Fils",
                                                         "email": "e@x.example"})
    assert change.ids("Facturier-Contact") == ("elodie-fils",)
    assert _trailers(book) == ["contact.create"]
    _, change = A.perform(book, A.plan_create_contact, {"name": "Élodie & Fils"})
    assert change.ids("Facturier-Contact") == ("elodie-fils-2",)
    A.perform(book, A.plan_edit_contact, "acme", set_fields={"payment_days": 45})
    assert (book / "contacts/acme.yaml").read_text() == ACME + "payment_days: 45\n"
    _invoice(book)
    with pytest.raises(ActionRefused, match="1 document names it"):
        A.perform(book, A.plan_delete_contact, "acme")
    A.perform(book, A.plan_delete_contact, "elodie-fils-2")
    assert _trailers(book) == ["contact.delete"]
    assert not (book / "contacts/elodie-fils-2.yaml").exists()


def test_deleting_a_recurrence_leaves_its_documents(book):
    template = _invoice(book, validate=True)
    _, change = A.perform(book, A.plan_create_recurrence, {
        "name": "Hosting ACME", "template": template, "rule": "FREQ=MONTHLY;BYMONTHDAY=1",
        "start": dt.date(2025, 2, 1)})
    assert change.ids("Facturier-Recurrence") == ("hosting-acme",)
    assert (book / "recurrences/hosting-acme.yaml").read_text() == (
        "name: Hosting ACME\ntemplate: %s\nrule: FREQ=MONTHLY;BYMONTHDAY=1\nstart: 2025-02-01\n"
        "issue: draft\n" % template)
    with pytest.raises(ActionRefused, match="does not parse"):
        A.perform(book, A.plan_edit_recurrence, "hosting-acme", set_fields={"rule": "FREQ=SOMETIMES"})
    A.perform(book, A.plan_edit_recurrence, "hosting-acme", set_fields={"lead_days": 3})
    assert _trailers(book) == ["recurrence.modify"]
    A.perform(book, A.plan_create_document, {
        "kind": "invoice", "customer": "acme", "date": dt.date(2025, 2, 1), "id": "hosting-acme-2025-02-01",
        "recurrence": "hosting-acme", "occurrence": dt.date(2025, 2, 1),
        "lines": [{"description": "Hosting", "unit_price": D("10")}]}, DAY)
    A.perform(book, A.plan_delete_recurrence, "hosting-acme")
    assert _trailers(book) == ["recurrence.delete"]
    loaded = load_book(book)
    assert loaded.recurrence("hosting-acme") is None
    assert loaded.document("hosting-acme-2025-02-01") is not None
    assert loaded.document(template) is not None


def test_a_writer_session_makes_many_commits_and_keeps_its_book_current(book):
    with A.open_writer(book) as w:
        ids = []
        for i in range(20):
            change = A.plan_create_document(w.book, {
                "kind": "invoice", "customer": "acme",
                "lines": [{"description": "Item %d" % i, "unit_price": D(i + 1)}]}, DAY)
            w.commit(change)
            ids.append(change.ids("Facturier-Document")[0])
        for doc_id in ids:
            w.commit(A.plan_validate(w.book, doc_id, DAY))
        assert len(w.commits) == 40
    loaded = load_book(book)
    assert sorted(loaded.document(i).number for i in ids) == \
        ["2025-%04d" % n for n in range(1, 21)]
    assert git(book, "status", "--porcelain", "--", "documents") == ""
    assert git(book, "diff", "--cached", "--name-only") == ""


def test_a_new_file_never_overwrites_one_that_exists(book):
    with A.open_writer(book) as w:
        change = A.plan_create_contact(w.book, {"name": "Gamma"})
    (book / "contacts/gamma.yaml").write_text("name: Someone else\n")     # appeared meanwhile
    n = _count(book)
    with A.open_writer(book) as w:
        with pytest.raises(ActionRefused, match="contacts/gamma.yaml already exists"):
            w.commit(change)
    assert _count(book) == n
    assert (book / "contacts/gamma.yaml").read_text() == "name: Someone else\n"


def test_a_hold_released_the_day_it_starts_is_removed(book):
    doc_id = _invoice(book, validate=True)
    A.perform(book, A.plan_hold, doc_id, DAY)
    A.perform(book, A.plan_release, doc_id, DAY)
    assert _doc(book, doc_id).holds == ()
    assert "holds" not in (book / "documents/2025/01" / (doc_id + ".yaml")).read_text()


def test_a_broken_document_can_be_fixed_by_an_edit(book):
    doc_id = _invoice(book)
    path = book / "documents/2025/01" / (doc_id + ".yaml")
    good = path.read_text()
    path.write_text(good.replace("customer:", "cusotmer:"))
    git(book, "commit", "-qam", "Typo by hand")
    with pytest.raises(ActionRefused, match="has errors; fix them first"):
        A.perform(book, A.plan_payment, doc_id, D("1"), DAY)
    A.perform(book, A.plan_edit_document, doc_id, text=good)
    assert _trailers(book) == ["document.modify"]
    assert _doc(book, doc_id).contact == "acme"
