"""How raw tool results become statuses: the cheap checks before the sandbox, opt's failures,
a program's run, and the difference from the reference output."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from .text import trim as _trim
from .types import Candidate, EvalResult, Limits, Objective, Reference, Status

if TYPE_CHECKING:
    from .engine import Prepared, _Run, _Step

MAX_IR_BYTES = 64 << 20
MAX_PIPELINE_CHARS = 1 << 20
MAX_PIPELINE_PASSES = 2000
_INLINE_ASM = re.compile(r"\basm\s+(?:sideeffect\s+|alignstack\s+|inteldialect\s+|unwind\s+)*\"|^module asm ", re.M)
_PIPELINE_ERRORS = ("unknown pass name", "unknown pipeline name", "unknown ", "invalid pipeline",
                    "pass parameter", "invalid use of", "expected ", "does not accept parameters", "invalid ",
                    "unable to parse")


def more(err: str) -> str:
    lines = err.strip().splitlines()
    return "\n" + _trim("\n".join(lines[1:]), 1500) if len(lines) > 1 else ""


def reject(cand: Candidate, objective: Objective, prepared: Prepared | None = None) -> EvalResult | None:
    """Cheap checks before anything reaches the sandbox."""
    if cand.kind == "passes":
        if not cand.text:
            return EvalResult(cand, objective, Status.INVALID_PIPELINE, error="empty pipeline")
        if len(cand.text) > MAX_PIPELINE_CHARS or "\n" in cand.text or "\0" in cand.text:
            return EvalResult(cand, objective, Status.INVALID_PIPELINE,
                              error="a pipeline is one line of at most 1 MiB")
        passes = cand.text.count(",") + 1
        if passes > MAX_PIPELINE_PASSES:
            return EvalResult(cand, objective, Status.INVALID_PIPELINE,
                              error=f"the pipeline has {passes} passes; the limit is {MAX_PIPELINE_PASSES}")
    elif cand.kind == "ir":
        if len(cand.text.encode()) > MAX_IR_BYTES:
            return EvalResult(cand, objective, Status.VERIFY_ERROR, error="IR module larger than 64 MiB")
        if "\0" in cand.text:
            return EvalResult(cand, objective, Status.VERIFY_ERROR, error="IR module contains NUL bytes")
        if _INLINE_ASM.search(cand.text) and not (prepared and _INLINE_ASM.search(prepared.ir)):
            # An asm blob counts as one instruction: a way to cheat instcount, and code we cannot check.
            return EvalResult(cand, objective, Status.VERIFY_ERROR,
                              error="inline assembly is not allowed in IR candidates (the kernel has none)")
    else:
        return EvalResult(cand, objective, Status.SANDBOX_ERROR, error=f"unknown candidate kind {cand.kind!r}")
    return None


def opt_failure(cand: Candidate, step: _Step, limits: Limits) -> tuple[Status, str]:
    err = _trim(step.err.replace("opt-19: ", ""))
    if step.rc in (124, 137):
        return Status.TIMEOUT, f"opt-19 ran past {limits.compile_timeout_s:g} s"
    if step.rc > 128 or "PLEASE submit a bug report" in step.err or "Stack dump" in step.err:
        return Status.COMPILE_ERROR, f"opt-19 crashed (exit {step.rc}): {err}"
    if cand.kind == "ir" or re.search(r"\.ll:\d+:\d+: error:", step.err):
        return Status.VERIFY_ERROR, err
    low = step.err.lower()
    if "llvm error:" in low and cand.kind == "passes":  # e.g. "LICM requires MemorySSA (loop-mssa)"
        return Status.INVALID_PIPELINE, err
    if "verif" in low or "broken module" in low:
        return Status.VERIFY_ERROR, err
    if any(p in low for p in _PIPELINE_ERRORS):
        return Status.INVALID_PIPELINE, err
    return Status.COMPILE_ERROR, f"opt-19 failed (exit {step.rc}): {err}"


def run_status(run: _Run, stderr: bytes, limits: Limits) -> Status | None:
    if run.timeout or run.signal == 24:  # SIGXCPU: the CPU-time limit
        return Status.TIMEOUT
    if run.outlimit or run.signal == 25:  # SIGXFSZ: the file-size limit
        return Status.OUTPUT_LIMIT
    if run.signal == 9:  # not ours (we set timeout/outlimit when we kill): the OOM killer
        return Status.RESOURCE_LIMIT
    low = stderr[-4096:].lower()
    if run.signal or run.exit == 127 and b"cannot execute" in low:
        if any(s in low for s in (b"cannot allocate memory", b"out of memory", b"bad_alloc",
                                  b"resource temporarily unavailable")):
            return Status.RESOURCE_LIMIT
        if run.exit == 127:
            return Status.SANDBOX_ERROR
        return Status.CRASHED
    if run.maxrss_kb * 1024 >= 0.95 * limits.memory_bytes:
        return Status.RESOURCE_LIMIT
    if run.exit != 0 and any(s in low for s in (b"resource temporarily unavailable", b"cannot allocate memory")):
        return Status.RESOURCE_LIMIT  # fork() or malloc() refused by a limit, and the program gave up
    return None


_SIGNALS = {4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE"}


def run_message(status: Status, run: _Run, stderr: bytes, limits: Limits) -> str:
    tail = _trim(stderr.decode(errors="replace"), 600)
    if status is Status.TIMEOUT:
        msg = f"the program ran past {limits.run_timeout_s:g} s and was killed"
    elif status is Status.OUTPUT_LIMIT:
        msg = f"the program printed more than {limits.output_bytes} bytes and was killed"
    elif status is Status.RESOURCE_LIMIT:
        msg = (f"the program hit a resource limit (memory {limits.memory_bytes >> 20} MiB, "
               f"{limits.processes} processes; max RSS {run.maxrss_kb} kB)")
    elif status is Status.CRASHED:
        msg = f"the program crashed with {_SIGNALS.get(run.signal, f'signal {run.signal}')}"
    else:
        msg = f"the program could not be started (exit {run.exit})"
    return f"{msg}: {tail}" if tail else msg


def output_diff(ref: Reference, stdout: bytes, exit_code: int) -> str:
    if exit_code != ref.exit_code:
        return f"exit code {exit_code}, expected {ref.exit_code}"
    a, b = ref.stdout.splitlines(), stdout.splitlines()
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return (f"output differs from the -O0 reference at line {i + 1}: expected "
                    f"{x[:200].decode(errors='replace')!r}, got {y[:200].decode(errors='replace')!r}")
    return f"output has {len(b)} lines, the -O0 reference has {len(a)}"
