"""The trajectory store: kernels, sessions, steps and the evaluation cache.

Every write is its own short transaction, committed before the call returns, so a process
killed at any point loses at most the write in flight and never leaves a half-written row.
Rows come back as plain dicts: column names as keys, datetimes as ISO strings, JSON decoded.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Select, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session as OrmSession
from sqlalchemy.orm import aliased

from . import migrate
from .engine import WRITE_OPTION, display_url, make_engine, normalize_url
from .engine import default_url as _default_url
from .models import ACTIONS, SESSION_STATUSES, Base, Evaluation, Kernel, Step, utcnow
from .models import Session as SessionRow

_STREAM_CHUNK = 8  # rows buffered per fetch by iter_sessions
_MIN_PREFIX = 6


def _iso(v: datetime | None) -> str | None:
    if v is None:
        return None
    return (v.astimezone(UTC) if v.tzinfo else v.replace(tzinfo=UTC)).isoformat()


def _row(obj: Base | None, exclude: tuple[str, ...] = ()) -> dict[str, Any] | None:
    if obj is None:
        return None
    out: dict[str, Any] = {}
    for col in obj.__table__.columns:
        if col.key in exclude:
            continue
        v = getattr(obj, col.key)
        out[col.key] = _iso(v) if isinstance(v, datetime) else v
    return out


def _text(s: str | None) -> str | None:
    """PostgreSQL rejects NUL in text; keep both backends storing the same thing."""
    return None if s is None else s.replace("\x00", "\ufffd")


def _json(v: Any) -> Any:
    """JSON-safe copy: NaN/inf become null (PostgreSQL's json rejects them), NUL is replaced."""
    if isinstance(v, float):
        return v if math.isfinite(v) else None
    if isinstance(v, str):
        return _text(v)
    if isinstance(v, dict):
        return {str(k): _json(x) for k, x in v.items()}
    if isinstance(v, list | tuple):
        return [_json(x) for x in v]
    return v


def _num(v: float | None) -> float | None:
    return None if v is None or math.isnan(v) else float(v)


class Store:
    """One database (SQLite file or PostgreSQL), opened and upgraded to the latest schema."""

    def __init__(self, url: str | None = None):
        self.url = normalize_url(url) if url else _default_url()
        self.display_url = display_url(self.url)
        self.engine = make_engine(self.url)
        try:
            self.schema_version = migrate.upgrade(self.engine)
        except Exception:
            self.engine.dispose()
            raise

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Store({self.display_url!r})"

    # -- transactions -------------------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[OrmSession]:
        with OrmSession(self.engine, expire_on_commit=False) as s:
            s.connection(execution_options={WRITE_OPTION: True})  # BEGIN IMMEDIATE on SQLite
            yield s
            s.commit()

    @contextmanager
    def _read(self) -> Iterator[OrmSession]:
        with OrmSession(self.engine, expire_on_commit=False) as s:
            yield s
            s.rollback()

    # -- kernels ------------------------------------------------------------------------

    def upsert_kernel(self, hash: str, name: str, files: dict[str, bytes], sources: list[str],
                      include_dirs: list[str], defines: list[str], flags: list[str], origin: list[str],
                      unopt_ir: str | None = None, ir_instruction_count: int | None = None) -> None:
        decoded = {
            str(k): _text(v.decode("utf-8", errors="replace") if isinstance(v, bytes | bytearray) else str(v))
            for k, v in files.items()
        }
        values = dict(name=name, files=decoded, sources=_json(list(sources)),
                      include_dirs=_json(list(include_dirs)), defines=_json(list(defines)),
                      flags=_json(list(flags)), origin=_json(list(origin)))
        for attempt in range(2):
            try:
                with self._write() as s:
                    k = s.get(Kernel, hash)
                    if k is None:
                        s.add(Kernel(hash=hash, unopt_ir=_text(unopt_ir),
                                     ir_instruction_count=ir_instruction_count, **values))
                    else:
                        for key, v in values.items():
                            setattr(k, key, v)
                        if unopt_ir is not None:  # never forget an IR we already had
                            k.unopt_ir = _text(unopt_ir)
                        if ir_instruction_count is not None:
                            k.ir_instruction_count = ir_instruction_count
                return
            except IntegrityError:  # another process inserted it first: update theirs
                if attempt:
                    raise

    def get_kernel(self, hash: str) -> dict | None:
        with self._read() as s:
            return _row(s.get(Kernel, hash))

    # -- sessions -----------------------------------------------------------------------

    def create_session(self, kernel_hash: str, objective: str, action: str, proposer: str, model: str | None,
                       config: dict, toolchain: str, optloop_version: str, baseline_pipeline: str,
                       baseline_value: float | None, budget: int, seed: int | None = None,
                       batch_key: str | None = None) -> str:
        if action not in ACTIONS:
            raise ValueError(f"unknown action {action!r} (expected one of {', '.join(ACTIONS)})")
        sid = uuid.uuid4().hex
        now = utcnow()
        with self._write() as s:
            s.add(SessionRow(
                id=sid, kernel_hash=kernel_hash, objective=objective, action=action, proposer=proposer,
                model=model, config=_json(config), toolchain=toolchain, optloop_version=optloop_version,
                status="running", baseline_pipeline=baseline_pipeline, baseline_value=_num(baseline_value),
                evaluations=0, steps=0, budget=budget, seed=seed, batch_key=batch_key,
                started_at=now, updated_at=now,
            ))
        return sid

    def update_session_progress(self, session_id: str, best_evaluation_id: int | None,
                                best_value: float | None, improvement: float | None, evaluations: int,
                                steps: int) -> None:
        self._update_session(session_id, utcnow(), best_evaluation_id=best_evaluation_id,
                             best_value=_num(best_value), improvement=_num(improvement),
                             evaluations=evaluations, steps=steps)

    def finish_session(self, session_id: str, status: str, error: str | None, best_evaluation_id: int | None,
                       best_value: float | None, improvement: float | None, evaluations: int,
                       steps: int) -> None:
        if status not in SESSION_STATUSES:
            raise ValueError(f"unknown session status {status!r} (one of {', '.join(SESSION_STATUSES)})")
        now = utcnow()
        self._update_session(session_id, now, status=status, error=_text(error),
                             best_evaluation_id=best_evaluation_id, best_value=_num(best_value),
                             improvement=_num(improvement), evaluations=evaluations, steps=steps,
                             finished_at=now)

    def _update_session(self, session_id: str, now: datetime, **values: Any) -> None:
        with self._write() as s:
            res = s.execute(update(SessionRow).where(SessionRow.id == session_id)
                            .values(updated_at=now, **values))
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise LookupError(f"no session {session_id!r}")

    def _resolve_session_id(self, s: OrmSession, session_id: str) -> str | None:
        if s.get(SessionRow, session_id) is not None:
            return session_id
        prefix = session_id.strip().lower()
        if len(prefix) < _MIN_PREFIX or not all(c in "0123456789abcdef" for c in prefix):
            return None
        ids = s.scalars(select(SessionRow.id).where(SessionRow.id.startswith(prefix)).limit(6)).all()
        if len(ids) > 1:
            shown = ", ".join(ids[:5]) + (", ..." if len(ids) > 5 else "")
            raise LookupError(f"ambiguous session id {session_id!r}: matches {shown}")
        return ids[0] if ids else None

    def get_session(self, session_id: str) -> dict | None:
        with self._read() as s:
            sid = self._resolve_session_id(s, session_id)
            if sid is None:
                return None
            row = s.get(SessionRow, sid)
            out = _row(row)
            assert out is not None and row is not None
            out["kernel"] = _row(s.get(Kernel, row.kernel_hash), exclude=("files",))
            best = s.get(Evaluation, row.best_evaluation_id) if row.best_evaluation_id is not None else None
            out["best"] = _row(best)
            return out

    def _filtered(self, query: Select, objective: str | None, statuses: tuple[str, ...] | None,
                  kernel_hash: str | None, batch_key: str | None, min_improvement: float | None) -> Select:
        if objective is not None:
            query = query.where(SessionRow.objective == objective)
        if statuses:
            query = query.where(SessionRow.status.in_(statuses))
        if kernel_hash is not None:
            query = query.where(SessionRow.kernel_hash == kernel_hash)
        if batch_key is not None:
            query = query.where(SessionRow.batch_key == batch_key)
        if min_improvement is not None:
            query = query.where(SessionRow.improvement >= min_improvement)
        return query

    def list_sessions(self, limit: int = 50, objective: str | None = None, status: str | None = None,
                      kernel_hash: str | None = None, batch_key: str | None = None) -> list[dict]:
        query = self._filtered(select(SessionRow), objective, (status,) if status else None, kernel_hash,
                               batch_key, None)
        query = query.order_by(SessionRow.started_at.desc(), SessionRow.id.desc()).limit(limit)
        with self._read() as s:
            return [_row(r) for r in s.scalars(query)]  # type: ignore[misc]

    def iter_sessions(self, objective: str | None = None, statuses: tuple[str, ...] | None = None,
                      min_improvement: float | None = None, batch_key: str | None = None) -> Iterator[dict]:
        """Every matching session, oldest first, with "kernel" (no files) and "best" like get_session.

        Streams: rows are fetched a few at a time (a server-side cursor on PostgreSQL), so memory
        stays flat however large the database is.  Other Store calls are fine while iterating.
        """
        best = aliased(Evaluation)
        query = self._filtered(
            select(SessionRow, Kernel, best)
            .join(Kernel, Kernel.hash == SessionRow.kernel_hash)
            .outerjoin(best, best.id == SessionRow.best_evaluation_id),
            objective, statuses, None, batch_key, min_improvement,
        ).order_by(SessionRow.started_at, SessionRow.id)
        with self._read() as s:
            result = s.execute(query.execution_options(yield_per=_STREAM_CHUNK))
            for sess, kernel, ev in result:
                out = _row(sess)
                assert out is not None
                out["kernel"] = _row(kernel, exclude=("files",))
                out["best"] = _row(ev)
                yield out  # the identity map holds weak references: nothing accumulates

    # -- steps --------------------------------------------------------------------------

    def add_step(self, session_id: str, index: int, messages: list[dict], response: str | None,
                 action: dict | None, predictions: list[float | None], rationale: str | None,
                 feedback: str | None, error: str | None, latency_s: float, prompt_tokens: int | None,
                 completion_tokens: int | None, evaluation_ids: list[int]) -> int:
        values = dict(messages=_json(list(messages)), response=_text(response),
                      action=_json(action), predictions=_json(list(predictions)), rationale=_text(rationale),
                      feedback=_text(feedback), error=_text(error), latency_s=float(latency_s),
                      prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                      evaluation_ids=[int(i) for i in evaluation_ids])
        for attempt in range(2):
            try:
                with self._write() as s:
                    where = (Step.session_id == session_id, Step.index == index)
                    row = s.scalars(select(Step).where(*where)).first()
                    if row is None:
                        row = Step(session_id=session_id, index=index, created_at=utcnow(), **values)
                        s.add(row)
                    else:  # a replayed step: replace, never duplicate
                        for key, v in values.items():
                            setattr(row, key, v)
                    s.flush()
                    return row.id
            except IntegrityError:  # the same step written concurrently: the retry updates it
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def set_step_feedback(self, session_id: str, index: int, feedback: str) -> None:
        with self._write() as s:
            res = s.execute(update(Step).where(Step.session_id == session_id, Step.index == index)
                            .values(feedback=_text(feedback)))
            if res.rowcount == 0:  # type: ignore[attr-defined]
                raise LookupError(f"no step {index} in session {session_id!r}")

    def steps(self, session_id: str) -> list[dict]:
        with self._read() as s:
            rows = s.scalars(select(Step).where(Step.session_id == session_id).order_by(Step.index))
            return [_row(r) for r in rows]  # type: ignore[misc]

    # -- evaluations (the cache) --------------------------------------------------------

    def lookup_evaluation(self, kernel_hash: str, action_hash: str, objective: str, toolchain: str,
                          need_checked: bool) -> dict | None:
        query = select(Evaluation).where(
            Evaluation.kernel_hash == kernel_hash, Evaluation.action_hash == action_hash,
            Evaluation.objective == objective, Evaluation.toolchain == toolchain,
        )
        if need_checked:
            query = query.where(Evaluation.output_checked.is_(True))
        query = query.order_by(Evaluation.output_checked.desc()).limit(1)  # a checked row is better
        with self._read() as s:
            return _row(s.scalars(query).first())

    def record_evaluation(self, kernel_hash: str, action_kind: str, action_text: str, action_hash: str,
                          objective: str, toolchain: str, status: str, value: float | None, metrics: dict,
                          error: str | None, output_checked: bool, ir_out: str | None = None) -> int:
        """Insert, or return the id recorded for the same key (filling in its ir_out if missing)."""
        key = (Evaluation.kernel_hash == kernel_hash, Evaluation.action_hash == action_hash,
               Evaluation.objective == objective, Evaluation.toolchain == toolchain,
               Evaluation.output_checked.is_(bool(output_checked)))
        for attempt in range(2):
            try:
                with self._write() as s:
                    row = s.scalars(select(Evaluation).where(*key)).first()
                    if row is None:
                        row = Evaluation(
                            kernel_hash=kernel_hash, action_kind=action_kind, action_text=_text(action_text),
                            action_hash=action_hash, objective=objective, toolchain=toolchain,
                            output_checked=bool(output_checked), status=status, value=_num(value),
                            metrics=_json(metrics or {}), error=_text(error), ir_out=_text(ir_out),
                            created_at=utcnow(),
                        )
                        s.add(row)
                    elif ir_out is not None and row.ir_out is None:
                        row.ir_out = _text(ir_out)
                    s.flush()
                    return row.id
            except IntegrityError:  # a concurrent writer recorded the same key: read theirs
                if attempt:
                    raise
        raise AssertionError("unreachable")

    def get_evaluation(self, evaluation_id: int) -> dict | None:
        with self._read() as s:
            return _row(s.get(Evaluation, evaluation_id))

    def evaluations_for_session(self, session_id: str) -> list[dict]:
        with self._read() as s:
            lists = s.scalars(select(Step.evaluation_ids).where(Step.session_id == session_id)
                              .order_by(Step.index)).all()
            ids = list(dict.fromkeys(int(i) for ids in lists for i in (ids or [])))
            if not ids:
                return []
            rows = {e.id: e for e in s.scalars(select(Evaluation).where(Evaluation.id.in_(ids)))}
            return [_row(rows[i]) for i in ids if i in rows]  # type: ignore[misc]

    def delete_session(self, session_id: str) -> None:
        """Remove a session and its steps (evaluations stay: they are a cache shared by sessions)."""
        with self._write() as s:
            s.execute(delete(Step).where(Step.session_id == session_id))
            s.execute(delete(SessionRow).where(SessionRow.id == session_id))
