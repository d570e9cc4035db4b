"""The audit trail (SPEC 5.3) from real git history: facturier's commits by
their trailers, hand edits as `manual`, oldest first, filtered by action."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from engine import actions as A
from engine.history import book_history, object_history
from tests.conftest import git

DAY = dt.date(2025, 1, 5)


@pytest.fixture
def trail(make_book):
    root = make_book({"contacts/acme.yaml": "name: ACME\n"})
    _, change = A.perform(root, A.plan_create_document, {
        "kind": "invoice", "customer": "acme",
        "lines": [{"description": "Work", "unit_price": Decimal("100")}]}, DAY)
    doc = change.ids("Facturier-Document")[0]
    A.perform(root, A.plan_validate, doc, DAY)
    path = root / "documents/2025/01" / (doc + ".yaml")
    path.write_text(path.read_text() + "notes: by hand\n")
    git(root, "commit", "-qam", "Fix the notes by hand")
    A.perform(root, A.plan_payment, doc, Decimal("10"), DAY, author="Ada <ada@example.com>")
    A.perform(root, A.plan_credit, doc, DAY)
    _, other = A.perform(root, A.plan_create_document, {
        "kind": "quote", "customer": "acme",
        "lines": [{"description": "Other", "unit_price": Decimal("5")}]}, DAY)
    return root, doc, other.ids("Facturier-Document")[0]


def test_an_objects_history_is_its_commits_and_hand_edits_oldest_first(trail):
    root, doc, other = trail
    entries = object_history(root, doc)
    assert [e.action for e in entries] == ["document.create", "document.validate", "manual",
                                           "document.payment", "document.credit"]
    assert entries[2].subject == "Fix the notes by hand"
    assert entries[3].author == "Ada <ada@example.com>"
    assert entries[3].documents == (doc,)
    assert len(entries[4].documents) == 2 and entries[4].documents[1] == doc
    assert all(len(e.commit) == 40 and e.date.startswith("20") for e in entries)
    assert set(entries[0].as_json()) == {"commit", "date", "author", "action", "documents",
                                         "recurrences", "contacts", "subject", "attachments"}
    assert [e.action for e in object_history(root, other)] == ["document.create"]
    assert [e.action for e in object_history(root, doc.upper())] == [e.action for e in entries]


def test_history_is_filtered_by_action(trail):
    root, doc, _ = trail
    assert [e.action for e in object_history(root, doc, ["manual", "document.payment"])] == \
        ["manual", "document.payment"]
    assert [e.action for e in book_history(root, ["document.create"])] == \
        ["document.create", "document.create"]


def test_the_book_history_lists_every_commit_oldest_first(trail):
    root, _, _ = trail
    entries = book_history(root)
    assert entries[0].subject == "Test book" and entries[0].action == "manual"
    assert len(entries) == int(git(root, "rev-list", "--count", "HEAD"))


def test_an_id_that_is_a_prefix_of_another_does_not_match_it(make_book):
    root = make_book({"contacts/acme.yaml": "name: ACME\n", "contacts/acme-2.yaml": "name: A2\n"})
    A.perform(root, A.plan_edit_contact, "acme-2", set_fields={"email": "a@x.example"})
    assert [e.action for e in object_history(root, "acme")] == ["manual"]
    assert [e.action for e in object_history(root, "acme-2")] == ["manual", "contact.modify"]


def test_a_deleted_documents_history_still_shows_its_hand_edits(make_book):
    root = make_book({"contacts/acme.yaml": "name: ACME\n"})
    _, change = A.perform(root, A.plan_create_document, {
        "kind": "quote", "customer": "acme",
        "lines": [{"description": "Work", "unit_price": Decimal("100")}]}, DAY)
    doc = change.ids("Facturier-Document")[0]
    path = root / "documents/2025/01" / (doc + ".yaml")
    path.write_text(path.read_text() + "notes: by hand\n")
    git(root, "commit", "-qam", "Hand note")
    A.perform(root, A.plan_delete_document, doc)
    assert [e.action for e in object_history(root, doc)] == \
        ["document.create", "manual", "document.delete"]
