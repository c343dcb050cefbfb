#!/bin/sh
# Prepare a kernel inside the sandbox.  Trusted code shipped by optloop.
#
#   prepare.sh ROOT TIMEOUT
#
# ROOT/src/ holds the kernel's tree; ROOT/sources lists the translation units
# and ROOT/flags the clang flags, one per line (read into argument lists, so
# nothing in them is interpreted by the shell).  Produces ROOT/input.ll (the
# unoptimized module: clang -O0 -Xclang -disable-O0-optnone, linked with
# llvm-link) and ROOT/ref (the -O0 reference build).  Each step's exit code,
# wall time and trimmed stderr go to ROOT/prep/.
set -u
root=$1; limit=$2
LC_ALL=C; export LC_ALL
mkdir -p "$root/prep" "$root/irs"
: > "$root/prep/steps"

step() {
    name=$1; shift
    t0=$(date +%s%N)
    ( cd "$root/src" && timeout -k 1 "$limit" "$@" ) 2> "$root/prep/$name.err"
    rc=$?
    t1=$(date +%s%N)
    echo "$name rc=$rc ns=$((t1 - t0))" >> "$root/prep/steps"
    if [ -s "$root/prep/$name.err" ]; then
        head -c 8192 "$root/prep/$name.err" > "$root/prep/$name.t" && mv "$root/prep/$name.t" "$root/prep/$name.err"
    fi
    return $rc
}

# The flags, as positional parameters.
set --
while IFS= read -r f; do set -- "$@" "$f"; done < "$root/flags"

n=0
while IFS= read -r src; do
    n=$((n + 1))
    step "clang$n" clang-19 -O0 -Xclang -disable-O0-optnone -emit-llvm -S -c "$src" -o "$root/irs/$n.ll" "$@" || exit 0
done < "$root/sources"

if [ "$n" -eq 1 ]; then
    cp "$root/irs/1.ll" "$root/input.ll"
else
    step link-ir sh -c 'exec llvm-link-19 -S -o "$0/input.ll" "$0"/irs/*.ll' "$root" || exit 0
fi

# The reference build, from the sources at -O0, only if there is a main().
if grep -q '^define .*@main(' "$root/input.ll"; then
    set --
    while IFS= read -r src; do set -- "$@" "$src"; done < "$root/sources"
    while IFS= read -r f; do set -- "$@" "$f"; done < "$root/flags"
    step ref clang-19 -O0 -fuse-ld=bfd -o "$root/ref" "$@" -lm || exit 0
fi
exit 0
