"""A crash at any point of `facturier run`, then a rerun: no document and no
e-mail twice, no number gap, a clean work tree, an interrupted e-mail attempt
reported and never resent (SPEC 4.2, 5.1, 5.2).

The crash is a real process exit (``os._exit``) placed before the k-th commit
of the run (so also between an SMTP answer and the commit of its outcome), and
after the last one; the SMTP server is a real one on 127.0.0.1."""
from __future__ import annotations

import collections
import json

import pytest

from test_daily_support import Handler, Server, base_files, facturier, git, recurrence

AS_OF = "2025-03-01"
FULL_RUN_COMMITS = 10   # 4 generated, 2 e-mails × (sending + outcome), the reminder with its `sending` + outcome

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

CRASH = """
import os
import engine.actions as _actions
_where, _k = os.environ["CRASH_WHERE"], int(os.environ["CRASH_K"])
_count = [0]
_commit = _actions.Writer.commit
def _crashing_commit(self, change):
    _count[0] += 1
    if _where == "before" and _count[0] == _k:
        os._exit(137)
    sha = _commit(self, change)
    if _where == "after" and _count[0] == _k:
        os._exit(137)
    return sha
_actions.Writer.commit = _crashing_commit
"""


def book_files(port):
    files = base_files(port)
    files["recurrences/mail.yaml"] = recurrence(issue="send", last="2025-01-01")
    files["recurrences/weekly.yaml"] = recurrence(issue="validate", rule="FREQ=WEEKLY;BYDAY=MO",
                                                  start="2025-02-17")
    files["documents/2025/01/inv-late.yaml"] = OVERDUE
    return files


def numbers(root) -> list[str]:
    out = []
    for path in root.glob("documents/**/*.yaml"):
        for line in path.read_text().splitlines():
            if line.startswith("number:"):
                out.append(line.split(":", 1)[1].strip().strip('"'))
    return sorted(out)


def run_json(root):
    proc = facturier(root, "--as-of", AS_OF, "run", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


@pytest.fixture
def server():
    s = Server(Handler())
    yield s
    s.stop()


def test_a_full_run_makes_the_commits_this_test_crashes_between(make_book, server):
    root = make_book(book_files(server.port))
    before = int(git(root, "rev-list", "--count", "HEAD"))
    out = run_json(root)
    assert int(git(root, "rev-list", "--count", "HEAD")) - before == FULL_RUN_COMMITS
    assert sorted(out["generated"]) == ["mail-2025-02-01", "mail-2025-03-01",
                                        "weekly-2025-02-17", "weekly-2025-02-24"]
    assert out["reminded"] == ["inv-late"]
    assert numbers(root) == ["2025-%04d" % n for n in range(1, 7)]


@pytest.mark.parametrize("where,k", [("before", k) for k in range(1, FULL_RUN_COMMITS + 1)]
                         + [("after", FULL_RUN_COMMITS)])
def test_crash_then_rerun_does_nothing_twice(make_book, server, where, k):
    root = make_book(book_files(server.port))
    crashed = facturier(root, "--as-of", AS_OF, "run", script=CRASH,
                        env={"CRASH_WHERE": where, "CRASH_K": str(k)})
    assert crashed.returncode == 137
    out = run_json(root)
    # every occurrence exists once, numbers without gap
    names = sorted(p.name for p in root.glob("documents/2025/0[23]/*.yaml"))
    assert names == ["mail-2025-02-01.yaml", "mail-2025-03-01.yaml", "weekly-2025-02-17.yaml",
                     "weekly-2025-02-24.yaml"]
    assert numbers(root) == ["2025-%04d" % n for n in range(1, 7)]
    # no e-mail twice; what was not finished is reported, not resent
    received = collections.Counter(server.handler.documents())
    assert all(n == 1 for n in received.values()), received
    for doc_id in ("mail-2025-02-01", "mail-2025-03-01", "inv-late"):
        path = next(root.glob("documents/**/%s.yaml" % doc_id))
        text = path.read_text()
        if "result: sending" in text:
            assert doc_id in out["sending"]
        else:
            assert "result: sent" in text and received[doc_id] == 1
    assert "level: 1" in (root / "documents/2025/01/inv-late.yaml").read_text()
    assert (root / "documents/2025/01/inv-late.yaml").read_text().count("level:") == 1
    # the work tree and the index match HEAD; a second rerun changes nothing
    assert git(root, "status", "--porcelain") == ""
    head = git(root, "rev-parse", "HEAD")
    again = run_json(root)
    assert git(root, "rev-parse", "HEAD") == head
    assert again["generated"] == [] and again["sent"] == [] and again["reminded"] == []
    assert sum(received.values()) == len(server.handler.received)
