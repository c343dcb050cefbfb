"""The sandbox contract, checked with real numbers on both backends."""

from __future__ import annotations

import re
import shutil
import subprocess
import time

import pytest
from optloop.sandbox import Candidate, Kernel, KernelError, Objective, Status
from optloop.sandbox.ir import count_instructions, count_instructions_llvmlite, text_size

from .conftest import DATA, TEST_LIMITS


def _by_hand(src, pipeline, tmp_path) -> str:
    """What stock clang-19 + opt-19 give for the same kernel, outside optloop."""
    ll = tmp_path / "in.ll"
    out = tmp_path / "out.ll"
    subprocess.run(["clang-19", "-O0", "-Xclang", "-disable-O0-optnone", "-emit-llvm", "-S", "-c", str(src),
                    "-o", str(ll)], check=True)
    subprocess.run(["opt-19", f"-passes={pipeline}", str(ll), "-S", "-o", str(out)], check=True)
    return out.read_text()


needs_host_llvm = pytest.mark.skipif(shutil.which("opt-19") is None, reason="needs opt-19 on the host")


@needs_host_llvm
@pytest.mark.parametrize("pipeline", ["default<Oz>", "mem2reg,instcombine", "default<O3>"])
def test_instcount_matches_opt_by_hand(sandbox, pipeline, tmp_path):
    prepared = sandbox.prepare(Kernel.load([DATA / "simple.c"]))
    [res] = sandbox.evaluate(prepared, [Candidate.passes(pipeline)], Objective.INSTCOUNT)
    assert res.status is Status.OK, res.error
    expected = count_instructions_llvmlite(_by_hand(DATA / "simple.c", pipeline, tmp_path))
    assert res.metrics.ir_instruction_count == expected
    assert res.value == expected


def test_unoptimized_ir_has_no_optnone(sandbox):
    prepared = sandbox.prepare(Kernel.load([DATA / "simple.c"]))
    assert "optnone" not in prepared.ir
    assert prepared.ir_instruction_count == count_instructions_llvmlite(prepared.ir)
    assert prepared.reference is not None and prepared.reference.stdout.startswith(b"328350 ")
    assert prepared.toolchain.startswith("llvm-19.")


@needs_host_llvm
def test_size_is_text_bytes_of_the_object(sandbox, tmp_path):
    prepared = sandbox.prepare(Kernel.load([DATA / "simple.c"]))
    [res] = sandbox.evaluate(prepared, [Candidate.passes("default<Oz>")], Objective.SIZE)
    assert res.ok, res.error
    ll = tmp_path / "oz.ll"
    ll.write_text(res.ir)
    obj = tmp_path / "oz.o"
    subprocess.run(["llc-19", "-O2", "-relocation-model=pic", "-filetype=obj", str(ll), "-o", str(obj)], check=True)
    assert res.metrics.text_size_bytes == text_size(obj.read_bytes())
    sizes = subprocess.run(["llvm-size-19", "-A", str(obj)], capture_output=True, text=True).stdout
    text_total = sum(int(m.group(1)) for m in re.finditer(r"^\.text\S*\s+(\d+)", sizes, re.M))
    assert res.metrics.text_size_bytes == text_total > 0


def test_multi_file_kernel_with_includes_and_defines_builds_and_runs(sandbox):
    kernel = Kernel.load([DATA / "multi/main.c", DATA / "multi/vec.c"], [DATA / "multi/include"], ["N=128"])
    prepared = sandbox.prepare(kernel)
    assert prepared.reference.stdout.startswith(b"N=128 dot=")
    results = sandbox.evaluate(prepared, [Candidate.passes("default<O3>"), Candidate.passes("default<O1>")],
                               Objective.RUNTIME)
    for res in results:
        assert res.status is Status.OK, res.error
        assert res.output_checked
        assert res.metrics.runtime_s > 0 and len(res.metrics.runtime_runs_s) == TEST_LIMITS.timed_runs
        assert res.metrics.max_rss_kb > 0 and res.metrics.compile_s > 0


def test_wrong_output_is_caught(sandbox):
    prepared = sandbox.prepare(Kernel.load([DATA / "simple.c"]))
    # The same module with its format string changed: valid IR, wrong answer.
    [ok] = sandbox.evaluate(prepared, [Candidate.passes("default<O1>")], Objective.INSTCOUNT)
    wrong = ok.ir.replace('c"%d %u\\0A\\00"', 'c"%d %x\\0A\\00"')
    assert wrong != ok.ir
    [res] = sandbox.evaluate(prepared, [Candidate.ir(wrong)], Objective.RUNTIME)
    assert res.status is Status.WRONG_OUTPUT
    assert "differs from the -O0 reference at line 1" in res.error


def test_broken_c_file_is_a_compile_error(sandbox):
    with pytest.raises(KernelError) as e:
        sandbox.prepare(Kernel.load([DATA / "broken.c"]))
    assert e.value.status is Status.COMPILE_ERROR
    assert "undefined_variable" in e.value.message


def test_unknown_pass_is_an_invalid_pipeline(sandbox):
    prepared = sandbox.prepare(Kernel.load([DATA / "simple.c"]))
    results = sandbox.evaluate(prepared, [Candidate.passes("no-such-pass"), Candidate.passes("globaldce,licm"),
                                          Candidate.passes("mem2reg,(")], Objective.INSTCOUNT)
    assert [r.status for r in results] == [Status.INVALID_PIPELINE] * 3
    assert "no-such-pass" in results[0].error


def test_ir_that_does_not_parse_is_a_verify_error(sandbox):
    prepared = sandbox.prepare(Kernel.load([DATA / "simple.c"]))
    bad = "define i32 @main() {\n  %x = add i32 1, %y\n  ret i32 %x\n}\n"
    [res] = sandbox.evaluate(prepared, [Candidate.ir(bad)], Objective.INSTCOUNT)
    assert res.status is Status.VERIFY_ERROR
    assert "%y" in res.error


def test_a_kernel_that_never_ends_times_out_within_the_limit(sandbox):
    started = time.monotonic()
    with pytest.raises(KernelError) as e:
        sandbox.prepare(Kernel.load([DATA / "hostile/forever.c"]))
    elapsed = time.monotonic() - started
    assert e.value.status is Status.TIMEOUT
    assert elapsed < TEST_LIMITS.run_timeout_s + 10


def test_duplicates_in_one_call_are_evaluated_once(sandbox):
    prepared = sandbox.prepare(Kernel.load([DATA / "simple.c"]))
    c = Candidate.passes("default<Oz>")
    a, b = sandbox.evaluate(prepared, [c, c], Objective.INSTCOUNT)
    assert a is b


def test_text_counter_agrees_with_llvm_on_optimized_modules(sandbox):
    prepared = sandbox.prepare(Kernel.load([DATA / "multi/main.c", DATA / "multi/vec.c"], [DATA / "multi/include"]))
    pipelines = ["default<O3>", "default<Oz>", "function(sroa,loop-rotate,simplifycfg)", "default<O1>"]
    for res in sandbox.evaluate(prepared, [Candidate.passes(p) for p in pipelines], Objective.INSTCOUNT):
        assert res.ok
        assert count_instructions(res.ir) == count_instructions_llvmlite(res.ir)
