#!/usr/bin/env bash
# What `make test` needs beside .venv, brought up where this machine allows, named where not:
#   - PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres): the production audit store's
#     tests. A local cluster that is down is started (pg_ctlcluster); with none, and as root,
#     Debian's postgresql is installed with trust auth on 127.0.0.1.
#   - Debian's Chromium (/usr/bin/chromium): the console tests drive it headless.
#   - podman (with runc, netavark and aardvark-dns, which docker/offline/containers.conf names,
#     and iptables, without which netavark fails: "No such file or directory (os error 2)")
#     and debootstrap: tests/test_containers.py builds the images offline and runs the stack
#     (with podman-compose from the dev lock); docker-compose: tests/test_docker.py validates
#     the compose file.
# Packages are installed from Debian's archive when we are root and apt-get is here. Nothing is
# fatal: what is still missing is said here, and the tests that need it fail (or, for the
# container engine, skip) saying the same.
set -uo pipefail

say() { printf 'make test: %s\n' "$*" >&2; }
can_apt() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

postgres_up() {
    if command -v pg_isready >/dev/null; then
        pg_isready -q -h 127.0.0.1 -p 5432
    else
        (exec 3<>/dev/tcp/127.0.0.1/5432) 2>/dev/null
    fi
}

# A machine without PostgreSQL gets Debian's, its clusters trusting local TCP connections (for
# the tests: this is no production setup).
install_postgres() {
    say "installing PostgreSQL from Debian, trusting connections from 127.0.0.1 (tests only)"
    local log
    log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends postgresql; } >"$log" 2>&1; then
        tail -n 20 "$log" >&2
    fi
    rm -f "$log"
    for hba in /etc/postgresql/*/main/pg_hba.conf; do
        [ -f "$hba" ] || continue
        sed -i -E 's#^(host[[:space:]]+all[[:space:]]+all[[:space:]]+(127\.0\.0\.1/32|::1/128)[[:space:]]+)[^[:space:]]+#\1trust#' "$hba"
        pg_ctlcluster --skip-systemctl-redirect "$(basename "$(dirname "$(dirname "$hba")")")" main stop \
            >/dev/null 2>&1 || true  # started by the install with the old rules, if at all
    done
}

if ! postgres_up && ! [ -d /etc/postgresql ] && can_apt; then
    install_postgres
fi
if ! postgres_up; then
    if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
        for version in $(ls /etc/postgresql); do
            say "starting the local PostgreSQL $version cluster"
            pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
        done
        for _ in $(seq 1 30); do postgres_up && break; sleep 1; done
    fi
    postgres_up || say "MISSING: PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres), and no" \
        "local cluster could be started: the PostgreSQL audit store tests will fail"
fi

# Debian package -> the command it brings.
declare -A wanted=(
    [chromium]=/usr/bin/chromium
    [podman]=podman
    [runc]=runc
    [netavark]=/usr/lib/podman/netavark
    [aardvark-dns]=/usr/lib/podman/aardvark-dns
    [iptables]=iptables
    [debootstrap]=debootstrap
    [docker-compose]=docker-compose
)
missing=()
for package in "${!wanted[@]}"; do
    command -v "${wanted[$package]}" >/dev/null || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ] && can_apt; then
    say "installing Debian packages: ${missing[*]}"
    log=$(mktemp)
    if ! { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
        --no-install-recommends "${missing[@]}"; } >"$log" 2>&1; then
        tail -n 20 "$log" >&2
    fi
    rm -f "$log"
    missing=()
    for package in "${!wanted[@]}"; do
        command -v "${wanted[$package]}" >/dev/null || missing+=("$package")
    done
fi
for package in "${missing[@]}"; do
    case "$package" in
        chromium) say "MISSING: /usr/bin/chromium (apt-get install chromium): the console tests will fail" ;;
        *) say "MISSING: ${wanted[$package]} (Debian package $package): the container tests will skip" ;;
    esac
done
exit 0
