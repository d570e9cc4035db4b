"""What every plan of SPEC 5.1 shares (engine/plandocument.py, planentries.py,
plancontact.py, planrecurrence.py): refusals with catalogue codes, finding the
record a plan acts on (or the broken file that stands for it), reading and
editing a file's text with a round trip that keeps a person's comments, the
words of a commit, and the checks of a new or edited record.

Plan functions take the loaded book and the action's inputs (dates given,
never read from the clock) and return a :class:`engine.session.Change`: the
files to write or delete, the subject line and the trailers. They raise
:class:`ActionRefused` with a reason a person reads. The only thing they read
besides the book is the current text of the files they change; the writer has
checked those files are clean.
"""
from __future__ import annotations

import dataclasses
from decimal import Decimal
from typing import AbstractSet, Any, Callable, Iterable, Mapping, NoReturn, Optional, Union

import msgspec

from . import safepath
from .diagnostics import ActionRefused, Diagnostic
from .i18n import Lines
from .model import Book, Contact, Document, Recurrence
from .session import Change, _parse_file
from .writer import dump_data, slug_id, update_yaml


KIND_WORDS = {"invoice": "invoice", "credit_note": "credit note", "quote": "quote",
              "work_order": "work order", "expense": "expense"}
# what a validated document keeps (SPEC 2); `credits` too: retargeting a
# validated credit note would move its amount from one invoice to another
PROTECTED = ("kind", "contact", "date", "currency", "lines", "number", "validated", "credits")
def a_kind(kind: str) -> str:
    """'an invoice', 'a quote'."""
    word = KIND_WORDS.get(kind, kind.replace("_", " "))
    return ("an " if word[:1] in "aeiou" else "a ") + word


FIELD_WORDS = {"contact": "customer", "lines": "lines", "kind": "kind", "date": "date",
               "currency": "currency", "number": "number", "validated": "validation",
               "credits": "credited invoice (`credits`)"}


# =========================================================================== helpers

def _refuse(code: str, **params: Any) -> NoReturn:
    """Refuse with a catalogue message (engine/i18n.py), rendered at the face."""
    raise ActionRefused(code, **params)


def _first_field(diagnostics: Iterable[Diagnostic]) -> Optional[str]:
    """The field the first of ``diagnostics`` that names one is about (the
    input field a refusal listing them is about), else None."""
    return next((d.field for d in diagnostics if d.field), None)


def _file_problems(book: Book, path: str) -> list[Diagnostic]:
    return [d for d in book.diagnostics if d.path == path and d.is_error]


def _broken(book: Book, folder: str, ident: str) -> Optional[str]:
    """The path of a file of ``folder`` named ``ident`` that failed to load."""
    lowered = ident.lower()
    for d in book.diagnostics:
        if d.is_error and d.path.startswith(folder + "/") and \
                d.path.rsplit("/", 1)[-1][:-5].lower() == lowered:
            return d.path
    return None


def _doc(book: Book, doc_id: str) -> Document:
    return _found(book, book.document(doc_id), "documents", doc_id, "refuse.no_document")


def _has_errors(book: Book, broken: str):
    from .i18n import Message
    return Message("refuse.has_errors", path=broken, problems=Lines(_file_problems(book, broken)))


def _contact(book: Book, contact_id: str) -> Contact:
    return _found(book, book.contact(contact_id), "contacts", contact_id, "refuse.no_contact")


def _recurrence(book: Book, rec_id: str) -> Recurrence:
    return _found(book, book.recurrence(rec_id), "recurrences", rec_id, "refuse.no_recurrence")


def _new_record(fields: Any, source: str, folder: str, path_of: Callable[[str], str],
                find: Callable[[str], Any], ids: Iterable[str], taken: str, field_name: str,
                fallback: str) -> Any:
    """A new contact or recurrence from ``fields`` (a mapping, or YAML text
    named ``source``): its id the given ``id`` (refused with ``taken`` when
    ``find`` knows it) or a slug of its name unique among ``ids``."""
    text = _yaml_input(fields, {})
    given = _id_from(text, folder, source)
    record = _parse(path_of(given or "new"), text, source,
                    positions=isinstance(fields, (str, bytes)))
    if given:
        if find(given) is not None:
            _refuse(taken, field_name=field_name, id=given)
        ident = given
    else:
        ident = slug_id(record.name, ids, fallback)
    return msgspec.structs.replace(record, id=ident, path=path_of(ident))


def _found(book: Book, record: Any, folder: str, ident: str, missing: str) -> Any:
    """``record`` (what the book has under ``ident``), or a refusal: the
    file of that name in ``folder`` has errors, else ``missing``."""
    if record is None:
        broken = _broken(book, folder, ident)
        if broken:
            raise ActionRefused(_has_errors(book, broken))
        _refuse(missing, id=ident)
    return record


def _fix_of_broken(book: Book, folder: str, ident: str, text, action: str,
                   trailer: str) -> Optional[Change]:
    """A new text for a file of ``folder`` that does not load: the change that
    fixes it when the text loads (a person fixing a typo with `edit`), else
    None (the caller refuses as usual)."""
    tables: dict[str, Mapping[str, Any]] = {"contacts": book.contacts,
                                            "recurrences": book.recurrences}
    table = tables[folder]
    if text is None or _find_record(table, ident) is not None:
        return None
    broken = _broken(book, folder, ident)
    if broken is None:
        return None
    data = text.encode("utf-8") if isinstance(text, str) else text
    record = _parse(broken, data)
    if folder == "recurrences":
        _check_recurrence_record(book, record)
    return Change(action=action, subject="Fix %s %s" % (folder[:-1], record.id),
                  writes={broken: data}, trailers=((trailer, record.id),))


def _find_record(table: Mapping, ident: str):
    lowered = ident.lower()
    return table.get(ident) or next((v for k, v in table.items() if k.lower() == lowered), None)


def label(doc: Document) -> str:
    """'invoice 2025-0042 (inv-20250105-k3f9)' or 'invoice inv-20250105-k3f9'
    (a Message: 'facture 2025-0042 (inv-20250105-k3f9)' in French)."""
    from .i18n import Message
    kind = Message("kind.word.%s" % doc.kind)
    if doc.number:
        return Message("doc.label", kind=kind, number=doc.number, id=doc.id)
    return Message("doc.label.draft", kind=kind, id=doc.id)


def _read(book: Book, path: str, checked: Optional[set] = None) -> str:
    """The text of a book file (``checked``: folders already found not to be
    links, for a plan reading thousands of files)."""
    if book.root is None:
        _refuse("refuse.no_folder", path=path)
    try:
        # as Path.read_text did: universal newlines
        return safepath.read_bytes(book.root, path, checked).decode("utf-8").replace(
            "\r\n", "\n").replace("\r", "\n")
    except FileNotFoundError:
        _refuse("refuse.gone", path=path)
    except UnicodeDecodeError:
        _refuse("refuse.not_utf8", path=path)


def _parse(path: str, text: Union[str, bytes], source: Optional[str] = None,
           positions: bool = True):
    """Parse ``text`` as the book file ``path``; refuse with every error.
    ``positions``: False when the text was made from options (its lines and
    columns mean nothing to the person; the field names say it)."""
    _kind, record, diagnostics = _parse_file(path, text)
    errors = [d for d in diagnostics if d.is_error]
    if errors or record is None:
        shown = []
        for d in errors:
            if source:
                d = Diagnostic(source, d.line if positions else 0, d.col if positions else 0,
                               d.field, d.message, d.severity)
            shown.append(d)
        if not shown:
            _refuse("refuse.unreadable", path=source or path)
        _refuse("problems.list", field_name=_first_field(shown), problems=Lines(shown))
    return record


def _edited(book: Book, path: str, set_fields: Optional[dict] = None, remove: Iterable[str] = (),
            append: Optional[dict] = None) -> tuple[bytes, Any]:
    """The file at ``path`` with the edit applied (comments kept), checked.

    Items appended to a list the file lacks, or to a block list that ends it
    (a payment, a delivery: where facturier puts them), are written as text
    and kept only when the loader reads the result as the document with
    exactly those items added (``daily._reads_as_appended``, its lines
    included); anything else is the ruamel round trip, itself checked
    (``writer.check_edit``). Both are parsed back once, here."""
    text = _read(book, path)
    if append and not set_fields and not remove:
        from .appends import _appended, _with_items
        old = _record_at(book, path)
        fast = _appended(text, append) if old is not None else None
        if fast is not None:
            data = fast.encode("utf-8")
            _kind, record, diagnostics = _parse_file(path, data)
            if record is not None and not any(d.is_error for d in diagnostics) \
                    and _with_items(old, append, record) == record:
                return data, record
    try:
        new = update_yaml(text, set_fields, tuple(remove), append)
    except (ValueError, KeyError, IndexError) as exc:
        _refuse("refuse.cannot_edit", path=path, reason=str(exc))
    data = new.encode("utf-8")
    return data, _parse(path, data)


def _lower_ids(book: Book) -> AbstractSet[str]:
    """The book's document ids in lower case (the book's own index, built
    once per book value and carried along by ``Book.with_change``)."""
    return book.document_ids_lower()


def _record_at(book: Book, path: str) -> Optional[Document]:
    """The document of the book read from ``path`` (None when there is none)."""
    stem = path.rsplit("/", 1)[-1][:-5] if path.endswith(".yaml") else ""
    doc = book.documents.get(stem)
    return doc if doc is not None and doc.path == path else None


def _edited_text(path: str, text: str, set_fields: Optional[dict] = None,
                 remove: Iterable[str] = ()) -> tuple[bytes, Any]:
    try:
        new = update_yaml(text, set_fields, tuple(remove))
    except (ValueError, KeyError, IndexError) as exc:
        _refuse("%s: cannot be edited: %s" % (path, exc))
    data = new.encode("utf-8")
    return data, _parse(path, data)


def _amount(value, what: str, currency: str) -> Decimal:
    from .loader import read_decimal  # the book's own reading: no exponent, nan...
    from .money import minor_units
    read = value if isinstance(value, Decimal) else read_decimal(str(value))[0]
    if read is None:
        raise ActionRefused("refuse.amount.not_amount", field_name="amount", what=_what(what), value=str(value))
    amount = read
    if not amount.is_finite() or amount <= 0:
        _refuse("refuse.amount.not_positive", field_name="amount", what=_what(what), value=str(value))
    from .loader import MAX_DIGITS
    if amount.adjusted() >= MAX_DIGITS:
        _refuse("refuse.amount.too_large", field_name="amount", what=_what(what),
                value=str(value), digits=MAX_DIGITS)
    places = minor_units(currency)
    quantum = Decimal(1).scaleb(-places)
    if amount != amount.quantize(quantum):
        _refuse("refuse.amount.decimals", field_name="amount", what=_what(what), value=str(value), currency=currency,
                places=places)
    return amount.quantize(quantum)


def _message(code: str, **params):
    from .i18n import Message
    return Message(code, **params)


def _word(word: str):
    """A word of the catalogue ('customer' -> Message('word.customer')), or the
    word itself when the catalogue lacks it."""
    from .i18n import MESSAGES
    code = "word." + word.replace(" ", "_")
    return _message(code) if code in MESSAGES else word


def _fields(changed: list[str]) -> list:
    return [_word(w) for w in changed]


def _a_kind(kind: str):
    """'an invoice' / 'une facture'."""
    return _message("kind.a.%s" % kind)


def _or(items: list):
    """'an invoice or a work order' in the person's language."""
    if len(items) == 1:
        return items[0]
    return _message("word.or", a=items[0], b=_or(items[1:]))


def _what(what: str):
    """'the payment' as a Message ('le paiement'); other words as they are."""
    return _word(what)


def _currency(book: Book, doc: Document) -> str:
    return doc.currency or book.settings.currency


def _doc_trailer(*docs: Union[Document, str]) -> tuple[tuple[str, str], ...]:
    return tuple(("Facturier-Document", d if isinstance(d, str) else d.id) for d in docs)


def _trailers_for(doc: Document) -> tuple[tuple[str, str], ...]:
    out = _doc_trailer(doc)
    if doc.recurrence:
        out += (("Facturier-Recurrence", doc.recurrence),)
    return out


def _change_doc(action: str, subject: str, doc: Document, data: bytes,
                extra: tuple = (), settings=None) -> Change:
    if doc.validated is not None or action != "document.modify":
        # every rewrite of a legal record (and every action on a draft other
        # than an edit) keeps what SPEC 2 protects, however the file was
        # rewritten; validation gives only the number and its date
        changed = _protected_changes(doc, _parse(doc.path, data), settings)
        if action == "document.validate":
            changed = [c for c in changed if c not in ("number", "validation")]
        if changed and doc.validated is None:
            _refuse("refuse.rewrite_changes", doc=label(doc), fields=_fields(changed),
                    action=action)
        if changed:
            _refuse("refuse.validated_protected", doc=label(doc), fields=_fields(changed),
                    id=doc.id)
    return Change(action=action, subject=subject, writes={doc.path: data},
                  trailers=_trailers_for(doc) + tuple(extra))


_DOINGS = {"recording a payment": "payment", "granting a discount": "discount",
           "writing it off": "write_off", "crediting it": "credit"}


def _need_validated(doc: Document, doing: str) -> None:
    if doc.validated is None:
        if doing in _DOINGS:
            _refuse("refuse.draft." + _DOINGS[doing], doc=label(doc), id=doc.id)
        _refuse("%s is a draft: validate it before %s (facturier doc validate %s)"
                % (label(doc), doing, doc.id))


def _need_kind(doc: Document, kinds: tuple[str, ...], doing: str) -> None:
    if doc.kind not in kinds:
        from .i18n import MESSAGES
        code = "refuse.kind.%s.%s" % ("_".join(kinds), doing.replace(" ", "_"))
        if code in MESSAGES:
            _refuse(code, doc=label(doc))
        _refuse("%s: only %s can be %s" % (label(doc), " or ".join(
            KIND_WORDS[k] + "s" for k in kinds), doing))


def _with_input(change: Change, op: str, **data: Any) -> Change:
    """The change with what it was planned from, so that it can be planned
    again on another head of the book (SPEC 9, engine/sync.py)."""
    from .trailers import input_trailer
    return dataclasses.replace(change, trailers=change.trailers + input_trailer(op, **data))


def _yaml_input(fields: Union[dict, str, bytes], defaults: dict) -> str:
    """YAML text from a mapping or a person's text, with ``defaults`` added
    for the top-level keys it lacks (at the end, so error lines stay right)."""
    if isinstance(fields, bytes):
        fields = fields.decode("utf-8", "replace")
    if isinstance(fields, str):
        from . import yamlsafe
        root, _ = yamlsafe.compose(fields, "input")
        present = set()
        if root is not None and hasattr(root, "value") and isinstance(root.value, list):
            for pair in root.value:
                if isinstance(pair, tuple):
                    present.add(getattr(pair[0], "value", None))
        missing = {k: v for k, v in defaults.items() if k not in present and v is not None}
        if not missing or root is None:
            return fields
        try:
            return update_yaml(fields, missing)
        except ValueError:
            return fields
    data = {k: v for k, v in defaults.items() if v is not None and k not in fields}
    data.update({k: v for k, v in fields.items() if v is not None})
    text = dump_data(data)
    if text is not None:
        return text
    try:
        return update_yaml("", data)
    except ValueError as exc:
        _refuse("cannot write these fields: %s" % exc)


def _protected_changes(old: Document, new: Document, settings=None) -> list[str]:
    """The protected fields that differ; with ``settings``, by their effective
    values (a line without `vat` has the default rate, which writing it out
    does not change)."""
    def lines(doc):
        default = settings.vat if settings is not None else None
        return [(ln.description, ln.quantity, ln.unit_price, default if ln.vat is None else ln.vat)
                for ln in doc.lines]
    changed = []
    for key in PROTECTED:
        if key == "lines":
            if lines(old) != lines(new) or old.total != new.total:
                changed.append("lines")
        elif key == "currency" and settings is not None:
            if (old.currency or settings.currency) != (new.currency or settings.currency):
                changed.append(FIELD_WORDS[key])
        elif getattr(old, key) != getattr(new, key):
            changed.append(FIELD_WORDS[key] if key != "contact" else old.party_key)
    return changed


def _unchanged_since(book: Book, path: str, base: Optional[str]) -> None:
    """Refuse a new text made from ``base`` when the file no longer holds
    ``base`` (changed while a person's editor was open: a payment or an
    e-mail recorded meanwhile would be undone)."""
    if base is not None and _read(book, path) != base:
        _refuse("refuse.changed_meanwhile", path=path)


def _refuse_new_errors(book: Book, old: Optional[Document], new: Document,
                       source: Optional[str] = None, positions: bool = True) -> None:
    """Refuse an edit that gives the document an error `facturier check`
    would report (payments on a draft, a reference to nothing...); errors it
    already had do not block fixing something else. ``source``: the name of
    the input a new document came from (its errors are named after it)."""
    from .checks import document_errors
    before = {(d.field, d.message) for d in document_errors(book, old)} if old else set()
    introduced = [d for d in document_errors(book, new) if (d.field, d.message) not in before]
    if source:
        introduced = [Diagnostic(source, d.line if positions else 0,
                                 d.col if positions else 0, d.field, d.message, d.severity)
                      for d in introduced]
    if introduced:
        _refuse("problems.list", field_name=_first_field(introduced), problems=Lines(introduced))


# =========================================================================== ids and rules of a new record

def _id_from(text: str, folder: str, source: str) -> Optional[str]:
    from . import yamlsafe
    root, _ = yamlsafe.compose(text, source)
    if root is not None and hasattr(root, "value") and isinstance(root.value, list):
        for pair in root.value:
            if isinstance(pair, tuple) and getattr(pair[0], "value", None) == "id":
                value = getattr(pair[1], "value", None)
                if not isinstance(value, str) or not value:
                    return None
                from .loader import is_valid_id
                if not is_valid_id(value):
                    _refuse("refuse.bad_id", field_name="id", source=source, id=value)
                return value
    return None


def _check_recurrence_record(book: Book, rec: Recurrence) -> None:
    from .recurrence import RuleError, parse_rule
    template = book.document(rec.template)
    if template is None:
        _refuse("refuse.no_template", field_name="template", id=rec.template)
    if template.kind not in ("invoice", "expense"):
        _refuse("refuse.template_kind", field_name="template", id=template.id, kind=_a_kind(template.kind))
    try:
        parse_rule(rec.rule, rec.start, rec.until)
    except (RuleError, ValueError) as exc:
        _refuse("cause.rule", field_name="rule", rule=rec.rule, reason=getattr(exc, "message", None) or str(exc))
