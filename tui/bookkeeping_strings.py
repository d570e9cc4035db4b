"""The app's words for bookkeeping (SPEC 10 in the app): the reports screen,
ledger exports and bank statements, in English and French.

Added to ``tui.strings`` when imported (kept apart so that the screens of
SPEC 10 come as new files); the reports' own words — column headings,
sides, bases, groupings — are the CLI's, from ``engine.i18n``.
"""
from __future__ import annotations

from .strings import BINDING_WORDS, STRINGS

WORDS: dict[str, dict[str, str]] = {
    # reports screen
    "reports.title": {"en": "Reports", "fr": "Rapports"},
    "reports.tab.vat": {"en": "VAT", "fr": "TVA"},
    "reports.tab.aging": {"en": "Aging", "fr": "Échéancier"},
    "reports.tab.revenue": {"en": "Revenue", "fr": "Chiffre d'affaires"},
    "reports.period": {"en": "Period", "fr": "Période"},
    "reports.from": {"en": "from", "fr": "du"},
    "reports.to": {"en": "to", "fr": "au"},
    "reports.bad_period": {"en": "Dates are YYYY-MM-DD, the end not before the start",
                           "fr": "Dates au format AAAA-MM-JJ, la fin pas avant le début"},
    "reports.computing": {"en": "Computing…", "fr": "Calcul…"},
    "reports.chart.revenue": {"en": "Net revenue by {by} ({currency})",
                              "fr": "Chiffre d'affaires net par {by} ({currency})"},
    "reports.chart.aging": {"en": "Open receivables by days past due ({currency})",
                            "fr": "Créances ouvertes par jours de retard ({currency})"},
    "reports.chart.others": {"en": "The chart shows {currency}; the table has every currency.",
                             "fr": "Le graphique montre {currency} ; le tableau a toutes les monnaies."},
    "period.this_month": {"en": "This month", "fr": "Ce mois"},
    "period.last_month": {"en": "Last month", "fr": "Le mois passé"},
    "period.this_quarter": {"en": "This quarter", "fr": "Ce trimestre"},
    "period.last_quarter": {"en": "Last quarter", "fr": "Le trimestre passé"},
    "period.this_year": {"en": "This year", "fr": "Cette année"},
    "period.last_year": {"en": "Last year", "fr": "L'année passée"},
    "period.custom": {"en": "Dates below", "fr": "Dates ci-dessous"},
    # keys and palette
    "key.reports": {"en": "Reports", "fr": "Rapports"},
    "key.import_bank": {"en": "Bank import", "fr": "Import bancaire"},
    "key.assign": {"en": "Assign", "fr": "Attribuer"},
    "key.vat": {"en": "VAT", "fr": "TVA"},
    "key.aging": {"en": "Aging", "fr": "Échéancier"},
    "key.revenue": {"en": "Revenue", "fr": "Chiffre d'affaires"},
    "cmd.reports": {"en": "Reports: VAT, aging, revenue",
                    "fr": "Rapports : TVA, échéancier, chiffre d'affaires"},
    "cmd.export_hledger": {"en": "Export hledger journal…", "fr": "Exporter un journal hledger…"},
    "cmd.export_beancount": {"en": "Export beancount…", "fr": "Exporter pour beancount…"},
    "cmd.export.help": {"en": "Write the book as a ledger journal (facturier export)",
                        "fr": "Écrire le livre en journal comptable (facturier export)"},
    "cmd.import_bank": {"en": "Import a bank statement…", "fr": "Importer un relevé bancaire…"},
    "cmd.import_bank.help": {"en": "camt.053, camt.054 or CSV: record the payments it matches",
                             "fr": "camt.053, camt.054 ou CSV : enregistre les paiements reconnus"},
    # export
    "export.title": {"en": "Export a {format} journal", "fr": "Exporter un journal {format}"},
    "export.path": {"en": "File", "fr": "Fichier"},
    "export.from": {"en": "From (empty: the beginning)", "fr": "Du (vide : depuis le début)"},
    "export.to": {"en": "To (empty: the end)", "fr": "Au (vide : jusqu'à la fin)"},
    "export.replace": {"en": "{path} exists. Replace it?", "fr": "{path} existe. Le remplacer ?"},
    "export.done": {"en": "Wrote {n} transactions to {path}",
                    "fr": "{n} transactions écrites dans {path}"},
    "export.unreadable": {"en": "{n} file(s) of the book cannot be read: a journal without them "
                                "would not balance; nothing written (see Problems)",
                          "fr": "{n} fichier(s) du livre illisible(s) : un journal sans eux ne "
                                "serait pas juste ; rien n'est écrit (voir Problèmes)"},
    "export.failed": {"en": "{path} cannot be written: {reason}",
                      "fr": "{path} ne peut être écrit : {reason}"},
    # bank statements
    "bank.form.title": {"en": "Import a bank statement", "fr": "Importer un relevé bancaire"},
    "bank.form.note": {"en": "Credits it matches are recorded as payments, one commit; "
                             "the others are listed for you to assign.",
                       "fr": "Les crédits reconnus sont enregistrés comme paiements, en un commit ; "
                             "les autres sont listés pour que vous les attribuiez."},
    "bank.path": {"en": "Statement file (camt.053, camt.054 or CSV)",
                  "fr": "Fichier du relevé (camt.053, camt.054 ou CSV)"},
    "bank.csv_map": {"en": "CSV columns, CSV only (date=…,amount=…,reference=…)",
                     "fr": "Colonnes CSV, CSV seulement (date=…,amount=…,reference=…)"},
    "bank.needs_map": {"en": "{file} looks like CSV: say its columns (date=…,amount=…,reference=…)",
                       "fr": "{file} semble être un CSV : indiquez ses colonnes (date=…,amount=…,reference=…)"},
    "bank.unreadable": {"en": "{file} cannot be read: {reason}", "fr": "{file} illisible : {reason}"},
    "bank.title": {"en": "Bank statement {file}", "fr": "Relevé bancaire {file}"},
    "bank.summary": {"en": "{kind}: {recorded} recorded now, {already} recorded before, "
                           "{left} to assign, {skipped} not credits",
                     "fr": "{kind} : {recorded} enregistrés maintenant, {already} déjà enregistrés, "
                           "{left} à attribuer, {skipped} non crédits"},
    "bank.hint": {"en": "enter: assign the entry to an open invoice (one payment, one commit)",
                  "fr": "entrée : attribuer l'écriture à une facture ouverte (un paiement, un commit)"},
    "bank.nothing_left": {"en": "Nothing left to assign: every credit of this statement is recorded.",
                          "fr": "Plus rien à attribuer : chaque crédit de ce relevé est enregistré."},
    "bank.col.where": {"en": "Entry", "fr": "Écriture"},
    "bank.col.outcome": {"en": "State", "fr": "État"},
    "bank.col.date": {"en": "Date", "fr": "Date"},
    "bank.col.amount": {"en": "Amount", "fr": "Montant"},
    "bank.col.debtor": {"en": "Debtor", "fr": "Débiteur"},
    "bank.col.reference": {"en": "Bank ref.", "fr": "Réf. banque"},
    "bank.col.text": {"en": "Text", "fr": "Texte"},
    "bank.col.why": {"en": "Why", "fr": "Pourquoi"},
    "bank.pick.title": {"en": "Assign {amount} of {date} from {debtor} to…",
                        "fr": "Attribuer {amount} du {date} de {debtor} à…"},
    "bank.pick.none": {"en": "No open invoice in {currency}.", "fr": "Aucune facture ouverte en {currency}."},
    "bank.pick.hint": {"en": "Open invoices in {currency}, closest amount first; ★ named by the import",
                       "fr": "Factures ouvertes en {currency}, montant le plus proche d'abord ; ★ citées par l'import"},
    "bank.col.number": {"en": "Number", "fr": "Numéro"},
    "bank.col.contact": {"en": "Contact", "fr": "Contact"},
    "bank.col.open": {"en": "Open", "fr": "Ouvert"},
    "bank.col.difference": {"en": "Difference", "fr": "Écart"},
    "bank.unknown_debtor": {"en": "?", "fr": "?"},
}

STRINGS.update(WORDS)
BINDING_WORDS.update({"reports": "key.reports", "import_bank": "key.import_bank",
                      "assign": "key.assign", "vat": "key.vat", "aging": "key.aging",
                      "revenue": "key.revenue"})
