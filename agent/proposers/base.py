"""The one interface every proposer implements, and what it is shown.

A proposer never calls the sandbox: it returns candidates, and the graph's
evaluate step runs them.  What it sees of earlier steps is the Fast Feedback
(Grubisic et al. 2024): status, the tool's error text, the measured value
against its own prediction, and the change against the baseline and the best.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from optloop.sandbox import Candidate, Objective


@dataclass
class Attempt:
    """One evaluated candidate, as the proposers see it."""

    candidate: Candidate
    status: str  # a sandbox Status value
    value: float | None  # the objective's value when status is "ok"
    error: str | None = None
    prediction: float | None = None
    step: int = 0


@dataclass
class Turn:
    """One earlier step of a model conversation: what it answered, what it was told."""

    response: str  # the raw assistant message
    feedback: str  # the rendered feedback, sent as the next user message


@dataclass
class Context:
    """Everything a proposer may use to make the next proposal."""

    objective: Objective
    action: Literal["passes", "ir"]
    ir: str  # the unoptimized module
    ir_instruction_count: int
    ir_summary: dict[str, Any]  # sandbox.ir.summarize(ir): instruction mix, functions
    baseline_pipeline: str
    baseline_value: float
    best: Attempt | None  # the best correct candidate so far
    history: list[Attempt]  # every attempt so far, oldest first
    turns: list[Turn]  # the model conversation so far (empty for the search proposer)
    step: int  # 0-based index of the step being proposed
    evaluations_left: int
    n: int = 1  # how many candidates the graph would like
    seed: int = 0


@dataclass
class Proposal:
    """What a proposer returns.  An empty `candidates` with an `error` is a failed step."""

    candidates: list[Candidate]
    predictions: list[float | None] = field(default_factory=list)
    rationale: str | None = None
    messages: list[dict[str, str]] = field(default_factory=list)  # the exact prompt sent
    response: str | None = None  # the raw model response
    error: str | None = None  # why nothing usable came back (malformed, endpoint down, ...)
    latency_s: float = 0.0
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class Proposer(Protocol):
    name: str
    model: str | None

    def propose(self, ctx: Context) -> Proposal: ...
