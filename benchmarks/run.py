"""Benchmarks: scalargrad (dynamic, compiled) against plain floats, its floor, micrograd, torch.

Run ``python benchmarks/run.py`` (``--quick`` for a short run). It prints a
table and writes ``benchmarks/results.json`` (not tracked by git). Workloads:

1. MLP training step (2-16-16-1, batch 32, squared error, backward, SGD) per
   engine: medians of paired trials of CPU time in a rotating order, ratios to
   plain floats measured in the same trial, garbage collector on and nothing
   collected between trials (steady state). ``floor`` is the minimal engine of
   ``floor.py`` building the same graph, so scalargrad's ratio to it is the
   cost of its checks and teaching structure; ``raw ops`` builds neurons from
   binary ``*``/``+`` nodes (micrograd's way). micrograd and torch run in their
   own processes (paired with floats there).
2. Compiling the MLP graph once (batch data as arguments), in dynamic steps.
3. Chains of 10^4, 10^5, 10^6 ops and ``sum()`` of 10^5 products, backward at
   the default recursion limit: time per op.
4. Memory per op of 10^5-op chains and per node of larger graphs (tracemalloc),
   GC-tracked objects per op, and whether a finished graph is freed by
   reference counting alone.
5. ``scalargrad.grad`` beside ``backward()`` on the MLP cost graph, in paired
   CPU-time trials: ``grad(create_graph=False)`` (floats, no ``.grad``
   touched) must cost about what ``backward()`` costs, and the same for the
   gradient as a graph (``create_graph=True``) and one Hessian-vector product,
   to show what building the backward pass as Values costs.
6. ``backward()`` (which holds the engine's ``GRAD_LOCK``, so threads sharing
   parameters get exact totals) beside its unlocked pass ``_backward_pass()`` on
   the same graph, paired: what the lock costs per pass.
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

# Engines whose garbage is cyclic (micrograd's closures) or whose import adds a large
# heap (torch: ~160k objects every full collection walks) run in a process of their own:
# in this process their garbage would make the collector's full passes land in the other
# engines' trials. Each is paired with floats there.
OWN_PROCESS = ("micrograd", "torch")


def timed(
    variants: list[tuple[str, Any, bool, bool]], trials: int, budget: float
) -> tuple[dict[str, list[float]], dict[str, int]]:
    """Paired CPU-time trials: every trial times every variant once, in a rotating order.

    A variant is ``(name, engine, gc_on, collect_first)``. Each trial runs a
    batch of steps sized to ``budget`` seconds and records CPU time
    (``time.process_time``) per step. Nothing is collected between trials
    unless ``collect_first`` (then an untimed ``gc.collect()`` precedes the
    batch), so the collector's cost of each engine's garbage lands in that
    engine's own trials: the steady state.
    """
    reps: dict[str, int] = {}
    for name, eng, _, collect_first in variants:  # warm up and size the batches
        eng.step()
        t = time.process_time()
        eng.step()
        dt = max(time.process_time() - t, 1e-6)
        reps[name] = 1 if collect_first else max(1, int(budget / dt))
    times: dict[str, list[float]] = {name: [] for name, _, _, _ in variants}
    for trial in range(trials):
        k = trial % len(variants)
        for name, eng, gc_on, collect_first in variants[k:] + variants[:k]:
            n = reps[name]
            if collect_first:
                gc.collect()
            if not gc_on:
                gc.disable()
            try:
                t = time.process_time()
                for _ in range(n):
                    eng.step()
                dt = (time.process_time() - t) / n
            finally:
                gc.enable()
            times[name].append(dt)
    return times, reps


def paired(times: dict[str, list[float]], name: str, base: str) -> list[float]:
    return [t / b for t, b in zip(times[name], times[base])]


def mlp(trials: int, budget: float, names: set[str] | None = None) -> dict[str, Any]:
    """Times the MLP step of each engine (``names``: only these, plus floats)."""
    problem = workloads.Problem()
    engines = workloads.available_engines()
    variants: list[tuple[str, Any, bool, bool]] = []
    for cls in engines:
        if names is None and cls.name in OWN_PROCESS:
            continue
        if names is not None and cls.name not in names | {"floats"}:
            continue
        variants.append((cls.name, cls(problem), True, False))
        if cls.name == "scalargrad":
            variants.append(("scalargrad (gc off)", cls(problem), False, False))
        if cls.name == "micrograd":
            # as timed before: one step per trial after an untimed gc.collect()
            variants.append(("micrograd (collected)", cls(problem), True, True))
    times, reps = timed(variants, trials, budget)
    rows: dict[str, Any] = {}
    for name, ts in times.items():
        ratios = paired(times, name, "floats")
        rows[name] = {
            "median_ms": statistics.median(ts) * 1e3,
            "ms_spread": [s * 1e3 for s in spread(ts)],
            "ratio_to_floats": statistics.median(ratios),
            "ratio_spread": list(spread(ratios)),
            "worst_to_median": max(ts) / statistics.median(ts),
            "steps_per_trial": reps[name],
        }
    for name, base in (("scalargrad", "floor"), ("scalargrad (gc off)", "floor"),
                       ("scalargrad raw ops", "floor raw ops")):
        if name in times and base in times:
            r = paired(times, name, base)
            rows[name]["ratio_to_floor"] = statistics.median(r)
            rows[name]["floor_spread"] = list(spread(r))
    if "compiled" in times and "scalargrad" in times:
        rows["compiled"]["ratio_to_scalargrad"] = statistics.median(
            paired(times, "compiled", "scalargrad"))
    if names is not None:
        return rows
    for name in OWN_PROCESS:
        if not any(cls.name == name for cls in engines):
            continue
        with tempfile.TemporaryDirectory() as tmp:
            out = Path(tmp) / f"{name}.json"
            cmd = [sys.executable, __file__, "--only", "mlp", "--engines", name,
                   "--trials", str(trials), "--budget", str(budget), "--json", str(out)]
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            found = json.loads(out.read_text())["mlp"]
        for key, row in found.items():
            if key != "floats":
                row["separate_process"] = True
                rows[key] = row
    sg = workloads.Scalargrad(problem)
    rows["scalargrad"]["graph_nodes"] = len(topological_order(sg.loss_graph()))
    raw = workloads.ScalargradRaw(problem)
    rows["scalargrad raw ops"]["graph_nodes"] = len(topological_order(raw.loss_graph()))
    return rows


def compile_cost(trials: int) -> dict[str, Any]:
    """CPU time of compiling the MLP graph once, against the dynamic step it replaces."""
    problem = workloads.Problem()
    builds = []
    for _ in range(trials):
        t = time.process_time()
        workloads.Compiled(problem)
        builds.append(time.process_time() - t)
    dyn = workloads.Scalargrad(problem)
    dyn.step()
    steps = []
    for _ in range(trials):
        t = time.process_time()
        for _ in range(5):
            dyn.step()
        steps.append((time.process_time() - t) / 5)
    return {
        "compile_ms": statistics.median(builds) * 1e3,
        "dynamic_step_ms": statistics.median(steps) * 1e3,
        "compile_in_dynamic_steps": statistics.median(builds) / statistics.median(steps),
    }


# --- 2. deep graphs ---------------------------------------------------------------------


def chain_sg(n: int) -> tuple[float, float]:
    x, c = Value(0.5, "x"), Value(0.999999, "c")
    t = time.process_time()
    v = x
    for _ in range(n):
        v = v * c
    t1 = time.process_time()
    v.backward()
    t2 = time.process_time()
    return t1 - t, t2 - t1


def sum_sg(n: int) -> tuple[float, float]:
    ws = [Value(i * 1e-5) for i in range(n)]
    xs = [Value(1.0 - i * 1e-6) for i in range(n)]
    t = time.process_time()
    s = sum(w * x for w, x in zip(ws, xs))
    t1 = time.process_time()
    s.backward()  # type: ignore[union-attr]
    t2 = time.process_time()
    return t1 - t, t2 - t1


def chain_mg(n: int) -> tuple[float, float]:
    from micrograd.engine import Value as MV

    x, c = MV(0.5), MV(0.999999)
    t = time.process_time()
    v = x
    for _ in range(n):
        v = v * c
    t1 = time.process_time()
    v.backward()
    return t1 - t, time.process_time() - t1


def sum_mg(n: int) -> tuple[float, float]:
    from micrograd.engine import Value as MV

    ws = [MV(i * 1e-5) for i in range(n)]
    xs = [MV(1.0 - i * 1e-6) for i in range(n)]
    t = time.process_time()
    s = sum(w * x for w, x in zip(ws, xs))
    t1 = time.process_time()
    s.backward()
    return t1 - t, time.process_time() - t1


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


def lock_cost(trials: int, budget: float) -> dict[str, Any]:
    """Paired CPU-time trials of ``backward()`` (holding ``GRAD_LOCK``) and its unlocked pass.

    ``Value.backward`` takes the engine's lock and runs ``Value._backward_pass``; timing
    the two on the same graph in the same trial, in alternating order, isolates what the lock
    costs: once per pass, so most on the smallest graph.
    """
    from scalargrad import nn

    net = nn.MLP(2, [16, 16, 1], seed=0)
    problem = workloads.Problem()
    cost = nn.mean_cost([nn.squared_error(net(x), [y]) for x, y in zip(problem.xs, problem.ys)])
    w, a, b, y = Value(0.5, "w"), Value(0.7, "a"), Value(0.1, "b"), Value(1.0, "y")
    small = ((w * a + b).sigmoid() - y).square()
    out: dict[str, Any] = {}
    for name, root in (("MLP batch cost", cost), ("7-node cost (σ(w·a + b) − y)²", small)):
        locked, unlocked = root.backward, root._backward_pass
        t = time.process_time()
        locked()
        reps = max(1, int(budget / max(time.process_time() - t, 1e-6)))
        ratios: list[float] = []
        times: list[float] = []
        for trial in range(trials):
            pair = [(True, locked), (False, unlocked)]
            timed_pair = {}
            for is_locked, fn in pair if trial % 2 else pair[::-1]:
                t = time.process_time()
                for _ in range(reps):
                    fn()
                timed_pair[is_locked] = (time.process_time() - t) / reps
            root.zero_grad()  # keep the grads small: every pass adds to them
            times.append(timed_pair[True])
            ratios.append(timed_pair[True] / timed_pair[False])
        out[name] = {"nodes": len(topological_order(root)),
                     "backward_us": statistics.median(times) * 1e6,
                     "ratio_locked_to_unlocked": statistics.median(ratios),
                     "ratio_spread": list(spread(ratios)), "passes_per_trial": reps}
    return out


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


def chain_of(kind: str, n: int) -> Callable[[], Any]:
    """A builder of an ``n``-op chain ``v = v + w``, ``v * w`` or ``v * c`` (c a plain number)."""

    def build() -> Any:
        x, w = Value(0.5, "x"), Value(0.999999, "w")
        v = x
        if kind == "v + w":
            for _ in range(n):
                v = v + w
        elif kind == "v * w":
            for _ in range(n):
                v = v * w
        else:
            for _ in range(n):
                v = v * 0.999999
        return v

    return build


def per_op(kind: str, n: int = 10**5) -> dict[str, Any]:
    """Bytes (tracemalloc) and GC-tracked objects per op of an n-op chain: built, after backward."""
    build = chain_of(kind, n)
    gc.collect()
    gc.disable()
    try:
        tracked = len(gc.get_objects())
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        v = build()
        built = tracemalloc.get_traced_memory()[0] - before
        tracked = len(gc.get_objects()) - tracked
        v.backward()  # each node's grad becomes a float of its own (24 bytes)
        used = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
        del v
    finally:
        gc.enable()
        gc.collect()
    return {"ops": n, "bytes_per_op": built / n, "bytes_per_op_after_backward": used / n,
            "gc_tracked_per_op": tracked / n}


def memory(micrograd: bool) -> dict[str, Any]:
    n = 50_000  # 50k products + 50k sums + 100k leaves: 200k nodes
    out: dict[str, Any] = {f"chain 10^5: {kind}": per_op(kind) for kind in
                           ("v + w", "v * w", "v * c")}
    out |= {
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
        f"{res['trials']} paired trials, CPU time, garbage collector on unless marked.",
        "",
        "MLP training step (2-16-16-1, batch 32, squared error, backward, SGD):",
        f"  {'engine':<24}{'median ms':>10}{'× floats':>10}  {'(IQR)':<12}{'× floor':>8}"
        f"  {'(IQR)':<12}{'worst/median':>12}",
    ]
    for name, r in res["mlp"].items():
        lo, hi = r["ratio_spread"]
        floor = ""
        if "ratio_to_floor" in r:
            flo, fhi = r["floor_spread"]
            floor = f"{r['ratio_to_floor']:>7.2f}×  ({flo:.2f}–{fhi:.2f})"
        line = (f"  {name:<24}{r['median_ms']:>10.3f}{r['ratio_to_floats']:>9.2f}×  "
                f"({lo:.2f}–{hi:.2f}){'':<1}")
        line = f"{line:<58}{floor:<22}{r['worst_to_median']:>10.2f}"
        if r.get("separate_process"):
            line += "  own process"
        lines.append(line)
    notes = []
    for name in ("scalargrad", "scalargrad raw ops"):
        if "graph_nodes" in res["mlp"].get(name, {}):
            notes.append(f"{name}: {res['mlp'][name]['graph_nodes']} nodes per step")
    if "ratio_to_scalargrad" in res["mlp"].get("compiled", {}):
        notes.append(f"compiled: {res['mlp']['compiled']['ratio_to_scalargrad']:.2f}× scalargrad")
    if notes:
        lines.append("  (" + "; ".join(notes) + ")")
    c = res.get("compile")
    if c:
        lines.append(
            f"  compiling the graph once: {c['compile_ms']:.0f} ms = "
            f"{c['compile_in_dynamic_steps']:.1f} dynamic steps of {c['dynamic_step_ms']:.2f} ms"
        )
    lines += ["", "Deep graphs, backward at the default recursion limit (CPU time):"]
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
        if "bytes_per_op" in r:
            lines.append(
                f"  {name:<34}{r['ops']:>8} ops   {r['bytes_per_op']:>6.0f} bytes/op built, "
                f"{r['bytes_per_op_after_backward']:.0f} after backward; "
                f"GC-tracked objects/op: {r['gc_tracked_per_op']:.2f}"
            )
            continue
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
    if res.get("lock"):
        lines += ["", "backward() holding GRAD_LOCK beside its unlocked pass (paired CPU time):"]
        for name, r in res["lock"].items():
            lo, hi = r["ratio_spread"]
            lines.append(f"  {name:<32}{r['nodes']:>6} nodes {r['backward_us']:>10.1f} µs "
                         f"{r['ratio_locked_to_unlocked']:>7.3f}× unlocked ({lo:.3f}–{hi:.3f})")
    return "\n".join(lines)


def markdown(res: dict[str, Any]) -> str:
    """The README's table rows, from one run's results (``run.py --tables results.json``)."""
    rows = []
    names = {
        "scalargrad": "scalargrad `nn` (graph built every step, `backward()`)",
        "scalargrad (gc off)": "scalargrad `nn`, collector paused",
        "floor": "floor engine, same graph",
        "scalargrad raw ops": "scalargrad, raw `*`/`+` neurons (micrograd's way)",
        "floor raw ops": "floor engine, same raw-op graph",
        "compiled": "`scalargrad.compile` replay (`compiled.mean` over the batch)",
        "micrograd": "micrograd 0.1.0, steady state (own process)",
        "micrograd (collected)": "micrograd 0.1.0, one step after an untimed `gc.collect()`",
        "torch": "PyTorch scalar autograd (own process)",
    }
    for key, text in names.items():
        r = res["mlp"].get(key)
        if r is None:
            continue
        lo, hi = r["ratio_spread"]
        floor = "—"
        if "ratio_to_floor" in r:
            flo, fhi = r["floor_spread"]
            floor = f"{r['ratio_to_floor']:.2f}× ({flo:.2f}–{fhi:.2f})"
        rows.append(f"| {text} | {r['ratio_to_floats']:.2f}× ({lo:.2f}–{hi:.2f}) | {floor} |")
    return "\n".join(rows)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="few trials, no 10^6 chain")
    ap.add_argument("--trials", type=int, default=None, help="paired trials (default 25)")
    ap.add_argument("--json", type=Path, default=HERE / "results.json", help="output file")
    ap.add_argument("--only", choices=["mlp", "deep", "memory", "higher", "lock"],
                    action="append")
    ap.add_argument("--engines", help="MLP: only these engines (comma-separated) and floats")
    ap.add_argument("--budget", type=float, default=None, help="seconds per timed batch")
    ap.add_argument("--tables", type=Path, help="print the README table rows of a results file")
    args = ap.parse_args(argv)
    if args.tables:
        print(markdown(json.loads(args.tables.read_text())))
        return 0
    trials = args.trials or (5 if args.quick else 25)
    only = set(args.only or ["mlp", "deep", "memory", "higher", "lock"])
    has_mg = workloads.Micrograd in workloads.available_engines()
    res: dict[str, Any] = {"machine": machine(), "trials": trials, "mlp": {}, "deep": {},
                           "memory": {}}
    if "mlp" in only:
        budget = args.budget or (0.05 if args.quick else 0.25)
        names = set(args.engines.split(",")) if args.engines else None
        res["mlp"] = mlp(trials, budget, names)
        if names is None:
            res["compile"] = compile_cost(3 if args.quick else 5)
    if "deep" in only:
        sizes = [10**4, 10**5] if args.quick else [10**4, 10**5, 10**6]
        res["deep"] = deep(sizes, 3, has_mg)
    if "memory" in only:
        res["memory"] = memory(has_mg)
    if "higher" in only:
        res["higher"] = higher(trials)
    if "lock" in only:
        res["lock"] = lock_cost(trials, args.budget or (0.05 if args.quick else 0.25))
    text = report(res) if "scalargrad" in res["mlp"] else json.dumps(res, indent=1)
    print(text)
    args.json.write_text(json.dumps(res, indent=1) + "\n")
    print(f"\nwrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
