"""Crash safety: SIGKILL mid-session loses at most the step in flight; the session resumes."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time

import pytest
from optloop.db import Store

from .conftest import DATA


def _optimize(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "optloop.agent.cli", "optimize", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, **kw)


def _wait_for_steps(db_path, n: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect(db_path, timeout=1) as c:
                if c.execute("select count(*) from steps").fetchone()[0] >= n:
                    return
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} steps recorded in {timeout} s")


@pytest.mark.slow
def test_sigkill_mid_session_then_resume(tmp_path):
    db_path = tmp_path / "crash.db"
    db = f"sqlite:///{db_path}"
    proc = _optimize(str(DATA / "simple.c"), "--sandbox", "local", "--budget", "80", "--per-step", "1",
                     "--db", db, "--out", str(tmp_path / "out"))
    _wait_for_steps(db_path, 5)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL

    with sqlite3.connect(db_path) as c:
        assert c.execute("pragma integrity_check").fetchone()[0] == "ok"
        assert c.execute("pragma foreign_key_check").fetchall() == []
    store = Store(db)
    [session] = store.list_sessions()
    assert session["status"] == "running"  # it never got to say otherwise
    steps = store.steps(session["id"])
    indices = [s["index"] for s in steps]
    assert indices == list(range(len(indices))) and len(indices) >= 5
    for s in steps:  # every recorded step is whole: its evaluations exist
        assert s["feedback"]
        for eid in s["evaluation_ids"]:
            assert store.get_evaluation(eid) is not None
    done_before = sum(len(s["evaluation_ids"]) for s in steps)
    store.close()

    r = subprocess.run([sys.executable, "-m", "optloop.agent.cli", "optimize", "--resume", session["id"][:10],
                        "--db", db, "--out", str(tmp_path / "out"), "--json"], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["session_id"] == session["id"]
    assert out["status"] in ("budget_exhausted", "completed") and out["evaluations"] == 80

    store = Store(db)
    steps = store.steps(session["id"])
    indices = [s["index"] for s in steps]
    assert indices == list(range(len(indices)))  # no duplicate, no gap
    evaluated = [eid for s in steps for eid in s["evaluation_ids"]]
    assert len(evaluated) == len(set(evaluated)) == 80 > done_before
    texts = [store.get_evaluation(e)["action_text"] for e in evaluated]
    assert len(texts) == len(set(texts))  # nothing evaluated twice across the crash
    assert store.get_session(session["id"])["status"] == out["status"]
    # A finished session cannot be resumed again.
    again = subprocess.run([sys.executable, "-m", "optloop.agent.cli", "optimize", "--resume", session["id"],
                            "--db", db], capture_output=True, text=True, timeout=120)
    assert again.returncode == 2 and "already ended" in again.stderr
    store.close()


def test_interrupt_marks_the_session_and_it_resumes(tmp_path):
    db_path = tmp_path / "int.db"
    db = f"sqlite:///{db_path}"
    proc = _optimize(str(DATA / "simple.c"), "--sandbox", "local", "--budget", "60", "--per-step", "1",
                     "--db", db, "--out", str(tmp_path / "out"))
    _wait_for_steps(db_path, 3)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert "optloop optimize --resume" in err and "Traceback" not in err
    store = Store(db)
    [session] = store.list_sessions()
    assert session["status"] == "interrupted"
    store.close()
    r = subprocess.run([sys.executable, "-m", "optloop.agent.cli", "optimize", "--resume", session["id"],
                        "--db", db, "--out", str(tmp_path / "out"), "--json"], capture_output=True, text=True,
                       timeout=600)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["evaluations"] == 60


@pytest.mark.slow
def test_sigkill_mid_batch_then_rerun(tmp_path):
    import shutil

    project = tmp_path / "project"
    shutil.copytree(DATA / "project", project)
    db_path = tmp_path / "batch.db"
    db = f"sqlite:///{db_path}"
    args = [sys.executable, "-m", "optloop.agent.cli", "batch", str(project), "--jobs", "2", "--budget", "40",
            "--per-step", "1", "--sandbox", "local", "--db", db, "--json"]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:  # until one unit is finished and another is in flight
        try:
            with sqlite3.connect(db_path, timeout=1) as c:
                rows = dict(c.execute("select status, count(*) from sessions group by status").fetchall())
            if rows.get("running") and sum(v for k, v in rows.items() if k != "running"):
                break
        except sqlite3.OperationalError:
            pass
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)
    with sqlite3.connect(db_path) as c:
        assert c.execute("pragma integrity_check").fetchone()[0] == "ok"
        before = c.execute("select id, status from sessions").fetchall()
    assert any(status == "running" for _, status in before)

    r = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    statuses = {row["path"].split("/project/")[-1]: row["status"] for row in out["kernels"]}
    assert statuses.pop("src/broken/bad.c") == "compile_error"
    assert set(statuses.values()) == {"ok"}, statuses
    store = Store(db)
    sessions = store.list_sessions(limit=100)
    keys = [s["batch_key"] for s in sessions]
    assert len(keys) == len(set(keys)) == len(statuses)  # one session per unit: killed ones were continued
    assert {s["id"] for s in sessions} >= {sid for sid, _ in before}
    for s in sessions:
        assert s["status"] in ("completed", "budget_exhausted", "no_improvement")
        indices = [st["index"] for st in store.steps(s["id"])]
        assert indices == list(range(len(indices)))
    store.close()
