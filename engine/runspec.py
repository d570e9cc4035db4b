"""The reminders' text appends, worked out ahead while a run's recurrences are
committed (issue 10's run figure).

The recurrences step of `facturier run` mostly waits on `git fast-import`
(each generation rewrites two large trees), so about one core is idle; the
reminders step then spends most of its time parsing back every reminded file
(engine/appends.py). :class:`Speculation` forks, when the recurrences start, a
child process of the lowest priority (``SCHED_IDLE``, ``os.nice``: it runs
only on a core nothing else wants) that takes the book *as it stood before
the recurrences*, finds the reminders it would need without e-mail
(:func:`engine.runsteps.reminders_due`; an e-mailed reminder is never worked
out ahead), reads each file from the work tree, makes its text append and
parses it back (:func:`engine.appends._reads_as_appended`). It computes text
and verdicts only: no git, no write.

The reminders step still decides everything on the book as it stands then.
A result ahead stands in for its own work on one file only when it is
provably what that work would give now: the same record (the document not
changed by any commit since), the same append (level and date, no delivery),
and the same bytes as the step reads (the appended text begins with exactly
the bytes it was made from). Anything else — a hand edit, a commit of the run,
a file the child did not reach, a child that died or was killed — is worked
out by the step as before.

The child ends with the step, at any exception or signal of the run
(:meth:`Speculation.close`: killed and reaped), and with the parent itself
when that is killed (``PR_SET_PDEATHSIG``; it also watches its parent). It
writes no file: its results come through a pipe that a thread of the parent
drains while the recurrences go on.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import os
import pickle
import signal
import struct
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Optional

from .model import Book, Document

if TYPE_CHECKING:
    from .runsession import _Session

NICE = 19               # below git's fast-import and the run's own process
_CHUNK = 256            # results a frame
_FRAME = struct.Struct("<Q")


@contextlib.contextmanager
def working_ahead(s: "_Session") -> Iterator["Speculation"]:
    """``with working_ahead(session):`` the child works from the book as it
    is now, until the reminders step takes its results (or the block ends
    however it ends: the child is then killed and reaped)."""
    spec = Speculation(s.book, s.root, s.as_of, s.send)
    s.speculation = spec
    try:
        spec.start()
        yield spec
    finally:
        s.speculation = None
        spec.close()


class Speculation:
    """The child working out the reminders ahead, and what it found."""

    def __init__(self, book: Book, root: Path, as_of: dt.date, send: bool):
        self.book = book
        self.root = Path(root)
        self.as_of = as_of
        self.send = send
        self.pid: Optional[int] = None
        self._rfd: Optional[int] = None
        self._thread: Optional[threading.Thread] = None
        self._received: list[bytes] = []
        self._results: Optional[dict] = None
        self.used = 0           # files whose result ahead the step used
        self.discarded = 0      # ... that the step worked out again (changed meanwhile)

    # ------------------------------------------------------------------ the parent's side
    def start(self) -> None:
        """Fork the child (nothing when fork cannot be used: the step then
        does the work, as without this)."""
        from .appends import _appended, _reads_as_appended   # noqa: F401  imported before the fork
        from .runsteps import reminders_due                  # noqa: F401
        from .safepath import read_bytes                     # noqa: F401
        if not hasattr(os, "fork"):
            return
        try:
            rfd, wfd = os.pipe()
        except OSError:
            return                                  # no descriptor left: the step does it all
        # no Ctrl-C or SIGTERM between the fork and knowing the child's id:
        # an interruption then would leave it unreaped
        stops = {signal.SIGINT, signal.SIGTERM}
        mask = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
        try:
            try:
                pid = os.fork()
            except OSError:
                os.close(rfd)
                os.close(wfd)
                return
            if pid == 0:                            # the child: never returns
                _child(self, wfd, mask)
            os.close(wfd)
            self.pid, self._rfd = pid, rfd
        finally:
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        thread = threading.Thread(target=self._drain, name="facturier-speculation", daemon=True)
        try:
            thread.start()
        except RuntimeError:
            self.close()                            # no thread to drain it: the step does it all
            return
        self._thread = thread

    def _drain(self) -> None:
        assert self._rfd is not None
        while True:
            try:
                data = os.read(self._rfd, 1 << 20)
            except InterruptedError:
                continue
            except OSError:
                return
            if not data:
                return
            self._received.append(data)

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Wait until the child has sent everything (True) or ``timeout``."""
        if self._thread is None:
            return True
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def close(self) -> None:
        """End the child now (killed when it is still working), reap it, and
        keep what it had sent whole. Safe to call more than once."""
        pid, self.pid = self.pid, None
        if pid is not None:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            while True:
                try:
                    os.waitpid(pid, 0)
                    break
                except InterruptedError:
                    continue
                except ChildProcessError:
                    break
        if self._thread is not None:
            self._thread.join()
            self._thread = None
        if self._rfd is not None:
            os.close(self._rfd)
            self._rfd = None

    def results(self) -> dict:
        """{document id: (level, length of the bytes read, appended bytes)}
        for each file whose append the child parsed back as intended; the
        child ended first (:meth:`close`)."""
        if self._results is None:
            self.close()
            self._results = _frames(b"".join(self._received))
            self._received = []
        return self._results

    def appended(self, record: Document, append: dict, current: bytes) -> Optional[bytes]:
        """The appended text of ``record``'s file, already parsed back as
        ``record`` with exactly ``append`` added, when the child's work is
        provably the step's: the same record as before the recurrences, a
        reminder alone at the same level and date, the same bytes. None
        otherwise (the step works it out)."""
        found = self.results().get(record.id)
        if found is None:
            return None
        level, length, data = found
        before = self.book.documents.get(record.id)
        if (before is record or before == record) and \
                append == {"reminders": [{"level": level, "date": self.as_of}]} and \
                len(current) == length and data.startswith(current):
            self.used += 1
            return data
        self.discarded += 1
        return None


def _frames(buffer: bytes) -> dict:
    """The whole frames of ``buffer`` (a killed child's last one may be cut)."""
    out: dict = {}
    at = 0
    while at + _FRAME.size <= len(buffer):
        (size,) = _FRAME.unpack_from(buffer, at)
        end = at + _FRAME.size + size
        if end > len(buffer):
            break
        for doc_id, level, length, data in pickle.loads(buffer[at + _FRAME.size:end]):
            out[doc_id] = (level, length, data)
        at = end
    return out


# --------------------------------------------------------------------------- the child's side

def _child(spec: Speculation, wfd: int, mask) -> None:
    """Work out the reminders and send them through ``wfd``; always ends the
    process (os._exit: none of the parent's exit handlers, locks or files)."""
    code = 1
    try:
        parent = os.getppid()
        signal.signal(signal.SIGINT, signal.SIG_IGN)       # Ctrl-C is the parent's to handle
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        signal.signal(signal.SIGPIPE, signal.SIG_DFL)
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        from .gitcommit import die_with_parent
        die_with_parent()               # (not Linux: _work watches the parent)
        if os.getppid() != parent:
            os._exit(1)
        # nothing of the parent's stays open here: the book's lock, git's
        # pipes (fast-import must see the end of its input), the terminal
        null = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(null, fd)
        os.closerange(3, wfd)
        os.closerange(wfd + 1, _max_fd())
        import gc
        gc.freeze()         # the parent's objects: never scanned (nor copied) here
        _lowest_priority()
        _work(spec, wfd, parent)
        code = 0
    except BaseException:
        code = 1
    finally:
        os._exit(code)


def _lowest_priority() -> None:
    """Run only on a core nothing else wants: Linux's SCHED_IDLE (a task of
    the normal policy that wakes up, git's fast-import reading its next
    commit, takes the core at once; a nice value alone let fast-import wait
    ≈ 1.6 ms a commit), and the highest nice value elsewhere."""
    os.nice(NICE)
    idle = getattr(os, "SCHED_IDLE", None)
    if idle is not None:
        try:
            os.sched_setscheduler(0, idle, os.sched_param(0))
        except OSError:
            pass


def _max_fd() -> int:
    try:
        return max(int(os.sysconf("SC_OPEN_MAX")), 1024)
    except (ValueError, OSError):
        return 1 << 16


def _work(spec: Speculation, wfd: int, parent: int) -> None:
    from .appends import _appended, _reads_as_appended
    from .runsteps import reminders_due
    from .safepath import UnsafePath, read_bytes
    book = spec.book
    checked: set = set()        # folders found not to be links
    chunk: list = []
    for doc, level in reminders_due(book, spec.as_of):
        if os.getppid() != parent:
            return
        if spec.send:
            contact = book.contact(doc.contact)
            if contact is not None and (contact.email or "").strip():
                continue        # e-mailed: never worked out ahead
        try:
            data = read_bytes(spec.root, doc.path, checked)
            text = data.decode("utf-8")
        except (OSError, ValueError, UnsafePath):
            continue
        append = {"reminders": [{"level": level, "date": spec.as_of}]}
        fast = _appended(text, append)
        if fast is None:
            continue
        new = fast.encode("utf-8")
        if not new.startswith(data) or not _reads_as_appended(doc, new, append):
            continue
        chunk.append((doc.id, level, len(data), new))
        if len(chunk) >= _CHUNK:
            _send(wfd, chunk)
            chunk = []
    if chunk:
        _send(wfd, chunk)


def _send(wfd: int, chunk: list) -> None:
    payload = pickle.dumps(chunk, protocol=pickle.HIGHEST_PROTOCOL)
    view = memoryview(_FRAME.pack(len(payload)) + payload)
    while view:
        view = view[os.write(wfd, view):]
