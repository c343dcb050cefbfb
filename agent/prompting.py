"""Rendering the Jinja2 templates in optloop.prompts (StrictUndefined: a missing variable is a bug)."""

from __future__ import annotations

import functools
import importlib.resources
from typing import Any

import jinja2


@functools.cache
def _env() -> jinja2.Environment:
    root = importlib.resources.files("optloop.prompts")

    def load(name: str) -> str:
        return root.joinpath(name).read_text(encoding="utf-8")

    env = jinja2.Environment(
        loader=jinja2.FunctionLoader(load),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
        autoescape=False,
    )
    env.filters["num"] = _num
    return env


def _num(value: Any) -> str:
    """Numbers as a person reads them: integers bare, small floats with 4 significant digits."""
    if value is None:
        return "n/a"
    if isinstance(value, float):
        return f"{int(value)}" if value.is_integer() and abs(value) > 1 else f"{value:.4g}"
    return str(value)


def render(name: str, **variables: Any) -> str:
    return _env().get_template(name).render(**variables).strip()


# LLM Compiler's pass-list task names one goal ("object file size"); runtime asks for execution time.
_LLM_COMPILER_GOAL = {"instcount": "object file size", "size": "object file size", "runtime": "execution time"}


def llm_compiler_prompt(ir: str, objective: str = "size") -> str:
    """Meta LLM Compiler's prompt, the one text both `optloop export` and the hf proposer use."""
    return render("llm_compiler.j2", ir=ir, goal=_LLM_COMPILER_GOAL.get(str(objective), "object file size"))


def template_names() -> list[str]:
    root = importlib.resources.files("optloop.prompts")
    return sorted(p.name for p in root.iterdir() if p.name.endswith(".j2"))
