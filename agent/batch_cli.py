"""`optloop batch PATH...`: optimize every translation unit of a repository (see agent/batch.py).

The lead's cli.py calls `register(app)`.  `--json` prints the run_batch object on stdout; people
read stderr (a progress bar, one line per finished kernel, a table).  Exit code 0 when the batch
ran and at least one kernel was optimized, 1 when none could be, 130 on Ctrl-C.

`measure_scaling` (also `python -m optloop.agent.batch --scale PATH... [--workers 1,2] [--budget N]
[--sandbox docker|local]`) runs the same batch with each worker count on a fresh temporary
database and reports kernels/minute and the speedup.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer
from optloop.sandbox import BACKENDS, Objective, SandboxError
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from .config import SessionConfig

err = Console(stderr=True)
ObjectiveOpt = Annotated[Objective, typer.Option("--objective", "-O", case_sensitive=False)]
SandboxOpt = Annotated[str, typer.Option("--sandbox", envvar="OPTLOOP_SANDBOX", help="docker or local")]
DbOpt = Annotated[str | None, typer.Option("--db", envvar="OPTLOOP_DB", help="SQLAlchemy URL or file")]


def _fmt(v: Any) -> str:
    if v is None:
        return "-"
    return f"{v:.6g}" if isinstance(v, float) else str(v)


def _unit_line(row: dict[str, Any]) -> str:
    name = row.get("name") or row["path"]
    if row["status"] == "ok":
        imp = row.get("improvement")
        extra = " (earlier run)" if row.get("resumed") else ""
        return f"[green]ok[/] {name}: {imp:.3f}x {row.get('objective')}{extra}" if imp else \
            f"[green]ok[/] {name}"
    return f"[red]{row['status']}[/] {name}: {(row.get('error') or '')[:160]}"


def show_result(console: Console, result: dict[str, Any]) -> None:
    s = result["summary"]
    t = Table(title=f"optloop batch: {s['ok']}/{s['kernels']} optimized, {s['failed']} failed, "
                    f"{s['skipped']} from earlier runs")
    for col in ("kernel", "status", "objective", "baseline", "best", "improvement", "session"):
        t.add_column(col)
    for r in result["kernels"]:
        imp = r.get("improvement")
        t.add_row(r.get("name") or r["path"], r["status"], _fmt(r.get("objective")), _fmt(r.get("baseline")),
                  _fmt(r.get("best")), f"{imp:.3f}x" if imp else "-", (r.get("session_id") or "-")[:12])
    console.print(t)
    geo, best = s.get("geomean_improvement"), s.get("best_improvement")
    console.print(f"geomean {geo:.3f}x, best {best:.3f}x; " if geo and best else "", end="")
    console.print(f"{s['wall_s']:.1f} s with {s['jobs']} worker(s) ({s['engine']}); db {s.get('db')}")


def batch(paths: list[Path], cfg: SessionConfig, db: str | None, jobs: int, engine: str,
          ray_address: str | None, redo: bool, report: Path | None, report_format: str,
          console: Console) -> dict[str, Any]:
    """The plain function behind the command (tests may call it directly)."""
    from optloop.db import Store, default_url

    from .batch import run_batch
    from .discover import discover
    from .report import write_report

    if engine not in ("local", "ray"):
        raise ValueError(f"--engine {engine}: choose local or ray")
    if report_format not in ("md", "html"):
        raise ValueError(f"--report-format {report_format}: choose md or html")
    if jobs < 1:
        raise ValueError("--jobs must be at least 1")
    discover(paths)  # bad paths and trees without C files fail here, in one line, before any output
    if cfg.sandbox == "local":
        from optloop.sandbox.local_backend import WARNING

        console.print(WARNING, highlight=False)
    db_url = db or default_url()
    columns = (SpinnerColumn(), TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
               TextColumn("{task.fields[info]}"), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False) as progress:
        task = progress.add_task("kernels", total=None, info="discovering")

        def on_progress(event: dict[str, Any]) -> None:
            if event["event"] == "start":
                progress.update(task, total=event["total"], info=f"{event['todo']} to run, {event['jobs']} "
                                f"worker(s) ({event['engine']})")
                return
            best = event.get("best_improvement")
            progress.console.print(_unit_line(event["row"]), highlight=False)
            info = f"failed {event['failed']}" + (f", best {best:.3f}x" if best else "")
            progress.update(task, completed=event["done"], info=info)

        result = run_batch(paths, cfg, db_url, jobs=jobs, engine=engine,  # type: ignore[arg-type]
                           ray_address=ray_address, redo=redo, on_progress=on_progress)
    show_result(console, result)
    if report is not None:
        with Store(db_url) as store:
            path = write_report(result, store, report, report_format)  # type: ignore[arg-type]
        result["summary"]["report"] = str(path)
        console.print(f"report: {path}")
    return result


def register(app: typer.Typer) -> None:
    """Add `optloop batch` to the CLI (once: a second call changes nothing)."""
    if any(c.name == "batch" for c in app.registered_commands):
        return

    @app.command("batch")
    def batch_command(
        paths: Annotated[list[Path], typer.Argument(help="directories, .c files or compile_commands.json")],
        jobs: Annotated[int, typer.Option("--jobs", "-j", help="worker processes (or Ray actors)")] = 1,
        engine: Annotated[str, typer.Option("--engine", help="local (a process pool) or ray")] = "local",
        ray_address: Annotated[str | None, typer.Option("--ray-address", envvar="RAY_ADDRESS",
                                                        help="a Ray cluster (default: a local one)")] = None,
        redo: Annotated[bool, typer.Option("--redo", help="run units that already finished again")] = False,
        report: Annotated[Path | None, typer.Option("--report", help="write a report and plots here")] = None,
        report_format: Annotated[str, typer.Option("--report-format", help="md or html")] = "md",
        objective: ObjectiveOpt = Objective.INSTCOUNT,
        budget: Annotated[int, typer.Option("--budget", help="evaluations per kernel")] = 60,
        proposer: Annotated[str | None, typer.Option("--proposer", help="search, openai or hf")] = None,
        model: Annotated[str | None, typer.Option("--model", help="model (openai) or folder (hf)")] = None,
        base_url: Annotated[str | None, typer.Option("--base-url", envvar="OPENAI_BASE_URL")] = None,
        per_step: Annotated[int, typer.Option("--per-step", help="candidates per step (0: default)")] = 0,
        seed: Annotated[int, typer.Option("--seed")] = 0,
        config: Annotated[str | None, typer.Option("--config", help="TOML or YAML config file")] = None,
        sandbox: SandboxOpt = "docker",
        timeout: Annotated[float | None, typer.Option("--timeout", help="seconds a program may run")] = None,
        db: DbOpt = None,
        json_out: Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")] = False,
    ) -> None:
        """Optimize every C translation unit under PATH (compile_commands.json or a scan), in parallel."""
        from . import commands

        if proposer is None and model is not None:
            proposer = "hf" if Path(model).is_dir() else "openai"
        if proposer not in (None, "search", "openai", "hf"):
            raise ValueError(f"--proposer {proposer}: choose search, openai or hf")
        if sandbox not in BACKENDS:
            raise ValueError(f"--sandbox {sandbox}: choose {' or '.join(BACKENDS)}")
        if timeout is not None and timeout <= 0:
            raise ValueError("--timeout must be positive")
        cfg = commands.resolve_config(
            config, objective=objective, budget=budget, proposer_type=proposer, model=model,
            base_url=base_url, candidates_per_step=per_step, seed=seed, sandbox=sandbox,
            run_timeout_s=timeout,
        )
        try:
            result = batch(paths, cfg, db, jobs, engine, ray_address, redo, report, report_format, err)
        except KeyboardInterrupt:
            err.print("optloop: batch interrupted; finished kernels are recorded: run the same command again "
                      "to continue")
            raise typer.Exit(130) from None
        if json_out:
            sys.stdout.write(json.dumps(result, default=str) + "\n")
            sys.stdout.flush()
        if result["summary"]["kernels"] and not result["summary"]["ok"]:
            raise typer.Exit(1)


# -- throughput: python -m optloop.agent.batch --scale PATH... ------------------------------------
def measure_scaling(paths: list[Path], cfg: SessionConfig, workers: Sequence[int] = (1, 2),
                    engine: str = "local") -> dict[str, Any]:
    """The same batch with each worker count, each on a fresh database (nothing skipped or cached)."""
    import tempfile

    from .batch import run_batch

    runs = []
    for n in workers:
        with tempfile.TemporaryDirectory(prefix="optloop-scale-") as tmp:
            result = run_batch(paths, cfg, f"sqlite:///{tmp}/scale.db", jobs=n, engine=engine,  # type: ignore
                               redo=True)
        s = result["summary"]
        runs.append({"jobs": n, "kernels": s["kernels"], "ok": s["ok"], "wall_s": s["wall_s"],
                     "kernels_per_min": round(60 * s["kernels"] / s["wall_s"], 2) if s["wall_s"] else None,
                     "evaluations": sum(r["evaluations"] for r in result["kernels"])})
    first, last = runs[0]["kernels_per_min"], runs[-1]["kernels_per_min"]
    return {"runs": runs, "speedup": round(last / first, 3) if first and last else None,
            "cpus": os.cpu_count(), "engine": engine, "sandbox": cfg.sandbox, "budget": cfg.budget,
            "objective": cfg.objective.value}


def scaling_main(argv: list[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m optloop.agent.batch", description=measure_scaling.__doc__)
    ap.add_argument("--scale", nargs="+", type=Path, required=True, metavar="PATH")
    ap.add_argument("--workers", default="1,2", help="worker counts to compare (default 1,2)")
    ap.add_argument("--budget", type=int, default=12)
    ap.add_argument("--objective", default="instcount", choices=[o.value for o in Objective])
    ap.add_argument("--sandbox", default="docker", choices=BACKENDS)
    ap.add_argument("--engine", default="local", choices=("local", "ray"))
    a = ap.parse_args(argv)
    cfg = SessionConfig.model_validate({"budget": a.budget, "objective": a.objective, "sandbox": a.sandbox})
    try:
        report = measure_scaling(a.scale, cfg, [int(n) for n in a.workers.split(",")], a.engine)
    except (ValueError, SandboxError) as e:
        message = (str(e).strip() or type(e).__name__).splitlines()[0]
        err.print(f"optloop: error: {message}", highlight=False)
        return 2
    for run in report["runs"]:
        err.print(f"{run['jobs']} worker(s): {run['kernels']} kernels ({run['evaluations']} evaluations) in "
                  f"{run['wall_s']:.1f} s = {run['kernels_per_min']} kernels/min", highlight=False)
    err.print(f"speedup {report['speedup']}x on {report['cpus']} CPUs ({cfg.sandbox} sandbox)",
              highlight=False)
    sys.stdout.write(json.dumps(report) + "\n")
    return 0
