"""The plans of a contact (SPEC 5.1): create, edit, delete."""
from __future__ import annotations

from typing import Iterable, Optional, Union

from .model import Book, Document
from .planning import (_broken, _contact, _edited, _fix_of_broken, _message,
                       _new_record, _parse, _refuse, _unchanged_since)
from .session import Change
from .writer import contact_path, dump_contact


def plan_create_contact(book: Book, fields: Union[dict, str, bytes],
                        source: str = "<input>") -> Change:
    """A new contact; its id is the given ``id`` or a slug of its name."""
    record = _new_record(fields, source, "contacts", contact_path, book.contact,
                         book.contacts.keys(), "refuse.contact_exists", "id", "contact")
    contact_id = record.id
    data = dump_contact(record).encode("utf-8")
    _parse(record.path, data)
    return Change(action="contact.create", subject="Create contact %s (%s)"
                  % (contact_id, record.name), writes={record.path: data},
                  trailers=(("Facturier-Contact", contact_id),), new=(record.path,))


def plan_edit_contact(book: Book, contact_id: str, text: Optional[Union[str, bytes]] = None,
                      set_fields: Optional[dict] = None, remove: Iterable[str] = (),
                      base: Optional[str] = None) -> Change:
    broken = _broken(book, "contacts", contact_id) if book.contact(contact_id) is None else None
    _unchanged_since(book, broken or _contact(book, contact_id).path, base)
    fix = _fix_of_broken(book, "contacts", contact_id, text, "contact.modify",
                         "Facturier-Contact")
    if fix is not None:
        return fix
    contact = _contact(book, contact_id)
    if text is not None:
        data = text.encode("utf-8") if isinstance(text, str) else text
        _parse(contact.path, data)
    else:
        data, _ = _edited(book, contact.path, set_fields, remove)
    return Change(action="contact.modify", subject="Edit contact %s" % contact.id,
                  writes={contact.path: data}, trailers=(("Facturier-Contact", contact.id),))


def documents_of_contact(book: Book, contact_id: str) -> list[Document]:
    lowered = contact_id.lower()
    return sorted((d for d in book.documents.values() if d.contact.lower() == lowered),
                  key=lambda d: (d.date, d.id))


def plan_delete_contact(book: Book, contact_id: str) -> Change:
    contact = _contact(book, contact_id)
    docs = documents_of_contact(book, contact.id)
    if docs:
        shown = ", ".join(d.id for d in docs[:5])
        more = _message("refuse.and_more", n=len(docs) - 5) if len(docs) > 5 else ""
        _refuse("refuse.contact_in_use.many" if len(docs) > 1 else "refuse.contact_in_use",
                id=contact.id, n=len(docs), shown=shown, more=more)
    return Change(action="contact.delete", subject="Delete contact %s (%s)"
                  % (contact.id, contact.name), deletes=(contact.path,),
                  trailers=(("Facturier-Contact", contact.id),))
