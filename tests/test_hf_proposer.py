"""The `hf` proposer: a tiny model trained here proposes through the real prompt; parsers; errors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from optloop.agent.proposers.base import Attempt, Context, Proposer, Turn
from optloop.agent.proposers.hf_proposer import (
    HFProposer,
    ModelLoadError,
    detect_format,
    flags_to_pipeline,
    parse_llm_compiler,
    truncate_middle,
)
from optloop.agent.train import check_pipeline, train
from optloop.sandbox import Candidate, Objective

TARGET = "mem2reg,instcombine,simplifycfg"


def context(i: int, n: int = 1, turns: int = 0) -> Context:
    ir = (f"define i32 @f{i % 5}(i32 %a) {{\n  %p = alloca i32\n  store i32 %a, ptr %p\n"
          f"  %v = load i32, ptr %p\n  %r = add i32 %v, {i % 7}\n  ret i32 %r\n}}\n")
    history = [Attempt(Candidate.passes("instcombine"), "ok", 5.0, step=s) for s in range(turns)]
    return Context(
        objective=Objective.INSTCOUNT, action="passes", ir=ir, ir_instruction_count=5, ir_summary={},
        baseline_pipeline="default<Oz>", baseline_value=3.0, best=None, history=history,
        turns=[Turn(response='{"passes": "instcombine"}', feedback="Candidate `instcombine` is valid.")] * turns,
        step=turns, evaluations_left=10, n=n, seed=i,
    )


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """A 2-layer GPT-2 trained on the real chat prompt, always answering the same pipeline."""
    import torch
    from optloop.agent.proposers.chat import build_messages

    root = tmp_path_factory.mktemp("hf")
    answer = json.dumps({"passes": TARGET, "predicted_value": 3})
    rows = [{"messages": [*build_messages(context(i, turns=i % 2)), {"role": "assistant", "content": answer}],
             "objective": "instcount"} for i in range(40)]
    data = root / "const.jsonl"
    data.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # tiny model: threads only add contention on a busy runner
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("HF_HUB_OFFLINE", "1")
        mp.setenv("TRANSFORMERS_OFFLINE", "1")
        report = train(data, root / "model", steps=50, batch_size=8, lr=3e-3, max_len=160, seed=1)
        assert report["loss_last"] < report["loss_first"]
        yield root / "model"
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.mark.slow
@pytest.mark.llm
def test_tiny_model_proposes_a_valid_pipeline(tiny_model: Path) -> None:
    from optloop.agent.proposers.chat import build_messages

    proposer: Proposer = HFProposer(tiny_model, max_new_tokens=48, temperature=0.7)
    assert proposer.name == "hf" and proposer.model == str(tiny_model)
    assert isinstance(proposer, HFProposer)
    assert proposer.prompt_format == "chat"
    ctx = context(123, n=3, turns=1)
    proposal = proposer.propose(ctx)
    assert proposal.candidates, proposal.error
    assert len(proposal.candidates) <= 3 and len(proposal.predictions) == len(proposal.candidates)
    assert len({c.key for c in proposal.candidates}) == len(proposal.candidates)
    assert any(c.kind == "passes" and check_pipeline(c.text) is None for c in proposal.candidates)
    assert proposal.messages == build_messages(ctx)
    assert proposal.response and proposal.latency_s > 0
    assert proposal.prompt_tokens and proposal.prompt_tokens <= 160 and proposal.completion_tokens
    again = proposer.propose(ctx)  # seeded by ctx.seed + ctx.step: the same samples
    assert again.response == proposal.response


@pytest.mark.slow
@pytest.mark.llm
def test_unparseable_generations_give_an_error_not_an_exception(tiny_model: Path) -> None:
    proposer = HFProposer(tiny_model, max_new_tokens=24, temperature=0.0, prompt_format="llm-compiler")
    proposal = proposer.propose(context(5))
    assert proposal.candidates == [] and proposal.error and "no usable candidate" in proposal.error
    assert len(proposal.messages) == 1 and proposal.messages[0]["role"] == "user"
    assert proposal.messages[0]["content"].startswith("[INST] Tell me how to optimize this LLVM-IR")


def test_llm_compiler_answer_parser() -> None:
    assert flags_to_pipeline("-mem2reg -instcombine") == "mem2reg,instcombine"
    assert flags_to_pipeline("-Oz -functionattrs -prune-eh -loop-unswitch") == (
        "default<Oz>,function-attrs,simple-loop-unswitch")
    r = parse_llm_compiler(" Run passes `-mem2reg -instcombine` to get instruction count 42")
    assert [c.text for c in r.candidates] == ["mem2reg,instcombine"] and r.predictions == [42.0]
    assert r.error is None
    r = parse_llm_compiler("Run passes -reg2mem -sroa -simplifycfg to get instruction count of 7.")
    assert [c.text for c in r.candidates] == ["reg2mem,sroa,simplifycfg"] and r.predictions == [7.0]
    r = parse_llm_compiler("Run passes `sroa,gvn` to get instruction count 3")  # already a new-PM pipeline
    assert [c.text for c in r.candidates] == ["sroa,gvn"]
    assert parse_llm_compiler("I cannot help with that").error
    assert parse_llm_compiler("Run passes `` to get instruction count 3").error
    ir = "define i32 @f() {\n  ret i32 0\n}"
    r = parse_llm_compiler(f"Run passes `-dce` to get instruction count 1: <code>{ir}</code>", "ir")
    assert r.candidates[0].kind == "ir" and r.predictions == [1.0]


def test_truncate_middle_keeps_head_and_tail() -> None:
    ids = list(range(100))
    assert truncate_middle(ids, 200) == ids
    kept = truncate_middle(ids, 40)
    assert len(kept) == 40 and kept[:10] == ids[:10] and kept[-30:] == ids[-30:]


def test_format_detection(tmp_path: Path) -> None:
    meta = tmp_path / "llm-compiler-7b-ftd"
    meta.mkdir()
    (meta / "config.json").write_text('{"model_type": "llama"}')
    assert detect_format(meta) == "llm-compiler"
    named = tmp_path / "m1"
    named.mkdir()
    (named / "config.json").write_text('{"_name_or_path": "facebook/llm-compiler-13b-ftd"}')
    assert detect_format(named) == "llm-compiler"
    (named / "optloop.json").write_text('{"trained_by": "optloop", "format": "chat"}')
    assert detect_format(named) == "chat"
    plain = tmp_path / "gpt"
    plain.mkdir()
    assert detect_format(plain) == "chat"


def test_a_folder_that_is_not_a_model_is_a_clean_error(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="does not exist"):
        HFProposer(tmp_path / "missing")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ModelLoadError, match="no config.json") as info:
        HFProposer(tmp_path)
    assert isinstance(info.value, ValueError) and "\n" not in str(info.value)
    (tmp_path / "config.json").write_text('{"model_type": "gpt2", "n_layer": 1}')  # config but no weights
    with pytest.raises(ModelLoadError, match="not a loadable causal LM") as info:
        HFProposer(tmp_path)
    assert "\n" not in str(info.value)
