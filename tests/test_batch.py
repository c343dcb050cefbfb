"""Batch runs over a repository: discovery, the process pool and Ray, resuming, the CLI and the report."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from optloop.agent.batch import FINISHED, batch_key, run_batch
from optloop.agent.config import SessionConfig
from optloop.agent.discover import discover, parse_arguments
from optloop.agent.report import IMAGES, write_report
from optloop.db import Store
from optloop.sandbox import Kernel

from .conftest import DATA

PROJECT = DATA / "project"
# Until cli.py registers the command itself; register() is idempotent, so this stays valid afterwards.
BOOT = ("from optloop.agent.cli import app, main; from optloop.agent.batch_cli import register; "
        "register(app); main()")
ROW_KEYS = {"path", "name", "status", "session_status", "objective", "baseline", "best", "best_pipeline",
            "improvement", "evaluations", "session_id", "error", "note", "resumed", "continued", "wall_s"}
SUMMARY_KEYS = {"kernels", "ok", "failed", "skipped", "resumed", "geomean_improvement", "best_improvement",
                "wall_s", "jobs", "engine", "db"}
EXPECTED = {"app/main.c": "ok", "broken/bad.c": "compile_error", "core/hash.c": "ok", "core/sort.c": "ok",
            "tool/tool.c": "ok"}

needs_local = pytest.mark.skipif(shutil.which("opt-19") is None, reason="the local sandbox needs opt-19")


def batch_cli(*args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", BOOT, "batch", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "OPTLOOP_SANDBOX": ""})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The test project, plus what a scan must skip: a build folder and a hidden one."""
    root = tmp_path / "project"
    shutil.copytree(PROJECT, root)
    for skipped in ("build/generated.c", ".cache/stale.c"):
        (root / skipped).parent.mkdir(parents=True)
        (root / skipped).write_text("int generated(void) { return 1; }\n")
    return root


def write_compile_db(project: Path, rels: list[str], where: str = "compile_commands.json") -> Path:
    """A compile_commands.json with absolute paths, as CMake or Bear write it."""
    build = project / "build"
    entries = []
    for rel in rels:
        args = ["/usr/bin/cc", "-I", str(project / "include"), f"-I{project / 'third_party/minimath'}",
                "-DTABLE_SIZE=64", "-D", "NDEBUG", "-std=c11", "-O2", "-g", "-Wall", "-fPIC",
                "-MD", "-MF", f"{rel}.d", "-o", f"{rel}.o", "-c", str(project / rel)]
        entries.append({"directory": str(build), "arguments": args, "file": str(project / rel)})
    path = project / where
    path.write_text(json.dumps(entries, indent=1))
    return path


@pytest.fixture
def compile_db(project: Path) -> Path:
    path = write_compile_db(project, [f"src/{n}" for n in EXPECTED])
    entries = json.loads(path.read_text())
    build = project / "build"
    sort = str(project / "src/core/sort.c")
    command = f"cc -I../include -O3 -DLABEL='\"a b\"' -c {sort}"  # a command string, not arguments
    i = [e["file"] for e in entries].index(sort)
    entries[i] = {"directory": str(build), "file": sort, "command": command}
    entries.append({"directory": str(build), "file": "../src/app/other.cpp", "command": "c++ -c other.cpp"})
    path.write_text(json.dumps(entries, indent=1))
    return path


def names(result: dict) -> dict[str, str]:
    return {r["name"]: r["status"] for r in result["kernels"]}


def session_count(db: str) -> int:
    with Store(db) as store:
        return len(store.list_sessions(limit=10_000))


# -- discovery --------------------------------------------------------------------------------------
def test_discover_from_compile_commands(compile_db: Path, project: Path):
    units = {u.path.relative_to(project).as_posix(): u for u in discover([project])}
    assert set(units) == {"src/core/hash.c", "src/core/sort.c", "src/app/main.c", "src/broken/bad.c",
                          "src/tool/tool.c"}
    h = units["src/core/hash.c"]
    assert h.origin == "compile_commands" and h.sources == (h.path,)
    assert h.include_dirs == (project / "include", project / "third_party/minimath")
    assert h.defines == ("TABLE_SIZE=64", "NDEBUG") and h.flags == ("-std=c11",)
    s = units["src/core/sort.c"]  # a "command" string, -I relative to "directory", a quoted define
    assert s.include_dirs == (project / "include",) and s.defines == ('LABEL="a b"',) and s.flags == ()
    assert units["src/app/main.c"].has_main and units["src/tool/tool.c"].has_main
    assert not h.has_main and not s.has_main
    assert [u.path for u in discover([compile_db])] == [u.path for u in discover([project])]
    moved = compile_db.rename(project / "build" / "compile_commands.json")  # CMake's usual place
    assert [u.path for u in discover([project])] == [u.path for u in discover([moved])]
    assert discover([project])[0].origin == "compile_commands"


def test_discover_by_scan(project: Path):
    units = {u.path.relative_to(project).as_posix(): u for u in discover([project])}
    assert set(units) == set(f"src/{n}" for n in EXPECTED)  # build/ and hidden folders skipped
    main = units["src/app/main.c"]
    assert main.origin == "scan" and main.has_main and main.defines == ()
    assert main.include_dirs[0] == project / "src/app"
    assert set(main.include_dirs) == {project / d for d in ("src/app", "include", "third_party/minimath")}
    # One file given directly is one unit.
    [one] = discover([project / "src/core/sort.c"])
    assert one.path == project / "src/core/sort.c" and not one.has_main


def test_discover_prefers_the_nearest_headers(tmp_path: Path):
    for lib in ("a", "b"):
        (tmp_path / lib / "include").mkdir(parents=True)
        (tmp_path / lib / "include" / "rng.h").write_text(f"#define RNG_{lib.upper()} 1\n")
        (tmp_path / lib / "main.c").write_text('#include "rng.h"\nint main(void) { return 0; }\n')
    for unit in discover([tmp_path]):
        lib = unit.path.parent.name
        assert unit.include_dirs[:2] == (tmp_path / lib, tmp_path / lib / "include")


def test_compile_commands_with_relative_directories(project: Path):
    db = project / "compile_commands.json"
    args = ["clang", "-Iinclude", "-DTABLE_SIZE=16", "-c", "src/core/hash.c"]
    db.write_text(json.dumps([{"directory": ".", "file": "src/core/hash.c", "arguments": args}]))
    [unit] = discover([db])
    assert unit.path == project / "src/core/hash.c" and unit.include_dirs == (project / "include",)
    kernel = Kernel.load(list(unit.sources), list(unit.include_dirs), list(unit.defines), list(unit.flags))
    assert "include/hash.h" in kernel.files


def test_parse_arguments_keeps_only_what_changes_the_meaning(tmp_path: Path):
    (tmp_path / "inc").mkdir()
    (tmp_path / "sys").mkdir()
    args = ["-I", "inc", "-Isys", "-isystem", "missing", "-D", "A", "-DB=2", "-O3", "-g", "-Wall", "-Werror",
            "-fPIC", "-fwrapv", "-std=gnu99", "-o", "x.o", "-MF", "x.d", "-c", "x.c", "-include", "pre.h"]
    includes, defines, flags = parse_arguments(args, tmp_path)
    assert includes == [tmp_path / "inc", tmp_path / "sys"]
    assert defines == ["A", "B=2"] and flags == ["-fwrapv", "-std=gnu99"]


def test_discover_errors(tmp_path: Path):
    with pytest.raises(ValueError, match="no such file or directory"):
        discover([tmp_path / "nope"])
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.h").write_text("int x;\n")
    with pytest.raises(ValueError, match="no C translation units"):
        discover([tmp_path / "empty"])
    (tmp_path / "compile_commands.json").write_text("{not json")
    with pytest.raises(ValueError, match="compile_commands"):
        discover([tmp_path])


def test_batch_key_ignores_out_dir_only():
    cfg = SessionConfig(budget=4, sandbox="local")
    assert batch_key("k", cfg) == batch_key("k", cfg.model_copy(update={"out_dir": "/elsewhere"}))
    assert batch_key("k", cfg) != batch_key("k", cfg.model_copy(update={"budget": 5}))
    assert batch_key("k", cfg) != batch_key("k2", cfg)


# -- running batches --------------------------------------------------------------------------------
def check_first_run(result: dict, engine: str) -> None:
    assert names(result) == EXPECTED
    s = result["summary"]
    assert set(SUMMARY_KEYS) <= set(s) and s["engine"] == engine and s["jobs"] == 2
    assert (s["kernels"], s["ok"], s["failed"], s["skipped"]) == (5, 4, 1, 0)
    assert s["geomean_improvement"] >= 1.0 and s["best_improvement"] >= 1.0
    for row in result["kernels"]:
        assert set(row) == ROW_KEYS
        if row["status"] == "ok":
            assert row["improvement"] >= 1.0 and row["session_id"] and row["best"] <= row["baseline"]
            assert row["session_status"] in FINISHED
    bad = next(r for r in result["kernels"] if r["status"] == "compile_error")
    assert "undeclared_thing" in bad["error"] and "\n" not in bad["error"] and bad["session_id"] is None
    tool = next(r for r in result["kernels"] if r["name"] == "tool/tool.c")
    assert "does not link alone" in tool["note"]


@needs_local
@pytest.mark.slow
def test_batch_with_two_workers_skips_finished_units_and_redoes(project: Path, tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'batch.db'}"
    cfg = SessionConfig(budget=4, sandbox="local")
    events: list[dict] = []
    first = run_batch([project], cfg, db, jobs=2, on_progress=events.append)
    check_first_run(first, "local")
    assert events[0]["event"] == "start" and events[-1]["done"] == 5 and events[-1]["failed"] == 1
    sessions = session_count(db)
    assert sessions == 4

    again = run_batch([project], cfg, db, jobs=2)
    assert names(again) == EXPECTED and again["summary"]["skipped"] == 4
    assert session_count(db) == sessions  # nothing ran again
    for old, new in zip(first["kernels"], again["kernels"], strict=True):
        assert new["resumed"] == (old["status"] == "ok")
        if old["status"] == "ok":
            assert (new["session_id"], new["best"], new["improvement"]) == (
                old["session_id"], old["best"], old["improvement"])
    assert again["summary"]["wall_s"] < first["summary"]["wall_s"]  # only bad.c is compiled again

    # Without the broken unit everything is finished: no worker is even started.
    shutil.rmtree(project / "src/broken")
    done = run_batch([project], cfg, db, jobs=2)
    assert done["summary"]["skipped"] == done["summary"]["kernels"] == 4
    assert done["summary"]["wall_s"] < 0.25 * first["summary"]["wall_s"]

    redone = run_batch([project], cfg, db, jobs=2, redo=True)
    assert redone["summary"]["skipped"] == 0 and redone["summary"]["ok"] == 4
    assert session_count(db) == sessions + 4


@needs_local
@pytest.mark.slow
def test_an_interrupted_session_is_continued(project: Path, tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'batch.db'}"
    cfg = SessionConfig(budget=4, sandbox="local")
    units = write_compile_db(project, ["src/core/hash.c", "src/core/sort.c"])
    first = run_batch([units], cfg, db, jobs=1)
    row = next(r for r in first["kernels"] if r["name"].endswith("sort.c"))
    with Store(db) as store:
        s = store.get_session(row["session_id"])
        store.finish_session(s["id"], "interrupted", "interrupted by the user", s["best_evaluation_id"],
                             s["best_value"], s["improvement"], s["evaluations"], s["steps"])
    again = run_batch([units], cfg, db, jobs=1)
    cont = next(r for r in again["kernels"] if r["name"].endswith("sort.c"))
    assert cont["continued"] and not cont["resumed"] and cont["session_id"] == row["session_id"]
    assert cont["status"] == "ok" and again["summary"]["resumed"] == 1 and again["summary"]["skipped"] == 1
    with Store(db) as store:
        assert store.get_session(row["session_id"])["status"] in FINISHED


@pytest.mark.docker
@pytest.mark.slow
def test_batch_in_docker_with_runtime_objective(docker_available, project: Path, tmp_path: Path):
    db = f"sqlite:///{tmp_path / 'batch.db'}"
    result = run_batch([project], SessionConfig(budget=4, objective="runtime", sandbox="docker"), db, jobs=2)
    check_first_run(result, "local")
    objectives = {r["name"]: r["objective"] for r in result["kernels"]}
    assert objectives["app/main.c"] == "runtime" and objectives["core/hash.c"] == "instcount"
    assert objectives["tool/tool.c"] == "instcount"
    hash_row = next(r for r in result["kernels"] if r["name"] == "core/hash.c")
    assert "instcount instead of runtime" in hash_row["note"]


@needs_local
@pytest.mark.slow
def test_batch_on_ray_gives_the_same_statuses(project: Path, tmp_path: Path):
    pytest.importorskip("ray")
    db = f"sqlite:///{tmp_path / 'ray.db'}"
    result = run_batch([project], SessionConfig(budget=4, sandbox="local"), db, jobs=2, engine="ray")
    check_first_run(result, "ray")
    assert session_count(db) == 4


# -- the command line and the report ---------------------------------------------------------------
@needs_local
@pytest.mark.slow
def test_batch_cli_json_and_report(project: Path, tmp_path: Path):
    report = tmp_path / "report"
    r = batch_cli(str(project), "--jobs", "2", "--budget", "4", "--sandbox", "local", "--db",
                  str(tmp_path / "cli.db"), "--report", str(report), "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)  # exactly one JSON object on stdout
    assert set(out) == {"kernels", "summary"} and SUMMARY_KEYS <= set(out["summary"])
    assert names(out) == EXPECTED and all(set(row) == ROW_KEYS for row in out["kernels"])
    assert "compile_error" in r.stderr and "Traceback" not in r.stderr
    text = (report / "report.md").read_text()
    assert out["summary"]["report"] == str(report / "report.md")
    for image in IMAGES:
        assert (report / image).stat().st_size > 1000 and f"]({image})" in text
    assert "| broken/bad.c | compile_error |" in text and "| core/sort.c | ok |" in text
    with Store(str(tmp_path / "cli.db")) as store:
        page = write_report(out, store, tmp_path / "html", "html")
    assert page.name == "report.html" and "<img src='curves.png'" in page.read_text()


@pytest.mark.parametrize("args,needle", [
    (["/no/such/dir"], "no such file or directory"),
    (["{empty}"], "no C translation units"),
    (["{empty}", "--engine", "spark"], "--engine spark"),
    (["{empty}", "--sandbox", "podman"], "--sandbox podman"),
    (["{empty}", "--jobs", "0"], "--jobs"),
])
def test_batch_cli_bad_input_is_one_line(args, needle, tmp_path: Path):
    (tmp_path / "empty").mkdir()
    args = [a.replace("{empty}", str(tmp_path / "empty")) for a in args]
    r = batch_cli(*args, "--db", str(tmp_path / "x.db"))
    assert r.returncode == 2, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and needle in lines[0] and lines[0].startswith("optloop: error:"), r.stderr
