"""The command-line reference, --help, --version and shell completion, as a user
meets them.

docs/cli.md is generated from --help (scripts/gen_cli_docs.py): it must be
exactly what the script makes from today's commands, and each of its blocks
exactly what `facturier ... --help` prints in an 80-column terminal.
"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import pytest

from engine.cli import entry_point as run

REPO = Path(__file__).resolve().parent.parent
SCRIPT = REPO / "scripts" / "gen_cli_docs.py"
CLI_MD = REPO / "docs" / "cli.md"


def _load_generator():
    spec = importlib.util.spec_from_file_location("gen_cli_docs", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


gen = _load_generator()
COMMANDS = [ctx.command_path for ctx in gen.walk(gen.facturier)]


def _doc_blocks() -> dict[str, str]:
    """command path -> the ```text block under its heading in docs/cli.md."""
    text = CLI_MD.read_text(encoding="utf-8")
    return {m.group(1): m.group(2) + "\n"
            for m in re.finditer(r"^## (facturier[^\n]*)\n\n```text\n(.*?)\n```$", text,
                                 re.S | re.M)}


def console_script() -> Path:
    """The installed `facturier` script of the Python running the tests."""
    candidate = Path(sysconfig.get_path("scripts")) / "facturier"
    if candidate.exists():
        return candidate
    found = shutil.which("facturier")
    assert found, "the `facturier` console script is not installed (pip install -e .)"
    return Path(found)


def script_env(**extra: str) -> dict:
    env = dict(os.environ, PYTHONPATH=str(REPO), COLUMNS="80")
    env["PATH"] = str(console_script().parent) + os.pathsep + env.get("PATH", "")
    env.update(extra)
    return env


# --- docs/cli.md ---------------------------------------------------------------------------

def test_cli_md_is_what_the_generator_makes_now():
    assert CLI_MD.exists(), "docs/cli.md is missing: run python scripts/gen_cli_docs.py"
    assert CLI_MD.read_text(encoding="utf-8") == gen.render(), (
        "docs/cli.md is out of date with the commands' --help: run python scripts/gen_cli_docs.py")


def test_generator_check_mode_agrees():
    proc = subprocess.run([sys.executable, str(SCRIPT), "--check"], capture_output=True,
                          text=True, cwd=str(REPO))
    assert proc.returncode == 0, proc.stderr


def test_every_family_of_the_cli_is_documented():
    for family in ("init", "check", "status", "run", "recurrence", "doc", "contact", "log",
                   "bounces", "demo", "tui"):
        assert "facturier " + family in COMMANDS
    for sub in ("doc pay", "doc write-off", "recurrence repair", "contact new"):
        assert "facturier " + sub in COMMANDS
    assert set(_doc_blocks()) == set(COMMANDS)


@pytest.mark.parametrize("path", COMMANDS)
def test_help_exits_0_and_prints_what_the_reference_shows(path, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    code = run(path.split()[1:] + ["--help"])
    out = capsys.readouterr().out
    assert code == 0
    assert out.startswith("Usage: %s " % path)
    assert out == _doc_blocks()[path]


def test_help_through_the_console_script():
    proc = subprocess.run([str(console_script()), "doc", "pay", "-h"], capture_output=True,
                          text=True, env=script_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == _doc_blocks()["facturier doc pay"]


# --- --version ------------------------------------------------------------------------------

def test_version_is_the_installed_version():
    proc = subprocess.run([str(console_script()), "--version"], capture_output=True, text=True,
                          env=script_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "facturier, version %s\n" % importlib.metadata.version("facturier")


# --- shell completion -----------------------------------------------------------------------

def _complete(words: str, cword: int) -> list[str]:
    proc = subprocess.run([str(console_script())], capture_output=True, text=True,
                          env=script_env(COMP_WORDS=words, COMP_CWORD=str(cword),
                                         _FACTURIER_COMPLETE="bash_complete"))
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.splitlines()


def test_bash_source_prints_a_completion_script():
    proc = subprocess.run([str(console_script())], capture_output=True, text=True,
                          env=script_env(_FACTURIER_COMPLETE="bash_source"))
    assert proc.returncode == 0, proc.stderr
    assert "_facturier_completion()" in proc.stdout
    assert "complete -o nosort -F _facturier_completion facturier" in proc.stdout


@pytest.mark.parametrize("shell, marker", [("zsh", "#compdef facturier"),
                                           ("fish", "complete --no-files --command facturier")])
def test_zsh_and_fish_scripts(shell, marker):
    proc = subprocess.run([str(console_script())], capture_output=True, text=True,
                          env=script_env(_FACTURIER_COMPLETE="%s_source" % shell))
    assert proc.returncode == 0, proc.stderr
    assert marker in proc.stdout


def test_bash_complete_commands_subcommands_and_choices():
    assert _complete("facturier st", 1) == ["plain,status"]
    assert _complete("facturier doc wr", 2) == ["plain,write-off"]
    assert _complete("facturier status --category a", 3) == ["plain,action_required"]


def test_completion_inside_bash():
    """The documented line, eval'd in a real bash: Tab on `facturier st` offers `status`."""
    script = ('eval "$(_FACTURIER_COMPLETE=bash_source facturier)"\n'
              'COMP_WORDS=(facturier st); COMP_CWORD=1\n'
              '_facturier_completion facturier\n'
              'printf "%s\\n" "${COMPREPLY[@]}"\n')
    proc = subprocess.run(["bash", "--norc", "--noprofile", "-c", script], capture_output=True,
                          text=True, env=script_env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["status"]
