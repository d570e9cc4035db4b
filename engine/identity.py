"""The identity on a commit, cleaned as git cleans it (SPEC 5.1).

git accepts ``user.name "Jane <jane@x>"`` and writes ``Jane jane@x``: its
``ident.c`` (``strbuf_addstr_without_crud``) drops *crud* at both ends of a
name and an e-mail (control characters, space, ``, : ; < > " \\ '``) and the
delimiters ``\\n < >`` anywhere, and refuses a name left empty. A commit whose
author line holds them is refused by ``git fsck --strict`` and by a remote
with ``receive.fsckObjects`` (``fsck.c``: bad name, bad e-mail, missing
e-mail...). facturier writes its commits with the same rules, so every commit
it makes is one git itself would have made.

Since git 2.42 a dot is no longer crud (``Jane D.`` stays so); facturier
follows that.

Pure: text in, text out.
"""
from __future__ import annotations

from .diagnostics import FacturierError

_CRUD = frozenset([chr(c) for c in range(33)] + list(",:;<>\"\\'"))
_DELIMITERS = ("\n", "<", ">", "\0")


def without_crud(text: str) -> str:
    """``text`` as git writes it in an identity: crud stripped from both ends,
    ``\\n``, ``<``, ``>`` removed everywhere (and NUL, which no commit holds)."""
    start, end = 0, len(text)
    while start < end and text[start] in _CRUD:
        start += 1
    while end > start and text[end - 1] in _CRUD:
        end -= 1
    text = text[start:end]
    for char in _DELIMITERS:
        if char in text:
            text = text.replace(char, "")
    return text


def clean_identity(name: str, email: str) -> tuple[str, str]:
    """(name, email) cleaned as git cleans them; raises FacturierError when
    nothing of the name is left (git refuses such an identity too)."""
    clean = without_crud(name)
    if not clean:
        raise FacturierError(
            "the name %r has only characters git does not allow in a name (%s); set "
            "git's user.name, or give --author \"Name <email>\"" % (name, "spaces, , : ; < > \" "
                                                                   "\\ '"))
    return clean, without_crud(email)


def identity_line(name: str, email: str) -> str:
    """``Name <email>`` for a commit's author or committer line, cleaned."""
    name, email = clean_identity(name, email)
    return "%s <%s>" % (name, email)
