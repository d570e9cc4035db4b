"""Git does the writing (issue: a write path that survives Ctrl-C, hostile
clones and every git setup). Each test is a fault as a user meets it, through
the real `facturier` command on a real repository, and ends with what a user
would check: `git fsck --strict`, the work tree and index equal to HEAD, the
numbers, the file contents."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from engine.gitstore import BookLock, EditedMeanwhile, Store
from tests.conftest import REPO, git

AS_OF = "2025-03-10"


def fsck(root) -> None:
    proc = subprocess.run(["git", "-C", str(root), "fsck", "--strict", "--full"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def clean(root) -> str:
    """What git says differs from HEAD in the book's files ("" when nothing)."""
    return git(root, "status", "--porcelain", "--untracked-files=all", "--", "facturier.yaml",
               "contacts", "documents", "recurrences")


def new_invoice(cli, root, price: str = "100") -> str:
    made = cli("--as-of", AS_OF, "doc", "new", "--customer", "acme",
               "--line", "Work;1;%s" % price, book=root)
    assert made.code == 0, made
    return made.out.split()[-1]


@pytest.fixture
def book(make_book):
    return make_book({"facturier.yaml": "currency: EUR\n",
                      "contacts/acme.yaml": "name: ACME\nemail: ap@acme.example\n"})


def test_a_sha256_repository_is_written_like_any_other(tmp_path, cli):
    root = tmp_path / "book"
    root.mkdir()
    git(root, "init", "-q", "--object-format=sha256", "-b", "main")
    (root / "facturier.yaml").write_text("currency: EUR\n")
    (root / "contacts").mkdir()
    (root / "contacts/acme.yaml").write_text("name: ACME\n")
    git(root, "add", "-A")
    git(root, "commit", "-qm", "Book")
    doc = new_invoice(cli, root)
    assert cli("--as-of", AS_OF, "doc", "validate", doc, book=root).code == 0
    assert cli("--as-of", AS_OF, "doc", "pay", doc, "50", book=root).code == 0
    fsck(root)
    assert clean(root) == ""
    assert len(git(root, "rev-parse", "HEAD").strip()) == 64
    assert int(git(root, "rev-list", "--count", "HEAD")) == 4


@pytest.mark.parametrize("name", ["Jane <jane@x>", "Jane\nDoe", "<>Jane.", 'J. R. "Bob" <x>'])
def test_an_identity_git_accepts_makes_commits_fsck_and_a_strict_remote_accept(book, cli, name,
                                                                               tmp_path):
    git(book, "config", "user.name", name)
    git(book, "config", "user.email", "<jane@example.org>")
    doc = new_invoice(cli, book)
    assert cli("--as-of", AS_OF, "doc", "validate", doc, book=book).code == 0
    fsck(book)
    remote = tmp_path / "remote.git"
    git(tmp_path, "init", "-q", "--bare", str(remote))
    git(remote, "config", "receive.fsckObjects", "true")
    git(book, "push", "-q", str(remote), "main")       # fails when the remote rejects a commit
    author = git(book, "log", "-1", "--format=%an|%ae")
    assert "<" not in author and ">" not in author and "\n" not in author.strip()


def test_a_clone_with_autocrlf_is_not_seen_as_edited(book, cli, tmp_path):
    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", "-c", "core.autocrlf=true", str(book), str(clone))
    assert (clone / "contacts/acme.yaml").read_bytes().endswith(b"\r\n")   # git converted it
    doc = new_invoice(cli, clone)
    assert cli("--as-of", AS_OF, "doc", "validate", doc, book=clone).code == 0
    paid = cli("--as-of", AS_OF, "doc", "pay", doc, "50", book=clone)
    assert paid.code == 0, paid
    edited = cli("--as-of", AS_OF, "contact", "edit", "acme", "--payment-days", "45",
                 book=clone)
    assert edited.code == 0, edited
    fsck(clone)
    assert clean(clone) == ""
    stored = subprocess.run(["git", "-C", str(clone), "show", "HEAD:contacts/acme.yaml"],
                            capture_output=True).stdout
    assert b"\r\n" not in stored and b"payment_days: 45" in stored     # stored as git add would


def test_clean_and_smudge_filters_keep_contacts_encrypted_in_the_repository(book, cli):
    """A filter pair in the spirit of git-crypt (rot13 here): the repository
    holds the cleaned form, the work tree the readable one."""
    git(book, "config", "filter.rot.clean", "tr a-zA-Z n-za-mN-ZA-M")
    git(book, "config", "filter.rot.smudge", "tr a-zA-Z n-za-mN-ZA-M")
    (book / ".gitattributes").write_text("contacts/*.yaml filter=rot\n")
    git(book, "add", ".gitattributes")
    git(book, "add", "--renormalize", "contacts")
    git(book, "commit", "-qm", "Encrypt contacts")
    assert clean(book) == ""
    made = cli("contact", "new", "--name", "Secret Customer", "--email", "boss@secret.example",
               book=book)
    assert made.code == 0, made
    contact = made.out.split()[-1]
    stored = git(book, "show", "HEAD:contacts/%s.yaml" % contact)
    assert "Secret" not in stored and "Frperg" in stored
    assert "Secret Customer" in (book / "contacts" / (contact + ".yaml")).read_text()
    assert clean(book) == ""
    listed = cli("contact", "list", book=book)
    assert "Secret Customer" in listed.out


def test_a_file_mode_is_kept(book, cli):
    doc = new_invoice(cli, book)
    path = git(book, "ls-files", "documents").strip()
    os.chmod(book / path, 0o755)
    git(book, "add", path)
    git(book, "commit", "-qm", "Executable, for some reason")
    assert cli("--as-of", AS_OF, "doc", "validate", doc, book=book).code == 0
    assert git(book, "ls-files", "-s", path).split()[0] == "100755"
    assert clean(book) == ""


def test_a_persons_edit_during_a_batch_is_never_overwritten(book):
    """The file is edited after the session's check and before the batch is
    published: git refuses the move, nothing is written, the edit is kept."""
    path = "contacts/acme.yaml"
    before = git(book, "rev-parse", "HEAD").strip()
    with BookLock(book):
        store = Store(book)
        try:
            store.begin_batch()
            assert store.dirty([path]) == []
            store.commit({path: b"name: ACME\nemail: new@acme.example\n"}, [],
                         "Edit\n\nFacturier-Action: contact.modify\n")
            (book / path).write_text("name: ACME (my edit)\n")
            with pytest.raises(EditedMeanwhile, match="acme.yaml"):
                store.end_batch()
        finally:
            store.close()
    assert git(book, "rev-parse", "HEAD").strip() == before
    assert (book / path).read_text() == "name: ACME (my edit)\n"
    assert git(book, "diff", "--cached", "--name-only") == ""
    fsck(book)


def test_a_journal_committed_in_a_clone_is_never_acted_on(make_book, cli, tmp_path):
    outside = tmp_path / "precious.txt"
    outside.write_text("keep me")
    journal = ('{"ref": "refs/heads/main", "old": "x", "new": "y", "paths": {"../../precious.txt":'
               ' ["a", null], "/etc/hostname": ["b", null]}}\n')
    root = make_book({"contacts/acme.yaml": "name: ACME\n",
                      ".facturier/journal.json": journal,
                      ".git-facturier-note": "a stranger's book\n"})
    # the stranger committed it (make_book's .gitignore ignores .facturier/: force it)
    git(root, "add", "-f", ".facturier/journal.json")
    git(root, "commit", "-qm", "A hostile journal")
    doc = new_invoice(cli, root)
    assert cli("--as-of", AS_OF, "doc", "validate", doc, book=root).code == 0
    assert outside.read_text() == "keep me"
    assert (root / ".facturier/journal.json").read_text() == journal
    fsck(root)


def test_a_symlinked_folder_under_documents_is_never_written_through(book, cli, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (book / "documents").mkdir(exist_ok=True)
    os.symlink(outside, book / "documents" / "2025")
    made = cli("--as-of", AS_OF, "doc", "new", "--customer", "acme", "--line", "Work;1;10",
               book=book)
    assert made.code == 1
    assert "symbolic link" in made.err
    assert list(outside.iterdir()) == []
    assert int(git(book, "rev-list", "--count", "HEAD")) == 1


CRASHER = textwrap.dedent("""
    import datetime as dt, sys, os, signal
    from decimal import Decimal
    sys.path.insert(0, %r)
    from engine import actions as A
    from engine.cli import _terminate
    signal.signal(signal.SIGTERM, _terminate)     # as the facturier command does
    root = sys.argv[1]
    day = dt.date(2025, 3, 10)
    with A.open_writer(root) as w:
        for n in range(200):
            c = A.plan_create_document(w.book, {"kind": "invoice", "customer": "acme",
                "lines": [{"description": "item %%d" %% n, "unit_price": Decimal(n + 1)}]}, day)
            w.commit(c)
            w.commit(A.plan_validate(w.book, c.ids("Facturier-Document")[0], day))
            if n == 9:
                print("published", flush=True)
""") % str(REPO)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("delay", [0.0, 0.05, 0.15, 0.3])
def test_sigint_and_sigterm_in_a_long_session_leave_head_complete_and_numbers_gap_free(
        book, sig, delay):
    proc = subprocess.Popen([sys.executable, "-c", CRASHER, str(book)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=str(REPO)))
    assert proc.stdout.readline() == b"published\n"
    time.sleep(delay)
    proc.send_signal(sig)
    proc.communicate(timeout=60)
    _settle(book)
    fsck(book)
    assert clean(book) == "" and git(book, "diff", "--cached", "--name-only", "HEAD") == ""
    numbers = sorted(n.strip('"') for n in git(book, "grep", "-h", "^number:", "HEAD", "--",
                                                  "documents").split()[1::2])
    assert numbers == ["2025-%04d" % i for i in range(1, len(numbers) + 1)]
    assert len(numbers) >= 10
    # every document in HEAD is in the work tree and the reverse
    assert sorted(git(book, "ls-files", "documents").split()) == sorted(
        str(p.relative_to(book)) for p in (book / "documents").rglob("*.yaml"))


def _settle(root: Path) -> None:
    with BookLock(root):
        Store(root).close()


def test_an_action_recorded_while_the_editor_is_open_is_never_undone(book, cli, tmp_path):
    """`doc edit` with a slow editor: a payment is recorded meanwhile; the
    edit, made from the text before the payment, is refused and kept aside."""
    doc = new_invoice(cli, book)
    assert cli("--as-of", AS_OF, "doc", "validate", doc, book=book).code == 0
    editor = tmp_path / "slow-editor"
    editor.write_text(textwrap.dedent("""\
        #!/bin/sh
        "%s" -m tui.entry --book "%s" --as-of %s doc pay %s 10 >/dev/null 2>&1 || exit 3
        printf 'notes: "edited"\\n' >> "$1"
        """ % (sys.executable, book, AS_OF, doc)))
    editor.chmod(0o755)
    edited = cli("--as-of", AS_OF, "doc", "edit", doc, book=book, env={"EDITOR": str(editor)})
    assert edited.code == 1, edited
    assert "changed while it was being edited" in edited.err
    path = git(book, "ls-files", "documents").strip()
    text = (book / path).read_text()
    assert 'amount: "10.00"' in text and "edited" not in text       # the payment is kept
    kept = next((book / ".facturier").glob("rejected-*.yaml")).read_text()
    assert 'notes: "edited"' in kept
    assert clean(book) == ""


WRITER = textwrap.dedent("""
    import datetime as dt, sys
    from decimal import Decimal
    sys.path.insert(0, %r)
    from engine import actions as A
    day = dt.date(2025, 3, 10)
    with A.open_writer(sys.argv[1]) as w:
        for n in range(60):
            c = A.plan_create_document(w.book, {"kind": "invoice", "customer": "acme",
                "lines": [{"description": "item %%d " %% n + "x" * 400,
                           "unit_price": Decimal(n + 1)}]}, day)
            w.commit(c)
            w.commit(A.plan_validate(w.book, c.ids("Facturier-Document")[0], day))
""") % str(REPO)

SETTLE = textwrap.dedent("""
    import sys
    sys.path.insert(0, %r)
    from engine.gitstore import BookLock, Store
    with BookLock(sys.argv[1]):
        Store(sys.argv[1]).close()
""") % str(REPO)


@pytest.mark.parametrize("free_kb", [60, 120, 200, 280, 300, 320, 360, 380, 440])
def test_a_full_disk_anywhere_in_a_session_loses_nothing_committed(book, tmp_path, free_kb):
    """The book on a small file system that fills up during a session (a
    tmpfs in a private mount namespace): the write that fails is a different
    one for each size — an object, the pack, the journal, a work tree file,
    the index, a ref. The session stops with an error; once space is freed the
    next command settles the book, whole."""
    used = subprocess.run(["du", "-sk", str(book)], capture_output=True, text=True).stdout
    size = int(used.split()[0]) + free_kb
    mnt, out = tmp_path / "mnt", tmp_path / "out"
    mnt.mkdir()
    out.mkdir()
    script = textwrap.dedent("""\
        set -u
        mount -t tmpfs -o size={size}k tmpfs {mnt} || exit 90
        cp -a {book} {mnt}/b
        "{py}" -c "$WRITER" {mnt}/b > {out}/writer.log 2>&1; echo $? > {out}/rc
        mount -o remount,size=64m {mnt}
        "{py}" -c "$SETTLE" {mnt}/b > {out}/settle.log 2>&1 || exit 91
        cp -a {mnt}/b {out}/b
        """).format(size=size, mnt=mnt, book=book, out=out, py=sys.executable)
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
                          env=dict(os.environ, WRITER=WRITER, SETTLE=SETTLE),
                          capture_output=True, text=True)
    assert proc.returncode == 0, (proc.returncode, proc.stderr,
                                  (out / "settle.log").read_text() if (out / "settle.log").exists()
                                  else "")
    assert (out / "rc").read_text().strip() != "0", "the disk never filled up"
    root = out / "b"
    logs = (out / "writer.log").read_text()[-1500:] + (out / "settle.log").read_text()[-1500:]
    fsck(root)
    assert clean(root) == "", logs
    assert git(root, "diff", "--cached", "--name-only", "HEAD") == ""
    numbers = _numbers(root)
    assert numbers == ["2025-%04d" % i for i in range(1, len(numbers) + 1)]
    # and the book goes on: the next session numbers after the last one
    proc = subprocess.run([sys.executable, "-c", WRITER, str(root)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    numbers = _numbers(root)
    assert numbers == ["2025-%04d" % i for i in range(1, len(numbers) + 1)] and len(numbers) >= 60
    assert clean(root) == ""


def _numbers(root) -> list[str]:
    """The invoice numbers HEAD holds, sorted."""
    out = subprocess.run(["git", "-C", str(root), "grep", "-h", "^number:", "HEAD", "--",
                          "documents"], capture_output=True, text=True).stdout
    return sorted(n.strip('"') for n in out.split()[1::2])


def _due_book(root: Path, n: int) -> None:
    """n recurrences with issue: validate, each with one occurrence due on
    2025-06-01 (the book benchmarks/bench_run.py times)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("bench_run", REPO / "benchmarks" / "bench_run.py")
    assert spec is not None and spec.loader is not None
    bench_run = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench_run)
    bench_run.due_book(root, n)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
@pytest.mark.parametrize("fraction", [0.2, 0.5, 0.8])
def test_a_signal_during_a_large_run_then_a_rerun_gives_every_number_once(tmp_path, cli, sig,
                                                                          fraction):
    """`facturier run` generating and numbering 600 invoices gets SIGINT (a
    cancelled CI job sends it first) or SIGTERM part-way; the rerun finishes:
    600 documents, 600 numbers, no gap, no duplicate, nothing left over."""
    root = tmp_path / "book"
    _due_book(root, 600)
    full = time.perf_counter()
    done = cli("--as-of", "2025-06-01", "run", "--no-send", book=root)
    full = time.perf_counter() - full
    assert done.code == 0, done
    git(root, "reset", "-q", "--hard", "HEAD~%d" % 600)          # the same book, before the run
    git(root, "reflog", "expire", "--expire=now", "--all")
    cmd = [sys.executable, "-m", "tui.entry", "--book", str(root), "--as-of", "2025-06-01",
           "run", "--no-send"]
    proc = subprocess.Popen(cmd, env=dict(os.environ, PYTHONPATH=str(REPO)), cwd=str(REPO),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(full * fraction)
    proc.send_signal(sig)
    _out, err = proc.communicate(timeout=120)
    assert b"Traceback" not in err
    fsck(root)
    made = int(git(root, "rev-list", "--count", "HEAD")) - 1
    assert clean(root) == "" or made == 0, clean(root)
    rerun = cli("--as-of", "2025-06-01", "run", "--no-send", book=root)
    assert rerun.code == 0, rerun
    fsck(root)
    assert clean(root) == ""
    numbers = _numbers(root)
    assert numbers == ["2025-%04d" % i for i in range(1, 601)]
    assert int(git(root, "rev-list", "--count", "HEAD")) == 601
