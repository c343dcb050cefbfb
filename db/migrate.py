"""Alembic, configured in code: the store upgrades its database to head when it opens it.

Concurrent openers of a fresh database are serialized: on SQLite the upgrade runs inside
`BEGIN IMMEDIATE` (SQLite has transactional DDL once SQLAlchemy drives BEGIN), on PostgreSQL
behind a transaction-scoped advisory lock.  Whoever comes second finds head and does nothing.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from .engine import WRITE_OPTION

_PG_LOCK_KEY = 0x6F70746C6F6F70  # "optloop"


def alembic_config(url: str | None = None) -> Config:
    """An alembic Config pointing at this package's migrations (no alembic.ini needed)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(files(__package__ + ".migrations")))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@cache
def head_revision() -> str:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None, "no migrations found"
    return head


@cache
def known_revisions() -> frozenset[str]:
    return frozenset(s.revision for s in ScriptDirectory.from_config(alembic_config()).walk_revisions())


def current_revision(conn: Connection) -> str | None:
    return MigrationContext.configure(conn).get_current_revision()


def upgrade(engine: Engine) -> str:
    """Bring the database to head; returns the revision it is at afterwards."""
    head = head_revision()
    with engine.connect() as conn:
        rev = current_revision(conn)
        conn.rollback()
    if rev == head:  # the fast path: every open after the first
        return rev
    if rev is not None and rev not in known_revisions():
        raise RuntimeError(f"the database is at schema revision {rev!r}, which this optloop does not know "
                           f"(its newest is {head!r}): upgrade optloop")
    with engine.connect().execution_options(**{WRITE_OPTION: True}) as conn, conn.begin():
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_LOCK_KEY})
        if current_revision(conn) != head:
            cfg = alembic_config()
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
        rev = current_revision(conn)
    return rev or head
