"""The audit trail (SPEC 5.3), read from ``git log``.

The history of a document, recurrence or contact is, oldest first, every
commit whose trailers name it plus every commit that touched its file. A
commit without a ``Facturier-Action`` trailer (a hand edit committed with
plain git) appears with the action ``manual`` and its own subject.

Two ``git log`` runs with ``--format`` (trailers included) do the work: one
``-F --grep`` for the id in the trailers, one for the file's path. Parsing
is here; running git is gitstore's (:func:`engine.gitstore.log_records`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from . import gitstore

MANUAL = "manual"
# SPEC 5.1: every action facturier records in a Facturier-Action trailer
ACTIONS = (
    "recurrence.create", "recurrence.modify", "recurrence.delete", "recurrence.stop",
    "recurrence.skip-missing", "recurrence.create-missing", "recurrence.end",
    "document.create", "document.modify", "document.delete", "document.generate",
    "document.validate", "document.send", "document.bounce", "document.return",
    "document.payment", "document.discount", "document.write-off", "document.hold",
    "document.release", "document.credit", "document.convert", "document.decline",
    "document.remind", "contact.create", "contact.modify", "contact.delete", "settings.modify")
ATTACHMENT_KEY = "Facturier-Attachment"
KEYS = {"Facturier-Document": "documents", "Facturier-Recurrence": "recurrences",
        "Facturier-Contact": "contacts"}


@dataclass(frozen=True)
class Entry:
    commit: str
    date: str                   # ISO 8601 author date with offset
    author: str                 # "Name <email>"
    action: str                 # Facturier-Action, or "manual"
    subject: str
    documents: tuple[str, ...] = ()
    recurrences: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    order: int = 0              # position in the branch's history, oldest = 0
    # what an e-mail recorded by this commit carried: (name, SHA-256) from its
    # Facturier-Attachment trailers ("2025-0042.pdf sha256:<hex>")
    attachments: tuple[tuple[str, str], ...] = ()

    def as_json(self) -> dict:
        return {"commit": self.commit, "date": self.date, "author": self.author,
                "action": self.action, "documents": list(self.documents),
                "recurrences": list(self.recurrences), "contacts": list(self.contacts),
                "subject": self.subject,
                "attachments": [{"name": n, "sha256": h} for n, h in self.attachments]}

    def names(self, ident: str) -> bool:
        lowered = ident.lower()
        return any(i.lower() == lowered for i in self.documents + self.recurrences + self.contacts)


def parse_record(fields: list[str], order: int = 0) -> Entry:
    """One ``git log`` record (see gitstore.LOG_FORMAT) -> Entry."""
    commit, date, author, subject, trailers = fields[:5]
    action = ""
    found: dict[str, list[str]] = {"documents": [], "recurrences": [], "contacts": []}
    attached: list[tuple[str, str]] = []
    for line in trailers.splitlines():
        key, sep, value = line.partition(":")
        if not sep:
            continue
        key, value = key.strip(), value.strip()
        if key == "Facturier-Action" and not action:
            action = value
        elif key in KEYS and value:
            found[KEYS[key]].append(value)
        elif key == ATTACHMENT_KEY:
            name, _, digest = value.rpartition(" sha256:")
            if name and digest:
                attached.append((name, digest))
    return Entry(commit=commit, date=date, author=author, action=action or MANUAL,
                 subject=subject, documents=tuple(found["documents"]),
                 recurrences=tuple(found["recurrences"]), contacts=tuple(found["contacts"]),
                 order=order, attachments=tuple(attached))


def _filter(entries: Iterable[Entry], actions: Iterable[str]) -> list[Entry]:
    wanted = {a for a in actions if a}
    if not wanted:
        return list(entries)
    return [e for e in entries if e.action in wanted]


def book_history(root, actions: Iterable[str] = ()) -> list[Entry]:
    """Every commit of the checked-out branch, oldest first, filtered by action."""
    records = gitstore.log_records(root)
    entries = [parse_record(r, i) for i, r in enumerate(records)]
    return _filter(entries, actions)


def object_history(root, ident: str, actions: Iterable[str] = (),
                   kinds: Iterable[str] = ("documents", "recurrences", "contacts")) -> list[Entry]:
    """The history of the object ``ident`` (SPEC 5.3), oldest first.

    ``kinds`` limits which kind of object ``ident`` may be (all three by
    default: ids are unique per kind, so the trails of a contact and a
    document that share an id are merged).
    """
    kinds = tuple(kinds)
    named = gitstore.log_records(root, grep=": %s" % ident, names=True)
    by_commit: dict[str, Entry] = {}
    paths: set[str] = set()
    suffix = "/%s.yaml" % ident.lower()
    for record in named:
        entry = parse_record(record)
        if any(i.lower() == ident.lower() for k in kinds for i in getattr(entry, k)):
            by_commit[entry.commit] = entry
            paths.update(p for p in record[5].splitlines()
                         if ("/" + p.lower()).endswith(suffix) and p.split("/", 1)[0] in kinds)
    paths.update(_current_paths(root, ident, kinds))
    if not paths:
        # never named by facturier and no file now: made and deleted by hand,
        # so its file is looked for in every folder of the whole history (a
        # glob pathspec costs ~1 s at 10,000 commits, hence only here)
        paths.update(_any_paths(ident, kinds))
    touched = gitstore.log_records(root, paths=sorted(paths)) if paths else []
    for record in touched:
        if record[0] not in by_commit:
            by_commit[record[0]] = parse_record(record)
    if not by_commit:
        return []
    order = gitstore.commit_order(root, by_commit)
    entries = sorted(by_commit.values(), key=lambda e: order.get(e.commit, -1))
    return _filter(entries, actions)


def _current_paths(root, ident: str, kinds) -> list[str]:
    """Where the object's file is now (literal paths keep `git log -- PATH`
    fast: a glob pathspec makes git walk every tree of every commit)."""
    from pathlib import Path
    found = []
    if "documents" in kinds:
        from .actions import find_document_path
        path = find_document_path(root, ident)
        if path:
            found.append(path)
    for kind in ("contacts", "recurrences"):
        if kind in kinds and (Path(root) / kind / ("%s.yaml" % ident)).is_file():
            found.append("%s/%s.yaml" % (kind, ident))
    return found


def _any_paths(ident: str, kinds) -> list[str]:
    """Pathspecs for the object's file wherever it was, ignoring case."""
    from .loader import is_valid_id
    if not is_valid_id(ident):
        return []
    found = []
    if "documents" in kinds:
        found.append(":(glob,icase)documents/**/%s.yaml" % ident)
    for kind in ("contacts", "recurrences"):
        if kind in kinds:
            found.append(":(icase)%s/%s.yaml" % (kind, ident))
    return found
