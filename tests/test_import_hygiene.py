"""The engine is headless: importing it (every module, the CLI included) must
not load the terminal app, Textual or Rich (harlequin's rule)."""
import pkgutil
import subprocess
import sys
from pathlib import Path

import engine

REPO = Path(__file__).resolve().parent.parent


def test_engine_never_imports_the_app():
    modules = ["engine." + m.name for m in pkgutil.walk_packages(engine.__path__, "")
               if not m.name.startswith("data")]
    code = ("import importlib, sys\n"
            "for name in %r:\n"
            "    importlib.import_module(name)\n"
            "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('tui', 'textual', 'rich'))\n"
            "print(','.join(bad))\n" % modules)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "", "engine imported: " + proc.stdout
    assert "engine.cli" in modules and "engine.status" in modules


def test_headless_commands_do_not_load_textual():
    """`facturier status` goes through tui/entry.py (the console script) but
    must not import Textual until the app opens."""
    code = ("import sys, tui.entry\n"
            "print(','.join(sorted(m for m in sys.modules if m.split('.')[0] in ('textual', 'rich'))))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""


PURE = ["model", "loader", "yamlsafe", "money", "status", "checks", "recurrence", "numbering",
        "writer", "listing", "reports", "ledger", "sheet", "einvoice", "payref"]
CLOCK = {("date", "today"), ("datetime", "now"), ("datetime", "today"), ("datetime", "utcnow"),
         ("time", "time"), ("time", "time_ns"), ("time", "localtime"), ("time", "monotonic")}


def test_pure_modules_never_read_the_clock():
    """The date is passed in (hledger's --today): a pure module that read the
    clock would make statuses and plans depend on when the test runs."""
    import ast
    found = []
    for name in PURE:
        path = REPO / "engine" / (name + ".py")
        assert path.is_file(), "%s is listed as pure but does not exist" % path
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, (ast.Name, ast.Attribute)):
                owner = node.value.id if isinstance(node.value, ast.Name) else node.value.attr
                if (owner, node.attr) in CLOCK:
                    found.append("%s:%d: %s.%s" % (path.name, node.lineno, owner, node.attr))
    assert found == []


# What an action on one document has no use for: the app, the YAML round
# trip, recurrence dates, money formatting, mail, PDF and Typst, e-invoices,
# reports, the bank import, and the other commands' modules. A payment in a
# book of 100,000 documents should cost what git's own `add` + `commit`
# costs (issue 10): every module here is startup time a user waits for.
NOT_FOR_ONE_DOCUMENT = (
    "textual", "rich", "tui.app", "ruamel", "dateutil", "babel", "jsonschema", "typst",
    "smtplib", "email.mime", "engine.mail", "engine.pdf", "engine.einvoice", "engine.reports",
    "engine.ledger", "engine.bank", "engine.listing", "engine.runner", "engine.recurrence",
    "engine.schemas", "engine.status", "engine.cli.book_cmds", "engine.cli.report",
    "engine.cli.bank", "engine.cli.export", "engine.cli.run", "engine.cli.recurrence",
)

_IMPORTED_AT_EXIT = (
    "import atexit, runpy, sys\n"
    "out = sys.argv.pop(1)\n"
    "atexit.register(lambda: open(out, 'w').write('\\n'.join(sorted(sys.modules))))\n"
    "sys.argv[0] = 'facturier'\n"
    "runpy.run_module('tui.entry', run_name='__main__')\n")


def _modules_of_a_command(tmp_path, *args: str) -> tuple[subprocess.CompletedProcess, set]:
    out = tmp_path / "modules.txt"
    proc = subprocess.run([sys.executable, "-c", _IMPORTED_AT_EXIT, str(out), *args],
                          capture_output=True, text=True, cwd=REPO)
    return proc, set(out.read_text().split("\n")) if out.exists() else set()


def _unneeded(modules: set) -> list:
    return sorted(m for m in modules if m in NOT_FOR_ONE_DOCUMENT
                  or m.split(".")[0] in NOT_FOR_ONE_DOCUMENT
                  or any(m.startswith(n + ".") for n in NOT_FOR_ONE_DOCUMENT))


def test_a_payment_loads_only_what_it_needs(make_book, tmp_path):
    """`facturier doc pay` (and a refused one) in a French book whose
    settings use every kind of field: the payment is committed and the
    process never imported a module of NOT_FOR_ONE_DOCUMENT."""
    book = make_book({
        "facturier.yaml": 'currency: CHF\nvat: "8.1"\nlocale: fr\ntimezone: Europe/Zurich\n'
                          'company:\n  name: Atelier SA\n'
                          'email:\n  from: "Atelier SA <billing@atelier.example>"\n',
        "contacts/acme.yaml": "name: ACME SA\nemail: ap@acme.example\n",
        "documents/2025/01/inv-20250105-k3f9.yaml":
            "kind: invoice\ncustomer: acme\ndate: 2025-01-05\ndue: 2025-02-04\n"
            "currency: CHF\nnumber: 2025-0001\nvalidated: 2025-01-06\n"
            "lines:\n  - {description: Consulting, quantity: 2, unit_price: 500, vat: \"8.1\"}\n",
    })
    proc, modules = _modules_of_a_command(
        tmp_path, "--book", str(book), "--as-of", "2025-01-20", "doc", "pay",
        "inv-20250105-k3f9", "100", "--reference", "bank 7")
    assert proc.returncode == 0, proc.stderr
    assert "Enregistrer un paiement de 100.00 CHF" in proc.stderr
    assert "engine.api" in modules and "engine.cli.doc" in modules
    assert _unneeded(modules) == []
    proc, modules = _modules_of_a_command(
        tmp_path, "--book", str(book), "--as-of", "2025-01-20", "doc", "pay", "nope", "5")
    assert proc.returncode == 1 and "nope" in proc.stderr, proc.stderr
    assert _unneeded(modules) == []


def test_the_command_modules_are_where_the_group_looks_for_them():
    """The group imports a command's module when the command is run
    (engine/cli COMMAND_MODULES): each top-level command is declared by the
    first module listed for it, so `facturier X` never loads every module to
    find X (a new command belongs in that table)."""
    from engine import cli
    names = cli.main.list_commands(None)          # imports every module
    assert set(names) - {"tui"} == set(cli.COMMAND_MODULES)
    for name in names:
        if name == "tui":
            continue
        command = cli.main.commands[name]
        assert command.callback.__module__ == "engine.cli." + cli.COMMAND_MODULES[name][0], name
    assert set(cli.MODULES) == {m for mods in cli.COMMAND_MODULES.values() for m in mods}
