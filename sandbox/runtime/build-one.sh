#!/bin/bash
# Build one candidate inside the sandbox.  Trusted code shipped by optloop.
#
#   build-one.sh ROOT INBOX ID STAGES TIMEOUT
#
# INBOX/ID holds either `pipeline` (a new-pass-manager pipeline for opt, read from the
# file so the shell never interprets it) or `cand.ll` (a whole module); the build goes
# to ROOT/c/ID.  STAGES is `ir`, `obj` or `exe`: how far to build.  Every step runs
# under `timeout`; the step's exit code, wall time and trimmed stderr land in ROOT/c/ID.
# The host reads the files and decides the status.  bash's EPOCHREALTIME times a step
# without forking: a handful of processes per candidate is what the sandbox costs.
set -u
root=$1; inbox=$2; id=$3; stages=$4; limit=$5
d="$root/c/$id"
[ -e "$d" ] && rm -rf "$d"
mkdir -p "$d" && cd "$d" || exit 1
LC_ALL=C; export LC_ALL

step() {  # step NAME CMD...: run CMD with a time limit, record rc and nanoseconds
    local name=$1 t0 t1 rc
    shift
    t0=$EPOCHREALTIME
    timeout -k 1 "$limit" "$@" 2> "$name.err"
    rc=$?
    t1=$EPOCHREALTIME
    echo "$name rc=$rc ns=$(( (${t1/[.,]/} - ${t0/[.,]/}) * 1000 ))" >> steps
    # Keep the head of what the tool said: it becomes feedback for the model.
    if [ -s "$name.err" ] && [ "$(stat -c %s "$name.err")" -gt 8192 ]; then
        head -c 8192 "$name.err" > "$name.err.t" && mv "$name.err.t" "$name.err"
    fi
    return $rc
}

: > steps
if [ -f "$inbox/$id/pipeline" ]; then
    pipeline=$(< "$inbox/$id/pipeline")
    step opt opt-19 "-passes=$pipeline" "$root/input.ll" -S -o out.ll || exit 0
else
    step opt opt-19 -passes=verify "$inbox/$id/cand.ll" -S -o out.ll || exit 0
fi
[ "$stages" = ir ] && exit 0
step llc llc-19 -O2 -relocation-model=pic -filetype=obj out.ll -o out.o || exit 0
[ "$stages" = obj ] && exit 0
step link clang-19 -fuse-ld=bfd out.o -o prog -lm || exit 0
exit 0
