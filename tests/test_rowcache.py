"""The remembered status rows (engine/rowcache.py) and the warm load of an
unchanged listing (engine/book.py, engine/cache.py): whatever happens to the
book, `status` and the app show what a load without any cache shows."""
import datetime as dt
import shutil

import msgspec
import pytest

from engine import cache, rowcache
from engine.book import load_book
from engine.listing import document_rows

from conftest import git

AS_OF = dt.date(2026, 6, 30)


def truth(root, as_of=AS_OF):
    """The rows of a load that reads every file again."""
    return document_rows(load_book(root, use_cache=False), as_of)


def remembered(root, as_of=AS_OF):
    return rowcache.rows(load_book(root), as_of)


@pytest.fixture
def book(book_1k):
    return book_1k


def an_open_invoice(rows):
    return next(r for r in rows if r.kind == "invoice" and r.status == "processing")


def test_rows_follow_every_change_of_the_book(book, cli):
    steps = []

    def check(what, as_of=AS_OF):
        expected = truth(book, as_of)
        assert remembered(book, as_of) == expected, what
        assert remembered(book, as_of) == expected, what + " (read back)"
        steps.append(what)
        return expected

    rows = check("first load")
    assert (book / ".facturier" / rowcache.ROWS_FILE).is_file()
    invoice = an_open_invoice(rows)
    assert cli("--as-of", "2026-06-30", "doc", "pay", invoice.id, str(invoice.open),
               book=book).code == 0
    rows = check("a payment committed by facturier")
    assert next(r for r in rows if r.id == invoice.id).status == "paid"
    path = book / load_book(book).documents[invoice.id].path
    path.write_text(path.read_text().replace('amount: "', 'amount: "1', 1))
    rows = check("the payment edited by hand, not committed")
    assert next(r for r in rows if r.id == invoice.id).status == "overpaid"
    git(book, "commit", "-qam", "hand edit")
    check("the hand edit committed")
    git(book, "reset", "-q", "--hard", "HEAD~2")
    rows = check("both commits undone (the first listing again)")
    assert next(r for r in rows if r.id == invoice.id).status == "processing"
    check("another date", dt.date(2026, 12, 31))
    (book / "documents" / "stray.yaml").write_text("kind: invoice\ncustomer: [oops\n")
    check("an untracked broken file")
    assert len(steps) == 7


def test_status_prints_the_same_with_and_without_the_caches(book, cli):
    first = cli("--as-of", "2026-06-30", "status", "--format", "json", book=book)
    warm = cli("--as-of", "2026-06-30", "status", "--format", "json", book=book)
    shutil.rmtree(book / ".facturier")
    cold = cli("--as-of", "2026-06-30", "status", "--format", "json", book=book)
    assert first.code == warm.code == cold.code == 0
    assert warm.out == cold.out == first.out
    assert len(msgspec.json.decode(cold.out)) == 1000


def test_rows_of_another_engine_or_a_broken_file_are_computed_again(book, monkeypatch):
    expected = truth(book)
    remembered(book)
    target = book / ".facturier" / rowcache.ROWS_FILE
    good = target.read_bytes()
    for garbage in (b"", b"\x00 not msgpack", good[: len(good) // 2]):
        target.write_bytes(garbage)
        assert remembered(book) == expected
    # rows a stranger wrote for this very book and date, with wrong statuses
    key = rowcache._decoder.decode(target.read_bytes()).key
    lying = [msgspec.structs.replace(r, status="paid") for r in expected]
    cache.replace_file(target, rowcache.RowsFile(key, lying))
    assert remembered(book) == lying                # our own folder: believed, as the records are
    monkeypatch.setattr(rowcache, "_code", "another engine")
    assert remembered(book) == expected


def test_a_committed_state_folder_is_never_read(book):
    expected = truth(book)
    remembered(book)
    target = book / ".facturier" / rowcache.ROWS_FILE
    key = rowcache._decoder.decode(target.read_bytes()).key
    lying = [msgspec.structs.replace(r, status="paid") for r in expected]
    cache.replace_file(target, rowcache.RowsFile(key, lying))
    git(book, "add", "-f", ".facturier/" + rowcache.ROWS_FILE)
    git(book, "commit", "-qm", "a clone's state")
    loaded = load_book(book)
    assert loaded.source == ""
    assert rowcache.rows(loaded, AS_OF) == expected
    assert any(".facturier" in d.path for d in loaded.errors)


def test_an_unchanged_listing_loads_every_record_from_the_cache(book, monkeypatch):
    load_book(book)
    import engine.book as book_module
    monkeypatch.setattr(book_module, "blobs_of_listing", None)     # not asked: the listing is known
    warm = load_book(book)
    assert warm.source
    monkeypatch.undo()
    cold = load_book(book, use_cache=False)
    assert dict(warm.documents) == dict(cold.documents)
    assert dict(warm.contacts) == dict(cold.contacts)
    assert warm.settings == cold.settings and warm.diagnostics == cold.diagnostics
    assert all(warm.total_of(d) == cold.total_of(d) for d in cold.documents.values())
