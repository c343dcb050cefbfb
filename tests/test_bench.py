"""`optloop bench --quick --json` runs here and reports every field (figures are not asserted: not a timed test)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.docker]


def test_bench_quick_json(docker_available, tmp_path):
    r = subprocess.run([sys.executable, "-m", "optloop.agent.cli", "bench", "--quick", "--json", "--out",
                        str(tmp_path / "bench")], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    assert set(out["throughput"]) >= {"sandbox_evals_per_s", "bare_evals_per_s", "cold_evals_per_s", "ratio"}
    assert out["throughput"]["counts_agree"] is True  # the sandbox counts what bare opt-19 counts
    for objective in ("instcount", "runtime"):
        q = out["quality"][objective]
        assert set(q["geomean"]) == {"evolution", "random", "greedy"}
        assert q["seeds"] and q["budget"] > 0 and q["per_kernel"]
    assert out["memory"]["agent_peak_rss_mb"] > 0
    assert out["machine"]["cores"] >= 1
    assert (tmp_path / "bench" / "bench.md").exists() and (tmp_path / "bench" / "quality_instcount.png").exists()
