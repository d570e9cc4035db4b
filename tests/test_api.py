"""The engine API both faces call (engine/api.py): the CLI and the app offer
the same actions for every kind and state of document, and an action done
from either makes the same commit."""
from __future__ import annotations

import asyncio
import datetime as dt
import json
import shutil
from decimal import Decimal

import pytest

from engine import api
from engine.book import load_book
from tests.conftest import git

AS_OF = dt.date(2025, 3, 1)

CONTACT = "name: ACME SA\nemail: ap@acme.example\n"
LINE = 'lines:\n  - {description: Work, quantity: 2, unit_price: "500.00"}\n'

# id -> (the document's YAML, the actions it offers on AS_OF)
CASES = {
    "inv-draft": ("kind: invoice\ncustomer: acme\ndate: 2025-01-05\n" + LINE,
                  {"validate", "hold", "delete", "edit"}),
    "inv-open": ("kind: invoice\ncustomer: acme\ndate: 2025-01-05\nnumber: 2025-0001\n"
                 "validated: 2025-01-05\n" + LINE,
                 {"pay", "discount", "write_off", "hold", "credit", "returned", "send", "edit"}),
    "inv-paid": ("kind: invoice\ncustomer: acme\ndate: 2025-01-06\nnumber: 2025-0002\n"
                 "validated: 2025-01-06\n" + LINE +
                 'payments: [{date: 2025-01-20, amount: "1000.00"}]\n'
                 'deliveries: [{channel: email, at: "2025-01-06T09:00:00+00:00", '
                 'to: ap@acme.example, result: sent, message_id: "<a@b>"}]\n',
                 {"hold", "returned", "edit"}),
    "inv-held": ("kind: invoice\ncustomer: acme\ndate: 2025-01-07\nnumber: 2025-0003\n"
                 "validated: 2025-01-07\n" + LINE +
                 "holds: [{from: 2025-02-01, reason: dispute}]\n"
                 'deliveries: [{channel: email, at: "2025-01-07T09:00:00+00:00", '
                 'to: ap@acme.example, result: sending, message_id: "<c@d>"}]\n',
                 {"pay", "discount", "write_off", "release", "credit", "returned", "send",
                  "mark_sent", "edit"}),
    "quote-open": ("kind: quote\ncustomer: acme\ndate: 2025-01-08\nnumber: Q-2025-0001\n"
                   "validated: 2025-01-08\n" + LINE,
                   {"convert", "decline", "hold", "returned", "send", "edit"}),
    "quote-declined": ("kind: quote\ncustomer: acme\ndate: 2025-01-09\nnumber: Q-2025-0002\n"
                       "validated: 2025-01-09\ndeclined: 2025-01-20\n" + LINE,
                       {"hold", "returned", "send", "edit"}),
    "wo-draft": ("kind: work_order\ncustomer: acme\ndate: 2025-01-10\n" + LINE,
                 {"validate", "convert", "hold", "delete", "edit"}),
    "cn-draft": ("kind: credit_note\ncustomer: acme\ndate: 2025-01-11\ncredits: inv-paid\n"
                 'lines:\n  - {description: Back, quantity: 1, unit_price: "100.00"}\n',
                 {"validate", "hold", "delete", "edit"}),
    "exp-open": ("kind: expense\nsupplier: acme\ndate: 2025-01-12\ntotal: \"99.00\"\n",
                 {"pay", "discount", "hold", "delete", "edit"}),
}


def _files() -> dict[str, str]:
    files = {"facturier.yaml": "currency: CHF\n", "contacts/acme.yaml": CONTACT}
    for doc_id, (text, _offered) in CASES.items():
        files["documents/2025/01/%s.yaml" % doc_id] = text
    return files


@pytest.fixture
def book(make_book):
    return make_book(_files())


def test_available_actions_say_why_the_others_are_not(book):
    loaded = load_book(book)
    assert not loaded.errors, loaded.errors
    for doc_id, (_text, offered) in CASES.items():
        doc = loaded.document(doc_id)
        got = api.available_actions(loaded, doc, AS_OF)
        assert [a.name for a in got] == list(api.DOCUMENT_ACTIONS)
        assert {a.name for a in got if a.available} == offered, doc_id
        for a in got:
            if not a.available:
                assert a.reason.code.startswith("unavailable."), (doc_id, a)
                assert a.reason.render("fr") != a.reason.render("en")
    reasons = {a.name: a.reason.code for a in
               api.available_actions(loaded, loaded.document("inv-draft"), AS_OF) if a.reason}
    assert reasons["pay"] == "unavailable.draft" and reasons["decline"] == "unavailable.kind"


def test_the_cli_and_the_app_offer_the_same_actions(cli, book):
    from tui.app import FacturierApp
    from tui.document_view import ACTION_KEYS, DocumentScreen
    from tui.views import DocumentDetail

    cli_offers = {}
    for doc_id in CASES:
        r = cli("--as-of", AS_OF.isoformat(), "doc", "show", doc_id, "--format", "json", book=book)
        assert r.code == 0, r
        actions = json.loads(r.out)["actions"]
        cli_offers[doc_id] = {a["action"] for a in actions if a["available"]}
        assert all(a["why"] for a in actions if not a["available"])
        assert cli_offers[doc_id] == CASES[doc_id][1], doc_id

    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    app_offers = {}

    async def run():
        async with app.run_test(size=(100, 30)) as pilot:
            while app.snapshot is None or not app.snapshot.complete:
                await pilot.pause(0.05)
            for doc_id in CASES:
                app.open_document(doc_id)
                await pilot.pause()
                screen = app.screen
                assert isinstance(screen, DocumentScreen)
                assert isinstance(screen.detail, DocumentDetail)
                app_offers[doc_id] = {name for name in ACTION_KEYS
                                      if screen.check_action("act", (name,))}
                screen.dismiss()
                await pilot.pause()

    asyncio.run(run())
    for doc_id in CASES:
        # every action the app has a key for, it offers exactly when the CLI does
        assert app_offers[doc_id] == cli_offers[doc_id] & set(ACTION_KEYS), doc_id


# (action, document, the CLI's arguments, the app's form values)
SAME_COMMITS = [
    ("validate", "inv-draft", [], {}),
    ("pay", "inv-open", ["250.50", "--reference", "bank 9", "--date", "2025-02-20"],
     {"amount": Decimal("250.50"), "reference": "bank 9", "date": dt.date(2025, 2, 20)}),
    ("discount", "inv-open", ["20", "--reason", "early"], {"amount": Decimal("20"),
                                                           "reason": "early"}),
    ("write-off", "inv-open", ["--reason", "bankrupt"], {"reason": "bankrupt"}),
    ("hold", "inv-open", ["--reason", "dispute"], {"reason": "dispute"}),
    ("release", "inv-held", ["--date", "2025-02-10"], {"date": dt.date(2025, 2, 10)}),
    ("credit", "inv-open", ["--amount", "100"], {"amount": Decimal("100")}),
    ("convert", "quote-open", ["--to", "work_order"], {"to": "work_order"}),
    ("decline", "quote-open", [], {}),
    ("delete", "wo-draft", [], {}),
]


def _last_commit(root) -> tuple[str, str]:
    return (git(root, "log", "-1", "--format=%B"),
            git(root, "show", "HEAD", "--format=", "--patch", "--no-color"))


@pytest.mark.parametrize("action,doc_id,args,values", SAME_COMMITS,
                         ids=[case[0] for case in SAME_COMMITS])
def test_the_cli_and_the_app_make_the_same_commit(cli, book, tmp_path, action, doc_id, args,
                                                  values):
    from tui.app import FacturierApp
    other = tmp_path / "copy"
    shutil.copytree(book, other)
    r = cli("--as-of", AS_OF.isoformat(), "doc", action, doc_id, *args, book=book)
    assert r.code == 0, r
    app = FacturierApp(other, as_of=AS_OF, lang="en", watch=False)
    said = app.perform(action.replace("-", "_"), doc_id, values)
    assert said
    assert _last_commit(other) == _last_commit(book)


def test_perform_returns_refusals_as_codes_and_commits_nothing(book):
    head = git(book, "rev-parse", "HEAD")
    result = api.perform(book, "pay", api.Pay("inv-draft", Decimal("5")), AS_OF)
    assert not result.ok and result.commit is None
    assert result.refusal.code == "refuse.draft.payment"
    result = api.perform(book, "pay", api.Pay("inv-open", "-5"), AS_OF)
    assert result.refusal.code == "refuse.amount.not_positive" and result.field_name == "amount"
    result = api.perform(book, "document.create",
                         api.CreateDocument({"kind": "invoice", "customer": "nobody",
                                             "lines": [{"description": "x", "quantity": 1,
                                                        "unit_price": Decimal(1)}]}), AS_OF)
    assert result.refusal.code == "refuse.no_contact_for" and result.field_name == "customer"
    assert git(book, "rev-parse", "HEAD") == head


_LINE = {"description": "x", "quantity": 1, "unit_price": Decimal(1)}

# (action, inputs, the refusal's code, its field as the plan says it, the field a form shows)
REFUSED_FIELDS = [
    ("pay", api.Pay("inv-open", "abc"), "refuse.amount.not_amount", "amount", "amount"),
    ("discount", api.Discount("inv-open", Decimal("0.001")), "refuse.amount.decimals",
     "amount", "amount"),
    ("release", api.Release("inv-held", dt.date(2025, 1, 2)), "refuse.release_before_hold",
     "date", "date"),
    ("document.create", api.CreateDocument({"kind": "expense", "supplier": "nobody",
                                            "total": Decimal(5)}),
     "refuse.no_contact_for", "supplier", "supplier"),
    ("document.create", api.CreateDocument({"kind": "credit_note", "customer": "acme",
                                            "credits": "quote-open", "lines": [_LINE]}),
     "refuse.credits_not_invoice", "credits", "credits"),
    # a diagnostic of the parsed input: its field, the whole path
    ("document.create", api.CreateDocument({"kind": "invoice", "customer": "acme",
                                            "lines": [_LINE, dict(_LINE, vat="lots")]}),
     "problems.list", "lines.2.vat", "lines"),          # lines count from 1
    ("document.create", api.CreateDocument("kind: invoice\ncustomer: acme\ndate: someday\n" + LINE),
     "problems.list", "date", "date"),
    ("contact.create", api.CreateContact({"id": "acme", "name": "Other"}),
     "refuse.contact_exists", "id", "id"),
    ("settings.modify", api.EditSettings({"terms.payment_days": "soon"}), "problems.list",
     "terms.payment_days", "terms"),
    # about no input field, though its words name one in backquotes
    ("mark_sent", api.MarkSent("inv-open"), "refuse.send.nothing_to_mark", None, None),
    ("pay", api.Pay("inv-draft", Decimal("5")), "refuse.draft.payment", None, None),
]


@pytest.mark.parametrize("name,inputs,code,field,shown", REFUSED_FIELDS,
                         ids=["%s-%s" % (c[0], c[2]) for c in REFUSED_FIELDS])
def test_a_refusal_carries_the_field_it_is_about(book, name, inputs, code, field, shown):
    """The field is data the plan gives (or the parsed input's diagnostic),
    never read back from the English words."""
    result = api.perform(book, name, inputs, AS_OF)
    assert result.refusal is not None and result.refusal.code == code, result.refusal
    assert result.refusal.field == field
    assert result.field_name == shown
    assert result.refusal.render("fr") != str(result.refusal)      # still a catalogue code


def test_a_refusals_field_survives_a_worker_process():
    import pickle

    from engine.diagnostics import ActionRefused
    error = pickle.loads(pickle.dumps(ActionRefused("refuse.no_lines", field_name="lines",
                                                    doc="x")))
    assert error.field_name == "lines" and error.message.code == "refuse.no_lines"
    assert pickle.loads(pickle.dumps(error.message)).field == "lines"


def test_perform_reads_only_the_document_when_the_action_needs_no_more(book):
    # a payment reads the one document; a validation what numbering needs
    # (the numbers of the whole book), so the number follows the three given
    assert api.REGISTRY["pay"].needs == "document"
    assert api.REGISTRY["validate"].needs == "numbering"
    result = api.perform(book, "pay", api.Pay("inv-open", Decimal("10")), AS_OF)
    assert result.ok and result.commit == git(book, "rev-parse", "HEAD").strip()
    result = api.perform(book, "validate", api.Validate("inv-draft"), AS_OF)
    assert result.ok
    assert 'number: "2025-0004"' in (book / "documents/2025/01/inv-draft.yaml").read_text()


def test_settings_are_edited_keeping_comments(book):
    (book / "facturier.yaml").write_text("# our settings\ncurrency: CHF\n")
    git(book, "commit", "-qam", "comment")
    result = api.perform(book, "settings.modify",
                         api.EditSettings({"company.name": "Atelier Sàrl", "vat": Decimal("8.1")}),
                         AS_OF)
    assert result.ok, result.refusal
    text = (book / "facturier.yaml").read_text()
    assert text.startswith("# our settings\n") and "Atelier Sàrl" in text
    assert load_book(book).settings.company.name == "Atelier Sàrl"
    assert "Facturier-Action: settings.modify" in git(book, "log", "-1", "--format=%B")
    result = api.perform(book, "settings.modify", api.EditSettings({"currency": "nope"}), AS_OF)
    assert not result.ok


def test_the_left_sending_alert_is_the_engines(book):
    # the latest e-mail is left `sending`, a post return came after it: still unconfirmed
    path = book / "documents/2025/01/inv-held.yaml"
    path.write_text(path.read_text().replace(
        'message_id: "<c@d>"}]',
        'message_id: "<c@d>"}, {channel: post, at: "2025-01-20T09:00:00+00:00", '
        'result: returned}]'))
    git(book, "commit", "-qam", "returned by the post")
    loaded = load_book(book)
    assert api.left_sending(loaded) == ["inv-held"]
    from tui.app import FacturierApp
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    assert app.build_snapshot().sending == ["inv-held"]
    offered = api.document_view(loaded, loaded.document("inv-held"), AS_OF).allowed
    assert "mark_sent" in offered


# --------------------------------------------------------------------------- recurrences

REC = "name: {name}\ntemplate: inv-draft\nrule: FREQ=MONTHLY;BYMONTHDAY=1\nstart: 2025-01-01\n"
# id -> (the recurrence's YAML, its state on AS_OF, its missing occurrences, the repairs offered)
RECURRENCES = {
    "running": (REC.format(name="Running") + "last: 2025-03-01\n", "active", [], set()),
    "one-missing": (REC.format(name="One") + "last: 2025-02-01\nstopped: {at: "
                    '"2025-02-20T06:00:00+00:00", occurrence: 2025-03-01, cause: "it broke"}\n',
                    "stopped", [dt.date(2025, 3, 1)], {"skip-missing", "create-missing", "end"}),
    "two-missing": (REC.format(name="Two") + "last: 2025-01-01\nstopped: {at: "
                    '"2025-01-20T06:00:00+00:00", occurrence: 2025-02-01, cause: "it broke"}\n',
                    "stopped", [dt.date(2025, 2, 1), dt.date(2025, 3, 1)], {"skip-missing", "end"}),
}


@pytest.fixture
def rec_book(make_book):
    files = _files()
    for rec_id, (text, *_rest) in RECURRENCES.items():
        files["recurrences/%s.yaml" % rec_id] = text
    return make_book(files)


def test_a_recurrences_view_is_what_the_cli_and_the_app_show(cli, rec_book):
    from tui.app import FacturierApp
    loaded = load_book(rec_book)
    assert not loaded.errors, loaded.errors
    app = FacturierApp(rec_book, as_of=AS_OF, lang="en", watch=False)
    snapshot = app.build_snapshot()
    assert {item.id for item in snapshot.stopped} == {"one-missing", "two-missing"}
    for rec_id, (_text, state, missing, repairs) in RECURRENCES.items():
        view = api.recurrence_view(loaded, loaded.recurrence(rec_id), AS_OF)
        assert (view.state, view.missing, view.offered_repairs) == (state, missing, repairs)
        assert all(a.reason.code.startswith("unavailable.") for a in view.repairs
                   if not a.available)
        r = cli("--as-of", AS_OF.isoformat(), "recurrence", "show", rec_id, "--format", "json",
                book=rec_book)
        assert r.code == 0, r
        shown = json.loads(r.out)
        assert (shown["state"], shown["missing"], shown["last"]) == (
            state, [d.isoformat() for d in missing], view.last.isoformat())
        item = app.recurrence_item(loaded, loaded.recurrence(rec_id))
        assert (item.state, item.missing) == (state, missing)
        assert {a.name for a in item.repairs if a.available} == repairs
    # a repair the view does not offer, the engine refuses
    refused = api.perform(rec_book, "recurrence.repair",
                          api.RepairRecurrence("two-missing", "create-missing"), AS_OF)
    assert refused.refusal.code == "refuse.repair.create_many"


# (what, the CLI's arguments, the app's action, its target and form values)
SAME_RECURRENCE_COMMITS = [
    ("create", ["recurrence", "new", "--name", "Hosting", "--template", "inv-draft",
                "--rule", "FREQ=MONTHLY;BYMONTHDAY=1", "--start", "2025-04-01"],
     "recurrence.create", None, {"name": "Hosting", "template": "inv-draft",
                                 "rule": "FREQ=MONTHLY;BYMONTHDAY=1",
                                 "start": dt.date(2025, 4, 1), "issue": "draft"}),
    ("modify", ["recurrence", "edit", "running", "--set", "name=Renamed"],
     "recurrence.modify", "running", {"name": "Renamed"}),
    ("skip", ["recurrence", "repair", "two-missing", "--skip-missing"],
     "repair", "two-missing", {"choice": "skip"}),
    ("create-missing", ["recurrence", "repair", "one-missing", "--create-missing"],
     "repair", "one-missing", {"choice": "create"}),
    ("end", ["recurrence", "repair", "one-missing", "--end"],
     "repair", "one-missing", {"choice": "end"}),
]


@pytest.mark.parametrize("what,args,action,target,values", SAME_RECURRENCE_COMMITS,
                         ids=[case[0] for case in SAME_RECURRENCE_COMMITS])
def test_the_cli_and_the_app_make_the_same_recurrence_commit(cli, rec_book, tmp_path, what, args,
                                                             action, target, values):
    from tui.app import FacturierApp
    other = tmp_path / "copy"
    shutil.copytree(rec_book, other)
    r = cli("--as-of", AS_OF.isoformat(), *args, book=rec_book)
    assert r.code == 0, r
    app = FacturierApp(other, as_of=AS_OF, lang="en", watch=False)
    app.snapshot = app.build_snapshot()
    if action == "repair":
        assert app.perform(action, target, values)
    else:       # what the recurrence form hands the app
        from tui.recurrence_form import recurrence_inputs
        rec = app.snapshot.book.recurrence(target) if target else None
        asked = recurrence_inputs(rec, values)
        assert asked is not None and asked[0] == action
        result = app.perform_api(*asked)
        assert result.refusal is None and result.commit, result
    assert _last_commit(other) == _last_commit(rec_book)


# (what, the CLI's arguments, the action and inputs the app's forms give api.perform)
SAME_CONTACT_COMMITS = [
    ("create", ["contact", "new", "--name", "Globex AG", "--email", "ap@globex.example"],
     "contact.create", api.CreateContact({"name": "Globex AG", "email": "ap@globex.example"},
                                         source="the options")),
    ("modify", ["contact", "edit", "acme", "--email", "billing@acme.example"],
     "contact.modify", api.EditContact("acme", set_fields={"email": "billing@acme.example"})),
]


@pytest.mark.parametrize("what,args,name,inputs", SAME_CONTACT_COMMITS,
                         ids=[case[0] for case in SAME_CONTACT_COMMITS])
def test_the_cli_and_the_app_make_the_same_contact_commit(cli, book, tmp_path, what, args, name,
                                                          inputs):
    from tui.app import FacturierApp
    other = tmp_path / "copy"
    shutil.copytree(book, other)
    r = cli("--as-of", AS_OF.isoformat(), *args, book=book)
    assert r.code == 0, r
    app = FacturierApp(other, as_of=AS_OF, lang="en", watch=False)
    result = app.perform_api(name, inputs)
    assert result.ok, result.refusal
    assert _last_commit(other) == _last_commit(book)
    if result.created:
        assert r.out.strip() == result.created


def test_the_cli_and_the_app_refuse_the_same_contact_deletion(cli, book):
    from tui.app import FacturierApp
    head = git(book, "rev-parse", "HEAD")
    r = cli("--as-of", AS_OF.isoformat(), "contact", "delete", "acme", book=book)
    app = FacturierApp(book, as_of=AS_OF, lang="en", watch=False)
    result = app.perform_api("contact.delete", api.DeleteContact("acme"))
    assert r.code == 1 and result.refusal.code == "refuse.contact_in_use.many"
    assert result.refusal.render("en") in r.err
    assert git(book, "rev-parse", "HEAD") == head


def test_the_cli_and_the_app_import_a_statement_in_the_same_commit(cli, make_book, tmp_path):
    from pathlib import Path

    from engine.bank import read_statement
    from tui.app import FacturierApp
    from tests.test_bank import BOOK
    statement_file = Path(__file__).parent / "data" / "bank" / "camt053_v02.xml"
    root = make_book(BOOK)
    other = tmp_path / "copy"
    shutil.copytree(root, other)
    r = cli("--as-of", "2025-03-10", "import", "bank", str(statement_file), "--format", "json",
            book=root)
    assert r.code == 0, r
    (imported,) = json.loads(r.out)
    # the app reads the file as its import worker does, then the engine API
    app = FacturierApp(other, as_of=dt.date(2025, 3, 10), lang="en", watch=False)
    statement = read_statement(statement_file.read_bytes(), statement_file.name, None,
                               load_book(other).settings.currency)
    result = app.perform_api("bank.import", api.ImportStatement(statement, statement_file.name))
    assert result.ok and result.commit, result.refusal
    assert _last_commit(other) == _last_commit(root)
    left = [m.credit.reference for m in result.detail["matches"]
            if m.outcome in ("unmatched", "ambiguous")]
    assert sorted(left) == sorted(row["reference"] for key in ("unmatched", "ambiguous")
                                  for row in imported[key])
    # the same file again: nothing left to record, no commit, on either face
    again = app.perform_api("bank.import", api.ImportStatement(statement, statement_file.name))
    assert again.ok and again.commit is None
