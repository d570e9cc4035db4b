"""Property (hypothesis), on a real git book: whether `run` happens every day or
after gaps of up to max_catch_up occurrences, every occurrence is generated
exactly once, numbered without gaps, and a rerun the same day does nothing."""
from __future__ import annotations

import datetime as dt
import shutil
import subprocess
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings, strategies as st

from engine import daily
from engine.model import Recurrence
from engine.recurrence import occurrences
from test_daily_support import base_files, recurrence

RULES = ["FREQ=MONTHLY;BYMONTHDAY=-1", "FREQ=MONTHLY;BYMONTHDAY=31", "FREQ=WEEKLY;BYDAY=MO",
         "FREQ=YEARLY;BYMONTH=2;BYMONTHDAY=29", "FREQ=MONTHLY;BYMONTHDAY=1"]
START = dt.date(2023, 12, 20)


def git(root, *args):
    return subprocess.run(["git", "-C", str(root), *args], check=True, capture_output=True,
                          text=True).stdout


def new_book(rule: str, lead: int) -> Path:
    root = Path(tempfile.mkdtemp(prefix="facturier-prop-"))
    files = base_files()
    files["recurrences/r.yaml"] = recurrence(rule=rule, start=START.isoformat(), issue="validate",
                                             extra="lead_days: %d\n" % lead if lead else "")
    for rel, text in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    (root / ".gitignore").write_text(".facturier/\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "book")
    return root


def run(root, day):
    return daily.run(root, day, now=lambda: "%sT06:00:00+00:00" % day.isoformat(), send=False)


@given(rule=st.sampled_from(RULES), lead=st.integers(0, 6),
       gaps=st.lists(st.integers(1, 3), min_size=1, max_size=6))
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_gaps_up_to_max_catch_up_generate_each_occurrence_exactly_once(rule, lead, gaps):
    rec = Recurrence(id="r", path="recurrences/r.yaml", name="r", template="inv-tpl", rule=rule,
                     start=START, lead_days=lead)
    every = occurrences(rec, limit=sum(gaps))
    root = new_book(rule, lead)
    try:
        generated = []
        position = 0
        for gap in gaps:
            position += gap
            day = max(every[position - 1] - dt.timedelta(days=lead), dt.date(2023, 12, 1))
            report = run(root, day)
            assert report.stopped == [] and report.errors == []
            generated += report.generated
            head = git(root, "rev-parse", "HEAD")
            assert run(root, day).generated == [] and git(root, "rev-parse", "HEAD") == head
        assert generated == ["r-%s" % o.isoformat() for o in every]
        files = sorted(p.stem for p in root.glob("documents/*/*/r-*.yaml"))
        assert files == sorted(generated)
        log = git(root, "log", "--format=%(trailers:key=Facturier-Action,valueonly)")
        assert log.split().count("document.generate") == len(every)
    finally:
        shutil.rmtree(root, ignore_errors=True)


@given(rule=st.sampled_from(RULES[:3]), days=st.integers(20, 70))
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_daily_runs_generate_each_occurrence_exactly_once(rule, days):
    rec = Recurrence(id="r", path="recurrences/r.yaml", name="r", template="inv-tpl", rule=rule,
                     start=START)
    end = START + dt.timedelta(days=days)
    every = occurrences(rec, through=end)
    root = new_book(rule, 0)
    try:
        generated = []
        for n in range(days + 1):
            generated += run(root, START + dt.timedelta(days=n)).generated
        assert generated == ["r-%s" % o.isoformat() for o in every]
        years = {}
        for path in root.glob("documents/*/*/r-*.yaml"):
            number = [ln for ln in path.read_text().splitlines() if ln.startswith("number:")][0]
            year = number.split('"')[1][:4]
            years.setdefault(year, []).append(int(number.split('"')[1][5:]))
        for year, seqs in years.items():
            first = 2 if year == "2025" else 1          # the template holds 2025-0001
            assert sorted(seqs) == list(range(first, first + len(seqs)))
    finally:
        shutil.rmtree(root, ignore_errors=True)
