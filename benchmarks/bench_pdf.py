#!/usr/bin/env python3
"""Benchmark PDF rendering with one reused Typst compiler (SPEC 8.1: well under
50 ms per document; issue 12: 1,000 PDFs in at most 20 s on 2 cores).

    python benchmarks/bench_pdf.py [--count 200]

Renders the invoices and credit notes of the demo book (dated 2026-11-23) in
turn, --count renders in all, with one Renderer, and prints the mean and the
slowest time per PDF (sheet + compile, the Factur-X XML included when it is
implemented) and the extrapolated time for 1,000 PDFs on one core.
"""
from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.demo import demo_files  # noqa: E402
from engine.loader import parse_file  # noqa: E402
from engine.model import Book  # noqa: E402
from engine.pdf import Renderer, render_document  # noqa: E402


def demo_book() -> Book:
    book = Book()
    for path, data in demo_files(dt.date(2026, 11, 23)).items():
        kind, record, _ = parse_file(path, data)
        if kind == "settings":
            book.settings = record
        elif kind == "contact":
            book.contacts[record.id] = record
        elif kind == "document":
            book.documents[record.id] = record
    return book


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    book = demo_book()
    docs = sorted((d for d in book.documents.values() if d.kind in ("invoice", "credit_note")),
                  key=lambda d: d.id)
    start = time.perf_counter()
    renderer = Renderer()
    setup = time.perf_counter() - start
    times = []
    for i in range(args.count):
        doc = docs[i % len(docs)]
        begin = time.perf_counter()
        render_document(book, doc, renderer=renderer)
        times.append(time.perf_counter() - begin)
    mean = statistics.mean(times)
    print("renderer setup      %6.1f ms (once)" % (setup * 1000))
    print("one PDF, mean       %6.1f ms   target < 50 ms" % (mean * 1000))
    print("one PDF, slowest    %6.1f ms" % (max(times) * 1000))
    print("1,000 PDFs, 1 core  %6.1f s    target <= 20 s on 2 cores" % (mean * 1000))


if __name__ == "__main__":
    main()
