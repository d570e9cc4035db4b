"""Benchmarks of the write side and the audit trail (prints figures; not a test).

    python benchmarks/bench_commits.py [--big DIR] [--runs 3]

1. 1,000 documents written as 1,000 commits by one Writer session in a batch
   (as `facturier run` writes what it generates: one publish per 500
   commits), timed as a whole process, --runs times on fresh books (target:
   best <= 2 s); and the same without a batch, each commit published on its
   own (the cost of single actions).
2. One payment (`facturier doc pay`) in the 100,000-document book (a copy of
   --big, else one made by make_book.py), whole process, against `git add` +
   `git commit` of one file in the same copy: runs alternate, 7 of each; best
   and medians compared (target: ratio <= 1, issue 10).
3. `facturier log ID` in a book with 10,000 commits, whole process (target <= 1 s).

Python runs with its byte code cached (as installed); the machine's load is
printed before and after.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import book_copy, load
from benchlib import env as _env

REPO = Path(__file__).resolve().parent.parent

SESSION = """
import contextlib, datetime as dt, sys
from decimal import Decimal
sys.path.insert(0, %(repo)r)
from engine import actions as A
root, count, start = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
day = dt.date(2025, 1, 5)
with A.open_writer(root) as w, (w.batch() if len(sys.argv) > 4 else contextlib.nullcontext()):
    for i in range(start, start + count):
        c = A.plan_create_document(w.book, {"kind": "invoice", "customer": "acme-%%d" %% (i %% 50),
            "date": day + dt.timedelta(days=i %% 365),
            "lines": [{"description": "Service %%d" %% i, "quantity": Decimal("1"),
                       "unit_price": Decimal(i %% 997) + Decimal("0.50")}]}, day)
        w.commit(c)
"""


def _git(root, *args):
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


def make_book(root: Path) -> None:
    (root / "contacts").mkdir(parents=True)
    (root / "facturier.yaml").write_text('currency: EUR\nvat: "8.1"\n')
    (root / ".gitignore").write_text(".facturier/\n")
    for i in range(50):
        (root / "contacts" / ("acme-%d.yaml" % i)).write_text("name: ACME %d\n" % i)
    _git(root, "init", "-q", "-b", "main")
    _git(root, "add", "-A")
    subprocess.run(["git", "-C", str(root), "commit", "-q", "-m", "Bench book"], check=True,
                   env=_env())


def session(root: Path, count: int, start: int = 0, batch: bool = False) -> float:
    t = time.perf_counter()
    subprocess.run([sys.executable, "-c", SESSION % {"repo": str(REPO)}, str(root), str(count),
                    str(start)] + (["batch"] if batch else []), check=True, env=_env())
    return time.perf_counter() - t


def cli(*args) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "tui.entry", *args], capture_output=True,
                          text=True, env=_env(), cwd=str(REPO))
    return time.perf_counter() - t, proc


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--big", type=Path, default=None,
                        help="the 100,000-document book (copied; default: made by make_book.py)")
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--skip-log", action="store_true")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="facturier-bench-"))
    print(load())
    try:
        for batch in (True, False):
            times = []
            for run in range(args.runs if batch else 1):
                root = work / ("book-batch-%d" % run if batch else "book")
                make_book(root)
                times.append(session(root, 1000, batch=batch))
                commits = int(_git(root, "rev-list", "--count", "HEAD"))
                dirty = _git(root, "status", "--porcelain", "--", "documents")
            print("1,000 documents as 1,000 commits (one session%s, whole process): best %.2f s, "
                  "median %.2f s of %d (%s; %d commits, work tree %s)"
                  % (", batch" if batch else ", each published", min(times),
                     sorted(times)[len(times) // 2], len(times),
                     "target 2 s" if batch else "no target", commits - 1,
                     "clean" if not dirty else "DIRTY"))
        root = work / "book"

        if not args.skip_big:
            copy = book_copy(work, "big", args.big)
            doc_id = None
            for doc in (copy / "documents").rglob("inv-*.yaml"):
                if "validated:" in doc.read_text():
                    doc_id = doc.name[:-5]
                    break
            _git(copy, "update-index", "-q", "--refresh")
            contact = sorted((copy / "contacts").iterdir())[0]
            ours, theirs, status = [], [], "ok"
            for i in range(7):
                elapsed, proc = cli("--book", str(copy), "--as-of", "2026-06-30", "doc", "pay",
                                    doc_id, "1.00", "--reference", "bench %d" % i)
                if proc.returncode != 0:
                    status = "FAILED: " + proc.stderr.strip()
                ours.append(elapsed)
                with open(contact, "a") as f:
                    f.write("x-bench-%d: 1\n" % i)
                t = time.perf_counter()
                _git(copy, "add", "--", str(contact.relative_to(copy)))
                subprocess.run(["git", "-C", str(copy), "commit", "-q", "-m", "bench %d" % i],
                               check=True, env=_env())
                theirs.append(time.perf_counter() - t)
            ours.sort()
            theirs.sort()
            print("one payment in the 100,000-document book (whole process): best %.2f s, "
                  "median %.2f s; git add + git commit of one file there: best %.2f s, median "
                  "%.2f s; ratio of medians %.2f, of bests %.2f (target <= 1: %s; payments %s)"
                  % (ours[0], ours[3], theirs[0], theirs[3], ours[3] / theirs[3],
                     ours[0] / theirs[0], "met" if ours[0] <= theirs[0] else "not met", status))
            shutil.rmtree(copy, ignore_errors=True)

        if not args.skip_log:
            t = session(root, 9000, start=1000)
            commits = int(_git(root, "rev-list", "--count", "HEAD"))
            target = _git(root, "log", "--reverse", "--format=%(trailers:key=Facturier-Document,"
                                "valueonly)", "-n", "1", "--skip", "5000").strip() or \
                _git(root, "log", "-1", "--format=%(trailers:key=Facturier-Document,valueonly)").strip()
            # the session's `gc --auto` packs in the background; wait for it (a book in
            # daily use is packed)
            for _ in range(600):
                if not (root / ".git" / "gc.pid").exists():
                    break
                time.sleep(0.1)
            subprocess.run(["git", "-C", str(root), "gc", "--quiet"], capture_output=True)
            elapsed, proc = cli("--book", str(root), "log", target, "--format", "json")
            print("facturier log ID with %d commits (whole process): %.2f s (target 1 s; %s) "
                  "[9,000 more commits took %.1f s]"
                  % (commits, elapsed, "ok" if proc.returncode == 0 else "FAILED", t))
        print(load())
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
