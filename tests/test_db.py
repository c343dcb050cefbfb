"""The trajectory store: every API method, migrations, concurrency and crash safety."""

from __future__ import annotations

import math
import multiprocessing
import os
import signal
import sqlite3
import time
import uuid
from datetime import datetime

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

try:  # tests/ is on sys.path under pytest's default import mode
    import conftest_db as _db
except ImportError:  # pragma: no cover - tests/ became a package
    from tests import conftest_db as _db  # type: ignore[no-redef]

from optloop.db import SESSION_STATUSES, Store, default_url, head_revision
from optloop.db.engine import display_url
from optloop.db.migrate import alembic_config
from optloop.db.models import Base

store_url = _db.store_url
store = _db.store
add_kernel, new_session, TOOLCHAIN = _db.add_kernel, _db.new_session, _db.TOOLCHAIN


def _eval(
    store: Store,
    kernel: str,
    key: str,
    checked: bool = False,
    value: float | None = 5.0,
    ir_out: str | None = None,
    status: str = "ok",
) -> int:
    return store.record_evaluation(
        kernel,
        "passes",
        key,
        f"hash-{key}",
        "instcount",
        TOOLCHAIN,
        status,
        value,
        {"ir_instruction_count": value},
        None,
        checked,
        ir_out=ir_out,
    )


def _step(
    store: Store, sid: str, index: int, eids: list[int], response: str = "r", feedback: str | None = "f"
):
    return store.add_step(
        sid,
        index,
        [{"role": "system", "content": "s"}, {"role": "user", "content": f"u{index}"}],
        response,
        {"passes": "instcombine"},
        [4.0],
        "because",
        feedback,
        None,
        0.5,
        100,
        20,
        eids,
    )


# -- URLs and engine ----------------------------------------------------------------------


def test_default_url(monkeypatch, tmp_path):
    monkeypatch.delenv("OPTLOOP_DB", raising=False)
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert default_url() == f"sqlite:///{tmp_path / 'xdg' / 'optloop' / 'optloop.db'}"
    assert (tmp_path / "xdg" / "optloop").is_dir()
    monkeypatch.setenv("OPTLOOP_DB", "postgresql+psycopg://u:p@h/db")
    assert default_url() == "postgresql+psycopg://u:p@h/db"


def test_bare_path_and_env(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    s = Store("sub/my.db")
    assert s.url == f"sqlite:///{tmp_path / 'sub' / 'my.db'}"
    assert (tmp_path / "sub" / "my.db").exists()
    s.close()
    monkeypatch.setenv("OPTLOOP_DB", str(tmp_path / "env.db"))
    with Store() as s2:
        assert s2.url == f"sqlite:///{tmp_path / 'env.db'}"


def test_display_url_masks_password():
    assert (
        display_url("postgresql+psycopg://me:secret@db.example/optloop")
        == "postgresql+psycopg://me:***@db.example/optloop"
    )


def test_sqlite_pragmas(tmp_path):
    with Store(str(tmp_path / "p.db")) as s, s.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000


def test_memory_database():
    with Store("sqlite://") as s:
        k = add_kernel(s)
        assert s.get_session(new_session(s, k))["status"] == "running"


# -- migrations ---------------------------------------------------------------------------


def test_migrations_reach_head(store):
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert store.schema_version == head == head_revision() == "0001"
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT version_num FROM alembic_version")).scalar() == head
    again = Store(store.url)  # the fast path: already at head
    assert again.schema_version == head
    again.close()


def test_models_match_migrations(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_unknown_revision_is_a_clear_error(tmp_path):
    path = tmp_path / "future.db"
    Store(str(path)).close()
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    with pytest.raises(RuntimeError, match="9999"):
        Store(str(path))


# -- kernels ------------------------------------------------------------------------------


def test_kernel_roundtrip(store):
    files = {"main.c": b"int main(void) { return 0; }\n", "inc/bad.h": b"\xff\xfe // latin-1 \xe9\n"}
    store.upsert_kernel("h1", "main", files, ["main.c"], ["inc"], ["N=4"], ["-std=c99"], ["repo/main.c"])
    k = store.get_kernel("h1")
    assert k["files"]["main.c"] == "int main(void) { return 0; }\n"
    assert "\ufffd" in k["files"]["inc/bad.h"] and k["files"]["inc/bad.h"].endswith("latin-1 \ufffd\n")
    assert (k["sources"], k["include_dirs"], k["defines"], k["flags"], k["origin"]) == (
        ["main.c"],
        ["inc"],
        ["N=4"],
        ["-std=c99"],
        ["repo/main.c"],
    )
    assert k["unopt_ir"] is None and k["ir_instruction_count"] is None
    datetime.fromisoformat(k["created_at"])
    store.upsert_kernel(
        "h1",
        "main2",
        files,
        ["main.c"],
        [],
        [],
        [],
        ["x"],
        unopt_ir="define void @f()",
        ir_instruction_count=7,
    )
    store.upsert_kernel("h1", "main2", files, ["main.c"], [], [], [], ["x"])  # keeps the IR it had
    k = store.get_kernel("h1")
    assert (k["name"], k["unopt_ir"], k["ir_instruction_count"]) == ("main2", "define void @f()", 7)
    assert store.get_kernel("nope") is None


# -- sessions -----------------------------------------------------------------------------


def test_session_lifecycle(store):
    k = add_kernel(store)
    sid = new_session(store, k)
    assert len(sid) == 32 and int(sid, 16) >= 0
    s = store.get_session(sid)
    assert s["status"] == "running" and s["steps"] == 0 and s["best"] is None and s["finished_at"] is None
    assert s["config"] == {"budget": 10} and s["toolchain"] == TOOLCHAIN and s["baseline_value"] == 10.0
    assert "files" not in s["kernel"] and s["kernel"]["unopt_ir"].startswith("define")
    eid = _eval(store, k, "a", value=4.0)
    store.update_session_progress(sid, eid, 4.0, 2.5, 3, 2)
    s = store.get_session(sid)
    assert (s["best_evaluation_id"], s["best_value"], s["improvement"], s["evaluations"], s["steps"]) == (
        eid,
        4.0,
        2.5,
        3,
        2,
    )
    assert s["best"]["id"] == eid and s["best"]["action_text"] == "a"
    assert s["updated_at"] >= s["started_at"]
    store.finish_session(sid, "budget_exhausted", None, eid, 4.0, 2.5, 5, 4)
    s = store.get_session(sid)
    assert s["status"] == "budget_exhausted" and s["finished_at"] and s["evaluations"] == 5
    with pytest.raises(ValueError, match="status"):
        store.finish_session(sid, "exploded", None, None, None, None, 0, 0)
    with pytest.raises(ValueError, match="action"):
        store.create_session(
            k, "instcount", "c-source", "search", None, {}, TOOLCHAIN, "0.1.0", "default<Oz>", 1.0, 1
        )
    with pytest.raises(LookupError):
        store.update_session_progress("0" * 32, None, None, None, 0, 0)
    assert set(SESSION_STATUSES) >= {"completed", "interrupted", "failed", "no_improvement"}


def test_session_prefix_lookup(store, monkeypatch):
    k = add_kernel(store)
    ids = iter(["abcdef01" + "0" * 24, "abcdef02" + "0" * 24, "12345678" + "0" * 24])
    monkeypatch.setattr("optloop.db.store.uuid.uuid4", lambda: uuid.UUID(next(ids)))
    a, b, c = (new_session(store, k) for _ in range(3))
    assert store.get_session("1234567")["id"] == c
    assert store.get_session("abcdef01")["id"] == a
    assert store.get_session(b)["id"] == b
    with pytest.raises(LookupError, match="ambiguous session id"):
        store.get_session("abcdef")
    assert store.get_session("12345") is None  # shorter than 6 characters: exact ids only
    assert store.get_session("ffffff") is None
    assert store.get_session("abcdef%") is None


def test_list_sessions(store):
    k1, k2 = add_kernel(store, "a" * 64), add_kernel(store, "b" * 64)
    s1 = new_session(store, k1, objective="size", batch_key="batch-1")
    s2 = new_session(store, k2, batch_key="batch-1")
    s3 = new_session(store, k2, objective="runtime")
    store.finish_session(s2, "completed", None, None, None, None, 0, 0)
    assert [s["id"] for s in store.list_sessions()] == [s3, s2, s1]
    assert [s["id"] for s in store.list_sessions(limit=2)] == [s3, s2]
    assert [s["id"] for s in store.list_sessions(objective="size")] == [s1]
    assert [s["id"] for s in store.list_sessions(status="completed")] == [s2]
    assert [s["id"] for s in store.list_sessions(kernel_hash=k2)] == [s3, s2]
    assert [s["id"] for s in store.list_sessions(batch_key="batch-1")] == [s2, s1]


def test_iter_sessions_filters_and_streams(store):
    k = add_kernel(store)
    made = []
    for i in range(70):  # more than one fetch chunk
        sid = new_session(
            store, k, objective="size" if i % 2 else "instcount", batch_key="b" if i < 10 else None
        )
        eid = _eval(store, k, f"p{i}", value=float(100 - i), ir_out=f"ir {i}")
        store.finish_session(
            sid, "completed" if i % 3 else "failed", None, eid, float(100 - i), 1.0 + i / 100, 1, 1
        )
        made.append(sid)
    seen = []
    for s in store.iter_sessions():
        seen.append(s["id"])
        assert s["best"]["ir_out"] == f"ir {len(seen) - 1}" and "files" not in s["kernel"]
        _step(store, s["id"], 0, [s["best"]["id"]])  # writing while a read is open is fine
    assert seen == made
    assert len(list(store.iter_sessions(objective="size"))) == 35
    assert all(s["status"] == "completed" for s in store.iter_sessions(statuses=("completed",)))
    assert len(list(store.iter_sessions(statuses=("failed",)))) == 24
    assert [s["improvement"] for s in store.iter_sessions(min_improvement=1 + 68 / 100)] == [
        1 + 68 / 100,
        1 + 69 / 100,
    ]
    assert len(list(store.iter_sessions(batch_key="b"))) == 10


# -- steps --------------------------------------------------------------------------------


def test_steps(store):
    k = add_kernel(store)
    sid = new_session(store, k)
    e = _eval(store, k, "a")
    id1 = _step(store, sid, 1, [e])
    id0 = _step(store, sid, 0, [e])
    again = _step(store, sid, 1, [e, e], response="replaced", feedback=None)
    assert again == id1 != id0
    steps = store.steps(sid)
    assert [s["index"] for s in steps] == [0, 1]
    assert (
        steps[1]["response"] == "replaced"
        and steps[1]["feedback"] is None
        and steps[1]["evaluation_ids"] == [e, e]
    )
    s0 = steps[0]
    assert s0["messages"] == [{"role": "system", "content": "s"}, {"role": "user", "content": "u0"}]
    assert (s0["action"], s0["predictions"], s0["rationale"], s0["latency_s"]) == (
        {"passes": "instcombine"},
        [4.0],
        "because",
        0.5,
    )
    assert (s0["prompt_tokens"], s0["completion_tokens"], s0["session_id"]) == (100, 20, sid)
    store.set_step_feedback(sid, 1, "now with feedback")
    assert store.steps(sid)[1]["feedback"] == "now with feedback"
    with pytest.raises(LookupError):
        store.set_step_feedback(sid, 9, "x")
    store.add_step(sid, 2, [], None, None, [None], None, None, "endpoint down", 0.0, None, None, [])
    assert store.steps(sid)[2]["error"] == "endpoint down" and store.steps(sid)[2]["predictions"] == [None]
    assert store.steps("0" * 32) == []


def test_step_needs_a_session(store):
    with pytest.raises(Exception, match="(?i)foreign key|violates"):
        _step(store, "f" * 32, 0, [])


# -- evaluations --------------------------------------------------------------------------


def test_record_and_lookup_evaluation(store):
    k = add_kernel(store)
    e1 = _eval(store, k, "a", checked=False)
    assert _eval(store, k, "a", checked=False, value=99.0) == e1  # idempotent: the first record stays
    assert store.get_evaluation(e1)["value"] == 5.0
    assert store.lookup_evaluation(k, "hash-a", "instcount", TOOLCHAIN, need_checked=True) is None
    assert store.lookup_evaluation(k, "hash-a", "instcount", TOOLCHAIN, need_checked=False)["id"] == e1
    e2 = _eval(store, k, "a", checked=True)
    assert e2 != e1
    assert store.lookup_evaluation(k, "hash-a", "instcount", TOOLCHAIN, need_checked=True)["id"] == e2
    assert store.lookup_evaluation(k, "hash-a", "instcount", TOOLCHAIN, need_checked=False)["id"] == e2
    assert store.lookup_evaluation(k, "hash-a", "size", TOOLCHAIN, need_checked=False) is None
    assert store.lookup_evaluation(k, "hash-a", "instcount", "llvm-18.1.0", need_checked=False) is None
    ev = store.get_evaluation(e2)
    assert (
        ev["kernel_hash"],
        ev["action_kind"],
        ev["action_text"],
        ev["action_hash"],
        ev["output_checked"],
    ) == (k, "passes", "a", "hash-a", True)
    assert ev["ir_out"] is None and ev["metrics"] == {"ir_instruction_count": 5.0}
    assert _eval(store, k, "a", checked=True, ir_out="define void @g()") == e2  # fills in the missing IR
    assert store.get_evaluation(e2)["ir_out"] == "define void @g()"
    bad = store.record_evaluation(
        k,
        "passes",
        "x",
        "hx",
        "instcount",
        TOOLCHAIN,
        "invalid_pipeline",
        None,
        {"runtime_s": math.nan},
        "opt: unknown pass 'x'",
        False,
    )
    ev = store.get_evaluation(bad)
    assert ev["status"] == "invalid_pipeline" and ev["value"] is None and ev["metrics"] == {"runtime_s": None}
    assert store.get_evaluation(10**9) is None


def test_evaluations_for_session(store):
    k = add_kernel(store)
    sid = new_session(store, k)
    a, b, c = (_eval(store, k, x) for x in "abc")
    _step(store, sid, 1, [c, a])
    _step(store, sid, 0, [b, a])
    _step(store, sid, 2, [])
    assert [e["id"] for e in store.evaluations_for_session(sid)] == [b, a, c]
    assert store.evaluations_for_session(new_session(store, k)) == []


def test_nul_and_unicode_text(store):
    k = add_kernel(store)
    sid = new_session(store, k)
    store.add_step(
        sid,
        0,
        [{"role": "user", "content": "naïve \x00 ☃"}],
        "ok \x00",
        None,
        [],
        None,
        None,
        None,
        0.0,
        None,
        None,
        [],
    )
    st = store.steps(sid)[0]
    assert st["messages"][0]["content"] == "naïve \ufffd ☃" and st["response"] == "ok \ufffd"


# -- concurrency and crashes --------------------------------------------------------------


@pytest.mark.slow
def test_concurrent_writer_processes(store_url):
    with Store(store_url) as s:
        k = add_kernel(s)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        results = pool.starmap(_db.writer, [(store_url, k, w, 200) for w in range(4)], chunksize=1)
    with Store(store_url) as s:
        for r in results:
            sess = s.get_session(r["session"])
            assert sess["status"] == "completed" and sess["steps"] == 200
            assert [st["index"] for st in s.steps(r["session"])] == list(range(200))
            assert r["shared"] == results[0]["shared"]  # the same key got the same row in every process
        with s.engine.connect() as conn:
            assert conn.execute(text("SELECT COUNT(*) FROM evaluations")).scalar() == 100 + 4 * 100
            assert conn.execute(text("SELECT COUNT(*) FROM steps")).scalar() == 800


def test_sigkill_leaves_a_consistent_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'kill.db'}"
    with Store(url) as s:
        k = add_kernel(s)
        sid = new_session(s, k)
    proc = multiprocessing.get_context("spawn").Process(target=_db.endless_writer, args=(url, k, sid))
    proc.start()
    try:
        with Store(url) as s:
            deadline = time.monotonic() + 60
            while len(s.steps(sid)) < 30 and time.monotonic() < deadline and proc.is_alive():
                time.sleep(0.05)
            assert proc.is_alive(), "the writer died on its own"
        time.sleep(0.137)  # land somewhere inside a transaction
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.join(10)
    assert proc.exitcode == -signal.SIGKILL
    with sqlite3.connect(tmp_path / "kill.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        assert conn.execute("PRAGMA foreign_key_check").fetchall() == []
    with Store(url) as s:
        steps = s.steps(sid)
        assert len(steps) >= 30
        assert [st["index"] for st in steps] == list(range(len(steps)))
        for st in steps:  # every row is whole
            i = st["index"]
            assert st["messages"][0]["content"] == f"{i}:" + "x" * 20_000
            assert st["response"] == f"response {i}" and st["feedback"] == f"feedback {i}"
            ev = s.get_evaluation(st["evaluation_ids"][0])
            assert ev is not None and ev["action_text"] == f"p{i}" and len(ev["ir_out"]) == 20_000
        assert s.get_session(sid)["steps"] in (len(steps) - 1, len(steps))


def _forked_child(store: Store, sid: str) -> None:
    _step(store, sid, 1, [])  # the inherited engine was emptied at fork: this opens a new connection
    store.close()


def test_store_survives_fork(tmp_path):
    with Store(str(tmp_path / "fork.db")) as s:
        sid = new_session(s, add_kernel(s))
        _step(s, sid, 0, [])  # the parent holds a pooled connection
        proc = multiprocessing.get_context("fork").Process(target=_forked_child, args=(s, sid))
        proc.start()
        proc.join(30)
        assert proc.exitcode == 0
        _step(s, sid, 2, [])  # and the parent's own connection still works
        assert [st["index"] for st in s.steps(sid)] == [0, 1, 2]
