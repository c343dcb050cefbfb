"""The `optloop` command line: a thin typer layer over plain functions.

`--json` prints one JSON object on stdout; people read stderr (rich).  Errors a
user can act on are one line and a non-zero exit; tracebacks only with --debug.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated, Any

import typer
from optloop.sandbox import BACKENDS, Candidate, KernelError, Objective, SandboxError
from rich.console import Console

from . import commands

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Optimize C kernels with LLVM through an iterative feedback loop.")
err = Console(stderr=True)
STATE = {"debug": False}

Includes = Annotated[list[Path] | None, typer.Option("-I", help="include directory (repeatable)")]
Defines = Annotated[list[str] | None, typer.Option("-D", help="NAME[=VALUE] (repeatable)")]
SandboxOpt = Annotated[str, typer.Option("--sandbox", envvar="OPTLOOP_SANDBOX", help="docker or local")]
TimeoutOpt = Annotated[float | None, typer.Option("--timeout", help="seconds a program may run")]
DbOpt = Annotated[str | None, typer.Option("--db", envvar="OPTLOOP_DB", help="SQLAlchemy URL or file")]
JsonOpt = Annotated[bool, typer.Option("--json", help="print one JSON object on stdout")]
ObjectiveOpt = Annotated[Objective, typer.Option("--objective", "-O", case_sensitive=False)]


class UserError(Exception):
    """Bad input or an unusable environment: one line, exit code 2."""


def fail_line(message: str) -> None:
    """One plain line on stderr (rich would wrap it at the terminal's width)."""
    first = message.strip().splitlines()[0] if message.strip() else "failed"
    sys.stderr.write(f"optloop: {first[:500]}\n")


def emit(obj: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(obj, default=str) + "\n")
    sys.stdout.flush()


@app.callback()
def _root(debug: Annotated[bool, typer.Option("--debug", help="show tracebacks")] = False) -> None:
    STATE["debug"] = debug


@app.command()
def setup(
    clean: Annotated[bool, typer.Option("--clean", help="remove every optloop container")] = False,
    check: Annotated[bool, typer.Option("--check", help="only report, build nothing")] = False,
    json_out: JsonOpt = False,
) -> None:
    """Check the toolchain, start Docker if needed, build the sandbox image (idempotent)."""
    report = commands.setup(clean=clean, check_only=check, console=err)
    if json_out:
        emit(report)
    if not report["ok"]:
        raise typer.Exit(1)


@app.command("eval")
def eval_(
    kernel: Annotated[list[Path], typer.Argument(help="C files of one kernel")],
    passes: Annotated[str | None, typer.Option("--passes", help="opt-19 pipeline (default: the baseline)")] = None,
    ir: Annotated[Path | None, typer.Option("--ir", help="evaluate this IR module instead")] = None,
    objective: ObjectiveOpt = Objective.INSTCOUNT,
    include: Includes = None,
    define: Defines = None,
    sandbox: SandboxOpt = "docker",
    timeout: TimeoutOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Evaluate one pipeline (or IR module) on a kernel."""
    if passes is not None and ir is not None:
        raise UserError("give --passes or --ir, not both")
    if ir is not None:
        if not ir.is_file():
            raise UserError(f"--ir {ir}: no such file")
        candidate = Candidate.ir(ir.read_text(errors="replace"))
    else:
        candidate = Candidate.passes(passes if passes is not None else objective.baseline_pipeline)
    k = commands.load_kernel(kernel, include, define)
    result = commands.evaluate_one(k, candidate, objective, _backend(sandbox), timeout)
    if json_out:
        emit(result)
    if result["status"] != "ok":
        fail_line(f"{result['status']}: {result['error'] or ''}")
        raise typer.Exit(1)
    commands.show_eval(err, result)


@app.command()
def optimize(
    kernel: Annotated[list[Path] | None, typer.Argument(help="C files of one kernel")] = None,
    objective: ObjectiveOpt = Objective.INSTCOUNT,
    budget: Annotated[int, typer.Option("--budget", help="evaluations")] = 60,
    proposer: Annotated[str | None, typer.Option("--proposer", help="search, openai or hf")] = None,
    action: Annotated[str, typer.Option("--action", help="passes or ir")] = "passes",
    model: Annotated[str | None, typer.Option("--model", help="model name (openai) or folder (hf)")] = None,
    base_url: Annotated[str | None, typer.Option("--base-url", envvar="OPENAI_BASE_URL")] = None,
    strategy: Annotated[str | None, typer.Option("--strategy", help="search: evolution, random, greedy")] = None,
    per_step: Annotated[int, typer.Option("--per-step", help="candidates per step (0: default)")] = 0,
    patience: Annotated[int | None, typer.Option("--patience", help="stop after N steps without progress")] = None,
    seed: Annotated[int, typer.Option("--seed")] = 0,
    config: Annotated[str | None, typer.Option("--config", help="TOML or YAML config file")] = None,
    resume: Annotated[str | None, typer.Option("--resume", help="continue an interrupted session")] = None,
    out: Annotated[Path, typer.Option("--out", help="artifact folder")] = Path("optloop-out"),
    include: Includes = None,
    define: Defines = None,
    sandbox: SandboxOpt = "docker",
    timeout: TimeoutOpt = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Run the feedback loop on a kernel and record every step."""
    if proposer is None and model is not None:
        proposer = "hf" if Path(model).is_dir() else "openai"
    if proposer not in (None, "search", "openai", "hf"):
        raise UserError(f"--proposer {proposer}: choose search, openai or hf")
    if action not in ("passes", "ir"):
        raise UserError(f"--action {action}: choose passes or ir")
    if not kernel and not resume:
        raise UserError("give the C files of a kernel, or --resume ID")
    cfg = commands.resolve_config(
        config, objective=objective, budget=budget, proposer_type=proposer, model=model, base_url=base_url,
        strategy=strategy, candidates_per_step=per_step, patience=patience, seed=seed, action=action,
        sandbox=_backend(sandbox), run_timeout_s=timeout, out_dir=str(out),
    )
    result = commands.optimize(kernel or [], include, define, cfg, db, resume, out, err, json_out)
    if json_out:
        emit(result)
    if result["status"] == "failed":
        fail_line(f"session failed: {result.get('error') or ''}")
        raise typer.Exit(1)


@app.command()
def sessions(
    limit: Annotated[int, typer.Option("--limit")] = 20,
    objective: Annotated[str | None, typer.Option("--objective")] = None,
    status: Annotated[str | None, typer.Option("--status")] = None,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """List recorded sessions, newest first."""
    rows = commands.list_sessions(db, limit, objective, status)
    if json_out:
        emit({"sessions": rows})
    else:
        commands.show_sessions(err, rows)


@app.command()
def show(session_id: str, db: DbOpt = None, json_out: JsonOpt = False) -> None:
    """Show one session: its config, steps and best result."""
    data = commands.show_session(db, session_id)
    if json_out:
        emit(data)
    else:
        commands.print_session(err, data)


@app.command()
def replay(session_id: str, db: DbOpt = None, sandbox: SandboxOpt = "docker", json_out: JsonOpt = False) -> None:
    """Re-evaluate a session's best candidate in the sandbox; fail loudly if it no longer matches."""
    result = commands.replay(db, session_id, _backend(sandbox), err)
    if json_out:
        emit(result)
    if not result["match"]:
        fail_line(f"replay mismatch: {result['reason']}")
        raise typer.Exit(1)


@app.command()
def export(
    format: Annotated[str, typer.Option("--format", help="chat, llm-compiler or pairs")] = "chat",
    out: Annotated[Path, typer.Option("--out", help="FILE.jsonl (the test split goes next to it)")] = Path(
        "optloop-data.jsonl"),
    only_improved: Annotated[bool, typer.Option("--only-improved")] = False,
    objective: Annotated[str | None, typer.Option("--objective")] = None,
    min_improvement: Annotated[float | None, typer.Option("--min-improvement")] = None,
    split: Annotated[float, typer.Option("--split", help="held-out fraction of kernels")] = 0.1,
    db: DbOpt = None,
    json_out: JsonOpt = False,
) -> None:
    """Export recorded trajectories as training data (JSONL, streamed)."""
    if format not in ("chat", "llm-compiler", "pairs"):
        raise UserError(f"--format {format}: choose chat, llm-compiler or pairs")
    counts = commands.export(db, format, out, only_improved, objective, min_improvement, split)
    if json_out:
        emit(counts)
    err.print(f"wrote {counts.get('train', 0)} rows to {out} and {counts.get('test', 0)} held out")


@app.command()
def train(
    data: Annotated[Path, typer.Option("--data", help="JSONL from optloop export")],
    out: Annotated[Path, typer.Option("--out", help="model folder")],
    steps: Annotated[int, typer.Option("--steps")] = 200,
    base: Annotated[Path | None, typer.Option("--base", help="local base model folder")] = None,
    json_out: JsonOpt = False,
) -> None:
    """Fine-tune (or train from scratch) a causal LM that proposes pipelines."""
    if not data.is_file():
        raise UserError(f"--data {data}: no such file")
    report = commands.train(data, out, steps, base, err)
    if json_out:
        emit(report)


@app.command()
def bench(
    quick: Annotated[bool, typer.Option("--quick", help="a few kernels, one seed: under 5 minutes")] = False,
    out: Annotated[Path | None, typer.Option("--out", help="write bench.md and plots here")] = None,
    budget: Annotated[int, typer.Option("--budget", help="evaluations per session")] = 100,
    sandbox: SandboxOpt = "docker",
    json_out: JsonOpt = False,
) -> None:
    """Measure throughput (sandbox vs bare opt) and quality (search vs random and greedy)."""
    from .bench import run_bench

    if out is None and not quick:
        out = Path("optloop-out/bench")
    result = run_bench(quick=quick, backend=_backend(sandbox), out=out, budget=budget,
                       log=lambda m: err.print(m))
    if json_out:
        emit(result)
    tp, q = result["throughput"], result["quality"]["instcount"]["geomean"]
    err.print(f"throughput ratio sandbox/bare {tp['ratio']:.2f}; instcount geomean over -Oz: "
              + ", ".join(f"{k} {v:.3f}" for k, v in q.items() if v))


def _register_plugins() -> None:
    """Commands that live in their own modules."""
    from .batch_cli import register

    register(app)


_register_plugins()


def _backend(name: str) -> str:
    if name not in BACKENDS:
        raise UserError(f"--sandbox {name}: choose {' or '.join(BACKENDS)}")
    return name


def main() -> None:
    debug = "--debug" in sys.argv or os.environ.get("OPTLOOP_DEBUG") == "1"
    try:
        # Without standalone mode, click hands an Exit's code back as the return value.
        rv = app(standalone_mode=False)
        sys.exit(rv if isinstance(rv, int) else 0)
    except typer.Exit as e:
        sys.exit(e.exit_code)
    except (KeyboardInterrupt, commands.SessionInterrupted) as e:
        sid = getattr(e, "session_id", None)
        err.print(f"optloop: interrupted{f'; resume with: optloop optimize --resume {sid}' if sid else ''}")
        sys.exit(130)
    except Exception as e:  # noqa: BLE001 - the single place where errors become one line
        if debug:
            raise
        sys.stderr.write(f"optloop: error: {_one_line(e)}\n")
        code = 1 if isinstance(e, KernelError) else 2
        sys.exit(code)


def _one_line(e: BaseException) -> str:
    import click

    if isinstance(e, click.ClickException):
        return e.format_message().splitlines()[0] if e.format_message() else type(e).__name__
    if isinstance(e, KernelError):
        return f"{e.status.value}: {e.message.splitlines()[0]}"
    if isinstance(e, SandboxError | UserError | ValueError | LookupError | OSError):
        text = str(e).strip().splitlines()
        return text[0] if text else type(e).__name__
    return f"{type(e).__name__}: {str(e).strip().splitlines()[0] if str(e).strip() else ''} (run with --debug)"


if __name__ == "__main__":
    main()
