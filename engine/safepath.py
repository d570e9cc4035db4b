"""Paths inside a book, never through a symbolic link (SPEC 1.5).

A book is often a clone of someone else's repository, and git happily checks
out a symbolic link: ``documents/2026 -> /home/you/.ssh`` would make the next
document facturier writes land outside the book, and ``contacts/acme.yaml ->
/etc/passwd`` would be read as a contact. So:

- :func:`read_bytes` opens a book file without following a link, neither its
  last component (``O_NOFOLLOW``) nor a folder on the way (``lstat``);
- :func:`check_writable` refuses a path to write or delete when it leaves the
  book (absolute, ``..``, ``.git``) or when any component under the book is a
  link — whatever writes files (engine/gitstore.py) calls it first;
- :func:`state_dir` is facturier's own ``.facturier/`` folder, refused when it
  is a link (its cache, lock and journal would be written elsewhere).

``check`` reports every link under ``contacts/``, ``documents/``,
``recurrences/``, ``templates/`` and ``facturier.yaml`` itself as an error
(engine/book.py); the links are listed by git (engine/gitstore.list_blobs),
so this module never walks the book.

File system only (lstat, open): no git, no clock.
"""
from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Optional

from .diagnostics import ActionRefused

LINK_SCOPES = ("contacts", "documents", "recurrences", "templates")
SETTINGS_FILE = "facturier.yaml"
STATE_DIR = ".facturier"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_OPEN_FLAGS = os.O_RDONLY | _NOFOLLOW | getattr(os, "O_CLOEXEC", 0) | \
    getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


class UnsafePath(ActionRefused):
    """A path facturier will not read or write: it goes through a symbolic
    link, or out of the book. ``path`` is the book-relative path of the link
    (or of the refused path)."""

    def __init__(self, message: str, path: str = ""):
        super().__init__(message)
        self.path = path


def link_message(path: str = "") -> str:
    """Why a link is refused; without ``path`` for a diagnostic (which names it)."""
    return ("%s a symbolic link: facturier never follows a link in a book (it may point "
            "anywhere); put the file or folder itself there, or remove the link"
            % ("%s is" % path if path else "this is"))


def _parts(rel: str) -> list[str]:
    """The components of a book-relative path; refuses one that leaves the
    book or names git's own folder."""
    parts = rel.split("/")
    if not rel or rel.startswith("/") or "\\" in rel or "\0" in rel or \
            any(p in ("", ".", "..") for p in parts) or \
            any(p.lower() == ".git" for p in parts):
        raise UnsafePath("%r is not a path inside the book; nothing was changed" % rel, rel)
    return parts


def link_in(root, rel: str, checked: Optional[set] = None) -> Optional[str]:
    """The first component of ``rel`` (as a book-relative path) that is a
    symbolic link, or None; components that do not exist end the search.
    ``checked``: folders already found to be real folders (skipped; those
    found now are added)."""
    parts = _parts(rel)
    for i in range(1, len(parts) + 1):
        sub = "/".join(parts[:i])
        if checked is not None and sub in checked:
            continue
        try:
            mode = os.lstat(os.path.join(root, sub)).st_mode
        except (FileNotFoundError, NotADirectoryError):
            return None
        if stat.S_ISLNK(mode):
            return sub
        if checked is not None and i < len(parts) and stat.S_ISDIR(mode):
            checked.add(sub)
    return None


def check_writable(root, rel: str, checked: Optional[set] = None) -> None:
    """Refuse (UnsafePath, an ActionRefused) to write or delete ``rel`` when
    it leaves the book or when a component of it under the book is a symbolic
    link. Call it for every path just before writing it; ``checked`` as for
    :func:`link_in` (one set for the paths of one commit)."""
    link = link_in(root, rel, checked)
    if link is not None:
        raise UnsafePath("%s; nothing was changed" % link_message(link), link)


def read_bytes(root, rel: str, checked: Optional[set] = None) -> bytes:
    """The bytes of the book file ``rel``, never read through a link: raises
    UnsafePath when the file or a folder on its way is one, FileNotFoundError
    when it is absent, OSError for the rest. ``checked``: folders already
    found not to be links (a load of 100,000 files lstats each folder once)."""
    root = Path(root)
    parts = _parts(rel)
    for i in range(1, len(parts)):
        sub = "/".join(parts[:i])
        if checked is not None and sub in checked:
            continue
        mode = os.lstat(root / sub).st_mode
        if stat.S_ISLNK(mode):
            raise UnsafePath(link_message(sub), sub)
        if not stat.S_ISDIR(mode):
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), sub)
        if checked is not None:
            checked.add(sub)
    found = read_regular(root, rel)
    if found is None:
        mode = os.lstat(root / rel).st_mode
        raise IsADirectoryError(errno.EISDIR, "not a regular file", rel) \
            if stat.S_ISDIR(mode) else OSError(errno.EINVAL, "not a regular file", rel)
    return found[0]


def read_regular(root, rel: str) -> Optional[tuple[bytes, os.stat_result]]:
    """The bytes of the book file ``rel`` and its stat data (``fstat`` of
    the file opened), its last component never followed (UnsafePath when it
    is a link; the folders on its way are the caller's to check); None when
    it is not a regular file (a folder, a fifo: never waited on);
    FileNotFoundError and the like as ``os.open`` raises them."""
    full = os.path.join(root, rel)
    if not _NOFOLLOW and os.path.islink(full):       # pragma: no cover - no O_NOFOLLOW
        raise UnsafePath(link_message(rel), rel)
    try:
        fd = os.open(full, _OPEN_FLAGS)
    except OSError as exc:
        if exc.errno == errno.ELOOP or (exc.errno == errno.EMLINK and os.path.islink(full)):
            raise UnsafePath(link_message(rel), rel) from None
        raise
    with os.fdopen(fd, "rb") as f:
        st = os.fstat(f.fileno())
        if not stat.S_ISREG(st.st_mode):
            return None
        return f.read(), st


def links_under(root, folder: str) -> list[str]:
    """Every symbolic link in the book folder ``folder`` (the folder itself
    included), found without following any: for folders git does not list
    for facturier (``templates/``)."""
    root = Path(root)
    try:
        if stat.S_ISLNK(os.lstat(root / folder).st_mode):
            return [folder]
    except OSError:
        return []
    found = []
    todo = [folder]
    while todo:
        current = todo.pop()
        try:
            entries = list(os.scandir(root / current))
        except OSError:
            continue
        for entry in entries:
            rel = "%s/%s" % (current, entry.name)
            if entry.is_symlink():
                found.append(rel)
            elif entry.is_dir(follow_symlinks=False) and entry.name != ".git":
                todo.append(rel)
    return sorted(found)


def is_file(root, rel: str) -> bool:
    """Is ``rel`` a regular file of the book, reached without any link?"""
    try:
        if link_in(root, rel) is not None:
            return False
        return stat.S_ISREG(os.lstat(Path(root) / rel).st_mode)
    except (OSError, UnsafePath):
        return False


def state_dir(root, create: bool = False) -> Path:
    """``.facturier/`` of the book, refused (UnsafePath) when it is a link or
    not a folder; made when ``create`` and absent."""
    path = Path(root) / STATE_DIR
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        if create:
            path.mkdir()
        return path
    if stat.S_ISLNK(mode) or not stat.S_ISDIR(mode):
        raise UnsafePath("%s is %s: facturier keeps its own state only in a folder it made "
                         "itself; remove it" % (STATE_DIR, "a symbolic link" if
                                                  stat.S_ISLNK(mode) else "not a folder"),
                         STATE_DIR)
    return path
