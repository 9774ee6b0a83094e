"""The outreach plan of a study area: groups, weights, both solvers, dates and outputs."""

from __future__ import annotations

import io
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan import settings
from geoplan.bands import check_bands
from geoplan.coverage import GapWeights
from geoplan.errors import InputError
from geoplan.fileio import atomic_directory, spreadsheet_safe
from geoplan.outreach.calendar import WEEKDAYS, add_months, check_start, parse_start, visit_calendar, visit_date
from geoplan.outreach.rules import OutreachRule, resolve_rules, rule_areas
from geoplan.outreach.solve import (
    DEFAULT_REPEAT_VALUE,
    DEFAULT_TIME_LIMIT_S,
    VisitSolution,
    VisitTerms,
    check_fraction,
    check_plan_size,
    check_time_limit,
    greedy_visits,
    solve_visits,
)
from geoplan.programme import Configuration
from geoplan.scenarios.apply import kind_labels
from geoplan.studyarea import StudyArea
from geoplan.text import json_safe, plural
from geoplan.venues import CENTRE_KINDS

if TYPE_CHECKING:
    from geoplan.traveltime import TravelTimeMatrix
    from geoplan.workspace import Workspace

#: Venue kinds where community groups meet that outreach visits (seed 003 s.6: libraries,
#: community groups/sessions and food banks; s.7 adds faith halls, schools, clinics, leisure centres).
GROUP_KINDS: tuple[str, ...] = (
    "library",
    "community_centre",
    "faith_hall",
    "foodbank",
    "school",
    "health_clinic",
    "leisure_centre",
)
#: Session providers whose sessions make their venue an outreach group, whatever its kind.
GROUP_PROVIDERS: tuple[str, ...] = ("community", "library", "faith", "school", "health")
DEFAULT_GROUP_MINUTES = 15.0
DEFAULT_CENTRE_MINUTES = 15.0
#: Children within a walk of a centre already have the centre; by default they count nothing.
DEFAULT_NEAR_CENTRE_FACTOR = 0.0
#: Drawn around a group's reached postcodes so its reach shows as an area on a map.
REACH_HALO_M = 100.0
OUTSIDE_WARDS = "Outside the area's wards"
CURRENT_PROGRAMME = "the current programme"
#: The downloadable visit table: column of :attr:`OutreachPlan.visits` → heading people read.
CSV_COLUMNS = {
    "month_name": "Month",
    "date": "Date",
    "weekday": "Weekday",
    "date_basis": "Date chosen by",
    "name": "Group",
    "kind_label": "Kind of venue",
    "address": "Address",
    "postcode": "Postcode",
    "ward_name": "Ward",
    "rule_area": "Rule area",
    "children_reached": "Children 0-4 within the walk",
    "children_beyond_centres": "Of them beyond a centre's walk",
    "weighted_children": "Weighted children",
}
OUTPUT_NAMES = ("visit_plan.csv", "visit_plan.ics", "visit_plan.gpkg", "summary.json")


def outreach_groups(
    area: StudyArea, *, configuration: Configuration | None = None, venues: gpd.GeoDataFrame | None = None
) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The open venues where groups meet that outreach can visit, with their ward and meeting day.

    A venue is a group if its kind is in :data:`GROUP_KINDS` or it hosts a session of a provider in
    :data:`GROUP_PROVIDERS`; children's-centre buildings are left out (outreach goes out from them).
    Unlocated groups cannot reach anyone on a map: they are left out and counted in a warning.

    Parameters
    ----------
    area
        The study area.
    configuration
        The programme to plan against (a scenario's); the current programme when omitted.
    venues
        Every venue the configuration names, with ``located`` and geometry (a scenario's
        venues include the ones it opens); the area's venues when omitted.

    Returns
    -------
    (geopandas.GeoDataFrame, list of str)
        Located groups (``venue_id, name, kind, address, postcode, ward_code, ward_name, day,
        frequency, sessions, geometry``) and warnings.
    """
    from geoplan.programme import baseline_configuration

    configuration = configuration or baseline_configuration(area)
    venues = area.venues if venues is None else venues
    sessions = configuration.sessions
    hosting = set(sessions.loc[sessions["provider"].isin(GROUP_PROVIDERS), "venue_id"])
    unknown = sorted(set(configuration.open_venue_ids) - set(venues["venue_id"]))
    if unknown:
        msg = f"{plural(len(unknown), 'open venue')} of the programme are not among the venues given"
        raise InputError(msg, field="venues")
    venues = venues[venues["venue_id"].isin(configuration.open_venue_ids)].copy()
    venues["kind"] = venues["venue_id"].map(configuration.kinds)
    # Outreach goes out from children's-centre buildings; a programme that counts libraries as its
    # centres (catalogue programme.centre_kinds) still visits them as groups.
    venues = venues[~venues["kind"].isin(CENTRE_KINDS)]
    candidates = venues[venues["kind"].isin(GROUP_KINDS) | venues["venue_id"].isin(hosting)]
    warnings = []
    unlocated = candidates[~candidates["located"].astype(bool)]
    if len(unlocated):
        warnings.append(
            f"{len(unlocated)} of {len(candidates)} outreach groups have no known location and are left out: "
            + ", ".join(unlocated["name"])
        )
    groups = candidates[candidates["located"].astype(bool)].copy()
    wards = area.wards[["ward_code", "ward_name", "geometry"]]
    joined = gpd.sjoin(groups[["venue_id", "geometry"]], wards, how="left", predicate="within")
    first = joined.groupby(level=0).first()
    groups["ward_code"] = first["ward_code"]
    groups["ward_name"] = first["ward_name"]
    outside = groups[groups["ward_code"].isna()]
    if len(outside):
        warnings.append(
            f"{len(outside)} outreach groups lie outside every ward of {area.name} and fall under no rule: "
            + ", ".join(outside["name"])
        )
    by_venue = sessions.groupby("venue_id")
    days, frequencies, counts = [], [], []
    for venue_id in groups["venue_id"]:
        rows = by_venue.get_group(venue_id) if venue_id in by_venue.groups else sessions.iloc[0:0]
        known = [day for day in WEEKDAYS if day in set(rows["day"].fillna("").str.strip().str.capitalize())]
        days.append(known[0] if known else "")
        frequency = rows.loc[rows["frequency"].fillna("").str.strip() != "", "frequency"]
        frequencies.append(frequency.mode().iloc[0] if len(frequency) else "")
        counts.append(len(rows))
    groups["day"] = days
    groups["frequency"] = frequencies
    groups["sessions"] = counts
    columns = ["venue_id", "name", "kind", "address", "postcode", "ward_code", "ward_name", "day", "frequency"]
    out = groups[[*columns, "sessions", "geometry"]].reset_index(drop=True)
    return gpd.GeoDataFrame(out, geometry="geometry", crs=settings.measure_crs), warnings


def _check_origins(area: StudyArea, travel_times: TravelTimeMatrix) -> None:
    origin_ids = np.asarray(travel_times.origin_ids)
    expected = area.children["origin_id"].to_numpy()
    if origin_ids.shape != expected.shape or not np.array_equal(origin_ids, expected):
        msg = "travel-time matrix origins are not the study area's child points (rebuild the matrix for this area)"
        raise InputError(msg, field="origins")


def child_weights(
    area: StudyArea,
    travel_times: TravelTimeMatrix,
    *,
    configuration: Configuration | None = None,
    centre_minutes: float = DEFAULT_CENTRE_MINUTES,
    near_centre_factor: float = DEFAULT_NEAR_CENTRE_FACTOR,
    weights: GapWeights = GapWeights(),
) -> tuple[np.ndarray, np.ndarray]:
    """Weight of each origin: children 0-4 × deprivation weight × (factor if near a centre building).

    Parameters
    ----------
    configuration
        The programme whose centre buildings count (the current programme when omitted).
    centre_minutes
        Walk (more than 0, at most 120 minutes) within which a centre already reaches families.
    near_centre_factor
        What a child near a centre counts (0 to 1).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The weights and whether each origin is within ``centre_minutes`` of a centre.
    """
    from geoplan.programme import baseline_configuration

    _check_origins(area, travel_times)
    (centre_minutes,) = check_bands([centre_minutes], field="centre_minutes")
    near_centre_factor = check_fraction(near_centre_factor, "near_centre_factor")
    configuration = configuration or baseline_configuration(area)
    available = set(travel_times.destination_ids)
    located = [venue for venue in configuration.venue_ids(kinds=CENTRE_KINDS) if venue in available]
    if located:
        near = travel_times.minutes_to_nearest(located) <= centre_minutes
    else:
        near = np.zeros(len(area.children), dtype=bool)
    deprivation = weights.weight(area.children[weights.index]).to_numpy(dtype=float)
    children = area.children["children_0_4"].to_numpy(dtype=float)
    return children * deprivation * np.where(near, near_centre_factor, 1.0), near


@dataclass
class OutreachPlan:
    """A visit plan with its greedy baseline, the groups and their reach.

    Attributes
    ----------
    visits
        One row per planned visit, by month then worth: ``month_number, month, month_name, date,
        weekday, date_basis, venue_id, name, kind, kind_label, address, postcode, ward_name,
        rule_area, day, children_reached, children_beyond_centres, weighted_children``.
    groups
        Every located group (EPSG:27700) with its reach and ``visits`` in the plan.
    reach
        Visited groups' reach as areas (EPSG:27700): hull of the postcodes they reach.
    milp, greedy
        The exact plan and the greedy baseline.
    summary
        JSON-safe description: what was planned against, objectives, status, gap, parameters,
        rules, warnings, shortfall.
    warnings
        One line each (counted: "9 of 44 groups ...").
    shortfall
        Why fewer visits are planned than asked (``None`` when every visit asked for is planned).
    """

    visits: pd.DataFrame
    groups: gpd.GeoDataFrame
    reach: gpd.GeoDataFrame
    milp: VisitSolution
    greedy: VisitSolution
    summary: dict[str, object]
    warnings: list[str] = field(default_factory=list)
    shortfall: str | None = None

    def to_csv(self) -> str:
        """The visit table as people read it (plain headings, no internal ids), as CSV text."""
        table = spreadsheet_safe(self.visits.reindex(columns=list(CSV_COLUMNS)).rename(columns=CSV_COLUMNS))
        buffer = io.StringIO()
        table.to_csv(buffer, index=False, lineterminator="\n")
        return buffer.getvalue()

    def to_ics(self) -> bytes:
        """The plan as an iCalendar file: one all-day event per visit."""
        return visit_calendar(
            self.visits,
            title=f"Outreach visits, {self.summary['area']}",
            group_minutes=float(self.summary["group_minutes"]),
            centre_minutes=float(self.summary["centre_minutes"]),
        )

    def write(self, out_dir: str | os.PathLike[str]) -> list[Path]:
        """Write ``visit_plan.csv``, ``visit_plan.ics``, ``visit_plan.gpkg`` and ``summary.json`` atomically."""
        out_dir = Path(out_dir)
        csv_name, ics_name, gpkg_name, summary_name = OUTPUT_NAMES
        with atomic_directory(out_dir) as staging:
            (staging / csv_name).write_text(self.to_csv(), encoding="utf-8")
            (staging / ics_name).write_bytes(self.to_ics())
            visited = self.groups[self.groups["visits"] > 0]
            visited.to_file(staging / gpkg_name, layer="visited_groups", driver="GPKG")
            self.reach.to_file(staging / gpkg_name, layer="group_reach", driver="GPKG")
            (staging / summary_name).write_text(json.dumps(json_safe(self.summary), indent=2), encoding="utf-8")
        return [out_dir / name for name in OUTPUT_NAMES]


def _solution_summary(solution: VisitSolution, reach: np.ndarray, children: np.ndarray) -> dict[str, object]:
    reached = (reach.astype(float) @ solution.visits.astype(float)).sum(axis=1) > 0
    return {
        "method": solution.method,
        "status": solution.status,
        "objective": round(solution.objective, 3),
        "mip_gap": solution.gap,
        "visits": int(solution.visits.sum()),
        "children_reached_at_least_once": round(float(children[reached].sum()), 1),
        "seconds": round(solution.seconds, 3),
    }


def explain_shortfall(
    visits: np.ndarray,
    *,
    visits_per_month: int,
    group_worth: np.ndarray,
    first_month: date,
    group_minutes: float,
    centre_minutes: float,
    near_centre_factor: float,
    repeat_value: float,
) -> str | None:
    """Why a plan (groups × months) holds fewer visits than the budget allows, in one sentence.

    ``group_worth`` is the weighted children each group reaches. The MILP plans no visit that
    adds nothing (a tiny cost per visit), so a month falls short for one or more of: too few groups,
    too few groups reaching children who count, or the rest reach only families that month's visits
    already reach; each reason given is one that caps the month below its budget.
    """
    months = visits.shape[1]
    asked, planned = months * visits_per_month, int(visits.sum())
    if planned >= asked:
        return None
    n_groups, useful = visits.shape[0], int((group_worth > 0).sum())
    reasons = []
    if n_groups < visits_per_month:
        reasons.append(f"there are only {plural(n_groups, 'group')} to visit and each is visited at most once a month")
    if useful < min(n_groups, visits_per_month):
        counted = (
            f"children within {centre_minutes:g} minutes of a children's centre count nothing"
            if near_centre_factor == 0
            else f"children within {centre_minutes:g} minutes of a children's centre count {near_centre_factor:g}"
        )
        reasons.append(
            f"only {useful} of the {plural(n_groups, 'group')} have children who count within {group_minutes:g} "
            f"minutes' walk ({counted})"
        )
    if visits.sum(axis=0).min() < min(n_groups, useful, visits_per_month):
        reasons.append(
            "a further visit would reach only families that month's visits already reach"
            + (" or reached before (a repeat contact counts nothing at repeat value 0)" if repeat_value == 0 else "")
        )
    short = [
        f"{add_months(first_month, month):%B %Y} ({count})"
        for month, count in enumerate(visits.sum(axis=0))
        if count < visits_per_month
    ]
    return (
        f"{planned} of the {asked} visits asked for are planned: {'; '.join(reasons)}. "
        f"Months with fewer than {visits_per_month} visits: {', '.join(short)}."
    )


def _visit_rows(
    groups: gpd.GeoDataFrame, visits: np.ndarray, first_month: date, labels: dict[str, str]
) -> pd.DataFrame:
    rows = []
    worth = groups["weighted_children"].to_numpy()
    for month in range(visits.shape[1]):
        month_start = add_months(first_month, month)
        chosen = np.flatnonzero(visits[:, month])
        # the month's most valuable visits come first in its timetable
        chosen = chosen[np.argsort(-worth[chosen], kind="stable")]
        unknown = [index for index in chosen if groups["day"].iloc[index] not in WEEKDAYS]
        for index in chosen:
            group = groups.iloc[index]
            slot = unknown.index(index) if index in unknown else 0
            day, basis = visit_date(month_start, group["day"], slot=slot, slots=len(unknown))
            ward = group["ward_name"] if isinstance(group["ward_name"], str) else OUTSIDE_WARDS
            rows.append(
                {
                    "month_number": month + 1,
                    "month": f"{month_start:%Y-%m}",
                    "month_name": f"{month_start:%B %Y}",
                    "date": day,
                    "weekday": WEEKDAYS[day.weekday()],
                    "date_basis": basis,
                    "venue_id": group["venue_id"],
                    "name": group["name"],
                    "kind": group["kind"],
                    "kind_label": labels.get(group["kind"], group["kind"]),
                    "address": group["address"],
                    "postcode": group["postcode"],
                    "ward_name": ward,
                    "rule_area": group["rule_area"],
                    "day": group["day"],
                    "children_reached": group["children_reached"],
                    "children_beyond_centres": group["children_beyond_centres"],
                    "weighted_children": group["weighted_children"],
                }
            )
    table = pd.DataFrame(rows)
    if not table.empty:
        table = table.sort_values(["date", "weighted_children"], ascending=[True, False], kind="stable")
    return table.reset_index(drop=True)


def _reach_layer(area: StudyArea, groups: gpd.GeoDataFrame, reach: np.ndarray, visits: np.ndarray) -> gpd.GeoDataFrame:
    origins = area.children.geometry
    visited = np.flatnonzero(visits.any(axis=1))
    hulls = [
        origins[reach[:, index]].union_all().union(groups.geometry.iloc[index]).convex_hull.buffer(REACH_HALO_M)
        for index in visited
    ]
    return gpd.GeoDataFrame(
        groups.iloc[visited].drop(columns="geometry").reset_index(drop=True),
        geometry=gpd.GeoSeries(hulls, crs=settings.measure_crs),
        crs=settings.measure_crs,
    )


def _group_reach(groups: gpd.GeoDataFrame, travel_times: TravelTimeMatrix, group_minutes: float) -> np.ndarray:
    position = {venue: index for index, venue in enumerate(travel_times.destination_ids)}
    missing = groups.loc[~groups["venue_id"].isin(list(position)), "name"]
    if len(missing):
        msg = f"{missing.iloc[0]} has no travel times (rebuild the travel times for this programme)"
        raise InputError(msg, field="venues")
    return travel_times.reachable(group_minutes)[:, [position[venue] for venue in groups["venue_id"]]]


def plan_outreach(
    workspace: Workspace,
    *,
    months: int,
    visits_per_month: int,
    configuration: Configuration | None = None,
    venues: gpd.GeoDataFrame | None = None,
    travel_times: TravelTimeMatrix | None = None,
    programme_label: str | None = None,
    rules: Sequence[OutreachRule] | str | os.PathLike[str] | None = None,
    start: date | str | None = None,
    profile: str | float | None = None,
    group_minutes: float = DEFAULT_GROUP_MINUTES,
    centre_minutes: float = DEFAULT_CENTRE_MINUTES,
    near_centre_factor: float = DEFAULT_NEAR_CENTRE_FACTOR,
    repeat_value: float = DEFAULT_REPEAT_VALUE,
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
    weights: GapWeights = GapWeights(),
) -> OutreachPlan:
    """Plan which groups to visit in each month, exactly (MILP) and greedily for comparison.

    Parameters
    ----------
    workspace
        The study area with its travel times.
    months, visits_per_month
        Plan length (1 to 24 months) and visit budget of each month (1 to 100).
    configuration
        The programme to plan against, e.g. a scenario's
        (:attr:`geoplan.scenarios.AppliedScenario.configuration`): its open groups are visited and
        its centre buildings decide which children are near a centre. The current programme when omitted.
    venues, travel_times
        For a programme that opens venues: every venue with geometry, and travel times with a
        column for each (:class:`~geoplan.scenarios.AppliedScenario` has both). Default: the
        area's venues and the workspace's travel times at ``profile``.
    programme_label
        What the plan is against, in words (a scenario's title); "the current programme" by default.
    rules
        Frequency rules, or a rules file; ``outreach.yaml`` beside the venue file when omitted
        (no rules, with a warning, if there is none).
    start
        First month (``date`` or ``YYYY-MM``, years 2000 to 2100); next month when omitted.
    profile
        Walking pace of the travel times (a name or km/h); the workspace's when omitted.
    group_minutes
        Walk (more than 0, at most 120 minutes) within which a visit reaches the families living there.
    centre_minutes, near_centre_factor
        Children within ``centre_minutes`` (same range) of a centre building count ``near_centre_factor`` (0 to 1).
    repeat_value
        Worth (0 to 1) of each further month's contact with the same families relative to the one before.
    time_limit_s
        HiGHS time limit (more than 0, at most 3,600 s); the summary gives the gap if the plan
        is not proven optimal in time.

    Raises
    ------
    InputError
        A value out of its range, a bad rules file, no group to visit, or rules that cannot be met.
    """
    check_plan_size(months, visits_per_month)
    near_centre_factor = check_fraction(near_centre_factor, "near_centre_factor")
    repeat_value = check_fraction(repeat_value, "repeat_value")
    time_limit_s = check_time_limit(time_limit_s)
    (group_minutes,) = check_bands([group_minutes], field="group_minutes")
    (centre_minutes,) = check_bands([centre_minutes], field="centre_minutes")
    first_month = check_start(start) if isinstance(start, date) else parse_start(start)
    area = workspace.area
    warnings: list[str] = []
    rule_list, rules_path = resolve_rules(rules, area, warnings)

    groups, group_warnings = outreach_groups(area, configuration=configuration, venues=venues)
    warnings += group_warnings
    if groups.empty:
        msg = f"no located outreach group (kinds {', '.join(GROUP_KINDS)}) in the venue file"
        raise InputError(msg, path=area.catalogue.resolve(area.catalogue.venues.file), field="kind")
    travel_times = travel_times if travel_times is not None else workspace.travel_times(profile)
    weight, near = child_weights(
        area,
        travel_times,
        configuration=configuration,
        centre_minutes=centre_minutes,
        near_centre_factor=near_centre_factor,
        weights=weights,
    )
    reach = _group_reach(groups, travel_times, group_minutes)
    rule_of, rule_pairs, rule_rows = rule_areas(area, groups, rule_list, warnings)

    terms = VisitTerms(months=months, visits_per_month=visits_per_month, rules=rule_pairs, repeat_value=repeat_value)
    exact = solve_visits(reach, weight, terms, time_limit_s=time_limit_s)
    greedy = greedy_visits(reach, weight, terms)
    if greedy.status == "infeasible":
        warnings.append("the greedy baseline could not meet every frequency rule within the budget")

    children = area.children["children_0_4"].to_numpy(dtype=float)
    groups = groups.assign(
        rule_area=rule_of,
        children_reached=(children @ reach).round(1),
        children_beyond_centres=(np.where(near, 0.0, children) @ reach).round(1),
        weighted_children=(weight @ reach).round(2),
        visits=exact.visits.sum(axis=1),
    )
    groups["months_visited"] = [
        ";".join(f"{add_months(first_month, month):%Y-%m}" for month in np.flatnonzero(exact.visits[index]))
        for index in range(len(groups))
    ]
    visits = _visit_rows(groups, exact.visits, first_month, kind_labels(area))
    shortfall = explain_shortfall(
        exact.visits,
        visits_per_month=visits_per_month,
        group_worth=weight @ reach,
        first_month=first_month,
        group_minutes=group_minutes,
        centre_minutes=centre_minutes,
        near_centre_factor=near_centre_factor,
        repeat_value=repeat_value,
    )
    against = programme_label or (CURRENT_PROGRAMME if configuration is None else "the programme given")
    proven = exact.status == "optimal" and exact.gap <= 0
    if proven:
        statement = f"Exact plan (MILP, HiGHS) against {against}: proven optimal, gap {exact.gap:.2%}."
    else:
        statement = (
            f"Best plan HiGHS found against {against} in the time limit (status {exact.status}); "
            f"within {exact.gap:.2%} of optimal."
        )
    summary: dict[str, object] = {
        "area": area.name,
        "la_code": area.la_code,
        "programme": against,
        "start": f"{first_month:%Y-%m}",
        "end": f"{add_months(first_month, months - 1):%Y-%m}",
        "months": months,
        "visits_per_month": visits_per_month,
        "visits_asked": months * visits_per_month,
        "visits_planned": len(visits),
        "shortfall": shortfall,
        "method": exact.method,
        "status": exact.status,
        "proven_optimal": proven,
        "mip_gap": exact.gap,
        "objective": round(exact.objective, 3),
        "greedy_objective": round(greedy.objective, 3),
        "improvement_over_greedy": round(exact.objective - greedy.objective, 3),
        "statement": statement,
        "milp": _solution_summary(exact, reach, children),
        "greedy": _solution_summary(greedy, reach, children),
        "objective_definition": (
            "sum over child postcodes of children 0-4 x IDACI deprivation weight x (near-centre factor if within "
            "centre_minutes of a children's centre, else 1) x (1 + q + ... + q^(r-1)), r = months reached, q = repeat_value"
        ),
        "group_minutes": group_minutes,
        "centre_minutes": centre_minutes,
        "near_centre_factor": near_centre_factor,
        "repeat_value": repeat_value,
        "deprivation_weights": {"index": weights.index, "step": weights.step, "pivot_decile": weights.pivot_decile},
        "travel_times": {"method": travel_times.method, "profile": travel_times.profile},
        "groups": len(groups),
        "weighted_children_in_reach_of_any_group": round(float(weight[reach.any(axis=1)].sum()), 2),
        "rules_file": str(rules_path) if rules_path is not None else None,
        "rules": rule_rows,
        "warnings": warnings,
    }
    return OutreachPlan(
        visits=visits,
        groups=groups,
        reach=_reach_layer(area, groups, reach, exact.visits),
        milp=exact,
        greedy=greedy,
        summary=json_safe(summary),
        warnings=warnings,
        shortfall=shortfall,
    )
