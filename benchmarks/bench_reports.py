#!/usr/bin/env python3
"""Figures of issue 14 (SPEC 10) for the reports and the export, whole processes,
on the 100,000-document book of make_book.py (or a copy of --book):

- warm `status --format json` (the cache built first, untimed), then each
  report: `report vat` on a quarter (invoice, then payment basis), `report
  aging`, `report revenue --by month`: target each <= warm status + 1 s;
- `export hledger` of the whole book: target <= 10 s; then `hledger check` on
  it (when hledger is installed) must pass.

    python benchmarks/bench_reports.py [--book DIR] [--documents 100000] [--runs 3]

Each command runs --runs times; the best (least disturbed by other work) and
the median are printed, with the machine's load. Exits 1 when a target is
missed or hledger check fails.
"""
from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchlib import book_copy, facturier, figures, load

REPORTS = (
    ("report vat (invoice basis)", ("report", "vat", "--from", "2026-01-01", "--to", "2026-03-31",
                                    "--format", "json")),
    ("report vat (payment basis)", ("report", "vat", "--from", "2026-01-01", "--to", "2026-03-31",
                                    "--basis", "payment", "--format", "json")),
    ("report aging", ("report", "aging", "--format", "json")),
    ("report revenue --by month", ("report", "revenue", "--by", "month", "--format", "json")),
)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=None, help="an existing book (copied)")
    parser.add_argument("--documents", type=int, default=100000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    ok = True
    work = Path(tempfile.mkdtemp(prefix="bench-reports-"))
    try:
        book = book_copy(work, "book", args.book, args.documents)
        print(load())
        facturier(book, "status", "--format", "json")              # the cache
        status = [facturier(book, "status", "--format", "json")[0] for _ in range(args.runs)]
        best_status = min(status)
        print("warm status --format json: %s" % figures(status))
        for label, cmd in REPORTS:
            times = [facturier(book, *cmd)[0] for _ in range(args.runs)]
            good = min(times) <= best_status + 1
            ok &= good
            print("%s: %s (target <= warm status + 1 s = %.2f s: %s)"
                  % (label, figures(times), best_status + 1, "ok" if good else "OVER"))
        journal = work / "book.journal"
        times = [facturier(book, "export", "hledger", "-o", str(journal))[0]
                 for _ in range(args.runs)]
        good = min(times) <= 10
        ok &= good
        print("export hledger of the whole book: %s (target <= 10 s: %s; %d MB)"
              % (figures(times), "ok" if good else "OVER", journal.stat().st_size // 2 ** 20))
        if shutil.which("hledger"):
            start = time.perf_counter()
            check = subprocess.run(["hledger", "-f", str(journal), "check"],
                                   capture_output=True, text=True)
            passes = check.returncode == 0
            ok &= passes
            print("hledger check: %s (%.1f s)" % ("passes" if passes else
                                                 "FAILS: " + check.stderr[:500],
                                                 time.perf_counter() - start))
        else:
            print("hledger check: not run (hledger is not installed)")
        print(load())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
