#!/usr/bin/env python3
"""Figures of SPEC 10 (bookkeeping) on a generated book, whole processes:

    bench_books.py [--documents 100000] [--book DIR] [--entries 5000]

- warm `status --format json`, then each report (`report vat` on a quarter,
  invoice and payment basis; `report aging`; `report revenue --by month`):
  target each ≤ warm status + 1 s;
- `export hledger` of the whole book (target ≤ 10 s), then `hledger check`;
- `import bank` of a camt.053 of N credits naming open invoices by number
  (target ≤ 5 s for 5,000, its commit included).

The book is made by make_book.py (or copied from --book) into a temporary
folder; nothing else is touched.
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

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
AS_OF = "2026-06-30"


def run(book: Path, *args: str, check: bool = True) -> tuple[float, str]:
    cmd = [sys.executable, "-m", "tui.entry", "--book", str(book), "--as-of", AS_OF, *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(REPO),
                          env=dict(os.environ, PYTHONPATH=str(REPO)))
    took = time.perf_counter() - start
    if check and proc.returncode != 0:
        sys.exit("%s failed: %s" % (" ".join(args), proc.stderr[-2000:]))
    return took, proc.stdout


def camt(entries: list[tuple[str, str, str]]) -> str:
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04">',
           "<BkToCstmrStmt><Stmt><Id>BENCH</Id>"]
    for i, (number, amount, currency) in enumerate(entries):
        out.append('<Ntry><Amt Ccy="%s">%s</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
                   "<BookgDt><Dt>%s</Dt></BookgDt><AcctSvcrRef>BENCH-%06d</AcctSvcrRef>"
                   "<NtryDtls><TxDtls><RmtInf><Ustrd>Invoice %s</Ustrd></RmtInf></TxDtls>"
                   "</NtryDtls></Ntry>" % (currency, amount, AS_OF, i, number))
    out.append("</Stmt></BkToCstmrStmt></Document>")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=100000)
    parser.add_argument("--book", type=Path, default=None, help="an existing book (copied)")
    parser.add_argument("--entries", type=int, default=5000)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-books-"))
    try:
        book = work / "book"
        if args.book:
            shutil.copytree(args.book, book, symlinks=True)
        else:
            subprocess.run([sys.executable, str(HERE / "make_book.py"), str(book),
                            "--documents", str(args.documents)], check=True,
                           capture_output=True)
        run(book, "status", "--format", "json")                  # warm the cache
        status = min(run(book, "status", "--format", "json")[0] for _ in range(2))
        print("documents: %d" % sum(1 for _ in (book / "documents").rglob("*.yaml")))
        print("warm status --format json: %.2f s" % status)
        for label, cmd in (
                ("report vat (invoice basis)", ("report", "vat", "--from", "2026-01-01",
                                                "--to", "2026-03-31", "--format", "json")),
                ("report vat (payment basis)", ("report", "vat", "--from", "2026-01-01",
                                                "--to", "2026-03-31", "--basis", "payment",
                                                "--format", "json")),
                ("report aging", ("report", "aging", "--format", "json")),
                ("report revenue --by month", ("report", "revenue", "--by", "month",
                                               "--format", "json"))):
            took = min(run(book, *cmd)[0] for _ in range(2))
            print("%s: %.2f s (target ≤ %.2f s)" % (label, took, status + 1))
        journal = work / "book.journal"
        took, _ = run(book, "export", "hledger", "-o", str(journal))
        print("export hledger: %.2f s (target ≤ 10 s)" % took)
        if shutil.which("hledger"):
            start = time.perf_counter()
            check = subprocess.run(["hledger", "-f", str(journal), "check"], capture_output=True,
                                   text=True)
            print("hledger check: %s (%.1f s)" % ("passes" if check.returncode == 0 else
                                                 "FAILS: " + check.stderr[:300],
                                                 time.perf_counter() - start))
        rows = json.loads(run(book, "status", "--format", "json")[1])
        open_rows = [r for r in rows if r["kind"] == "invoice" and r["number"]
                     and r["status"] in ("processing", "first_reminder", "second_reminder",
                                         "litigation", "partially_paid", "recurring")]
        entries = [(r["number"], r["open"], r["currency"]) for r in open_rows[:args.entries]]
        statement = work / "statement.xml"
        statement.write_text(camt(entries), encoding="utf-8")
        took, out = run(book, "import", "bank", str(statement), "--format", "json")
        recorded = len(json.loads(out)[0]["recorded"])
        print("import bank, %d entries (%d recorded, one commit): %.2f s (target ≤ 5 s for 5,000)"
              % (len(entries), recorded, took))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
