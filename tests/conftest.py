"""Shared fixtures: real sandboxes (docker and local), test kernels, a store per test."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from optloop.sandbox import Limits, SandboxError, open_sandbox

DATA = Path(__file__).parent / "data"
IN_CI = os.environ.get("CI") == "true"


def _docker_ready() -> str | None:
    """None when the docker backend can run, else why not."""
    try:
        from optloop.sandbox.docker_backend import docker_client
        from optloop.sandbox.image import image_exists, image_tag

        client = docker_client()
        if not image_exists(client, image_tag()):
            return "the sandbox image is not built (run `optloop setup`)"
    except SandboxError as e:
        return str(e)
    return None


@pytest.fixture(scope="session")
def docker_available() -> None:
    reason = _docker_ready()
    if reason is not None:
        if IN_CI:  # CI installs and starts Docker itself: a missing engine is a failure there
            pytest.fail(f"docker backend unavailable in CI: {reason}")
        pytest.skip(f"docker backend unavailable: {reason}")


TEST_LIMITS = Limits(compile_timeout_s=60, run_timeout_s=3, warmup_runs=1, timed_runs=3)


@pytest.fixture(scope="module", params=["local", pytest.param("docker", marks=pytest.mark.docker)])
def sandbox(request):
    """A warm sandbox of each backend, shared by a module's tests."""
    if request.param == "docker":
        request.getfixturevalue("docker_available")
    elif shutil.which("opt-19") is None:
        pytest.skip("the local backend needs clang-19/opt-19 on PATH")
    sb = open_sandbox(request.param, TEST_LIMITS, quiet=True)
    yield sb
    sb.close()


@pytest.fixture
def store(tmp_path):
    from optloop.db import Store

    s = Store(f"sqlite:///{tmp_path / 'optloop.db'}")
    yield s
    s.close()


@pytest.fixture
def data() -> Path:
    return DATA
