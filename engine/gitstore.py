"""The write session on a book: facturier plans, git writes.

The git layer, split by job:

- :mod:`engine.gitrepo` — running git, what the repository is (object format,
  conversions), blob ids, listing the book's files, identities;
- :mod:`engine.gitlock` — the book lock;
- :mod:`engine.gitcommit` — commits through `git fast-import`;
- :mod:`engine.worktree` — index and work tree through `git checkout`, the
  journal and the recovery rule;
- :mod:`engine.gitlog` — history queries;
- this module — :class:`Store`, one write session, and the names the rest of
  the engine uses. Nothing outside these modules runs git.

One action = one commit on the checked-out branch. A session queues commits
(each a commit of its own) and *publishes* them: fast-import's pack is written,
the journal records the paths about to change, each is checked to still hold
what it held (a person's edit made meanwhile refuses the publish, nothing
written), git brings their index entries and work tree files to the new
commit (``git checkout --no-overlay NEW -- paths`` for a few paths, ``git
update-index --index-info`` then ``git checkout-index --stdin`` for many;
appended tails written in place then ``git update-index --stdin``: see
:func:`engine.worktree.checkout`), the branch moves by compare-and-swap,
the journal is dropped. A failure or a signal at any point
undoes what was done (the work tree back to the branch's commit); a kill leaves
the journal, which the next command settles (:func:`engine.worktree.recover`).
"""
from __future__ import annotations

import os
import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Optional

from .diagnostics import FacturierError
from .gitcommit import FastImport, FileChange, commit_time, private_ref
from .gitlock import BookLock, LockTimeout, state_dir
from .gitlog import LOG_FORMAT, change_signature, commit_order, find_paths, log_records
from .gitrepo import (BOOK_FOLDERS, GitError, Pending, Repository, _folder_checked, blob_id, git,
                      identities, identity_env, init_repository, is_repository, list_blobs,
                      parse_author, read_file_stat, run_git)
from .worktree import (EditedMeanwhile, Journal, checkout, crash_point, is_book_path, list_tree,
                       recover)

__all__ = ["BOOK_FOLDERS", "BookLock", "ConcurrentChange", "EditedMeanwhile", "GitError",
           "LOG_FORMAT", "LockTimeout", "PublishLost", "Store", "blob_id", "change_signature", "commit_order",
           "find_paths", "identity_env", "init_repository", "is_repository", "list_blobs",
           "log_records", "parse_author", "recover_book", "state_dir"]

BATCH_COMMITS = 500         # a batch publishes when it holds this many commits
BATCH_BYTES = 64 << 20      # ... or this much file data
AHEAD_AT = 256              # files in one commit from which their blobs are stored ahead
LIST_AFTER = 200            # paths asked of fast-import one by one before listing HEAD whole


class ConcurrentChange(FacturierError):
    """The branch moved under us (someone committed meanwhile)."""


class PublishLost(FacturierError):
    """A batch's publish made behind the session failed (a person's edit, the
    branch moved, an I/O error): its commits, and those queued after them,
    are not on the branch; the work tree and index are the branch's. The
    session's plans since are void: its caller stops (a run's next run makes
    them again)."""

    def __init__(self, cause: Exception):
        super().__init__("the commits of this run since its last publish were not published "
                         "(%s); nothing of them was kept: run again" % cause)
        self.cause = cause


def recover_book(root) -> list[str]:
    """Settle a publish a kill interrupted, when no other process holds the
    book (read-only commands call this so they never read a half-moved work
    tree); messages saying what was done."""
    dot_git = Path(root) / ".git"
    if dot_git.is_dir() and not (dot_git / "facturier" / "journal.json").exists():
        return []                               # the common case, without running git
    try:
        repo = Repository(root)
    except GitError:
        return []
    if not (repo.git_dir / "facturier" / "journal.json").exists():
        return []
    lock = BookLock(root)
    if not lock.try_acquire():
        return []
    try:
        ref = git(root, "symbolic-ref", "-q", "HEAD", check=False).decode().strip()
        return recover(repo, ref) if ref else []
    finally:
        lock.release()


@dataclass(eq=False)
class _Flight:
    """One publish after its objects are written (see :meth:`Store.publish`)."""
    old: str                                            # the branch before
    new: str                                            # ... and after
    paths: dict[str, tuple[Optional[str], Optional[str]]]   # path -> (blob before, after)
    after: dict[str, Optional[tuple[str, str]]]         # path -> (mode, blob), None: deleted
    writes: dict[str, Optional[bytes]]                  # path -> bytes written
    work: dict[str, Optional[str]]                      # path -> blob in the work tree before
    contents: Optional[dict[str, Optional[bytes]]] = None   # writes, when written as they are
    thread: Optional[threading.Thread] = None
    done: threading.Event = field(default_factory=threading.Event)
    moved: bool = False                                 # the branch moved
    error: Optional[BaseException] = field(default=None)


@dataclass
class _Ahead:
    """File contents fast-import stores in a thread (see :meth:`Store.store_ahead`)."""
    contents: list[bytes]
    stored: set[str] = field(default_factory=set)       # their blob ids, once all are sent
    done: threading.Event = field(default_factory=threading.Event)
    error: Optional[BaseException] = field(default=None)


def _start_behind(thread: threading.Thread, known: Callable[[], None]) -> Optional[Exception]:
    """Start a thread working behind the session (a publish, contents stored
    ahead), ``known()`` first (the session's record of it, which every later
    step waits on): whole, with no interruption in between (it runs, or it
    never does: then the failure is returned); the thread keeps SIGINT and
    SIGTERM blocked, they are the session's."""
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
    try:
        known()
        thread.start()
    except Exception as exc:
        return exc
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
    return None


def _join(flight: "_Flight | _Ahead") -> Optional[BaseException]:
    """Wait for a publish's thread to be done; an interruption meanwhile
    (Ctrl-C) does not stop it (as for a git command, gitrepo.run_git): it is
    returned, for the caller to raise once the publish is settled. (Not
    ``Thread.join``: interrupted, Python 3.11's marks a running thread as
    stopped.)"""
    interrupted: Optional[BaseException] = None
    while not flight.done.is_set():
        try:
            flight.done.wait()
        except BaseException as exc:
            interrupted = interrupted or exc
    return interrupted


class Store:
    """A write session on one book; the caller holds the book lock.

    ``commit(writes, deletes, message)`` makes one commit on the checked-out
    branch; outside a batch it is published at once (work tree, index and
    branch). ``close()`` publishes what is queued and stops git's helpers.
    Opening a Store settles an interrupted publish (the recovery rule).
    """

    def __init__(self, root, author: Optional[str] = None):
        self._given_author = author
        self.root = Path(root)
        # the repository's facts, the branch and its commit: one git process
        # (and whether git converts content: two more, waited for when needed)
        self.repo = Repository(self.root, head=True)
        self._staged_asked: Optional[Pending] = None
        try:
            self._open()
        except BaseException:
            self._settle_questions()
            raise

    def _open(self) -> None:
        ref, head = self.repo.head_ref, self.repo.head_commit
        if ref is None:
            ref = git(self.root, "symbolic-ref", "-q", "HEAD", check=False).decode().strip()
        if not ref.startswith("refs/"):
            raise GitError("the book's HEAD is detached; check out a branch first "
                           "(facturier commits on the checked-out branch)")
        self.ref = ref
        if not head:
            raise GitError("the branch %s has no commit yet; commit facturier.yaml first"
                           % ref.rsplit("/", 1)[-1])
        # the staged changes, asked while the rest opens (see dirty)
        self._staged_asked = Pending(self.root, "diff-index", "--cached", "--name-only", "-z",
                                     head, "--")
        # recovery settles the work tree and index, never the branch
        self.recovered: list[str] = recover(self.repo, ref)
        if self.recovered:          # the index may have changed: asked again when needed
            self._staged_asked.cancel()
            self._staged_asked = None
        self.head = self._published = head
        self._author, self._committer = identities(self.root, self._given_author)
        self._import: Optional[FastImport] = None
        self._journal = Journal(self.repo)
        self._batching = False
        self._commits = 0
        self._queued = 0
        self._queued_bytes = 0
        self._before: dict[str, Optional[str]] = {}     # path -> blob at the published head
        self._after: dict[str, Optional[tuple[str, str]]] = {}   # path -> (mode, blob) queued
        self._writes: dict[str, Optional[bytes]] = {}   # path -> bytes as written (None: deleted)
        self._staged: Optional[set[str]] = None
        self._flight: Optional[_Flight] = None          # a batch's publish under way
        self._seen: dict[str, tuple[int, int, int, str]] = {}   # see read()
        self._folders: dict[str, tuple[int, int]] = {}   # folders found free of links (read)
        # what the published head holds: asked of fast-import path by path at
        # first, then (past LIST_AFTER questions: a daily run) listed once whole
        self._known: dict[str, Optional[tuple[str, str]]] = {}
        self._listed = False
        self._ref_left = False
        self._ahead: Optional[_Ahead] = None            # contents being stored ahead
        self._stored: set[str] = set()                  # blob ids fast-import has from them

    # ------------------------------------------------------------------ reading
    @property
    def _fi(self) -> FastImport:
        if self._ahead is not None:
            self._ahead_landed()
        if self._import is None:
            self._import = FastImport(self.root, private_ref())
            self._stored.clear()
        return self._import

    def store_ahead(self, writes: dict[str, bytes]) -> None:
        """Have fast-import store these file contents now, in a thread, while
        this one checks the change they belong to: for a run's tens of
        thousands of reminders, git's hashing and compressing of the files
        happen beside the checks instead of after them. The commit that
        writes them names each blob by its id. Contents no commit takes (the
        change refused, an interruption) stay objects nothing names, dropped
        by git's gc as those of any interrupted git command. Nothing is done
        when git converts contents (a blob is then not the bytes), nor for
        fewer than AHEAD_AT files (an action's few: not worth a thread)."""
        if len(writes) < AHEAD_AT:
            return
        self.repo.look_for_attributes(writes)
        if self.repo.converts or self._ahead is not None:
            return
        fi = self._fi
        ahead = _Ahead(list(writes.values()))
        thread = threading.Thread(target=self._store_behind, args=(fi, ahead),
                                  name="facturier-blobs")
        # (known first: every use of fast-import waits for it)
        if _start_behind(thread, lambda: setattr(self, "_ahead", ahead)) is not None:
            self._ahead = None      # no thread: the commit sends the contents itself

    def _store_behind(self, fi: FastImport, ahead: _Ahead) -> None:
        try:
            object_format = self.repo.object_format
            sending: dict[str, bytes] = {}
            for data in ahead.contents:
                sha = blob_id(data, object_format)
                if sha not in self._stored:
                    sending.setdefault(sha, data)
            fi.store_blobs(list(sending.values()))
            fi.flush()
            ahead.stored = set(sending)
        except BaseException as exc:
            ahead.error = exc
        finally:
            ahead.done.set()

    def _ahead_landed(self, raising: bool = True) -> None:
        """Wait for the contents being stored ahead (the thread stays known
        until it is done: an interruption before that leaves it to the next
        use of fast-import to wait for). When storing failed (fast-import
        stopped), fast-import is let go with what was queued for it (as a
        failed publish: the branch never held those commits) and the failure
        raised, unless ``raising`` is False (a session being settled); so is
        an interruption received meanwhile."""
        ahead = self._ahead
        if ahead is None:
            return
        interrupted = _join(ahead)
        self._ahead = None
        if ahead.error is None:
            self._stored |= ahead.stored
        else:
            self._stop_import()
            if raising:
                self._abandon()
        if raising and ahead.error is not None:
            raise ahead.error
        if raising and interrupted is not None:
            raise interrupted

    def _stop_import(self) -> None:
        if self._import is not None:
            self._import.kill()
            self._import = None
        self._stored.clear()

    def _entry(self, path: str) -> Optional[tuple[str, str]]:
        """(mode, blob id) of ``path`` at the session's last commit."""
        if path in self._after:
            return self._after[path]
        if self._flight is not None and path in self._flight.after:
            return self._flight.after[path]
        if path in self._known or self._listed:
            return self._known.get(path)
        if len(self._known) >= LIST_AFTER:
            self._known = {p: e for p, e in list_tree(self.repo, self._published).items()}
            self._listed = True
            return self._known.get(path)
        entry = self._known[path] = self._fi.ls(self._published, path)
        return entry

    def blob_at_head(self, path: str) -> Optional[str]:
        """The blob id of ``path`` at the session's last commit, or None."""
        entry = self._entry(path)
        return entry[1] if entry else None

    def read_at_head(self, path: str) -> Optional[bytes]:
        queued = self._queued_bytes_of(path)
        if queued is not None:                  # a queued commit's
            return queued[0]
        blob = self.blob_at_head(path)
        if blob is None:
            return None
        if self.repo.converts:
            return git(self.root, "cat-file", "--filters", "--path=" + path, blob)
        return self._fi.cat_blob(blob)

    def read(self, path: str) -> Optional[bytes]:
        """The bytes of ``path`` as the session's last commit left it (queued
        commits included), or None when it does not exist. Never through a
        symbolic link."""
        queued = self._queued_bytes_of(path)
        if queued is not None:
            return queued[0]
        self.repo.look_for_attributes((path,))
        data, st = read_file_stat(self.root, path, self._folders)
        if data is None or st is None or self.repo.converts:
            return data
        # the file's id as read, while it stays unchanged (the check for
        # uncommitted edits that follows need not read it again) — not for a
        # file changed in the last seconds, whose change may keep its time
        if st.st_mtime_ns < time.time_ns() - 2_000_000_000:
            self._seen[path] = (st.st_mtime_ns, st.st_size, st.st_ino,
                                blob_id(data, self.repo.object_format))
        return data

    def _queued_bytes_of(self, path: str) -> Optional[tuple[Optional[bytes]]]:
        """(bytes,) of ``path`` as a commit not yet in the work tree left it
        (None in it: deleted), or None when no such commit changed it."""
        if path in self._writes:
            return (self._writes[path],)
        if self._flight is not None and path in self._flight.writes:
            return (self._flight.writes[path],)
        return None

    def _work_blobs(self, paths: list[str]) -> dict[str, Optional[str]]:
        found: dict[str, Optional[str]] = {}
        rest = []
        for path in paths:
            seen = self._seen.get(path)
            if seen is not None:
                try:
                    st = os.lstat(os.path.join(self.root, path))
                    if (st.st_mtime_ns, st.st_size, st.st_ino) == seen[:3]:
                        found[path] = seen[3]
                        continue
                except OSError:
                    pass
                del self._seen[path]
            rest.append(path)
        found.update(self.repo.work_blobs(rest))
        return found

    def dirty(self, paths: Iterable[str]) -> list[str]:
        """Those of ``paths`` whose work tree file or staged entry differs
        from the session's last commit (uncommitted edits, an untracked file
        in the way, a symbolic link)."""
        paths = list(paths)
        self.repo.look_for_attributes(paths)
        if self._flight is not None and any(p in self._flight.after for p in paths):
            self._land()                # those files are being written: once they are
        # (while a publish is under way, the staged changes of the paths it
        # does not write are the same against either commit)
        if self._staged is None:
            asked, self._staged_asked = self._staged_asked, None
            if asked is not None and asked.args[-2] == self._published:   # asked of this commit
                out = asked.output()
            else:
                if asked is not None:
                    asked.cancel()
                out = git(self.root, "diff-index", "--cached", "--name-only", "-z",
                          self._published, "--")
            self._staged = {p.decode("utf-8", "surrogateescape") for p in out.split(b"\0") if p}
        work = self._work_blobs(paths)
        found = []
        for path in paths:
            if path in self._before:        # changed by a queued commit: not on disk yet
                expected = self._before[path]
            elif path in self._staged:
                found.append(path)
                continue
            else:
                expected = self.blob_at_head(path)
            if work[path] != expected:
                found.append(path)
        return found

    # ------------------------------------------------------------------ commit
    def commit(self, writes: dict[str, bytes], deletes: Iterable[str], message: str, *,
               links_checked: bool = False) -> Optional[str]:
        """One commit with these changes on the checked-out branch; the work
        tree follows (at once, or at the end of a batch). Returns the commit
        id (in a batch, a fast-import mark ":N" until published), or None
        when nothing changes. ``links_checked``: the caller has just looked
        for links on every path (safepath.check_writable, which names the
        link to the person): not looked for again here. Either way the files
        are written without following a link (engine/worktree.py)."""
        deletes = list(deletes)
        self.repo.look_for_attributes(list(writes) + deletes)
        changes: list[FileChange] = []
        after: dict[str, Optional[tuple[str, str]]] = {}
        ahead: list[int] = []           # changes whose content may have been stored ahead
        for path, data in writes.items():
            self._check_path(path, links_checked)
            old = self._entry(path)
            mode = old[0] if old else "100644"
            if self.repo.converts:
                sha = self.repo.hash_content(path, data, write=True)
                content: bytes | str = sha
            else:
                sha = blob_id(data, self.repo.object_format)
                content = data
            if old is not None and old[1] == sha:
                continue
            if content is data:
                ahead.append(len(changes))
            changes.append((path, mode, content))
            after[path] = (mode, sha)
        for path in deletes:
            self._check_path(path, links_checked)
            if self._entry(path) is not None:
                changes.append((path, "", None))
                after[path] = None
        if not changes:
            return None
        for path in after:
            if path not in self._before:        # first change of it since the last publish
                self._before[path] = self.blob_at_head(path)
        fi = self._fi                   # (the contents stored ahead, if any, are in it now)
        for i in ahead:
            path, mode, _data = changes[i]
            entry = after[path]
            if entry is not None and entry[1] in self._stored:
                changes[i] = (path, mode, entry[1])         # named by its id
        # its id asked by the publish (outside a batch: at once), once the
        # work tree has been looked at while git makes the commit
        sha = fi.commit(self.head, self._author, self._committer, commit_time(),
                              message if message.endswith("\n") else message + "\n", changes,
                              resolve=False)
        self._commits += 1
        self._queued += 1
        for path, entry in after.items():
            self._after[path] = entry
            self._writes[path] = writes.get(path) if entry is not None else None
            self._queued_bytes += len(writes.get(path) or b"")
        self.head = sha
        if not self._batching:
            self.publish()
            return self.head                # the commit's id, published
        if self._queued >= BATCH_COMMITS or self._queued_bytes >= BATCH_BYTES:
            self.publish(behind=True)
        return sha

    def _check_path(self, path: str, links_checked: bool = False) -> None:
        if not is_book_path(path):
            raise GitError("facturier writes only book files, not %r" % path)
        if links_checked:
            return
        folder = path.rpartition("/")[0]
        if (folder and not _folder_checked(self.root, folder, path, self._folders)) or \
                os.path.islink(os.path.join(self.root, path)):
            raise GitError("%s is a symbolic link (or lies under one): facturier never writes "
                           "through links in a book" % path)

    def begin_batch(self) -> None:
        """Queue the following commits (each still a commit of its own) and
        publish them together: one pack, one move of the branch, the work tree
        once. A failure or a kill before the publish loses the queued commits
        whole (the branch never held them)."""
        self._batching = True

    def end_batch(self) -> None:
        try:
            self.publish()
        finally:
            self._batching = False

    def publish(self, behind: bool = False) -> None:
        """Make the queued commits the branch's (see the module docstring).

        ``behind``: a batch's publish once it holds BATCH_COMMITS commits —
        fast-import's pack is finished here, then the work tree, the index
        and the branch follow in a thread while the session goes on queueing
        the next commits (fast-import, the run's slowest part, is not left
        waiting for the work tree): see :class:`_Flight`. Anything that needs
        the work tree or the branch as published waits for it first."""
        self._land()
        if not self._queued:
            return
        paths = {path: (self._before.get(path), entry[1] if entry else None)
                 for path, entry in self._after.items()}
        try:
            # the commit's id first (fast-import answers it before writing the
            # pack), then the pack: behind the session, written before the
            # thread starts; else while the journal and the files are written
            # (outside a batch, the work tree's files are looked at while git
            # makes the commit sent; behind the session, once its pack is
            # written, as close to the thread's writes as can be)
            work: dict[str, Optional[str]] = {}
            if not behind:
                self._fi.flush()
                work = self._work_blobs(list(paths))
            new = self.head = self._fi.mark(self.head)
            self._fi.start_checkpoint()
            self._ref_left = True           # fast-import's private ref exists from there on
            if behind:
                self._objects_written()
                work = self._work_blobs(list(paths))
            flight = _Flight(self._published, new, paths, dict(self._after), dict(self._writes),
                             work)
        except BaseException:
            self._abandon()
            raise
        finally:
            # whatever happens, the queue is settled: published, or abandoned
            # (an interruption in here must not leave it to be published twice)
            self._forget_queue()
        flight.contents = None if self.repo.converts else flight.writes
        if behind:
            flight.thread = threading.Thread(target=self._fly_behind, args=(flight,),
                                             name="facturier-publish")
            failed = _start_behind(flight.thread, lambda: setattr(self, "_flight", flight))
            if failed is not None:          # no thread: a publish that failed
                flight.error = failed
                flight.done.set()
        else:
            self._fly(flight)
            self._landed(flight)

    def _fly_behind(self, flight: "_Flight") -> None:
        try:
            self._fly(flight)
        finally:
            flight.done.set()

    def _fly(self, flight: "_Flight") -> None:
        """The publish of ``flight`` after its objects are written: journal,
        work tree and index, branch (in a thread for a publish ``behind``)."""
        try:
            self._journal.write(self.ref, flight.old, flight.new, flight.paths)
            crash_point("journal")
            objects = None if flight.thread is not None else self._objects_written
            checkout(self.repo, flight.new, flight.paths,
                     modes={p: e[0] for p, e in flight.after.items() if e is not None},
                     work=flight.work, contents=flight.contents, objects=objects)
            if objects is not None:
                objects()
            crash_point("files")
            self._move_branch(flight.new, flight.old)
            flight.moved = True             # the branch holds them from here on
            crash_point("branch")
            self._journal.drop()
        except BaseException as exc:
            flight.error = exc

    def _objects_written(self) -> None:
        """Wait for fast-import's pack (:meth:`publish`); the kill point "objects"."""
        if self._import is not None and self._import.checkpointing:
            self._import.end_checkpoint()
            crash_point("objects")

    def _landed(self, flight: "_Flight") -> None:
        """The session after ``flight`` (in this thread): published, or its
        failure settled (:meth:`_abandon`) and raised."""
        if flight.moved:
            self._ref_left = False          # dropped with the move
            self._published = flight.new
            self._known.update(flight.after)
            self._staged = None
            for path in flight.paths:
                self._seen.pop(path, None)
        if flight.error is not None:
            self._abandon()
            raise flight.error

    def _land(self) -> None:
        """Wait for the publish in flight, if any (see :meth:`publish`). Its
        failure is raised as :class:`PublishLost`: the commits queued since
        were made on top of it, and are dropped with it."""
        flight, self._flight = self._flight, None
        if flight is None:
            return
        interrupted = _join(flight)
        try:
            self._landed(flight)
        except Exception as exc:        # (an interruption is raised as it is)
            raise PublishLost(exc) from exc
        if interrupted is not None:
            raise interrupted

    def _forget_queue(self) -> None:
        self._queued = self._queued_bytes = 0
        self._before.clear()
        self._after.clear()
        self._writes.clear()

    def _abandon(self) -> None:
        """Settle a publish that failed or was interrupted (Ctrl-C, an I/O
        error): the recovery rule brings the work tree and index to whatever
        the branch holds, and the session goes on from there. If even that
        fails, the journal stays and the next command settles it."""
        self._ahead_landed(raising=False)     # nothing else writes to fast-import meanwhile
        flight, self._flight = self._flight, None
        if flight is not None:
            _join(flight)               # settled below with the rest, whatever it did
        self._forget_queue()
        self._staged = None
        self._seen.clear()
        self._known.clear()
        self._listed = False
        try:
            self.recovered += recover(self.repo, self.ref)
        except BaseException:
            pass        # the journal stays: the next command settles it
        try:
            current = git(self.root, "rev-parse", self.ref).decode().strip()
        except BaseException:
            current = self._published
        self.head = self._published = current
        if self._import is not None:
            try:
                self._import.reset(current)
            except BaseException:
                self._stop_import()

    def move_to(self, target: str) -> None:
        """Move the checked-out branch from the published head to commit
        ``target`` (any commit: the remote's head, a commit replayed or made
        by git), with the index and work tree of every path that differs —
        as a publish does: journal, the check that each still holds what the
        branch holds (uncommitted edits in the way refuse it with
        EditedMeanwhile, nothing written), checkout, compare-and-swap. Used by
        `sync` (SPEC 9); nothing may be queued."""
        self.publish()
        old = self._published
        if target == old:
            return
        out = git(self.root, "diff-tree", "-r", "-z", "--no-renames", old, target)
        fields = out.split(b"\0")
        paths: dict[str, tuple[Optional[str], Optional[str]]] = {}
        modes: dict[str, str] = {}
        zero = self.repo.zero
        for i in range(0, len(fields) - 1, 2):
            info = fields[i].decode().split()
            if len(info) < 5:
                continue
            path = fields[i + 1].decode("utf-8", "surrogateescape")
            before, after = info[2], info[3]
            paths[path] = (None if before == zero else before, None if after == zero else after)
            modes[path] = info[1]
        try:
            self._journal.write(self.ref, old, target, paths)
            crash_point("move")
            if paths:
                checkout(self.repo, target, paths, modes=modes)
            self._move_branch(target, old)
            self._ref_left = False
            self._journal.drop()
        except BaseException:
            self._abandon()
            raise
        self.head = self._published = target
        self._known.clear()
        self._listed = False
        self._seen.clear()
        self._staged = None
        self._ahead_landed()
        if self._import is not None:
            self._import.reset(target)

    def _move_branch(self, new: str, old: str) -> None:
        """Compare-and-swap of the branch from ``old`` to ``new``; fast-import's
        private ref (which kept the objects reachable until now) is dropped in
        the same transaction (one git process, not two)."""
        moves = b"update %s\0%s\0%s\0" % (self.ref.encode(), new.encode(), old.encode())
        if self._import is not None:
            moves += b"delete %s\0\0" % self._import.ref.encode()
        code, _out, err = run_git(self.root, "update-ref", "-m", "facturier", "--stdin", "-z",
                                  input=moves)
        if code != 0:
            text = err.decode(errors="replace").strip()
            if "but expected" in text:
                raise ConcurrentChange(
                    "the branch %s moved while facturier was working (a commit was made by "
                    "someone else); nothing was changed, try again" % self.ref.rsplit("/", 1)[-1])
            raise GitError("could not move the branch %s: %s" % (self.ref, text or "no answer"))

    def flush(self) -> None:
        """Kept for callers: the index follows each publish."""

    def _settle_questions(self) -> None:
        if self._staged_asked is not None:
            self._staged_asked.cancel()
            self._staged_asked = None
        self.repo.settle()

    def close(self) -> None:
        try:
            self.publish()
        finally:
            if self._flight is not None:        # publish failed first: settled here
                self._abandon()
            self._settle_questions()
            self._ahead_landed(raising=False)
            fi, self._import = self._import, None
            if fi is not None:
                try:
                    fi.forget()     # its private ref is not written again at its end
                except GitError:
                    self._ref_left = True
                fi.close()
                if self._ref_left:
                    git(self.root, "update-ref", "-d", fi.ref, check=False)
            if self._commits:
                # as `git commit` does: repack once there are many packs, in the background
                git(self.root, "gc", "--auto", "--quiet", check=False)


_crash_point = crash_point      # the name engine.sync uses
