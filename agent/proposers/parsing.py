"""Reading a model's answer: lenient about its shape, strict about what becomes a candidate.

The text is hostile model output.  `parse_response` never raises; whatever cannot be used
comes back as an `error` that the feedback step can show the model.  Accepted shapes, tried
in order: JSON (strict, in a fenced block, followed by prose, or with single quotes and
trailing commas); an `opt -passes='...'` command line; an LLM Compiler answer ("Run passes
`...` to get instruction count N"); a bare pipeline (alone, or alone in a fenced block); for
IR, an `ir` field or a ```llvm block.  A pipeline becomes a candidate only if it parses as
new-pass-manager syntax: `name<params>(nested,...)` elements joined by commas.
"""

from __future__ import annotations

import ast
import itertools
import json
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from optloop.sandbox import Candidate

MAX_RESPONSE_CHARS = 4 << 20  # longer responses are rejected before any parsing
MAX_PIPELINE_CHARS = 1 << 20
MAX_PASSES = 2000
MAX_DEPTH = 32  # nesting of adaptors such as module(cgscc(function(loop(...))))
MAX_RATIONALE_CHARS = 4000
_MAX_JSON_STARTS = 20  # '{' / '[' positions tried for JSON followed by prose
_MAX_FENCES = 50
_JSON_START = re.compile(r"\{\s*\"|\[\s*[{\"]")  # where JSON followed by prose may start (not IR's braces)
_MAX_REPAIR_CHARS = 256 << 10  # the best-effort repair (literal_eval) only below this size

PASS_KEYS = ("passes", "pipeline", "pass_pipeline", "pass_list")
IR_KEYS = ("ir", "module", "llvm_ir")
PREDICTION_KEYS = ("predicted_value", "prediction", "predicted")

_FORBIDDEN = set("|&$`\\!*?{}[]'\"#~^%/")  # never part of a pipeline (shell or path syntax)
_ELEMENT = re.compile(r"([A-Za-z0-9_.\-]+)(<[A-Za-z0-9_.\-=;:+]*>)?")
_SPACED = re.compile(r"\s*([,()<>;=])\s*")
# Free-text patterns are tried only where a cheap literal search finds their start, a bounded
# number of times, so that hostile text cannot make the regex engine scan it quadratically.
_FLAG_START = re.compile(r"(?:^|(?<=\s))--?passes\b")
_PASSES_FLAG = re.compile(r"--?passes(?:=|[ \t]{1,8})(?:'([^'\n]*)'|\"([^\"\n]*)\"|([^\s'\"]+))")
_LLM_START = re.compile(r"run passes", re.IGNORECASE)
_LLM_COMPILER = re.compile(
    r"run passes:?[ \t]+(`[^`\n]+`|[^\n]+?)[ \t]+to[ \t]+(?:get|reach|reduce|achieve|obtain)\b"
    r"([^\n<]{0,200})",
    re.IGNORECASE,
)
_MAX_TRIES = 20
_WINDOW = 1 << 16  # characters a free-text pattern may look at from its start
_NUMBER = re.compile(r"(-?\d[\d,]*(?:\.\d+)?(?:[eE][-+]?\d+)?)")


@dataclass
class ParsedResponse:
    candidates: list[Candidate] = field(default_factory=list)
    predictions: list[float | None] = field(default_factory=list)  # one per candidate
    rationale: str | None = None
    error: str | None = None  # set when no candidate survived
    rejected: list[str] = field(default_factory=list)  # why single candidates were dropped


def parse_response(text: str, action: str, n: int = 1) -> ParsedResponse:
    """Up to `n` candidates of kind `action` ("passes" or "ir") from a model's answer.  Never raises."""
    try:
        return _parse(text, action, max(1, int(n)))
    except Exception as exc:  # hostile input must not escape as an exception (RecursionError, ...)
        return ParsedResponse(error=f"unparseable response ({type(exc).__name__})")


def normalize_pipeline(text: str) -> tuple[str | None, str | None]:
    """(pipeline, None) in canonical form, or (None, why it is not a pipeline)."""
    if len(text) > MAX_PIPELINE_CHARS:
        return None, f"pipeline longer than {MAX_PIPELINE_CHARS} characters"
    s = _unquote(text)
    flags = _flag_values(s, 1)
    if flags:
        s = _unquote(flags[0])
    tokens = s.split()
    if tokens and all(t.startswith("-") and len(t) > 1 for t in tokens):  # legacy "-mem2reg -instcombine"
        s = ",".join(t.lstrip("-") for t in tokens)
    if "\n" in s or "\r" in s:
        return None, "pipeline contains a newline"
    bad = _first_metacharacter(s)
    if bad:
        return None, bad
    s = _SPACED.sub(r"\1", s).strip(",")
    if not s:
        return None, "empty pipeline"
    err = _check_grammar(s)
    return (None, err) if err else (s, None)


def _flag_values(text: str, limit: int) -> list[str]:
    """The values of `-passes=...` / `--passes '...'` options in a command line or prose."""
    out = []
    for start in itertools.islice(_FLAG_START.finditer(text), _MAX_TRIES):
        m = _PASSES_FLAG.match(text, start.start(), start.start() + _WINDOW)
        if m:
            out.append(next(g for g in m.groups() if g is not None))
            if len(out) >= limit:
                break
    return out


def _first_metacharacter(s: str) -> str | None:
    """The first character that has no place in a pipeline: shell syntax (';' only between <>)."""
    inside = False
    for ch in s:
        if ch in _FORBIDDEN or (ch == ";" and not inside):
            where = " outside pass parameters" if ch == ";" else ""
            return f"pipeline contains shell metacharacter {ch!r}{where}"
        inside = (inside or ch == "<") and ch != ">"
    return None


def _check_grammar(s: str) -> str | None:
    """None if `s` is `element(,element)*` with element = name<params>?(pipeline)?, else why not."""
    pos, depth, passes = 0, 0, 0
    expect = True  # an element is expected (at the start, after ',' or '(')
    may_nest = False  # '(' may follow (right after a name)
    while pos < len(s):
        ch = s[pos]
        if expect:
            m = _ELEMENT.match(s, pos)
            if not m:
                return _unexpected(s, pos, "a pass name")
            passes += 1
            if passes > MAX_PASSES:
                return f"pipeline has more than {MAX_PASSES} passes"
            pos, expect, may_nest = m.end(), False, True
        elif ch == "(" and may_nest:
            depth += 1
            if depth > MAX_DEPTH:
                return f"pipeline nested deeper than {MAX_DEPTH} levels"
            pos, expect = pos + 1, True
        elif ch == ",":
            pos, expect = pos + 1, True
        elif ch == ")":
            if depth == 0:
                return f"unbalanced ')' at position {pos}"
            depth, pos, may_nest = depth - 1, pos + 1, False
        else:
            return _unexpected(s, pos, "',', '(' or ')'")
    if expect:
        return "pipeline ends where a pass name is expected"
    if depth:
        return "unbalanced '(' in pipeline"
    return None


def _unexpected(s: str, pos: int, wanted: str) -> str:
    ch = s[pos]
    if ch in ";<>":
        return f"pipeline contains shell metacharacter {ch!r} outside pass parameters"
    if ch.isspace():
        return "pipeline contains whitespace inside a pass name or between passes without ','"
    return f"unexpected {ch!r} at position {pos} of the pipeline (expected {wanted})"


def _unquote(text: str) -> str:
    s = text.strip()
    for _ in range(4):  # `'...'`, "```...```": a few layers, never a quadratic loop
        if len(s) >= 2 and s[0] == s[-1] and s[0] in "'\"`":
            s = s.lstrip(s[0]).strip() if len(s) == s.count(s[0]) else s[1:-1].strip()
    return s


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        m = _NUMBER.search(value)
        value = m.group(1).replace(",", "") if m else None
    try:
        x = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return None
    return x if math.isfinite(x) else None


def _text(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip():
        return None
    value = value.strip()
    return value if len(value) <= MAX_RATIONALE_CHARS else value[: MAX_RATIONALE_CHARS - 3] + "..."


# --- finding JSON ------------------------------------------------------------------------------


def _fences(text: str) -> list[tuple[str, str]]:
    """(language tag, body) of ``` fenced blocks; split-based, so linear on hostile input."""
    parts = text.split("```", 2 * _MAX_FENCES + 1)[1 : 2 * _MAX_FENCES : 2]
    out = []
    for part in parts:
        first, nl, rest = part.partition("\n")
        if nl and re.fullmatch(r"[\w+.-]*", first.strip()):
            out.append((first.strip().lower(), rest))
        else:
            out.append(("", part))
    return out


def _json_values(text: str) -> Iterator[Any]:
    """Every plausible JSON value in the text, most literal reading first."""
    decoder = json.JSONDecoder()
    segments = [text] + [body for _, body in _fences(text)]
    for seg in segments:
        try:
            yield json.loads(seg)
        except (ValueError, RecursionError):
            pass
    for m in itertools.islice(_JSON_START.finditer(text), _MAX_JSON_STARTS):
        start = m.start()
        try:
            yield decoder.raw_decode(text, start)[0]
        except (ValueError, RecursionError):
            pass
    for seg in segments:
        lo, hi = seg.find("{"), seg.rfind("}")
        if 0 <= lo < hi and hi - lo < _MAX_REPAIR_CHARS:
            repaired = _repair(seg[lo : hi + 1])
            if repaired is not None:
                yield repaired


def _repair(s: str) -> Any:
    """Best effort for near-JSON: trailing commas, single quotes, Python literals."""
    s = re.sub(r",\s*([}\]])", r"\1", s)
    try:
        return json.loads(s)
    except (ValueError, RecursionError):
        pass
    s = re.sub(r"\btrue\b", "True", re.sub(r"\bfalse\b", "False", re.sub(r"\bnull\b", "None", s)))
    try:
        return ast.literal_eval(s)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None


def _items(data: Any, action: str) -> tuple[list[tuple[Any, Any]], str | None] | None:
    """(raw candidate, raw prediction) pairs and the rationale, or None for an unknown shape."""
    keys = IR_KEYS if action == "ir" else PASS_KEYS

    def one(d: dict[str, Any]) -> tuple[Any, Any] | None:
        for k in keys:
            if k in d:
                return d[k], next((d[p] for p in PREDICTION_KEYS if p in d), None)
        return None

    if isinstance(data, dict):
        rationale = _text(data.get("rationale"))
        if isinstance(data.get("candidates"), list):
            items: list[tuple[Any, Any]] = []
            for c in data["candidates"][: MAX_PASSES]:
                if isinstance(c, dict):
                    rationale = rationale or _text(c.get("rationale"))
                    items.append(one(c) or (c, None))
                else:
                    items.append((c, None))
            return items, rationale
        single = one(data)
        return ([single], rationale) if single else None
    if isinstance(data, list) and data:
        if all(isinstance(x, dict) for x in data):
            return _items({"candidates": data}, action)
        if action == "passes" and all(isinstance(x, str) for x in data):
            return [(data, None)], None  # a bare list of pass names is one pipeline
    return None


# --- building candidates -----------------------------------------------------------------------


def _candidate(raw: Any, action: str) -> tuple[Candidate | None, str | None]:
    if action == "ir":
        if not isinstance(raw, str):
            return None, f"'ir' must be a string, not {type(raw).__name__}"
        fenced = [body for lang, body in _fences(raw) if "define " in body]
        module = (fenced[0] if fenced else raw).strip()
        if "define " not in module and "declare " not in module:
            return None, "the IR module has no function definitions"
        return Candidate.ir(module + "\n"), None
    if isinstance(raw, list):
        if len(raw) > MAX_PASSES:
            return None, f"pipeline has more than {MAX_PASSES} passes"
        if not all(isinstance(x, str) for x in raw):
            return None, "'passes' list holds something other than strings"
        raw = ",".join(_unquote(x).lstrip("-") for x in raw)
    if not isinstance(raw, str):
        return None, f"'passes' must be a string or a list of strings, not {type(raw).__name__}"
    pipeline, err = normalize_pipeline(raw)
    return (Candidate.passes(pipeline), None) if pipeline else (None, err)


def _build(items: list[tuple[Any, Any]], action: str, n: int, rationale: str | None) -> ParsedResponse:
    out = ParsedResponse(rationale=rationale)
    seen: set[str] = set()
    for i, (raw, pred) in enumerate(items):
        cand, err = _candidate(raw, action)
        if cand is None:
            out.rejected.append(f"candidate {i + 1}: {err}" if len(items) > 1 else str(err))
            continue
        if cand.key in seen:
            continue
        seen.add(cand.key)
        out.candidates.append(cand)
        out.predictions.append(_number(pred))
        if len(out.candidates) >= n:
            break
    if not out.candidates:
        out.error = "; ".join(out.rejected[:5]) or "the answer holds no candidate"
    return out


def _parse(text: str, action: str, n: int) -> ParsedResponse:
    if not isinstance(text, str):
        return ParsedResponse(error=f"the response is not text ({type(text).__name__})")
    if len(text) > MAX_RESPONSE_CHARS:
        limit = MAX_RESPONSE_CHARS
        return ParsedResponse(error=f"response too large ({len(text)} characters, limit {limit})")
    text = text.strip()
    if not text:
        return ParsedResponse(error="empty response")
    for value in _json_values(text):
        found = _items(value, action)
        if found is not None:
            return _build(found[0], action, n, found[1])
    return _from_ir_text(text) if action == "ir" else _from_pass_text(text, n)


def _from_pass_text(text: str, n: int) -> ParsedResponse:
    for start in itertools.islice(_LLM_START.finditer(text), _MAX_TRIES):
        m = _LLM_COMPILER.match(text, start.start(), start.start() + _WINDOW)
        if m:  # "... to reduce instruction count from 28 to 15" predicts 15; "... to get ... 15" too
            pred = re.search(r"from\s+\S+\s+to\s+(\S+)", m.group(2)) or _NUMBER.search(m.group(2))
            return _build([(m.group(1), pred.group(1) if pred else None)], "passes", n, None)
    flags = _flag_values(text, _MAX_TRIES)
    if flags:
        return _build([(f, None) for f in flags], "passes", n, None)
    lone = [body.strip() for _, body in _fences(text) if body.strip() and "\n" not in body.strip()]
    if "\n" not in text:
        lone.append(text)
    err = "no JSON answer and no pass pipeline found in the response"
    for raw in lone:
        pipeline, why = normalize_pipeline(raw)
        if pipeline:
            return ParsedResponse(candidates=[Candidate.passes(pipeline)], predictions=[None])
        if not any(c.isspace() for c in raw):  # it looks like an attempt at a pipeline: say what is wrong
            err = f"no JSON answer and no valid pass pipeline in the response ({why})"
    return ParsedResponse(error=err)


def _from_ir_text(text: str) -> ParsedResponse:
    fenced = _fences(text)
    bodies = [b for lang, b in fenced if lang in ("llvm", "ll", "ir", "llvm-ir")]
    bodies += [b for lang, b in fenced if "define " in b and b not in bodies]
    if not bodies and "define " in text and not fenced:
        bodies = [text]
    if not bodies:
        return ParsedResponse(error="no LLVM IR found (expected a ```llvm block or JSON with an 'ir' field)")
    return _build([(bodies[0], None)], "ir", 1, None)
