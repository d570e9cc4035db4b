"""The text edits a run makes instead of the ruamel round trip (issue 10's
100k run): a stopped recurrence's `stopped` mapping written at the end of its
file, and the reminders of a whole batch parsed back on every core. Whatever
the file's style, what is committed reads back (with the real loader) as the
old record with exactly that change; a file the text edit cannot handle goes
through the round trip and reads back the same."""
from __future__ import annotations

import datetime as dt

import msgspec
import pytest

from engine.loader import parse_file
from engine.model import Book, Stopped
from engine.runsession import DryWriter, RunReport, _Session
from engine.runsteps import _with_stopped

REC = "recurrences/hosting.yaml"
AT = "2025-05-01T06:00:00+02:00"
CANONICAL = ("# a person's comment, kept\nname: Hosting\ntemplate: inv-tpl\n"
             "rule: FREQ=MONTHLY;BYMONTHDAY=1\nstart: 2025-01-01\nissue: validate\n"
             "last: 2025-01-01\n")

# (name, text, written as text at the end: True, or left to the round trip: False)
STYLES = [
    ("canonical", CANONICAL, True),
    ("no final newline, trailing spaces", CANONICAL.rstrip("\n") + "   ", True),
    ("CRLF", CANONICAL.replace("\n", "\r\n"), True),
    ("BOM", "\ufeff" + CANONICAL, True),
    ("comment at the end", CANONICAL + "# stopped: not yet\n\n", True),
    ("quoted keys", "".join('"%s": %s\n' % tuple(line.split(": ", 1))
                            for line in CANONICAL.splitlines()[1:]), True),
    ("block scalar at the end", CANONICAL + "x-notes: |\n  keep going\n  stopped: no\n", True),
    ("kept-trailing block scalar at the end", CANONICAL + "x-notes: |+\n  text\n\n\n", True),
    ("multi-line string holding `stopped:`",
     CANONICAL.replace("name: Hosting", 'name: "Hosting\nstopped:\n  at: never"'), True),
    ("document end marker", CANONICAL + "...\n", False),
    ("flow style", "{name: Hosting, template: inv-tpl, rule: 'FREQ=MONTHLY;BYMONTHDAY=1', "
                   "start: 2025-01-01, issue: validate, last: 2025-01-01}\n", False),
    ("flow style, no final newline", "{name: Hosting, template: inv-tpl, rule: "
                                     "'FREQ=MONTHLY;BYMONTHDAY=1', start: 2025-01-01, "
                                     "issue: validate}", False),
    ("indented root", "".join("  " + line + "\n" for line in CANONICAL.splitlines()[1:]),
     False),
]


def _session(tmp_path, text):
    root = tmp_path
    (root / "recurrences").mkdir()
    (root / REC).write_bytes(text.encode("utf-8"))
    _kind, rec, diagnostics = parse_file(REC, text.encode("utf-8"))
    assert rec is not None, diagnostics
    day = dt.date(2025, 5, 1)
    session = _Session(DryWriter(Book(root=str(root)), root), root, day, lambda: AT,
                       RunReport(as_of=day), False, {}, 1.0)
    return session, rec


def _same_but_stopped(a, b) -> bool:
    keep = {"fields": {}, "line": 1, "stopped": None}
    return msgspec.structs.replace(a, **keep) == msgspec.structs.replace(b, **keep)


@pytest.mark.parametrize("name,text,as_text", STYLES, ids=[s[0] for s in STYLES])
def test_a_stopped_recurrence_reads_back_as_itself_stopped_whatever_its_style(
        tmp_path, name, text, as_text):
    session, rec = _session(tmp_path, text)
    stopped = {"at": AT, "occurrence": dt.date(2025, 2, 1),
               "cause": "4 occurrences are due at once: none was generated"}
    data = _with_stopped(session, rec, stopped)
    _kind, new, diagnostics = parse_file(REC, data)
    assert new is not None and not [d for d in diagnostics if d.is_error], (data, diagnostics)
    assert new.stopped == Stopped(at=AT, occurrence=dt.date(2025, 2, 1),
                                  cause="4 occurrences are due at once: none was generated")
    assert _same_but_stopped(new, rec)
    # what the commit's check will use is what the file reads as
    assert session.parsed[REC][0] == data and session.parsed[REC][2] == new
    # the text edit keeps every byte of the file and adds the block at its end;
    # the round trip reads back the same
    assert data.startswith(text.encode("utf-8")) is as_text, data
    round_trip = session.round_trip(rec, set_fields={"stopped": stopped})
    _kind, other, _d = parse_file(REC, round_trip)
    assert other is not None and other.stopped == new.stopped and _same_but_stopped(other, rec)


def test_a_file_with_a_stopped_key_goes_through_the_round_trip(tmp_path):
    """A `stopped` key already there (null, or in a flow mapping the text
    cannot see into) is set by the round trip: never a second key."""
    stopped = {"at": AT, "occurrence": None, "cause": "again"}
    for n, text in enumerate(("stopped: ~\n" + CANONICAL, CANONICAL + "stopped:\n")):
        (tmp_path / str(n)).mkdir()
        session, rec = _session(tmp_path / str(n), text)
        data = _with_stopped(session, rec, stopped)
        _kind, new, _d = parse_file(REC, data)
        assert new.stopped == Stopped(at=AT, cause="again")
        assert data.count(b"stopped:") == 1 and _same_but_stopped(new, rec)


# --------------------------------------------------------------------------- a batch of reminders

INVOICE = ("kind: invoice\ncustomer: acme\ndate: 2025-01-05\nnumber: 2025-%04d\n"
           "validated: 2025-01-05\nlines:\n  - description: Hosting\n    quantity: \"1\"\n"
           "    unit_price: \"100.00\"\n")
INVOICE_STYLES = [
    INVOICE,
    INVOICE + "reminders:\n  - level: 1\n    date: 2025-02-20\n",
    (INVOICE + "reminders:\n- level: 1\n  date: 2025-02-20\n").replace("\n", "\r\n"),
    "\ufeff" + INVOICE.rstrip("\n") + "  ",
    INVOICE + 'notes: "Earlier\nreminders:\n  - were sent by post"\n',
    INVOICE.replace("kind:", '"kind":') + '"reminders": [{level: 1, date: 2025-02-20}]\n',
    "{kind: invoice, customer: acme, date: 2025-01-05, number: 2025-%04d, "
    "validated: 2025-01-05, lines: [{description: x, quantity: 1, unit_price: '10'}]}\n",
    INVOICE + "x-notes: |+\n  reminders:\n\n",
    INVOICE + "...\n",
    INVOICE + "reminders:   # sent by post\n  # - level: 1\n  - level: 1\n    date: 2025-02-20\n\n# end\n",
    INVOICE + "x-ref: &a {k: 1}\nx-copy: *a\n",
]


def test_a_batch_of_reminders_reads_back_as_one_by_one_on_every_core(tmp_path):
    """append_many (a run's batch: parsed back on two processes past 2,000
    files) writes what edit writes file by file, and every file reads back as
    the old invoice with exactly its new reminder."""
    from engine.loader import parse_file
    folder = tmp_path / "documents/2025/01"
    folder.mkdir(parents=True)
    records = []
    for n in range(2100):
        # every style among the first files, then those the text append
        # handles (the round trip costs milliseconds a file)
        style = INVOICE_STYLES[n % len(INVOICE_STYLES) if n < 90 else n % 4]
        text = style % n if "%04d" in style else style
        path = "documents/2025/01/inv-%04d.yaml" % n
        (tmp_path / path).write_bytes(text.encode("utf-8"))
        _kind, rec, diagnostics = parse_file(path, text.encode("utf-8"))
        if "&a" in text:        # anchors: the file does not load, never appended to
            assert rec is None and diagnostics
            continue
        assert rec is not None, (text, diagnostics)
        records.append(rec)
    day = dt.date(2025, 4, 1)
    session = _Session(DryWriter(Book(root=str(tmp_path)), tmp_path), tmp_path, day,
                       lambda: AT, RunReport(as_of=day), False, {}, 1.0)
    pairs = [(rec, {"reminders": [{"level": len(rec.reminders) + 1, "date": day}]})
             for rec in records]
    batch = session.append_many(pairs)
    assert batch == [session.edit(rec, append=append) for rec, append in pairs]
    for (rec, _append), data in zip(pairs, batch):
        _kind, new, diagnostics = parse_file(rec.path, data)
        assert new is not None and not [d for d in diagnostics if d.is_error], data
        assert [(r.level, r.date) for r in new.reminders] == \
            [(r.level, r.date) for r in rec.reminders] + [(len(rec.reminders) + 1, day)]
        assert msgspec.structs.replace(new, reminders=(), fields={}, line=1) == \
            msgspec.structs.replace(rec, reminders=(), fields={}, line=1)
