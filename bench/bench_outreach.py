"""Outreach planner on Bexley: the exact MILP against the greedy baseline, side by side, for several plan sizes.

Both planners solve the same arrays (child points × groups within the walk, deprivation weights,
rule areas), built once from the same workspace; each is timed alone with the same best-of repeats.
The travel-time matrix is a one-off cost shared by both and reported on its own line. The plan
starts in a fixed month (``--start``, printed) so the figures do not depend on the day the bench
runs: meeting-day dates move with it, the objective does not. There is no randomness (HiGHS runs
with its default seed; the greedy baseline is deterministic).

Run: ``GEOPLAN_DATA=../shared/data .venv/bin/python bench/bench_outreach.py [--start 2027-01] [--repeats 3]``
"""

from __future__ import annotations

import argparse
import time

from benchkit import best_of, print_table, ratio, seconds, setup

#: The plan's first month unless ``--start`` says otherwise (fixed, so a re-run reproduces the README).
DEFAULT_START = "2027-01"
#: (months, visits per month): the CLI's default first, then shorter, longer and busier plans.
SIZES = ((3, 12), (1, 12), (3, 8), (6, 12), (12, 12), (12, 20))
DEFAULT_REPEATS = 3
PROFILE = "buggy"
GROUP_MINUTES = 15.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default=DEFAULT_START, help=f"first month, YYYY-MM (default {DEFAULT_START})")
    parser.add_argument("--repeats", type=int, default=DEFAULT_REPEATS, help="timed runs per solver (best kept)")
    args = parser.parse_args()
    setup()

    from geoplan.outreach import (
        VisitTerms,
        child_weights,
        greedy_visits,
        outreach_groups,
        plan_outreach,
        solve_visits,
    )
    from geoplan.outreach.rules import default_rules_path, load_outreach_rules, rule_areas
    from geoplan.workspace import Workspace

    workspace = Workspace(profile=PROFILE)
    area = workspace.area
    started = time.perf_counter()
    travel_times = workspace.travel_times()
    matrix_seconds = time.perf_counter() - started
    groups, _ = outreach_groups(area)
    rules_path = default_rules_path(area)
    rules = load_outreach_rules(rules_path, area)
    weights, _ = child_weights(area, travel_times)
    position = {venue: index for index, venue in enumerate(travel_times.destination_ids)}
    reach = travel_times.reachable(GROUP_MINUTES)[:, [position[venue] for venue in groups["venue_id"]]]
    _, rule_pairs, _ = rule_areas(area, groups, rules, [])
    children = area.children["children_0_4"].to_numpy(dtype=float)

    rows = []
    for months, per_month in SIZES:
        terms = VisitTerms(months=months, visits_per_month=per_month, rules=rule_pairs)
        milp_s, exact = best_of(lambda terms=terms: solve_visits(reach, weights, terms), args.repeats)
        greedy_s, greedy = best_of(lambda terms=terms: greedy_visits(reach, weights, terms), args.repeats)
        plan = plan_outreach(
            workspace,
            travel_times=travel_times,
            rules=rules,
            months=months,
            visits_per_month=per_month,
            start=args.start,
        )
        # the bench's arrays are the planner's: the same optimum either way
        assert abs(plan.milp.objective - exact.objective) < 1e-6 * max(1.0, exact.objective)
        once = [
            children[(reach.astype(float) @ sol.visits.astype(float)).sum(axis=1) > 0].sum() for sol in (exact, greedy)
        ]
        rows.append(
            [
                f"{months} × {per_month}",
                f"{exact.objective:,.1f}",
                f"{greedy.objective:,.1f}",
                f"{exact.objective / greedy.objective - 1:+.2%}",
                f"{once[0]:,.0f} vs {once[1]:,.0f}",
                f"{exact.status}, gap {exact.gap:.2%}",
                seconds(milp_s),
                seconds(greedy_s),
                ratio(milp_s, greedy_s),
            ]
        )
    title = (
        f"Outreach plans, {area.name}: {len(groups)} located groups, {len(area.children):,} child points, "
        f"{travel_times.method} travel times at {PROFILE} pace, rules {rules_path.name}, start month {args.start}, "
        f"best of {args.repeats}, no random seed (deterministic)"
    )
    header = [
        "months × visits",
        "MILP weighted children",
        "greedy",
        "MILP gain",
        "children reached once (MILP vs greedy)",
        "HiGHS",
        "MILP",
        "greedy",
        "MILP time ÷ greedy time",
    ]
    print_table(title, header, rows)
    print(f"\nOne-off, shared by both: travel-time matrix {seconds(matrix_seconds)} (cache in a temporary folder).")


if __name__ == "__main__":
    main()
