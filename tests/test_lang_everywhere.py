"""--lang fr everywhere a person reads (issue 11): every command of the CLI
run in French on the demo book, its messages free of English; the loader's,
the checks' and the YAML reader's diagnostics in French with their file,
line and field; a French book speaks French without --lang."""
from __future__ import annotations

import re

import pytest

from engine import i18n
from engine.loader import parse_contact, parse_document, parse_recurrence, parse_settings
from tests.conftest import git
from test_daily_support import free_port

AS_OF = "2026-11-23"

# Words of English sentences; none is French, none is in an id, option or
# command name the messages quote (`facturier recurrence list --state stopped`).
ENGLISH = re.compile(
    r"\b(the|is|are|was|were|cannot|could|with|nothing|error|refused|warning|Usage|Error|Try|"
    r"Missing|invalid|would|recorded|Record|Delete|Validate|Create|Sent|Generate|Reactivate|"
    r"wrote|Wrote|does|must|only|already|give|field|unknown|has|have|of|and|or|not|no|"
    r"which|before|after|bytes|file|files|deferred|bounced|outcome|reminder|reminders)\b")
# what the system or the SMTP client says (not ours to translate)
FOREIGN = re.compile(r"\[Errno \d+\][^)\n;]*|--[\w-]+")          # and option names

# (arguments, exit status, whether stdout is messages too (not data such as a
# table of the demo's English descriptions)); run in this order on one book
COMMANDS = [
    (("check",), 0, False),
    (("status",), 0, False),
    (("status", "--status", "nope"), 2, False),
    (("status", "--format", "xml"), 2, False),
    (("recurrence", "list"), 0, False),
    (("recurrence", "show", "seo-harbour"), 0, False),
    (("recurrence", "show", "nope"), 1, False),
    (("recurrence", "repair", "hosting-brightside", "--end"), 1, False),
    (("recurrence", "repair", "seo-harbour", "--end", "--skip-missing"), 2, False),
    (("recurrence", "repair", "seo-harbour", "--create-missing"), 1, False),
    (("recurrence", "repair", "seo-harbour", "--skip-missing"), 0, False),
    (("recurrence", "new", "--name", "X", "--template", "nope", "--frequency", "monthly"), 1, False),
    (("recurrence", "new", "--name", "X", "--template", "inv-20261103-prtl", "--frequency",
      "monthly", "--until", "2027-12-31", "--count", "2"), 2, False),
    (("recurrence", "new", "--name", "Veille", "--template", "inv-20261103-prtl", "--frequency",
      "monthly"), 0, True),
    (("recurrence", "edit", "veille", "--set", "lead_days=x"), 2, False),
    (("recurrence", "edit", "veille", "--set", "lead_days=2"), 0, False),
    (("recurrence", "delete", "veille"), 0, False),
    (("contact", "list"), 0, False),
    (("contact", "new", "--name", "Bob", "--email", "bob"), 1, False),
    (("contact", "new", "--name", "Bob", "--email", "bob@example.com"), 0, False),
    (("contact", "edit", "bob", "--email", "nope"), 1, False),
    (("contact", "delete", "atlas-legal"), 1, False),
    (("contact", "delete", "bob"), 0, False),
    (("doc", "show", "nope"), 1, False),
    (("doc", "new", "--customer", "green-leaf", "--line", "Travail;1;abc"), 2, False),
    (("doc", "new", "--customer", "nope", "--line", "Travail;1;100"), 1, False),
    (("doc", "validate", "inv-20261113-prcs"), 1, False),
    (("doc", "validate", "inv-20261121-drft"), 0, False),
    (("doc", "pay", "inv-20261103-prtl", "1e3"), 2, False),
    (("doc", "pay", "inv-20261103-prtl", "-5"), 1, False),
    (("doc", "pay", "inv-20261103-prtl", "10"), 0, False),
    (("doc", "pay", "cn-20261122-gdwl", "10"), 1, False),
    (("doc", "discount", "inv-20261103-prtl", "1"), 0, False),
    (("doc", "hold", "inv-20261014-hold"), 1, False),
    (("doc", "hold", "inv-20261103-prtl", "--reason", "litige"), 0, False),
    (("doc", "release", "inv-20261103-prtl"), 0, False),
    (("doc", "release", "inv-20261103-prtl"), 1, False),
    (("doc", "write-off", "inv-20261205-schd"), 1, False),
    (("doc", "write-off", "inv-20260825-ltgn"), 0, False),
    (("doc", "credit", "inv-20261007-txqi"), 1, False),
    (("doc", "credit", "inv-20261111-bnce", "--amount", "100"), 0, False),
    (("doc", "convert", "q-20261117-offr"), 0, False),
    (("doc", "convert", "q-20261117-offr"), 1, False),
    (("doc", "decline", "inv-20261113-prcs"), 1, False),
    (("doc", "decline", "q-20260929-dcln"), 1, False),
    (("doc", "returned", "inv-20261113-prcs"), 0, False),
    (("doc", "delete", "inv-20261113-prcs"), 1, False),
    (("doc", "delete", "inv-20261205-schd"), 0, False),
    (("doc", "send", "inv-20261121-drft", "--smtp-timeout", "2"), 1, False),
    (("doc", "send", "cn-20261122-gdwl"), 1, False),
    (("doc", "send", "inv-20261121-drft", "--mark-sent"), 1, False),
    (("doc", "export", "q-20261117-offr"), 1, False),
    (("log", "inv-20261103-prtl"), 0, False),
    (("log", "--action", "document.pai"), 2, False),
    (("log", "nope"), 1, False),
    (("report", "vat", "--from", "2026-11-01", "--to", "2026-10-01"), 2, False),
    (("report", "aging"), 0, False),
    (("export", "hledger", "--from", "2026-11-01", "--to", "2026-10-01"), 2, False),
    (("bounces", "{tmp}/pas-un-rapport.eml"), 1, False),
    (("import", "bank", "{tmp}/missing.xml"), 2, False),
    (("run", "--dry-run"), 3, True),
    (("run", "--smtp-timeout", "2"), None, True),
    (("--as-of", "2026-11-01", "run"), 2, True),
    (("doc", "pay"), 2, False),
    (("doc", "pya"), 2, False),
    (("--as-of", "2026-13-01", "status"), 2, False),
    (("frobnicate",), 2, False),
]


@pytest.fixture
def demo(cli, tmp_path):
    root = tmp_path / "demo"
    made = cli("--as-of", AS_OF, "init", str(root), "--demo")
    assert made.code == 0, made
    settings = root / "facturier.yaml"
    text = settings.read_text()
    assert "smtp_port: 25" in text
    settings.write_text(text.replace("smtp_port: 25", "smtp_port: %d" % free_port()))
    git(root, "commit", "-qam", "Nothing listens for e-mail")
    (tmp_path / "pas-un-rapport.eml").write_text("hello\n")
    return root


def _leaks(text: str) -> list[str]:
    return [line for line in FOREIGN.sub("", text).splitlines() if ENGLISH.search(line)]


def test_every_command_speaks_french(cli, demo, tmp_path):
    found = []
    for args, code, messages_out in COMMANDS:
        args = tuple(a.replace("{tmp}", str(tmp_path)) for a in args)
        result = cli("--lang", "fr", "--as-of", AS_OF, *args, book=demo)
        if code is not None and result.code != code:
            found.append((args, "exit %d, not %d" % (result.code, code), result.err))
            continue
        assert "Traceback" not in result.err, (args, result.err)
        err, out = (text.replace(str(tmp_path), "TMP") for text in (result.err, result.out))
        leaks = _leaks(err) + (_leaks(out) if messages_out else [])
        if leaks:
            found.append((args, leaks))
    assert not found, "\n".join(repr(item) for item in found)


def test_a_french_book_speaks_french_without_being_asked(cli, demo):
    text = (demo / "facturier.yaml").read_text()
    (demo / "facturier.yaml").write_text(re.sub(r"(?m)^locale: .*$", "locale: fr", text)
                                         if "\nlocale:" in text else text + "locale: fr\n")
    git(demo, "commit", "-qam", "French")
    for args, said in ((("doc", "pay"), "Erreur : Argument manquant 'ID'."),
                       (("--as-of", "x", "status"), "'x' n'est pas une date (AAAA-MM-JJ)"),
                       (("doc", "pay", "nope", "5"), "il n'y a pas de document 'nope'"),
                       (("check",), "récurrences")):
        result = cli(*args, book=demo)
        assert said in result.err, (args, result.err)
    english = cli("--lang", "en", "doc", "pay", book=demo)
    assert "Error: Missing argument 'ID'." in english.err


# --------------------------------------------------------------------------- the files' problems

DIAGNOSTICS = [
    # (parser, file, text, English, French)
    (parse_document, "documents/inv-1.yaml",
     "kind: invoice\ncustomer: acme\ndate: 2025-13-01\nlines: []\n",
     "documents/inv-1.yaml:3:7: field 'date': '2025-13-01' is not a valid date (month must be "
     "in 1..12)",
     "documents/inv-1.yaml:3:7 : champ 'date' : '2025-13-01' n'est pas une date valable (le mois "
     "va de 1 à 12)"),
    (parse_document, "documents/inv-1.yaml",
     "kind: invoice\ncustomer: acme\ndate: 2025-01-01\nlines: []\n",
     "documents/inv-1.yaml:4:1: an invoice needs at least one line",
     "documents/inv-1.yaml:4:1 : une facture demande au moins une ligne"),
    (parse_document, "documents/inv-1.yaml",
     "kind: invoice\ncustomer: acme\ndate: 2025-01-01\nlines: [{quantity: 1e3}]\ncusotmer: x\n",
     "documents/inv-1.yaml:4:20: field 'lines.1.quantity': '1e3' is not a decimal number",
     "documents/inv-1.yaml:4:20 : champ 'lines.1.quantity' : '1e3' n'est pas un nombre décimal"),
    (parse_document, "documents/inv-1.yaml",
     "kind: invoice\ncustomer: acme\ndate: 2025-01-01\nlines: [{quantity: 1}]\ncusotmer: x\n",
     "documents/inv-1.yaml:5:1: unknown field 'cusotmer' — did you mean 'customer'?",
     "documents/inv-1.yaml:5:1 : champ inconnu 'cusotmer' — vouliez-vous dire 'customer' ?"),
    (parse_document, "documents/inv-1.yaml",
     "kind: invoice\nsupplier: acme\ndate: 2025-01-01\nlines: [{quantity: 1}]\n",
     "only expenses have a supplier: an invoice names its customer",
     "seules les dépenses ont un fournisseur : une facture nomme son client"),
    (parse_document, "documents/inv-1.yaml",
     "kind: quote\ncustomer: acme\ndate: 2025-01-01\nlines: [{quantity: 1}]\ncredits: inv-2\n",
     "field 'credits' only applies to credit notes, not to a quote",
     "le champ 'credits' ne s'applique qu'aux notes de crédit, pas à une offre"),
    (parse_document, "documents/inv-1.yaml",
     "kind: invoice\ncustomer: acme\ncustomer: b\ndate: 2025-01-01\nlines: [{quantity: 1}]\n",
     "documents/inv-1.yaml:3:1: duplicate key 'customer' (first given on line 2)",
     "documents/inv-1.yaml:3:1 : clé en double 'customer' (déjà donnée ligne 2)"),
    (parse_document, "documents/inv-1.yaml", "kind: [invoice\n",
     "documents/inv-1.yaml:2:1: YAML syntax error:",
     "documents/inv-1.yaml:2:1 : erreur de syntaxe YAML :"),
    (parse_contact, "contacts/acme.yaml", "name: ACME\nemail: not-an-address\n",
     "contacts/acme.yaml:2:8: field 'email': 'not-an-address' is not an e-mail address",
     "contacts/acme.yaml:2:8 : champ 'email' : 'not-an-address' n'est pas une adresse e-mail"),
    (parse_contact, "contacts/acme.yaml", "- name\n",
     "the file must hold the fields of a contact as key: value lines, not a list",
     "le fichier doit contenir les champs de un contact en lignes clé: valeur, pas une liste"),
    (parse_recurrence, "recurrences/r.yaml",
     "name: R\ntemplate: t\nrule: FREQ=MONTHLY\nstart: 2025-01-01\nlead_days: -1\n",
     "recurrences/r.yaml:5:12: field 'lead_days' must be at least 0 (not -1)",
     "recurrences/r.yaml:5:12 : le champ 'lead_days' doit valoir au moins 0 (pas -1)"),
    (parse_settings, "facturier.yaml", "locale: de\n",
     "facturier.yaml:1:9: field 'locale': 'de' is not one of en, fr",
     "facturier.yaml:1:9 : champ 'locale' : 'de' n'est pas l'une des valeurs en, fr"),
    (parse_settings, "facturier.yaml", "company: {email: billing}\n",
     "facturier.yaml:1:18: field 'company.email': 'billing' is not an e-mail address",
     "facturier.yaml:1:18 : champ 'company.email' : 'billing' n'est pas une adresse e-mail"),
    (parse_settings, "facturier.yaml", 'email: {from: "Atelier billing@x.example"}\n',
     "facturier.yaml:1:15: field 'email.from': 'Atelier billing@x.example' is not an e-mail "
     "address; write an address like name@example.com, or a name and an address",
     "facturier.yaml:1:15 : champ 'email.from' : 'Atelier billing@x.example' n'est pas une "
     "adresse e-mail ; écrivez une adresse comme nom@example.com, ou un nom et une adresse"),
]


@pytest.mark.parametrize("parse, path, text, english, french", DIAGNOSTICS,
                         ids=[row[3][:40] for row in DIAGNOSTICS])
def test_a_files_problem_in_french_keeps_file_line_and_field(parse, path, text, english, french):
    _record, diagnostics = parse(text.encode(), path)
    shown_en = [str(d) for d in diagnostics]
    shown_fr = [d.render("fr") for d in diagnostics]
    assert any(english in s for s in shown_en), shown_en
    assert any(french in s for s in shown_fr), shown_fr
    # the text a cache keeps (plain English) reads back the same way
    for d in diagnostics:
        assert i18n.translate(str(d.message), "fr") == i18n.localize(d.message, "fr")


@pytest.mark.parametrize("sender, ok", [
    ("", True), ("billing@atelier.example", True), ("Atelier <billing@atelier.example>", True),
    ('"Atelier, Sàrl" <billing@atelier.example>', True), ("Atelier", False),
    ("Atelier <billing>", False), ("a@b.example, c@d.example", False),
    ("Atelier <a@b.example> <c@d.example>", False), ("<a@b.example", False),
])
def test_email_from_is_one_sender(sender, ok):
    settings, diagnostics = parse_settings(('email: {from: %s}\n' % (
        '"%s"' % sender.replace('"', '\\"') if sender else '""')).encode())
    errors = [d for d in diagnostics if d.field == "email.from"]
    assert (not errors) == ok, (sender, diagnostics)
    assert settings.email.sender == (sender if ok else "")


def test_check_speaks_french_for_every_file(cli, make_book):
    root = make_book({"facturier.yaml": "locale: fr\ncompany: {email: nope}\n",
                      "contacts/acme.yaml": "name: ACME\n",
                      "documents/inv-1.yaml": "kind: invoice\ncustomer: nobody\ndate: 2025-01-01\n"
                                              "number: 2025-0002\nvalidated: 2025-01-01\n"
                                              "lines: [{quantity: 1, unit_price: 10}]\n"})
    result = cli("check", book=root)
    assert result.code == 1
    for said in ("facturier.yaml:2:18 : champ 'company.email' : 'nope' n'est pas une adresse",
                 "documents/inv-1.yaml:2:1 : customer 'nobody' n'existe pas (pas de "
                 "contacts/nobody.yaml)",
                 "documents/inv-1.yaml:4:1 : trou dans les numéros (facture) de 2025 : 1 manquant "
                 "avant 2025-0002"):
        assert said in result.out, result.out
    assert not _leaks(result.out.replace("customer 'nobody'", "")), result.out
    assert "3 erreurs dans 2 fichiers" in result.err


# --------------------------------------------------------------------------- bank, numbering, e-mail

def _bank_book(make_book, tmp_path):
    from test_bank import BOOK
    return make_book(BOOK)


def _bank_files(make_book, tmp_path):
    (tmp_path / "pas-camt.xml").write_text("<x/>\n")
    (tmp_path / "releve.csv").write_text("Date;Montant;Id\n2025-02-01;10.00;R1\n31.02.2025;5;R2\n")
    return make_book({"facturier.yaml": "currency: CHF\n"})


def _bad_numbering(make_book, tmp_path):
    return make_book({"facturier.yaml": 'currency: CHF\nnumbering:\n  invoice: "{seq:3}"\n'
                                        '  quote: "{year}"\n'})


def _mail_book(make_book, tmp_path, contact=None, extra=""):
    from test_cli_send import DRAFT
    from test_daily_support import base_files
    files = base_files(free_port())
    files["facturier.yaml"] += extra
    if contact is not None:
        files["contacts/acme.yaml"] = contact
    files["documents/2025/03/inv-1.yaml"] = DRAFT
    root = make_book(files)
    made = facturier_cli(root, "--as-of", "2025-03-02", "doc", "validate", "inv-1")
    assert made.returncode == 0, made.stderr
    return root


def facturier_cli(root, *args):
    from test_daily_support import facturier
    return facturier(root, *args)


BANK_DATA = "{data}/camt053_v02.xml"
# (what, book maker, arguments, exit status, English lines, French lines)
SAID = [
    ("bank: unmatched and ambiguous entries", _bank_book,
     ("--as-of", "2025-03-10", "import", "bank", "--dry-run", BANK_DATA), 0,
     ["  unmatched: entry 5 2025-02-07 999.00 CHF from A Stranger, ref E5: no reference, no "
      "invoice number, and the debtor is no contact",
      "  ambiguous: entry 2, transaction 2 2025-02-04 54.05 CHF from bob gmbh, ref E2/2: several "
      "open invoices of bob gmbh have this amount [inv-3, inv-4]",
      "  2025-02-03 108.10 CHF -> inv-1 (by reference)"],
     ["  sans correspondance : écriture 5 2025-02-07 999.00 CHF de A Stranger, réf. E5 : ni "
      "référence, ni numéro de facture, et le débiteur n'est pas un contact",
      "  ambigu : écriture 2, transaction 2 2025-02-04 54.05 CHF de bob gmbh, réf. E2/2 : "
      "plusieurs factures ouvertes de bob gmbh ont ce montant [inv-3, inv-4]",
      "  2025-02-03 108.10 CHF -> inv-1 (par référence)"]),
    ("bank: not a statement", _bank_files, ("import", "bank", "{tmp}/pas-camt.xml"), 1,
     ["pas-camt.xml: not an ISO 20022 camt.053 or camt.054 message (namespace 'none'); nothing "
      "recorded from it"],
     ["pas-camt.xml : pas un message ISO 20022 camt.053 ou camt.054 (espace de noms 'none') ; "
      "rien n'en est enregistré"]),
    ("bank: a CSV date", _bank_files,
     ("import", "bank", "--csv-map", "date=Date,amount=Montant,reference=Id", "{tmp}/releve.csv"), 1,
     ["releve.csv: line 3: date '31.02.2025' is not a date (YYYY-MM-DD, DD.MM.YYYY or DD/MM/YYYY)"],
     ["releve.csv : ligne 3 : la date '31.02.2025' n'est pas une date (AAAA-MM-JJ, JJ.MM.AAAA ou "
      "JJ/MM/AAAA)"]),
    ("bank: --csv-map", _bank_files, ("import", "bank", "--csv-map", "date=Date",
                                      "{tmp}/releve.csv"), 2,
     ["--csv-map needs amount=COLUMN, reference=COLUMN"],
     ["--csv-map demande amount=COLUMN, reference=COLUMN"]),
    ("numbering: a format that cannot be read back", _bad_numbering, ("check",), 1,
     ["facturier.yaml:3:12: field 'numbering.invoice': '{seq:3}': {seq:3} pads with spaces, which "
      "cannot be read back; use a zero padding of 1 to 12 digits, e.g. {seq:04d}",
      "facturier.yaml:4:10: field 'numbering.quote': '{year}' has no {seq}; e.g. "
      "\"{year}-{seq:04d}\""],
     ["facturier.yaml:3:12 : champ 'numbering.invoice' : '{seq:3}' : {seq:3} complète avec des "
      "espaces, ce qui ne peut pas être relu ; utilisez un remplissage de zéros de 1 à 12 "
      "chiffres, par exemple {seq:04d}",
      "facturier.yaml:4:10 : champ 'numbering.quote' : '{year}' n'a pas de {seq} ; par exemple "
      "\"{year}-{seq:04d}\""]),
    ("mail: a contact without an address (MailError)",
     lambda make_book, tmp: _mail_book(make_book, tmp, contact="name: ACME SA\n"),
     ("--as-of", "2025-03-02", "doc", "send", "inv-1"), 1,
     ["cannot e-mail inv-1: contact acme has no e-mail address"],
     ["impossible d'envoyer inv-1 par e-mail : le contact acme n'a pas d'adresse e-mail"]),
    ("mail: nothing listens", _mail_book,
     ("--as-of", "2025-03-02", "doc", "send", "inv-1", "--smtp-timeout", "2"), 1,
     ["deferred 1 e-mail: nothing answers at 127.0.0.1:{port} (connection refused)"],
     ["1 e-mail différé : rien ne répond à 127.0.0.1:{port} (connexion refusée)"]),
]


@pytest.mark.parametrize("what, make, args, code, english, french", SAID,
                         ids=[row[0] for row in SAID])
def test_bank_numbering_and_mail_speak_the_persons_language(cli, make_book, tmp_path, what, make,
                                                            args, code, english, french):
    from test_bank import DATA
    root = make(make_book, tmp_path)
    settings = (root / "facturier.yaml").read_text()
    port = re.search(r"smtp_port: (\d+)", settings)
    args = tuple(a.replace("{tmp}", str(tmp_path)).replace("{data}", str(DATA)) for a in args)
    for lang, lines in (("en", english), ("fr", french)):
        result = cli("--lang", lang, *args, book=root)
        assert result.code == code, (lang, result)
        shown = (result.out + result.err).replace(str(tmp_path) + "/", "")
        for line in lines:
            line = line.replace("{port}", port.group(1) if port else "")
            assert line in shown, (lang, line, shown)
        if lang == "fr":
            assert not _leaks(shown.replace("invoice inv-1", "").replace("bob gmbh", "")), shown


@pytest.mark.parametrize("fault, starttls, english, french", [
    ({}, True, "does not offer STARTTLS, which email.starttls in facturier.yaml asks for",
     "ne propose pas STARTTLS, que email.starttls dans facturier.yaml demande"),
    ({"after_dot": "close"}, False,
     "the message was handed over but the server's answer never came (the connection was lost)",
     "le message a été remis mais la réponse du serveur n'est jamais venue (la connexion a été "
     "perdue)"),
    ({"replies": {"MAIL": "421 4.3.2 bye"}}, False,
     "closed the connection before taking the message (421 4.3.2 bye)",
     "a fermé la connexion avant de prendre le message (421 4.3.2 bye)"),
])
def test_an_smtp_outcome_kept_in_english_reads_back_in_french(fault, starttls, english, french):
    import datetime as dt

    from fault_smtp import FaultServer
    from test_mail import doc_of, make_book as mail_book

    from engine.mail import build_message, send_message
    with FaultServer(**fault) as server:
        book = mail_book(port=server.port, starttls=starttls)
        outcome = send_message(build_message(doc_of(book), book, dt.date(2025, 1, 5)),
                               book.settings.email, environ={}, timeout=5)
    assert english in outcome.detail, outcome
    shown = i18n.translate(outcome.detail, "fr")
    assert french in shown and not _leaks(shown.replace("email.starttls", "")), shown
