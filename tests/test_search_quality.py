"""The search proposer does real optimization: it beats -Oz on every bundled kernel within 60 evaluations."""

from __future__ import annotations

import pytest
from optloop.agent.config import SessionConfig
from optloop.agent.session import run_session
from optloop.benchmarks.suite import load_suite
from optloop.sandbox import Kernel, Objective

pytestmark = [pytest.mark.slow, pytest.mark.docker]


@pytest.fixture(scope="module")
def box(docker_available):
    from optloop.sandbox import open_sandbox

    sb = open_sandbox("docker")
    yield sb
    sb.close()


@pytest.mark.parametrize("kernel", load_suite(), ids=lambda k: k.name)
def test_search_beats_oz_on_instcount(kernel, box, store):
    k = Kernel.load(list(kernel.sources), list(kernel.include_dirs), list(kernel.defines), name=kernel.name)
    result = run_session(k, SessionConfig(objective=Objective.INSTCOUNT, budget=60, seed=0), store, box)
    assert result["evaluations"] <= 60
    assert result["improvement"] > 1.0, result
    assert result["best"]["correct"] is True  # the winner's program still prints the reference output
