"""Editor support: the JSON Schemas of the book's files, wired for the YAML
language server (VS Code's YAML extension, Helix, Neovim...).

``editor_files()`` gives the files a new book gets (``facturier init``,
``facturier demo``), as ``{path: bytes}``:

- ``.schemas/<kind>.schema.json``: a copy of ``data/schemas/`` inside the book,
  so that it works offline and matches the facturier version that made it;
- ``.vscode/settings.json``: ``yaml.schemas`` maps each folder to its schema
  (VS Code with the Red Hat YAML extension reads it as the workspace settings);
- ``.helix/languages.toml``: the same mapping as Helix workspace configuration.

Neovim has no per-project file the language server reads on its own; see
``data/schemas/README.md`` for the one-line setting. Pure apart from reading
``data/schemas/`` through ``engine.resources``.
"""
from __future__ import annotations

import json

from .resources import read_data

SCHEMA_DIR = ".schemas"
# schema file -> the book files it describes (globs relative to the book root)
SCHEMA_FILES = {
    "settings.schema.json": "facturier.yaml",
    "contact.schema.json": "contacts/*.yaml",
    "document.schema.json": "documents/**/*.yaml",
    "recurrence.schema.json": "recurrences/*.yaml",
}


def schema_texts() -> dict[str, bytes]:
    """The shipped schemas: {file name: bytes}."""
    return {name: read_data("schemas", name) for name in SCHEMA_FILES}


def schema_for_path(path: str) -> str | None:
    """The schema file name that describes a book path, or None."""
    parts = path.split("/")
    if path == "facturier.yaml":
        return "settings.schema.json"
    if not path.endswith(".yaml") or len(parts) < 2:
        return None
    if parts[0] == "documents":
        return "document.schema.json"
    if len(parts) == 2 and parts[0] == "contacts":
        return "contact.schema.json"
    if len(parts) == 2 and parts[0] == "recurrences":
        return "recurrence.schema.json"
    return None


def _vscode_settings() -> bytes:
    mapping = {"./%s/%s" % (SCHEMA_DIR, name): "/" + glob for name, glob in SCHEMA_FILES.items()}
    settings = {"yaml.schemas": mapping, "yaml.validate": True, "yaml.completion": True}
    return (json.dumps(settings, indent=2) + "\n").encode()


def _helix_languages() -> bytes:
    lines = ["# Helix workspace configuration: the YAML language server validates and",
             "# completes facturier's files with the schemas in .schemas/.",
             "[language-server.yaml-language-server.config.yaml]",
             "validate = true",
             "completion = true",
             "",
             "[language-server.yaml-language-server.config.yaml.schemas]"]
    for name, glob in SCHEMA_FILES.items():
        lines.append('"./%s/%s" = "/%s"' % (SCHEMA_DIR, name, glob))
    return ("\n".join(lines) + "\n").encode()


def editor_files() -> dict[str, bytes]:
    """The files every new book gets so that editors validate and complete its
    YAML files with no manual configuration."""
    files = {"%s/%s" % (SCHEMA_DIR, name): data for name, data in schema_texts().items()}
    files[".vscode/settings.json"] = _vscode_settings()
    files[".helix/languages.toml"] = _helix_languages()
    return files
