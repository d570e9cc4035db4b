"""The shipped data (demo book, JSON schemas), read through ``importlib.resources``.

The user's layout keeps it in the top-level ``data/`` folder, which the wheel
installs as the ``engine.data`` package (pyproject.toml's package-dir). Everything
here goes through the ``Traversable`` API, never through a file-system path, so
it works the same from a wheel, a zip, an editable install and a source checkout
that was never installed (where ``engine.data`` is not importable and the
``data/`` folder beside ``engine/`` serves).
"""
from __future__ import annotations

from importlib.abc import Traversable
from importlib.resources import files
from pathlib import Path


def data_root() -> Traversable:
    try:
        return files("engine.data")
    except ModuleNotFoundError:         # a source checkout run without installing
        return Path(__file__).resolve().parent.parent / "data"


def data_path(*parts: str) -> Traversable:
    """A shipped file or folder, e.g. ``data_path("schemas", "contact.schema.json")``."""
    return data_root().joinpath(*parts)


def read_data(*parts: str) -> bytes:
    return data_path(*parts).read_bytes()


def list_data(*parts: str, suffix: str = ".yaml") -> list[str]:
    """The names of the files directly in a shipped folder ending in ``suffix``, sorted."""
    return sorted(entry.name for entry in data_path(*parts).iterdir()
                  if entry.is_file() and entry.name.endswith(suffix))
