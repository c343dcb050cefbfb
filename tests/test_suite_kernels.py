"""The benchmark kernel suite: a well-formed manifest, and kernels whose output does not
depend on the optimization level (no undefined behaviour, deterministic inputs)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
from optloop.benchmarks.suite import SUITE_DIR, SuiteKernel, demo_kernel, get_kernel, load_suite

KERNELS = load_suite()
TOOLS = ("clang-19", "opt-19", "llc-19", "llvm-link-19")
DEFINE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=\S+$")
BUILD_TIMEOUT_S = 120
RUN_TIMEOUT_S = 60
IR_FLAGS = ("-O0", "-Xclang", "-disable-O0-optnone", "-emit-llvm", "-S")


# ---- the manifest ---------------------------------------------------------------------------------


def test_suite_has_enough_kernels_with_unique_names() -> None:
    names = [k.name for k in KERNELS]
    assert len(names) >= 14
    assert len(set(names)) == len(names)


def test_every_listed_file_exists_and_every_c_file_is_listed() -> None:
    for k in KERNELS:
        assert k.folder.is_dir(), k.name
        assert k.sources and all(s.suffix == ".c" and s.is_file() for s in k.sources), k.name
        assert all(d.is_dir() for d in k.include_dirs), k.name
        assert set(k.folder.rglob("*.c")) == set(k.sources), f"{k.name}: unlisted or missing C files"


def test_kernels_have_descriptions_categories_and_wellformed_defines() -> None:
    for k in KERNELS:
        assert k.description and k.category, k.name
        assert all(DEFINE.match(d) for d in k.defines), k.name


def test_at_least_four_multi_file_kernels_with_headers_and_defines() -> None:
    multi = [k for k in KERNELS if len(k.sources) > 1 and k.include_dirs and k.defines]
    assert len(multi) >= 4
    for k in multi:
        assert any(any(d.glob("*.h")) for d in k.include_dirs), k.name


def test_exactly_one_single_file_demo_kernel() -> None:
    demos = [k for k in KERNELS if k.demo]
    assert len(demos) == 1
    assert demo_kernel() == demos[0]
    assert len(demos[0].sources) == 1


def test_quick_subset() -> None:
    quick = load_suite(quick=True)
    assert 3 <= len(quick) <= 6
    assert all(k.quick for k in quick)
    assert len({k.category for k in quick}) == len(quick)


def test_get_kernel() -> None:
    first = KERNELS[0]
    assert get_kernel(first.name) == first
    assert all(p.is_absolute() for p in first.sources + first.include_dirs)
    assert SUITE_DIR in first.sources[0].parents


def test_get_kernel_unknown_name() -> None:
    with pytest.raises(KeyError, match="no benchmark kernel named 'nope'"):
        get_kernel("nope")


# ---- building and running ---------------------------------------------------------------------


def _run(args: list[str | Path], timeout: float = BUILD_TIMEOUT_S) -> str:
    proc = subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout, check=False)
    assert proc.returncode == 0, f"{' '.join(map(str, args))} failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
    return proc.stdout


def _build_reference(k: SuiteKernel, out: Path) -> Path:
    exe = out / "ref"
    _run(["clang-19", "-O0", *k.sources, *k.clang_args(), "-o", exe, "-lm"])
    return exe


def _build_through_opt(k: SuiteKernel, out: Path, pipeline: str = "default<O3>") -> Path:
    """clang -O0 (optnone off) to IR per file, llvm-link, opt, llc, link: the sandbox's recipe."""
    irs = []
    for i, src in enumerate(k.sources):
        ir = out / f"{i}.ll"
        _run(["clang-19", *IR_FLAGS, "-c", src, *k.clang_args(), "-o", ir])
        irs.append(ir)
    module = out / "input.ll"
    _run(["llvm-link-19", "-S", "-o", module, *irs])
    _run(["opt-19", f"-passes={pipeline}", module, "-S", "-o", out / "opt.ll"])
    _run(["llc-19", "-O2", "-relocation-model=pic", "-filetype=obj", out / "opt.ll", "-o", out / "opt.o"])
    exe = out / "opt"
    _run(["clang-19", out / "opt.o", "-o", exe, "-lm"])
    return exe


@pytest.mark.slow
@pytest.mark.parametrize("kernel", KERNELS, ids=[k.name for k in KERNELS])
def test_o0_and_o3_outputs_agree(kernel: SuiteKernel, tmp_path: Path) -> None:
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip(f"LLVM 19 tools not on PATH: {', '.join(missing)}")
    reference = _run([_build_reference(kernel, tmp_path)], timeout=RUN_TIMEOUT_S)
    optimized = _run([_build_through_opt(kernel, tmp_path)], timeout=RUN_TIMEOUT_S)
    assert reference.strip(), f"{kernel.name} printed nothing"
    assert optimized == reference
