"""Outreach planner on Bexley: exact MILP vs greedy baseline, side by side, for several plan sizes.

Run: ``GEOPLAN_DATA=/work/shared/data .venv/bin/python bench/bench_outreach.py``
Prints, per (months, visits per month): both objectives, the MILP's gain over greedy, HiGHS status
and gap, and the solve times with their ratio.
"""

from __future__ import annotations

from geoplan.outreach import load_outreach_rules, outreach_groups, plan_outreach
from geoplan.studyarea import load_study_area
from geoplan.traveltime import study_area_travel_times

SIZES = ((1, 12), (3, 8), (3, 12), (6, 12), (12, 12), (12, 20))


def main() -> None:
    area = load_study_area()
    travel_times = study_area_travel_times(area, profile="buggy")
    groups, _ = outreach_groups(area)
    rules = load_outreach_rules(area.catalogue.resolve(area.catalogue.venues.file).parent / "outreach.yaml", area)
    print(f"{area.name}: {len(groups)} located groups, {len(area.children)} child points, times {travel_times.method}")
    print(f"{'months':>6} {'visits':>6} {'milp':>10} {'greedy':>10} {'gain':>7} {'status':>9} {'gap':>6} "
          f"{'milp s':>7} {'greedy s':>8} {'ratio':>6}")  # fmt: skip
    for months, visits in SIZES:
        plan = plan_outreach(area, travel_times, months=months, visits_per_month=visits, rules=rules, start="2027-01")
        exact, greedy = plan.milp, plan.greedy
        print(
            f"{months:>6} {visits:>6} {exact.objective:>10.1f} {greedy.objective:>10.1f} "
            f"{(exact.objective / greedy.objective - 1):>7.2%} {exact.status:>9} {exact.gap:>6.2%} "
            f"{exact.seconds:>7.3f} {greedy.seconds:>8.3f} {exact.seconds / greedy.seconds:>6.1f}"
        )


if __name__ == "__main__":
    main()
