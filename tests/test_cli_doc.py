"""`facturier doc`, `contact` and `log` as a user runs them (subprocess):
messages on stderr, ids on stdout, exit status 1 on refusal, 2 on usage."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

from tests.conftest import git


@pytest.fixture
def book(make_book):
    return make_book({"facturier.yaml": 'currency: CHF\nvat: "8.1"\n',
                      "contacts/acme.yaml": "name: ACME SA\nemail: ap@acme.example\n"})


def _new(cli, book, *extra):
    r = cli("--as-of", "2025-01-05", "doc", "new", "--customer", "acme",
            "--line", "Consulting;2;500", "--line", "Travel;1;80;0", *extra, book=book)
    assert r.code == 0, r
    return r.out.strip()


def test_new_validate_pay_show(cli, book):
    doc = _new(cli, book)
    assert doc.startswith("inv-20250105-")
    r = cli("--as-of", "2025-01-06", "doc", "validate", doc, book=book)
    assert r.code == 0, r
    assert r.err.startswith("Validate invoice %s as 2025-0001 (commit " % doc)
    assert r.out.strip() == git(book, "rev-parse", "HEAD").strip()
    r = cli("--as-of", "2025-01-20", "doc", "pay", doc, "100", "--reference", "bank 7", book=book)
    assert r.code == 0, r
    assert "Record payment of 100.00 CHF on invoice 2025-0001" in r.err
    r = cli("--as-of", "2025-01-21", "doc", "show", doc, "--format", "json", book=book)
    data = json.loads(r.out)
    assert (data["number"], data["total"], data["paid"], data["open"], data["status"]) == \
        ("2025-0001", "1161.00", "100.00", "1061.00", "partially_paid")
    assert data["payments"] == [{"date": "2025-01-20", "amount": "100.00",
                                 "reference": "bank 7"}]
    assert data["validated"] == "2025-01-06"
    r = cli("--as-of", "2025-01-21", "doc", "show", doc, book=book)
    assert r.code == 0 and "2025-0001" in r.out and "Partially paid" in r.out


def test_refusals_exit_1_with_the_reason_and_change_nothing(cli, book):
    doc = _new(cli, book)
    cli("--as-of", "2025-01-06", "doc", "validate", doc, book=book)
    head = git(book, "rev-parse", "HEAD")
    r = cli("doc", "delete", doc, book=book)
    assert r.code == 1 and "issue a credit note" in r.err and "Traceback" not in r.err
    r = cli("doc", "pay", "nope", "5", book=book)
    assert r.code == 1 and "no document 'nope'" in r.err
    r = cli("contact", "delete", "acme", book=book)
    assert r.code == 1 and "1 document names it" in r.err
    path = next((book / "documents").rglob("*.yaml"))
    path.write_text(path.read_text() + "notes: unsaved\n")
    r = cli("doc", "pay", doc, "5", book=book)
    assert r.code == 1 and "uncommitted edits in %s" % path.relative_to(book) in r.err
    assert git(book, "rev-parse", "HEAD") == head


def test_usage_errors_exit_2(cli, book):
    r = cli("doc", "new", "--customer", "acme", "--line", "only-a-description", book=book)
    assert r.code == 2 and "DESCRIPTION;QUANTITY;UNIT PRICE" in r.err


def test_new_from_yaml_on_stdin_with_errors_named_by_line(cli, book):
    r = cli("--as-of", "2025-02-01", "doc", "new", "--file", "-", book=book,
            input="kind: quote\ncustomer: acme\nlines:\n  - description: Site\n"
                  "    unit_price: 900\n")
    assert r.code == 0, r
    assert r.out.startswith("q-20250201-")
    r = cli("doc", "new", "--file", "-", book=book,
            input="kind: quote\ncustomer: acme\nlines:\n  - descripton: Site\n")
    assert r.code == 1 and "<stdin>:4:" in r.err and "description" in r.err


EDITOR = textwrap.dedent("""
    import sys
    path = sys.argv[1]
    text = open(path).read()
    open(path, "w").write(text.replace(%r, %r))
""")


def _editor(tmp_path, old, new):
    script = tmp_path / "editor.py"
    script.write_text(EDITOR % (old, new))
    return {"EDITOR": "%s %s" % (sys.executable, script)}


def test_edit_opens_the_editor_and_commits_checked_changes(cli, book, tmp_path):
    doc = _new(cli, book)
    r = cli("doc", "edit", doc, book=book,
            env=_editor(tmp_path, "kind: invoice\n", "kind: invoice\nnotes: Thanks\n"))
    assert r.code == 0, r
    assert git(book, "log", "-1", "--format=%(trailers:key=Facturier-Action,valueonly)").strip() \
        == "document.modify"
    cli("--as-of", "2025-01-06", "doc", "validate", doc, book=book)
    head = git(book, "rev-parse", "HEAD")
    r = cli("doc", "edit", doc, book=book,
            env=_editor(tmp_path, "date: 2025-01-05", "date: 2025-01-04"))
    assert r.code == 1 and "its date cannot be changed" in r.err
    assert "your edited text is in" in r.err
    assert git(book, "rev-parse", "HEAD") == head
    r = cli("doc", "edit", doc, book=book, env=_editor(tmp_path, "nothing", "matches"))
    assert r.code == 0 and "No change." in r.err


def test_credit_convert_hold_release_decline_returned(cli, book):
    doc = _new(cli, book)
    cli("--as-of", "2025-01-06", "doc", "validate", doc, book=book)
    for args in (("hold", doc, "--reason", "dispute"), ("release", doc), ("returned", doc),
                 ("discount", doc, "10", "--reason", "goodwill")):
        r = cli("--as-of", "2025-01-10", "doc", *args, book=book)
        assert r.code == 0, r
    r = cli("--as-of", "2025-01-11", "doc", "credit", doc, "--amount", "50", book=book)
    assert r.code == 0 and r.out.startswith("cn-20250111-"), r
    q = cli("--as-of", "2025-01-05", "doc", "new", "--kind", "quote", "--customer", "acme",
            "--line", "Site;1;900", book=book).out.strip()
    r = cli("--as-of", "2025-01-12", "doc", "convert", q, "--to", "work_order", book=book)
    assert r.code == 0 and r.out.startswith("wo-20250112-"), r
    r = cli("--as-of", "2025-01-12", "doc", "decline", q, book=book)
    assert r.code == 1 and "converted" in r.err
    r = cli("log", doc, "--format", "json", book=book)
    assert [e["action"] for e in json.loads(r.out)] == [
        "document.create", "document.validate", "document.hold", "document.release",
        "document.return", "document.discount", "document.credit"]


def test_contacts_and_the_log_of_the_book(cli, book):
    r = cli("contact", "new", "--name", "Beta Sàrl", "--email", "b@beta.example", book=book)
    assert r.code == 0 and r.out.strip() == "beta-sarl"
    r = cli("contact", "edit", "beta-sarl", "--payment-days", "60", book=book)
    assert r.code == 0, r
    r = cli("contact", "list", "--format", "json", book=book)
    assert [(c["id"], c["payment_days"]) for c in json.loads(r.out)] == \
        [("acme", None), ("beta-sarl", 60)]
    r = cli("contact", "delete", "beta-sarl", book=book)
    assert r.code == 0, r
    r = cli("log", "--action", "contact.create", "--action", "contact.delete", "--format", "json",
            book=book)
    entries = json.loads(r.out)
    assert [(e["action"], e["contacts"]) for e in entries] == \
        [("contact.create", ["beta-sarl"]), ("contact.delete", ["beta-sarl"])]
    r = cli("log", "beta-sarl", book=book)
    assert r.code == 0 and "contact.modify" in r.out


def test_two_processes_validating_at_once_never_share_a_number(cli, book):
    docs = [_new(cli, book, "--notes", "n%d" % i) for i in range(4)]
    env_cmd = [sys.executable, "-m", "tui.entry", "--book", str(book), "--as-of", "2025-01-06",
               "doc", "validate"]
    from tests.conftest import REPO
    import os
    procs = [subprocess.Popen(env_cmd + [d], cwd=str(REPO), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, env=dict(os.environ, PYTHONPATH=str(REPO)))
             for d in docs]
    for p in procs:
        p.communicate()
        assert p.returncode == 0
    r = cli("--as-of", "2025-01-06", "status", "--format", "json", book=book)
    numbers = sorted(row["number"] for row in json.loads(r.out))
    assert numbers == ["2025-0001", "2025-0002", "2025-0003", "2025-0004"]


REPLACING_EDITOR = textwrap.dedent("""
    import sys
    path = sys.argv[1]
    text = open(path).read()
    for old, new in %r:
        text = text.replace(old, new)
    open(path, "w").write(text)
""")


def _replacing_editor(tmp_path, pairs):
    script = tmp_path / "editor_many.py"
    script.write_text(REPLACING_EDITOR % (pairs,))
    return {"EDITOR": "%s %s" % (sys.executable, script), "VISUAL": ""}


def test_new_without_options_opens_the_editor_on_a_template(cli, book, tmp_path):
    head = git(book, "rev-parse", "HEAD")
    filled = [("customer: \n", "customer: acme\n"), ("description: \n", "description: Audit\n"),
              ('unit_price: "0.00"', 'unit_price: "900.00"')]
    r = cli("--as-of", "2025-02-03", "doc", "new", "--kind", "quote", book=book,
            env=_replacing_editor(tmp_path, filled))
    assert r.code == 0, r
    doc = r.out.strip()
    assert doc.startswith("q-20250203-")
    data = json.loads(cli("doc", "show", doc, "--format", "json", book=book).out)
    assert (data["kind"], data["contact"], data["date"], data["total"]) == \
        ("quote", "acme", "2025-02-03", "972.90")
    assert git(book, "log", "-1", "--format=%(trailers:key=Facturier-Action,valueonly)").strip() \
        == "document.create"
    # a refused text is kept, nothing is committed
    head = git(book, "rev-parse", "HEAD")
    wrong = [("customer: \n", "customer: nobody\n"), ("description: \n", "description: X\n")]
    r = cli("doc", "new", book=book, env=_replacing_editor(tmp_path, wrong))
    assert r.code == 1 and "nobody" in r.err and "your edited text is in" in r.err, r
    assert "customer: nobody" in (book / ".facturier" / "rejected-new.yaml").read_text()
    assert git(book, "rev-parse", "HEAD") == head
    # closed unchanged: nothing made
    r = cli("doc", "new", book=book, env=_replacing_editor(tmp_path, []))
    assert r.code == 0 and "No change." in r.err and r.out == ""
    assert git(book, "rev-parse", "HEAD") == head
    # no editor and no terminal: the options are needed, as before
    r = cli("doc", "new", book=book, input="", env={"EDITOR": "", "VISUAL": ""})
    assert r.code == 2 and "--customer" in r.err
