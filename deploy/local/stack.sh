#!/usr/bin/env bash
# The whole local stack. `up`: packages, .venv, Kafka, Redis, Prometheus, Alertmanager, topics,
# one paywatch worker, the portal simulator and the live dashboard, then where to look. `services`: only the servers
# the tests need. `down`: everything stopped, no process of ours left, no port held.
# `restart-worker`: only the worker (after a change of its settings or targets).
# Usage: stack.sh up|services|down|status|restart-worker
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

PAYWATCH="$ROOT/.venv/bin/paywatch"
SIM_RATE="${PAYWATCH_SIM_RATE:-20}"
# renamed to say its unit: the old name would be ignored without a word
[[ -z "${PAYWATCH_SIM_DURATION+set}" ]] ||
    die "PAYWATCH_SIM_DURATION is now PAYWATCH_SIM_DURATION_S (the same value, in seconds): rename the variable"
SIM_DURATION_S="${PAYWATCH_SIM_DURATION_S:-28800}"

services() {
    bash "$ROOT/deploy/local/install-packages.sh"
    bash "$ROOT/deploy/local/python-env.sh"
    bash "$ROOT/deploy/local/kafka.sh" start
    bash "$ROOT/deploy/local/redis.sh" start
}

# as_kafka_user USER CMD...: CMD with the settings of a SASL_SSL client logged in as USER
# (docs/security.md): the password is in a file, never on a command line or in the environment.
# A stack folder whose Kafka this script did not set up (no such user's password: a test's
# restart-worker) leaves CMD's PAYWATCH_* settings as they are.
as_kafka_user() {
    local user=$1
    shift
    [[ -s "$KAFKA_SECRETS/$user.password" ]] || { "$@"; return; }
    PAYWATCH_BROKER="kafka://127.0.0.1:$KAFKA_SASL_PORT" \
        PAYWATCH_KAFKA_SECURITY_PROTOCOL=SASL_SSL \
        PAYWATCH_KAFKA_SASL_USERNAME="$user" \
        PAYWATCH_KAFKA_SASL_PASSWORD_FILE="$KAFKA_SECRETS/$user.password" \
        PAYWATCH_KAFKA_CA_FILE="$KAFKA_TLS/ca.pem" \
        "$@"
}

# as_redis_user USER CMD...: CMD with PAYWATCH_REDIS_URL naming USER, its password in a file.
as_redis_user() {
    local user=$1
    shift
    [[ -s "$REDIS_SECRETS/$user.password" ]] || { "$@"; return; }
    PAYWATCH_REDIS_URL="redis://$user@127.0.0.1:$REDIS_PORT/0" \
        PAYWATCH_REDIS_PASSWORD_FILE="$REDIS_SECRETS/$user.password" "$@"
}

start_bg() { # start_bg NAME LOGFILE CMD...: a process of ours, with a pid file and a log.
    local name=$1 log=$2
    shift 2
    if pid_alive "$name"; then
        say "$name already running (pid $(cat "$RUN/$name.pid"))"
        return 0
    fi
    start_logged "$name" "$log" "$@"
    say "started $name (pid $(cat "$RUN/$name.pid"), log: $log)"
}

start_worker() { # the worker under supervise.sh (started again after a failed step)
    if ! pid_alive worker; then require_free_port "$WORKER_WEB_PORT" "the paywatch worker"; fi
    as_kafka_user paywatch-worker as_redis_user paywatch-worker \
        start_bg worker "$LOGS/worker.log" bash "$ROOT/deploy/local/supervise.sh" "$PAYWATCH" worker
    wait_port "$WORKER_WEB_PORT" "the paywatch worker" 120 "$LOGS/worker.log" worker
}

# Only the worker: SIGTERM (its last checkpoint and commit), then started again on the same data
# dir and instance id, so it takes its partitions back without a rebalance. The rest runs on.
restart_worker() {
    stop_pid worker
    start_worker
    say "worker restarted (pid $(cat "$RUN/worker.pid"), metrics on http://127.0.0.1:$WORKER_WEB_PORT/metrics)"
}

# Settings of the read-only tools (paywatch status, report, lag, dead-letters) and of paywatch
# replay, as the stack's least-privileged users: files to source, holding no password.
write_user_envs() {
    mkdir -p "$STACK/env"
    { as_kafka_user paywatch-tools as_redis_user paywatch-reader env; } | grep -E \
        '^PAYWATCH_(BROKER|KAFKA_SECURITY_PROTOCOL|KAFKA_SASL_USERNAME|KAFKA_SASL_PASSWORD_FILE|KAFKA_CA_FILE|REDIS_URL|REDIS_PASSWORD_FILE)=' \
        >"$STACK/env/tools.env"
    { as_kafka_user paywatch-replay env; } | grep -E \
        '^PAYWATCH_(BROKER|KAFKA_SECURITY_PROTOCOL|KAFKA_SASL_USERNAME|KAFKA_SASL_PASSWORD_FILE|KAFKA_CA_FILE)=' \
        >"$STACK/env/replay.env"
}

up() {
    services
    write_user_envs
    bash "$ROOT/deploy/local/prometheus.sh" start
    if ! pid_alive alert-receiver; then require_free_port "$ALERT_RECEIVER_PORT" "the alert receiver"; fi
    start_bg alert-receiver "$LOGS/alerts.log" \
        "$PAYWATCH" alert-receiver --port "$ALERT_RECEIVER_PORT" --store "$STACK/alerts/received.jsonl"
    wait_port "$ALERT_RECEIVER_PORT" "the alert receiver" 30 "$LOGS/alerts.log" alert-receiver
    bash "$ROOT/deploy/local/alertmanager.sh" start
    as_kafka_user paywatch-admin "$PAYWATCH" topics >>"$LOGS/topics.log" 2>&1 \
        || die "creating topics failed; see $LOGS/topics.log"
    start_worker
    as_kafka_user paywatch-portal start_bg simulator "$LOGS/simulator.log" \
        "$PAYWATCH" simulate --rate "$SIM_RATE" --duration-s "$SIM_DURATION_S" --quiet
    if ! pid_alive dashboard; then require_free_port "$DASHBOARD_PORT" "the paywatch dashboard"; fi
    # The dashboard reads Redis as its own user, which may only read the live view.
    PAYWATCH_DASHBOARD_REDIS_URL="${PAYWATCH_DASHBOARD_REDIS_URL:-redis://$DASHBOARD_REDIS_USER:$DASHBOARD_REDIS_PASSWORD@127.0.0.1:$REDIS_PORT/0}" \
        PAYWATCH_DASHBOARD_PORT="$DASHBOARD_PORT" \
        start_bg dashboard "$LOGS/dashboard.log" "$PAYWATCH" dashboard
    wait_port "$DASHBOARD_PORT" "the paywatch dashboard" 60 "$LOGS/dashboard.log" dashboard
    cat <<MSG

paywatch is running. Where to look:
  Live dashboard     http://127.0.0.1:$DASHBOARD_PORT/
  Worker metrics     http://127.0.0.1:$WORKER_WEB_PORT/metrics
  Live status        .venv/bin/paywatch status   (--watch to follow; --kpi dossiers or amount)
                     as the read-only users first: set -a; . $STACK/env/tools.env; set +a
  Worker counters    http://127.0.0.1:$WORKER_WEB_PORT/counters/?unit=148&period=2022
  Prometheus UI      http://127.0.0.1:$PROMETHEUS_PORT   (try: paywatch:workers_up:sum)
  Alerts received    $PAYWATCH alerts   (log: $LOGS/alerts.log; runbooks: http://127.0.0.1:$ALERT_RECEIVER_PORT/runbooks)
  Alerts firing      amtool --alertmanager.url=http://127.0.0.1:$ALERTMANAGER_PORT alert query
  Silence one        amtool --alertmanager.url=http://127.0.0.1:$ALERTMANAGER_PORT silence add alertname=NAME --duration=2h --comment="why"
                     (Debian's Alertmanager has no web UI; see docs/alerting.md)
  Redis live view    REDISCLI_AUTH=$REDIS_PASSWORD redis-cli --user paywatch-admin -p $REDIS_PORT --scan --pattern 'pw:*'
  Kafka              127.0.0.1:$KAFKA_SASL_PORT, SASL_SSL (users, passwords: $KAFKA_SECRETS; CA: $KAFKA_TLS/ca.pem; docs/security.md)
  Logs               $LOGS/{kafka,redis,prometheus,alertmanager,alerts,worker,simulator,dashboard}.log
The simulator sends about $SIM_RATE events/s for $SIM_DURATION_S s (Oct 2022 to Feb 2023, Hòa Bình). Stop everything with: make down
MSG
}

down() {
    stop_pid dashboard
    stop_pid simulator
    stop_pid worker
    bash "$ROOT/deploy/local/alertmanager.sh" stop
    stop_pid alert-receiver
    bash "$ROOT/deploy/local/prometheus.sh" stop
    bash "$ROOT/deploy/local/redis.sh" stop
    bash "$ROOT/deploy/local/kafka.sh" stop
    local port held=()
    for port in "$KAFKA_PORT" "$KAFKA_SASL_PORT" "$KAFKA_CONTROLLER_PORT" "$REDIS_PORT" "$PROMETHEUS_PORT" \
        "$ALERTMANAGER_PORT" "$ALERT_RECEIVER_PORT" "$WORKER_WEB_PORT" "$DASHBOARD_PORT"; do
        port_in_use "$port" && held+=("$port (pid $(port_holder "$port"))")
    done
    ((${#held[@]} == 0)) || die "still held after stopping: ${held[*]}"
    say "all stopped"
}

status() {
    local name
    bash "$ROOT/deploy/local/kafka.sh" status  # with its listeners
    for name in redis prometheus alertmanager alert-receiver worker simulator dashboard; do
        if pid_alive "$name"; then say "$name: running (pid $(cat "$RUN/$name.pid"))"; else say "$name: stopped"; fi
    done
}

case "${1:-}" in
    up) up ;;
    # the tests' ways in (docs/security.md): Kafka's PLAINTEXT listener, Redis's default user
    services) PAYWATCH_KAFKA_TEST_PLAINTEXT=1 PAYWATCH_REDIS_DEFAULT_USER=on services ;;
    down) down ;;
    status) status ;;
    restart-worker) restart_worker ;;
    *) die "usage: stack.sh up|services|down|status|restart-worker" ;;
esac
