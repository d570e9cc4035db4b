"""Loading a real book from a git work tree, through the cache."""
from decimal import Decimal

import pytest

from engine import cache
from engine.book import load_book
from engine.diagnostics import BookNotFound

from conftest import git

CONTACT = """
name: ACME SA
email: ap@acme.example
"""

INVOICE = """
kind: invoice
customer: acme
date: 2025-01-05
lines:
  - description: Hosting
    quantity: 1
    unit_price: "120.00"
"""


def test_load_reads_every_kind_of_file(make_book):
    root = make_book({"facturier.yaml": "currency: CHF\nlocale: fr\n",
                      "contacts/acme.yaml": CONTACT,
                      "documents/2025/01/inv-1.yaml": INVOICE,
                      "recurrences/hosting.yaml": "name: Hosting\ntemplate: inv-1\n"
                                                  "rule: FREQ=MONTHLY\nstart: 2025-02-01\n"})
    book = load_book(root)
    assert book.settings.currency == "CHF" and book.settings.locale == "fr"
    assert book.contacts["acme"].name == "ACME SA"
    doc = book.documents["inv-1"]
    assert doc.lines[0].unit_price == Decimal("120.00")
    assert doc.path == "documents/2025/01/inv-1.yaml"
    assert book.recurrences["hosting"].template == "inv-1"
    assert book.diagnostics == ()


def test_not_a_book(tmp_path):
    with pytest.raises(BookNotFound, match="not a facturier book"):
        load_book(tmp_path)


def test_uncommitted_edits_and_new_files_are_read(make_book):
    root = make_book({"contacts/acme.yaml": CONTACT, "documents/2025/01/inv-1.yaml": INVOICE})
    assert load_book(root).documents["inv-1"].lines[0].unit_price == Decimal("120.00")
    path = root / "documents/2025/01/inv-1.yaml"
    path.write_text(path.read_text().replace('"120.00"', '"99.50"'))
    (root / "documents/2025/01/inv-2.yaml").write_text(INVOICE)
    book = load_book(root)
    assert book.documents["inv-1"].lines[0].unit_price == Decimal("99.50")
    assert "inv-2" in book.documents
    path.unlink()
    assert "inv-1" not in load_book(root).documents


def test_cache_is_used_and_invalidated_by_an_edit(make_book, monkeypatch):
    root = make_book({"contacts/acme.yaml": CONTACT, "documents/2025/01/inv-1.yaml": INVOICE,
                      "documents/2025/01/inv-2.yaml": INVOICE})
    load_book(root)
    assert cache.cache_path(root).is_file()
    parsed = []
    import engine.loader as loader
    real = loader.parse_file
    monkeypatch.setattr(loader, "parse_file", lambda p, d: parsed.append(p) or real(p, d))
    load_book(root)
    assert parsed == []                       # warm: nothing parsed again
    path = root / "documents/2025/01/inv-2.yaml"
    path.write_text(path.read_text().replace("Hosting", "Support"))
    git(root, "commit", "-qam", "edit")
    book = load_book(root)
    assert parsed == ["documents/2025/01/inv-2.yaml"]
    assert book.documents["inv-2"].lines[0].description == "Support"


@pytest.mark.parametrize("garbage", [b"", b"\x00\x01 not msgpack", b"\x93\x01\x02\x03"])
def test_corrupt_cache_is_rebuilt_never_trusted(make_book, garbage):
    root = make_book({"contacts/acme.yaml": CONTACT, "documents/2025/01/inv-1.yaml": INVOICE})
    load_book(root)
    cache.cache_path(root).write_bytes(garbage)
    book = load_book(root)
    assert book.documents["inv-1"].lines[0].unit_price == Decimal("120.00")
    assert cache.read(root)                     # rewritten, readable again


def test_a_cache_from_another_engine_version_is_ignored(make_book, monkeypatch):
    root = make_book({"contacts/acme.yaml": CONTACT, "documents/2025/01/inv-1.yaml": INVOICE})
    load_book(root)
    monkeypatch.setattr(cache, "_engine_digest", "another version")
    assert cache.read(root) == {}


def test_a_broken_file_does_not_hide_the_others(make_book):
    root = make_book({"contacts/acme.yaml": CONTACT, "documents/2025/01/inv-1.yaml": INVOICE,
                      "documents/2025/01/inv-2.yaml": "kind: invoice\ncustomer: [oops\n",
                      "documents/2025/01/inv-3.yaml": INVOICE.replace("quantity: 1",
                                                                      "quantity: lots")})
    book = load_book(root)
    assert set(book.documents) == {"inv-1"}
    broken = {d.path for d in book.errors}
    assert broken == {"documents/2025/01/inv-2.yaml", "documents/2025/01/inv-3.yaml"}
    assert all(d.line > 0 for d in book.errors)


def test_ids_are_unique_ignoring_case(make_book):
    root = make_book({"contacts/acme.yaml": CONTACT, "documents/2025/01/inv-1.yaml": INVOICE,
                      "documents/2025/02/INV-1.yaml": INVOICE})
    book = load_book(root)
    assert len(book.documents) == 1
    assert any("already used" in d.message for d in book.errors)


def test_parallel_parse_gives_the_same_book(make_book):
    files = {"contacts/acme.yaml": CONTACT}
    for i in range(40):
        files["documents/2025/01/inv-%d.yaml" % i] = INVOICE.replace("120.00", "%d.00" % i)
    root = make_book(files)
    import engine.book as book_mod
    serial = load_book(root, use_cache=False, processes=1)
    old = book_mod.PARALLEL_THRESHOLD
    book_mod.PARALLEL_THRESHOLD = 1
    try:
        parallel = load_book(root, use_cache=False, processes=2)
    finally:
        book_mod.PARALLEL_THRESHOLD = old
    assert serial.documents == parallel.documents


def test_an_edit_writes_a_small_delta_and_reads_back(make_book):
    files = {"contacts/acme.yaml": CONTACT}
    for i in range(5):
        files["documents/2025/01/inv-%d.yaml" % i] = INVOICE
    root = make_book(files)
    load_book(root)
    base = cache.cache_path(root)
    delta = base.parent / cache.DELTA_FILE
    base_bytes = base.read_bytes()
    assert not delta.exists()
    path = root / "documents/2025/01/inv-3.yaml"
    path.write_text(path.read_text().replace("120.00", "7.00"))
    (root / "documents/2025/01/inv-4.yaml").unlink()
    book = load_book(root)
    assert base.read_bytes() == base_bytes and delta.is_file()
    assert book.total_of(book.documents["inv-3"]) == Decimal("7.00")
    again = load_book(root)
    assert "inv-4" not in again.documents
    assert again.total_of(again.documents["inv-3"]) == Decimal("7.00")
    # a delta left from another base is never applied to the new one
    stale = delta.read_bytes()
    git(root, "checkout", "--", ".")
    cache.cache_path(root).unlink()
    delta.unlink()
    load_book(root)
    delta.write_bytes(stale)
    book = load_book(root)
    assert "inv-4" in book.documents
    assert book.total_of(book.documents["inv-3"]) == Decimal("120.00")


def test_cached_totals_follow_the_settings(make_book):
    invoice = INVOICE.replace('unit_price: "120.00"', 'unit_price: "100.00"')
    root = make_book({"facturier.yaml": "vat: \"0\"\n", "contacts/acme.yaml": CONTACT,
                      "documents/2025/01/inv-1.yaml": invoice})
    book = load_book(root)
    assert book.total_of(book.documents["inv-1"]) == Decimal("100.00")
    assert load_book(root).total_of(load_book(root).documents["inv-1"]) == Decimal("100.00")
    (root / "facturier.yaml").write_text('vat: "8.1"\n')
    book = load_book(root)
    assert book.total_of(book.documents["inv-1"]) == Decimal("108.10")
    (root / "facturier.yaml").write_text('vat: "8.1"\ncurrency: JPY\n')
    book = load_book(root)
    assert book.total_of(book.documents["inv-1"]) == Decimal("108")


def test_the_cache_folder_ignores_itself_in_a_book_without_gitignore(make_book):
    root = make_book({"contacts/acme.yaml": CONTACT, ".gitignore": ""})
    load_book(root)
    assert cache.cache_path(root).is_file()
    assert git(root, "status", "--porcelain") == ""


def test_change_signature_sees_commits_and_every_edit(make_book):
    from engine.gitstore import change_signature
    root = make_book({"contacts/acme.yaml": CONTACT, "documents/2025/01/inv-1.yaml": INVOICE})
    first = change_signature(root)
    assert change_signature(root) == first
    path = root / "documents/2025/01/inv-1.yaml"
    path.write_text(path.read_text() + "notes: one\n")
    edited = change_signature(root)
    assert edited != first
    path.write_text(path.read_text() + "# and a second edit of the same file\n")
    assert change_signature(root) != edited
    git(root, "commit", "-qam", "edit")
    committed = change_signature(root)
    assert committed not in (first, edited)
    (root / "facturier.yaml").write_text("currency: CHF\n")
    assert change_signature(root) != committed


def test_load_files_reads_what_load_book_reads_without_git_or_disk(make_book):
    import textwrap

    from engine.book import load_files
    files = {"facturier.yaml": "currency: CHF\n", "contacts/acme.yaml": CONTACT,
             "documents/2025/01/inv-a.yaml": INVOICE,
             "documents/2025/01/INV-A.yaml": INVOICE,            # the same id, ignoring case
             "documents/2025/01/broken.yaml": "kind: invoice\ncustomer: [\n",
             "README.md": "not a book file\n"}
    root = make_book(files)
    on_disk = load_book(root, use_cache=False)
    in_memory = load_files({path: textwrap.dedent(text).lstrip("\n").encode()
                            for path, text in files.items()})
    assert in_memory.documents == on_disk.documents and len(in_memory.documents) == 1
    assert in_memory.contacts == on_disk.contacts
    assert in_memory.settings == on_disk.settings and in_memory.settings.currency == "CHF"
    assert sorted(map(str, in_memory.diagnostics)) == sorted(map(str, on_disk.diagnostics))
    assert any("broken.yaml" in str(d) for d in in_memory.errors)
    assert any("already used" in str(d) for d in in_memory.errors)
    # no facturier.yaml: the defaults, as an empty file gives
    assert load_files({}).settings == load_files({"facturier.yaml": b""}).settings


def test_totals_computed_while_parsing_on_every_core_follow_the_settings(make_book, monkeypatch):
    """A cold load parses on every core, each worker computing the totals of
    its documents with the book's settings: they are those of one process,
    and after a change of settings neither the kept (cached) nor the newly
    parsed documents keep a total of the old settings."""
    from engine import book as book_module
    monkeypatch.setattr(book_module, "PARALLEL_THRESHOLD", 4)
    invoice = INVOICE.replace('unit_price: "120.00"', 'unit_price: "100.00"')
    files = {"facturier.yaml": "vat: \"0\"\n", "contacts/acme.yaml": CONTACT}
    files.update({"documents/2025/01/inv-%d.yaml" % i: invoice for i in range(12)})
    root = make_book(files)

    def totals(**kwargs):
        book = load_book(root, **kwargs)
        return {doc_id: book.total_of(book.documents[doc_id]) for doc_id in book.documents}

    assert totals(processes=2) == totals(processes=1, use_cache=False) == \
        {"inv-%d" % i: Decimal("100.00") for i in range(12)}
    (root / "facturier.yaml").write_text('vat: "8.1"\n')
    edited = root / "documents/2025/01/inv-3.yaml"
    edited.write_text(edited.read_text().replace("100.00", "10.00"))
    expected = {"inv-%d" % i: Decimal("108.10") for i in range(12)}
    expected["inv-3"] = Decimal("10.81")
    assert totals(processes=2) == expected          # settings and one file parsed again
    cache.cache_path(root).unlink()
    assert totals(processes=2) == expected          # everything parsed again, on both cores
    (root / "facturier.yaml").write_text('vat: "8.1"\ncurrency: JPY\n')
    assert totals(processes=2) == {**{k: Decimal("108") for k in expected}, "inv-3": Decimal("11")}
