"""The optimization loop as a LangGraph StateGraph.

    prepare -> propose -> evaluate -> feedback -> (propose | finish)

Nodes return updates and never mutate the state; the sandbox, the store and the
proposer are injected as the graph's runtime context, not kept in the state.
Every evaluation and every step is committed to the store when it happens.
"""

from __future__ import annotations

import operator
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, TypedDict

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime
from optloop.db import Store
from optloop.sandbox import Candidate, EvalResult, Kernel, KernelError, Objective, Prepared, Sandbox, SandboxError
from optloop.sandbox.ir import summarize

from .config import SessionConfig
from .feedback import attempt_feedback, improvement, no_candidate_feedback, step_feedback
from .proposers.base import Attempt, Context, Proposal, Proposer, Turn

MAX_PROPOSER_FAILURES = 3


@dataclass
class Resume:
    """What a resumed session brings back from the store."""

    session_id: str
    history: list[Attempt]
    turns: list[Turn]
    step: int
    evaluations: int
    baseline_value: float
    baseline_evaluation_id: int | None


@dataclass
class Deps:
    """The graph's runtime context."""

    sandbox: Sandbox
    store: Store
    proposer: Proposer
    config: SessionConfig
    kernel: Kernel
    version: str
    on_event: Callable[[dict[str, Any]], None] = lambda event: None
    resume: Resume | None = None
    batch_key: str | None = None
    session_id: list[str] = field(default_factory=list)  # filled by prepare, read on interrupt


class State(TypedDict, total=False):
    session_id: str
    prepared: Prepared
    ir_summary: dict[str, Any]  # of the unoptimized IR, computed once
    baseline_value: float
    baseline_evaluation_id: int | None
    step: int
    evaluations: int
    history: Annotated[list[Attempt], operator.add]
    turns: Annotated[list[Turn], operator.add]
    best: Attempt | None
    best_evaluation_id: int | None
    pending: Proposal | None
    pending_results: list[tuple[Attempt, int, bool]]
    stale_steps: int
    proposer_failures: int
    last_proposer_error: str | None
    started: float
    stop: str | None
    status: str
    error: str | None
    improvement: float | None
    best_correct: bool | None


# -- evaluation through the cache ---------------------------------------------------------------
def evaluate_cached(deps: Deps, prepared: Prepared, candidates: list[Candidate], check_output: bool,
                    best_value: float | None = None) -> list[tuple[Attempt, int, bool, EvalResult | None]]:
    """Evaluate candidates, reusing stored evaluations: the same candidate is never run twice."""
    objective = deps.config.objective
    out: dict[str, tuple[Attempt, int, bool, EvalResult | None]] = {}
    todo = []
    for cand in candidates:
        row = deps.store.lookup_evaluation(prepared.kernel_hash, cand.key, objective.value, prepared.toolchain,
                                           need_checked=check_output)
        if row is not None:
            out[cand.key] = (Attempt(cand, row["status"], row["value"], row["error"]), row["id"],
                             bool(row["output_checked"]), None)
        else:
            todo.append(cand)
    if todo:
        results = deps.sandbox.evaluate(prepared, todo, objective, check_output=check_output)
        for res in results:
            keep_ir = res.ok and res.ir is not None and (best_value is None or (res.value or 0) <= best_value)
            eid = deps.store.record_evaluation(
                prepared.kernel_hash, res.candidate.kind, res.candidate.text, res.candidate.key, objective.value,
                prepared.toolchain, res.status.value, res.value, res.metrics.as_dict(), res.error,
                res.output_checked, res.ir if keep_ir else None,
            )
            out[res.candidate.key] = (Attempt(res.candidate, res.status.value, res.value, res.error), eid,
                                      res.output_checked, res)
    return [out[c.key] for c in candidates]


# -- nodes --------------------------------------------------------------------------------------
def prepare(state: State, runtime: Runtime[Deps]) -> dict[str, Any]:
    deps = runtime.context
    cfg, kernel = deps.config, deps.kernel
    started = time.monotonic()
    try:
        prepared = deps.sandbox.prepare(kernel)
    except KernelError as e:
        return {"status": "failed", "error": f"{e.status.value}: {e.message}", "stop": "failed", "started": started}
    if cfg.objective is Objective.RUNTIME and not prepared.has_main:
        return {"status": "failed", "error": "the runtime objective needs a main() in the kernel",
                "stop": "failed", "started": started}
    deps.store.upsert_kernel(
        prepared.kernel_hash, kernel.name, kernel.files, list(kernel.sources), list(kernel.include_dirs),
        list(kernel.defines), list(kernel.flags), list(kernel.origin), prepared.ir, prepared.ir_instruction_count,
    )
    if deps.resume is not None:
        r = deps.resume
        deps.session_id.append(r.session_id)
        ranked = _ranked(r.history)
        return {"session_id": r.session_id, "prepared": prepared, "ir_summary": summarize(prepared.ir),
                "baseline_value": r.baseline_value,
                "baseline_evaluation_id": r.baseline_evaluation_id, "step": r.step, "evaluations": r.evaluations,
                "history": r.history, "turns": r.turns, "best": ranked[0] if ranked else None,
                "stale_steps": 0, "proposer_failures": 0, "started": started, "stop": None}
    baseline = Candidate.passes(cfg.objective.baseline_pipeline)
    [(attempt, eid, _, _)] = evaluate_cached(deps, prepared, [baseline], cfg.objective is Objective.RUNTIME)
    if attempt.status != "ok" or attempt.value is None:
        return {"status": "failed", "prepared": prepared, "started": started, "stop": "failed",
                "error": f"the baseline {baseline.text} failed ({attempt.status}): {attempt.error}"}
    sid = deps.store.create_session(
        prepared.kernel_hash, cfg.objective.value, cfg.action, deps.proposer.name, deps.proposer.model,
        cfg.model_dump(mode="json"), prepared.toolchain, deps.version, baseline.text, attempt.value, cfg.budget,
        cfg.seed, deps.batch_key,
    )
    deps.session_id.append(sid)
    deps.on_event({"event": "prepared", "session_id": sid, "baseline": attempt.value,
                   "ir_instructions": prepared.ir_instruction_count})
    return {"session_id": sid, "prepared": prepared, "ir_summary": summarize(prepared.ir),
            "baseline_value": attempt.value,
            "baseline_evaluation_id": eid, "step": 0, "evaluations": 0, "best": None,
            "stale_steps": 0, "proposer_failures": 0, "started": started, "stop": None}


def propose(state: State, runtime: Runtime[Deps]) -> dict[str, Any]:
    deps = runtime.context
    cfg = deps.config
    prepared = state["prepared"]
    ctx = Context(
        objective=cfg.objective, action=cfg.action, ir=prepared.ir,
        ir_instruction_count=prepared.ir_instruction_count, ir_summary=state["ir_summary"],
        baseline_pipeline=cfg.objective.baseline_pipeline, baseline_value=state["baseline_value"],
        best=state.get("best"), history=list(state.get("history", [])), turns=list(state.get("turns", [])),
        step=state["step"], evaluations_left=cfg.budget - state["evaluations"], n=cfg.per_step, seed=cfg.seed,
    )
    started = time.monotonic()
    try:
        proposal = deps.proposer.propose(ctx)
    except Exception as e:  # noqa: BLE001 - a proposer bug must not lose the session
        proposal = Proposal(candidates=[], error=f"the proposer raised {type(e).__name__}: {e}")
    if not proposal.latency_s:
        proposal.latency_s = time.monotonic() - started
    if cfg.action == "passes":
        proposal.candidates = [c for c in proposal.candidates if c.kind == "passes"]
    return {"pending": proposal}


def evaluate(state: State, runtime: Runtime[Deps]) -> dict[str, Any]:
    deps = runtime.context
    proposal = state["pending"]
    assert proposal is not None
    seen = {a.candidate.key for a in state.get("history", [])}
    left = deps.config.budget - state["evaluations"]
    fresh: list[Candidate] = []
    for c in proposal.candidates:
        if c.key not in seen and c.key not in {f.key for f in fresh} and len(fresh) < left:
            fresh.append(c)
    best = state.get("best")
    try:
        evaluated = evaluate_cached(deps, state["prepared"], fresh,
                                    deps.config.objective is Objective.RUNTIME, best.value if best else None)
    except SandboxError as e:
        return {"pending_results": [], "stop": "failed", "status": "failed", "error": f"sandbox_error: {e}"}
    predictions = dict(zip((c.key for c in proposal.candidates), proposal.predictions, strict=False))
    results = []
    for attempt, eid, checked, _ in evaluated:
        attempt.prediction = predictions.get(attempt.candidate.key)
        attempt.step = state["step"]
        results.append((attempt, eid, checked))
    return {"pending_results": results}


def feedback(state: State, runtime: Runtime[Deps]) -> dict[str, Any]:
    deps = runtime.context
    cfg = deps.config
    proposal = state["pending"]
    assert proposal is not None
    results = state.get("pending_results", [])
    best = state.get("best")
    best_eid = state.get("best_evaluation_id")
    base = state["baseline_value"]
    items = []
    new_best = False
    for attempt, eid, checked in results:
        items.append(attempt_feedback(attempt, cfg.objective, cfg.action, cfg.objective.baseline_pipeline, base,
                                      best.value if best else base, checked))
        bar = best.value if best is not None and best.value is not None else base
        if attempt.status == "ok" and attempt.value is not None and attempt.value < bar:
            best, best_eid, new_best = attempt, eid, True
    history = list(state.get("history", [])) + [a for a, _, _ in results]
    evaluations = state["evaluations"] + len(results)
    failures = state.get("proposer_failures", 0)
    if not proposal.candidates and proposal.error:
        text = no_candidate_feedback(proposal.error)
        failures += 1
    else:
        failures = 0
        if not results:
            items.append("Every candidate you proposed had already been evaluated: propose something new.")
        text = step_feedback(items, cfg.objective, cfg.action, history, best, cfg.objective.baseline_pipeline, base,
                             cfg.budget - evaluations)
    index = state["step"]
    deps.store.add_step(
        state["session_id"], index, proposal.messages, proposal.response,
        {"kind": cfg.action, "candidates": [c.text for c in proposal.candidates]}, proposal.predictions,
        proposal.rationale, text, proposal.error, proposal.latency_s, proposal.prompt_tokens,
        proposal.completion_tokens, [eid for _, eid, _ in results],
    )
    imp = improvement(base, best.value if best else None)
    deps.store.update_session_progress(state["session_id"], best_eid, best.value if best else None, imp,
                                       evaluations, index + 1)
    last = results[-1][0] if results else None
    deps.on_event({"event": "step", "step": index + 1, "evaluations": evaluations, "budget": cfg.budget,
                   "best": best.value if best else None, "baseline": base, "improvement": imp,
                   "last_status": last.status if last else (proposal.error or "duplicate"),
                   "last_candidate": last.candidate.short(60) if last else ""})
    turns = [Turn(proposal.response, text)] if proposal.response is not None else []
    return {"history": [a for a, _, _ in results], "turns": turns, "best": best, "best_evaluation_id": best_eid,
            "evaluations": evaluations, "step": index + 1, "proposer_failures": failures,
            "last_proposer_error": proposal.error,
            "stale_steps": 0 if new_best else state.get("stale_steps", 0) + 1, "pending": None,
            "pending_results": []}


def route(state: State, runtime: Runtime[Deps]) -> Literal["propose", "finish"]:
    cfg = runtime.context.config
    stop = _stop_reason(state, cfg)
    return "finish" if stop else "propose"


def _stop_reason(state: State, cfg: SessionConfig) -> str | None:
    if state.get("stop"):
        return state["stop"]
    if state["evaluations"] >= cfg.budget:
        return "budget"
    if cfg.max_steps is not None and state["step"] >= cfg.max_steps:
        return "budget"
    if cfg.wall_clock_s is not None and time.monotonic() - state["started"] >= cfg.wall_clock_s:
        return "budget"
    if state.get("proposer_failures", 0) >= MAX_PROPOSER_FAILURES:
        return "proposer_failed"
    if cfg.patience is not None and state.get("stale_steps", 0) >= cfg.patience:
        return "converged"
    if state["step"] >= max(4 * cfg.budget, 20):  # steps that evaluate nothing (all duplicates)
        return "converged"
    return None


def finish(state: State, runtime: Runtime[Deps]) -> dict[str, Any]:
    deps = runtime.context
    cfg = deps.config
    sid = state.get("session_id")
    stop = _stop_reason(state, cfg) if "evaluations" in state else state.get("stop")
    if stop == "failed" or sid is None:
        if sid is not None:
            deps.store.finish_session(sid, "failed", state.get("error"), None, None, None,
                                      state.get("evaluations", 0), state.get("step", 0))
        return {"status": "failed", "error": state.get("error")}
    prepared = state["prepared"]
    best, best_eid, correct = state.get("best"), state.get("best_evaluation_id"), None
    if best is not None and cfg.objective is not Objective.RUNTIME and prepared.has_main:
        # Staged evaluation: only the best few are linked and run against the reference.
        best, best_eid, correct = _verify_best(deps, prepared, state)
    elif best is not None:
        correct = cfg.objective is Objective.RUNTIME  # runtime candidates were all checked
    base = state["baseline_value"]
    imp = improvement(base, best.value if best else None)
    if stop == "proposer_failed":
        status = "failed"
        error = f"the proposer failed {MAX_PROPOSER_FAILURES} times in a row: {state.get('last_proposer_error')}"
    else:
        error = None
        status = "no_improvement" if imp is None or imp <= 1.0 else (
            "budget_exhausted" if stop == "budget" else "completed")
    deps.store.finish_session(sid, status, error, best_eid, best.value if best else None, imp,
                              state["evaluations"], state["step"])
    deps.on_event({"event": "finished", "status": status})
    return {"status": status, "error": error, "best": best, "best_evaluation_id": best_eid,
            "improvement": imp, "best_correct": correct}


def _ranked(history: list[Attempt]) -> list[Attempt]:
    ok = [a for a in history if a.status == "ok" and a.value is not None]
    return sorted(ok, key=lambda a: (a.value, len(a.candidate.text)))


def _verify_best(deps: Deps, prepared: Prepared, state: State) -> tuple[Attempt | None, int | None, bool | None]:
    base = state["baseline_value"]
    ranked = [a for a in _ranked(list(state.get("history", []))) if a.value is not None and a.value < base]
    for attempt in ranked[:5]:
        [(checked, eid, ok, _)] = evaluate_cached(deps, prepared, [attempt.candidate], check_output=True,
                                                  best_value=attempt.value)
        if checked.status == "ok" and ok:
            return attempt, eid, True
        deps.on_event({"event": "rejected", "candidate": attempt.candidate.short(60), "status": checked.status})
    return None, None, None


def build_graph():
    g = StateGraph(State, context_schema=Deps)
    g.add_node("prepare", prepare)
    g.add_node("propose", propose)
    g.add_node("evaluate", evaluate)
    g.add_node("feedback", feedback)
    g.add_node("finish", finish)
    g.add_edge(START, "prepare")
    g.add_conditional_edges("prepare", lambda s: "finish" if s.get("stop") == "failed" else "propose",
                            ["propose", "finish"])
    g.add_edge("propose", "evaluate")
    g.add_edge("evaluate", "feedback")
    g.add_conditional_edges("feedback", route, ["propose", "finish"])
    g.add_edge("finish", END)
    return g.compile()
