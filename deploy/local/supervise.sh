#!/usr/bin/env bash
# supervise.sh CMD...: run CMD, and run it again whenever it ends in a way a restart can mend:
#   - exit status 70: a paywatch worker whose step failed exits so, to have the step replayed
#     (docs/exactness.md);
#   - death by a signal (status 128+N): `kill -9`, the kernel's out-of-memory killer (137), a
#     crash (139, 134).
# Any other exit status ends the supervisor with that status: 0; 1, a configuration to fix (such
# as two workers with one PAYWATCH_INSTANCE_ID or PAYWATCH_DATA_DIR); 65, a worker that cannot
# read its internal topics (restarting does not help, see docs/operations.md, "Upgrading").
#
# Restarts back off: the first waits PAYWATCH_RESTART_DELAY_S seconds (1), each one after a run
# shorter than PAYWATCH_RESTART_RESET_S seconds (60) waits twice as long as the one before, up to
# PAYWATCH_RESTART_DELAY_MAX_S seconds (30); a run that lasted PAYWATCH_RESTART_RESET_S seconds or
# more starts again from the first delay. So a crash loop costs little, and a worker that fails
# once a day is back within a second.
#
# SIGTERM or SIGINT is passed on to CMD and ends the supervisor once CMD has exited (with CMD's
# status); during the wait before a restart it ends the supervisor at once (with the status of
# the run that ended last).
set -uo pipefail
readonly STEP_FAILED=70

die() {
    echo "[paywatch] supervise.sh: $*" >&2
    exit 2
}

# seconds_ms NAME DEFAULT: the variable NAME (seconds, decimals allowed) in milliseconds.
seconds_ms() {
    local value="${!1:-$2}"
    [[ "$value" =~ ^[0-9]+(\.[0-9]{1,3})?$ ]] || die "$1='$value': expected seconds, such as 1 or 0.5"
    local whole="${value%%.*}" frac=""
    [[ "$value" == *.* ]] && frac="${value#*.}"
    frac="${frac}000"
    echo $((10#$whole * 1000 + 10#${frac:0:3}))
}

# as_seconds MS: MS milliseconds written as seconds (for sleep and the log).
as_seconds() {
    local frac
    frac="$(printf '%03d' $(($1 % 1000)))"
    frac="${frac%%0}" && frac="${frac%%0}" && frac="${frac%%0}"
    echo "$(($1 / 1000))${frac:+.$frac}"
}

now_ms() { # bash 5's EPOCHREALTIME; whole seconds on an older bash
    if [[ -n "${EPOCHREALTIME:-}" ]]; then
        local t="${EPOCHREALTIME/[.,]/}"
        echo $((10#$t / 1000))
    else
        echo $((SECONDS * 1000))
    fi
}

(($# > 0)) || die "usage: supervise.sh CMD [ARG...]"
for old in PAYWATCH_RESTART_DELAY PAYWATCH_RESTART_DELAY_MAX PAYWATCH_RESTART_RESET; do
    # renamed to say their unit: an old name would be ignored without a word
    [[ -z "${!old+set}" ]] || die "$old is now ${old}_S (the same value, in seconds): rename the variable"
done
first_delay_ms=$(seconds_ms PAYWATCH_RESTART_DELAY_S 1) || exit 2
max_delay_ms=$(seconds_ms PAYWATCH_RESTART_DELAY_MAX_S 30) || exit 2
reset_after_ms=$(seconds_ms PAYWATCH_RESTART_RESET_S 60) || exit 2
((max_delay_ms >= first_delay_ms)) || die "PAYWATCH_RESTART_DELAY_MAX_S must not be below PAYWATCH_RESTART_DELAY_S"

child=0
stopping=0
on_signal() {
    stopping=1
    if ((child > 0)); then kill -TERM "$child" 2>/dev/null; fi
}
trap on_signal TERM INT

delay_ms=$first_delay_ms
restarts=0
while :; do
    started_ms=$(now_ms)
    "$@" &
    child=$!
    if ((stopping)); then kill -TERM "$child" 2>/dev/null; fi # a signal before child was set
    status=0
    wait "$child" || status=$?
    while kill -0 "$child" 2>/dev/null; do # wait was interrupted by a signal
        status=0
        wait "$child" || status=$?
    done
    child=0
    ran_ms=$(($(now_ms) - started_ms))
    if ((stopping)); then exit "$status"; fi
    hint=""
    if ((status == STEP_FAILED)); then
        why="exited with status $STEP_FAILED (a failed step)"
    elif ((status > 128 && status < 192)); then
        signal=$((status - 128))
        why="was killed by signal $signal (SIG$(kill -l "$signal" 2>/dev/null), status $status)"
        ((signal == 9)) && hint=": kill -9, or the out-of-memory killer (see dmesg)"
    else
        exit "$status"
    fi
    if ((ran_ms >= reset_after_ms)); then delay_ms=$first_delay_ms; fi
    restarts=$((restarts + 1))
    echo "[paywatch] $1 $why after $(as_seconds "$ran_ms")s$hint; starting it again in $(as_seconds "$delay_ms")s (restart $restarts)" >&2
    sleep "$(as_seconds "$delay_ms")" &
    child=$!
    if ((stopping)); then kill "$child" 2>/dev/null; fi # a signal before child was set
    wait "$child" 2>/dev/null
    kill "$child" 2>/dev/null # a signal ended the wait, not the sleep
    child=0
    if ((stopping)); then exit "$status"; fi
    delay_ms=$((delay_ms * 2 > max_delay_ms ? max_delay_ms : delay_ms * 2))
done
