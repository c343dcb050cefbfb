"""optloop.sandbox: build, transform, measure and check C kernels in isolation.

Owns the kernel's build recipe, the toolchain (clang-19, opt-19, llc-19), the
containers, running, measuring and checking outputs.  Imports nothing else of optloop.
"""

from __future__ import annotations

from .engine import Prepared, Sandbox
from .kernel import Kernel
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

BACKENDS = ("docker", "local")


def open_sandbox(backend: str = "docker", limits: Limits | None = None, jobs: int | None = None,
                 quiet: bool = False) -> Sandbox:
    """Start a sandbox of the given backend ("docker" or "local")."""
    if backend == "docker":
        from .docker_backend import DockerSandbox

        return DockerSandbox(limits, jobs)
    if backend == "local":
        from .local_backend import LocalSandbox

        return LocalSandbox(limits, jobs, quiet=quiet)
    raise SandboxError(f"unknown sandbox backend {backend!r} (choose docker or local)")


__all__ = [
    "BACKENDS", "Candidate", "EvalResult", "Kernel", "KernelError", "Limits", "Metrics", "Objective",
    "Prepared", "Reference", "Sandbox", "SandboxError", "Status", "open_sandbox",
]
