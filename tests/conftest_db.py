"""Fixtures and helpers shared by test_db.py and test_export.py (imported by them, not a conftest).

`store_url` / `store` run each test against SQLite in tmp_path and, when OPTLOOP_TEST_PG holds a
PostgreSQL URL (e.g. postgresql+psycopg://optloop:optloop@localhost/optloop_test), against a
fresh schema in that database, dropped afterwards.  The worker functions live here, in a plain
module, so that `spawn`ed processes can import them.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from optloop.db import Store
from sqlalchemy import create_engine, text

PG_ENV = "OPTLOOP_TEST_PG"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]
TOOLCHAIN = "llvm-19.1.7"


def _pg_schema_url(admin_url: str) -> Iterator[str]:
    schema = f"optloop_test_{uuid.uuid4().hex[:12]}"
    admin = create_engine(admin_url)
    try:
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        sep = "&" if "?" in admin_url else "?"
        yield f"{admin_url}{sep}options={quote(f'-csearch_path={schema}')}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(params=BACKENDS)
def store_url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'optloop.db'}"
        return
    admin_url = os.environ.get(PG_ENV)
    if not admin_url:
        pytest.skip(f"PostgreSQL tests need {PG_ENV}=postgresql+psycopg://user:password@host/database")
    yield from _pg_schema_url(admin_url)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = Store(store_url)
    yield s
    s.close()


def add_kernel(
    store: Store,
    hash: str = "k" * 64,
    ir: str = "define i32 @main() {\n  ret i32 0\n}\n",
    count: int = 1,
    name: str = "kernel",
) -> str:
    store.upsert_kernel(
        hash,
        name,
        {"main.c": b"int main(void) { return 0; }\n"},
        ["main.c"],
        [],
        [],
        [],
        ["test"],
        unopt_ir=ir,
        ir_instruction_count=count,
    )
    return hash


def new_session(
    store: Store,
    kernel_hash: str,
    objective: str = "instcount",
    proposer: str = "openai",
    batch_key: str | None = None,
    baseline_value: float | None = 10.0,
) -> str:
    return store.create_session(
        kernel_hash,
        objective,
        "passes",
        proposer,
        "m" if proposer != "search" else None,
        {"budget": 10},
        TOOLCHAIN,
        "0.1.0",
        "default<Oz>",
        baseline_value,
        10,
        seed=0,
        batch_key=batch_key,
    )


def writer(url: str, kernel_hash: str, worker: int, n: int) -> dict:
    """One of the concurrent writer processes: n evaluations (half shared with other workers) + n steps."""
    store = Store(url)
    sid = new_session(store, kernel_hash, batch_key=f"w{worker}")
    shared: dict[str, int] = {}
    for i in range(n):
        key = f"shared-{i}" if i % 2 == 0 else f"own-{worker}-{i}"
        eid = store.record_evaluation(
            kernel_hash,
            "passes",
            key,
            key,
            "instcount",
            TOOLCHAIN,
            "ok",
            float(i),
            {"ir_instruction_count": i},
            None,
            False,
        )
        if key.startswith("shared"):
            shared[key] = eid
        store.add_step(
            sid,
            i,
            [{"role": "user", "content": f"{worker}/{i}"}],
            f"r{i}",
            {"passes": key},
            [None],
            None,
            f"feedback {i}",
            None,
            0.01,
            1,
            1,
            [eid],
        )
        store.update_session_progress(sid, eid, float(i), 1.0, i + 1, i + 1)
    store.finish_session(sid, "completed", None, None, None, None, n, n)
    store.close()
    return {"session": sid, "shared": shared}


def endless_writer(url: str, kernel_hash: str, session_id: str) -> None:
    """Writes steps until it is killed (the SIGKILL test)."""
    store = Store(url)
    payload = "x" * 20_000
    i = 0
    while True:
        eid = store.record_evaluation(
            kernel_hash,
            "passes",
            f"p{i}",
            f"h{i}",
            "instcount",
            TOOLCHAIN,
            "ok",
            float(i),
            {"n": i},
            None,
            False,
            ir_out=payload,
        )
        store.add_step(
            session_id,
            i,
            [{"role": "user", "content": f"{i}:{payload}"}],
            f"response {i}",
            {"passes": f"p{i}"},
            [float(i)],
            "why",
            f"feedback {i}",
            None,
            0.0,
            10,
            10,
            [eid],
        )
        store.update_session_progress(session_id, eid, float(i), 1.0, i + 1, i + 1)
        i += 1
        if i % 50 == 0:
            time.sleep(0)
