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
