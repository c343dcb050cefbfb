"""Training data from the recorded trajectories: JSONL in three formats.

- `chat`: the conversation a model had (its exact first prompt, then each answer and the
  feedback it got), one row per session; a session without model messages (the search
  proposer) becomes a minimal prompt answered with the best pipeline found.
- `llm-compiler`: Meta LLM Compiler's flag-tuning task (Cummins et al. 2024): unoptimized IR in,
  the best pass list and the instruction count it reaches out; one row per kernel and objective.
- `pairs`: (IR in, pipeline, IR out, metrics), one row per kernel and objective.

Rows stream out one session at a time, so memory stays flat however large the store is. The
held-out split is by kernel (a deterministic hash of the kernel hash and the seed): all rows of
a kernel land on the same side, so no test kernel is ever seen in training.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, Literal

from optloop.db import Store

from .prompting import llm_compiler_prompt

Format = Literal["chat", "llm-compiler", "pairs"]
FORMATS: tuple[str, ...] = ("chat", "llm-compiler", "pairs")
# Sessions worth learning from: finished, or interrupted part-way (their steps are complete).
EXPORT_STATUSES = ("completed", "budget_exhausted", "no_improvement", "interrupted")
SYSTEM_PROMPT = "You are an LLVM optimization assistant."
_DESCRIBE = {
    "instcount": "the LLVM IR instruction count",
    "size": "the size of the object file's .text section",
    "runtime": "the program's run time",
}


def heldout_path(out: Path) -> Path:
    """Where the held-out rows go: data.jsonl -> data.test.jsonl."""
    return Path(out).with_suffix(".test.jsonl")


def in_heldout(kernel_hash: str, split: float, seed: int = 0) -> bool:
    """Deterministic assignment of a kernel to the held-out side."""
    digest = hashlib.sha256(f"{seed}\0{kernel_hash}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < split


def improved(session: dict) -> bool:
    imp = session.get("improvement")
    return imp is not None and imp > 1.0


def _eligible(fmt: str, session: dict) -> bool:
    """Whether a session can give a row of this format (cheap: no extra query)."""
    if fmt == "chat":
        return True
    best, ir = session.get("best"), (session.get("kernel") or {}).get("unopt_ir")
    if best is None or best["status"] != "ok" or not ir:
        return False
    if fmt == "llm-compiler":
        return best["action_kind"] == "passes"
    return best.get("ir_out") is not None


def _rank(session: dict) -> tuple[float, float]:
    value = session.get("best_value")
    return (math.inf if value is None else value, -(session.get("improvement") or 0.0))


def _winners(sessions: Iterator[dict], fmt: str, only_improved: bool) -> set[str]:
    """First pass: the best eligible session per (kernel, objective), keeping only small tuples."""
    best: dict[tuple[str, str], tuple[tuple[float, float], str]] = {}
    for s in sessions:
        if (only_improved and not improved(s)) or not _eligible(fmt, s):
            continue
        key, rank = (s["kernel_hash"], s["objective"]), _rank(s)
        if key not in best or rank < best[key][0]:
            best[key] = (rank, s["id"])
    return {sid for _, sid in best.values()}


def _meta(session: dict) -> dict[str, Any]:
    return {"session_id": session["id"], "kernel_hash": session["kernel_hash"],
            "objective": session["objective"], "improvement": session.get("improvement")}


def synthesized_prompt(objective: str, ir: str) -> list[dict[str, str]]:
    user = (f"Objective: {objective} (minimize {_DESCRIBE.get(objective, objective)}).\n"
            "Propose an LLVM opt pass pipeline for this module. Answer with JSON: {\"passes\": \"...\"}.\n\n"
            f"<code>{ir}</code>")
    return [{"role": "system", "content": SYSTEM_PROMPT}, {"role": "user", "content": user}]


def chat_row(store: Store, session: dict) -> dict | None:
    prompted = [st for st in store.steps(session["id"]) if st["messages"] and st["response"] is not None]
    if prompted:
        messages = [dict(m) for m in prompted[0]["messages"]]
        for i, st in enumerate(prompted):
            messages.append({"role": "assistant", "content": st["response"]})
            if i + 1 == len(prompted):
                break
            if not st["feedback"]:  # the rest would not follow from what the model was told
                break
            messages.append({"role": "user", "content": st["feedback"]})
        return {"messages": messages, "meta": _meta(session)}
    best, ir = session.get("best"), (session.get("kernel") or {}).get("unopt_ir")
    if best is None or best["status"] != "ok" or best["action_kind"] != "passes" or not ir:
        return None
    messages = synthesized_prompt(session["objective"], ir)
    messages.append({"role": "assistant", "content": json.dumps({"passes": best["action_text"]})})
    return {"messages": messages, "meta": _meta(session)}


def llm_compiler_row(store: Store, session: dict) -> dict | None:
    best, kernel = session["best"], session["kernel"]
    ir, pipeline = kernel["unopt_ir"], best["action_text"]
    before = kernel.get("ir_instruction_count")
    after = (best.get("metrics") or {}).get("ir_instruction_count")
    completion = f"Run passes `{pipeline}`"
    if after is not None:
        completion += f" to get instruction count {after}"
    return {
        "input": ir, "output": pipeline, "instcount_before": before, "instcount_after": after,
        "objective": session["objective"], "kernel_hash": session["kernel_hash"],
        "prompt": llm_compiler_prompt(ir, session["objective"]),
        "completion": completion,
        "session_id": session["id"],
    }


def pairs_row(store: Store, session: dict) -> dict | None:
    best = session["best"]
    return {
        "ir_in": session["kernel"]["unopt_ir"],
        "pipeline": best["action_text"] if best["action_kind"] == "passes" else None,
        "ir_out": best["ir_out"], "metrics": best.get("metrics") or {},
        "objective": session["objective"], "kernel_hash": session["kernel_hash"],
        "session_id": session["id"],
    }


BUILDERS: dict[str, Callable[[Store, dict], dict | None]] = {
    "chat": chat_row, "llm-compiler": llm_compiler_row, "pairs": pairs_row,
}


def export(store: Store, fmt: Format, out: Path, only_improved: bool = False, objective: str | None = None,
           min_improvement: float | None = None, split: float = 0.1, seed: int = 0) -> dict:
    """Write `out` (training rows) and `out` with a .test.jsonl suffix (held-out rows).

    Returns {"train", "test", "sessions", "skipped"}: rows written on each side, sessions read,
    and sessions that gave no row (filtered out, not the best of their kernel, or unusable).
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown export format {fmt!r} (choose {', '.join(FORMATS)})")
    if not 0.0 <= split < 1.0:
        raise ValueError(f"split must be in [0, 1), not {split}")
    out = Path(out)

    def sessions() -> Iterator[dict]:
        return store.iter_sessions(objective=objective, statuses=EXPORT_STATUSES,
                                   min_improvement=min_improvement)

    winners = None if fmt == "chat" else _winners(sessions(), fmt, only_improved)
    build = BUILDERS[fmt]
    counts = {"train": 0, "test": 0, "sessions": 0, "skipped": 0}
    paths = {"train": out, "test": heldout_path(out)}
    tmps = {side: p.with_name(p.name + ".tmp") for side, p in paths.items()}
    out.parent.mkdir(parents=True, exist_ok=True)
    try:
        with (open(tmps["train"], "w", encoding="utf-8") as train,
              open(tmps["test"], "w", encoding="utf-8") as test):
            for s in sessions():
                counts["sessions"] += 1
                row = None
                if (not only_improved or improved(s)) and (winners is None or s["id"] in winners):
                    row = build(store, s)
                if row is None:
                    counts["skipped"] += 1
                    continue
                side = "test" if in_heldout(s["kernel_hash"], split, seed) else "train"
                (test if side == "test" else train).write(json.dumps(row, ensure_ascii=False) + "\n")
                counts[side] += 1
        for side, p in paths.items():
            os.replace(tmps[side], p)
    finally:
        for tmp in tmps.values():
            tmp.unlink(missing_ok=True)
    return counts
