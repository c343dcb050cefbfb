"""optloop.db: the trajectory store (SQLite in WAL mode by default, PostgreSQL through the same URL).

Kernels, sessions, steps and the evaluation cache, in SQLAlchemy 2 with Alembic migrations that
run when a Store opens a database.  Imports nothing else of optloop.

    store = Store()                       # $OPTLOOP_DB, else ~/.local/share/optloop/optloop.db
    store = Store("postgresql+psycopg://user:pw@host/db")

One Store (one engine) per process: never use a Store across a fork; build one from `store.url`
in the child (a forked child's inherited pool is emptied automatically).
"""

from __future__ import annotations

from .engine import default_url
from .migrate import head_revision
from .models import ACTIONS, SESSION_STATUSES
from .store import Store

__all__ = ["ACTIONS", "SESSION_STATUSES", "Store", "default_url", "head_revision"]
