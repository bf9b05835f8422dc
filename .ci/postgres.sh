#!/usr/bin/env bash
# A throw-away PostgreSQL server on loopback for the LeNetSearchCV storage tests.
#
#   .ci/postgres.sh start   installs Debian's postgresql if missing (as root),
#                           starts a fresh server on 127.0.0.1 and a free port,
#                           creates a role and a database and prints their URL
#                           (postgresql://sklenet:PASSWORD@127.0.0.1:PORT/sklenet);
#                           a second start prints the running server's URL.
#   .ci/postgres.sh stop    stops the server and deletes its data (no error
#                           when none runs).
#
# Usage in CI:
#   trap '.ci/postgres.sh stop' EXIT
#   SKLENET_TEST_POSTGRES_URL="$(.ci/postgres.sh start)"
#   export SKLENET_TEST_POSTGRES_URL
#
# The server, its socket and its data live in $SKLENET_POSTGRES_DIR
# (default /tmp/sklenet-postgres); it listens on 127.0.0.1 only.
set -euo pipefail

ROOT="${SKLENET_POSTGRES_DIR:-/tmp/sklenet-postgres}"
DATA="$ROOT/data"

log() { echo "postgres.sh: $*" >&2; }

# Run a PostgreSQL program as the postgres user when root (initdb refuses
# root), as the current user otherwise.
as_postgres() {
    if [ "$(id -u)" = 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

bindir() {
    local dir
    dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    if [ -z "$dir" ] && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "installing postgresql with apt-get"
        apt-get update -qq >&2
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
        dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
    fi
    if [ -z "$dir" ]; then
        log "PostgreSQL is not installed (apt-get install postgresql, as root)"
        exit 1
    fi
    echo "$dir"
}

start() {
    local bin port password
    bin="$(bindir)"
    if [ -f "$ROOT/url" ] && as_postgres "$bin/pg_ctl" -D "$DATA" status >/dev/null 2>&1
    then
        cat "$ROOT/url"
        return
    fi
    stop
    mkdir -p "$ROOT"
    chmod 700 "$ROOT"
    if [ "$(id -u)" = 0 ]; then
        chown postgres:postgres "$ROOT"
    fi
    port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    password="$(python3 -c 'import secrets; print(secrets.token_hex(16))')"
    as_postgres "$bin/initdb" -D "$DATA" --username=postgres --auth-local=trust \
        --auth-host=scram-sha-256 --encoding=UTF8 >/dev/null
    as_postgres "$bin/pg_ctl" -D "$DATA" -l "$ROOT/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$ROOT" \
        start >/dev/null
    as_postgres "$bin/psql" -h "$ROOT" -p "$port" -U postgres -q -v ON_ERROR_STOP=1 \
        -c "CREATE ROLE sklenet LOGIN PASSWORD '$password'" \
        -c "CREATE DATABASE sklenet OWNER sklenet" >/dev/null
    echo "postgresql://sklenet:$password@127.0.0.1:$port/sklenet" > "$ROOT/url"
    chmod 600 "$ROOT/url"
    log "started $("$bin/postgres" --version) on 127.0.0.1:$port"
    cat "$ROOT/url"
}

stop() {
    local bin
    if [ -d "$DATA" ]; then
        bin="$(bindir)"
        as_postgres "$bin/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$ROOT"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    *) echo "usage: $0 start|stop" >&2; exit 2 ;;
esac
