"""Appends written in place (engine.worktree.append_in_place): when the
repository converts nothing and a file's new content starts with what it
holds (payments, reminders, deliveries appended as text), facturier writes
only the tail and git records it (`update-index --stdin`) — instead of git
unlinking and rewriting each file, which costs 2 ms a file on a disk that
frees blocks online. Each test is a real repository and ends with what a
person would check: `git fsck --strict`, work tree == index == HEAD, the
bytes of each file, nothing lost."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap

import pytest

from engine import worktree
from engine.gitstore import BookLock, EditedMeanwhile, GitError, Store
from tests.conftest import REPO, git

COUNT = 30          # appended files in one publish: more than worktree.CHECKOUT_PATHS
FOLDER = "documents/2025/02"


def doc(i: int) -> str:
    return "%s/inv-%02d.yaml" % (FOLDER, i)


def old(i: int) -> bytes:
    return b"kind: invoice\ncustomer: acme\nnumber: 2025-%04d\n" % i


def reminder(i: int, level: int) -> bytes:
    return b"reminders:\n- date: 2025-03-%02d\n  level: %d\n" % (level, level) if level == 1 \
        else b"- date: 2025-03-%02d\n  level: %d\n" % (level, level)


def new(i: int) -> bytes:
    """Each file gets a reminder; the first ten a second one (two commits)."""
    return old(i) + reminder(i, 1) + (reminder(i, 2) if i < 10 else b"")


@pytest.fixture
def book(make_book):
    files = {"contacts/acme.yaml": "name: ACME\n"}
    files.update({doc(i): old(i).decode() for i in range(COUNT)})
    root = make_book(files)
    git(root, "status", "--porcelain")          # the index's stat data fresh, as in a clone
    return root


def fsck(root) -> None:
    proc = subprocess.run(["git", "-C", str(root), "fsck", "--strict", "--full"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def settled(root) -> None:
    """Work tree == index == HEAD, and the index's stat data right: `git
    diff-files` (which does not refresh the index) names no file."""
    assert git(root, "status", "--porcelain", "--untracked-files=all") == ""
    assert git(root, "diff", "--cached", "--name-only", "HEAD") == ""
    assert git(root, "diff-files", "--name-only") == ""
    assert not (root / ".git/facturier/journal.json").exists()


SESSION = textwrap.dedent("""
    import signal, sys
    sys.path.insert(0, %r)
    from engine.cli import _terminate
    from engine.gitstore import BookLock, Store
    signal.signal(signal.SIGTERM, _terminate)     # as the facturier command does
    signal.signal(signal.SIGINT, signal.default_int_handler)
    root, count = sys.argv[1], int(sys.argv[2])
    folder = %r
    with BookLock(root):
        store = Store(root)
        store.begin_batch()
        for level in (1, 2):
            for i in range(count if level == 1 else min(count, 10)):
                path = "%%s/inv-%%02d.yaml" %% (folder, i)
                text = store.read(path)
                text += (b"reminders:\\n" if level == 1 else b"") + \\
                    b"- date: 2025-03-%%02d\\n  level: %%d\\n" %% (level, level)
                store.commit({path: text}, [], "Remind %%d\\n\\nFacturier-Action: document.remind\\n"
                             %% i)
        store.end_batch()
        store.close()
""") % (str(REPO), FOLDER)


def session(root, count: int = COUNT, crash: str = "", **kw) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    if crash:
        env["FACTURIER_TEST_CRASH"] = crash
    return subprocess.run([sys.executable, "-c", SESSION, str(root), str(count)],
                          capture_output=True, env=env, **kw)


def test_appends_are_written_in_place_and_git_records_them_clean(book):
    inodes = {i: os.stat(book / doc(i)).st_ino for i in range(COUNT)}
    before = git(book, "rev-parse", "HEAD").strip()
    proc = session(book)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(git(book, "rev-list", "--count", "%s..HEAD" % before)) == COUNT + 10
    for i in range(COUNT):
        assert (book / doc(i)).read_bytes() == new(i)
        assert os.stat(book / doc(i)).st_ino == inodes[i]     # the same file, not a new one
        assert git(book, "show", "HEAD:" + doc(i)).encode() == new(i)
    settled(book)
    fsck(book)


def test_one_action_appending_to_one_file_writes_it_in_place(book):
    ino = os.stat(book / doc(3)).st_ino
    with BookLock(book):
        store = Store(book)
        store.commit({doc(3): old(3) + reminder(3, 1)}, [], "Remind\n\nFacturier-Action: x\n")
        store.close()
    assert (book / doc(3)).read_bytes() == old(3) + reminder(3, 1)
    assert os.stat(book / doc(3)).st_ino == ino
    settled(book)


def test_a_rewrite_a_new_file_and_a_deletion_beside_appends_take_gits_way(book):
    with BookLock(book):
        store = Store(book)
        store.begin_batch()
        for i in range(20):
            store.commit({doc(i): new(i)}, [], "Remind\n\nFacturier-Action: x\n")
        store.commit({doc(20): b"kind: invoice\ncustomer: other\n",     # not an append
                      "documents/2025/03/new.yaml": b"kind: quote\n"}, [doc(21)], "Mixed\n")
        store.end_batch()
        store.close()
    assert all((book / doc(i)).read_bytes() == new(i) for i in range(20))
    assert (book / doc(20)).read_bytes() == b"kind: invoice\ncustomer: other\n"
    assert (book / "documents/2025/03/new.yaml").read_bytes() == b"kind: quote\n"
    assert not (book / doc(21)).exists()
    settled(book)
    fsck(book)


POINTS = ["journal", "appended-half", "append-mid", "appended", "files", "branch"]


@pytest.mark.parametrize("how", ["", ":INT", ":TERM"])
@pytest.mark.parametrize("point", POINTS)
def test_an_append_publish_killed_or_interrupted_anywhere_is_recovered_whole(book, point, how):
    """Killed (-9), or interrupted (SIGINT, SIGTERM), before the files, after
    half of them, in the middle of one file's tail, after all of them (index
    not yet told), after the index, after the branch: HEAD is complete (all
    40 commits or none), and after the next command each file holds exactly
    HEAD's content, the index agrees, fsck is clean."""
    before = git(book, "rev-parse", "HEAD").strip()
    proc = session(book, crash=point + how)
    assert proc.returncode != 0
    moved = point == "branch"
    assert int(git(book, "rev-list", "--count", "%s..HEAD" % before)) == (COUNT + 10 if moved
                                                                            else 0)
    if how:     # an interruption unwinds: the session itself settled the book
        last = proc.stderr.strip().splitlines()[-1]
        assert last in (b"KeyboardInterrupt", b"engine.cli.Terminated"), proc.stderr[-2000:]
        assert not (book / ".git/facturier/journal.json").exists()
    else:
        assert (book / ".git/facturier/journal.json").exists()
        if point == "append-mid":       # a file holds the start of its new content
            cut = [i for i in range(COUNT) if (book / doc(i)).read_bytes() not in (old(i), new(i))]
            assert len(cut) == 1 and new(cut[0]).startswith((book / doc(cut[0])).read_bytes())
        with BookLock(book):
            store = Store(book)
            store.close()
        if point not in ("journal", "branch"):
            assert any("finished the interrupted change" in m for m in store.recovered)
    fsck(book)
    settled(book)
    for i in range(COUNT):
        assert (book / doc(i)).read_bytes() == (new(i) if moved else old(i))


@pytest.mark.parametrize("point", ["append-mid", "appended"])
def test_one_action_killed_mid_append_is_recovered(book, point):
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, %r)
        from engine.gitstore import BookLock, Store
        with BookLock(sys.argv[1]):
            store = Store(sys.argv[1])
            store.commit({%r: %r}, [], "Remind\\n\\nFacturier-Action: x\\n")
    """) % (str(REPO), doc(0), old(0) + reminder(0, 1))
    proc = subprocess.run([sys.executable, "-c", script, str(book)], capture_output=True,
                          env=dict(os.environ, FACTURIER_TEST_CRASH=point))
    assert proc.returncode == -signal.SIGKILL
    data = (book / doc(0)).read_bytes()
    assert data != old(0) and (old(0) + reminder(0, 1)).startswith(data)
    with BookLock(book):
        Store(book).close()
    assert (book / doc(0)).read_bytes() == old(0)
    settled(book)
    fsck(book)


def test_an_append_made_while_the_pack_is_written_is_recovered_from_its_stored_blob(book):
    """An action's publish writes its appends while git writes the commit's
    pack: the new content is stored as a blob first, so a kill in the middle
    of the tail (the pack never written: no fast-import here at all) is still
    recognised as facturier's write cut short and settled."""
    data = old(0) + reminder(0, 1)
    script = textwrap.dedent("""
        import sys
        sys.path.insert(0, %r)
        from engine import worktree
        from engine.gitrepo import blob_id
        repo = worktree.Repository(sys.argv[1])
        path, data, old = %r, %r, %r
        paths = {path: (blob_id(old), blob_id(data))}
        worktree.Journal(repo).write("refs/heads/main", "0" * 40, "0" * 40, paths)
        worktree.checkout(repo, "0" * 40, paths, modes={path: "100644"},
                          contents={path: data}, objects=lambda: sys.exit("pack waited for"))
    """) % (str(REPO), doc(0), data, old(0))
    proc = subprocess.run([sys.executable, "-c", script, str(book)], capture_output=True,
                          env=dict(os.environ, FACTURIER_TEST_CRASH="append-mid"))
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    cut = (book / doc(0)).read_bytes()
    assert cut != old(0) and data.startswith(cut) and cut != data
    with BookLock(book):
        store = Store(book)
        store.close()
    assert any(doc(0) in message and "finished" in message for message in store.recovered)
    assert (book / doc(0)).read_bytes() == old(0)
    settled(book)
    fsck(book)


def test_a_persons_edit_made_before_the_publish_is_refused_and_kept(book):
    with BookLock(book):
        store = Store(book)
        store.begin_batch()
        for i in range(COUNT):
            store.commit({doc(i): new(i)}, [], "Remind\n\nFacturier-Action: x\n")
        mine = old(7) + b"notes: my own edit\n"         # also an append of its own
        (book / doc(7)).write_bytes(mine)
        with pytest.raises(EditedMeanwhile, match=doc(7)):
            store.end_batch()
        store.close()
    assert (book / doc(7)).read_bytes() == mine
    assert all((book / doc(i)).read_bytes() == old(i) for i in range(COUNT) if i != 7)
    assert git(book, "status", "--porcelain") == " M %s\n" % doc(7)
    assert git(book, "diff", "--cached", "--name-only") == ""
    fsck(book)


def test_a_read_only_file_is_written_as_git_writes_it(book):
    (book / doc(5)).chmod(0o444)
    proc = session(book)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert all((book / doc(i)).read_bytes() == new(i) for i in range(COUNT))
    settled(book)


def test_a_file_nobody_may_write_mid_publish_stops_it_cleanly_and_loses_nothing(book, tmp_path):
    """One file of the publish on a read-only mount (what even root cannot
    write, nor git replace): the session fails with git's refusal naming the
    file; every other file is back to HEAD's content, the branch did not
    move, the session itself settled the book (the file it could not write
    needed only its index entry put back)."""
    before = git(book, "rev-parse", "HEAD").strip()
    target = book / doc(COUNT // 2 + 1)
    script = textwrap.dedent("""\
        set -u
        mount --bind {t} {t} && mount -o remount,bind,ro {t} || exit 90
        "{py}" -c "$SESSION" {book} {count} > {out}/session.log 2>&1; echo $? > {out}/rc
        """).format(t=target, py=sys.executable, book=book, count=COUNT, out=tmp_path)
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
                          env=dict(os.environ, SESSION=SESSION), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    log = (tmp_path / "session.log").read_text()
    assert (tmp_path / "rc").read_text().strip() != "0", log
    last = log.strip().splitlines()[-1]
    assert last.startswith("engine.gitrepo.GitError") and doc(COUNT // 2 + 1) in last, log[-2000:]
    assert git(book, "rev-parse", "HEAD").strip() == before
    assert all((book / doc(i)).read_bytes() == old(i) for i in range(COUNT))
    assert not (book / ".git/facturier/journal.json").exists()    # settled by the session
    fsck(book)
    with BookLock(book):
        store = Store(book)
        store.close()
    assert store.recovered == []
    settled(book)


def test_a_symlinked_folder_on_the_way_is_never_written_through(book, tmp_path):
    """Between the check and the write a folder of the book is swapped for a
    link to a folder outside holding the same files: the in-place writer
    refuses it, the outside file is untouched."""
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "inv-00.yaml").write_bytes(old(0))
    os.rename(book / FOLDER, tmp_path / "moved")
    os.symlink(outside, book / FOLDER)
    repo = worktree.Repository(book)
    data = new(0)
    with pytest.raises(GitError, match="symbolic link"):
        worktree.append_in_place(repo, {doc(0): (len(old(0)), data, ("100644", "0" * 40))})
    assert (outside / "inv-00.yaml").read_bytes() == old(0)


def test_a_symlinked_folder_swapped_in_before_the_publish_refuses_it(book, tmp_path):
    outside = tmp_path / "outside"
    with BookLock(book):
        store = Store(book)
        store.begin_batch()
        for i in range(COUNT):
            store.commit({doc(i): new(i)}, [], "Remind\n\nFacturier-Action: x\n")
        os.rename(book / FOLDER, outside)
        os.symlink(outside, book / FOLDER)
        with pytest.raises(EditedMeanwhile):
            store.end_batch()
        store.close()
    assert all((outside / ("inv-%02d.yaml" % i)).read_bytes() == old(i) for i in range(COUNT))
    assert os.path.islink(book / FOLDER)


@pytest.mark.parametrize("setup", ["autocrlf", "attributes", "deep attributes",
                                   "global attributes"])
def test_a_repository_that_converts_content_takes_gits_way(book, setup, tmp_path, monkeypatch):
    """core.autocrlf=true, or an eol/filter attribute (in the book, in a
    tracked attributes file of the documents' own folder, or in the person's
    global attributes file): the bytes in the work tree are not the blob's,
    so git writes each file whole (CRLF lines, the appended ones included)."""
    if setup == "autocrlf":
        git(book, "config", "core.autocrlf", "true")
    elif setup == "global attributes":
        config = tmp_path / "config"
        (config / "git").mkdir(parents=True)
        (config / "git" / "attributes").write_text("*.yaml text eol=crlf\n")
        monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    elif setup == "deep attributes":
        (book / FOLDER / ".gitattributes").write_text("*.yaml text eol=crlf\n")
        git(book, "add", FOLDER + "/.gitattributes")
        git(book, "commit", "-qm", "attributes")
    else:
        (book / ".gitattributes").write_text("documents/**/*.yaml text eol=crlf\n")
        git(book, "add", ".gitattributes")
        git(book, "commit", "-qm", "attributes")
    for i in range(COUNT):
        (book / doc(i)).unlink()
    git(book, "checkout", "--", "documents")
    assert (book / doc(0)).read_bytes() == old(0).replace(b"\n", b"\r\n")
    proc = session(book)
    assert proc.returncode == 0, proc.stderr[-2000:]
    for i in range(COUNT):
        assert git(book, "show", "HEAD:" + doc(i)).encode() == new(i)
        assert (book / doc(i)).read_bytes() == new(i).replace(b"\n", b"\r\n")
    settled(book)
    fsck(book)


def test_a_file_with_another_hard_link_is_replaced_as_git_does_never_changed_through_it(
        book, tmp_path):
    """A copy made with `cp -al` shares the files: writing in place would
    change the copy too, so that file takes git's way (a new file)."""
    os.link(book / doc(4), tmp_path / "backup.yaml")
    proc = session(book)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (tmp_path / "backup.yaml").read_bytes() == old(4)
    assert all((book / doc(i)).read_bytes() == new(i) for i in range(COUNT))
    settled(book)


FULL_DISK = textwrap.dedent("""\
    set -u
    for free in $SIZES; do
        mkdir -p {mnt} {out}/$free
        mount -t tmpfs -o size=64m tmpfs {mnt} || exit 90
        cp -a {book} {mnt}/b
        used=$(df -k --output=used {mnt} | tail -1)
        mount -o remount,size=$(( used + free ))k {mnt} || exit 92
        "{py}" -c "$SESSION" {mnt}/b {count} > {out}/$free/session.log 2>&1
        echo $? > {out}/$free/rc
        mount -o remount,size=64m {mnt}
        "{py}" -c "$SETTLE" {mnt}/b > {out}/$free/settle.log 2>&1 || exit 91
        cp -a {mnt}/b {out}/$free/b
        umount {mnt}
    done
    """)

SETTLE = textwrap.dedent("""
    import sys
    sys.path.insert(0, %r)
    from engine.gitstore import BookLock, Store
    with BookLock(sys.argv[1]):
        Store(sys.argv[1]).close()
""") % str(REPO)


def test_a_disk_filling_up_during_the_appends_loses_nothing(make_book, tmp_path):
    """The book on a small file system (a tmpfs in a private mount
    namespace) that fills up during an append publish — for some sizes in
    the pack, the journal or the index, for others in the middle of the
    in-place writes (each file holds a full page, so each tail needs a new
    one). The session stops with an error; once space is freed the next
    command settles the book: HEAD complete, each file HEAD's content."""
    pad = b"# " + b"x" * 4000 + b"\n"
    files = {"contacts/acme.yaml": "name: ACME\n"}
    files.update({doc(i): (old(i) + pad[:4096 - len(old(i))]).decode() for i in range(COUNT)})
    book = make_book(files)
    sizes = list(range(4, 100, 12))
    script = FULL_DISK.format(book=book, mnt=tmp_path / "mnt", out=tmp_path / "out",
                              py=sys.executable, count=COUNT)
    proc = subprocess.run(["unshare", "--mount", "--propagation", "private", "bash", "-c", script],
                          env=dict(os.environ, SESSION=SESSION, SETTLE=SETTLE,
                                   SIZES=" ".join(map(str, sizes))),
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    in_place_failures = 0
    for free in sizes:
        out = tmp_path / "out" / str(free)
        root = out / "b"
        log = (out / "session.log").read_text()
        if (out / "rc").read_text().strip() == "0":
            continue
        in_place_failures += "could not write documents/" in log
        fsck(root)
        settled(root)
        head = git(root, "rev-list", "--count", "HEAD")
        for i in range(COUNT):
            committed = git(root, "show", "HEAD:" + doc(i)).encode()
            assert (root / doc(i)).read_bytes() == committed
            assert committed.startswith(old(i)) and committed in (
                old(i) + pad[:4096 - len(old(i))],
                old(i) + pad[:4096 - len(old(i))] + new(i)[len(old(i)):]), (free, head)
    assert in_place_failures, "the disk never filled up during the in-place writes"
