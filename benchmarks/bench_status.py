#!/usr/bin/env python3
"""Benchmark `facturier status` on a large synthetic book (issue 2's targets).

    python benchmarks/bench_status.py [--documents 100000] [--book DIR] [--runs 3]

Makes the book with benchmarks/make_book.py (unless --book names one) and
prints, for `facturier --book B --as-of 2026-06-30 status --format json > /dev/null`
(whole process, median of --runs):
  cold   no .facturier/ cache                      target <= 30 s
  warm   the cache is up to date                   target <= 2.0 s
  edit   after one document is edited and committed target <= warm + 0.3 s
and the peak resident memory of the facturier process (target <= 1 GB).
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MAKE_BOOK = HERE / "make_book.py"


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall time and peak RSS (MiB) of one whole process (the largest of the
    process and the workers it waited for)."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as devnull:
        proc = subprocess.Popen(cmd, stdout=devnull, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    err = proc.stderr.read().decode()
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code not in (0, 1):
        sys.exit("facturier failed (%d): %s" % (code, err))
    return elapsed, usage.ru_maxrss // 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100000)
    parser.add_argument("--book", type=Path, default=None, help="an existing book to measure (copied)")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="facturier-bench-"))
    book = work / "book"
    if args.book:
        shutil.copytree(args.book, book, symlinks=True)
        # A copy changes every file's inode and ctime: refresh the index's stat
        # data once, as a fresh clone would have it.
        subprocess.run(["git", "-C", str(book), "update-index", "-q", "--refresh"])
    else:
        subprocess.run([sys.executable, str(MAKE_BOOK), str(book), "--documents",
                        str(args.documents)], check=True, stdout=subprocess.DEVNULL)
    shutil.rmtree(book / ".facturier", ignore_errors=True)
    exe = shutil.which("facturier") or sys.exit("facturier is not installed (pip install .)")
    cmd = [exe, "--book", str(book), "--as-of", "2026-06-30", "status", "--format", "json"]
    documents = sorted((book / "documents").rglob("*.yaml"))
    print("book: %s (%d documents)" % (book, len(documents)))

    colds, peaks = [], []
    for _ in range(args.runs):
        shutil.rmtree(book / ".facturier", ignore_errors=True)
        t, rss = timed(cmd)
        colds.append(t)
        peaks.append(rss)
    warms = []
    for _ in range(args.runs):
        t, rss = timed(cmd)
        warms.append(t)
        peaks.append(rss)
    edits = []
    git = ["git", "-C", str(book)]
    env = dict(os.environ, GIT_AUTHOR_NAME="Bench", GIT_AUTHOR_EMAIL="bench@example.invalid",
               GIT_COMMITTER_NAME="Bench", GIT_COMMITTER_EMAIL="bench@example.invalid")
    for i in range(args.runs):
        target = documents[(i + 1) * len(documents) // (args.runs + 1)]
        with open(target, "a", encoding="utf-8") as f:
            f.write("notes: edited for the benchmark %d\n" % i)
        subprocess.run(git + ["commit", "-qam", "edit %d" % i], check=True, env=env)
        t, rss = timed(cmd)
        edits.append(t)
        peaks.append(rss)

    warm = statistics.median(warms)
    print("cold  (no cache)          median %6.2f s   runs %s   target <= 30 s"
          % (statistics.median(colds), " ".join("%.2f" % t for t in colds)))
    print("warm  (cache up to date)  median %6.2f s   runs %s   target <= 2.0 s"
          % (warm, " ".join("%.2f" % t for t in warms)))
    print("edit  (one doc committed) median %6.2f s   runs %s   target <= %.2f s"
          % (statistics.median(edits), " ".join("%.2f" % t for t in edits), warm + 0.3))
    print("peak memory %d MiB (largest facturier process)   target <= 1024 MiB" % max(peaks))
    shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
