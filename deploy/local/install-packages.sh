#!/usr/bin/env bash
# Installs the Debian packages the local stack needs, when they are missing:
# redis-server, prometheus (with promtool), prometheus-alertmanager (with amtool), and for the
# dashboard's browser tests Chromium with its driver and a font with Vietnamese letters.
# Java 17+ and Maven are requirements of the machine (see README) and are only checked.
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

missing=()
command -v redis-server >/dev/null 2>&1 || missing+=(redis-server)
command -v redis-cli >/dev/null 2>&1 || missing+=(redis-tools)
command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
command -v prometheus-alertmanager >/dev/null 2>&1 || missing+=(prometheus-alertmanager)
command -v ss >/dev/null 2>&1 || missing+=(iproute2)
command -v curl >/dev/null 2>&1 || missing+=(curl)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)  # certificates of the Redis TLS test
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
[[ -e /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ]] || missing+=(fonts-dejavu-core)

if ((${#missing[@]})); then
    # shellcheck disable=SC2207
    missing=($(printf '%s\n' "${missing[@]}" | sort -u))
    command -v apt-get >/dev/null 2>&1 \
        || die "missing ${missing[*]} and no apt-get here; install them with your package manager"
    SUDO=""
    if [[ $(id -u) -ne 0 ]]; then
        command -v sudo >/dev/null 2>&1 || die "missing ${missing[*]}; run as root: apt-get install ${missing[*]}"
        SUDO="sudo"
    fi
    say "installing Debian packages: ${missing[*]} (log: $LOGS/apt.log)"
    $SUDO apt-get update >"$LOGS/apt.log" 2>&1 || die "apt-get update failed; see $LOGS/apt.log"
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y --no-install-recommends "${missing[@]}" \
        >>"$LOGS/apt.log" 2>&1 || die "apt-get install ${missing[*]} failed; see $LOGS/apt.log"
fi

command -v java >/dev/null 2>&1 || die "java 17 or newer is needed (Debian: apt-get install openjdk-17-jdk-headless)"
command -v mvn >/dev/null 2>&1 || die "Apache Maven is needed to fetch Kafka's jars (Debian: apt-get install maven)"
