# shellcheck shell=bash
# Shared settings and checks for the local stack scripts. Sourced, never run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
STACK="${PAYWATCH_STACK_DIR:-$ROOT/.stack}"
LOGS="$STACK/logs"
RUN="$STACK/run"
mkdir -p "$LOGS" "$RUN"

KAFKA_VERSION="${PAYWATCH_KAFKA_VERSION:-4.4.0}"
KAFKA_PORT="${PAYWATCH_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${PAYWATCH_KAFKA_CONTROLLER_PORT:-9097}"
# Every client's listener (SASL_SSL); KAFKA_PORT is the test listener (PLAINTEXT), there only
# when PAYWATCH_KAFKA_TEST_PLAINTEXT=1 (`make services`, the test suite): docs/security.md.
KAFKA_SASL_PORT="${PAYWATCH_KAFKA_SASL_PORT:-$((KAFKA_PORT + 3))}"
KAFKA_TEST_PLAINTEXT="${PAYWATCH_KAFKA_TEST_PLAINTEXT:-0}"
# The stack's Kafka credentials and TLS files (made at the first start, never committed).
KAFKA_SECRETS="$STACK/kafka/secrets"
KAFKA_TLS="$STACK/kafka/tls"
REDIS_PORT="${PAYWATCH_REDIS_PORT:-6380}"
REDIS_PASSWORD="${PAYWATCH_REDIS_PASSWORD:-paywatch-local}"
REDIS_PREFIX="${PAYWATCH_REDIS_PREFIX:-pw}"
REDIS_SECRETS="$STACK/redis/secrets"  # passwords of paywatch-worker and paywatch-reader
DASHBOARD_REDIS_USER="paywatch-dashboard"
DASHBOARD_REDIS_PASSWORD="${PAYWATCH_DASHBOARD_REDIS_PASSWORD:-paywatch-dashboard-local}"
DASHBOARD_PORT="${PAYWATCH_DASHBOARD_PORT:-6070}"
PROMETHEUS_PORT="${PAYWATCH_PROMETHEUS_PORT:-9090}"
ALERTMANAGER_PORT="${PAYWATCH_ALERTMANAGER_PORT:-9093}"
ALERTMANAGER_CLUSTER_PORT="${PAYWATCH_ALERTMANAGER_CLUSTER_PORT:-9094}"
ALERT_RECEIVER_PORT="${PAYWATCH_ALERT_RECEIVER_PORT:-5001}"
# The receiver's address as the repository's configs write it (alertmanager.yml's webhooks, the
# rules' runbook_url); the scripts put the port in use in their copies.
REPO_RECEIVER="http://127.0.0.1:5001/"
WORKER_WEB_PORT="${PAYWATCH_WEB_PORT:-6066}"

say() { printf '[paywatch] %s\n' "$*"; }
die() { printf '[paywatch] error: %s\n' "$*" >&2; exit 1; }

need_cmd() { # need_cmd CMD "how to get it"
    command -v "$1" >/dev/null 2>&1 || die "$1 is needed but not found; $2"
}

# pid_alive NAME: true when the pid file of NAME names a running process.
pid_alive() {
    local f="$RUN/$1.pid"
    [[ -f "$f" ]] && kill -0 "$(cat "$f")" 2>/dev/null
}

# port_holder PORT: prints the pid listening on 127.0.0.1:PORT, if any.
port_holder() {
    ss -ltnpH "sport = :$1" 2>/dev/null | sed -n 's/.*pid=\([0-9]*\).*/\1/p' | head -n1
}

port_in_use() { ss -ltnH "sport = :$1" 2>/dev/null | grep -q .; }

# require_free_port PORT WHAT: fail with the holder's pid when the port is taken.
require_free_port() {
    if port_in_use "$1"; then
        local pid; pid="$(port_holder "$1")"
        die "port $1 (for $2) is in use by pid ${pid:-unknown} ($(ps -o comm= -p "${pid:-0}" 2>/dev/null || echo '?')); stop it or set the port variable (see docs/configuration.md)"
    fi
}

# wait_port PORT WHAT SECONDS LOGFILE [NAME]: wait until something listens on PORT; with NAME
# (a start_logged process), fail at once when that process has ended instead.
wait_port() {
    local port=$1 what=$2 secs=$3 log=$4 name=${5:-} i
    for ((i = 0; i < secs * 4; i++)); do
        port_in_use "$port" && return 0
        [[ -z "$name" ]] || pid_alive "$name" || die "$what exited while starting; see $log"
        sleep 0.25
    done
    die "$what did not start listening on port $port within ${secs}s; see $log"
}

# start_logged NAME LOGFILE CMD...: start CMD in the background under nohup, its pid in NAME's
# pid file, its output through logpipe.py into LOGFILE (rotated at PAYWATCH_LOG_MAX_MB, escape
# codes left out). The pipe's own output goes nowhere: a caller that captures this script's
# output is not held open by it.
start_logged() {
    local name=$1 log=$2
    shift 2
    nohup "$@" > >(exec python3 "$ROOT/deploy/local/logpipe.py" "$log" >/dev/null 2>&1) 2>&1 \
        </dev/null &
    echo $! >"$RUN/$name.pid"
}

# stop_pid NAME: TERM the process of NAME, then KILL after a grace period.
stop_pid() {
    local name=$1 f="$RUN/$1.pid" pid i
    [[ -f "$f" ]] || return 0
    pid="$(cat "$f")"
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < 120; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "$name (pid $pid) did not stop in 30s; killing it and its children"
            pkill -KILL -P "$pid" 2>/dev/null || true  # a supervisor's worker is not orphaned
            kill -KILL "$pid" 2>/dev/null || true
        fi
        say "stopped $name (pid $pid)"
    fi
    rm -f "$f"
}
