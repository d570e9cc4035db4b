"""What a facturier commit records of its action, so it can be planned again
on another head (SPEC 9): the ``Facturier-Input`` trailer, compact JSON.

A commit's trailers are one line each, and :attr:`engine.actions.Change.message`
folds runs of white space: the JSON is written without spaces between its
items and with every space of a value escaped (``\\u0020``), so folding never
changes it. Pure: no git, no files.
"""
from __future__ import annotations

import json
from typing import Any, Optional

INPUT = "Facturier-Input"


def input_trailer(op: str, **data: Any) -> tuple[tuple[str, str], ...]:
    """``(("Facturier-Input", '{"op":...}'),)`` to add to a Change's trailers."""
    data = {"op": op, **data}
    text = json.dumps(data, ensure_ascii=True, separators=(",", ":"), sort_keys=True,
                      default=str)
    return ((INPUT, text.replace(" ", "\\u0020")),)


def trailers_of(message: str) -> list[tuple[str, str]]:
    """The ``Key: value`` lines of a commit message's last paragraph."""
    paragraphs = message.strip("\n").split("\n\n")
    if len(paragraphs) < 2:
        return []
    out = []
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(": ")
        if not sep or not key or " " in key:
            return []
        out.append((key, value.strip()))
    return out


def read_input(trailers: list[tuple[str, str]]) -> Optional[dict]:
    """The recorded input of a commit (None when it has none, or it does not
    read as an object with an ``op``)."""
    for key, value in trailers:
        if key == INPUT:
            try:
                data = json.loads(value)
            except ValueError:
                return None
            return data if isinstance(data, dict) and isinstance(data.get("op"), str) else None
    return None


def values(trailers: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in trailers if k == key]
