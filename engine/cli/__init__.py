"""The `facturier` command line: a thin face over the engine.

Each command family lives in its own module and registers itself on ``main``
(book_cmds: init/check/status; doc; contact; recurrence; run; log; bounces;
demo). The terminal app registers `tui` from tui/entry.py, so that nothing in
``engine`` imports ``tui`` or Textual.

Exit status: 0 success; 1 book errors, a refused action or a failure; 2 a usage
error; 3 (`run` only) success but a recurrence is stopped.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import click

from ..diagnostics import FacturierError
from .common import DATE, CommandFailed, Context, current_lang, words



# Where each command is declared: a command line loads only the module of
# the command it runs (`doc pay` needs neither the reports nor the bank
# import); --help and a name not listed here load them all. `doc` gets two
# subcommands (pdf, export) from issue.py.
COMMAND_MODULES: dict[str, tuple[str, ...]] = {
    "init": ("book_cmds",), "check": ("book_cmds",), "status": ("book_cmds",),
    "doc": ("doc", "issue"), "contact": ("contact",), "recurrence": ("recurrence",),
    "run": ("run",), "log": ("log",), "bounces": ("bounces",), "demo": ("demo",),
    "report": ("report",), "export": ("export",), "import": ("bank",), "sync": ("sync",),
}
MODULES = ("book_cmds", "doc", "contact", "recurrence", "run", "log", "bounces", "demo",
           "report", "export", "bank", "issue", "sync")


class _Commands(click.Group):
    """The top-level group: a command's module is imported when the command
    is looked up (see COMMAND_MODULES), every module when they are listed."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.loaded: set[str] = set()
        # while a module declares its commands: click's words made then (a
        # Path's "file") stay English, as when every module loaded at startup
        self.declaring = False
        # called with the group after a module added its commands (click_lang)
        self.on_load: list[Callable[[click.Group], None]] = []

    def _load(self, modules: Iterable[str]) -> None:
        import importlib
        for name in modules:
            if name in self.loaded:
                continue
            self.declaring = True
            try:
                importlib.import_module("%s.%s" % (__name__, name))
            except ModuleNotFoundError as exc:
                if exc.name != "%s.%s" % (__name__, name):
                    raise
            finally:
                self.declaring = False
            self.loaded.add(name)
            for hook in self.on_load:
                hook(self)

    def get_command(self, ctx: click.Context, cmd_name: str) -> Optional[click.Command]:
        if cmd_name not in self.commands:
            self._load(COMMAND_MODULES.get(cmd_name, ()))
        if cmd_name not in self.commands:
            self._load(MODULES)
        return self.commands.get(cmd_name)

    def list_commands(self, ctx: click.Context) -> list[str]:
        self._load(MODULES)
        return super().list_commands(ctx)


@click.group(cls=_Commands, invoke_without_command=True,
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.option("--book", "book", type=click.Path(file_okay=False, path_type=Path),
              envvar="FACTURIER_BOOK", default=".", show_default="$FACTURIER_BOOK, else .",
              help="The book: a git repository holding facturier.yaml.")
@click.option("--as-of", "as_of", type=DATE, default=None,
              help="The date to compute statuses for and act on (default: today in the book's timezone).")
@click.option("--author", default=None, metavar='"NAME <EMAIL>"',
              help="Author of the commits (default: git's user.name/user.email).")
@click.option("--lang", type=click.Choice(["en", "fr"]), default=None,
              help="Language of labels and messages (default: the book's locale).")
@click.version_option(None, "--version", package_name="facturier", prog_name="facturier")
@click.pass_context
def main(ctx: click.Context, book: Path, as_of, author, lang):
    """facturier: billing documents and recurring billing kept as YAML in git.

    With no command, opens the terminal app on the book.
    """
    ctx.obj = Context(book_path=book, as_of_option=as_of, author=author, lang_option=lang)
    if ctx.invoked_subcommand is None:
        tui = main.get_command(ctx, "tui")
        if tui is None:
            click.echo(ctx.get_help())
            return
        ctx.invoke(tui)


class Terminated(KeyboardInterrupt):
    """SIGTERM (a cancelled CI job, `kill`): unwound like Ctrl-C, so that a
    write in progress is settled before the process ends."""


_MAIN_PID: list[int] = []


def _terminate(signum, frame):
    if _MAIN_PID and os.getpid() != _MAIN_PID[0]:
        # a forked worker (parsing on every core) ended by its pool: end as
        # SIGTERM ends a process, with no traceback on the person's terminal
        import signal
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGTERM)
        return
    raise Terminated()


def _early(signum) -> bool:
    """Is the handler the console script sets while importing (tui/entry.py)?"""
    import signal
    return getattr(signal.getsignal(signum), "facturier_early", False) is True


def entry_point(args=None) -> int:
    """Run the CLI; turn every failure into a message and an exit status, never
    a traceback (set FACTURIER_DEBUG=1 to see one). SIGINT and SIGTERM end it
    through the same path as an error: 130 and 143."""
    import signal
    import sys

    from .click_lang import install
    if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL or _early(signal.SIGTERM):
        _MAIN_PID[:] = [os.getpid()]
        signal.signal(signal.SIGTERM, _terminate)
    try:
        install(sys.argv[1:] if args is None else args)
        if _early(signal.SIGINT):        # the console script's quiet exit while importing
            signal.signal(signal.SIGINT, signal.default_int_handler)
        main.main(args=args, prog_name="facturier", standalone_mode=False)
        return 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.exceptions.Abort as exc:
        interrupt = exc.__cause__ or exc.__context__
        if isinstance(interrupt, KeyboardInterrupt):     # click turns Ctrl-C into Abort
            click.echo(words("cli.interrupted"), err=True)
            return 143 if isinstance(interrupt, Terminated) else 130
        click.echo(words("cli.aborted"), err=True)
        return 1
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except CommandFailed as exc:
        if str(exc):
            click.echo(exc.render(current_lang()), err=True)
        return exc.code
    except FacturierError as exc:
        click.echo(words("cli.error", message=exc.render(current_lang())), err=True)
        return 1
    except KeyboardInterrupt as exc:
        click.echo(words("cli.interrupted"), err=True)
        return 143 if isinstance(exc, Terminated) else 130
    except BrokenPipeError:
        return 0
    except Exception as exc:  # the last guard: no traceback reaches a user
        if os.environ.get("FACTURIER_DEBUG"):
            raise
        click.echo(words("cli.internal_error", type=type(exc).__name__, message=exc), err=True)
        return 1


