"""`facturier recurrence list/show/new/edit/delete/repair` on real books."""
from __future__ import annotations

import json

from test_daily_support import base_files, facturier, git, recurrence


def actions(root) -> list[str]:
    out = git(root, "log", "--format=%(trailers:key=Facturier-Action,valueonly)%x00")
    return [a.strip() for a in out.split("\0") if a.strip()]


def commits(root) -> int:
    return int(git(root, "rev-list", "--count", "HEAD"))


def js(root, *args, as_of="2025-05-01"):
    proc = facturier(root, "--as-of", as_of, *args, "--format", "json")
    assert proc.returncode in (0, 3), proc.stderr
    return json.loads(proc.stdout)


def stopped_book(make_book, last="2025-01-01", **kw):
    files = base_files()
    files["recurrences/hosting.yaml"] = recurrence(issue="validate", last=last, **kw)
    root = make_book(files)
    proc = facturier(root, "--as-of", "2025-05-01", "run")
    assert proc.returncode == 3, proc.stderr
    return root


def test_list_and_show_in_json_with_the_fields_of_spec_6(make_book):
    files = base_files(locale="fr")
    files["recurrences/hosting.yaml"] = recurrence(rule="FREQ=MONTHLY;BYMONTHDAY=-1",
                                                   last="2025-04-30")
    root = make_book(files)
    (row,) = js(root, "recurrence", "list")
    assert {k: row[k] for k in ("id", "name", "state", "next", "generated", "missing", "cause")} == {
        "id": "hosting", "name": "Hosting", "state": "active", "next": "2025-05-31",
        "generated": 0, "missing": [], "cause": None}
    assert row["rule_words"] == "le dernier jour de chaque mois"
    shown = js(root, "recurrence", "show", "hosting")
    assert shown["next_occurrences"][:3] == ["2025-05-31", "2025-06-30", "2025-07-31"]
    proc = facturier(root, "--as-of", "2025-05-01", "--lang", "en", "recurrence", "list")
    assert "monthly on the last day of the month" in proc.stdout.replace("\n", " ") or \
        "monthly on the last" in proc.stdout
    assert facturier(root, "recurrence", "show", "nope").returncode == 1


def test_stopped_recurrence_shows_cause_and_missing(make_book):
    root = stopped_book(make_book)
    (row,) = js(root, "recurrence", "list")
    assert row["state"] == "stopped"
    assert row["missing"] == ["2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01"]
    assert "more than max_catch_up (3)" in row["cause"]
    proc = facturier(root, "--as-of", "2025-05-01", "recurrence", "show", "hosting")
    assert "--create-missing needs exactly one missing occurrence; 4 are missing" in proc.stderr


def test_repair_skip_missing_is_one_commit_and_the_run_goes_on(make_book):
    root = stopped_book(make_book)
    before = commits(root)
    proc = facturier(root, "--as-of", "2025-05-01", "recurrence", "repair", "hosting", "--skip-missing")
    assert proc.returncode == 0, proc.stderr
    assert commits(root) == before + 1 and actions(root)[0] == "recurrence.skip-missing"
    text = (root / "recurrences/hosting.yaml").read_text()
    assert "stopped" not in text and "last: 2025-05-01" in text
    assert text.startswith("# a person's comment, kept")
    row = js(root, "recurrence", "show", "hosting")
    assert row["skipped"] == ["2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01"]
    assert row["state"] == "active" and row["next"] == "2025-06-01"
    proc = facturier(root, "--as-of", "2025-06-01", "run", "--format", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["generated"] == ["hosting-2025-06-01"]


def test_repair_end(make_book):
    root = stopped_book(make_book)
    proc = facturier(root, "--as-of", "2025-05-01", "recurrence", "repair", "hosting", "--end")
    assert proc.returncode == 0, proc.stderr
    assert actions(root)[0] == "recurrence.end"
    row = js(root, "recurrence", "show", "hosting")
    assert (row["state"], row["ended"], row["missing"]) == ("ended", "2025-05-01", [])
    proc = facturier(root, "--as-of", "2025-06-01", "run", "--format", "json")
    assert proc.returncode == 0 and json.loads(proc.stdout)["generated"] == []


def test_create_missing_refused_unless_exactly_one_is_missing(make_book):
    root = stopped_book(make_book)
    before = commits(root)
    proc = facturier(root, "--as-of", "2025-05-01", "recurrence", "repair", "hosting", "--create-missing")
    assert proc.returncode == 1
    assert "4 missing occurrences" in proc.stderr and "exactly one" in proc.stderr
    assert commits(root) == before


def test_create_missing_with_one_missing_generates_it_in_one_commit(make_book):
    files = base_files()
    files["documents/2025/01/inv-nomail.yaml"] = (
        "kind: invoice\ncustomer: nomail\ndate: 2025-01-05\nlines:\n"
        "  - description: Support {period}\n    unit_price: \"50.00\"\n")
    files["recurrences/support.yaml"] = recurrence(template="inv-nomail", issue="send",
                                                   last="2025-03-01")
    root = make_book(files)
    assert facturier(root, "--as-of", "2025-04-01", "run").returncode == 3
    # the cause still holds: refused, saying so
    proc = facturier(root, "--as-of", "2025-04-01", "recurrence", "repair", "support", "--create-missing")
    assert proc.returncode == 1 and "has no e-mail address" in proc.stderr
    (root / "contacts/nomail.yaml").write_text("name: No Mail Sàrl\nemail: hello@nomail.example\n")
    git(root, "commit", "-q", "-am", "Add the address")
    before = commits(root)
    proc = facturier(root, "--as-of", "2025-04-02", "recurrence", "repair", "support", "--create-missing")
    assert proc.returncode == 0, proc.stderr
    assert commits(root) == before + 1 and actions(root)[0] == "recurrence.create-missing"
    changed = git(root, "show", "--name-only", "--format=", "HEAD").split()
    assert sorted(changed) == ["documents/2025/04/support-2025-04-01.yaml", "recurrences/support.yaml"]
    doc = (root / "documents/2025/04/support-2025-04-01.yaml").read_text()
    assert 'number: "2025-0002"' in doc and "Support April 2025" in doc
    assert js(root, "recurrence", "show", "support", as_of="2025-04-02")["state"] == "active"


def test_repair_refuses_an_active_recurrence(make_book):
    files = base_files()
    files["recurrences/hosting.yaml"] = recurrence(last="2025-04-01")
    root = make_book(files)
    proc = facturier(root, "--as-of", "2025-04-02", "recurrence", "repair", "hosting", "--end")
    assert proc.returncode == 1 and "not stopped" in proc.stderr
    proc = facturier(root, "recurrence", "repair", "hosting")
    assert proc.returncode == 2


def test_new_edit_delete_each_one_commit(make_book):
    root = make_book(base_files())
    before = commits(root)
    proc = facturier(root, "--as-of", "2025-02-01", "recurrence", "new", "--name", "Hosting ACME",
                     "--template", "inv-tpl", "--frequency", "last-day", "--issue", "validate")
    assert proc.returncode == 0, proc.stderr
    assert "monthly on the last day of the month" in proc.stderr
    row = js(root, "recurrence", "show", "hosting-acme", as_of="2025-02-01")
    assert (row["rule"], row["start"], row["issue"]) == ("FREQ=MONTHLY;BYMONTHDAY=-1", "2025-02-01", "validate")
    proc = facturier(root, "recurrence", "edit", "hosting-acme", "--set", "lead_days=3",
                     "--set", "name=Hosting of ACME")
    assert proc.returncode == 0, proc.stderr
    row = js(root, "recurrence", "show", "hosting-acme", as_of="2025-02-01")
    assert (row["lead_days"], row["name"]) == (3, "Hosting of ACME")
    proc = facturier(root, "recurrence", "new", "--name", "Bad", "--template", "inv-tpl",
                     "--rule", "FREQ=SOMETIMES")
    assert proc.returncode == 1 and "does not parse" in proc.stderr
    proc = facturier(root, "recurrence", "delete", "hosting-acme")
    assert proc.returncode == 0, proc.stderr
    assert actions(root)[:3] == ["recurrence.delete", "recurrence.modify", "recurrence.create"]
    assert commits(root) == before + 3


def test_repair_takes_exactly_one_choice(make_book):
    root = stopped_book(make_book)
    before = commits(root)
    for flags, named in ((("--end", "--skip-missing"), "not --skip-missing and --end"),
                         (("--skip-missing", "--create-missing", "--end"),
                          "not --skip-missing and --create-missing and --end"),
                         ((), "")):
        proc = facturier(root, "--as-of", "2025-05-01", "recurrence", "repair", "hosting", *flags)
        assert proc.returncode == 2, proc.stderr
        assert "choose exactly one of --skip-missing, --create-missing, --end" in proc.stderr
        assert named in proc.stderr and "Traceback" not in proc.stderr
    assert commits(root) == before
    (row,) = js(root, "recurrence", "list")
    assert row["state"] == "stopped"
