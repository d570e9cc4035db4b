#!/usr/bin/env python3
"""Issue 13's figure: `doc validate` in the 100,000-document book, published
to a local bare remote (`sync` set), against the same in a clone without
`sync`.

    bench_validate.py [--book DIR] [--documents 100000] [--runs 5] [--work DIR]

Makes its book with make_book.py (or copies --book), a bare remote and two
clones of it (one with `sync: {remote: origin, branch: main}`, one without),
adds --runs drafts to each, validates one first (the cold run: it parses
the book once and writes the numbering index, engine/numindex.py), then
times each validation as a whole `facturier` process: wall time and CPU
time (facturier and the git processes it ran). Checks that the numbers
given follow each other and that the remote holds the published ones.
"""
from __future__ import annotations

import argparse
import re
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

from benchlib import AS_OF, book_copy, facturier, figures, load


def git(root, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def drafts(root: Path, prefix: str, count: int) -> list[str]:
    """``count`` invoice drafts dated the book's day, committed."""
    contact = sorted(p.stem for p in (root / "contacts").glob("*.yaml"))[0]
    ids = []
    for n in range(count + 1):
        doc_id = "inv-%s-%02d" % (prefix, n)
        path = root / "documents" / AS_OF[:4] / AS_OF[5:7] / (doc_id + ".yaml")
        path.write_text("kind: invoice\ncustomer: %s\ndate: %s\nlines:\n"
                        "  - {description: Work, quantity: 1, unit_price: \"%d.00\"}\n"
                        % (contact, AS_OF, 100 + n), encoding="utf-8")
        ids.append(doc_id)
    git(root, "add", "documents")
    git(root, "commit", "-qm", "Drafts to validate")
    return ids


def validate_all(root: Path, ids: list[str], label: str) -> None:
    took, proc = facturier(root, "doc", "validate", ids[0])
    print("%s: first validation (parses the book, writes the index): %.1f s" % (label, took),
          flush=True)
    numbers = [_number(proc.stderr)]
    walls, cpus = [], []
    for doc_id in ids[1:]:
        before = cpu()
        took, proc = facturier(root, "doc", "validate", doc_id)
        cpus.append(cpu() - before)
        walls.append(took)
        numbers.append(_number(proc.stderr))
    seqs = [int(n.rsplit("-", 1)[-1]) for n in numbers]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), numbers
    print("%s: wall %s; CPU %s (%s)" % (label, figures(walls), figures(cpus), load()),
          flush=True)


def _number(stderr: str) -> str:
    found = re.findall(r" as (\S+)", stderr) or re.findall(r"numéro (\S+)", stderr)
    assert found, stderr
    return found[-1]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--book", type=Path)
    parser.add_argument("--documents", type=int, default=100000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--work", type=Path, help="keep the books here (default: a temporary folder)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        print(load(), flush=True)
        source = book_copy(work, "source", args.book, args.documents)
        remote = work / "remote.git"
        subprocess.run(["rm", "-rf", str(remote)], check=True)
        git(work, "init", "-q", "--bare", "--initial-branch=main", str(remote))
        settings = source / "facturier.yaml"
        settings.write_text(settings.read_text() + "sync: {remote: origin, branch: main}\n")
        git(source, "commit", "-qam", "Share the book")
        git(source, "remote", "add", "origin", str(remote))
        git(source, "push", "-q", "origin", "HEAD:main")
        clones = {}
        for name in ("synced", "local"):
            clone = work / name
            subprocess.run(["rm", "-rf", str(clone)], check=True)
            git(work, "clone", "-q", str(remote), str(clone))
            clones[name] = clone
        local = clones["local"] / "facturier.yaml"
        local.write_text(local.read_text().replace("sync: {remote: origin, branch: main}\n", ""))
        git(clones["local"], "commit", "-qam", "No sync in this clone")
        synced_ids = drafts(clones["synced"], "s", args.runs)
        git(clones["synced"], "push", "-q", "origin", "HEAD:main")
        local_ids = drafts(clones["local"], "l", args.runs)
        validate_all(clones["synced"], synced_ids, "doc validate, published (sync)")
        validate_all(clones["local"], local_ids, "doc validate, no sync")
        published = git(remote, "log", "--format=%s", "-%d" % len(synced_ids))
        assert published.count("Validate invoice") == len(synced_ids), published
        print(load())
    return 0


if __name__ == "__main__":
    sys.exit(main())
