"""Many clones of one book (SPEC 9): publishing through the remote, replaying
local commits on its head, `facturier sync`.

The remote's branch is the book of record. A push that does not fast-forward
is refused by the remote: that compare-and-swap is the only coordination.

- *Publishing*: a change that gives a number (a validation, a generation
  with a number) or records an e-mail attempt (`sending`) is pushed before
  the action reports success (:class:`Publisher`, attached to each
  :class:`engine.actions.Writer` of a book with ``sync``). Refused because
  the remote moved: fetch, replay, push again (``ATTEMPTS`` times). The
  remote unreachable: the branch goes back to where it was before the
  action (work tree included) and the action is refused.
- *Replay* (:func:`replay_onto`): the branch moves to the remote's head and
  each local commit is planned again there, oldest first, from what it
  recorded (the ``Facturier-Input`` trailer, engine/trailers.py) through the
  engine's own plans: a validation takes the next free number, an occurrence
  the remote already generated is not generated again, a payment or an
  e-mail attempt already there is not recorded twice. Commits without a
  recorded input (a person's commits, and actions that need no planning)
  are applied as `git cherry-pick` applies them (git's three-way merge); a
  conflict, or a plan the remote's book refuses, stops the replay: the
  branch goes back to what it was, kept also as
  ``refs/facturier/backup/<time>``, and the files or the reason are named.
  While a replay runs, ``refs/facturier/replay`` keeps the local commits: a
  kill leaves it, and the next sync plans them again on whatever the branch
  holds (planning is idempotent: what is there already is skipped).
- :func:`sync_book` is `facturier sync`: resume, fetch, replay, push.

Longer than 500 lines on purpose: publishing and replay are one protocol (a
refused push is answered by a replay), and the replayers are its per-action
halves.
"""
from __future__ import annotations

import datetime as dt
import random
import time
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Callable, Optional

from . import gitsync
from .diagnostics import ActionRefused, FacturierError
from .gitsync import CommitInfo, Remote, RemoteRefused, RemoteUnreachable
from .trailers import read_input, trailers_of, values

if TYPE_CHECKING:
    from .actions import Change, Writer

ATTEMPTS = 24                # pushes refused because the remote moved, before giving up
BACKOFF_CAP = 8.0            # seconds: the longest pause between two attempts
_SKIP_CODES = ("refuse.already_", "refuse.not_on_hold")      # a replay finds it done


class SyncConflict(FacturierError):
    """A local commit cannot be replayed on the remote's head."""

    def __init__(self, message: str, backup: Optional[str] = None):
        super().__init__(message)
        self.backup = backup


@dataclass
class SyncReport:
    remote: str = ""
    fetched: int = 0                                  # commits that came from the remote
    published: list = field(default_factory=list)     # subjects of the commits pushed
    replayed: list = field(default_factory=list)      # subjects of commits planned again
    dropped: list = field(default_factory=list)       # "subject: why"
    unpublished: int = 0                              # commits still local after it
    pushes: int = 0                                   # pushes offered (refused ones included)
    anchor: Optional[str] = None                      # where a refused publish goes back to

    def as_json(self) -> dict:
        return {"remote": self.remote, "fetched": self.fetched, "published": self.published,
                "replayed": self.replayed, "dropped": self.dropped,
                "unpublished": self.unpublished}


# --------------------------------------------------------------------------- settings

def remote_of(root, settings) -> Optional[Remote]:
    """The book of record of these settings, or None without ``sync``."""
    sync = getattr(settings, "sync", None)
    if sync is None:
        return None
    branch = sync.branch
    if not branch:
        from .gitrepo import git
        ref = git(root, "symbolic-ref", "-q", "--short", "HEAD", check=False).decode().strip()
        branch = ref or "main"
    return Remote(sync.remote, branch)


def _settings_problem(root) -> Optional[str]:
    """The error of facturier.yaml's ``sync`` key, if any: publishing is then refused."""
    from .loader import parse_settings
    from .safepath import read_bytes
    try:
        data = read_bytes(root, "facturier.yaml")
    except (OSError, Exception):
        return None
    _settings, diagnostics = parse_settings(data, "facturier.yaml")
    for d in diagnostics:
        if d.is_error and (d.field == "sync" or d.field.startswith("sync.")):
            return str(d)
    return None


def publishes(change: "Change") -> bool:
    """Does this change give a number or record an e-mail attempt (SPEC 9)?"""
    data = read_input(list(change.trailers))
    if data is None:
        return change.action == "document.validate"
    op = data["op"]
    if op == "validate":
        return True
    if op == "generate":
        return bool(data.get("number"))
    if op == "deliver":
        return any((item.get("entry") or {}).get("result") == "sending"
                   for item in data.get("items", ()) if isinstance(item, dict))
    return False


# --------------------------------------------------------------------------- the publisher

class Publisher:
    """Publishes a writer's publishing commits (see the module docstring)."""

    def __init__(self, writer: "Writer", remote: Remote, problem: Optional[str] = None):
        self.w = writer
        self.remote = remote
        self.problem = problem
        self.anchor: Optional[str] = None     # the branch before the first unpublished one
        self.replaying = False
        self.report = SyncReport(remote=str(remote))

    def committed(self, change: "Change", before: str) -> None:
        if self.replaying or not publishes(change):
            return
        if self.anchor is None:
            self.anchor = before
        if not self.w._opened()._batching:
            self.flush()

    def flush(self) -> None:
        """Push what is to be published (at once, or at the end of a batch)."""
        if self.anchor is None:
            return
        anchor, self.anchor = self.anchor, None
        if self.problem:
            _undo(self.w, anchor)
            raise ActionRefused("sync.settings", problem=self.problem)
        publish(self.w, self.remote, anchor, self.report)

    def subject(self, sha: str) -> str:
        """The subject of a commit (a replayed one says its new number)."""
        return _subject(gitsync.commit_info(self.w.root, sha))

    def abandon(self) -> None:
        """A batch failed: what it would have published goes (never a number
        left unpublished)."""
        if self.anchor is not None:
            anchor, self.anchor = self.anchor, None
            _undo(self.w, anchor)


def publisher_for(writer: "Writer") -> Optional[Publisher]:
    from .book import load_settings
    root = writer.root
    settings = load_settings(root)
    remote = remote_of(root, settings)
    problem = _settings_problem(root) if remote is None and _has_sync_key(root) else None
    if remote is None and problem is None:
        return None
    return Publisher(writer, remote or Remote("origin", "main"), problem)


def _has_sync_key(root) -> bool:
    from .safepath import read_bytes
    try:
        text = read_bytes(root, "facturier.yaml").decode("utf-8", "replace")
    except Exception:
        return False
    return any(line.startswith("sync:") for line in text.splitlines())


def _undo(w: "Writer", anchor: str) -> None:
    """The branch (and work tree) back to ``anchor``: the action is undone."""
    w._opened().move_to(anchor)
    w._book = None


def publish(w: "Writer", remote: Remote, anchor: str, report: SyncReport) -> None:
    """Push the writer's branch; when the remote moved, fetch, replay and push
    again. Unreachable, refused, too busy, or any failure on the way: back to
    ``anchor`` (the branch before the action) and refuse."""
    report.anchor = anchor
    try:
        _publish(w, remote, anchor, report)
    except BaseException:
        # never a number or an e-mail attempt left local: the action is undone
        # (``anchor`` follows the replays, see _publish)
        if report.anchor is not None:
            _undo(w, report.anchor)
        raise


def _publish(w: "Writer", remote: Remote, anchor: str, report: SyncReport) -> None:
    from .gitstore import _crash_point
    store = w._opened()
    root = w.root
    _resume(w, report)
    for attempt in range(ATTEMPTS):
        started = time.monotonic()
        try:
            _crash_point("before-push")
            report.pushes += 1
            if gitsync.push(root, remote, store.head):
                report.anchor = None
                _crash_point("pushed")
                return
            head = gitsync.fetch(root, remote)
        except (RemoteUnreachable, RemoteRefused) as exc:
            raise ActionRefused("sync.not_published", reason=str(exc)) from None
        if head is None or gitsync.is_ancestor(root, head, store.head):
            _back_off(attempt, time.monotonic() - started)
            continue        # nothing new there (a push lost the remote's ref lock): again
        try:
            report.anchor = replay_onto(w, head, report, report.anchor) or head
        except SyncConflict as exc:
            raise ActionRefused("sync.conflict_refused", reason=str(exc)) from None
        _back_off(attempt, time.monotonic() - started)
    raise ActionRefused("sync.busy", remote=str(remote), attempts=ATTEMPTS)


def _back_off(attempt: int, took: float) -> None:
    """Lost a race: wait a random while, longer after each loss (randomized
    exponential back-off, in units of what one attempt takes), so that the
    clones that collided spread out instead of colliding again."""
    if attempt:
        time.sleep(random.uniform(0, min(BACKOFF_CAP, max(took, 0.05) * 2 ** min(attempt, 6))))


# --------------------------------------------------------------------------- replay

def replay_onto(w: "Writer", head: str, report: SyncReport,
                anchor: Optional[str] = None) -> Optional[str]:
    """Move the branch to ``head`` and plan the local commits again on it
    (module docstring). Returns where ``anchor`` (a commit of the old branch)
    went: the branch after the replay of the commits up to it."""
    store = w._opened()
    root = w.root
    local = store.head
    base = gitsync.merge_base(root, local, head)
    if base is None:
        raise SyncConflict("the local branch and %s share no history: nothing was changed"
                           % head[:10])
    commits = gitsync.commits_between(root, base, local)
    upto = len(gitsync.commits_between(root, base, anchor)) if anchor else 0
    gitsync.set_ref(root, gitsync.REPLAY_REF, local)
    new_anchor: Optional[str] = head if upto == 0 else None
    try:
        store.move_to(head)
        w._book = None
        from .gitstore import _crash_point
        _crash_point("replay-moved")
        for i, sha in enumerate(commits):
            _replay_one(w, sha, report)
            if i == 0:
                _crash_point("replay-one")
            if i == upto - 1:
                new_anchor = store.head
    except SyncConflict as exc:
        _restore(w, local)
        exc.backup = gitsync.keep_backup(root, local)
        gitsync.set_ref(root, gitsync.REPLAY_REF, None)
        raise SyncConflict("%s\nYour branch is as it was (also kept as %s); nothing was "
                           "published." % (exc, exc.backup), exc.backup) from None
    except BaseException:
        _restore(w, local)
        gitsync.set_ref(root, gitsync.REPLAY_REF, None)
        raise
    gitsync.set_ref(root, gitsync.REPLAY_REF, None)
    return new_anchor


def _restore(w: "Writer", local: str) -> None:
    try:
        w._opened().publish()
    except BaseException:
        pass
    try:
        w._opened().move_to(local)
    finally:
        w._book = None


def _resume(w: "Writer", report: SyncReport) -> None:
    """A replay a kill interrupted: plan its commits again on the branch as
    it is (what was replayed already is found there and skipped)."""
    root = w.root
    original = gitsync.rev(root, gitsync.REPLAY_REF)
    if original is None:
        return
    store = w._opened()
    base = gitsync.merge_base(root, original, store.head)
    commits = gitsync.commits_between(root, base, original) if base != original else []
    before = store.head
    try:
        for sha in commits:
            _replay_one(w, sha, report)
    except SyncConflict as exc:
        _restore(w, before)
        backup = gitsync.keep_backup(root, original)
        gitsync.set_ref(root, gitsync.REPLAY_REF, None)
        raise SyncConflict("%s\nThe commits of the interrupted replay are kept as %s."
                           % (exc, backup), backup) from None
    gitsync.set_ref(root, gitsync.REPLAY_REF, None)


def _subject(info: CommitInfo) -> str:
    return info.message.strip().split("\n", 1)[0]


def _replay_one(w: "Writer", sha: str, report: SyncReport) -> None:
    root = w.root
    store = w._opened()
    info = gitsync.commit_info(root, sha)
    trailers = trailers_of(info.message)
    actions = values(trailers, "Facturier-Action")
    data = read_input(trailers)
    if data is None and actions == ["document.validate"]:
        data = _validation_input(root, info, trailers)
    subject = _subject(info)
    replayer = REPLAYERS.get(data["op"]) if data is not None else None
    if replayer is not None and data is not None:
        try:
            change = replayer(w, data, info)
        except ActionRefused as exc:
            raise SyncConflict("cannot replay your commit %s (%s) on the remote's book: %s"
                               % (sha[:10], subject, exc)) from None
        if change is None:
            report.dropped.append(subject)
            return
        publisher = getattr(w, "publisher", None)
        author = store._author
        if publisher is not None:
            publisher.replaying = True
        store._author = info.author
        try:
            new = w.commit(change)
        except ActionRefused as exc:
            raise SyncConflict("cannot replay your commit %s (%s) on the remote's book: %s"
                               % (sha[:10], subject, exc)) from None
        finally:
            store._author = author
            if publisher is not None:
                publisher.replaying = False
        (report.replayed if new else report.dropped).append(subject)
        return
    if actions == ["recurrence.stop"]:
        rec_id = (values(trailers, "Facturier-Recurrence") or [""])[0]
        rec = w.book.recurrences.get(rec_id)
        if rec is not None and rec.stopped is not None:
            report.dropped.append(subject)
            return
    tree, conflicts = gitsync.cherry_pick_tree(root, info, store.head)
    if tree is None:
        raise SyncConflict("your commit %s (%s) conflicts with the remote's in: %s"
                           % (sha[:10], subject, ", ".join(conflicts)))
    head_tree = gitsync.git(root, "rev-parse", store.head + "^{tree}").decode().strip()
    if tree == head_tree:
        report.dropped.append(subject)          # already there
        return
    new = gitsync.commit_tree(root, tree, store.head, info, store._committer)
    store.move_to(new)
    w._book = None
    report.replayed.append(subject)


def _validation_input(root, info: CommitInfo, trailers) -> Optional[dict]:
    """A validation recorded without its input (an older facturier): its
    document and the validation date written in it."""
    from .loader import parse_file
    ids = values(trailers, "Facturier-Document")
    if len(ids) != 1:
        return None
    out = gitsync.git(root, "diff-tree", "-r", "--name-only", "--no-commit-id", "-z",
                      info.parent or info.sha, info.sha, check=False)
    for path in out.decode("utf-8", "replace").split("\0"):
        if path.endswith("/%s.yaml" % ids[0]):
            data = gitsync.file_at(root, info.sha, path)
            _kind, record, _ = parse_file(path, data or b"")
            validated = getattr(record, "validated", None)
            if validated is not None:
                return {"op": "validate", "doc": ids[0], "as_of": validated.isoformat()}
    return None


# --------------------------------------------------------------------------- replayers
# Each: (writer, recorded input, the original commit) -> Change to commit on
# the branch as it now is, or None when the remote's book has it already.

def _day(text) -> dt.date:
    return dt.date.fromisoformat(str(text))


def _doc(w: "Writer", doc_id: str):
    doc = w.book.document(doc_id)
    if doc is None:
        raise ActionRefused("refuse.no_document", id=doc_id)
    return doc


def _r_validate(w: "Writer", data: dict, info: CommitInfo):
    from . import actions
    from .book import load_for_numbering
    from .numbering import is_partial
    # the whole book when the session holds it (kept current commit by
    # commit), else what numbering needs of the branch as it now is
    book = w._book
    if book is None or is_partial(book):
        book = load_for_numbering(w.root, data["doc"])
    doc = actions._doc(book, data["doc"])      # refuses: no such document, or it does not load
    if doc.validated is not None:
        return None                 # validated on the remote meanwhile
    return actions.plan_validate(book, doc.id, _day(data["as_of"]),
                                 issued_late=bool(data.get("late")))


def _r_entry(kind: str) -> Callable:
    def replay(w: "Writer", data: dict, info: CommitInfo):
        from . import actions
        doc = _doc(w, data["doc"])
        amount, day = Decimal(data["amount"]), _day(data["date"])
        if kind == "pay":
            entry = {"date": day, "amount": amount, "reference": data.get("reference", "")}
            if actions._same_entries(doc.payments, entry) > int(data.get("n", 0)):
                return None
            return actions.plan_payment(w.book, doc.id, amount, day, data.get("reference", ""))
        entry = {"date": day, "amount": amount, "reason": data.get("reason", "")}
        if actions._same_entries(doc.discounts, entry) > int(data.get("n", 0)):
            return None
        return actions.plan_discount(w.book, doc.id, amount, day, data.get("reason", ""))
    return replay


def _r_plan(w: "Writer", data: dict, info: CommitInfo):
    """hold, release, write-off, decline, returned: planned again; a refusal
    saying it is done already (on hold, written off...) skips it."""
    from . import actions
    doc = _doc(w, data["doc"])
    op = data["op"]
    try:
        if op == "hold":
            return actions.plan_hold(w.book, doc.id, _day(data["date"]), data.get("reason", ""))
        if op == "release":
            return actions.plan_release(w.book, doc.id, _day(data["date"]))
        if op == "write-off":
            return actions.plan_write_off(w.book, doc.id, _day(data["date"]), data.get("reason", ""))
        if op == "decline":
            return actions.plan_decline(w.book, doc.id, _day(data["date"]))
        if any(d.channel == "post" and d.at == data["at"] for d in doc.deliveries):
            return None
        return actions.plan_returned(w.book, doc.id, data["at"])
    except ActionRefused as exc:
        if exc.message.code.startswith(_SKIP_CODES):
            return None
        raise


def _r_generate(w: "Writer", data: dict, info: CommitInfo):
    from . import daily
    from .actions import Change
    from .recurrence import check_recurrence
    from .trailers import input_trailer
    from .writer import dump_document
    book = w.book
    doc_id, occurrence, as_of = data["doc"], _day(data["occ"]), _day(data["as_of"])
    if any(k.lower() == doc_id.lower() for k in book.documents):
        return None                 # the remote generated it
    rec = book.recurrences.get(data["rec"])
    if rec is None:
        raise ActionRefused("refuse.no_recurrence", id=data["rec"])
    if rec.last is not None and rec.last >= occurrence:
        return None
    cause = check_recurrence(rec, book)
    if cause:
        raise ActionRefused(str(cause))
    s = daily._Session(w, w.root, as_of, lambda: "", daily.RunReport(as_of=as_of), False, None, 1)
    doc = daily._generated(s, rec, occurrence)
    subject = "Generate %s from recurrence %s" % (doc.id, rec.id)
    if doc.validated is not None:
        subject += " (number %s)" % doc.number
    extra = {k: v for k, v in data.items() if k != "op"}
    return Change("document.generate", subject,
                  {doc.path: dump_document(doc).encode("utf-8"),
                   rec.path: daily._with_last(s, rec, occurrence)},
                  trailers=daily._trailers([doc.id], [rec.id]) + input_trailer("generate", **extra),
                  new=(doc.path,))


def _still_due(w: "Writer", doc, level: int, day: dt.date) -> bool:
    from .daily import REMINDER_STATUSES
    from .status import dunning_level, status_of
    if any(r.level >= level for r in doc.reminders):
        return False
    return status_of(doc, w.book, day) in REMINDER_STATUSES and dunning_level(doc, w.book, day) >= level


def _r_deliver(w: "Writer", data: dict, info: CommitInfo):
    """E-mail entries and reminders appended: each kept only while the
    document is as the commit found it (no other e-mail attempt recorded
    since, the reminder still due and not recorded by another clone)."""
    from . import actions
    from .actions import Change
    from .trailers import input_trailer
    writes: dict[str, bytes] = {}
    kept: list[dict] = []
    for item in data.get("items", ()):
        doc = w.book.document(item.get("doc", ""))
        if doc is None:
            continue
        entry, level = item.get("entry"), item.get("level")
        if entry and any(d.message_id and d.message_id == entry.get("message_id")
                         for d in doc.deliveries):
            continue                # this very attempt is there
        if entry and sum(1 for d in doc.deliveries if d.channel == "email") != int(item.get("n", 0)):
            continue                # another clone e-mailed it meanwhile
        append: dict[str, Any] = {}
        if level is not None:
            day = _day(item["date"])
            if not _still_due(w, doc, int(level), day):
                continue
            append["reminders"] = [{"level": int(level), "date": day}]
        if entry:
            append["deliveries"] = [entry]
        if not append:
            continue
        data_bytes, _ = actions._edited(w.book, doc.path, append=append)
        writes[doc.path] = data_bytes
        kept.append(item)
    if not writes:
        return None
    ids = [item["doc"] for item in kept]
    action = (values(trailers_of(info.message), "Facturier-Action") or ["document.send"])[0]
    return Change(action, _subject(info), writes,
                  trailers=tuple(("Facturier-Document", i) for i in ids)
                  + input_trailer("deliver", items=kept))


def _r_outcome(w: "Writer", data: dict, info: CommitInfo):
    from . import actions
    from .actions import Change
    from .trailers import input_trailer
    doc = _doc(w, data["doc"])
    found = [i for i, d in enumerate(doc.deliveries) if d.message_id and d.message_id == data["mid"]]
    if not found:
        return None
    index = found[-1]
    fields = {"deliveries.%d.%s" % (index, k): v for k, v in (data.get("set") or {}).items()}
    data_bytes, _ = actions._edited(w.book, doc.path, fields)
    action = (values(trailers_of(info.message), "Facturier-Action") or ["document.send"])[0]
    extra = {k: v for k, v in data.items() if k != "op"}
    return Change(action, _subject(info), {doc.path: data_bytes},
                  trailers=(("Facturier-Document", doc.id),) + input_trailer("outcome", **extra))


REPLAYERS: dict[str, Callable[..., Optional["Change"]]] = {
    "validate": _r_validate, "pay": _r_entry("pay"), "discount": _r_entry("discount"),
    "hold": _r_plan, "release": _r_plan, "write-off": _r_plan, "decline": _r_plan,
    "returned": _r_plan, "generate": _r_generate, "deliver": _r_deliver, "outcome": _r_outcome,
}


# --------------------------------------------------------------------------- facturier sync

def unpublished(root, remote: Remote) -> Optional[int]:
    """How many commits of the branch the remote-tracking ref lacks (as of
    the last fetch or push), or None when it was never fetched."""
    tracking = gitsync.rev(root, remote.tracking)
    if tracking is None:
        return None
    return gitsync.count_between(root, tracking, "HEAD")


def sync_book(root, author: Optional[str] = None, timeout: float = 10.0) -> SyncReport:
    """`facturier sync`: fetch; replay the local commits on the remote's head;
    push. Raises ActionRefused when the book has no ``sync``,
    RemoteUnreachable, SyncConflict (nothing changed, the branch kept as a
    backup too), or ActionRefused when the remote kept moving."""
    from .actions import open_writer
    with open_writer(root, author=author, timeout=timeout) as w:
        publisher = w.publisher
        if publisher is None:
            raise ActionRefused("sync.not_set")
        if publisher.problem:
            raise ActionRefused("sync.settings", problem=publisher.problem)
        remote = publisher.remote
        report = SyncReport(remote=str(remote))
        store = w._opened()
        _resume(w, report)
        for attempt in range(ATTEMPTS):
            head = gitsync.fetch(w.root, remote)
            local = store.head
            if head is not None and head != local:
                if gitsync.is_ancestor(w.root, local, head):
                    report.fetched += gitsync.count_between(w.root, local, head)
                    store.move_to(head)
                    break
                if not gitsync.is_ancestor(w.root, head, local):
                    report.fetched += gitsync.count_between(w.root, local, head)
                    replay_onto(w, head, report)
            if head == store.head:
                break
            subjects = gitsync.subjects_between(w.root, head, store.head)
            report.pushes += 1
            if gitsync.push(w.root, remote, store.head):
                from .gitstore import _crash_point
                _crash_point("pushed")
                report.published.extend(subjects)
                break
            _back_off(attempt, 0.2)
        else:
            raise ActionRefused("sync.busy", remote=str(remote), attempts=ATTEMPTS)
        report.unpublished = unpublished(w.root, remote) or 0
        return report
