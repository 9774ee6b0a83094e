"""What the committee outputs are made from: one or two venue configurations measured on one workspace.

A :class:`Committee` holds the study area's :class:`~geoplan.workspace.Workspace`, one measured
view (the current programme or a scenario) or two (before and after, with the scenarios engine's
:class:`~geoplan.scenarios.ScenarioComparison`). The map, the figure, the report and the PDF are
drawn from it, so a figure quoted in two of them is one computation under one setting.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np

from geoplan import settings
from geoplan.bands import HEADLINE_MINUTES
from geoplan.catchments import study_area_catchments
from geoplan.coverage import CoverageResult, GapResult, find_gaps, measure_coverage
from geoplan.errors import InputError
from geoplan.outputs import figure as static
from geoplan.outputs.maps import build_map, compare_maps
from geoplan.outputs.style import DECILE_COLORS, centres_phrase, decile_label
from geoplan.programme import Configuration
from geoplan.scenarios import (
    BASELINE,
    AppliedScenario,
    ScenarioComparison,
    apply_scenario,
    baseline_scenario,
    compare,
    resolve_scenario,
)
from geoplan.studyarea import StudyArea
from geoplan.text import esc
from geoplan.workspace import Workspace

#: How travel times were obtained, in the headline's words.
#: How the current programme is called in titles (the scenario files call it "baseline").
#: How the current programme is titled, with its centres as the catalogue names them.
CURRENT_PROGRAMME_TITLE = "Today's programme: each {centre} and its sessions"


@dataclass(frozen=True)
class TravelMethod:
    """How the travel times behind the outputs were obtained."""

    method: str
    profile: str
    speed_kmh: float | None = None
    circuity: float | None = None

    @classmethod
    def of(cls, travel_times: object) -> TravelMethod:
        """The method of a :class:`geoplan.traveltime.TravelTimeMatrix`."""
        circuity = travel_times.circuity if travel_times.method != "network" else None
        return cls(
            method=travel_times.method,
            profile=travel_times.profile,
            speed_kmh=travel_times.speed_kmh,
            circuity=circuity,
        )

    def describe(self) -> str:
        """One sentence for the methods section."""
        pace = f"{self.profile} pace" + (f" ({self.speed_kmh:g} km/h)" if self.speed_kmh else "")
        if self.method == "network":
            return (
                "Walking times are computed along the OpenStreetMap path network (© OpenStreetMap "
                f"contributors, ODbL) at {pace}, from each postcode to each venue."
            )
        circuity = f" × a circuity factor of {self.circuity:g}" if self.circuity else ""
        return (
            f"Walking times are crow-fly estimates: straight-line distance{circuity} at {pace}. They are not "
            "network times: barriers such as the Thames, railways and dual carriageways are not modelled, so "
            "some families near a barrier are shown closer than they are."
        )


@dataclass
class CommitteeView:
    """One venue configuration (the current programme or a scenario) measured for maps and reports."""

    name: str
    title: str
    configuration: Configuration
    venues: gpd.GeoDataFrame
    coverage: CoverageResult
    gaps: GapResult
    travel: TravelMethod
    centres: str
    catchments: gpd.GeoDataFrame | None = None
    #: The scenario's own headline band (a 20-minute scenario's report headlines 20 minutes).
    headline_minutes: float | None = None

    @property
    def one_of_centres(self) -> str:
        """``one of 6 centres (…)``, or ``the 1 children's centre`` when there is one."""
        return f"the {self.centres}" if len(self.coverage.venue_ids) == 1 else f"one of {self.centres}"

    def headline(self, minutes: float | None = None) -> str:
        """The sentence the map, figure, report and CLI all quote, naming what was counted."""
        minutes = minutes if minutes is not None else self.headline_minutes or headline_minutes(self.coverage)
        return self.coverage.headline(minutes, counted=self.one_of_centres)


def headline_minutes(coverage: CoverageResult) -> float:
    """The band headline figures quote: the coverage's own headline band when measured, else its middle band."""
    return HEADLINE_MINUTES if HEADLINE_MINUTES in coverage.bands else coverage.bands[len(coverage.bands) // 2]


def view_title(applied: AppliedScenario, area: StudyArea) -> str:
    """A scenario's title, with the current programme called by a plain name."""
    if applied.scenario.name != BASELINE:
        return applied.scenario.title
    return CURRENT_PROGRAMME_TITLE.format(centre=area.catalogue.programme.centre_label)


def measure_view(
    workspace: Workspace, applied: AppliedScenario, *, coverage: CoverageResult | None = None
) -> CommitteeView:
    """Coverage to children's centres, gaps and walking bands of an applied scenario.

    The scenario's own bands, headline minutes, profile and population are used; the walking
    bands are the catchments of the located centres taken together (network isochrones, or
    crow-fly discs without a network); ``coverage`` is reused when the caller measured it already.
    """
    area = workspace.area
    options = applied.scenario.settings
    travel_times = applied.travel_times
    located = set(travel_times.destination_ids)
    centres = [venue for venue in applied.configuration.centre_ids if venue in located]
    if not centres:
        msg = "no open children's centre with a known location is left, so coverage cannot be measured"
        raise InputError(msg, path=applied.scenario.path, field="changes")
    if coverage is None:
        coverage = measure_coverage(
            area, travel_times, venue_ids=centres, bands=options.bands, population=options.population
        )
    places = applied.venues.set_index("venue_id").loc[centres].geometry
    catchments = study_area_catchments(
        area,
        minutes=options.bands,
        profile=options.profile,
        together=True,
        network=workspace.network,
        method=workspace.method,
        venues=(centres, np.column_stack([places.x, places.y])),
    )
    return CommitteeView(
        name=applied.scenario.name,
        title=view_title(applied, area),
        configuration=applied.configuration,
        venues=applied.venues,
        coverage=coverage,
        gaps=find_gaps(area, travel_times, venue_ids=centres, minutes=options.headline_minutes),
        travel=TravelMethod.of(travel_times),
        centres=centres_phrase(area, applied.configuration.kinds, coverage.venue_ids),
        catchments=catchments,
        headline_minutes=options.headline_minutes,
    )


@dataclass
class Committee:
    """The workspace, one or two measured views, and their comparison."""

    workspace: Workspace
    views: list[CommitteeView]
    comparison: ScenarioComparison | None = None

    @property
    def area(self) -> StudyArea:
        """The study area."""
        return self.workspace.area


def committee_area(
    scenarios: Sequence[str | os.PathLike[str] | None], *, area: str | os.PathLike[str] | None = None
) -> Path:
    """The layer catalogue the scenarios describe (``area``, else ``settings.default_area``, for those naming none).

    Raises
    ------
    InputError
        The scenarios describe different study areas.
    """
    default = Path(area if area is not None else settings.default_area).resolve()
    bases = {default if item is None else resolve_scenario(item).on_area(default).base_path() for item in scenarios}
    if len(bases) > 1:
        msg = "the scenarios describe different study areas: " + ", ".join(sorted(str(base) for base in bases))
        raise InputError(msg, field="base")
    return bases.pop() if bases else default


def load_committee(workspace: Workspace, scenarios: Sequence[str | os.PathLike[str] | None]) -> Committee:
    """Measure one scenario, or compare two (``None`` = the current programme), on ``workspace``.

    With two scenarios the first is "before" and the second "after", compared with
    :func:`geoplan.scenarios.compare` on one travel-time matrix (the second scenario's profile).

    Raises
    ------
    InputError
        Not one or two scenarios, a scenario of another study area, or no located centre left.
    """
    if not 1 <= len(scenarios) <= 2:
        msg = f"give one scenario or two to compare, not {len(scenarios)}"
        raise InputError(msg, field="scenario")
    loaded = [
        baseline_scenario(workspace.area_path) if item is None else resolve_scenario(item).on_area(workspace.area_path)
        for item in scenarios
    ]
    for scenario in loaded:
        if scenario.base_path() != workspace.area_path:
            msg = f"the scenario is for {scenario.base_path()}, not for the study area {workspace.area_path}"
            raise InputError(msg, path=scenario.path, field="base")
    travel_times = workspace.travel_times(loaded[-1].settings.profile)
    if len(loaded) == 1:
        applied = apply_scenario(workspace.area, loaded[0], travel_times)
        return Committee(workspace=workspace, views=[measure_view(workspace, applied)])
    return committee_of(workspace, compare(workspace.area, travel_times, loaded[0], loaded[1]))


def committee_of(workspace: Workspace, comparison: ScenarioComparison) -> Committee:
    """The committee of a comparison the scenarios engine already made (the app's report)."""
    views = [
        measure_view(workspace, comparison.before, coverage=comparison.coverage_before),
        measure_view(workspace, comparison.after, coverage=comparison.coverage_after),
    ]
    return Committee(workspace=workspace, views=views, comparison=comparison)


def _changes_table(frame: object, key: str, heading: str, label: object) -> str:
    rows = []
    for row in frame.itertuples():
        name = label(getattr(row, key))
        if row.children == 0:
            rows.append(f'<tr><td class="name">{name}</td><td colspan="2">no children live here</td></tr>')
        elif row.children_losing or row.children_gaining:
            rows.append(
                f'<tr><td class="name">{name}</td><td>{row.children_losing:,.0f}</td>'
                f"<td>{row.children_gaining:,.0f}</td></tr>"
            )
    if not rows:
        return f"<p>{esc(heading)}: nobody gains or loses.</p>"
    head = f'<tr><th class="name">{esc(heading)}</th><th>Children losing</th><th>Children gaining</th></tr>'
    return f"<table><thead>{head}</thead><tbody>{''.join(rows)}</tbody></table>"


def _decile_cell(decile: object) -> str:
    return f'<span style="color:{DECILE_COLORS[int(decile) - 1]}">&#9632;</span> {esc(decile_label(int(decile)))}'


def compare_summary(comparison: ScenarioComparison) -> str:
    """Who gains and who loses a walk to a centre, overall, by ward and by IMD decile (escaped HTML).

    The figures are the scenarios engine's (:func:`geoplan.scenarios.compare`).
    """
    summary = comparison.summary
    deprived = summary["most_deprived_30"]
    minutes = f"{comparison.headline_minutes:g}"
    sentence = (
        f"Within a {minutes}-minute walk of a centre: {summary['covered_before']:,.0f} children before, "
        f"{summary['covered_after']:,.0f} after. {summary['children_losing']:,.0f} lose that walk and "
        f"{summary['children_gaining']:,.0f} gain it; in the 30% most deprived areas "
        f"{deprived['children_losing']:,.0f} lose it and {deprived['children_gaining']:,.0f} gain it."
    )
    tables = _changes_table(comparison.by_ward, "ward_name", "Ward", esc) + _changes_table(
        comparison.by_imd_decile, "imd_decile", "IMD decile", _decile_cell
    )
    return (
        f'<details class="geoplan-changes"><summary>{esc(sentence)} <u>Who gains and who loses, by ward and '
        f'decile</u></summary><div class="changes">{tables}</div></details>'
    )


def committee_map(
    committee: Committee, *, decile: str = "imd", children: bool = False, basemap: bool = False, analyst: bool = False
) -> object:
    """The map of the (last) view, or both views side by side, with who gains and loses, when there are two."""
    area = committee.area
    pair = len(committee.views) == 2
    maps = [
        build_map(
            area,
            configuration=view.configuration,
            venues=view.venues,
            coverage=view.coverage,
            gaps=view.gaps,
            catchments=view.catchments,
            decile=decile,
            children=children,
            basemap=basemap,
            analyst=analyst,
            title=f"{area.name}: {view.title}",
            subtitle=view.headline(),
            header=not pair,
        )
        for view in committee.views
    ]
    if not pair:
        return maps[0]
    before, after = committee.views
    return compare_maps(
        maps[0],
        maps[1],
        title=f"{area.name}: {after.title}, compared with {before.title}",
        sides=((f"Before: {before.title}", before.headline()), (f"After: {after.title}", after.headline())),
        summary=compare_summary(committee.comparison) if committee.comparison is not None else "",
    )


def committee_figure(
    committee: Committee,
    *,
    decile: str = "imd",
    width_px: int | None = None,
    height_px: int | None = None,
    dpi: int | None = None,
) -> object:
    """The static figure of the (last) view."""
    view = committee.views[-1]
    return static.build_figure(
        committee.area,
        configuration=view.configuration,
        venues=view.venues,
        gaps=view.gaps,
        catchments=view.catchments,
        method=view.travel.method,
        decile=decile,
        title=f"{committee.area.name}: {view.title}",
        subtitle=view.headline(),
        width_px=width_px or static.DEFAULT_WIDTH_PX,
        height_px=height_px or static.DEFAULT_HEIGHT_PX,
        dpi=dpi or static.DEFAULT_DPI,
    )
