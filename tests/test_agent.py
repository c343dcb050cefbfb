"""The loop: search proposer, feedback, the graph and the CLI contract, through real sandboxes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from optloop.agent.config import SessionConfig, resolve
from optloop.agent.feedback import attempt_feedback, step_feedback
from optloop.agent.proposers.base import Attempt
from optloop.agent.proposers.search import SearchProposer, join, split
from optloop.agent.session import run_session
from optloop.sandbox import Candidate, Kernel, Objective, Status

from .conftest import DATA

REPO = Path(__file__).resolve().parent.parent
OPTLOOP = [sys.executable, "-m", "optloop.agent.cli"]


def cli(*args: str, env: dict | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run([*OPTLOOP, *args], capture_output=True, text=True, timeout=timeout, env=full_env)


# -- units ----------------------------------------------------------------------------------------
def test_pipelines_are_split_and_joined_canonically():
    tokens = ["mem2reg", "globaldce", "loop-mssa(licm)", "function-attrs", "argpromotion", "default<Oz>", "sroa"]
    text = join(tokens)
    assert text == ("function(mem2reg),globaldce,function(loop-mssa(licm)),cgscc(function-attrs,argpromotion),"
                    "default<Oz>,function(sroa)")
    assert split(text) == tokens


@pytest.mark.parametrize("status", [s.value for s in Status])
def test_every_outcome_has_feedback(status):
    a = Attempt(Candidate.passes("mem2reg"), status, 10.0 if status == "ok" else None,
                None if status == "ok" else f"the tool said {status}", prediction=12.0)
    text = attempt_feedback(a, Objective.INSTCOUNT, "passes", "default<Oz>", 20.0, 15.0)
    assert "mem2reg" in text
    if status == "ok":
        assert "50.0% lower" in text and "predicted 12" in text
    else:
        assert f"the tool said {status}" in text
    full = step_feedback([text], Objective.INSTCOUNT, "passes", [a], a if status == "ok" else None,
                         "default<Oz>", 20.0, 7)
    assert "Evaluations left: 7" in full


def test_config_from_file_and_flags(tmp_path):
    f = tmp_path / "optloop.toml"
    f.write_text('objective = "size"\nbudget = 9\n[proposer]\ntype = "search"\nstrategy = "greedy"\n')
    cfg = resolve(str(f), budget=12, seed=3)
    assert cfg.objective is Objective.SIZE and cfg.budget == 12 and cfg.seed == 3
    assert cfg.proposer.type == "search" and cfg.proposer.strategy == "greedy"
    with pytest.raises(ValueError):
        SessionConfig.model_validate({"no_such_key": 1})


# -- sessions through the graph -------------------------------------------------------------------
def test_search_session_beats_oz_and_is_recorded(sandbox, store):
    kernel = Kernel.load([DATA / "simple.c"])
    cfg = SessionConfig(budget=24, seed=1)
    events = []
    result = run_session(kernel, cfg, store, sandbox, on_event=events.append)
    assert result["status"] in ("budget_exhausted", "completed")
    assert result["improvement"] > 1.0
    assert result["best"]["correct"] is True
    assert result["evaluations"] <= 24
    session = store.get_session(result["session_id"])
    assert session["status"] == result["status"]
    steps = store.steps(result["session_id"])
    assert len(steps) == result["steps"] and all(s["feedback"] for s in steps)
    assert any(e["event"] == "step" for e in events)
    # The evaluation cache: a second session on the same kernel runs nothing new for the same candidates.
    again = run_session(kernel, cfg, store, sandbox)
    assert again["best"]["value"] == result["best"]["value"]


def test_runtime_session_on_multi_file_kernel_checks_output(sandbox, store):
    kernel = Kernel.load([DATA / "multi/main.c", DATA / "multi/vec.c"], [DATA / "multi/include"], ["N=256"])
    cfg = SessionConfig(objective=Objective.RUNTIME, budget=6, seed=2)
    result = run_session(kernel, cfg, store, sandbox)
    assert result["status"] in ("budget_exhausted", "completed", "no_improvement")
    assert result["best"]["value"] > 0
    assert result["best"]["correct"] is True  # the best (or the -O3 baseline) printed the reference output
    for ev in store.evaluations_for_session(result["session_id"]):
        if ev["status"] == "ok":
            assert ev["output_checked"]


def test_search_learns_from_invalid_passes():
    p = SearchProposer()
    history = [Attempt(Candidate.passes("bogus-pass"), "invalid_pipeline", None, "unknown pass name 'bogus-pass'")]
    p._learn(history)
    assert "bogus-pass" in p._banned


# -- the command line -----------------------------------------------------------------------------
def test_eval_json_contract_local():
    r = cli("eval", str(DATA / "simple.c"), "--sandbox", "local", "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"objective", "value", "status", "error", "metrics"}
    assert set(out["metrics"]) == {"ir_instruction_count", "text_size_bytes", "runtime_s", "max_rss_kb",
                                   "compile_s"}
    assert out["status"] == "ok" and out["value"] == out["metrics"]["ir_instruction_count"]


@pytest.mark.docker
def test_eval_cli_statuses_in_docker(docker_available):
    r = cli("eval", str(DATA / "simple.c"), "--passes", "no-such-pass", "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["status"] == "invalid_pipeline"
    r = cli("eval", str(DATA / "broken.c"), "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["status"] == "compile_error"
    r = cli("eval", str(DATA / "hostile/forever.c"), "--objective", "runtime", "--timeout", "2", "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["status"] == "timeout"
    r = cli("eval", str(DATA / "multi/main.c"), str(DATA / "multi/vec.c"), "-I", str(DATA / "multi/include"),
            "-D", "N=32", "--objective", "runtime", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["metrics"]["runtime_s"] > 0


@pytest.mark.parametrize("args,needle", [
    (["eval", "/no/such/file.c"], "no such file"),
    (["eval", str(DATA / "simple.c"), "--sandbox", "podman"], "--sandbox podman"),
    (["eval", str(DATA / "simple.c"), "--passes", "x", "--ir", "y.ll"], "not both"),
    (["optimize", str(DATA / "simple.c"), "--proposer", "magic"], "--proposer magic"),
    (["show", "nonexistent-session"], "no session"),
])
def test_bad_input_is_one_line_and_non_zero(args, needle, tmp_path):
    r = cli(*args, "--db", str(tmp_path / "x.db")) if args[0] in ("show",) else cli(*args)
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0], r.stderr


def test_optimize_json_contract_and_sessions(tmp_path):
    db = str(tmp_path / "s.db")
    r = cli("optimize", str(DATA / "simple.c"), "--budget", "12", "--sandbox", "local", "--db", db,
            "--out", str(tmp_path / "out"), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert set(out) == {"session_id", "objective", "status", "error", "baseline", "best", "improvement",
                        "evaluations", "steps", "db"}
    assert out["baseline"]["pipeline"] == "default<Oz>" and out["improvement"] > 1.0
    folder = tmp_path / "out" / out["session_id"][:12]
    assert (folder / "best.ll").exists() and "opt-19 -passes=" in (folder / "reproduce.sh").read_text()
    listed = json.loads(cli("sessions", "--db", db, "--json").stdout)["sessions"]
    assert [s["id"] for s in listed] == [out["session_id"]]
    shown = json.loads(cli("show", out["session_id"][:8], "--db", db, "--json").stdout)
    assert shown["session"]["status"] == out["status"] and shown["steps"]
    replayed = cli("replay", out["session_id"], "--db", db, "--sandbox", "local", "--json")
    assert replayed.returncode == 0, replayed.stderr
    assert json.loads(replayed.stdout)["match"] is True


def test_one_candidate_per_step_still_alternates_moves(sandbox, store):
    # Regression: with --per-step 1 the default strategy used to run only the neighbour scan.
    kernel = Kernel.load([DATA / "simple.c"])
    result = run_session(kernel, SessionConfig(budget=16, candidates_per_step=1, seed=0), store, sandbox)
    assert result["improvement"] > 1.0
