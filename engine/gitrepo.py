"""The repository and reading it: running git, what the repository is (object
format, content conversions, identity), and the book's files with their blob ids.

Part of the git layer (with gitlock, gitcommit, worktree, gitlog and the session
in gitstore): nothing outside these modules runs git. Git failures are
translated into :class:`GitError` (a FacturierError).
"""
from __future__ import annotations

import hashlib
import os
import re
import stat
import subprocess
from pathlib import Path
from typing import Iterable, Optional

from .diagnostics import FacturierError

BOOK_FOLDERS = ("contacts", "documents", "recurrences")
# `git ls-files -s -z` entries: "<mode> <blob> <stage>\t<path>\0"
_LS_FILES = re.compile(r"[0-7]+ ([0-9a-f]{40,64}) [0-3]\t([^\0]*?\.yaml)\0")
_LS_LINKS = re.compile(r"120000 [0-9a-f]{40,64} [0-3]\t([^\0]*)\0")     # symbolic links
ZERO = "0" * 40


class GitError(FacturierError):
    pass


def _outside_attribute_files() -> list[Path]:
    """Attribute files git reads beside the repository's own: the global
    one ($XDG_CONFIG_HOME/git/attributes, else ~/.config/git/attributes) and,
    unless GIT_ATTR_NOSYSTEM, the system one (/etc/gitattributes for a git
    installed under /usr)."""
    config = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"),
                                                               ".config")
    files = [Path(config) / "git" / "attributes"]
    if not os.environ.get("GIT_ATTR_NOSYSTEM"):
        files.append(Path("/etc/gitattributes"))
    return files


def run_git(root, *args: str, input: Optional[bytes] = None,
            env: Optional[dict] = None) -> tuple[int, bytes, bytes]:
    """Run ``git -C root args``: (exit status, stdout, stderr).

    An interruption (Ctrl-C, SIGTERM turned into an exception) while git runs
    does not kill git: a git killed while it holds ``index.lock`` or a ref's
    lock leaves the lock behind, and every later git command fails until a
    person removes it. Git commands are short; the interruption is raised
    once git is done (a Ctrl-C in a terminal reaches git too, which then
    stops cleanly by itself). Git is started with SIGINT and SIGTERM held
    back: interrupted while it is being started, Python would lose the
    process it had just made (git then acting unseen, e.g. moving a branch
    after facturier settled the book without it); one held back is raised
    as git runs, and waited for as above."""
    import signal
    stops = {signal.SIGINT, signal.SIGTERM}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, stops)
    try:
        proc = _start(root, args, input, env)
    except BaseException:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        raise
    return _finish(proc, mask)


def _start(root, args, input: Optional[bytes] = None,
           env: Optional[dict] = None) -> subprocess.Popen:
    source = subprocess.DEVNULL if input is None else _input_file(input)
    try:
        return subprocess.Popen(["git", "-C", str(root), *args], stdin=source,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    except FileNotFoundError:
        raise GitError("git is not installed (facturier needs the git command)") from None
    finally:
        if input is not None:
            os.close(source)


def _input_file(input: bytes) -> int:
    """A file holding all of ``input``, read from its start: git's standard
    input. Not a pipe written while git runs: an interruption in the middle
    of that writing would leave git waiting for the rest, and the wait for
    git to finish (:func:`_finish`) waiting for git — a hang; nor would
    closing the pipe early do (git would act on part of its input)."""
    if hasattr(os, "memfd_create"):
        fd = os.memfd_create("facturier-git-input", os.MFD_CLOEXEC)
    else:                                               # pragma: no cover - not Linux
        import tempfile
        fd, name = tempfile.mkstemp(prefix="facturier-git-input-")
        os.unlink(name)
    try:
        view = memoryview(input)
        while view:
            view = view[os.write(fd, view):]
        os.lseek(fd, 0, os.SEEK_SET)
    except BaseException:
        os.close(fd)
        raise
    return fd


def _finish(proc: subprocess.Popen, mask: Optional[set] = None) -> tuple[int, bytes, bytes]:
    """Wait for a git started by :func:`_start` (see :func:`run_git`);
    ``mask``: the signal mask to restore first (a signal held back until
    then is raised here, git let finish)."""
    try:
        if mask is not None:
            import signal
            signal.pthread_sigmask(signal.SIG_SETMASK, mask)
        out, err = proc.communicate()
    except BaseException:
        _drain(proc)
        raise
    return proc.returncode, out, err


def _drain(proc: subprocess.Popen) -> None:
    """Let git finish after an interruption: its output (of no use now) read
    and dropped until it ends, so that it never waits on a full pipe; a
    further interruption meanwhile changes nothing. (Not ``communicate``
    again: interrupted at its start, it leaves a state its next call fails
    on, over and over.)"""
    import selectors
    with selectors.DefaultSelector() as pipes:
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None and not pipe.closed:
                pipes.register(pipe.fileno(), selectors.EVENT_READ)
        while True:
            try:
                while pipes.get_map():
                    for key, _events in pipes.select():
                        try:
                            ended = not os.read(key.fd, 1 << 16)
                        except OSError:
                            ended = True
                        if ended:
                            pipes.unregister(key.fd)
                proc.wait()
                return
            except BaseException:       # a second interruption: still let git finish
                continue


def git(root, *args: str, input: Optional[bytes] = None, env: Optional[dict] = None,
        check: bool = True) -> bytes:
    """Run ``git -C root args``; its stdout. A failure is a GitError naming git's message."""
    code, out, err = run_git(root, *args, input=input, env=env)
    if check and code != 0:
        raise GitError("git %s failed: %s" % (args[0], err.decode(errors="replace").strip()))
    return out


def is_repository(root) -> bool:
    return (Path(root) / ".git").exists()


def blob_id(data: bytes, object_format: str = "sha1") -> str:
    """Git's blob id of some bytes stored as they are (what `git hash-object
    --no-filters` prints), in the repository's object format."""
    h = hashlib.new(object_format, b"blob %d\0" % len(data))
    h.update(data)
    return h.hexdigest()


class Pending:
    """``git -C root args`` started now, its answer taken later
    (:meth:`output`) or never (:meth:`cancel`): a read-only question asked
    while the caller does other work."""

    def __init__(self, root, *args: str):
        self.args = args
        self._proc: Optional[subprocess.Popen] = _start(root, args)

    def output(self, check: bool = True) -> bytes:
        """Its stdout; a failure is a GitError naming git's message (as :func:`git`)."""
        proc, self._proc = self._proc, None
        assert proc is not None, "asked twice"
        code, out, err = _finish(proc)
        if check and code != 0:
            command = next((a for a in self.args if not a.startswith("-")), "")
            raise GitError("git %s failed: %s" % (command, err.decode(errors="replace").strip()))
        return out

    def cancel(self) -> None:
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.returncode is None:
                proc.kill()
            proc.communicate()


def _attribute_questions(root) -> tuple[Pending, Pending]:
    """The two questions :attr:`Repository.converts` needs, started at once:
    the configuration that makes git convert content, and the tracked
    attribute files anywhere in the index (without pathspec magic, ``*``
    matches across folders: ``*/.gitattributes`` is any folder's)."""
    config = Pending(root, "config", "--get-regexp", r"^core\.(autocrlf|attributesfile)$")
    try:
        return config, Pending(root, "--no-optional-locks", "ls-files", "-z", "--cached", "--",
                               ".gitattributes", "*/.gitattributes")
    except BaseException:
        config.cancel()
        raise


class Repository:
    """Facts about the book's repository that the write path needs, asked of
    git once per session."""

    def __init__(self, root, head: bool = False):
        """``head``: also ask (in the same git process) the checked-out
        branch and its commit: ``head_ref`` ("refs/heads/main"; "HEAD" when
        detached) and ``head_commit``, both None when HEAD has no commit."""
        self.root = Path(root)
        self.head_ref: Optional[str] = None
        self.head_commit: Optional[str] = None
        # A write session (``head``) asks whether content is converted at the
        # same time (two more git processes reading the index while this one
        # answers) and waits when it first needs the answer; :meth:`settle`
        # ends them if it never does. Others ask when they need it.
        self._attributes: Optional[tuple[Pending, Pending]] = \
            _attribute_questions(self.root) if head else None
        self._converts: Optional[bool] = None
        self._attribute_folders: set[str] = set()   # folders found without a .gitattributes
        try:
            self._facts(head)
        except BaseException:
            self.settle()
            raise

    def _facts(self, head: bool) -> None:
        questions = ["rev-parse", "--show-toplevel", "--git-dir", "--show-object-format"]
        code, answer, _err = run_git(self.root, *questions, "HEAD^{commit}",
                                     "--symbolic-full-name", "HEAD") if head else (1, b"", b"")
        lines = answer.decode().splitlines()
        if code == 0 and len(lines) == 5:
            self.head_commit, self.head_ref = lines[3], lines[4]
            out = answer.decode()
        else:       # not asked, or no commit yet: the repository's facts alone
            out = git(self.root, *questions).decode()
        toplevel, git_dir, self.object_format = out.splitlines()[:3]
        if os.path.realpath(toplevel) != os.path.realpath(self.root):
            raise GitError("the book %s is inside the git repository %s, not at its top: a book "
                           "is a git repository of its own (facturier init makes one)"
                           % (self.root, toplevel))
        self.git_dir = Path(git_dir) if os.path.isabs(git_dir) else self.root / git_dir
        self.zero = "0" * (64 if self.object_format == "sha256" else 40)

    @property
    def converts(self) -> bool:
        """May `git add` store a file other than byte for byte (core.autocrlf,
        .gitattributes text/eol/filter/ident/encoding)? Then blob ids and
        contents go through git (hash-object --path, cat-file --filters)."""
        if self._converts is None:
            asked, self._attributes = self._attributes, None
            self._converts = self._answer(*(asked or _attribute_questions(self.root)))
        return self._converts

    def look_for_attributes(self, paths: Iterable[str]) -> None:
        """Git applies a ``.gitattributes`` of any folder a file lies in,
        tracked or not; :attr:`converts` looks at tracked ones and at the
        book's top folders. An untracked one deeper (``documents/2026/``) is
        looked for here in the folders of ``paths`` (files about to be read
        or written), once a folder: found, :attr:`converts` is true from then
        on (content goes through git)."""
        if self._converts is True:
            return
        folders = self._attribute_folders
        for path in paths:
            folder = path.rpartition("/")[0]
            while folder and folder not in folders:
                folders.add(folder)
                if os.path.lexists(os.path.join(self.root, folder, ".gitattributes")):
                    self.settle()
                    self._converts = True
                    return
                folder = folder.rpartition("/")[0]

    def settle(self) -> None:
        """End the questions still running: no git process of a repository
        that is left stays behind."""
        asked, self._attributes = self._attributes, None
        for question in asked or ():
            question.cancel()

    def _answer(self, config_asked: Pending, listed_asked: Pending) -> bool:
        try:
            config = config_asked.output(check=False).decode("utf-8", "replace").lower()
            listed = listed_asked.output(check=False)
        finally:
            listed_asked.cancel()
        for line in config.split("\n"):
            key, _, value = line.partition(" ")
            if key == "core.attributesfile" and value.strip():
                return True
            if key == "core.autocrlf" and value.strip() in ("true", "input", "yes", "on", "1"):
                return True
        if (self.git_dir / "info" / "attributes").is_file():
            return True
        # the global and system attribute files git reads when no
        # core.attributesFile is set (a `* text eol=crlf` there applies here)
        if any(path.is_file() for path in _outside_attribute_files()):
            return True
        # tracked attribute files anywhere (the index, not a walk of the work
        # tree), and untracked ones where a person would put them
        if any((self.root / folder / ".gitattributes").exists()
               for folder in ("", *BOOK_FOLDERS, "templates")):
            return True
        return bool(listed.strip(b"\0"))

    def state_dir(self) -> Path:
        """facturier's own state (lock, journal): inside the git directory,
        which no clone copies, so a stranger's repository cannot plant one."""
        folder = self.git_dir / "facturier"
        folder.mkdir(exist_ok=True)
        return folder

    def work_blobs(self, paths: Iterable[str]) -> dict[str, Optional[str]]:
        """The blob id each work tree file would get from `git add` (None:
        no such file; "directory"/"symlink" for what is not a file)."""
        found: dict[str, Optional[str]] = {}
        through_git = []
        for path in paths:
            full = os.path.join(self.root, path)
            try:
                st = os.lstat(full)
            except (FileNotFoundError, NotADirectoryError):
                found[path] = None
                continue
            if os.path.islink(full) or _link_above(self.root, path):
                found[path] = "symlink"
            elif not os.path.isfile(full):
                found[path] = "directory" if os.path.isdir(full) else "special"
            elif self.converts:
                through_git.append(path)
            else:
                found[path] = blob_id(_read_nofollow(full, st.st_size), self.object_format)
        if through_git:
            out = git(self.root, "hash-object", "--stdin-paths",
                      input="".join(p + "\n" for p in through_git).encode())
            for path, sha in zip(through_git, out.decode().split()):
                found[path] = sha
        return found

    def hash_content(self, path: str, data: bytes, write: bool) -> str:
        """The blob id of ``data`` stored at ``path`` as `git add` would (clean
        filters, eol conversion); ``write``: store the blob too."""
        args = ["hash-object", "--stdin", "--path=" + path]
        if write:
            args.insert(1, "-w")
        return git(self.root, *args, input=data).decode().strip()


def _read_nofollow(full: str, size: int = 0) -> bytes:
    fd = os.open(full, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        chunks = []
        while True:
            chunk = os.read(fd, max(size, 65536))
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def _link_above(root: Path, path: str) -> bool:
    """Is a folder on the way from the book's root to ``path`` a symbolic link?"""
    parts = path.split("/")[:-1]
    current = str(root)
    for part in parts:
        current = os.path.join(current, part)
        if os.path.islink(current):
            return True
    return False


def read_file(root, path: str) -> Optional[bytes]:
    """A book file's bytes, never through a symbolic link (None when there is
    no such regular file); a link is a GitError naming it."""
    return read_file_stat(root, path)[0]


def read_file_stat(root, path: str, checked: Optional[dict[str, tuple[int, int]]] = None
                   ) -> tuple[Optional[bytes], Optional[os.stat_result]]:
    """:func:`read_file`, with the file's stat data as read (``fstat`` of the
    file opened). ``checked`` ({folder: (inode, device)}), kept by a session
    that reads thousands of files: a folder found free of links once is
    taken as checked while its path still leads to that very folder (one
    ``lstat`` instead of one per folder above it; a link swapped in higher up
    leads elsewhere, and is then looked for again)."""
    from .safepath import UnsafePath, read_regular
    folder = path.rpartition("/")[0]
    if folder and not _folder_checked(root, folder, path, checked):
        raise GitError(_LINK % path)
    try:
        found = read_regular(root, path)
    except UnsafePath:
        raise GitError(_LINK % path) from None
    except (FileNotFoundError, NotADirectoryError):
        return None, None
    return found if found is not None else (None, None)


_LINK = ("%s is a symbolic link (or lies under one): facturier never reads or writes through "
         "links in a book")


def _folder_checked(root, folder: str, path: str,
                    checked: Optional[dict[str, tuple[int, int]]]) -> bool:
    """Is no folder on the way to ``path`` a symbolic link (see read_file_stat)?"""
    if checked is not None and folder in checked:
        try:
            st = os.lstat(os.path.join(root, folder))
        except OSError:
            st = None
        if st is not None and stat.S_ISDIR(st.st_mode) and \
                (st.st_ino, st.st_dev) == checked[folder]:
            return True
        del checked[folder]
    if _link_above(Path(root), path):
        return False
    if checked is not None:
        try:
            st = os.lstat(os.path.join(root, folder))
        except OSError:
            return True         # no such folder: the file is missing, nothing to remember
        if stat.S_ISDIR(st.st_mode):
            checked[folder] = (st.st_ino, st.st_dev)
    return True


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
    root = Path(root)
    if not is_repository(root):
        links: list[str] = []
        if untrusted is not None:
            untrusted["links"], untrusted["state"] = links, []
        return _hash_tree(root, ["facturier.yaml", *folders], links)
    out, status = listing(root, folders, untrusted is not None)
    return blobs_of_listing(root, out, status, untrusted)


def blobs_of_listing(root, out: bytes, status: bytes,
                     untrusted: Optional[dict] = None) -> dict[str, str]:
    """:func:`list_blobs` from what :func:`listing` gave (``untrusted``: as
    there; pass it when the listing was asked with ``state``)."""
    from .safepath import UnsafePath, read_bytes
    root = Path(root)
    links: list[str] = []
    state: list[str] = []
    if untrusted is not None:
        untrusted["links"], untrusted["state"] = links, state
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


def listing(root, folders: Iterable[str] = BOOK_FOLDERS,
            state: bool = True) -> tuple[bytes, bytes]:
    """What :func:`list_blobs` reads, as git says it: ``git ls-files -s -z``
    of ``facturier.yaml`` and ``folders`` (with ``state``, also of anything
    tracked under ``.facturier/``, any case: those entries sort first), and
    ``git status --porcelain=v1 -z`` of the same (uncommitted edits, untracked
    files). Both asked at once, on both cores: status (an lstat of every
    file) is the slow one."""
    return PendingListing(root, folders, state).result()


class PendingListing:
    """:func:`listing` started: both git commands run while the caller does
    other work (the book's loader decodes its cache meanwhile); ``result()``
    waits for them, ``cancel()`` ends them (an interruption meanwhile)."""

    def __init__(self, root, folders: Iterable[str] = BOOK_FOLDERS, state: bool = True):
        wanted = ["facturier.yaml", *folders]
        listed = wanted + [":(icase).facturier"] if state else wanted
        self._status = Pending(root, "--no-optional-locks", "status", "--porcelain=v1", "-z",
                               "--untracked-files=all", "--no-renames", "--", *wanted)
        try:
            self._files = Pending(root, "--no-optional-locks", "ls-files", "-s", "-z", "--",
                                  *listed)
        except BaseException:
            self._status.cancel()
            raise

    def result(self) -> tuple[bytes, bytes]:
        try:
            return self._files.output(), self._status.output()
        except BaseException:
            self.cancel()
            raise

    def cancel(self) -> None:
        self._files.cancel()
        self._status.cancel()


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
    git(root, "init", "-q", "-b", "main")
    for rel, data in files.items():
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    git(root, "add", "--", *files)
    env = dict(os.environ)
    env.update(identity_env(root, author))
    git(root, "commit", "-q", "-m", message, env=env)
    return git(root, "rev-parse", "HEAD").decode().strip()


def identity_env(root, author: Optional[str]) -> dict[str, str]:
    """GIT_AUTHOR_*/GIT_COMMITTER_* for a commit: the person acting (``--author``
    "Name <email>", else git's configured user), falling back to a facturier
    identity when git has none configured (e.g. a fresh CI machine). Git itself
    cleans them (see :func:`identities`)."""
    env: dict[str, str] = {}
    if author:
        name, email = parse_author(author)
        env["GIT_AUTHOR_NAME"], env["GIT_AUTHOR_EMAIL"] = name, email
    for role in ("AUTHOR", "COMMITTER"):
        key_name, key_mail = "GIT_%s_NAME" % role, "GIT_%s_EMAIL" % role
        if key_name not in env and not os.environ.get(key_name):
            name = git(root, "config", "user.name", check=False).decode().strip()
            env[key_name] = name or "facturier"
        if key_mail not in env and not os.environ.get(key_mail):
            mail = git(root, "config", "user.email", check=False).decode().strip()
            env[key_mail] = mail or "facturier@localhost"
    return env


def identities(root, author: Optional[str]) -> tuple[str, str]:
    """("Name <email>", "Name <email>") of the author and the committer, as git
    would write them: `git var` resolves them as `git commit` does (the
    environment, then the configuration) and applies git's own rules (angle
    brackets and newlines dropped, crud trimmed), so the commits pass
    `git fsck --strict`. A machine with no identity gets facturier's."""
    env = dict(os.environ)
    if author:
        env["GIT_AUTHOR_NAME"], env["GIT_AUTHOR_EMAIL"] = parse_author(author)
    found = []
    # both asked at once: two git processes in the time of one
    started = [_start(root, ("var", "GIT_%s_IDENT" % role), env=env)
               for role in ("AUTHOR", "COMMITTER")]
    answers = [_finish(proc) for proc in started]
    for role, (code, stdout, err) in zip(("AUTHOR", "COMMITTER"), answers):
        out = stdout.decode("utf-8", "replace").strip() if code == 0 else ""
        m = re.fullmatch(r"(.*?) ?<([^<>]*)> \d+ [-+]\d{4}", out)
        if m and m.group(1).strip() and m.group(2).strip():
            found.append("%s <%s>" % (m.group(1), m.group(2)))
            continue
        text = err.decode("utf-8", "replace")
        if "empty ident name" in text or "name consists only of disallowed" in text:
            # a name git refuses once cleaned: say so rather than commit as someone else
            raise FacturierError(
                "git refuses the %s name %r (nothing is left of it once git removes the "
                "characters a commit cannot hold): set user.name (git config user.name "
                "\"Your Name\") or give --author \"Name <email>\"" % (
                    role.lower(), env.get("GIT_%s_NAME" % role) or _config(root, "user.name")))
        found.append("facturier <facturier@localhost>")     # no identity at all (a fresh CI machine)
    return found[0], found[1]


def _config(root, key: str) -> str:
    return git(root, "config", key, check=False).decode("utf-8", "replace").strip()


def parse_author(text: str) -> tuple[str, str]:
    """'Name <email>' -> (name, email) (git then cleans both as it cleans any
    identity); raises FacturierError otherwise."""
    text = text.strip()
    if text.endswith(">") and "<" in text:
        name, _, mail = text[:-1].rpartition("<")
        if name.strip() and "@" in mail:
            return name.strip(), mail.strip()
    raise FacturierError('--author must look like "Name <email>", not %r' % text)
