"""The book lock: one writer at a time on a book."""
from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import Optional

from .diagnostics import FacturierError
from .gitrepo import git


class LockTimeout(FacturierError):
    pass


def state_dir(root) -> Path:
    """facturier's own state of a book (lock, journal): ``<git dir>/facturier``,
    which no clone copies, so a stranger's repository can never plant one."""
    dot_git = Path(root) / ".git"
    if dot_git.is_dir() and not dot_git.is_symlink() and not any(
            os.environ.get(k) for k in ("GIT_DIR", "GIT_COMMON_DIR")):
        folder = dot_git / "facturier"     # what git answers for a plain repository
    else:
        out = git(root, "rev-parse", "--git-path", "facturier").decode().strip()
        folder = Path(out) if os.path.isabs(out) else Path(root) / out
    folder.mkdir(exist_ok=True)
    return folder


class BookLock:
    """One exclusive lock per book (``<git dir>/facturier/lock``,
    ``fcntl.flock``): the OS releases it when the holder dies, so a killed
    process never blocks the next one. A second process waits up to
    ``timeout`` seconds, then fails."""

    def __init__(self, root, timeout: float = 10.0):
        self.root = Path(root)
        self.timeout = timeout
        self._fd: Optional[int] = None

    def acquire(self) -> "BookLock":
        fd = os.open(str(state_dir(self.root) / "lock"),
                     os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o644)
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
                        "Try again when it is done." % (who, self.timeout)) from None
                time.sleep(0.02)
        os.ftruncate(fd, 0)
        os.pwrite(fd, ("pid %d" % os.getpid()).encode(), 0)
        self._fd = fd
        return self

    def try_acquire(self) -> bool:
        """Take the lock only if it is free at once."""
        saved, self.timeout = self.timeout, 0
        try:
            self.acquire()
            return True
        except LockTimeout:
            return False
        finally:
            self.timeout = saved

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
