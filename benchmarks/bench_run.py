#!/usr/bin/env python3
"""Benchmark `facturier run` (issue 4), each timed as a whole process:

1. the 100,000-document book of make_book.py (about 5,000 recurrences), copied
   to a temporary folder first (`cp -a`, then `git update-index --refresh`, as
   a clone's checkout leaves it; not timed), run on its as-of date 2026-06-30
   with --no-send: budget 20 s. Timed twice, on two copies: *warm*, with the
   parsed-record cache of `.facturier/` built beforehand by `facturier check`
   (not timed; what a daily run finds: yesterday's cache), and *cold*, without
   it (the first run after a fresh clone, parsing 100,000 files);
2. a book where 1,000 recurrences are due at once (issue: validate, so 1,000
   numbers too): budget 10 s, including the 1,000 commits;
3. a book where 200 recurrences are due at once with `issue: send`, e-mailed to
   an SMTP server on 127.0.0.1 (aiosmtpd, in this process) that accepts
   everything: each e-mail carries its invoice's PDF (Factur-X), rendered by
   the run's one Typst compiler. Prints the time per e-mail; budget 30 s.
4. (issue 10) `run` one month after the book's date (2026-07-31: thousands of
   generations and reminders), cold cache, against `hledger balance` on the
   same book's journal (`facturier export hledger`, untimed) in the same
   benchmark: target <= 4 times hledger's time (best of three for hledger).

    python benchmarks/bench_run.py [--big DIR] [--skip-big] [--due 1000] [--sends 200]

Without --big the 100,000-document book is made by make_book.py.

Prints one line per case (seconds, what the run did, budget) and exits 1 when a
case is over its budget. --no-send: the synthetic book's SMTP server does not
exist, and e-mail time is the network's, not facturier's.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))     # also when loaded from a file
from benchlib import book_copy, load  # noqa: E402
from benchlib import env as bench_env  # noqa: E402

REPO = Path(__file__).resolve().parent.parent


def git(root, *args):
    subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True)


def facturier_run(root: Path, as_of: str, send: bool = False) -> tuple[float, dict, int]:
    env = bench_env()
    cmd = [sys.executable, "-m", "tui.entry", "--book", str(root), "--as-of", as_of, "run",
           "--format", "json"] + ([] if send else ["--no-send"])
    start = time.perf_counter()
    cpu = _children_cpu()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=str(REPO))
    elapsed = time.perf_counter() - start
    LAST_CPU[0] = _children_cpu() - cpu
    if proc.returncode not in (0, 3):
        sys.stderr.write(proc.stderr[-3000:])
        raise SystemExit("facturier run failed with exit status %d" % proc.returncode)
    return elapsed, json.loads(proc.stdout), proc.returncode


LAST_CPU = [0.0]     # CPU seconds (user + system) of the last run and the git it ran


def _children_cpu() -> float:
    """CPU time of the waited-for child processes: unlike the wall clock, it
    barely moves when other work shares the machine."""
    import resource
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def commits(root: Path) -> int:
    out = subprocess.run(["git", "-C", str(root), "rev-list", "--count", "HEAD"], check=True,
                         capture_output=True, text=True).stdout
    return int(out)


def due_book(root: Path, n: int, issue: str = "validate", port: int = 25) -> None:
    """n recurrences, each with one occurrence due on 2025-06-01."""
    (root / "contacts").mkdir(parents=True)
    (root / "documents/2025/01").mkdir(parents=True)
    (root / "recurrences").mkdir()
    (root / "facturier.yaml").write_text(
        "company: {name: Bench SA, vat_id: CHE-123.456.789 MWST, address: {street: Rue du Lac, "
        "number: '1', postcode: '1000', city: Lausanne, country: CH}}\ncurrency: CHF\nlocale: fr\nemail:\n"
        "  from: \"Bench SA <billing@bench.example>\"\n  smtp_host: 127.0.0.1\n"
        "  smtp_port: %d\n" % port)
    (root / ".gitignore").write_text(".facturier/\n")
    (root / "contacts/acme.yaml").write_text("name: ACME SA\nemail: ap@acme.example\n")
    (root / "documents/2025/01/inv-tpl.yaml").write_text(
        "kind: invoice\ncustomer: acme\ndate: 2025-01-05\nlines:\n"
        "  - description: Hébergement {period}\n    quantity: 1\n    unit_price: \"120.00\"\n"
        "    vat: \"8.1\"\n")
    for i in range(n):
        (root / ("recurrences/r%04d.yaml" % i)).write_text(
            "name: Service %d\ntemplate: inv-tpl\nrule: FREQ=MONTHLY;BYMONTHDAY=1\n"
            "start: 2025-01-01\nissue: %s\nlast: 2025-05-01\n" % (i, issue))
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "-c", "user.name=bench", "-c", "user.email=bench@example.com", "commit", "-q",
        "-m", "bench book")


def report(name: str, seconds: float, budget: float, out: dict, made: int) -> bool:
    ok = seconds <= budget
    print("%-34s %6.1f s  (budget %3.0f s, %s)  generated %d, validated %d, reminded %d, "
          "stopped %d, %d commits" % (name, seconds, budget, "ok" if ok else "OVER",
                                      len(out["generated"]), len(out["validated"]),
                                      len(out["reminded"]), len(out["stopped"]), made))
    return ok


def bench_sending(tmp: str, n: int) -> bool:
    """Case 3: n invoices generated, validated and e-mailed in one run."""
    from aiosmtpd.controller import Controller

    class Sink:
        received = 0

        async def handle_DATA(self, server, session, envelope):
            Sink.received += 1
            return "250 OK"

    import socket
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(Sink(), hostname="127.0.0.1", port=port)
    controller.start()
    try:
        book = Path(tmp) / "send"
        due_book(book, n, issue="send", port=port)
        before = commits(book)
        seconds, out, _ = facturier_run(book, "2025-06-01", send=True)
    finally:
        controller.stop()
    ok = report("%d recurrences due and e-mailed" % n, seconds, 30, out, commits(book) - before)
    sent = max(1, len(out["sent"]))
    print("%-34s %6.1f ms per e-mail, %.1f ms of CPU (%d sent, %d received)"
          % ("", 1000 * seconds / sent, 1000 * LAST_CPU[0] / sent, len(out["sent"]), Sink.received))
    return ok and len(out["sent"]) == n == Sink.received


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--big", type=Path, default=None,
                        help="the 100,000-document book (copied; default: made by make_book.py)")
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--due", type=int, default=1000, help="recurrences due at once")
    parser.add_argument("--sends", type=int, default=200, help="invoices e-mailed by one run")
    args = parser.parse_args()
    os.environ.setdefault("GIT_AUTHOR_NAME", "bench")
    os.environ.setdefault("GIT_AUTHOR_EMAIL", "bench@example.com")
    os.environ.setdefault("GIT_COMMITTER_NAME", "bench")
    os.environ.setdefault("GIT_COMMITTER_EMAIL", "bench@example.com")
    ok = True
    with tempfile.TemporaryDirectory(prefix="facturier-bench-") as tmp:
        book = Path(tmp) / "due"
        due_book(book, args.due)
        before = commits(book)
        seconds, out, _ = facturier_run(book, "2025-06-01")
        ok &= report("%d recurrences due at once" % args.due, seconds, 10, out,
                     commits(book) - before)
        if args.sends:
            ok &= bench_sending(tmp, args.sends)
        if not args.skip_big:
            print(load())
            for warm in (True, False):
                copy = book_copy(Path(tmp), "big-warm" if warm else "big-cold", args.big)
                shutil.rmtree(copy / ".facturier", ignore_errors=True)
                if warm:
                    subprocess.run([sys.executable, "-m", "tui.entry", "--book", str(copy),
                                    "check"], capture_output=True, cwd=str(REPO), env=bench_env())
                before = commits(copy)
                seconds, out, _ = facturier_run(copy, "2026-06-30")
                ok &= report("100k book (%s)" % ("warm cache" if warm else "cold, no cache"),
                             seconds, 20, out, commits(copy) - before)
                shutil.rmtree(copy, ignore_errors=True)
            ok &= against_hledger(Path(tmp), args.big)
            print(load())
    return 0 if ok else 1


def against_hledger(tmp: Path, big) -> bool:
    """Case 3: a cold `run` on 2026-07-31 against `hledger balance` of the book."""
    if not shutil.which("hledger"):
        print("run against hledger: not measured (hledger is not installed)")
        return True
    copy = book_copy(tmp, "big-month", big)
    journal = tmp / "book.journal"
    subprocess.run([sys.executable, "-m", "tui.entry", "--book", str(copy), "export", "hledger",
                    "-o", str(journal)], check=True, capture_output=True, cwd=str(REPO),
                   env=bench_env())
    ledger = []
    for _ in range(3):
        start = time.perf_counter()
        subprocess.run(["hledger", "-f", str(journal), "balance"], check=True,
                       capture_output=True)
        ledger.append(time.perf_counter() - start)
    shutil.rmtree(copy / ".facturier", ignore_errors=True)
    before = commits(copy)
    seconds, out, _ = facturier_run(copy, "2026-07-31")
    ratio = seconds / min(ledger)
    print("run on 2026-07-31, cold cache: %.1f s; hledger balance on the same book: %.2f s "
          "(best of 3); ratio %.1f (target <= 4: %s); generated %d, reminded %d, %d commits"
          % (seconds, min(ledger), ratio, "ok" if ratio <= 4 else "OVER",
             len(out["generated"]), len(out["reminded"]), commits(copy) - before))
    shutil.rmtree(copy, ignore_errors=True)
    return ratio <= 4


if __name__ == "__main__":
    sys.exit(main())
