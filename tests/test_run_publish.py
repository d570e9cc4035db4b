"""A daily run whose batch is published in parts behind it (engine/gitstore.py
``Store.publish(behind=True)``): the same book as a run published at once, and
a person's edit that refuses one of those publishes stops the run cleanly —
nothing of the lost commits kept, no number used, the edit kept, and the next
run makes everything once."""
from __future__ import annotations

import json
import subprocess

from test_daily_support import base_files, facturier, git, recurrence

AS_OF = "2025-03-01"
RECS = 6


def book_files() -> dict:
    files = base_files()
    for i in range(RECS):
        files["recurrences/r%d.yaml" % i] = recurrence(issue="validate", last="2025-02-01")
    return files


SMALL_BATCHES = """
import engine.gitstore
engine.gitstore.BATCH_COMMITS = 2
"""

# a person edits the recurrence file of the run's first commit while it is
# queued, before the publish that writes it (made with the run's 2nd commit)
EDIT_DURING = SMALL_BATCHES + """
import pathlib
import engine.session as _session
_count = [0]
_commit = _session.Writer.commit
def _commit_and_edit(self, change):
    _count[0] += 1
    if _count[0] == 2:
        path = pathlib.Path(self.root) / "recurrences/r0.yaml"
        path.write_text(path.read_text() + "# my note\\n")
    return _commit(self, change)
_session.Writer.commit = _commit_and_edit
"""


def numbers(root) -> list[str]:
    return sorted(line.split(":", 1)[1].strip().strip('"')
                  for path in root.glob("documents/**/*.yaml")
                  for line in path.read_text().splitlines() if line.startswith("number:"))


def fsck(root) -> None:
    subprocess.run(["git", "-C", str(root), "fsck", "--full", "--strict"], check=True,
                   capture_output=True)


def test_a_run_published_in_parts_makes_the_same_book(make_book):
    once, parts = make_book(book_files()), make_book(book_files())
    assert facturier(once, "--as-of", AS_OF, "run", "--no-send").returncode == 0
    proc = facturier(parts, "--as-of", AS_OF, "run", "--no-send", script=SMALL_BATCHES)
    assert proc.returncode == 0, proc.stderr
    assert git(parts, "rev-parse", "HEAD^{tree}") == git(once, "rev-parse", "HEAD^{tree}")
    assert git(parts, "log", "--format=%s%n%b") == git(once, "log", "--format=%s%n%b")
    assert git(parts, "status", "--porcelain") == ""
    fsck(parts)


def test_a_persons_edit_refusing_a_publish_behind_the_run_stops_it_and_loses_nothing(make_book):
    root = make_book(book_files())
    before = git(root, "rev-parse", "HEAD")
    proc = facturier(root, "--as-of", AS_OF, "run", "--no-send", "--format", "json",
                     script=EDIT_DURING)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "recurrences/r0.yaml" in proc.stderr and "run again" in proc.stderr
    # nothing of the lost commits: the branch, the index and the other files as before
    assert git(root, "rev-parse", "HEAD") == before
    assert git(root, "status", "--porcelain") == " M recurrences/r0.yaml\n"
    assert (root / "recurrences/r0.yaml").read_text().endswith("# my note\n")
    assert not list(root.glob("documents/2025/03/*.yaml"))
    assert not (root / ".git/facturier/journal.json").exists()
    fsck(root)
    # the person commits the note; the next run makes every invoice once, no number lost
    git(root, "commit", "-qam", "A note")
    proc = facturier(root, "--as-of", AS_OF, "run", "--no-send", "--format", "json")
    assert proc.returncode == 0, proc.stderr
    assert len(json.loads(proc.stdout)["generated"]) == RECS
    assert numbers(root) == ["2025-%04d" % n for n in range(1, RECS + 2)]
    assert git(root, "status", "--porcelain") == ""
    fsck(root)
