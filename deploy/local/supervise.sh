#!/usr/bin/env bash
# supervise.sh CMD...: run CMD, and run it again whenever it exits with status 70 (a paywatch
# worker whose step failed exits so, to have the step replayed; see README, "When a step
# fails"). Any other exit status ends the supervisor with that status. SIGTERM or SIGINT is
# passed on to CMD and ends the supervisor once CMD has exited.
set -uo pipefail
readonly RESTART_STATUS=70
child=0
stopping=0
on_signal() {
    stopping=1
    if ((child > 0)); then kill -TERM "$child" 2>/dev/null; fi
}
trap on_signal TERM INT
while :; do
    "$@" &
    child=$!
    status=0
    wait "$child" || status=$?
    while kill -0 "$child" 2>/dev/null; do # wait was interrupted by a signal
        status=0
        wait "$child" || status=$?
    done
    if ((stopping)) || ((status != RESTART_STATUS)); then
        exit "$status"
    fi
    echo "[paywatch] $1 exited with status $RESTART_STATUS (a failed step); starting it again in 2s" >&2
    sleep 2
done
