"""The remote of a shared book (SPEC 9), through git's own programs.

Part of the git layer. ``git fetch`` brings the remote branch into its
remote-tracking ref; ``git push`` offers a commit to the remote branch, which
the remote refuses unless it fast-forwards — the compare-and-swap the whole of
SPEC 9 rests on. This module only talks to git; what to replay and when is
:mod:`engine.sync`'s.
"""
from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from typing import Optional

from .diagnostics import FacturierError
from .gitrepo import GitError, git, run_git

REPLAY_REF = "refs/facturier/replay"        # the local commits of a replay under way
BACKUP_PREFIX = "refs/facturier/backup/"
NETWORK_TIMEOUT = 60                         # seconds without progress before git gives up


class RemoteUnreachable(FacturierError):
    """The remote could not be reached (network, authentication, no such
    repository)."""


class RemoteRefused(FacturierError):
    """The remote was reached but refused the push for another reason than a
    race (a hook, receive.fsckObjects, a protected branch)."""


@dataclass(frozen=True)
class Remote:
    name: str           # the git remote, e.g. origin
    branch: str         # its branch, e.g. main

    @property
    def tracking(self) -> str:
        return "refs/remotes/%s/%s" % (self.name, self.branch)

    def __str__(self) -> str:
        return "%s/%s" % (self.name, self.branch)


def _env() -> dict:
    env = dict(os.environ)
    env["GIT_TERMINAL_PROMPT"] = "0"            # never wait for a password in CI
    env.setdefault("GIT_HTTP_LOW_SPEED_LIMIT", "1")
    env.setdefault("GIT_HTTP_LOW_SPEED_TIME", str(NETWORK_TIMEOUT))
    return env


def _why(err: bytes) -> str:
    lines = [line.strip() for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
    lines = [re.sub(r"^(fatal|error|remote): ", "", line) for line in lines]
    return "; ".join(lines[-3:]) or "no answer"


def fetch(root, remote: Remote) -> Optional[str]:
    """Fetch the remote branch: its head commit (also in ``remote.tracking``),
    or None when the remote has no such branch yet. Raises RemoteUnreachable."""
    code, _out, err = run_git(root, "fetch", "--quiet", "--no-tags", "--no-write-fetch-head",
                              remote.name, "+refs/heads/%s:%s" % (remote.branch, remote.tracking),
                              env=_env())
    if code != 0:
        text = err.decode("utf-8", "replace")
        if "couldn't find remote ref" in text:
            git(root, "update-ref", "-d", remote.tracking, check=False)
            return None
        raise RemoteUnreachable("cannot reach the remote %s: %s" % (remote.name, _why(err)))
    return rev(root, remote.tracking)


# the remote's own compare-and-swap losing a race with another push (its ref
# lock taken, or the ref moved between its check and its update): try again
_RACES = ("failed to update ref", "cannot lock ref", "incorrect old value", "unable to lock")


def push(root, remote: Remote, commit: str) -> bool:
    """Offer ``commit`` as the remote branch's new head: True when the remote
    took it (the remote-tracking ref then says so), False when it refused
    because its branch moved (not a fast-forward: fetch and replay). Raises
    RemoteUnreachable, or RemoteRefused for any other refusal."""
    code, out, err = run_git(root, "push", "--porcelain", "--quiet", remote.name,
                             "%s:refs/heads/%s" % (commit, remote.branch), env=_env())
    lines = out.decode("utf-8", "replace").splitlines()
    mine = [line for line in lines if "refs/heads/%s" % remote.branch in line]
    if code == 0:
        git(root, "update-ref", remote.tracking, commit)
        return True
    for line in mine:
        flag = line[:1]
        if flag == "!":
            if "[remote rejected]" in line and not any(
                    race in line for race in _RACES):
                raise RemoteRefused("the remote %s refused the push: %s"
                                    % (remote.name, line.split("]", 1)[-1].strip(" ()")))
            return False        # [rejected] (fetch first) / (non-fast-forward)
    text = err.decode("utf-8", "replace")
    if "[rejected]" in text or "non-fast-forward" in text or "fetch first" in text:
        return False
    raise RemoteUnreachable("cannot reach the remote %s: %s" % (remote.name, _why(err)))


def rev(root, name: str) -> Optional[str]:
    """The commit ``name`` names, or None."""
    out = git(root, "rev-parse", "-q", "--verify", name + "^{commit}", check=False)
    return out.decode().strip() or None


def is_ancestor(root, older: str, newer: str) -> bool:
    return run_git(root, "merge-base", "--is-ancestor", older, newer)[0] == 0


def merge_base(root, a: str, b: str) -> Optional[str]:
    return git(root, "merge-base", a, b, check=False).decode().strip() or None


def commits_between(root, base: Optional[str], head: str) -> list[str]:
    """The commits of ``head`` not in ``base``, oldest first; merges left out
    (their changes come with the commits they merge, as `git rebase` does)."""
    args = ["rev-list", "--reverse", "--topo-order", "--no-merges", head]
    if base:
        args.append("^" + base)
    return git(root, *args).decode().split()


def subjects_between(root, base: Optional[str], head: str) -> list[str]:
    """The subjects of the commits of ``head`` not in ``base``, oldest first."""
    args = ["log", "--reverse", "--format=%s", head]
    if base:
        args.append("^" + base)
    return git(root, *args).decode("utf-8", "replace").splitlines()


def count_between(root, base: str, head: str) -> int:
    return int(git(root, "rev-list", "--count", head, "^" + base).decode().strip() or 0)


@dataclass(frozen=True)
class CommitInfo:
    sha: str
    parent: Optional[str]
    author: str             # "Name <email>"
    author_date: str        # git's raw "<seconds> <+hhmm>"
    message: str


def commit_info(root, sha: str) -> CommitInfo:
    out = git(root, "show", "-s", "--format=%P%x00%an <%ae>%x00%ad%x00%B", "--date=raw",
              sha).decode("utf-8", "replace")
    parents, author, date, message = out.split("\0", 3)
    return CommitInfo(sha, parents.split()[0] if parents.split() else None, author, date.strip(),
                      message)


def file_at(root, commit: str, path: str) -> Optional[bytes]:
    code, out, _err = run_git(root, "cat-file", "blob", "%s:%s" % (commit, path))
    return out if code == 0 else None


def cherry_pick_tree(root, info: CommitInfo, onto: str) -> tuple[Optional[str], list[str]]:
    """Apply the change of commit ``info`` (against its parent) to ``onto``
    with git's three-way merge, as `git cherry-pick` does, without touching
    the work tree: (tree id, []) when it merges cleanly, (None, conflicted
    paths) otherwise. (The merge base is the commit's parent: a commit of
    the parent's tree stands for it, since `git merge-tree --write-tree`
    takes the merge base from the history.)"""
    env = dict(os.environ, GIT_AUTHOR_NAME="facturier", GIT_AUTHOR_EMAIL="facturier@localhost",
               GIT_COMMITTER_NAME="facturier", GIT_COMMITTER_EMAIL="facturier@localhost",
               GIT_AUTHOR_DATE="1000000000 +0000", GIT_COMMITTER_DATE="1000000000 +0000")
    base_tree = info.parent + "^{tree}" if info.parent else _empty_tree(root)
    base = git(root, "commit-tree", base_tree, "-m", "base", env=env).decode().strip()
    ours = git(root, "commit-tree", onto + "^{tree}", "-p", base, "-m", "ours",
               env=env).decode().strip()
    theirs = git(root, "commit-tree", info.sha + "^{tree}", "-p", base, "-m", "theirs",
                 env=env).decode().strip()
    code, out, err = run_git(root, "merge-tree", "--write-tree", "--name-only", "--no-messages",
                             ours, theirs)
    lines = out.decode("utf-8", "surrogateescape").split("\n")
    if code == 0:
        return lines[0].strip(), []
    if code == 1:
        return None, sorted({line for line in lines[1:] if line.strip()})
    raise GitError("git merge-tree failed: %s" % _why(err))


def _empty_tree(root) -> str:
    return git(root, "hash-object", "-t", "tree", "-w", "--stdin", input=b"").decode().strip()


def commit_tree(root, tree: str, parent: str, info: CommitInfo, committer: str) -> str:
    """A commit of ``tree`` on ``parent`` with the author, date and message
    of ``info`` (as `git cherry-pick` keeps them) and facturier's committer."""
    from .gitrepo import parse_author
    name, email = parse_author(info.author) if "<" in info.author else ("facturier", "x@localhost")
    c_name, c_email = parse_author(committer)
    env = dict(os.environ, GIT_AUTHOR_NAME=name, GIT_AUTHOR_EMAIL=email,
               GIT_AUTHOR_DATE=info.author_date, GIT_COMMITTER_NAME=c_name,
               GIT_COMMITTER_EMAIL=c_email)
    return git(root, "commit-tree", tree, "-p", parent, "-F", "-",
               input=info.message.encode("utf-8"), env=env).decode().strip()


def keep_backup(root, commit: str) -> str:
    """Keep ``commit`` under refs/facturier/backup/<time> (never pruned by
    facturier); the ref's name."""
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    name = BACKUP_PREFIX + stamp
    n = 1
    while rev(root, name):
        n += 1
        name = "%s%s-%d" % (BACKUP_PREFIX, stamp, n)
    git(root, "update-ref", name, commit)
    return name


def set_ref(root, name: str, commit: Optional[str]) -> None:
    if commit is None:
        git(root, "update-ref", "-d", name, check=False)
    else:
        git(root, "update-ref", name, commit)
