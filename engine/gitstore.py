"""The one module that runs git. Nothing else in facturier touches git.

Read side (fast path for `status`/`check`): :func:`list_blobs` lists the book's
YAML files with their git blob ids, computing the id of files whose work tree
differs from the index, so uncommitted edits are what facturier reads.

Git failures are translated into :class:`GitError` (a FacturierError).
"""
from __future__ import annotations

import hashlib
import os
import re
import subprocess
from pathlib import Path
from typing import Iterable, Optional

from .diagnostics import FacturierError

BOOK_FOLDERS = ("contacts", "documents", "recurrences")
# `git ls-files -s -z` entries: "<mode> <blob> <stage>\t<path>\0"
_LS_FILES = re.compile(r"[0-7]+ ([0-9a-f]{40,64}) [0-3]\t([^\0]*?\.yaml)\0")
_LS_LINKS = re.compile(r"120000 [0-9a-f]{40,64} [0-3]\t([^\0]*)\0")     # symbolic links


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


def list_blobs(root, folders: Iterable[str] = BOOK_FOLDERS,
               untrusted: Optional[dict] = None) -> dict[str, str]:
    """``{relative path: blob id}`` for every ``*.yaml`` file under ``folders``
    and ``facturier.yaml``, as they are in the work tree.

    Tracked and unmodified files take their id from the index (no read);
    modified and untracked files are read and hashed here. Deleted files are
    absent. Outside a git repository every file is read and hashed.

    Symbolic links are never listed nor read (SPEC 1.5). When ``untrusted``
    (a dict) is given, it receives ``links``: every symbolic link, tracked or
    not, under ``folders`` or as ``facturier.yaml``; and ``state``: every
    tracked path under ``.facturier/`` (any case).
    """
    from .safepath import UnsafePath, read_bytes
    root = Path(root)
    wanted = ["facturier.yaml", *folders]
    links: list[str] = []
    state: list[str] = []
    if untrusted is not None:
        untrusted["links"], untrusted["state"] = links, state
    if not is_repository(root):
        return _hash_tree(root, wanted, links)
    # Both questions at once, on both cores: status (lstat of every file) is
    # the slow one.
    try:
        pending = subprocess.Popen(
            ["git", "-C", str(root), "--no-optional-locks", "status", "--porcelain=v1", "-z",
             "--untracked-files=all", "--no-renames", "--", *wanted],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise GitError("git is not installed (facturier needs the git command)")
    listed = wanted + [":(icase).facturier"] if untrusted is not None else wanted
    out = _git(root, "--no-optional-locks", "ls-files", "-s", "-z", "--", *listed)
    text = out.decode("utf-8", "surrogateescape")
    blobs: dict[str, str] = {path: blob for blob, path in _LS_FILES.findall(text)}
    if "120000 " in text:
        for path in _LS_LINKS.findall(text):
            blobs.pop(path, None)
            links.append(path)
    # sorted output: `.facturier` entries come first, before any book folder
    start = 0
    while untrusted is not None:
        end = text.find("\0", start)
        path = text[text.find("\t", start, end) + 1:end] if end > 0 else ""
        if not path.startswith("."):
            break
        state.append(path)
        blobs.pop(path, None)
        start = end + 1
    status, error = pending.communicate()
    if pending.returncode != 0:
        raise GitError("git status failed: %s" % error.decode(errors="replace").strip())
    for entry in status.split(b"\0"):
        if len(entry) < 4:
            continue
        code, p = entry[:2], entry[3:].decode("utf-8", "surrogateescape")
        if not p.endswith(".yaml"):
            if code in (b"??", b" T", b"T ") and os.path.islink(root / p) and p not in links:
                links.append(p)
            continue
        try:
            data = read_bytes(root, p)
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            blobs.pop(p, None)
            continue
        except UnsafePath as exc:
            blobs.pop(p, None)
            if exc.path not in links:
                links.append(exc.path)
            continue
        blobs[p] = blob_id(data)
    return blobs


def _hash_tree(root: Path, wanted, links: list) -> dict[str, str]:
    blobs = {}
    for name in wanted:
        top = root / name
        if top.is_symlink():
            links.append(name)
            continue
        if top.is_file():
            blobs[name] = blob_id(top.read_bytes())
            continue
        for dirpath, dirnames, filenames in os.walk(top):
            for d in dirnames:
                if os.path.islink(os.path.join(dirpath, d)):
                    links.append((Path(dirpath) / d).relative_to(root).as_posix())
            dirnames[:] = [d for d in dirnames if not d.startswith(".")]
            for f in filenames:
                full = Path(dirpath) / f
                if full.is_symlink():
                    links.append(full.relative_to(root).as_posix())
                elif f.endswith(".yaml"):
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
        if name.strip() and "@" in mail:
            return name.strip(), mail.strip()
    raise FacturierError('--author must look like "Name <email>", not %r' % text)


# =========================================================================== write side
#
# One action = one commit, made without git's index (which git rewrites whole on
# every `git commit`: ~3.6 s at 100,000 files). Per commit:
#
#   1. write the blobs, the changed trees and the commit: loose objects, or one
#      pack when there are many (a batch of commits, see Store.begin_batch:
#      each commit still a commit of its own, published together);
#   2. record in `.facturier/journal.json` the paths about to change and the
#      blob ids they may hold (before and after);
#   3. move the branch with compare-and-swap (`git update-ref --stdin`: the
#      expected old value, so a concurrent writer is detected, never overwritten);
#   4. write the work tree files, in place (a rename per file costs ext4 a
#      flush: 48,700 reminders took 10 s); a kill in the middle of a file
#      leaves a prefix of HEAD's content, which recovery recognises;
#   5. at the end of the session, set the index entries of those paths only
#      (`git update-index --index-info`) and drop the journal.
#
# Recovery rule (run when the book lock is taken): for each path in a journal
# left by a killed process, make the work tree and the index match HEAD. A work
# tree file is rewritten (or removed) only when it holds one of the contents
# the journal names, is missing, or holds a proper prefix of HEAD's content
# (a write cut short): facturier wrote it, so it is facturier's to fix. A file holding anything else is a person's edit made after the crash:
# it is kept and reported. Since files are written only after the branch
# moved, a kill before step 3 leaves them as they were, and HEAD is the last
# complete action either way.

import bisect
import fcntl
import json
import struct
import time
import zlib

LOCK_FILE = ".facturier/lock"
JOURNAL_FILE = ".facturier/journal.json"
TMP_DIR = ".facturier/tmp"
ZERO = "0" * 40


IN_PLACE_ABOVE = 5000       # files in one commit above which they are written in place


class LockTimeout(FacturierError):
    pass


class ConcurrentChange(FacturierError):
    """The branch moved under us (someone committed meanwhile)."""


class BookLock:
    """One exclusive lock per book (``.facturier/lock``, ``fcntl.flock``): the
    OS releases it when the holder dies, so a killed process never blocks the
    next one. A second process waits up to ``timeout`` seconds, then fails."""

    def __init__(self, root, timeout: float = 10.0):
        self.root = Path(root)
        self.timeout = timeout
        self._fd: Optional[int] = None

    def acquire(self) -> "BookLock":
        folder = self.root / ".facturier"
        folder.mkdir(exist_ok=True)
        fd = os.open(str(self.root / LOCK_FILE), os.O_RDWR | os.O_CREAT, 0o644)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = b""
                    try:
                        holder = os.pread(fd, 200, 0).strip()
                    except OSError:
                        pass
                    os.close(fd)
                    who = (" (%s)" % holder.decode(errors="replace")) if holder else ""
                    raise LockTimeout(
                        "another facturier process is changing this book%s; waited %g s for it. "
                        "Try again when it is done." % (who, self.timeout))
                time.sleep(0.02)
        os.ftruncate(fd, 0)
        os.pwrite(fd, ("pid %d" % os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> "BookLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


class _Tree:
    """A tree's entries in git's order: ``keys`` (the name, plus "/" for a
    folder: git sorts folders so) and ``items`` (each entry as git stores it,
    "<mode> <name>\\0<binary id>"), so that a change is a bisect and a list
    insert, and the tree's bytes one join."""

    __slots__ = ("keys", "items", "_size")

    def __init__(self, keys: list, items: list, size: Optional[int] = None):
        self.keys = keys
        self.items = items
        self._size = size

    @property
    def size(self) -> int:
        if self._size is None:
            self._size = sum(map(len, self.items))
        return self._size

    def find(self, name: bytes) -> int:
        """Index of the entry called ``name`` (file or folder), or -1."""
        for key in (name, name + b"/"):
            i = bisect.bisect_left(self.keys, key)
            if i < len(self.keys) and self.keys[i] == key:
                return i
        return -1

    def entry(self, i: int) -> tuple[bytes, bytes]:
        """(mode, binary id) of entry ``i``."""
        item = self.items[i]
        sp = item.index(b" ")
        return item[:sp], item[-20:]

    def data(self) -> bytes:
        return b"".join(self.items)


class Store:
    """A write session on one book; the caller holds the book lock.

    ``commit(writes, deletes, message)`` makes one commit on the checked-out
    branch and brings the work tree in line; ``flush()`` sets the index entries
    (once for a whole session of commits); ``close()`` flushes and stops the
    helper processes. Opening a Store runs the recovery rule above.
    """

    def __init__(self, root, author: Optional[str] = None):
        self.root = Path(root)
        out = _git(self.root, "rev-parse", "--git-path", "objects", "--show-toplevel").decode()
        objects, toplevel = out.splitlines()[:2]
        self.objects = Path(objects) if os.path.isabs(objects) else self.root / objects
        if os.path.realpath(toplevel) != os.path.realpath(self.root):
            raise GitError("the book %s is inside the git repository %s, not at its top: a book "
                           "is a git repository of its own (facturier init makes one)"
                           % (self.root, toplevel))
        ref = _git(self.root, "symbolic-ref", "-q", "HEAD", check=False).decode().strip()
        if not ref:
            raise GitError("the book's HEAD is detached; check out a branch first "
                           "(facturier commits on the checked-out branch)")
        self.ref = ref
        head = _git(self.root, "rev-parse", "-q", "--verify", "HEAD^{commit}",
                    check=False).decode().strip()
        if not head:
            raise GitError("the branch %s has no commit yet; commit facturier.yaml first"
                           % ref.rsplit("/", 1)[-1])
        self.head = head
        env = identity_env(self.root, author)
        tz = _tz_offset()
        from .identity import identity_line      # cleaned as git cleans it (fsck --strict)
        self._author = identity_line(env.get("GIT_AUTHOR_NAME") or os.environ["GIT_AUTHOR_NAME"],
                                     env.get("GIT_AUTHOR_EMAIL") or os.environ["GIT_AUTHOR_EMAIL"])
        self._committer = identity_line(
            env.get("GIT_COMMITTER_NAME") or os.environ["GIT_COMMITTER_NAME"],
            env.get("GIT_COMMITTER_EMAIL") or os.environ["GIT_COMMITTER_EMAIL"])
        self._tz = tz
        self._cat: Optional[subprocess.Popen] = None
        self._updater: Optional[subprocess.Popen] = None
        self._trees: dict[str, _Tree] = {}
        self._root_tree = self._commit_tree(head)
        self._journal_file = None
        self._journaled = False
        self._commits = 0
        self._pending: dict[str, Optional[tuple[str, str]]] = {}
        self._staged: Optional[set[str]] = None
        self.recovered: list[str] = []
        self._folders: set[str] = set()
        self._seen: dict[str, tuple[int, int, int, str]] = {}   # see read()
        # objects and work tree changes not yet published (see publish())
        self._batching = False
        self._objects: dict[str, tuple[int, bytes, Optional[str], int]] = {}   # sha -> (type, payload, delta base, depth)
        self._object_bytes = 0
        self._queued = 0                                    # commits not yet published
        self._published = head                              # what the branch holds
        self._before: dict[str, Optional[str]] = {}         # path -> blob at the published head
        self._writes: dict[str, Optional[bytes]] = {}       # path -> bytes (None: deleted)
        self._recover()

    # ------------------------------------------------------------------ objects

    def _cat_file(self, sha: str) -> tuple[bytes, bytes]:
        if self._cat is None or self._cat.poll() is not None:
            self._cat = subprocess.Popen(["git", "-C", str(self.root), "cat-file", "--batch"],
                                         stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self._cat.stdin.write(sha.encode() + b"\n")
        self._cat.stdin.flush()
        header = self._cat.stdout.readline().split()
        if len(header) != 3:
            raise GitError("git object %s is missing from the repository" % sha)
        size = int(header[2])
        data = self._cat.stdout.read(size + 1)[:size]
        return header[1], data

    def _commit_tree(self, commit: str) -> str:
        kind, data = self._cat_file(commit)
        if kind != b"commit" or not data.startswith(b"tree "):
            raise GitError("%s is not a commit" % commit)
        return data[5:45].decode()

    def _tree(self, sha: str) -> _Tree:
        """The entries of a tree, cached."""
        tree = self._trees.get(sha)
        if tree is None:
            if sha in self._objects:
                kind, data = b"tree", self._object_data(sha)
            else:
                kind, data = self._cat_file(sha)
            if kind != b"tree":
                raise GitError("%s is not a tree" % sha)
            keys, items = [], []
            i = 0
            while i < len(data):
                sp = data.index(b" ", i)
                nul = data.index(b"\0", sp)
                name = data[sp + 1:nul]
                keys.append(name + b"/" if data[i:sp] == b"40000" else name)
                items.append(data[i:nul + 21])
                i = nul + 21
            tree = self._trees[sha] = _Tree(keys, items)
        return tree

    def _write_object(self, kind: bytes, data: bytes, base: Optional[str] = None,
                      delta: Optional[bytes] = None) -> str:
        """Queue an object for the next publish(); ``delta`` (against the
        queued object ``base``) is what the pack holds instead of ``data``."""
        sha = hashlib.sha1(b"%s %d\0" % (kind, len(data)) + data).hexdigest()
        if sha in self._objects:
            return sha
        depth = 0
        if delta is not None and base in self._objects and self._objects[base][3] < MAX_DEPTH:
            depth = self._objects[base][3] + 1
            self._objects[sha] = (OBJ_OFS_DELTA, delta, base, depth)
            self._object_bytes += len(delta)
        else:
            self._objects[sha] = (OBJECT_TYPES[kind], data, None, 0)
            self._object_bytes += len(data)
        return sha

    def _object_data(self, sha: str) -> bytes:
        """The bytes of a queued object (following its deltas)."""
        code, payload, base, _depth = self._objects[sha]
        if base is None:
            return payload
        return apply_delta(self._object_data(base), payload)

    def _write_tree(self, tree: _Tree, old: Optional[str] = None,
                    delta: Optional[bytes] = None) -> str:
        sha = self._write_object(b"tree", tree.data(), old, delta)
        self._trees.setdefault(sha, tree)
        if old is not None and old != sha and old in self._objects:
            # superseded: rebuilt from the queued objects if ever needed again
            self._trees.pop(old, None)
        return sha

    def _update_tree(self, tree: Optional[str], changes: dict[str, Optional[str]]) -> Optional[str]:
        """The id of ``tree`` with ``changes`` ({relative path: blob id or None
        to delete}) applied; None when the tree ends up empty. Only the trees
        along the changed paths are written."""
        old = self._tree(tree) if tree else _Tree([], [])
        new = _Tree(list(old.keys), list(old.items))
        groups: dict[str, dict[str, Optional[str]]] = {}
        entries: dict[bytes, Optional[tuple[bytes, bytes]]] = {}
        for path, blob in changes.items():
            head, sep, rest = path.partition("/")
            if sep:
                groups.setdefault(head, {})[rest] = blob
            else:
                key = head.encode()
                if blob is None:
                    entries[key] = None
                else:
                    i = old.find(key)
                    mode = old.entry(i)[0] if i >= 0 else b"100644"
                    if mode == b"40000":
                        mode = b"100644"
                    entries[key] = (mode, bytes.fromhex(blob))
        for name, sub in groups.items():
            key = name.encode()
            i = old.find(key)
            old_tree = None
            if i >= 0:
                mode, binsha = old.entry(i)
                if mode == b"40000":
                    old_tree = binsha.hex()
            sha = self._update_tree(old_tree, sub)
            entries[key] = None if sha is None else (b"40000", bytes.fromhex(sha))
        for name, entry in entries.items():
            i = new.find(name)
            if i >= 0:
                del new.keys[i], new.items[i]
            if entry is None:
                continue
            mode, binsha = entry
            key = name + b"/" if mode == b"40000" else name
            i = bisect.bisect_left(new.keys, key)
            new.keys.insert(i, key)
            new.items.insert(i, b"%s %s\0%s" % (mode, name, binsha))
        if not new.keys:
            return None
        delta = None
        if self._batching and tree in self._objects and len(entries) == 1:
            (name, entry), = entries.items()
            i_old, i_new = old.find(name), new.find(name)
            if i_old < 0 or i_new < 0 or i_old == i_new:
                at = i_old if i_old >= 0 else i_new
                size = old.size
                prefix = sum(map(len, old.items[:at]))
                removed = len(old.items[i_old]) if i_old >= 0 else 0
                added = new.items[i_new] if i_new >= 0 else b""
                new._size = size - removed + len(added)
                delta = b"".join((_varint(size), _varint(size - removed + len(added)),
                                  _copy(0, prefix), _insert(added),
                                  _copy(prefix + removed, size - prefix - removed)))
        return self._write_tree(new, tree, delta)

    def blob_at_head(self, path: str) -> Optional[str]:
        """The blob id of ``path`` in HEAD's tree, or None."""
        tree = self._root_tree
        parts = path.split("/")
        for i, part in enumerate(parts):
            t = self._tree(tree)
            at = t.find(part.encode())
            if at < 0:
                return None
            mode, binsha = t.entry(at)
            if i == len(parts) - 1:
                return binsha.hex() if mode != b"40000" else None
            if mode != b"40000":
                return None
            tree = binsha.hex()
        return None

    def read_at_head(self, path: str) -> Optional[bytes]:
        if path in self._writes:                # a queued commit's (not in git yet)
            return self._writes[path]
        blob = self.blob_at_head(path)
        return None if blob is None else self._cat_file(blob)[1]

    # ------------------------------------------------------------------ checks

    def _work_blob(self, path: str) -> Optional[str]:
        seen = self._seen.get(path)
        if seen is not None:
            try:
                st = os.stat(os.path.join(self.root, path))
                if (st.st_mtime_ns, st.st_size, st.st_ino) == seen[:3]:
                    return seen[3]
            except OSError:
                pass
            del self._seen[path]
        try:
            return blob_id((self.root / path).read_bytes())
        except (FileNotFoundError, NotADirectoryError):
            return None
        except IsADirectoryError:
            return "directory"

    def dirty(self, paths: Iterable[str]) -> list[str]:
        """Those of ``paths`` whose work tree file or staged entry differs
        from HEAD (uncommitted edits, or an untracked file in the way)."""
        paths = list(paths)
        if self._staged is None:
            out = _git(self.root, "diff-index", "--cached", "--name-only", "-z", "HEAD", "--")
            self._staged = {p.decode("utf-8", "surrogateescape")
                            for p in out.split(b"\0") if p}
        found = []
        for path in paths:
            if path in self._before:        # changed by a queued commit: not on disk yet
                if self._work_blob(path) != self._before[path]:
                    found.append(path)
            elif path in self._staged and path not in self._pending:
                found.append(path)
            elif self._work_blob(path) != self.blob_at_head(path):
                found.append(path)
        return found

    # ------------------------------------------------------------------ commit

    def commit(self, writes: dict[str, bytes], deletes: Iterable[str], message: str) -> Optional[str]:
        """One commit with these changes on the checked-out branch; the work
        tree follows (at once, or at the end of a batch). Returns the commit
        id, or None when nothing changes."""
        changes: dict[str, Optional[str]] = {}
        for path, data in writes.items():
            changes[path] = self._write_object(b"blob", data)
        for path in deletes:
            changes[path] = None
        before = {path: self.blob_at_head(path) for path in changes if path not in self._before}
        new_tree = self._update_tree(self._root_tree, changes)
        if new_tree is None:
            new_tree = self._write_tree(_Tree([], []))
        if new_tree == self._root_tree:
            return None
        stamp = "%d %s" % (int(time.time()), self._tz)
        body = ("tree %s\nparent %s\nauthor %s %s\ncommitter %s %s\n\n%s"
                % (new_tree, self.head, self._author, stamp, self._committer, stamp,
                   message if message.endswith("\n") else message + "\n"))
        commit = self._write_object(b"commit", body.encode("utf-8"))
        self._commits += 1
        self._queued += 1
        self._before.update(before)
        for path, blob in changes.items():
            self._writes[path] = None if blob is None else writes[path]
        self.head, self._root_tree = commit, new_tree
        if not self._batching or self._queued >= BATCH_COMMITS or self._object_bytes >= BATCH_BYTES:
            self.publish()
        return commit

    def begin_batch(self) -> None:
        """Queue the following commits (each still a commit of its own) and
        publish them together: one pack of objects, one move of the branch,
        the work tree once. A kill before the publish loses the queued commits
        whole (the branch never held them); :meth:`publish` ends the batch's
        pending part, :meth:`end_batch` the batching."""
        self._batching = True

    def end_batch(self) -> None:
        try:
            self.publish()
        finally:
            self._batching = False

    def read(self, path: str) -> Optional[bytes]:
        """The bytes of ``path`` as the session's last commit left it (queued
        commits included), or None when it does not exist."""
        if path in self._writes:
            return self._writes[path]
        try:
            fd = os.open(os.path.join(self.root, path), os.O_RDONLY)
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return None
        try:
            st = os.fstat(fd)
            chunks = []
            while True:
                chunk = os.read(fd, max(st.st_size, 65536))
                if not chunk:
                    break
                chunks.append(chunk)
        except IsADirectoryError:
            return None
        finally:
            os.close(fd)
        data = b"".join(chunks)
        # the file's id as read, while it stays unchanged (the check for
        # uncommitted edits that follows need not read it again)
        if st.st_mtime_ns < time.time_ns() - 2_000_000_000:
            # (not for a file changed in the last seconds: a change within the
            # clock's granularity would keep its time)
            self._seen[path] = (st.st_mtime_ns, st.st_size, st.st_ino, blob_id(data))
        return data

    def publish(self) -> None:
        """Make the queued commits the branch's: objects (loose, or one pack
        when there are many), journal, branch (compare-and-swap), work tree."""
        if not self._queued:
            self._objects.clear()
            self._object_bytes = 0
            return
        objects, self._objects = self._objects, {}
        try:
            if len(objects) <= LOOSE_OBJECTS and not any(o[2] for o in objects.values()):
                for sha, (code, payload, _base, _depth) in objects.items():
                    self._write_loose(sha, code, payload)
            else:
                self._write_pack(objects)
            _crash_point("objects")
            changes = {path: (None if data is None else blob_id(data))
                       for path, data in self._writes.items()}
            self._save_journal({path: [self._before[path], blob]
                                for path, blob in changes.items()})
            _crash_point("journal")
            self._move_branch(self.head, self._published)
        except BaseException:
            # nothing of the queue reached the branch: forget it
            self._queued, self._object_bytes = 0, 0
            self._writes.clear()
            self._before.clear()
            self.head = self._published
            self._root_tree = self._commit_tree(self._published)
            self._trees.clear()
            raise
        self._published = self.head
        self._queued, self._object_bytes = 0, 0
        _crash_point("branch")
        writes, self._writes = self._writes, {}
        self._before.clear()
        items = list(changes.items())
        # Files are replaced whole (temp + rename), so a kill never shows a
        # reader half a file. Only a commit of more than IN_PLACE_ABOVE files
        # (a first run reminding tens of thousands of invoices) writes in
        # place: there each rename over an existing file makes ext4 flush it
        # (~10 s for 48,700 files); a kill meanwhile leaves files that
        # `check`/`status` report as unreadable and the next action completes.
        atomic = len(items) <= IN_PLACE_ABOVE
        for i, (path, blob) in enumerate(items):
            if blob is None:
                self._remove_file(path)
            else:
                self._write_file(path, writes[path], atomic)
            self._pending[path] = None if blob is None else ("100644", blob)
            if i == 0:
                _crash_point("first-file")
        _crash_point("files")

    def _write_loose(self, sha: str, code: int, data: bytes) -> None:
        folder = self.objects / sha[:2]
        target = folder / sha[2:]
        if target.exists():
            return
        folder.mkdir(exist_ok=True)
        tmp = self.objects / ("tmp_obj_facturier_%d" % os.getpid())
        with open(tmp, "wb") as f:
            f.write(zlib.compress(b"%s %d\0" % (TYPE_NAMES[code], len(data)) + data, 1))
        os.chmod(tmp, 0o444)
        os.replace(tmp, target)

    def _write_pack(self, objects: dict[str, tuple[int, bytes, Optional[str], int]]) -> None:
        """One pack (and its index) holding ``objects``, trees as deltas
        against their previous version: a batch of 1,000 commits in an
        8,000-entry month folder would otherwise compress 8 GB of trees."""
        folder = self.objects / "pack"
        folder.mkdir(exist_ok=True)
        tmp = folder / ("tmp_pack_facturier_%d" % os.getpid())
        offsets: dict[str, int] = {}
        index = []
        digest = hashlib.sha1()
        with open(tmp, "wb") as f:
            head = b"PACK" + struct.pack(">II", 2, len(objects))
            f.write(head)
            digest.update(head)
            pos = len(head)
            for sha, (code, payload, base, _depth) in objects.items():
                if base is not None:
                    entry = _pack_header(OBJ_OFS_DELTA, len(payload)) + _ofs(pos - offsets[base])
                else:
                    entry = _pack_header(code, len(payload))
                entry += zlib.compress(payload, 1)
                f.write(entry)
                digest.update(entry)
                offsets[sha] = pos
                index.append((bytes.fromhex(sha), zlib.crc32(entry), pos))
                pos += len(entry)
            checksum = digest.digest()
            f.write(checksum)
        if pos >= 1 << 31:
            os.unlink(tmp)
            raise GitError("a batch of commits too large for one pack (%d bytes)" % pos)
        index.sort()
        fanout = [0] * 256
        for binsha, _crc, _pos in index:
            fanout[binsha[0]] += 1
        for i in range(1, 256):
            fanout[i] += fanout[i - 1]
        n = len(index)
        idx = b"".join((b"\377tOc", struct.pack(">I", 2), struct.pack(">256I", *fanout),
                        b"".join(e[0] for e in index),
                        struct.pack(">%dI" % n, *(e[1] for e in index)),
                        struct.pack(">%dI" % n, *(e[2] for e in index)), checksum))
        idx += hashlib.sha1(idx).digest()
        name = "pack-%s" % checksum.hex()
        tmp_idx = folder / ("tmp_idx_facturier_%d" % os.getpid())
        tmp_idx.write_bytes(idx)
        os.chmod(tmp, 0o444)
        os.chmod(tmp_idx, 0o444)
        # git uses a pack once its index exists: the pack first
        os.replace(tmp, folder / (name + ".pack"))
        os.replace(tmp_idx, folder / (name + ".idx"))

    def _save_journal(self, entry: dict[str, list[Optional[str]]]) -> None:
        """Append one line (path -> blob ids it may hold) to the journal; a
        line cut short by a kill belongs to a commit whose branch never moved."""
        if self._journal_file is None:
            (self.root / ".facturier").mkdir(exist_ok=True)
            self._journal_file = open(self.root / JOURNAL_FILE, "a", encoding="utf-8")
        self._journal_file.write(json.dumps(entry, sort_keys=True) + "\n")
        self._journal_file.flush()
        self._journaled = True

    def _move_branch(self, new: str, old: str) -> None:
        if self._updater is None or self._updater.poll() is not None:
            self._updater = subprocess.Popen(
                ["git", "-C", str(self.root), "update-ref", "-m", "facturier", "--stdin", "-z"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p = self._updater
        try:
            p.stdin.write(b"start\0update %s\0%s\0%s\0prepare\0commit\0"
                          % (self.ref.encode(), new.encode(), old.encode()))
            p.stdin.flush()
            answers = [p.stdout.readline() for _ in range(3)]
        except BrokenPipeError:
            answers = []
        if answers != [b"start: ok\n", b"prepare: ok\n", b"commit: ok\n"]:
            err = b""
            try:
                p.stdin.close()
                err = p.stderr.read()
                p.wait(5)
            except Exception:
                pass
            self._updater = None
            text = err.decode(errors="replace").strip()
            if "but expected" in text or "is at" in text:
                raise ConcurrentChange(
                    "the branch %s moved while facturier was working (a commit was made by "
                    "someone else); nothing was changed, try again" % self.ref.rsplit("/", 1)[-1])
            raise GitError("could not move the branch %s: %s" % (self.ref, text or "no answer"))

    def _write_file(self, path: str, data: bytes, atomic: bool = True) -> None:
        self._seen.pop(path, None)
        target = os.path.join(self.root, path)
        folder = os.path.dirname(target)
        if folder not in self._folders:         # tens of thousands of files in one commit
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)
        if atomic:
            staging = os.path.join(self.root, TMP_DIR)
            if staging not in self._folders:
                os.makedirs(staging, exist_ok=True)
                self._folders.add(staging)
            written = os.path.join(staging, "file-%d" % os.getpid())
        else:
            written = target
        fd = os.open(written, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view):]
        finally:
            os.close(fd)
        if atomic:
            os.replace(written, target)

    def _remove_file(self, path: str) -> None:
        self._seen.pop(path, None)
        self._folders.clear()
        target = self.root / path
        try:
            target.unlink()
        except FileNotFoundError:
            return
        parent = target.parent
        while parent != self.root and parent.parent != self.root:
            try:
                parent.rmdir()
            except OSError:
                break
            parent = parent.parent

    def flush(self) -> None:
        """Set the index entries of the paths changed so far to HEAD's, then
        drop the journal."""
        if self._pending:
            lines = []
            for path, entry in sorted(self._pending.items()):
                if entry is None:
                    lines.append(b"0 %s\t%s\0" % (ZERO.encode(), path.encode()))
                else:
                    lines.append(b"%s %s\t%s\0" % (entry[0].encode(), entry[1].encode(),
                                                   path.encode()))
            _git(self.root, "update-index", "-z", "--index-info", input=b"".join(lines))
            self._pending.clear()
            _crash_point("index")
        if self._journal_file is not None:
            self._journal_file.close()
            self._journal_file = None
        if self._journaled:
            try:
                os.unlink(self.root / JOURNAL_FILE)
            except FileNotFoundError:
                pass
            self._journaled = False

    def close(self) -> None:
        try:
            self.publish()
            self.flush()
            if self._commits:
                # as `git commit` does: pack loose objects once there are many
                # (a daily run of 1,000 documents writes ~5,000), in the background
                _git(self.root, "gc", "--auto", "--quiet", check=False)
        finally:
            for proc in (self._cat, self._updater):
                if proc is not None and proc.poll() is None:
                    try:
                        proc.stdin.close()
                        proc.wait(5)
                    except Exception:
                        proc.kill()
            self._cat = self._updater = None

    # ------------------------------------------------------------------ recovery

    def _cut_short(self, path: str, head: str) -> bool:
        """Does the work tree file hold the start of HEAD's content (a write
        of facturier's that a kill cut short)?"""
        try:
            data = (self.root / path).read_bytes()
        except OSError:
            return False
        return _is_proper_prefix(data, self._cat_file(head)[1])

    def _recover(self) -> None:
        journal = self.root / JOURNAL_FILE
        tmp = self.root / TMP_DIR
        leftovers = list(self.objects.glob("tmp_obj_facturier_*"))
        leftovers += self.objects.glob("pack/tmp_pack_facturier_*")
        leftovers += self.objects.glob("pack/tmp_idx_facturier_*")
        for leftover in leftovers:   # a kill mid-write
            try:
                leftover.unlink()
            except OSError:
                pass
        if tmp.is_dir():
            for leftover in tmp.iterdir():
                try:
                    leftover.unlink()
                except OSError:
                    pass
        try:
            lines = journal.read_text(encoding="utf-8", errors="replace").splitlines()
        except FileNotFoundError:
            return
        paths: dict[str, set] = {}
        for line in lines:
            try:
                entry = json.loads(line)
                for path, blobs in entry.items():
                    paths.setdefault(path, set()).update(blobs)
            except (ValueError, AttributeError, TypeError):
                continue            # cut short by the kill: its branch never moved
        self._journaled = True
        for path, known in sorted(paths.items()):
            head = self.blob_at_head(path)
            work = self._work_blob(path)
            if work == head:
                pass
            elif work in known or (head is not None and self._cut_short(path, head)):
                if head is None:
                    self._remove_file(path)
                else:
                    self._write_file(path, self._cat_file(head)[1])
                self.recovered.append("%s: finished the interrupted change" % path)
            else:
                self.recovered.append("%s: kept your uncommitted edit (made after an "
                                      "interrupted change)" % path)
            mode = b"100644"
            self._pending[path] = None if head is None else (mode.decode(), head)
        self.flush()


OBJECT_TYPES = {b"commit": 1, b"tree": 2, b"blob": 3}
TYPE_NAMES = {code: kind for kind, code in OBJECT_TYPES.items()}
OBJ_OFS_DELTA = 6
MAX_DEPTH = 50              # delta chain length (as `git repack` uses)
LOOSE_OBJECTS = 64          # more objects than this in one publish: a pack
BATCH_COMMITS = 500         # a batch publishes when it holds this many commits
BATCH_BYTES = 64 << 20      # ... or this much object data


def _varint(n: int) -> bytes:
    """A size in a delta's header (7 bits a byte, least significant first)."""
    out = bytearray()
    while n >= 0x80:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    out.append(n)
    return bytes(out)


def _copy(offset: int, size: int) -> bytes:
    """Delta instructions copying ``size`` bytes of the base from ``offset``."""
    out = bytearray()
    while size > 0:
        n = min(size, 0xFFFFFF)
        cmd, args = 0x80, bytearray()
        for k in range(4):
            byte = (offset >> (8 * k)) & 0xFF
            if byte:
                cmd |= 1 << k
                args.append(byte)
        for k in range(3):
            byte = (n >> (8 * k)) & 0xFF
            if byte:
                cmd |= 0x10 << k
                args.append(byte)
        out.append(cmd)
        out += args
        offset += n
        size -= n
    return bytes(out)


def _insert(data: bytes) -> bytes:
    """Delta instructions inserting ``data`` (at most 127 bytes each)."""
    return b"".join(bytes((len(data[i:i + 127]),)) + data[i:i + 127]
                    for i in range(0, len(data), 127))


def apply_delta(base: bytes, delta: bytes) -> bytes:
    """A git delta applied to ``base`` (to rebuild a queued tree)."""
    def size(i):
        n = shift = 0
        while True:
            byte = delta[i]
            i += 1
            n |= (byte & 0x7F) << shift
            shift += 7
            if not byte & 0x80:
                return n, i
    source, i = size(0)
    target, i = size(i)
    if source != len(base):
        raise GitError("a delta for %d bytes applied to %d" % (source, len(base)))
    out = []
    while i < len(delta):
        cmd = delta[i]
        i += 1
        if cmd & 0x80:
            offset = n = 0
            for k in range(4):
                if cmd & (1 << k):
                    offset |= delta[i] << (8 * k)
                    i += 1
            for k in range(3):
                if cmd & (0x10 << k):
                    n |= delta[i] << (8 * k)
                    i += 1
            out.append(base[offset:offset + (n or 0x10000)])
        else:
            out.append(delta[i:i + cmd])
            i += cmd
    data = b"".join(out)
    if len(data) != target:
        raise GitError("a delta made %d bytes instead of %d" % (len(data), target))
    return data


def _pack_header(code: int, size: int) -> bytes:
    out = bytearray()
    byte = (code << 4) | (size & 0x0F)
    size >>= 4
    while size:
        out.append(byte | 0x80)
        byte = size & 0x7F
        size >>= 7
    out.append(byte)
    return bytes(out)


def _ofs(distance: int) -> bytes:
    """An OFS_DELTA's distance back to its base, as git encodes it."""
    out = [distance & 0x7F]
    distance >>= 7
    while distance:
        distance -= 1
        out.append(0x80 | (distance & 0x7F))
        distance >>= 7
    return bytes(reversed(out))


def _is_proper_prefix(part: bytes, whole: bytes) -> bool:
    return len(part) < len(whole) and whole.startswith(part)


def _crash_point(name: str) -> None:
    """Tests only: ``FACTURIER_TEST_CRASH=<name>`` kills this process (-9) at
    that point of a commit, to check the recovery rule."""
    if _CRASH and _CRASH == name:
        import signal
        os.kill(os.getpid(), signal.SIGKILL)


_CRASH = os.environ.get("FACTURIER_TEST_CRASH", "")


def _tz_offset() -> str:
    offset = time.localtime().tm_gmtoff
    sign = "+" if offset >= 0 else "-"
    offset = abs(offset)
    return "%s%02d%02d" % (sign, offset // 3600, (offset // 60) % 60)


# =========================================================================== history

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
