"""Messages the screens and widgets post up to the App (attributes down,
messages up): the App is the only part that talks to the engine."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from textual.message import Message


@dataclass
class OpenList(Message):
    """Open a document list: of some statuses, a category, or given ids."""
    title: str
    statuses: Optional[tuple[str, ...]] = None
    category: Optional[str] = None
    ids: Optional[frozenset] = None


@dataclass
class OpenDocument(Message):
    doc_id: str


@dataclass
class OpenRecurrence(Message):
    rec_id: str


@dataclass
class OpenRecurrences(Message):
    stopped_only: bool = False


@dataclass
class OpenProblems(Message):
    pass


@dataclass
class OpenRepair(Message):
    rec_id: str


@dataclass
class OpenRecurrenceForm(Message):
    rec_id: Optional[str] = None        # None: a new recurrence


@dataclass
class RunAction(Message):
    """Do one action (one commit): ``action`` names it (``pay``, ``validate``,
    ``repair``, ``recurrence.create``...), ``target`` is the document or
    recurrence id, ``values`` the form's parsed input."""
    action: str
    target: Optional[str]
    values: dict = field(default_factory=dict)


@dataclass
class WantSendPreview(Message):
    """The person asked to e-mail a document: the App shows the message and
    its attachments (tui/send_dialog.py) before anything is sent."""
    doc_id: str


@dataclass
class WritePdf(Message):
    """Write a document's PDF to ``target`` (a file, or a folder), then open
    it when ``open_it`` (xdg-open, where there is one)."""
    doc_id: str
    target: str
    open_it: bool = True


@dataclass
class WantHistory(Message):
    """A screen wants the history of an object; the App answers by calling
    ``screen.show_history(entries)``."""
    object_id: str
    kind: str = "documents"             # documents | recurrences | contacts
    screen: Any = None
