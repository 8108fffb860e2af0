#!/usr/bin/env bash
# Alertmanager for the local stack: Debian's prometheus-alertmanager with the project's config.
# Usage: alertmanager.sh start|stop|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

AM_LOG="$LOGS/alertmanager.log"
AM_SOURCE="$ROOT/deploy/alertmanager/alertmanager.yml"
AM_CONFIG="$STACK/alertmanager/alertmanager.yml"

# The project's config, its webhooks pointed at this stack's alert receiver.
prepare() {
    mkdir -p "$STACK/alertmanager"
    sed "s#$REPO_RECEIVER#http://127.0.0.1:$ALERT_RECEIVER_PORT/#g" "$AM_SOURCE" >"$AM_CONFIG"
}

start() {
    if pid_alive alertmanager; then
        say "Alertmanager already running (pid $(cat "$RUN/alertmanager.pid")) on http://127.0.0.1:$ALERTMANAGER_PORT"
        return 0
    fi
    need_cmd prometheus-alertmanager "install it with: apt-get install prometheus-alertmanager (or run deploy/local/install-packages.sh)"
    require_free_port "$ALERTMANAGER_PORT" "Alertmanager"
    prepare
    amtool check-config "$AM_CONFIG" >"$LOGS/amtool-check.log" 2>&1 \
        || die "amtool rejects $AM_CONFIG; see $LOGS/amtool-check.log"
    mkdir -p "$STACK/data/alertmanager"
    say "starting Alertmanager on http://127.0.0.1:$ALERTMANAGER_PORT (log: $AM_LOG)"
    start_logged alertmanager "$AM_LOG" prometheus-alertmanager --config.file="$AM_CONFIG" \
        --storage.path="$STACK/data/alertmanager" \
        --web.listen-address="127.0.0.1:$ALERTMANAGER_PORT" \
        --cluster.listen-address=""
    wait_port "$ALERTMANAGER_PORT" "Alertmanager" 30 "$AM_LOG" alertmanager
    say "Alertmanager ready on http://127.0.0.1:$ALERTMANAGER_PORT"
}

case "${1:-}" in
    start) start ;;
    stop) stop_pid alertmanager ;;
    status) if pid_alive alertmanager; then say "alertmanager: running (pid $(cat "$RUN/alertmanager.pid"))"; else say "alertmanager: stopped"; fi ;;
    *) die "usage: alertmanager.sh start|stop|status" ;;
esac
