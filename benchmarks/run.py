"""Benchmarks: scalargrad (dynamic and compiled) against plain floats, micrograd and PyTorch.

Run ``python benchmarks/run.py`` (``--quick`` for a short run). It prints a
table and writes ``benchmarks/results.json`` (not tracked by git). Workloads:

1. MLP training step (2-16-16-1, batch 32, squared error, backward, SGD) per
   engine, as medians of alternating paired trials and ratios to plain floats
   measured in the same trial, with the garbage collector on (and off for
   micrograd and scalargrad, to show what the collector costs).
2. Chains of 10^4, 10^5, 10^6 ops and ``sum()`` of 10^5 products, backward at
   the default recursion limit: time per op.
3. Memory per node (tracemalloc) and whether a finished graph is freed by
   reference counting alone.
4. ``scalargrad.grad`` beside ``backward()`` on the MLP cost graph, in paired
   CPU-time trials: ``grad(create_graph=False)`` (floats, no ``.grad``
   touched) must cost about what ``backward()`` costs, and the same for the
   gradient as a graph (``create_graph=True``) and one Hessian-vector product,
   to show what building the backward pass as Values costs.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import workloads  # noqa: E402

from scalargrad import Value, topological_order  # noqa: E402


def machine() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "python": f"{platform.python_implementation()} {platform.python_version()}",
        "platform": platform.platform(),
    }


def spread(xs: list[float]) -> tuple[float, float]:
    """The lower and upper quartiles (min and max when there are fewer than 4)."""
    if len(xs) < 4:
        return min(xs), max(xs)
    q = statistics.quantiles(xs, n=4)
    return q[0], q[2]


# --- 1. the MLP step ------------------------------------------------------------------


def mlp(trials: int, budget: float, names: set[str] | None = None) -> dict[str, Any]:
    """Times the MLP step of each engine (``names``: only these, plus floats)."""
    problem = workloads.Problem()
    variants: list[tuple[str, Any, bool]] = []
    engines = workloads.available_engines()
    if names is None and workloads.Torch in engines:
        # torch's import adds ~160k objects that every full garbage collection
        # walks, slowing every other engine: time it in a process of its own.
        engines.remove(workloads.Torch)
    for cls in engines:
        if names is not None and cls.name not in names | {"floats"}:
            continue
        variants.append((cls.name, cls(problem), True))
        if cls.name in ("micrograd", "scalargrad"):
            variants.append((cls.name + " (gc off)", cls(problem), False))
    reps: dict[str, int] = {}
    for name, eng, _ in variants:  # warm up and size the batches of steps
        eng.step()
        t = time.perf_counter()
        eng.step()
        reps[name] = max(1, int(budget / max(time.perf_counter() - t, 1e-6)))
    times: dict[str, list[float]] = {name: [] for name, _, _ in variants}
    for trial in range(trials):
        k = trial % len(variants)
        for name, eng, gc_on in variants[k:] + variants[:k]:  # rotate the order
            n = reps[name]
            gc.collect()
            if not gc_on:
                gc.disable()
            try:
                t = time.perf_counter()
                for _ in range(n):
                    eng.step()
                dt = (time.perf_counter() - t) / n
            finally:
                gc.enable()
            times[name].append(dt)
    base = times["floats"]
    rows = {}
    for name, ts in times.items():
        ratios = [t / b for t, b in zip(ts, base)]
        rows[name] = {
            "median_ms": statistics.median(ts) * 1e3,
            "ms_spread": [s * 1e3 for s in spread(ts)],
            "ratio_to_floats": statistics.median(ratios),
            "ratio_spread": list(spread(ratios)),
            "steps_per_trial": reps[name],
        }
    for name in ("micrograd", "micrograd (gc off)", "compiled"):
        if name in times and "scalargrad" in times:
            r = [a / b for a, b in zip(times[name], times["scalargrad"])]
            rows[name]["ratio_to_scalargrad"] = statistics.median(r)
    if names is not None:
        return rows
    if workloads.Torch in workloads.available_engines():
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / "torch.json"
            cmd = [sys.executable, __file__, "--only", "mlp", "--engines", "torch",
                   "--trials", str(trials), "--budget", str(budget), "--json", str(out)]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            row = json.loads(out.read_text())["mlp"]["torch"]
        row["separate_process"] = True
        rows["torch"] = row
    sg = workloads.Scalargrad(problem)
    rows["scalargrad"]["graph_nodes"] = len(topological_order(sg.loss_graph()))
    if "compiled" in times:
        t = time.perf_counter()
        workloads.Compiled(problem)
        rows["compiled"]["build_ms"] = (time.perf_counter() - t) * 1e3
    return rows


# --- 2. deep graphs ---------------------------------------------------------------------


def chain_sg(n: int) -> tuple[float, float]:
    x, c = Value(0.5, "x"), Value(0.999999, "c")
    t = time.perf_counter()
    v = x
    for _ in range(n):
        v = v * c
    t1 = time.perf_counter()
    v.backward()
    t2 = time.perf_counter()
    return t1 - t, t2 - t1


def sum_sg(n: int) -> tuple[float, float]:
    ws = [Value(i * 1e-5) for i in range(n)]
    xs = [Value(1.0 - i * 1e-6) for i in range(n)]
    t = time.perf_counter()
    s = sum(w * x for w, x in zip(ws, xs))
    t1 = time.perf_counter()
    s.backward()  # type: ignore[union-attr]
    t2 = time.perf_counter()
    return t1 - t, t2 - t1


def chain_mg(n: int) -> tuple[float, float]:
    from micrograd.engine import Value as MV

    x, c = MV(0.5), MV(0.999999)
    t = time.perf_counter()
    v = x
    for _ in range(n):
        v = v * c
    t1 = time.perf_counter()
    v.backward()
    return t1 - t, time.perf_counter() - t1


def sum_mg(n: int) -> tuple[float, float]:
    from micrograd.engine import Value as MV

    ws = [MV(i * 1e-5) for i in range(n)]
    xs = [MV(1.0 - i * 1e-6) for i in range(n)]
    t = time.perf_counter()
    s = sum(w * x for w, x in zip(ws, xs))
    t1 = time.perf_counter()
    s.backward()
    return t1 - t, time.perf_counter() - t1


def deep(sizes: list[int], trials: int, micrograd: bool) -> dict[str, Any]:
    cases: list[tuple[str, int, Callable[[int], tuple[float, float]], str]] = [
        (f"chain 10^{len(str(n)) - 1}", n, chain_sg, "scalargrad") for n in sizes
    ]
    cases.append(("sum() of 10^5 products", 10**5, sum_sg, "scalargrad"))
    if micrograd:
        cases += [
            ("chain 10^3", 10**3, chain_mg, "micrograd"),
            ("chain 10^4", 10**4, chain_mg, "micrograd"),
            ("sum() of 10^5 products", 10**5, sum_mg, "micrograd"),
        ]
    out: dict[str, Any] = {}
    for label, n, fn, engine in cases:
        key = f"{engine}: {label}"
        builds, backs = [], []
        try:
            for _ in range(1 if n >= 10**6 else trials):
                gc.collect()
                b, k = fn(n)
                builds.append(b)
                backs.append(k)
        except RecursionError:
            out[key] = {"n": n, "error": "RecursionError"}
            continue
        finally:
            gc.collect()
        build, back = statistics.median(builds), statistics.median(backs)
        out[key] = {
            "n": n,
            "build_ns_per_op": build / n * 1e9,
            "backward_ns_per_op": back / n * 1e9,
            "total_s": build + back,
            "recursion_limit": sys.getrecursionlimit(),
        }
    big = [out.get(f"scalargrad: chain 10^{e}") for e in (5, 6)]
    if big[0] and big[1]:
        out["chain 10^6 / chain 10^5 time"] = big[1]["total_s"] / big[0]["total_s"]
        # The same ratio with the collector paused, to show what the growth is made of:
        # CPython's full collections walk the whole live graph, and each walk gets slower
        # per object as the heap outgrows the caches.
        totals = []
        gc.collect()
        gc.disable()
        try:
            for n in (10**5, 10**6):
                totals.append(sum(chain_sg(n)))
        finally:
            gc.enable()
            gc.collect()
        out["chain 10^6 / chain 10^5 time, gc paused"] = totals[1] / totals[0]
    return out


# --- 4. grad beside backward -------------------------------------------------------------


def higher(trials: int) -> dict[str, Any]:
    """Paired CPU-time trials of backward() against grad() on one MLP batch cost."""
    from scalargrad import grad, hvp, nn

    net = nn.MLP(2, [16, 16, 1], seed=0)
    problem = workloads.Problem()
    xs = problem.xs
    ys = problem.ys
    cost = nn.mean_cost([nn.squared_error(net(x), [y]) for x, y in zip(xs, ys)])
    params = net.parameters()
    nodes = len(topological_order(cost))

    def backward() -> None:
        cost.backward()

    def floats() -> None:
        grad(cost, params)

    def graph() -> None:
        grad(cost, params, create_graph=True)

    def product() -> None:
        hvp(cost, params, [1.0] * len(params))

    cases = {"backward()": backward, "grad(create_graph=False)": floats,
             "grad(create_graph=True)": graph, "hvp (reverse over reverse)": product}
    times: dict[str, list[float]] = {k: [] for k in cases}
    ratios: dict[str, list[float]] = {k: [] for k in cases}
    for _ in range(trials):
        base = 0.0
        for name, fn in cases.items():  # paired: every case in every trial, same order
            gc.collect()
            t = time.process_time()
            fn()
            took = time.process_time() - t
            times[name].append(took)
            if name == "backward()":
                base = took
            ratios[name].append(took / base if base else float("nan"))
    return {
        "graph_nodes": nodes,
        "cases": {
            name: {
                "median_ms": statistics.median(times[name]) * 1e3,
                "ratio_to_backward": statistics.median(ratios[name]),
                "ratio_spread": spread(ratios[name]),
            }
            for name in cases
        },
    }


# --- 3. memory --------------------------------------------------------------------------


def mlp_graphs(count: int) -> list[Any]:
    sg = workloads.Scalargrad(workloads.Problem())
    graphs = [sg.loss_graph() for _ in range(count)]
    for g in graphs:
        g.backward()
    return graphs


def mg_graph(n: int) -> Any:
    from micrograd.engine import Value as MV

    ws = [MV(i * 1e-5) for i in range(n)]
    xs = [MV(1.0) for _ in range(n)]
    prods = [w * x for w, x in zip(ws, xs)]
    s = prods[0]
    for p in prods[1:]:  # pairwise tree, shallow enough for micrograd's recursion
        s = s + p
    return s


def sg_products(n: int) -> Any:
    ws = [Value(i * 1e-5) for i in range(n)]
    xs = [Value(1.0) for _ in range(n)]
    s = sum(w * x for w, x in zip(ws, xs))
    s.backward()  # type: ignore[union-attr]
    return s


def count_nodes(root: Any) -> int:
    seen = {id(root)}
    stack = [root]
    while stack:
        v = stack.pop()
        kids = v.inputs if hasattr(v, "inputs") else v._prev
        for c in kids:
            if id(c) not in seen:
                seen.add(id(c))
                stack.append(c)
    return len(seen)


def measure(build: Callable[[], Any], roots: Callable[[Any], list[Any]]) -> dict[str, Any]:
    """Bytes per node of a graph, and whether ``del`` frees it with the collector off."""
    gc.collect()
    gc.disable()
    try:
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        graph = build()
        after = tracemalloc.get_traced_memory()[0]
        nodes = sum(count_nodes(r) for r in roots(graph))
        first = roots(graph)[0]
        probe = weakref.ref(first) if _weakrefable(first) else None
        del first
        del graph
        freed = after - tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        alive = probe is None or probe() is not None
    finally:
        gc.enable()
        gc.collect()
    used = after - before
    return {
        "nodes": nodes,
        "bytes_per_node": used / nodes,
        "freed_without_gc": not alive and freed > 0.9 * used,
        "freed_fraction": max(freed, 0) / used if used else 0.0,
    }


def _weakrefable(x: Any) -> bool:
    try:
        weakref.ref(x)
    except TypeError:
        return False
    return True


def memory(micrograd: bool) -> dict[str, Any]:
    n = 50_000  # 50k products + 50k sums + 100k leaves: 200k nodes
    out = {
        "scalargrad: sum() of products": measure(lambda: sg_products(n), lambda g: [g]),
        "scalargrad: 9 MLP loss graphs": measure(lambda: mlp_graphs(9), lambda g: g),
    }
    if micrograd:
        out["micrograd: sum of products"] = measure(lambda: _mg_products(n), lambda g: [g])
    return out


def _mg_products(n: int) -> Any:
    s = mg_graph(n)
    sys.setrecursionlimit(10 * n)  # micrograd's recursive topological sort needs this
    try:
        s.backward()
    finally:
        sys.setrecursionlimit(1000)
    return s


# --- report -----------------------------------------------------------------------------


def report(res: dict[str, Any]) -> str:
    m = res["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['python']}, {m['platform']}",
        "",
        "MLP training step (2-16-16-1, batch 32, squared error, backward, SGD):",
        f"  {'engine':<22}{'median ms':>10}{'× floats':>10}  {'(IQR of paired ratios)':<24}",
    ]
    for name, r in res["mlp"].items():
        lo, hi = r["ratio_spread"]
        extra = ""
        if "ratio_to_scalargrad" in r:
            extra = f"  {r['ratio_to_scalargrad']:.2f}× scalargrad"
        if r.get("separate_process"):
            extra = "  (own process, paired with floats there)"
        lines.append(
            f"  {name:<22}{r['median_ms']:>10.3f}{r['ratio_to_floats']:>9.1f}×  "
            f"({lo:.1f}–{hi:.1f}){extra}"
        )
    sg = res["mlp"].get("scalargrad", {})
    if "graph_nodes" in sg:
        lines.append(f"  (scalargrad graph: {sg['graph_nodes']} nodes per step)")
    if "build_ms" in res["mlp"].get("compiled", {}):
        lines.append(f"  (compiling the graph once: {res['mlp']['compiled']['build_ms']:.0f} ms)")
    lines += ["", "Deep graphs, backward at the default recursion limit:"]
    lines.append(f"  {'case':<40}{'build ns/op':>12}{'backward ns/op':>16}")
    for name, r in res["deep"].items():
        if not isinstance(r, dict):
            lines.append(f"  {name}: {r:.2f}")
        elif "error" in r:
            lines.append(f"  {name:<40}{'fails: ' + r['error']:>28}")
        else:
            lines.append(
                f"  {name:<40}{r['build_ns_per_op']:>12.0f}{r['backward_ns_per_op']:>16.0f}"
            )
    lines += ["", "Memory (tracemalloc, graph after backward):"]
    for name, r in res["memory"].items():
        lines.append(
            f"  {name:<34}{r['nodes']:>8} nodes {r['bytes_per_node']:>6.0f} bytes/node  "
            f"freed without gc: {'yes' if r['freed_without_gc'] else 'no'} "
            f"({100 * r['freed_fraction']:.0f}%)"
        )
    if res.get("higher"):
        h = res["higher"]
        lines += ["", f"grad beside backward() (MLP batch cost, {h['graph_nodes']} nodes, "
                  "paired CPU-time trials):"]
        for name, r in h["cases"].items():
            lo, hi = r["ratio_spread"]
            lines.append(f"  {name:<30}{r['median_ms']:>10.2f} ms {r['ratio_to_backward']:>7.2f}×"
                         f" backward ({lo:.2f}–{hi:.2f})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="few trials, no 10^6 chain")
    ap.add_argument("--trials", type=int, default=None, help="paired trials (default 11)")
    ap.add_argument("--json", type=Path, default=HERE / "results.json", help="output file")
    ap.add_argument("--only", choices=["mlp", "deep", "memory", "higher"], action="append")
    ap.add_argument("--engines", help="MLP: only these engines (comma-separated) and floats")
    ap.add_argument("--budget", type=float, default=None, help="seconds per timed batch")
    args = ap.parse_args(argv)
    trials = args.trials or (3 if args.quick else 11)
    only = set(args.only or ["mlp", "deep", "memory", "higher"])
    has_mg = workloads.Micrograd in workloads.available_engines()
    res: dict[str, Any] = {"machine": machine(), "trials": trials, "mlp": {}, "deep": {},
                           "memory": {}}
    if "mlp" in only:
        budget = args.budget or (0.05 if args.quick else 0.25)
        names = set(args.engines.split(",")) if args.engines else None
        res["mlp"] = mlp(trials, budget, names)
    if "deep" in only:
        sizes = [10**4, 10**5] if args.quick else [10**4, 10**5, 10**6]
        res["deep"] = deep(sizes, 3, has_mg)
    if "memory" in only:
        res["memory"] = memory(has_mg)
    if "higher" in only:
        res["higher"] = higher(trials)
    text = report(res) if "scalargrad" in res["mlp"] else json.dumps(res, indent=1)
    print(text)
    args.json.write_text(json.dumps(res, indent=1) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
