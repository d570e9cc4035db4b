#!/usr/bin/env python3
"""Figure of issue 14 (SPEC 10.3): `facturier import bank` of a camt.053
statement of 5,000 credits into the 100,000-document book of make_book.py (or a
copy of --book), its one commit included: target <= 5 s.

    python benchmarks/bench_bank.py [--book DIR] [--documents 100000] [--entries 5000] [--runs 3]

The statement is written here from the book's open invoices (read with
`status --format json`): a third name their invoice by its RF creditor
reference (made by engine.bank.rf_reference, as a bank relays it), a third by
the invoice number in the remittance text, a third by the debtor's name and
the exact open amount. Before each timed import the book is put back as it was
(`git reset --hard`, the parsed-record cache of before restored: a daily
book's warm cache), so each run records the same payments, and `sync`ed (a
file just written has no blocks on disk yet and is replaced for nothing; the
invoices of a real book have been sitting there). Prints the best and
the median, the machine's load, what was recorded, and whether the work tree
is clean and `git fsck` passes; exits 1 when over the target.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from xml.sax.saxutils import escape

from benchlib import AS_OF, REPO, book_copy, facturier, figures, load

sys.path.insert(0, str(REPO))
from engine.bank import rf_reference  # noqa: E402  (the project's own code)

OPEN = ("processing", "first_reminder", "second_reminder", "litigation", "partially_paid")


def statement(rows: list[dict]) -> str:
    """A camt.053.001.04 statement with one booked credit per row."""
    out = ['<?xml version="1.0" encoding="UTF-8"?>',
           '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.04">',
           "<BkToCstmrStmt><Stmt><Id>BENCH</Id>"]
    for i, row in enumerate(rows):
        if i % 3 == 0:
            remittance = ("<Strd><CdtrRefInf><Ref>%s</Ref></CdtrRefInf></Strd>"
                          % rf_reference(row["number"]))
        elif i % 3 == 1:
            remittance = "<Ustrd>Invoice %s, thank you</Ustrd>" % escape(row["number"])
        else:
            remittance = "<Ustrd>Monthly payment</Ustrd>"
        out.append(
            '<Ntry><Amt Ccy="%s">%s</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>BOOK</Sts>'
            "<BookgDt><Dt>%s</Dt></BookgDt><AcctSvcrRef>BENCH-%06d</AcctSvcrRef>"
            "<NtryDtls><TxDtls><RltdPties><Dbtr><Nm>%s</Nm></Dbtr></RltdPties>"
            "<RmtInf>%s</RmtInf></TxDtls></NtryDtls></Ntry>"
            % (row["currency"], row["open"], AS_OF, i, escape(row["contact_name"]), remittance))
    out.append("</Stmt></BkToCstmrStmt></Document>")
    return "\n".join(out) + "\n"


def git(root: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--book", type=Path, default=None, help="an existing book (copied)")
    parser.add_argument("--documents", type=int, default=100000)
    parser.add_argument("--entries", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-bank-"))
    try:
        book = book_copy(work, "book", args.book, args.documents)
        rows = json.loads(facturier(book, "status", "--format", "json")[1].stdout)
        rows = [r for r in rows if r["kind"] == "invoice" and r["number"]
                and r["status"] in OPEN][:args.entries]
        xml = work / "statement.xml"
        xml.write_text(statement(rows), encoding="utf-8")
        base = git(book, "rev-parse", "HEAD").strip()
        cache = work / "cache"
        shutil.copytree(book / ".facturier", cache)
        print(load())
        times, recorded, problems = [], 0, []
        for run in range(args.runs):
            if run:
                git(book, "reset", "-q", "--hard", base)
                shutil.rmtree(book / ".facturier")
                shutil.copytree(cache, book / ".facturier")
            os.sync()   # the invoices' blocks on disk, as in a book that has been sitting there
            took, proc = facturier(book, "import", "bank", str(xml), "--format", "json")
            times.append(took)
            report = json.loads(proc.stdout)[0]
            recorded = len(report["recorded"])
            if git(book, "rev-list", "--count", "%s..HEAD" % base).strip() != "1":
                problems.append("not one commit")
            if git(book, "status", "--porcelain", "--untracked-files=no"):
                problems.append("work tree not clean")
            if proc.stderr:
                problems.append("stderr: " + proc.stderr[:300])
        fsck = subprocess.run(["git", "-C", str(book), "fsck", "--no-progress", "--strict"],
                              capture_output=True, text=True)
        if fsck.returncode != 0:
            problems.append("git fsck: " + fsck.stderr[:300])
        good = min(times) <= 5 and not problems
        print("import bank, camt.053 of %d credits (%d recorded, one commit): %s "
              "(target <= 5 s: %s)%s" % (len(rows), recorded, figures(times),
                                          "ok" if min(times) <= 5 else "OVER",
                                          "; " + "; ".join(sorted(set(problems)))
                                          if problems else ""))
        print(load())
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
