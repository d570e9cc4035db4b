#!/usr/bin/env bash
# Drive the real terminal app in tmux, as a person would, and print what the
# screen shows after each step (send-keys / capture-pane).
#
#   scripts/tui_tmux.sh [BOOK] [COLUMNS] [LINES]
#
# BOOK defaults to a fresh copy of /tmp/bench/b1k (the synthetic 1,000-document
# book, as of 2026-06-30); nothing is changed in the book you pass unless you
# let the script record the payment (set PAY=1). TIMING=1 also measures the
# time from launch to a drawn dashboard.
set -euo pipefail

BOOK=${1:-}
COLS=${2:-100}
ROWS=${3:-30}
AS_OF=${AS_OF:-2026-06-30}
SESSION=facturier-tui-$$
STEP_WAIT=${STEP_WAIT:-0.6}

TMP=""
if [[ -z "$BOOK" ]]; then
    TMP=$(mktemp -d)
    BOOK=$TMP/book
    cp -r /tmp/bench/b1k "$BOOK"
    rm -rf "$BOOK/.facturier"
    PAY=${PAY:-1}
fi

cleanup() {
    tmux kill-session -t "$SESSION" 2>/dev/null || true
    if [[ -n "$TMP" ]]; then rm -rf "$TMP"; fi
}
trap cleanup EXIT

show() {
    echo "──── $1 ────"
    tmux capture-pane -p -t "$SESSION"
}

keys() { tmux send-keys -t "$SESSION" "$@"; sleep "$STEP_WAIT"; }

wait_for() {   # wait until the screen shows $1 (at most $2 seconds)
    local deadline=$((SECONDS + ${2:-30}))
    until tmux capture-pane -p -t "$SESSION" | grep -q -- "$1"; do
        if (( SECONDS > deadline )); then echo "timed out waiting for: $1" >&2; show "screen"; exit 1; fi
        sleep 0.05
    done
}

start=$(date +%s.%N)
tmux new-session -d -s "$SESSION" -x "$COLS" -y "$ROWS" \
    "facturier --book '$BOOK' --as-of $AS_OF --lang ${LANG_UI:-en}; sleep 5"
# the dashboard is drawn when the first category shows a count
wait_for "Offers\|Offres" 60
wait_for "CHF" 60
end=$(date +%s.%N)
if [[ -n "${TIMING:-}" ]]; then
    printf 'dashboard drawn after %.2f s\n' "$(echo "$end - $start" | bc)"
fi
show "dashboard"

keys Down
keys Down
keys Enter
show "invoices in processing (search with /, f recurring only, s sort)"

keys s
show "sorted by the first column"

keys /
keys 2 0 2 6
show "searching for 2026"

keys Enter
keys Enter
sleep 1
show "a document"

if [[ -n "${PAY:-}" ]]; then
    keys p
    show "the payment form"
    keys C-u
    keys 5 0
    keys Enter
    sleep 2
    show "after the payment (one commit)"
    git -C "$BOOK" log -1 --format='%s%n%(trailers)'
fi

for _ in 1 2 3; do keys Escape; done
keys R
show "recurrences"

keys Escape
keys C-p
keys r u n
show "command palette"
keys Escape
keys q
