"""The demo book: a year of a small web agency's billing, relative to today.

``demo_files(today)`` returns every file of the demo book (settings, contacts,
documents, recurrences) as ``{path: bytes}``. It is built from ``data/demo/``
(see ``data/demo/README.md`` for the notation), in three parts:

- hand-written *templates* (settings, contacts, the ~30 documents that show each
  status and each situation, the six recurrences), whose dates are written
  relative to today (``{{-45}}`` = today - 45 days, ``{{m-3}}`` = the 1st of
  the month three months ago...) and whose legal numbers are ``{{number}}``;
- the documents the recurrences generated, one per occurrence up to their
  ``last``, made here from each recurrence's template, as the daily run would;
- the repetitive bulk (old, settled invoices, quotes, work orders, expenses),
  drawn from the small table ``data/demo/bulk.yaml`` with a fixed seed.

Numbers are then given per kind and per year of the document's date, in
validation order, without gaps (SPEC 2). The result depends only on ``today``:
the same date gives the same bytes.

Pure apart from reading ``data/demo/`` through ``engine.resources``:
no clock, no git.
"""
from __future__ import annotations

import datetime as dt
import random
import re
from decimal import ROUND_HALF_UP, Decimal
from importlib.abc import Traversable
from typing import Optional

import msgspec
import yaml
from dateutil import rrule

from .model import Delivery, Discount, Document, Line, Payment, Settings
from .money import document_totals
from .recurrence import expand_placeholders
from .resources import data_path
from .writer import document_path, dump_document

NUMBERED_KINDS = ("invoice", "credit_note", "quote", "work_order")
FORMATS = {"invoice": "{year}-{seq:04d}", "credit_note": "CN-{year}-{seq:04d}",
           "quote": "Q-{year}-{seq:04d}", "work_order": "WO-{year}-{seq:04d}"}
BASE32 = "abcdefghijklmnopqrstuvwxyz234567"
RUN_TIME = "06:00"              # when the demo's daily job runs (UTC)
COMPANY_DOMAIN = "pixelpine.example"
DEMO_TIMEZONE = "Europe/Paris"  # the timezone of data/demo/facturier.yaml: "today" for the demo

# {{number}} | {{[m<months>][<days>][|ymd][@HH:MM]}}
_TOKEN = re.compile(
    r"\{\{\s*(?:(?P<number>number)|(?:m(?P<months>[+-]?\d+))?(?P<days>[+-]?\d+)?"
    r"(?P<ymd>\|ymd)?(?:@(?P<time>\d\d:\d\d))?)\s*\}\}")


class DemoDataError(ValueError):
    """The shipped demo data is inconsistent (a bug in data/demo/)."""


# --------------------------------------------------------------------------- dates

def month_start(today: dt.date, months: int) -> dt.date:
    """The 1st of the month ``months`` months from today's month."""
    year, month0 = divmod(today.year * 12 + today.month - 1 + months, 12)
    return dt.date(year, month0 + 1, 1)


def render(text: str, today: dt.date) -> str:
    """Replace every date token of ``text``; ``{{number}}`` is left for later."""
    def sub(m: re.Match) -> str:
        if m.group("number"):
            return m.group(0)
        if m.group("months") is None and m.group("days") is None:
            raise DemoDataError("empty date token %r" % m.group(0))
        day = today if m.group("months") is None else month_start(today, int(m.group("months")))
        day += dt.timedelta(days=int(m.group("days") or 0))
        if m.group("ymd"):
            return day.strftime("%Y%m%d")
        if m.group("time"):
            return "%sT%s:00+00:00" % (day.isoformat(), m.group("time"))
        return day.isoformat()

    out = _TOKEN.sub(sub, text)
    if "{{" in out.replace("{{number}}", ""):
        raise DemoDataError("unknown token near %r" % out[out.index("{{"):][:30])
    return out


# --------------------------------------------------------------------------- the parts

class _Entry(msgspec.Struct):
    """One document of the demo before numbering: template text or a record."""
    id: str
    kind: str
    date: dt.date
    validated: Optional[dt.date]
    text: Optional[str] = None          # template text with {{number}}
    record: Optional[Document] = None


def _read(path: Traversable) -> str:
    return path.read_text(encoding="utf-8")


def _yaml_files(folder: Traversable) -> list[Traversable]:
    return sorted((f for f in folder.iterdir() if f.name.endswith(".yaml")), key=lambda f: f.name)


def _stem(path: Traversable) -> str:
    return path.name[:-len(".yaml")]


def _strings(text: str, where: str) -> dict:
    """The mapping of a rendered template, every scalar as text."""
    try:
        data = yaml.load(text, Loader=yaml.BaseLoader)
    except yaml.YAMLError as exc:
        raise DemoDataError("%s: %s" % (where, exc)) from None
    if not isinstance(data, dict):
        raise DemoDataError("%s: not a mapping" % where)
    return data


def _date(text: Optional[str]) -> Optional[dt.date]:
    return dt.date.fromisoformat(text) if text else None


def _required_date(text: Optional[str], where: str, field: str) -> dt.date:
    day = _date(text)
    if day is None:
        raise DemoDataError("%s: no %s" % (where, field))
    return day


_ID_LINE = re.compile(r"^id: *(\S+) *\n", re.MULTILINE)


def _special(path: Traversable, today: dt.date) -> tuple[_Entry, dict]:
    text = render(_read(path), today)
    data = _strings(text.replace("{{number}}", "NUMBER"), path.name)
    if "id" not in data:
        raise DemoDataError("%s: no id line" % path.name)
    doc_id = data.pop("id")
    text = _ID_LINE.sub("", text, count=1)
    validated = _date(data.get("validated"))
    if (validated is not None and data["kind"] != "expense") != ("{{number}}" in text):
        raise DemoDataError("%s: a validated document needs number: {{number}}, a draft none"
                            % path.name)
    entry = _Entry(id=doc_id, kind=data["kind"], date=_required_date(data.get("date"), path.name, "date"),
                   validated=validated,
                   text=text)
    return entry, data


def _lines(data: dict) -> tuple[Line, ...]:
    return tuple(Line(description=item.get("description", ""),
                      quantity=Decimal(item.get("quantity", "1")),
                      unit_price=Decimal(item.get("unit_price", "0")),
                      vat=Decimal(item["vat"]) if item.get("vat") else None)
                 for item in data.get("lines", ()))


def _occurrences(rule: str, start: dt.date, through: dt.date) -> list[dt.date]:
    rr = rrule.rrulestr(rule, dtstart=dt.datetime.combine(start, dt.time()))
    return [d.date() for d in rr.between(dt.datetime.combine(start, dt.time()),
                                         dt.datetime.combine(through, dt.time()), inc=True)]


def _at(day: dt.date, time: str = RUN_TIME) -> str:
    return "%sT%s:00+00:00" % (day.isoformat(), time)


class _Demo:
    def __init__(self, today: dt.date):
        self.today = today
        self.root = data_path("demo")
        self.files: dict[str, bytes] = {}
        self.entries: list[_Entry] = []
        self.specials: dict[str, dict] = {}
        self.contacts: dict[str, dict] = {}
        settings = _strings(render(_read(self.root / "facturier.yaml"), today), "facturier.yaml")
        self.settings = Settings(vat=Decimal(settings.get("vat", "0")),
                                 currency=settings.get("currency", "EUR"))
        self.payment_days = int(settings.get("terms", {}).get("payment_days", 30))

    # ----------------------------------------------------------- helpers
    def total(self, doc: Document) -> Decimal:
        return document_totals(doc, self.settings).total

    def contact_days(self, contact: str) -> int:
        days = self.contacts.get(contact, {}).get("payment_days")
        return int(days) if days else self.payment_days

    def email_of(self, contact: str) -> str:
        return self.contacts.get(contact, {}).get("email", "")

    # ----------------------------------------------------------- parts
    def copy_plain(self) -> None:
        self.files["facturier.yaml"] = render(_read(self.root / "facturier.yaml"),
                                              self.today).encode()
        for path in _yaml_files(self.root / "contacts"):
            text = render(_read(path), self.today)
            self.contacts[_stem(path)] = _strings(text, path.name)
            self.files["contacts/" + path.name] = text.encode()

    def read_specials(self) -> None:
        for path in _yaml_files(self.root / "documents"):
            entry, data = _special(path, self.today)
            if entry.id in self.specials:
                raise DemoDataError("%s: id %s is used twice" % (path.name, entry.id))
            self.specials[entry.id] = data
            self.entries.append(entry)

    def recurrences(self) -> None:
        for path in _yaml_files(self.root / "recurrences"):
            text = render(_read(path), self.today)
            self.files["recurrences/" + path.name] = text.encode()
            self.generate(_stem(path), _strings(text, path.name))

    def generate(self, rec_id: str, rec: dict) -> None:
        """The documents the daily run made for ``rec`` up to its ``last``,
        then what happened to them since (validated, sent, paid)."""
        last = _date(rec.get("last"))
        if last is None:
            return
        template = self.specials.get(rec["template"])
        if template is None:
            raise DemoDataError("recurrence %s: template %s is not a demo document"
                                % (rec_id, rec["template"]))
        kind, contact = template["kind"], template.get("customer") or template.get("supplier")
        if contact is None:
            raise DemoDataError("template %s: no customer or supplier" % rec["template"])
        tdate = _required_date(template.get("date"), "template %s" % rec["template"], "date")
        skipped = {dt.date.fromisoformat(s) for s in rec.get("skipped", ())}
        rng = random.Random("%s:%s" % (rec_id, rec["start"]))
        start = _required_date(rec.get("start"), "recurrence %s" % rec_id, "start")
        for occ in _occurrences(rec["rule"], start, last):
            if occ in skipped:
                continue
            if template.get("due"):
                due = occ + (_required_date(template["due"], "template %s" % rec["template"], "due")
                             - tdate)
            else:
                due = occ + dt.timedelta(days=self.contact_days(contact))
            doc_id = "%s-%s" % (rec_id, occ.isoformat())
            lines = tuple(msgspec.structs.replace(
                line, description=expand_placeholders(line.description, occ, "en"))
                for line in _lines(template))
            doc = Document(id=doc_id, path=document_path(doc_id, occ), kind=kind,
                           contact=contact, date=occ, due=due, lines=lines,
                           recurrence=rec_id, occurrence=occ)
            validated = None
            if kind != "expense":
                issue = rec.get("issue", "draft")
                validated = occ if issue in ("validate", "send") else occ + dt.timedelta(days=1)
                if validated > self.today:
                    validated = None
            deliveries: tuple[Delivery, ...] = ()
            if validated is not None and rec.get("issue") == "send":
                # the address the run used: the contact's, or the one it had then
                to = self.email_of(contact) or _former_email(template)
                deliveries = (Delivery(channel="email", at=_at(occ), to=to, result="sent",
                                       message_id="<%s@%s>" % (doc_id, COMPANY_DOMAIN)),)
            payments: tuple[Payment, ...] = ()
            if due < self.today and (validated is not None or kind == "expense"):
                paid_on = min(occ + dt.timedelta(days=rng.randint(3, 20)), due)
                payments = (Payment(date=paid_on, amount=self.total(doc),
                                    reference="transfer %s" % occ.strftime("%m/%Y")),)
            doc = msgspec.structs.replace(doc, validated=validated, deliveries=deliveries,
                                          payments=payments)
            self.entries.append(_Entry(id=doc_id, kind=kind, date=occ, validated=validated,
                                       record=doc))

    def bulk(self) -> None:
        table = _strings(_read(self.root / "bulk.yaml"), "bulk.yaml")
        rng = random.Random(int(table["seed"]))
        taken = {e.id for e in self.entries}

        def new_id(prefix: str, day: dt.date) -> str:
            while True:
                ident = "%s-%s-%s" % (prefix, day.strftime("%Y%m%d"),
                                      "".join(rng.choice(BASE32) for _ in range(4)))
                if ident not in taken:
                    taken.add(ident)
                    return ident

        services = table["services"]
        invoices: list[Document] = []
        every = int(table["discount_every"])
        for i in range(int(table["invoices"])):
            day = self.today - dt.timedelta(days=rng.randint(45, 365))
            customer = rng.choice(table["customers"])
            lines = []
            for service in rng.sample(services, rng.randint(1, 3)):
                desc, price, low, high = service
                lines.append(Line(description=desc, quantity=Decimal(rng.randint(int(low), int(high))),
                                  unit_price=Decimal(price)))
            doc_id = new_id("inv", day)
            doc = Document(id=doc_id, path=document_path(doc_id, day), kind="invoice",
                           contact=customer, date=day, validated=day, lines=tuple(lines))
            email = self.email_of(customer)
            if email:
                doc = msgspec.structs.replace(doc, deliveries=(Delivery(
                    channel="email", at=_at(day, "%02d:%02d" % (rng.randint(8, 17), rng.randint(0, 59))),
                    to=email, result="sent", message_id="<%s@%s>" % (doc_id, COMPANY_DOMAIN)),))
            total = self.total(doc)
            if i % every == every - 1:
                discount = (total * Decimal("0.02")).quantize(Decimal("0.01"), ROUND_HALF_UP)
                paid_on = day + dt.timedelta(days=rng.randint(2, 9))
                doc = msgspec.structs.replace(
                    doc, payments=(Payment(date=paid_on, amount=total - discount,
                                           reference="transfer"),),
                    discounts=(Discount(date=paid_on, amount=discount,
                                        reason="2% early payment"),))
            else:
                paid_on = day + dt.timedelta(days=rng.randint(3, 28))
                doc = msgspec.structs.replace(
                    doc, payments=(Payment(date=paid_on, amount=total, reference="transfer"),))
            invoices.append(doc)
        # quotes and work orders that became some of these invoices
        sources = rng.sample(range(len(invoices)), int(table["quotes"]) + int(table["work_orders"]))
        for n, index in enumerate(sources):
            invoice = invoices[index]
            kind, prefix = ("quote", "q") if n < int(table["quotes"]) else ("work_order", "wo")
            day = invoice.date - dt.timedelta(days=rng.randint(3, 20))
            doc_id = new_id(prefix, day)
            source = Document(id=doc_id, path=document_path(doc_id, day), kind=kind,
                              contact=invoice.contact, date=day, validated=day,
                              lines=invoice.lines, converted_to=invoice.id)
            invoices[index] = msgspec.structs.replace(invoice, converted_from=doc_id)
            self.entries.append(_Entry(id=doc_id, kind=kind, date=day, validated=day,
                                       record=source))
        for doc in invoices:
            self.entries.append(_Entry(id=doc.id, kind="invoice", date=doc.date,
                                       validated=doc.validated, record=doc))
        for _ in range(int(table["expenses"])):
            desc, low, high = rng.choice(table["expense_items"])
            day = self.today - dt.timedelta(days=rng.randint(20, 365))
            supplier = rng.choice(table["suppliers"])
            total = Decimal("%d.00" % rng.randint(int(low), int(high)))
            doc_id = new_id("exp", day)
            paid_on = day + dt.timedelta(days=rng.randint(1, 15))
            doc = Document(id=doc_id, path=document_path(doc_id, day), kind="expense",
                           contact=supplier, date=day, total=total, notes=desc,
                           payments=(Payment(date=paid_on, amount=total, reference="card"),))
            self.entries.append(_Entry(id=doc.id, kind="expense", date=day, validated=None,
                                       record=doc))

    def number_and_write(self) -> None:
        series: dict[tuple[str, int], list[_Entry]] = {}
        for entry in self.entries:
            if entry.kind in NUMBERED_KINDS and entry.validated is not None:
                series.setdefault((entry.kind, entry.date.year), []).append(entry)
        numbers: dict[str, str] = {}
        for (kind, year), members in series.items():
            members.sort(key=lambda e: (e.validated, e.date, e.id))
            for seq, entry in enumerate(members, 1):
                numbers[entry.id] = FORMATS[kind].format(year=year, seq=seq)
        for entry in self.entries:
            path = document_path(entry.id, entry.date)
            if path in self.files:
                raise DemoDataError("two demo documents at %s" % path)
            if entry.text is not None:
                text = entry.text.replace("{{number}}", numbers.get(entry.id, ""))
            else:
                record = entry.record
                assert record is not None       # an entry has its template text or its record
                if entry.id in numbers:
                    record = msgspec.structs.replace(record, number=numbers[entry.id])
                text = dump_document(record)
            self.files[path] = text.encode()


def _former_email(template: dict) -> str:
    for delivery in template.get("deliveries", ()):
        if delivery.get("channel") == "email" and delivery.get("to"):
            return delivery["to"]
    return ""


def demo_files(today: dt.date) -> dict[str, bytes]:
    """Every file of the demo book as it looks on ``today`` ({path: bytes},
    paths relative to the book root with forward slashes)."""
    demo = _Demo(today)
    demo.copy_plain()
    demo.read_specials()
    demo.recurrences()
    demo.bulk()
    demo.number_and_write()
    return dict(sorted(demo.files.items()))
