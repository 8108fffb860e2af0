#!/usr/bin/env bash
# Prometheus for the local stack: Debian's prometheus, scraping the local worker and loading the
# project's rules from deploy/prometheus/rules. Usage: prometheus.sh start|stop|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PROM_HOME="$STACK/prometheus"
PROM_LOG="$LOGS/prometheus.log"

# Lay out the config folder: the project's prometheus.yml as it is, its rules, local targets.
prepare() {
    mkdir -p "$PROM_HOME/targets" "$STACK/data/prometheus"
    cp "$ROOT/deploy/prometheus/prometheus.yml" "$PROM_HOME/prometheus.yml"
    rm -rf "$PROM_HOME/rules"
    if [[ "$ALERT_RECEIVER_PORT" == 5001 ]]; then
        ln -s "$ROOT/deploy/prometheus/rules" "$PROM_HOME/rules"
    else # the runbook_url of every alert names this stack's alert receiver
        mkdir -p "$PROM_HOME/rules"
        local f
        for f in "$ROOT"/deploy/prometheus/rules/*.yml; do
            sed "s#$REPO_RECEIVER#http://127.0.0.1:$ALERT_RECEIVER_PORT/#g" "$f" >"$PROM_HOME/rules/${f##*/}"
        done
    fi
    printf '[{"targets": ["127.0.0.1:%s"], "labels": {"deployment": "local"}}]\n' \
        "$WORKER_WEB_PORT" >"$PROM_HOME/targets/paywatch.json"
    printf '[{"targets": ["127.0.0.1:%s"]}]\n' "$PROMETHEUS_PORT" >"$PROM_HOME/targets/prometheus.json"
    printf '[{"targets": ["127.0.0.1:%s"]}]\n' "$ALERTMANAGER_PORT" >"$PROM_HOME/targets/alertmanager.json"
    promtool check config "$PROM_HOME/prometheus.yml" >"$LOGS/promtool-check.log" 2>&1 \
        || die "promtool rejects the Prometheus config; see $LOGS/promtool-check.log"
}

start() {
    if pid_alive prometheus; then
        say "Prometheus already running (pid $(cat "$RUN/prometheus.pid")) on http://127.0.0.1:$PROMETHEUS_PORT"
        return 0
    fi
    need_cmd prometheus "install it with: apt-get install prometheus (or run deploy/local/install-packages.sh)"
    need_cmd promtool "it comes with Debian's prometheus package"
    require_free_port "$PROMETHEUS_PORT" "Prometheus"
    prepare
    say "starting Prometheus on http://127.0.0.1:$PROMETHEUS_PORT (log: $PROM_LOG)"
    start_logged prometheus "$PROM_LOG" prometheus --config.file="$PROM_HOME/prometheus.yml" \
        --storage.tsdb.path="$STACK/data/prometheus" \
        --web.listen-address="127.0.0.1:$PROMETHEUS_PORT" \
        --web.enable-lifecycle
    wait_port "$PROMETHEUS_PORT" "Prometheus" 30 "$PROM_LOG" prometheus
    local i
    for ((i = 0; i < 60; i++)); do
        curl -fsS "http://127.0.0.1:$PROMETHEUS_PORT/-/ready" >/dev/null 2>&1 && break
        sleep 0.5
    done
    say "Prometheus ready on http://127.0.0.1:$PROMETHEUS_PORT"
}

case "${1:-}" in
    start) start ;;
    stop) stop_pid prometheus ;;
    status) if pid_alive prometheus; then say "prometheus: running (pid $(cat "$RUN/prometheus.pid"))"; else say "prometheus: stopped"; fi ;;
    *) die "usage: prometheus.sh start|stop|status" ;;
esac
