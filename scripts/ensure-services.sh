#!/usr/bin/env bash
# Makes sure PostgreSQL answers on 127.0.0.1:5432 and Redis on 127.0.0.1:6379, for the scaled mode
# and its tests. Installs them with apt when absent and starts them without systemd (containers and
# CI machines have none). An existing installation's authentication is left alone; a fresh one gets
# `trust` for loopback connections so tests can connect as `postgres` without a password.
set -euo pipefail

PG_PORT=5432
REDIS_PORT=${MCCS_REDIS_PORT:-6379}
WAIT_SECONDS=${MCCS_SERVICE_WAIT_SECONDS:-30}

if [[ $(id -u) -eq 0 ]]; then
  SUDO=()
elif command -v sudo >/dev/null 2>&1; then
  SUDO=(sudo)
else
  echo "error: not root and sudo is not installed; run this script as root" >&2
  exit 1
fi

APT_UPDATED=0
apt_install() {
  if [[ $APT_UPDATED -eq 0 ]]; then
    "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update
    APT_UPDATED=1
  fi
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get -o DPkg::Lock::Timeout=600 -y --no-install-recommends install "$@"
}

port_open() { # host port
  timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null
}

pg_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p "$PG_PORT"
  else
    port_open 127.0.0.1 "$PG_PORT"
  fi
}

redis_ready() {
  if command -v redis-cli >/dev/null 2>&1; then
    [[ $(redis-cli -h 127.0.0.1 -p "$REDIS_PORT" ping 2>/dev/null) == PONG ]]
  else
    port_open 127.0.0.1 "$REDIS_PORT"
  fi
}

wait_for() { # name check-function
  local deadline=$((SECONDS + WAIT_SECONDS))
  until "$2"; do
    if ((SECONDS >= deadline)); then
      echo "error: $1 did not answer within ${WAIT_SECONDS}s" >&2
      return 1
    fi
    sleep 0.5
  done
  echo "$1 is ready"
}

# ---- PostgreSQL ----------------------------------------------------------------------------------
pg_version() { ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1; }

if pg_ready; then
  echo "PostgreSQL already answers on 127.0.0.1:$PG_PORT"
else
  fresh=0
  if [[ -z $(pg_version) ]]; then
    echo "installing PostgreSQL"
    apt_install postgresql
    fresh=1
  fi
  version=$(pg_version)
  [[ -n $version ]] || { echo "error: no cluster under /etc/postgresql after installing" >&2; exit 1; }
  if [[ $fresh -eq 1 ]]; then
    # Loopback only; remote hosts keep the packaged default (scram-sha-256).
    hba=/etc/postgresql/$version/main/pg_hba.conf
    "${SUDO[@]}" sed -i -E 's#^(host[[:space:]]+all[[:space:]]+all[[:space:]]+(127\.0\.0\.1/32|::1/128)[[:space:]]+)[^[:space:]]+#\1trust#' "$hba"
    echo "set trust authentication for loopback in $hba"
  fi
  # The package's own start may have raced the pg_hba edit: reload if running, start otherwise.
  if "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main status >/dev/null 2>&1; then
    "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  else
    echo "starting PostgreSQL $version"
    "${SUDO[@]}" pg_ctlcluster --skip-systemctl-redirect "$version" main start
  fi
fi
wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" pg_ready

# ---- Redis ---------------------------------------------------------------------------------------
if redis_ready; then
  echo "Redis already answers on 127.0.0.1:$REDIS_PORT"
else
  if ! command -v redis-server >/dev/null 2>&1; then
    echo "installing Redis"
    apt_install redis-server
  fi
  # The package may have started its own instance meanwhile.
  if ! redis_ready; then
    echo "starting Redis on 127.0.0.1:$REDIS_PORT"
    # No persistence: Redis holds what can be rebuilt from the database (docs/decisions.md).
    "${SUDO[@]}" redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" --appendonly no
  fi
fi
wait_for "Redis on 127.0.0.1:$REDIS_PORT" redis_ready
