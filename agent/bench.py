"""`optloop bench`: throughput against bare opt, quality against baselines, side by side in one run.

Throughput: the same random pipelines on the same IR, through (a) the warm sandbox, (b) a bare
loop of `opt-19` subprocesses on the host, (c) one `docker run` per evaluation.  Quality: the
default search proposer against random and greedy search at the same evaluation budget, as
geomean improvement over -Oz (instcount) and -O3 (runtime).  Measured in one run so that a
noisy machine still gives honest ratios.
"""

from __future__ import annotations

import os
import platform
import random
import resource
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from optloop.benchmarks.suite import SuiteKernel, load_suite
from optloop.sandbox import Candidate, Kernel, Limits, Objective, open_sandbox
from optloop.sandbox.ir import count_instructions

from .config import SearchConfig, SessionConfig
from .feedback import geomean
from .proposers.search import PASSES, join
from .session import run_session

STRATEGIES = ("evolution", "random", "greedy")
Log = Callable[[str], None]


def random_pipelines(n: int, seed: int) -> list[str]:
    rng = random.Random(seed)
    out: list[str] = []
    while len(out) < n:
        p = join([rng.choice(PASSES) for _ in range(rng.randint(2, 10))])
        if p not in out:
            out.append(p)
    return out


def _kernel(k: SuiteKernel) -> Kernel:
    return Kernel.load(list(k.sources), list(k.include_dirs), list(k.defines), name=k.name)


# -- throughput -----------------------------------------------------------------------------------
def throughput(kernels: list[SuiteKernel], pipelines: list[str], backend: str, cold_evals: int,
               log: Log) -> dict[str, Any]:
    with open_sandbox(backend, Limits(), quiet=True) as sb:  # type: ignore[attr-defined]
        prepared = [sb.prepare(_kernel(k)) for k in kernels]
        cands = [Candidate.passes(p) for p in pipelines]
        started = time.perf_counter()
        counts_sb: list[int | None] = []
        for p in prepared:
            counts_sb.extend(r.metrics.ir_instruction_count for r in sb.evaluate(p, cands, Objective.INSTCOUNT))
        sandbox_s = time.perf_counter() - started
    n = len(prepared) * len(pipelines)
    log(f"throughput: sandbox ({backend}) {n} evaluations in {sandbox_s:.2f} s")
    with tempfile.TemporaryDirectory(prefix="optloop-bench-") as tmp:
        irs = []
        for i, p in enumerate(prepared):
            path = Path(tmp) / f"k{i}.ll"
            path.write_text(p.ir)
            irs.append(path)
        out = Path(tmp) / "out.ll"
        started = time.perf_counter()
        counts_bare: list[int | None] = []
        for path in irs:
            for pipe in pipelines:
                r = subprocess.run(["opt-19", f"-passes={pipe}", str(path), "-S", "-o", str(out)],
                                   capture_output=True)
                counts_bare.append(count_instructions(out.read_text()) if r.returncode == 0 else None)
        bare_s = time.perf_counter() - started
        log(f"throughput: bare opt-19 loop {n} evaluations in {bare_s:.2f} s")
        cold = _cold(irs[0], pipelines[:cold_evals], tmp, log) if backend == "docker" and cold_evals else None
    agree = len([a for a, b in zip(counts_sb, counts_bare, strict=True) if a == b])
    result = {
        "evaluations": n,
        "sandbox_evals_per_s": n / sandbox_s,
        "bare_evals_per_s": n / bare_s,
        "cold_evals_per_s": cold,
        "ratio": (n / sandbox_s) / (n / bare_s),
        "counts_agree": agree == n,
        "backend": backend,
    }
    return result


def _cold(ir: Path, pipelines: list[str], tmp: str, log: Log) -> float | None:
    """One `docker run` per evaluation: what a naive sandbox costs."""
    from optloop.sandbox.image import image_tag

    if shutil.which("docker") is None:
        return None
    os.chmod(tmp, 0o777)
    started = time.perf_counter()
    for i, pipe in enumerate(pipelines):
        subprocess.run(["docker", "run", "--rm", "--network", "none", "-v", f"{tmp}:/w", image_tag(), "opt-19",
                        f"-passes={pipe}", f"/w/{ir.name}", "-S", "-o", f"/w/cold{i}.ll"], capture_output=True)
    elapsed = time.perf_counter() - started
    log(f"throughput: cold docker run x{len(pipelines)} in {elapsed:.2f} s")
    return len(pipelines) / elapsed


# -- quality --------------------------------------------------------------------------------------
def quality(kernels: list[SuiteKernel], objective: Objective, budget: int, seeds: list[int], backend: str,
            db_url: str, log: Log) -> dict[str, Any]:
    from optloop.db import Store

    store = Store(db_url)
    rows = []
    with open_sandbox(backend, Limits(timed_runs=3), quiet=True) as sb:  # type: ignore[attr-defined]
        for k in kernels:
            kernel = _kernel(k)
            row: dict[str, Any] = {"kernel": k.name}
            for strategy in STRATEGIES:
                imps = []
                for seed in seeds:
                    cfg = SessionConfig(objective=objective, budget=budget, seed=seed,
                                        proposer=SearchConfig(strategy=strategy), sandbox=backend)  # type: ignore[arg-type]
                    res = run_session(kernel, cfg, store, sb)
                    imps.append(res["improvement"] or 0.0)
                    row["baseline"] = res["baseline"]["value"]
                row[strategy] = geomean(imps)
            log(f"quality {objective.value} {k.name}: " + ", ".join(
                f"{s} {row[s]:.3f}" for s in STRATEGIES if row.get(s)))
            rows.append(row)
    store.close()
    return {
        "objective": objective.value, "baseline": objective.baseline_pipeline, "budget": budget, "seeds": seeds,
        "per_kernel": rows, "geomean": {s: geomean([r[s] for r in rows if r.get(s)]) for s in STRATEGIES},
    }


# -- the whole run --------------------------------------------------------------------------------
def run_bench(quick: bool = False, backend: str = "docker", out: Path | None = None, budget: int = 100,
              seeds: list[int] | None = None, log: Log = print) -> dict[str, Any]:
    started = time.perf_counter()
    suite = load_suite(quick=quick)
    if not suite:
        raise ValueError("the benchmark suite is empty")
    seeds = seeds or ([0] if quick else [0, 1, 2])
    pipelines = random_pipelines(16 if quick else 40, seed=1234)
    tp_kernels = suite[:3] if quick else suite[:6]
    result: dict[str, Any] = {"quick": quick, "machine": machine()}
    result["throughput"] = throughput(tp_kernels, pipelines, backend, 4 if quick else 8, log)
    with tempfile.TemporaryDirectory(prefix="optloop-bench-db-") as tmp:
        db = f"sqlite:///{tmp}/bench.db"
        result["quality"] = {"instcount": quality(suite, Objective.INSTCOUNT, budget, seeds, backend, db, log)}
        rt_kernels = suite[:2] if quick else suite[:4]
        result["quality"]["runtime"] = quality(rt_kernels, Objective.RUNTIME, 6 if quick else 16, seeds[:1],
                                               backend, db, log)
    result["memory"] = {"agent_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}
    result["wall_s"] = time.perf_counter() - started
    if out is not None:
        write_report(result, out)
    return result


def machine() -> dict[str, Any]:
    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1), "python": platform.python_version(),
            "platform": platform.platform()}


def write_report(result: dict[str, Any], out: Path) -> Path:
    """A Markdown report with plots (matplotlib, Agg)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    q = result["quality"]["instcount"]
    names = [r["kernel"] for r in q["per_kernel"]]
    fig, ax = plt.subplots(figsize=(max(6, len(names) * 0.7), 4))
    width = 0.27
    for i, s in enumerate(STRATEGIES):
        ax.bar([x + i * width for x in range(len(names))], [r.get(s) or 0 for r in q["per_kernel"]], width, label=s)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_xticks([x + width for x in range(len(names))], names, rotation=45, ha="right")
    ax.set_ylabel("improvement over -Oz (instcount)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "quality_instcount.png", dpi=100)
    plt.close(fig)
    tp = result["throughput"]
    lines = [
        "# optloop bench", "", f"Machine: {result['machine']['cpu']}, {result['machine']['cores']} cores, "
        f"{result['machine']['memory_gib']} GiB.", "",
        "## Throughput (instcount evaluations per second)", "",
        "| sandbox | bare opt-19 loop | one docker run each | ratio sandbox/bare |", "| --- | --- | --- | --- |",
        f"| {tp['sandbox_evals_per_s']:.1f} | {tp['bare_evals_per_s']:.1f} | "
        f"{(tp['cold_evals_per_s'] or 0):.2f} | {tp['ratio']:.2f} |", "",
        f"## Quality at {q['budget']} evaluations (seeds {q['seeds']})", "",
        "| kernel | " + " | ".join(STRATEGIES) + " |", "| --- " * (len(STRATEGIES) + 1) + "|",
    ]
    for r in q["per_kernel"]:
        lines.append(f"| {r['kernel']} | " + " | ".join(f"{(r.get(s) or 0):.3f}" for s in STRATEGIES) + " |")
    lines.append("| **geomean** | " + " | ".join(f"**{(q['geomean'][s] or 0):.3f}**" for s in STRATEGIES) + " |")
    rt = result["quality"]["runtime"]
    lines += ["", f"Runtime over -O3 at {rt['budget']} evaluations: " + ", ".join(
        f"{s} {(rt['geomean'][s] or 0):.3f}" for s in STRATEGIES), "",
        f"Agent peak RSS: {result['memory']['agent_peak_rss_mb']:.0f} MiB. Wall time: {result['wall_s']:.0f} s.", "",
        "![quality](quality_instcount.png)"]
    path = out / "bench.md"
    path.write_text("\n".join(lines) + "\n")
    return path
