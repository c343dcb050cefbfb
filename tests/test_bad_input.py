"""Bad input: one clear line on stderr, a non-zero exit, no traceback, nothing recorded lost."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from optloop.agent.proposers.search import CGSCC_LEVEL, MODULE_LEVEL, PASSES, join, split

from .conftest import DATA

HOSTILE = DATA / "hostile"


def cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "optloop.agent.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def recorded(tmp_path_factory) -> tuple[str, dict]:
    """A database that already holds a finished session."""
    db = f"sqlite:///{tmp_path_factory.mktemp('db') / 'keep.db'}"
    r = cli("optimize", str(DATA / "simple.c"), "--sandbox", "local", "--budget", "6", "--db", db, "--json",
            "--out", str(tmp_path_factory.mktemp("out")))
    assert r.returncode == 0, r.stderr
    return db, json.loads(r.stdout)


def _files(tmp_path: Path) -> dict[str, list[str]]:
    binary = tmp_path / "binary.c"
    binary.write_bytes(bytes(range(256)) * 64)
    huge = tmp_path / "huge.c"
    huge.write_text("int x;\n" * (2 << 20))  # 14 MiB
    return {
        "not C": [str(HOSTILE / "notc.c")],
        "empty": [str(HOSTILE / "empty.c")],
        "binary": [str(binary)],
        "missing header": [str(HOSTILE / "missing_header.c")],
        "no such path": [str(tmp_path / "nope.c")],
        "huge source": [str(huge)],
        "a directory": [str(tmp_path)],
        "not a .c name": [str(DATA / "multi/include/vec.h").replace(".h", ".txt")],
    }


CASES = {
    "not C": (1, "compile_error"),
    "empty": (1, "empty file"),
    "binary": (1, "binary file"),
    "missing header": (1, "no_such_header.h"),
    "no such path": (1, "no such file"),
    "huge source": (1, "too large"),
    "a directory": (1, "not a regular file"),
    "not a .c name": (1, "no such file"),
}


@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("command", ["eval", "optimize"])
def test_bad_kernels(case, command, recorded, tmp_path):
    db, before = recorded
    paths = _files(tmp_path)[case]
    args = [command, *paths, "--sandbox", "local"]
    if command == "optimize":
        args += ["--db", db, "--budget", "3", "--out", str(tmp_path / "o")]
    r = cli(*args)
    code, needle = CASES[case]
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip() and "weak isolation" not in line]
    assert any(needle in line for line in lines), r.stderr
    assert lines[-1].startswith("optloop: "), r.stderr
    # Nothing already recorded is lost.
    rows = json.loads(cli("sessions", "--db", db, "--json").stdout)["sessions"]
    assert before["session_id"] in [s["id"] for s in rows]


@pytest.mark.parametrize("pipeline,status", [
    ("mem2reg$(touch /tmp/optloop-pwned)", "invalid_pipeline"),
    ("mem2reg;rm -rf /", "invalid_pipeline"),
    ("`id`", "invalid_pipeline"),
    (",".join(["instcombine"] * 10_000), "invalid_pipeline"),
])
def test_hostile_pipelines_are_data_not_commands(pipeline, status):
    r = cli("eval", str(DATA / "simple.c"), "--sandbox", "local", "--passes", pipeline, "--json")
    assert r.returncode == 1
    assert json.loads(r.stdout)["status"] == status
    assert not Path("/tmp/optloop-pwned").exists()


def test_ir_with_inline_asm_is_refused(tmp_path):
    ir = tmp_path / "asm.ll"
    ir.write_text('define i32 @main() {\n  call void asm sideeffect "nop", ""()\n  ret i32 0\n}\n')
    r = cli("eval", str(DATA / "simple.c"), "--sandbox", "local", "--ir", str(ir), "--json")
    assert r.returncode == 1
    out = json.loads(r.stdout)
    assert out["status"] == "verify_error" and "inline assembly" in out["error"]


def test_bad_options_are_one_line(tmp_path):
    for args in (["eval", str(DATA / "simple.c"), "--objective", "speed"],
                 ["optimize", str(DATA / "simple.c"), "--budget", "0", "--sandbox", "local"],
                 ["eval", str(DATA / "simple.c"), "--timeout", "-1", "--sandbox", "local"],
                 ["optimize", "--resume", "deadbeef", "--db", str(tmp_path / "x.db")],
                 ["export", "--format", "csv"],
                 ["train", "--data", str(tmp_path / "none.jsonl"), "--out", str(tmp_path / "m")]):
        r = cli(*args)
        assert r.returncode == 2, (args, r.stderr)
        assert "Traceback" not in r.stderr
        assert len([line for line in r.stderr.splitlines() if line.strip()]) == 1, (args, r.stderr)


# -- the pipeline parser, property-based ----------------------------------------------------------
tokens = st.lists(st.sampled_from(sorted(set(PASSES) | MODULE_LEVEL | CGSCC_LEVEL)), min_size=1, max_size=30)


@given(tokens)
@settings(max_examples=300, deadline=None)
def test_join_then_split_is_identity(ts):
    assert split(join(ts)) == ts


@given(tokens)
@settings(max_examples=300, deadline=None)
def test_joined_pipelines_are_balanced_and_module_level(ts):
    text = join(ts)
    depth = 0
    for ch in text:
        depth += ch in "(<"
        depth -= ch in ")>"
        assert depth >= 0
    assert depth == 0
    top = []
    d = 0
    cur = ""
    for ch in text + ",":
        if ch == "," and d == 0:
            top.append(cur)
            cur = ""
            continue
        d += ch in "(<"
        d -= ch in ")>"
        cur += ch
    assert all(t in MODULE_LEVEL or t.startswith(("function(", "cgscc(")) for t in top)


@given(st.text(max_size=200))
@settings(max_examples=300, deadline=None)
def test_split_never_raises(text):
    assert isinstance(split(text), list)
