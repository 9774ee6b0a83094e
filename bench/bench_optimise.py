"""geoplan's optimiser against spopt on the same cost matrices, side by side in one run.

Instances:

- ``bexley``: every children origin of the Bexley study area (residential postcodes, weights =
  children aged 0-4) × every located Bexley venue; crow-fly minutes = straight line × the
  catalogue's calibrated circuity (``network.crowfly_circuity``, 1.26) at the buggy pace
  (4 km/h); k = 5, 15-minute standard.
- ``NxM`` (e.g. ``20000x300``): a synthetic cost matrix of that shape for scale (seed given):
  demand points scattered around 40 town centres in a 20 km square, 1-19 children each,
  candidate sites at M of the demand points; the same crow-fly minutes; k = 20, 15 minutes.

Both libraries start from the same numpy matrix. spopt is set up as its documentation shows
(``MCLP`` / ``PMedian.from_cost_matrix(...)`` then ``.solve(pulp.PULP_CBC_CMD(msg=False))``);
geoplan's ``from_cost_matrix(...)`` then ``.solve()``. Building and solving are timed apart on
both sides. spopt runs in a child process capped at ``--spopt-memory-gb`` and
``--spopt-limit-s`` (its p-median has one pulp variable per demand × site pair), so an instance
it cannot hold is reported, not fatal. Caches go to a temporary folder (``benchkit.setup``).

Run: ``GEOPLAN_DATA=../shared/data .venv/bin/python bench/bench_optimise.py [--instances bexley,20000x300] [--models mclp,pmedian] [--seed 0]``
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import signal
import time
import warnings
from collections.abc import Callable

import numpy as np
from benchkit import print_table, seconds, setup

METRES_PER_MINUTE = 4000 / 60
MINUTES = 15.0
BEXLEY_K = 5
SCALE_K = 20
#: Synthetic instances: towns, square side (m), spread of homes around a town (m), children per point.
TOWNS = 40
SIDE_M = 20_000.0
SPREAD_M = 1_500.0
MAX_CHILDREN = 19
#: Objectives agree when within this share.
AGREEMENT = 1e-6
GIB = 1024**3


def bexley_instance() -> tuple[np.ndarray, np.ndarray, float]:
    from geoplan.studyarea import load_study_area

    area = load_study_area()
    venues = area.venues[area.venues["located"]]
    origins = np.column_stack([area.children.geometry.x, area.children.geometry.y])
    sites = np.column_stack([venues.geometry.x, venues.geometry.y])
    circuity = float(area.catalogue.network.crowfly_circuity)
    return _minutes(origins, sites, circuity), area.children["children_0_4"].to_numpy(float), circuity


def synthetic_instance(n_demand: int, n_sites: int, seed: int, circuity: float) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    towns = rng.uniform(0, SIDE_M, size=(TOWNS, 2))
    homes = np.clip(towns[rng.integers(0, TOWNS, n_demand)] + rng.normal(0, SPREAD_M, size=(n_demand, 2)), 0, SIDE_M)
    sites = homes[rng.choice(n_demand, n_sites, replace=False)]
    return _minutes(homes, sites, circuity), rng.integers(1, MAX_CHILDREN + 1, n_demand).astype(float)


def _minutes(origins: np.ndarray, sites: np.ndarray, circuity: float) -> np.ndarray:
    metres = np.hypot(origins[:, None, 0] - sites[None, :, 0], origins[:, None, 1] - sites[None, :, 1])
    return metres * circuity / METRES_PER_MINUTE


def load(name: str, seed: int, circuity: float) -> tuple[np.ndarray, np.ndarray, int]:
    if name == "bexley":
        cost, weights, _ = bexley_instance()
        return cost, weights, BEXLEY_K
    n_demand, n_sites = (int(part) for part in name.split("x"))
    cost, weights = synthetic_instance(n_demand, n_sites, seed, circuity)
    return cost, weights, SCALE_K


def timed(function: Callable[[], object]) -> tuple[float, object]:
    started = time.perf_counter()
    value = function()
    return time.perf_counter() - started, value


def run_geoplan(
    model: str, cost: np.ndarray, weights: np.ndarray, k: int, time_limit: float | None
) -> dict[str, object]:
    from geoplan.optimise import MaximalCovering, PMedian

    if model == "mclp":
        build, problem = timed(
            lambda: MaximalCovering.from_cost_matrix(cost, weights=weights, k=k, max_minutes=MINUTES)
        )
    else:
        build, problem = timed(lambda: PMedian.from_cost_matrix(cost, weights=weights, k=k))
    solve, _ = timed(lambda: problem.solve(time_limit_s=time_limit))
    return {
        "build": build,
        "solve": solve,
        "objective": problem.objective,
        "status": problem.status,
        "gap": problem.gap,
    }


def _spopt_child(model: str, name: str, seed: int, circuity: float, memory_gb: float, pipe: object) -> None:
    os.setpgrp()  # CBC runs as our child: one process group to stop both
    cap = int(memory_gb * GIB)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    try:
        import pulp
        from spopt.locate import MCLP, PMedian

        cost, weights, k = load(name, seed, circuity)
        if model == "mclp":
            build, problem = timed(lambda: MCLP.from_cost_matrix(cost, weights, service_radius=MINUTES, p_facilities=k))
        else:
            build, problem = timed(lambda: PMedian.from_cost_matrix(cost, weights, p_facilities=k))
        pipe.send({"build": build})
        solve, _ = timed(lambda: problem.solve(pulp.PULP_CBC_CMD(msg=False)))
        pipe.send(
            {
                "build": build,
                "solve": solve,
                "objective": pulp.value(problem.problem.objective),
                "status": pulp.LpStatus[problem.problem.status],
            }
        )
    except MemoryError:
        pipe.send({"failed": f"out of memory ({memory_gb:g} GiB cap)"})


def run_spopt(
    model: str, name: str, seed: int, circuity: float, *, limit_s: float, memory_gb: float
) -> dict[str, object]:
    """spopt in a child process with a memory and time cap; what it reached when stopped."""
    context = multiprocessing.get_context("fork")
    receive, send = context.Pipe(duplex=False)
    child = context.Process(target=_spopt_child, args=(model, name, seed, circuity, memory_gb, send))
    started = time.perf_counter()
    child.start()
    outcome: dict[str, object] = {}
    try:
        while time.perf_counter() - started < limit_s and child.is_alive():
            if receive.poll(1.0):
                outcome = receive.recv()
                if "solve" in outcome or "failed" in outcome:
                    break
    finally:
        # stop spopt and its CBC process even when this bench is interrupted
        if child.is_alive():
            os.killpg(child.pid, signal.SIGKILL)
        child.join()
    elapsed = time.perf_counter() - started
    if "solve" not in outcome and "failed" not in outcome:
        stage = "solving" if "build" in outcome else "building"
        outcome["failed"] = (
            f"stopped while {stage} after {elapsed:.0f} s"
            if child.exitcode in (None, -signal.SIGKILL)
            else f"crashed while {stage} (exit {child.exitcode})"
        )
    return outcome


def _exit_on_term(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--instances", default="bexley,20000x300", help="comma-separated: bexley and/or NxM")
    parser.add_argument("--models", default="mclp,pmedian", help="comma-separated: mclp, pmedian")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic instances")
    parser.add_argument("--time-limit", type=float, default=None, help="geoplan's time limit in seconds (default none)")
    parser.add_argument("--spopt-limit-s", type=float, default=900.0, help="seconds before spopt is stopped")
    parser.add_argument("--spopt-memory-gb", type=float, default=5.0, help="memory cap of spopt's process (GiB)")
    parser.add_argument("--no-spopt", action="store_true", help="time geoplan only (where it stops scaling)")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, _exit_on_term)
    setup()
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="pulp")
    _, _, circuity = bexley_instance()
    rows = []
    for name in args.instances.split(","):
        cost, weights, k = load(name, args.seed, circuity)
        label = (
            f"{name} ({cost.shape[0]:,} × {cost.shape[1]})"
            if name == "bexley"
            else f"synthetic {cost.shape[0]:,} × {cost.shape[1]}"
        )
        for model in args.models.split(","):
            ours = run_geoplan(model, cost, weights, k, args.time_limit)
            ours_total = ours["build"] + ours["solve"]
            status = ours["status"] if ours["gap"] == 0 else f"{ours['status']}, gap {ours['gap']:.2%}"
            row = [label, model, k, seconds(ours["build"]), seconds(ours["solve"]), status, f"{ours['objective']:,.1f}"]
            if args.no_spopt:
                rows.append([*row, "–", "–", "–", "–", "–"])
                continue
            theirs = run_spopt(
                model, name, args.seed, circuity, limit_s=args.spopt_limit_s, memory_gb=args.spopt_memory_gb
            )
            if "failed" in theirs:
                built = seconds(theirs["build"]) if "build" in theirs else "–"
                rows.append(
                    [
                        *row,
                        built,
                        theirs["failed"],
                        "–",
                        "–",
                        f"> {args.spopt_limit_s / ours_total:.0f}×" if "stopped" in theirs["failed"] else "–",
                    ]
                )
                continue
            equal = abs(theirs["objective"] - ours["objective"]) <= AGREEMENT * max(1.0, abs(theirs["objective"]))
            theirs_total = theirs["build"] + theirs["solve"]
            rows.append(
                [
                    *row,
                    seconds(theirs["build"]),
                    seconds(theirs["solve"]),
                    theirs["status"],
                    "yes" if equal else f"no ({theirs['objective']:,.1f})",
                    f"{theirs_total / ours_total:.1f}×",
                ]
            )
    header = [
        "instance",
        "model",
        "k",
        "geoplan build",
        "geoplan solve",
        "geoplan status",
        "objective",
        "spopt+CBC build",
        "spopt solve",
        "spopt status",
        "same objective",
        "spopt / geoplan (total)",
    ]
    print_table(
        f"Site optimisation: geoplan (HiGHS) and spopt (CBC) on the same cost matrix, {MINUTES:g}-min standard, seed {args.seed}, circuity {circuity:g}",
        header,
        rows,
        packages=("spopt", "pulp"),
    )


if __name__ == "__main__":
    main()
