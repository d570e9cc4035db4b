"""The files of a new, empty book (`facturier init`)."""
from __future__ import annotations

SETTINGS_TEMPLATE = """\
# facturier settings. Every key is optional; the values shown are the defaults.
# Reference: the "Book format" section of facturier's README.

company:                 # printed on documents and put in e-invoices
  name: ""
  address:               # or free lines: address: |
    street: ""
    number: ""
    postcode: ""
    city: ""
    country: ""          # ISO 3166 alpha-2, e.g. FR or CH
  email: ""
  phone: ""
  vat_id: ""             # e.g. FR12345678901, DE123456789, CHE-123.456.789 MWST
  registration: ""       # SIREN/SIRET, Handelsregister, UID...
  iban: ""               # where customers pay; a Swiss QR-IBAN enables QR references
  bic: ""
payment_qr: auto         # auto | swiss | epc | none: the payment code on invoices
einvoice: facturx        # facturx | none: the e-invoice embedded in invoice PDFs
{legal_notes}currency: EUR            # ISO 4217 code, the default for documents
locale: {locale}               # en | fr: language of the interface and of e-mails
timezone: UTC            # IANA zone: "today" is the date in this zone
vat: "0"                 # default VAT rate (percent) for lines without one
terms:
  payment_days: 30         # invoice due date = date + payment_days
  first_reminder_days: 10  # how long the first reminder runs before the second
  second_reminder_days: 10 # how long the second reminder runs before litigation
future_invoices: draft   # draft | process: what a scheduled future-dated invoice
                         # becomes on its date
numbering:               # Python format strings with the fields year and seq
  invoice: "{year}-{seq:04d}"
  credit_note: "CN-{year}-{seq:04d}"
  quote: "Q-{year}-{seq:04d}"
  work_order: "WO-{year}-{seq:04d}"
recurrences:
  max_catch_up: 3        # more due occurrences than this at once stops the recurrence
email:
  from: ""               # "Name <address>"
  smtp_host: localhost
  smtp_port: 25
  starttls: false
  # credentials never live in the book: set FACTURIER_SMTP_USER and
  # FACTURIER_SMTP_PASSWORD in the environment
"""

# The mentions French law requires on invoices between businesses (Code de
# commerce L441-9, L441-10, D441-5): editable defaults of a new French book.
FRENCH_LEGAL_NOTES = """\
legal_notes:             # printed on invoices in the book's locale: edit them to your terms
  fr:
    - "Pénalités de retard : taux d'intérêt de la BCE majoré de 10 points, exigibles \\
      dès le lendemain de la date d'échéance (art. L441-10 du Code de commerce)."
    - "Indemnité forfaitaire pour frais de recouvrement en cas de retard de paiement : \\
      40 € (art. L441-10 et D441-5 du Code de commerce)."
    - "Pas d'escompte pour paiement anticipé."
"""
NO_LEGAL_NOTES = "legal_notes: {}          # printed on invoices, per locale: {fr: [...], en: [...]}\n"

GITIGNORE = ".facturier/\n"


def settings_text(locale: str = "en") -> str:
    """The commented settings of a new book; a French one gets the legal
    mentions as editable defaults (SPEC 8.1)."""
    notes = FRENCH_LEGAL_NOTES if locale == "fr" else NO_LEGAL_NOTES
    return SETTINGS_TEMPLATE.replace("{legal_notes}", notes).replace("{locale}", locale)


def new_book_files(locale: str = "en") -> dict[str, bytes]:
    """Settings with every default written out and commented, the three folders
    (kept in git by an empty .gitkeep), and a .gitignore for the local cache."""
    return {
        "facturier.yaml": settings_text(locale).encode(),
        ".gitignore": GITIGNORE.encode(),
        "contacts/.gitkeep": b"",
        "documents/.gitkeep": b"",
        "recurrences/.gitkeep": b"",
    }
