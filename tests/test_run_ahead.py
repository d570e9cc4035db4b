"""The reminders' appends worked out ahead while a run's recurrences are
committed (engine/runspec.py, issue 10's run figure): a run with that work
ahead commits exactly what a run without it commits, whatever changed a
reminded document meanwhile (a commit, a hand edit), whatever the file's style;
a signal or a kill of the run leaves no process behind and the book whole."""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import pytest

from engine import runner
from engine.loader import parse_file
from tests.conftest import REPO, git

AS_OF = dt.date(2025, 3, 1)
NOW = "2025-03-01T06:00:00+01:00"

SETTINGS = """\
company: {name: Atelier Exemple SA, address: {street: Rue du Lac, number: "1", postcode: "1000",
          city: Lausanne, country: CH}}
currency: CHF
future_invoices: process
email:
  from: "Atelier <billing@atelier.example>"
  smtp_host: 127.0.0.1
  smtp_port: %d
"""
TEMPLATE = ("kind: invoice\ncustomer: nomail\ndate: 2025-01-05\nlines:\n"
            "  - description: Hosting {period}\n    quantity: 1\n    unit_price: \"120.00\"\n")
RECURRENCE = ("name: Hosting %d\ntemplate: inv-tpl\nrule: FREQ=MONTHLY;BYMONTHDAY=1\n"
              "start: 2025-01-01\nissue: validate\nlast: 2025-01-01\n")
OVERDUE = ("kind: invoice\ncustomer: %s\ndate: 2025-01-02\nnumber: \"2024-%04d\"\n"
           "validated: 2025-01-02\nlines:\n  - description: Consulting\n"
           "    unit_price: \"100.00\"\n")
HOSTILE = {
    # flow style: the text append would not read back; the round trip writes it
    "documents/2025/01/inv-flow.yaml":
        "{kind: invoice, customer: nomail, date: 2025-01-02, number: '2024-0900', "
        "validated: 2025-01-02, lines: [{description: x, quantity: 1, unit_price: '10'}]}\n",
    # quoted keys, a reminder list in flow style
    "documents/2025/01/inv-quoted.yaml":
        OVERDUE.replace("kind:", '"kind":') % ("nomail", 901)
        + '"reminders": [{level: 1, date: 2025-02-01}]\n',
    # CRLF, a block list of reminders that ends the file: a text append
    "documents/2025/01/inv-crlf.yaml":
        (OVERDUE % ("nomail", 902) + "reminders:\n- level: 1\n  date: 2025-02-01\n")
        .replace("\n", "\r\n"),
}
PAID_MEANWHILE = "documents/2025/01/inv-0003.yaml"      # a commit during the run pays part of it
EDITED_MEANWHILE = "documents/2025/01/inv-0004.yaml"    # edited by hand during the run
NOTED_MEANWHILE = "documents/2025/01/inv-0006.yaml"     # a comment committed during the run


def book_files(port: int) -> dict:
    files = {"facturier.yaml": SETTINGS % port, ".gitignore": ".facturier/\n",
             "contacts/acme.yaml": "name: ACME SA\nemail: ap@acme.example\n",
             "contacts/nomail.yaml": "name: No Mail Sarl\n",
             "documents/2025/01/inv-tpl.yaml": TEMPLATE,
             # a future-dated draft whose date has come: validated by the run
             "documents/2025/02/inv-later.yaml":
                 "kind: invoice\ncustomer: nomail\ndate: 2025-02-15\nscheduled: true\n"
                 "lines:\n  - description: Setup\n    unit_price: \"50.00\"\n"}
    for n in range(3):
        files["recurrences/r%d.yaml" % n] = RECURRENCE % n
    for n in range(40):
        files["documents/2025/01/inv-%04d.yaml" % n] = OVERDUE % (
            "acme" if n % 5 == 0 else "nomail", n)
    files.update(HOSTILE)
    return files


def make(root: Path, files: dict) -> Path:
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(text.encode("utf-8"))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "Test book")
    return root


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]       # nothing listens there: an SMTP outage


def history(root: Path) -> list[str]:
    """Each commit's tree and message, oldest first."""
    out = git(root, "log", "--reverse", "--format=%T%n%B%x00", "HEAD")
    return [entry.strip() for entry in out.split("\0") if entry.strip()]


def _run(root: Path, monkeypatch, ahead: bool, send: bool, meanwhile) -> tuple:
    """The run, with ``meanwhile(session)`` done between the sending step and
    the reminders (once the work ahead, if any, is complete)."""
    seen: list = []
    real = runner.run_scheduled

    def scheduled_then_meanwhile(s):
        real(s)
        if s.speculation is not None:
            seen.append(s.speculation)
            seen.append(s.speculation.pid)
            assert s.speculation.wait(60)      # deterministic: the child has finished
        meanwhile(s)
    monkeypatch.setattr(runner, "run_scheduled", scheduled_then_meanwhile)
    report = runner.run(root, AS_OF, now=lambda: NOW, send=send, ahead=ahead, smtp_timeout=2)
    monkeypatch.setattr(runner, "run_scheduled", real)
    if seen:
        with pytest.raises(ChildProcessError):      # ended and reaped: not even a zombie
            os.waitpid(seen[1], os.WNOHANG)
    return report, (seen[0] if seen else None)


def _pay_and_edit(s) -> None:
    """Changes to three reminded invoices after the work ahead was done: a
    partial payment and a comment (the record unchanged, the bytes not)
    committed through the book's own writer, a hand edit."""
    from engine.planentries import plan_payment
    from engine.session import Change
    doc = next(d for d in s.book.documents.values() if d.path == PAID_MEANWHILE)
    s.w.commit(plan_payment(s.book, doc.id, Decimal("30"), dt.date(2025, 2, 28)))
    s.w.commit(Change("document.modify", "A note on inv-0006", {
        NOTED_MEANWHILE: (s.root / NOTED_MEANWHILE).read_bytes() + b"# called on 02-27\n"}))
    with open(s.root / EDITED_MEANWHILE, "a", encoding="utf-8") as f:
        f.write("# checked by hand\n")


@pytest.mark.parametrize("send", [False, True], ids=["no-send", "smtp-outage"])
def test_a_run_with_the_work_ahead_commits_what_a_run_without_it_commits(
        tmp_path, monkeypatch, send):
    files = book_files(free_port())
    with_ahead = make(tmp_path / "ahead", files)
    without = make(tmp_path / "plain", files)
    assert history(with_ahead) == history(without)
    report, spec = _run(with_ahead, monkeypatch, True, send, _pay_and_edit)
    plain, none = _run(without, monkeypatch, False, send, _pay_and_edit)
    assert none is None and spec is not None
    assert history(with_ahead) == history(without)
    assert report.as_json() == plain.as_json()
    # what the run did: generations (numbered), the scheduled draft validated,
    # the reminders, the hand-edited invoice named and left as it was
    assert len(report.generated) == 6 and "inv-later" in report.validated
    assert EDITED_MEANWHILE in [e["file"] for e in report.errors]
    assert git(with_ahead, "status", "--porcelain", "--", "documents") == \
        " M %s\n" % EDITED_MEANWHILE
    reminded = [d for d in report.reminded]
    assert "inv-0003" in reminded and "inv-flow" in reminded and "inv-quoted" in reminded
    # the work ahead was used, and not where a document had changed meanwhile
    ahead_ids = {"inv-%04d" % n for n in range(40) if n % 5 or not send} | {"inv-crlf"}
    assert spec.used >= len(ahead_ids) - 3 and spec.discarded >= 3
    assert (with_ahead / NOTED_MEANWHILE).read_text().endswith(
        "# called on 02-27\nreminders:\n  - level: 1\n    date: 2025-03-01\n")
    for path in (PAID_MEANWHILE, "documents/2025/01/inv-flow.yaml",
                 "documents/2025/01/inv-quoted.yaml", "documents/2025/01/inv-crlf.yaml"):
        data = (with_ahead / path).read_bytes()
        _kind, doc, diagnostics = parse_file(path, data)
        assert doc is not None and not [d for d in diagnostics if d.is_error], data
        assert doc.reminders[-1].date == AS_OF, data
    _kind, paid, _d = parse_file(PAID_MEANWHILE, (with_ahead / PAID_MEANWHILE).read_bytes())
    assert [p.amount for p in paid.payments] == [Decimal("30.00")]
    assert not _children_of(os.getpid())


def test_a_child_that_dies_leaves_the_work_to_the_step(tmp_path, monkeypatch):
    files = book_files(free_port())
    killed = make(tmp_path / "killed", files)
    without = make(tmp_path / "plain", files)
    real = runner.run_recurrences
    spec: list = []

    def kill_then_recurrences(s):
        spec.append(s.speculation)
        os.kill(s.speculation.pid, signal.SIGKILL)
        real(s)
    monkeypatch.setattr(runner, "run_recurrences", kill_then_recurrences)
    report = runner.run(killed, AS_OF, now=lambda: NOW, send=False)
    monkeypatch.setattr(runner, "run_recurrences", real)
    plain = runner.run(without, AS_OF, now=lambda: NOW, send=False, ahead=False)
    assert history(killed) == history(without)
    assert report.as_json() == plain.as_json() and len(report.reminded) == 43
    assert spec[0].used == 0 and spec[0].pid is None
    assert not _children_of(os.getpid())


def test_a_dry_run_works_nothing_out_ahead(tmp_path, monkeypatch):
    root = make(tmp_path / "book", book_files(free_port()))
    forked: list = []
    real = os.fork
    monkeypatch.setattr(os, "fork", lambda: forked.append(1) or real())
    report = runner.run(root, AS_OF, now=lambda: NOW, send=False, dry_run=True)
    assert len(report.reminded) == 43 and not forked


# --------------------------------------------------------------------------- signals

def _children_of(pid: int) -> list[int]:
    """The live processes whose parent is ``pid`` (from /proc)."""
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open("/proc/%s/stat" % entry) as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            out.append(int(entry))
    return out


def _nice(pid: int) -> int:
    """The process's nice value (-100 once it is gone: never above another's)."""
    try:
        with open("/proc/%d/stat" % pid) as f:
            return int(f.read().rsplit(")", 1)[1].split()[16])
    except OSError:
        return -100


def _alive(pid: int) -> bool:
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _big_book(root: Path) -> None:
    """300 recurrences due (300 generations, each a commit) and 400 overdue
    invoices: the child has work while the recurrences are committed."""
    files = book_files(25)
    for n in range(300):
        files["recurrences/r%d.yaml" % n] = RECURRENCE % n
    for n in range(400):
        files["documents/2025/01/inv-%04d.yaml" % n] = OVERDUE % ("nomail", n)
    make(root, files)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
                         ids=["SIGINT", "SIGTERM", "SIGKILL"])
def test_a_signal_during_the_recurrences_leaves_no_process_and_a_whole_book(tmp_path, cli, sig):
    root = tmp_path / "book"
    _big_book(root)
    cmd = [sys.executable, "-m", "tui.entry", "--book", str(root), "--as-of", AS_OF.isoformat(),
           "run", "--no-send"]
    proc = subprocess.Popen(cmd, env=dict(os.environ, PYTHONPATH=str(REPO)), cwd=str(REPO),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    child = None
    deadline = time.monotonic() + 60
    while child is None and proc.poll() is None and time.monotonic() < deadline:
        child = next((pid for pid in _children_of(proc.pid) if _nice(pid) > _nice(proc.pid)),
                     None)
        time.sleep(0.005)
    assert child is not None, "the run never worked ahead"
    everything = _children_of(proc.pid)
    time.sleep(0.2)                                 # in the middle of the recurrences
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err
    deadline = time.monotonic() + 10
    while any(_alive(pid) for pid in everything) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in everything if _alive(pid)], "left behind"
    # the book: whole (recovered by the next command when killed), then the
    # rerun does the rest, every number once
    rerun = cli("--as-of", AS_OF.isoformat(), "run", "--no-send", "--format", "json", book=root)
    assert rerun.code == 0, rerun
    assert len(json.loads(rerun.out)["reminded"]) == 400 + 3     # none before the signal
    fsck = subprocess.run(["git", "-C", str(root), "fsck", "--strict", "--full"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    assert git(root, "status", "--porcelain", "--untracked-files=all", "--", "documents",
               "recurrences") == ""
    numbers = sorted(n.strip('"') for n in git(root, "grep", "-h", "^number:", "HEAD", "--",
                                                  "documents").split()[1::2]
                     if n.strip('"').startswith("2025-"))
    # 600 generated, and the scheduled draft validated
    assert numbers == ["2025-%04d" % i for i in range(1, 602)]


def test_what_a_killed_child_was_writing_is_left_to_the_step():
    """The frames the child sent whole are used; the one a kill cut short is
    not (those files are worked out by the step)."""
    from engine.runspec import _frames, _send
    r, w = os.pipe()
    _send(w, [("inv-1", 1, 3, b"abc\nreminders: ...")])
    _send(w, [("inv-2", 2, 3, b"def\nreminders: ...")])
    os.close(w)
    with os.fdopen(r, "rb") as f:
        sent = f.read()
    assert _frames(sent) == {"inv-1": (1, 3, b"abc\nreminders: ..."),
                             "inv-2": (2, 3, b"def\nreminders: ...")}
    for cut in range(1, 30):
        assert _frames(sent[:-cut]) == {"inv-1": (1, 3, b"abc\nreminders: ...")}
