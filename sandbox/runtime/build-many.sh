#!/bin/bash
# Build several candidates in parallel: build-many.sh ROOT INBOX STAGES TIMEOUT JOBS ID...
set -u
root=$1; inbox=$2; stages=$3; limit=$4; jobs=$5; shift 5
here=$(dirname "$0")
printf '%s\n' "$@" | xargs -P "$jobs" -I '{}' bash "$here/build-one.sh" "$root" "$inbox" '{}' "$stages" "$limit"
