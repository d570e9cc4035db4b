"""--lang fr: every message, label and refusal of the CLI in French, from the one
catalogue of engine/i18n.py (refusals are codes with parameters rendered at the
face; stored English messages — stop causes, commit subjects — read back)."""
from __future__ import annotations

import re
import string

import pytest

from engine import i18n
from tests.conftest import git

SETTINGS = 'currency: CHF\nvat: "8.1"\nnumbering:\n  quote: "{year}-{seq:04d}"\n'
INVOICE = ("kind: invoice\ncustomer: acme\ndate: 2025-01-05\nnumber: 2025-0001\n"
           "validated: 2025-01-05\nlines:\n  - {description: Work, quantity: 2, "
           "unit_price: \"100.00\"}\npayments: [{date: 2025-01-20, amount: \"50.00\", "
           "reference: bank 7}]\nholds: [{from: 2025-01-21, to: 2025-01-22, reason: call}]\n"
           "reminders: [{level: 1, date: 2025-02-15}]\n")
QUOTE = ("kind: quote\ncustomer: acme\ndate: 2025-01-06\nnumber: 2025-0001\n"
         "validated: 2025-01-06\nlines:\n  - {description: Offer, quantity: 1, unit_price: \"10\"}\n")
RECURRENCE = ("name: Hosting\ntemplate: inv-20250105-aaaa\nrule: FREQ=MONTHLY;BYMONTHDAY=5\n"
              "start: 2025-01-05\nissue: send\nlast: 2025-01-05\n")

ENGLISH_WORDS = re.compile(r"\b(Status|Customer|Due|Paid|Open|Credited|Discounts|payment|hold "
                           r"from|reminder|error|refused|there is|cannot|is stopped|generated|"
                           r"nothing|recorded|Record|Delete|Validate|documents?,|contacts?,)\b")


@pytest.fixture
def book(make_book):
    return make_book({"facturier.yaml": SETTINGS,
                      "contacts/acme.yaml": "name: ACME SA\n",
                      "documents/2025/01/inv-20250105-aaaa.yaml": INVOICE,
                      "documents/2025/01/q-20250106-cccc.yaml": QUOTE,
                      "recurrences/hosting.yaml": RECURRENCE})


def fr(cli, book, *args, **kw):
    return cli("--lang", "fr", "--as-of", "2025-03-01", *args, book=book, **kw)


def test_doc_show_speaks_one_language(cli, book):
    r = fr(cli, book, "doc", "show", "inv-20250105-aaaa")
    assert r.code == 0, r
    for said in ("Facture 2025-0001  —  inv-20250105-aaaa", "Statut : ", "Client : acme",
                 "Échéance : ", "Validé le : 2025-01-05", "Prix unit.", "Payé ", "Ouvert ",
                 "  paiement 2025-01-20", "  en suspens du 2025-01-21 au 2025-01-22  call",
                 "  rappel de niveau 1 le 2025-02-15"):
        assert said in r.out, (said, r.out)
    assert not ENGLISH_WORDS.search(r.out), r.out
    r = cli("--as-of", "2025-03-01", "doc", "show", "inv-20250105-aaaa", book=book)
    assert "Status: " in r.out and "Customer: acme" in r.out and "  payment 2025-01-20" in r.out


def test_refusals_in_french(cli, book):
    head = git(book, "rev-parse", "HEAD")
    cases = [
        (("doc", "delete", "inv-20250105-aaaa"), 1,
         "erreur : facture 2025-0001 (inv-20250105-aaaa) : ce document est validé ; un document "
         "validé est une pièce légale"),
        (("doc", "pay", "inv-20250105-aaaa", "-5"), 1,
         "erreur : le paiement doit être supérieur à zéro, pas -5"),
        (("doc", "pay", "inv-20250105-aaaa", "1e3"), 2, "'1e3' n'est pas un nombre"),
        (("doc", "pay", "2025-0001", "5"), 1,
         "erreur : 2025-0001 est le numéro de 2 documents : facture 2025-0001 "
         "(inv-20250105-aaaa), offre 2025-0001 (q-20250106-cccc) ; donnez plutôt l'identifiant"),
        (("doc", "pay", "nope", "5"), 1, "erreur : il n'y a pas de document 'nope'"),
        (("doc", "decline", "inv-20250105-aaaa"), 1,
         "seules les offres peuvent être refusées"),
        (("doc", "release", "inv-20250105-aaaa"), 1, "ce document n'est pas en suspens"),
        (("recurrence", "repair", "hosting", "--end"), 1,
         "refusé : la récurrence hosting est active, pas arrêtée"),
        (("recurrence", "repair", "hosting", "--end", "--skip-missing"), 2,
         "choisissez exactement une option parmi --skip-missing, --create-missing, --end "
         "(pas --skip-missing et --end)"),
        (("contact", "new", "--name", "Bob", "--email", "bob"), 1,
         "erreur : les options : champ 'email' : 'bob' n'est pas une adresse e-mail ; écrivez "
         "une adresse comme nom@example.com"),
    ]
    for args, code, said in cases:
        r = fr(cli, book, *args)
        assert r.code == code, (args, r)
        assert said in r.err, (args, r.err)
        assert "Traceback" not in r.err
    assert git(book, "rev-parse", "HEAD") == head


def test_a_stop_cause_is_stored_in_english_and_shown_in_french(cli, book):
    r = fr(cli, book, "run")
    assert r.code == 3, r
    assert ("arrêtée : hosting : le contact acme n'a pas d'adresse e-mail, et cette récurrence "
            "envoie ses factures") in r.out, r.out
    assert "1 récurrence arrêtée maintenant ; 2 commits" in r.out
    assert "1 récurrence est arrêtée : hosting" in r.err
    text = (book / "recurrences" / "hosting.yaml").read_text()
    assert "cause: contact acme has no e-mail address, and this recurrence sends its invoices" \
        in text.replace('"', "")
    r = fr(cli, book, "recurrence", "list")
    assert "ARRÊTÉE" in r.out
    assert "hosting est arrêtée : le contact acme n'a pas d'adresse e-mail" in r.err
    r = fr(cli, book, "recurrence", "show", "hosting")
    assert "le contact acme n'a pas d'adresse e-mail" in r.out
    r = fr(cli, book, "log", "hosting", env={"COLUMNS": ""})       # piped: nothing cut
    assert "Arrêter la récurrence hosting : le contact acme n'a pas d'adresse e-mail" in r.out
    assert "Objet" in r.out and "Auteur" in r.out
    r = cli("--as-of", "2025-03-01", "recurrence", "list", "--format", "json", book=book)
    assert '"cause": "contact acme has no e-mail address' in r.out      # data stays as stored


def test_a_french_book_speaks_french_unless_asked_otherwise(cli, make_book):
    root = make_book({"facturier.yaml": "locale: fr\n", "contacts/acme.yaml": "name: ACME\n"})
    r = cli("contact", "delete", "nope", book=root)
    assert r.code == 1 and "erreur : il n'y a pas de contact 'nope'" in r.err, r
    r = cli("--lang", "en", "contact", "delete", "nope", book=root)
    assert "error: there is no contact 'nope'" in r.err, r
    r = cli("contact", "new", "--name", "Bob", book=root)
    assert r.code == 0 and "Créer le contact bob (Bob) (commit " in r.err, r
    r = cli("check", book=root)
    assert "0 documents, 2 contacts, 0 récurrences : aucune erreur" in r.err, r


# --------------------------------------------------------------------------- the catalogue

def _fields(text: str) -> set:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.mark.parametrize("key", sorted(i18n.MESSAGES))
def test_every_message_has_both_languages_with_the_same_fields(key):
    texts = i18n.MESSAGES[key]
    assert texts.get("en") and texts.get("fr"), key
    assert _fields(texts["en"]) == _fields(texts["fr"]), key


@pytest.mark.parametrize("key", sorted(k for k in i18n.MESSAGES if k.startswith(i18n.TRANSLATABLE)))
def test_a_stored_english_message_reads_back_into_french(key):
    params = {name: "x%d" % i for i, name in enumerate(sorted(_fields(i18n.MESSAGES[key]["en"])))}
    english = i18n.render(key, "en", **params)
    assert i18n.translate(english, "fr") == i18n.render(key, "fr", **params), key
    assert i18n.translate(english, "en") == english
