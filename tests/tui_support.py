"""What the app's pilot tests share: waiting for the app, counting commits."""
from __future__ import annotations

import subprocess
import time


def commits(root) -> int:
    """How many commits the book's branch has."""
    out = subprocess.run(["git", "-C", str(root), "rev-list", "--count", "HEAD"], check=True,
                         capture_output=True, text=True).stdout
    return int(out.strip())


async def until(pilot, condition, timeout: float = 30.0) -> None:
    """Let the app run until ``condition()`` holds (then one more pause), or
    fail naming the screen and what the app said."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            said = [n.message for n in pilot.app._notifications]
            raise AssertionError("timed out waiting for the app on %r; it said %r"
                                 % (pilot.app.screen, said))
        await pilot.pause(0.05)
    await pilot.pause()
