"""The `facturier` console script: the engine's CLI plus the `tui` command.

Textual is imported only when the app opens, so `facturier status` and
`facturier run` stay quick and headless.
"""
from __future__ import annotations

import sys

from engine.cli import entry_point, main as cli
from engine.cli.common import Context, pass_ctx


@cli.command("tui")
@pass_ctx
def tui_command(ctx: Context):
    """Open the terminal app on the book."""
    from .app import open_app
    open_app(ctx)


def main() -> None:
    sys.exit(entry_point())


if __name__ == "__main__":
    main()
