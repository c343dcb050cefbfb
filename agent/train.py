"""`optloop train`: fine-tune (or train from scratch) a small causal LM on exported trajectories.

Rows of any export format become (prompt, target) texts in exactly the formats the `hf`
proposer uses at inference: `chat` rows through prompts/hf_chat.j2, `llm-compiler` rows as
their prompt/completion, `pairs` rows (unoptimized IR + best pipeline) as LLM Compiler
prompts.  Without `base`, a byte-level BPE tokenizer and a 2-layer GPT-2 are trained from
scratch.  The loss covers the target tokens only.  The closing evaluation is offline: it
checks the syntax of the generated pipelines and compares predicted with recorded counts;
measuring the pipelines in the sandbox is left to `optloop optimize --proposer hf`.
torch, transformers and tokenizers are imported inside the functions that use them.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from optloop.agent.proposers.hf_proposer import (
    END,
    META_FILE,
    PAD,
    ROLE_TOKENS,
    PromptFormat,
    chat_prompt,
    context_length,
    generate,
    llm_compiler_prompt,
    parse_answer,
    truncate_middle,
)

# opt-19's transform passes (from `opt-19 --print-passes`, less printers, verifiers,
# sanitizers, instrumentation and target-specific lowering), plus its pipeline keywords.
KNOWN_PASSES: frozenset[str] = frozenset("""
adce add-discriminators aggressive-instcombine alignment-from-assumptions always-inline argpromotion
assume-simplify atomic-expand attributor attributor-cgscc attributor-light attributor-light-cgscc
bdce break-crit-edges called-value-propagation callsite-splitting canon-freeze canonicalize-aliases
cg-profile chr codegenprepare consthoist constmerge constraint-elimination correlated-propagation
dce deadargelim dfa-jump-threading div-rem-pairs dse early-cse ee-instrument elim-avail-extern
expand-large-div-rem expand-large-fp-convert expand-memcmp extract-blocks fix-irreducible flatten-cfg
float2int forceattrs function-attrs global-merge globaldce globalopt globalsplit guard-widening
gvn gvn-hoist gvn-sink hardware-loops hotcoldsplit indirectbr-expand indvars infer-address-spaces
infer-alignment inferattrs inline inliner-wrapper inliner-wrapper-no-mandatory-first instcombine
instcount instnamer instsimplify interleaved-access interleaved-load-combine internalize ipsccp irce
iroutliner jump-table-to-switch jump-threading lcssa libcalls-shrinkwrap licm lnicm load-store-vectorizer
loop-bound-split loop-data-prefetch loop-deletion loop-distribute loop-extract loop-flatten loop-fusion
loop-idiom loop-instsimplify loop-interchange loop-load-elim loop-predication loop-reduce loop-rotate
loop-simplify loop-simplifycfg loop-sink loop-unroll loop-unroll-and-jam loop-unroll-full loop-vectorize
loop-versioning loop-versioning-licm lower-atomic lower-constant-intrinsics lower-emutls lower-expect
lower-global-dtors lower-guard-intrinsic lower-ifunc lower-invoke lower-matrix-intrinsics lower-switch
lower-widenable-condition make-guards-explicit mem2reg memcpyopt mergefunc mergeicmps mergereturn
mldst-motion module-inline move-auto-init name-anon-globals nary-reassociate newgvn partial-inliner
partially-inline-libcalls pre-isel-intrinsic-lowering reassociate recompute-globalsaa
redundant-dbg-inst-elim reg2mem rel-lookup-table-converter rewrite-symbols rpo-function-attrs
scalarize-masked-mem-intrin scalarizer scc-oz-module-inliner sccp select-optimize
separate-const-offset-from-gep simple-loop-unswitch simplifycfg sink slp-vectorizer slsr
speculative-execution sroa strip strip-dead-debug-info strip-dead-prototypes strip-debug-declare
strip-nondebug strip-nonlinetable-debuginfo structurizecfg tailcallelim tlshoist transform-warning
typepromotion unify-loop-exits vector-combine
module cgscc function loop loop-mssa repeat require invalidate default function-simplification
thinlto-pre-link thinlto lto-pre-link lto verify no-op-module no-op-function no-op-loop no-op-cgscc
""".split())
_ELEMENT = re.compile(r"([A-Za-z0-9_.-]+)")
_EVAL_LIMIT = 200  # held-out prompts generated for at the end
_MIN_VOCAB, _VOCAB = 256, 3000


def check_pipeline(text: str) -> str | None:
    """None when `text` is a syntactically plausible opt-19 pipeline of known passes, else why not.

    Grammar: element (',' element)*, element = name ('<' params '>')? ('(' pipeline ')')?,
    with balanced brackets.  Parameters are not checked."""
    s, pos, depth = text.strip(), 0, 0
    if not s:
        return "empty pipeline"
    while True:
        m = _ELEMENT.match(s, pos)
        if not m:
            return f"expected a pass name at position {pos}"
        if m.group(1) not in KNOWN_PASSES:
            return f"unknown pass {m.group(1)!r}"
        pos = m.end()
        if pos < len(s) and s[pos] == "<":
            level = 0
            for end in range(pos, len(s)):
                level += {"<": 1, ">": -1}.get(s[end], 0)
                if level == 0:
                    break
            if level:
                return "unbalanced '<'"
            pos = end + 1
        if pos < len(s) and s[pos] == "(":
            depth, pos = depth + 1, pos + 1
            continue
        while pos < len(s) and s[pos] == ")":
            if depth == 0:
                return f"unbalanced ')' at position {pos}"
            depth, pos = depth - 1, pos + 1
        if pos == len(s):
            return "unbalanced '('" if depth else None
        if s[pos] != ",":
            return f"unexpected {s[pos]!r} at position {pos}"
        pos += 1


@dataclass
class Example:
    """One training pair, in the text format the proposer uses at inference."""

    prompt: str
    target: str  # what the model must produce (without the stop token)
    fmt: PromptFormat
    action: str = "passes"
    reference: str | None = None  # the recorded pipeline, when the row has one
    before: float | None = None  # instruction count of the unoptimized IR
    after: float | None = None  # instruction count after the recorded pipeline


def _get(row: dict[str, Any], *keys: str) -> Any:
    for where in (row, row.get("meta") or {}, row.get("metadata") or {}):
        if isinstance(where, dict):
            for k in keys:
                if where.get(k) is not None:
                    return where[k]
    return None


def _num(value: Any) -> float | None:
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def row_format(row: dict[str, Any]) -> str | None:
    if isinstance(row.get("messages"), list):
        return "chat"
    if ("prompt" in row and "completion" in row) or ("input" in row and "output" in row):
        return "llm-compiler"
    if "ir_in" in row and "pipeline" in row:
        return "pairs"
    return None


def to_example(row: dict[str, Any]) -> Example | None:
    """A row of any export format -> an Example (None for a row without a usable answer)."""
    kind = row_format(row)
    before = _num(_get(row, "instcount_before", "ir_instruction_count_before"))
    after = _num(_get(row, "instcount_after", "ir_instruction_count_after"))
    action = str(_get(row, "action") or "passes")
    objective = str(_get(row, "objective") or "size")
    if kind == "chat":
        messages = [m for m in row["messages"] if isinstance(m, dict) and "role" in m and "content" in m]
        last = max((i for i, m in enumerate(messages) if m["role"] == "assistant"), default=None)
        if not last:  # no answer, or an answer to nothing
            return None
        prompt = chat_prompt([{"role": m["role"], "content": str(m["content"])} for m in messages[:last]])
        target = str(messages[last]["content"]).strip()
        parsed = parse_answer(target, "chat", action)
        reference = parsed.candidates[0].text if parsed.candidates else _get(row, "pipeline")
        return Example(prompt, target, "chat", action, reference, before, after)
    if kind == "llm-compiler":
        prompt = str(row.get("prompt", row.get("input", "")))
        target = str(row.get("completion", row.get("output", "")))
        if "[INST]" not in prompt:  # `input` holding the bare IR
            prompt = llm_compiler_prompt(prompt, objective)
        if "Run passes" not in target and "<code>" not in target:  # `output` holding the bare pipeline
            target = _llm_compiler_answer(target.strip(), after)
        parsed = parse_answer(target, "llm-compiler", action)
        reference = parsed.candidates[0].text if parsed.candidates else _get(row, "pipeline")
        return Example(prompt, target, "llm-compiler", action, reference, before, after)
    if kind == "pairs":  # rows of `ir`-action sessions have no pipeline: nothing to learn here
        pipeline = str(row["pipeline"] or "").strip()
        if not pipeline or not row["ir_in"]:
            return None
        after = after if after is not None else _num((row.get("metrics") or {}).get("ir_instruction_count"))
        target = _llm_compiler_answer(pipeline, after)
        return Example(llm_compiler_prompt(str(row["ir_in"]), objective), target, "llm-compiler", "passes",
                       pipeline, before, after)
    return None


def _llm_compiler_answer(pipeline: str, count: float | None) -> str:
    """The completion `optloop export` writes for llm-compiler rows."""
    tail = f" to get instruction count {int(count)}" if count is not None else ""
    return f"Run passes `{pipeline}`{tail}"


def load_rows(path: Path) -> list[dict[str, Any]]:
    rows = []
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if line.strip():
            try:
                row = json.loads(line)
            except ValueError as e:
                raise ValueError(f"{path}:{n}: not a JSON line ({e})") from e
            if isinstance(row, dict):
                rows.append(row)
    return rows


def _row_hash(row: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(row, sort_keys=True).encode()).hexdigest()


Rows = list[dict[str, Any]]


def split_rows(data: Path, rows: Rows) -> tuple[Rows, Rows, str]:
    """(train, test, where the test rows came from): `<stem>.test.jsonl` next to the data when
    it exists, else the 10% of rows with the smallest content hash (deterministic)."""
    test_file = data.with_name(f"{data.stem}.test.jsonl")
    if test_file.is_file() and test_file.resolve() != data.resolve():
        return rows, load_rows(test_file), str(test_file)
    if len(rows) < 2:
        return rows, [], "none"
    order = sorted(range(len(rows)), key=lambda i: _row_hash(rows[i]))
    held = set(order[: max(1, len(rows) // 10)])
    return [r for i, r in enumerate(rows) if i not in held], [rows[i] for i in sorted(held)], "hash-10%"


def _new_tokenizer(texts: list[str]) -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=_VOCAB, special_tokens=[PAD, END, *ROLE_TOKENS], show_progress=False,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tok.train_from_iterator(texts, trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=tok, eos_token=END, pad_token=PAD, extra_special_tokens=list(ROLE_TOKENS),
    )  # no model_max_length: prompts are cut to the model's n_positions by truncate_middle


def _encode(tok: Any, ex: Example, max_len: int) -> tuple[list[int], list[int]]:
    """(prompt ids, target ids): a chat answer ends with <|end|>, an LLM Compiler answer with
    the tokenizer's eos; targets are capped at half the context."""
    stop = tok.convert_tokens_to_ids(END) if ex.fmt == "chat" else tok.eos_token_id
    prompt = tok(ex.prompt)["input_ids"]
    target = tok(ex.target + (END if ex.fmt == "chat" else ""), add_special_tokens=False)["input_ids"]
    if not target or target[-1] != stop:
        target.append(stop)
    return prompt, target[: max_len // 2]


def _sample(prompt: list[int], target: list[int], max_len: int, rng: random.Random) -> tuple[list[int], list[int]]:
    """(input ids, labels) with the loss on the target only.  A prompt too long for the context
    loses its middle, by a random amount: the proposer keeps `max_len - max_new_tokens` tokens
    (at least half the context), and with learned positions a model that only ever saw its
    answers start at one position does not answer anywhere else."""
    room = max_len - len(target)
    if len(prompt) > room:
        prompt = truncate_middle(prompt, rng.randint(min(room, max_len // 2), room))
    return prompt + target, [-100] * len(prompt) + target


def train(
    data: Path, out: Path, steps: int = 200, base: Path | None = None, batch_size: int = 8,
    lr: float = 5e-4, max_len: int = 512, seed: int = 0,
    progress: Callable[[int, int, float], None] | None = None, device: str | None = None,
) -> dict[str, Any]:
    """Train on `data` (JSONL, any export format), save model + tokenizer + optloop.json to `out`,
    and return the report (also written into optloop.json)."""
    try:
        import torch
    except ImportError as e:
        raise ImportError(f"optloop train needs torch and transformers (pip install 'optloop[train]'): {e}") from e

    data, out = Path(data), Path(out)
    started = time.monotonic()
    rows = load_rows(data)
    train_rows, test_rows, test_source = split_rows(data, rows)
    examples = [e for e in map(to_example, train_rows) if e is not None]
    tests = [e for e in map(to_example, test_rows) if e is not None]
    if not examples:
        raise ValueError(f"{data}: no usable training rows (expected chat, llm-compiler or pairs JSONL)")
    fmt: PromptFormat = Counter(e.fmt for e in examples).most_common(1)[0][0]
    data_formats = Counter(filter(None, map(row_format, rows)))
    objectives = Counter(str(o) for o in (_get(r, "objective") for r in rows) if o)

    random.seed(seed)
    torch.manual_seed(seed)
    dev = torch.device(device or ("cuda" if torch.cuda.is_available() else "cpu"))
    model, tok = _model_and_tokenizer(base, examples, max_len)
    max_len = min(max_len, context_length(model, tok) or max_len)
    encoded = [_encode(tok, e, max_len) for e in examples]
    model.to(dev)
    model.train()
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=0.01)
    warmup = max(1, min(20, steps // 10))
    sched = torch.optim.lr_scheduler.LambdaLR(
        opt, lambda s: min(1.0, (s + 1) / warmup) * max(0.1, 1.0 - s / max(1, steps)))
    rng = random.Random(seed)
    order: list[int] = []
    losses: list[float] = []
    tokens_seen = 0
    for step in range(steps):
        batch = []
        for _ in range(min(batch_size, len(encoded))):
            if not order:
                order = list(range(len(encoded)))
                rng.shuffle(order)
            batch.append(_sample(*encoded[order.pop()], max_len, rng))
        width = max(len(ids) for ids, _ in batch)
        ids = torch.full((len(batch), width), tok.pad_token_id, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, (x, y) in enumerate(batch):
            ids[i, : len(x)], labels[i, : len(y)], mask[i, : len(x)] = torch.tensor(x), torch.tensor(y), 1
        loss = model(input_ids=ids.to(dev), attention_mask=mask.to(dev), labels=labels.to(dev)).loss
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(float(loss.item()))
        tokens_seen += int(mask.sum())
        if progress:
            progress(step + 1, steps, losses[-1])

    model.eval()
    evaluation = evaluate(model, tok, tests, max_len, max(len(y) for _, y in encoded) + 8, seed)
    k = max(1, min(10, len(losses) // 5))
    report: dict[str, Any] = {
        "format": fmt,
        "data_formats": dict(data_formats),
        "objective": objectives.most_common(1)[0][0] if objectives else None,
        "max_len": max_len,
        "data": str(data),
        "data_sha256": hashlib.sha256(data.read_bytes()).hexdigest(),
        "base": str(base) if base else None,
        "rows": len(rows),
        "train_examples": len(examples),
        "test_rows": len(test_rows),
        "test_source": test_source,
        "steps": steps,
        "batch_size": batch_size,
        "lr": lr,
        "seed": seed,
        "device": str(dev),
        "tokens_seen": tokens_seen,
        "loss_first": sum(losses[:k]) / k if losses else None,
        "loss_last": sum(losses[-k:]) / k if losses else None,
        "loss_curve": [round(x, 4) for x in losses[:: max(1, len(losses) // 50)]],
        **evaluation,
        "seconds": round(time.monotonic() - started, 2),
    }
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    tok.save_pretrained(out)
    meta = {"trained_by": "optloop", "version": 1, "format": fmt, "max_len": max_len,
            "objective": report["objective"], "data_sha256": report["data_sha256"], "report": report}
    (out / META_FILE).write_text(json.dumps(meta, indent=2) + "\n", encoding="utf-8")
    return report


def _model_and_tokenizer(base: Path | None, examples: list[Example], max_len: int) -> tuple[Any, Any]:
    from transformers import AutoModelForCausalLM, AutoTokenizer, GPT2Config, GPT2LMHeadModel

    if base is not None:
        tok = AutoTokenizer.from_pretrained(base, local_files_only=True)
        model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True)
        if any(e.fmt == "chat" for e in examples):
            missing = [t for t in (END, *ROLE_TOKENS) if t not in tok.get_vocab()]
            if missing:
                tok.add_tokens(missing, special_tokens=True)
        if tok.eos_token is None:
            tok.add_special_tokens({"eos_token": END})
        if tok.pad_token is None:
            tok.pad_token = tok.eos_token
        embeddings: Any = model.get_input_embeddings()
        if len(tok) > int(embeddings.weight.shape[0]):
            model.resize_token_embeddings(len(tok))
        return model, tok
    tok = _new_tokenizer([t for e in examples for t in (e.prompt, e.target)])
    config = GPT2Config(
        vocab_size=max(_MIN_VOCAB, len(tok)), n_positions=max_len, n_embd=128, n_layer=2, n_head=4,
        bos_token_id=tok.eos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    return GPT2LMHeadModel(config), tok


def evaluate(model: Any, tok: Any, tests: list[Example], max_len: int, max_new_tokens: int,
             seed: int) -> dict[str, Any]:
    """Greedy answers to held-out prompts, checked offline (no sandbox): how many parse into a
    syntactically valid pipeline, how many equal the recorded one, and the predicted counts
    against the recorded counts of the rows that carry them."""
    valid = exact = parsed_n = 0
    pred_impr: list[float] = []
    ref_impr: list[float] = []
    abs_err: list[float] = []
    sample: list[str] = []
    tests = tests[:_EVAL_LIMIT]
    for i, ex in enumerate(tests):
        texts, _, _ = generate(model, tok, ex.prompt, n=1, temperature=0.0, max_new_tokens=max_new_tokens,
                               seed=seed + i, context_len=max_len)
        answer = parse_answer(texts[0], ex.fmt, ex.action)
        if len(sample) < 3:
            sample.append(texts[0][:200])
        if not answer.candidates:
            continue
        parsed_n += 1
        cand, pred = answer.candidates[0], (answer.predictions or [None])[0]
        ok = check_pipeline(cand.text) is None if cand.kind == "passes" else "define " in cand.text
        valid += ok
        exact += ex.reference is not None and cand.text == ex.reference
        if ex.before and ex.after:
            ref_impr.append(ex.before / ex.after)
            if pred and pred > 0:
                pred_impr.append(ex.before / pred)
                abs_err.append(abs(pred - ex.after))
    n = len(tests)

    def mean(xs: list[float]) -> float | None:
        return round(sum(xs) / len(xs), 4) if xs else None

    def rate(k: int) -> float | None:
        return k / n if n else None  # None: no held-out rows to evaluate on

    return {
        "eval_rows": n,
        "parsed_rate": rate(parsed_n),
        "valid_rate": rate(valid),  # parsed and passes check_pipeline (syntax + known pass names)
        "exact_match_rate": rate(exact),  # identical to the pipeline recorded in the row
        # The model's own prediction for its own pipeline vs the recorded count of the row's
        # pipeline: an offline proxy, not a measured improvement.
        "mean_predicted_improvement": mean(pred_impr),
        "mean_recorded_improvement": mean(ref_impr),
        "prediction_abs_error_vs_recorded": mean(abs_err),
        "eval_samples": sample,
    }
