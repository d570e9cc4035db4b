"""The app's own words, in English and French.

Statuses, categories, money and dates come from ``engine.i18n`` (the same
labels the CLI prints); this table holds only what the terminal app itself
says: titles, buttons, key descriptions, alerts and form labels.
"""
from __future__ import annotations

STRINGS: dict[str, dict[str, str]] = {
    # app and dashboard
    "app.title": {"en": "facturier", "fr": "facturier"},
    "loading": {"en": "Loading the book…", "fr": "Chargement du livre…"},
    "dashboard": {"en": "Dashboard", "fr": "Tableau de bord"},
    "as_of": {"en": "as of {date}", "fr": "au {date}"},
    "alert.stopped": {"en": "{n} recurrence stopped", "fr": "{n} récurrence arrêtée"},
    "alert.stopped.many": {"en": "{n} recurrences stopped", "fr": "{n} récurrences arrêtées"},
    "alert.stopped.button": {"en": "Show stopped recurrences", "fr": "Voir les récurrences arrêtées"},
    "alert.invalid": {"en": "{n} problem in the book's files", "fr": "{n} problème dans les fichiers du livre"},
    "alert.invalid.many": {"en": "{n} problems in the book's files",
                           "fr": "{n} problèmes dans les fichiers du livre"},
    "alert.invalid.button": {"en": "Show problems", "fr": "Voir les problèmes"},
    "alert.sending": {"en": "{n} e-mail left sending (not confirmed)",
                      "fr": "{n} e-mail resté en cours d'envoi (non confirmé)"},
    "alert.sending.many": {"en": "{n} e-mails left sending (not confirmed)",
                           "fr": "{n} e-mails restés en cours d'envoi (non confirmés)"},
    "alert.sending.button": {"en": "Show them", "fr": "Les voir"},
    "count.open": {"en": "{count}", "fr": "{count}"},
    "nothing": {"en": "—", "fr": "—"},
    # keys
    "key.quit": {"en": "Quit", "fr": "Quitter"},
    "key.reload": {"en": "Reload", "fr": "Recharger"},
    "key.recurrences": {"en": "Recurrences", "fr": "Récurrences"},
    "key.stopped": {"en": "Stopped", "fr": "Arrêtées"},
    "key.problems": {"en": "Problems", "fr": "Problèmes"},
    "key.back": {"en": "Back", "fr": "Retour"},
    "key.open": {"en": "Open", "fr": "Ouvrir"},
    "key.search": {"en": "Search", "fr": "Chercher"},
    "key.recurring_only": {"en": "Recurring only", "fr": "Récurrents seulement"},
    "key.sort": {"en": "Sort", "fr": "Trier"},
    "key.reverse": {"en": "Reverse", "fr": "Inverser"},
    "key.palette": {"en": "Commands", "fr": "Commandes"},
    "key.new_recurrence": {"en": "New recurrence", "fr": "Nouvelle récurrence"},
    "key.edit": {"en": "Edit", "fr": "Modifier"},
    "key.repair": {"en": "Repair", "fr": "Réparer"},
    "key.history_filter": {"en": "Filter history", "fr": "Filtrer l'historique"},
    "key.category": {"en": "Category", "fr": "Catégorie"},
    "key.all": {"en": "All", "fr": "Tous"},
    "key.base_of": {"en": "Its recurrence", "fr": "Sa récurrence"},
    # document actions
    "act.validate": {"en": "Validate", "fr": "Valider"},
    "act.pay": {"en": "Payment", "fr": "Paiement"},
    "act.discount": {"en": "Discount", "fr": "Escompte"},
    "act.hold": {"en": "Hold", "fr": "Suspendre"},
    "act.release": {"en": "Release", "fr": "Reprendre"},
    "act.credit": {"en": "Credit note", "fr": "Note de crédit"},
    "act.write_off": {"en": "Write off", "fr": "Perte"},
    "act.convert": {"en": "Convert", "fr": "Convertir"},
    "act.decline": {"en": "Decline", "fr": "Refuser"},
    "act.returned": {"en": "Returned mail", "fr": "Courrier retourné"},
    "act.send": {"en": "Send", "fr": "Envoyer"},
    "act.done": {"en": "Done: {subject}", "fr": "Fait : {subject}"},
    "act.failed": {"en": "Refused: {message}", "fr": "Refusé : {message}"},
    "act.unavailable": {"en": "This action is not available yet in this version of the engine.",
                        "fr": "Cette action n'est pas encore disponible dans cette version du moteur."},
    # lists
    "list.search": {"en": "Search: number, contact, id, text", "fr": "Chercher : numéro, contact, id, texte"},
    "list.count": {"en": "{shown} of {total} documents", "fr": "{shown} sur {total} documents"},
    "list.recurring_only": {"en": "recurring only", "fr": "récurrents seulement"},
    "list.sorted": {"en": "sorted by {column}", "fr": "trié par {column}"},
    "list.all": {"en": "All documents", "fr": "Tous les documents"},
    "list.sending": {"en": "E-mails left sending", "fr": "E-mails en cours d'envoi"},
    "col.number": {"en": "Number", "fr": "Numéro"},
    "col.id": {"en": "Id", "fr": "Id"},
    "col.kind": {"en": "Kind", "fr": "Type"},
    "col.contact": {"en": "Contact", "fr": "Contact"},
    "col.date": {"en": "Date", "fr": "Date"},
    "col.due": {"en": "Due", "fr": "Échéance"},
    "col.total": {"en": "Total", "fr": "Total"},
    "col.open": {"en": "Open", "fr": "Ouvert"},
    "col.status": {"en": "Status", "fr": "Statut"},
    "col.name": {"en": "Name", "fr": "Nom"},
    "col.rule": {"en": "Rule", "fr": "Règle"},
    "col.next": {"en": "Next", "fr": "Prochaine"},
    "col.state": {"en": "State", "fr": "État"},
    "col.generated": {"en": "Generated", "fr": "Générés"},
    "draft": {"en": "draft", "fr": "brouillon"},
    # document view
    "doc.title": {"en": "Document {name}", "fr": "Document {name}"},
    "doc.kind.invoice": {"en": "Invoice", "fr": "Facture"},
    "doc.kind.credit_note": {"en": "Credit note", "fr": "Note de crédit"},
    "doc.kind.quote": {"en": "Quote", "fr": "Offre"},
    "doc.kind.work_order": {"en": "Work order", "fr": "Bon de travail"},
    "doc.kind.expense": {"en": "Expense", "fr": "Dépense"},
    "doc.customer": {"en": "Customer", "fr": "Client"},
    "doc.supplier": {"en": "Supplier", "fr": "Fournisseur"},
    "doc.date": {"en": "Date", "fr": "Date"},
    "doc.due": {"en": "Due", "fr": "Échéance"},
    "doc.number": {"en": "Number", "fr": "Numéro"},
    "doc.validated": {"en": "Validated", "fr": "Validé"},
    "doc.scheduled": {"en": "Scheduled: processed on its date", "fr": "Planifié : traité à sa date"},
    "doc.status": {"en": "Status", "fr": "Statut"},
    "doc.file": {"en": "File", "fr": "Fichier"},
    "doc.lines": {"en": "Lines", "fr": "Lignes"},
    "doc.description": {"en": "Description", "fr": "Description"},
    "doc.quantity": {"en": "Qty", "fr": "Qté"},
    "doc.unit_price": {"en": "Unit price", "fr": "Prix unitaire"},
    "doc.vat": {"en": "VAT %", "fr": "TVA %"},
    "doc.net": {"en": "Net", "fr": "Net"},
    "doc.totals": {"en": "Totals", "fr": "Totaux"},
    "doc.total": {"en": "Total", "fr": "Total"},
    "doc.paid": {"en": "Paid", "fr": "Payé"},
    "doc.discounted": {"en": "Discounted", "fr": "Escompté"},
    "doc.credited": {"en": "Credited", "fr": "Crédité"},
    "doc.open": {"en": "Open", "fr": "Ouvert"},
    "doc.payments": {"en": "Payments", "fr": "Paiements"},
    "doc.discounts": {"en": "Discounts", "fr": "Escomptes"},
    "doc.deliveries": {"en": "Deliveries", "fr": "Envois"},
    "doc.reminders": {"en": "Reminders", "fr": "Rappels"},
    "doc.holds": {"en": "Holds", "fr": "Suspensions"},
    "doc.write_off": {"en": "Written off", "fr": "Passé en perte"},
    "doc.credit_notes": {"en": "Credit notes", "fr": "Notes de crédit"},
    "doc.credits": {"en": "Credits invoice", "fr": "Crédite la facture"},
    "doc.converted_to": {"en": "Converted to", "fr": "Converti en"},
    "doc.converted_from": {"en": "Made from", "fr": "Issu de"},
    "doc.declined": {"en": "Declined on", "fr": "Refusé le"},
    "doc.notes": {"en": "Notes", "fr": "Notes"},
    "doc.none": {"en": "none", "fr": "aucun"},
    "doc.generated_by": {"en": "↻ Generated by recurrence {name}", "fr": "↻ Généré par la récurrence {name}"},
    "doc.base_of": {"en": "Base of recurrence {name}", "fr": "Sert de base à la récurrence {name}"},
    "doc.missing": {"en": "This document no longer exists.", "fr": "Ce document n'existe plus."},
    "level": {"en": "level {n}", "fr": "niveau {n}"},
    "until_open": {"en": "still on hold", "fr": "toujours suspendu"},
    # history
    "history": {"en": "History", "fr": "Historique"},
    "history.loading": {"en": "Loading history…", "fr": "Chargement de l'historique…"},
    "history.empty": {"en": "No history.", "fr": "Aucun historique."},
    "history.all": {"en": "All actions", "fr": "Toutes les actions"},
    # recurrences
    "rec.list": {"en": "Recurrences", "fr": "Récurrences"},
    "rec.stopped_list": {"en": "Stopped recurrences", "fr": "Récurrences arrêtées"},
    "rec.title": {"en": "Recurrence {name}", "fr": "Récurrence {name}"},
    "rec.state.active": {"en": "active", "fr": "active"},
    "rec.state.stopped": {"en": "stopped", "fr": "arrêtée"},
    "rec.state.ended": {"en": "ended", "fr": "terminée"},
    "rec.template": {"en": "Template", "fr": "Modèle"},
    "rec.rule": {"en": "Rule", "fr": "Règle"},
    "rec.start": {"en": "Start", "fr": "Début"},
    "rec.until": {"en": "Until", "fr": "Jusqu'au"},
    "rec.issue": {"en": "Issue", "fr": "Émission"},
    "rec.lead_days": {"en": "Lead days", "fr": "Jours d'avance"},
    "rec.last": {"en": "Last handled", "fr": "Dernière traitée"},
    "rec.skipped": {"en": "Skipped", "fr": "Sautées"},
    "rec.ended": {"en": "Ended on", "fr": "Terminée le"},
    "rec.stopped": {"en": "Stopped on {at}: {cause}", "fr": "Arrêtée le {at} : {cause}"},
    "rec.generated": {"en": "Generated documents", "fr": "Documents générés"},
    "rec.next": {"en": "Next occurrences", "fr": "Prochaines occurrences"},
    "rec.missing": {"en": "Missing occurrences", "fr": "Occurrences manquantes"},
    "rec.none": {"en": "none", "fr": "aucune"},
    "rec.missing_template": {"en": "template {id} does not exist", "fr": "le modèle {id} n'existe pas"},
    # repair
    "repair.title": {"en": "Repair recurrence {name}", "fr": "Réparer la récurrence {name}"},
    "repair.cause": {"en": "Cause", "fr": "Cause"},
    "repair.skip": {"en": "Reactivate, skip the missing documents",
                    "fr": "Réactiver et sauter les documents manquants"},
    "repair.create": {"en": "Reactivate, create the missing document",
                      "fr": "Réactiver et créer le document manquant"},
    "repair.end": {"en": "End the recurrence", "fr": "Terminer la récurrence"},
    "repair.cancel": {"en": "Cancel", "fr": "Annuler"},
    "repair.create.none": {"en": "Create missing: no occurrence is missing.",
                           "fr": "Créer : aucune occurrence ne manque."},
    "repair.create.many": {"en": "Create missing: {n} occurrences are missing; only one can be created here. "
                                 "Skip them, or create them by hand.",
                           "fr": "Créer : {n} occurrences manquent ; une seule peut être créée ici. "
                                 "Sautez-les ou créez-les à la main."},
    # forms
    "form.ok": {"en": "OK", "fr": "OK"},
    "form.cancel": {"en": "Cancel", "fr": "Annuler"},
    "form.required": {"en": "required", "fr": "obligatoire"},
    "form.bad_date": {"en": "a date as YYYY-MM-DD", "fr": "une date AAAA-MM-JJ"},
    "form.bad_amount": {"en": "an amount like 120.50", "fr": "un montant comme 120.50"},
    "form.positive": {"en": "must be more than zero", "fr": "doit être plus que zéro"},
    "form.bad_int": {"en": "a whole number", "fr": "un nombre entier"},
    "form.amount": {"en": "Amount", "fr": "Montant"},
    "form.date": {"en": "Date", "fr": "Date"},
    "form.reference": {"en": "Reference", "fr": "Référence"},
    "form.reason": {"en": "Reason", "fr": "Motif"},
    "form.kind": {"en": "Convert to", "fr": "Convertir en"},
    "form.confirm": {"en": "Confirm: {what}?", "fr": "Confirmer : {what} ?"},
    "form.name": {"en": "Name", "fr": "Nom"},
    "form.template": {"en": "Template (document id)", "fr": "Modèle (id de document)"},
    "form.frequency": {"en": "Frequency", "fr": "Fréquence"},
    "form.rrule": {"en": "RRULE", "fr": "RRULE"},
    "form.start": {"en": "Start", "fr": "Début"},
    "form.until": {"en": "End date (optional)", "fr": "Date de fin (facultative)"},
    "form.count": {"en": "or count (optional)", "fr": "ou nombre (facultatif)"},
    "form.issue": {"en": "Issue mode", "fr": "Mode d'émission"},
    "form.lead_days": {"en": "Lead days", "fr": "Jours d'avance"},
    "form.preview": {"en": "Next occurrences", "fr": "Prochaines occurrences"},
    "form.preview.bad": {"en": "Rule problem: {message}", "fr": "Problème de règle : {message}"},
    "form.until_or_count": {"en": "give an end date or a count, not both",
                            "fr": "une date de fin ou un nombre, pas les deux"},
    "form.new_recurrence": {"en": "New recurrence", "fr": "Nouvelle récurrence"},
    "form.edit_recurrence": {"en": "Edit recurrence {name}", "fr": "Modifier la récurrence {name}"},
    "freq.weekly": {"en": "Weekly", "fr": "Hebdomadaire"},
    "freq.monthly": {"en": "Monthly", "fr": "Mensuelle"},
    "freq.quarterly": {"en": "Quarterly", "fr": "Trimestrielle"},
    "freq.yearly": {"en": "Yearly", "fr": "Annuelle"},
    "freq.last_day": {"en": "Last day of the month", "fr": "Dernier jour du mois"},
    "freq.raw": {"en": "Raw RRULE", "fr": "RRULE brute"},
    "issue.draft": {"en": "draft", "fr": "brouillon"},
    "issue.validate": {"en": "validate", "fr": "valider"},
    "issue.send": {"en": "send", "fr": "envoyer"},
    # problems
    "problems.title": {"en": "Problems in the book", "fr": "Problèmes dans le livre"},
    "problems.hint": {"en": "Fix them in the files, then press r to reload.",
                      "fr": "Corrigez-les dans les fichiers, puis appuyez sur r pour recharger."},
    "problems.none": {"en": "No problem: every file is valid.", "fr": "Aucun problème : chaque fichier est valide."},
    # palette and daily job
    "cmd.goto": {"en": "Go to: {label}", "fr": "Aller à : {label}"},
    "cmd.document": {"en": "Open document {name}", "fr": "Ouvrir le document {name}"},
    "cmd.run_daily": {"en": "Run the daily job", "fr": "Lancer le traitement quotidien"},
    "cmd.run_daily.help": {"en": "Generate due recurrences, send, remind (facturier run)",
                           "fr": "Générer les récurrences dues, envoyer, relancer (facturier run)"},
    "cmd.reload": {"en": "Reload the book", "fr": "Recharger le livre"},
    "cmd.recurrences": {"en": "Recurrences", "fr": "Récurrences"},
    "cmd.stopped": {"en": "Stopped recurrences", "fr": "Récurrences arrêtées"},
    "cmd.problems": {"en": "Problems in the files", "fr": "Problèmes dans les fichiers"},
    "cmd.new_recurrence": {"en": "New recurrence", "fr": "Nouvelle récurrence"},
    "cmd.dashboard": {"en": "Dashboard", "fr": "Tableau de bord"},
    "daily.done": {"en": "Daily job: {summary}", "fr": "Traitement quotidien : {summary}"},
    "daily.nothing": {"en": "nothing to do", "fr": "rien à faire"},
    "reloaded": {"en": "The book changed outside the app: reloaded.",
                 "fr": "Le livre a changé hors de l'application : rechargé."},
    "error": {"en": "Error: {message}", "fr": "Erreur : {message}"},
    "busy": {"en": "Working…", "fr": "En cours…"},
}


# the last part of a Binding id -> the key of its description here
BINDING_WORDS = {
    "quit": "key.quit", "reload": "key.reload", "recurrences": "key.recurrences",
    "back": "key.back", "cancel": "form.cancel", "submit": "form.ok", "yes": "form.ok",
    "all": "key.all", "stopped": "key.stopped", "problems": "key.problems",
    "open_status": "key.open", "open": "key.open", "open_category": "key.category",
    "recurring_only": "key.recurring_only", "reverse": "key.reverse", "search": "key.search",
    "sort": "key.sort", "edit": "key.edit", "repair": "key.repair", "new": "key.new_recurrence",
    "base_of": "key.base_of",
}


def binding_words(binding_id: str, lang: str):
    """The description of the key binding ``binding_id`` in ``lang`` (None: keep it)."""
    scope, _, name = binding_id.rpartition(".")
    if scope == "document" and "act." + name in STRINGS:
        return tr("act." + name, lang)
    key = BINDING_WORDS.get(name)
    return tr(key, lang) if key else None


def tr(key: str, lang: str = "en", **values) -> str:
    """The app's text for ``key`` in ``lang`` (English when missing), with
    ``{name}`` fields filled from ``values``."""
    entry = STRINGS.get(key)
    if entry is None:
        text = key
    else:
        text = entry.get(lang) or entry["en"]
    return text.format(**values) if values else text


def plural(key: str, n: int, lang: str = "en", **values) -> str:
    """``key`` for one, ``key.many`` for several (French counts 0 and 1 as one)."""
    one = n == 1 or (lang == "fr" and n == 0)
    return tr(key if one else key + ".many", lang, n=n, **values)
