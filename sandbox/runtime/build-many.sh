#!/bin/sh
# Build several candidates in parallel: build-many.sh ROOT STAGES TIMEOUT JOBS ID...
set -u
root=$1; stages=$2; limit=$3; jobs=$4; shift 4
here=$(dirname "$0")
printf '%s\n' "$@" | xargs -P "$jobs" -I '{}' sh "$here/build-one.sh" "$root" '{}' "$stages" "$limit"
