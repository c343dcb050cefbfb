"""The data flywheel end to end, through the CLI: sessions -> export -> train -> a session with the model."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from optloop.db import Store

from .conftest import DATA

pytestmark = [pytest.mark.slow, pytest.mark.llm]


def cli(*args: str, timeout: int = 900) -> dict:
    r = subprocess.run([sys.executable, "-m", "optloop.agent.cli", *args, "--json"], capture_output=True,
                       text=True, timeout=timeout, env={**__import__("os").environ, "HF_HUB_OFFLINE": "1",
                                                        "TRANSFORMERS_OFFLINE": "1"})
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout)


def test_sessions_export_train_and_propose_again(tmp_path):
    db = f"sqlite:///{tmp_path / 'fly.db'}"
    common = ["--sandbox", "local", "--db", db, "--out", str(tmp_path / "out")]
    kernels = [[str(DATA / "simple.c")]] + [
        [str(DATA / "multi/main.c"), str(DATA / "multi/vec.c"), "-I", str(DATA / "multi/include"), "-D", f"N={n}"]
        for n in (16, 32)
    ]
    for k in kernels:
        for objective in ("instcount", "size"):
            out = cli("optimize", *k, "--objective", objective, "--budget", "8", *common)
            assert out["status"] in ("budget_exhausted", "completed", "no_improvement")

    data = tmp_path / "data.jsonl"
    counts = cli("export", "--format", "llm-compiler", "--out", str(data), "--split", "0", "--db", db)
    assert counts["train"] == 6 and counts["test"] == 0
    rows = [json.loads(line) for line in data.read_text().splitlines()]
    assert all(r["prompt"].startswith("[INST]") and "Run passes" in r["completion"] for r in rows)

    model = tmp_path / "model"
    report = cli("train", "--data", str(data), "--out", str(model), "--steps", "150")
    assert (model / "config.json").exists() and (model / "optloop.json").exists()
    assert "valid_rate" in report  # None here: --split 0 holds nothing out; the session below is the proof

    out = cli("optimize", str(DATA / "simple.c"), "--proposer", "hf", "--model", str(model), "--budget", "3",
              "--patience", "4", *common)
    assert out["status"] in ("budget_exhausted", "completed", "no_improvement"), out
    store = Store(db)
    session = store.get_session(out["session_id"])
    assert session["proposer"] == "hf" and session["model"] == str(model)
    steps = store.steps(out["session_id"])
    assert steps and steps[0]["messages"][0]["content"].startswith("[INST]")
    evals = store.evaluations_for_session(out["session_id"])
    assert any(e["status"] == "ok" for e in evals)  # the model proposed at least one valid pipeline
    store.close()
