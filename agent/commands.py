"""The plain functions behind the CLI (tests call these directly)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

from optloop.sandbox import Candidate, Kernel, KernelError, Limits, Objective, SandboxError, open_sandbox
from rich.console import Console
from rich.live import Live
from rich.table import Table

from .config import SessionConfig, resolve
from .session import SessionInterrupted, check_objective, load_resume, run_session, stored_kernel, write_artifacts

__all__ = ["SessionInterrupted"]


# -- setup ----------------------------------------------------------------------------------------
def _start_dockerd(console: Console) -> bool:
    if shutil.which("dockerd") is None:
        return False
    console.print("starting dockerd (log: /var/log/optloop-dockerd.log)")
    with open("/var/log/optloop-dockerd.log", "ab") as log:
        subprocess.Popen(["dockerd"], stdout=log, stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
    for _ in range(60):
        if subprocess.run(["docker", "info"], capture_output=True).returncode == 0:
            return True
        time.sleep(1)
    return False


def setup(clean: bool = False, check_only: bool = False, console: Console | None = None) -> dict[str, Any]:
    from optloop.sandbox.docker_backend import docker_client
    from optloop.sandbox.image import build_image, image_exists, image_tag, remove_containers, stale_containers

    console = console or Console(stderr=True)
    rows: list[tuple[str, bool, str]] = []
    for tool in ("clang-19", "opt-19", "llc-19", "llvm-link-19"):
        path = shutil.which(tool)
        rows.append((f"host {tool} (local sandbox, bench)", path is not None,
                     path or "apt-get install clang-19 llvm-19"))
    for mod in ("llvmlite", "langgraph", "openai", "sqlalchemy", "docker", "torch", "transformers", "ray"):
        ok = importlib.util.find_spec(mod) is not None
        rows.append((f"python {mod}", ok, "installed" if ok else "pip install -e .[dev]"))
    rows.append(("debootstrap", shutil.which("debootstrap") is not None, "apt-get install debootstrap"))
    client = None
    try:
        client = docker_client()
    except SandboxError:
        if not check_only and _start_dockerd(console):
            client = docker_client()
    rows.append(("docker engine", client is not None, "reachable" if client else "apt-get install docker.io; dockerd"))
    tag = image_tag()
    if client is not None:
        if clean:
            n = remove_containers(stale_containers(client, all_of_them=True))
            console.print(f"removed {n} optloop container(s)")
        if not check_only and not image_exists(client, tag):
            try:
                build_image(client, log=lambda m: console.print(m))
            except SandboxError as e:
                console.print(f"[red]{e}[/]")
        present = image_exists(client, tag)
        rows.append((f"sandbox image {tag}", present, "built" if present else "optloop setup builds it"))
    else:
        rows.append((f"sandbox image {tag}", False, "needs the docker engine"))
    table = Table(title="optloop setup")
    for col in ("component", "status", "detail"):
        table.add_column(col)
    for name, ok, detail in rows:
        table.add_row(name, "[green]ok[/]" if ok else "[red]missing[/]", detail)
    console.print(table)
    essential = [ok for name, ok, _ in rows if name.startswith(("docker", "sandbox", "python"))]
    return {"ok": all(essential), "image": tag,
            "components": [{"name": n, "ok": ok, "detail": d} for n, ok, d in rows]}


# -- kernels and evaluation -----------------------------------------------------------------------
def load_kernel(paths: list[Path], include: list[Path] | None, define: list[str] | None) -> Kernel:
    return Kernel.load(list(paths), list(include or []), list(define or []))


def limits_for(timeout: float | None) -> Limits:
    if timeout is None:
        return Limits()
    if timeout <= 0:
        raise ValueError("--timeout must be positive")
    return Limits(run_timeout_s=timeout, compile_timeout_s=max(60.0, timeout))


def evaluate_one(kernel: Kernel, candidate: Candidate, objective: Objective, backend: str,
                 timeout: float | None) -> dict[str, Any]:
    with open_sandbox(backend, limits_for(timeout)) as sb:  # type: ignore[attr-defined]
        try:
            prepared = sb.prepare(kernel)
            [res] = sb.evaluate(prepared, [candidate], objective)
        except KernelError as e:
            return {"objective": objective.value, "value": None, "status": e.status.value, "error": e.message,
                    "metrics": {k: None for k in ("ir_instruction_count", "text_size_bytes", "runtime_s",
                                                  "max_rss_kb", "compile_s")}}
        return res.as_json()


def show_eval(console: Console, result: dict[str, Any]) -> None:
    table = Table(title=f"{result['objective']}: {result['status']}")
    table.add_column("metric")
    table.add_column("value", justify="right")
    for k, v in result["metrics"].items():
        table.add_row(k, "-" if v is None else f"{v:.6g}" if isinstance(v, float) else str(v))
    console.print(table)


# -- sessions --------------------------------------------------------------------------------------
def resolve_config(file: str | None, **kw: Any) -> SessionConfig:
    cfg = resolve(file, **kw)
    check_objective(cfg)
    return cfg


def open_store(db: str | None):
    from optloop.db import Store

    return Store(db)


def optimize(paths: list[Path], include: list[Path] | None, define: list[str] | None, cfg: SessionConfig,
             db: str | None, resume_id: str | None, out: Path, console: Console, quiet: bool) -> dict[str, Any]:
    store = open_store(db)
    resume = None
    if resume_id:
        session, kernel, resume = load_resume(store, resume_id)
        cfg = SessionConfig.model_validate(session["config"])
    else:
        kernel = load_kernel(paths, include, define)
    limits = cfg.limits.build()
    with open_sandbox(cfg.sandbox, limits, cfg.jobs, quiet=False) as sb:  # type: ignore[attr-defined]
        view = _LiveView(console, cfg, kernel.describe())
        with Live(view.render(), console=console, refresh_per_second=4, transient=False) as live:
            def on_event(event: dict[str, Any]) -> None:
                view.update(event)
                live.update(view.render())

            result = run_session(kernel, cfg, store, sb, on_event=on_event, resume=resume)
    folder = write_artifacts(result, kernel, store, out)
    _summary(console, result, folder)
    store.close()
    return result


class _LiveView:
    def __init__(self, console: Console, cfg: SessionConfig, name: str):
        self.cfg, self.name = cfg, name
        self.state: dict[str, Any] = {"step": 0, "evaluations": 0, "best": None, "baseline": None,
                                      "improvement": None, "last_status": "preparing", "last_candidate": ""}

    def update(self, event: dict[str, Any]) -> None:
        self.state.update({k: v for k, v in event.items() if k != "event"})

    def render(self) -> Table:
        s = self.state
        t = Table(title=f"optloop optimize {self.name} ({self.cfg.objective.value}, {self.cfg.proposer.type})")
        for col in ("step", "evaluations", "baseline", "best", "improvement", "last"):
            t.add_column(col)
        imp = s.get("improvement")
        t.add_row(str(s.get("step", 0)), f"{s.get('evaluations', 0)}/{self.cfg.budget}", _fmt(s.get("baseline")),
                  _fmt(s.get("best")), f"{imp:.3f}x" if imp else "-",
                  f"{s.get('last_status', '')} {s.get('last_candidate', '')}"[:70])
        return t


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _summary(console: Console, result: dict[str, Any], folder: Path | None) -> None:
    t = Table(title=f"session {str(result.get('session_id'))[:12]}: {result['status']}")
    t.add_column("")
    t.add_column("pipeline")
    t.add_column(result["objective"], justify="right")
    t.add_row("baseline", str(result["baseline"]["pipeline"]), _fmt(result["baseline"]["value"]))
    t.add_row("best", str(result["best"]["pipeline"])[:120], _fmt(result["best"]["value"]))
    console.print(t)
    if result.get("improvement"):
        console.print(f"improvement {result['improvement']:.3f}x over {result['baseline']['pipeline']} "
                      f"in {result['evaluations']} evaluations; output checked: {result['best']['correct']}")
    if folder is not None:
        console.print(f"artifacts: {folder}/ (best.ll, input.ll, pipeline.txt, reproduce.sh)", soft_wrap=True)
        console.print((folder / "reproduce.sh").read_text().strip(), soft_wrap=True, markup=False, highlight=False)


def list_sessions(db: str | None, limit: int, objective: str | None, status: str | None) -> list[dict]:
    store = open_store(db)
    rows = store.list_sessions(limit=limit, objective=objective, status=status)
    store.close()
    return rows


def show_sessions(console: Console, rows: list[dict]) -> None:
    t = Table(title=f"{len(rows)} session(s)")
    for col in ("id", "kernel", "objective", "proposer", "status", "evals", "baseline", "best", "improvement",
                "started"):
        t.add_column(col)
    for r in rows:
        imp = r.get("improvement")
        t.add_row(r["id"][:12], str((r.get("kernel") or {}).get("name", r["kernel_hash"][:8])), r["objective"],
                  r["proposer"], r["status"], str(r["evaluations"]), _fmt(r.get("baseline_value")),
                  _fmt(r.get("best_value")), f"{imp:.3f}x" if imp else "-", str(r.get("started_at", ""))[:19])
    console.print(t)


def show_session(db: str | None, session_id: str) -> dict[str, Any]:
    store = open_store(db)
    session = store.get_session(session_id)
    if session is None:
        raise LookupError(f"no session {session_id!r} in {store.display_url}")
    steps = store.steps(session["id"])
    evals = store.evaluations_for_session(session["id"])
    store.close()
    if session.get("best"):
        session["best"] = {k: v for k, v in session["best"].items() if k != "ir_out"}
    return {"session": session, "steps": steps,
            "evaluations": [{k: v for k, v in e.items() if k != "ir_out"} for e in evals]}


def print_session(console: Console, data: dict[str, Any]) -> None:
    s = data["session"]
    console.print(f"session {s['id']} ({s['status']}) on {(s.get('kernel') or {}).get('name')}: "
                  f"{s['objective']} with {s['proposer']}{' ' + s['model'] if s.get('model') else ''}, "
                  f"{s['toolchain']}")
    console.print(f"baseline {s['baseline_pipeline']} = {_fmt(s['baseline_value'])}; best = {_fmt(s['best_value'])}"
                  f" ({(s.get('improvement') or 0):.3f}x)")
    if s.get("best"):
        console.print(f"best candidate: {s['best']['action_text'][:300]}")
    t = Table(title="evaluations")
    for col in ("#", "status", "value", "candidate"):
        t.add_column(col)
    for i, e in enumerate(data["evaluations"]):
        t.add_row(str(i), e["status"], _fmt(e["value"]), e["action_text"][:90] if e["action_kind"] == "passes"
                  else "<IR module>")
    console.print(t)


def replay(db: str | None, session_id: str, backend: str, console: Console) -> dict[str, Any]:
    store = open_store(db)
    session = store.get_session(session_id)
    if session is None:
        raise LookupError(f"no session {session_id!r} in {store.display_url}")
    kernel = stored_kernel(store, session)
    best = session.get("best")
    if best is None:
        raise ValueError(f"session {session['id'][:12]} has no best candidate to replay")
    objective = Objective(session["objective"])
    cand = Candidate(best["action_kind"], best["action_text"])
    cfg = SessionConfig.model_validate(session["config"])
    with open_sandbox(backend, cfg.limits.build()) as sb:  # type: ignore[attr-defined]
        prepared = sb.prepare(kernel)
        [res] = sb.evaluate(prepared, [cand], objective, check_output=prepared.has_main)
        toolchain = prepared.toolchain
    store.close()
    reason = None
    if res.status.value != "ok":
        reason = f"the best candidate now gives {res.status.value}: {(res.error or '')[:200]}"
    elif objective is not Objective.RUNTIME and res.value != best["value"]:
        reason = f"{objective.value} is now {res.value}, recorded {best['value']}"
    elif toolchain != session["toolchain"]:
        reason = f"toolchain changed: recorded {session['toolchain']}, now {toolchain}"
    result = {"session_id": session["id"], "objective": objective.value, "recorded": best["value"],
              "replayed": res.value, "status": res.status.value, "output_checked": res.output_checked,
              "toolchain": toolchain, "match": reason is None, "reason": reason}
    console.print(f"replay {session['id'][:12]}: recorded {_fmt(best['value'])}, now {_fmt(res.value)} "
                  f"({res.status.value}) -> {'match' if reason is None else 'MISMATCH'}")
    return result


def export(db: str | None, fmt: str, out: Path, only_improved: bool, objective: str | None,
           min_improvement: float | None, split: float) -> dict[str, Any]:
    from .export import export as do_export

    store = open_store(db)
    try:
        return do_export(store, fmt, out, only_improved=only_improved, objective=objective,  # type: ignore[arg-type]
                         min_improvement=min_improvement, split=split)
    finally:
        store.close()


def train(data: Path, out: Path, steps: int, base: Path | None, console: Console) -> dict[str, Any]:
    from rich.progress import Progress

    from .train import train as do_train

    with Progress(console=console) as progress:
        task = progress.add_task("training", total=steps)

        def on_progress(step: int, total: int, loss: float) -> None:
            progress.update(task, completed=step, description=f"training (loss {loss:.3f})")

        report = do_train(data, out, steps=steps, base=base, progress=on_progress)
    keys = ("valid_rate", "parsed_rate", "exact_match_rate", "mean_predicted_improvement", "final_loss")
    shown = ", ".join(f"{k} {report[k]:.3f}" if isinstance(report.get(k), float) else f"{k} {report.get(k)}"
                      for k in keys if k in report)
    console.print(f"model saved to {out} (load it with --proposer hf --model {out}); held-out: {shown}")
    return report
