"""Batch-optimizing a repository: one session per translation unit, on a process pool or on Ray.

Every worker (a spawned process, or a Ray actor) owns one sandbox and one Store, opened once and
reused for the units it runs one after another; jobs and results travel as plain picklable data
and nothing mutable is shared.  A unit's batch key is the hash of its kernel and of the resolved
config (less `out_dir`): a unit whose key already has a finished session is not run again (its row
says `"resumed": true`), and an interrupted one is continued from the store (`"continued": true`).

Throughput: `python -m optloop.agent.batch --scale PATH...` (batch_cli.measure_scaling) runs the same
batch with 1 and then 2 workers, on a fresh database each, and prints kernels/minute and the speedup.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import multiprocessing
import os
import re
import signal
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from optloop.db import Store
from optloop.sandbox import Kernel, KernelError, Limits, Objective, SandboxError, Status, open_sandbox

from .config import SessionConfig
from .discover import Unit, discover
from .report import summarize
from .session import SessionInterrupted, load_resume, run_session

FINISHED = ("completed", "budget_exhausted", "no_improvement")
RENAMED_MAIN = "main=optloop_unit_main"
_LINK_FAILED = "the -O0 reference build failed"
_PREFIXED = re.compile(r"^(\w+): (.*)$", re.S)
Progress = Callable[[dict[str, Any]], None]


@dataclass(frozen=True)
class Job:
    """One unit for a worker: the kernel itself (not host paths), so remote Ray nodes can run it."""

    index: int
    path: str
    name: str
    kernel: Kernel
    config: dict[str, Any]
    batch_key: str
    resume_id: str | None = None
    note: str | None = None


def batch_key(kernel_hash: str, cfg: SessionConfig) -> str:
    resolved = cfg.model_dump(mode="json", exclude={"out_dir"})
    return hashlib.sha256((kernel_hash + "\0" + json.dumps(resolved, sort_keys=True)).encode()).hexdigest()


def _line(text: str | None, limit: int = 300) -> str | None:
    return text.strip().splitlines()[0][:limit] if text and text.strip() else text


def _row(job_or_path: Job | str, status: str, **values: Any) -> dict[str, Any]:
    if isinstance(job_or_path, Job):
        path, name, note = job_or_path.path, job_or_path.name, job_or_path.note
    else:
        path, name, note = job_or_path, Path(job_or_path).name, None
    row: dict[str, Any] = {
        "path": path, "name": name, "status": status, "session_status": None, "objective": None,
        "baseline": None, "best": None, "best_pipeline": None, "improvement": None, "evaluations": 0,
        "session_id": None, "error": None, "note": note, "resumed": False, "continued": False, "wall_s": None,
    }
    row.update(values)
    return row


# -- the worker side (one per process or Ray actor) ------------------------------------------------
_WORKER: dict[str, Any] = {}


def _init_worker(db_url: str, backend: str, limits: Limits, jobs: int, pool: bool = True) -> None:
    _WORKER.update(db_url=db_url, backend=backend, limits=limits, jobs=jobs, sandbox=None, store=None,
                   busy=False, stop=False)
    if pool:
        sys.stdout = sys.stderr  # stdout belongs to the parent's --json object
        signal.signal(signal.SIGINT, _on_sigint)
        multiprocessing.util.Finalize(None, _close_worker, exitpriority=10)  # type: ignore[attr-defined]


def _on_sigint(signum: int, frame: Any) -> None:
    # A busy worker ends its session as interrupted; then every worker only declines what is queued.
    _WORKER["stop"] = True
    if _WORKER.get("busy"):
        _WORKER["busy"] = False
        raise KeyboardInterrupt


def _close_worker(*keys: str) -> None:
    for key in keys or ("sandbox", "store"):
        obj = _WORKER.get(key)
        _WORKER[key] = None
        if obj is not None:
            try:
                obj.close()
            except Exception:  # noqa: BLE001,S110 - closing is best effort
                pass


def run_unit(job: Job) -> dict[str, Any]:
    """Run one unit in this worker.  Raises SandboxError only when no sandbox can be opened at all."""
    started = time.monotonic()
    if _WORKER.get("stop"):
        return _row(job, "interrupted", error="the batch was interrupted before this unit started")
    if _WORKER.get("store") is None:
        _WORKER["store"] = Store(_WORKER["db_url"])
    if _WORKER.get("sandbox") is None:
        _WORKER["sandbox"] = open_sandbox(_WORKER["backend"], _WORKER["limits"], _WORKER["jobs"], quiet=True)
    store, sandbox = _WORKER["store"], _WORKER["sandbox"]
    cfg = SessionConfig.model_validate(job.config)
    kernel, resume, continued = job.kernel, None, False
    if job.resume_id:
        try:
            session, kernel, resume = load_resume(store, job.resume_id)
            cfg, continued = SessionConfig.model_validate(session["config"]), True
        except ValueError:
            kernel, resume = job.kernel, None
    base = {"objective": cfg.objective.value, "continued": continued}
    row = _session(job, kernel, cfg, store, sandbox, resume, base, started)
    if row["status"] == Status.COMPILE_ERROR.value and resume is None and (row["error"] or "").startswith(
            _LINK_FAILED):
        # A main() that needs the program's other units cannot run alone: optimize the unit itself, with
        # main renamed (and for instcount when runtime was asked for, as for a unit without main).
        renamed = dataclasses.replace(kernel, defines=(*kernel.defines, RENAMED_MAIN))
        if cfg.objective is Objective.RUNTIME:
            cfg = cfg.model_copy(update={"objective": Objective.INSTCOUNT})
        base["objective"] = cfg.objective.value
        row = _session(job, renamed, cfg, store, sandbox, None, base, started)
        row["note"] = "; ".join(filter(None, [row["note"], f"main() does not link alone: -D{RENAMED_MAIN}, "
                                              f"{cfg.objective.value}"]))
    return row


def _session(job: Job, kernel: Kernel, cfg: SessionConfig, store: Store, sandbox: Any, resume: Any,
             base: dict[str, Any], started: float) -> dict[str, Any]:
    _WORKER["busy"] = True
    try:
        result = run_session(kernel, cfg, store, sandbox, resume=resume, batch_key=job.batch_key)
    except SessionInterrupted as e:
        return _row(job, "interrupted", session_id=e.session_id, error="interrupted", **base)
    except SandboxError as e:  # the container may be gone: the next unit opens a fresh one
        _close_worker("sandbox")
        return _row(job, Status.SANDBOX_ERROR.value, error=_line(str(e)), **base)
    except Exception as e:  # noqa: BLE001 - one unit's bug must not end the batch
        return _row(job, "failed", error=_line(f"{type(e).__name__}: {e}"), **base)
    finally:
        _WORKER["busy"] = False
    return _result_row(job, result, time.monotonic() - started, base)


def _result_row(job: Job, result: dict[str, Any], wall: float, base: dict[str, Any]) -> dict[str, Any]:
    status, error = result["status"], result.get("error")
    row_status = "ok" if status in FINISHED else status
    if status == "failed":
        m = _PREFIXED.match(error or "")
        if m and result.get("session_id") is None and m[1] in {s.value for s in Status}:
            row_status, error = m[1], m[2]  # prepare failed: compile_error, timeout, ...
    return _row(job, row_status, session_status=status, baseline=result["baseline"]["value"],
                best=result["best"]["value"], best_pipeline=result["best"]["pipeline"],
                improvement=result.get("improvement"), evaluations=result.get("evaluations", 0),
                session_id=result.get("session_id"), error=_line(error), wall_s=round(wall, 3), **base)


class RayWorker:
    """A Ray actor owning one sandbox and one Store (wrapped with ray.remote by the driver)."""

    def __init__(self, db_url: str, backend: str, limits: Limits, jobs: int):
        _init_worker(db_url, backend, limits, jobs, pool=False)

    def run(self, job: Job) -> dict[str, Any]:
        return run_unit(job)

    def close(self) -> None:
        _close_worker()


# -- the driver -------------------------------------------------------------------------------------
def _stored_row(path: str, name: str, session: dict[str, Any], note: str | None) -> dict[str, Any]:
    imp = session.get("improvement") or (1.0 if session["status"] == "no_improvement" else None)
    best = session["best_value"] if session.get("best_value") is not None else session.get("baseline_value")
    wall = None
    if session.get("started_at") and session.get("finished_at"):
        wall = round((datetime.fromisoformat(session["finished_at"])
                      - datetime.fromisoformat(session["started_at"])).total_seconds(), 3)
    pipeline = (session.get("best") or {}).get("action_text") or session.get("baseline_pipeline")
    return _row(path, "ok", name=name, session_status=session["status"], objective=session["objective"],
                baseline=session.get("baseline_value"), best=best, best_pipeline=pipeline, improvement=imp,
                evaluations=session.get("evaluations") or 0, session_id=session["id"], note=note,
                resumed=True, wall_s=wall)


def _plan(units: list[Unit], cfg: SessionConfig, store: Store, redo: bool
          ) -> tuple[list[dict[str, Any] | None], list[Job]]:
    rows: list[dict[str, Any] | None] = [None] * len(units)
    jobs: list[Job] = []
    root = Path(os.path.commonpath([str(u.path.parent) for u in units]))
    for i, unit in enumerate(units):
        ucfg, note = cfg, None
        if cfg.objective is Objective.RUNTIME and not unit.has_main:
            ucfg = cfg.model_copy(update={"objective": Objective.INSTCOUNT})
            note = "no main(): optimized for instcount instead of runtime"
        name = str(unit.path.relative_to(root))[:200]
        try:
            kernel = Kernel.load(list(unit.sources), list(unit.include_dirs), list(unit.defines),
                                 list(unit.flags), name=name)
        except KernelError as e:
            rows[i] = _row(str(unit.path), e.status.value, name=name, error=_line(e.message), note=note,
                           objective=ucfg.objective.value)
            continue
        key = batch_key(kernel.content_hash, ucfg)
        previous = [] if redo else store.list_sessions(limit=20, batch_key=key)
        done = next((s for s in previous if s["status"] in FINISHED), None)
        if done is not None:
            rows[i] = _stored_row(str(unit.path), name, store.get_session(done["id"]) or done, note)
            continue
        # Interrupted, or left `running` by a worker that was killed (it could not say otherwise).
        paused = next((s["id"] for s in previous if s["status"] in ("interrupted", "running")), None)
        jobs.append(Job(i, str(unit.path), name, kernel, ucfg.model_dump(mode="json"), key, paused, note))
    return rows, jobs


def run_batch(paths: Sequence[Path], cfg: SessionConfig, db_url: str, jobs: int = 1,
              engine: Literal["local", "ray"] = "local", ray_address: str | None = None, redo: bool = False,
              on_progress: Progress | None = None) -> dict[str, Any]:
    """Optimize every translation unit under `paths`; one row per unit, and a summary."""
    if engine not in ("local", "ray"):
        raise ValueError(f"--engine {engine}: choose local or ray")
    if jobs < 1:
        raise ValueError("--jobs must be at least 1")
    t0, since = time.monotonic(), datetime.now(UTC)
    emit = on_progress or (lambda event: None)
    units = discover([Path(p) for p in paths])
    store = Store(db_url)
    try:
        rows, todo = _plan(units, cfg, store, redo)
        state: dict[str, Any] = {"done": 0, "failed": 0, "best": None}

        def record(index: int, row: dict[str, Any]) -> None:
            rows[index] = row
            state["done"] += 1
            state["failed"] += row["status"] != "ok"
            if row["status"] == "ok" and row["improvement"]:
                state["best"] = max(state["best"] or 0.0, row["improvement"])
            emit({"event": "unit", "row": row, "done": state["done"], "total": len(units),
                  "failed": state["failed"], "best_improvement": state["best"]})

        emit({"event": "start", "total": len(units), "todo": len(todo), "jobs": jobs, "engine": engine})
        for i, row in enumerate(list(rows)):
            if row is not None:
                record(i, row)
        workers = min(jobs, len(todo))
        per_worker = cfg.jobs or max(1, (os.cpu_count() or 1) // max(1, workers))
        args = (store.url, cfg.sandbox, cfg.limits.build(), per_worker)
        try:
            if todo and engine == "local":
                _run_pool(todo, workers, args, record)
            elif todo:
                _run_ray(todo, workers, args, ray_address, record)
        finally:
            _mark_interrupted(store, [j for j in todo if rows[j.index] is None], since)
        final = [r for r in rows if r is not None]
        summary = summarize(final, time.monotonic() - t0, jobs, engine, store.display_url)
        return {"kernels": final, "summary": summary}
    finally:
        store.close()


Record = Callable[[int, dict[str, Any]], None]


def _run_pool(todo: list[Job], workers: int, args: tuple, record: Record) -> None:
    ctx = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=args)
    futures = {pool.submit(run_unit, job): job for job in todo}
    try:
        for fut in as_completed(futures):
            try:
                row = fut.result()
            except BrokenProcessPool as e:
                raise SandboxError(f"a batch worker died: {e}") from e
            record(futures[fut].index, row)
    except BaseException as e:
        for f in futures:
            f.cancel()
        if isinstance(e, KeyboardInterrupt):  # end the sessions in flight as interrupted
            for proc in list(getattr(pool, "_processes", {}).values()):
                try:
                    os.kill(proc.pid, signal.SIGINT)
                except OSError:
                    pass
        raise
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _run_ray(todo: list[Job], workers: int, args: tuple, address: str | None, record: Record) -> None:
    import ray

    started = not ray.is_initialized()
    ray.init(address=address or None, include_dashboard=False, ignore_reinit_error=True, log_to_driver=False)
    actor_cls: Any = ray.remote(num_cpus=0, max_restarts=0)(RayWorker)
    actors = [actor_cls.options(scheduling_strategy="SPREAD").remote(*args) for _ in range(workers)]
    queue = list(reversed(todo))
    inflight: dict[Any, tuple[Any, Job]] = {}
    clean = False
    try:
        for actor in actors:
            if queue:
                job = queue.pop()
                inflight[actor.run.remote(job)] = (actor, job)
        while inflight:
            [ref], _ = ray.wait(list(inflight), num_returns=1)
            actor, job = inflight.pop(ref)
            try:
                row = ray.get(ref)
            except ray.exceptions.RayTaskError as e:
                cause = getattr(e, "cause", None) or e
                raise SandboxError(_line(str(cause)) or "a Ray worker failed") from None
            except ray.exceptions.RayActorError as e:
                raise SandboxError(f"a Ray worker died: {_line(str(e))}") from None
            record(job.index, row)
            if queue:
                nxt = queue.pop()
                inflight[actor.run.remote(nxt)] = (actor, nxt)
        ray.get([a.close.remote() for a in actors], timeout=120)
        clean = True
    finally:
        for ref in [] if clean else inflight:
            try:
                ray.cancel(ref, force=False)
            except Exception:  # noqa: BLE001,S110 - the actors are killed next anyway
                pass
        for actor in actors:
            ray.kill(actor, no_restart=True)
        if started:
            ray.shutdown()
        if not clean and args[1] == "docker":  # the killed actors' containers (on this host)
            from optloop.sandbox.docker_backend import docker_client
            from optloop.sandbox.image import remove_containers, stale_containers

            time.sleep(1)
            remove_containers(stale_containers(docker_client()))


def _mark_interrupted(store: Store, jobs: list[Job], since: datetime) -> None:
    """Sessions a killed worker left `running` become `interrupted`, so the next batch continues them."""
    for job in jobs:
        for s in store.list_sessions(limit=5, status="running", batch_key=job.batch_key):
            if datetime.fromisoformat(s["started_at"]) >= since:
                store.finish_session(s["id"], "interrupted", "the batch was interrupted",
                                     s.get("best_evaluation_id"), s.get("best_value"), s.get("improvement"),
                                     s.get("evaluations") or 0, s.get("steps") or 0)


if __name__ == "__main__":  # the throughput script: python -m optloop.agent.batch --scale PATH...
    from optloop.agent.batch_cli import scaling_main  # the importable modules, so spawned workers find them

    raise SystemExit(scaling_main())
