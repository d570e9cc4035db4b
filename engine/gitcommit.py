"""Commits written by git itself: one `git fast-import` process per write session.

facturier plans the content of each commit; fast-import stores the blobs, trees
and commits (one pack per publish, trees as deltas, in the repository's object
format, fsynced as git fsyncs packs) on a private ref, and answers what a path
holds at any commit (`ls`) and what a mark became (`get-mark`). Moving the
checked-out branch is not its job: see :mod:`engine.gitstore`.
"""
from __future__ import annotations

import functools
import os
import signal
import subprocess
import tempfile
import threading
from typing import IO, Any, Callable, Optional, Sequence, TypeVar, Union

from .gitrepo import GitError

# (path, mode, content): content is the bytes to store, a blob id already in
# the repository, or None to delete the path.
FileChange = tuple[str, str, Union[bytes, str, None]]


# A publish of fewer objects than this is stored as loose objects, as `git
# commit` stores them (git fsyncs packs, not loose objects, by default: a
# pack per action would cost each one an fsync that `git commit` does not pay)
UNPACK_LIMIT = 100


def _path(path: str) -> bytes:
    if "\n" in path or path.startswith('"'):
        raise GitError("facturier cannot commit a file named %r" % path)
    return path.encode("utf-8", "surrogateescape")


_STOPS = (signal.SIGINT, signal.SIGTERM)
_F = TypeVar("_F", bound=Callable[..., Any])


class _Whole:
    """Inside it (in the main thread: the one Python runs signal handlers in),
    Ctrl-C and SIGTERM are held back and delivered as it ends: an exchange
    with fast-import (a command written, a question and its whole answer
    read) is never cut in the middle, which would leave the stream out of
    step — the next answer read would be another question's."""
    depth = 0
    caught: list[int] = []
    saved: dict[int, Any] = {}

    @staticmethod
    def _record(signum, frame) -> None:
        _Whole.caught.append(signum)

    def __enter__(self) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        if _Whole.depth == 0:
            _Whole.saved = {stop: signal.signal(stop, _Whole._record) for stop in _STOPS}
        _Whole.depth += 1

    def __exit__(self, *exc) -> None:
        if threading.current_thread() is not threading.main_thread():
            return
        _Whole.depth -= 1
        if _Whole.depth:
            return
        for stop, handler in _Whole.saved.items():
            signal.signal(stop, signal.SIG_DFL if handler is None else handler)
        caught, _Whole.caught = _Whole.caught, []
        for stop in dict.fromkeys(caught):
            signal.raise_signal(stop)       # its own handler now: raised, or the default


def _whole(method: _F) -> _F:
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with _Whole():
            return method(*args, **kwargs)
    return wrapper  # type: ignore[return-value]


class FastImport:
    """A running `git fast-import` writing commits to ``ref`` (private).
    Each exchange with it is whole (:class:`_Whole`)."""

    def __init__(self, root, ref: str):
        self.ref = ref
        self._stderr = tempfile.TemporaryFile()
        try:
            self._proc = subprocess.Popen(
                ["git", "-C", str(root), "-c", "fastimport.unpackLimit=%d" % UNPACK_LIMIT,
                 "fast-import", "--quiet", "--date-format=raw",
                 "--force"],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
                preexec_fn=die_with_parent)
        except FileNotFoundError:
            raise GitError("git is not installed (facturier needs the git command)") from None
        assert self._proc.stdin is not None and self._proc.stdout is not None
        self._in: IO[bytes] = self._proc.stdin
        self._out: IO[bytes] = self._proc.stdout
        self._mark = 0
        self._checkpoints = 0                   # asked, not yet answered
        self.tip: Optional[str] = None          # what fast-import's branch holds

    # ---------------------------------------------------------------- protocol
    def _send(self, data: bytes) -> None:
        try:
            self._in.write(data)
        except (BrokenPipeError, ValueError):
            self._died()

    def _flush(self) -> None:
        try:
            self._in.flush()
        except (BrokenPipeError, ValueError):
            self._died()

    def _answer(self) -> bytes:
        self._flush()
        line = self._out.readline()
        if not line:
            self._died()
        return line

    def _died(self) -> None:
        try:
            self._proc.wait(5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
        self._stderr.seek(0)
        text = self._stderr.read().decode(errors="replace").strip()
        raise GitError("git fast-import failed: %s" % (text or "it stopped"))

    # ---------------------------------------------------------------- questions
    @_whole
    def ls(self, commit: str, path: str) -> Optional[tuple[str, str]]:
        """(mode, blob id) of ``path`` at ``commit``, or None when absent or a folder."""
        self.end_checkpoint()
        self._send(b"ls %s %s\n" % (commit.encode(), _path(path)))
        answer = self._answer().decode("utf-8", "surrogateescape")
        if answer.startswith("missing "):
            return None
        head = answer.split("\t", 1)[0].split(" ")
        if len(head) != 3:
            raise GitError("git fast-import answered %r" % answer)
        mode, kind, sha = head
        return (mode, sha) if kind == "blob" else None

    @_whole
    def cat_blob(self, sha: str) -> bytes:
        self.end_checkpoint()
        self._send(b"cat-blob %s\n" % sha.encode())
        head = self._answer().split()
        if len(head) != 3 or head[1] != b"blob":
            raise GitError("git fast-import could not read blob %s" % sha)
        size = int(head[2])
        data = self._out.read(size + 1)
        return data[:size]

    # ---------------------------------------------------------------- writing
    @_whole
    def commit(self, parent: str, author: str, committer: str, when: str, message: str,
               changes: Sequence[FileChange], resolve: bool = True) -> str:
        """One commit on top of ``parent`` (a commit id or mark); its id, or
        when not ``resolve``d its mark (":N", resolved later by :meth:`mark`:
        a batch of commits streams without waiting for git at each one)."""
        self._mark += 1
        text = message.encode("utf-8")
        parts = [b"commit %s\nmark :%d\nauthor %s %s\ncommitter %s %s\ndata %d\n%s\n"
                 % (self.ref.encode(), self._mark, author.encode("utf-8"), when.encode(),
                    committer.encode("utf-8"), when.encode(), len(text), text)]
        if self.tip != parent:
            parts.append(b"from %s\n" % parent.encode())
        for path, mode, content in changes:
            if content is None:
                parts.append(b"D %s\n" % _path(path))
            elif isinstance(content, bytes):
                parts.append(b"M %s inline %s\ndata %d\n" % (mode.encode(), _path(path),
                                                            len(content)))
                parts.append(content)
                parts.append(b"\n")
            else:
                parts.append(b"M %s %s %s\n" % (mode.encode(), content.encode(), _path(path)))
        parts.append(b"\n")
        self._send(b"".join(parts))
        self.tip = ":%d" % self._mark
        return self.mark(self.tip) if resolve else self.tip

    def store_blobs(self, contents: Sequence[bytes]) -> None:
        """Stream ``contents`` as blobs, no mark: a commit then names each by
        its id, an object fast-import already has (Store.store_ahead). Run
        in a thread of its own while the caller's thread checks the change
        they belong to; nothing else may talk to fast-import meanwhile. Not
        whole (:class:`_Whole` is the main thread's): stopped part-way, the
        blobs sent are objects no commit names."""
        for data in contents:
            self._send(b"blob\ndata %d\n" % len(data))
            self._send(data)
            self._send(b"\n")

    @_whole
    def mark(self, mark: str) -> str:
        """The commit id of a mark (":N"); an id is returned as it is."""
        if not mark.startswith(":"):
            return mark
        self.end_checkpoint()
        self._send(b"get-mark %s\n" % mark.encode())
        sha = self._answer().strip().decode()
        if self.tip == mark:
            self.tip = sha
        return sha

    @_whole
    def flush(self) -> None:
        """What was sent, handed to fast-import now (not at the next question)."""
        self._flush()

    def checkpoint(self) -> None:
        """Write the pack (and its index) of everything sent so far: the commits
        are then in the repository, reachable from ``ref``."""
        self.start_checkpoint()
        self.end_checkpoint()

    @_whole
    def start_checkpoint(self) -> None:
        """:meth:`checkpoint` asked, not waited for: git writes the pack while
        the caller does other work; :meth:`end_checkpoint` (and every question
        asked of fast-import) waits for it."""
        self._send(b"checkpoint\nprogress checkpoint done\n")
        self._flush()
        self._checkpoints += 1

    @property
    def checkpointing(self) -> bool:
        return self._checkpoints > 0

    @_whole
    def end_checkpoint(self) -> None:
        while self._checkpoints:
            while self._answer().strip() != b"progress checkpoint done":
                pass
            self._checkpoints -= 1

    @_whole
    def reset(self, commit: str) -> None:
        """Forget the commits sent after ``commit`` (their publish was refused)."""
        self._send(b"reset %s\nfrom %s\n\n" % (self.ref.encode(), commit.encode()))
        self.tip = commit

    @_whole
    def forget(self) -> None:
        """Forget the private ref's commit: at its end fast-import then leaves
        the ref as it is (written at the last checkpoint, or never) instead of
        writing it again."""
        self._send(b"reset %s\n\n" % self.ref.encode())
        self.tip = None

    def close(self) -> None:
        proc = self._proc
        if proc.poll() is None:
            try:
                self._in.close()
                proc.wait(30)
            except (BrokenPipeError, OSError, subprocess.TimeoutExpired):
                proc.kill()
                proc.wait()
        self._stderr.close()

    def kill(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
            self._proc.wait()
        self._stderr.close()


def die_with_parent() -> None:
    """In a child process (fast-import, a run's worker): be killed when
    facturier dies. An orphan fast-import would go on writing at end of
    input — its pack, its private ref — while the next command already reads
    the repository."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, 9)        # PR_SET_PDEATHSIG, SIGKILL (Linux)
    except (OSError, AttributeError):
        pass


def commit_time() -> str:
    """"<seconds> <+hhmm>": now, in the local offset (git's raw date format)."""
    import time
    now = time.time()
    offset = time.localtime(now).tm_gmtoff
    sign = "+" if offset >= 0 else "-"
    offset = abs(offset)
    return "%d %s%02d%02d" % (int(now), sign, offset // 3600, (offset // 60) % 60)


def private_ref() -> str:
    return "refs/facturier/import-%d" % os.getpid()
