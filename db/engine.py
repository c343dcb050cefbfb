"""Database URLs and engines: SQLite (WAL) by default, PostgreSQL through the same URL.

One engine per Store, and never one engine shared across a fork: a forked child that
inherits an engine gets its pool emptied (without closing the parent's connections) by
an `os.register_at_fork` hook, so it opens fresh connections of its own.  Processes started
with `spawn` (or a Ray worker) simply build their own Store from the URL.

SQLite transactions are driven by SQLAlchemy, not by the sqlite3 module's legacy mode:
reads run in a plain (deferred) `BEGIN`, writes in `BEGIN IMMEDIATE`, so a writer takes the
write lock up front and waits for it under `busy_timeout` instead of failing with
"database is locked" when it upgrades a read snapshot that another process has moved past.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.pool import StaticPool

WRITE_OPTION = "optloop_write"  # execution option: this transaction writes (BEGIN IMMEDIATE)
BUSY_TIMEOUT_MS = 30_000

_engines: weakref.WeakSet[Engine] = weakref.WeakSet()


def default_url() -> str:
    """`$OPTLOOP_DB` when set, else a SQLite file under `$XDG_DATA_HOME/optloop` (or ~/.local/share)."""
    env = os.environ.get("OPTLOOP_DB")
    if env:
        return normalize_url(env)
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    folder = Path(base).expanduser() / "optloop"
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{(folder / 'optloop.db').resolve()}"


def normalize_url(url: str) -> str:
    """A SQLAlchemy URL as given, or a bare file path turned into `sqlite:////abs/path`."""
    if "://" not in url:
        return f"sqlite:///{Path(url).expanduser().resolve()}"
    return url


def display_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def _is_memory(u: URL) -> bool:
    return u.database in (None, "", ":memory:") or bool(u.query.get("mode") == "memory")


def make_engine(url: str) -> Engine:
    u = make_url(url)
    kwargs: dict[str, Any] = {}
    if u.get_backend_name() == "sqlite":
        if _is_memory(u):
            kwargs["poolclass"] = StaticPool  # one connection, else every connection is a new database
        elif u.database:
            Path(u.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        kwargs["connect_args"] = {"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
    else:
        kwargs["pool_pre_ping"] = True
    engine = create_engine(u, **kwargs)
    if u.get_backend_name() == "sqlite":
        _setup_sqlite(engine, memory=_is_memory(u))
    _engines.add(engine)
    return engine


def _setup_sqlite(engine: Engine, memory: bool) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # SQLAlchemy emits BEGIN itself (see _on_begin)
        cur = dbapi_conn.cursor()
        cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")  # first: the WAL switch may wait
        if not memory:
            cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        write = conn.get_execution_options().get(WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


def _after_fork_in_child() -> None:
    for engine in list(_engines):
        engine.dispose(close=False)  # the parent keeps its connections; the child opens new ones


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
