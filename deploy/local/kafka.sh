#!/usr/bin/env bash
# Apache Kafka for the local stack: resolve the broker jars from Maven Central (once), format
# the KRaft storage (once), start one combined broker+controller on 127.0.0.1.
# Usage: kafka.sh start|stop|status
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KAFKA_HOME="$STACK/kafka-$KAFKA_VERSION"
KAFKA_DATA="$STACK/data/kafka"
KAFKA_CONF="$STACK/kafka/server.properties"
KAFKA_LOG="$LOGS/kafka.log"

check_java() {
    need_cmd java "install a Java 17 or newer JDK (Debian: apt-get install openjdk-17-jdk-headless)"
    local v
    v="$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')"
    [[ "${v%%.*}" =~ ^[0-9]+$ ]] || die "could not read the Java version from 'java -version'"
    (( ${v%%.*} >= 17 )) || die "java 17 or newer is needed for Kafka $KAFKA_VERSION; found $v"
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

render_config() {
    mkdir -p "$(dirname "$KAFKA_CONF")" "$KAFKA_DATA"
    sed -e "s|@PORT@|$KAFKA_PORT|g" -e "s|@CONTROLLER_PORT@|$KAFKA_CONTROLLER_PORT|g" \
        -e "s|@DATA_DIR@|$KAFKA_DATA|g" \
        "$ROOT/deploy/kafka/server.properties.in" >"$KAFKA_CONF"
}

format_once() {
    [[ -f "$KAFKA_DATA/meta.properties" ]] && return 0
    local cluster_id
    cluster_id="$(kafka_java kafka.tools.StorageTool random-uuid 2>>"$LOGS/kafka-format.log" | tail -n1)"
    say "formatting KRaft storage in $KAFKA_DATA (cluster $cluster_id)"
    kafka_java kafka.tools.StorageTool format -t "$cluster_id" -c "$KAFKA_CONF" \
        >>"$LOGS/kafka-format.log" 2>&1 \
        || die "formatting Kafka storage failed; see $LOGS/kafka-format.log"
}

# The broker answers when it lists its topics through the real client protocol.
wait_ready() {
    local i
    for ((i = 0; i < 120; i++)); do
        if kafka_java org.apache.kafka.tools.TopicCommand \
            --bootstrap-server "127.0.0.1:$KAFKA_PORT" --list >/dev/null 2>&1; then
            return 0
        fi
        pid_alive kafka || die "Kafka exited while starting; see $KAFKA_LOG"
        sleep 1
    done
    die "Kafka did not answer on 127.0.0.1:$KAFKA_PORT within 120s; see $KAFKA_LOG"
}

start() {
    if pid_alive kafka; then
        say "Kafka $KAFKA_VERSION already running (pid $(cat "$RUN/kafka.pid")) on 127.0.0.1:$KAFKA_PORT"
        return 0
    fi
    check_java
    require_free_port "$KAFKA_PORT" "Kafka"
    require_free_port "$KAFKA_CONTROLLER_PORT" "the Kafka controller"
    fetch_jars
    render_config
    format_once
    say "starting Kafka $KAFKA_VERSION on 127.0.0.1:$KAFKA_PORT (log: $KAFKA_LOG)"
    start_logged kafka "$KAFKA_LOG" java -Xms256m -Xmx1g -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -Dlog4j2.configurationFile="$ROOT/deploy/kafka/log4j2.properties" \
        -cp "$KAFKA_HOME/libs/*" kafka.Kafka "$KAFKA_CONF"
    wait_port "$KAFKA_PORT" "Kafka" 90 "$KAFKA_LOG"
    wait_ready
    say "Kafka ready on 127.0.0.1:$KAFKA_PORT"
}

case "${1:-}" in
    start) start ;;
    stop) stop_pid kafka ;;
    status) if pid_alive kafka; then say "kafka: running (pid $(cat "$RUN/kafka.pid"))"; else say "kafka: stopped"; fi ;;
    *) die "usage: kafka.sh start|stop|status" ;;
esac
