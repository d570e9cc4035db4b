"""The plans of a recurrence (SPEC 5.1): create, edit, delete. Its repair
(SPEC 4.4) runs the daily run's generation: engine/planrepair.py."""
from __future__ import annotations

from typing import Iterable, Optional, Union

from .model import Book
from .planning import (_check_recurrence_record, _edited, _fix_of_broken, _new_record,
                       _parse, _recurrence)
from .session import Change
from .writer import dump_recurrence, recurrence_path


def plan_create_recurrence(book: Book, fields: Union[dict, str, bytes],
                           source: str = "<input>") -> Change:
    """A new recurrence (id: the given ``id`` or a slug of its name)."""
    record = _new_record(fields, source, "recurrences", recurrence_path, book.recurrence,
                         book.recurrences.keys(), "refuse.recurrence_exists", "name",
                         "recurrence")
    rec_id = record.id
    _check_recurrence_record(book, record)
    data = dump_recurrence(record).encode("utf-8")
    _parse(record.path, data)
    return Change(action="recurrence.create", subject="Create recurrence %s (%s)"
                  % (rec_id, record.name), writes={record.path: data},
                  trailers=(("Facturier-Recurrence", rec_id),
                            ("Facturier-Document", record.template)), new=(record.path,))


def plan_edit_recurrence(book: Book, rec_id: str, text: Optional[Union[str, bytes]] = None,
                         set_fields: Optional[dict] = None, remove: Iterable[str] = ()) -> Change:
    fix = _fix_of_broken(book, "recurrences", rec_id, text, "recurrence.modify",
                         "Facturier-Recurrence")
    if fix is not None:
        return fix
    rec = _recurrence(book, rec_id)
    if text is not None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        new = _parse(rec.path, data)
    else:
        data, new = _edited(book, rec.path, set_fields, remove)
    if (new.template, new.rule, new.start, new.until) != (rec.template, rec.rule, rec.start,
                                                          rec.until):
        _check_recurrence_record(book, new)
    return Change(action="recurrence.modify", subject="Edit recurrence %s" % rec.id,
                  writes={rec.path: data}, trailers=(("Facturier-Recurrence", rec.id),))


def plan_delete_recurrence(book: Book, rec_id: str) -> Change:
    """Delete the recurrence file; the documents it generated stay."""
    rec = _recurrence(book, rec_id)
    kept = len(book.documents_of_recurrence(rec.id))
    return Change(action="recurrence.delete", subject="Delete recurrence %s (%s)%s" % (
        rec.id, rec.name, "; its %d document%s stay" % (kept, "s" if kept != 1 else "")
        if kept else ""), deletes=(rec.path,), trailers=(("Facturier-Recurrence", rec.id),))
