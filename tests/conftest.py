"""Shared fixtures: real git books in temporary folders, and the CLI.

Git gets a hermetic identity (a temporary global config), so tests never depend
on the machine's configuration; tests that need another author pass --author.
"""
from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import pytest

_config_dir = tempfile.mkdtemp(prefix="facturier-gitconfig-")
atexit.register(shutil.rmtree, _config_dir, True)
_config = Path(_config_dir) / "gitconfig"
_config.write_text("[user]\n\tname = Test User\n\temail = test@example.com\n"
                   "[init]\n\tdefaultBranch = main\n[commit]\n\tgpgsign = false\n")
os.environ["GIT_CONFIG_GLOBAL"] = str(_config)
os.environ["GIT_CONFIG_NOSYSTEM"] = "1"
for _var in ("GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL",
             "FACTURIER_BOOK", "FACTURIER_SMTP_USER", "FACTURIER_SMTP_PASSWORD"):
    os.environ.pop(_var, None)

REPO = Path(__file__).resolve().parent.parent
BENCH_TOOL = REPO / "benchmarks" / "make_book.py"


def git(root, *args: str) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


def write_files(root: Path, files: dict[str, str]) -> None:
    for rel, text in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")


@pytest.fixture
def make_book(tmp_path):
    """make_book({path: yaml text}, commit=True) -> root of a new git book.

    facturier.yaml defaults to an empty settings file when not given.
    """
    counter = {"n": 0}

    def factory(files: dict[str, str] | None = None, commit: bool = True) -> Path:
        counter["n"] += 1
        root = tmp_path / ("book%d" % counter["n"])
        root.mkdir()
        files = dict(files or {})
        files.setdefault("facturier.yaml", "currency: EUR\n")
        files.setdefault(".gitignore", ".facturier/\n")
        write_files(root, files)
        git(root, "init", "-q", "-b", "main")
        if commit:
            git(root, "add", "-A")
            git(root, "commit", "-q", "-m", "Test book")
        return root

    return factory


class CliResult:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.code = proc.returncode
        self.out = proc.stdout
        self.err = proc.stderr

    def __repr__(self):
        return "CliResult(code=%r, out=%r, err=%r)" % (self.code, self.out[-2000:], self.err[-2000:])


@pytest.fixture
def cli():
    """cli(*args, book=None, input=None, env=None) -> CliResult: the real
    `facturier` entry point in a subprocess, as a user runs it."""

    def run(*args: str, book=None, input: str | None = None, env: dict | None = None) -> CliResult:
        cmd = [sys.executable, "-m", "tui.entry"]
        if book is not None:
            cmd += ["--book", str(book)]
        full_env = dict(os.environ, COLUMNS="80", PYTHONPATH=str(REPO))
        if env:
            full_env.update(env)
        proc = subprocess.run(cmd + list(args), input=input, capture_output=True, text=True,
                              env=full_env, cwd=str(REPO))
        return CliResult(proc)

    return run


@pytest.fixture(scope="session")
def synthetic_book_1k(tmp_path_factory) -> Path:
    """The 1,000-document book of benchmarks/make_book.py (seed 1, as of
    2026-06-30), made once per test session; copy it before changing it."""
    root = tmp_path_factory.mktemp("synthetic") / "b1k"
    # A pinned commit date makes the commit id, and so every screen showing
    # history, the same on every machine.
    env = dict(os.environ, GIT_AUTHOR_DATE="2026-06-30T12:00:00+00:00",
               GIT_COMMITTER_DATE="2026-06-30T12:00:00+00:00")
    subprocess.run([sys.executable, str(BENCH_TOOL), str(root), "--documents", "1000"],
                   check=True, capture_output=True, env=env)
    return root


@pytest.fixture
def book_1k(tmp_path, synthetic_book_1k) -> Path:
    """A copy of the 1,000-document synthetic book, without its cache, whose
    commits are made by "Test Person": for tests that change it."""
    root = tmp_path / "book"
    shutil.copytree(synthetic_book_1k, root, ignore=shutil.ignore_patterns(".facturier"))
    git(root, "config", "user.name", "Test Person")
    git(root, "config", "user.email", "test@example.org")
    return root
