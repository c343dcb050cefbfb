"""The sandbox's vocabulary: objectives, statuses, candidates, limits, results."""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal


class Objective(StrEnum):
    """What is minimised.  Baselines follow CompilerGym's conventions."""

    INSTCOUNT = "instcount"  # LLVM IR instruction count after the pipeline
    SIZE = "size"  # bytes of .text in the object file
    RUNTIME = "runtime"  # median wall time of the linked program

    @property
    def baseline_pipeline(self) -> str:
        return "default<O3>" if self is Objective.RUNTIME else "default<Oz>"

    @property
    def metric(self) -> str:
        return {"instcount": "ir_instruction_count", "size": "text_size_bytes", "runtime": "runtime_s"}[
            self.value
        ]

    @property
    def stages(self) -> Literal["ir", "obj", "exe"]:
        """How far a candidate must be built to measure this objective."""
        return {"instcount": "ir", "size": "obj", "runtime": "exe"}[self.value]  # type: ignore[return-value]


class Status(StrEnum):
    """Every outcome of an evaluation maps to exactly one of these (the CLI contract)."""

    OK = "ok"
    COMPILE_ERROR = "compile_error"  # clang, llc or the linker failed (or opt crashed)
    INVALID_PIPELINE = "invalid_pipeline"  # opt rejected the pipeline text
    VERIFY_ERROR = "verify_error"  # the IR does not parse or does not verify
    TIMEOUT = "timeout"  # a step or the program ran past its wall-clock limit
    CRASHED = "crashed"  # the program died of a signal
    WRONG_OUTPUT = "wrong_output"  # the program printed something other than the reference
    OUTPUT_LIMIT = "output_limit"  # the program printed more than the cap
    RESOURCE_LIMIT = "resource_limit"  # memory or process limit hit
    SANDBOX_ERROR = "sandbox_error"  # the sandbox itself failed


@dataclass(frozen=True)
class Candidate:
    """One thing to evaluate: a pass pipeline for opt-19, or a whole IR module."""

    kind: Literal["passes", "ir"]
    text: str

    @classmethod
    def passes(cls, pipeline: str) -> Candidate:
        return cls("passes", pipeline.strip())

    @classmethod
    def ir(cls, module: str) -> Candidate:
        return cls("ir", module)

    @functools.cached_property
    def key(self) -> str:
        """Content hash: the same candidate is never evaluated twice (computed once: IR can be large)."""
        return hashlib.sha256(f"{self.kind}\0{self.text}".encode()).hexdigest()

    def short(self, width: int = 80) -> str:
        if self.kind == "ir":
            return f"<IR module, {len(self.text.splitlines())} lines>"
        return self.text if len(self.text) <= width else self.text[: width - 3] + "..."


@dataclass(frozen=True)
class Limits:
    """Limits for one evaluation.  Applied by both backends (the docker one adds cgroups)."""

    compile_timeout_s: float = 60.0  # each of opt, llc, link
    run_timeout_s: float = 10.0  # one run of the program
    memory_bytes: int = 2 << 30  # program address space / container memory
    output_bytes: int = 1 << 20  # captured stdout (and stderr) of a run
    processes: int = 64  # processes the program may fork (pids cgroup in docker)
    warmup_runs: int = 1
    timed_runs: int = 5


@dataclass
class Metrics:
    ir_instruction_count: int | None = None
    text_size_bytes: int | None = None
    runtime_s: float | None = None  # median of the timed runs
    runtime_spread_s: float | None = None  # max - min of the timed runs
    runtime_runs_s: list[float] = field(default_factory=list)
    max_rss_kb: int | None = None
    compile_s: float | None = None  # opt (+ llc + link) wall time in the sandbox

    def value(self, objective: Objective) -> float | None:
        v = getattr(self, objective.metric)
        return None if v is None else float(v)

    def as_dict(self) -> dict[str, Any]:
        return {
            "ir_instruction_count": self.ir_instruction_count,
            "text_size_bytes": self.text_size_bytes,
            "runtime_s": self.runtime_s,
            "max_rss_kb": self.max_rss_kb,
            "compile_s": self.compile_s,
        }


@dataclass
class EvalResult:
    candidate: Candidate
    objective: Objective
    status: Status
    metrics: Metrics = field(default_factory=Metrics)
    error: str | None = None  # the tool's own words, trimmed: feedback for the model
    output_checked: bool = False  # the program ran and its output matched the reference
    ir: str | None = None  # the optimized module (text), when it was produced
    cached: bool = False

    @property
    def ok(self) -> bool:
        return self.status is Status.OK

    @property
    def value(self) -> float | None:
        return self.metrics.value(self.objective) if self.ok else None

    def as_json(self) -> dict[str, Any]:
        return {
            "objective": self.objective.value,
            "value": self.value,
            "status": self.status.value,
            "error": self.error,
            "metrics": self.metrics.as_dict(),
        }


@dataclass(frozen=True)
class Reference:
    """What the -O0 build of the kernel printed: the truth candidates are checked against."""

    stdout: bytes
    stderr: bytes
    exit_code: int


class KernelError(Exception):
    """The kernel itself cannot be prepared (it does not compile, its reference run fails...)."""

    def __init__(self, status: Status, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


class SandboxError(Exception):
    """The sandbox cannot do its job (no engine, no image, a container died)."""
