"""The git write side on real repositories: one commit per change without
git's index, the book lock, compare-and-swap on the branch, refusing dirty
files, and recovery after a kill -9 at each point of a commit."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from engine import gitstore
from engine.gitstore import BookLock, ConcurrentChange, LockTimeout, Store
from tests.conftest import REPO, git

DOC = "documents/2025/01/inv-20250105-aaaa.yaml"
OLD = b"kind: invoice\ncustomer: acme\ndate: 2025-01-05\n"
NEW = OLD + b"notes: changed\n"


@pytest.fixture
def book(make_book):
    return make_book({"contacts/acme.yaml": "name: ACME\n", DOC: OLD.decode()})


def _status(root) -> str:
    return git(root, "status", "--porcelain", "--untracked-files=all", "--", "facturier.yaml",
               "contacts", "documents", "recurrences")


def _commit(root, writes, deletes=(), message="Edit\n\nFacturier-Action: document.modify\n"):
    with BookLock(root):
        store = Store(root)
        try:
            return store.commit(writes, deletes, message)
        finally:
            store.close()


def test_a_commit_moves_the_branch_and_leaves_work_tree_and_index_clean(book):
    before = git(book, "rev-parse", "HEAD").strip()
    sha = _commit(book, {DOC: NEW, "documents/2025/02/new.yaml": b"kind: quote\n"},
                  message="Edit it\n\nFacturier-Action: document.modify\n"
                          "Facturier-Document: inv-20250105-aaaa\n")
    assert git(book, "rev-parse", "HEAD").strip() == sha
    assert git(book, "rev-parse", "HEAD^").strip() == before
    assert (book / DOC).read_bytes() == NEW
    assert _status(book) == ""
    assert git(book, "diff", "--cached", "--name-only") == ""
    assert git(book, "log", "-1", "--format=%(trailers:key=Facturier-Action,valueonly)") \
        .strip() == "document.modify"
    assert git(book, "log", "-1", "--format=%s|%an <%ae>").strip() == \
        "Edit it|Test User <test@example.com>"
    subprocess.run(["git", "-C", str(book), "fsck", "--strict"], check=True, capture_output=True)


def test_deleting_the_last_file_of_a_folder_removes_the_empty_month_folders(book):
    _commit(book, {}, [DOC])
    assert not (book / "documents/2025").exists()     # git removes emptied folders
    assert "documents" not in git(book, "ls-tree", "--name-only", "HEAD")
    assert _status(book) == ""


def test_a_change_that_changes_nothing_makes_no_commit(book):
    head = git(book, "rev-parse", "HEAD").strip()
    assert _commit(book, {DOC: OLD}) is None
    assert git(book, "rev-parse", "HEAD").strip() == head


def _children() -> set[int]:
    found: set[int] = set()
    for task in os.listdir("/proc/self/task"):
        with open("/proc/self/task/%s/children" % task) as f:
            found.update(int(pid) for pid in f.read().split())
    return found


@pytest.mark.parametrize("use", ["nothing", "dirty", "commit"])
def test_a_session_leaves_no_git_process_behind(book, use):
    """The questions a session asks git while it opens (staged changes,
    whether content is converted) run beside it: whether their answers are
    used or not, none of them is left running once the session is closed."""
    before = _children()
    with BookLock(book):
        store = Store(book)
        try:
            if use == "dirty":
                assert store.dirty([DOC]) == []
            elif use == "commit":
                store.commit({DOC: NEW}, [], "Edit\n\nFacturier-Action: document.modify\n")
        finally:
            store.close()
    assert _children() - before == set()
    if use == "commit":
        assert (book / DOC).read_bytes() == NEW
        assert _status(book) == ""


def test_staged_changes_are_seen_by_a_session_opened_after_them(book):
    """The staged changes asked while the session opens are those of the
    branch's commit the session starts from."""
    (book / DOC).write_bytes(NEW)
    git(book, "add", DOC)
    with BookLock(book):
        store = Store(book)
        try:
            assert store.dirty([DOC]) == [DOC]
        finally:
            store.close()


def test_the_author_is_the_person_given(book):
    with BookLock(book):
        store = Store(book, author="Ada Lovelace <ada@example.com>")
        store.commit({DOC: NEW}, (), "x\n")
        store.close()
    assert git(book, "log", "-1", "--format=%an <%ae>").strip() == "Ada Lovelace <ada@example.com>"


def test_files_with_uncommitted_edits_are_named(book):
    with BookLock(book):
        store = Store(book)
        assert store.dirty([DOC, "contacts/acme.yaml", "documents/x.yaml"]) == []
        (book / DOC).write_bytes(NEW)
        (book / "documents/x.yaml").write_text("kind: quote\n")     # untracked, in the way
        assert store.dirty([DOC, "contacts/acme.yaml", "documents/x.yaml"]) == \
            [DOC, "documents/x.yaml"]
        store.close()


def test_a_staged_edit_counts_as_uncommitted(book):
    (book / DOC).write_bytes(NEW)
    git(book, "add", DOC)
    (book / DOC).write_bytes(OLD)
    with BookLock(book):
        store = Store(book)
        assert store.dirty([DOC]) == [DOC]
        store.close()


def test_a_commit_made_meanwhile_is_detected_not_overwritten(book):
    with BookLock(book):
        store = Store(book)
        git(book, "commit", "-q", "--allow-empty", "-m", "someone else")
        theirs = git(book, "rev-parse", "HEAD").strip()
        with pytest.raises(ConcurrentChange, match="moved"):
            store.commit({DOC: NEW}, (), "mine\n")
        store.close()
    assert git(book, "rev-parse", "HEAD").strip() == theirs
    assert (book / DOC).read_bytes() == OLD
    assert _status(book) == ""


HOLDER = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, %r)
    from engine.gitstore import BookLock
    lock = BookLock(sys.argv[1]).acquire()
    print("locked", flush=True)
    time.sleep(60)
""") % str(REPO)


def _hold_lock(root):
    proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(root)], stdout=subprocess.PIPE,
                            text=True)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_a_second_process_waits_then_fails_with_a_clear_message(book):
    proc = _hold_lock(book)
    try:
        start = time.monotonic()
        with pytest.raises(LockTimeout, match="another facturier process .*pid %d" % proc.pid):
            BookLock(book, timeout=0.4).acquire()
        assert 0.35 < time.monotonic() - start < 3
    finally:
        proc.kill()
        proc.wait()


def test_the_lock_of_a_killed_process_does_not_block(book):
    proc = _hold_lock(book)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    start = time.monotonic()
    with BookLock(book, timeout=5):
        pass
    assert time.monotonic() - start < 1


def test_a_waiting_process_gets_the_lock_when_the_holder_finishes(book):
    proc = _hold_lock(book)
    try:
        time.sleep(0.1)
        subprocess.Popen(["sh", "-c", "sleep 0.3; kill %d" % proc.pid])
        with BookLock(book, timeout=5):
            pass
    finally:
        proc.kill()
        proc.wait()


CRASHER = textwrap.dedent("""
    import sys
    sys.path.insert(0, %r)
    from engine.gitstore import BookLock, Store
    root = sys.argv[1]
    with BookLock(root):
        store = Store(root)
        store.commit({%r: %r, "documents/2025/02/new.yaml": b"kind: quote\\n"},
                     ["contacts/acme.yaml"], "Crash test\\n\\nFacturier-Action: document.modify\\n")
        store.close()
""") % (str(REPO), DOC, NEW)


@pytest.mark.parametrize("point", ["objects", "journal", "files", "branch"])
def test_a_kill_at_any_point_leaves_head_complete_and_recovery_matches_work_tree_to_it(
        book, point):
    before = git(book, "rev-parse", "HEAD").strip()
    proc = subprocess.run([sys.executable, "-c", CRASHER, str(book)],
                          env=dict(os.environ, FACTURIER_TEST_CRASH=point))
    assert proc.returncode == -signal.SIGKILL
    head = git(book, "rev-parse", "HEAD").strip()
    moved = point == "branch"
    assert (head != before) == moved
    subprocess.run(["git", "-C", str(book), "fsck", "--strict"], check=True, capture_output=True)
    with BookLock(book):                       # the next session repairs
        store = Store(book)
        store.close()
    assert _status(book) == ""
    assert git(book, "diff", "--cached", "--name-only") == ""
    assert (book / DOC).read_bytes() == (NEW if moved else OLD)
    assert (book / "contacts/acme.yaml").exists() == (not moved)
    assert not (book / ".git/facturier/journal.json").exists()


def test_a_kill_after_the_work_tree_moved_is_settled_by_a_read_only_command(book, cli):
    """status/check never read a half-published work tree: they settle it first."""
    subprocess.run([sys.executable, "-c", CRASHER, str(book)],
                   env=dict(os.environ, FACTURIER_TEST_CRASH="files"))
    assert (book / DOC).read_bytes() == NEW            # the work tree went ahead of HEAD
    result = cli("check", book=book)
    assert "finished the interrupted change" in result.out + result.err
    assert (book / DOC).read_bytes() == OLD and _status(book) == ""


@pytest.mark.parametrize("point", ["files", "branch"])
def test_recovery_keeps_an_edit_made_after_the_crash(book, point):
    subprocess.run([sys.executable, "-c", CRASHER, str(book)],
                   env=dict(os.environ, FACTURIER_TEST_CRASH=point))
    (book / DOC).write_bytes(b"kind: invoice\n# my own edit\n")
    with BookLock(book):
        store = Store(book)
        store.close()
    assert (book / DOC).read_bytes() == b"kind: invoice\n# my own edit\n"
    assert any("kept your uncommitted edit" in m for m in store.recovered)
    assert _status(book) == " M %s\n" % DOC


@pytest.mark.parametrize("point", ["files", "branch"])
@pytest.mark.parametrize("cut", [0, 10, len(NEW) - 1])
def test_a_file_write_cut_short_by_a_kill_is_finished_by_recovery(book, cut, point):
    """Git writes files in place: a kill (or a full disk) in the middle leaves
    the start of the new content (or an empty file), which the next session
    settles to what the branch holds: the new content when the branch moved,
    else the old one."""
    subprocess.run([sys.executable, "-c", CRASHER, str(book)],
                   env=dict(os.environ, FACTURIER_TEST_CRASH=point))
    (book / DOC).write_bytes(NEW[:cut])
    with BookLock(book):
        store = Store(book)
        store.close()
    assert (book / DOC).read_bytes() == (NEW if point == "branch" else OLD)
    assert any(DOC in m and "finished" in m for m in store.recovered)
    assert _status(book) == ""


def test_a_detached_head_is_refused(book):
    git(book, "checkout", "-q", "--detach")
    with pytest.raises(gitstore.GitError, match="detached"):
        Store(book)


def test_a_book_inside_a_bigger_repository_is_refused(tmp_path):
    outer = tmp_path / "outer"
    (outer / "book").mkdir(parents=True)
    (outer / "book/facturier.yaml").write_text("currency: EUR\n")
    git(outer, "init", "-q", "-b", "main")
    git(outer, "add", "-A")
    git(outer, "commit", "-qm", "x")
    with pytest.raises(gitstore.GitError, match="not at its top"):
        Store(outer / "book")


BATCHER = textwrap.dedent("""
    import sys
    sys.path.insert(0, %r)
    from engine.gitstore import BookLock, Store
    root, count = sys.argv[1], int(sys.argv[2])
    with BookLock(root):
        store = Store(root)
        store.begin_batch()
        for i in range(count):
            store.commit({"documents/2025/01/gen-%%04d.yaml" %% i: b"kind: quote\\nnotes: %%d\\n" %% i,
                          "recurrences/r.yaml": b"name: R\\nlast: %%d\\n" %% i},
                         [], "Generate %%d\\n\\nFacturier-Action: document.generate\\n" %% i)
        store.end_batch()
        store.close()
""") % str(REPO)


def test_a_batch_of_commits_is_one_pack_each_commit_complete_and_the_repository_sound(book):
    """300 commits queued and published together (one pack written by git
    fast-import): git reads every one of them, fsck finds nothing, the work
    tree is the last commit's."""
    before = int(git(book, "rev-list", "--count", "HEAD"))
    loose = git(book, "count-objects", "-v").splitlines()[0]
    subprocess.run([sys.executable, "-c", BATCHER, str(book), "300"], check=True)
    assert int(git(book, "rev-list", "--count", "HEAD")) == before + 300
    subprocess.run(["git", "-C", str(book), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)
    assert git(book, "count-objects", "-v").splitlines()[0] == loose     # no new loose object
    for back in (0, 1, 150, 299):
        i = 299 - back
        assert git(book, "show", "HEAD~%d:recurrences/r.yaml" % back) == "name: R\nlast: %d\n" % i
        listed = git(book, "ls-tree", "--name-only", "HEAD~%d:documents/2025/01" % back).split()
        assert len(listed) == i + 2 and "gen-%04d.yaml" % i in listed
    assert git(book, "log", "-1", "--format=%s") == "Generate 299\n"
    assert _status(book) == ""
    assert (book / "recurrences/r.yaml").read_bytes() == b"name: R\nlast: 299\n"


def test_queued_commits_are_read_back_and_a_persons_edit_meanwhile_is_seen(book):
    with BookLock(book):
        store = Store(book)
        store.begin_batch()
        store.commit({DOC: NEW}, [], "Edit\n\nFacturier-Action: document.modify\n")
        assert store.read(DOC) == NEW and (book / DOC).read_bytes() == OLD   # not on disk yet
        assert store.dirty([DOC]) == []
        (book / DOC).write_bytes(b"kind: invoice\n# mine\n")
        assert store.dirty([DOC]) == [DOC]
        (book / DOC).write_bytes(OLD)
        store.commit({DOC: NEW + b"notes2: x\n"}, [], "Edit\n\nFacturier-Action: document.modify\n")
        store.end_batch()
        store.close()
    assert (book / DOC).read_bytes() == NEW + b"notes2: x\n"
    assert _status(book) == ""


def test_a_file_read_by_the_session_then_edited_by_a_person_is_refused(book):
    old = time.time() - 60
    os.utime(book / DOC, (old, old))
    with BookLock(book):
        store = Store(book)
        try:
            assert store.read(DOC) == OLD and store.dirty([DOC]) == []
            (book / DOC).write_bytes(OLD + b"# mine\n")
            assert store.dirty([DOC]) == [DOC]
        finally:
            store.close()


@pytest.mark.parametrize("level", ["documents/2025/01", "documents/2025"])
def test_a_folder_swapped_for_a_link_after_a_read_is_refused_at_the_next(book, tmp_path, level):
    """A session remembers the folders it found free of links; a folder
    replaced by a link afterwards (to a copy of it outside the book) is
    found at the next read, never read through."""
    import shutil
    with BookLock(book):
        store = Store(book)
        try:
            assert store.read(DOC) == OLD
            outside = tmp_path / "outside"
            shutil.copytree(book / level, outside)
            (outside / DOC[len(level) + 1:]).write_bytes(b"kind: invoice\n# from outside\n")
            shutil.rmtree(book / level)
            os.symlink(outside, book / level)
            with pytest.raises(gitstore.GitError, match="symbolic link"):
                store.read(DOC)
        finally:
            store.close()


def test_many_files_in_one_commit_go_into_a_pack_and_all_reach_the_work_tree(book):
    writes = {"documents/2025/%02d/q-%04d.yaml" % (3 + i % 3, i): b"kind: quote\nn: %d\n" % i
              for i in range(2100)}
    sha = _commit(book, writes)
    assert git(book, "rev-parse", "HEAD").strip() == sha
    subprocess.run(["git", "-C", str(book), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)
    assert git(book, "show", "HEAD:documents/2025/03/q-0123.yaml") == "kind: quote\nn: 123\n"
    assert _status(book) == ""
    assert all((book / path).read_bytes() == data for path, data in writes.items())


@pytest.mark.parametrize("point", ["objects", "journal", "files", "branch"])
def test_a_kill_in_a_batch_loses_it_whole_or_keeps_it_whole(book, point):
    before = git(book, "rev-parse", "HEAD").strip()
    proc = subprocess.run([sys.executable, "-c", BATCHER, str(book), "80"],
                          env=dict(os.environ, FACTURIER_TEST_CRASH=point))
    assert proc.returncode == -signal.SIGKILL
    moved = point == "branch"
    count = int(git(book, "rev-list", "--count", "%s..HEAD" % before))
    assert count == (80 if moved else 0)
    subprocess.run(["git", "-C", str(book), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)
    with BookLock(book):
        Store(book).close()
    assert _status(book) == ""
    assert (book / "documents/2025/01/gen-0079.yaml").exists() == moved
    # (a killed fast-import may leave a tmp_pack_* file: garbage that git gc
    # prunes, as after any killed git command; never referenced)


LARGE = textwrap.dedent("""
    import signal, sys
    sys.path.insert(0, %r)
    from engine.cli import _terminate
    from engine.gitstore import BookLock, Store
    signal.signal(signal.SIGTERM, _terminate)     # as the facturier command does
    signal.signal(signal.SIGINT, signal.default_int_handler)   # also when started ignoring it
    root = sys.argv[1]
    with BookLock(root):
        store = Store(root)
        store.begin_batch()
        for i in range(40):
            store.commit({"documents/2025/02/q-%%03d.yaml" %% i: b"kind: quote\\nn: %%d\\n" %% i,
                          %r: %r + b"notes: %%d\\n" %% i},
                         ["contacts/c-%%02d.yaml" %% i] if i < 20 else [],
                         "Large %%d\\n\\nFacturier-Action: document.modify\\n" %% i)
        store.end_batch()
        store.close()
""") % (str(REPO), DOC, OLD)


@pytest.fixture
def large_book(make_book):
    files = {"contacts/acme.yaml": "name: ACME\n", DOC: OLD.decode()}
    files.update({"contacts/c-%02d.yaml" % i: "name: C%d\n" % i for i in range(20)})
    return make_book(files)


@pytest.mark.parametrize("how", ["", ":INT", ":TERM"])
@pytest.mark.parametrize("point", ["journal", "index", "files", "branch"])
def test_a_large_publish_interrupted_at_any_point_is_recovered_whole(large_book, point, how):
    """A publish of more paths than worktree.CHECKOUT_PATHS (61: new files,
    an edited one, deleted ones) goes through update-index + checkout-index;
    killed (-9) or interrupted (SIGINT, SIGTERM) at each point, the book ends
    with its work tree and index equal to HEAD, HEAD complete, fsck clean."""
    from engine import worktree
    book = large_book
    before = git(book, "rev-parse", "HEAD").strip()
    proc = subprocess.run([sys.executable, "-c", LARGE, str(book)], capture_output=True,
                          env=dict(os.environ, FACTURIER_TEST_CRASH=point + how))
    assert proc.returncode != 0
    moved = point == "branch"
    assert int(git(book, "rev-list", "--count", "%s..HEAD" % before)) == (40 if moved else 0)
    assert len(git(book, "diff-tree", "-r", "--name-only", before, "HEAD").split()) == (
        61 if moved else 0) and 61 > worktree.CHECKOUT_PATHS
    if how:     # an interruption unwinds: the session itself settled the book
        last = proc.stderr.strip().splitlines()[-1]      # the interruption, no other error
        assert last in (b"KeyboardInterrupt", b"engine.cli.Terminated"), proc.stderr[-2000:]
        assert not (book / ".git/facturier/journal.json").exists()
    else:
        with BookLock(book):
            Store(book).close()
    subprocess.run(["git", "-C", str(book), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)
    assert _status(book) == ""
    assert git(book, "diff", "--cached", "--name-only", "HEAD") == ""
    assert not (book / ".git/facturier/journal.json").exists()
    assert (book / "documents/2025/02/q-039.yaml").exists() == moved
    assert (book / "contacts/c-05.yaml").exists() == (not moved)
    assert (book / DOC).read_bytes() == (OLD + b"notes: 39\n" if moved else OLD)


def test_a_large_publish_goes_through_the_books_filters_and_line_endings(make_book):
    """More paths than worktree.CHECKOUT_PATHS in a book with a clean/smudge
    filter on contacts (git-crypt's way) and CRLF documents: git writes every
    file through them, the repository holds the cleaned content, nothing is
    seen as edited afterwards."""
    book = make_book({"contacts/acme.yaml": "name: ACME\n", DOC: OLD.decode()})
    git(book, "config", "filter.rot.clean", "tr a-zA-Z n-za-mN-ZA-M")
    git(book, "config", "filter.rot.smudge", "tr a-zA-Z n-za-mN-ZA-M")
    (book / ".gitattributes").write_text("contacts/*.yaml filter=rot\n"
                                         "documents/**/*.yaml text eol=crlf\n")
    git(book, "add", ".gitattributes")
    git(book, "commit", "-qm", "attributes")
    git(book, "rm", "-q", "--cached", "-r", "contacts", "documents")
    git(book, "add", "contacts", "documents")
    git(book, "commit", "-qm", "renormalize")
    for f in ("contacts/acme.yaml", DOC):
        (book / f).unlink()
    git(book, "checkout", "--", ".")
    writes = {"contacts/p-%02d.yaml" % i: b"name: Person %d\n" % i for i in range(15)}
    writes.update({"documents/2025/02/q-%02d.yaml" % i: b"kind: quote\nn: %d\n" % i
                   for i in range(15)})
    _commit(book, writes)
    assert git(book, "show", "HEAD:contacts/p-03.yaml") == "anzr: Crefba 3\n"   # cleaned
    assert git(book, "show", "HEAD:documents/2025/02/q-03.yaml") == "kind: quote\nn: 3\n"
    assert (book / "contacts/p-03.yaml").read_bytes() == b"name: Person 3\n"   # smudged
    assert (book / "documents/2025/02/q-03.yaml").read_bytes() == b"kind: quote\r\nn: 3\r\n"
    assert _status(book) == ""
    subprocess.run(["git", "-C", str(book), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)


BEHIND = textwrap.dedent("""
    import signal, sys
    sys.path.insert(0, %r)
    from engine import gitstore
    from engine.cli import _terminate
    from engine.gitstore import BookLock, Store
    signal.signal(signal.SIGTERM, _terminate)     # as the facturier command does
    signal.signal(signal.SIGINT, signal.default_int_handler)
    gitstore.BATCH_COMMITS = 7          # a batch published in parts, as a daily run's thousands
    root, count = sys.argv[1], int(sys.argv[2])
    rec = "recurrences/r.yaml"
    with BookLock(root):
        store = Store(root)
        try:
            store.begin_batch()
            for i in range(count):
                doc = "documents/2025/01/gen-%%04d.yaml" %% i
                # what the session reads is the last commit's, whether its
                # publish is under way or not; a new path is free
                expected = b"name: R\\nlast: %%d\\n" %% (i - 1) if i else None
                assert store.read(rec) == expected, (i, store.read(rec))
                assert store.dirty([doc]) == []
                store.commit({doc: b"kind: quote\\nnotes: %%d\\n" %% i,
                              rec: b"name: R\\nlast: %%d\\n" %% i},
                             [], "Generate %%d\\n\\nFacturier-Action: document.generate\\n" %% i)
        except BaseException:
            store.end_batch()           # as Writer.batch does: what is made is published
            raise
        else:
            store.end_batch()
        finally:
            store.close()
""") % str(REPO)


def _behind(book, count, **env):
    return subprocess.run([sys.executable, "-c", BEHIND, str(book), str(count)],
                          capture_output=True, env=dict(os.environ, **env))


def _sound(book, before) -> int:
    """The book after a batch: every commit of it complete (the recurrence
    file and the documents of the n-th commit are those of n commits), the
    work tree and index equal to HEAD, no journal, fsck clean; n."""
    made = int(git(book, "rev-list", "--count", "%s..HEAD" % before))
    subprocess.run(["git", "-C", str(book), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)
    assert _status(book) == ""
    assert git(book, "diff", "--cached", "--name-only", "HEAD") == ""
    assert not (book / ".git/facturier/journal.json").exists()
    for back in range(made):
        n = made - back
        assert git(book, "show", "HEAD~%d:recurrences/r.yaml" % back) == \
            "name: R\nlast: %d\n" % (n - 1)
        assert len(git(book, "ls-tree", "--name-only", "HEAD~%d:documents/2025/01/" % back)
                   .split()) == n + 1
    return made


def test_a_batch_published_in_parts_behind_the_session_keeps_every_commit(book):
    """50 commits, published every 7 while the session goes on queueing (the
    work tree and branch follow in a thread): every commit is on the branch,
    reads during a publish see the last commit, the work tree is the last's."""
    before = git(book, "rev-parse", "HEAD").strip()
    proc = _behind(book, 50)
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    assert _sound(book, before) == 50
    assert (book / "recurrences/r.yaml").read_bytes() == b"name: R\nlast: 49\n"
    assert len(list((book / "documents/2025/01").glob("gen-*.yaml"))) == 50


@pytest.mark.parametrize("how", ["", ":INT", ":TERM"])
@pytest.mark.parametrize("point", ["objects", "journal", "files", "branch"])
def test_a_publish_behind_the_session_interrupted_anywhere_leaves_whole_commits(book, point,
                                                                                how):
    """Killed (-9) at a point of the first publish made behind the session
    (the kill comes from its thread), or interrupted there (SIGINT, SIGTERM
    reach the main thread, which is queueing the next commits): the branch
    holds whole commits only (none of that publish, or all of it and maybe
    more), the work tree and index are HEAD's, fsck is clean."""
    before = git(book, "rev-parse", "HEAD").strip()
    proc = _behind(book, 30, FACTURIER_TEST_CRASH=point + how)
    assert proc.returncode != 0
    if how:
        last = proc.stderr.strip().splitlines()[-1]      # the interruption, no other error
        assert last in (b"KeyboardInterrupt", b"engine.cli.Terminated"), proc.stderr[-2000:]
    else:
        assert proc.returncode == -signal.SIGKILL
        with BookLock(book):
            Store(book).close()         # the next command settles the book
    made = _sound(book, before)
    if how and point == "objects":      # before the publish went behind: none of it
        assert made == 0
    elif how:
        # the publish goes on after the signal: its 7 commits at least
        assert made >= 7
    else:
        assert made == (7 if point == "branch" else 0)


def test_a_persons_edit_before_a_publish_behind_the_session_loses_the_batch_never_the_edit(
        book):
    """A person edits a file a queued commit changes, before its publish made
    behind the session: that publish refuses to write, and the session stops
    (PublishLost) at its next step — the commits since the last publish are
    not on the branch, the edit is kept as it is."""
    from engine.gitstore import PublishLost
    gitstore_batch = gitstore.BATCH_COMMITS
    path = "contacts/acme.yaml"
    before = git(book, "rev-parse", "HEAD").strip()
    gitstore.BATCH_COMMITS = 3
    try:
        with BookLock(book):
            store = Store(book)
            try:
                store.begin_batch()
                with pytest.raises(PublishLost, match="acme.yaml"):
                    for i in range(10):
                        if i == 2:
                            (book / path).write_text("name: ACME (my edit)\n")
                        store.commit({path: b"name: ACME\nn: %d\n" % i,
                                      "documents/2025/01/gen-%d.yaml" % i: b"kind: quote\n"},
                                     [], "Edit %d\n\nFacturier-Action: contact.modify\n" % i)
                    store.end_batch()
            finally:
                store.close()
    finally:
        gitstore.BATCH_COMMITS = gitstore_batch
    assert git(book, "rev-parse", "HEAD").strip() == before
    assert (book / path).read_text() == "name: ACME (my edit)\n"
    assert git(book, "status", "--porcelain") == " M contacts/acme.yaml\n"
    assert not (book / ".git/facturier/journal.json").exists()
    subprocess.run(["git", "-C", str(book), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)


ASKING = textwrap.dedent("""
    import os, random, signal, sys, threading, time
    sys.path.insert(0, %r)
    from engine.gitcommit import FastImport
    from engine.gitrepo import git
    root = sys.argv[1]
    head = git(root, "rev-parse", "HEAD").decode().strip()
    listed = git(root, "ls-tree", "-r", head).decode().splitlines()
    expected = {line.split("\\t")[1]: tuple(line.split("\\t")[0].split()[::2]) for line in listed}
    fi = FastImport(root, "refs/facturier/import-test")
    def trial(delay):
        timer = threading.Timer(delay, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        for path, entry in expected.items():
            assert fi.ls(head, path) == entry, path
        timer.join()
        time.sleep(0.002)       # the signal lands by now, if not earlier
    random.seed(7)
    interrupted = 0
    for _ in range(300):
        try:
            trial(random.uniform(0, 0.003))
        except KeyboardInterrupt:
            interrupted += 1
    for path, entry in expected.items():    # still in step after every interruption
        assert fi.ls(head, path) == entry, path
    fi.close()
    print(interrupted)
""") % str(REPO)


def test_ctrl_c_during_a_question_to_fast_import_leaves_its_answers_in_step(large_book):
    """Ctrl-C lands at random moments of many questions asked of fast-import
    (what a path holds): each interrupted exchange is finished first, so every
    later answer is the answer to its own question (a reply read by the next
    question would give a publish the wrong commit)."""
    proc = subprocess.run([sys.executable, "-c", ASKING, str(large_book)], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert int(proc.stdout) > 100          # the interruptions did land


# ------------------------------------------------------------ contents stored ahead

def _quotes(count: int, tag: bytes = b"") -> dict[str, bytes]:
    return {"documents/2025/%02d/q-%04d.yaml" % (3 + i % 3, i):
            b"kind: quote\ncustomer: acme\ndate: 2025-03-01\nlines:\n  - description: Part %d%s\n"
            b"    unit_price: \"10.00\"\n" % (i, tag)
            for i in range(count)}


@pytest.mark.parametrize("listed", [False, True])
def test_contents_stored_ahead_are_committed_by_id_to_the_same_tree(book, make_book,
                                                                      monkeypatch, listed):
    """Many files in one commit: fast-import stores their contents in a thread
    while the change is checked, and the commit names each blob by its id
    (also when the session knows HEAD from a listing, as a long run does,
    and so asks fast-import nothing before the commit); the commit's tree is
    the one the same change gives without that."""
    from engine import gitcommit
    if listed:
        monkeypatch.setattr(gitstore, "LIST_AFTER", 0)
    sent: list = []
    commit = gitcommit.FastImport.commit

    def spy(self, *args, **kwargs):
        sent.extend(type(content) for _path, _mode, content in args[5])
        return commit(self, *args, **kwargs)

    monkeypatch.setattr(gitcommit.FastImport, "commit", spy)
    writes = _quotes(gitstore.AHEAD_AT + 44)
    twin = make_book({"contacts/acme.yaml": "name: ACME\n", DOC: OLD.decode()})
    trees = []
    for root, ahead in ((book, True), (twin, False)):
        sent.clear()
        with BookLock(root):
            store = Store(root)
            try:
                if ahead:
                    store.store_ahead(writes)
                store.commit(writes, [], "Many\n\nFacturier-Action: document.modify\n")
            finally:
                store.close()
        assert set(sent) == ({str} if ahead else {bytes})      # by id / the bytes themselves
        subprocess.run(["git", "-C", str(root), "fsck", "--full", "--strict"], check=True,
                       capture_output=True)
        assert _status(root) == ""
        assert all((root / path).read_bytes() == data for path, data in writes.items())
        trees.append(git(root, "rev-parse", "HEAD^{tree}").strip())
    assert trees[0] == trees[1]


def test_a_change_refused_after_its_contents_were_stored_ahead_changes_nothing(book):
    """The many files' contents go to git before the checks; one of the files
    edited by a person refuses the change: the branch, the work tree and the
    person's edit are as they were, the repository sound, and the next
    change (the edit committed first) is made whole."""
    from engine.diagnostics import ActionRefused
    from engine.session import Change, open_writer
    writes = _quotes(gitstore.AHEAD_AT + 10)
    writes[DOC] = NEW
    (book / DOC).write_bytes(OLD + b"notes: a person's\n")
    head = git(book, "rev-parse", "HEAD").strip()
    change = Change("document.modify", "Many", writes)
    with open_writer(book) as writer:
        with pytest.raises(ActionRefused, match="uncommitted|edit") as refused:
            writer.commit(change)
    assert DOC in str(refused.value)
    assert git(book, "rev-parse", "HEAD").strip() == head
    assert (book / DOC).read_bytes() == OLD + b"notes: a person's\n"
    assert not (book / "documents/2025/03").exists()
    subprocess.run(["git", "-C", str(book), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)
    git(book, "commit", "-qam", "A person's note")
    del writes[DOC]
    with open_writer(book) as writer:
        assert writer.commit(change.__class__("document.modify", "Many", writes)) is not None
    assert _status(book) == ""
    assert all((book / path).read_bytes() == data for path, data in writes.items())
    subprocess.run(["git", "-C", str(book), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)


def test_fast_import_stopping_while_contents_are_stored_ahead_fails_the_commit_cleanly(
        book, monkeypatch):
    """fast-import dies while it is given the contents ahead: the commit
    fails naming git, nothing moves, and the session's next commit works
    (with another fast-import)."""
    from engine import gitcommit
    store_blobs = gitcommit.FastImport.store_blobs
    stopped = []

    def dying(self, contents):
        if not stopped:
            stopped.append(self._proc.pid)
            self._proc.kill()
            self._proc.wait()
        return store_blobs(self, contents)

    monkeypatch.setattr(gitcommit.FastImport, "store_blobs", dying)
    head = git(book, "rev-parse", "HEAD").strip()
    writes = _quotes(gitstore.AHEAD_AT)
    with BookLock(book):
        store = Store(book)
        try:
            store.store_ahead(writes)
            with pytest.raises(gitstore.GitError, match="fast-import"):
                store.commit(writes, [], "Many\n\nFacturier-Action: document.modify\n")
            assert git(book, "rev-parse", "HEAD").strip() == head
            store.store_ahead(writes)
            sha = store.commit(writes, [], "Many\n\nFacturier-Action: document.modify\n")
        finally:
            store.close()
    assert stopped and git(book, "rev-parse", "HEAD").strip() == sha
    assert _status(book) == ""
    subprocess.run(["git", "-C", str(book), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)


AHEAD = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, %r)
    from engine.cli import _terminate
    from engine.gitstore import BookLock, Store
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)
    root, sig = sys.argv[1], int(sys.argv[2])
    writes = {"documents/2025/%%02d/big-%%04d.yaml" %% (3 + i %% 3, i):
              b"kind: quote\\nn: %%d\\nnotes: %%s\\n" %% (i, b"x" * 20000) for i in range(1500)}
    with BookLock(root):
        store = Store(root)
        try:
            store.store_ahead(writes)
            os.kill(os.getpid(), sig)         # while git is given the 30 MB
            store.commit(writes, [], "Big\\n\\nFacturier-Action: document.modify\\n")
        finally:
            store.close()
""") % str(REPO)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_an_interruption_while_contents_are_stored_ahead_leaves_the_book_as_it_was(book, sig):
    head = git(book, "rev-parse", "HEAD").strip()
    proc = subprocess.run([sys.executable, "-c", AHEAD, str(book), str(int(sig))],
                          capture_output=True, timeout=120)
    last = proc.stderr.strip().splitlines()[-1]
    assert last in (b"KeyboardInterrupt", b"engine.cli.Terminated"), proc.stderr[-2000:]
    assert git(book, "rev-parse", "HEAD").strip() == head
    assert _status(book) == ""
    assert not (book / "documents/2025/03").exists()
    assert not (book / ".git/facturier/journal.json").exists()
    subprocess.run(["git", "-C", str(book), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)


def test_an_untracked_gitattributes_deep_in_the_book_is_honoured(make_book):
    """A `.gitattributes` nobody committed, in a month folder (git applies it
    all the same): the files facturier writes there go through its filter
    (git-crypt's way), the repository holds the cleaned content, and nothing
    is seen as edited afterwards."""
    book = make_book({"contacts/acme.yaml": "name: ACME\n", DOC: OLD.decode()})
    git(book, "config", "filter.rot.clean", "tr a-zA-Z n-za-mN-ZA-M")
    git(book, "config", "filter.rot.smudge", "tr a-zA-Z n-za-mN-ZA-M")
    (book / "documents/2024/02").mkdir(parents=True)
    (book / "documents/2024/.gitattributes").write_text("*.yaml filter=rot\n")
    writes = {"documents/2024/02/q-%02d.yaml" % i: b"kind: quote\nn: %d\n" % i for i in range(3)}
    _commit(book, writes)
    assert git(book, "show", "HEAD:documents/2024/02/q-01.yaml") == "xvaq: dhbgr\na: 1\n"
    assert (book / "documents/2024/02/q-01.yaml").read_bytes() == b"kind: quote\nn: 1\n"
    assert _status(book) == "?? documents/2024/.gitattributes\n"
    subprocess.run(["git", "-C", str(book), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)


def test_a_publish_failing_behind_the_session_while_contents_are_stored_ahead(book,
                                                                             monkeypatch):
    """A publish made behind the session fails (a person's edit) while the
    next change's many contents are being given to fast-import: settling the
    failure waits for them (no command of its own mixed into theirs, which
    made fast-import stop with a crash report), the batch is lost whole, the
    person's edit is kept, and the session's next commit is made."""
    monkeypatch.setattr(gitstore, "BATCH_COMMITS", 3)
    head = git(book, "rev-parse", "HEAD").strip()
    contact = "contacts/acme.yaml"
    big = {"documents/2025/02/q-%04d.yaml" % i: b"kind: quote\nn: %d\n%s" % (i, b"x" * 200_000)
           for i in range(400)}
    with BookLock(book):
        store = Store(book)
        try:
            store.begin_batch()
            for i in range(3):          # the third publishes behind the session
                if i == 2:
                    (book / contact).write_text("name: ACME (a person's edit)\n")
                store.commit({contact: b"name: ACME\nn: %d\n" % i}, [], "Edit %d\n" % i)
            store.store_ahead(big)
            time.sleep(0.2)                 # the Writer's checks
            with pytest.raises(gitstore.PublishLost):
                store.dirty([contact])      # waits for that publish, which failed
            store.end_batch()
            sha = store.commit({"documents/2025/03/after.yaml": b"kind: quote\n"}, [],
                               "After\n\nFacturier-Action: document.modify\n")
        finally:
            store.close()
    assert not list((book / ".git").glob("fast_import_crash_*"))
    assert git(book, "rev-parse", "HEAD").strip() == sha
    assert git(book, "rev-parse", "HEAD^").strip() == head
    assert (book / contact).read_text() == "name: ACME (a person's edit)\n"
    assert _status(book) == " M contacts/acme.yaml\n"
    subprocess.run(["git", "-C", str(book), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)


INPUT_CUT = textwrap.dedent("""
    import subprocess, sys
    sys.path.insert(0, %r)
    from engine import gitrepo
    communicate = subprocess.Popen._communicate
    cut = []

    def interrupted(self, *args, **kwargs):     # Ctrl-C as git's input starts to be written
        if not cut:
            cut.append(1)
            raise KeyboardInterrupt
        return communicate(self, *args, **kwargs)

    subprocess.Popen._communicate = interrupted
    try:
        gitrepo.run_git(sys.argv[1], "hash-object", "-w", "--stdin", input=b"x" * 1_000_000)
    except KeyboardInterrupt:
        print("interrupted after git finished")
""") % str(REPO)


def test_an_interruption_while_git_is_given_its_input_lets_git_finish_with_all_of_it(book):
    """Ctrl-C lands while git's standard input is being written: git still
    gets all of it and finishes (a hang before: git waited for the rest of
    its input, facturier for git), then the interruption is raised."""
    proc = subprocess.run([sys.executable, "-c", INPUT_CUT, str(book)], capture_output=True,
                          timeout=60)
    assert proc.stdout == b"interrupted after git finished\n", proc.stderr.decode()[-2000:]
    whole = subprocess.run(["git", "-C", str(book), "hash-object", "--stdin"], check=True,
                           capture_output=True, input=b"x" * 1_000_000).stdout.strip()
    subprocess.run(["git", "-C", str(book), "cat-file", "-e", whole], check=True)   # stored


START_CUT = textwrap.dedent("""
    import os, signal, subprocess, sys
    sys.path.insert(0, %r)
    from engine import gitrepo
    start = subprocess.Popen._execute_child

    def signalled(self, *args, **kwargs):       # Ctrl-C as git has just been started
        start(self, *args, **kwargs)
        os.kill(os.getpid(), signal.SIGINT)

    subprocess.Popen._execute_child = signalled
    data = os.urandom(1 << 20) * 64             # 64 MB: git takes a while to store them
    try:
        gitrepo.run_git(sys.argv[1], "hash-object", "-w", "--stdin", input=data)
    except KeyboardInterrupt:
        subprocess.Popen._execute_child = start
        done = subprocess.run(["git", "-C", sys.argv[1], "cat-file", "-e",
                               gitrepo.blob_id(data)]).returncode == 0
        print("interrupted, git %%s" %% ("done" if done else "still running"))
""") % str(REPO)


def test_an_interruption_while_git_is_started_waits_for_that_git(book):
    """Ctrl-C lands while Python starts git: the git started is still waited
    for before the interruption is raised (lost before: git went on unseen,
    and a branch could move after facturier had settled the book without
    it)."""
    proc = subprocess.run([sys.executable, "-c", START_CUT, str(book)], capture_output=True,
                          timeout=120)
    assert proc.stdout == b"interrupted, git done\n", proc.stderr.decode()[-2000:]
