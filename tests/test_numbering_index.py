"""Validation reads what numbering needs, not the whole book (issue 13):
the document, its contact, the settings, and the numbers already given from
the numbering index in .facturier/ (engine/numindex.py). The index is a
cache: whatever happened to the book since it was written — a hand edit,
committed or not, a pulled commit, a cache committed by a stranger — the
number given is the one the whole book gives, and a validation the whole
book refuses is refused the same way, with the same words."""
from __future__ import annotations

import datetime as dt
import os
import subprocess

import pytest

from conftest import git, write_files
from engine import api, numindex
from engine.actions import plan_validate
from engine.book import load_book, load_for_numbering
from engine.diagnostics import ActionRefused

DAY = dt.date(2025, 3, 1)


def _invoice(date: str, number: str = "", validated: str = "", customer: str = "acme",
             price: str = "100.00") -> str:
    text = "kind: invoice\ncustomer: %s\ndate: %s\n" % (customer, date)
    if number:
        text += "number: \"%s\"\nvalidated: %s\n" % (number, validated)
    return text + "lines:\n  - {description: Work, quantity: 1, unit_price: \"%s\"}\n" % price


def _credit(date: str, invoice: str, price: str) -> str:
    return ("kind: credit_note\ncustomer: acme\ndate: %s\ncredits: %s\nlines:\n"
            "  - {description: Back, quantity: 1, unit_price: \"%s\", vat: \"0\"}\n"
            % (date, invoice, price))


FILES = {
    "facturier.yaml": "currency: EUR\n",
    "contacts/acme.yaml": "name: ACME SA\n",
    "documents/2025/01/inv-1.yaml": _invoice("2025-01-05", "2025-0001", "2025-01-05"),
    "documents/2025/01/inv-2.yaml": _invoice("2025-01-20", "2025-0002", "2025-01-20"),
    "documents/2024/12/inv-old.yaml": _invoice("2024-12-20", "2024-0009", "2024-12-20"),
    "documents/2025/02/inv-a.yaml": _invoice("2025-02-01"),
    "documents/2025/02/inv-b.yaml": _invoice("2025-02-02"),
    "documents/2025/02/inv-c.yaml": _invoice("2025-02-03"),
}


def outcome(load, root, doc_id: str, as_of: dt.date = DAY) -> str:
    """What validating ``doc_id`` would do on the book ``load`` gives: the
    commit's subject (it names the number), or the refusal's words."""
    try:
        return plan_validate(load(root, doc_id), doc_id, as_of).subject
    except ActionRefused as exc:
        return "refused: %s" % exc


def same_as_whole_book(root, doc_id: str, as_of: dt.date = DAY) -> str:
    whole = outcome(lambda r, _d: load_book(r), root, doc_id, as_of)
    part = outcome(load_for_numbering, root, doc_id, as_of)
    assert part == whole
    return part


def validate(root, doc_id: str, as_of: dt.date = DAY) -> str:
    """Validate through the engine API (what `doc validate` and the app call);
    the number given."""
    result = api.perform(root, "validate", api.Validate(doc_id), as_of)
    assert result.ok, result.refusal
    return result.subject.rsplit(" ", 1)[-1]


@pytest.fixture
def book(make_book):
    root = make_book(FILES)
    assert validate(root, "inv-a") == "2025-0003"         # the index is written
    assert (root / ".facturier" / "numbers.msgpack").is_file()
    return root


def test_a_hand_edit_committed_after_the_index_was_written_is_read(book):
    path = book / "documents/2025/01/inv-2.yaml"
    path.write_text(path.read_text().replace("2025-0002", "2025-0007"))
    git(book, "commit", "-qam", "renumbered by hand")
    assert same_as_whole_book(book, "inv-b") == "Validate invoice inv-b as 2025-0008"
    assert validate(book, "inv-b") == "2025-0008"


def test_uncommitted_edits_and_untracked_documents_count_as_the_whole_book_counts_them(book):
    write_files(book, {"documents/2025/02/by-hand.yaml":
                       _invoice("2025-02-10", "2025-0011", "2025-02-10")})
    assert same_as_whole_book(book, "inv-b") == "Validate invoice inv-b as 2025-0012"
    os.remove(book / "documents/2025/02/by-hand.yaml")
    path = book / "documents/2025/01/inv-1.yaml"
    path.write_text(path.read_text().replace("2025-0001", "2025-0005"))    # not committed
    assert same_as_whole_book(book, "inv-b") == "Validate invoice inv-b as 2025-0006"
    git(book, "checkout", "--", "documents/2025/01/inv-1.yaml")
    assert validate(book, "inv-b") == "2025-0004"


def test_numbers_given_by_another_clone_and_pulled_are_followed(book, tmp_path):
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(book), str(other))
    assert validate(other, "inv-b") == "2025-0004"
    assert validate(other, "inv-c") == "2025-0005"
    git(book, "pull", "-q", "--ff-only", str(other), "main")
    write_files(book, {"documents/2025/02/inv-d.yaml": _invoice("2025-02-04")})
    git(book, "add", "-A")
    git(book, "commit", "-qm", "a draft")
    assert same_as_whole_book(book, "inv-d") == "Validate invoice inv-d as 2025-0006"
    assert validate(book, "inv-d") == "2025-0006"


def test_an_index_committed_by_a_stranger_is_never_trusted(book, tmp_path):
    # a crafted index keyed by the real blob ids, saying no number was given:
    # trusted, it would give 2025-0001 a second time
    load_for_numbering(book, "inv-b")                       # the index of HEAD as it is
    rows = numindex.read(book)
    rows.numbers = [""] * len(rows.numbers)
    rows.validated = [0] * len(rows.validated)
    stranger = tmp_path / "stranger"
    git(tmp_path, "clone", "-q", str(book), str(stranger))
    numindex.write(stranger, rows)
    assert validate(stranger, "inv-b") == "2025-0001"       # facturier's own: trusted
    git(stranger, "reset", "-q", "--hard", "HEAD~1")
    git(stranger, "add", "-f", ".facturier/numbers.msgpack")
    git(stranger, "commit", "-qm", "cache")
    git(book, "pull", "-q", "--ff-only", str(stranger), "main")
    assert same_as_whole_book(book, "inv-b") == "Validate invoice inv-b as 2025-0004"
    assert validate(book, "inv-b") == "2025-0004"
    assert "2025-0004" in (book / "documents/2025/02/inv-b.yaml").read_text()


def test_an_index_edited_in_place_is_caught_by_the_blob_ids(book):
    # the index follows git's listing: a file changed behind its back (its
    # blob id changed) is parsed again, whatever the index says of it
    path = book / "documents/2025/02/inv-a.yaml"
    path.write_text(path.read_text().replace("2025-0003", "2025-0030"))
    git(book, "commit", "-qam", "hand edit")
    assert validate(book, "inv-b") == "2025-0031"


@pytest.mark.parametrize("change, words", [
    ({"documents/2025/01/broken.yaml": "kind: invoice\ncustomer: [acme\n"},
     "documents/2025/01/broken.yaml"),
    ({"documents/2025/01/inv-2.yaml": _invoice("2025-01-20", "2025-0002", "2025-03-05")},
     "2025-0002, was given on 2025-03-05"),
    ({"documents/2025/02/INV-1.yaml": _invoice("2025-02-05", "2025-0009", "2025-02-05")},
     "documents/2025/02/INV-1.yaml"),
    ({"documents/2024/12/INV-2.yaml": _invoice("2024-12-05")},
     "documents/2025/01/inv-2.yaml"),
    ({"facturier.yaml": "currency: EUR\nnumbering: {invoice: \"{seq:x}\"}\n"}, "{seq:x}"),
    ({"facturier.yaml": "currency: EUR\nnumbring: {}\n"}, "facturier.yaml"),
])
@pytest.mark.parametrize("committed", [True, False])
def test_what_the_whole_book_refuses_is_refused_with_the_same_words(book, change, words,
                                                                     committed):
    write_files(book, change)
    if committed:
        git(book, "add", "-A")
        git(book, "commit", "-qm", "hand edit")
    said = same_as_whole_book(book, "inv-b")
    assert said.startswith("refused: ") and words in said, said
    assert same_as_whole_book(book, "inv-b") == said        # the index now knows the file
    head = git(book, "rev-parse", "HEAD")
    result = api.perform(book, "validate", api.Validate("inv-b"), DAY)
    assert not result.ok and git(book, "rev-parse", "HEAD") == head


def test_a_document_that_does_not_load_or_is_missing_is_named(book):
    write_files(book, {"documents/2025/02/inv-x.yaml": "kind: invoice\n"})
    assert "documents/2025/02/inv-x.yaml" in same_as_whole_book(book, "inv-x")
    assert same_as_whole_book(book, "nothing-here").startswith("refused: ")
    assert same_as_whole_book(book, "../inv-b").startswith("refused: ")


def test_ids_are_found_ignoring_case_and_the_contact_too(book):
    write_files(book, {"contacts/Beta.yaml": "name: Beta\n",
                       "documents/2025/02/Inv-E.yaml": _invoice("2025-02-05", customer="beta")})
    git(book, "add", "-A")
    git(book, "commit", "-qm", "more")
    assert same_as_whole_book(book, "inv-e") == "Validate invoice Inv-E as 2025-0004"
    write_files(book, {"documents/2025/02/inv-f.yaml": _invoice("2025-02-05", customer="nobody")})
    assert "nobody" in same_as_whole_book(book, "inv-f")


def test_a_credit_note_is_numbered_in_its_series_and_bounded_by_the_invoice(book):
    write_files(book, {"documents/2025/02/cn-1.yaml": _credit("2025-02-10", "inv-1", "60.00"),
                       "documents/2025/02/cn-2.yaml": _credit("2025-02-11", "inv-1", "60.00")})
    git(book, "add", "-A")
    git(book, "commit", "-qm", "credit notes")
    assert same_as_whole_book(book, "cn-1") == "Validate credit note cn-1 as CN-2025-0001"
    assert validate(book, "cn-1") == "CN-2025-0001"
    said = same_as_whole_book(book, "cn-2")                 # 60 of the 100 are left... 40
    assert said.startswith("refused: ") and "40" in said


def test_a_link_under_documents_refuses_as_the_whole_book_does(book, tmp_path):
    outside = tmp_path / "elsewhere.yaml"
    outside.write_text(_invoice("2025-02-05", "2025-0050", "2025-02-05"))
    os.symlink(outside, book / "documents/2025/02/hidden.yaml")
    said = same_as_whole_book(book, "inv-b")
    assert said.startswith("refused: ") and "hidden.yaml" in said


def test_a_validation_replayed_on_another_clones_head_takes_the_next_number(book, tmp_path):
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    settings = book / "facturier.yaml"
    settings.write_text(settings.read_text() + "sync: {remote: origin, branch: main}\n")
    git(book, "commit", "-qam", "share")
    git(book, "remote", "add", "origin", str(remote))
    git(book, "push", "-q", "origin", "main")
    other = tmp_path / "other"
    git(tmp_path, "clone", "-q", str(remote), str(other))
    assert validate(other, "inv-b") == "2025-0004"          # published first
    result = api.perform(book, "validate", api.Validate("inv-c"), DAY)
    assert result.ok and result.published.endswith("as 2025-0005")
    check = tmp_path / "check"
    git(tmp_path, "clone", "-q", str(remote), str(check))
    numbers = git(check, "grep", "-h", "^number:", "--", "documents").split()
    assert sorted(n for n in numbers if n != "number:") == [
        '"2024-0009"', '"2025-0001"', '"2025-0002"', '"2025-0003"', '"2025-0004"',
        '"2025-0005"']


def test_the_refusal_names_the_number_the_whole_book_names(book):
    # two credit notes numbered the same day: the whole book names the first
    # by path; the book loaded in part holds one of them (it credits the
    # same invoice), and still names the same one
    def numbered(note: str, number: str) -> str:
        return note + "number: \"%s\"\nvalidated: 2025-02-10\n" % number
    write_files(book, {
        "documents/2025/01/cn-0.yaml": numbered(_credit("2025-01-30", "inv-2", "10.00"),
                                                "CN-2025-0002"),
        "documents/2025/02/cn-1.yaml": numbered(_credit("2025-02-10", "inv-1", "10.00"),
                                                "CN-2025-0001"),
        "documents/2025/02/cn-x.yaml": _credit("2025-02-11", "inv-1", "10.00")})
    git(book, "add", "-A")
    git(book, "commit", "-qm", "credit notes")
    said = same_as_whole_book(book, "cn-x", dt.date(2025, 2, 9))
    assert "CN-2025-0002, was given on 2025-02-10" in said, said
