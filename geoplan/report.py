"""The committee report: one self-contained, printable HTML page.

Headline figures, coverage tables by national IMD and IDACI decile and by ward (before and
after when two configurations are compared), the equality-impact table, the interactive map
(embedded, offline) and the static figure, the methods and sources (publisher, vintage and
licence of each dataset, and how travel times were obtained) and the caveats a reader needs.

Every string from data is escaped. Counts of children are Census 2021 statistics (public, not
suppressed); the report shows no service-registration counts.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from geoplan import figure, settings
from geoplan.catchments import study_area_catchments
from geoplan.coverage import HEADLINE_MINUTES, MOST_DEPRIVED_30_DECILES, CoverageResult, GapResult, find_gaps, measure_coverage
from geoplan.programme import Configuration
from geoplan.errors import InputError
from geoplan.fileio import write_text
from geoplan.maps import DECILE_COLORS, attribution_text, build_map, compare_maps
from geoplan.scenarios import apply_scenario, baseline_scenario, compare, resolve_scenario
from geoplan.studyarea import StudyArea, load_study_area
from geoplan.traveltime import study_area_travel_times

#: Height of the embedded interactive map on screen.
MAP_HEIGHT_PX = 680
#: How many ranked gaps the report lists.
GAPS_LISTED = 10

REPORT_CSS = """
body { font: 14px/1.45 Arial, Helvetica, sans-serif; color: #111; max-width: 1100px; margin: 0 auto; padding: 16px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; border-bottom: 2px solid #081d58; margin-top: 28px; }
h3 { font-size: 15px; margin-bottom: 4px; }
.meta { color: #444; font-size: 12px; }
.headline { font-size: 17px; background: #eef3fa; border-left: 5px solid #081d58; padding: 10px 14px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { border: 1px solid #ccd; border-radius: 4px; padding: 8px 12px; min-width: 170px; }
.card .value { font-size: 22px; font-weight: bold; } .card .label { font-size: 12px; color: #333; }
table { border-collapse: collapse; margin: 6px 0 14px; font-size: 12.5px; }
th, td { border: 1px solid #bbb; padding: 3px 7px; text-align: right; }
th { background: #f0f0f0; } td.name, th.name { text-align: left; }
td.up { color: #1a7837; } td.down { color: #b2182b; font-weight: bold; }
.swatch { display: inline-block; width: 12px; height: 12px; border: 1px solid #777; vertical-align: middle; margin-right: 4px; }
iframe.map { width: 100%; height: MAP_HEIGHTpx; border: 1px solid #999; }
figure { margin: 10px 0; } figure img { width: 100%; height: auto; border: 1px solid #ccc; }
figcaption { font-size: 12px; color: #333; }
.note { font-size: 12px; color: #333; }
@page { size: A4; margin: 14mm; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  .screen-only { display: none !important; }
  h2 { break-after: avoid; } tr, figure, .card { break-inside: avoid; }
  table { font-size: 9.5px; } a { color: inherit; text-decoration: none; }
}
""".replace("MAP_HEIGHT", str(MAP_HEIGHT_PX))


def esc(value: object) -> str:
    """HTML-escape a value for the page."""
    return html.escape("" if value is None else str(value), quote=True)


def _count(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:,.0f}"


def _share(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.1%}"


def _points(value: float) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value * 100:+.1f}"


@dataclass(frozen=True)
class TravelMethod:
    """How the travel times behind the report were obtained."""

    method: str
    profile: str
    speed_kmh: float | None = None
    circuity: float | None = None

    @classmethod
    def of(cls, travel_times: object) -> TravelMethod:
        """The method of a :class:`geoplan.traveltime.TravelTimeMatrix`."""
        return cls(method=travel_times.method, profile=travel_times.profile, speed_kmh=travel_times.speed_kmh,
                   circuity=travel_times.circuity if travel_times.method != "network" else None)  # fmt: skip

    def describe(self) -> str:
        """One sentence for the methods section."""
        pace = f"{self.profile} pace" + (f" ({self.speed_kmh:g} km/h)" if self.speed_kmh else "")
        if self.method == "network":
            return (f"Walking times are computed along the OpenStreetMap path network (© OpenStreetMap "
                    f"contributors, ODbL) at {pace}, from each postcode to each venue.")  # fmt: skip
        circuity = f" × a circuity factor of {self.circuity:g}" if self.circuity else ""
        return (f"Walking times are crow-fly estimates: straight-line distance{circuity} at {pace}. They are not "
                "network times: barriers such as the Thames, railways and dual carriageways are not modelled, so "
                "some families near a barrier are shown closer than they are.")  # fmt: skip


def _table(rows: Sequence[Sequence[str]], header: Sequence[str], *, name_columns: int = 1) -> str:
    """A table of already-escaped cells."""
    head = "".join(f'<th class="name">{cell}</th>' if i < name_columns else f"<th>{cell}</th>"
                   for i, cell in enumerate(header))  # fmt: skip
    body = []
    for row in rows:
        cells = []
        for i, cell in enumerate(row):
            css = "name" if i < name_columns else ""
            if isinstance(cell, tuple):
                cell, css = cell
            cells.append(f'<td class="{css}">{cell}</td>' if css else f"<td>{cell}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _change_cell(before: float, after: float) -> tuple[str, str]:
    change = after - before
    css = "up" if change > 0 else "down" if change < 0 else ""
    return _points(change), css


def _coverage_table(
    before: pd.DataFrame,
    after: pd.DataFrame | None,
    group: tuple[str, str],
    label: Callable[[object], str],
    bands: Sequence[float],
) -> str:
    """Children and the share within each band per group (column, heading); before, after and change when comparing."""
    group, heading = group
    header = [esc(heading), "Children"]
    for band in bands:
        header += [f"Within {band:g} min"] if after is None else [
            f"{band:g} min before", f"{band:g} min after", "Change (pts)"]  # fmt: skip
    rows = []
    for key, members in before.groupby(group, sort=True):
        members = members.set_index("band")
        row: list[object] = [label(key), _count(members["total"].iloc[0])]
        for band in bands:
            share = members.loc[band, "share"]
            if after is None:
                row.append(f"{_share(share)} ({_count(members.loc[band, 'covered'])})")
                continue
            later = after[(after[group] == key) & (after["band"] == band)]["share"]
            later_share = float(later.iloc[0]) if len(later) else float("nan")
            row += [_share(share), _share(later_share), _change_cell(share, later_share)]
        rows.append(row)
    return _table(rows, header)


def _decile_label(decile: object) -> str:
    color = DECILE_COLORS[int(decile) - 1]
    return f'<span class="swatch" style="background:{color}"></span>{int(decile)}'


def _equality_table(coverage: CoverageResult, minutes: float) -> str:
    """Coverage of children in the most and less deprived areas against the borough, at ``minutes``."""
    frame = coverage.by_imd_decile[coverage.by_imd_decile["band"] == minutes]
    groups = [
        ("30% most deprived LSOAs nationally (IMD deciles 1-3)", frame["imd_decile"].isin(MOST_DEPRIVED_30_DECILES)),
        ("IMD deciles 4-5", frame["imd_decile"].isin((4, 5))),
        ("50% least deprived (IMD deciles 6-10)", frame["imd_decile"] >= 6),
    ]
    overall = coverage.overall.loc[minutes]
    rows = []
    for name, mask in groups:
        covered, total = frame.loc[mask, "covered"].sum(), frame.loc[mask, "total"].sum()
        share = covered / total if total else float("nan")
        rows.append([esc(name), _count(total), _count(covered), _share(share), _change_cell(overall["share"], share)])
    rows.append(["All children", _count(overall["total"]), _count(overall["covered"]), _share(overall["share"]), ""])
    table = _table(rows, ["Group", "Children", f"Within {minutes:g} min", "Share", "Vs borough (pts)"])
    ratio = coverage.equity_ratio.get(minutes)
    note = (
        f"Equity ratio at {minutes:g} min (share covered in IMD deciles 1-2 ÷ share in deciles 9-10): "
        + ("not defined (no children in one of the quintiles)" if ratio is None else f"{ratio:.2f}")
        + "; above 1 means the most deprived areas are better served."
    )
    return table + f'<p class="note">{esc(note)}</p>'


def _sources_table(area: StudyArea) -> str:
    rows = [
        [esc(info.title), esc(info.publisher), esc(info.vintage), esc(info.licence), esc(info.attribution),
         esc(info.file)]
        for info in area.provenance.values()
    ]  # fmt: skip
    catalogue = area.catalogue
    for spec in (catalogue.venues, catalogue.sessions):
        rows.append([esc(spec.title), "geoplan project facts file (public council documents)", "see file",
                     "as the project", "", esc(spec.file)])  # fmt: skip
    return _table(rows, ["Dataset", "Publisher", "Vintage", "Licence", "Attribution", "File"], name_columns=6)


CAVEATS = (
    "Venue locations are the centroid of their postcode (OS Code-Point Open), not the building entrance.",
    "Children aged 0-4 are Census 2021 counts (a 2021 vintage: births since then are not reflected), "
    "shared equally among the postcodes of each LSOA, so postcode-level figures are estimates.",
    "Under-3 and under-2 figures, where shown, assume ages are spread evenly within the 0-4 band (3/5 and 2/5).",
    "Deprivation deciles are national (England) deciles of the English Indices of Deprivation 2025 on 2021 LSOAs.",
    "A venue counts as reachable if it is within the walking band; opening hours, capacity and "
    "the content of sessions are not part of the coverage figures.",
)


def build_report(
    area: StudyArea,
    *,
    coverage: CoverageResult,
    coverage_after: CoverageResult | None = None,
    comparison: object | None = None,
    gaps: object | None = None,
    travel: TravelMethod | None = None,
    map_html: str | None = None,
    figure_png: bytes | None = None,
    title: str | None = None,
    configuration_label: str = "current programme (venue and session files)",
    generated: dt.datetime | None = None,
) -> str:
    """The committee report as one self-contained HTML page.

    Parameters
    ----------
    area
        The study area (its provenance fills the sources table).
    coverage, coverage_after
        Coverage of the configuration reported, and of the one it is compared with (after).
    comparison
        A :class:`geoplan.scenarios.ScenarioComparison`; its equality-impact section is embedded.
    gaps
        A :class:`geoplan.coverage.GapResult` (the highest-need LSOAs are listed).
    travel
        How travel times were obtained (defaults to the coverage's method and profile).
    map_html, figure_png
        The interactive map page (embedded in an iframe) and the static figure (embedded as a data URI).
    title, configuration_label
        Report title and the name of the configuration(s) shown (escaped).
    generated
        Time stamp printed on the report (now when omitted).

    Returns
    -------
    str
    """
    travel = travel or TravelMethod(method=coverage.method, profile=coverage.profile)
    generated = generated or dt.datetime.now(dt.UTC)
    minutes = HEADLINE_MINUTES if HEADLINE_MINUTES in coverage.bands else coverage.bands[len(coverage.bands) // 2]
    final = coverage_after or coverage
    deprived = final.most_deprived_30.loc[minutes]
    overall = final.overall.loc[minutes]
    heading = title or f"{area.name}: reach of early-years services"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{esc(heading)}</title><style>{REPORT_CSS}</style></head><body>",
        f"<h1>{esc(heading)}</h1>",
        f'<p class="meta">{esc(area.name)} ({esc(area.la_code)}) · configuration: {esc(configuration_label)} · '
        f"travel times: {esc(travel.method)}, {esc(travel.profile)} pace · generated "
        f"{esc(generated.strftime('%d %B %Y %H:%M UTC'))} by geoplan</p>",
        f'<p class="headline">{esc(final.headline(minutes))}</p>',
    ]
    cards = [
        (_count(overall["total"]), "children aged 0-4 (Census 2021)"),
        (_count(deprived["total"]), "of them in the 30% most deprived LSOAs nationally"),
        (_share(overall["share"]), f"within {minutes:g} min of a children's centre"),
        (_share(deprived["share"]), f"in the 30% most deprived, within {minutes:g} min"),
    ]
    if coverage_after is not None:
        before_deprived = coverage.most_deprived_30.loc[minutes]
        cards.append((_points(deprived["share"] - before_deprived["share"]),
                      "change for the 30% most deprived (percentage points)"))  # fmt: skip
    parts.append('<div class="cards">' + "".join(
        f'<div class="card"><div class="value">{value}</div><div class="label">{esc(label)}</div></div>'
        for value, label in cards) + "</div>")  # fmt: skip

    parts.append("<h2>Map</h2>")
    if map_html is not None:
        parts.append(f'<iframe class="map screen-only" title="Interactive map" srcdoc="{esc(map_html)}"></iframe>'
                     '<p class="note screen-only">The interactive map works offline; use the layer list to switch '
                     "layers and click a venue for its details and sessions.</p>")  # fmt: skip
    if figure_png is not None:
        data = base64.b64encode(figure_png).decode("ascii")
        parts.append(f'<figure><img alt="Map of {esc(area.name)}: LSOAs by deprivation decile and venues" '
                     f'src="data:image/png;base64,{data}"><figcaption>Figure 1. LSOAs shaded by national IMD 2025 '
                     f"decile (1 = most deprived 10%) with venues by kind. "
                     f"{esc(attribution_text(area, osm=travel.method == 'network'))}.</figcaption></figure>")  # fmt: skip

    comparing = coverage_after is not None
    parts.append("<h2>Coverage by national deprivation decile</h2>")
    parts.append(f'<p class="note">Share of children aged 0-4 living within each walking band of a children\'s '
                 f"centre{' before and after' if comparing else ''}; decile 1 is the most deprived 10% of LSOAs in "
                 "England.</p>")  # fmt: skip
    after = coverage_after.by_imd_decile if comparing else None
    parts.append("<h3>By IMD 2025 decile</h3>")
    parts.append(
        _coverage_table(coverage.by_imd_decile, after, ("imd_decile", "IMD decile"), _decile_label, coverage.bands)
    )
    after = coverage_after.by_idaci_decile if comparing else None
    parts.append("<h3>By IDACI 2025 decile (income deprivation affecting children)</h3>")
    parts.append(
        _coverage_table(coverage.by_idaci_decile, after, ("idaci_decile", "IDACI decile"), _decile_label, coverage.bands)
    )
    parts.append("<h2>Coverage by ward</h2>")
    wards = coverage.by_ward.drop(columns="ward_code")
    after = coverage_after.by_ward.drop(columns="ward_code") if comparing else None
    parts.append(_coverage_table(wards, after, ("ward_name", "Ward"), esc, coverage.bands))

    parts.append("<h2>Equality impact</h2>")
    parts.append(_equality_table(final, minutes))
    if comparison is not None:
        parts.append(comparison.report_html())

    if gaps is not None and not gaps.lsoas.empty:
        parts.append(f"<h2>Where the gaps are (beyond {gaps.minutes:g} minutes)</h2>")
        rows = [
            [esc(row.rank), esc(row.lsoa_name), esc(row.ward_name), esc(row.imd_decile), esc(row.idaci_decile),
             _count(row.children_beyond), esc(row.nearest_name),
             f"{row.nearest_minutes:.1f}" if np.isfinite(row.nearest_minutes) else "not reachable"]
            for row in gaps.lsoas.head(GAPS_LISTED).itertuples()
        ]  # fmt: skip
        parts.append(_table(rows, ["Rank", "LSOA", "Ward", "IMD decile", "IDACI decile", "Children beyond",
                                   "Nearest venue", "Minutes"], name_columns=3))  # fmt: skip
        parts.append('<p class="note">Ranked by need: children beyond the band × IDACI weight × minutes beyond.</p>')

    parts.append("<h2>Methods and sources</h2>")
    parts.append(f"<p>{esc(travel.describe())} A child counts as covered at a band when the nearest of the "
                 f"{len(final.venue_ids)} located venues counted is within it.</p>")  # fmt: skip
    parts.append(_sources_table(area))
    parts.append("<h2>Caveats</h2><ul>")
    caveats = list(CAVEATS)
    if travel.method != "network":
        caveats.insert(0, "Travel times are crow-fly estimates, not walking-network times (see Methods).")
    parts.extend(f"<li>{esc(caveat)}</li>" for caveat in caveats)
    parts.append("</ul></body></html>")
    return "\n".join(parts) + "\n"


def write_report(page: str, out: str | os.PathLike[str]) -> int:
    """Write the report atomically; returns its size in bytes."""
    write_text(out, page)
    return len(page.encode("utf-8"))


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
    catchments: gpd.GeoDataFrame | None = None


def measure_view(area: StudyArea, applied: object, *, coverage: CoverageResult | None = None) -> CommitteeView:
    """Coverage to children's centres, gaps and walking bands of an applied scenario.

    ``applied`` is a :class:`geoplan.scenarios.AppliedScenario`. The scenario's own bands,
    headline minutes, profile and population are used; the walking bands are the catchments of
    the located centres taken together (network isochrones, or crow-fly discs without a
    network); ``coverage`` is reused when the caller measured it already.
    """
    options = applied.scenario.settings
    travel_times = applied.travel_times
    located = set(travel_times.destination_ids)
    centres = [venue for venue in applied.configuration.centre_ids if venue in located]
    if not centres:
        msg = "no open children's centre with a known location is left, so coverage cannot be measured"
        raise InputError(msg, path=applied.scenario.path, field="changes")
    if coverage is None:
        coverage = measure_coverage(area, travel_times, venue_ids=centres, bands=options.bands,
                                    population=options.population)  # fmt: skip
    places = applied.venues.set_index("venue_id").loc[centres].geometry
    catchments = study_area_catchments(area, minutes=options.bands, profile=options.profile, together=True,
                                       venues=(centres, np.column_stack([places.x, places.y])))  # fmt: skip
    return CommitteeView(
        name=applied.scenario.name,
        title=applied.scenario.title,
        configuration=applied.configuration,
        venues=applied.venues,
        coverage=coverage,
        gaps=find_gaps(area, travel_times, venue_ids=centres, minutes=options.headline_minutes),
        travel=TravelMethod.of(travel_times),
        catchments=catchments,
    )


@dataclass
class Committee:
    """What the committee outputs are made from: the area, one or two measured views, their comparison."""

    area: StudyArea
    views: list[CommitteeView]
    comparison: object | None = None


def load_committee(
    scenarios: Sequence[str | os.PathLike[str] | None],
    *,
    area: str | os.PathLike[str] | None = None,
    data_dir: str | os.PathLike[str] | None = None,
) -> Committee:
    """Load the study area and measure one scenario, or compare two (``None`` = the current programme).

    With two scenarios the first is "before" and the second "after", compared with
    :func:`geoplan.scenarios.compare` on one travel-time matrix (the second scenario's profile).

    Raises
    ------
    InputError
        The scenarios describe different study areas, or a scenario leaves no located centre.
    """
    if not 1 <= len(scenarios) <= 2:
        msg = f"give one scenario or two to compare, not {len(scenarios)}"
        raise InputError(msg, field="scenario")
    default_base = Path(area).resolve() if area is not None else Path(settings.default_area).resolve()
    loaded = [baseline_scenario(default_base) if item is None else resolve_scenario(item) for item in scenarios]
    bases = {scenario.base_path() for scenario in loaded}
    if len(bases) > 1:
        msg = "the scenarios describe different study areas: " + ", ".join(sorted(str(base) for base in bases))
        raise InputError(msg, field="base")
    study_area = load_study_area(bases.pop(), data_dir=data_dir)
    travel_times = study_area_travel_times(study_area, profile=loaded[-1].settings.profile)
    if len(loaded) == 1:
        applied = apply_scenario(study_area, loaded[0], travel_times)
        return Committee(area=study_area, views=[measure_view(study_area, applied)])
    comparison = compare(study_area, travel_times, loaded[0], loaded[1])
    views = [
        measure_view(study_area, comparison.before, coverage=comparison.coverage_before),
        measure_view(study_area, comparison.after, coverage=comparison.coverage_after),
    ]
    return Committee(area=study_area, views=views, comparison=comparison)


def committee_map(committee: Committee, *, decile: str = "imd", children: bool = False, basemap: bool = False) -> object:
    """The map of the (last) view, or both views side by side when there are two."""
    area = committee.area
    maps = [
        build_map(area, configuration=view.configuration, venues=view.venues, coverage=view.coverage,
                  gaps=view.gaps, catchments=view.catchments, decile=decile, children=children,
                  title=f"{area.name}: {view.title}", basemap=basemap)
        for view in committee.views
    ]  # fmt: skip
    if len(maps) == 1:
        return maps[0]
    return compare_maps(maps[0], maps[1], title=f"{committee.views[0].title} | {committee.views[1].title}")


def committee_figure(
    committee: Committee, *, decile: str = "imd", width_px: int | None = None, height_px: int | None = None,
    dpi: int | None = None,
) -> object:  # fmt: skip
    """The static figure of the (last) view."""
    view = committee.views[-1]
    sizes = {"width_px": width_px or figure.DEFAULT_WIDTH_PX, "height_px": height_px or figure.DEFAULT_HEIGHT_PX,
             "dpi": dpi or figure.DEFAULT_DPI}  # fmt: skip
    return figure.build_figure(committee.area, configuration=view.configuration, venues=view.venues, gaps=view.gaps,
                               catchments=view.catchments, method=view.travel.method, decile=decile,
                               title=f"{committee.area.name}: {view.title}", subtitle=view.coverage.headline(),
                               **sizes)  # fmt: skip


def committee_report(committee: Committee, *, map_html: str | None = None, figure_png: bytes | None = None) -> str:
    """The committee report of one view, or of the comparison of two."""
    before, after = committee.views[0], committee.views[-1]
    comparing = len(committee.views) == 2
    label = f"{after.title} (compared with: {before.title})" if comparing else after.title
    return build_report(
        committee.area,
        coverage=before.coverage,
        coverage_after=after.coverage if comparing else None,
        comparison=committee.comparison,
        gaps=after.gaps,
        travel=after.travel,
        map_html=map_html,
        figure_png=figure_png,
        configuration_label=label,
    )
