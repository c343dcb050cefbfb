"""`optloop train` from scratch on tiny synthetic data: it learns, saves and reloads offline."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from optloop.agent.train import check_pipeline, load_rows, split_rows, to_example, train

PIPELINES = ["mem2reg,instcombine,simplifycfg", "sroa,early-cse,dce", "mem2reg,gvn,adce"]


def ir_snippet(i: int) -> tuple[str, int]:
    """A tiny module (three shapes, varied names and a few constants) and its instruction count."""
    kind, c = i % 3, i % 5
    if kind == 0:
        body = f"  %p = alloca i32\n  store i32 %a, ptr %p\n  %v = load i32, ptr %p\n  %r = add i32 %v, {c}\n"
    elif kind == 1:
        body = f"  %x = mul i32 %a, {c + 2}\n  %y = mul i32 %a, {c + 2}\n  %r = add i32 %x, %y\n"
    else:
        body = f"  %c = icmp sgt i32 %a, {c}\n  %r = select i1 %c, i32 %a, i32 {c}\n"
    text = f"define i32 @k{i % 7}(i32 %a) {{\n{body}  ret i32 %r\n}}\n"
    return text, body.count("\n") + 1


def chat_row(i: int) -> dict[str, object]:
    ir, count = ir_snippet(i)
    answer = json.dumps({"passes": PIPELINES[i % 3], "predicted_value": max(1, count - 2)})
    return {
        "messages": [
            {"role": "system", "content": "Propose an opt-19 pass pipeline as JSON."},
            {"role": "user", "content": f"Minimise instcount for:\n{ir}"},
            {"role": "assistant", "content": answer},
        ],
        "objective": "instcount",
    }


def llm_compiler_row(i: int) -> dict[str, object]:
    from optloop.agent.proposers.hf_proposer import llm_compiler_prompt

    ir, count = ir_snippet(i)
    flags = " ".join("-" + p for p in PIPELINES[i % 3].split(","))
    after = max(1, count - 2)
    return {
        "prompt": llm_compiler_prompt(ir, "instcount"),
        "completion": f"Run passes `{flags}` to get instruction count {after}",
        "input": ir, "output": PIPELINES[i % 3], "instcount_before": count, "instcount_after": after,
        "objective": "instcount",
    }


def write_jsonl(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture(autouse=True)
def offline(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture
def one_thread() -> Iterator[None]:
    """A model this small gains nothing from intra-op threads, and on a busy 2-core runner
    they make a training step up to ten times slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_check_pipeline() -> None:
    assert check_pipeline("mem2reg,instcombine,simplifycfg") is None
    assert check_pipeline("default<Oz>,function(loop-mssa(licm<allowspeculation>)),globaldce") is None
    assert check_pipeline("instcombine<max-iterations=2;no-verify-fixpoint>") is None
    assert check_pipeline("function(mem2reg") is not None
    assert check_pipeline("mem2reg)") is not None
    assert check_pipeline("default<Oz") is not None
    assert check_pipeline("not-a-pass,mem2reg") is not None
    assert check_pipeline("mem2reg instcombine") is not None
    assert check_pipeline("") is not None


def test_rows_of_every_format_become_examples(tmp_path: Path) -> None:
    chat = to_example(chat_row(0))
    assert chat and chat.fmt == "chat" and chat.prompt.endswith("<|assistant|>\n")
    assert chat.reference == PIPELINES[0]
    llmc = to_example(llm_compiler_row(1))
    assert llmc and llmc.fmt == "llm-compiler" and llmc.reference == PIPELINES[1] and llmc.before == 4
    pair = to_example({"ir_in": ir_snippet(2)[0], "pipeline": PIPELINES[2], "ir_out": "...",
                       "metrics": {"ir_instruction_count": 2}, "objective": "runtime"})
    assert pair and pair.fmt == "llm-compiler" and pair.after == 2 and PIPELINES[2] in pair.target
    assert pair.prompt.startswith("[INST] Tell me how to optimize this LLVM-IR for execution time:\n<code>")
    assert to_example({"ir_in": "define void @f() {\n  ret void\n}", "pipeline": None, "ir_out": "x"}) is None
    assert to_example({"messages": [{"role": "user", "content": "no answer"}]}) is None
    bare = to_example({"input": "define void @f() {\n  ret void\n}", "output": "dce"})
    assert bare and bare.prompt.startswith("[INST] Tell me how to optimize this LLVM-IR for object file size:")
    assert bare.reference == "dce" and bare.target == "Run passes `dce`"

    rows = [chat_row(i) for i in range(50)]
    data = write_jsonl(tmp_path / "d.jsonl", rows)
    first = split_rows(data, load_rows(data))
    assert len(first[1]) == 5 and len(first[0]) == 45 and first == split_rows(data, load_rows(data))
    write_jsonl(tmp_path / "d.test.jsonl", rows[:3])
    train_rows, test_rows, source = split_rows(data, load_rows(data))
    assert len(train_rows) == 50 and len(test_rows) == 3 and source.endswith("d.test.jsonl")


@pytest.mark.slow
@pytest.mark.llm
def test_train_chat_from_scratch_and_reload(tmp_path: Path, one_thread: None) -> None:
    data = write_jsonl(tmp_path / "chat.jsonl", [chat_row(i) for i in range(120)])
    seen: list[tuple[int, int, float]] = []
    report = train(data, tmp_path / "model", steps=120, batch_size=8, lr=3e-3, max_len=256, seed=0,
                   progress=lambda s, n, loss: seen.append((s, n, loss)))
    assert len(seen) == 120 and seen[-1][:2] == (120, 120)
    assert report["format"] == "chat" and report["objective"] == "instcount"
    assert report["loss_last"] < report["loss_first"] * 0.5
    assert report["eval_rows"] == 12 and 0.0 <= report["valid_rate"] <= 1.0
    assert report["valid_rate"] >= 0.5  # three pipelines to memorise: it should produce most of them

    from transformers import AutoModelForCausalLM, AutoTokenizer

    out = tmp_path / "model"
    meta = json.loads((out / "optloop.json").read_text())
    assert meta["trained_by"] == "optloop" and meta["format"] == "chat" and meta["max_len"] == 256
    assert meta["report"]["valid_rate"] == report["valid_rate"] and len(meta["data_sha256"]) == 64
    tok = AutoTokenizer.from_pretrained(out, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(out, local_files_only=True)
    assert model.config.n_positions == 256 and tok.eos_token == "<|end|>"
    ids = tok("<|user|>\nhello<|end|>")["input_ids"]
    assert tok.convert_tokens_to_ids("<|user|>") == ids[0]


@pytest.mark.slow
@pytest.mark.llm
def test_train_llm_compiler_rows_reports_predictions(tmp_path: Path, one_thread: None) -> None:
    data = write_jsonl(tmp_path / "llmc.jsonl", [llm_compiler_row(i) for i in range(60)])
    write_jsonl(tmp_path / "llmc.test.jsonl", [llm_compiler_row(i) for i in range(1000, 1006)])
    report = train(data, tmp_path / "model", steps=100, batch_size=8, lr=3e-3, max_len=256)
    assert report["format"] == "llm-compiler" and report["test_source"].endswith("llmc.test.jsonl")
    assert report["loss_last"] < report["loss_first"] * 0.5
    assert report["eval_rows"] == 6 and report["valid_rate"] >= 0.5
    assert report["mean_recorded_improvement"] is not None
    assert report["mean_predicted_improvement"] and report["prediction_abs_error_vs_recorded"] is not None


@pytest.mark.slow
@pytest.mark.llm
def test_fine_tune_a_base_folder_on_pairs_rows(tmp_path: Path, one_thread: None) -> None:
    chat = write_jsonl(tmp_path / "chat.jsonl", [chat_row(i) for i in range(20)])
    train(chat, tmp_path / "base", steps=5, max_len=128)
    pairs = [{"ir_in": ir_snippet(i)[0], "pipeline": PIPELINES[i % 3], "instcount_before": ir_snippet(i)[1],
              "instcount_after": 2} for i in range(20)]
    report = train(write_jsonl(tmp_path / "pairs.jsonl", pairs), tmp_path / "tuned", steps=5,
                   base=tmp_path / "base", max_len=128)
    assert report["format"] == "llm-compiler" and report["data_formats"] == {"pairs": 20}
    assert report["base"] == str(tmp_path / "base") and report["max_len"] == 128
    meta = json.loads((tmp_path / "tuned" / "optloop.json").read_text())
    assert meta["format"] == "llm-compiler" and meta["report"]["train_examples"] == 18


def test_train_rejects_data_without_usable_rows(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "bad.jsonl", [{"hello": 1}, {"messages": []}])
    with pytest.raises(ValueError, match="no usable training rows"):
        train(data, tmp_path / "m", steps=1)
