"""Many clones of one book (SPEC 9): a bare remote and several clones acting
at the same time, each a separate `facturier` process, as a person's laptop
and CI runners do. What is checked is what the book of record (the remote)
holds afterwards — numbers unique and gap-free, each occurrence generated
once, each e-mail received once by a real SMTP server, a payment and a
reminder both kept — and `git fsck --strict` on the remote."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from aiosmtpd.controller import Controller

from test_daily_support import Handler, free_port

from tests.conftest import REPO, git

AS_OF = "2026-03-10"
SYNC = "sync: {remote: origin, branch: main}\n"


def settings(port: int = 25) -> str:
    return textwrap.dedent("""\
        company: {name: Atelier Exemple SA, vat_id: CHE-123.456.789 MWST,
                  address: {street: Rue du Lac, number: "1", postcode: "1000", city: Lausanne, country: CH}}
        currency: EUR
        email:
          from: "Atelier <billing@atelier.example>"
          smtp_host: 127.0.0.1
          smtp_port: %d
        """) % port + SYNC


def command(root, *args, as_of: str = AS_OF) -> list[str]:
    return [sys.executable, "-m", "tui.entry", "--book", str(root), "--as-of", as_of, *args]


def env(**extra) -> dict:
    return dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="80", **extra)


def fx(root, *args, as_of: str = AS_OF, **extra) -> subprocess.CompletedProcess:
    return subprocess.run(command(root, *args, as_of=as_of), capture_output=True, text=True,
                          env=env(**extra), cwd=str(REPO))


def together(*scripts: list[list[str]], **extra) -> list[tuple[int, str]]:
    """Run each script (a list of commands, one after the other, stopping at
    the first failure) in its own process, all at the same time: (exit
    status, stderr) of each."""
    procs = []
    for script in scripts:
        shell = " && ".join(" ".join("'%s'" % a for a in cmd) for cmd in script)
        procs.append(subprocess.Popen(["sh", "-c", shell], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, text=True, env=env(**extra),
                                      cwd=str(REPO)))
    out = []
    for proc in procs:
        _stdout, stderr = proc.communicate(timeout=600)
        out.append((proc.returncode, stderr))
    return out


@pytest.fixture
def shared(tmp_path):
    """shared(files, clones=2) -> (bare remote, [clone roots]): the book made in
    the first clone, pushed, and cloned by the others."""

    def make(files: dict[str, str], clones: int = 2):
        remote = tmp_path / "remote.git"
        git(tmp_path, "init", "-q", "--bare", str(remote))
        git(remote, "config", "receive.fsckObjects", "true")
        first = tmp_path / "clone0"
        first.mkdir()
        files = dict(files)
        files.setdefault(".gitignore", ".facturier/\n")
        for rel, text in files.items():
            (first / rel).parent.mkdir(parents=True, exist_ok=True)
            (first / rel).write_text(text)
        git(first, "init", "-q", "-b", "main")
        git(first, "add", "-A")
        git(first, "commit", "-qm", "The book")
        git(first, "remote", "add", "origin", str(remote))
        git(first, "push", "-q", "origin", "main")
        roots = [first]
        for n in range(1, clones):
            root = tmp_path / ("clone%d" % n)
            git(tmp_path, "clone", "-q", str(remote), str(root))
            roots.append(root)
        return remote, roots

    return make


def record(remote: Path, tmp_path: Path) -> dict:
    """{document id: its data} as the remote's branch holds them."""
    check = tmp_path / ("check%d" % time.monotonic_ns())
    git(tmp_path, "clone", "-q", str(remote), str(check))
    out = {}
    for path in check.glob("documents/**/*.yaml"):
        out[path.stem] = yaml.load(path.read_text(), Loader=yaml.BaseLoader)
    return out


def fsck(remote: Path) -> None:
    proc = subprocess.run(["git", "-C", str(remote), "fsck", "--strict", "--full"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def numbers(docs: dict) -> list[str]:
    return sorted(d["number"] for d in docs.values() if d.get("number"))


def new_drafts(root, n: int, price: int) -> list[str]:
    ids = []
    for i in range(n):
        made = fx(root, "doc", "new", "--customer", "acme", "--line", "Work;1;%d" % (price + i))
        assert made.returncode == 0, made.stderr
        ids.append(made.stdout.split()[-1])
    return ids


BASE = {"facturier.yaml": settings(), "contacts/acme.yaml": "name: ACME\nemail: ap@acme.example\n"}


# --------------------------------------------------------------------------- numbers

def test_validations_from_two_clones_at_once_give_unique_gap_free_numbers(shared, tmp_path):
    remote, (a, b) = shared(BASE)
    drafts = {a: new_drafts(a, 4, 100), b: new_drafts(b, 4, 200)}
    results = together(*[[command(root, "doc", "validate", d) for d in ids]
                         for root, ids in drafts.items()])
    assert [code for code, _ in results] == [0, 0], results
    for root in (a, b):
        assert fx(root, "sync").returncode == 0
    docs = record(remote, tmp_path)
    assert numbers(docs) == ["2026-%04d" % n for n in range(1, 9)]
    for ids in drafts.values():
        assert all(docs[d].get("number") for d in ids)
    # both clones end on the remote's history, with nothing left to publish
    head = git(remote, "rev-parse", "main").strip()
    assert {git(r, "rev-parse", "HEAD").strip() for r in (a, b)} == {head}
    assert git(b, "status", "--porcelain", "--", "documents") == ""
    fsck(remote)


def test_a_clone_behind_the_remote_validates_with_the_next_free_number(shared, tmp_path):
    remote, (a, b) = shared(BASE)
    (first,) = new_drafts(a, 1, 100)
    (second,) = new_drafts(b, 1, 200)
    assert fx(a, "doc", "validate", first).returncode == 0
    done = fx(b, "doc", "validate", second)
    assert done.returncode == 0, done.stderr
    assert "as 2026-0002" in done.stderr            # what was published, not what was planned
    docs = record(remote, tmp_path)
    assert (docs[first]["number"], docs[second]["number"]) == ("2026-0001", "2026-0002")
    assert git(b, "log", "-1", "--format=%B").count("Facturier-Input") == 1


def test_an_unreachable_remote_gives_no_number_and_changes_nothing(shared, tmp_path):
    remote, (a,) = shared(BASE, clones=1)
    (draft,) = new_drafts(a, 1, 100)
    git(a, "remote", "set-url", "origin", str(tmp_path / "gone.git"))
    before = git(a, "rev-parse", "HEAD").strip()
    refused = fx(a, "doc", "validate", draft)
    assert refused.returncode == 1
    assert "not published" in refused.stderr and "Traceback" not in refused.stderr
    assert git(a, "rev-parse", "HEAD").strip() == before
    assert git(a, "status", "--porcelain") == ""
    assert "number" not in next(a.glob("documents/**/%s.yaml" % draft)).read_text()
    # an action that gives no number commits locally, published by the next sync
    assert fx(a, "doc", "hold", draft).returncode == 0
    assert fx(a, "sync").returncode == 1
    git(a, "remote", "set-url", "origin", str(remote))
    synced = fx(a, "sync")
    assert synced.returncode == 0, synced.stderr
    assert record(remote, tmp_path)[draft]["holds"]
    fsck(remote)


def test_without_sync_nothing_is_pushed(make_book, cli, tmp_path):
    root = make_book({"contacts/acme.yaml": "name: ACME\n"})
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(root, "remote", "add", "origin", str(remote))
    made = cli("--as-of", AS_OF, "doc", "new", "--customer", "acme", "--line", "W;1;10", book=root)
    assert cli("--as-of", AS_OF, "doc", "validate", made.out.split()[-1], book=root).code == 0
    assert git(remote, "for-each-ref") == ""
    refused = cli("sync", book=root)
    assert refused.code == 1 and "sync" in refused.err


# --------------------------------------------------------------------------- runners

RECURRENCE = """\
name: Hosting
template: inv-tpl
rule: FREQ=MONTHLY;BYMONTHDAY=1
start: 2026-01-01
issue: send
last: 2026-01-01
"""

TEMPLATE = """\
kind: invoice
customer: acme
date: 2026-01-01
lines:
  - description: Hosting
    unit_price: "120.00"
"""


@pytest.fixture
def smtp():
    handler = Handler()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, handler
    controller.stop()


def test_two_runners_on_the_same_day_generate_and_email_each_occurrence_once(shared, smtp,
                                                                            tmp_path):
    port, handler = smtp
    files = {"facturier.yaml": settings(port), "contacts/acme.yaml": BASE["contacts/acme.yaml"],
             "documents/2026/01/inv-tpl.yaml": TEMPLATE, "recurrences/hosting.yaml": RECURRENCE}
    remote, runners = shared(files, clones=3)
    for day in (AS_OF, "2026-04-02"):
        results = together(*[[command(r, "run", as_of=day)] for r in runners])
        assert [code for code, _ in results] == [0, 0, 0], results
    docs = record(remote, tmp_path)
    generated = sorted(d for d in docs if d.startswith("hosting-"))
    assert generated == ["hosting-2026-02-01", "hosting-2026-03-01", "hosting-2026-04-01"]
    assert numbers(docs) == ["2026-0001", "2026-0002", "2026-0003"]
    for doc_id in generated:
        mails = [d for d in docs[doc_id]["deliveries"] if d["channel"] == "email"]
        assert [m["result"] for m in mails] == ["sent"], (doc_id, mails)
    assert sorted(handler.documents()) == generated         # each received once
    fsck(remote)


OVERDUE = """\
kind: invoice
customer: acme
date: 2026-01-05
due: 2026-02-04
number: "2026-0001"
validated: 2026-01-05
lines:
  - description: Consulting
    unit_price: "1000.00"
"""


def test_a_persons_payment_and_a_runners_reminder_on_one_invoice_are_both_kept(shared, smtp,
                                                                              tmp_path):
    port, handler = smtp
    files = {"facturier.yaml": settings(port), "contacts/acme.yaml": BASE["contacts/acme.yaml"],
             "documents/2026/01/inv-late.yaml": OVERDUE}
    remote, (person, runner) = shared(files)
    results = together([command(person, "doc", "pay", "inv-late", "400", "--reference", "R1"),
                        command(person, "sync")],
                       [command(runner, "run")])
    assert [code for code, _ in results] == [0, 0], results
    assert fx(person, "sync").returncode == 0
    doc = record(remote, tmp_path)["inv-late"]
    assert [(p["amount"], p["reference"]) for p in doc["payments"]] == [("400.00", "R1")]
    sent = [d for d in doc.get("deliveries", []) if d["result"] == "sent"]
    # the reminder is kept when it went out; each e-mail received is recorded once
    assert len(handler.received) == len(sent) == len(doc.get("reminders", []))
    assert len(sent) <= 1
    # the person's second sync has nothing more to do, and doubles nothing
    again = fx(person, "sync")
    assert again.returncode == 0
    assert record(remote, tmp_path)["inv-late"]["payments"] == doc["payments"]
    fsck(remote)


def test_a_payment_replayed_on_a_remote_that_has_it_is_not_recorded_twice(shared, tmp_path):
    files = dict(BASE, **{"documents/2026/01/inv-late.yaml": OVERDUE})
    remote, (a, b) = shared(files)
    assert fx(a, "doc", "pay", "inv-late", "100", "--reference", "BANK-1").returncode == 0
    assert fx(b, "doc", "pay", "inv-late", "100", "--reference", "BANK-1").returncode == 0
    assert fx(b, "doc", "pay", "inv-late", "50", "--reference", "BANK-2").returncode == 0
    for root in (a, b):
        synced = fx(root, "sync")
        assert synced.returncode == 0, synced.stderr
    doc = record(remote, tmp_path)["inv-late"]
    assert [(p["amount"], p["reference"]) for p in doc["payments"]] == [
        ("100.00", "BANK-1"), ("50.00", "BANK-2")]


# --------------------------------------------------------------------------- conflicts

def test_a_conflicting_hand_commit_stops_the_sync_names_the_file_and_loses_nothing(shared):
    remote, (a, b) = shared(BASE)
    (a / "contacts/acme.yaml").write_text("name: ACME Inc\nemail: ap@acme.example\n")
    git(a, "commit", "-qam", "Rename ACME")
    git(a, "push", "-q", "origin", "main")
    (draft,) = new_drafts(b, 1, 100)
    (b / "contacts/acme.yaml").write_text("name: ACME SA\nemail: ap@acme.example\n")
    git(b, "commit", "-qam", "ACME is an SA")
    before = git(b, "rev-parse", "HEAD").strip()
    stopped = fx(b, "sync")
    assert stopped.returncode == 1
    assert "contacts/acme.yaml" in stopped.stderr and "refs/facturier/backup/" in stopped.stderr
    assert git(b, "rev-parse", "HEAD").strip() == before
    assert git(b, "status", "--porcelain") == ""
    backups = git(b, "for-each-ref", "--format=%(objectname)", "refs/facturier/backup/").split()
    assert backups == [before]
    # a number is never given while the clone cannot publish
    refused = fx(b, "doc", "validate", draft)
    assert refused.returncode == 1
    assert git(b, "rev-parse", "HEAD").strip() == before


# --------------------------------------------------------------------------- kills

@pytest.mark.parametrize("point", ["before-push", "pushed", "move", "replay-moved", "replay-one"])
def test_a_kill_while_publishing_or_replaying_leaves_nothing_doubled_after_the_next_sync(
        shared, tmp_path, point):
    remote, (a, b) = shared(BASE)
    (first,) = new_drafts(a, 1, 100)
    assert fx(a, "doc", "validate", first).returncode == 0
    mine = new_drafts(b, 2, 200)
    assert fx(b, "doc", "pay", "2026-0001", "10").returncode == 1      # not in b's book yet
    killed = fx(b, "doc", "validate", mine[0], FACTURIER_TEST_CRASH=point)
    assert killed.returncode == -9, killed.stderr
    synced = fx(b, "sync")
    assert synced.returncode == 0, synced.stderr
    assert fx(b, "doc", "validate", mine[1]).returncode == 0
    assert fx(a, "sync").returncode == 0
    docs = record(remote, tmp_path)
    got = numbers(docs)
    assert got == sorted(set(got)), got                  # no number given twice
    assert got[-1] == "2026-%04d" % len(got)             # and none skipped
    assert docs[first]["number"] == "2026-0001"
    assert docs[mine[1]].get("number")
    assert git(b, "status", "--porcelain", "--", "documents", "contacts") == ""
    assert git(b, "for-each-ref", "refs/facturier/replay") == ""
    fsck(remote)


def test_a_runner_killed_after_publishing_leaves_each_email_sent_once(shared, smtp, tmp_path):
    port, handler = smtp
    files = {"facturier.yaml": settings(port), "contacts/acme.yaml": BASE["contacts/acme.yaml"],
             "documents/2026/01/inv-tpl.yaml": TEMPLATE, "recurrences/hosting.yaml": RECURRENCE}
    remote, (a, b) = shared(files)
    killed = fx(a, "run", FACTURIER_TEST_CRASH="pushed")     # its numbers are out, no e-mail yet
    assert killed.returncode == -9, killed.stderr
    assert handler.received == []
    for root in (b, a, b):
        done = fx(root, "run")
        assert done.returncode == 0, done.stderr
    docs = record(remote, tmp_path)
    assert numbers(docs) == ["2026-0001", "2026-0002"]
    assert sorted(handler.documents()) == ["hosting-2026-02-01", "hosting-2026-03-01"]
    fsck(remote)


def test_a_hold_and_a_runners_reminder_on_one_invoice_are_both_kept(shared, tmp_path):
    files = dict(BASE, **{"documents/2026/01/inv-late.yaml": OVERDUE})
    remote, (person, runner) = shared(files)
    assert fx(person, "doc", "hold", "inv-late", "--reason", "disputed").returncode == 0
    assert fx(runner, "run", "--no-send").returncode == 0       # a reminder, published
    synced = fx(person, "sync")
    assert synced.returncode == 0, synced.stderr
    doc = record(remote, tmp_path)["inv-late"]
    assert [h["reason"] for h in doc["holds"]] == ["disputed"]
    assert [r["level"] for r in doc["reminders"]] == ["1"]


def test_a_sync_killed_while_replaying_is_finished_by_the_next_one(shared, tmp_path):
    remote, (a, b) = shared(dict(BASE, **{"documents/2026/01/inv-late.yaml": OVERDUE}))
    (first,) = new_drafts(a, 1, 100)
    assert fx(a, "doc", "validate", first).returncode == 0
    assert fx(b, "doc", "pay", "inv-late", "100").returncode == 0
    assert fx(b, "doc", "pay", "inv-late", "200").returncode == 0
    killed = fx(b, "sync", FACTURIER_TEST_CRASH="replay-one")
    assert killed.returncode == -9
    assert git(b, "for-each-ref", "--format=%(refname)", "refs/facturier/replay").strip()
    synced = fx(b, "sync")
    assert synced.returncode == 0, synced.stderr
    doc = record(remote, tmp_path)["inv-late"]
    assert [p["amount"] for p in doc["payments"]] == ["100.00", "200.00"]
    assert git(b, "for-each-ref", "refs/facturier/replay") == ""
    fsck(remote)


def test_a_sync_setting_that_does_not_read_refuses_numbers_and_is_named(make_book, cli):
    root = make_book({"facturier.yaml": "currency: EUR\nsync: {remote: \"https://x/y.git\"}\n",
                      "contacts/acme.yaml": "name: ACME\n"})
    checked = cli("check", book=root)
    assert checked.code == 1 and "facturier.yaml:2" in checked.out + checked.err
    assert "sync.remote" in checked.out + checked.err
    made = cli("--as-of", AS_OF, "doc", "new", "--customer", "acme", "--line", "W;1;10", book=root)
    assert made.code == 0                       # a draft gives no number: committed locally
    before = git(root, "rev-parse", "HEAD")
    refused = cli("--as-of", AS_OF, "doc", "validate", made.out.split()[-1], book=root)
    assert refused.code == 1 and "sync" in refused.err
    assert git(root, "rev-parse", "HEAD") == before
    assert git(root, "status", "--porcelain") == ""


def test_the_same_hold_from_two_clones_is_recorded_once(shared, tmp_path):
    files = dict(BASE, **{"documents/2026/01/inv-late.yaml": OVERDUE})
    remote, (a, b) = shared(files)
    assert fx(a, "doc", "hold", "inv-late", "--reason", "disputed").returncode == 0
    assert fx(b, "doc", "hold", "inv-late", "--reason", "customer called").returncode == 0
    for root in (a, b):
        synced = fx(root, "sync")
        assert synced.returncode == 0, synced.stderr
    assert "already on the remote" in synced.stderr
    doc = record(remote, tmp_path)["inv-late"]
    assert [h["reason"] for h in doc["holds"]] == ["disputed"]


# --------------------------------------------------------------------------- doc send's outcome

VALIDATED = OVERDUE.replace("2026-02-04", "2026-03-06")


def test_doc_send_publishes_the_emails_outcome_so_other_clones_see_it_sent(shared, smtp, tmp_path):
    port, handler = smtp
    files = {"facturier.yaml": settings(port), "contacts/acme.yaml": BASE["contacts/acme.yaml"],
             "documents/2026/01/inv-1.yaml": VALIDATED}
    remote, (person, _other) = shared(files)
    sent = fx(person, "doc", "send", "inv-1")
    assert sent.returncode == 0, sent.stderr
    assert handler.documents() == ["inv-1"]
    mails = record(remote, tmp_path)["inv-1"]["deliveries"]
    assert [m["result"] for m in mails] == ["sent"]          # not left `sending` there
    assert git(person, "rev-list", "--count", "origin/main..HEAD").strip() == "0"
    fsck(remote)


def test_an_outcome_the_remote_refuses_stays_committed_here_and_the_next_sync_publishes_it(
        shared, smtp, tmp_path):
    port, handler = smtp
    files = {"facturier.yaml": settings(port), "contacts/acme.yaml": BASE["contacts/acme.yaml"],
             "documents/2026/01/inv-1.yaml": VALIDATED}
    remote, (person, _other) = shared(files)
    hook = remote / "hooks" / "pre-receive"          # the remote accepts only the attempt
    hook.write_text("#!/bin/sh\nwhile read old new ref; do\n"
                    "  git log -1 --format=%s \"$new\" | grep -q '^Send ' || "
                    "{ echo 'closed for maintenance'; exit 1; }\ndone\n")
    hook.chmod(0o755)
    sent = fx(person, "doc", "send", "inv-1")
    assert sent.returncode == 0, sent.stderr
    assert "not published yet" in sent.stdout + sent.stderr
    assert handler.documents() == ["inv-1"]
    here = yaml.load((person / "documents/2026/01/inv-1.yaml").read_text(), Loader=yaml.BaseLoader)
    assert [m["result"] for m in here["deliveries"]] == ["sent"]
    assert [m["result"] for m in record(remote, tmp_path)["inv-1"]["deliveries"]] == ["sending"]
    hook.unlink()
    synced = fx(person, "sync")
    assert synced.returncode == 0, synced.stderr
    assert [m["result"] for m in record(remote, tmp_path)["inv-1"]["deliveries"]] == ["sent"]
    assert handler.documents() == ["inv-1"]                  # received once
    fsck(remote)
