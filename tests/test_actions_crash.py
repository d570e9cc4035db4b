"""kill -9 at random moments of a sequence of actions (SPEC 5.1): HEAD stays
at the last complete action, `git fsck --strict` is clean, and after the
next session's recovery the work tree and index match HEAD and numbers have
no gap or duplicate."""
from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import textwrap
import time

from engine.actions import open_writer
from engine.book import load_book
from engine.checks import check_book
from tests.conftest import REPO, git

WORKER = textwrap.dedent("""
    import datetime as dt, sys
    from decimal import Decimal
    sys.path.insert(0, %r)
    from engine import actions as A
    root = sys.argv[1]
    day = dt.date(2025, 1, 5)
    n = 0
    while True:
        with A.open_writer(root) as w:
            for _ in range(5):
                n += 1
                c = A.plan_create_document(w.book, {"kind": "invoice", "customer": "acme",
                    "lines": [{"description": "run %%s item %%d" %% (sys.argv[2], n),
                               "unit_price": Decimal(n)}]}, day)
                w.commit(c)
                doc = c.ids("Facturier-Document")[0]
                w.commit(A.plan_validate(w.book, doc, day))
                w.commit(A.plan_payment(w.book, doc, Decimal("1"), day))
            print("batch", flush=True)
""") % str(REPO)


def _book_status(root):
    return git(root, "status", "--porcelain", "--untracked-files=all", "--", "facturier.yaml",
               "contacts", "documents", "recurrences")


def test_kill_at_random_points_never_breaks_the_book(make_book):
    root = make_book({"contacts/acme.yaml": "name: ACME\n"})
    rng = random.Random(20250105)
    last_head = git(root, "rev-parse", "HEAD").strip()
    for round_ in range(8):
        proc = subprocess.Popen([sys.executable, "-c", WORKER, str(root), str(round_)],
                                stdout=subprocess.PIPE)
        proc.stdout.readline()           # a first session completed: the kill lands in the next
        time.sleep(rng.uniform(0, 0.4))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        fsck = subprocess.run(["git", "-C", str(root), "fsck", "--strict"], capture_output=True,
                              text=True)
        assert fsck.returncode == 0, fsck.stdout + fsck.stderr
        head = git(root, "rev-parse", "HEAD").strip()
        # HEAD only ever moves forward, through complete facturier commits
        assert git(root, "merge-base", "--is-ancestor", last_head, head) == ""
        for action in git(root, "log", "--format=%(trailers:key=Facturier-Action,valueonly)",
                          "%s..%s" % (last_head, head)).split():
            assert action in ("document.create", "document.validate", "document.payment")
        last_head = head
        with open_writer(root):           # the next session repairs what the kill left
            pass
        assert _book_status(root) == ""
        assert git(root, "diff", "--cached", "--name-only", "HEAD") == ""
        book = load_book(root)
        problems = [str(d) for d in list(book.diagnostics) + check_book(book) if d.is_error]
        assert problems == []
        numbers = sorted(d.number for d in book.documents.values() if d.number)
        assert numbers == ["2025-%04d" % i for i in range(1, len(numbers) + 1)]
    assert int(git(root, "rev-list", "--count", "HEAD")) > 10
