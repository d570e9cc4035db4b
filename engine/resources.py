"""Where the shipped data (demo book, JSON schemas) lives.

In a source checkout it is the top-level ``data/`` folder; once installed with
pip it is the ``engine.data`` package (see pyproject.toml's package-dir).
"""
from __future__ import annotations

from pathlib import Path


def data_dir() -> Path:
    source = Path(__file__).resolve().parent.parent / "data"
    if source.is_dir():
        return source
    from importlib.resources import files
    return Path(str(files("engine.data")))
