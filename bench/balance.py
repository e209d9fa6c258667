"""Bench the automatic balancing (issue 12 item 4) next to its peers, on the same data, in one run.

    .venv/bin/pip install -e '.[bench]'          # pymetis (also a runtime dep) and GerryChain
    .venv/bin/python -m bench.balance [--seeds 5] [--recom-steps 300] [--cases sf,ps02,…]

Prints, per case, pymetis (population, a 50/50 composite) and GerryChain ReCom next to the
balancer, and for "fewest moves" the base, pymetis parts matched to the base and ReCom chains
started from the base next to the balancer's fewest-moves mode — worst deviations, contiguity,
Polsby–Popper, wall and CPU time, grids moved — as median (min–max) over the seeds.
``sf-tolerance`` runs the balancer alone on SF at ±5, ±10 and ±20 % on both measures: what
compactness each tolerance allows (the ±5 % target asks Polsby–Popper mean ≥ 0.33).

Data: SF (``jurisgrid seed sf``: 579 block groups → 10 districts) and the demo county's station
511725PS02 at scale 1 (72 grids → its 8 zones), each loaded once into a scratch database on the
project-local cluster and read with ``jurisgrid.planning.source.read_scope`` — the same adapter
the app uses — then cached in ``.jurisgrid/bench-cache/`` (``--refresh`` rebuilds the cache).
"""

from __future__ import annotations

import argparse
import pickle
import statistics
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pymetis
from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from bench.scratch import scratch_database
from jurisgrid.planning.balance import BalanceParams, Balancer, Problem, Target
from jurisgrid.planning.geometry import Adjacency, rook_adjacency
from jurisgrid.planning.metrics import plan_metrics
from jurisgrid.planning.source import Scope, read_scope
from jurisgrid.planning.units import UnitSet

CACHE = Path(".jurisgrid/bench-cache")
# the balancer's time limit is a wall-clock backstop; on a shared, loaded machine it would cut
# stages short and make the figures depend on the load, so the bench lifts it (CPU time is shown)
NO_LIMIT = 600.0
PS02 = "511725PS02"
CASES = ("sf", "sf-fewest", "sf-tolerance", "ps02", "ps02-fewest", "villages")




def _fill_sf(engine: Engine) -> None:
    from jurisgrid.seed.sf import load_sf

    load_sf(engine, seed=0)


def _fill_demo(engine: Engine) -> None:
    from jurisgrid.seed.generate import generate
    from jurisgrid.seed.load import load

    load(engine, generate(scale=1.0, seed=0))


def scope(name: str, *, refresh: bool = False) -> Scope:
    """``sf`` (the whole county) or ``ps02`` (station 511725PS02 of the demo county)."""
    path = CACHE / f"balance-{name}.pkl"
    if path.exists() and not refresh:
        with path.open("rb") as f:
            cached: Scope = pickle.load(f)
        return cached
    fill, station = (_fill_sf, None) if name == "sf" else (_fill_demo, PS02)
    with scratch_database(f"bench_balance_{name}", fill) as engine, engine.connect() as conn:
        out = read_scope(conn, station)
    CACHE.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        pickle.dump(out, f)
    return out


# -- runs ---------------------------------------------------------------------------------------
@dataclass
class Run:
    method: str
    pop: float  # worst |deviation|, fraction of the ideal
    inc: float
    contiguous: bool
    pp: float
    seconds: float
    moved: int | None = None
    cpu: float | None = None  # process CPU seconds: what the run costs on an idle machine


def _evaluate(method: str, units: UnitSet, adj: Adjacency, labels: list[Any], seconds: float,
              base: list[Any] | None = None) -> Run:
    m = plan_metrics(units, labels, measures=["population", "incidents"], adjacency=adj, base=base)
    return Run(method, m.measures["population"].worst, m.measures["incidents"].worst, m.contiguous,
               m.polsby_popper_mean, seconds, m.moves.units if m.moves else None)


def _csr(adj: Adjacency) -> pymetis.CSRAdjacency:
    xadj, adjncy = [0], []
    for nb in adj.neighbours:
        adjncy.extend(sorted(nb))
        xadj.append(len(adjncy))
    return pymetis.CSRAdjacency(xadj, adjncy)


def run_pymetis(units: UnitSet, adj: Adjacency, k: int, weights: np.ndarray, seed: int, name: str) -> Run:
    t = time.perf_counter()
    opts = pymetis.Options(seed=seed, contig=1)
    _, parts = pymetis.part_graph(k, _csr(adj), vweights=[max(1, int(w)) for w in weights], options=opts)
    return _evaluate(name, units, adj, list(parts), time.perf_counter() - t)


def composite(units: UnitSet) -> np.ndarray:
    p, i = units.measures["population"], units.measures["incidents"]
    return 1e6 * (0.5 * p / p.sum() + 0.5 * i / i.sum())


def run_recom(units: UnitSet, adj: Adjacency, start: list[Any], epsilon: float, steps: int,
              seed: int, *, bound: float | None = None, base: list[Any] | None = None) -> Run:
    """GerryChain ReCom from ``start``: each step redraws two districts with population within
    ``epsilon``; every plan of the chain keeps population within ``bound`` (default ``epsilon``;
    a looser bound lets a chain start from an unbalanced plan). The last plan of the chain; moves
    counted against ``base``."""
    from functools import partial

    import networkx as nx
    from gerrychain import Graph, MarkovChain, Partition
    from gerrychain.accept import always_accept
    from gerrychain.constraints import contiguous, within_percent_of_ideal_population
    from gerrychain.proposals import recom
    from gerrychain.updaters import Tally

    t, c = time.perf_counter(), time.process_time()
    g = nx.Graph()
    for i in range(len(units)):
        g.add_node(i, population=int(units.measures["population"][i]))
    g.add_edges_from(map(tuple, adj.edges.tolist()))
    graph = Graph.from_networkx(g)
    tally = {"population": Tally("population", "population")}
    part = Partition(graph, dict(enumerate(start)), updaters=tally)
    ideal = units.measures["population"].sum() / len(set(start))
    proposal = partial(recom, pop_col="population", pop_target=ideal, epsilon=epsilon)
    rules: list[Callable[[Partition], bool]] = [
        contiguous, within_percent_of_ideal_population(part, epsilon if bound is None else bound)]
    chain = MarkovChain(proposal, rules, always_accept, part, total_steps=steps, rng=seed)
    last = part
    stuck = False
    with warnings.catch_warnings():  # "no balanced cut after 1000 attempts": a rejected step
        warnings.simplefilter("ignore")
        try:
            for last in chain:  # noqa: B007 — the last plan is the answer
                pass
        except RuntimeError:  # "Could not find a possible cut": no pair can be redrawn in bounds
            stuck = True
    labels = [last.assignment[i] for i in range(len(units))]
    run = _evaluate("ReCom stuck" if stuck else "ReCom", units, adj, labels, time.perf_counter() - t, base)
    run.cpu = time.process_time() - c
    return run


def run_ours(units: UnitSet, adj: Adjacency, params: BalanceParams, base: list[Any] | None,
             name: str) -> Run:
    t, c = time.perf_counter(), time.process_time()
    r = Balancer(params).solve(Problem(units, base=base, adjacency=adj))
    run = _evaluate(name, units, adj, [r.assignment[c] for c in units.codes], time.perf_counter() - t, base)
    run.cpu = time.process_time() - c
    run.moved = r.moved if base is not None else None
    return run


# -- report -------------------------------------------------------------------------------------
def _pct(x: float) -> str:
    return f"{100 * x:.1f} %"


SUMMARY_COLUMNS = ("population", "incidents", "contiguous", "Polsby–Popper mean", "wall time", "CPU time",
                   "moved")


def table_of(title: str, first: str, *extra: str) -> Table:
    """A table whose rows are ``first``, then :func:`summary`'s columns, then ``extra``."""
    table = Table(title=title)
    for col in (first, *SUMMARY_COLUMNS, *extra):
        table.add_column(col)
    return table


def summary(runs: list[Run]) -> list[str]:
    """median (min–max) over seeds."""
    def col(vals: list[float], fmt: Callable[[float], str]) -> str:
        return f"{fmt(statistics.median(vals))} ({fmt(min(vals))}–{fmt(max(vals))})" if len(vals) > 1 \
            else fmt(vals[0])

    return [
        col([r.pop for r in runs], _pct), col([r.inc for r in runs], _pct),
        f"{sum(r.contiguous for r in runs)}/{len(runs)}",
        col([r.pp for r in runs], lambda x: f"{x:.3f}"),
        col([r.seconds for r in runs], lambda x: f"{x:.2f} s"),
        col([r.cpu or 0.0 for r in runs], lambda x: f"{x:.2f} s") if runs[0].cpu is not None else "",
        col([float(r.moved or 0) for r in runs], lambda x: f"{x:.0f}") if runs[0].moved is not None else "",
    ]


def bench_case(console: Console, title: str, sc: Scope, k: int, tol: float, seeds: list[int],
               steps: int, extra: list[tuple[str, list[Run]]] | None = None) -> None:
    units = sc.units
    adj = rook_adjacency(units.geoms)
    targets = (Target("population", tol), Target("incidents", tol))
    rows: list[tuple[str, list[Run]]] = []
    base = list(sc.zone) if len(set(sc.zone)) == k else None
    if base is not None:
        rows.append(("today's zones", [_evaluate("today", units, adj, base, 0.0)]))
    pop = units.measures["population"]
    rows.append(("pymetis on population", [run_pymetis(units, adj, k, pop, s, "") for s in seeds]))
    rows.append(("pymetis on 50/50 composite",
                 [run_pymetis(units, adj, k, composite(units), s, "") for s in seeds]))
    opts = pymetis.Options(seed=0, contig=1)
    _, start = pymetis.part_graph(k, _csr(adj), vweights=[max(1, int(w)) for w in pop], options=opts)
    rows.append((f"GerryChain ReCom, {steps} steps, pop ±{tol:.0%}",
                 [run_recom(units, adj, list(start), tol, steps, s) for s in seeds]))
    ours = [run_ours(units, adj, BalanceParams(districts=k, targets=targets, seed=s, time_limit_s=NO_LIMIT),
                     None, "ours")
            for s in seeds]
    rows.append((f"jurisgrid balancer, both ±{tol:.0%}", ours))
    for name, runs in extra or []:
        rows.append((name, runs))
    table = table_of(f"{title}: {len(units)} units → {k} districts, worst |deviation|; "
                     f"median (min–max) over seeds {seeds}", "method")
    for name, runs in rows:
        table.add_row(name, *summary(runs))
    console.print(table)
    same = [Balancer(BalanceParams(districts=k, targets=targets, seed=seeds[0], time_limit_s=NO_LIMIT)).solve(
        Problem(units, adjacency=adj)).assignment for _ in range(2)]
    console.print(f"deterministic per seed (seed {seeds[0]} twice, same plan): {same[0] == same[1]}")


def matched(labels: list[Any], base: list[Any]) -> list[Any]:
    """``labels`` renamed to the base districts they overlap most (greedy on unit counts), so
    moves against the base count what a planner would see (METIS numbers parts arbitrarily)."""
    overlap: dict[tuple[Any, Any], int] = {}
    for a, b in zip(labels, base, strict=True):
        overlap[(a, b)] = overlap.get((a, b), 0) + 1
    out: dict[Any, Any] = {}
    used: set[Any] = set()
    for (a, b), _ in sorted(overlap.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        if a not in out and b not in used:
            out[a], used = b, used | {b}
    spare = iter(sorted(set(base) - used, key=str))
    return [out[a] if a in out else out.setdefault(a, next(spare)) for a in labels]


def fewest(console: Console, title: str, units: UnitSet, base: list[Any], tols: list[float],
           seeds: list[int], whole_villages: bool = False, steps: int = 300) -> None:
    adj = rook_adjacency(units.geoms)
    k = len(set(base))
    table = table_of(f"{title}: fewest moves from the base; median (min–max) over seeds {seeds}", "method",
                     "reached")
    start = _evaluate("base", units, adj, base, 0.0, base)
    table.add_row("the base", *summary([start])[:-2], "", "0", "")
    peers = (("population", units.measures["population"]), ("50/50 composite", composite(units)))
    for name, weights in peers:
        runs = []
        for s in seeds:
            t = time.perf_counter()
            _, parts = pymetis.part_graph(k, _csr(adj), vweights=[max(1, int(w)) for w in weights],
                                          options=pymetis.Options(seed=s, contig=1))
            runs.append(_evaluate("", units, adj, matched(list(parts), base), time.perf_counter() - t, base))
        table.add_row(f"pymetis on {name} (parts matched to the base)", *summary(runs), "")
    for tol in tols:
        bound = max(tol, start.pop + 0.01)
        runs = [run_recom(units, adj, base, tol, steps, s, bound=bound, base=base) for s in seeds]
        reached = sum(run.pop <= tol + 1e-9 and run.inc <= tol + 1e-9 for run in runs)
        stuck = sum(run.method == "ReCom stuck" for run in runs)
        note = f" ({stuck} chain(s) stuck: no pair could be redrawn)" if stuck else ""
        table.add_row(f"GerryChain ReCom from the base, {steps} steps, pairs ±{tol:.0%}{note}",
                      *summary(runs), f"{reached}/{len(runs)}")
    for tol in tols:
        targets = (Target("population", tol), Target("incidents", tol))
        params = [BalanceParams(targets=targets, fewest_moves=True, whole_villages=whole_villages, seed=s,
                                time_limit_s=NO_LIMIT)
                  for s in seeds]
        runs, reached = [], 0
        for p in params:
            t, cpu = time.perf_counter(), time.process_time()
            r = Balancer(p).solve(Problem(units, base=base, adjacency=adj))
            runs.append(Run("", r.worst["population"], r.worst["incidents"], r.metrics.contiguous,
                            r.metrics.polsby_popper_mean, time.perf_counter() - t, r.moved,
                            time.process_time() - cpu))
            reached += r.within_tolerance
        table.add_row(f"jurisgrid fewest moves, both ±{tol:.0%}", *summary(runs), f"{reached}/{len(runs)}")
    console.print(table)


def tolerance(console: Console, sc: Scope, k: int, tols: list[float], seeds: list[int]) -> None:
    """The balancer alone at each tolerance (both measures): the compactness it reaches."""
    units = sc.units
    adj = rook_adjacency(units.geoms)
    table = table_of(f"SF: {len(units)} units → {k} districts, the balancer at each tolerance; "
                     f"median (min–max) over seeds {seeds}", "tolerance", "Polsby–Popper, mean over seeds")
    for tol in tols:
        targets = (Target("population", tol), Target("incidents", tol))
        runs = [run_ours(units, adj, BalanceParams(districts=k, targets=targets, seed=s,
                                                   time_limit_s=NO_LIMIT), None, "ours") for s in seeds]
        table.add_row(f"both ±{tol:.0%}", *summary(runs), f"{statistics.mean(r.pp for r in runs):.3f}")
    console.print(table)


def villages(console: Console, sc: Scope, tol: float) -> None:
    r = Balancer(BalanceParams(targets=(Target("population", tol), Target("incidents", tol)),
                               whole_villages=True, time_limit_s=NO_LIMIT)).solve(
        Problem(sc.units, base=list(sc.zone)))
    console.print(f"PS02, whole villages, both ±{tol:.0%}: within tolerance {r.within_tolerance}, "
                  f"worst population {_pct(r.worst['population'])}, incidents {_pct(r.worst['incidents'])}")
    for lim in r.limits:
        if lim.impossible:
            console.print(f"  impossible: {lim.message}")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m bench.balance", description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--recom-steps", type=int, default=300)
    ap.add_argument("--refresh", action="store_true", help="rebuild the cached scopes")
    ap.add_argument("--cases", default=",".join(CASES),
                    help=f"comma-separated, of {', '.join(CASES)} (default: all); e.g. --cases sf for the SF "
                         "table alone")
    args = ap.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = sorted(set(cases) - set(CASES))
    if unknown:
        ap.error(f"unknown case(s) {', '.join(unknown)}; known: {', '.join(CASES)}")
    console = Console(width=190)
    warnings.filterwarnings("ignore", module="gerrychain")  # ReCom: "no balanced cut after 1000 tries"
    seeds = list(range(args.seeds))
    if {"sf", "sf-fewest", "sf-tolerance"} & set(cases):
        sf = scope("sf", refresh=args.refresh)
    if {"ps02", "ps02-fewest", "villages"} & set(cases):
        ps02 = scope("ps02", refresh=args.refresh)

    if "sf" in cases:
        bench_case(console, "SF", sf, 10, 0.05, seeds, args.recom_steps)
    if "sf-fewest" in cases:
        adj = rook_adjacency(sf.units.geoms)
        pop = [max(1, int(w)) for w in sf.units.measures["population"]]
        _, pop_plan = pymetis.part_graph(10, _csr(adj), vweights=pop,
                                         options=pymetis.Options(seed=0, contig=1))
        fewest(console, "SF, base = pymetis on population (10 districts)", sf.units, list(pop_plan), [0.10],
               seeds, steps=args.recom_steps)

    if "sf-tolerance" in cases:
        tolerance(console, sf, 10, [0.05, 0.10, 0.20], seeds)

    if "ps02" in cases:
        bench_case(console, "渠县 station 511725PS02", ps02, 8, 0.15, seeds, args.recom_steps)
    if "ps02-fewest" in cases:
        fewest(console, "PS02, base = today's 8 zones", ps02.units, list(ps02.zone), [0.25, 0.20], seeds,
               steps=args.recom_steps)
    if "villages" in cases:
        villages(console, ps02, 0.15)


if __name__ == "__main__":
    main()
