"""The schema: kernels, sessions, steps and evaluations (SQLAlchemy 2 typed ORM).

The migrations in `migrations/versions` create exactly these tables; a change here needs a
new revision there (the test suite compares the two).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

SESSION_STATUSES = ("running", "completed", "budget_exhausted", "no_improvement", "failed", "interrupted")
ACTIONS = ("passes", "ir")


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Kernel(Base):
    __tablename__ = "kernels"

    hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(255))
    files: Mapped[dict[str, Any]]  # relative path -> text
    sources: Mapped[list[Any]]
    include_dirs: Mapped[list[Any]]
    defines: Mapped[list[Any]]
    flags: Mapped[list[Any]]
    origin: Mapped[list[Any]]
    unopt_ir: Mapped[str | None] = mapped_column(Text)
    ir_instruction_count: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Evaluation(Base):
    __tablename__ = "evaluations"
    __table_args__ = (
        UniqueConstraint("kernel_hash", "action_hash", "objective", "toolchain", "output_checked",
                         name="uq_evaluations_key"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kernel_hash: Mapped[str] = mapped_column(String(64))
    action_kind: Mapped[str] = mapped_column(String(16))
    action_text: Mapped[str] = mapped_column(Text)
    action_hash: Mapped[str] = mapped_column(String(64))
    objective: Mapped[str] = mapped_column(String(32))
    toolchain: Mapped[str] = mapped_column(String(64))
    output_checked: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(32))
    value: Mapped[float | None] = mapped_column(Float)
    metrics: Mapped[dict[str, Any]]
    error: Mapped[str | None] = mapped_column(Text)
    ir_out: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Session(Base):
    __tablename__ = "sessions"
    __table_args__ = (
        Index("ix_sessions_started_at", "started_at"),
        Index("ix_sessions_kernel_hash", "kernel_hash"),
    )

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kernel_hash: Mapped[str] = mapped_column(ForeignKey("kernels.hash", name="fk_sessions_kernel"))
    objective: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(16))
    proposer: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(255))
    config: Mapped[dict[str, Any]]
    toolchain: Mapped[str] = mapped_column(String(64))
    optloop_version: Mapped[str] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(32), default="running")
    error: Mapped[str | None] = mapped_column(Text)
    baseline_pipeline: Mapped[str] = mapped_column(Text)
    baseline_value: Mapped[float | None] = mapped_column(Float)
    best_evaluation_id: Mapped[int | None] = mapped_column(
        ForeignKey("evaluations.id", name="fk_sessions_best_evaluation")
    )
    best_value: Mapped[float | None] = mapped_column(Float)
    improvement: Mapped[float | None] = mapped_column(Float)
    evaluations: Mapped[int] = mapped_column(Integer, default=0)
    steps: Mapped[int] = mapped_column(Integer, default=0)
    budget: Mapped[int] = mapped_column(Integer)
    seed: Mapped[int | None] = mapped_column(Integer)
    batch_key: Mapped[str | None] = mapped_column(String(255), index=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Step(Base):
    __tablename__ = "steps"
    __table_args__ = (UniqueConstraint("session_id", "index", name="uq_steps_session_index"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(
        ForeignKey("sessions.id", name="fk_steps_session", ondelete="CASCADE")
    )
    index: Mapped[int] = mapped_column(Integer)
    messages: Mapped[list[Any]]
    response: Mapped[str | None] = mapped_column(Text)
    action: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    predictions: Mapped[list[Any]]
    rationale: Mapped[str | None] = mapped_column(Text)
    feedback: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    latency_s: Mapped[float] = mapped_column(Float, default=0.0)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    evaluation_ids: Mapped[list[Any]]
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


TABLES = (Kernel, Session, Step, Evaluation)
