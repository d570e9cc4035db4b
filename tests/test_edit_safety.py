"""Files facturier changes are read back before they are committed (SPEC 1.1,
5.1; issue 10): a reminder, a payment or a delivery added to a document written
in flow style (`{...}`), with quoted keys, or with a text that looks like a key
lands in the right place, and an edit that would not read back as intended is
refused with nothing written. Real git books, the real `facturier` command."""
from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from decimal import Decimal

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from conftest import REPO, git
from engine.actions import Change, open_writer
from engine.diagnostics import ActionRefused
from engine.loader import parse_file
from engine.writer import check_edit, update_yaml

SETTINGS = "company: {name: Atelier SA}\ncurrency: CHF\n"
ACME = "name: ACME SA\n"

FLOW = ('{kind: invoice, customer: acme, date: 2025-01-05, number: 2025-0001, '
        'validated: 2025-01-05, lines: [{description: Hosting, quantity: 1, '
        'unit_price: "100.00"}]}\n')
QUOTED = '''\
"kind": invoice
"customer": acme
"date": 2025-01-06
"number": 2025-0002
"validated": 2025-01-06
"lines":
  - {description: Support, quantity: 1, unit_price: "100.00"}
"reminders":
  - level: 1
    date: 2025-02-20
'''
# a double-quoted text whose continuation lines look like a `reminders:` list
NOTES = '''\
kind: invoice
customer: acme
date: 2025-01-07
number: 2025-0003
validated: 2025-01-07
lines:
  - {description: Design, quantity: 1, unit_price: "100.00"}
notes: "Paid by transfer. Earlier
reminders:
  - were sent by post"
'''
NOTES_TEXT = "Paid by transfer. Earlier reminders: - were sent by post"


def facturier(root, *args):
    return subprocess.run([sys.executable, "-m", "tui.entry", "--book", str(root), *args],
                          capture_output=True, text=True, cwd=str(REPO),
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def shown(root, doc_id, as_of="2025-04-01") -> dict:
    proc = facturier(root, "--as-of", as_of, "doc", "show", doc_id, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def record(root, path):
    _kind, rec, diagnostics = parse_file(path, (root / path).read_bytes())
    assert rec is not None and not [d for d in diagnostics if d.is_error], diagnostics
    return rec


@pytest.fixture
def odd_book(make_book):
    return make_book({"facturier.yaml": SETTINGS, "contacts/acme.yaml": ACME,
                      "documents/2025/01/inv-flow.yaml": FLOW,
                      "documents/2025/01/inv-quoted.yaml": QUOTED,
                      "documents/2025/01/inv-notes.yaml": NOTES})


def test_run_reminds_flow_style_quoted_key_and_key_like_text_documents(odd_book):
    root = odd_book
    assert facturier(root, "check").returncode == 0
    proc = facturier(root, "--as-of", "2025-04-01", "run", "--no-send", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert sorted(json.loads(proc.stdout)["reminded"]) == ["inv-flow", "inv-notes", "inv-quoted"]
    check = facturier(root, "--as-of", "2025-04-01", "check")
    assert check.returncode == 0, check.stdout + check.stderr
    assert git(root, "status", "--porcelain") == ""
    flow = record(root, "documents/2025/01/inv-flow.yaml")
    assert [(r.level, r.date) for r in flow.reminders] == [(1, dt.date(2025, 4, 1))]
    assert flow.lines[0].unit_price == Decimal("100.00")
    quoted = record(root, "documents/2025/01/inv-quoted.yaml")
    assert [(r.level, r.date) for r in quoted.reminders] == [(1, dt.date(2025, 2, 20)),
                                                              (2, dt.date(2025, 4, 1))]
    notes = record(root, "documents/2025/01/inv-notes.yaml")
    assert notes.notes == NOTES_TEXT
    assert [(r.level, r.date) for r in notes.reminders] == [(1, dt.date(2025, 4, 1))]
    # what the run left in memory is what a fresh load reads: a second run
    # on the same day has nothing more to remind
    again = facturier(root, "--as-of", "2025-04-01", "run", "--no-send", "--format", "json")
    assert json.loads(again.stdout)["reminded"] == []


def test_a_person_s_comments_and_block_style_stay_as_they_were(make_book):
    text = ("# kept\nkind: invoice\ncustomer: acme\ndate: 2025-01-05\nnumber: 2025-0001\n"
            "validated: 2025-01-05\nlines:\n  - description: Hosting  # first line\n"
            "    quantity: 1\n    unit_price: \"100.00\"\n")
    root = make_book({"facturier.yaml": SETTINGS, "contacts/acme.yaml": ACME,
                      "documents/2025/01/inv-a.yaml": text})
    proc = facturier(root, "--as-of", "2025-04-01", "run", "--no-send")
    assert proc.returncode == 0, proc.stderr
    assert (root / "documents/2025/01/inv-a.yaml").read_text() == \
        text + "reminders:\n  - level: 1\n    date: 2025-04-01\n"


@pytest.mark.parametrize("name,text", [("flow", FLOW), ("quoted", QUOTED), ("notes", NOTES)])
def test_payments_on_odd_styles_load_as_intended(make_book, name, text):
    root = make_book({"facturier.yaml": SETTINGS, "contacts/acme.yaml": ACME,
                      "documents/2025/01/inv-%s.yaml" % name: text})
    path = "documents/2025/01/inv-%s.yaml" % name
    before = record(root, path)
    proc = facturier(root, "--as-of", "2025-04-01", "doc", "pay", "inv-" + name, "50.00",
                     "--date", "2025-03-30")
    assert proc.returncode == 0, proc.stderr
    after = record(root, path)
    assert [(p.date, p.amount) for p in after.payments] == [(dt.date(2025, 3, 30), Decimal("50.00"))]
    assert after.notes == before.notes
    assert [(r.level, r.date) for r in after.reminders] == \
        [(r.level, r.date) for r in before.reminders]
    assert [(x.description, x.unit_price) for x in after.lines] == \
        [(x.description, x.unit_price) for x in before.lines]
    assert shown(root, "inv-" + name)["paid"] == "50.00"


def test_a_commit_whose_file_would_not_load_is_refused_and_nothing_is_written(make_book):
    root = make_book({"facturier.yaml": SETTINGS, "contacts/acme.yaml": ACME,
                      "documents/2025/01/inv-flow.yaml": FLOW})
    head = git(root, "rev-parse", "HEAD")
    path = "documents/2025/01/inv-flow.yaml"
    broken = FLOW.encode() + b"reminders:\n  - level: 1\n    date: 2025-04-01\n"
    with open_writer(root) as w:
        with pytest.raises(ActionRefused) as refused:
            w.commit(Change("document.remind", "Record a reminder", {path: broken}))
    assert path in str(refused.value) and "nothing was changed" in str(refused.value)
    assert git(root, "rev-parse", "HEAD") == head
    assert (root / path).read_text() == FLOW
    assert git(root, "status", "--porcelain") == ""


# --------------------------------------------------------------------------- the check itself

REMINDER = {"reminders": [{"level": 1, "date": dt.date(2025, 4, 1)}]}


@pytest.mark.parametrize("old,new,why", [
    # the naive text append: a block after a flow mapping is not YAML
    (FLOW, FLOW + "reminders:\n  - level: 1\n    date: 2025-04-01\n", "valid YAML"),
    # ...after quoted keys: a second `reminders` key
    (QUOTED, QUOTED + "reminders:\n  - level: 1\n    date: 2025-04-01\n", "duplicate"),
    # ...into a text that looks like a list: the notes change, no reminder
    ("kind: invoice\nnotes: \"a\nreminders:\n\"\n",
     "kind: invoice\nnotes: \"a\nreminders:\n  - level: 1\n    date: 2025-04-01\n\"\n", "notes"),
    # an edit that changes something else too
    ("kind: invoice\nnumber: +1\n",
     "kind: invoice\nnumber: 1\nreminders:\n  - level: 1\n    date: 2025-04-01\n", "number"),
], ids=["flow", "quoted-key", "key-like-text", "other-change"])
def test_check_edit_refuses_what_does_not_read_back_as_intended(old, new, why):
    with pytest.raises(ValueError) as refused:
        check_edit(old, new, append=REMINDER)
    assert why in str(refused.value)


def test_check_edit_accepts_the_same_data_in_another_style():
    check_edit(FLOW, FLOW[:-2] + ", reminders: [{level: 1, date: 2025-04-01}]}\n",
               append=REMINDER)
    check_edit("a: x\n", "a: 'x'\nb:\n  c: \"1.50\"\n", set_fields={"b.c": Decimal("1.50")})
    check_edit("a: x\nb: [1, 2]\n", "a: x\nb: [1]\n", remove=("b.1",))


def test_round_trip_keeps_numbers_and_booleans_as_written():
    text = "kind: invoice\nnumber: +1\nscheduled: True\nquantity: 0x10\nnotes: yes\n"
    out = update_yaml(text, {"declined": dt.date(2025, 1, 9)})
    assert out == text + "declined: 2025-01-09\n"


# --------------------------------------------------------------------------- any style

@st.composite
def documents(draw):
    """A valid invoice with earlier reminders, in a style drawn at random:
    block or flow, keys quoted or not, notes whose text holds key-like lines."""
    quote = draw(st.sampled_from(['', '"', "'"]))
    flow = draw(st.booleans())
    notes = draw(st.sampled_from(["", "reminders:", "a\nreminders:\n  - x", "- level: 9",
                                  "deliveries: []", "# not a comment"]))
    earlier = draw(st.integers(0, 2))

    def k(key):
        return "%s%s%s" % (quote, key, quote)
    pairs = [(k("kind"), "invoice"), (k("customer"), "acme"), (k("date"), "2025-01-05"),
             (k("number"), "2025-0001"), (k("validated"), "2025-01-05"),
             (k("lines"), '[{description: x, quantity: 1, unit_price: "10"}]')]
    if notes:
        pairs.append((k("notes"), json.dumps(notes)))
    if earlier:
        items = ", ".join("{level: %d, date: 2025-02-%02d}" % (i + 1, i + 10)
                          for i in range(earlier))
        pairs.append((k("reminders"), "[%s]" % items))
    pairs = draw(st.permutations(pairs))
    if flow:
        return "{%s}\n" % ", ".join("%s: %s" % p for p in pairs), earlier, notes
    return "".join("%s: %s\n" % p for p in pairs), earlier, notes


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(documents())
def test_a_run_reminds_any_style_of_document(tmp_path_factory, drawn):
    """Whatever the style, the run's edit reads back as the old document plus
    one reminder, and everything else as it was."""
    from engine.daily import DryWriter, _Session, RunReport
    from engine.model import Book
    text, earlier, notes = drawn
    path = "documents/2025/01/inv-x.yaml"
    _k, old, diagnostics = parse_file(path, text)
    assert old is not None, (text, diagnostics)
    root = tmp_path_factory.mktemp("style")
    (root / "documents/2025/01").mkdir(parents=True)
    (root / path).write_text(text)
    book = Book(root=str(root))
    session = _Session(DryWriter(book, root), root, dt.date(2025, 4, 1), lambda: "", RunReport(
        as_of=dt.date(2025, 4, 1)), False, {}, 1.0)
    data = session.edit(old, append={"reminders": [{"level": earlier + 1,
                                                    "date": dt.date(2025, 4, 1)}]})
    _k, new, diagnostics = parse_file(path, data)
    assert new is not None, (text, data, diagnostics)
    assert new.notes == notes
    assert [r.level for r in new.reminders] == list(range(1, earlier + 2))
    assert new.reminders[-1].date == dt.date(2025, 4, 1)
    assert (new.kind, new.contact, new.number, new.validated) == \
        (old.kind, old.contact, old.number, old.validated)
    assert [(x.description, x.unit_price) for x in new.lines] == \
        [(x.description, x.unit_price) for x in old.lines]


def test_appends_are_checked_alike_on_one_core_and_on_several():
    """A first run parses tens of thousands of appended files back, on every
    core: the verdicts are those of the one-core check, item by item."""
    from engine.daily import _appended, _check_appends
    path = "documents/2025/01/inv-x.yaml"
    items = []
    for text in (FLOW, QUOTED, NOTES):
        _k, old, _d = parse_file(path, text)
        good = update_yaml(text, append=REMINDER).encode()
        naive = _appended(text, REMINDER).encode()          # the text append alone
        items += [(old, good, REMINDER), (old, naive, REMINDER)]
    items = (items * 400)[:2400]
    serial = _check_appends(items, processes=1)
    assert serial[:6] == [True, False, True, False, True, False]
    assert _check_appends(items, processes=2) == serial
