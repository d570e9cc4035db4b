"""The repair of a stopped recurrence (SPEC 4.4): skip or create the missing
occurrences, or end it. Creating them runs the daily run's generation
(engine/runsteps.py) in a dry session, so the plan is that of the run.
"""
from __future__ import annotations

import datetime as dt
from pathlib import Path

from .diagnostics import FacturierError
from .model import Book
from .runsession import DryWriter, RunReport, _message, _read_text, _Session, _trailers, _update
from .runsteps import _generated


# --------------------------------------------------------------------------- repair (SPEC 4.4)

REPAIRS = {"skip-missing": "recurrence.skip-missing", "end": "recurrence.end",
           "create-missing": "recurrence.create-missing"}


def plan_repair(book: Book, rec_id: str, choice: str, as_of: dt.date):
    """The one commit that repairs a stopped recurrence (SPEC 4.4):

    - ``skip-missing``: every missing occurrence goes to ``skipped``, ``last``
      moves to the latest of them, ``stopped`` goes;
    - ``end``: ``ended = as_of``, ``stopped`` goes;
    - ``create-missing``: only with exactly one missing occurrence: its
      document (4.1, validated when the recurrence says so) and ``last``, and
      ``stopped`` goes. Refused otherwise, saying why.

    Raises ActionRefused with a reason a person reads.
    """
    from .diagnostics import ActionRefused
    from .recurrence import check_recurrence, missing_occurrences, state_of
    from .session import Change
    from .writer import dump_document
    if choice not in REPAIRS:
        raise ActionRefused("refuse.repair.unknown", choice=choice, choices=", ".join(REPAIRS))
    rec = book.recurrence(rec_id)
    if rec is None:
        raise ActionRefused("refuse.no_recurrence", id=rec_id)
    state = state_of(rec, as_of)
    if state != "stopped":
        raise ActionRefused("refuse.repair.not_stopped", id=rec.id,
                            state=_message("state.%s" % state))
    assert rec.stopped is not None
    if as_of.isoformat() < rec.stopped.at[:10]:     # a repair never comes before the stop
        raise ActionRefused("refuse.repair.before_stop", id=rec.id, date=rec.stopped.at[:10],
                            as_of=as_of.isoformat())
    missing = missing_occurrences(rec, as_of)
    text = _read_text(book, rec.path)
    assert rec.stopped is not None and book.root is not None    # stopped; read from a book on disk
    trailers = _trailers(rec_ids=[rec.id])
    if choice == "end":
        data = _update(rec.path, text, {"ended": as_of}, remove=("stopped",))
        return Change(REPAIRS[choice], "End recurrence %s on %s (it was stopped: %s)"
                      % (rec.id, as_of.isoformat(), rec.stopped.cause), {rec.path: data.encode()},
                      trailers=trailers)
    if choice == "skip-missing":
        fields: dict = {}
        if missing:
            # fresh date objects: ruamel would write a shared object as an anchor
            # and an alias, which facturier's loader (rightly) refuses
            fields["skipped"] = [_fresh(d) for d in sorted(set(rec.skipped) | set(missing))]
            fields["last"] = _fresh(max(missing[-1], rec.last) if rec.last else missing[-1])
        data = _update(rec.path, text, fields, remove=("stopped",))
        return Change(REPAIRS[choice], "Reactivate recurrence %s, skipping %s"
                      % (rec.id, _dates(missing) or "nothing"), {rec.path: data.encode()},
                      trailers=trailers)
    # create-missing
    if len(missing) != 1:
        raise ActionRefused("refuse.repair.create_many", id=rec.id, n=len(missing),
                            dates=_dates(missing) or _message("word.none"))
    occurrence = missing[0]
    cleared = msgspec_replace(rec, stopped=None)
    cause = check_recurrence(cleared, book)
    if cause:
        raise ActionRefused("refuse.repair.cause_holds", cause=cause)
    session = _Session(DryWriter(book, Path(book.root)), Path(book.root), as_of, lambda: "",
                       RunReport(as_of=as_of), False, None, 0)
    try:
        doc = _generated(session, cleared, occurrence)
    except (ValueError, FacturierError) as exc:
        raise ActionRefused("cause.cannot_generate", date=str(occurrence),
                            reason=getattr(exc, "message", None) or str(exc)) from None
    if book.document(doc.id) is not None:
        raise ActionRefused("refuse.repair.document_exists", id=doc.id)
    data = _update(rec.path, text, {"last": occurrence}, remove=("stopped",))
    return Change(REPAIRS[choice], "Reactivate recurrence %s, creating the missing %s%s"
                  % (rec.id, doc.id, " (number %s)" % doc.number if doc.number else ""),
                  {doc.path: dump_document(doc).encode("utf-8"), rec.path: data.encode()},
                  trailers=_trailers([doc.id], [rec.id]), new=(doc.path,))


def msgspec_replace(record, **changes):
    import msgspec
    return msgspec.structs.replace(record, **changes)


def _fresh(day: dt.date) -> dt.date:
    return dt.date(day.year, day.month, day.day)


def _dates(days) -> str:
    return ", ".join(d.isoformat() for d in days)
