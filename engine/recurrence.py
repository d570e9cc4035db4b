"""Recurrences (SPEC 4): occurrences, state, due and missing occurrences,
placeholders, the generated document, the rule in words.

Pure: every function takes ``as_of`` when it needs a date; nothing here reads
the clock, the file system or git. The rule is an RFC 5545 RRULE without
DTSTART, read by python-dateutil with the recurrence's ``start`` as DTSTART.

Choices where the SPEC is silent (documented in docs/recurrences.md):
- ``skipped`` dates are never due, even if a person adds one after ``last``.
- a recurrence whose ``ended`` date is still in the future stays active until
  that day; its occurrences after ``ended`` are never due.
- a document generated before its date (``lead_days``) is always a draft marked
  ``scheduled: true``; the daily run applies the recurrence's ``issue`` mode on
  the occurrence date (SPEC 4.1).

Longer than 500 lines on purpose: the occurrences, the generated document and
the rule in words all read the same RRULE subset, kept together so that what
is generated and what is described cannot disagree.
"""
from __future__ import annotations

import datetime as dt
import re
from functools import lru_cache
from itertools import islice
from typing import Optional, TypedDict

from dateutil import rrule as _rr

from .i18n import Message
from .model import Book, Document, Line, Recurrence

TEMPLATE_KINDS = ("invoice", "expense")
PLACEHOLDERS = ("period", "month", "year", "quarter", "date")
STATES = ("active", "stopped", "ended")
_MAX_ID = 64


class RuleError(ValueError):
    """The rule does not parse; the message says why, for a person:
    ``RuleError("rule.empty")``, a catalogue key and its parameters
    (engine/i18n.py), rendered with ``exc.render(lang)``; ``str(exc)`` is
    English."""

    def __init__(self, code: str, /, **params):
        from .i18n import Message
        self.message = Message(code, **params)
        super().__init__(str(self.message))

    def render(self, lang: Optional[str]) -> str:
        return self.message.render(lang)


class PlaceholderError(ValueError):
    """A text names a placeholder that does not exist."""

    def __init__(self, name: str):
        super().__init__("unknown placeholder {%s} (known: %s)"
                         % (name, ", ".join("{%s}" % p for p in PLACEHOLDERS)))
        self.name = name


# --------------------------------------------------------------------------- the rule

_FREQS = ("YEARLY", "MONTHLY", "WEEKLY", "DAILY")
_KNOWN_PARTS = ("FREQ", "INTERVAL", "COUNT", "UNTIL", "BYMONTH", "BYWEEKNO", "BYYEARDAY",
                "BYMONTHDAY", "BYDAY", "BYSETPOS", "WKST", "BYEASTER")


def _parts(rule: str) -> dict[str, str]:
    text = rule.strip()
    if text.upper().startswith("RRULE:"):
        text = text[6:]
    parts: dict[str, str] = {}
    for item in text.split(";"):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        key = key.strip().upper()
        if not sep or not value.strip():
            raise RuleError("rule.not_part", part=item.strip())
        if key in parts:
            raise RuleError("rule.twice", key=key)
        parts[key] = value.strip().upper()
    return parts


@lru_cache(maxsize=16384)
def _parse(rule: str, start: dt.date, until: Optional[dt.date]) -> _rr.rrule:
    if not isinstance(rule, str) or not rule.strip():
        raise RuleError("rule.empty")
    if "\n" in rule.strip() or "DTSTART" in rule.upper():
        raise RuleError("rule.dtstart")
    parts = _parts(rule)
    for key in parts:
        if key not in _KNOWN_PARTS:
            if key in ("BYHOUR", "BYMINUTE", "BYSECOND"):
                raise RuleError("rule.times", key=key)
            raise RuleError("rule.unknown_part", key=key)
    freq = parts.get("FREQ")
    if freq is None:
        raise RuleError("rule.no_freq")
    if freq not in _FREQS:
        if freq in ("HOURLY", "MINUTELY", "SECONDLY"):
            raise RuleError("rule.within_day", freq=freq)
        raise RuleError("rule.bad_freq", freq=freq)
    if "COUNT" in parts and "UNTIL" in parts:
        raise RuleError("rule.count_and_until")
    _check_ranges(parts)
    text = ";".join("%s=%s" % kv for kv in parts.items())
    dtstart = dt.datetime(start.year, start.month, start.day)
    try:
        result = _rr.rrulestr(text, dtstart=dtstart, ignoretz=True, cache=True)
    except (ValueError, TypeError, KeyError, IndexError) as exc:
        raise RuleError(str(exc) or "rule.does_not_parse") from None
    if not isinstance(result, _rr.rrule):
        raise RuleError("rule.one")
    if until is not None and result._count is None:  # type: ignore[attr-defined]  # dateutil's stubs omit rrule's _count
        limit = dt.datetime(until.year, until.month, until.day)
        rule_until = result._until  # type: ignore[attr-defined]  # dateutil's stubs omit rrule's _until
        if rule_until is None or rule_until > limit:
            result = result.replace(until=limit)
    return result


_RANGES = {"BYMONTH": (1, 12), "BYMONTHDAY": (1, 31), "BYYEARDAY": (1, 366),
           "BYWEEKNO": (1, 53), "BYSETPOS": (1, 366)}
_MONTH_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _check_ranges(parts: dict[str, str]) -> None:
    numbers: dict[str, list[int]] = {}
    for key, (low, high) in _RANGES.items():
        if key not in parts:
            continue
        values = []
        for item in parts[key].split(","):
            try:
                value = int(item)
            except ValueError:
                raise RuleError("rule.not_whole", key=key, value=parts[key], item=item) from None
            signed = key != "BYMONTH"
            if not (low <= value <= high or (signed and -high <= value <= -low)):
                raise RuleError("rule.out_of_range", key=key, value=parts[key], item=value,
                                sign="±" if signed else "", low=low, high=high)
            values.append(value)
        numbers[key] = values
    months, days = numbers.get("BYMONTH"), numbers.get("BYMONTHDAY")
    if months and days and all(d > 0 for d in days):
        if not any(d <= _MONTH_DAYS[m - 1] for m in months for d in days):
            raise RuleError("rule.never", months="BYMONTH=" + parts["BYMONTH"],
                            days="BYMONTHDAY=" + parts["BYMONTHDAY"])
    for key in ("INTERVAL", "COUNT"):
        if key in parts:
            if not parts[key].isdigit() or int(parts[key]) < 1:
                raise RuleError("rule.one_or_more", key=key, value=parts[key])


def parse_rule(rule: str, start: dt.date, until: Optional[dt.date] = None) -> _rr.rrule:
    """The dateutil rule of an RRULE text (without DTSTART) from ``start``.

    ``until`` (the recurrence's own last possible occurrence) bounds it as
    well; with a COUNT in the rule, :func:`occurrences` applies ``until``.
    Raises :class:`RuleError` with a reason a person understands.
    """
    return _parse(rule, start, until)


# --------------------------------------------------------------------------- schedules that surprise

_MONTH_LENGTHS = (31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)      # a common year
NO_OCCURRENCE_YEARS = 30        # a rule with no occurrence in this many years has none


def schedule_warnings(rule: str, start: dt.date,
                      until: Optional[dt.date] = None) -> list[tuple[str, Message]]:
    """What a schedule does that a person may not expect (SPEC 2, warnings of
    `facturier check`, shown by the app's form as the rule is typed), as
    ``(field, message)`` pairs:

    - a monthly or yearly rule whose day does not exist in every month it
      names (the 29th to 31st): RFC 5545 skips those months (a rule from
      January 31 gives 7 occurrences a year), so the last day of the month
      (BYMONTHDAY=-1) or BYSETPOS is suggested;
    - ``until`` before ``start``;
    - a rule that yields no occurrence (within NO_OCCURRENCE_YEARS years).

    A rule that does not parse gives none here (it is an error of its own).
    """
    try:
        parsed = parse_rule(rule, start, until)
        parts = _parts(rule)
    except RuleError:
        return []
    if until is not None and until < start:
        return [("until", Message("schedule.until_before_start", until=until.isoformat(),
                                  start=start.isoformat()))]
    found: list[tuple[str, Message]] = []
    short = _short_months(parts, start)
    if short is not None:
        day, months, per_year, expected = short
        where = [Message("month.%d" % m) for m in months]
        days = ",".join(str(d) for d in range(28, day + 1))
        if parts.get("FREQ") == "YEARLY" and months == [2]:
            found.append(("rule", Message("schedule.february_29", rule=rule)))
        elif per_year is not None:
            found.append(("rule", Message("schedule.short_months.count", rule=rule, day=day,
                                          months=where, n=per_year, expected=expected,
                                          days=days)))
        else:
            found.append(("rule", Message("schedule.short_months", rule=rule, day=day,
                                          months=where, days=days)))
    horizon = dt.datetime(min(start.year + NO_OCCURRENCE_YEARS, dt.MAXYEAR), 12, 31)
    count = parsed._count  # type: ignore[attr-defined]  # dateutil's stubs omit rrule's _count
    rule_until = parsed._until  # type: ignore[attr-defined]  # and _until
    bounded = parsed.replace(until=horizon) if count is None and (
        rule_until is None or rule_until > horizon) else parsed
    first = next(iter(bounded), None)
    if first is None or (until is not None and first.date() > until):     # COUNT keeps until apart
        found.append(("rule", Message("schedule.no_occurrence", rule=rule,
                                      start=start.isoformat())))
    return found


def _short_months(parts: dict[str, str], start: dt.date):
    """For a monthly or yearly rule on fixed days of the month: (the largest
    day some month it falls in lacks, those months, occurrences in a common
    year or None when that varies, months it falls in per year), or None
    when every month it falls in has its days."""
    freq = parts.get("FREQ")
    if freq not in ("MONTHLY", "YEARLY") or any(
            k in parts for k in ("BYDAY", "BYSETPOS", "BYYEARDAY", "BYWEEKNO", "BYEASTER")):
        return None
    days = [int(d) for d in parts["BYMONTHDAY"].split(",")] if "BYMONTHDAY" in parts \
        else [start.day]
    days = [abs(d) for d in days]
    if max(days) <= 28:
        return None
    interval = int(parts.get("INTERVAL", "1"))
    per_year: Optional[int] = None
    if "BYMONTH" in parts:
        months = sorted({int(m) for m in parts["BYMONTH"].split(",")})
    elif freq == "YEARLY":
        months = [start.month]
    else:
        months = sorted({(start.month - 1 + k * interval) % 12 + 1 for k in range(12)})
    steady = freq == "MONTHLY" and 12 % interval == 0 or freq == "YEARLY" and interval == 1
    short = [m for m in months if max(days) > _MONTH_LENGTHS[m - 1]]
    if not short:
        return None
    if steady:
        per_year = sum(1 for m in months for d in set(days) if d <= _MONTH_LENGTHS[m - 1])
        expected = len(months) * len(set(days))
    else:
        expected = 0
    return max(days), short, per_year, expected


def _iter(rec: Recurrence, after: Optional[dt.date], through: Optional[dt.date]):
    rule = parse_rule(rec.rule, rec.start, rec.until)
    end = through
    if rec.until is not None and (end is None or rec.until < end):
        end = rec.until
    if end is not None and end < rec.start:
        return
    if after is None or after < rec.start:
        it = iter(rule)
    else:
        it = rule.xafter(dt.datetime(after.year, after.month, after.day), inc=False)
    for moment in it:
        day = moment.date()
        if end is not None and day > end:
            return
        if after is not None and day <= after:
            continue
        yield day


def occurrences(rec: Recurrence, after: Optional[dt.date] = None, limit: Optional[int] = None,
                through: Optional[dt.date] = None) -> list[dt.date]:
    """The recurrence's occurrence dates, oldest first: strictly after ``after``,
    on or before ``through`` (and ``rec.until``), at most ``limit`` of them.

    Raises :class:`RuleError` when the rule does not parse.
    """
    parse_rule(rec.rule, rec.start, rec.until)
    if limit is not None and limit <= 0:
        return []
    return list(islice(_iter(rec, after, through), limit))


def _through(rec: Recurrence, as_of: dt.date) -> dt.date:
    through = as_of + dt.timedelta(days=max(rec.lead_days, 0))
    if rec.ended is not None and rec.ended < through:
        through = rec.ended
    return through


def state_of(rec: Recurrence, as_of: dt.date) -> str:
    """``ended``, ``stopped`` or ``active`` (SPEC 4)."""
    if rec.ended is not None and rec.ended <= as_of:
        return "ended"
    try:
        has_next = bool(occurrences(rec, after=rec.last, limit=1, through=rec.ended))
    except RuleError:
        has_next = True         # a rule that does not parse stops at the next run
    if not has_next:
        return "ended"
    if rec.stopped is not None:
        return "stopped"
    return "active"


def due_occurrences(rec: Recurrence, as_of: dt.date, limit: Optional[int] = None) -> list[dt.date]:
    """Occurrences after ``last`` whose generation day (``o - lead_days``) has
    come, on or before ``ended`` when set, skipped dates left out; oldest first.

    ``limit`` caps the list (the run only needs ``max_catch_up + 1`` of them).
    Raises :class:`RuleError` when the rule does not parse.
    """
    parse_rule(rec.rule, rec.start, rec.until)
    skipped = set(rec.skipped)
    found = (o for o in _iter(rec, rec.last, _through(rec, as_of)) if o not in skipped)
    return list(islice(found, limit))


def missing_occurrences(rec: Recurrence, as_of: dt.date, limit: Optional[int] = None) -> list[dt.date]:
    """The due occurrences of a stopped recurrence (none when not stopped)."""
    if rec.stopped is None:
        return []
    if rec.ended is not None and rec.ended <= as_of:
        return []
    try:
        return due_occurrences(rec, as_of, limit=limit)
    except RuleError:
        return [rec.stopped.occurrence] if rec.stopped.occurrence else []


def next_occurrences(rec: Recurrence, as_of: dt.date, n: int = 5) -> list[dt.date]:
    """The next ``n`` occurrences to be generated: after ``last`` (and, for a
    stopped recurrence, after its missing ones), none once ended."""
    state = state_of(rec, as_of)
    if state == "ended":
        return []
    after = rec.last
    if state == "stopped":
        through = _through(rec, as_of)
        if after is None or after < through:
            after = through
    skipped = set(rec.skipped)
    try:
        return list(islice((o for o in _iter(rec, after, rec.ended) if o not in skipped), n))
    except RuleError:
        return []


# --------------------------------------------------------------------------- placeholders

_PLACEHOLDER = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


@lru_cache(maxsize=4096)
def _values(occurrence: dt.date, lang: str) -> dict[str, str]:
    from babel.dates import format_date
    locale = lang if lang in ("en", "fr") else "en"
    return {
        "period": format_date(occurrence, "LLLL y", locale=locale),
        "month": format_date(occurrence, "LLLL", locale=locale),
        "year": str(occurrence.year),
        "quarter": format_date(occurrence, "QQQ", locale=locale),
        "date": format_date(occurrence, "long", locale=locale),
    }


def placeholders_in(text: str) -> list[str]:
    """Names of the placeholders a text uses (unknown ones included)."""
    return [m.group(1) for m in _PLACEHOLDER.finditer(text or "") if m.group(1) is not None]


def expand_placeholders(text: str, occurrence: dt.date, lang: str = "en") -> str:
    """Replace ``{period}`` ("March 2025" / "mars 2025"), ``{month}``
    ("March"), ``{year}`` ("2025"), ``{quarter}`` ("Q1" / "T1") and ``{date}``
    ("March 1, 2025" / "1 mars 2025") by the occurrence's values in ``lang``;
    ``{{`` and ``}}`` give literal braces. Raises :class:`PlaceholderError`."""
    if not text or "{" not in text and "}" not in text:
        return text
    values = _values(occurrence, lang)

    def sub(m: re.Match) -> str:
        whole = m.group(0)
        if whole == "{{":
            return "{"
        if whole == "}}":
            return "}"
        name = m.group(1).strip()
        if name not in values:
            raise PlaceholderError(m.group(1))
        return values[name]

    return _PLACEHOLDER.sub(sub, text)


# --------------------------------------------------------------------------- generation

def generated_id(rec_id: str, occurrence: dt.date) -> str:
    """SPEC 1: the document of recurrence R for occurrence D is ``R-D``."""
    return "%s-%s" % (rec_id, occurrence.isoformat())


def document_path(doc_id: str, day: dt.date) -> str:
    return "documents/%04d/%02d/%s.yaml" % (day.year, day.month, doc_id)


def payment_days(book: Book, contact_id: Optional[str]) -> int:
    contact = book.contact(contact_id)
    if contact is not None and contact.payment_days is not None:
        return contact.payment_days
    return book.settings.terms.payment_days


def generate_document(rec: Recurrence, template: Document, occurrence: dt.date, book: Book,
                      as_of: dt.date) -> Document:
    """The document of occurrence ``occurrence`` (SPEC 4.1), as a draft,
    generated by a run on ``as_of``.

    A copy of the template (kind, contact, currency, lines and notes with
    placeholders expanded in the book's language, an expense's total), dated
    the occurrence, due after the template's own term (its ``due - date``) or
    the payment days, counted from the later of the occurrence and ``as_of``:
    a document issued late is never due before it was issued, so a catch-up
    run never sends an invoice and its first reminder together; marked
    ``scheduled`` when generated before its date.
    Deterministic: the same book gives the same document. Validation (for
    ``issue: validate|send``) is the caller's, as it needs the next number.
    Raises :class:`PlaceholderError`.
    """
    lang = book.settings.locale or "en"
    lines = tuple(Line(description=expand_placeholders(line.description, occurrence, lang),
                       quantity=line.quantity, unit_price=line.unit_price, vat=line.vat)
                  for line in template.lines)
    issued = max(occurrence, as_of)
    if template.due is not None:
        due = issued + (template.due - template.date)
    else:
        due = issued + dt.timedelta(days=payment_days(book, template.contact))
    doc_id = generated_id(rec.id, occurrence)
    return Document(
        id=doc_id, path=document_path(doc_id, occurrence), kind=template.kind,
        contact=template.contact, date=occurrence, due=due, currency=template.currency,
        scheduled=occurrence > as_of, lines=lines,
        total=template.total if template.kind == "expense" else None,
        recurrence=rec.id, occurrence=occurrence,
        notes=expand_placeholders(template.notes, occurrence, lang))


def check_recurrence(rec: Recurrence, book: Book, as_of: Optional[dt.date] = None) -> Optional[Message]:
    """Why the next occurrence cannot be generated, in words a person
    understands (a Message: English as a ``str``, ``.render(lang)`` for
    another language), or None (SPEC 4.3). With ``as_of``, also refuses more
    than ``max_catch_up`` due occurrences at once."""
    try:
        parse_rule(rec.rule, rec.start, rec.until)
    except RuleError as exc:
        return Message("cause.rule", rule=rec.rule, reason=exc.message)
    if len(generated_id(rec.id, rec.start)) > _MAX_ID:
        return Message("cause.id_too_long", id=rec.id, max=_MAX_ID)
    template = book.document(rec.template)
    if template is None:
        broken = _broken_file(book, "documents/", rec.template)
        if broken:
            return Message("cause.template_unreadable", id=rec.template, problem=broken)
        return Message("cause.no_template", id=rec.template)
    if template.kind not in TEMPLATE_KINDS:
        return Message("cause.template_kind", id=template.id,
                       kind=Message("kind.word.%s" % template.kind))
    contact = book.contact(template.contact)
    if contact is None:
        broken = _broken_file(book, "contacts/", template.contact)
        if broken:
            return Message("cause.contact_unreadable", contact=template.contact, id=template.id,
                           problem=broken)
        return Message("cause.no_contact", contact=template.contact, id=template.id)
    known = ", ".join("{%s}" % p for p in PLACEHOLDERS)
    for i, line in enumerate(template.lines, 1):
        for name in placeholders_in(line.description):
            if name.strip() not in PLACEHOLDERS:
                return Message("cause.placeholder_line", line=i, id=template.id,
                               name="{%s}" % name, known=known)
    for name in placeholders_in(template.notes):
        if name.strip() not in PLACEHOLDERS:
            return Message("cause.placeholder_notes", id=template.id, name="{%s}" % name,
                           known=known)
    if rec.issue == "send" and not (contact.email or "").strip():
        return Message("cause.no_email", contact=contact.id)
    if rec.issue == "send":
        from .einvoice import missing_einvoice_data
        missing = missing_einvoice_data(book, template)
        if missing:
            return Message("cause.einvoice_missing", fields="; ".join(missing))
    if as_of is not None:
        limit = book.settings.max_catch_up
        due = due_occurrences(rec, as_of, limit=limit + 1)
        if len(due) > limit:
            everything = due_occurrences(rec, as_of)
            return Message("cause.catch_up", n=len(everything), first=everything[0].isoformat(),
                           last=everything[-1].isoformat(), limit=limit)
    return None


def _broken_file(book: Book, folder: str, ident: Optional[str]) -> Optional[str]:
    if not ident:
        return None
    suffix = "/%s.yaml" % ident.lower()
    for diag in book.diagnostics:
        if diag.is_error and diag.path.lower().startswith(folder) and diag.path.lower().endswith(suffix):
            return str(diag)
    return None


# --------------------------------------------------------------------------- the rule in words

_DAYS = {"MO": 0, "TU": 1, "WE": 2, "TH": 3, "FR": 4, "SA": 5, "SU": 6}
_Words = TypedDict("_Words", {
    "days": "tuple[str, str, str, str, str, str, str]", "and": str, "every_day": str,
    "every_n_days": str, "weekly": str, "n_weeks": str, "monthly": str, "n_months": str,
    "yearly": str, "n_years": str, "last_day": str, "nth_last_day": str, "count": str,
    "until": str, "ordinals": "dict[int, str]"})
_WORDS: dict[str, _Words] = {
    "en": {
        "days": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
        "and": " and ", "every_day": "every day", "every_n_days": "every {n} days",
        "weekly": "every week on {days}", "n_weeks": "every {n} weeks on {days}",
        "monthly": "monthly on {when}", "n_months": "every {n} months on {when}",
        "yearly": "every year on {when}", "n_years": "every {n} years on {when}",
        "last_day": "the last day of the month", "nth_last_day": "the {nth} last day of the month",
        "count": ", {n} times", "until": ", until {date}",
        "ordinals": {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last",
                     -2: "second-to-last"},
    },
    "fr": {
        "days": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
        "and": " et ", "every_day": "tous les jours", "every_n_days": "tous les {n} jours",
        "weekly": "chaque semaine le {days}", "n_weeks": "toutes les {n} semaines le {days}",
        "monthly": "{when} de chaque mois", "n_months": "{when} tous les {n} mois",
        "yearly": "chaque année le {when}", "n_years": "tous les {n} ans le {when}",
        "last_day": "le dernier jour", "nth_last_day": "l'avant-dernier jour",
        "count": ", {n} fois", "until": ", jusqu'au {date}",
        "ordinals": {1: "premier", 2: "deuxième", 3: "troisième", 4: "quatrième", 5: "cinquième",
                     -1: "dernier", -2: "avant-dernier"},
    },
}


def _ordinal_en(n: int) -> str:
    if 10 <= n % 100 <= 20:
        return "%dth" % n
    return "%d%s" % (n, {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th"))


def _monthday(day: int, lang: str) -> str:
    w = _WORDS[lang]
    if day == -1:
        return w["last_day"]
    if day < -1:
        if lang == "fr":
            return "l'avant-dernier jour" if day == -2 else "le %de jour avant la fin" % (-day)
        return "the %s last day of the month" % _ordinal_en(-day)
    if lang == "fr":
        return "le 1er" if day == 1 else "le %d" % day
    return "the %s" % _ordinal_en(day)


def _join(items: list[str], lang: str) -> str:
    if len(items) <= 1:
        return "".join(items)
    return ", ".join(items[:-1]) + _WORDS[lang]["and"] + items[-1]


def rule_in_words(rule: str, start: dt.date, lang: str = "en") -> str:
    """A rule as a person says it: "monthly on the 1st", "le dernier jour de
    chaque mois", "every week on Monday". Rules too unusual to put in words
    come back as written."""
    lang = lang if lang in _WORDS else "en"
    w = _WORDS[lang]
    try:
        parse_rule(rule, start)
        parts = _parts(rule)
        text = _words(parts, start, lang)
    except (RuleError, ValueError, KeyError):
        return rule
    if text is None:
        return rule
    if "COUNT" in parts:
        text += w["count"].format(n=int(parts["COUNT"]))
    elif "UNTIL" in parts:
        from babel.dates import format_date
        raw = parts["UNTIL"][:8]
        day = dt.date(int(raw[:4]), int(raw[4:6]), int(raw[6:8]))
        text += w["until"].format(date=format_date(day, "long", locale=lang))
    return text


def _words(parts: dict[str, str], start: dt.date, lang: str) -> Optional[str]:
    from babel.dates import format_date
    w = _WORDS[lang]
    allowed = {"FREQ", "INTERVAL", "COUNT", "UNTIL", "BYDAY", "BYMONTHDAY", "BYMONTH", "WKST"}
    if set(parts) - allowed:
        return None
    freq = parts["FREQ"]
    n = int(parts.get("INTERVAL", "1"))
    if freq == "DAILY":
        if set(parts) & {"BYDAY", "BYMONTHDAY", "BYMONTH"}:
            return None
        return w["every_day"] if n == 1 else w["every_n_days"].format(n=n)
    if freq == "WEEKLY":
        if set(parts) & {"BYMONTHDAY", "BYMONTH"}:
            return None
        codes = parts["BYDAY"].split(",") if "BYDAY" in parts else \
            [list(_DAYS)[start.weekday()]]
        if any(c not in _DAYS for c in codes):
            return None
        names = _join([w["days"][_DAYS[c]] for c in sorted(codes, key=_DAYS.__getitem__)], lang)
        return (w["weekly"] if n == 1 else w["n_weeks"]).format(days=names, n=n)
    if freq == "MONTHLY":
        if "BYMONTH" in parts:
            return None
        if "BYDAY" in parts:
            if "BYMONTHDAY" in parts or "," in parts["BYDAY"]:
                return None
            m = re.fullmatch(r"([+-]?\d)(MO|TU|WE|TH|FR|SA|SU)", parts["BYDAY"])
            if not m or int(m.group(1)) not in w["ordinals"]:
                return None
            nth, day = w["ordinals"][int(m.group(1))], w["days"][_DAYS[m.group(2)]]
            when = ("le %s %s" % (nth, day)) if lang == "fr" else ("the %s %s" % (nth, day))
        else:
            days = [int(x) for x in parts.get("BYMONTHDAY", str(start.day)).split(",")]
            when = _join([_monthday(d, lang) for d in days], lang)
        text = (w["monthly"] if n == 1 else w["n_months"]).format(when=when, n=n)
        return text
    if freq == "YEARLY":
        if "BYDAY" in parts:
            return None
        months = [int(x) for x in parts.get("BYMONTH", str(start.month)).split(",")]
        days = [int(x) for x in parts.get("BYMONTHDAY", str(start.day)).split(",")]
        if len(months) != 1 or len(days) != 1 or days[0] < 1:
            return None
        yearday = dt.date(2000, months[0], days[0])  # a leap year: 29 February is a valid day
        when = format_date(yearday, "d MMMM", locale=lang)
        if lang == "fr" and yearday.day == 1:
            when = "1er" + when[1:]
        if lang == "en":
            when = format_date(yearday, "MMMM d", locale="en")
        return (w["yearly"] if n == 1 else w["n_years"]).format(when=when, n=n)
    return None


# --------------------------------------------------------------------------- summaries

MISSING_SHOWN = 1000


def summary(rec: Recurrence, book: Book, as_of: dt.date, lang: str = "en", n_next: int = 5) -> dict:
    """What `recurrence list/show` and the app show of a recurrence (SPEC 6:
    ``id``, ``name``, ``state``, ``next``, ``generated``, ``missing``, ``cause``
    and more)."""
    state = state_of(rec, as_of)
    template = book.document(rec.template)
    documents = book.documents_of_recurrence(rec.id)
    upcoming = next_occurrences(rec, as_of, n=n_next)
    missing = missing_occurrences(rec, as_of, limit=MISSING_SHOWN) if state == "stopped" else []
    return {
        "id": rec.id,
        "name": rec.name,
        "state": state,
        "next": upcoming[0] if upcoming else None,
        "generated": len(documents),
        "missing": missing,
        "cause": rec.stopped.cause if (rec.stopped is not None and state == "stopped") else None,
        "contact": template.contact if template is not None else None,
        "template": rec.template,
        "rule": rec.rule,
        "rule_words": rule_in_words(rec.rule, rec.start, lang),
        "start": rec.start,
        "until": rec.until,
        "issue": rec.issue,
        "lead_days": rec.lead_days,
        "last": rec.last,
        "skipped": list(rec.skipped),
        "ended": rec.ended,
        "stopped_at": rec.stopped.at if rec.stopped is not None else None,
        "stopped_occurrence": rec.stopped.occurrence if rec.stopped is not None else None,
        "next_occurrences": upcoming,
        "documents": [d.id for d in documents],
        "path": rec.path,
    }


# --------------------------------------------------------------------------- frequencies

FREQUENCIES = ("weekly", "monthly", "quarterly", "yearly", "last-day")


def rule_for_frequency(frequency: str, start: dt.date, count: Optional[int] = None) -> str:
    """The RRULE of a frequency a person picks (the form's choices), anchored
    on ``start``: weekly on its weekday, monthly/quarterly on its day of the
    month, yearly on its date, or the last day of each month."""
    code = list(_DAYS)[start.weekday()]
    rules = {"weekly": "FREQ=WEEKLY;BYDAY=%s" % code,
             "monthly": "FREQ=MONTHLY;BYMONTHDAY=%d" % start.day,
             "quarterly": "FREQ=MONTHLY;INTERVAL=3;BYMONTHDAY=%d" % start.day,
             "yearly": "FREQ=YEARLY",
             "last-day": "FREQ=MONTHLY;BYMONTHDAY=-1"}
    if frequency not in rules:
        raise RuleError("rule.unknown_frequency", frequency=frequency,
                        choices=", ".join(FREQUENCIES))
    rule = rules[frequency]
    if count:
        rule += ";COUNT=%d" % count
    return rule
