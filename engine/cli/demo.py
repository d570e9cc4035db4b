"""`facturier demo [DIR]`: make the demo book and open the app on it."""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Optional

import click

from . import main
from .common import Context, fail, say, today_in, words


def make_demo_book(path: Path, as_of, author: Optional[str]) -> str:
    """Write the demo book (settings, folders, .gitignore, editor schemas and the
    demo data dated relative to ``as_of``) into ``path`` as one first commit;
    return the commit id."""
    from ..demo import demo_files
    from ..gitstore import init_repository
    from ..newbook import new_book_files
    from ..schemas import editor_files
    files = new_book_files()
    files.update(editor_files())
    files.update(demo_files(as_of))
    return init_repository(path, files, "Create the demo book", author)


@main.command("demo")
@click.argument("path", required=False, type=click.Path(file_okay=False, path_type=Path))
@click.option("--open/--no-open", "open_app", default=True, show_default=True,
              help="Open the terminal app on the new book.")
@click.pass_context
def demo_command(click_ctx: click.Context, path: Optional[Path], open_app: bool):
    """Make a demo book in PATH (default: a fresh temporary folder) and open
    the app on it.

    The demo is a year of a small web agency's billing, dated relative to
    today (or --as-of): every status, six recurrences (two of them stopped, to
    try the repair dialog), a bounced e-mail, a returned letter... PATH must not
    exist yet, or be an empty folder.
    """
    from ..demo import DEMO_TIMEZONE
    ctx = click_ctx.find_object(Context)
    assert ctx is not None              # main() always sets it
    if path is None:
        path = Path(tempfile.mkdtemp(prefix="facturier-demo-"))
    elif (path / "facturier.yaml").exists():
        fail(words("cli.init.exists", path=path))
    elif path.exists() and any(path.iterdir()):
        fail(words("cli.demo.not_empty", path=path))
    as_of = ctx.as_of_option or today_in(DEMO_TIMEZONE)
    make_demo_book(path, as_of, ctx.author)
    say(words("cli.demo.made", path=path, date=as_of.isoformat()))
    say(words("cli.demo.try", path=path))
    ctx.book_path = path
    ctx._book = None
    ctx._settings = None
    if not open_app:
        return
    tui = main.get_command(click_ctx, "tui")
    if tui is None:
        say(words("cli.demo.no_app", path=path))
        return
    click_ctx.invoke(tui)
