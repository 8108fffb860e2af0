#!/usr/bin/env bash
# Redis for the local stack: Debian's redis-server on its own port and folder, password set.
# Usage: redis.sh start|stop|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REDIS_DATA="$STACK/data/redis"
REDIS_LOG="$LOGS/redis.log"

start() {
    if pid_alive redis; then
        say "Redis already running (pid $(cat "$RUN/redis.pid")) on 127.0.0.1:$REDIS_PORT"
        return 0
    fi
    need_cmd redis-server "install it with: apt-get install redis-server (or run deploy/local/install-packages.sh)"
    require_free_port "$REDIS_PORT" "Redis"
    mkdir -p "$REDIS_DATA"
    say "starting Redis on 127.0.0.1:$REDIS_PORT (log: $REDIS_LOG)"
    # The config is given on stdin so the password never shows in the process list.
    sed -e "s|@PORT@|$REDIS_PORT|g" -e "s|@DIR@|$REDIS_DATA|g" -e "s|@LOG@|$REDIS_LOG|g" \
        -e "s|@PIDFILE@|$RUN/redis.pid|g" -e "s|@PASSWORD@|$REDIS_PASSWORD|g" \
        "$ROOT/deploy/redis/redis.conf.in" | redis-server - >>"$REDIS_LOG" 2>&1 \
        || die "redis-server failed to start; see $REDIS_LOG"
    wait_port "$REDIS_PORT" "Redis" 20 "$REDIS_LOG"
    local i
    for ((i = 0; i < 40; i++)); do [[ -s "$RUN/redis.pid" ]] && break; sleep 0.25; done
    # Redis answers LOADING while it reads its snapshot back; wait for PONG.
    for ((i = 0; i < 120; i++)); do
        REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG \
            && break
        sleep 0.25
    done
    ((i < 120)) || die "Redis does not answer PING on port $REDIS_PORT within 30s; see $REDIS_LOG"
    dashboard_user
    say "Redis ready on 127.0.0.1:$REDIS_PORT"
}

# The dashboard's own user, which may only read the live view (deploy/redis/dashboard.acl).
# Sent on stdin, so the password never shows in the process list.
dashboard_user() {
    local rules
    rules="$(grep -v '^#' "$ROOT/deploy/redis/dashboard.acl" | sed -e "s|@PREFIX@|$REDIS_PREFIX|g")"
    printf 'ACL SETUSER %s reset on >%s %s\n' "$DASHBOARD_REDIS_USER" "$DASHBOARD_REDIS_PASSWORD" "$rules" \
        | REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p "$REDIS_PORT" | grep -qx OK \
        || die "could not create the Redis user $DASHBOARD_REDIS_USER; see $REDIS_LOG"
}

case "${1:-}" in
    start) start ;;
    stop) stop_pid redis ;;
    status) if pid_alive redis; then say "redis: running (pid $(cat "$RUN/redis.pid"))"; else say "redis: stopped"; fi ;;
    *) die "usage: redis.sh start|stop|status" ;;
esac
