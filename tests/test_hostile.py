"""Hostile kernels in the docker sandbox: each is contained, and the outcome is the README's table."""

from __future__ import annotations

import json
import os
import resource
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from optloop.sandbox import Candidate, Kernel, KernelError, Limits, Objective, Status, open_sandbox

from .conftest import DATA

HOSTILE = DATA / "hostile"
LIMITS = Limits(run_timeout_s=3, memory_bytes=256 << 20, output_bytes=1 << 20, processes=32, timed_runs=1)
pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def box(docker_available):
    sb = open_sandbox("docker", LIMITS)
    yield sb
    sb.close()


def _outcome(box, name: str, defines=()) -> tuple[Status, str, float]:
    started = time.monotonic()
    try:
        p = box.prepare(Kernel.load([HOSTILE / f"{name}.c"], defines=list(defines)))
    except KernelError as e:
        return e.status, e.message, time.monotonic() - started
    return Status.OK, p.reference.stdout.decode(errors="replace"), time.monotonic() - started


def _container_processes(box) -> list[str]:
    """Processes in the container other than init and `sleep infinity` (no ps in the image)."""
    r = box.container.exec_run(["sh", "-c", "for d in /proc/[0-9]*; do tr '\\0' ' ' < $d/cmdline; echo; done"])
    lines = [line.strip() for line in r.output.decode(errors="replace").splitlines() if line.strip()]
    return [line for line in lines if not line.startswith(("/sbin/docker-init", "sleep infinity", "sh -c", "tr "))]


def test_never_ends_is_a_timeout_and_the_container_is_reclaimed(box):
    status, message, elapsed = _outcome(box, "forever")
    assert status is Status.TIMEOUT and elapsed < LIMITS.run_timeout_s + 5
    assert _container_processes(box) == []
    # The same container keeps working.
    assert _outcome(box, "network")[0] is Status.OK


def test_fork_bomb_hits_the_process_limit(box):
    status, message, elapsed = _outcome(box, "forkbomb")
    assert status is Status.RESOURCE_LIMIT, message
    assert "Resource temporarily unavailable" in message
    assert _container_processes(box) == []  # children that escaped with setsid() are swept too


def test_touching_16_gib_hits_the_memory_limit(box):
    status, message, _ = _outcome(box, "memhog")
    assert status is Status.RESOURCE_LIMIT, message


def test_output_flood_is_capped_and_the_agent_stays_flat(box):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    status, message, elapsed = _outcome(box, "flood")
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    assert status is Status.OUTPUT_LIMIT
    assert after - before < 64 * 1024  # kB: the flood (6 GB) never reaches the agent


def test_network_is_unreachable(box):
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    accepted = []
    server.settimeout(5)
    t = threading.Thread(target=lambda: accepted.append(_accept(server)), daemon=True)
    t.start()
    status, out, _ = _outcome(box, "network", [f"PORT={port}"])
    server.close()
    t.join(6)
    assert status is Status.OK and out == "connect: failed\n"
    assert accepted == [None]
    r = box.container.exec_run(["sh", "-c", "ls /sys/class/net"])
    assert r.output.decode().split() == ["lo"]


def _accept(server):
    try:
        conn, _ = server.accept()
        conn.close()
        return "connected"
    except OSError:
        return None


def test_writes_outside_the_work_dir_and_host_reads_fail(box, tmp_path):
    canary = tmp_path / "canary"
    secret = tmp_path / "secret"
    secret.write_text("host secret\n")
    status, out, _ = _outcome(box, "escape", [f'HOST_CANARY="{canary}"', f'HOST_SECRET="{secret}"'])
    assert status is Status.OK
    assert "write /etc/optloop-pwned: denied" in out and "write /usr/bin/optloop-pwned: denied" in out
    assert "write /work/w/pwned: denied" in out
    assert "input.ll: ok" not in out  # builds belong to another user
    assert "read host secret: denied" in out
    assert not canary.exists()  # the host's file system is not there at all
    assert secret.read_text() == "host secret\n"


def test_sleeping_past_the_wall_clock_is_a_timeout(box):
    status, _, elapsed = _outcome(box, "sleeper")
    assert status is Status.TIMEOUT and elapsed < LIMITS.run_timeout_s + 5


def test_inline_asm_in_model_ir_is_refused(box):
    p = box.prepare(Kernel.load([DATA / "simple.c"]))
    ir = p.ir + '\ndefine void @sneaky() {\n  call void asm sideeffect "nop", ""()\n  ret void\n}\n'
    [res] = box.evaluate(p, [Candidate.ir(ir)], Objective.INSTCOUNT)
    assert res.status is Status.VERIFY_ERROR and "inline assembly" in res.error


# -- no container left behind ---------------------------------------------------------------------
def _containers() -> list[str]:
    r = subprocess.run(["docker", "ps", "-aq", "--filter", "label=optloop.sandbox"], capture_output=True,
                       text=True)
    return r.stdout.split()


def _start_optimize(tmp_path: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "optloop.agent.cli", "optimize", str(HOSTILE / "sleeper.c"), "--objective", "runtime",
         "--budget", "50", "--timeout", "30", "--db", str(tmp_path / "k.db"), "--out", str(tmp_path / "out")],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for_container(before: set[str], timeout: float = 60) -> set[str]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = set(_containers()) - before
        if new:
            return new
        time.sleep(0.2)
    raise AssertionError("no container was started")


def test_no_container_left_after_a_session(docker_available, tmp_path):
    before = set(_containers())
    r = subprocess.run([sys.executable, "-m", "optloop.agent.cli", "eval", str(DATA / "simple.c"), "--json"],
                       capture_output=True, text=True)
    assert json.loads(r.stdout)["status"] == "ok"
    assert set(_containers()) <= before


def test_no_container_left_after_ctrl_c(docker_available, tmp_path):
    before = set(_containers())
    proc = _start_optimize(tmp_path)
    new = _wait_for_container(before)
    time.sleep(1.0)
    os.killpg(proc.pid, signal.SIGINT)
    proc.wait(60)
    assert proc.returncode != 0
    assert not (new & set(_containers()))


def test_container_of_a_killed_agent_is_removed_at_the_next_start(docker_available, tmp_path):
    before = set(_containers())
    proc = _start_optimize(tmp_path)
    new = _wait_for_container(before)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert new <= set(_containers())  # left behind by SIGKILL...
    sb = open_sandbox("docker", LIMITS)  # ...and removed when the next sandbox starts
    try:
        assert not (new & set(_containers()))
    finally:
        sb.close()
