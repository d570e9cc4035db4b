"""The `facturier` console script: the engine's CLI plus the `tui` command.

Textual is imported only when the app opens, so `facturier status` and
`facturier run` stay quick and headless.
"""
from __future__ import annotations

import os
import signal
import sys


def _before_start(signum, frame):
    """Ctrl-C or SIGTERM while Python imports the program: nothing has been
    read or written yet, so end at once, quietly (no traceback), with the
    status the shell expects (130, 143)."""
    os._exit(128 + signum)


_before_start.facturier_early = True     # type: ignore[attr-defined]
if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
    signal.signal(signal.SIGINT, _before_start)
if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
    signal.signal(signal.SIGTERM, _before_start)

from engine.cli import Terminated, entry_point, main as cli  # noqa: E402
from engine.cli.common import Context, pass_ctx  # noqa: E402


@cli.command("tui")
@pass_ctx
def tui_command(ctx: Context):
    """Open the terminal app on the book."""
    from .app import open_app
    open_app(ctx)


def main() -> None:
    try:
        _leave(entry_point())
    except KeyboardInterrupt as exc:
        # landed after the command's own handling: as the shell expects
        _leave(143 if isinstance(exc, Terminated) else 130)


def _leave(code) -> None:
    """End the process with ``code``. When the command is done and nothing
    else runs (no other thread), without the interpreter's teardown of every
    module and object (15-30 ms of a one-document action, as long as the
    action's own git work in a large book): the output is flushed and the
    exit handlers run (temporary files, worker processes) first; otherwise
    as ``sys.exit``."""
    _ending()
    import threading
    if threading.active_count() > 1 or not isinstance(code, (int, type(None))):
        sys.exit(code)
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)          # a closed or broken output: Python's own way
    import atexit
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass
    os._exit(code or 0)


def _ending() -> None:
    """From here the command is done and its status known: a Ctrl-C or
    SIGTERM now (even one already received, whose handler has not run yet)
    does not turn the ending into a traceback; a second one ends the process
    at once, for exit handlers that would not finish."""
    received: list[int] = []

    def quiet(signum, frame):
        if received:
            os._exit(128 + signum)
        received.append(signum)

    stops = {signal.SIGINT, signal.SIGTERM}
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, stops)     # both swapped, or neither
    try:
        for signum in stops:
            signal.signal(signum, quiet)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


if __name__ == "__main__":
    main()
