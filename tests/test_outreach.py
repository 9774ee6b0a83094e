"""Outreach planner: hand-computed optima, brute force on real Bexley groups, rules, outputs, bad inputs."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from datetime import date
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from icalendar import Calendar

from geoplan.errors import InputError
from geoplan.outreach import (
    OutreachRule,
    VisitTerms,
    child_weights,
    explain_shortfall,
    greedy_visits,
    load_outreach_rules,
    outreach_groups,
    parse_start,
    plan_outreach,
    plan_value,
    solve_visits,
    visit_date,
)
from geoplan.outreach.calendar import MEETING_DAY, SPREAD_OVER_WORKING_DAYS
from geoplan.programme import Configuration, baseline_configuration
from geoplan.workspace import Workspace

REPO = Path(__file__).resolve().parent.parent
#: From GOV.UK's bank-holidays list for England and Wales (an independent reference for the calendar).
ENGLISH_BANK_HOLIDAYS = {date(2027, 12, 27), date(2027, 12, 28), date(2028, 1, 3)}
RULES = REPO / "layers" / "bexley" / "outreach.yaml"
NORTH_WARDS = {
    "Thamesmead East",
    "Belvedere",
    "Erith",
    "Slade Green & Northend",
    "Northumberland Heath",
    "St Mary's & St James",
}


@pytest.fixture(scope="module")
def workspace(bexley):
    return Workspace(bexley)


@pytest.fixture(scope="module")
def plan(workspace, travel_times):
    return plan_outreach(workspace, travel_times=travel_times, months=3, visits_per_month=12, start="2026-12")


# ------------------------------------------------------------------ hand-computed tiny instances
# Origins x(3), y(3), p(2.5), q(2.5); g0 reaches x, y; g1 reaches x, p; g2 reaches y, q.
TINY_REACH = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 0], [0, 0, 1]], dtype=bool)
TINY_WEIGHTS = np.array([3.0, 3.0, 2.5, 2.5])


def test_tiny_instance_milp_beats_greedy_with_known_optimum() -> None:
    exact = solve_visits(TINY_REACH, TINY_WEIGHTS, VisitTerms(months=1, visits_per_month=2))
    greedy = greedy_visits(TINY_REACH, TINY_WEIGHTS, VisitTerms(months=1, visits_per_month=2))
    # g1 + g2 reach everyone: 3 + 3 + 2.5 + 2.5 = 11; greedy takes g0 (6) first, then 2.5 more.
    assert exact.objective == pytest.approx(11.0)
    assert exact.visits[:, 0].tolist() == [False, True, True]
    assert exact.status == "optimal" and exact.gap == pytest.approx(0.0)
    assert greedy.objective == pytest.approx(8.5)
    assert greedy.visits[0, 0]


def test_tiny_instance_rule_forces_a_group() -> None:
    exact = solve_visits(TINY_REACH, TINY_WEIGHTS, VisitTerms(months=1, visits_per_month=2, rules=[([0], 1)]))
    assert exact.visits[0, 0] and exact.visits.sum() == 2
    assert exact.objective == pytest.approx(8.5)


def test_tiny_instance_repeat_value_over_two_months() -> None:
    # One visit a month, q = 0.5. By hand: {g1, g2} 3 + 2.5 + 3 + 2.5 = 11; {g0, g1} x 3*1.5 + y 3 + p 2.5 = 10;
    # {g0, g2} 10; {g0, g0} 6*1.5 = 9; {g1, g1} and {g2, g2} 5.5*1.5 = 8.25.
    exact = solve_visits(TINY_REACH, TINY_WEIGHTS, VisitTerms(months=2, visits_per_month=1, repeat_value=0.5))
    assert exact.objective == pytest.approx(11.0)
    assert sorted(np.flatnonzero(exact.visits.any(axis=1))) == [1, 2]
    # Only g0 may be visited in month 1 (a rule on g0 for every month forces g0 twice): 6 * 1.5.
    forced = solve_visits(
        TINY_REACH, TINY_WEIGHTS, VisitTerms(months=2, visits_per_month=1, rules=[([0], 1)], repeat_value=0.5)
    )
    assert forced.objective == pytest.approx(9.0)
    assert forced.visits[0].all()
    full_repeat = solve_visits(
        TINY_REACH, TINY_WEIGHTS, VisitTerms(months=2, visits_per_month=1, rules=[([0], 1)], repeat_value=1.0)
    )
    assert full_repeat.objective == pytest.approx(12.0)


def test_two_monthly_rule_windows() -> None:
    # Group 2 reaches nobody of weight; a 2-monthly rule on it must still put it in months (1 or 2) and (2 or 3).
    reach = np.array([[1, 0, 0], [0, 1, 0]], dtype=bool)
    weights = np.array([5.0, 4.0])
    exact = solve_visits(reach, weights, VisitTerms(months=3, visits_per_month=1, rules=[([2], 2)], repeat_value=0.0))
    assert exact.visits[2, 1] and exact.visits[2].sum() == 1
    assert exact.objective == pytest.approx(9.0)
    greedy = greedy_visits(reach, weights, VisitTerms(months=3, visits_per_month=1, rules=[([2], 2)], repeat_value=0.0))
    assert greedy.status == "heuristic"
    assert greedy.visits[2, 0:2].any() and greedy.visits[2, 1:3].any()


def _brute_force(reach: np.ndarray, weights: np.ndarray, months: int, budget: int, rules, q: float) -> float:
    """Best plan by enumerating every choice of at most ``budget`` groups in each month (independent of the MILP)."""
    n_groups = reach.shape[1]
    choices = [c for k in range(budget + 1) for c in itertools.combinations(range(n_groups), k)]
    best = -np.inf
    for plan in itertools.product(choices, repeat=months):
        ok = all(
            any(set(members) & set(plan[m]) for m in range(start, start + every))
            for members, every in rules
            if len(members)
            for start in range(months - every + 1)
        )
        if not ok:
            continue
        reached = sum(reach[:, list(plan[m])].any(axis=1).astype(int) for m in range(months))
        worth = [sum(q**k for k in range(r)) for r in range(months + 1)]
        best = max(best, float(sum(w * worth[r] for w, r in zip(weights, reached, strict=True))))
    return best


def test_milp_matches_brute_force_on_real_bexley_groups(bexley, travel_times) -> None:
    groups, _ = outreach_groups(bexley)
    chosen = ["lib-thamesmead", "com-greenmead", "hc-lakeside", "com-belvedere", "lib-upper-belvedere", "lib-erith"]
    north = groups.set_index("venue_id").loc[chosen].reset_index()
    position = {venue: index for index, venue in enumerate(travel_times.destination_ids)}
    reach = travel_times.minutes[:, [position[v] for v in north["venue_id"]]] <= 15.0
    weights, _ = child_weights(bexley, travel_times)
    keep = reach.any(axis=1) & (weights > 0)
    reach, weights = reach[keep], weights[keep]
    rules = [(np.flatnonzero(north["ward_name"].eq("Belvedere").to_numpy()), 1)]
    assert len(rules[0][0]) > 0
    for q in (0.0, 0.5):
        expected = _brute_force(reach, weights, 2, 2, rules, q)
        exact = solve_visits(reach, weights, VisitTerms(months=2, visits_per_month=2, rules=rules, repeat_value=q))
        greedy = greedy_visits(reach, weights, VisitTerms(months=2, visits_per_month=2, rules=rules, repeat_value=q))
        assert exact.objective == pytest.approx(expected, rel=1e-9)
        assert greedy.objective <= expected + 1e-9


def test_plan_value_counts_months_reached() -> None:
    visits = np.array([[True, True], [False, False], [False, True]])
    # x: reached months 1, 2 → 3 × 1.5; y: g0 both months → 3 × 1.5; p: never; q: month 2 → 2.5.
    assert plan_value(TINY_REACH, TINY_WEIGHTS, visits, repeat_value=0.5) == pytest.approx(4.5 + 4.5 + 2.5)


# ------------------------------------------------------------------ Bexley
def test_groups_and_unlocated_warning(bexley) -> None:
    groups, warnings = outreach_groups(bexley)
    centres = set(baseline_configuration(bexley).centre_ids)
    assert not set(groups["venue_id"]) & centres
    assert {"lib-thamesmead", "com-greenmead", "fb-slade-green", "sch-east-wickham"} <= set(groups["venue_id"])
    assert groups["ward_code"].notna().all()
    kinds = ["library", "community_centre", "faith_hall", "foodbank", "school", "health_clinic", "leisure_centre"]
    unlocated = bexley.venues.loc[~bexley.venues["located"] & bexley.venues["kind"].isin(kinds), "venue_id"]
    assert len(unlocated) == 9
    assert warnings[0].startswith(
        f"{len(unlocated)} of {len(groups) + len(unlocated)} outreach groups have no known location"
    )
    assert groups.loc[groups["venue_id"] == "lib-thamesmead", "ward_name"].item() == "Thamesmead East"


def test_child_weights_by_hand(bexley, travel_times) -> None:
    weights, near = child_weights(bexley, travel_times, centre_minutes=15.0, near_centre_factor=0.0)
    children = bexley.children
    deprivation = 1.0 + 0.25 * np.clip(5 - children["idaci_decile"].to_numpy(), 0, None)
    expected = np.where(near, 0.0, children["children_0_4"].to_numpy() * deprivation)
    np.testing.assert_allclose(weights, expected)
    # The children near a centre are exactly those the coverage module counts at 15 minutes.
    from geoplan.coverage import measure_coverage
    from geoplan.programme import baseline_configuration

    centres = baseline_configuration(bexley).centre_ids
    coverage = measure_coverage(bexley, travel_times, venue_ids=centres, bands=(15,))
    assert children.loc[near, "children_0_4"].sum() == coverage.overall.loc[15.0, "covered"]
    half, _ = child_weights(bexley, travel_times, near_centre_factor=0.5)
    np.testing.assert_allclose(half[near], 0.5 * children.loc[near, "children_0_4"].to_numpy() * deprivation[near])


def test_bexley_plan_respects_budget_and_rules(bexley, plan) -> None:
    visits = plan.visits
    assert visits.groupby("month_number").size().max() <= 12
    assert not visits.duplicated(["month_number", "venue_id"]).any()
    rules = load_outreach_rules(RULES, bexley)
    groups = plan.groups.set_index("venue_id")
    for rule in rules:
        in_area = visits[visits["venue_id"].map(groups["ward_code"]).isin(rule.ward_codes)]
        if not groups["ward_code"].isin(rule.ward_codes).any():
            continue
        for start in range(3 - rule.every_months + 1):
            window = set(range(start + 1, start + rule.every_months + 1))
            assert in_area["month_number"].isin(window).any(), (rule.name, window)
    north = visits[visits["ward_name"].isin(NORTH_WARDS)]
    assert set(north["month_number"]) == {1, 2, 3}


def test_bexley_plan_is_optimal_and_at_least_greedy(bexley, travel_times, plan) -> None:
    summary = plan.summary
    assert summary["status"] == "optimal" and summary["proven_optimal"]
    assert "proven optimal" in summary["statement"]
    assert plan.greedy.status == "heuristic"
    assert summary["objective"] >= summary["greedy_objective"]
    # Recompute the plan's worth from the visit table alone: postcodes within 15 min of a visited
    # group, children x IDACI weight, zero within 15 min of a centre, months reached discounted by 0.5.
    weights, _ = child_weights(bexley, travel_times)
    position = {venue: index for index, venue in enumerate(travel_times.destination_ids)}
    months_reached = np.zeros(len(weights), dtype=int)
    for _, month in plan.visits.groupby("month_number"):
        columns = [position[venue] for venue in month["venue_id"]]
        months_reached += (travel_times.minutes[:, columns] <= 15.0).any(axis=1)
    worth = np.array([0.0, 1.0, 1.5, 1.75])[months_reached]
    assert summary["objective"] == pytest.approx(float(weights @ worth), abs=1e-3)
    assert plan.groups["visits"].sum() == len(plan.visits) == plan.milp.visits.sum()


def test_outputs_csv_ics_gpkg_summary(plan, tmp_path: Path) -> None:
    written = plan.write(tmp_path / "plan")
    assert [path.name for path in written] == ["visit_plan.csv", "visit_plan.ics", "visit_plan.gpkg", "summary.json"]
    table = pd.read_csv(tmp_path / "plan" / "visit_plan.csv")
    assert len(table) == len(plan.visits) > 0
    assert list(table.columns) == [
        "Month",
        "Date",
        "Weekday",
        "Date chosen by",
        "Group",
        "Kind of venue",
        "Address",
        "Postcode",
        "Ward",
        "Rule area",
        "Children 0-4 within the walk",
        "Of them beyond a centre's walk",
        "Weighted children",
    ]
    # people read this file: names and labels, never internal ids or kind codes
    ids = set(plan.visits["venue_id"]) | set(plan.visits["kind"])
    assert not ids & set(table.astype(str).to_numpy().ravel())
    assert table["Group"].tolist() == plan.visits["name"].tolist()
    assert (tmp_path / "plan" / "visit_plan.csv").read_text(encoding="utf-8") == plan.to_csv()
    assert table["Weekday"].tolist() == [pd.Timestamp(day).day_name() for day in table["Date"]]
    calendar = Calendar.from_ical((tmp_path / "plan" / "visit_plan.ics").read_bytes())
    events = calendar.walk("VEVENT")
    assert len(events) == len(plan.visits)
    starts = sorted(event.decoded("dtstart") for event in events)
    assert starts[0] >= date(2026, 12, 1) and starts[-1] < date(2027, 3, 1)
    assert all(day.weekday() < 5 for day in starts)  # no meeting day is known for these groups: first weekday
    assert len({str(event["uid"]) for event in events}) == len(events)
    visited = gpd.read_file(tmp_path / "plan" / "visit_plan.gpkg", layer="visited_groups")
    reach = gpd.read_file(tmp_path / "plan" / "visit_plan.gpkg", layer="group_reach")
    assert len(visited) == len(reach) == plan.visits["venue_id"].nunique()
    assert visited.crs.to_epsg() == 27700
    assert reach.geometry.contains(
        visited.set_index("venue_id").loc[reach["venue_id"]].geometry.reset_index(drop=True)
    ).all()
    summary = json.loads((tmp_path / "plan" / "summary.json").read_text())
    assert {"objective", "greedy_objective", "mip_gap", "status", "method"} <= set(summary)


def test_visit_dates() -> None:
    assert visit_date(date(2026, 12, 1), "Saturday") == (date(2026, 12, 5), MEETING_DAY)
    assert visit_date(date(2026, 11, 1), "") == (date(2026, 11, 2), SPREAD_OVER_WORKING_DAYS)
    # 1 January 2027 is a Friday and a bank holiday: the first working day is Monday 4 January
    assert visit_date(date(2027, 1, 1), "")[0] == date(2027, 1, 4)
    # Easter Monday 2026 is the first Monday of April: a Monday group is visited a week later
    assert visit_date(date(2026, 4, 1), "Monday") == (date(2026, 4, 13), MEETING_DAY)
    # four visits spread over February 2027's 20 working days: every fifth working day
    spread = [visit_date(date(2027, 2, 1), "", slot=slot, slots=4)[0] for slot in range(4)]
    assert spread == [date(2027, 2, 1), date(2027, 2, 8), date(2027, 2, 15), date(2027, 2, 22)]
    assert visit_date(date(2026, 11, 1), "")[0] == date(2026, 11, 2)  # 1 Nov 2026 is a Sunday
    assert parse_start(None, today=date(2026, 12, 15)) == date(2027, 1, 1)
    assert parse_start("2027-03") == date(2027, 3, 1)
    assert parse_start(None, today=date(2026, 12, 31)) == date(2027, 1, 1)
    for bad in ("2027-13", "March 2027", "1999-12"):
        with pytest.raises(InputError, match="start month"):
            parse_start(bad)


# ------------------------------------------------------------------ bad inputs
@pytest.mark.parametrize(("months", "visits"), [(0, 12), (3, 0), (-1, 5), (25, 5), (3, 101), (2.5, 3), (True, 3)])
def test_bad_plan_sizes(months: int, visits: int) -> None:
    with pytest.raises(InputError, match=r"whole number from 1 to (24|100)"):
        VisitTerms(months=months, visits_per_month=visits)


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("group_minutes", 0.0, "group_minutes"),
        ("centre_minutes", 121.0, "centre_minutes"),
        ("near_centre_factor", 1.5, "from 0 to 1"),
        ("repeat_value", -0.1, "from 0 to 1"),
        ("time_limit_s", 0.0, "time limit"),
        ("time_limit_s", 4000.0, "at most 3600"),
    ],
)
def test_bad_plan_parameters(workspace, travel_times, option: str, value: float, message: str) -> None:
    with pytest.raises(InputError, match=message) as info:
        plan_outreach(workspace, travel_times=travel_times, months=1, visits_per_month=2, **{option: value})
    assert "\n" not in str(info.value)


def test_unknown_ward_in_rules_file(bexley, tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("version: 1\nareas:\n  - name: North\n    every_months: 1\n    wards: [Erith, Atlantis]\n")
    with pytest.raises(InputError, match=r"field 'areas\[0\].wards': unknown ward 'Atlantis'") as info:
        load_outreach_rules(path, bexley)
    assert str(path) in str(info.value) and "\n" not in str(info.value)
    path.write_text("version: 1\nareas:\n  - {name: A, every_months: 0, wards: [Erith]}\n")
    with pytest.raises(InputError, match="every_months"):
        load_outreach_rules(path, bexley)
    path.write_text(
        "version: 1\nareas:\n  - {name: A, every_months: 1, wards: [erith]}\n"
        "  - {name: B, every_months: 2, wards: [E05011225]}\n"  # Erith's ONS code
    )
    with pytest.raises(InputError, match="already in area 'A'"):
        load_outreach_rules(path, bexley)


def test_infeasible_rules_are_one_line_errors(bexley, travel_times) -> None:
    rules = load_outreach_rules(RULES, bexley)
    assert sum(rule.every_months == 1 for rule in rules) == 4
    with pytest.raises(InputError, match="cannot be met with 3 visits a month") as info:
        plan_outreach(Workspace(bexley), travel_times=travel_times, months=3, visits_per_month=3, rules=rules)
    assert "\n" not in str(info.value)
    with pytest.raises(InputError, match="cannot be met"):
        solve_visits(TINY_REACH, TINY_WEIGHTS, VisitTerms(months=1, visits_per_month=1, rules=[([0], 1), ([1], 1)]))
    one = [OutreachRule(name="all", ward_codes=tuple(bexley.wards["ward_code"]), every_months=1)]
    single = plan_outreach(Workspace(bexley), travel_times=travel_times, months=1, visits_per_month=1, rules=one)
    assert single.visits.shape[0] == 1


def test_cli_plan_and_error(mirror: Path, tmp_path: Path) -> None:
    env = {"GEOPLAN_DATA": str(mirror), "PATH": str(Path(sys.executable).parent)}
    command = [sys.executable, "-c", "from geoplan.cli import main; main()", "outreach", "plan"]
    arguments = [
        "--months",
        "2",
        "--visits-per-month",
        "8",
        "--start",
        "2027-01",
        "--out",
        str(tmp_path / "out"),
        "--json",
    ]
    done = subprocess.run([*command, *arguments], capture_output=True, text=True, env=env, check=False)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)
    assert payload["proven_optimal"] and payload["objective"] >= payload["greedy_objective"]
    assert "geoplan: warning: 9 of 44 outreach groups" in done.stderr
    assert len(pd.read_csv(tmp_path / "out" / "visit_plan.csv")) <= 16
    arguments = ["--months", "0", "--out", str(tmp_path / "bad")]
    bad = subprocess.run([*command, *arguments], capture_output=True, text=True, env=env, check=False)
    assert bad.returncode == 2
    assert bad.stderr.strip().count("\n") == 0 and "months" in bad.stderr
    assert not (tmp_path / "bad").exists()


# ------------------------------------------------------------------ planning against another programme
def _without(configuration: Configuration, closed: set[str]) -> Configuration:
    sessions = configuration.sessions[~configuration.sessions["venue_id"].isin(closed)]
    return Configuration(
        open_venue_ids=tuple(venue for venue in configuration.open_venue_ids if venue not in closed),
        centre_ids=tuple(venue for venue in configuration.centre_ids if venue not in closed),
        kinds=configuration.kinds,
        sessions=sessions.reset_index(drop=True),
    )


def test_plan_against_a_programme_with_a_centre_and_a_group_closed(bexley, workspace, travel_times) -> None:
    baseline = baseline_configuration(bexley)
    closed = {"cc-north-cray", "lib-thamesmead"}
    assert closed <= set(baseline.open_venue_ids) and "cc-north-cray" in baseline.centre_ids
    programme = _without(baseline, closed)
    _weights, near = child_weights(bexley, travel_times, configuration=programme)
    # independent reference: nearest remaining centre building by hand over the matrix columns
    columns = [
        index
        for index, venue in enumerate(travel_times.destination_ids)
        if venue in programme.open_venue_ids and programme.kinds[venue] in ("childrens_centre", "send_hub")
    ]
    expected_near = travel_times.minutes[:, columns].min(axis=1) <= 15.0
    np.testing.assert_array_equal(near, expected_near)
    _, near_before = child_weights(bexley, travel_times)
    assert (near_before & ~near).any() and not (near & ~near_before).any()  # closing a centre only widens need
    plan = plan_outreach(
        workspace,
        configuration=programme,
        travel_times=travel_times,
        programme_label="the test programme",
        months=2,
        visits_per_month=8,
        start="2027-01",
    )
    assert "lib-thamesmead" not in set(plan.groups["venue_id"])
    assert plan.summary["programme"] == "the test programme"
    assert "against the test programme" in plan.summary["statement"]
    groups, _ = outreach_groups(bexley)
    assert set(plan.groups["venue_id"]) == set(groups["venue_id"]) - closed
    default = plan_outreach(workspace, travel_times=travel_times, months=1, visits_per_month=4, start="2027-01")
    assert default.summary["programme"] == "the current programme"


def test_plan_against_a_scenario_that_opens_a_group(bexley, workspace, travel_times, tmp_path: Path) -> None:
    from geoplan.scenarios import apply_scenario, parse_scenario

    greenmead = bexley.venues.set_index("venue_id").loc["com-greenmead", "geometry"]
    text = (
        "version: 1\nname: outreach-test\ntitle: A new community hall\nbase: "
        f"{REPO / 'layers' / 'bexley.yaml'}\nsettings: {{bands: [15], profile: buggy, headline_minutes: 15}}\n"
        "changes:\n  - open: {id: new-hall, name: New Community Hall, kind: community_centre, "
        f"x: {greenmead.x + 400:.0f}, y: {greenmead.y:.0f}}}\n"
    )
    scenario = parse_scenario(text, path=tmp_path / "outreach-test.yaml")
    applied = apply_scenario(bexley, scenario, travel_times)
    plan = plan_outreach(
        workspace,
        configuration=applied.configuration,
        venues=applied.venues,
        travel_times=applied.travel_times,
        months=1,
        visits_per_month=4,
        start="2027-01",
    )
    hall = plan.groups.set_index("venue_id").loc["new-hall"]
    assert hall["name"] == "New Community Hall"
    column = list(applied.travel_times.destination_ids).index("new-hall")
    within = applied.travel_times.minutes[:, column] <= 15.0
    assert hall["children_reached"] == pytest.approx(bexley.children.loc[within, "children_0_4"].sum(), abs=0.05)
    # without the opened venue's travel times the plan says which group it cannot place
    with pytest.raises(InputError, match="New Community Hall has no travel times"):
        plan_outreach(
            workspace,
            configuration=applied.configuration,
            venues=applied.venues,
            travel_times=travel_times,
            months=1,
            visits_per_month=4,
        )


# ------------------------------------------------------------------ several months, shortfall, downloads
def test_six_months_have_real_dates_in_their_months(workspace, travel_times) -> None:
    plan = plan_outreach(workspace, travel_times=travel_times, months=6, visits_per_month=6, start="2027-10")
    visits = plan.visits
    assert visits["month"].unique().tolist() == ["2027-10", "2027-11", "2027-12", "2028-01", "2028-02", "2028-03"]
    assert visits["month_name"].iloc[-1] == "March 2028"
    for row in visits.itertuples():
        assert f"{row.date:%Y-%m}" == row.month
        assert row.weekday == row.date.strftime("%A")
        assert row.date.weekday() < 5 and row.date not in ENGLISH_BANK_HOLIDAYS
    assert plan.summary["end"] == "2028-03"
    # no meeting day is known for these groups: each month's visits fall on different working days
    assert not visits.duplicated(["date"]).any()
    assert visits["date"].is_monotonic_increasing
    events = Calendar.from_ical(plan.to_ics()).walk("VEVENT")
    assert sorted(event.decoded("dtstart") for event in events) == sorted(visits["date"])
    assert {str(event["summary"]) for event in events} == {f"Outreach visit: {name}" for name in visits["name"]}


def test_shortfall_explained_when_the_budget_exceeds_useful_groups(workspace, travel_times) -> None:
    plan = plan_outreach(workspace, travel_times=travel_times, months=1, visits_per_month=40, start="2027-01")
    n_groups = len(plan.groups)
    useful = int((plan.groups["weighted_children"] > 0).sum())
    assert n_groups < 40
    assert len(plan.visits) < 40 and plan.summary["visits_planned"] == len(plan.visits)
    assert plan.shortfall.startswith(f"{len(plan.visits)} of the 40 visits asked for are planned: ")
    assert f"there are only {n_groups} groups to visit" in plan.shortfall
    # every reason given caps the month: fewer visits than useful groups means overlap is named too
    assert ("already reach" in plan.shortfall) == (len(plan.visits) < min(n_groups, useful))
    assert "January 2027" in plan.shortfall
    assert plan.summary["shortfall"] == plan.shortfall
    # a budget every month can spend has no shortfall
    assert plan_outreach(workspace, travel_times=travel_times, months=1, visits_per_month=4).shortfall is None
    assert useful <= n_groups


def test_explain_shortfall_reasons() -> None:
    worth = np.array([5.0, 0.0, 0.0, 3.0])
    common = {
        "first_month": date(2027, 1, 1),
        "group_minutes": 15.0,
        "centre_minutes": 15.0,
        "near_centre_factor": 0.0,
        "repeat_value": 0.5,
    }
    visits = np.array([[True, True], [False, False], [False, False], [True, False]])
    text = explain_shortfall(visits, visits_per_month=3, group_worth=worth, **common)
    assert text.startswith("3 of the 6 visits asked for are planned: only 2 of the 4 groups have children who count")
    assert "count nothing" in text and text.endswith("January 2027 (2), February 2027 (1).")
    overlap = explain_shortfall(visits, visits_per_month=2, group_worth=np.ones(4), **common)
    assert "already reach" in overlap and "February 2027 (1)" in overlap and "January" not in overlap.split(": ")[-1]
    assert explain_shortfall(visits[:, :1], visits_per_month=2, group_worth=worth, **common) is None
