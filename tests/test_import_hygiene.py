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
