#!/usr/bin/env bash
# Redis for the local stack: Debian's redis-server on its own port and folder, with ACL users
# (docs/security.md): paywatch-admin (everything; the scripts and the tests), paywatch-worker
# (writes the live view), paywatch-reader (`paywatch status`/`report`), paywatch-dashboard. The
# default user is disabled unless PAYWATCH_REDIS_DEFAULT_USER=on (`make services` sets it).
# Usage: redis.sh start|stop|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REDIS_DATA="$STACK/data/redis"
REDIS_LOG="$LOGS/redis.log"
REDIS_CONF="$STACK/redis/redis.conf"
DEFAULT_USER="${PAYWATCH_REDIS_DEFAULT_USER:-off}"
[[ "$DEFAULT_USER" == on || "$DEFAULT_USER" == off ]] \
    || die "PAYWATCH_REDIS_DEFAULT_USER=$DEFAULT_USER: expected on or off"

# The passwords go into Redis's config, ACL SETUSER lines and redis:// URLs as they are: only
# characters that need no quoting or escaping in any of them (a URL's unreserved ones).
check_passwords() {
    local variable value
    for variable in PAYWATCH_REDIS_PASSWORD PAYWATCH_DASHBOARD_REDIS_PASSWORD; do
        case "$variable" in
            PAYWATCH_REDIS_PASSWORD) value="$REDIS_PASSWORD" ;;
            *) value="$DASHBOARD_REDIS_PASSWORD" ;;
        esac
        [[ "$value" =~ ^[A-Za-z0-9._~-]+$ ]] \
            || die "$variable (value not shown): expected letters, digits, '.', '_', '~' or '-' only, at least one; e.g. openssl rand -hex 24"
    done
}

start() {
    check_passwords
    if pid_alive redis; then
        apply_users
        say "Redis already running (pid $(cat "$RUN/redis.pid")) on 127.0.0.1:$REDIS_PORT; $(default_user_said)"
        return 0
    fi
    need_cmd redis-server "install it with: apt-get install redis-server (or run deploy/local/install-packages.sh)"
    require_free_port "$REDIS_PORT" "Redis"
    mkdir -p "$REDIS_DATA" "${REDIS_CONF%/*}"
    say "starting Redis on 127.0.0.1:$REDIS_PORT (log: $REDIS_LOG)"
    # The rendered config holds the password, so it is a file of mode 600 (never an argument:
    # no password in the process list). Redis runs in the foreground and writes to its output,
    # which start_logged rotates like every other log of the stack.
    (
        umask 077
        sed -e "s|@PORT@|$REDIS_PORT|g" -e "s|@DIR@|$REDIS_DATA|g" \
            -e "s|@PASSWORD@|$REDIS_PASSWORD|g" "$ROOT/deploy/redis/redis.conf.in" >"$REDIS_CONF"
    )
    start_logged redis "$REDIS_LOG" redis-server "$REDIS_CONF"
    wait_port "$REDIS_PORT" "Redis" 20 "$REDIS_LOG" redis
    local i
    # Redis answers LOADING while it reads its snapshot back; wait for PONG.
    for ((i = 0; i < 120; i++)); do
        REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG \
            && break
        sleep 0.25
    done
    ((i < 120)) || die "Redis does not answer PING on port $REDIS_PORT within 30s; see $REDIS_LOG"
    apply_users
    say "Redis ready on 127.0.0.1:$REDIS_PORT; $(default_user_said)"
}

default_user_said() {
    if [[ "$DEFAULT_USER" == on ]]; then echo "default user on (tests)"; else echo "default user off"; fi
}

# The users and their rules, applied (again) at every start: each ACL SETUSER resets the user
# first, so a changed rule or password takes effect. Sent on stdin, so no password shows in the
# process list; the admin authenticates through REDISCLI_AUTH (the environment), as before.
apply_users() {
    local user
    mkdir -p "$REDIS_SECRETS"
    chmod 700 "$REDIS_SECRETS"
    for user in paywatch-worker paywatch-reader; do
        [[ -s "$REDIS_SECRETS/$user.password" ]] || (umask 077 && openssl rand -hex 24 >"$REDIS_SECRETS/$user.password")
    done
    {
        printf 'ACL SETUSER paywatch-admin reset on >%s ~* &* +@all\n' "$REDIS_PASSWORD"
        user_rules paywatch-worker "$(cat "$REDIS_SECRETS/paywatch-worker.password")" worker.acl
        user_rules paywatch-reader "$(cat "$REDIS_SECRETS/paywatch-reader.password")" reader.acl
        user_rules "$DASHBOARD_REDIS_USER" "$DASHBOARD_REDIS_PASSWORD" dashboard.acl
        # requirepass keeps the default user's password; only whether it may log in changes
        printf 'ACL SETUSER default %s\n' "$DEFAULT_USER"
    } | redis_admin | grep -vqx OK && die "could not set up the Redis users; see $REDIS_LOG"
    return 0
}

user_rules() { # user_rules USER PASSWORD FILE: one ACL SETUSER line from deploy/redis/FILE
    local rules
    rules="$(grep -v '^#' "$ROOT/deploy/redis/$3" | sed -e "s|@PREFIX@|$REDIS_PREFIX|g")"
    printf 'ACL SETUSER %s reset on >%s %s\n' "$1" "$2" "$rules"
}

# redis-cli as an administrator: paywatch-admin, or the default user while paywatch-admin does
# not exist yet (a fresh server) or the default user is how this Redis was set up before.
redis_admin() {
    local commands
    commands="$(cat)"
    if REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --user paywatch-admin -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG; then
        REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --user paywatch-admin -p "$REDIS_PORT" <<<"$commands"
    else
        REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli -p "$REDIS_PORT" <<<"$commands"
    fi
}

case "${1:-}" in
    start) start ;;
    stop) stop_pid redis ;;
    status) if pid_alive redis; then say "redis: running (pid $(cat "$RUN/redis.pid"))"; else say "redis: stopped"; fi ;;
    *) die "usage: redis.sh start|stop|status" ;;
esac
