"""Committee maps that open anywhere: one self-contained HTML file, no internet needed.

A map is a folium (Leaflet) map whose every layer is a vector layer carried in the file: LSOAs
shaded by national IMD or IDACI decile (under everything else, whichever is shown), walking
bands, gap areas numbered by need, ward outlines and names, venues by kind (closed or
redesignated ones in grey) and, optionally, children per postcode. The title sits above the map,
never on it; the legend and layer list fold away. ``basemap=True`` adds OpenStreetMap tiles for
readers who are online.

Every string that comes from data (venue names, addresses, session titles, scenario names) is
HTML-escaped here, in Python, before it reaches the page. Popups speak plainly: notes meant for
analysts (sources, geocoding doubts, ids) appear only with ``analyst=True``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure

from geoplan import settings
from geoplan.outputs.leaflet import (
    Legend,
    Panes,
    SyncMaps,
    VectorLayer,
    ZoomVisible,
    add_header,
)
from geoplan.outputs.style import (
    BAND_FILL_OPACITY,
    CHILDREN_COLOR,
    CLOSED_LABEL,
    CODE_LABELS,
    DECILE_INDICES,
    GAP_COLOR,
    GREYED_COLOR,
    SYMBOL_EDGE,
    SYMBOL_HALO,
    DecileShading,
    band_color,
    decile_shading,
    kind_style,
    words,
)
from geoplan.programme import Configuration, baseline_configuration
from geoplan.studyarea import StudyArea
from geoplan.text import esc
from geoplan.venues import CENTRE_KINDS

#: LSOA boundaries are simplified to this tolerance before display (they are generalised to 20 m at source).
SIMPLIFY_TOLERANCE_M = 5.0
#: Decimal places of longitude/latitude kept (1e-5 degree is about 1 m in England).
COORDINATE_DECIMALS = 5
MARKER_SIZE_PX = 18
#: Leaflet z-index offset lifting open centres above other markers.
CENTRE_Z_OFFSET = 1000
#: Largest circle drawn for children at one postcode, in pixels.
CHILDREN_MAX_RADIUS_PX = 8.0
#: Ward names show from this zoom up (a whole London borough fills a laptop screen at about 12).
WARD_LABEL_MIN_ZOOM = 11.5
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"


def marker_svg(marker: str, color: str, *, size: int = MARKER_SIZE_PX, halo: bool = True) -> str:
    """An inline SVG of a matplotlib marker shape, so map and printed figure share symbols.

    The white halo under the dark outline keeps light and blue symbols visible on dark shading.
    """
    from matplotlib.markers import MarkerStyle
    from matplotlib.path import Path as MplPath

    style = MarkerStyle(marker)
    path = style.get_path().transformed(style.get_transform())
    commands = []
    for vertices, code in path.iter_segments(simplify=False, curves=True):
        points = " ".join(f"{x:.3f},{-y:.3f}" for x, y in np.asarray(vertices).reshape(-1, 2))
        letter = {MplPath.MOVETO: "M", MplPath.LINETO: "L", MplPath.CURVE3: "Q", MplPath.CURVE4: "C"}.get(code)
        commands.append("Z" if code == MplPath.CLOSEPOLY else f"{letter}{points}")
    shape = " ".join(commands)
    under = f'<path d="{shape}" fill="none" stroke="{SYMBOL_HALO}" stroke-width="0.22"/>' if halo else ""
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="-0.62 -0.62 1.24 1.24">'
        f'{under}<path d="{shape}" fill="{esc(color)}" stroke="{SYMBOL_EDGE}" stroke-width="0.08"/></svg>'
    )


def venue_layer(
    area: StudyArea, *, configuration: Configuration | None = None, venues: gpd.GeoDataFrame | None = None
) -> gpd.GeoDataFrame:
    """Located venues as shown on a map of one configuration.

    Parameters
    ----------
    configuration
        Open venues, kinds and sessions (the baseline programme when omitted).
    venues
        The venues to draw (``area.venues`` when omitted; a scenario's venues include the ones it opens).

    Returns
    -------
    geopandas.GeoDataFrame
        Located venues with their ``kind`` in this configuration, ``original_kind``, ``open``,
        ``greyed`` (closed, or a centre redesignated as something else), ``state`` (a short
        phrase) and ``sessions`` (the session rows held at the venue, as a list of dicts).
    """
    configuration = configuration or baseline_configuration(area)
    frame = (area.venues if venues is None else venues).copy()
    frame = frame[frame["located"].astype(bool)].reset_index(drop=True)
    frame["original_kind"] = frame["kind"]
    frame["kind"] = [
        configuration.kinds.get(venue, kind) for venue, kind in zip(frame["venue_id"], frame["kind"], strict=True)
    ]
    open_ids = set(configuration.open_venue_ids)
    frame["open"] = frame["venue_id"].isin(open_ids)
    redesignated = frame["original_kind"].isin(CENTRE_KINDS) & ~frame["kind"].isin(CENTRE_KINDS)
    frame["greyed"] = ~frame["open"] | redesignated
    frame["state"] = np.select(
        [~frame["open"], redesignated], ["closed", "no longer a children's centre"], default="open"
    )
    by_venue = {venue: rows.to_dict("records") for venue, rows in configuration.sessions.groupby("venue_id")}
    frame["sessions"] = [by_venue.get(venue, []) for venue in frame["venue_id"]]
    return frame


def top_gap_areas(gaps: object, area: StudyArea, *, count: int | None = None) -> gpd.GeoDataFrame:
    """The ``count`` (``settings.top_gaps``) highest-need gap areas, with the ward each lies in.

    The one list the map, the figure and the report number alike ("gap 1" is the same place in each).
    """
    count = settings.top_gaps if count is None else count
    clusters = gaps.clusters.head(count).copy()
    if clusters.empty:
        clusters["ward_name"] = pd.Series(dtype=str)
        return clusters
    points = gpd.GeoDataFrame(geometry=clusters.geometry.representative_point(), crs=clusters.crs)
    joined = gpd.sjoin_nearest(points, area.wards[["ward_name", "geometry"]], how="left")
    clusters["ward_name"] = joined.groupby(level=0)["ward_name"].first().to_numpy()
    return clusters


def gap_label(gaps: object, *, count: int | None = None) -> str:
    """Legend text of the gap areas shown."""
    count = settings.top_gaps if count is None else count
    shown = min(count, len(gaps.clusters))
    numbers = "1" if shown == 1 else f"1-{shown}"
    return f"Gap areas {numbers}: most need, beyond {gaps.minutes:g} min"


def label_points(frame: gpd.GeoDataFrame) -> gpd.GeoSeries:
    """A point well inside each polygon (its pole of inaccessibility), where its name is written."""
    return gpd.GeoSeries(
        [
            shapely.ops.polylabel(
                shape.geoms[np.argmax([part.area for part in shape.geoms])]
                if shape.geom_type == "MultiPolygon"
                else shape,
                tolerance=10.0,
            )
            for shape in frame.geometry
        ],
        index=frame.index,
        crs=frame.crs,
    )


def _rounded_geojson(frame: gpd.GeoDataFrame, properties: Sequence[str], *, simplify_m: float = 0.0) -> dict:
    geometry = frame.geometry.simplify(simplify_m, preserve_topology=True) if simplify_m else frame.geometry
    geometry = shapely.set_precision(geometry.to_crs(settings.display_crs).array, 10.0**-COORDINATE_DECIMALS)
    features = []
    for index, shape in enumerate(geometry):
        if shape is None or shape.is_empty:
            continue
        props = {name: frame[name].iloc[index] for name in properties}
        features.append({"type": "Feature", "geometry": shape.__geo_interface__, "properties": props})
    return {"type": "FeatureCollection", "features": features}


def attribution_text(area: StudyArea, *, osm: bool) -> str:
    """The attribution statements the sources require, each once (plain text)."""
    sentences: list[str] = []
    for info in area.provenance.values():
        for sentence in re.split(r"(?<=[.;])\s+", info.attribution):
            sentence = sentence.rstrip(".; ")
            if sentence and sentence not in sentences:
                sentences.append(sentence)
    if osm:
        sentences.append(OSM_ATTRIBUTION)
    # A statement that another one extends ("... database right" / "... database right 2025") is said once.
    kept = [s for s in sentences if not any(o != s and o.startswith(s) for o in sentences)]
    return "; ".join(kept)


def _decile_layer(area: StudyArea, shading: DecileShading, attribution: str, *, show: bool) -> VectorLayer:
    lsoas = area.lsoas
    style = area.catalogue.layers["lsoas"].style if "lsoas" in area.catalogue.layers else {}
    frame = lsoas[["lsoa_code", "geometry"]].copy()
    frame["style"] = [{"fillColor": color} for color in shading.colors(lsoas)]
    frame["tip"] = [
        f"<b>{esc(row.lsoa_name)}</b> · {esc(row.ward_name)}<br>"
        f"Deprivation (1 = most deprived 10% in England): IMD decile {int(row.imd_decile)}, "
        f"IDACI decile {int(row.idaci_decile)}<br>Children aged 0-4 (Census 2021): {int(row.children_0_4):,}"
        for row in lsoas.itertuples()
    ]
    data = _rounded_geojson(frame, ["style", "tip"], simplify_m=SIMPLIFY_TOLERANCE_M)
    base_style = {
        "color": style.get("line_color", "#555555"),
        "weight": style.get("line_weight", 0.5),
        "fillOpacity": 0.75,
        "className": "geoplan-lsoa",
    }
    return VectorLayer(
        data,
        name=f"Shading: {shading.label}",
        pane="geoplan-shading",
        style=base_style,
        attribution=attribution,
        overlay=False,
        show=show,
    )


def _outline_layer(frame: gpd.GeoDataFrame, tips: Iterable[str], *, name: str, style: dict[str, object]) -> VectorLayer:
    frame = frame[["geometry"]].copy()
    frame["tip"] = list(tips)
    data = _rounded_geojson(frame, ["tip"], simplify_m=SIMPLIFY_TOLERANCE_M)
    return VectorLayer(data, name=name, pane="geoplan-wards", style={"fill": False, "interactive": True, **style})


def _labels_layer(points: gpd.GeoSeries, texts: Sequence[str], *, name: str, css: str, pane: str) -> VectorLayer:
    frame = gpd.GeoDataFrame(
        {"label": [f"<span>{esc(text)}</span>" for text in texts]}, geometry=points.to_numpy(), crs=points.crs
    )
    frame["cls"] = css
    return VectorLayer(_rounded_geojson(frame, ["label", "cls"]), name=name, pane=pane)


def _session_line(session: dict) -> str:
    when = " ".join(
        part for part in (words(session.get("frequency"), CODE_LABELS.frequency), session.get("day") or "") if part
    )
    details = [when] if when else []
    if session.get("age_group"):
        details.append(f"for {words(session['age_group'], CODE_LABELS.age_group)}")
    if session.get("provider"):
        details.append(f"run by {words(session['provider'], CODE_LABELS.provider)}")
    return (
        f"<li>{esc(session.get('title'))}"
        + (f" <small>({esc(', '.join(details))})</small>" if details else "")
        + "</li>"
    )


def venue_popup(area: StudyArea, venue: pd.Series, *, analyst: bool = False) -> str:
    """A venue's popup in plain words: name, kind, state, address and sessions (analyst notes on request)."""
    label = kind_style(area, venue["kind"])[2]
    parts = [f"<b>{esc(venue['name'])}</b>", esc(label)]
    if venue["state"] != "open":
        parts.append(f"<i>{esc(venue['state'].capitalize())} in this option</i>")
    if venue["kind"] != venue["original_kind"]:
        parts.append(f"Was: {esc(kind_style(area, venue['original_kind'])[2])}")
    parts.append(", ".join(esc(part) for part in (venue["address"], venue["postcode"]) if part))
    status = venue.get("status_2021")
    if status not in (None, "", "n/a"):
        parts.append(f"2021 review: {esc(words(status, CODE_LABELS.status_2021))}")
    sessions = venue["sessions"]
    if sessions:
        items = "".join(_session_line(session) for session in sessions)
        parts.append(f"<b>Sessions ({len(sessions)})</b><ul>{items}</ul>")
    else:
        parts.append("No sessions listed")
    body = "<br>".join(parts)
    if analyst:
        notes = [f"Venue id: {esc(venue['venue_id'])}"]
        notes += [
            f"{name}: {esc(venue.get(column))}"
            for name, column in (("Source", "source"), ("Notes", "notes"))
            if venue.get(column)
        ]
        body += '<div class="analyst">' + "<br>".join(notes) + "</div>"
    return f'<div class="geoplan-popup">{body}</div>'


def _venues_layer(area: StudyArea, venues: gpd.GeoDataFrame, attribution: str, *, analyst: bool) -> VectorLayer:
    frame = venues[["geometry"]].copy()
    icons, classes = [], []
    for venue in venues.itertuples():
        color, marker, _ = kind_style(area, venue.kind)
        icons.append(marker_svg(marker, GREYED_COLOR if venue.greyed else color))
        state = "greyed" if venue.greyed else "open"
        classes.append(f"geoplan-venue geoplan-venue-{state} geoplan-kind-{venue.kind}")
    frame["icon"] = icons
    frame["cls"] = classes
    # Centres on top: a centre sharing a postcode with another venue must stay visible.
    frame["z"] = np.where(venues["kind"].isin(CENTRE_KINDS) & ~venues["greyed"], CENTRE_Z_OFFSET, 0)
    frame["title"] = list(venues["name"].astype(str))
    frame["popup"] = [venue_popup(area, venue, analyst=analyst) for _, venue in venues.iterrows()]
    data = _rounded_geojson(frame, ["icon", "cls", "title", "popup", "z"])
    return VectorLayer(data, name="Venues", attribution=attribution)


def _bands_layer(catchments: gpd.GeoDataFrame) -> VectorLayer:
    bands = catchments.dissolve(by="band").reset_index().sort_values("band", ascending=False)
    order = sorted(bands["band"])
    frame = bands[["geometry"]].copy()
    colors = [band_color(order.index(minutes)) for minutes in bands["band"]]
    frame["style"] = [{"color": color, "fillColor": color} for color in colors]
    data = _rounded_geojson(frame, ["style"], simplify_m=SIMPLIFY_TOLERANCE_M)
    # Not interactive: the shading's tooltips (LSOA, ward, deciles) stay reachable inside the bands.
    style = {"weight": 1.5, "fillOpacity": BAND_FILL_OPACITY, "className": "geoplan-band", "interactive": False}
    return VectorLayer(data, name="Walking bands", pane="geoplan-bands", style=style)


def _gaps_layer(gaps: object, shown: gpd.GeoDataFrame) -> VectorLayer:
    frame = shown[["geometry"]].copy()
    frame["tip"] = [
        f"<b>Gap {int(row.rank)}</b> ({esc(row.ward_name)}): {plain_reason(row)}" for row in shown.itertuples()
    ]
    data = _rounded_geojson(frame, ["tip"], simplify_m=SIMPLIFY_TOLERANCE_M)
    style = {
        "color": GAP_COLOR,
        "fillColor": GAP_COLOR,
        "weight": 2,
        "dashArray": "4 3",
        "fillOpacity": 0.2,
        "className": "geoplan-gap",
    }
    return VectorLayer(data, name=gap_label(gaps, count=len(shown)), pane="geoplan-gaps", style=style)


def plain_reason(row: object) -> str:
    """Why a gap area is a gap, in words (escaped)."""
    nearest = f"{row.nearest_minutes:.0f} minutes' walk" if np.isfinite(row.nearest_minutes) else "out of reach"
    return esc(f"about {row.children_beyond:,} children aged 0-4; nearest centre {row.nearest_name}, {nearest}")


def _children_layer(area: StudyArea) -> VectorLayer:
    children = area.children[area.children["children_0_4"] > 0]
    frame = children[["geometry"]].copy()
    counts = children["children_0_4"].to_numpy(dtype=float)
    # Circle area proportional to children, so the eye reads density.
    frame["r"] = np.round(CHILDREN_MAX_RADIUS_PX * np.sqrt(counts / counts.max()), 1)
    data = _rounded_geojson(frame, ["r"])
    style = {
        "color": CHILDREN_COLOR,
        "weight": 0.5,
        "fillColor": CHILDREN_COLOR,
        "fillOpacity": 0.35,
        "className": "geoplan-children",
    }
    return VectorLayer(
        data, name="Children aged 0-4 by postcode (estimate)", pane="geoplan-children", style=style, show=False
    )


def _legend_html(
    area: StudyArea,
    venues: gpd.GeoDataFrame,
    *,
    shading: DecileShading,
    catchments: gpd.GeoDataFrame | None,
    gaps: str | None,
) -> str:
    rows = ['<summary>Legend</summary><div class="body">']
    rows.append(f'<h4 class="geoplan-shading-heading">{esc(shading.label)}</h4>')
    for color, label in shading.legend:
        rows.append(f'<div class="row"><span class="swatch" style="background:{color}"></span>{esc(label)}</div>')
    rows.append("<h4>Venues</h4>")
    for kind in dict.fromkeys(venues.loc[~venues["greyed"], "kind"]):
        color, marker, label = kind_style(area, kind)
        rows.append(f'<div class="row">{marker_svg(marker, color, size=14)}{esc(label)}</div>')
    greyed = venues.loc[venues["greyed"], "kind"]
    if not greyed.empty:
        symbols = "".join(
            dict.fromkeys(marker_svg(kind_style(area, kind)[1], GREYED_COLOR, size=14) for kind in greyed)
        )
        rows.append(f'<div class="row">{symbols}{esc(CLOSED_LABEL)}</div>')
    if catchments is not None and not catchments.empty:
        rows.append("<h4>Walking time to a centre</h4>")
        for position, minutes in enumerate(sorted(catchments["band"].unique())):
            color = band_color(position)
            rows.append(
                f'<div class="row"><span class="swatch" style="border-color:{color};'
                f'background:{color}33"></span>within {minutes:g} min</div>'
            )
    if gaps is not None:
        rows.append(
            f'<div class="row"><span class="swatch" style="border:2px dashed {GAP_COLOR}"></span>{esc(gaps)}</div>'
        )
    rows.append("</div>")
    return "".join(rows)


def header_html(title: str, subtitle: str | None = None) -> str:
    """The title box above a map (escaped)."""
    sub = f'<div class="sub">{esc(subtitle)}</div>' if subtitle else ""
    return f'<header class="geoplan-header"><h1 class="geoplan-title">{esc(title)}</h1>{sub}</header>'


def build_map(
    area: StudyArea,
    *,
    configuration: Configuration | None = None,
    venues: gpd.GeoDataFrame | None = None,
    coverage: object | None = None,
    gaps: object | None = None,
    catchments: gpd.GeoDataFrame | None = None,
    decile: str = "imd",
    children: bool = False,
    title: str | None = None,
    subtitle: str | None = None,
    basemap: bool = False,
    analyst: bool = False,
    header: bool = True,
) -> folium.Map:
    """A committee map of one venue configuration, with every layer carried in the map itself.

    Parameters
    ----------
    area
        The study area.
    configuration, venues
        Which venues are open and their kinds and sessions (baseline when omitted), and the venue
        rows to draw (``area.venues`` when omitted; pass a scenario's venues to show opened ones).
    coverage
        A :class:`geoplan.coverage.CoverageResult`; its headline becomes the subtitle.
    gaps
        A :class:`geoplan.coverage.GapResult`; its ``settings.top_gaps`` highest-need areas are
        drawn and numbered.
    catchments
        Walking catchments (``band`` in minutes, geometry, EPSG:27700), dissolved per band.
    decile
        ``imd`` or ``idaci``: which national decile shades the LSOAs first (the other is a
        second base layer in the layer list).
    children
        Add children aged 0-4 per postcode (hidden until switched on).
    title, subtitle
        Text of the title above the map (escaped); defaults name the area.
    basemap
        Add OpenStreetMap tiles (needs the internet when viewed).
    analyst
        Show notes meant for analysts (sources, geocoding doubts, venue ids) in the popups.
    header
        Put the title above the map (a compared pair carries one header for both instead).

    Returns
    -------
    folium.Map
    """
    shading = decile_shading(decile)
    shown = venue_layer(area, configuration=configuration, venues=venues)
    method = getattr(coverage, "method", None) or getattr(gaps, "method", None)
    attribution = esc(attribution_text(area, osm=basemap or method == "network"))
    bounds = area.boundary.to_crs(settings.display_crs).total_bounds
    fmap = folium.Map(
        location=[(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2],
        tiles=None,
        zoom_snap=0.25,
        control_scale=True,
        prefer_canvas=False,
    )
    # Leaflet comes inlined from the installed package (see render_html), never from a CDN.
    fmap.default_js = []
    fmap.default_css = []
    fmap.add_child(Panes())
    if basemap:
        folium.TileLayer(OSM_TILES, attr=OSM_ATTRIBUTION, name="OpenStreetMap (online)", overlay=True).add_to(fmap)
    shading_layers = {
        index: _decile_layer(area, decile_shading(index), attribution, show=index == decile) for index in DECILE_INDICES
    }
    for layer in shading_layers.values():
        layer.add_to(fmap)
    if catchments is not None and not catchments.empty:
        _bands_layer(catchments).add_to(fmap)
    gap_text = None
    if gaps is not None and not gaps.clusters.empty:
        top = top_gap_areas(gaps, area)
        gap_text = gap_label(gaps, count=len(top))
        _gaps_layer(gaps, top).add_to(fmap)
        _labels_layer(
            top.geometry.centroid,
            [str(int(rank)) for rank in top["rank"]],
            name="Gap numbers",
            css="geoplan-label gap",
            pane="geoplan-labels",
        ).add_to(fmap)
    ward_style = area.catalogue.layers["wards"].style if "wards" in area.catalogue.layers else {}
    _outline_layer(
        area.wards,
        [f"Ward: {esc(name)}" for name in area.wards["ward_name"]],
        name="Wards",
        style={
            "color": ward_style.get("line_color", "#222222"),
            "weight": ward_style.get("line_weight", 1.5),
            "className": "geoplan-ward",
        },
    ).add_to(fmap)
    _outline_layer(
        area.boundary,
        [esc(area.name)],
        name="Study area boundary",
        style={"color": "#000000", "weight": 3, "className": "geoplan-boundary"},
    ).add_to(fmap)
    ward_names = _labels_layer(
        label_points(area.wards),
        list(area.wards["ward_name"]),
        name="Ward names",
        css="geoplan-label ward",
        pane="geoplan-ward-labels",
    )
    ward_names.add_to(fmap)
    fmap.add_child(ZoomVisible(ward_names, min_zoom=WARD_LABEL_MIN_ZOOM))
    if children:
        _children_layer(area).add_to(fmap)
    _venues_layer(area, shown, attribution, analyst=analyst).add_to(fmap)
    folium.LayerControl(collapsed=True, position="topright").add_to(fmap)
    legend = _legend_html(area, shown, shading=shading, catchments=catchments, gaps=gap_text)
    headings = {layer.layer_name: DECILE_INDICES[index][1] for index, layer in shading_layers.items()}
    fmap.add_child(Legend(legend, headings=headings, bounds=[[bounds[1], bounds[0]], [bounds[3], bounds[2]]]))
    heading = title or f"{area.name}: early-years venues and deprivation"
    if subtitle is None and coverage is not None:
        subtitle = coverage.headline()
    if header:
        add_header(fmap.get_root(), header_html(heading, subtitle))
    fmap.get_root().title = esc(heading)
    return fmap


COMPARE_CSS = """
body { display: grid; grid-template-columns: 1fr 1fr; grid-template-rows: auto 1fr; height: 100vh; }
body > .geoplan-header { grid-column: 1 / -1; display: grid; grid-template-columns: 1fr 1fr; column-gap: 12px; }
.geoplan-header .side { font-size: 14px; font-weight: bold; }
.geoplan-header .side .sub { font-weight: normal; }
body > .geoplan-header { position: relative; }
.geoplan-header details { grid-column: 1 / -1; margin-top: 4px; }
.geoplan-header details .changes { position: absolute; left: 0; right: 0; top: 100%; z-index: 2000; background: #fff;
  padding: 8px 12px; box-shadow: 0 3px 8px rgba(0,0,0,0.35); }
.geoplan-header summary { cursor: pointer; font-size: 13px; }
.geoplan-header .changes { max-height: 45vh; overflow-y: auto; display: flex; flex-wrap: wrap; gap: 16px; }
.geoplan-header table { border-collapse: collapse; font-size: 11.5px; }
.geoplan-header th, .geoplan-header td { border: 1px solid #bbb; padding: 1px 5px; text-align: right; }
.geoplan-header td.name, .geoplan-header th.name { text-align: left; }
body > .folium-map { position: relative !important; width: auto !important; height: auto !important;
  left: 0 !important; top: 0 !important; min-height: 0; border-left: 1px solid #999; }
"""


def compare_maps(
    left: folium.Map,
    right: folium.Map,
    *,
    title: str,
    sides: tuple[tuple[str, str | None], tuple[str, str | None]],
    summary: str = "",
) -> Figure:
    """Two maps side by side in one page, panning and zooming together, under one header.

    ``sides`` holds each map's full title and subtitle (escaped here); ``summary`` is
    already-escaped HTML of the before/after summary shown in the header.
    """
    figure = Figure(title=esc(title))
    figure.header.add_child(Element(f"<style>{COMPARE_CSS}</style>"), name="geoplan_compare")
    cells = "".join(
        f'<div class="side">{esc(name)}' + (f'<div class="sub">{esc(sub)}</div>' if sub else "") + "</div>"
        for name, sub in sides
    )
    header = f'<header class="geoplan-header"><h1 class="geoplan-title" style="grid-column:1/-1">{esc(title)}</h1>'
    add_header(figure, f"{header}{cells}{summary}</header>")
    for fmap in (left, right):
        figure.add_child(fmap)
    figure.add_child(SyncMaps(left, right))
    return figure
