"""The work tree and the index follow the commits, through git; the journal
that lets the next command finish what a crash interrupted.

Order of a publish (see gitstore.Store.publish): the commits' objects are in
the repository; the journal records the paths about to change with the blob
ids they may hold (before and after) and is fsynced; each of those paths is
checked to still hold what it held before (a person's edit made meanwhile
refuses the publish, nothing written); ``git checkout --no-overlay NEW --
paths`` (for many paths ``git update-index --index-info`` then ``git
checkout-index --stdin``) moves their index entries and work tree files
(filters, eol, modes and symlink checks as git does them) — except appends in
a repository that converts nothing, whose tails facturier writes in place
before ``git update-index --stdin`` records them (:func:`append_in_place`);
the branch moves by compare-and-swap; the journal is dropped. Any failure in between undoes what
was done, and a kill leaves the journal for the next command.

Recovery rule, for each journaled path: make the work tree and index match
HEAD when the file holds one of the journal's contents, is missing, or holds a
start of HEAD's content (a write cut short, an in-place append interrupted
mid-file); a file holding anything else is a person's edit made since: it is
kept and reported. The journal lives in the git
directory (never in a clone) and only names book files: a path outside the
book's folders is never touched.
"""
from __future__ import annotations

import errno
import json
import os
import re
import stat
from pathlib import Path
from typing import Callable, Iterable, Optional

from .gitrepo import GitError, Repository, blob_id, git, read_file, run_git

JOURNAL = "journal.json"
_BOOK_PATH = re.compile(r"(facturier\.yaml|(contacts|recurrences)/[^/]+\.yaml|documents/.+\.yaml)\Z")


class EditedMeanwhile(GitError):
    """A file the commits change was edited by a person while facturier worked."""

    def __init__(self, paths: list[str]):
        self.paths = paths
        super().__init__(
            "%s changed while facturier was working (an edit made meanwhile); nothing of this "
            "change was written and your edit is kept. Commit or discard it, then run the "
            "command again" % ", ".join(paths))


def is_book_path(path: str) -> bool:
    """A path facturier may write: a book file, relative, without `..`."""
    if not isinstance(path, str) or not path or path.startswith("/") or "\\" in path:
        return False
    parts = path.split("/")
    if any(p in ("", ".", "..") or p.startswith(".") for p in parts):
        return False
    return bool(_BOOK_PATH.match(path))


class Journal:
    def __init__(self, repo: Repository):
        self.repo = repo
        self.file = repo.state_dir() / JOURNAL

    def write(self, ref: str, old: str, new: str,
              paths: dict[str, tuple[Optional[str], Optional[str]]]) -> None:
        data = json.dumps({"ref": ref, "old": old, "new": new,
                           "paths": {p: list(v) for p, v in paths.items()}},
                          sort_keys=True).encode()
        tmp = self.file.with_suffix(".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o644)
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.file)

    def read(self) -> Optional[dict[str, set]]:
        """{path: blob ids it may hold} of a journal left by an interrupted
        publish, or None; a journal that does not parse was cut short by a
        kill before anything else happened."""
        try:
            entry = json.loads(self.file.read_bytes())
            paths = entry["paths"]
            return {p: {b for b in blobs if b is None or isinstance(b, str)}
                    for p, blobs in paths.items() if is_book_path(p) and isinstance(blobs, list)}
        except FileNotFoundError:
            return None
        except (ValueError, KeyError, TypeError, AttributeError):
            return {}

    def drop(self) -> None:
        for f in (self.file, self.file.with_suffix(".tmp")):
            try:
                f.unlink()
            except FileNotFoundError:
                pass


CHECKOUT_PATHS = 16     # more paths than this: write_entries() (see checkout)


def checkout(repo: Repository, new: str,
             paths: dict[str, tuple[Optional[str], Optional[str]]],
             modes: Optional[dict[str, str]] = None,
             work: Optional[dict[str, Optional[str]]] = None,
             contents: Optional[dict[str, Optional[bytes]]] = None,
             objects: Optional[Callable[[], None]] = None) -> None:
    """Bring the index and work tree of ``paths`` ({path: (blob before, blob
    after)}) to commit ``new``: first check that each still holds what it held
    before (git's hashing: filters, eol; ``work``: those ids when the caller
    knows them already), refusing with EditedMeanwhile when a person edited
    one meanwhile — then nothing is written; then git writes the files
    (smudge filters, eol, modes, its own checks against symbolic links) and
    their index entries, deleting what the commit deleted:

    - up to CHECKOUT_PATHS paths, ``git checkout --no-overlay NEW -- paths``
      (one process: an action);
    - past that, :func:`write_entries` (``update-index --index-info`` then
      ``checkout-index --stdin``): checkout matches every pathspec against
      every index entry, paths x files — 94 s of a daily run writing 48,000
      files of a 100,000-file book, against 2 s. ``modes`` ({path: mode} of
      the new entries) spares asking git for them.

    (``read-tree -m -u OLD NEW`` would do both in one, but reads both trees
    whole: 0.4 s at 100,000 files, for one file too.)

    Appends are written in place (:func:`append_in_place`): when the
    repository converts nothing and ``contents`` ({path: new bytes}) shows a
    file's new content starting with what it holds (a payment, a reminder, a
    delivery appended as text), only the tail is written and
    ``update-index --stdin`` records it — git would unlink the file and
    write it whole, about 2 ms a file on a disk that frees blocks online
    (10 s for 5,000 payments), against 0.1 ms. Past CHECKOUT_PATHS the other
    paths take git's way as above; up to it, in place only when every path
    is an append (else one checkout of them all).

    ``objects``: called before git needs commit ``new``'s objects (its pack
    may still be being written). An append in place needs its new blob in
    the repository before the file is touched (the recovery of a write cut
    short compares the file with it): up to CHECKOUT_PATHS appends, git
    stores those blobs at once (``hash-object -w``, while the pack is being
    written); more, the pack is waited for."""
    ready = objects or (lambda: None)
    if work is None:
        work = repo.work_blobs(paths)
    edited = sorted(p for p, (before, _after) in paths.items() if work[p] != before)
    if edited:
        raise EditedMeanwhile(edited)
    appends = _appends(repo, paths, modes, contents) if contents and not repo.converts else {}
    if appends and objects is not None:
        if len(appends) <= CHECKOUT_PATHS:
            _store_blobs(repo, appends)
        else:
            ready()
    if len(paths) > CHECKOUT_PATHS:
        rest = {p: v for p, v in paths.items() if p not in appends}
        if rest:
            ready()
            if modes is None or any(rest[p][1] is not None and p not in modes for p in rest):
                at = head_blobs(repo, new, rest)
                modes = {p: entry[0] for p, entry in at.items()}
            entries = {p: (modes[p], after) if after is not None else None
                       for p, (_before, after) in rest.items()}
            _set_index(repo, entries)
            crash_point("index")
            _write_files(repo, entries)
        if appends:
            append_in_place(repo, appends)
        return
    if appends and len(appends) == len(paths):
        append_in_place(repo, appends)
        return
    ready()
    git(repo.root, "checkout", "-q", "--no-overlay", new, "--pathspec-from-file=-",
        "--pathspec-file-nul", input=b"".join(b":(literal)" + p.encode("utf-8", "surrogateescape")
                                              + b"\0" for p in paths))


# (old size, new bytes, (mode, blob id) of the new entry) of a file whose new
# content starts with what it holds
Append = tuple[int, bytes, tuple[str, str]]


def _store_blobs(repo: Repository, appends: dict[str, Append]) -> None:
    """Git stores the new content of each append as a blob (as it is: the
    repository converts nothing), one process each, checked to be the blob
    the commit holds."""
    for path, (_size, data, (_mode, blob)) in appends.items():
        stored = git(repo.root, "hash-object", "-w", "--no-filters", "--stdin",
                     input=data).decode().strip()
        if stored != blob:
            raise GitError("git stored %s as %s, not %s" % (path, stored, blob))


def _appends(repo: Repository, paths: dict[str, tuple[Optional[str], Optional[str]]],
             modes: Optional[dict[str, str]],
             contents: dict[str, Optional[bytes]]) -> dict[str, Append]:
    """Those of ``paths`` whose new content (``contents``) starts with the
    content they hold now (already checked to be their blob before): a
    regular file, its mode's executable bit as the entry's, with no other
    hard link (a copy made with `cp -al` must not change with it: git would
    replace the file), smaller than the new content, whose bytes hash to the
    blob before when the new content is cut at its size."""
    found: dict[str, Append] = {}
    if modes is None:
        return found
    for path, (before, after) in paths.items():
        data = contents.get(path)
        mode = modes.get(path)
        if before is None or after is None or data is None or mode not in ("100644", "100755"):
            continue
        try:
            st = os.lstat(os.path.join(repo.root, path))
        except OSError:
            continue
        if not stat.S_ISREG(st.st_mode) or bool(st.st_mode & 0o100) != (mode == "100755") \
                or st.st_nlink != 1 or not 0 < st.st_size < len(data) \
                or blob_id(data[:st.st_size], repo.object_format) != before:
            continue
        found[path] = (st.st_size, data, (mode, after))
    return found


def append_in_place(repo: Repository, appends: dict[str, Append]) -> None:
    """Write only the appended tail of each file ({path: (old size, new
    bytes, (mode, blob id))}) at its old size, then record the files in the
    index with ``git update-index --add --stdin`` (git hashes them and keeps
    their stat data, so `git status` finds them clean without reading them).

    Each file is opened without following a link, neither itself nor a
    folder on the way (each folder opened from its parent with
    ``O_NOFOLLOW``), and must still hold its old bytes: anything else is an
    edit made meanwhile (EditedMeanwhile; the caller's recovery puts back
    what was written). A file that cannot be opened for writing (a
    read-only file) takes git's way (``checkout-index``, as before). A write
    cut short (a kill, a full disk) leaves the start of the new content,
    which the recovery rule finishes. After git has hashed them, a file
    whose stat data is no longer the one the write left (touched in between)
    has its index entry checked, and set back to the commit's when git
    recorded something else."""
    written: dict[str, tuple[int, ...]] = {}
    fallback: dict[str, Optional[tuple[str, str]]] = {}
    folders = _Folders(repo.root)
    try:
        half = len(appends) // 2
        for i, (path, (size, data, entry)) in enumerate(appends.items()):
            if i == half:
                crash_point("appended-half")
            folder, _, name = path.rpartition("/")
            try:
                fd = os.open(name, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC,
                             dir_fd=folders.fd(folder))
            except OSError as exc:
                if exc.errno == errno.ELOOP:
                    raise GitError("%s is a symbolic link: facturier never writes through links "
                                   "in a book" % path) from None
                if exc.errno in (errno.ENOENT, errno.ENOTDIR, errno.EISDIR):
                    raise EditedMeanwhile([path]) from None
                fallback[path] = entry          # e.g. read-only: git replaces it
                continue
            try:
                st = os.fstat(fd)
                if not stat.S_ISREG(st.st_mode) or st.st_size != size or st.st_nlink != 1 or \
                        os.pread(fd, size + 1, 0) != data[:size]:
                    raise EditedMeanwhile([path])
                tail = memoryview(data)[size:]
                if i == half and _crash_wanted("append-mid"):
                    os.pwrite(fd, tail[:len(tail) // 2], size)
                    crash_point("append-mid")
                at = size
                while at < len(data):
                    done = os.pwrite(fd, tail[at - size:], at)
                    if done <= 0:
                        raise OSError(errno.EIO, "nothing written")
                    at += done
                st = os.fstat(fd)
            except OSError as exc:
                raise GitError("could not write %s: %s" % (path, exc.strerror)) from None
            finally:
                os.close(fd)
            written[path] = _stat_key(st)
    finally:
        folders.close()
    crash_point("appended")
    if fallback:
        write_entries(repo, fallback)
    if not written:
        return
    git(repo.root, "update-index", "-z", "--add", "--stdin",
        input=b"".join(p.encode("utf-8", "surrogateescape") + b"\0" for p in written))
    touched = []
    for path, key in written.items():
        try:
            if _stat_key(os.lstat(os.path.join(repo.root, path))) == key:
                continue            # untouched since the write: git hashed those bytes
        except OSError:
            pass
        touched.append(path)
    if touched:
        recorded = _index_entries(repo, touched)
        wrong: dict[str, Optional[tuple[str, str]]] = {
            p: appends[p][2] for p in touched if recorded.get(p) != appends[p][2]}
        if wrong:
            _set_index(repo, wrong)


def _stat_key(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_mode)


class _Folders:
    """Folders of the book opened one from the other without following a
    link (``O_NOFOLLOW``): a path reached through them never leaves the
    book, whatever is swapped in the meantime."""

    def __init__(self, root: Path):
        self._fds = {"": os.open(root, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)}

    def fd(self, folder: str) -> int:
        found = self._fds.get(folder)
        if found is not None:
            return found
        parent, _, name = folder.rpartition("/")
        parent_fd = self.fd(parent)
        try:
            fd = os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC,
                         dir_fd=parent_fd)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise GitError("%s is a symbolic link (or not a folder): facturier never writes "
                               "through links in a book" % folder) from None
            raise GitError("could not open the folder %s: %s" % (folder, exc.strerror)) from None
        self._fds[folder] = fd
        return fd

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()


def write_entries(repo: Repository, entries: dict[str, Optional[tuple[str, str]]],
                  work_tree: bool = True) -> None:
    """Set the index entries of these paths ({path: (mode, blob id)}, None:
    no such file) with ``git update-index --index-info``, then (``work_tree``)
    write their files with ``git checkout-index -f -u --stdin`` (git's own
    writing: smudge filters, eol, modes, its checks against symbolic links
    and folders in the way; the index gets the files' stat data) and remove
    the files of the deleted ones. Neither git command takes a pathspec: the
    cost is the paths', not paths x files. A kill in between leaves the
    index ahead of the work tree, which the recovery rule settles (the
    journal names every path)."""
    _set_index(repo, entries)
    if work_tree:
        _write_files(repo, entries)


def _set_index(repo: Repository, entries: dict[str, Optional[tuple[str, str]]]) -> None:
    lines = []
    for path, entry in entries.items():
        name = path.encode("utf-8", "surrogateescape")
        if entry is None:
            lines.append(b"0 %s\t%s\0" % (repo.zero.encode(), name))
        else:
            lines.append(b"%s %s\t%s\0" % (entry[0].encode(), entry[1].encode(), name))
    if lines:
        git(repo.root, "update-index", "-z", "--index-info", input=b"".join(lines))


def _write_files(repo: Repository, entries: dict[str, Optional[tuple[str, str]]]) -> None:
    present = [path.encode("utf-8", "surrogateescape") + b"\0"
               for path, entry in entries.items() if entry is not None]
    if present:
        git(repo.root, "checkout-index", "-f", "-u", "-z", "--stdin", input=b"".join(present))
    for path, entry in entries.items():
        if entry is None:
            _remove(repo.root, path)


def head_blobs(repo: Repository, commit: str, paths: Iterable[str]) -> dict[str, tuple[str, str]]:
    """{path: (mode, blob id)} at ``commit`` for those of ``paths`` it holds."""
    found: dict[str, tuple[str, str]] = {}
    paths = list(paths)
    if len(paths) > LIST_WHOLE:
        wanted = set(paths)
        return {p: e for p, e in list_tree(repo, commit).items() if p in wanted}
    for i in range(0, len(paths), 500):
        out = git(repo.root, "ls-tree", "-z", "--full-tree", commit, "--",
                  *[":(literal)" + p for p in paths[i:i + 500]])
        for entry in out.split(b"\0"):
            if not entry:
                continue
            info, _, path = entry.partition(b"\t")
            mode, kind, sha = info.decode().split()
            if kind == "blob":
                found[path.decode("utf-8", "surrogateescape")] = (mode, sha)
    return found


LIST_WHOLE = 100        # more paths than this: list the tree (or index) whole, no pathspecs


def list_tree(repo: Repository, commit: str) -> dict[str, tuple[str, str]]:
    """{path: (mode, blob id)} of every file of ``commit``."""
    out = git(repo.root, "ls-tree", "-r", "-z", "--full-tree", commit)
    found: dict[str, tuple[str, str]] = {}
    for entry in out.split(b"\0"):
        if entry:
            info, _, path = entry.partition(b"\t")
            mode, kind, sha = info.decode().split()
            if kind == "blob":
                found[path.decode("utf-8", "surrogateescape")] = (mode, sha)
    return found


def restore(repo: Repository, commit: str, paths: list[str], work_tree: bool = True) -> None:
    """Make the index (and work tree) of ``paths`` what ``commit`` holds."""
    if not paths:
        return
    at = head_blobs(repo, commit, paths)
    write_entries(repo, {path: at.get(path) for path in paths}, work_tree)


def _remove(root: Path, path: str) -> None:
    target = root / path
    if os.path.islink(target.parent) or not target.parent.is_dir():
        return
    try:
        target.unlink()
    except FileNotFoundError:
        return
    parent = target.parent
    while parent != root and parent.parent != root:
        try:
            parent.rmdir()
        except OSError:
            break
        parent = parent.parent


def recover(repo: Repository, ref: str) -> list[str]:
    """Apply the recovery rule to a journal left by an interrupted publish;
    messages saying what was done. The journal is dropped only once every
    path it names is settled."""
    journal = Journal(repo)
    known = journal.read()
    if known is None:
        return []
    messages = []
    head = git(repo.root, "rev-parse", "-q", "--verify", ref + "^{commit}").decode().strip()
    if known:
        at = head_blobs(repo, head, known)
        work = repo.work_blobs(known)
        index = {p: entry[1] for p, entry in _index_entries(repo, known).items()}
        to_restore, index_only = [], []
        for path in sorted(known):
            head_blob = at[path][1] if path in at else None
            if work[path] == head_blob:
                # the file is right: only its index entry (no file rewritten,
                # which also settles a file git cannot replace, e.g. read-only)
                if index.get(path) != head_blob and index.get(path) in known[path]:
                    index_only.append(path)
                continue
            if work[path] in ("symlink", "directory", "special"):
                messages.append("%s: left as it is (not a file facturier wrote)" % path)
                continue
            if work[path] is None or work[path] in known[path] or (
                    _cut_short(repo, path, {head_blob} | known[path])):
                to_restore.append(path)
                messages.append("%s: finished the interrupted change" % path)
            else:
                messages.append("%s: kept your uncommitted edit (made after an interrupted "
                                "change)" % path)
                if index.get(path) != head_blob and index.get(path) in known[path]:
                    index_only.append(path)
        restore(repo, head, to_restore)
        restore(repo, head, index_only, work_tree=False)
        if index_only:      # their stat data, so that `git status` need not read them
            git(repo.root, "update-index", "-q", "--refresh", check=False)
    _drop_private_refs(repo)
    journal.drop()
    return messages


def _index_entries(repo: Repository, paths: Iterable[str]) -> dict[str, tuple[str, str]]:
    """{path: (mode, blob id)} of these paths' index entries (of a path in
    conflict, its last stage's)."""
    paths = list(paths)
    wanted = set(paths)
    if len(paths) > LIST_WHOLE:         # pathspecs cost paths x index entries
        outs = [git(repo.root, "ls-files", "-s", "-z")]
    else:
        outs = [git(repo.root, "ls-files", "-s", "-z", "--",
                    *[":(literal)" + p for p in paths[i:i + 500]])
                for i in range(0, len(paths), 500)]
    found = {}
    for out in outs:
        for entry in out.split(b"\0"):
            if entry:
                info, _, name = entry.partition(b"\t")
                text = name.decode("utf-8", "surrogateescape")
                if text in wanted:
                    mode, sha, _stage = info.decode().split()
                    found[text] = (mode, sha)
    return found


def _cut_short(repo: Repository, path: str, blobs: set) -> bool:
    """Does the work tree file hold the start of one of these contents (HEAD's,
    or one the journal names: a write of git's that a kill or a full disk cut
    short, whether the branch moved or not)?"""
    data = read_file(repo.root, path)
    if data is None:
        return False
    for blob in blobs:
        if blob is None:
            continue
        code, whole, _err = run_git(repo.root, "cat-file", "--filters", "--path=" + path, blob) \
            if repo.converts else run_git(repo.root, "cat-file", "blob", blob)
        if code == 0 and len(data) < len(whole) and whole.startswith(data):
            return True
    return False


def _drop_private_refs(repo: Repository) -> None:
    """Forget the private refs of sessions that ended (and their locks: only
    facturier writes under refs/facturier/, and it holds the book lock here)."""
    out = git(repo.root, "for-each-ref", "--format=%(refname)", "refs/facturier/", check=False)
    refs = [r for r in out.decode().split() if r.startswith("refs/facturier/import-")]
    folder = repo.git_dir / "refs" / "facturier"
    if folder.is_dir():
        for lock in folder.glob("import-*.lock"):
            try:
                lock.unlink()
            except OSError:
                pass
    if refs:
        git(repo.root, "update-ref", "--stdin", "-z",
            input=b"".join(b"delete %s\0\0" % r.encode() for r in refs), check=False)


def crash_point(name: str) -> None:
    """Tests only: ``FACTURIER_TEST_CRASH=<name>`` kills this process (-9) at
    that point of a publish, to check the recovery rule;
    ``<name>:INT`` or ``<name>:TERM`` sends it that signal instead (the
    unwinding of an interruption)."""
    if _CRASH and _CRASH.partition(":")[0] == name:
        import signal
        how = _CRASH.partition(":")[2]
        os.kill(os.getpid(), {"INT": signal.SIGINT, "TERM": signal.SIGTERM}.get(how, signal.SIGKILL))


def _crash_wanted(name: str) -> bool:
    return bool(_CRASH) and _CRASH.partition(":")[0] == name


_CRASH = os.environ.get("FACTURIER_TEST_CRASH", "")
