"""Open the installed app on a book under a real pseudo-terminal, as a person would.

    python .ci/smoke_app.py [--seconds N] COMMAND [ARG...]

e.g. ``facturier demo`` or ``facturier --book DIR``. Passes when the dashboard is drawn (its category titles appear on the screen),
the app is still running a few seconds later, and ctrl+q closes it with exit 0.
"""
from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import signal
import struct
import sys
import termios
import time

ANSI = re.compile(rb"\x1b(\[[0-9;?<>=]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)|[@-Z\\-_])")
WANTED = (b"In progress", b"Action required", b"To monitor", b"Done")


def main() -> int:
    argv = sys.argv[1:]
    seconds = 60.0
    if argv[:1] == ["--seconds"]:
        seconds, argv = float(argv[1]), argv[2:]
    pid, fd = pty.fork()
    if pid == 0:                                  # the child: the app
        env = dict(os.environ, TERM="xterm-256color", COLUMNS="100", LINES="30")
        os.execvpe(argv[0], argv, env)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    screen = b""
    deadline = time.monotonic() + seconds
    drawn_at = None
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([fd], [], [], 0.2)
            if ready:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                screen += chunk
            text = ANSI.sub(b"", screen)
            if drawn_at is None and all(w in text for w in WANTED):
                drawn_at = time.monotonic()
            if drawn_at is not None and time.monotonic() - drawn_at > 3:
                break
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            print("smoke: the app exited early (status %d); its last output:\n%s"
                  % (status, ANSI.sub(b"", screen)[-2000:].decode(errors="replace")))
            return 1
        if drawn_at is None:
            print("smoke: no dashboard after %g s; the screen held:\n%s"
                  % (seconds, ANSI.sub(b"", screen)[-2000:].decode(errors="replace")))
            os.kill(pid, signal.SIGKILL)
            return 1
        os.write(fd, b"\x11")                     # ctrl+q
        end = time.monotonic() + 10
        while time.monotonic() < end:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                code = os.waitstatus_to_exitcode(status)
                if code != 0:
                    print("smoke: the app exited %d on ctrl+q" % code)
                    return 1
                print("smoke: the app drew its dashboard and closed on ctrl+q")
                return 0
            try:
                select.select([fd], [], [], 0.2)
                os.read(fd, 65536)
            except OSError:
                pass
        print("smoke: the app did not close on ctrl+q")
        os.kill(pid, signal.SIGKILL)
        return 1
    finally:
        os.close(fd)


if __name__ == "__main__":
    sys.exit(main())
