#!/usr/bin/env bash
# Apache Kafka for the local stack: resolve the broker jars from Maven Central (once), make a
# private CA, the broker's certificate and the users' passwords (once, in .stack/kafka), format
# the KRaft storage (once), start one combined broker+controller on 127.0.0.1 with a SASL_SSL
# listener (SCRAM-SHA-512) and ACLs, then create the users and ACLs (deploy/kafka/acls.txt).
# PAYWATCH_KAFKA_TEST_PLAINTEXT=1 adds the tests' PLAINTEXT listener on PAYWATCH_KAFKA_PORT.
# Usage: kafka.sh start|stop|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KAFKA_HOME="$STACK/kafka-$KAFKA_VERSION"
KAFKA_DATA="$STACK/data/kafka"
KAFKA_CONF="$STACK/kafka/server.properties"
KAFKA_LOG="$LOGS/kafka.log"
# The stack's principals (docs/security.md); paywatch-admin is the one super user.
KAFKA_USERS=(paywatch-admin paywatch-worker paywatch-portal paywatch-replay paywatch-tools)
ADMIN_PROPERTIES="$STACK/kafka/admin.properties"
TEST_PROPERTIES="$STACK/kafka/test-listener.properties"
# Written once paywatch-admin has a SCRAM credential in this storage (at format time, or by the
# upgrade of a storage formatted before the stack had SASL: see start).
SCRAM_MARKER="$KAFKA_DATA/paywatch-admin.scram"

check_java() {
    need_cmd java "install a Java 17 or newer JDK (Debian: apt-get install openjdk-17-jdk-headless)"
    local v
    v="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    [[ "${v%%.*}" =~ ^[0-9]+$ ]] || die "could not read the Java version from 'java -version'"
    (( ${v%%.*} >= 17 )) || die "java 17 or newer is needed for Kafka $KAFKA_VERSION; found $v"
    # deploy/kafka/StackSecurity.java runs from source: a JDK, not only a JRE
    java --list-modules 2>/dev/null | grep -q '^jdk.compiler@' \
        || die "a Java JDK is needed (it compiles deploy/kafka/StackSecurity.java), not only a JRE (Debian: apt-get install openjdk-17-jdk-headless)"
}

fetch_jars() {
    [[ -f "$KAFKA_HOME/libs/kafka_2.13-$KAFKA_VERSION.jar" ]] && return 0
    need_cmd mvn "install Apache Maven (Debian: apt-get install maven)"
    say "resolving Apache Kafka $KAFKA_VERSION from Maven Central into $KAFKA_HOME/libs (once)"
    rm -rf "$KAFKA_HOME/libs.partial"
    mvn -q -B -f "$ROOT/deploy/local/kafka-pom.xml" \
        -Dkafka.version="$KAFKA_VERSION" \
        -Dmaven.repo.local="$STACK/maven" \
        dependency:copy-dependencies -DincludeScope=runtime \
        -DoutputDirectory="$KAFKA_HOME/libs.partial" >"$LOGS/kafka-maven.log" 2>&1 \
        || die "Maven could not resolve Kafka $KAFKA_VERSION; see $LOGS/kafka-maven.log"
    mv "$KAFKA_HOME/libs.partial" "$KAFKA_HOME/libs"
}

kafka_java() { # kafka_java MAINCLASS ARGS...
    java -Xms256m -Xmx1g -XX:+UseG1GC \
        -Dlog4j2.configurationFile="$ROOT/deploy/kafka/log4j2.properties" \
        -cp "$KAFKA_HOME/libs/*" "$@"
}

# A private CA and the broker's certificate (for 127.0.0.1 and localhost), made once with openssl.
# broker.pem is Kafka's PEM key store (key, then certificate chain); ca.pem is what clients trust.
make_tls() {
    [[ -s "$KAFKA_TLS/broker.pem" && -s "$KAFKA_TLS/ca.pem" ]] && return 0
    need_cmd openssl "install it with: apt-get install openssl"
    say "making a private CA and the broker's certificate in $KAFKA_TLS (once)"
    rm -rf "$KAFKA_TLS"
    mkdir -p "$KAFKA_TLS"
    chmod 700 "$KAFKA_TLS"
    (
        cd "$KAFKA_TLS"
        umask 077
        openssl req -x509 -newkey rsa:2048 -nodes -days 825 -keyout ca.key -out ca.pem \
            -subj "/CN=paywatch local stack CA" \
            -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
        openssl req -newkey rsa:2048 -nodes -keyout broker.key -out broker.csr -subj "/CN=127.0.0.1"
        printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' >broker.ext
        openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 \
            -extfile broker.ext -out broker.crt
        cat broker.key broker.crt ca.pem >broker.pem
        rm -f broker.csr broker.ext
    ) >>"$LOGS/kafka-tls.log" 2>&1 || die "making the Kafka TLS files failed; see $LOGS/kafka-tls.log"
}

# One random password per principal, each in its own file (mode 600), made once.
make_secrets() {
    local user
    mkdir -p "$KAFKA_SECRETS"
    chmod 700 "$KAFKA_SECRETS"
    for user in "${KAFKA_USERS[@]}"; do
        [[ -s "$KAFKA_SECRETS/$user.password" ]] && continue
        (umask 077 && openssl rand -hex 24 >"$KAFKA_SECRETS/$user.password")
    done
}

render_config() {
    local listeners advertised super admin_password
    mkdir -p "$(dirname "$KAFKA_CONF")" "$KAFKA_DATA"
    admin_password="$(cat "$KAFKA_SECRETS/paywatch-admin.password")"
    listeners="SECURE://127.0.0.1:$KAFKA_SASL_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT"
    advertised="SECURE://127.0.0.1:$KAFKA_SASL_PORT"
    super="User:paywatch-admin"
    if [[ "$KAFKA_TEST_PLAINTEXT" == 1 ]]; then
        # The tests' listener: no authentication, so its principal (User:ANONYMOUS) is named a
        # super user here, explicitly; no other listener yields that principal.
        listeners="TEST://127.0.0.1:$KAFKA_PORT,$listeners"
        advertised="TEST://127.0.0.1:$KAFKA_PORT,$advertised"
        super="$super;User:ANONYMOUS"
    fi
    (
        umask 077
        sed -e "s|@LISTENERS@|$listeners|g" -e "s|@ADVERTISED_LISTENERS@|$advertised|g" \
            -e "s|@SUPER_USERS@|$super|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
            -e "s|@DATA_DIR@|$KAFKA_DATA|g" -e "s|@TLS_DIR@|$KAFKA_TLS|g" \
            -e "s|@ADMIN_PASSWORD@|$admin_password|g" \
            "$ROOT/deploy/kafka/server.properties.in" >"$KAFKA_CONF"
        cat >"$ADMIN_PROPERTIES" <<PROPS
bootstrap.servers=127.0.0.1:$KAFKA_SASL_PORT
security.protocol=SASL_SSL
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="paywatch-admin" password="$admin_password";
ssl.truststore.type=PEM
ssl.truststore.location=$KAFKA_TLS/ca.pem
PROPS
        printf 'bootstrap.servers=127.0.0.1:%s\nsecurity.protocol=PLAINTEXT\n' "$KAFKA_PORT" \
            >"$TEST_PROPERTIES"
    )
}

# The admin's SCRAM credential is written into the storage at format time, so that the broker
# (and kafka.sh) can log in as paywatch-admin from the first start. The arguments go through a
# java @argfile: the password never shows in the process list.
format_once() {
    [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
    local cluster_id argfile
    cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid 2>>"$LOGS/kafka-format.log" | tail -n1)"
    say "formatting KRaft storage in $KAFKA_DATA (cluster $cluster_id)"
    argfile="$STACK/kafka/format.args"
    (
        umask 077
        printf '%s\n' kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_CONF" \
            --add-scram "SCRAM-SHA-512=[name=paywatch-admin,password=$(cat "$KAFKA_SECRETS/paywatch-admin.password")]" \
            >"$argfile"
    )
    java -Xms256m -Xmx1g -Dlog4j2.configurationFile="$ROOT/deploy/kafka/log4j2.properties" \
        -cp "$KAFKA_HOME/libs/*" "@$argfile" >>"$LOGS/kafka-format.log" 2>&1 \
        || { rm -f "$argfile"; die "formatting Kafka storage failed; see $LOGS/kafka-format.log"; }
    rm -f "$argfile"
    touch "$SCRAM_MARKER"
}

# Users (their passwords from .stack/kafka/secrets) and ACLs, through the Admin API as
# paywatch-admin; both are idempotent, so every start applies them again.
apply_security() { # apply_security CLIENT_PROPERTIES
    kafka_java "$ROOT/deploy/kafka/StackSecurity.java" apply "$1" \
        "$ROOT/deploy/kafka/acls.txt" "${PAYWATCH_TOPIC_PREFIX:-}" "${PAYWATCH_APP_ID:-paywatch}" \
        "$KAFKA_SECRETS" >>"$LOGS/kafka-security.log" 2>&1 \
        || die "creating the Kafka users and ACLs failed; see $LOGS/kafka-security.log"
}

# The broker answers when it lists its topics through the real client protocol.
wait_ready() { # wait_ready CLIENT_PROPERTIES
    local i
    for ((i = 0; i < 120; i++)); do
        if kafka_java org.apache.kafka.tools.TopicCommand --command-config "$1" \
            --bootstrap-server "$(sed -n 's/^bootstrap.servers=//p' "$1")" --list >/dev/null 2>&1; then
            return 0
        fi
        pid_alive kafka || die "Kafka exited while starting; see $KAFKA_LOG"
        sleep 1
    done
    die "Kafka did not answer on 127.0.0.1:$KAFKA_SASL_PORT within 120s; see $KAFKA_LOG"
}

listening_on() { # the broker's listeners, as the tests and `status` see them
    local test="no test listener"
    [[ "$(cat "$RUN/kafka.listeners" 2>/dev/null)" == *TEST* ]] \
        && test="test listener (PLAINTEXT) on 127.0.0.1:$KAFKA_PORT"
    printf 'SASL_SSL on 127.0.0.1:%s, %s' "$KAFKA_SASL_PORT" "$test"
}

start() {
    if pid_alive kafka; then
        if [[ "$KAFKA_TEST_PLAINTEXT" != 1 || "$(cat "$RUN/kafka.listeners" 2>/dev/null)" == *TEST* ]]; then
            say "Kafka $KAFKA_VERSION already running (pid $(cat "$RUN/kafka.pid")): $(listening_on)"
            return 0
        fi
        # make up's broker has no test listener; the tests asked for one (same data, clients
        # reconnect)
        say "Kafka runs without the test listener: restarting it with PAYWATCH_KAFKA_TEST_PLAINTEXT=1"
        stop_pid kafka
    fi
    check_java
    [[ "$KAFKA_TEST_PLAINTEXT" == 1 ]] && require_free_port "$KAFKA_PORT" "Kafka's test listener"
    require_free_port "$KAFKA_SASL_PORT" "Kafka"
    require_free_port "$KAFKA_CONTROLLER_PORT" "the Kafka controller"
    fetch_jars
    make_tls
    make_secrets
    render_config
    format_once
    if [[ ! -f "$SCRAM_MARKER" ]]; then
        # Storage formatted before the stack had SASL: no user can log in on SECURE yet. Once,
        # the broker starts with the test listener (no authentication, loopback) to create the
        # users, then as asked.
        say "this Kafka storage has no SCRAM users yet: creating them once through the test listener"
        [[ "$KAFKA_TEST_PLAINTEXT" == 1 ]] || require_free_port "$KAFKA_PORT" "Kafka's test listener"
        KAFKA_TEST_PLAINTEXT=1 render_config
        run_broker
        wait_ready "$TEST_PROPERTIES"
        apply_security "$TEST_PROPERTIES"
        touch "$SCRAM_MARKER"
        if [[ "$KAFKA_TEST_PLAINTEXT" != 1 ]]; then
            stop_pid kafka
            render_config
            run_broker
        fi
    else
        run_broker
    fi
    wait_ready "$ADMIN_PROPERTIES"
    apply_security "$ADMIN_PROPERTIES"
    say "Kafka ready: $(listening_on); users and ACLs applied (CA: $KAFKA_TLS/ca.pem)"
}

run_broker() {
    sed -n 's/^listeners=//p' "$KAFKA_CONF" >"$RUN/kafka.listeners"
    say "starting Kafka $KAFKA_VERSION: $(listening_on) (log: $KAFKA_LOG)"
    start_logged kafka "$KAFKA_LOG" java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -Dlog4j2.configurationFile="$ROOT/deploy/kafka/log4j2.properties" \
        -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KAFKA_CONF"
    wait_port "$KAFKA_SASL_PORT" "Kafka" 90 "$KAFKA_LOG" kafka
}

case "${1:-}" in
    start) start ;;
    stop) stop_pid kafka; rm -f "$RUN/kafka.listeners" ;;
    status) if pid_alive kafka; then say "kafka: running (pid $(cat "$RUN/kafka.pid")): $(listening_on)"; else say "kafka: stopped"; fi ;;
    *) die "usage: kafka.sh start|stop|status" ;;
esac
