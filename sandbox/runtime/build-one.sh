#!/bin/sh
# Build one candidate inside the sandbox.  Trusted code shipped by optloop.
#
#   build-one.sh ROOT ID STAGES TIMEOUT
#
# ROOT holds input.ll (the kernel's unoptimized module) and c/ID/, which holds
# either `pipeline` (a new-pass-manager pipeline for opt, read from the file so
# the shell never interprets it) or `cand.ll` (a whole module).  STAGES is
# `ir`, `obj` or `exe`: how far to build.  Every step runs under `timeout`; the
# step's exit code, wall time and trimmed stderr land in c/ID/.  The host reads
# the files and decides the status.
set -u
root=$1; id=$2; stages=$3; limit=$4
d="$root/c/$id"
cd "$d" || exit 1
LC_ALL=C; export LC_ALL

step() {  # step NAME CMD...: run CMD with a time limit, record rc and seconds
    name=$1; shift
    t0=$(date +%s%N)
    timeout -k 1 "$limit" "$@" 2> "$name.err"
    rc=$?
    t1=$(date +%s%N)
    echo "$name rc=$rc ns=$((t1 - t0))" >> steps
    # Keep the head of what the tool said: it becomes feedback for the model.
    if [ -s "$name.err" ]; then head -c 8192 "$name.err" > "$name.err.t" && mv "$name.err.t" "$name.err"; fi
    return $rc
}

: > steps
if [ -f pipeline ]; then
    step opt opt-19 "-passes=$(cat pipeline)" "$root/input.ll" -S -o out.ll || exit 0
else
    step opt opt-19 -passes=verify cand.ll -S -o out.ll || exit 0
fi
[ "$stages" = ir ] && exit 0
step llc llc-19 -O2 -relocation-model=pic -filetype=obj out.ll -o out.o || exit 0
[ "$stages" = obj ] && exit 0
step link clang-19 -fuse-ld=bfd out.o -o prog -lm || exit 0
exit 0
