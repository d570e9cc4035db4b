"""A clone is input, not instructions (SPEC 1.5, issue 10): a committed
`.facturier/` cache never hides a document, symbolic links are errors that
`check` names and that are never followed to read nor written through. The
hostile repository is made and cloned with real git; facturier runs as a user
runs it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, git, write_files
from engine import cache, safepath

SETTINGS = "company: {name: Atelier SA}\ncurrency: CHF\n"
ACME = "name: ACME SA\n"


def invoice(day: int, number: str | None) -> str:
    head = "kind: invoice\ncustomer: acme\ndate: 2025-01-%02d\n" % day
    if number:
        head += "number: %s\nvalidated: 2025-01-%02d\n" % (number, day)
    return head + "lines:\n  - description: Work\n    quantity: 1\n    unit_price: \"100.00\"\n"


def facturier(root, *args):
    return subprocess.run([sys.executable, "-m", "tui.entry", "--book", str(root), *args],
                          capture_output=True, text=True, cwd=str(REPO),
                          env={**os.environ, "PYTHONPATH": str(REPO)})


def snapshot(folder: Path) -> dict:
    """Every file under ``folder`` with its bytes (what must not change)."""
    return {p.relative_to(folder).as_posix(): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture
def hostile(tmp_path):
    """(bare repository, outside folder): a book whose history commits a
    cache crafted to hide inv-b (number 2025-0002), a link documents/evil to
    a folder outside, a contact that is a link to a file outside, and a link
    documents/2025/02 where the next document of February would go."""
    outside = tmp_path / "outside"
    (outside / "docs").mkdir(parents=True)
    (outside / "secret.yaml").write_text("name: Secret Neighbour\n")
    (outside / "docs" / "keep.txt").write_text("not the book's\n")
    work = tmp_path / "attacker"
    work.mkdir()
    write_files(work, {"facturier.yaml": SETTINGS, ".gitignore": ".facturier/\n",
                       "contacts/acme.yaml": ACME,
                       "documents/2025/01/inv-a.yaml": invoice(5, "2025-0001"),
                       "documents/2025/01/inv-b.yaml": invoice(6, "2025-0002"),
                       "documents/2025/01/inv-c.yaml": invoice(7, None)})
    git(work, "init", "-q", "-b", "main")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "book")
    # the crafted cache: facturier's own, with inv-b's entry emptied
    assert facturier(work, "check").returncode == 0
    entries = cache.read(work)
    path_b = "documents/2025/01/inv-b.yaml"
    assert entries[path_b].record is not None
    entries[path_b].record = None
    entries[path_b].diagnostics = []
    crafted = cache.pack_entries(entries.values())
    payload = cache._decoder.decode(crafted)
    payload.base_id = "feedfacefeedface"
    (work / ".facturier" / "records.msgpack").write_bytes(cache._encoder.encode(payload))
    (work / ".facturier" / ".gitignore").unlink()
    os.symlink(outside / "docs", work / "documents" / "evil")
    os.symlink(outside / "docs", work / "documents" / "2025" / "02")
    os.symlink(outside / "secret.yaml", work / "contacts" / "leak.yaml")
    git(work, "add", "-f", ".facturier/records.msgpack")
    git(work, "add", "documents/evil", "documents/2025/02", "contacts/leak.yaml")
    git(work, "commit", "-q", "-m", "helpful cache and links")
    bare = tmp_path / "hostile.git"
    subprocess.run(["git", "clone", "-q", "--bare", str(work), str(bare)], check=True)
    return bare, outside


def clone(bare: Path, where: Path) -> Path:
    subprocess.run(["git", "clone", "-q", str(bare), str(where)], check=True)
    return where


def test_check_names_the_committed_cache_and_every_link(hostile, tmp_path):
    bare, outside = hostile
    root = clone(bare, tmp_path / "victim")
    assert os.path.islink(root / "documents/evil")            # git did check them out
    proc = facturier(root, "--as-of", "2025-03-01", "check")
    assert proc.returncode == 1
    report = proc.stdout + proc.stderr
    for path in (".facturier/records.msgpack", "documents/evil", "documents/2025/02",
                 "contacts/leak.yaml"):
        assert path in report, report
    assert "symbolic link" in report and "committed under .facturier/" in report
    assert "Traceback" not in report
    as_json = facturier(root, "--as-of", "2025-03-01", "check", "--format", "json")
    assert as_json.returncode == 1
    named = {d["file"] for d in json.loads(as_json.stdout)}
    assert {".facturier/records.msgpack", "documents/evil", "contacts/leak.yaml"} <= named


def test_a_committed_cache_hides_no_document_and_no_number_is_given_twice(hostile, tmp_path):
    bare, outside = hostile
    root = clone(bare, tmp_path / "victim")
    proc = facturier(root, "--as-of", "2025-03-01", "status", "--format", "json")
    assert proc.returncode == 1             # the links and the cache are named on stderr
    assert "documents/evil" in proc.stderr
    ids = {row["id"] for row in json.loads(proc.stdout)}
    assert {"inv-a", "inv-b", "inv-c"} <= ids
    # documents behind a link may hold numbers: none is given until they are gone
    proc = facturier(root, "--as-of", "2025-03-01", "doc", "validate", "inv-c")
    assert proc.returncode == 1
    assert "documents/evil" in proc.stderr and "Traceback" not in proc.stderr
    git(root, "rm", "-q", "documents/evil", "documents/2025/02", "contacts/leak.yaml")
    git(root, "commit", "-q", "-m", "no links")
    # the committed cache is still there, and still hides nothing
    proc = facturier(root, "--as-of", "2025-03-01", "doc", "validate", "inv-c")
    assert proc.returncode == 0, proc.stderr
    shown = facturier(root, "--as-of", "2025-03-01", "doc", "show", "inv-c", "--format", "json")
    assert json.loads(shown.stdout)["number"] == "2025-0003"
    # the cache that came with the clone is neither trusted nor overwritten
    assert git(root, "status", "--porcelain", "--", ".facturier") == ""


def test_a_linked_contact_is_never_read(hostile, tmp_path):
    bare, outside = hostile
    root = clone(bare, tmp_path / "victim")
    proc = facturier(root, "contact", "list", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert "Secret Neighbour" not in proc.stdout
    assert [c["id"] for c in json.loads(proc.stdout)] == ["acme"]


def test_nothing_is_written_through_a_link(hostile, tmp_path):
    bare, outside = hostile
    root = clone(bare, tmp_path / "victim")
    before = snapshot(outside)
    head = git(root, "rev-parse", "HEAD")
    proc = facturier(root, "--as-of", "2025-02-10", "doc", "new", "--customer", "acme",
                     "--line", "Work;1;100")
    assert proc.returncode == 1
    assert "documents/2025/02" in proc.stderr and "symbolic link" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert git(root, "rev-parse", "HEAD") == head
    # a whole day's run, and actions elsewhere in the book, work as usual
    assert facturier(root, "--as-of", "2025-03-01", "run", "--no-send").returncode == 1
    assert facturier(root, "--as-of", "2025-03-01", "doc", "pay", "inv-a", "50").returncode == 0
    assert snapshot(outside) == before


def test_a_linked_settings_file_is_an_error_and_is_not_read(tmp_path, make_book):
    outside = tmp_path / "theirs.yaml"
    outside.write_text("currency: USD\nbogus: 1\n")
    root = make_book({"contacts/acme.yaml": ACME})
    (root / "facturier.yaml").unlink()
    os.symlink(outside, root / "facturier.yaml")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "link the settings")
    proc = facturier(root, "check")
    assert proc.returncode == 1
    report = proc.stdout + proc.stderr
    assert "facturier.yaml" in report and "symbolic link" in report
    assert "bogus" not in report                  # the file behind the link was not read
    assert "Traceback" not in report
    assert outside.read_text() == "currency: USD\nbogus: 1\n"


def test_a_linked_state_folder_is_never_written(tmp_path, make_book):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    root = make_book({"contacts/acme.yaml": ACME})
    os.symlink(elsewhere, root / ".facturier")
    proc = facturier(root, "check")
    assert proc.returncode == 1
    assert ".facturier: this is a symbolic link" in proc.stdout + proc.stderr
    proc = facturier(root, "contact", "new", "--name", "Beta SA")
    assert proc.returncode == 1
    assert ".facturier is a symbolic link" in proc.stderr and "Traceback" not in proc.stderr
    assert list(elsewhere.iterdir()) == []


# --------------------------------------------------------------------------- the helpers

@pytest.fixture
def linked(tmp_path):
    root = tmp_path / "book"
    (root / "documents/2025/01").mkdir(parents=True)
    (root / "documents/2025/01/a.yaml").write_text("kind: invoice\n")
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.yaml").write_text("stolen\n")
    os.symlink(outside, root / "documents/2025/02")
    os.symlink(outside / "x.yaml", root / "documents/2025/01/b.yaml")
    os.symlink(outside / "missing.yaml", root / "documents/2025/01/dangling.yaml")
    return root


@pytest.mark.parametrize("path,refused", [
    ("documents/2025/01/a.yaml", None),
    ("documents/2025/01/new.yaml", None),
    ("documents/2026/05/new.yaml", None),                      # folders yet to make
    ("documents/2025/02/new.yaml", "documents/2025/02"),
    ("documents/2025/02/x.yaml", "documents/2025/02"),
    ("documents/2025/01/b.yaml", "documents/2025/01/b.yaml"),
    ("documents/2025/01/dangling.yaml", "documents/2025/01/dangling.yaml"),
    ("../outside/x.yaml", "../outside/x.yaml"),
    ("/etc/passwd", "/etc/passwd"),
    ("documents/../../outside/x.yaml", "documents/../../outside/x.yaml"),
    (".git/config", ".git/config"),
    ("documents/.GIT/hooks/x", "documents/.GIT/hooks/x"),
    ("documents//a.yaml", "documents//a.yaml"),
])
def test_check_writable(linked, path, refused):
    if refused is None:
        safepath.check_writable(linked, path)
        return
    with pytest.raises(safepath.UnsafePath) as error:
        safepath.check_writable(linked, path)
    assert error.value.path == refused


def test_read_bytes_never_follows_a_link(linked):
    assert safepath.read_bytes(linked, "documents/2025/01/a.yaml") == b"kind: invoice\n"
    for path in ("documents/2025/01/b.yaml", "documents/2025/02/x.yaml",
                 "documents/2025/01/dangling.yaml"):
        with pytest.raises(safepath.UnsafePath):
            safepath.read_bytes(linked, path)
    checked: set = set()
    safepath.read_bytes(linked, "documents/2025/01/a.yaml", checked)
    assert checked == {"documents", "documents/2025", "documents/2025/01"}
    with pytest.raises(FileNotFoundError):
        safepath.read_bytes(linked, "documents/2025/01/none.yaml")
    assert not safepath.is_file(linked, "documents/2025/01/b.yaml")
    assert safepath.is_file(linked, "documents/2025/01/a.yaml")
    assert safepath.links_under(linked, "documents") == [
        "documents/2025/01/b.yaml", "documents/2025/01/dangling.yaml", "documents/2025/02"]
