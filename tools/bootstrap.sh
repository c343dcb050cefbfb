#!/usr/bin/env bash
# Install what is missing on a Debian bookworm machine and start the services optloop uses.
#   tools/bootstrap.sh [--postgres]
# Idempotent: packages already installed and services already running are left alone.
set -euo pipefail
want_pg=0
[[ "${1:-}" == "--postgres" ]] && want_pg=1
SUDO=""
if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi

pkgs=(docker.io debootstrap clang-19 llvm-19)
((want_pg)) && pkgs+=(postgresql)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "bootstrap: installing ${missing[*]}"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
    echo "bootstrap: starting dockerd"
    $SUDO sh -c 'nohup dockerd >/var/log/optloop-dockerd.log 2>&1 &'
    for _ in $(seq 60); do docker info >/dev/null 2>&1 && break; sleep 1; done
    docker info >/dev/null 2>&1 || { echo "bootstrap: dockerd did not start (see /var/log/optloop-dockerd.log)"; exit 1; }
fi

if ((want_pg)); then
    ver=$(ls /usr/lib/postgresql | sort -n | tail -1)
    if ! pg_lsclusters -h 2>/dev/null | grep -q online; then
        echo "bootstrap: starting PostgreSQL $ver"
        $SUDO pg_ctlcluster "$ver" main start
    fi
    $SUDO su postgres -c "psql -tAc \"SELECT 1 FROM pg_roles WHERE rolname='optloop'\"" | grep -q 1 \
        || $SUDO su postgres -c "psql -qc \"CREATE ROLE optloop LOGIN SUPERUSER PASSWORD 'optloop'\""
    $SUDO su postgres -c "psql -tAc \"SELECT 1 FROM pg_database WHERE datname='optloop_test'\"" | grep -q 1 \
        || $SUDO su postgres -c "createdb -O optloop optloop_test"
fi
