#!/usr/bin/env python3
"""Many clones publishing numbers through one remote (SPEC 9).

    bench_sync.py [--clones 8] [--each 5] [--documents 0]

Makes a bare remote and N clones of one book (optionally a make_book.py book
of --documents documents), gives each clone --each drafts, then runs the N
clones at the same time, each validating its drafts one after the other with
the real `facturier` command (one process per validation). Reports the
wall time, the publications per second, and how many pushes each publication
took (1 = published at once; more = the remote moved, the clone fetched,
planned again and pushed again). Checks that the remote's numbers are unique
and gap-free. What limits it: every publication is one update of the
remote's branch (see docs/architecture.md, "Many clones of one book").
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
AS_OF = "2026-06-30"


def git(root, *args):
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


def fx(root, *args):
    return [sys.executable, "-m", "tui.entry", "--lang", "en", "--book", str(root),
            "--as-of", AS_OF, *args]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--clones", type=int, default=8)
    parser.add_argument("--each", type=int, default=5)
    parser.add_argument("--documents", type=int, default=0)
    args = parser.parse_args()
    env = dict(os.environ, PYTHONPATH=str(REPO))
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        remote, first = tmp / "remote.git", tmp / "clone0"
        git(tmp, "init", "-q", "--bare", "--initial-branch=main", str(remote))
        if args.documents:
            subprocess.run([sys.executable, str(REPO / "benchmarks" / "make_book.py"), str(first),
                            "--documents", str(args.documents)], check=True, capture_output=True)
        else:
            first.mkdir()
            (first / "contacts").mkdir()
            (first / "contacts" / "acme.yaml").write_text("name: ACME\n")
            (first / "facturier.yaml").write_text("currency: EUR\n")
            (first / ".gitignore").write_text(".facturier/\n")
            git(first, "init", "-q", "-b", "main")
            git(first, "add", "-A")
            git(first, "commit", "-qm", "book")
        with open(first / "facturier.yaml", "a") as f:
            f.write("sync: {remote: origin, branch: main}\n")
        git(first, "commit", "-qam", "Share the book")
        git(first, "remote", "add", "origin", str(remote))
        git(first, "push", "-q", "origin", "HEAD:main")
        clones = [first] + [tmp / ("clone%d" % n) for n in range(1, args.clones)]
        for root in clones[1:]:
            git(tmp, "clone", "-q", str(remote), str(root))
        contact = sorted(p.stem for p in (first / "contacts").glob("*.yaml"))[0]
        drafts = {}
        for n, root in enumerate(clones):
            drafts[root] = []
            for i in range(args.each):
                made = subprocess.run(fx(root, "doc", "new", "--customer", contact, "--line",
                                         "Work;1;%d" % (1000 * n + i + 1)),
                                      capture_output=True, text=True, env=env, check=True)
                drafts[root].append(made.stdout.split()[-1])
        start = time.perf_counter()
        procs = []
        for root, ids in drafts.items():
            script = " && ".join(" ".join("'%s'" % a for a in fx(root, "doc", "validate", d))
                                 for d in ids)
            procs.append(subprocess.Popen(["sh", "-c", script], stderr=subprocess.PIPE,
                                          stdout=subprocess.DEVNULL, text=True, env=env))
        errors = [p.communicate()[1] for p in procs]
        wall = time.perf_counter() - start
        failed = [e for p, e in zip(procs, errors) if p.returncode != 0]
        pushes = []
        for err in errors:
            validated = err.count("Validate ")
            more = [int(m) for m in re.findall(r"published after (\d+) pushes", err)]
            pushes += more + [1] * (validated - len(more))
        check = tmp / "check"
        git(tmp, "clone", "-q", str(remote), str(check))
        numbers = git(check, "grep", "-h", "^number:", "--", "documents").split("\n")
        total = args.clones * args.each
        print("%d clones x %d validations: %.1f s, %.2f publications/s" % (
            args.clones, args.each, wall, len(pushes) / wall))
        if pushes:
            print("pushes per publication: mean %.2f, median %d, max %d" % (
                statistics.mean(pushes), statistics.median(pushes), max(pushes)))
        print("failed clones: %d; numbers on the remote: %d (unique: %s)" % (
            len(failed), len([n for n in numbers if n]), len(set(numbers)) == len(numbers)))
        for err in failed:
            print(err[-500:], file=sys.stderr)
        return 0 if not failed and len(pushes) == total else 1


if __name__ == "__main__":
    sys.exit(main())
