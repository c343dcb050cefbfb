"""The built-in, model-free proposer: random, greedy and evolutionary search over opt-19 pipelines.

It reads the same feedback a model gets: passes that make opt fail are banned,
the best pipelines are mutated and recombined, and the baseline is the seed.
A pipeline is a list of tokens (single passes or `default<O?>` presets) joined by
commas; opt-19 nests function and loop passes into the module pipeline itself.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Literal

from optloop.sandbox import Candidate

from .base import Attempt, Context, Proposal

PRESETS = ["default<Oz>", "default<Os>", "default<O1>", "default<O2>", "default<O3>"]
# Passes that change a module's shape (checked against opt-19 at the top level of a pipeline).
PASSES = [
    "mem2reg", "sroa", "instcombine", "instsimplify", "aggressive-instcombine", "simplifycfg", "early-cse",
    "early-cse<memssa>", "gvn", "newgvn", "gvn-hoist", "gvn-sink", "sccp", "ipsccp", "dce", "adce", "bdce",
    "dse", "reassociate", "nary-reassociate", "correlated-propagation", "jump-threading", "memcpyopt",
    "mldst-motion", "tailcallelim", "sink", "loop-simplify", "lcssa", "indvars", "loop-deletion",
    "loop-rotate", "loop-mssa(licm)", "loop-instsimplify", "loop-simplifycfg", "loop-idiom",
    "simple-loop-unswitch", "loop-load-elim", "float2int", "div-rem-pairs", "constraint-elimination",
    "mergeicmps", "globaldce", "globalopt", "constmerge", "deadargelim", "function-attrs", "mergefunc",
    "strip-dead-prototypes", "elim-avail-extern", "argpromotion", "lower-switch", "break-crit-edges",
    "speculative-execution", "loop-sink", "loop-reduce", "irce", "loop-flatten",
]
# Cleanup passes that delete or merge instructions: tried first when scanning a pipeline's
# neighbourhood (domain knowledge about what shrinks code, not about any benchmark).
CLEANUP = ["instcombine", "aggressive-instcombine", "simplifycfg", "gvn", "newgvn", "early-cse", "dce", "adce",
           "dse", "sccp", "ipsccp", "mergefunc", "globaldce", "constmerge", "gvn-sink", "gvn-hoist", "instsimplify",
           "reassociate", "loop-deletion", "deadargelim", "sroa", "mem2reg", "memcpyopt", "mergeicmps"]
# Seeds that are good starting points for size-like objectives.
SEEDS = [
    ["default<Oz>"],
    ["mem2reg", "instcombine", "simplifycfg"],
    ["sroa", "early-cse", "instcombine", "simplifycfg", "gvn", "dce"],
    ["default<Oz>", "instcombine", "simplifycfg"],
    ["mem2reg", "sccp", "instcombine", "simplifycfg", "adce", "globaldce"],
    ["default<O1>", "instcombine", "simplifycfg"],
]
Strategy = Literal["evolution", "random", "greedy"]
# Passes that only run at module level, and CGSCC passes; everything else is a function or loop pass.
MODULE_LEVEL = {"globaldce", "globalopt", "constmerge", "deadargelim", "ipsccp", "mergefunc",
                "strip-dead-prototypes", "elim-avail-extern", "called-value-propagation", "rpo-function-attrs",
                "always-inline", *PRESETS}
CGSCC_LEVEL = {"function-attrs", "argpromotion", "inline"}


def split(pipeline: str) -> list[str]:
    """The passes of a pipeline as a flat token list (`function(...)` and `cgscc(...)` groups are opened)."""
    tokens = []
    for t in _top_level(pipeline):
        for group in ("function(", "cgscc("):
            if t.startswith(group) and t.endswith(")"):
                tokens.extend(_top_level(t[len(group):-1]))
                break
        else:
            tokens.append(t)
    return tokens


def join(tokens: list[str]) -> str:
    """A canonical pipeline opt-19 accepts: module passes at the top, runs of function and loop
    passes in `function(...)`, runs of CGSCC passes in `cgscc(...)` (opt nests passes implicitly
    only when a pipeline starts with a module pass)."""
    parts: list[str] = []
    run: list[str] = []
    kind = ""
    for t in tokens:
        k = "module" if t in MODULE_LEVEL else "cgscc" if t in CGSCC_LEVEL else "function"
        if run and k != kind:
            parts.append(f"{kind}({','.join(run)})")
            run = []
        if k == "module":
            parts.append(t)
        else:
            run.append(t)
        kind = k
    if run:
        parts.append(f"{kind}({','.join(run)})")
    return ",".join(parts)


def _top_level(pipeline: str) -> list[str]:
    tokens: list[str] = []
    cur: list[str] = []
    depth = 0
    for ch in pipeline:
        if ch in "(<":
            depth += 1
        elif ch in ")>":
            depth -= 1
        if ch == "," and depth == 0:
            tokens.append("".join(cur).strip())
            cur = []
        else:
            cur.append(ch)
    if cur:
        tokens.append("".join(cur).strip())
    return [t for t in tokens if t]


@dataclass
class SearchProposer:
    """Search over pipelines.  `evolution` (default) mixes exploitation and exploration."""

    strategy: Strategy = "evolution"
    schedule: str = "ge"  # evolution's moves in turn: g = neighbour scan, e = evolve, r = random
    max_len: int = 24
    population: int = 8
    name: str = "search"
    model: str | None = None
    _banned: set[str] = field(default_factory=set)
    _greedy_queue: list[str] = field(default_factory=list)
    _greedy_base: str | None = None

    def propose(self, ctx: Context) -> Proposal:
        rng = random.Random(ctx.seed * 1_000_003 + ctx.step)
        self._learn(ctx.history)
        seen = {a.candidate.text for a in ctx.history if a.candidate.kind == "passes"}
        want = max(1, min(ctx.n, ctx.evaluations_left))
        out: list[str] = []
        moves = {"g": self._greedy, "e": self._evolve, "r": self._random}
        schedule = {"evolution": self.schedule, "random": "r", "greedy": "g"}[self.strategy]
        makers = [moves[c] for c in schedule]
        for _ in range(want * 50):
            if len(out) >= want:
                break
            # The default alternates a systematic scan of the best pipeline's neighbours with
            # evolutionary moves (mutation, crossover, fresh random pipelines).
            # Counted over the whole session, so one candidate per step alternates as well.
            tokens = makers[(len(ctx.history) + len(out)) % len(makers)](ctx, rng)
            tokens = [t for t in tokens if t not in self._banned][: self.max_len]
            text = join(tokens)
            if tokens and text not in seen and text not in out:
                out.append(text)
        rationale = f"{self.strategy} search, {len(ctx.history)} evaluated, {len(self._banned)} passes banned"
        if not out:
            return Proposal(candidates=[], error="search space exhausted", rationale=rationale)
        return Proposal(candidates=[Candidate.passes(p) for p in out], predictions=[None] * len(out),
                        rationale=rationale)

    # -- feedback -------------------------------------------------------------------------
    def _learn(self, history: list[Attempt]) -> None:
        """Ban single passes that opt rejects or crashes on (the feedback a model would read)."""
        for a in history:
            if a.status in ("invalid_pipeline", "compile_error", "verify_error") and a.candidate.kind == "passes":
                tokens = split(a.candidate.text)
                if len(tokens) == 1 and tokens[0] not in PRESETS:
                    self._banned.add(tokens[0])
                elif a.error:
                    for t in tokens:
                        if f"'{t}'" in a.error:
                            self._banned.add(t)

    @staticmethod
    def _ranked(ctx: Context) -> list[Attempt]:
        """Valid pipelines, best first; the baseline is one of them (a parent like any other)."""
        ok = [a for a in ctx.history if a.status == "ok" and a.value is not None and a.candidate.kind == "passes"]
        if not any(a.candidate.text == ctx.baseline_pipeline for a in ok):
            ok.append(Attempt(Candidate.passes(ctx.baseline_pipeline), "ok", ctx.baseline_value))
        return sorted(ok, key=lambda a: (a.value, len(a.candidate.text)))

    def _vocab(self) -> list[str]:
        return [p for p in PASSES if p not in self._banned]

    # -- strategies ------------------------------------------------------------------------
    def _random(self, ctx: Context, rng: random.Random) -> list[str]:
        vocab = self._vocab()
        n = rng.randint(1, self.max_len)
        tokens = [rng.choice(vocab) for _ in range(n)]
        if rng.random() < 0.3:
            tokens.insert(0, rng.choice(PRESETS))
        return tokens

    def _greedy(self, ctx: Context, rng: random.Random) -> list[str]:
        """Hill climbing: the neighbours of the best pipeline (one pass inserted anywhere, or one
        removed), cleanup passes first, in an order that starts over whenever the best changes."""
        ranked = self._ranked(ctx)
        base = ranked[0].candidate.text
        tokens = split(base)
        if base != self._greedy_base or not self._greedy_queue:
            self._greedy_base = base
            vocab = self._vocab()
            first = [f"insert:{p}" for p in CLEANUP if p in vocab]
            first += [f"delete:{i}" for i in range(len(tokens))] if len(tokens) > 1 else []
            rest = [f"insert:{p}" for p in vocab if p not in CLEANUP]
            rng.shuffle(first)
            rng.shuffle(rest)
            self._greedy_queue = rest + first  # popped from the end: cleanups first
        kind, arg = self._greedy_queue.pop().split(":", 1)
        if kind == "delete":
            return tokens[: int(arg)] + tokens[int(arg) + 1:]
        at = rng.randint(0, len(tokens))
        return tokens[:at] + [arg] + tokens[at:]

    def _evolve(self, ctx: Context, rng: random.Random) -> list[str]:
        ranked = self._ranked(ctx)
        tried = {a.candidate.text for a in ctx.history}
        for seed in SEEDS:  # the seeds first: cheap and often good
            if join(seed) not in tried and rng.random() < 0.7:
                return list(seed)
        if not ranked:
            return self._random(ctx, rng)
        parents = ranked[: self.population]
        r = rng.random()
        if r < 0.15:
            return self._random(ctx, rng)
        if r < 0.35 and len(parents) > 1:
            a, b = rng.sample(parents, 2)
            ta, tb = split(a.candidate.text), split(b.candidate.text)
            return ta[: rng.randint(0, len(ta))] + tb[rng.randint(0, len(tb)):]
        # Tournament: better parents are picked more often.
        parent = min(rng.sample(parents, min(3, len(parents))), key=lambda a: a.value or 0.0)
        tokens = split(parent.candidate.text)
        for _ in range(rng.choice((1, 1, 1, 2, 3))):
            tokens = self._mutate(tokens, rng)
        return tokens

    def _mutate(self, tokens: list[str], rng: random.Random) -> list[str]:
        tokens = list(tokens)
        vocab = self._vocab()
        op = rng.random()
        if op < 0.4 or not tokens:
            tokens.insert(rng.randint(0, len(tokens)), rng.choice(vocab))
        elif op < 0.6 and len(tokens) > 1:
            del tokens[rng.randrange(len(tokens))]
        elif op < 0.8:
            tokens[rng.randrange(len(tokens))] = rng.choice(vocab)
        elif len(tokens) > 1:
            i, j = rng.sample(range(len(tokens)), 2)
            tokens[i], tokens[j] = tokens[j], tokens[i]
        else:
            tokens.append(rng.choice(vocab))
        return tokens
