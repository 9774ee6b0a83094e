"""Comparing two scenarios of one study area: who gains and who loses a walk, by decile and ward.

Both configurations are measured on the same travel-time matrix, so a committee sees, by national
deprivation decile and by ward, who gains and who loses a walk to a children's centre, how the
reach of each session type moves, and how E2SFCA accessibility changes: the evidence the
sufficiency duty (Childcare Act 2006 s.5A) and the equality duty (Equality Act 2010 s.149) ask for.
Children are never listed by postcode: every output aggregates to LSOA, ward or decile.
"""

from __future__ import annotations

import json
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan import settings
from geoplan.coverage import (
    MOST_DEPRIVED_30_DECILES,
    CoverageResult,
    e2sfca,
    e2sfca_change,
    measure_coverage,
    venue_supply,
)
from geoplan.fileio import atomic_directory, atomic_path
from geoplan.programme import Configuration
from geoplan.scenarios.apply import AppliedScenario, apply_scenario, describe_changes
from geoplan.scenarios.load import resolve_scenario
from geoplan.scenarios.schema import BASELINE, Scenario, ScenarioSettings, base_accepts, baseline_scenario
from geoplan.studyarea import StudyArea
from geoplan.text import json_safe
from geoplan.traveltime import TravelTimeMatrix

if TYPE_CHECKING:
    from geoplan.workspace import Workspace

#: E2SFCA is reported in sessions per week per this many children (per child the numbers are tiny).
E2SFCA_PER_CHILDREN = 1000
SUPPLY_MEASURE = "sessions_per_week"
DECILES = tuple(range(1, 11))
#: Columns of the equality-impact tables, in order.
IMPACT_COLUMNS = (
    "children",
    "covered_before",
    "covered_after",
    "change",
    "share_before",
    "share_after",
    "share_change_pts",
    "children_losing",
    "children_gaining",
    "e2sfca_before",
    "e2sfca_after",
    "e2sfca_change",
)
#: Children losing and gaining a walk (per origin, then summed): to a centre, to any session venue, to a session type.
GAIN_LOSS_COLUMNS = (
    "children_losing",
    "children_gaining",
    "session_losing",
    "session_gaining",
    "types_losing",
    "types_gaining",
)
#: Columns of the session-type reach table, in order (before ``change``).
SESSION_TYPE_COLUMNS = (
    "session_type",
    "venues_before",
    "venues_after",
    "covered_before",
    "covered_after",
    "children_losing",
    "children_gaining",
)
#: Measured "before" configurations kept per process (the app compares every edit with one baseline).
MEASURED_CACHE_SIZE = 8


def _nearest(travel_times: TravelTimeMatrix, venue_ids: Sequence[str]) -> np.ndarray:
    available = set(travel_times.destination_ids)
    located = [venue for venue in venue_ids if venue in available]
    if not located:
        return np.full(len(travel_times.origin_ids), np.inf)
    return travel_times.minutes_to_nearest(located)


@dataclass
class Measured:
    """One configuration measured on the area: per-origin minutes, reach and accessibility."""

    applied: AppliedScenario
    coverage: CoverageResult
    centre_minutes: np.ndarray
    session_minutes: np.ndarray
    type_reach: dict[str, np.ndarray]
    accessibility: np.ndarray
    type_venues: dict[str, list[str]]


def _hosting(configuration: Configuration) -> dict[str, list[str]]:
    """Open venues hosting each session type (as ``configuration.venue_ids(session_types=[type])``), in one pass."""
    by_type = configuration.sessions.groupby("session_type")["venue_id"].agg(set)
    return {
        kind: [venue for venue in configuration.open_venue_ids if venue in hosts] for kind, hosts in by_type.items()
    }


def measure(area: StudyArea, applied: AppliedScenario, options: ScenarioSettings) -> Measured:
    """Coverage, minutes to the nearest centre and session venue, session-type reach and E2SFCA of ``applied``."""
    configuration = applied.configuration
    travel_times = applied.travel_times
    centres = applied.located_ids(configuration.centre_ids)
    if not centres:
        msg = "no open children's centre with a known location is left, so coverage cannot be measured"
        raise applied.scenario.error(msg, ("changes",))
    coverage = measure_coverage(
        area, travel_times, venue_ids=centres, bands=options.bands, population=options.population
    )
    types = sorted(set(configuration.sessions["session_type"]))
    hosting = _hosting(configuration)
    reach = {kind: _nearest(travel_times, hosting[kind]) <= options.headline_minutes for kind in types}
    supply = venue_supply(configuration, applied.located_ids(configuration.open_venue_ids), measure=SUPPLY_MEASURE)
    accessibility = e2sfca(area, travel_times, supply=supply, population=options.population).to_numpy()
    return Measured(
        applied=applied,
        coverage=coverage,
        centre_minutes=_nearest(travel_times, centres),
        session_minutes=_nearest(travel_times, configuration.venue_ids(session_types=types)),
        type_reach=reach,
        accessibility=accessibility * E2SFCA_PER_CHILDREN,
        type_venues=hosting,
    )


_measured: OrderedDict[tuple[int, int, str], tuple[StudyArea, TravelTimeMatrix, Measured]] = OrderedDict()
_measured_lock = threading.Lock()


def _measure_once(
    area: StudyArea, travel_times: TravelTimeMatrix, scenario: Scenario, options: ScenarioSettings
) -> Measured:
    """:func:`measure` of ``scenario``, kept for the last few (area, matrix, scenario, settings) asked for."""
    text = json.dumps([scenario.model_dump(mode="json"), str(scenario.base_path()), options.model_dump(mode="json")])
    key = (id(area), id(travel_times), text)
    with _measured_lock:
        hit = _measured.get(key)
        if hit is not None and hit[0] is area and hit[1] is travel_times:
            _measured.move_to_end(key)
            return hit[2]
    result = measure(area, apply_scenario(area, scenario, travel_times), options)
    with _measured_lock:
        _measured[key] = (area, travel_times, result)
        while len(_measured) > MEASURED_CACHE_SIZE:
            _measured.popitem(last=False)
    return result


def _impact(frame: pd.DataFrame, by: str, groups: Sequence[object] | None = None) -> pd.DataFrame:
    """Equality-impact table: children, covered before/after, change, share change, losers, gainers, E2SFCA.

    ``groups`` lists every group to show, so a decile with no children still has a row.
    """
    summed = ["children", "covered_before", "covered_after", *GAIN_LOSS_COLUMNS, "e2sfca_before_w", "e2sfca_after_w"]
    sums = frame.groupby(by, sort=True)[summed].sum()
    if groups is not None:
        sums = sums.reindex(pd.Index(groups, name=by), fill_value=0.0)
    table = sums.reset_index()
    children = table["children"].where(table["children"] > 0)
    table["change"] = table["covered_after"] - table["covered_before"]
    table["share_before"] = table["covered_before"] / children
    table["share_after"] = table["covered_after"] / children
    table["share_change_pts"] = (table["share_after"] - table["share_before"]) * 100
    table["e2sfca_before"] = table.pop("e2sfca_before_w") / children
    table["e2sfca_after"] = table.pop("e2sfca_after_w") / children
    table["e2sfca_change"] = table["e2sfca_after"] - table["e2sfca_before"]
    extra = [column for column in GAIN_LOSS_COLUMNS if column not in IMPACT_COLUMNS]
    return table[[by, *IMPACT_COLUMNS, *extra]]


@dataclass
class ScenarioComparison:
    """Before and after of two configurations of one study area, on the same travel times.

    Attributes
    ----------
    before, after
        The applied scenarios (``before`` is the one compared against, often the baseline).
    method, profile
        How travel times were obtained (``network`` or ``crow-fly``) and the walking profile.
    headline_minutes
        The walking band of the gain/loss and equality-impact tables.
    population
        Which children are counted (``children_0_4``, ``under_3`` or ``under_2``).
    coverage_before, coverage_after
        Coverage to children's centres at every band.
    summary
        Headline numbers (children, covered before/after, losing, gaining, E2SFCA, session venues).
    by_imd_decile, by_idaci_decile, by_ward, by_lsoa
        Equality-impact tables at ``headline_minutes`` (see :data:`IMPACT_COLUMNS`).
    session_types
        Children within ``headline_minutes`` of a venue hosting each session type, before and after.
    changed_areas
        LSOAs where children gain or lose a walk to a centre, to any session venue, or to a
        session type (EPSG:27700).
    centre_minutes
        Minutes from each child origin to the nearest open, located centre after the change.
    """

    before: AppliedScenario
    after: AppliedScenario
    method: str
    profile: str
    headline_minutes: float
    population: str
    coverage_before: CoverageResult
    coverage_after: CoverageResult
    summary: dict[str, object]
    by_imd_decile: pd.DataFrame
    by_idaci_decile: pd.DataFrame
    by_ward: pd.DataFrame
    by_lsoa: pd.DataFrame
    session_types: pd.DataFrame
    changed_areas: gpd.GeoDataFrame
    centre_minutes: np.ndarray

    @property
    def stem(self) -> str:
        """File name stem of the outputs: ``<after>-vs-<before>``."""
        return f"{self.after.scenario.name}-vs-{self.before.scenario.name}"

    def _scenario_dict(self, applied: AppliedScenario) -> dict[str, object]:
        scenario = applied.scenario
        return {
            "name": scenario.name,
            "title": scenario.title,
            "file": str(scenario.path) if scenario.path is not None else None,
            "changes": describe_changes(scenario, names=applied.names()),
            "centres": list(applied.configuration.centre_ids),
            "open_venues": len(applied.configuration.open_venue_ids),
            "sessions": len(applied.configuration.sessions),
            "moved_sessions": json_safe(applied.moved_sessions),
            "stopped_sessions": list(applied.dropped_sessions["session_id"]),
            "not_counted": applied.uncounted(),
        }

    def to_dict(self) -> dict[str, object]:
        """JSON-safe metrics (no postcode-level rows: the finest grain is the LSOA)."""
        changed = self.by_lsoa[self.by_lsoa["lsoa_code"].isin(self.changed_areas["lsoa_code"])]
        return json_safe(
            {
                "method": self.method,
                "profile": self.profile,
                "headline_minutes": self.headline_minutes,
                "population": self.population,
                "e2sfca_units": f"{SUPPLY_MEASURE.replace('_', ' ')} per {E2SFCA_PER_CHILDREN:,} children",
                "before": self._scenario_dict(self.before),
                "after": self._scenario_dict(self.after),
                "summary": self.summary,
                "coverage_before": self.coverage_before.to_dict(),
                "coverage_after": self.coverage_after.to_dict(),
                "equality_impact": {
                    "by_imd_decile": self.by_imd_decile,
                    "by_idaci_decile": self.by_idaci_decile,
                    "by_ward": self.by_ward,
                },
                "changed_lsoas": changed,
                "session_types": self.session_types,
            }
        )

    def write(self, out_dir: str | Path) -> list[Path]:
        """Write ``<stem>.json``, ``<stem>.gpkg`` (changed areas) and ``<stem>.html`` into ``out_dir`` atomically."""
        out_dir = Path(out_dir)
        names = [f"{self.stem}.json", f"{self.stem}.gpkg", f"{self.stem}.html"]
        with atomic_directory(out_dir) as staging:
            (staging / names[0]).write_text(json.dumps(self.to_dict(), indent=2) + "\n", encoding="utf-8")
            with atomic_path(staging / names[1]) as tmp:
                self.changed_areas.to_file(tmp, layer="changed_areas", driver="GPKG")
            (staging / names[2]).write_text(self.report_html(), encoding="utf-8")
        return [out_dir / name for name in names]

    def report_html(self) -> str:
        """An HTML fragment (one ``<section>``) the committee report embeds."""
        from geoplan.scenarios.html import report_html

        return report_html(self)


def compare(
    area: StudyArea, travel_times: TravelTimeMatrix, scenario_a: Scenario, scenario_b: Scenario
) -> ScenarioComparison:
    """Compare configuration ``scenario_b`` (after) with ``scenario_a`` (before) on one study area.

    Parameters
    ----------
    area
        The study area both scenarios apply to.
    travel_times
        The area's origin × venue matrix, computed with ``scenario_b.settings.profile``.
    scenario_a, scenario_b
        Before and after (:func:`baseline_scenario` for the current programme). The settings
        (bands, profile, headline minutes, population) of ``scenario_b`` are used.

    Returns
    -------
    ScenarioComparison
    """
    options = scenario_b.settings
    if travel_times.profile != options.profile_name:
        msg = (
            f"travel times are for the {travel_times.profile!r} profile, the scenario asks for {options.profile_name!r}"
        )
        raise scenario_b.error(msg, ("settings", "profile"))
    before = _measure_once(area, travel_times, scenario_a, options)
    after = measure(area, apply_scenario(area, scenario_b, travel_times), options)
    headline = options.headline_minutes
    children = area.children[options.population].to_numpy(dtype=float)
    covered_before = before.centre_minutes <= headline
    covered_after = after.centre_minutes <= headline
    session_before = before.session_minutes <= headline
    session_after = after.session_minutes <= headline
    types = sorted(set(before.type_reach) | set(after.type_reach))
    nobody = np.zeros(len(children), dtype=bool)
    reach_before = {kind: before.type_reach.get(kind, nobody) for kind in types}
    reach_after = {kind: after.type_reach.get(kind, nobody) for kind in types}
    lost_type = np.any([reach_before[kind] & ~reach_after[kind] for kind in types] or [nobody], axis=0)
    gained_type = np.any([~reach_before[kind] & reach_after[kind] for kind in types] or [nobody], axis=0)

    frame = pd.DataFrame(area.children[["lsoa_code", "ward_code", "imd_decile", "idaci_decile"]]).reset_index(drop=True)
    frame["children"] = children
    frame["covered_before"] = children * covered_before
    frame["covered_after"] = children * covered_after
    frame["children_losing"] = children * (covered_before & ~covered_after)
    frame["children_gaining"] = children * (~covered_before & covered_after)
    frame["session_losing"] = children * (session_before & ~session_after)
    frame["session_gaining"] = children * (~session_before & session_after)
    frame["types_losing"] = children * lost_type
    frame["types_gaining"] = children * gained_type
    frame["e2sfca_before_w"] = children * before.accessibility
    frame["e2sfca_after_w"] = children * after.accessibility

    ward_names = area.wards.set_index("ward_code")["ward_name"]
    by_ward = _impact(frame, "ward_code")
    by_ward.insert(1, "ward_name", by_ward["ward_code"].map(ward_names))
    lsoa_info = area.lsoas[["lsoa_code", "lsoa_name", "ward_code", "ward_name", "imd_decile", "idaci_decile"]]
    by_lsoa = lsoa_info.merge(_impact(frame, "lsoa_code"), on="lsoa_code", how="left", validate="one_to_one")
    moved = by_lsoa[list(GAIN_LOSS_COLUMNS)].gt(0).any(axis=1)
    geometry = area.lsoas.set_index("lsoa_code").geometry
    changed = by_lsoa[moved].reset_index(drop=True)
    changed_areas = gpd.GeoDataFrame(
        changed.assign(method=travel_times.method),
        geometry=changed["lsoa_code"].map(geometry).to_numpy(),
        crs=settings.measure_crs,
    )

    def venues_hosting(measured: Measured, kind: str) -> int:
        return len(measured.applied.located_ids(measured.type_venues.get(kind, [])))

    session_types = pd.DataFrame(
        [
            {
                "session_type": kind,
                "venues_before": venues_hosting(before, kind),
                "venues_after": venues_hosting(after, kind),
                "covered_before": float(children[reach_before[kind]].sum()),
                "covered_after": float(children[reach_after[kind]].sum()),
                "children_losing": float(children[reach_before[kind] & ~reach_after[kind]].sum()),
                "children_gaining": float(children[~reach_before[kind] & reach_after[kind]].sum()),
            }
            for kind in types
        ],
        columns=list(SESSION_TYPE_COLUMNS),
    )
    session_types["change"] = session_types["covered_after"] - session_types["covered_before"]

    deprived = frame["imd_decile"].isin(MOST_DEPRIVED_30_DECILES).to_numpy()
    total = float(children.sum())
    summary = {
        "children": total,
        "centres_before": len(before.applied.configuration.centre_ids),
        "centres_after": len(after.applied.configuration.centre_ids),
        "located_centres_before": len(before.coverage.venue_ids),
        "located_centres_after": len(after.coverage.venue_ids),
        "covered_before": float(frame["covered_before"].sum()),
        "covered_after": float(frame["covered_after"].sum()),
        "share_before": float(frame["covered_before"].sum() / total),
        "share_after": float(frame["covered_after"].sum() / total),
        "children_losing": float(frame["children_losing"].sum()),
        "children_gaining": float(frame["children_gaining"].sum()),
        "most_deprived_30": {
            "children": float(children[deprived].sum()),
            "covered_before": float(frame.loc[deprived, "covered_before"].sum()),
            "covered_after": float(frame.loc[deprived, "covered_after"].sum()),
            "children_losing": float(frame.loc[deprived, "children_losing"].sum()),
            "children_gaining": float(frame.loc[deprived, "children_gaining"].sum()),
        },
        "session_venues": {
            "covered_before": float(children[session_before].sum()),
            "covered_after": float(children[session_after].sum()),
            "children_losing": float(frame["session_losing"].sum()),
            "children_gaining": float(frame["session_gaining"].sum()),
        },
        "children_losing_a_session_type": float(frame["types_losing"].sum()),
        "children_gaining_a_session_type": float(frame["types_gaining"].sum()),
        "e2sfca": {
            "before": float(frame["e2sfca_before_w"].sum() / total),
            "after": float(frame["e2sfca_after_w"].sum() / total),
            "change": float((frame["e2sfca_after_w"].sum() - frame["e2sfca_before_w"].sum()) / total),
        },
        # The mean above cannot move when sessions only move (it is total supply ÷ children): these can.
        "accessibility": e2sfca_change(area, before.accessibility, after.accessibility, population=options.population),
        "lsoas_changed": len(changed_areas),
    }
    return ScenarioComparison(
        before=before.applied,
        after=after.applied,
        method=travel_times.method,
        profile=travel_times.profile,
        headline_minutes=headline,
        population=options.population,
        coverage_before=before.coverage,
        coverage_after=after.coverage,
        summary=summary,
        by_imd_decile=_impact(frame, "imd_decile", DECILES),
        by_idaci_decile=_impact(frame, "idaci_decile", DECILES),
        by_ward=by_ward,
        by_lsoa=by_lsoa,
        session_types=session_types,
        changed_areas=changed_areas,
        centre_minutes=after.centre_minutes,
    )


def run_scenario(
    path: str | Path,
    *,
    against: str | Path = BASELINE,
    workspace: Workspace | None = None,
    data_dir: str | Path | None = None,
) -> ScenarioComparison:
    """Load a scenario and compare it with ``against`` on its study area's travel times.

    Parameters
    ----------
    path
        The scenario file (or the name of a shipped scenario).
    against
        ``baseline`` (the venue and session files) or another scenario of the same study area.
    workspace
        The study area's workspace (its area must be the scenario's ``base``); made from the
        scenario's ``base`` when omitted. A scenario without ``base`` is for the workspace's
        area (``settings.default_area`` without a workspace).
    data_dir
        A folder of source files searched first, for a workspace made here.
    """
    from geoplan.workspace import Workspace

    after = resolve_scenario(path).on_area(workspace.area_path if workspace is not None else settings.default_area)
    base = after.base_path()
    before = baseline_scenario(base) if str(against) == BASELINE else resolve_scenario(against).on_area(base)
    if not base.is_file():
        msg = f"layer catalogue {base} not found; {base_accepts()}"
        raise after.error(msg, ("base",))
    if before.base_path() != base:
        msg = f"compares a different study area ({before.base_path()}) from {after.path} ({base})"
        raise before.error(msg, ("base",))
    if workspace is None:
        workspace = Workspace(base, profile=after.settings.profile, data_dir=data_dir)
    elif workspace.area_path != base:
        msg = f"the scenario is for {base}, not for the study area {workspace.area_path}"
        raise after.error(msg, ("base",))
    for scenario in (before, after):
        apply_scenario(workspace.area, scenario)
    return compare(workspace.area, workspace.travel_times(after.settings.profile), before, after)
