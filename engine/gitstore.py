"""The one module that runs git. Nothing else in facturier touches git.

Read side (fast path for `status`/`check`): :func:`list_blobs` lists the book's
YAML files with their git blob ids, computing the id of files whose work tree
differs from the index, so uncommitted edits are what facturier reads.

Git failures are translated into :class:`GitError` (a FacturierError).
"""
from __future__ import annotations

import hashlib
import os
import subprocess
from pathlib import Path
from typing import Iterable, Optional

from .diagnostics import FacturierError

BOOK_FOLDERS = ("contacts", "documents", "recurrences")


class GitError(FacturierError):
    pass


def _git(root, *args: str, input: Optional[bytes] = None, env: Optional[dict] = None,
         check: bool = True) -> bytes:
    try:
        proc = subprocess.run(["git", "-C", str(root), *args], input=input,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              env=env)
    except FileNotFoundError:
        raise GitError("git is not installed (facturier needs the git command)")
    if check and proc.returncode != 0:
        raise GitError("git %s failed: %s" % (args[0], proc.stderr.decode(errors="replace").strip()))
    return proc.stdout


def is_repository(root) -> bool:
    return (Path(root) / ".git").exists()


def blob_id(data: bytes) -> str:
    """Git's blob id of some bytes (what `git hash-object` prints)."""
    h = hashlib.sha1(b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


def list_blobs(root, folders: Iterable[str] = BOOK_FOLDERS) -> dict[str, str]:
    """``{relative path: blob id}`` for every ``*.yaml`` file under ``folders``
    and ``facturier.yaml``, as they are in the work tree.

    Tracked and unmodified files take their id from the index (no read);
    modified and untracked files are read and hashed here. Deleted files are
    absent. Outside a git repository every file is read and hashed.
    """
    root = Path(root)
    wanted = ["facturier.yaml", *folders]
    if not is_repository(root):
        return _hash_tree(root, wanted)
    out = _git(root, "--no-optional-locks", "ls-files", "-s", "-z", "--", *wanted)
    blobs: dict[str, str] = {}
    for entry in out.split(b"\0"):
        if not entry:
            continue
        meta, _, path = entry.partition(b"\t")
        p = path.decode("utf-8", "surrogateescape")
        if p.endswith(".yaml"):
            blobs[p] = meta.split(b" ", 2)[1].decode()
    status = _git(root, "--no-optional-locks", "status", "--porcelain=v1", "-z",
                  "--untracked-files=all", "--no-renames", "--", *wanted)
    for entry in status.split(b"\0"):
        if len(entry) < 4:
            continue
        code, p = entry[:2], entry[3:].decode("utf-8", "surrogateescape")
        if not p.endswith(".yaml"):
            continue
        full = root / p
        try:
            data = full.read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            blobs.pop(p, None)
            continue
        blobs[p] = blob_id(data)
    return blobs


def _hash_tree(root: Path, wanted) -> dict[str, str]:
    blobs = {}
    for name in wanted:
        top = root / name
        if top.is_file():
            blobs[name] = blob_id(top.read_bytes())
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for f in filenames:
                if f.endswith(".yaml"):
                    full = Path(dirpath) / f
                    blobs[full.relative_to(root).as_posix()] = blob_id(full.read_bytes())
    return blobs


def init_repository(root, files: dict[str, bytes], message: str,
                    author: Optional[str] = None) -> str:
    """Make ``root`` a new git repository holding ``files`` in one first commit
    on branch ``main``; return the commit id."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    _git(root, "init", "-q", "-b", "main")
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    _git(root, "add", "--", *files)
    env = dict(os.environ)
    env.update(identity_env(root, author))
    _git(root, "commit", "-q", "-m", message, env=env)
    return _git(root, "rev-parse", "HEAD").decode().strip()


def identity_env(root, author: Optional[str]) -> dict[str, str]:
    """GIT_AUTHOR_*/GIT_COMMITTER_* for a commit: the person acting (``--author``
    "Name <email>", else git's configured user), falling back to a facturier
    identity when git has none configured (e.g. a fresh CI machine)."""
    env: dict[str, str] = {}
    if author:
        name, email = parse_author(author)
        env["GIT_AUTHOR_NAME"], env["GIT_AUTHOR_EMAIL"] = name, email
    for role in ("AUTHOR", "COMMITTER"):
        key_name, key_mail = "GIT_%s_NAME" % role, "GIT_%s_EMAIL" % role
        if key_name not in env and not os.environ.get(key_name):
            name = _git(root, "config", "user.name", check=False).decode().strip()
            env[key_name] = name or "facturier"
        if key_mail not in env and not os.environ.get(key_mail):
            mail = _git(root, "config", "user.email", check=False).decode().strip()
            env[key_mail] = mail or "facturier@localhost"
    return env


def parse_author(text: str) -> tuple[str, str]:
    """'Name <email>' -> (name, email); raises FacturierError otherwise."""
    text = text.strip()
    if text.endswith(">") and "<" in text:
        name, _, mail = text[:-1].rpartition("<")
        if name.strip() and "@" in mail and "\n" not in text:
            return name.strip(), mail.strip()
    raise FacturierError('--author must look like "Name <email>", not %r' % text)
