"""Every command of the README is run: by .ci/run, or here, for real.

The README's ```sh blocks are read line by line (a line may chain commands with
`&&`). Each command is either
- an install or test command that .ci/run runs (`pip install ...`,
  `python -m pytest ...`; `pip install .` is covered by CI's `pip install ".[test]"`),
- or run here, in order, in a temporary folder: `facturier ...` (paths under
  /tmp/ and ~/ moved into the temporary folder, `--as-of` pinned, `facturier demo`
  made `facturier demo DIR --no-open`), `git ...`, `cd DIR`, `export NAME=VALUE`,
  and the shell-completion lines (`eval "$(...)"`, `... | source`: the inner command
  must print a script). A command exits 0, or the status its line documents with a
  trailing comment `# exit N`.
Anything else fails the test, naming the README line.
"""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
README = REPO / "README.md"
CI_RUN = REPO / ".ci" / "run"
AS_OF = "2026-11-23"
GLOBAL_WITH_VALUE = {"--book", "--as-of", "--author", "--lang"}
QUIET = {"-q", "--quiet"}


@dataclass
class Step:
    line: int                 # README line number
    text: str                 # the command as written
    kind: str                 # "ci", "facturier", "git", "cd", "export", "unknown"
    argv: list[str]
    env: dict[str, str] = field(default_factory=dict)
    expect: int = 0           # documented exit status
    prints_script: bool = False   # eval "$(...)" / ... | source: must print something


# --- reading the README and .ci/run ----------------------------------------------------------

def sh_lines(text: str) -> list[tuple[int, str]]:
    """(line number, logical line) of every ```sh block; `\\` continues a line."""
    out, in_block, pending, start = [], False, "", 0
    for number, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if not in_block:
            in_block = stripped in ("```sh", "```shell", "```console", "```bash")
            continue
        if stripped == "```":
            in_block = False
            continue
        if not pending:
            start = number
        if line.rstrip().endswith("\\"):
            pending += line.rstrip()[:-1] + " "
            continue
        logical, pending = (pending + line).strip(), ""
        if logical and not logical.startswith("#"):
            out.append((start, logical))
    return out


def tokens(line: str) -> list[str]:
    lexer = shlex.shlex(line, posix=True, punctuation_chars=True)
    lexer.whitespace_split = True
    return list(lexer)


def simple_commands(toks: list[str]) -> list[list[str]]:
    """Split on `&&`, `;` and `||` (a pipe stays inside its command)."""
    parts, current = [], []
    for tok in toks:
        if tok in ("&&", ";", "||"):
            parts.append(current)
            current = []
        else:
            current.append(tok)
    parts.append(current)
    return [p for p in parts if p]


def split_env(argv: list[str]) -> tuple[dict[str, str], list[str]]:
    env = {}
    while argv and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", argv[0]):
        name, _, value = argv[0].partition("=")
        env[name] = value
        argv = argv[1:]
    return env, argv


def normalized(argv: list[str]) -> tuple[str, ...]:
    """`python -m pip install --quiet X` -> ("pip", "install", "X")."""
    if len(argv) >= 3 and re.fullmatch(r"python[0-9.]*", argv[0]) and argv[1] == "-m":
        argv = argv[2:]
    return tuple(a for a in argv if a not in QUIET)


def ci_commands(text: str) -> list[tuple[str, ...]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        try:
            toks = tokens(line)
        except ValueError:
            continue
        for cmd in simple_commands(toks):
            out.append(normalized(split_env(cmd)[1]))
    return out


def run_by_ci(argv: list[str], ci: list[tuple[str, ...]]) -> bool:
    cmd = normalized(argv)
    if cmd in ci:
        return True
    if cmd[:2] == ("pip", "install"):       # `pip install .` is covered by `pip install ".[test]"`
        wanted = cmd[2:]
        for other in ci:
            if other[:2] == ("pip", "install") and len(other) == len(cmd) and all(
                    o == w or (not w.startswith("-") and o.startswith(w + "["))
                    for w, o in zip(wanted, other[2:])):
                return True
    return False


def plan(readme: str, ci_text: str) -> list[Step]:
    ci = ci_commands(ci_text)
    steps = []
    for number, line in sh_lines(readme):
        documented = re.search(r"\s#\s*exit(?: status)?\s+(\d+)\b", line)
        expect = int(documented.group(1)) if documented else 0
        try:
            toks = tokens(line)
        except ValueError:          # unbalanced quotes: not a command anyone can run
            steps.append(Step(number, line, "unknown", [], expect=expect))
            continue
        for cmd in simple_commands(toks):
            prints_script = False
            if len(cmd) == 2 and cmd[0] == "eval":
                inner = re.fullmatch(r"\$\((.*)\)", cmd[1], re.S)
                if inner:
                    cmd, prints_script = tokens(inner.group(1)), True
            elif len(cmd) >= 3 and cmd[-2:] == ["|", "source"]:
                cmd, prints_script = cmd[:-2], True
            env, argv = split_env(cmd)
            if not argv or any(t in ("|", ">", ">>", "<", "(", ")", "&") for t in argv):
                kind = "unknown"
            elif argv[0] in ("facturier", "git", "cd", "export"):
                kind = argv[0]
            elif run_by_ci(argv, ci) and not env:
                kind = "ci"
            else:
                kind = "unknown"
            steps.append(Step(number, line, kind, argv, env, expect, prints_script))
    return steps


def installed_facturier() -> str:
    """The `facturier` console script of the Python running the tests (what
    `pip install .` made); a missing one is a failure, not a skip."""
    script = Path(sys.executable).parent / "facturier"
    assert script.is_file(), ("%s does not exist: install the package first, as the README says "
                              "(pip install '.[test]')" % script)
    return str(script)


# --- running a step for real ------------------------------------------------------------------

class Session:
    """The state a reader's shell would keep between README commands."""

    def __init__(self, root: Path):
        self.root = root
        self.cwd = root / "work"
        self.cwd.mkdir()
        (root / "home").mkdir()
        # the installed command, as a reader runs it: no source tree on the path
        self.env = {k: v for k, v in os.environ.items()
                    if k not in ("FACTURIER_BOOK", "PYTHONPATH")}
        self.env.update(COLUMNS="80")

    def path(self, word: str) -> str:
        """Paths under /tmp/ and ~/ are moved into the temporary folder; $VARS expanded."""
        word = re.sub(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?", lambda m: self.env.get(m.group(1), ""),
                      word)
        for prefix, base in (("/tmp/", self.root / "tmp"), ("~/", self.root / "home")):
            if word.startswith(prefix):
                return str(base / word[len(prefix):])
            if word.startswith("-") and "=" + prefix in word:
                name, _, value = word.partition("=")
                return name + "=" + self.path(value)
        return word

    def facturier_args(self, step: Step) -> list[str]:
        args = [self.path(a) for a in step.argv[1:]]
        if "_FACTURIER_COMPLETE" in step.env:       # shell completion: nothing to pin
            return args
        i = 0
        while i < len(args) and args[i].startswith("-"):
            i += 2 if args[i] in GLOBAL_WITH_VALUE else 1
        command = args[i] if i < len(args) else None
        if "--as-of" not in args[:i]:
            args[0:0] = ["--as-of", AS_OF]
            i += 2
        opens_app = command == "tui" or (command is None and not step.env and not {
            "--version", "--help", "-h"} & set(args))
        assert not opens_app, (
            "README line %d: `%s` opens the terminal app, which a test cannot run headless; "
            "show `facturier demo` instead" % (step.line, step.text))
        if command == "demo":
            rest = [a for a in args[i + 1:] if a not in ("--open", "--no-open")]
            if not [a for a in rest if not a.startswith("-")]:
                rest.append(str(self.root / "tmp" / "facturier-demo"))
            args[i + 1:] = rest + ["--no-open"]
        return args

    def run(self, step: Step) -> None:
        if step.kind == "cd":
            target = Path(self.path(step.argv[1] if len(step.argv) > 1 else "~/"))
            self.cwd = target if target.is_absolute() else self.cwd / target
            assert self.cwd.is_dir(), "README line %d: `%s`: no such folder" % (step.line,
                                                                                step.text)
            return
        if step.kind == "export":
            for assignment in step.argv[1:]:
                name, _, value = assignment.partition("=")
                self.env[name] = self.path(value)
            return
        if step.kind == "facturier":
            argv = [installed_facturier()] + self.facturier_args(step)
        else:
            argv = ["git"] + [self.path(a) for a in step.argv[1:]]
        (self.root / "tmp").mkdir(exist_ok=True)
        env = dict(self.env, **{k: self.path(v) for k, v in step.env.items()})
        proc = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=str(self.cwd),
                              timeout=120, stdin=subprocess.DEVNULL)
        assert proc.returncode == step.expect, (
            "README line %d: `%s` exited %d, expected %d (ran %s)\nstdout: %s\nstderr: %s"
            % (step.line, step.text, proc.returncode, step.expect, shlex.join(argv[1:]),
               proc.stdout[-1500:], proc.stderr[-1500:]))
        if step.prints_script:
            assert proc.stdout.strip(), "README line %d: `%s` printed nothing" % (step.line,
                                                                                 step.text)


# --- the tests --------------------------------------------------------------------------------

def test_every_readme_command_is_run_by_ci_or_by_this_test(tmp_path):
    steps = plan(README.read_text(encoding="utf-8"), CI_RUN.read_text(encoding="utf-8"))
    unknown = ["README line %d: `%s`" % (s.line, s.text) for s in steps if s.kind == "unknown"]
    assert not unknown, ("these README commands are neither in .ci/run nor run by "
                         "tests/test_readme.py:\n" + "\n".join(unknown))
    kinds = {s.kind for s in steps}
    assert {"ci", "facturier"} <= kinds, "the README lost its install/test or its facturier commands"
    session = Session(tmp_path)
    for step in steps:
        if step.kind != "ci":
            session.run(step)


def test_the_install_and_test_commands_are_the_ones_ci_runs():
    steps = plan(README.read_text(encoding="utf-8"), CI_RUN.read_text(encoding="utf-8"))
    ci = [normalized(s.argv) for s in steps if s.kind == "ci"]
    assert ("pytest", "-n", "2") in ci, "the README no longer gives CI's test command"
    assert any(c[:2] == ("pip", "install") for c in ci)


SAMPLE_CI = """\
python -m pip install --quiet ".[test]"
python -m pytest -n 2
"""


def test_plan_sorts_commands_and_refuses_what_nothing_runs():
    readme = """\
Intro `facturier inline` is prose.

```sh
pip install . && facturier demo
pip install '.[test]' && python -m pytest -n 2
facturier --book /tmp/b run --dry-run   # exit 3: stopped
make install
pip install -e .
cd /tmp/b && git log --oneline | head
eval "$(_FACTURIER_COMPLETE=bash_source facturier)"
```

```yaml
not: a command
```
"""
    steps = plan(readme, SAMPLE_CI)
    table = [(s.line, s.kind, s.argv[0] if s.argv else None, s.expect) for s in steps]
    assert table == [
        (4, "ci", "pip", 0), (4, "facturier", "facturier", 0),
        (5, "ci", "pip", 0), (5, "ci", "python", 0),
        (6, "facturier", "facturier", 3),
        (7, "unknown", "make", 0),
        (8, "unknown", "pip", 0),          # CI does not install in editable mode
        (9, "cd", "cd", 0), (9, "unknown", "git", 0),   # a pipe into head: not run here
        (10, "facturier", "facturier", 0),
    ]
    assert steps[-1].env == {"_FACTURIER_COMPLETE": "bash_source"} and steps[-1].prints_script


def test_facturier_commands_are_rewritten_into_the_temporary_folder(tmp_path):
    session = Session(tmp_path)
    demo, run_, version = plan("```sh\nfacturier demo\nfacturier --book /tmp/b run\n"
                               "facturier --version\n```\n", SAMPLE_CI)
    assert session.facturier_args(demo) == ["--as-of", AS_OF, "demo",
                                            str(tmp_path / "tmp" / "facturier-demo"), "--no-open"]
    assert session.facturier_args(run_) == ["--as-of", AS_OF, "--book", str(tmp_path / "tmp" / "b"),
                                            "run"]
    assert session.facturier_args(version) == ["--as-of", AS_OF, "--version"]
    with pytest.raises(AssertionError, match="opens the terminal app"):
        session.facturier_args(plan("```sh\nfacturier --book x\n```\n", SAMPLE_CI)[0])


def test_a_wrong_documented_exit_status_fails(tmp_path):
    session = Session(tmp_path)
    step = plan("```sh\nfacturier --version   # exit 3\n```\n", SAMPLE_CI)[0]
    with pytest.raises(AssertionError, match="exited 0, expected 3"):
        session.run(step)
