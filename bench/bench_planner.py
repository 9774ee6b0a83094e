"""Planner app on Bexley: one toggle to updated numbers, against the full scenario comparison and a matrix rebuild.

Run: ``GEOPLAN_DATA=/work/shared/data .venv/bin/python bench/bench_planner.py``
Times, in one run on the same study area: the engine call the app makes on a toggle
(``PlannerSession.toggle_venue`` then ``metrics()``) for every venue, the same edit measured
with the ``scenario run`` engine (``geoplan.scenarios.compare``, all bands and E2SFCA), and
rebuilding the travel-time matrix without its disk cache (what the shared in-memory matrix avoids;
crow-fly offline for Bexley, so cheap here, minutes with a walking network). Prints medians, the 95th
percentile and maxima, the ratios, and the app's 300 ms target.
"""

from __future__ import annotations

import time

import numpy as np

from geoplan.planner import PlannerSession, shared_resources
from geoplan.scenarios import baseline_scenario, compare
from geoplan.traveltime import study_area_travel_times

TARGET_MS = 300.0
ROUNDS = 3


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def main() -> None:
    resources = shared_resources()
    area = resources.area
    travel_times = resources.travel_times("buggy")
    session = PlannerSession(resources)
    session.metrics()
    venues = [venue for venue in session.venues_table().query("open and located")["venue_id"]]
    toggles, comparisons = [], []
    baseline = baseline_scenario(resources.area_path)
    for _ in range(ROUNDS):
        for venue in venues:
            started = time.perf_counter()
            try:
                session.toggle_venue(venue, False)
            except ValueError:
                continue  # the last centre cannot close
            session.metrics()
            toggles.append(_ms(started))
            started = time.perf_counter()
            compare(area, travel_times, baseline, session.scenario)
            comparisons.append(_ms(started))
            session.toggle_venue(venue, True)
    started = time.perf_counter()
    study_area_travel_times(area, profile="buggy", use_cache=False)
    rebuild = _ms(started)

    toggle, full = np.array(toggles), np.array(comparisons)
    print(f"{area.name}: {len(area.children)} child points x {len(travel_times.destination_ids)} venues, "
          f"times {travel_times.method}; {len(toggle)} toggles")  # fmt: skip
    print(f"{'engine call':<42} {'median ms':>10} {'p95 ms':>8} {'max ms':>8} {'ratio':>7}")
    rows = [
        ("planner toggle_venue + metrics (app)", toggle),
        ("scenarios.compare (scenario run)", full),
        (f"travel-time matrix rebuild ({travel_times.method})", np.array([rebuild])),
    ]
    reference = float(np.median(toggle))
    for label, values in rows:
        print(f"{label:<42} {np.median(values):>10.1f} {np.percentile(values, 95):>8.1f} {values.max():>8.1f} "
              f"{np.median(values) / reference:>7.2f}")  # fmt: skip
    verdict = "meets" if np.percentile(toggle, 95) < TARGET_MS else "misses"
    print(f"95th percentile toggle {np.percentile(toggle, 95):.1f} ms {verdict} the {TARGET_MS:.0f} ms target")


if __name__ == "__main__":
    main()
