#!/usr/bin/env python3
"""Benchmark PDF rendering with one reused Typst compiler (SPEC 8.1: well under
50 ms per document; issue 12: 1,000 PDFs in at most 20 s on 2 cores).

    python benchmarks/bench_pdf.py [--count N] [--parallel 1000]

The measured set: the invoices and credit notes of the demo book (dated
2026-11-23), each rendered twice, once with the seller's IBAN a Swiss QR-IBAN
(its open invoices carry a Swiss QR-bill) and once a French IBAN (an EPC QR
code), in turn. It prints:

- one process, one Renderer, --count renders (default: the set once): the mean and the slowest time
  per PDF (sheet + payment code + compile + the Factur-X XML) and the
  extrapolated time of 1,000 PDFs on one core;
- two processes started fresh (spawn), each with its own Renderer, rendering
  --parallel PDFs between them (every other pair of the set each): the wall time from
  starting the processes to the last PDF (interpreter start, imports, book and
  renderer included) and the span of the rendering alone. This is the measured
  "1,000 PDFs on 2 cores"; every PDF is checked to be the same bytes as one
  process renders for the same document.

And the machine's load before and after (a shared machine's figures mean
little without it).
"""
from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import multiprocessing
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import msgspec  # noqa: E402

from engine.demo import demo_files  # noqa: E402
from engine.loader import parse_file  # noqa: E402
from engine.model import Book, Document, Settings  # noqa: E402
from engine.paycode import code_kind  # noqa: E402
from engine.pdf import Renderer, render_document  # noqa: E402

IBANS = {"swiss": "CH4431999123000889012",    # a QR-IBAN: QR-bill with a QR reference
         "epc": "FR7630006000011234567890189"}  # EUR on a French IBAN: EPC QR code


def demo_book(iban: str = "") -> Book:
    settings = Settings()
    contacts, documents = {}, {}
    for path, data in demo_files(dt.date(2026, 11, 23)).items():
        kind, record, _ = parse_file(path, data)
        if kind == "settings":
            settings = record
        elif kind == "contact":
            contacts[record.id] = record
        elif kind == "document":
            documents[record.id] = record
    if iban:
        company = msgspec.structs.replace(settings.company, iban=iban)
        settings = msgspec.structs.replace(settings, company=company)
    return Book(settings, contacts, documents)


def measured_set() -> list[tuple[Book, Document]]:
    """(book, document) pairs rendered in turn (see the module's docstring)."""
    books = [demo_book(IBANS[name]) for name in sorted(IBANS)]
    ids = sorted(d.id for d in books[0].documents.values()
                 if d.kind in ("invoice", "credit_note"))
    return [(book, book.documents[doc_id]) for doc_id in ids for book in books]


def _share(args: tuple[int, int]) -> tuple[float, float, float, float, list[tuple[int, str]]]:
    """One of the parallel processes (``which``: 0 or 1): renders its half of
    ``count`` PDFs, every other pair (a document with a QR-bill and with an EPC
    code), with its own Renderer; returns when its rendering
    began and ended (time.monotonic, the same clock in every process), the CPU
    time it took, its setup time, and the SHA-256 of each PDF."""
    which, count = args
    setup = time.perf_counter()
    cases = measured_set()
    renderer = Renderer()
    setup = time.perf_counter() - setup
    begin, cpu = time.monotonic(), time.process_time()
    digests = []
    for i in range(count):
        if (i // 2) % 2 != which:
            continue
        book, doc = cases[i % len(cases)]
        pdf = render_document(book, doc, renderer=renderer)
        digests.append((i, hashlib.sha256(pdf).hexdigest()))
    return begin, time.monotonic(), time.process_time() - cpu, setup, digests


def load() -> str:
    one, five, fifteen = os.getloadavg()
    return "load %.2f %.2f %.2f on %d cores" % (one, five, fifteen, os.cpu_count() or 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=0,
                        help="PDFs rendered in one process (default: the set once)")
    parser.add_argument("--parallel", type=int, default=1000,
                        help="PDFs rendered by two processes (0: skip)")
    args = parser.parse_args()
    print(load() + " (before)")
    cases = measured_set()
    kinds = [code_kind(book, doc) for book, doc in cases]
    print("measured set        %d PDFs: %d with a Swiss QR-bill, %d with an EPC QR code"
          % (len(cases), kinds.count("swiss"), kinds.count("epc")))

    args.count = args.count or len(cases)
    start = time.perf_counter()
    renderer = Renderer()
    setup = time.perf_counter() - start
    times = []
    serial = {}
    for i in range(args.count):
        book, doc = cases[i % len(cases)]
        begin = time.perf_counter()
        pdf = render_document(book, doc, renderer=renderer)
        times.append(time.perf_counter() - begin)
        serial[i % len(cases)] = hashlib.sha256(pdf).hexdigest()
    swiss = [t for i, t in enumerate(times) if kinds[i % len(cases)] == "swiss"]
    mean = statistics.mean(times)
    print("renderer setup      %6.1f ms (once)" % (setup * 1000))
    print("one PDF, mean       %6.1f ms   target < 50 ms" % (mean * 1000))
    print("one PDF, slowest    %6.1f ms" % (max(times) * 1000))
    if swiss:
        print("one QR-bill PDF     %6.1f ms (mean of %d)" % (statistics.mean(swiss) * 1000,
                                                          len(swiss)))
    print("1,000 PDFs, 1 core  %6.1f s    (extrapolated from the mean)" % (mean * 1000))

    if args.parallel:
        started = time.perf_counter()
        with multiprocessing.get_context("spawn").Pool(2) as pool:
            shares = pool.map(_share, [(0, args.parallel), (1, args.parallel)])
        wall = time.perf_counter() - started
        span = max(share[1] for share in shares) - min(share[0] for share in shares)
        digests = dict(d for share in shares for d in share[4])
        assert sorted(digests) == list(range(args.parallel))
        differ = [i for i, digest in digests.items()
                  if serial.get(i % len(cases), digest) != digest]
        if differ:
            sys.exit("PDFs %s differ from the same documents rendered in one process"
                     % differ[:10])
        print("%d PDFs, 2 processes: %.2f s wall (processes started, imports, renderers "
              "included)   target <= 20 s" % (args.parallel, wall))
        print("  rendering alone %.2f s wall; CPU %.2f + %.2f s; setup %.2f / %.2f s"
              % (span, shares[0][2], shares[1][2], shares[0][3], shares[1][3]))
    print(load() + " (after)")


if __name__ == "__main__":
    main()
