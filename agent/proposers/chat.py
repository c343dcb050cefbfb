"""The conversation a chat model sees, and the JSON shape it is asked to answer in.

Messages: the system prompt (prompts/system.j2), the task (prompts/task.j2 or task_ir.j2:
objective, baseline, the unoptimized IR), then one assistant + user pair per earlier turn
(the model's raw answer, the rendered feedback).

Length budget: the IR is shown whole up to `max_ir_chars`; a longer module is shown as its
summary (instruction mix, largest functions) and a head of about `max_ir_chars // 2` characters,
cut at a line.  The whole conversation is kept under `max_chars` characters of message
content by dropping the oldest turns, in pairs so the roles still alternate: the system and
task messages and the newest turn are always kept, and the task message then says how many
turns were left out and which candidate is the best so far, so that nothing the model needs
is lost with them.
"""

from __future__ import annotations

from typing import Any

from optloop.agent.prompting import render
from optloop.sandbox import Objective
from pydantic import BaseModel, ConfigDict

from .base import Context

DEFAULT_MAX_IR_CHARS = 24_000
DEFAULT_MAX_CHARS = 120_000  # about 30k tokens of conversation
_UNITS = {"instcount": "instructions", "size": "bytes", "runtime": "seconds"}
_SUMMARY_COUNTS = ("loads", "stores", "allocas", "calls", "branches", "phis", "globals", "declarations")


class PassProposal(BaseModel):
    """One pass pipeline with the model's prediction of its value."""

    model_config = ConfigDict(extra="ignore")
    passes: str | list[str]
    predicted_value: float | None = None
    rationale: str | None = None


class IRProposal(BaseModel):
    """One rewritten module with the model's prediction of its value."""

    model_config = ConfigDict(extra="ignore")
    ir: str
    predicted_value: float | None = None
    rationale: str | None = None


class PassCandidates(BaseModel):
    """Several pipelines at once (asked for when the graph wants n > 1 candidates)."""

    model_config = ConfigDict(extra="ignore")
    candidates: list[PassProposal]
    rationale: str | None = None


class IRCandidates(BaseModel):
    model_config = ConfigDict(extra="ignore")
    candidates: list[IRProposal]
    rationale: str | None = None


RESPONSE_SCHEMA: dict[str, type[BaseModel]] = {"passes": PassProposal, "ir": IRProposal}
_MULTI_SCHEMA: dict[str, type[BaseModel]] = {"passes": PassCandidates, "ir": IRCandidates}


def response_model(action: str, n: int = 1) -> type[BaseModel]:
    """The pydantic model of the answer asked for: one proposal, or `{"candidates": [...]}`."""
    return (_MULTI_SCHEMA if n > 1 else RESPONSE_SCHEMA)[action]


def response_format(action: str, n: int = 1) -> dict[str, Any]:
    """The `response_format` for a structured-output request (a non-strict JSON schema)."""
    model = response_model(action, n)
    return {
        "type": "json_schema",
        "json_schema": {"name": model.__name__, "schema": model.model_json_schema(), "strict": False},
    }


def build_messages(
    ctx: Context, max_ir_chars: int = DEFAULT_MAX_IR_CHARS, max_chars: int = DEFAULT_MAX_CHARS
) -> list[dict[str, str]]:
    """The full prompt for the next proposal (see the module docstring for the length budget)."""
    objective = Objective(ctx.objective).value
    n = max(1, ctx.n)
    system = render("system.j2", objective=objective, action=ctx.action, n=n, unit=_UNITS[objective])
    variables = _task_variables(ctx, objective, max_ir_chars)
    template = "task_ir.j2" if ctx.action == "ir" else "task.j2"
    task = render(template, omitted=0, best=None, **variables)
    pairs = [(t.response or "(no answer)", t.feedback) for t in ctx.turns]

    used = len(system) + len(task) + 600  # slack for the note on left-out turns
    kept = 0
    for response, feedback in reversed(pairs):
        size = len(response) + len(feedback)
        if kept and used + size > max_chars:
            break
        used += size
        kept += 1
    omitted = len(pairs) - kept
    if omitted:
        task = render(template, omitted=omitted, best=_best(ctx), **variables)

    messages = [{"role": "system", "content": system}, {"role": "user", "content": task}]
    for response, feedback in pairs[omitted:]:
        messages.append({"role": "assistant", "content": response})
        messages.append({"role": "user", "content": feedback})
    return messages


def _best(ctx: Context) -> dict[str, Any] | None:
    if ctx.best is None:
        return None
    text = ctx.best.candidate.text if ctx.best.candidate.kind == "passes" else ctx.best.candidate.short()
    return {"text": text, "value": ctx.best.value, "step": ctx.best.step}


def _task_variables(ctx: Context, objective: str, max_ir_chars: int) -> dict[str, Any]:
    ir = ctx.ir
    truncated = len(ir) > max_ir_chars
    shown = ir
    if truncated:
        shown = ir[: max(0, max_ir_chars // 2)]
        shown = shown[: shown.rfind("\n") + 1] if "\n" in shown else shown
    return {
        "objective": objective,
        "unit": _UNITS[objective],
        "baseline_pipeline": ctx.baseline_pipeline,
        "baseline_value": ctx.baseline_value,
        "instruction_count": ctx.ir_instruction_count,
        "n": max(1, ctx.n),
        "ir": shown.rstrip("\n"),
        "truncated": truncated,
        "total_lines": len(ir.splitlines()),
        "shown_lines": len(shown.splitlines()),
        "summary": _summary(ctx.ir_summary) if truncated else None,
    }


def _summary(summary: dict[str, Any]) -> dict[str, Any]:
    """The parts of sandbox.ir.summarize() a prompt shows, tolerant of missing keys."""
    functions = [f for f in summary.get("functions") or [] if isinstance(f, dict)]
    functions = sorted(functions, key=lambda f: -int(f.get("instructions") or 0))[:10]
    opcodes = summary.get("opcodes") or {}
    top = sorted(opcodes.items(), key=lambda kv: -int(kv[1] or 0))[:20] if isinstance(opcodes, dict) else []
    return {
        "instructions": summary.get("instructions"),
        "function_count": len(summary.get("functions") or []),
        "functions": [
            {"name": str(f.get("name", "?")), "instructions": f.get("instructions"),
             "blocks": f.get("blocks")}
            for f in functions
        ],
        "opcodes": [{"name": str(k), "count": v} for k, v in top],
        "counts": {k: summary[k] for k in _SUMMARY_COUNTS if k in summary},
    }
