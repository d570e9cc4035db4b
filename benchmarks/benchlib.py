"""What the benchmarks share: the book they time (made by make_book.py, or
copied from one given), the facturier command as a user runs it, and the
machine's load (the figures of a shared machine mean little without it).

Standard library only; nothing outside the repository is needed: without
--book, a benchmark makes its book with make_book.py (100,000 documents take
one to two minutes).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Optional

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
AS_OF = "2026-06-30"                # make_book.py's books are as of that day


def env() -> dict:
    """The environment of a timed process: the repository importable, an
    identity for commits, and byte code cached as an installed package has it
    (PYTHONDONTWRITEBYTECODE would add the compilation of every module, about
    half a second, to each command)."""
    out = dict(os.environ, PYTHONPATH=str(REPO))
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    for key, value in (("GIT_AUTHOR_NAME", "Bench"), ("GIT_AUTHOR_EMAIL", "bench@example.com"),
                       ("GIT_COMMITTER_NAME", "Bench"),
                       ("GIT_COMMITTER_EMAIL", "bench@example.com")):
        out.setdefault(key, value)
    return out


def load() -> str:
    """The load averages (1, 5, 15 minutes) and the number of cores."""
    one, five, fifteen = os.getloadavg()
    return "load %.1f %.1f %.1f on %d cores" % (one, five, fifteen, os.cpu_count() or 1)


def book_copy(work: Path, name: str, book: Optional[Path], documents: int = 100000) -> Path:
    """A book to time in ``work``: a copy of ``book`` (``cp -a``, then the
    index's stat data refreshed, as a fresh clone has it), else one made by
    make_book.py (kept in ``work`` as ``made-<documents>`` for later copies)."""
    if book is None:
        made = work / ("made-%d" % documents)
        if not made.exists():
            print("making a book of %d documents with make_book.py..." % documents, flush=True)
            subprocess.run([sys.executable, str(HERE / "make_book.py"), str(made),
                            "--documents", str(documents)], check=True, capture_output=True,
                           env=env())
        book = made
    target = work / name
    if target.exists():
        shutil.rmtree(target)
    subprocess.run(["cp", "-a", str(book), str(target)], check=True)
    subprocess.run(["git", "-C", str(target), "update-index", "-q", "--refresh"],
                   capture_output=True)
    return target


def facturier(book: Path, *args: str, as_of: str = AS_OF,
              check: bool = True) -> tuple[float, subprocess.CompletedProcess]:
    """Wall time of one whole `facturier` process, and the process."""
    cmd = [sys.executable, "-m", "tui.entry", "--book", str(book), "--as-of", as_of, *args]
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=str(REPO), env=env())
    took = time.perf_counter() - start
    if check and proc.returncode != 0:
        sys.exit("facturier %s failed (%d): %s" % (" ".join(args), proc.returncode,
                                                    proc.stderr[-2000:]))
    return took, proc


def figures(times: list[float]) -> str:
    """'best 1.23 s, median 1.40 s of 5' (best: the least disturbed by
    other work on the machine)."""
    ordered = sorted(times)
    return "best %.2f s, median %.2f s of %d" % (ordered[0], ordered[len(ordered) // 2],
                                                 len(ordered))
