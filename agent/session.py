"""Running one optimization session: build the proposer, run the graph, write the artifacts.

The result is the `optimize --json` object of the command-line contract.
"""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from optloop.db import Store
from optloop.sandbox import Candidate, Kernel, Sandbox

from .config import SessionConfig
from .graph import Deps, Resume, build_graph
from .proposers.base import Attempt, Proposer, Turn

VERSION = "0.1.0"


class SessionInterrupted(Exception):
    def __init__(self, session_id: str | None):
        super().__init__("interrupted")
        self.session_id = session_id


def make_proposer(cfg: SessionConfig) -> Proposer:
    p = cfg.proposer
    if p.type == "search":
        from .proposers.search import SearchProposer

        return SearchProposer(strategy=p.strategy)
    if p.type == "openai":
        from .proposers.openai_proposer import OpenAIProposer

        return OpenAIProposer(model=p.model, base_url=p.base_url, timeout_s=p.timeout_s, max_retries=p.max_retries,
                              temperature=p.temperature, structured=p.structured)
    from .proposers.hf_proposer import HFProposer

    return HFProposer(Path(p.model), max_new_tokens=p.max_new_tokens, temperature=p.temperature)


def run_session(kernel: Kernel, cfg: SessionConfig, store: Store, sandbox: Sandbox,
                proposer: Proposer | None = None, on_event: Callable[[dict[str, Any]], None] | None = None,
                resume: Resume | None = None, batch_key: str | None = None) -> dict[str, Any]:
    deps = Deps(sandbox=sandbox, store=store, proposer=proposer or make_proposer(cfg), config=cfg, kernel=kernel,
                version=VERSION, on_event=on_event or (lambda e: None), resume=resume, batch_key=batch_key)
    graph = build_graph()
    # Each step is four nodes; the budget, not the recursion limit, ends a session.
    limit = 4 * max(4 * cfg.budget, 20) + 20
    try:
        final = graph.invoke({}, context=deps, config={"recursion_limit": limit})
    except KeyboardInterrupt:
        sid = deps.session_id[0] if deps.session_id else None
        if sid is not None:
            row = store.get_session(sid) or {}
            store.finish_session(sid, "interrupted", "interrupted by the user", row.get("best_evaluation_id"),
                                 row.get("best_value"), row.get("improvement"), row.get("evaluations") or 0,
                                 row.get("steps") or 0)
        raise SessionInterrupted(sid) from None
    return _result(final, cfg, store)


def _result(final: dict[str, Any], cfg: SessionConfig, store: Store) -> dict[str, Any]:
    best: Attempt | None = final.get("best")
    baseline_value = final.get("baseline_value")
    out = {
        "session_id": final.get("session_id"),
        "objective": cfg.objective.value,
        "status": final.get("status", "failed"),
        "error": final.get("error"),
        "baseline": {"pipeline": cfg.objective.baseline_pipeline, "value": baseline_value},
        "best": {
            "pipeline": best.candidate.text if best and best.candidate.kind == "passes" else
            (None if best is None else "<ir>"),
            "value": best.value if best else None,
            "correct": final.get("best_correct"),
        },
        "improvement": final.get("improvement"),
        "evaluations": final.get("evaluations", 0),
        "steps": final.get("step", 0),
        "db": store.display_url,
    }
    if best is None and baseline_value is not None:
        # Nothing beat the baseline: the baseline is the best known (and it is what -Oz/-O3 gives).
        # Its output was checked when it was measured for runtime; for the others it was not run.
        checked = True if cfg.objective.value == "runtime" else None
        out["best"] = {"pipeline": cfg.objective.baseline_pipeline, "value": baseline_value, "correct": checked}
        out["improvement"] = 1.0
    return out


def write_artifacts(result: dict[str, Any], kernel: Kernel, store: Store, out_dir: Path) -> Path | None:
    """The best IR, the unoptimized IR and the exact commands that reproduce the build."""
    sid = result.get("session_id")
    if not sid:
        return None
    session = store.get_session(sid)
    if session is None:
        return None
    folder = out_dir / sid[:12]
    folder.mkdir(parents=True, exist_ok=True)
    kernel_row = store.get_kernel(session["kernel_hash"]) or {}
    if kernel_row.get("unopt_ir"):
        (folder / "input.ll").write_text(kernel_row["unopt_ir"])
    best = session.get("best") or {}
    if best.get("ir_out"):
        (folder / "best.ll").write_text(best["ir_out"])
    pipeline = result["best"]["pipeline"] or result["baseline"]["pipeline"]
    (folder / "pipeline.txt").write_text(pipeline + "\n")
    flags = " ".join(shlex.quote(a) for a in kernel.clang_args())
    lines = [
        "#!/bin/sh", f"# Reproduce optloop session {sid} ({result['objective']}) with stock LLVM 19.", "set -e",
    ]
    per_file = []
    for i, src in enumerate(kernel.origin or kernel.sources):
        per_file.append(f"k{i}.ll")
        lines.append(f"clang-19 -O0 -Xclang -disable-O0-optnone -emit-llvm -S -c {shlex.quote(src)} "
                     f"-o k{i}.ll {flags}")
    if len(per_file) > 1:
        lines.append(f"llvm-link-19 -S -o input.ll {' '.join(per_file)}")
    else:
        lines.append("mv k0.ll input.ll")
    lines.append(f"opt-19 -passes={shlex.quote(pipeline)} input.ll -S -o optimized.ll")
    lines.append("llc-19 -O2 -relocation-model=pic -filetype=obj optimized.ll -o optimized.o")
    lines.append("clang-19 optimized.o -o optimized -lm   # when the kernel has a main()")
    (folder / "reproduce.sh").write_text("\n".join(lines) + "\n")
    return folder


def stored_kernel(store: Store, session: dict[str, Any]) -> Kernel:
    """The kernel of a recorded session, rebuilt from the store and checked against its hash."""
    krow = store.get_kernel(session["kernel_hash"])
    if krow is None:
        raise ValueError(f"the kernel of session {session['id'][:12]} is not in the store")
    files = {k: (v.encode() if isinstance(v, str) else v) for k, v in krow["files"].items()}
    kernel = Kernel(name=krow["name"], files=files, sources=tuple(krow["sources"]),
                    include_dirs=tuple(krow["include_dirs"]), defines=tuple(krow["defines"]),
                    flags=tuple(krow["flags"]), origin=tuple(krow.get("origin") or ()))
    if kernel.content_hash != session["kernel_hash"]:
        raise ValueError(f"the stored kernel of session {session['id'][:12]} does not match its hash")
    return kernel


def load_resume(store: Store, session_id: str) -> tuple[dict[str, Any], Kernel, Resume]:
    """Rebuild a session's state from the tables (the store, not a checkpoint, is the truth)."""
    session = store.get_session(session_id)
    if session is None:
        raise ValueError(f"no session {session_id!r} in {store.display_url}")
    if session["status"] not in ("running", "interrupted"):
        raise ValueError(f"session {session['id'][:12]} already ended ({session['status']}); nothing to resume")
    kernel = stored_kernel(store, session)
    history: list[Attempt] = []
    turns: list[Turn] = []
    steps = store.steps(session["id"])
    for step in steps:
        preds = step.get("predictions") or []
        for i, eid in enumerate(step.get("evaluation_ids") or []):
            ev = store.get_evaluation(eid)
            if ev is None:
                continue
            cand = Candidate(ev["action_kind"], ev["action_text"])
            history.append(Attempt(cand, ev["status"], ev["value"], ev["error"],
                                   preds[i] if i < len(preds) else None, step["index"]))
        if step.get("response") is not None and step.get("feedback"):
            turns.append(Turn(step["response"], step["feedback"]))
    resume = Resume(
        session_id=session["id"], history=history, turns=turns,
        step=(steps[-1]["index"] + 1) if steps else 0, evaluations=len(history),
        baseline_value=session["baseline_value"], baseline_evaluation_id=None,
    )
    return session, kernel, resume


def check_objective(cfg: SessionConfig) -> None:
    """Combinations the config model alone cannot rule out."""
    if cfg.action == "ir" and cfg.proposer.type == "search":
        raise ValueError("--action ir needs a model proposer (openai or hf); search proposes pipelines")
