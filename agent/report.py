"""A batch report: Markdown (or HTML) with plots made by matplotlib (Agg), PNGs next to the report.

    improvements.png  the distribution of improvements over the baseline
    curves.png        best-so-far per kernel: baseline / best value against the evaluation index
    time.png          wall-clock time per kernel
"""

from __future__ import annotations

import html
import os
from pathlib import Path
from typing import Any, Literal

from optloop.db import Store

from .feedback import geomean

IMAGES = ("improvements.png", "curves.png", "time.png")


def summarize(rows: list[dict[str, Any]], wall: float, jobs: int, engine: str, db: str) -> dict[str, Any]:
    """The summary of a batch's rows (run_batch's "summary")."""
    ok = [r for r in rows if r["status"] == "ok"]
    imps = [r["improvement"] for r in ok if r["improvement"]]
    return {"kernels": len(rows), "ok": len(ok), "failed": len(rows) - len(ok),
            "skipped": sum(r["resumed"] for r in rows), "resumed": sum(r["continued"] for r in rows),
            "geomean_improvement": geomean(imps),
            "best_improvement": max(imps) if imps else None, "wall_s": round(wall, 3), "jobs": jobs,
            "engine": engine, "db": db}


def _label(row: dict[str, Any], root: str) -> str:
    if row.get("name"):
        return str(row["name"])
    return os.path.relpath(row["path"], root) if root else row["path"]


def _root(rows: list[dict[str, Any]]) -> str:
    paths = [os.path.dirname(r["path"]) for r in rows]
    return os.path.commonpath(paths) if paths else ""


def best_so_far(store: Store, row: dict[str, Any]) -> list[float]:
    """Improvement of the best value so far (baseline / best): 1.0 at 0, then after each evaluation."""
    base = row.get("baseline")
    if not row.get("session_id") or not base:
        return []
    curve, best = [1.0], float(base)
    for ev in store.evaluations_for_session(row["session_id"]):
        if ev["status"] == "ok" and ev["value"] is not None and ev["value"] > 0:
            best = min(best, float(ev["value"]))
        curve.append(base / best)
    return curve


def _plots(rows: list[dict[str, Any]], curves: dict[str, list[float]], out_dir: Path, root: str) -> list[str]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    made = []
    imps = [r["improvement"] for r in rows if r["status"] == "ok" and r.get("improvement")]
    fig, ax = plt.subplots(figsize=(6, 3.5))
    if imps:
        ax.hist(imps, bins=min(20, max(5, len(imps))), color="#4c72b0", edgecolor="white")
    ax.axvline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set(xlabel="improvement (baseline / best, above 1 is better)", ylabel="kernels",
           title=f"Improvements over the baseline ({len(imps)} kernels)")
    fig.tight_layout()
    fig.savefig(out_dir / IMAGES[0], dpi=100)
    plt.close(fig)
    made.append(IMAGES[0])

    fig, ax = plt.subplots(figsize=(7, 4))
    for label, curve in curves.items():
        if curve:
            ax.plot(range(len(curve)), curve, marker=".", linewidth=1, label=label)
    ax.axhline(1.0, color="grey", linestyle="--", linewidth=1)
    ax.set(xlabel="evaluation", ylabel="best so far (baseline / best)", title="Best so far per kernel")
    if 0 < len(curves) <= 12:
        ax.legend(fontsize="small")
    fig.tight_layout()
    fig.savefig(out_dir / IMAGES[1], dpi=100)
    plt.close(fig)
    made.append(IMAGES[1])

    timed = [(_label(r, root), r["wall_s"] or 0.0) for r in rows if r.get("wall_s") is not None]
    fig, ax = plt.subplots(figsize=(7, max(2.5, 0.35 * len(timed) + 1)))
    if timed:
        names, secs = zip(*timed, strict=True)
        ax.barh(range(len(secs)), secs, color="#55a868")
        ax.set_yticks(range(len(names)), names, fontsize="small")
        ax.invert_yaxis()
    ax.set(xlabel="seconds", title="Time per kernel")
    fig.tight_layout()
    fig.savefig(out_dir / IMAGES[2], dpi=100)
    plt.close(fig)
    made.append(IMAGES[2])
    return made


def _fmt(v: Any, digits: int = 4) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{digits}g}"
    return str(v)


def _table(rows: list[dict[str, Any]], root: str) -> tuple[list[str], list[list[str]]]:
    head = ["kernel", "status", "objective", "baseline", "best", "improvement", "evaluations", "time (s)",
            "session", "note"]
    body = []
    for r in rows:
        imp = r.get("improvement")
        note = "; ".join(x for x in (r.get("error"), r.get("note"), "from an earlier run" if r.get("resumed")
                                     else None) if x)
        body.append([_label(r, root), r["status"], _fmt(r.get("objective")), _fmt(r.get("baseline")),
                     _fmt(r.get("best")), f"{imp:.3f}x" if imp else "-", str(r.get("evaluations") or 0),
                     _fmt(r.get("wall_s"), 3), (r.get("session_id") or "-")[:12], note[:200]])
    return head, body


def _summary_lines(s: dict[str, Any]) -> list[tuple[str, str]]:
    geo, best = s.get("geomean_improvement"), s.get("best_improvement")
    return [("kernels", str(s["kernels"])), ("ok", str(s["ok"])), ("failed", str(s["failed"])),
            ("skipped (finished earlier)", str(s["skipped"])),
            ("continued (interrupted earlier)", str(s["resumed"])),
            ("geometric mean improvement", f"{geo:.3f}x" if geo else "-"),
            ("best improvement", f"{best:.3f}x" if best else "-"), ("wall clock", f"{s['wall_s']:.1f} s"),
            ("workers", f"{s['jobs']} ({s['engine']})")]


def write_report(result: dict[str, Any], store: Store, out_dir: Path,
                 fmt: Literal["md", "html"] = "md") -> Path:
    """Write report.md (or report.html) and its PNGs into out_dir; returns the report's path."""
    if fmt not in ("md", "html"):
        raise ValueError(f"--report-format {fmt}: choose md or html")
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = result["kernels"]
    root = _root(rows)
    curves = {_label(r, root): best_so_far(store, r) for r in rows if r["status"] == "ok"}
    images = _plots(rows, curves, out_dir, root)
    head, body = _table(rows, root)
    summary = _summary_lines(result["summary"])
    captions = ["Distribution of improvements", "Best so far per kernel", "Time per kernel"]
    if fmt == "md":
        esc = lambda t: t.replace("|", "\\|").replace("\n", " ")  # noqa: E731
        where = f"Kernels under `{root}`, recorded in `{result['summary'].get('db')}`."
        lines = ["# optloop batch report", "", where, "", "| | |", "| --- | --- |",
                 *[f"| {k} | {v} |" for k, v in summary], "",
                 "| " + " | ".join(head) + " |", "|" + " --- |" * len(head),
                 *["| " + " | ".join(esc(c) for c in row) + " |" for row in body], ""]
        for cap, img in zip(captions, images, strict=True):
            lines += [f"## {cap}", "", f"![{cap}]({img})", ""]
        path = out_dir / "report.md"
        path.write_text("\n".join(lines))
        return path
    e = html.escape
    parts = ["<!doctype html><html><head><meta charset='utf-8'><title>optloop batch report</title>",
             "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
             "td,th{border:1px solid #ccc;padding:3px 8px;text-align:left}</style></head><body>",
             "<h1>optloop batch report</h1>", f"<p>Kernels under <code>{e(root)}</code>.</p><table>",
             *[f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in summary],
             "</table><h2>Kernels</h2><table>",
             "<tr>" + "".join(f"<th>{e(h)}</th>" for h in head) + "</tr>",
             *["<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>" for row in body], "</table>"]
    for cap, img in zip(captions, images, strict=True):
        parts.append(f"<h2>{e(cap)}</h2><img src='{e(img)}' alt='{e(cap)}'>")
    parts.append("</body></html>")
    path = out_dir / "report.html"
    path.write_text("\n".join(parts))
    return path
