#!/usr/bin/env bash
# The README's first command, checked for real: `make up` brings up the whole local stack and
# the simulator, everything it prints answers, events reach the counters, Redis and Prometheus;
# a second `make up` reuses what runs; `make down` leaves no process and no port behind.
# Used by .ci/run after the test suite (`make smoke`). Bounded: gives up after SMOKE_TIMEOUT_S seconds.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# renamed to say its unit: the old name would be ignored without a word
[[ -z "${SMOKE_TIMEOUT+set}" ]] \
    || die "SMOKE_TIMEOUT is now SMOKE_TIMEOUT_S (the same value, in seconds): rename the variable"
TIMEOUT_S="${SMOKE_TIMEOUT_S:-180}"
METRICS="http://127.0.0.1:$WORKER_WEB_PORT/metrics"
PROM="http://127.0.0.1:$PROMETHEUS_PORT"
DASHBOARD="http://127.0.0.1:$DASHBOARD_PORT/"

# until DESCRIPTION CMD...: run CMD until it succeeds, or fail after TIMEOUT_S seconds.
until_ok() {
    local what=$1 i
    shift
    for ((i = 0; i < TIMEOUT_S; i++)); do
        "$@" >/dev/null 2>&1 && { say "ok: $what"; return 0; }
        sleep 1
    done
    die "smoke: $what did not happen within ${TIMEOUT_S}s (logs: $LOGS)"
}

events_counted() { # the worker has accepted events from the simulator
    curl -fsS "$METRICS" | awk '/^paywatch_events_total\{/ && $2 > 0 {found = 1} END {exit !found}'
}
redis_has_units() {
    REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --user paywatch-admin -p "$REDIS_PORT" --scan --pattern 'pw:v1:unit:*' \
        | grep -q .
}
prometheus_scrapes_worker() {
    curl -fsS "$PROM/api/v1/query?query=up%7Bjob%3D%22paywatch%22%7D" | grep -q '"value":\[[0-9.]*,"1"\]'
}
dashboard_shows_rows() { # the page's data, read by the dashboard as its own Redis user
    curl -fsS "${DASHBOARD}api/view/children/17" | grep -q '"rows": \[\['
}
prometheus_has_counts() {
    curl -fsS "$PROM/api/v1/query?query=sum(paywatch_events_total)%3E0" | grep -q '"value"'
}

out="$(mktemp)"
trap 'rm -f "$out"' EXIT
make -C "$ROOT" up | tee "$out"
for url in "$METRICS" "http://127.0.0.1:$WORKER_WEB_PORT/counters/" "$PROM/-/ready" \
    "http://127.0.0.1:$ALERTMANAGER_PORT/-/ready" "http://127.0.0.1:$ALERT_RECEIVER_PORT/runbooks" "$DASHBOARD"; do
    grep -qF "${url%/-/ready}" "$out" || die "smoke: make up did not print $url"
    until_ok "$url answers" curl -fsS "$url"
done
until_ok "the worker counts the simulator's events" events_counted
until_ok "the live view is in Redis" redis_has_units
until_ok "Prometheus scrapes the worker" prometheus_scrapes_worker
until_ok "Prometheus has the event counts" prometheus_has_counts
until_ok "the dashboard shows the live view" dashboard_shows_rows

make -C "$ROOT" up | tee "$out"
for name in Kafka Redis Prometheus Alertmanager alert-receiver worker simulator dashboard; do
    grep -qi "$name.*already running" "$out" || die "smoke: a second make up started $name again"
done
say "ok: a second make up reuses everything"

make -C "$ROOT" down
for name in kafka redis prometheus alertmanager alert-receiver worker simulator dashboard; do
    ! pid_alive "$name" || die "smoke: $name still runs after make down"
done
if pgrep -f "$ROOT/.venv/bin/paywatch" >/dev/null; then
    die "smoke: paywatch processes left after make down: $(pgrep -f "$ROOT/.venv/bin/paywatch" | xargs)"
fi
say "ok: make down left nothing behind"
