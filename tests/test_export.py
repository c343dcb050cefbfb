"""Exporting trajectories as training data (stores populated by hand, no sandbox)."""

from __future__ import annotations

import json
import tracemalloc

import pytest

try:  # tests/ is on sys.path under pytest's default import mode
    import conftest_db as _db
except ImportError:  # pragma: no cover - tests/ became a package
    from tests import conftest_db as _db  # type: ignore[no-redef]

from optloop.agent.export import SYSTEM_PROMPT, export, heldout_path, in_heldout
from optloop.db import Store

store_url = _db.store_url
store = _db.store
TOOLCHAIN = _db.TOOLCHAIN


def ir_of(k: int) -> str:
    return f"; kernel {k}\ndefine i32 @main() {{\n  %a = add i32 {k}, 1\n  ret i32 %a\n}}\n"


def khash(k: int) -> str:
    return f"{k:064x}"


def record(
    store: Store,
    k: int,
    objective: str = "instcount",
    value: float = 8.0,
    pipeline: str = "instcombine",
    status: str = "completed",
    proposer: str = "openai",
    steps: int = 3,
    ir: str | None = None,
    ir_out: str | None = "define i32 @main() {\n  ret i32 1\n}\n",
) -> str:
    """A finished session on kernel k: `steps` model steps, the best reaching `value` (baseline 10)."""
    h = khash(k)
    store.upsert_kernel(
        h,
        f"k{k}",
        {"k.c": b"int main(void){return 1;}"},
        ["k.c"],
        [],
        [],
        [],
        ["t"],
        unopt_ir=ir or ir_of(k),
        ir_instruction_count=12,
    )
    sid = _db.new_session(store, h, objective=objective, proposer=proposer)
    best = store.record_evaluation(
        h,
        "passes",
        pipeline,
        f"{pipeline}-{value}",
        objective,
        TOOLCHAIN,
        "ok",
        value,
        {"ir_instruction_count": int(value), "text_size_bytes": 100},
        None,
        False,
        ir_out=ir_out,
    )
    for i in range(steps):
        messages = (
            []
            if proposer == "search"
            else [{"role": "system", "content": "sys"}, {"role": "user", "content": f"optimize kernel {k}"}]
        )
        if i and messages:  # later prompts carry the conversation; the export uses the first one
            messages.append({"role": "assistant", "content": "earlier"})
        store.add_step(
            sid,
            i,
            messages,
            None if proposer == "search" else f'{{"passes": "p{i}"}}',
            {"passes": f"p{i}"},
            [None],
            None,
            f"feedback {i}",
            None,
            0.1,
            10,
            5,
            [best],
        )
    store.finish_session(sid, status, None, best, value, 10.0 / value, steps, steps)
    return sid


def rows(path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def both(out) -> list[dict]:
    return rows(out) + rows(heldout_path(out))


def test_heldout_path():
    from pathlib import Path

    assert heldout_path(Path("/x/data.jsonl")) == Path("/x/data.test.jsonl")
    assert heldout_path(Path("data")) == Path("data.test.jsonl")


def test_chat_rows(store, tmp_path):
    sid = record(store, 1, steps=3)
    out = tmp_path / "chat.jsonl"
    counts = export(store, "chat", out, split=0.0)
    assert counts == {"train": 1, "test": 0, "sessions": 1, "skipped": 0}
    [row] = rows(out)
    assert rows(heldout_path(out)) == []
    assert [m["role"] for m in row["messages"]] == [
        "system",
        "user",
        "assistant",
        "user",
        "assistant",
        "user",
        "assistant",
    ]
    assert row["messages"][:2] == [
        {"role": "system", "content": "sys"},
        {"role": "user", "content": "optimize kernel 1"},
    ]
    assert (
        row["messages"][2]["content"] == '{"passes": "p0"}' and row["messages"][3]["content"] == "feedback 0"
    )
    assert row["messages"][-1]["content"] == '{"passes": "p2"}'
    assert row["meta"] == {
        "session_id": sid,
        "kernel_hash": khash(1),
        "objective": "instcount",
        "improvement": 1.25,
    }


def test_chat_synthesizes_a_prompt_for_search_sessions(store, tmp_path):
    record(store, 2, proposer="search", pipeline="sroa,instcombine", value=5.0)
    out = tmp_path / "chat.jsonl"
    assert export(store, "chat", out, split=0.0)["train"] == 1
    [row] = rows(out)
    system, user, assistant = row["messages"]
    assert system == {"role": "system", "content": SYSTEM_PROMPT}
    assert "instcount" in user["content"] and ir_of(2) in user["content"]
    assert json.loads(assistant["content"]) == {"passes": "sroa,instcombine"}


def test_llm_compiler_rows_and_dedup(store, tmp_path):
    record(store, 3, value=8.0, pipeline="worse")
    best = record(store, 3, value=6.0, pipeline="mem2reg,instcombine")
    record(store, 3, value=7.0, pipeline="middle")
    record(store, 3, objective="size", value=9.0, pipeline="for-size")  # another objective: its own row
    record(store, 4, value=9.0, pipeline="simplifycfg")
    out = tmp_path / "lc.jsonl"
    counts = export(store, "llm-compiler", out, split=0.0)
    assert counts == {"train": 3, "test": 0, "sessions": 5, "skipped": 2}
    by_key = {(r["kernel_hash"], r["objective"]): r for r in rows(out)}
    row = by_key[(khash(3), "instcount")]
    assert row["output"] == "mem2reg,instcombine" and row["session_id"] == best
    assert row["input"] == ir_of(3) and (row["instcount_before"], row["instcount_after"]) == (12, 6)
    prompt = "[INST] Tell me how to optimize this LLVM-IR for object file size:\n<code>{}</code> [/INST]"
    assert row["prompt"] == prompt.format(ir_of(3))
    assert row["completion"] == "Run passes `mem2reg,instcombine` to get instruction count 6"
    assert by_key[(khash(3), "size")]["output"] == "for-size"
    assert by_key[(khash(4), "instcount")]["output"] == "simplifycfg"


def test_pairs_rows(store, tmp_path):
    record(store, 5, value=4.0, pipeline="gvn", ir_out="define i32 @main() {\n  ret i32 6\n}\n")
    record(store, 6, value=4.0, ir_out=None)  # no optimized IR kept: nothing to pair
    out = tmp_path / "pairs.jsonl"
    counts = export(store, "pairs", out, split=0.0)
    assert counts == {"train": 1, "test": 0, "sessions": 2, "skipped": 1}
    [row] = rows(out)
    assert row["ir_in"] == ir_of(5) and row["pipeline"] == "gvn"
    assert row["ir_out"] == "define i32 @main() {\n  ret i32 6\n}\n"
    assert row["metrics"] == {"ir_instruction_count": 4, "text_size_bytes": 100}
    assert (row["objective"], row["kernel_hash"]) == ("instcount", khash(5))


@pytest.mark.parametrize("fmt", ["chat", "llm-compiler", "pairs"])
def test_split_by_kernel(store, tmp_path, fmt):
    for k in range(40):
        record(store, k, value=5.0 + k % 3, steps=1)
        record(store, k, value=6.0 + k % 3, steps=1)
    out = tmp_path / f"{fmt}.jsonl"
    counts = export(store, fmt, out, split=0.3, seed=7)
    train, test = rows(out), rows(heldout_path(out))
    key = (lambda r: r["meta"]["kernel_hash"]) if fmt == "chat" else (lambda r: r["kernel_hash"])
    train_k, test_k = {key(r) for r in train}, {key(r) for r in test}
    assert train_k and test_k and not train_k & test_k
    assert train_k | test_k == {khash(k) for k in range(40)}
    assert all(in_heldout(h, 0.3, 7) for h in test_k) and not any(in_heldout(h, 0.3, 7) for h in train_k)
    assert (counts["train"], counts["test"]) == (len(train), len(test))
    assert len(train) + len(test) == (80 if fmt == "chat" else 40)  # one row per kernel once deduplicated
    again = tmp_path / "again.jsonl"
    export(store, fmt, again, split=0.3, seed=7)
    assert again.read_text() == out.read_text()  # deterministic


def test_only_improved_and_filters(store, tmp_path):
    record(store, 10, value=5.0)  # improvement 2.0
    record(store, 11, value=10.0)  # 1.0: not an improvement
    record(store, 12, value=12.5)  # 0.8: worse than the baseline
    record(store, 13, value=4.0, status="running")  # unfinished: never exported
    record(store, 14, value=4.0, status="failed")
    record(store, 15, value=4.0, objective="size", status="interrupted")
    out = tmp_path / "d.jsonl"
    counts = export(store, "llm-compiler", out, only_improved=True, split=0.0)
    assert {r["kernel_hash"] for r in rows(out)} == {khash(10), khash(15)}
    assert counts == {"train": 2, "test": 0, "sessions": 4, "skipped": 2}
    export(store, "chat", out, split=0.0)  # without the filter: every finished session
    assert {r["meta"]["kernel_hash"] for r in rows(out)} == {khash(k) for k in (10, 11, 12, 15)}
    export(store, "chat", out, objective="size", split=0.0)
    assert [r["meta"]["kernel_hash"] for r in rows(out)] == [khash(15)]
    export(store, "pairs", out, min_improvement=1.5, split=0.0)
    assert {r["kernel_hash"] for r in rows(out)} == {khash(10), khash(15)}


def test_bad_arguments(store, tmp_path):
    with pytest.raises(ValueError, match="format"):
        export(store, "csv", tmp_path / "x.jsonl")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="split"):
        export(store, "chat", tmp_path / "x.jsonl", split=1.0)


def _peak(store: Store, fmt: str, out) -> tuple[dict, int]:
    tracemalloc.start()
    try:
        counts = export(store, fmt, out, split=0.2)
        return counts, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_export_streams_with_flat_memory(tmp_path, monkeypatch):
    """Rows come from iter_sessions a few at a time: peak memory does not grow with the store."""
    store = Store(f"sqlite:///{tmp_path / 'big.db'}")
    big_ir = "; " + "y" * 200_000 + "\n"
    calls = []
    original = store.iter_sessions

    def spy(*args, **kwargs):
        calls.append(kwargs)
        yield from original(*args, **kwargs)

    monkeypatch.setattr(store, "iter_sessions", spy)
    n, peaks = 0, {}
    for size in (40, 160):  # 160 sessions x 400 kB of IR (in and out) = 64 MB in the database
        while n < size:
            record(store, n, ir=big_ir + ir_of(n), ir_out=big_ir, steps=1)
            n += 1
        for fmt in ("pairs", "chat"):
            counts, peaks[fmt, size] = _peak(store, fmt, tmp_path / f"{fmt}.jsonl")
            assert counts["train"] + counts["test"] == size
    for fmt in ("pairs", "chat"):
        assert peaks[fmt, 160] < 1.25 * peaks[fmt, 40] + 1_000_000, peaks
        assert peaks[fmt, 160] < 16_000_000, peaks
    assert calls and all(c["statuses"] for c in calls)
    store.close()
