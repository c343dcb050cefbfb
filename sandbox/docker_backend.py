"""The docker backend: one warm, locked-down container per sandbox, reused for every evaluation.

Starting a container costs about a second, so a sandbox starts one and runs every
step through `exec` (tens of milliseconds).  The container has no network, a
read-only root, a private /tmp, only the shared work directory mounted, no
capabilities, no new privileges, and limits on memory, processes and CPU.  Builds
run as user 65534 and programs as 65533, so a program cannot touch the builds.
"""

from __future__ import annotations

import os

from .engine import ScriptSandbox
from .image import LABEL, image_exists, image_tag, remove_containers, stale_containers
from .types import Limits, SandboxError

BUILD_USER = "65534:65534"
RUN_USER = "65533:65533"
TOOLCHAIN_MEMORY = 2 << 30  # on top of the program's limit, for opt/llc on large modules


def docker_client():
    try:
        import docker
        import docker.errors
    except ImportError as e:  # pragma: no cover - a declared dependency
        raise SandboxError(f"the docker backend needs docker-py: {e}") from e
    try:
        client = docker.from_env(timeout=120)
        client.ping()
    except Exception as e:  # noqa: BLE001 - whatever docker-py raises, the message is the same
        raise SandboxError(
            "cannot reach the Docker engine (is dockerd running? `optloop setup` starts it); "
            "or use --sandbox local"
        ) from e
    return client


class DockerSandbox(ScriptSandbox):
    backend = "docker"

    def __init__(self, limits: Limits | None = None, jobs: int | None = None, image: str | None = None):
        client = docker_client()
        tag = image or image_tag()
        if not image_exists(client, tag):
            raise SandboxError(f"the sandbox image {tag} is not built: run `optloop setup`")
        remove_containers(stale_containers(client))  # left behind by a killed agent
        super().__init__(limits, jobs)
        self.client = client
        self.image = tag
        mem = self.limits.memory_bytes + TOOLCHAIN_MEMORY
        try:
            self.container = client.containers.run(
                tag,
                ["sleep", "infinity"],
                detach=True,
                init=True,  # reaps orphans of killed programs
                labels={LABEL: "1", "optloop.pid": str(os.getpid()), "optloop.host": os.uname().nodename},
                network_disabled=True,
                read_only=True,
                tmpfs={"/tmp": "rw,exec,nosuid,size=512m"},
                volumes={str(self.root): {"bind": "/work", "mode": "rw"}},
                working_dir="/work",
                user=BUILD_USER,
                mem_limit=mem,
                memswap_limit=mem,
                pids_limit=max(64, self.limits.processes * 2 + 8 * self.jobs),
                nano_cpus=int(self.jobs * 1e9),
                security_opt=["no-new-privileges"],
                cap_drop=["ALL"],
                environment={"LC_ALL": "C", "HOME": "/tmp"},
            )
        except Exception as e:
            self.close()
            raise SandboxError(f"cannot start the sandbox container: {e}") from e
        try:
            self._install_runtime()
        except BaseException:
            self.close()
            raise

    def inside(self, rel: str) -> str:
        return f"/work/{rel}"

    def _exec(self, argv: list[str], timeout_s: float, user: str = "build") -> tuple[int, bytes, bytes]:
        # exec has no timeout of its own: GNU timeout inside the container bounds it.
        cmd = ["timeout", "-k", "5", str(int(timeout_s) + 1), *argv]
        try:
            r = self.container.exec_run(cmd, user=BUILD_USER if user == "build" else RUN_USER, demux=True,
                                        workdir="/work")
        except Exception as e:  # noqa: BLE001
            raise SandboxError(f"the sandbox container stopped answering: {e}") from e
        out, err = r.output if r.output else (b"", b"")
        return r.exit_code, out or b"", err or b""

    def _reap(self) -> None:
        # kill(-1) from the run user reaches every process of that user in the container (not init).
        try:
            self.container.exec_run(["sh", "-c", "kill -9 -1 2>/dev/null; exit 0"], user=RUN_USER)
        except Exception:  # noqa: BLE001 - the next exec reports a dead container
            pass

    def _teardown(self) -> None:
        container = getattr(self, "container", None)
        if container is None:
            return
        try:
            # Files made inside belong to the sandbox users: remove them from inside.
            container.exec_run(["rm", "-rf", "/work/runs"], user=RUN_USER)
            container.exec_run(["rm", "-rf", "/work/w"], user=BUILD_USER)
        except Exception:  # noqa: BLE001 - best effort, the container goes anyway
            pass
        remove_containers([container])
        self.container = None
