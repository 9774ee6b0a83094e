"""Time geoplan's optimiser against spopt on a Bexley-sized instance, side by side in one run.

Instance: every origin of the Bexley study area's children (residential postcodes, ~4.4k) × every
located Bexley venue, weights = children aged 0-4, crow-fly minutes (distance × the area's calibrated circuity at 4 km/h),
k = 5, 15-minute standard. Both libraries solve the same cost matrix; spopt uses pulp's bundled
CBC (its usual solver). Times include building the model.

Run: ``GEOPLAN_DATA=../shared/data .venv/bin/python bench/bench_optimise.py [--models mclp,pmedian] [--lock ID,...]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
import pulp
from spopt.locate import MCLP
from spopt.locate import PMedian as SpoptPMedian

from geoplan.optimise import MaximalCovering, PMedian
from geoplan.studyarea import load_study_area

METRES_PER_MINUTE = 4000 / 60
K = 5
MINUTES = 15.0


def instance() -> tuple[np.ndarray, np.ndarray, list[str]]:
    area = load_study_area()
    venues = area.venues[area.venues["located"]]
    origins = np.column_stack([area.children.geometry.x, area.children.geometry.y])
    sites = np.column_stack([venues.geometry.x, venues.geometry.y])
    metres = np.hypot(origins[:, None, 0] - sites[None, :, 0], origins[:, None, 1] - sites[None, :, 1])
    return metres * area.catalogue.network.crowfly_circuity / METRES_PER_MINUTE, area.children["children_0_4"].to_numpy(float), list(venues["venue_id"])


def timed(run):  # noqa: ANN001, ANN202 - tiny local helper
    started = time.perf_counter()
    value = run()
    return value, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default="mclp,pmedian", help="comma-separated: mclp, pmedian")
    parser.add_argument("--lock", default="", help="venue ids to lock, comma-separated")
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning, module="pulp")
    cost, weights, ids = instance()
    locked = [s for s in args.lock.split(",") if s]
    predefined = np.array([ids.index(s) for s in locked]) if locked else None
    print(f"instance: {cost.shape[0]} demand points × {cost.shape[1]} sites, k={K}, {MINUTES:g} min, locked={locked or 'none'}")
    for name in args.models.split(","):
        if name == "mclp":
            ours, t_ours = timed(
                lambda: MaximalCovering.from_cost_matrix(cost, weights=weights, k=K, max_minutes=MINUTES, facility_ids=ids, locked=locked).solve()
            )
            theirs, t_theirs = timed(
                lambda: MCLP.from_cost_matrix(cost, weights, service_radius=MINUTES, p_facilities=K, predefined_facilities_arr=predefined).solve(
                    pulp.PULP_CBC_CMD(msg=False)
                )
            )
        elif name == "pmedian":
            ours, t_ours = timed(lambda: PMedian.from_cost_matrix(cost, weights=weights, k=K, facility_ids=ids, locked=locked).solve())
            theirs, t_theirs = timed(
                lambda: SpoptPMedian.from_cost_matrix(cost, weights, p_facilities=K, predefined_facilities_arr=predefined).solve(
                    pulp.PULP_CBC_CMD(msg=False)
                )
            )
        else:
            parser.error(f"unknown model {name!r}")
        spopt_objective = pulp.value(theirs.problem.objective)
        print(
            f"{name:8s} geoplan {t_ours:7.2f} s (status {ours.status}, gap {ours.gap:.1e}, objective {ours.objective:.4f})"
            f" | spopt+CBC {t_theirs:7.2f} s (objective {spopt_objective:.4f})"
            f" | spopt/geoplan time ratio {t_theirs / t_ours:.1f}x | objectives equal: {np.isclose(ours.objective, spopt_objective, rtol=1e-9)}"
        )


if __name__ == "__main__":
    main()
