"""The book is an immutable value (issue 15): a change returns a new book,
every earlier value keeps answering as it did, and what a chain of changes
gives equals the book loaded from scratch from the same files."""
from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings, strategies as st

from engine.book import load_files
from engine.numbering import next_number, series
from engine.session import Change

IDS = ["inv-20250105-aaaa", "inv-20250210-bbbb", "INV-20250301-Cccc", "cn-20250106-dddd",
       "cn-20250320-eeee", "inv-20260105-ffff"]
RECURRENCES = ["hosting", "backup"]
CONTACTS = ["acme", "globex"]
BASE = {
    "facturier.yaml": b"currency: EUR\nvat: '20'\n",
    "contacts/acme.yaml": b"name: ACME SA\n",
    "recurrences/hosting.yaml": b"name: Hosting\ntemplate: inv-20250105-aaaa\n"
                                b"rule: FREQ=MONTHLY\nstart: 2025-01-01\n",
}


def doc_path(doc_id: str) -> str:
    return "documents/%s/%s.yaml" % (doc_id.split("-")[1][:4], doc_id)


def doc_text(doc_id: str, seq, credits, recurrence, amount: int, contact: str) -> bytes:
    credit = doc_id.lower().startswith("cn-")
    date = dt.date(int(doc_id.split("-")[1][:4]), int(doc_id.split("-")[1][4:6]),
                   int(doc_id.split("-")[1][6:8]))
    lines = ["kind: %s" % ("credit_note" if credit else "invoice"), "customer: %s" % contact,
             "date: %s" % date]
    if seq is not None:
        number = ("CN-%d-%04d" if credit else "%d-%04d") % (date.year, seq)
        lines += ["number: '%s'" % number, "validated: %s" % date]
    if credit and credits is not None:
        lines.append("credits: %s" % credits)
    if recurrence is not None and not credit:
        lines += ["recurrence: %s" % recurrence, "occurrence: %s" % date]
    lines += ["lines:", "  - description: work", "    quantity: %d" % amount,
              "    unit_price: '12.50'"]
    return ("\n".join(lines) + "\n").encode()


write_doc = st.builds(
    lambda i, seq, credits, rec, amount, contact, broken: (
        doc_path(IDS[i]), b"kind: [\n" if broken else
        doc_text(IDS[i], seq, credits, rec, amount, contact)),
    st.integers(0, len(IDS) - 1), st.one_of(st.none(), st.integers(1, 4)),
    st.one_of(st.none(), st.sampled_from([IDS[0], IDS[1].upper(), IDS[2], "inv-nope"])),
    st.one_of(st.none(), st.sampled_from(RECURRENCES + ["HOSTING"])), st.integers(1, 5),
    st.sampled_from(CONTACTS), st.integers(0, 5).map(lambda n: n == 0))   # broken: 1 in 6
write_other = st.one_of(
    st.sampled_from(CONTACTS).map(lambda c: ("contacts/%s.yaml" % c,
                                             ("name: %s Ltd\n" % c.title()).encode())),
    st.sampled_from([b"currency: EUR\nvat: '20'\n", b"currency: EUR\nvat: '10'\n",
                     b"numbering:\n  invoice: 'F{year}/{seq:05d}'\n"]).map(
        lambda text: ("facturier.yaml", text)),
    st.sampled_from(RECURRENCES).map(lambda r: (
        "recurrences/%s.yaml" % r, ("name: %s\ntemplate: %s\nrule: FREQ=MONTHLY\n"
                                    "start: 2025-01-01\n" % (r, IDS[1])).encode())))
delete = st.sampled_from([doc_path(i) for i in IDS] + ["contacts/%s.yaml" % c for c in CONTACTS]
                         + ["recurrences/%s.yaml" % r for r in RECURRENCES])
change = st.tuples(st.lists(st.one_of(write_doc, write_other), max_size=3),
                   st.lists(delete, max_size=2))


def answers(book) -> dict:
    """Everything a reader can ask of a book value."""
    asked = [*IDS, *(i.upper() for i in IDS), *(i.lower() for i in IDS), "inv-nope"]
    out = {
        "settings": book.settings,
        "documents": dict(book.documents.items()),
        "contacts": dict(book.contacts.items()),
        "recurrences": dict(book.recurrences.items()),
        "lengths": (len(book.documents), len(book.contacts), len(book.recurrences)),
        "diagnostics": sorted(map(repr, book.diagnostics)),
        "found": {i: (book.document(i), i in book.documents, book.documents.get(i),
                      book.has_document_id(i)) for i in asked},
        "contact": {c: book.contact(c.upper()) for c in CONTACTS},
        "recurrence": {r: book.recurrence(r.upper()) for r in RECURRENCES},
        "lower": set(book.document_ids_lower()),
        "credits": {i: tuple(d.id for d in book.credit_notes_for(i)) for i in asked},
        "by_recurrence": {r: tuple(d.id for d in book.documents_of_recurrence(r))
                          for r in RECURRENCES},
        "totals": {i: book.total_of(d) for i, d in book.documents.items()},
    }
    for kind in ("invoice", "credit_note"):
        for year in (2025, 2026):
            found = series(book, kind, year)
            out[kind, year] = (found.highest, sorted(found.seqs), sorted(found.older),
                               found.last_validated, found.last_number)
            try:
                out[kind, year, "next"] = next_number(book, kind, dt.date(year, 12, 1))
            except Exception as exc:        # a refusal is an answer too
                out[kind, year, "next"] = str(exc)
    return out


def replay(changes):
    files = dict(BASE)
    book = load_files(files)
    values = [(book, answers(book))]
    for writes, deletes in changes:
        writes = dict(writes)
        deletes = tuple(p for p in dict.fromkeys(deletes) if p in files and p not in writes)
        book = book.with_change(Change("test", "test", writes, deletes))
        files.update(writes)
        for path in deletes:
            del files[path]
        values.append((book, answers(book)))      # builds the indexes handed on next
    return files, values


@settings(max_examples=60, deadline=None)
@given(st.lists(change, min_size=1, max_size=12))
def test_every_value_keeps_its_answers_and_the_last_equals_a_fresh_load(changes):
    files, values = replay(changes)
    for book, seen in values:
        assert answers(book) == seen
    assert values[-1][1] == answers(load_files(files))


def test_hundreds_of_changes_fold_the_overlay_and_stay_equal_to_a_fresh_load():
    # more changes than the overlay's bound (256): the tables fold into a new base
    changes = []
    for n in range(700):
        doc_id = "inv-2025%02d%02d-%04d" % (1 + n % 12, 1 + n % 28, n)
        changes.append(({"documents/2025/%s.yaml" % doc_id: doc_text(
            doc_id, n + 1, None, "hosting" if n % 3 == 0 else None, 1 + n % 4, "acme")}, ()))
        if n % 7 == 6:      # and a deletion now and then, of a draft
            changes.append(({}, ("documents/2025/%s.yaml" % doc_id,)))
    files = dict(BASE)
    book = first = load_files(files)
    before = answers(first)
    middle = None
    for i, (writes, deletes) in enumerate(changes):
        book = book.with_change(Change("test", "test", writes, deletes))
        files.update(writes)
        for path in deletes:
            del files[path]
        book.documents_of_recurrence("hosting")     # indexes built, then handed on
        series(book, "invoice", 2025)
        if i == len(changes) // 2:
            middle, middle_files = book, dict(files)
    assert answers(book) == answers(load_files(files))
    assert answers(middle) == answers(load_files(middle_files))
    assert answers(first) == before
    assert len(book.documents) == 700 - 100


def test_a_book_cannot_be_changed_in_place():
    book = load_files(dict(BASE))
    with pytest.raises(AttributeError):
        book.settings = book.settings
    with pytest.raises(TypeError):
        book.documents["x"] = None          # type: ignore[index]
    with pytest.raises(AttributeError):
        book.contacts.pop("acme")           # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        book.diagnostics.append(None)       # type: ignore[attr-defined]


def test_records_put_in_place_leave_the_old_value_and_its_diagnostics_as_they_were():
    import msgspec
    files = dict(BASE, **{doc_path(IDS[0]): doc_text(IDS[0], 1, None, "hosting", 1, "acme"),
                          doc_path(IDS[1]): b"kind: [\n"})
    book = load_files(files)
    seen = answers(book)
    doc = book.documents[IDS[0]]
    paid = msgspec.structs.replace(doc, notes="paid")
    newer = book.with_records(documents=[paid])
    assert newer.documents[IDS[0]] is paid and newer.diagnostics == book.diagnostics
    assert newer.documents_of_recurrence("hosting") == (paid,)
    assert answers(book) == seen and book.documents[IDS[0]] is doc
