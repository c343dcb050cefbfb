"""The `hf` proposer: a local transformers causal LM read from a folder, never downloaded.

Two prompt formats.  `chat`: the conversation of `chat.build_messages` rendered as plain
text with role markers (prompts/hf_chat.j2), the format `optloop train` uses.
`llm-compiler`: Meta's LLM Compiler FTD prompt (prompts/llm_compiler.j2), whose answer is
"Run passes `-pass1 -pass2` to get instruction count N"; the old-style flags become an
opt-19 pipeline and N the prediction.  torch and transformers are imported on use only.
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from optloop.agent.prompting import llm_compiler_prompt, render
from optloop.sandbox import Candidate, Objective

from .base import Context, Proposal

PromptFormat = Literal["chat", "llm-compiler"]
META_FILE = "optloop.json"  # written by `optloop train` next to the weights
END = "<|end|>"  # closes every chat message (and is the eos of optloop's own tokenizers)
PAD = "<|pad|>"
ROLE_TOKENS = ("<|system|>", "<|user|>", "<|assistant|>")
SAMPLE_SEPARATOR = "\n\n----- next sample -----\n\n"

# Legacy-pass-manager flags LLM Compiler emits whose opt-19 name differs; None drops the flag
# (analyses and passes that no longer exist: the new pass manager schedules analyses itself).
_LEGACY_RENAMES: dict[str, str | None] = {
    "functionattrs": "function-attrs",
    "rpo-functionattrs": "rpo-function-attrs",
    "loweratomic": "lower-atomic",
    "lowerswitch": "lower-switch",
    "lowerinvoke": "lower-invoke",
    "loop-unswitch": "simple-loop-unswitch",
    "constprop": "instsimplify",
    "ipconstprop": "ipsccp",
    "die": "dce",
    "flattencfg": "flatten-cfg",
    "early-cse-memssa": "early-cse<memssa>",
    "post-inline-ee-instrument": "ee-instrument<post-inline>",
    "barrier": None,
    "prune-eh": None,
    "basicaa": None,
    "basic-aa": None,
    "tbaa": None,
    "scoped-noalias": None,
    "scoped-noalias-aa": None,
    "globals-aa": None,
    "cfl-anders-aa": None,
    "cfl-steens-aa": None,
    "domtree": None,
    "loops": None,
    "memoryssa": None,
    "scalar-evolution": None,
    "targetlibinfo": None,
    "tti": None,
    "verify": None,
}
_OPT_LEVEL = re.compile(r"O[0-3sz]")


class ModelLoadError(ValueError):
    """The folder is not a transformers causal LM that loads offline."""


@dataclass
class ParsedAnswer:
    """One generation, parsed (the fields of parsing.ParsedResponse)."""

    candidates: list[Candidate] = field(default_factory=list)
    predictions: list[float | None] = field(default_factory=list)
    rationale: str | None = None
    error: str | None = None


def chat_prompt(messages: list[dict[str, str]]) -> str:
    """The text a chat-format model continues: the rendered chat, then the assistant marker."""
    return render("hf_chat.j2", messages=messages, add_generation_prompt=True) + "\n"


def flags_to_pipeline(flags: str) -> str:
    """`-mem2reg -instcombine` (legacy opt flags) -> `mem2reg,instcombine` (an opt-19 pipeline)."""
    passes: list[str] = []
    for flag in flags.replace(",", " ").split():
        name = flag.lstrip("-").strip()
        if name.startswith("passes="):  # `-passes=a,b` is already a new-PM pipeline
            passes.append(name.removeprefix("passes="))
            continue
        if not name:
            continue
        if _OPT_LEVEL.fullmatch(name):
            passes.append(f"default<{name}>")
            continue
        renamed = _LEGACY_RENAMES.get(name, name)
        if renamed:
            passes.append(renamed)
    return ",".join(passes)


_RUN_PASSES = re.compile(r"Run passes\s*`([^`]*)`", re.IGNORECASE)
_RUN_PASSES_BARE = re.compile(r"Run passes\s+((?:-[\w<>;=.-]+\s*)+)", re.IGNORECASE)
_COUNT = re.compile(r"instruction count (?:of )?(\d+)", re.IGNORECASE)
_CODE = re.compile(r"<code>(.*?)(?:</code>|$)", re.DOTALL)


def parse_llm_compiler(text: str, action: str = "passes") -> ParsedAnswer:
    """Parse an LLM Compiler answer; never raises.  Backquoted text that is already a comma
    pipeline is kept as it is; for the `ir` action a `<code>` block is the module."""
    count_m = _COUNT.search(text)
    prediction = float(count_m.group(1)) if count_m else None
    if action == "ir":
        code = _CODE.search(text)
        if code and "define" in code.group(1):
            return ParsedAnswer([Candidate.ir(code.group(1).strip() + "\n")], [prediction])
    m = _RUN_PASSES.search(text) or _RUN_PASSES_BARE.search(text)
    if not m:
        return ParsedAnswer(error="no `Run passes ...` pass list in the answer")
    raw = m.group(1).strip()
    pipeline = flags_to_pipeline(raw) if raw.startswith("-") or " -" in raw else raw.replace(" ", "")
    if not pipeline:
        return ParsedAnswer(error=f"empty pass list in the answer: {raw[:80]!r}")
    rationale = "llm-compiler answered a pass list for the ir action" if action == "ir" else None
    return ParsedAnswer([Candidate.passes(pipeline)], [prediction], rationale=rationale)


def parse_answer(text: str, fmt: PromptFormat, action: str, n: int = 1) -> ParsedAnswer:
    """One generation in the given prompt format -> candidates; never raises."""
    if fmt == "llm-compiler":
        return parse_llm_compiler(text, action)
    try:
        from .parsing import parse_response

        r = parse_response(text, action, n)
        return ParsedAnswer(list(r.candidates), list(r.predictions), r.rationale, r.error)
    except Exception as e:  # noqa: BLE001 - a parser bug must not end the session
        return ParsedAnswer(error=f"could not parse the answer: {e}")


def read_meta(model_dir: Path) -> dict[str, Any]:
    """optloop.json of a folder trained by `optloop train` ({} when absent or unreadable)."""
    try:
        meta = json.loads((Path(model_dir) / META_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return meta if isinstance(meta, dict) else {}


def detect_format(model_dir: Path) -> PromptFormat:
    """optloop.json's format, else llm-compiler when the name or config says so, else chat."""
    meta = read_meta(model_dir)
    if meta.get("trained_by") == "optloop" and meta.get("format") in ("chat", "llm-compiler"):
        return meta["format"]  # type: ignore[no-any-return]
    names = [Path(model_dir).resolve().name]
    try:
        config = json.loads((Path(model_dir) / "config.json").read_text(encoding="utf-8"))
        names += [str(config.get("_name_or_path", "")), str(config.get("name_or_path", ""))]
    except (OSError, ValueError):
        pass
    if any(re.search(r"llm[-_ ]?compiler", n, re.IGNORECASE) for n in names):
        return "llm-compiler"
    return "chat"


def truncate_middle(ids: list[int], budget: int) -> list[int]:
    """Keep the first quarter and the last three quarters of `budget` tokens (the system
    prompt and the newest feedback survive; the middle of a long IR goes)."""
    if budget <= 0 or len(ids) <= budget:
        return ids if budget > 0 else ids[-1:]
    head = budget // 4
    return ids[:head] + ids[len(ids) - (budget - head):]


def context_length(model: Any, tokenizer: Any, meta: dict[str, Any] | None = None) -> int | None:
    """How many positions the model takes, when anything says so."""
    for value in (
        (meta or {}).get("max_len"),
        getattr(model.config, "n_positions", None),
        getattr(model.config, "max_position_embeddings", None),
    ):
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    return limit if isinstance(limit, int) and 0 < limit < 1_000_000 else None


def stop_ids(tokenizer: Any) -> list[int]:
    ids = {tokenizer.eos_token_id} if tokenizer.eos_token_id is not None else set()
    end = tokenizer.convert_tokens_to_ids(END)
    if isinstance(end, int) and end != tokenizer.unk_token_id and end >= 0:
        ids.add(end)
    return sorted(ids)


def generate(
    model: Any, tokenizer: Any, prompt: str, *, n: int, temperature: float, max_new_tokens: int,
    seed: int, context_len: int | None,
) -> tuple[list[str], int, int]:
    """`n` continuations of `prompt` -> (texts, prompt tokens, completion tokens)."""
    import torch

    ids: list[int] = tokenizer(prompt)["input_ids"]
    new = max_new_tokens if context_len is None else max(1, min(max_new_tokens, context_len // 2))
    if context_len is not None:
        ids = truncate_middle(ids, context_len - new)
    device = next(model.parameters()).device
    input_ids = torch.tensor([ids], device=device)
    stops = stop_ids(tokenizer)
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else (stops or [0])[0]
    sampling: dict[str, Any] = (
        {"do_sample": True, "temperature": temperature, "top_k": 0, "top_p": 1.0}
        if temperature > 0 else {"do_sample": False}
    )
    devices = [device.index or 0] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices), torch.no_grad():
        torch.manual_seed(seed)
        out = model.generate(
            input_ids, attention_mask=torch.ones_like(input_ids), max_new_tokens=new,
            num_return_sequences=n, eos_token_id=stops or None, pad_token_id=pad, **sampling,
        )
    texts, completion = [], 0
    for seq in out.tolist():
        gen = seq[len(ids):]
        cut = next((i for i, t in enumerate(gen) if t in stops), len(gen))
        completion += min(cut + 1, len(gen))
        texts.append(tokenizer.decode(gen[:cut], skip_special_tokens=True))
    return texts, len(ids), completion


def load(model_dir: Path, device: str | None = None) -> tuple[Any, Any]:
    """(model, tokenizer) from a local folder, offline; ModelLoadError in one line otherwise."""
    path = Path(model_dir)
    if not path.is_dir():
        raise ModelLoadError(f"model folder {path} does not exist")
    if not (path / "config.json").is_file():
        raise ModelLoadError(f"{path} is not a transformers model folder (no config.json)")
    try:
        import torch
        from transformers import AutoModelForCausalLM, AutoTokenizer

        tokenizer = AutoTokenizer.from_pretrained(path, local_files_only=True)
        model: Any = AutoModelForCausalLM.from_pretrained(path, local_files_only=True)
        model.to(torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu")))
        model.eval()
    except ImportError as e:
        hint = "pip install 'optloop[train]'"
        raise ModelLoadError(f"the hf proposer needs torch and transformers ({hint}): {e}") from e
    except Exception as e:  # noqa: BLE001 - transformers raises OSError, ValueError, KeyError...
        first = (str(e).strip().splitlines() or [type(e).__name__])[0]
        raise ModelLoadError(f"{path} is not a loadable causal LM: {first}") from e
    if tokenizer.pad_token_id is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return model, tokenizer


class HFProposer:
    """Proposes with a local causal LM; `ctx.n` samples per step, seeded by ctx.seed + ctx.step."""

    name = "hf"

    def __init__(
        self, model_dir: Path, max_new_tokens: int = 256, temperature: float = 0.7,
        device: str | None = None, prompt_format: Literal["auto", "chat", "llm-compiler"] = "auto",
    ):
        self.model_dir = Path(model_dir)
        self.model: str | None = str(self.model_dir)
        self.max_new_tokens = max_new_tokens
        self.temperature = temperature
        self._lm, self._tokenizer = load(self.model_dir, device)
        self._meta = read_meta(self.model_dir)
        self.prompt_format: PromptFormat = (
            detect_format(self.model_dir) if prompt_format == "auto" else prompt_format
        )
        self._context_len = context_length(self._lm, self._tokenizer, self._meta)

    def prompt(self, ctx: Context) -> tuple[list[dict[str, str]], str]:
        """(messages as recorded, the exact text the model continues)."""
        if self.prompt_format == "llm-compiler":
            text = llm_compiler_prompt(ctx.ir, Objective(ctx.objective).value)
            return [{"role": "user", "content": text}], text
        from .chat import build_messages

        messages = build_messages(ctx)
        return messages, chat_prompt(messages)

    def propose(self, ctx: Context) -> Proposal:
        start = time.monotonic()
        messages: list[dict[str, str]] = []
        try:
            messages, text = self.prompt(ctx)
            texts, prompt_tokens, completion_tokens = generate(
                self._lm, self._tokenizer, text, n=max(1, ctx.n), temperature=self.temperature,
                max_new_tokens=self.max_new_tokens, seed=ctx.seed + ctx.step, context_len=self._context_len,
            )
        except Exception as e:  # noqa: BLE001 - a failed step, not a crashed session
            return Proposal(
                candidates=[], messages=messages, error=f"generation failed: {type(e).__name__}: {e}",
                latency_s=time.monotonic() - start,
            )
        candidates: list[Candidate] = []
        predictions: list[float | None] = []
        rationale: str | None = None
        errors: list[str] = []
        for generated in texts:
            parsed = parse_answer(generated, self.prompt_format, ctx.action, max(1, ctx.n))
            if parsed.error and not parsed.candidates:
                errors.append(parsed.error)
            rationale = rationale or parsed.rationale
            for i, cand in enumerate(parsed.candidates):
                if cand.key not in {c.key for c in candidates}:
                    candidates.append(cand)
                    predictions.append(parsed.predictions[i] if i < len(parsed.predictions) else None)
        error = None
        if not candidates:
            why = errors[0] if errors else "empty output"
            error = f"no usable candidate in {len(texts)} generation(s): {why}"
        keep = max(1, ctx.n)
        return Proposal(
            candidates=candidates[:keep], predictions=predictions[:keep], rationale=rationale,
            messages=messages, response=SAMPLE_SEPARATOR.join(texts), error=error,
            latency_s=time.monotonic() - start, prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
        )
