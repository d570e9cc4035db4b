"""`facturier run` on real git books (SPEC 4.2, 4.3, 3.4, 5.2, 6.1), with a
real SMTP server on 127.0.0.1 where e-mail is involved. Dates pinned."""
from __future__ import annotations

import json
import subprocess

import pytest

from test_daily_support import (Handler, Server, base_files, facturier, free_port, git,
                                recurrence)


def run(root, as_of, *args):
    proc = facturier(root, "--as-of", as_of, "run", "--format", "json", *args)
    assert proc.returncode in (0, 1, 3), proc.stderr
    return proc.returncode, json.loads(proc.stdout), proc.stderr


def shown(root, rec_id, as_of="2025-06-01") -> dict:
    proc = facturier(root, "--as-of", as_of, "recurrence", "show", rec_id, "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def head(root) -> str:
    return git(root, "rev-parse", "HEAD").strip()


def actions(root) -> list[str]:
    out = git(root, "log", "--format=%(trailers:key=Facturier-Action,valueonly)%x00")
    return [a.strip() for a in out.split("\0") if a.strip()]


@pytest.fixture
def smtp():
    servers = []

    def start(handler=None):
        server = Server(handler or Handler())
        servers.append(server)
        return server

    yield start
    for s in servers:
        s.stop()


# --------------------------------------------------------------------------- generation

def test_each_due_occurrence_is_one_commit_with_the_document_and_last(make_book):
    files = base_files()
    files["recurrences/hosting.yaml"] = recurrence(last="2025-01-01")
    root = make_book(files)
    code, out, _ = run(root, "2025-03-01")
    assert code == 0
    assert out["generated"] == ["hosting-2025-02-01", "hosting-2025-03-01"]
    assert actions(root)[:2] == ["document.generate", "document.generate"]
    for rev, day in (("HEAD", "03"), ("HEAD~1", "02")):
        changed = git(root, "show", "--name-only", "--format=", rev).split()
        assert sorted(changed) == ["documents/2025/%s/hosting-2025-%s-01.yaml" % (day, day),
                                   "recurrences/hosting.yaml"]
        assert "last: 2025-%s-01" % day in git(root, "show", "%s:recurrences/hosting.yaml" % rev)
    text = (root / "documents/2025/03/hosting-2025-03-01.yaml").read_text()
    assert "description: Hosting March 2025" in text
    assert "recurrence: hosting" in text and "occurrence: 2025-03-01" in text
    assert "number:" not in text
    rec = (root / "recurrences/hosting.yaml").read_text()
    assert rec.startswith("# a person's comment, kept\n")
    assert git(root, "status", "--porcelain") == ""


def test_running_twice_changes_nothing_and_a_deleted_document_never_comes_back(make_book):
    files = base_files()
    files["recurrences/hosting.yaml"] = recurrence(last="2025-01-01")
    root = make_book(files)
    run(root, "2025-03-01")
    first = head(root)
    code, out, _ = run(root, "2025-03-01")
    assert (code, out["generated"], head(root)) == (0, [], first)
    git(root, "rm", "-q", "documents/2025/02/hosting-2025-02-01.yaml")
    git(root, "commit", "-q", "-m", "Delete February by hand")
    deleted = head(root)
    for day in ("2025-03-01", "2025-03-15"):
        code, out, _ = run(root, day)
        assert out["generated"] == [] and head(root) == deleted
    assert not (root / "documents/2025/02/hosting-2025-02-01.yaml").exists()
    code, out, _ = run(root, "2025-04-01")
    assert out["generated"] == ["hosting-2025-04-01"]


def test_two_clones_generate_byte_identical_files(make_book, tmp_path):
    files = base_files()
    files["recurrences/hosting.yaml"] = recurrence(issue="validate", last="2025-01-01")
    root = make_book(files)
    other = tmp_path / "clone"
    subprocess.run(["git", "clone", "-q", str(root), str(other)], check=True)
    run(root, "2025-02-03")
    run(other, "2025-02-03")
    for path in ("documents/2025/02/hosting-2025-02-01.yaml", "recurrences/hosting.yaml"):
        assert (root / path).read_bytes() == (other / path).read_bytes()
    assert git(root, "rev-parse", "HEAD:documents") == git(other, "rev-parse", "HEAD:documents")


def test_validate_numbers_each_generated_invoice_without_gaps(make_book):
    files = base_files()
    files["recurrences/a.yaml"] = recurrence(issue="validate", last="2025-01-01")
    files["recurrences/b.yaml"] = recurrence(issue="validate", rule="FREQ=WEEKLY;BYDAY=MO",
                                             start="2025-02-10")
    root = make_book(files)
    code, out, _ = run(root, "2025-02-17")
    assert out["generated"] == ["a-2025-02-01", "b-2025-02-10", "b-2025-02-17"]
    assert out["validated"] == out["generated"]
    numbers = [line.split('"')[1] for p in sorted(root.glob("documents/2025/02/*.yaml"))
               for line in p.read_text().splitlines() if line.startswith("number:")]
    assert sorted(numbers) == ["2025-0002", "2025-0003", "2025-0004"]
    assert "validated: 2025-02-17" in (root / "documents/2025/02/a-2025-02-01.yaml").read_text()


# --------------------------------------------------------------------------- stopping

def test_too_many_due_stops_with_a_cause_uses_no_number_and_exits_3(make_book):
    files = base_files()
    files["recurrences/late.yaml"] = recurrence(issue="validate", last="2025-01-01")
    files["recurrences/fine.yaml"] = recurrence(issue="validate", last="2025-04-01")
    root = make_book(files)
    code, out, err = run(root, "2025-05-01")
    assert code == 3
    assert out["stopped"] == ["late"] and out["stopped_now"] == ["late"]
    assert out["generated"] == ["fine-2025-05-01"]              # the others go on
    assert actions(root)[:2] == ["recurrence.stop", "document.generate"]   # newest first
    late = shown(root, "late", "2025-05-01")
    assert late["state"] == "stopped" and late["stopped_occurrence"] == "2025-02-01"
    assert late["missing"] == ["2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01"]
    assert late["cause"].startswith("4 occurrences are due at once (2025-02-01 to 2025-05-01), "
                                    "more than max_catch_up (3)")
    assert "number: \"2025-0002\"" in (root / "documents/2025/05/fine-2025-05-01.yaml").read_text()
    assert "late" in err
    # still stopped the next day: nothing more, exit 3 again
    before = head(root)
    code, out, _ = run(root, "2025-05-02")
    assert (code, out["stopped_now"], head(root)) == (3, [], before)


def test_send_without_an_address_stops_with_a_cause_a_person_understands(make_book):
    files = base_files()
    files["documents/2025/01/inv-nomail.yaml"] = TEMPLATE_NOMAIL
    files["recurrences/support.yaml"] = recurrence(template="inv-nomail", issue="send",
                                                   last="2025-01-01")
    root = make_book(files)
    code, out, _ = run(root, "2025-02-01")
    assert code == 3 and out["generated"] == []
    assert shown(root, "support")["cause"] == \
        "contact nomail has no e-mail address, and this recurrence sends its invoices"


TEMPLATE_NOMAIL = """\
kind: invoice
customer: nomail
date: 2025-01-05
lines:
  - description: Support {period}
    unit_price: "50.00"
"""


def test_unknown_placeholder_and_missing_template_stop(make_book):
    files = base_files()
    files["documents/2025/01/inv-nomail.yaml"] = TEMPLATE_NOMAIL.replace("{period}", "{perod}")
    files["recurrences/support.yaml"] = recurrence(template="inv-nomail", last="2025-01-01")
    files["recurrences/ghost.yaml"] = recurrence(template="inv-ghost", last="2025-01-01")
    root = make_book(files)
    code, out, _ = run(root, "2025-02-01")
    assert code == 3 and out["stopped"] == ["ghost", "support"]
    assert shown(root, "ghost")["cause"] == "template inv-ghost does not exist"
    assert "unknown placeholder {perod}" in shown(root, "support")["cause"]


# --------------------------------------------------------------------------- scheduled

def test_lead_days_generates_a_scheduled_draft_processed_on_its_date(make_book):
    files = base_files()
    files["recurrences/hosting.yaml"] = recurrence(issue="validate", last="2025-01-01",
                                                   extra="lead_days: 5\n")
    root = make_book(files)
    code, out, _ = run(root, "2025-01-27")
    path = root / "documents/2025/02/hosting-2025-02-01.yaml"
    assert out["generated"] == ["hosting-2025-02-01"] and out["validated"] == []
    assert "scheduled: true" in path.read_text() and "number:" not in path.read_text()
    code, out, _ = run(root, "2025-01-31")
    assert out["validated"] == [] and out["generated"] == []
    code, out, _ = run(root, "2025-02-01")
    assert out["validated"] == ["hosting-2025-02-01"]
    text = path.read_text()
    assert "scheduled" not in text and 'number: "2025-0002"' in text and "validated: 2025-02-01" in text
    assert actions(root)[0] == "document.validate"


def test_future_invoices_draft_only_drops_the_mark(make_book):
    files = base_files()
    files["documents/2025/03/inv-future.yaml"] = (
        "kind: invoice\ncustomer: acme\ndate: 2025-03-10\nscheduled: true\n"
        "lines:\n  - description: Later\n    unit_price: \"10.00\"\n")
    root = make_book(files)
    assert run(root, "2025-03-09")[1]["scheduled"] == []
    code, out, _ = run(root, "2025-03-10")
    assert out["scheduled"] == ["inv-future"] and out["validated"] == []
    text = (root / "documents/2025/03/inv-future.yaml").read_text()
    assert "scheduled" not in text and "number" not in text


# --------------------------------------------------------------------------- sending

def test_send_recurrence_is_emailed_once_with_its_message_id(make_book, smtp):
    server = smtp()
    files = base_files(server.port)
    files["recurrences/hosting.yaml"] = recurrence(issue="send", last="2025-01-01")
    root = make_book(files)
    code, out, _ = run(root, "2025-02-01")
    assert code == 0 and out["sent"] == ["hosting-2025-02-01"]
    assert server.handler.subjects() == ["Invoice 2025-0002 from Atelier Exemple SA"]
    text = (root / "documents/2025/02/hosting-2025-02-01.yaml").read_text()
    assert "result: sent" in text and "to: ap@acme.example" in text
    message_id = [ln for ln in text.splitlines() if "message_id" in ln][0].split(": ", 1)[1].strip('"')
    assert message_id.encode() in server.handler.received[0]
    assert actions(root)[:3] == ["document.send", "document.send", "document.generate"]
    # the attempt was committed as `sending` before the server was contacted
    assert "result: sending" in git(root, "show", "HEAD~1:documents/2025/02/hosting-2025-02-01.yaml")
    run(root, "2025-02-01")
    run(root, "2025-02-02")
    assert len(server.handler.received) == 1


def test_550_bounces_and_451_defers_then_the_next_run_retries(make_book, smtp):
    bouncer = smtp(Handler(rcpt_answer="550 5.1.1 mailbox unavailable"))
    files = base_files(bouncer.port)
    files["recurrences/hosting.yaml"] = recurrence(issue="send", last="2025-01-01")
    root = make_book(files)
    code, out, _ = run(root, "2025-02-01")
    assert out["bounced"] == ["hosting-2025-02-01"]
    status = json.loads(facturier(root, "--as-of", "2025-02-02", "status", "--format", "json").stdout)
    assert {r["id"]: r["status"] for r in status}["hosting-2025-02-01"] == "email_undelivered"
    assert actions(root)[0] == "document.bounce"

    later = smtp(Handler(data_answer="451 4.3.0 try again later"))
    files = base_files(later.port)
    files["recurrences/hosting.yaml"] = recurrence(issue="send", last="2025-01-01")
    root = make_book(files)
    code, out, _ = run(root, "2025-02-01")
    assert code == 0 and out["deferred"] == ["hosting-2025-02-01"]
    text = (root / "documents/2025/02/hosting-2025-02-01.yaml").read_text()
    assert "result: deferred" in text and "451" in text
    status = json.loads(facturier(root, "--as-of", "2025-02-02", "status", "--format", "json").stdout)
    assert {r["id"]: r["status"] for r in status}["hosting-2025-02-01"] == "recurring"
    later.handler.data_answer = None
    code, out, _ = run(root, "2025-02-02")
    assert out["sent"] == ["hosting-2025-02-01"] and len(later.handler.received) == 1
    text = (root / "documents/2025/02/hosting-2025-02-01.yaml").read_text()
    assert text.count("channel: email") == 2 and text.count("result: sent") == 1


def test_nothing_listening_defers(make_book):
    files = base_files(free_port())
    files["recurrences/hosting.yaml"] = recurrence(issue="send", last="2025-01-01")
    root = make_book(files)
    code, out, _ = run(root, "2025-02-01")
    assert code == 0 and out["deferred"] == ["hosting-2025-02-01"]
    assert "connection refused" in (root / "documents/2025/02/hosting-2025-02-01.yaml").read_text()


def test_an_attempt_left_sending_is_reported_and_never_resent(make_book, smtp):
    server = smtp()
    files = base_files(server.port)
    files["documents/2025/02/inv-crash.yaml"] = (
        "kind: invoice\ncustomer: acme\ndate: 2025-02-01\nnumber: \"2025-0002\"\n"
        "validated: 2025-02-01\nlines:\n  - description: X\n    unit_price: \"10.00\"\n"
        "deliveries:\n  - channel: email\n    at: \"2025-02-01T09:00:00+00:00\"\n"
        "    to: ap@acme.example\n    result: sending\n    message_id: \"<x@atelier.example>\"\n")
    root = make_book(files)
    code, out, err = run(root, "2025-02-05")
    assert out["sending"] == ["inv-crash"] and out["sent"] == []
    assert "never finished" in err and "inv-crash" in err
    assert server.handler.received == []


def test_dry_run_changes_nothing_and_says_what_it_would_do(make_book):
    files = base_files()
    files["recurrences/hosting.yaml"] = recurrence(issue="validate", last="2025-01-01")
    files["recurrences/late.yaml"] = recurrence(start="2024-01-01", last="2024-01-01")
    root = make_book(files)
    before = head(root)
    proc = facturier(root, "--as-of", "2025-03-01", "run", "--dry-run", "--format", "json")
    out = json.loads(proc.stdout)
    assert out["generated"] == ["hosting-2025-02-01", "hosting-2025-03-01"]
    assert out["validated"] == out["generated"] and out["stopped"] == ["late"]
    assert proc.returncode == 3
    assert head(root) == before and git(root, "status", "--porcelain") == ""


# --------------------------------------------------------------------------- reminders

OVERDUE = """\
kind: invoice
customer: acme
date: 2025-01-01
number: "2025-0002"
validated: 2025-01-01
lines:
  - description: Consulting
    unit_price: "100.00"
"""


def test_a_late_run_records_the_next_level_only_and_each_level_gets_its_term(make_book, smtp):
    server = smtp()
    files = base_files(server.port)
    files["documents/2025/01/inv-late.yaml"] = OVERDUE
    root = make_book(files)
    # due 2025-01-31; level 2 would be reached on 02-12 without recorded reminders
    code, out, _ = run(root, "2025-02-20")
    assert out["reminded"] == ["inv-late"] and out["sent"] == ["inv-late"]
    text = (root / "documents/2025/01/inv-late.yaml").read_text()
    assert "reminders:\n  - level: 1\n    date: 2025-02-20\n" in text
    assert server.handler.subjects() == ["First reminder: Invoice 2025-0002 from Atelier Exemple SA"]
    assert actions(root)[:2] == ["document.send", "document.remind"]
    assert run(root, "2025-02-20")[1]["reminded"] == []
    assert run(root, "2025-03-02")[1]["reminded"] == []            # level 1 runs 10 days
    code, out, _ = run(root, "2025-03-03")
    assert out["reminded"] == ["inv-late"]
    assert "level: 2\n    date: 2025-03-03" in (root / "documents/2025/01/inv-late.yaml").read_text()
    assert server.handler.subjects()[-1].startswith("Second reminder")
    assert len(server.handler.received) == 2


def test_no_send_records_reminders_without_email(make_book, smtp):
    server = smtp()
    files = base_files(server.port)
    files["documents/2025/01/inv-late.yaml"] = OVERDUE
    root = make_book(files)
    code, out, _ = run(root, "2025-02-05", "--no-send")
    assert out["reminded"] == ["inv-late"] and out["sent"] == []
    assert server.handler.received == []
    assert "deliveries" not in (root / "documents/2025/01/inv-late.yaml").read_text()


def test_a_file_with_uncommitted_edits_is_left_out_and_named(make_book):
    files = base_files()
    files["documents/2025/01/inv-late.yaml"] = OVERDUE
    files["documents/2025/01/inv-edited.yaml"] = OVERDUE.replace("2025-0002", "2025-0003")
    root = make_book(files)
    with open(root / "documents/2025/01/inv-edited.yaml", "a") as f:
        f.write("notes: edited by hand, not committed\n")
    code, out, err = run(root, "2025-02-05", "--no-send")
    assert code == 1 and out["reminded"] == ["inv-late"]
    assert "documents/2025/01/inv-edited.yaml" in err and "uncommitted edits" in err
    assert "notes: edited by hand" in (root / "documents/2025/01/inv-edited.yaml").read_text()
    assert "reminders" not in (root / "documents/2025/01/inv-edited.yaml").read_text()


def test_an_smtp_outage_defers_everything_in_one_go_and_the_next_run_sends(make_book, smtp):
    port = free_port()                      # nothing listens there yet
    files = base_files(port)
    files["recurrences/hosting.yaml"] = recurrence(issue="send", last="2025-01-01")
    files["documents/2025/01/inv-late.yaml"] = OVERDUE
    root = make_book(files)
    before = int(git(root, "rev-list", "--count", "HEAD"))
    code, out, _ = run(root, "2025-02-05")
    assert code == 0
    assert out["generated"] == ["hosting-2025-02-01"] and out["reminded"] == ["inv-late"]
    assert sorted(out["deferred"]) == ["hosting-2025-02-01", "inv-late"] and out["sent"] == []
    # generate, defer the invoice, record the reminder (deferred inside): 3 commits, no `sending`
    assert int(git(root, "rev-list", "--count", "HEAD")) - before == 3
    for path in ("documents/2025/02/hosting-2025-02-01.yaml", "documents/2025/01/inv-late.yaml"):
        text = (root / path).read_text()
        assert "result: deferred" in text and "connection refused" in text and "sending" not in text
    server = Server(Handler(), port=port)
    try:
        code, out, _ = run(root, "2025-02-06")
        assert sorted(out["sent"]) == ["hosting-2025-02-01", "inv-late"]
        assert sorted(server.handler.subjects()) == [
            "First reminder: Invoice 2025-0002 from Atelier Exemple SA",
            "Invoice 2025-0003 from Atelier Exemple SA"]
    finally:
        server.stop()


def test_a_deferred_reminder_is_not_retried_once_the_invoice_is_paid(make_book, smtp):
    port = free_port()
    files = base_files(port)
    files["documents/2025/01/inv-late.yaml"] = OVERDUE
    root = make_book(files)
    assert run(root, "2025-02-05")[1]["deferred"] == ["inv-late"]
    with open(root / "documents/2025/01/inv-late.yaml", "a") as f:
        f.write("payments:\n  - date: 2025-02-06\n    amount: \"100.00\"\n")
    git(root, "commit", "-q", "-am", "Paid")
    server = Server(Handler(), port=port)
    try:
        code, out, _ = run(root, "2025-02-07")
        assert out["sent"] == [] and server.handler.received == []
    finally:
        server.stop()


@pytest.mark.parametrize("tail", [
    "",                                                             # no list yet
    "reminders:\n  - level: 1\n    date: 2025-02-05\n",             # facturier's style
    "reminders:   # by hand\n- level: 1\n  date: 2025-02-05\n\n# the end\n",   # a person's style
    "reminders:\n    - level: 1\n      date: 2025-02-05",           # wide, no final newline
])
def test_appending_a_reminder_as_text_reads_back_as_the_round_trip_would(tail):
    import datetime as dt

    from engine.daily import _appended
    from engine.loader import parse_file
    from engine.writer import update_yaml
    text = OVERDUE + tail
    item = {"level": 2 if tail else 1, "date": dt.date(2025, 2, 16)}
    fast = _appended(text, {"reminders": [item]})
    slow = update_yaml(text, append={"reminders": [item]})
    _, a, da = parse_file("documents/2025/01/x.yaml", fast)
    _, b, db = parse_file("documents/2025/01/x.yaml", slow)
    assert not da and not db
    assert [(r.level, r.date) for r in a.reminders] == [(r.level, r.date) for r in b.reminders]
    assert a.reminders[-1].date == dt.date(2025, 2, 16)
    assert fast.startswith(text.rstrip("\n"))                       # nothing else touched


def test_a_list_followed_by_other_keys_goes_through_the_round_trip():
    import datetime as dt

    from engine.daily import _appended
    text = OVERDUE + "reminders:\n  - level: 1\n    date: 2025-02-05\nnotes: later\n"
    assert _appended(text, {"reminders": [{"level": 2, "date": dt.date(2025, 2, 16)}]}) is None
