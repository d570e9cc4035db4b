"""The book's history as git tells it: commits, their order, paths, and a
cheap fingerprint of the book for the app to notice outside changes."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Iterable, Optional

from .gitrepo import BOOK_FOLDERS, git as _git, is_repository, list_blobs

LOG_FORMAT = "%x1e%H%x1f%aI%x1f%an <%ae>%x1f%s%x1f%(trailers:only,unfold)%x1f"


def log_records(root, grep: Optional[str] = None, paths: Iterable[str] = (),
                names: bool = False) -> list[list[str]]:
    """Commits of HEAD, oldest first, as [id, author date, author, subject,
    trailers, files]; ``grep``: only those whose message contains the text
    (fixed string, ignoring case); ``paths``: only those that touched the
    paths; ``names``: fill ``files`` (newline-separated paths changed)."""
    args = ["--no-optional-locks", "log", "--reverse", "--format=" + LOG_FORMAT]
    if names:
        args += ["--name-only", "--no-renames"]
    if grep is not None:
        args += ["-F", "-i", "--grep=" + grep]
    args.append("HEAD")
    paths = list(paths)
    if paths:
        args += ["--", *paths]
    out = _git(root, *args, check=False)
    records = []
    for chunk in out.decode("utf-8", "replace").split("\x1e"):
        if not chunk.strip():
            continue
        fields = chunk.split("\x1f")
        if len(fields) >= 6:
            fields[5] = fields[5].strip("\n")
            records.append(fields[:6])
    return records


def commit_order(root, commits: Iterable[str]) -> dict[str, int]:
    """Position of each commit in HEAD's history (oldest = 0)."""
    wanted = set(commits)
    out = _git(root, "--no-optional-locks", "rev-list", "--reverse", "HEAD")
    order = {}
    for i, line in enumerate(out.split()):
        sha = line.decode()
        if sha in wanted:
            order[sha] = i
    return order


def find_paths(root, pathspec: str) -> list[str]:
    """Tracked and untracked (not ignored) files matching a pathspec (magic
    allowed, e.g. ``:(glob,icase)documents/**/ID.yaml``)."""
    out = _git(root, "--no-optional-locks", "ls-files", "-z", "--cached", "--others",
               "--exclude-standard", "--", pathspec)
    return sorted({p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p})


def change_signature(root, folders: Iterable[str] = BOOK_FOLDERS) -> str:
    """A cheap fingerprint of the book as it is now: HEAD, plus every book file
    whose work tree differs from it (git status) with its size and mtime. It
    changes when anyone commits, pulls, or edits a file, even a file that was
    already modified: what the app polls to notice outside changes."""
    root = Path(root)
    if not is_repository(root):
        return "".join("%s %s\n" % kv for kv in sorted(list_blobs(root, folders).items()))
    head = _git(root, "rev-parse", "-q", "--verify", "HEAD", check=False).strip()
    status = _git(root, "--no-optional-locks", "status", "--porcelain=v1", "-z",
                  "--untracked-files=all", "--no-renames", "--", "facturier.yaml", *folders)
    digest = hashlib.sha1(head + b"\0" + status)
    for entry in status.split(b"\0"):
        if len(entry) < 4:
            continue
        try:
            st = os.stat(root / entry[3:].decode("utf-8", "surrogateescape"))
            digest.update(b"%d %d\0" % (st.st_size, st.st_mtime_ns))
        except OSError:
            digest.update(b"gone\0")
    return digest.hexdigest()
