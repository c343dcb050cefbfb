"""Prepare and evaluate kernels through a sandbox: the host side of the recipe.

Both backends share this code; they differ only in how a command runs
(`_exec`) and where the shared directory is seen from inside.  The layout of
the shared directory (`root` on the host, `inside(...)` in the sandbox):

    inbox/   written by the host only: kernel trees, candidates, the runtime scripts
    w/       written by the build user only: input.ll, built candidates, the runner
    runs/    written by the run user only: what each program printed

In the docker backend the build and the program run as different users, so a
program can neither alter the kernel's module nor another candidate's build.
"""

from __future__ import annotations

import importlib.resources
import os
import re
import shutil
import statistics
import tempfile
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from .ir import count_instructions, text_size
from .kernel import Kernel
from .outcome import more, opt_failure, output_diff, reject, run_message, run_status
from .text import trim
from .types import (
    Candidate,
    EvalResult,
    KernelError,
    Limits,
    Metrics,
    Objective,
    Reference,
    SandboxError,
    Status,
)

_RUN_LINE = re.compile(
    r"run=(-?\d+) exit=(-?\d+) signal=(\d+) wall_s=([\d.]+) maxrss_kb=(\d+) timeout=(\d) outlimit=(\d)"
)
_MAIN = re.compile(r"^define [^@\n]*@main\(", re.M)
_MODULE_ID = re.compile(r"^; ModuleID = '[^'\n]*'", re.M)  # opt writes its input's path: sandbox noise


class Sandbox(Protocol):
    """What the agent needs from a sandbox; `docker` and `local` implement it."""

    backend: str
    limits: Limits

    def prepare(self, kernel: Kernel) -> Prepared: ...

    def evaluate(
        self,
        prepared: Prepared,
        candidates: Sequence[Candidate],
        objective: Objective,
        check_output: bool | None = None,
    ) -> list[EvalResult]: ...

    def toolchain(self) -> str: ...

    def close(self) -> None: ...


@dataclass
class Prepared:
    """A kernel compiled to unoptimized IR, with its reference output."""

    kernel: Kernel
    kernel_hash: str
    ir: str  # the unoptimized, linked module
    ir_instruction_count: int
    has_main: bool
    reference: Reference | None  # None when there is no main()
    reference_runtime_s: float | None = None
    prepare_s: float = 0.0
    toolchain: str = ""
    _dir: str = field(default="", repr=False)


@dataclass
class _Step:
    rc: int
    seconds: float
    err: str


@dataclass
class _Run:
    index: int
    exit: int
    signal: int
    wall_s: float
    maxrss_kb: int
    timeout: bool
    outlimit: bool


def _runtime_file(name: str) -> bytes:
    return importlib.resources.files("optloop.sandbox").joinpath("runtime", name).read_bytes()


RUNTIME_FILES = ("optloop-run.c", "prepare.sh", "build-one.sh", "build-many.sh")


class ScriptSandbox(ABC):
    """The shared recipe.  Subclasses provide `_exec` and `inside`."""

    backend = "abstract"

    def __init__(self, limits: Limits | None = None, jobs: int | None = None, workdir: str | None = None):
        self.limits = limits or Limits()
        self.jobs = max(1, jobs or os.cpu_count() or 1)
        self.root = Path(tempfile.mkdtemp(prefix="optloop-", dir=workdir))
        self._toolchain: str | None = None
        self._closed = False

    # -- what a backend provides -------------------------------------------------------
    @abstractmethod
    def _exec(self, argv: list[str], timeout_s: float, user: str = "build") -> tuple[int, bytes, bytes]:
        """Run argv in the sandbox; `user` is "build" or "run".  Returns (rc, stdout, stderr)."""

    @abstractmethod
    def inside(self, rel: str) -> str:
        """The path, as the sandbox sees it, of `rel` under the shared directory."""

    # -- set-up -------------------------------------------------------------------------
    def _install_runtime(self) -> None:
        """Ship the scripts and build the runner inside the sandbox (once per sandbox)."""
        for d in ("inbox/k", "inbox/c", "inbox/rt"):
            (self.root / d).mkdir(parents=True, exist_ok=True)
        runs = self.root / "runs"
        runs.mkdir(exist_ok=True)
        runs.chmod(0o1777)
        self.root.chmod(0o1777)
        for name in RUNTIME_FILES:
            (self.root / "inbox/rt" / name).write_bytes(_runtime_file(name))
        w, rt = self.inside("w"), self.inside("inbox/rt")
        script = (
            f'set -e; mkdir -p "{w}/k" "{w}/c" "{w}/bin"; cp "{rt}"/*.sh "{w}/bin/"; '
            f'clang-19 -O2 -w -o "{w}/bin/optloop-run" "{rt}/optloop-run.c"'
        )
        rc, out, err = self._exec(["sh", "-c", script], 120)
        if rc != 0:
            raise SandboxError(f"could not install the runtime in the {self.backend} sandbox: "
                               f"{trim((out + err).decode(errors='replace'), 400)}")

    def toolchain(self) -> str:
        if self._toolchain is None:
            rc, out, err = self._exec(["opt-19", "--version"], 30)
            m = re.search(r"LLVM version ([\w.+~-]+)", out.decode(errors="replace"))
            if rc != 0 or not m:
                raise SandboxError(f"opt-19 is not usable in the {self.backend} sandbox: "
                                   f"{trim(err.decode(errors='replace'), 300)}")
            self._toolchain = f"llvm-{m.group(1)}"
        return self._toolchain

    # -- reading what the scripts left ----------------------------------------------------
    def _steps(self, rel: str) -> dict[str, _Step]:
        """Parse a `steps` file: one line per tool call with its rc and nanoseconds."""
        steps: dict[str, _Step] = {}
        path = self.root / rel
        try:
            lines = (path / "steps").read_text().splitlines()
        except FileNotFoundError:
            return steps
        for line in lines:
            m = re.match(r"(\S+) rc=(-?\d+) ns=(-?\d+)", line)
            if m:
                name = m.group(1)
                err_path = path / f"{name}.err"
                err = err_path.read_text(errors="replace") if err_path.exists() else ""
                steps[name] = _Step(int(m.group(2)), int(m.group(3)) / 1e9, err)
        return steps

    def _run(self, program: str, tag: str, warmup: int, runs: int) -> tuple[list[_Run], bytes, bytes, str]:
        """Run a built program through optloop-run as the run user."""
        lim = self.limits
        out_dir = self.root / "runs" / tag
        if out_dir.exists():
            shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir(parents=True)
        out_dir.chmod(0o777)
        inside_out = self.inside(f"runs/{tag}")
        argv = [
            self.inside("w/bin/optloop-run"), "-t", f"{lim.run_timeout_s}", "-o", str(lim.output_bytes),
            "-m", str(lim.memory_bytes), "-p", str(lim.processes),
            "-w", str(warmup), "-n", str(runs), "-O", f"{inside_out}/stdout", "-E", f"{inside_out}/stderr",
            "--", program,
        ]
        budget = (lim.run_timeout_s + 2) * (warmup + runs) + 30
        try:
            rc, out, err = self._exec(argv, budget, user="run")
        finally:
            self._reap()
        text = out.decode(errors="replace")
        parsed = [
            _Run(int(m[1]), int(m[2]), int(m[3]), float(m[4]), int(m[5]), m[6] == "1", m[7] == "1")
            for m in _RUN_LINE.finditer(text)
        ]
        if rc != 0 or not parsed:
            raise SandboxError(f"the runner failed (rc={rc}): {trim((text + err.decode(errors='replace')), 400)}")

        def read(name: str) -> bytes:
            p = out_dir / name
            return p.read_bytes()[: lim.output_bytes] if p.exists() else b""

        return parsed, read("stdout"), read("stderr"), text

    def _reap(self) -> None:  # noqa: B027 - a hook; the local backend has no separate user to sweep
        """Kill whatever a program left running (children that escaped its process group)."""

    # -- prepare --------------------------------------------------------------------------
    def prepare(self, kernel: Kernel) -> Prepared:
        khash = kernel.content_hash
        kid = khash[:20]
        inbox = self.root / "inbox/k" / kid
        if inbox.exists():
            shutil.rmtree(inbox)
        for rel, data in kernel.files.items():
            dest = inbox / "src" / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            dest.write_bytes(data)
        (inbox / "sources").write_text("".join(s + "\n" for s in kernel.sources))
        (inbox / "flags").write_text("".join(f + "\n" for f in kernel.clang_args()))
        (inbox / "src").mkdir(exist_ok=True)
        wk = self.inside(f"w/k/{kid}")
        script = (
            f'set -e; rm -rf "{wk}"; mkdir -p "{wk}"; cp -R "{self.inside(f"inbox/k/{kid}")}/." "{wk}/"; '
            f'exec sh "{self.inside("w/bin/prepare.sh")}" "{wk}" "{self.limits.compile_timeout_s}"'
        )
        n = len(kernel.sources)
        rc, out, err = self._exec(["sh", "-c", script], self.limits.compile_timeout_s * (n + 3) + 30)
        if rc != 0:
            raise SandboxError(f"prepare failed in the sandbox: {trim((out + err).decode(errors='replace'), 400)}")
        steps = self._steps(f"w/k/{kid}/prep")
        total_s = sum(s.seconds for s in steps.values())
        for name, step in steps.items():
            if step.rc == 0:
                continue
            what = {"ref": "the -O0 reference build", "link-ir": "llvm-link-19"}.get(name, "clang-19")
            if step.rc in (124, 137):
                raise KernelError(Status.TIMEOUT, f"{what} ran past {self.limits.compile_timeout_s:g} s")
            first = step.err.strip().splitlines()[0] if step.err.strip() else f"exit code {step.rc}"
            raise KernelError(Status.COMPILE_ERROR, f"{what} failed: {first}" + more(step.err))
        input_ll = self.root / "w/k" / kid / "input.ll"
        if not input_ll.exists():
            raise SandboxError("prepare produced no input.ll")
        ir = input_ll.read_text(errors="replace")
        if not re.search(r"^define ", ir, re.M):
            raise KernelError(Status.COMPILE_ERROR, "the kernel defines no functions: nothing to optimize")
        has_main = bool(_MAIN.search(ir))
        reference = None
        ref_runtime = None
        if has_main:
            runs, stdout, stderr, _ = self._run(self.inside(f"w/k/{kid}/ref"), f"ref-{kid}", 0, 1)
            last = runs[-1]
            status = run_status(last, stderr, self.limits)
            if status is not None:
                raise KernelError(status, f"the -O0 reference run: {run_message(status, last, stderr, self.limits)}")
            reference = Reference(stdout=stdout, stderr=stderr, exit_code=last.exit)
            ref_runtime = last.wall_s
        return Prepared(
            kernel=kernel, kernel_hash=khash, ir=ir, ir_instruction_count=count_instructions(ir),
            has_main=has_main, reference=reference, reference_runtime_s=ref_runtime, prepare_s=total_s,
            toolchain=self.toolchain(), _dir=kid,
        )

    # -- evaluate -------------------------------------------------------------------------
    def evaluate(
        self,
        prepared: Prepared,
        candidates: Sequence[Candidate],
        objective: Objective,
        check_output: bool | None = None,
    ) -> list[EvalResult]:
        """Evaluate candidates: built in parallel, run one at a time (timings stay honest)."""
        objective = Objective(objective)
        if check_output is None:
            check_output = objective is Objective.RUNTIME
        if objective is Objective.RUNTIME and not prepared.has_main:
            raise KernelError(Status.COMPILE_ERROR, "the runtime objective needs a main() in the kernel")
        check_output = check_output and prepared.has_main
        stages = "exe" if (check_output or objective is Objective.RUNTIME) else objective.stages

        unique: dict[str, Candidate] = {}
        results: dict[str, EvalResult] = {}
        for cand in candidates:
            if cand.key in unique or cand.key in results:
                continue
            rejected = reject(cand, objective, prepared)
            if rejected:
                results[cand.key] = rejected
            else:
                unique[cand.key] = cand

        kid = prepared._dir
        ids = {}
        for key, cand in unique.items():
            cid = f"{kid[:8]}-{key[:16]}-{stages}"
            ids[key] = cid
            box = self.root / "inbox/c" / cid
            box.mkdir(parents=True, exist_ok=True)
            if cand.kind == "passes":
                (box / "pipeline").write_text(cand.text + "\n")
            else:
                (box / "cand.ll").write_text(cand.text)
        if unique:
            rounds = -(-len(unique) // self.jobs)
            budget = (self.limits.compile_timeout_s + 2) * 3 * rounds + 60
            rc, out, err = self._exec(
                ["bash", self.inside("w/bin/build-many.sh"), self.inside(f"w/k/{kid}"), self.inside("inbox/c"),
                 stages, f"{self.limits.compile_timeout_s:g}", str(self.jobs), *ids.values()],
                budget,
            )
            if rc != 0:
                detail = trim((out + err).decode(errors="replace"), 400)
                msg = f"the build step failed in the sandbox (rc={rc}): {detail}"
                for key, cand in unique.items():
                    results[key] = EvalResult(cand, objective, Status.SANDBOX_ERROR, error=msg)
                unique = {}
        for key, cand in unique.items():
            cid = ids[key]
            results[key] = self._read_build(prepared, cand, objective, f"w/k/{kid}/c/{cid}", stages)
            shutil.rmtree(self.root / "inbox/c" / cid, ignore_errors=True)
            res = results[key]
            if res.ok and stages == "exe":
                self._measure(prepared, res, objective, self.inside(f"w/k/{kid}/c/{cid}/prog"), cid)
        return [results[c.key] for c in candidates]

    def _read_build(self, prepared: Prepared, cand: Candidate, objective: Objective, rel: str,
                    stages: str) -> EvalResult:
        steps = self._steps(rel)
        metrics = Metrics(compile_s=round(sum(s.seconds for s in steps.values()), 6) or None)
        res = EvalResult(cand, objective, Status.OK, metrics)
        opt = steps.get("opt")
        if opt is None:
            res.status, res.error = Status.SANDBOX_ERROR, "the build script did not run opt"
            return res
        if opt.rc != 0:
            res.status, res.error = opt_failure(cand, opt, self.limits)
            return res
        out_ll = self.root / rel / "out.ll"
        res.ir = _MODULE_ID.sub("; ModuleID = 'optimized.ll'", out_ll.read_text(errors="replace"), count=1)
        metrics.ir_instruction_count = count_instructions(res.ir)
        if stages == "ir":
            return res
        for name, tool in (("llc", "llc-19"), ("link", "the linker")):
            step = steps.get(name)
            if step is None:
                if name == "llc" or stages == "exe":
                    res.status, res.error = Status.SANDBOX_ERROR, f"the build script did not run {tool}"
                    return res
                break
            if step.rc in (124, 137):
                res.status, res.error = Status.TIMEOUT, f"{tool} ran past {self.limits.compile_timeout_s:g} s"
                return res
            if step.rc != 0:
                res.status, res.error = Status.COMPILE_ERROR, f"{tool} failed (exit {step.rc}): {trim(step.err)}"
                return res
            if name == "llc":
                try:
                    metrics.text_size_bytes = text_size((self.root / rel / "out.o").read_bytes())
                except (OSError, ValueError) as e:
                    res.status, res.error = Status.SANDBOX_ERROR, f"cannot read the object file: {e}"
                    return res
            if stages == "obj":
                break
        return res

    def _measure(self, prepared: Prepared, res: EvalResult, objective: Objective, program: str, cid: str) -> None:
        lim = self.limits
        timing = objective is Objective.RUNTIME
        runs, stdout, stderr, _ = self._run(
            program, cid, lim.warmup_runs if timing else 0, lim.timed_runs if timing else 1
        )
        last = runs[-1]
        res.metrics.max_rss_kb = max(r.maxrss_kb for r in runs)
        status = run_status(last, stderr, lim)
        if status is not None:
            res.status, res.error = status, run_message(status, last, stderr, lim)
            return
        ref = prepared.reference
        assert ref is not None
        if last.exit != ref.exit_code or stdout != ref.stdout:
            res.status = Status.WRONG_OUTPUT
            res.error = output_diff(ref, stdout, last.exit)
            return
        res.output_checked = True
        timed = [r.wall_s for r in runs if r.index >= 0]
        if timed:
            res.metrics.runtime_s = statistics.median(timed)
            res.metrics.runtime_spread_s = max(timed) - min(timed)
            res.metrics.runtime_runs_s = timed

    # -- clean-up -------------------------------------------------------------------------
    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._teardown()
        shutil.rmtree(self.root, ignore_errors=True)

    def _teardown(self) -> None:  # noqa: B027 - optional hook
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()
