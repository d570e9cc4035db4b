"""Shared by the daily-run tests: a small real book and a real SMTP server."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

from aiosmtpd.controller import Controller

REPO = Path(__file__).resolve().parent.parent

def settings(port: int = 25, max_catch_up: int = 3, future: str = "draft", locale: str = "en") -> str:
    return textwrap.dedent("""\
        company: {name: Atelier Exemple SA, vat_id: CHE-123.456.789 MWST,
                  address: {street: Rue du Lac, number: "1", postcode: "1000", city: Lausanne, country: CH}}
        currency: CHF
        locale: %s
        future_invoices: %s
        recurrences:
          max_catch_up: %d
        email:
          from: "Atelier Exemple <billing@atelier.example>"
          smtp_host: 127.0.0.1
          smtp_port: %d
        """) % (locale, future, max_catch_up, port)


ACME = "name: ACME SA\nemail: ap@acme.example\n"
NOMAIL = "name: No Mail Sàrl\n"

TEMPLATE = """\
kind: invoice
customer: acme
date: 2025-01-05
number: "2025-0001"
validated: 2025-01-05
lines:
  - description: Hosting {period}
    quantity: 1
    unit_price: "120.00"
    vat: "8.1"
payments:
  - date: 2025-01-10
    amount: "129.72"
"""


def recurrence(template="inv-tpl", rule="FREQ=MONTHLY;BYMONTHDAY=1", start="2025-01-01",
               issue="draft", last=None, extra="") -> str:
    text = "# a person's comment, kept\nname: Hosting\ntemplate: %s\nrule: %s\nstart: %s\nissue: %s\n" % (
        template, rule, start, issue)
    if last:
        text += "last: %s\n" % last
    return text + extra


def base_files(port: int = 25, **kw) -> dict:
    return {"facturier.yaml": settings(port, **kw), "contacts/acme.yaml": ACME,
            "contacts/nomail.yaml": NOMAIL,
            "documents/2025/01/inv-tpl.yaml": TEMPLATE}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Handler:
    """Accepts, or answers RCPT/DATA with a fixed reply; keeps what it got."""

    def __init__(self, rcpt_answer=None, data_answer=None):
        self.rcpt_answer, self.data_answer = rcpt_answer, data_answer
        self.received: list = []

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.rcpt_answer:
            return self.rcpt_answer
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        if self.data_answer:
            return self.data_answer
        self.received.append(envelope.content)
        return "250 OK queued"

    def subjects(self) -> list[str]:
        import email
        import email.policy
        return [str(email.message_from_bytes(m, policy=email.policy.default)["Subject"])
                for m in self.received]

    def documents(self) -> list[str]:
        import email
        import email.policy
        return [str(email.message_from_bytes(m, policy=email.policy.default)["X-Facturier-Document"])
                for m in self.received]


class Server:
    def __init__(self, handler: Handler, port: int | None = None):
        self.handler = handler
        self.port = port or free_port()
        self.controller = Controller(handler, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        self.controller.stop()


def facturier(root, *args, env=None, script=None) -> subprocess.CompletedProcess:
    """The real command in a subprocess (``script``: python code run first, to
    simulate a crash)."""
    full_env = dict(os.environ, COLUMNS="80", PYTHONPATH=str(REPO))
    full_env.update(env or {})
    code = (script or "") + "\nimport sys\nfrom tui.entry import main\nsys.argv[0] = 'facturier'\nmain()\n"
    return subprocess.run([sys.executable, "-c", code, "--book", str(root), *args],
                          capture_output=True, text=True, env=full_env, cwd=str(REPO))


def git(root, *args) -> str:
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


# What an e-invoice needs (EN 16931): the seller's and a business customer's
# VAT ids and structured addresses (issuing refuses an incomplete one)
SELLER = ('company: {name: Atelier Exemple SA, vat_id: CHE-123.456.789 MWST, address: '
          '{street: Rue du Lac, number: "1", postcode: "1000", city: Lausanne, country: CH}}\n')
BUYER = ('name: ACME SA\nemail: ap@acme.example\nvat_id: CHE-987.654.321 MWST\naddress: '
         '{street: Quai du Mont-Blanc, number: "5", postcode: "1201", city: Genève, country: CH}\n')


def issuing_files(port: int, contact_wants: str = "pdf", book_embeds: str = "facturx") -> dict:
    """base_files with a seller and a business customer complete for e-invoices:
    the contact's ``einvoice`` and the book's."""
    files = base_files(port)
    kept, depth = [], 0
    for line in files["facturier.yaml"].splitlines():     # the settings but their company
        if line.startswith("company:") or depth:
            depth += line.count("{") - line.count("}")
            continue
        kept.append(line + "\n")
    files["facturier.yaml"] = SELLER + "".join(kept) + "einvoice: %s\n" % book_embeds
    files["contacts/acme.yaml"] = BUYER + "einvoice: %s\n" % contact_wants
    return files
