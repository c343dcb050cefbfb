"""One pydantic config tree for a session: from flags, environment and an optional TOML/YAML file.

The resolved config is stored with every session.  Proposers are a union picked
by their `type`; each backend is imported only when it is built.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal

from optloop.sandbox import Limits, Objective
from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SearchConfig(_Strict):
    type: Literal["search"] = "search"
    strategy: Literal["evolution", "random", "greedy"] = "evolution"


class OpenAIConfig(_Strict):
    type: Literal["openai"] = "openai"
    model: str = "gpt-4o-mini"
    base_url: str | None = None  # OPENAI_BASE_URL when unset
    timeout_s: float = 120.0
    max_retries: int = 2
    temperature: float = 0.2
    structured: bool = True


class HFConfig(_Strict):
    type: Literal["hf"] = "hf"
    model: str  # a local folder
    temperature: float = 0.7
    max_new_tokens: int = 256


ProposerConfig = Annotated[SearchConfig | OpenAIConfig | HFConfig, Field(discriminator="type")]


class LimitsConfig(_Strict):
    compile_timeout_s: float = 60.0
    run_timeout_s: float = 10.0
    memory_mb: int = 2048
    output_kb: int = 1024
    processes: int = 64
    warmup_runs: int = 1
    timed_runs: int = 5

    def build(self) -> Limits:
        return Limits(
            compile_timeout_s=self.compile_timeout_s, run_timeout_s=self.run_timeout_s,
            memory_bytes=self.memory_mb << 20, output_bytes=self.output_kb << 10, processes=self.processes,
            warmup_runs=self.warmup_runs, timed_runs=self.timed_runs,
        )


class SessionConfig(_Strict):
    objective: Objective = Objective.INSTCOUNT
    action: Literal["passes", "ir"] = "passes"
    budget: int = Field(60, ge=1, description="evaluations, baseline excluded")
    max_steps: int | None = Field(None, ge=1)
    wall_clock_s: float | None = Field(None, gt=0)
    patience: int | None = Field(None, ge=1, description="steps without a new best before stopping")
    candidates_per_step: int = Field(0, ge=0, description="0: 4 for search, 1 for models")
    seed: int = 0
    sandbox: Literal["docker", "local"] = "docker"
    jobs: int | None = None
    limits: LimitsConfig = LimitsConfig()
    proposer: ProposerConfig = SearchConfig()
    out_dir: str | None = None

    @property
    def per_step(self) -> int:
        if self.candidates_per_step:
            return self.candidates_per_step
        return 4 if self.proposer.type == "search" else 1


def load_file(path: str | Path) -> dict[str, Any]:
    """A TOML or YAML config file (the same keys as SessionConfig)."""
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"config file {path}: not found")
    text = p.read_text()
    if p.suffix in (".yaml", ".yml"):
        import yaml

        data = yaml.safe_load(text) or {}
    else:
        data = tomllib.loads(text)
    if not isinstance(data, dict):
        raise ValueError(f"config file {path}: expected a table of settings")
    return data


def resolve(file: str | None = None, **overrides: Any) -> SessionConfig:
    """File < environment (OPTLOOP_SANDBOX) < flags; None means "not given"."""
    data: dict[str, Any] = load_file(file) if file else {}
    if os.environ.get("OPTLOOP_SANDBOX"):
        data["sandbox"] = os.environ["OPTLOOP_SANDBOX"]
    proposer = dict(data.get("proposer") or {})
    for key in ("proposer_type", "model", "base_url", "strategy", "temperature"):
        value = overrides.pop(key, None)
        if value is not None:
            proposer["type" if key == "proposer_type" else key] = value
    if proposer:
        proposer.setdefault("type", "search")
        data["proposer"] = proposer
    limits = dict(data.get("limits") or {})
    for key in ("compile_timeout_s", "run_timeout_s"):
        value = overrides.pop(key, None)
        if value is not None:
            limits[key] = value
    if limits:
        data["limits"] = limits
    data.update({k: v for k, v in overrides.items() if v is not None})
    return SessionConfig.model_validate(data)
