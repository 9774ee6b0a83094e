"""Planner app on Bexley: one toggle to updated figures, against a matrix rebuild.

Run: ``GEOPLAN_DATA=/work/shared/data .venv/bin/python bench/bench_planner.py``
Times, in one run on the same study area: the engine call the app makes before it sends the
figures on a toggle (``PlannerSession.toggle_venue`` then ``metrics()``, which is
:func:`geoplan.scenarios.compare` against the current programme — the ``scenario run`` engine),
for every open, located venue; the same comparison measured on its own; the work the app defers
to the next tick (gaps by :func:`geoplan.coverage.find_gaps`, who gains and loses by ward and
decile); and rebuilding the travel-time matrix without its disk cache (what the shared workspace
avoids). Prints medians, the 95th percentile and maxima, the ratios, and the app's 300 ms target; the
toggle's CPU time too, which a busy machine does not inflate.
"""

from __future__ import annotations

import os
import time

import numpy as np
from benchkit import print_table, setup

from geoplan.planner import PlannerSession
from geoplan.scenarios import compare
from geoplan.traveltime import study_area_travel_times
from geoplan.workspace import Workspace

TARGET_MS = 300.0
ROUNDS = 3


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def main() -> None:
    setup()
    workspace = Workspace.shared()
    area = workspace.area
    travel_times = workspace.travel_times("buggy")
    session = PlannerSession(workspace)
    session.metrics()
    venues = list(session.venues_table().query("open and located")["venue_id"])
    toggles, toggle_cpu, comparisons, deferred = [], [], [], []
    for _ in range(ROUNDS):
        for venue in venues:
            started, cpu = time.perf_counter(), time.process_time()
            try:
                session.toggle_venue(venue, False)
            except ValueError:
                continue  # the last centre cannot close
            session.metrics()
            toggles.append(_ms(started))
            toggle_cpu.append((time.process_time() - cpu) * 1000)
            started = time.perf_counter()
            session.gaps()
            session.who_changes()
            deferred.append(_ms(started))
            started = time.perf_counter()
            compare(area, travel_times, session.baseline, session.scenario)
            comparisons.append(_ms(started))
            session.toggle_venue(venue, True)
    started = time.perf_counter()
    study_area_travel_times(area, profile="buggy", use_cache=False)
    rebuild = _ms(started)

    toggle = np.array(toggles)
    rows = [
        ("planner toggle_venue + metrics (figures)", toggle),
        ("the same, CPU time of this process", np.array(toggle_cpu)),
        ("scenarios.compare alone (scenario run)", np.array(comparisons)),
        ("next tick: gaps + who gains and loses", np.array(deferred)),
        (f"travel-time matrix rebuild ({travel_times.method})", np.array([rebuild])),
    ]
    reference = float(np.median(toggle))
    print_table(
        f"Planner app, {area.name}: {len(area.children)} child points x {len(travel_times.destination_ids)} venues "
        f"({travel_times.method}), {len(toggle)} toggles",
        ["engine call", "median ms", "p95 ms", "max ms", "x toggle"],
        [
            [
                label,
                f"{np.median(values):.1f}",
                f"{np.percentile(values, 95):.1f}",
                f"{values.max():.1f}",
                f"{np.median(values) / reference:.2f}",
            ]
            for label, values in rows
        ],
        packages=("pandas", "panel"),
    )
    verdict = "meets" if np.percentile(toggle, 95) < TARGET_MS else "misses"
    print(f"\n95th percentile toggle {np.percentile(toggle, 95):.1f} ms {verdict} the {TARGET_MS:.0f} ms target")
    cpu_verdict = "meets" if np.percentile(toggle_cpu, 95) < TARGET_MS else "misses"
    print(f"95th percentile toggle CPU time {np.percentile(toggle_cpu, 95):.1f} ms {cpu_verdict} it on an idle core")
    print(
        f"load average while measuring: {' '.join(f'{value:.1f}' for value in os.getloadavg())} (CPU time is load-independent)"
    )


if __name__ == "__main__":
    main()
