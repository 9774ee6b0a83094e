"""Outreach planner: which community groups a practitioner visits each month.

The outreach practitioner takes the children's-centre programme to libraries, community groups,
faith groups, schools, clinics and food banks. A visit reaches the families with young children
who live within a walk of the group. The planner chooses, for each month of a period, which
groups to visit so that the visits reach as many young children as possible, counting most the
children in deprived areas who do not live within a walk of a children's centre.

Model
-----
Each origin ``i`` (a postcode where children live) has a weight::

    w_i = children_0_4 × deprivation weight (IDACI decile, :class:`geoplan.coverage.GapWeights`)
          × (near_centre_factor if a baseline centre is within centre_minutes, else 1)

and is reached in month ``m`` when a group within ``group_minutes`` of it is visited that month.
Families need reminding, but a first contact matters most, so an origin reached in ``r`` of the
months is worth ``w_i × (1 + q + q² + … + q^(r-1))`` with ``q = repeat_value`` (0 counts only the
first contact; 1 counts every month equally). The objective is the sum over origins.

Constraints: at most ``visits_per_month`` visits a month, each group at most once a month, and
each rule area (a list of wards) visited at least once in every ``every_months`` consecutive
months of the plan whenever a located group meets there. Windows lie inside the plan, so a
two-monthly rule does not bind a one-month plan.

It is solved exactly as a mixed-integer programme (binary ``x[g, m]``, coverage ``y[i, m]``
and month-count variables ``u[i, k]`` whose objective coefficients ``w_i q^k`` decrease, so no
ordering constraint is needed) with HiGHS through :func:`scipy.optimize.milp`; the HiGHS status
and MIP gap say whether the plan is proven optimal. A greedy plan (largest marginal gain per
visit, meeting the same rules) is computed alongside as a baseline.
"""

from __future__ import annotations

import json
import math
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from geoplan import settings
from geoplan.coverage import GapWeights, minutes_to_nearest
from geoplan.programme import baseline_configuration
from geoplan.solver import status_name
from geoplan.errors import InputError
from geoplan.fileio import atomic_directory, read_yaml
from geoplan.studyarea import StudyArea

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
#: A second month's contact with the same families is worth half a first one.
DEFAULT_REPEAT_VALUE = 0.5
DEFAULT_TIME_LIMIT_S = 60.0
#: Tiny cost per visit (weighted children) so the solver plans no visit that reaches nobody.
VISIT_COST = 1e-6
RULES_FILE_NAME = "outreach.yaml"
RULES_VERSION = 1
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
FIRST_WEEKEND_DAY = 5
#: Drawn around a group's reached postcodes so its reach shows as an area on a map.
REACH_HALO_M = 100.0

@dataclass(frozen=True)
class OutreachRule:
    """A rule area: its wards must get a visit in every ``every_months`` consecutive months."""

    name: str
    ward_codes: tuple[str, ...]
    every_months: int


@dataclass(frozen=True)
class VisitSolution:
    """Which group is visited in which month, and what the plan is worth.

    Attributes
    ----------
    visits
        Boolean array (groups × months).
    objective
        Weighted children reached, repeats discounted (see the module docstring).
    status
        ``optimal``, ``time_limit`` (MILP) or ``heuristic`` (greedy).
    gap
        Relative MIP gap HiGHS reports (0 when proven optimal; NaN for greedy).
    method
        How the plan was found.
    seconds
        Wall-clock time to find it.
    """

    visits: np.ndarray
    objective: float
    status: str
    gap: float
    method: str
    seconds: float


# ------------------------------------------------------------------------------------------ rules
def default_rules_path(area: StudyArea) -> Path | None:
    """``outreach.yaml`` beside the area's venue file, if there is one."""
    path = area.catalogue.resolve(area.catalogue.venues.file).parent / RULES_FILE_NAME
    return path if path.is_file() else None


def _ward_key(text: str) -> str:
    return " ".join(str(text).replace("&", " and ").lower().split())


def load_outreach_rules(path: str | os.PathLike[str], area: StudyArea) -> list[OutreachRule]:
    """Read frequency rules (areas as ward lists, with ``every_months``) and check them against ``area``.

    Wards are named by ward name (case and ``&``/``and`` do not matter) or ONS ward code.

    Raises
    ------
    InputError
        The file is missing or not YAML, a field is missing or wrong, a ward is unknown in the
        study area, or a ward sits in two areas.
    """
    path = Path(path)
    raw = read_yaml(path, what="rules file")
    if not isinstance(raw, dict) or not isinstance(raw.get("areas"), list) or not raw["areas"]:
        msg = "expected a mapping with a non-empty 'areas' list"
        raise InputError(msg, path=path, field="areas")
    if raw.get("version", RULES_VERSION) != RULES_VERSION:
        msg = f"unsupported version {raw.get('version')!r}; expected {RULES_VERSION}"
        raise InputError(msg, path=path, field="version")
    codes = {code: code for code in area.wards["ward_code"]}
    codes.update({_ward_key(name): code for code, name in zip(area.wards["ward_code"], area.wards["ward_name"], strict=True)})
    owner: dict[str, str] = {}
    rules = []
    for index, entry in enumerate(raw["areas"]):
        where = f"areas[{index}]"
        if not isinstance(entry, dict):
            msg = "expected a mapping with name, every_months and wards"
            raise InputError(msg, path=path, field=where)
        name = entry.get("name")
        if not isinstance(name, str) or not name.strip():
            msg = "missing area name"
            raise InputError(msg, path=path, field=f"{where}.name")
        every = entry.get("every_months")
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            msg = f"every_months must be a whole number of months >= 1, got {every!r}"
            raise InputError(msg, path=path, field=f"{where}.every_months")
        wards = entry.get("wards")
        if not isinstance(wards, list) or not wards:
            msg = "wards must be a non-empty list of ward names or codes"
            raise InputError(msg, path=path, field=f"{where}.wards")
        ward_codes = []
        for ward in wards:
            code = codes.get(str(ward)) or codes.get(_ward_key(ward))
            if code is None:
                msg = f"unknown ward {ward!r} in {area.name}; known wards: {', '.join(area.wards['ward_name'])}"
                raise InputError(msg, path=path, field=f"{where}.wards")
            if code in owner:
                msg = f"ward {ward!r} is already in area {owner[code]!r}"
                raise InputError(msg, path=path, field=f"{where}.wards")
            owner[code] = name
            ward_codes.append(code)
        rules.append(OutreachRule(name=name, ward_codes=tuple(ward_codes), every_months=every))
    return rules


# ----------------------------------------------------------------------------------- groups, weights
def outreach_groups(area: StudyArea) -> tuple[gpd.GeoDataFrame, list[str]]:
    """The open venues where groups meet that outreach can visit, with their ward and meeting day.

    A venue is a group if its kind is in :data:`GROUP_KINDS` or it hosts a session of a provider in
    :data:`GROUP_PROVIDERS`; children's centres are left out (outreach goes out from them).
    Unlocated groups cannot reach anyone on a map: they are left out and counted in a warning.

    Returns
    -------
    (geopandas.GeoDataFrame, list of str)
        Located groups (``venue_id, name, kind, address, postcode, ward_code, ward_name, day,
        frequency, sessions, geometry``) and warnings.
    """
    configuration = baseline_configuration(area)
    sessions = configuration.sessions
    hosting = set(sessions.loc[sessions["provider"].isin(GROUP_PROVIDERS), "venue_id"])
    venues = area.venues[area.venues["venue_id"].isin(configuration.open_venue_ids)]
    venues = venues[~venues["venue_id"].isin(configuration.centre_ids)]
    candidates = venues[venues["kind"].isin(GROUP_KINDS) | venues["venue_id"].isin(hosting)]
    warnings = []
    unlocated = candidates[~candidates["located"]]
    if len(unlocated):
        warnings.append(
            f"{len(unlocated)} of {len(candidates)} outreach groups have no known location and are left out: "
            + ", ".join(unlocated["venue_id"])
        )
    groups = candidates[candidates["located"]].copy()
    wards = area.wards[["ward_code", "ward_name", "geometry"]]
    joined = gpd.sjoin(groups[["venue_id", "geometry"]], wards, how="left", predicate="within")
    first = joined.groupby(level=0).first()
    groups["ward_code"] = first["ward_code"]
    groups["ward_name"] = first["ward_name"]
    outside = groups[groups["ward_code"].isna()]
    if len(outside):
        warnings.append(
            f"{len(outside)} outreach groups lie outside every ward of {area.name} and fall under no rule: "
            + ", ".join(outside["venue_id"])
        )
    by_venue = sessions.groupby("venue_id")
    days, frequencies, counts = [], [], []
    for venue_id in groups["venue_id"]:
        rows = by_venue.get_group(venue_id) if venue_id in by_venue.groups else sessions.iloc[0:0]
        known = [day for day in WEEKDAYS if day in set(rows["day"].str.strip().str.capitalize())]
        days.append(known[0] if known else "")
        frequency = rows.loc[rows["frequency"].str.strip() != "", "frequency"]
        frequencies.append(frequency.mode().iloc[0] if len(frequency) else "")
        counts.append(len(rows))
    groups["day"] = days
    groups["frequency"] = frequencies
    groups["sessions"] = counts
    columns = ["venue_id", "name", "kind", "address", "postcode", "ward_code", "ward_name", "day", "frequency",
               "sessions", "geometry"]  # fmt: skip
    out = gpd.GeoDataFrame(groups[columns].reset_index(drop=True), geometry="geometry", crs=settings.measure_crs)
    return out, warnings


def _check_origins(area: StudyArea, travel_times: object) -> None:
    origin_ids = np.asarray(travel_times.origin_ids)
    expected = area.children["origin_id"].to_numpy()
    if origin_ids.shape != expected.shape or not np.array_equal(origin_ids, expected):
        msg = "travel-time matrix origins are not the study area's child points (rebuild the matrix for this area)"
        raise InputError(msg, field="origins")


def child_weights(
    area: StudyArea,
    travel_times: object,
    *,
    centre_minutes: float = DEFAULT_CENTRE_MINUTES,
    near_centre_factor: float = DEFAULT_NEAR_CENTRE_FACTOR,
    weights: GapWeights = GapWeights(),
) -> tuple[np.ndarray, np.ndarray]:
    """Weight of each origin: children 0-4 × deprivation weight × (factor if near a baseline centre).

    Returns
    -------
    (numpy.ndarray, numpy.ndarray)
        The weights and whether each origin is within ``centre_minutes`` of a centre.
    """
    _check_origins(area, travel_times)
    configuration = baseline_configuration(area)
    located = [venue for venue in configuration.centre_ids if venue in set(travel_times.destination_ids)]
    if located:
        near = minutes_to_nearest(travel_times, located) <= centre_minutes
    else:
        near = np.zeros(len(area.children), dtype=bool)
    deprivation = weights.weight(area.children[weights.index]).to_numpy(dtype=float)
    children = area.children["children_0_4"].to_numpy(dtype=float)
    return children * deprivation * np.where(near, near_centre_factor, 1.0), near


# ----------------------------------------------------------------------------------------- solvers
def check_plan_size(months: int, visits_per_month: int) -> None:
    """Check the plan length and monthly visit budget are whole numbers >= 1."""
    if isinstance(months, bool) or not isinstance(months, (int, np.integer)) or months < 1:
        msg = f"months must be a whole number >= 1, got {months!r}"
        raise InputError(msg, field="months")
    if isinstance(visits_per_month, bool) or not isinstance(visits_per_month, (int, np.integer)) or visits_per_month < 1:
        msg = f"visits per month must be a whole number >= 1, got {visits_per_month!r}"
        raise InputError(msg, field="visits_per_month")


def _check_fraction(value: float, name: str) -> None:
    if not 0.0 <= value <= 1.0:
        msg = f"{name} must be between 0 and 1, got {value!r}"
        raise InputError(msg, field=name)


def _windows(months: int, every: int) -> list[range]:
    """Windows of ``every`` consecutive months that lie inside the plan."""
    return [range(start, start + every) for start in range(months - every + 1)]


def plan_value(reach: np.ndarray, weights: np.ndarray, visits: np.ndarray, *, repeat_value: float) -> float:
    """Worth of a plan: Σ_i w_i (1 + q + … + q^(r_i - 1)), r_i = months in which origin i is reached.

    Parameters
    ----------
    reach
        Boolean (origins × groups): the group is within walking reach of the origin.
    weights
        Weight of each origin.
    visits
        Boolean (groups × months).
    repeat_value
        ``q``, the worth of each further month's contact relative to the one before.
    """
    reached_months = ((reach.astype(float) @ visits.astype(float)) > 0).sum(axis=1)
    worth = np.array([sum(repeat_value**k for k in range(r)) for r in range(visits.shape[1] + 1)])
    return float(weights @ worth[reached_months])


def _merge(reach: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Origins with positive weight merged by identical reach rows (weights summed); no-reach rows dropped."""
    keep = (weights > 0) & reach.any(axis=1)
    if not keep.any():
        return np.zeros((0, reach.shape[1]), dtype=bool), np.zeros(0)
    rows, inverse = np.unique(reach[keep], axis=0, return_inverse=True)
    return rows, np.bincount(inverse.ravel(), weights=weights[keep], minlength=len(rows))


def _rule_members(rule_groups: Sequence[Sequence[int]], n_groups: int) -> list[np.ndarray]:
    members = []
    for group_indices in rule_groups:
        indices = np.asarray(group_indices, dtype=int)
        if indices.size and (indices.min() < 0 or indices.max() >= n_groups):
            msg = f"rule names group index {int(indices.max())} but there are {n_groups} groups"
            raise InputError(msg, field="rules")
        members.append(indices)
    return members


def solve_visits(
    reach: np.ndarray,
    weights: np.ndarray,
    *,
    months: int,
    visits_per_month: int,
    rules: Sequence[tuple[Sequence[int], int]] = (),
    repeat_value: float = DEFAULT_REPEAT_VALUE,
    time_limit_s: float | None = DEFAULT_TIME_LIMIT_S,
) -> VisitSolution:
    """Choose visits exactly with a MILP (HiGHS via :func:`scipy.optimize.milp`).

    Parameters
    ----------
    reach
        Boolean (origins × groups): the group is within walking reach of the origin.
    weights
        Weight of each origin (weighted children).
    months, visits_per_month
        Plan length and the visit budget of every month.
    rules
        ``(group indices, every_months)`` per rule area: at least one visit to one of the groups
        in every window of ``every_months`` consecutive months (rules with no group are ignored).
    repeat_value
        Worth of each further month's contact with the same families relative to the one before.
    time_limit_s
        Stop after this many seconds with the best plan found (``status="time_limit"``, ``gap`` > 0).

    Raises
    ------
    InputError
        Bad sizes, or the rules cannot be met within the budget (infeasible).
    """
    check_plan_size(months, visits_per_month)
    _check_fraction(repeat_value, "repeat_value")
    started = time.perf_counter()
    n_groups = reach.shape[1]
    members = _rule_members([indices for indices, _ in rules], n_groups)
    patterns, merged = _merge(np.asarray(reach, dtype=bool), np.asarray(weights, dtype=float))
    n_patterns = len(merged)
    n_x, n_y = n_groups * months, n_patterns * months
    n_var = n_x + 2 * n_y

    def x_index(group: np.ndarray | int, month: np.ndarray | int) -> np.ndarray | int:
        return group * months + month

    blocks, lower, upper = [], [], []
    # y[p, m] <= Σ_{g reaches p} x[g, m]
    pattern_index, group_index = np.nonzero(patterns)
    row_ids, col_ids, values = [], [], []
    for month in range(months):
        row_ids += [np.arange(n_patterns) * months + month, pattern_index * months + month]
        col_ids += [n_x + np.arange(n_patterns) * months + month, x_index(group_index, month)]
        values += [np.ones(n_patterns), -np.ones(len(pattern_index))]
    blocks.append(_coo(row_ids, col_ids, values, (n_y, n_var)))
    lower.append(np.full(n_y, -np.inf))
    upper.append(np.zeros(n_y))
    # Σ_k u[p, k] <= Σ_m y[p, m]
    pattern_of = np.repeat(np.arange(n_patterns), months)
    blocks.append(
        _coo(
            [pattern_of, pattern_of],
            [n_x + n_y + np.arange(n_y), n_x + np.arange(n_y)],
            [np.ones(n_y), -np.ones(n_y)],
            (n_patterns, n_var),
        )
    )
    lower.append(np.full(n_patterns, -np.inf))
    upper.append(np.zeros(n_patterns))
    # Σ_g x[g, m] <= budget
    month_of = np.tile(np.arange(months), n_groups)
    blocks.append(_coo([month_of], [np.arange(n_x)], [np.ones(n_x)], (months, n_var)))
    lower.append(np.full(months, -np.inf))
    upper.append(np.full(months, float(visits_per_month)))
    # each rule area visited in every window
    window_rows, window_cols = [], []
    n_windows = 0
    for indices, (_, every) in zip(members, rules, strict=True):
        if indices.size == 0:
            continue
        for window in _windows(months, every):
            cols = np.concatenate([x_index(indices, month) for month in window])
            window_rows.append(np.full(cols.size, n_windows))
            window_cols.append(cols)
            n_windows += 1
    if n_windows:
        blocks.append(_coo(window_rows, window_cols, [np.ones(c.size) for c in window_cols], (n_windows, n_var)))
        lower.append(np.ones(n_windows))
        upper.append(np.full(n_windows, np.inf))

    discount = repeat_value ** np.arange(months, dtype=float)
    cost = np.zeros(n_var)
    cost[:n_x] = VISIT_COST
    cost[n_x + n_y :] = -(merged[:, None] * discount[None, :]).ravel()
    integrality = np.zeros(n_var)
    integrality[:n_x] = 1
    options: dict[str, object] = {"disp": False, "mip_rel_gap": 0.0}
    if time_limit_s is not None:
        options["time_limit"] = float(time_limit_s)
    result = milp(
        cost,
        constraints=LinearConstraint(sparse.vstack(blocks, format="csr"), np.concatenate(lower), np.concatenate(upper)),
        bounds=Bounds(np.zeros(n_var), np.ones(n_var)),
        integrality=integrality,
        options=options,
    )
    status = status_name(result.status)
    if result.x is None:
        if status == "infeasible":
            monthly = sum(1 for indices, (_, every) in zip(members, rules, strict=True) if indices.size and every == 1)
            msg = (
                f"the frequency rules cannot be met with {visits_per_month} visits a month over {months} months "
                f"({monthly} areas need a visit every month); raise the visits per month or relax the rules"
            )
            raise InputError(msg, field="visits_per_month")
        msg = f"HiGHS found no plan ({result.message.strip()}); raise the time limit"
        raise InputError(msg, field="time_limit_s")
    visits = np.round(result.x[:n_x]).reshape(n_groups, months).astype(bool)
    gap = float(getattr(result, "mip_gap", 0.0) or 0.0)
    return VisitSolution(
        visits=visits,
        objective=plan_value(patterns, merged, visits, repeat_value=repeat_value),
        status=status,
        gap=gap,
        method="milp (HiGHS branch-and-cut via scipy.optimize.milp)",
        seconds=time.perf_counter() - started,
    )


def _coo(rows: list[np.ndarray], cols: list[np.ndarray], values: list[np.ndarray], shape: tuple[int, int]) -> sparse.csr_array:
    return sparse.csr_array(
        (np.concatenate(values), (np.concatenate(rows).astype(int), np.concatenate(cols).astype(int))), shape=shape
    )


def greedy_visits(
    reach: np.ndarray,
    weights: np.ndarray,
    *,
    months: int,
    visits_per_month: int,
    rules: Sequence[tuple[Sequence[int], int]] = (),
    repeat_value: float = DEFAULT_REPEAT_VALUE,
) -> VisitSolution:
    """Greedy baseline: month by month, the visit with the largest marginal worth, meeting the rules.

    A rule area whose window closes this month and has had no visit in it is "due"; while the
    budget left equals the number of due areas still unvisited, only their groups are eligible.
    ``status`` is ``heuristic``, or ``infeasible`` when more areas fall due than the budget allows
    (the greedy plan then breaks a rule; the MILP may still meet them).
    """
    check_plan_size(months, visits_per_month)
    _check_fraction(repeat_value, "repeat_value")
    started = time.perf_counter()
    reach = np.asarray(reach, dtype=bool)
    weights = np.asarray(weights, dtype=float)
    n_groups = reach.shape[1]
    members = _rule_members([indices for indices, _ in rules], n_groups)
    area_of = np.full(n_groups, -1)
    for number, indices in enumerate(members):
        area_of[indices] = number
    visits = np.zeros((n_groups, months), dtype=bool)
    reached_months = np.zeros(reach.shape[0], dtype=int)
    status = "heuristic"
    for month in range(months):
        due = set()
        for number, (indices, (_, every)) in enumerate(zip(members, rules, strict=True)):
            start = month - every + 1
            if indices.size and 0 <= start <= months - every and not visits[indices, start:month].any():
                due.add(number)
        reached_now = np.zeros(reach.shape[0], dtype=bool)
        for left in range(visits_per_month, 0, -1):
            unmet = due - {area_of[g] for g in np.flatnonzero(visits[:, month])}
            if len(unmet) > left:
                status = "infeasible"
            eligible = ~visits[:, month]
            if len(unmet) >= left:
                eligible &= np.isin(area_of, list(unmet))
            if not eligible.any():
                break
            fresh = weights * np.where(reached_now, 0.0, repeat_value**reached_months)
            gains = np.where(eligible, fresh @ reach, -np.inf)
            if gains.max() <= 0:
                if not unmet:
                    break
                # Nothing left to gain: spend the visit on a rule that is due rather than on no one.
                gains = np.where(eligible & np.isin(area_of, list(unmet)), 0.0, -np.inf)
            best = int(np.argmax(gains))
            visits[best, month] = True
            reached_now |= reach[:, best]
        reached_months += reached_now
    for indices, (_, every) in zip(members, rules, strict=True):
        if indices.size and not all(visits[np.ix_(indices, list(window))].any() for window in _windows(months, every)):
            status = "infeasible"
    return VisitSolution(
        visits=visits,
        objective=plan_value(reach, weights, visits, repeat_value=repeat_value),
        status=status,
        gap=math.nan,
        method="greedy (largest marginal weighted children per visit)",
        seconds=time.perf_counter() - started,
    )


# --------------------------------------------------------------------------------------- the plan
def parse_start(text: str | None, *, today: date | None = None) -> date:
    """First day of the plan's first month: ``YYYY-MM``, or next month when ``None``."""
    if text is None:
        today = today or datetime.now(UTC).date()
        return date(today.year + today.month // 12, today.month % 12 + 1, 1)
    try:
        parsed = datetime.strptime(text.strip(), "%Y-%m").date()
    except ValueError:
        msg = f"start month must look like YYYY-MM, got {text!r}"
        raise InputError(msg, field="start") from None
    return parsed.replace(day=1)


def _add_months(first: date, count: int) -> date:
    index = first.month - 1 + count
    return date(first.year + index // 12, index % 12 + 1, 1)


def visit_date(month_start: date, day: str) -> tuple[date, str]:
    """The group's first meeting day in the month where known, else the month's first weekday."""
    if day in WEEKDAYS:
        offset = (WEEKDAYS.index(day) - month_start.weekday()) % 7
        return month_start + timedelta(days=offset), "meeting day"
    current = month_start
    while current.weekday() >= FIRST_WEEKEND_DAY:
        current += timedelta(days=1)
    return current, "first weekday (meeting day unknown)"


@dataclass
class OutreachPlan:
    """A visit plan with its greedy baseline, the groups and their reach.

    Attributes
    ----------
    visits
        One row per planned visit: ``month_number, month, date, date_basis, venue_id, name, kind,
        ward_name, rule_area, day, children_reached, children_beyond_centres, weighted_children``.
    groups
        Every located group (EPSG:27700) with its reach and ``visits`` in the plan.
    reach
        Visited groups' reach as areas (EPSG:27700): hull of the postcodes they reach.
    milp, greedy
        The exact plan and the greedy baseline.
    summary
        JSON-safe description: objectives, status, gap, method, parameters, rules, warnings.
    warnings
        One line each (counted: "9 of 41 groups ...").
    """

    visits: pd.DataFrame
    groups: gpd.GeoDataFrame
    reach: gpd.GeoDataFrame
    milp: VisitSolution
    greedy: VisitSolution
    summary: dict[str, object]
    warnings: list[str] = field(default_factory=list)

    def to_ics(self) -> bytes:
        """The plan as an iCalendar file: one all-day VEVENT per visit."""
        from icalendar import Calendar, Event

        cal = Calendar()
        cal.add("prodid", "-//geoplan//outreach planner//EN")
        cal.add("version", "2.0")
        cal.add("x-wr-calname", f"Outreach visits, {self.summary['area']}")
        stamp = datetime.now(UTC)
        groups = self.groups.set_index("venue_id")
        for row in self.visits.itertuples():
            group = groups.loc[row.venue_id]
            event = Event()
            event.add("uid", f"outreach-{row.month}-{row.venue_id}@geoplan")
            event.add("dtstamp", stamp)
            event.add("dtstart", row.date)
            event.add("dtend", row.date + timedelta(days=1))
            event.add("summary", f"Outreach visit: {row.name}")
            event.add("location", ", ".join(part for part in (group["address"], group["postcode"]) if part))
            event.add(
                "description",
                f"{row.children_reached} children aged 0-4 live within {self.summary['group_minutes']:g} minutes' "
                f"walk ({row.children_beyond_centres} of them beyond {self.summary['centre_minutes']:g} minutes of a "
                f"children's centre). Ward: {row.ward_name}. Rule area: {row.rule_area or 'none'}. "
                f"Date: {row.date_basis}.",
            )
            cal.add_component(event)
        return cal.to_ical()

    def write(self, out_dir: str | os.PathLike[str]) -> list[Path]:
        """Write ``visit_plan.csv``, ``visit_plan.ics``, ``visit_plan.gpkg`` and ``summary.json`` atomically."""
        out_dir = Path(out_dir)
        names = ["visit_plan.csv", "visit_plan.ics", "visit_plan.gpkg", "summary.json"]
        with atomic_directory(out_dir) as staging:
            self.visits.to_csv(staging / names[0], index=False)
            (staging / names[1]).write_bytes(self.to_ics())
            visited = self.groups[self.groups["visits"] > 0]
            visited.to_file(staging / names[2], layer="visited_groups", driver="GPKG")
            self.reach.to_file(staging / names[2], layer="group_reach", driver="GPKG")
            (staging / names[3]).write_text(json.dumps(self.summary, indent=2, default=str), encoding="utf-8")
        return [out_dir / name for name in names]


def _solution_summary(solution: VisitSolution, reach: np.ndarray, children: np.ndarray) -> dict[str, object]:
    reached = (reach.astype(float) @ solution.visits.astype(float)).sum(axis=1) > 0
    return {
        "method": solution.method,
        "status": solution.status,
        "objective": round(solution.objective, 3),
        "mip_gap": None if math.isnan(solution.gap) else solution.gap,
        "visits": int(solution.visits.sum()),
        "children_reached_at_least_once": round(float(children[reached].sum()), 1),
        "seconds": round(solution.seconds, 3),
    }


def _rule_areas(
    area: StudyArea, groups: gpd.GeoDataFrame, rules: Sequence[OutreachRule], warnings: list[str]
) -> tuple[np.ndarray, list[tuple[np.ndarray, int]], list[dict[str, object]]]:
    """Each group's rule area name, each rule's group indices, and a description of each rule."""
    ward_names = area.wards.set_index("ward_code")["ward_name"]
    rule_of = np.full(len(groups), "", dtype=object)
    pairs, rows, empty = [], [], []
    for rule in rules:
        members = np.flatnonzero(groups["ward_code"].isin(rule.ward_codes).to_numpy())
        rule_of[members] = rule.name
        pairs.append((members, rule.every_months))
        rows.append({"name": rule.name, "every_months": rule.every_months, "groups": int(members.size),
                     "wards": [ward_names[code] for code in rule.ward_codes]})  # fmt: skip
        if members.size == 0:
            empty.append(rule.name)
    if empty:
        warnings.append(f"{len(empty)} rule areas have no located group and are not enforced: {', '.join(empty)}")
    ruled = {code for rule in rules for code in rule.ward_codes}
    uncovered = sorted(ward_names[~ward_names.index.isin(ruled)])
    if rules and uncovered:
        warnings.append(f"{len(uncovered)} wards are in no rule area: {', '.join(uncovered)}")
    return rule_of, pairs, rows


def plan_outreach(
    area: StudyArea,
    travel_times: object | None = None,
    *,
    months: int,
    visits_per_month: int,
    rules: Sequence[OutreachRule] | str | os.PathLike[str] | None = None,
    start: date | str | None = None,
    profile: str = "buggy",
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
    area
        The study area.
    travel_times
        Child points × located venues walking minutes; built with
        :func:`geoplan.traveltime.study_area_travel_times` for ``profile`` when omitted.
    months, visits_per_month
        Plan length and visit budget per month.
    rules
        Frequency rules, or a rules file; ``outreach.yaml`` beside the venue file when omitted
        (no rules, with a warning, if there is none).
    start
        First month (``date`` or ``YYYY-MM``); next month when omitted.
    group_minutes
        Walking minutes within which a visit to a group reaches the families living there.
    centre_minutes, near_centre_factor
        Children within ``centre_minutes`` of a baseline centre count ``near_centre_factor``.
    repeat_value
        Worth of each further month's contact with the same families relative to the one before.
    time_limit_s
        HiGHS time limit; the summary gives the gap if the plan is not proven optimal in time.
    """
    check_plan_size(months, visits_per_month)
    _check_fraction(near_centre_factor, "near_centre_factor")
    _check_fraction(repeat_value, "repeat_value")
    for value, name in ((group_minutes, "group_minutes"), (centre_minutes, "centre_minutes")):
        if not (np.isfinite(value) and value > 0):
            msg = f"{name} must be a positive number of minutes, got {value!r}"
            raise InputError(msg, field=name)
    first_month = start if isinstance(start, date) else parse_start(start)
    first_month = first_month.replace(day=1)
    warnings: list[str] = []
    rules_path: Path | None = None
    if rules is None:
        rules_path = default_rules_path(area)
        if rules_path is None:
            warnings.append(f"no {RULES_FILE_NAME} beside the venue file: the plan follows no frequency rules")
    elif isinstance(rules, (str, os.PathLike)):
        rules_path = Path(rules)
    rule_list = load_outreach_rules(rules_path, area) if rules_path is not None else list(rules or [])

    groups, group_warnings = outreach_groups(area)
    warnings += group_warnings
    if groups.empty:
        msg = f"no located outreach group (kinds {', '.join(GROUP_KINDS)}) in the venue file"
        raise InputError(msg, path=area.catalogue.resolve(area.catalogue.venues.file), field="kind")
    if travel_times is None:
        from geoplan.traveltime import study_area_travel_times

        travel_times = study_area_travel_times(area, profile=profile)
    weight, near = child_weights(
        area, travel_times, centre_minutes=centre_minutes, near_centre_factor=near_centre_factor, weights=weights
    )
    position = {venue: index for index, venue in enumerate(travel_times.destination_ids)}
    missing = [venue for venue in groups["venue_id"] if venue not in position]
    if missing:
        msg = f"venue {missing[0]!r} has no travel times (rebuild the matrix for this area)"
        raise InputError(msg, field="venues")
    minutes = np.asarray(travel_times.minutes)[:, [position[venue] for venue in groups["venue_id"]]]
    reach = minutes <= group_minutes

    rule_of, rule_pairs, rule_rows = _rule_areas(area, groups, rule_list, warnings)

    exact = solve_visits(reach, weight, months=months, visits_per_month=visits_per_month, rules=rule_pairs,
                         repeat_value=repeat_value, time_limit_s=time_limit_s)  # fmt: skip
    greedy = greedy_visits(reach, weight, months=months, visits_per_month=visits_per_month, rules=rule_pairs,
                           repeat_value=repeat_value)  # fmt: skip
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
    rows = []
    for month in range(months):
        month_start = _add_months(first_month, month)
        for index in np.flatnonzero(exact.visits[:, month]):
            group = groups.iloc[index]
            day, basis = visit_date(month_start, group["day"])
            rows.append({"month_number": month + 1, "month": month_start.strftime("%Y-%m"), "date": day,
                         "date_basis": basis, "venue_id": group["venue_id"], "name": group["name"],
                         "kind": group["kind"], "ward_name": group["ward_name"], "rule_area": group["rule_area"],
                         "day": group["day"], "children_reached": group["children_reached"],
                         "children_beyond_centres": group["children_beyond_centres"],
                         "weighted_children": group["weighted_children"]})  # fmt: skip
    visits = pd.DataFrame(rows)
    if not visits.empty:
        visits = visits.sort_values(["month_number", "weighted_children"], ascending=[True, False], kind="stable")
    visits = visits.reset_index(drop=True)
    groups["months_visited"] = [
        ";".join(_add_months(first_month, month).strftime("%Y-%m") for month in np.flatnonzero(exact.visits[index]))
        for index in range(len(groups))
    ]

    origins = area.children.geometry
    hulls = []
    visited_index = np.flatnonzero(exact.visits.any(axis=1))
    for index in visited_index:
        points = origins[reach[:, index]].union_all().union(groups.geometry.iloc[index])
        hulls.append(points.convex_hull.buffer(REACH_HALO_M))
    reach_layer = gpd.GeoDataFrame(
        groups.iloc[visited_index].drop(columns="geometry").reset_index(drop=True),
        geometry=gpd.GeoSeries(hulls, crs=settings.measure_crs),
        crs=settings.measure_crs,
    )
    proven = exact.status == "optimal" and exact.gap <= 0
    if proven:
        statement = f"Exact plan (MILP, HiGHS): proven optimal, gap {exact.gap:.2%}."
    else:
        statement = f"Best plan HiGHS found in the time limit (status {exact.status}); within {exact.gap:.2%} of optimal."
    summary: dict[str, object] = {
        "area": area.name,
        "la_code": area.la_code,
        "start": first_month.strftime("%Y-%m"),
        "months": months,
        "visits_per_month": visits_per_month,
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
        visits=visits, groups=groups, reach=reach_layer, milp=exact, greedy=greedy, summary=summary, warnings=warnings
    )
