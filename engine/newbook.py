"""The files of a new, empty book (`facturier init`)."""
from __future__ import annotations

SETTINGS_TEMPLATE = """\
# facturier settings. Every key is optional; the values shown are the defaults.
# Reference: the "Book format" section of facturier's README.

company:
  name: ""
  address: ""
  email: ""
  vat_id: ""
currency: EUR            # ISO 4217 code, the default for documents
locale: en               # en | fr: language of the interface and of e-mails
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

GITIGNORE = ".facturier/\n"


def new_book_files() -> dict[str, bytes]:
    """Settings with every default written out and commented, the three folders
    (kept in git by an empty .gitkeep), and a .gitignore for the local cache."""
    return {
        "facturier.yaml": SETTINGS_TEMPLATE.encode(),
        ".gitignore": GITIGNORE.encode(),
        "contacts/.gitkeep": b"",
        "documents/.gitkeep": b"",
        "recurrences/.gitkeep": b"",
    }
