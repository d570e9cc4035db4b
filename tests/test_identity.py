"""Identities on facturier's commits are cleaned as git cleans them (SPEC 5.1,
issue 10): whatever git's user.name/user.email or --author hold, every commit
passes `git fsck --strict` and a push to a remote with receive.fsckObjects."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import REPO, git


def facturier(root, *args, env=None):
    return subprocess.run([sys.executable, "-m", "tui.entry", "--book", str(root), *args],
                          capture_output=True, text=True, cwd=str(REPO),
                          env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})})


def fsck_and_push(root, tmp_path) -> str:
    """`git fsck --strict` on the book, then a push to a bare remote that
    checks every object it receives; returns the author line of HEAD."""
    fsck = subprocess.run(["git", "-C", str(root), "fsck", "--strict", "--no-dangling"],
                          capture_output=True, text=True)
    assert fsck.returncode == 0, fsck.stdout + fsck.stderr
    remote = tmp_path / ("remote-%s.git" % root.name)
    subprocess.run(["git", "init", "-q", "--bare", str(remote)], check=True)
    git(remote, "config", "receive.fsckObjects", "true")
    push = subprocess.run(["git", "-C", str(root), "push", "-q", str(remote), "HEAD:refs/heads/main"],
                          capture_output=True, text=True)
    assert push.returncode == 0, push.stderr
    return git(root, "cat-file", "-p", "HEAD").split("\n")[2]


def written_by_git(tmp_path, name: str, email: str) -> str:
    """The "Name <email>" the installed git writes for this configuration."""
    root = tmp_path / "plain-git"
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "-c", "user.name=" + name, "-c", "user.email=" + email,
                    "commit", "-q", "--allow-empty", "-m", "t"], check=True, capture_output=True)
    line = subprocess.run(["git", "-C", str(root), "cat-file", "commit", "HEAD"],
                          capture_output=True, check=True).stdout.decode().split("\n")[1]
    return line[len("author "):line.rindex(">") + 1]


CASES = [("Jane <jane@x>", "jane@example.com"), ("Jane\nDoe", "<jane@example.com>"),
         ('"Jane Doe", ', " jane@example.com;"), ("Jane D.", "jane@example.com"),
         (" Jane ", "j@x"), ("'Jane'", "j@x"), ("Jane\\", "j@x"), ("Ja\tne", "j@x"),
         ("Jöns Ångström", "j@x"), ("<Jane>", "j@x"), ("Jane <> Doe", "j@x"), (";Jane;", "j@x")]


@pytest.mark.parametrize("name,email", CASES)
def test_a_commit_with_git_s_configured_identity_passes_fsck_and_a_checking_remote(
        make_book, tmp_path, name, email):
    """facturier's commits carry the identity exactly as git itself writes it
    (git var applies git's rules), and pass fsck --strict and a checking remote."""
    root = make_book()
    git(root, "config", "user.name", name)
    git(root, "config", "user.email", email)
    proc = facturier(root, "contact", "new", "--name", "ACME SA")
    assert proc.returncode == 0, proc.stderr
    line = fsck_and_push(root, tmp_path)
    assert line.startswith("author %s " % written_by_git(tmp_path, name, email))


def test_author_option_with_brackets_and_a_newline(make_book, tmp_path):
    root = make_book()
    proc = facturier(root, "--author", "Jane <j>\nDoe <jane@example.com>", "contact", "new",
                     "--name", "ACME SA")
    assert proc.returncode == 0, proc.stderr
    assert fsck_and_push(root, tmp_path).startswith("author Jane jDoe <jane@example.com> ")


def test_a_run_s_batch_of_commits_with_such_an_identity_passes_fsck(make_book, tmp_path):
    root = make_book({
        "facturier.yaml": "currency: CHF\n", "contacts/acme.yaml": "name: ACME SA\n",
        "documents/2025/01/inv-tpl.yaml": "kind: invoice\ncustomer: acme\ndate: 2025-01-05\n"
                                          "lines:\n  - description: Hosting {period}\n"
                                          "    unit_price: \"10\"\n",
        "recurrences/hosting.yaml": "name: Hosting\ntemplate: inv-tpl\n"
                                    "rule: FREQ=MONTHLY;BYMONTHDAY=1\nstart: 2025-01-01\n"
                                    "issue: validate\n"})
    env = {"GIT_AUTHOR_NAME": "CI <bot>", "GIT_AUTHOR_EMAIL": "<ci@example.com>",
           "GIT_COMMITTER_NAME": "\nCI bot>", "GIT_COMMITTER_EMAIL": "ci@example.com"}
    proc = facturier(root, "--as-of", "2025-03-01", "run", "--no-send", env=env)
    assert proc.returncode == 0, proc.stderr
    assert int(git(root, "rev-list", "--count", "HEAD")) >= 4     # 3 generated, and more
    assert fsck_and_push(root, tmp_path).startswith("author CI bot <ci@example.com> ")
    assert "\ncommitter CI bot <ci@example.com> " in git(root, "cat-file", "-p", "HEAD")


def test_a_name_git_would_refuse_is_refused_with_nothing_written(make_book):
    root = make_book()
    head = git(root, "rev-parse", "HEAD")
    git(root, "config", "user.name", "<>")
    proc = facturier(root, "contact", "new", "--name", "ACME SA")
    assert proc.returncode == 1
    assert "user.name" in proc.stderr and "Traceback" not in proc.stderr
    assert git(root, "rev-parse", "HEAD") == head
    assert git(root, "status", "--porcelain") == ""
