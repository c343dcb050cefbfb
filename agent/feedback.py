"""Fast Feedback: what the next proposal is told about the last one.

One template per outcome (prompts/feedback_*.j2); the step's message puts the
per-candidate texts together with the best so far and a compact history.
"""

from __future__ import annotations

import math

from optloop.sandbox import Objective

from .prompting import render
from .proposers.base import Attempt

_TEMPLATE = {
    "ok": "feedback_ok.j2",
    "invalid_pipeline": "feedback_invalid_pipeline.j2",
    "compile_error": "feedback_compile_error.j2",
    "verify_error": "feedback_verify_error.j2",
    "wrong_output": "feedback_wrong_output.j2",
    "timeout": "feedback_timeout.j2",
    "crashed": "feedback_crashed.j2",
    "output_limit": "feedback_limit.j2",
    "resource_limit": "feedback_limit.j2",
    "sandbox_error": "feedback_sandbox_error.j2",
}
HISTORY_LINES = 8
METRIC_NAMES = {"instcount": "IR instruction count", "size": ".text bytes", "runtime": "runtime (s)"}


def geomean(values: list[float]) -> float | None:
    """Geometric mean of the positive values (how improvements are averaged), None if there are none."""
    vals = [v for v in values if v and v > 0]
    return math.exp(sum(math.log(v) for v in vals) / len(vals)) if vals else None


def improvement(baseline: float | None, value: float | None) -> float | None:
    """baseline / value: above 1.0 is better than the baseline (lower is better for every objective)."""
    if baseline is None or value is None or value <= 0:
        return None
    return baseline / value


def _relative(reference: float | None, value: float) -> str:
    if reference is None or reference == 0:
        return "no reference"
    change = (value - reference) / reference * 100
    if abs(change) < 0.05:
        return "the same"
    return f"{abs(change):.1f}% {'lower (better)' if change < 0 else 'higher (worse)'}"


def attempt_feedback(a: Attempt, objective: Objective, action: str, baseline_pipeline: str,
                     baseline_value: float, best_before: float | None, output_checked: bool = False) -> str:
    candidate = a.candidate.short(200)
    if a.status == "ok" and a.value is not None:
        return render(
            "feedback_ok.j2", candidate=candidate, metric=METRIC_NAMES[objective.value], value=a.value,
            prediction=a.prediction, baseline_pipeline=baseline_pipeline, baseline_value=baseline_value,
            vs_baseline=_relative(baseline_value, a.value), best_value=best_before,
            vs_best=_relative(best_before, a.value), output_checked=output_checked,
        )
    return render(_TEMPLATE.get(a.status, "feedback_sandbox_error.j2"), candidate=candidate,
                  error=a.error or a.status, status=a.status, action=action)


def step_feedback(items: list[str], objective: Objective, action: str, history: list[Attempt],
                  best: Attempt | None, baseline_pipeline: str, baseline_value: float,
                  evaluations_left: int) -> str:
    recent = [
        {"status": h.status, "value": h.value, "candidate": h.candidate.short(120)}
        for h in history[-HISTORY_LINES:]
    ]
    return render(
        "feedback_step.j2", items=items, metric=METRIC_NAMES[objective.value],
        best_pipeline=best.candidate.short(200) if best else None,
        best_value=best.value if best else None,
        improvement=improvement(baseline_value, best.value if best else None),
        baseline_pipeline=baseline_pipeline, baseline_value=baseline_value, evaluations_left=evaluations_left,
        history=recent, action=action,
    )


def no_candidate_feedback(error: str) -> str:
    return render("feedback_no_candidate.j2", error=error)
