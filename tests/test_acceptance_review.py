"""Acceptance review of issues 2 and 3: what a careful user hit on the real
CLI, each pinned by a test on a real git book."""
from __future__ import annotations

import json

import pytest

from tests.conftest import git


@pytest.fixture
def book(make_book):
    return make_book({"facturier.yaml": "currency: EUR\n",
                      "contacts/acme.yaml": "name: ACME SA\n"})


def _new(cli, book, day, *extra):
    r = cli("--as-of", day, "doc", "new", "--customer", "acme", "--line", "Work;1;100",
            *extra, book=book)
    assert r.code == 0, r
    return r.out.strip()


def _validated(cli, book, day):
    doc = _new(cli, book, day)
    r = cli("--as-of", day, "doc", "validate", doc, book=book)
    assert r.code == 0, r
    return doc


def _path(book, doc):
    return next((book / "documents").rglob("%s.yaml" % doc))


def test_validation_refuses_while_a_document_file_cannot_be_read(cli, book):
    """A broken file may hold the highest number: numbering past it would give
    that number twice. Validation says which file to fix and changes nothing."""
    first = _validated(cli, book, "2025-03-01")
    broken = _path(book, first)
    broken.write_text(broken.read_text().replace("kind: invoice", "kind: invoice\nkidn: x"))
    git(book, "commit", "-qam", "hand edit with a typo")
    second = _new(cli, book, "2025-03-02")
    head = git(book, "rev-parse", "HEAD")
    r = cli("--as-of", "2025-03-02", "doc", "validate", second, book=book)
    assert r.code == 1, r
    assert str(broken.relative_to(book)) in r.err and "twice" in r.err
    assert git(book, "rev-parse", "HEAD") == head
    broken.write_text(broken.read_text().replace("kidn: x\n", ""))
    git(book, "commit", "-qam", "fix the typo")
    r = cli("--as-of", "2025-03-02", "doc", "validate", second, book=book)
    assert r.code == 0, r
    assert "as 2025-0002" in r.err
    assert cli("check", book=book).code == 0


def test_a_format_without_year_is_one_series_for_check_as_for_numbering(cli, make_book):
    """numbering continues a yearless series across years; check used to
    report that as a gap in the new year."""
    book = make_book({"facturier.yaml": 'numbering: {invoice: "F{seq:05d}"}\neinvoice: none\n',
                      "contacts/acme.yaml": "name: ACME SA\n"})
    _validated(cli, book, "2025-12-30")
    second = _validated(cli, book, "2026-01-02")
    r = cli("--as-of", "2026-01-02", "doc", "show", second, "--format", "json", book=book)
    assert json.loads(r.out)["number"] == "F00002"
    r = cli("--as-of", "2026-01-02", "check", book=book)
    assert r.code == 0 and r.out == "", r
    # a real gap is still one
    path = _path(book, second)
    path.write_text(path.read_text().replace("F00002", "F00003"))
    r = cli("--as-of", "2026-01-02", "check", book=book)
    assert r.code == 1 and "gap in the invoice numbers: 2 missing before F00003" in r.out, r


def _editor(tmp_path, old: str, new: str) -> dict:
    """An $EDITOR that replaces ``old`` by ``new`` in the file (a person's edit)."""
    script = tmp_path / "editor.py"
    script.write_text("import sys, pathlib\np = pathlib.Path(sys.argv[1])\n"
                      "t = p.read_text()\nassert %r in t, t\n"
                      "p.write_text(t.replace(%r, %r, 1))\n" % (old, old, new))
    import sys
    return {"EDITOR": "%s %s" % (sys.executable, script), "VISUAL": ""}


def test_edit_cannot_give_a_document_an_error_check_would_report(cli, book, tmp_path):
    """doc edit committed a draft with payments (or a reference to nothing),
    leaving `facturier check` failing."""
    draft = _new(cli, book, "2025-03-01")
    head = git(book, "rev-parse", "HEAD")
    env = _editor(tmp_path, "kind: invoice\n",
                  'kind: invoice\npayments: [{date: 2025-03-02, amount: "10"}]\n')
    r = cli("--as-of", "2025-03-02", "doc", "edit", draft, book=book, env=env)
    assert r.code == 1 and "payments on a draft" in r.err, r
    assert "nothing was changed" in r.err
    env = _editor(tmp_path, "kind: invoice\n", "kind: invoice\nconverted_from: q-nothing\n")
    r = cli("--as-of", "2025-03-02", "doc", "edit", draft, book=book, env=env)
    assert r.code == 1 and "q-nothing" in r.err and "does not exist" in r.err, r
    assert git(book, "rev-parse", "HEAD") == head
    assert cli("check", book=book).code == 0
    # an edit that introduces nothing still goes through
    env = _editor(tmp_path, "kind: invoice\n", "kind: invoice\nnotes: call first\n")
    r = cli("--as-of", "2025-03-02", "doc", "edit", draft, book=book, env=env)
    assert r.code == 0, r


def test_a_validated_credit_note_keeps_the_invoice_it_credits(cli, book, tmp_path):
    """Retargeting a validated credit note moved its amount from one invoice
    to another: a legal record changed through facturier."""
    first = _validated(cli, book, "2025-03-01")
    second = _validated(cli, book, "2025-03-01")
    r = cli("--as-of", "2025-03-02", "doc", "credit", first, book=book)
    assert r.code == 0, r
    note = r.out.strip()
    assert cli("--as-of", "2025-03-02", "doc", "validate", note, book=book).code == 0
    head = git(book, "rev-parse", "HEAD")
    env = _editor(tmp_path, "credits: %s" % first, "credits: %s" % second)
    r = cli("--as-of", "2025-03-03", "doc", "edit", note, book=book, env=env)
    assert r.code == 1 and "is validated" in r.err and "credits" in r.err, r
    assert git(book, "rev-parse", "HEAD") == head
    r = cli("--as-of", "2025-03-03", "status", "--format", "json", book=book)
    statuses = {row["id"]: row["status"] for row in json.loads(r.out)}
    assert (statuses[first], statuses[second]) == ("cancelled_by_credit_note", "processing")


def test_validation_refuses_while_the_numbering_settings_are_uncommitted(cli, book):
    """validate numbered with an uncommitted numbering format and committed
    only the document: HEAD then held a number its own settings reject."""
    draft = _new(cli, book, "2025-03-01")
    settings = book / "facturier.yaml"
    settings.write_text('currency: EUR\nnumbering: {invoice: "F-{year}-{seq:03d}"}\n')
    head = git(book, "rev-parse", "HEAD")
    r = cli("--as-of", "2025-03-01", "doc", "validate", draft, book=book)
    assert r.code == 1 and "facturier.yaml" in r.err and "uncommitted" in r.err, r
    assert git(book, "rev-parse", "HEAD") == head
    git(book, "commit", "-qam", "New numbering")
    (book / "contacts" / "acme.yaml").write_text("name: ACME SA\npayment_days: 5\n")
    r = cli("--as-of", "2025-03-01", "doc", "validate", draft, book=book)
    assert r.code == 1 and "contacts/acme.yaml, which this action reads" in r.err, r
    git(book, "commit", "-qam", "Shorter terms")
    r = cli("--as-of", "2025-03-01", "doc", "validate", draft, book=book)
    assert r.code == 0 and "as F-2025-001" in r.err, r
    assert cli("check", book=book).code == 0


def test_amounts_finer_than_the_currency_are_refused_and_reported(cli, book):
    """An expense of 12.345 EUR showed a total of €12.35 but stayed 0.005
    open (JSON "-0.005" after paying 12.35)."""
    r = cli("--as-of", "2025-03-01", "doc", "new", "--kind", "expense", "--supplier", "acme",
            "--total", "12.345", book=book)
    assert r.code == 1, r
    assert r.err == "error: the options: the total 12.345 has more decimals than EUR allows (2)\n"
    assert list((book / "documents").rglob("*.yaml")) == []
    r = cli("--as-of", "2025-03-01", "doc", "new", "--kind", "expense", "--supplier", "acme",
            "--total", "12.35", book=book)
    assert r.code == 0, r
    path = _path(book, r.out.strip())
    path.write_text(path.read_text() + 'payments:\n  - {date: 2025-03-02, amount: "1.001"}\n')
    r = cli("check", book=book)
    assert r.code == 1, r
    assert "%s:6:1: the amount 1.001 has more decimals than EUR allows (2)" \
        % path.relative_to(book) in r.out


def test_log_finds_the_trail_of_a_file_made_moved_and_deleted_by_hand(cli, book):
    """`log ID` said "nothing in the history names" a document that was added
    and deleted with plain git (or moved), though SPEC 5.3 lists every commit
    that touched its file."""
    (book / "documents" / "misc").mkdir(parents=True)
    doc = book / "documents" / "misc" / "Hand-1.yaml"
    doc.write_text("kind: quote\ncustomer: acme\ndate: 2025-01-05\n"
                   "lines: [{description: A, quantity: 1, unit_price: 10}]\n")
    git(book, "add", "-A")
    git(book, "commit", "-qm", "Quote typed by hand")
    (book / "documents" / "2025").mkdir()
    git(book, "mv", "documents/misc/Hand-1.yaml", "documents/2025/Hand-1.yaml")
    git(book, "commit", "-qm", "Tidy by hand")
    git(book, "rm", "-q", "documents/2025/Hand-1.yaml")
    git(book, "commit", "-qm", "Drop the quote by hand")
    r = cli("log", "hand-1", "--format", "json", book=book)
    assert r.code == 0, r
    rows = json.loads(r.out)
    assert [(e["action"], e["subject"]) for e in rows] == [
        ("manual", "Quote typed by hand"), ("manual", "Tidy by hand"),
        ("manual", "Drop the quote by hand")]
    r = cli("log", "acme", book=book)
    assert r.code == 0 and "Test book" in r.out, r
    assert cli("log", "nothing-like-it", book=book).code == 1


def test_rewriting_a_file_keeps_numbers_as_written(cli, book):
    """The round-trip edit read plain decimals through a binary float: validating
    (or paying) a hand-written invoice with quantity 0.33333333333333333333
    rewrote its line as 0.33333333333333331483, changing a legal record."""
    line = ("  - {description: Support, quantity: 0.33333333333333333333, unit_price: 90.10, "
            "vat: 7.7}\n")
    (book / "documents" / "misc").mkdir(parents=True)
    doc = book / "documents" / "misc" / "thirds.yaml"
    doc.write_text("kind: invoice\ncustomer: acme\ndate: 2025-02-01\nlines:\n" + line +
                   "deliveries:\n  - {channel: post, at: 2025-02-01T09:00:00.5+01:00, "
                   "result: sent}\n")
    git(book, "add", "-A")
    git(book, "commit", "-qm", "Typed by hand")
    assert cli("--as-of", "2025-02-01", "doc", "validate", "thirds", book=book).code == 0
    assert cli("--as-of", "2025-02-02", "doc", "pay", "thirds", "10", book=book).code == 0
    text = doc.read_text()
    assert line in text and "at: 2025-02-01T09:00:00.5+01:00," in text, text
    r = cli("--as-of", "2025-02-02", "doc", "show", "thirds", "--format", "json", book=book)
    assert json.loads(r.out)["lines"][0]["quantity"] == "0.33333333333333333333"


def test_no_action_but_an_edit_can_change_what_a_document_keeps(make_book):
    """Defense in depth behind the writer: whatever rewrote the file, a payment
    (or any action) whose bytes would change a validated document's lines, or
    validation that would change a draft's lines, is refused."""
    from engine.actions import _change_doc
    from engine.book import load_book
    from engine.diagnostics import ActionRefused
    text = ("kind: invoice\ncustomer: acme\ndate: 2025-02-01\n"
            "lines: [{description: A, quantity: 1, unit_price: 10}]\n")
    book = make_book({"contacts/acme.yaml": "name: ACME\n",
                      "documents/2025/02/a.yaml": text,
                      "documents/2025/02/b.yaml": text + 'number: "2025-0001"\n'
                                                         "validated: 2025-02-01\n"})
    loaded = load_book(book)
    draft, legal = loaded.document("a"), loaded.document("b")
    wrong = text.replace("unit_price: 10", "unit_price: 11")
    with pytest.raises(ActionRefused, match="lines"):
        _change_doc("document.validate", "x", draft,
                    (wrong + 'number: "2025-0002"\nvalidated: 2025-02-02\n').encode())
    with pytest.raises(ActionRefused, match="is validated: its lines"):
        _change_doc("document.payment", "x", legal,
                    (wrong + 'number: "2025-0001"\nvalidated: 2025-02-01\n').encode())
    assert _change_doc("document.validate", "x", draft,
                       (text + 'number: "2025-0002"\nvalidated: 2025-02-02\n').encode())


def test_one_huge_amount_neither_crashes_the_book_nor_an_action(cli, book):
    """A unit price of 38 digits made every command that reads the book end in
    "internal error: InvalidOperation" (the whole book unusable), and
    `doc pay ID 1e400` too."""
    (book / "documents" / "misc").mkdir(parents=True)
    huge = book / "documents" / "misc" / "huge.yaml"
    huge.write_text("kind: invoice\ncustomer: acme\ndate: 2025-02-01\n"
                    "lines: [{description: A, quantity: 1, unit_price: %s}]\n" % ("9" * 38))
    big = book / "documents" / "misc" / "big.yaml"
    big.write_text("kind: invoice\ncustomer: acme\ndate: 2025-02-01\n"
                   "lines: [{description: A, quantity: 999999999999999, "
                   "unit_price: 999999999999999.99}]\n")
    git(book, "add", "-A")
    git(book, "commit", "-qm", "By hand")
    r = cli("check", book=book)
    assert r.code == 1 and "internal error" not in r.err, r
    assert "documents/misc/huge.yaml:4:51: field 'lines.1.unit_price': %s is too large" \
        % ("9" * 38) in r.out, r
    r = cli("--as-of", "2025-02-02", "status", "--format", "json", book=book)
    assert r.code == 1 and "internal error" not in r.err, r
    row, = json.loads(r.out)
    assert row["total"] == "999999999999998990000000000000.01"  # exact
    r = cli("--as-of", "2025-02-02", "status", book=book)
    assert r.code == 1 and "internal error" not in r.err and "big" in r.out, r
    huge.unlink()
    git(book, "commit", "-qam", "Drop it")
    assert cli("--as-of", "2025-02-02", "doc", "validate", "big", book=book).code == 0
    r = cli("--as-of", "2025-02-02", "doc", "pay", "big", "1" + "0" * 400, book=book)
    assert r.code == 1 and "too large" in r.err, r
    r = cli("--as-of", "2025-02-02", "doc", "pay", "big", "1e400", book=book)
    assert r.code == 2 and "'1e400' is not a number" in r.err, r   # no exponent, as in files


def test_text_that_is_not_utf8_gets_a_message_not_an_internal_error(cli, book, tmp_path):
    latin1 = "kind: quote\ncustomer: acme\nnotes: caf\xe9\n".encode("latin-1")
    given = tmp_path / "quote.yaml"
    given.write_bytes(latin1)
    for family in ("doc", "contact"):
        r = cli(family, "new", "--file", str(given), book=book)
        assert r.code == 1 and "internal error" not in r.err, r
        assert "%s:3: the file is not valid UTF-8 text" % given in r.err, r
    (book / "contacts" / "acme.yaml").write_bytes(b"name: Caf\xe9\n")
    git(book, "commit", "-qam", "Saved as latin-1 by hand")
    r = cli("contact", "edit", "acme", book=book, env={"EDITOR": "true"})
    assert r.code == 1 and "contacts/acme.yaml:1: the file is not valid UTF-8" in r.err, r


def test_messages_read_right(cli, book):
    """"can be converted to a invoice"; an expense shown as "(draft)" though
    expenses are never validated."""
    r = cli("--as-of", "2025-03-01", "doc", "new", "--kind", "work_order", "--customer", "acme",
            "--line", "Work;1;100", book=book)
    r = cli("--as-of", "2025-03-01", "doc", "convert", r.out.strip(), "--to", "work_order",
            book=book)
    assert r.code == 1 and "to an invoice, not to a work order" in r.err, r
    r = cli("--as-of", "2025-03-01", "doc", "new", "--kind", "expense", "--supplier", "acme",
            "--total", "12.30", book=book)
    r = cli("--as-of", "2025-03-01", "doc", "show", r.out.strip(), book=book)
    assert r.code == 0 and r.out.splitlines()[0].startswith("Expense  —  exp-2025"), r
    assert "draft" not in r.out


def test_log_action_must_be_an_action(cli, book):
    """`log --action document.pay` printed an empty trail, as if no payment
    had ever been recorded."""
    doc = _validated(cli, book, "2025-03-01")
    assert cli("--as-of", "2025-03-02", "doc", "pay", doc, "10", book=book).code == 0
    r = cli("log", "--action", "document.pay", book=book)
    assert r.code == 2 and "did you mean 'document.payment'" in r.err, r
    r = cli("log", doc, "--action", "document.payment", "--action", "manual",
            "--format", "json", book=book)
    assert r.code == 0 and [e["action"] for e in json.loads(r.out)] == ["document.payment"]


def test_check_reports_a_credit_note_that_credits_nothing(cli, book):
    """A hand-made credit note without `credits:` passed check, though
    facturier refuses to create or validate one."""
    (book / "documents" / "misc").mkdir(parents=True)
    (book / "documents" / "misc" / "cn-1.yaml").write_text(
        "kind: credit_note\ncustomer: acme\ndate: 2025-02-01\n"
        "lines: [{description: A, quantity: 1, unit_price: 10}]\n")
    r = cli("check", book=book)
    assert r.code == 1, r
    assert "documents/misc/cn-1.yaml:1:1: a credit note names the invoice it credits" in r.out


def test_validation_refuses_while_the_settings_have_errors(cli, make_book):
    """A misspelt `numberng:` key left the default format in force: the number
    given would not be the one the person configured."""
    book = make_book({"facturier.yaml": 'numberng: {invoice: "F-{year}-{seq:03d}"}\n',
                      "contacts/acme.yaml": "name: ACME SA\n"})
    draft = _new(cli, book, "2025-03-01")
    r = cli("--as-of", "2025-03-01", "doc", "validate", draft, book=book)
    assert r.code == 1 and "facturier.yaml has errors" in r.err, r
    (book / "facturier.yaml").write_text('numbering: {invoice: "F-{year}-{seq:03d}"}\n')
    git(book, "commit", "-qam", "Fix the typo")
    r = cli("--as-of", "2025-03-01", "doc", "validate", draft, book=book)
    assert r.code == 0 and "as F-2025-001" in r.err, r


def test_errors_in_options_do_not_point_at_lines_of_a_file_the_person_never_saw(cli, book):
    """`doc new --currency eur` said "the options:4:11: ...": line 4 of what?"""
    r = cli("--as-of", "2025-03-01", "doc", "new", "--customer", "acme", "--line", "A;1;1",
            "--currency", "eur", book=book)
    assert r.code == 1, r
    assert r.err.startswith("error: the options: field 'currency': 'eur' is not a currency"), r


def test_credit_notes_never_credit_more_than_the_invoice(cli, book):
    """Two credit notes made with `doc new` could both be validated: the
    invoice was credited twice its total and the excess vanished."""
    invoice = _validated(cli, book, "2025-03-01")
    notes = []
    for _ in range(2):
        r = cli("--as-of", "2025-03-02", "doc", "new", "--kind", "credit_note", "--customer",
                "acme", "--credits", invoice, "--line", "Refund;1;80", book=book)
        assert r.code == 0, r
        notes.append(r.out.strip())
    assert cli("--as-of", "2025-03-02", "doc", "validate", notes[0], book=book).code == 0
    head = git(book, "rev-parse", "HEAD")
    r = cli("--as-of", "2025-03-02", "doc", "validate", notes[1], book=book)
    assert r.code == 1 and "more than what is left to credit" in r.err and "(20.00)" in r.err, r
    assert git(book, "rev-parse", "HEAD") == head


def test_validation_writes_the_defaults_a_legal_record_depends_on(cli, book):
    """A validated invoice without `vat`, `currency` or `due` took them from the
    settings and its contact: editing the default VAT rate later changed the
    total of every invoice already issued."""
    invoice = _new(cli, book, "2025-03-01")
    assert cli("--as-of", "2025-03-01", "doc", "validate", invoice, book=book).code == 0
    before = json.loads(cli("--as-of", "2025-03-01", "doc", "show", invoice, "--format", "json",
                            book=book).out)
    (book / "facturier.yaml").write_text('currency: CHF\nvat: "8.1"\nterms: {payment_days: 10}\n')
    git(book, "commit", "-qam", "New defaults for new documents")
    after = json.loads(cli("--as-of", "2025-03-01", "doc", "show", invoice, "--format", "json",
                           book=book).out)
    keys = ("currency", "due", "total", "vat")
    assert [after[k] for k in keys] == [before[k] for k in keys] == ["EUR", "2025-03-31",
                                                                   "100.00", "0.00"]
    assert cli("check", book=book).code == 0


def test_check_reports_a_number_zero(cli, book):
    """Numbers start at 1 (SPEC 2); 2025-0000 passed check."""
    doc = _validated(cli, book, "2025-03-01")
    path = _path(book, doc)
    path.write_text(path.read_text().replace("2025-0001", "2025-0000"))
    r = cli("check", book=book)
    assert r.code == 1 and "number 2025-0000: a series starts at 1" in r.out, r


def test_a_contact_or_recurrence_that_does_not_load_can_be_fixed_through_edit(cli, book,
                                                                              tmp_path):
    """`contact edit` on a contact with a typo refused the person's fix with
    "has errors; fix them first" (without saying which)."""
    (book / "contacts" / "acme.yaml").write_text("name: ACME SA\nemial: ap@acme.example\n")
    git(book, "commit", "-qam", "Typo by hand")
    r = cli("contact", "edit", "acme", book=book, env=_editor(tmp_path, "name: ACME SA",
                                                                    "name: ACME"))
    assert r.code == 1 and "unknown field 'emial'" in r.err, r
    r = cli("contact", "edit", "acme", book=book, env=_editor(tmp_path, "emial", "email"))
    assert r.code == 0 and "Fix contact acme" in r.err, r
    assert git(book, "log", "-1", "--format=%(trailers:key=Facturier-Action,valueonly)") \
        .strip() == "contact.modify"
    template = _new(cli, book, "2025-03-01")
    (book / "recurrences").mkdir(exist_ok=True)
    rec = book / "recurrences" / "monthly.yaml"
    rec.write_text("name: Monthly\ntemplate: %s\nrule: FREQ=MONTHLY\nstart: 2025-04-01\n"
                   "isue: draft\n" % template)
    git(book, "add", "-A")
    git(book, "commit", "-qm", "Recurrence by hand, with a typo")
    fixed = tmp_path / "fixed.yaml"
    fixed.write_text(rec.read_text().replace("isue", "issue"))
    # the engine takes the fix (the CLI's `recurrence edit` still refuses before asking it)
    from engine.actions import perform, plan_edit_recurrence
    sha, change = perform(book, plan_edit_recurrence, "monthly", text=fixed.read_text())
    assert sha and change.action == "recurrence.modify"
    assert cli("check", book=book).code == 0


def test_init_where_no_folder_can_be_made_says_so(cli, tmp_path):
    (tmp_path / "a-file").write_text("x")
    r = cli("init", str(tmp_path / "a-file" / "book"))
    assert r.code == 1 and "internal error" not in r.err, r
    assert "cannot make a book in" in r.err and "Not a directory" in r.err, r
