#!/usr/bin/env bash
# Start the local PostgreSQL and Redis servers that the test suite talks to,
# unless they already answer on 127.0.0.1.
set -euo pipefail

port_open() {
    python3 - "$1" <<'PY'
import socket, sys
s = socket.socket()
s.settimeout(0.5)
sys.exit(0 if s.connect_ex(("127.0.0.1", int(sys.argv[1]))) == 0 else 1)
PY
}

wait_for_port() {
    for _ in $(seq 1 60); do
        port_open "$1" && return 0
        sleep 0.5
    done
    echo "service on 127.0.0.1:$1 did not start" >&2
    return 1
}

if ! port_open 5432; then
    if ! command -v pg_ctlcluster >/dev/null; then
        apt-get update -q && apt-get install -y -q postgresql
    fi
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start
    wait_for_port 5432
fi
psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='test'" \
    | grep -q 1 || psql -h 127.0.0.1 -U postgres -c "CREATE DATABASE test"

if ! port_open 6379; then
    if ! command -v redis-server >/dev/null; then
        apt-get update -q && apt-get install -y -q redis-server
    fi
    mkdir -p /var/lib/redis /var/log/redis
    redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
        --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    wait_for_port 6379
fi
