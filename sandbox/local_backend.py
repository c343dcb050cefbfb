"""The local backend: the same recipe as subprocesses with rlimits in a temporary directory.

For machines without Docker.  The isolation is much weaker than the docker
backend's: the program runs as the calling user, with the host's file system and
network in reach; only time, memory, output and core dumps are limited.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys

from .engine import ScriptSandbox
from .types import Limits, SandboxError

TOOLS = ("clang-19", "opt-19", "llc-19", "llvm-link-19")
WARNING = ("optloop: the local sandbox runs kernels as your user with no container: "
           "weak isolation, use --sandbox docker for code you do not trust")


class LocalSandbox(ScriptSandbox):
    backend = "local"

    def __init__(self, limits: Limits | None = None, jobs: int | None = None, quiet: bool = False):
        missing = [t for t in TOOLS if shutil.which(t) is None]
        if missing:
            raise SandboxError(f"the local sandbox needs {', '.join(missing)} on PATH "
                               "(Debian: apt-get install clang-19 llvm-19)")
        if not quiet:
            print(WARNING, file=sys.stderr)
        super().__init__(limits, jobs)
        self._install_runtime()

    def inside(self, rel: str) -> str:
        return str(self.root / rel)

    def _exec(self, argv: list[str], timeout_s: float, user: str = "build") -> tuple[int, bytes, bytes]:
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C", "HOME": str(self.root)}
        proc = subprocess.Popen(argv, cwd=self.root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            out, err = proc.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            return 124, out, err + b"\n[optloop: sandbox command ran past its limit]"
        return proc.returncode, out, err
