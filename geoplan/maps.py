"""Committee maps that open anywhere: one self-contained HTML file, no internet needed.

A map is a folium (Leaflet) map whose every layer is a vector layer carried in the file:
LSOAs shaded by national IMD or IDACI decile, ward and borough outlines, walking bands, gap
areas, venues by kind (closed or redesignated ones greyed) and, optionally, children per
postcode. Leaflet's JavaScript and CSS come from an installed package (``django-js-lib-leaflet``,
which ships the Leaflet 1.9 dist files and nothing else) and are inlined, so the file works
on a council laptop with no network, months later, from an archive. ``basemap=True`` adds
OpenStreetMap tiles for readers who are online.

Every string that comes from data (venue names, addresses, session titles, scenario names)
is HTML-escaped here, in Python, before it reaches the page; Leaflet then inserts only
escaped HTML.
"""

from __future__ import annotations

import base64
import functools
import html
import importlib.resources
import os
import re
from collections.abc import Iterable, Sequence

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.template import Template

from geoplan import settings
from geoplan.programme import Configuration, baseline_configuration
from geoplan.errors import InputError
from geoplan.fileio import write_text
from geoplan.studyarea import StudyArea
from geoplan.venues import CENTRE_KINDS

#: ColorBrewer YlGnBu in 10 classes, decile 1 (most deprived 10% nationally) darkest.
DECILE_COLORS: tuple[str, ...] = (
    "#081d58", "#22318d", "#2355a4", "#1f80b8", "#31a6c2", "#5dc0c0", "#97d6b9", "#cfecb3", "#eff9b5", "#ffffd9",
)  # fmt: skip
#: Deprivation indices a map can shade LSOAs by: column and label.
DECILE_INDICES: dict[str, tuple[str, str]] = {
    "imd": ("imd_decile", "IMD 2025 national decile"),
    "idaci": ("idaci_decile", "IDACI 2025 national decile"),
}
#: Colour of venues that are closed or no longer a centre in the configuration shown.
GREYED_COLOR = "#9e9e9e"
#: Catalogue symbol names (icon-font names) as marker shapes (matplotlib marker codes), so the
#: web map and the printed figure draw every kind with the same shape and no icon font is needed.
SYMBOL_MARKERS: dict[str, str] = {
    "star": "*",
    "square": "s",
    "book": "D",
    "home": "p",
    "graduation-cap": "^",
    "plus": "P",
    "bell": "v",
    "shopping-basket": "h",
    "futbol": "o",
}
DEFAULT_MARKER = "o"
#: Walking bands, innermost first.
BAND_COLORS: tuple[str, ...] = ("#006d2c", "#31a354", "#74c476", "#a1d99b")
BAND_FILL_OPACITY = 0.12
GAP_COLOR = "#c51b7d"
#: Gap areas drawn: the highest-need clusters (the report and the gaps command list the rest).
GAPS_SHOWN = 20
CHILDREN_COLOR = "#444444"
#: LSOA boundaries are simplified to this tolerance before display (they are generalised to 20 m at source).
SIMPLIFY_TOLERANCE_M = 5.0
#: Decimal places of longitude/latitude kept (1e-5 degree is about 1 m in England).
COORDINATE_DECIMALS = 5
MARKER_SIZE_PX = 18
#: Leaflet z-index offset lifting open centres above other markers.
CENTRE_Z_OFFSET = 1000
#: Largest circle drawn for children at one postcode, in pixels.
CHILDREN_MAX_RADIUS_PX = 8.0
OSM_ATTRIBUTION = "© OpenStreetMap contributors (ODbL)"
OSM_TILES = "https://tile.openstreetmap.org/{z}/{x}/{y}.png"

_LEAFLET_PACKAGE = "js_lib_leaflet"
_LEAFLET_DIR = "static/js_lib_leaflet"


def esc(value: object) -> str:
    """HTML-escape any value for display (``None`` and NaN show as empty)."""
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return html.escape(str(value), quote=True)


def marker_svg(marker: str, color: str, *, size: int = MARKER_SIZE_PX, edge: str = "#222222") -> str:
    """An inline SVG of a matplotlib marker shape, so map and printed figure share symbols."""
    from matplotlib.markers import MarkerStyle
    from matplotlib.path import Path as MplPath

    style = MarkerStyle(marker)
    path = style.get_path().transformed(style.get_transform())
    commands = []
    for vertices, code in path.iter_segments(simplify=False, curves=True):
        points = " ".join(f"{x:.3f},{-y:.3f}" for x, y in np.asarray(vertices).reshape(-1, 2))
        letter = {MplPath.MOVETO: "M", MplPath.LINETO: "L", MplPath.CURVE3: "Q", MplPath.CURVE4: "C"}.get(code)
        commands.append("Z" if code == MplPath.CLOSEPOLY else f"{letter}{points}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{size}" height="{size}" viewBox="-0.6 -0.6 1.2 1.2">'
        f'<path d="{" ".join(commands)}" fill="{esc(color)}" stroke="{esc(edge)}" stroke-width="0.08"/></svg>'
    )


def kind_style(area: StudyArea, kind: str) -> tuple[str, str, str]:
    """Colour, marker shape and label of a venue kind, from the area's catalogue."""
    style = area.catalogue.venues.styles.get(kind)
    if style is None:
        return "#000000", DEFAULT_MARKER, kind.replace("_", " ").capitalize()
    return style.color, SYMBOL_MARKERS.get(style.symbol, DEFAULT_MARKER), style.label


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
    frame["kind"] = [configuration.kinds.get(venue, kind) for venue, kind in zip(frame["venue_id"], frame["kind"])]
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


def _json_safe(value: object) -> object:
    if isinstance(value, dict):
        return {key: _json_safe(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(item) for item in value]
    if hasattr(value, "item"):
        return value.item()
    return value


class VectorLayer(Layer):
    """A GeoJSON layer drawn by Leaflet, with per-feature style, escaped popup and tooltip HTML.

    Each feature's properties may hold ``style`` (Leaflet path options), ``popup`` and ``tip``
    (already-escaped HTML), ``icon`` (SVG of a marker, drawn as a ``divIcon``) and ``r`` (radius
    of a circle marker in pixels).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data|tojson }}, {
            attribution: {{ this.attribution|tojson }},
            style: function (feature) {
                return Object.assign({}, {{ this.style|tojson }}, feature.properties.style || {});
            },
            pointToLayer: function (feature, latlng) {
                var p = feature.properties;
                if (p.icon) {
                    return L.marker(latlng, {icon: L.divIcon({html: p.icon, className: p.cls,
                        iconSize: [{{ this.icon_size }}, {{ this.icon_size }}]}), title: p.title, alt: p.title,
                        zIndexOffset: p.z || 0});
                }
                return L.circleMarker(latlng, Object.assign({}, {{ this.style|tojson }}, {radius: p.r}));
            },
            onEachFeature: function (feature, layer) {
                if (feature.properties.popup) { layer.bindPopup(feature.properties.popup, {maxWidth: 380}); }
                if (feature.properties.tip) { layer.bindTooltip(feature.properties.tip, {sticky: true}); }
            }
        });
        {% endmacro %}
        """
    )

    def __init__(
        self,
        data: dict,
        *,
        name: str,
        style: dict[str, object] | None = None,
        attribution: str = "",
        overlay: bool = True,
        show: bool = True,
    ) -> None:
        super().__init__(name=esc(name), overlay=overlay, control=True, show=show)
        self._name = "VectorLayer"
        self.data = _json_safe(data)
        self.style = style or {}
        self.attribution = attribution
        self.icon_size = MARKER_SIZE_PX


class HtmlControl(MacroElement):
    """A fixed box on the map (title, legend) whose HTML was escaped by the caller."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.control({position: {{ this.position|tojson }}});
        {{ this.get_name() }}.onAdd = function () {
            var div = L.DomUtil.create("div", {{ this.css_class|tojson }});
            div.innerHTML = {{ this.content|tojson }};
            L.DomEvent.disableClickPropagation(div);
            L.DomEvent.disableScrollPropagation(div);
            return div;
        };
        {{ this.get_name() }}.addTo({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, content: str, *, position: str, css_class: str) -> None:
        super().__init__()
        self._name = "HtmlControl"
        self.content = content
        self.position = position
        self.css_class = css_class


class SyncMaps(MacroElement):
    """Keep two maps on the same view (pan and zoom either one)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (a, b) {
            var busy = false;
            function follow(source, target) {
                source.on("move zoom", function () {
                    if (busy) { return; }
                    busy = true;
                    target.setView(source.getCenter(), source.getZoom(), {animate: false});
                    busy = false;
                });
            }
            follow(a, b);
            follow(b, a);
        })({{ this.left.get_name() }}, {{ this.right.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, left: folium.Map, right: folium.Map) -> None:
        super().__init__()
        self._name = "SyncMaps"
        self.left = left
        self.right = right


MAP_CSS = """
.geoplan-box { background: rgba(255,255,255,0.93); padding: 6px 9px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.35); font: 12px/1.35 Arial, Helvetica, sans-serif; color: #111; }
.geoplan-title { font-size: 15px; font-weight: bold; max-width: 46vw; }
.geoplan-title .sub { font-size: 11px; font-weight: normal; color: #333; }
.geoplan-legend { max-height: 62vh; overflow-y: auto; }
.geoplan-legend h4 { margin: 4px 0 2px; font-size: 12px; }
.geoplan-legend .row { display: flex; align-items: center; gap: 5px; margin: 1px 0; }
.geoplan-legend .swatch { width: 16px; height: 11px; border: 1px solid #777; display: inline-block; }
.geoplan-venue { background: none; border: none; }
.geoplan-popup td { padding: 1px 4px; vertical-align: top; }
.leaflet-container { background: #f4f4f1; }
.leaflet-control-attribution { font-size: 10px; max-width: 70vw; }
"""


@functools.cache
def leaflet_assets() -> str:
    """Leaflet's CSS and JavaScript from the installed package, inlined (images as data URIs)."""
    root = importlib.resources.files(_LEAFLET_PACKAGE).joinpath(_LEAFLET_DIR)
    css = root.joinpath("leaflet.css").read_text(encoding="utf-8")

    def inline_image(match: re.Match[str]) -> str:
        data = root.joinpath(match.group(1)).read_bytes()
        return f"url(data:image/png;base64,{base64.b64encode(data).decode('ascii')})"

    css = re.sub(r"url\((images/[\w.-]+\.png)\)", inline_image, css)
    script = root.joinpath("leaflet.js").read_text(encoding="utf-8")
    # The source map is not shipped inline; a reference to it would be a request from an archive copy.
    script = re.sub(r"//# sourceMappingURL=\S+", "", script)
    return f"<style>{css}\n{MAP_CSS}</style>\n<script>{script}</script>"


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


def _decile_layer(area: StudyArea, index: str, attribution: str, *, show: bool) -> VectorLayer:
    column, label = DECILE_INDICES[index]
    lsoas = area.lsoas
    style = area.catalogue.layers["lsoas"].style if "lsoas" in area.catalogue.layers else {}
    frame = lsoas[["lsoa_code", "geometry"]].copy()
    frame["style"] = [{"fillColor": DECILE_COLORS[int(decile) - 1]} for decile in lsoas[column]]
    frame["tip"] = [
        f"<b>{esc(row.lsoa_name)}</b> ({esc(row.lsoa_code)})<br>{esc(row.ward_name)}<br>"
        f"IMD decile {int(row.imd_decile)}, IDACI decile {int(row.idaci_decile)}<br>"
        f"Children aged 0-4 (Census 2021): {int(row.children_0_4):,}"
        for row in lsoas.itertuples()
    ]
    data = _rounded_geojson(frame, ["style", "tip"], simplify_m=SIMPLIFY_TOLERANCE_M)
    base_style = {
        "color": style.get("line_color", "#555555"),
        "weight": style.get("line_weight", 0.5),
        "fillOpacity": 0.75,
        "className": "geoplan-lsoa",
    }
    return VectorLayer(data, name=f"LSOAs by {label}", style=base_style, attribution=attribution,
                       overlay=False, show=show)  # fmt: skip


def _outline_layer(frame: gpd.GeoDataFrame, tips: Iterable[str], *, name: str, style: dict[str, object]) -> VectorLayer:
    frame = frame[["geometry"]].copy()
    frame["tip"] = list(tips)
    data = _rounded_geojson(frame, ["tip"], simplify_m=SIMPLIFY_TOLERANCE_M)
    return VectorLayer(data, name=name, style={"fill": False, "interactive": True, **style})


def _venue_popup(area: StudyArea, venue: pd.Series) -> str:
    label = kind_style(area, venue["kind"])[2]
    parts = [f"<b>{esc(venue['name'])}</b>", esc(label)]
    if venue["state"] != "open":
        parts.append(f"<i>{esc(venue['state'].capitalize())} in this configuration</i>")
    if venue["kind"] != venue["original_kind"]:
        parts.append(f"Was: {esc(kind_style(area, venue['original_kind'])[2])}")
    parts.append(", ".join(esc(part) for part in (venue["address"], venue["postcode"]) if part))
    if venue.get("status_2021") not in (None, "", "n/a"):
        parts.append(f"2021 status: {esc(str(venue['status_2021']).replace('_', ' '))}")
    if venue.get("notes"):
        parts.append(f"<small>{esc(venue['notes'])}</small>")
    sessions = venue["sessions"]
    if sessions:
        rows = "".join(
            f"<tr><td>{esc(s.get('title'))}</td><td>{esc(s.get('day'))} {esc(s.get('frequency'))}</td>"
            f"<td>{esc(s.get('age_group'))}</td><td>{esc(s.get('provider'))}</td></tr>"
            for s in sessions
        )
        parts.append(f"<b>Sessions ({len(sessions)})</b><table>{rows}</table>")
    else:
        parts.append("No sessions listed")
    return '<div class="geoplan-popup">' + "<br>".join(parts) + "</div>"


def _venues_layer(area: StudyArea, venues: gpd.GeoDataFrame, attribution: str) -> VectorLayer:
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
    frame["popup"] = [_venue_popup(area, venue) for _, venue in venues.iterrows()]
    data = _rounded_geojson(frame, ["icon", "cls", "title", "popup", "z"])
    return VectorLayer(data, name="Venues", attribution=attribution)


def _bands_layer(catchments: gpd.GeoDataFrame, method: str) -> VectorLayer:
    bands = catchments.dissolve(by="band").reset_index().sort_values("band", ascending=False)
    order = sorted(bands["band"])
    frame = bands[["geometry"]].copy()
    frame["style"] = [
        {"color": BAND_COLORS[min(order.index(m), len(BAND_COLORS) - 1)],
         "fillColor": BAND_COLORS[min(order.index(m), len(BAND_COLORS) - 1)]}
        for m in bands["band"]
    ]  # fmt: skip
    frame["tip"] = [f"Within {m:g} minutes' walk ({esc(method)})" for m in bands["band"]]
    data = _rounded_geojson(frame, ["style", "tip"], simplify_m=SIMPLIFY_TOLERANCE_M)
    style = {"weight": 1.5, "fillOpacity": BAND_FILL_OPACITY, "className": "geoplan-band"}
    return VectorLayer(data, name="Walking bands", style=style)


def _gaps_layer(gaps: object) -> VectorLayer:
    clusters = gaps.clusters.head(GAPS_SHOWN)
    frame = clusters[["geometry"]].copy()
    frame["tip"] = [f"<b>Gap {int(row.rank)}</b>: {esc(row.reason)}" for row in clusters.itertuples()]
    data = _rounded_geojson(frame, ["tip"], simplify_m=SIMPLIFY_TOLERANCE_M)
    style = {"color": GAP_COLOR, "fillColor": GAP_COLOR, "weight": 2, "dashArray": "4 3", "fillOpacity": 0.2,
             "className": "geoplan-gap"}  # fmt: skip
    return VectorLayer(data, name=gap_label(gaps), style=style)


def gap_label(gaps: object) -> str:
    """Legend text of the gap areas."""
    return f"Top {min(GAPS_SHOWN, len(gaps.clusters))} gap areas by need (beyond {gaps.minutes:g} min)"


def _children_layer(area: StudyArea) -> VectorLayer:
    children = area.children[area.children["children_0_4"] > 0]
    frame = children[["geometry"]].copy()
    counts = children["children_0_4"].to_numpy(dtype=float)
    # Circle area proportional to children, so the eye reads density.
    frame["r"] = np.round(CHILDREN_MAX_RADIUS_PX * np.sqrt(counts / counts.max()), 1)
    data = _rounded_geojson(frame, ["r"])
    style = {"color": CHILDREN_COLOR, "weight": 0.5, "fillColor": CHILDREN_COLOR, "fillOpacity": 0.35,
             "className": "geoplan-children"}  # fmt: skip
    return VectorLayer(data, name="Children aged 0-4 by postcode (estimate)", style=style, show=False)


def _legend_html(area: StudyArea, venues: gpd.GeoDataFrame, *, index: str, catchments: gpd.GeoDataFrame | None,
                 gaps: object | None) -> str:  # fmt: skip
    rows = [f"<h4>{esc(DECILE_INDICES[index][1])}</h4>"]
    for decile, color in enumerate(DECILE_COLORS, start=1):
        note = " (most deprived 10%)" if decile == 1 else " (least deprived 10%)" if decile == len(DECILE_COLORS) else ""
        rows.append(f'<div class="row"><span class="swatch" style="background:{color}"></span>{decile}{note}</div>')
    rows.append("<h4>Venues</h4>")
    for kind in dict.fromkeys(venues.loc[~venues["greyed"], "kind"]):
        color, marker, label = kind_style(area, kind)
        rows.append(f'<div class="row">{marker_svg(marker, color, size=14)}{esc(label)}</div>')
    if venues["greyed"].any():
        rows.append(f'<div class="row">{marker_svg(DEFAULT_MARKER, GREYED_COLOR, size=14)}Closed or redesignated</div>')
    if catchments is not None and not catchments.empty:
        rows.append("<h4>Walking bands</h4>")
        for position, minutes in enumerate(sorted(catchments["band"].unique())):
            color = BAND_COLORS[min(position, len(BAND_COLORS) - 1)]
            rows.append(f'<div class="row"><span class="swatch" style="border-color:{color};'
                        f'background:{color}33"></span>{minutes:g} min</div>')  # fmt: skip
    if gaps is not None:
        rows.append(f'<div class="row"><span class="swatch" style="border:2px dashed {GAP_COLOR}"></span>'
                    f"{esc(gap_label(gaps))}</div>")  # fmt: skip
    return "".join(rows)


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
        A :class:`geoplan.coverage.CoverageResult`; its headline becomes the map's subtitle.
    gaps
        A :class:`geoplan.coverage.GapResult`; its postcode clusters are drawn as gap areas.
    catchments
        Walking catchments (``band`` in minutes, geometry, EPSG:27700, as
        :func:`geoplan.catchments.study_area_catchments` returns them), dissolved per band.
    decile
        ``imd`` or ``idaci``: which national decile shades the LSOAs first (the other is a
        second base layer in the layer control).
    children
        Add children aged 0-4 per postcode (hidden until switched on).
    title, subtitle
        Text of the title box (escaped); defaults name the area.
    basemap
        Add OpenStreetMap tiles (needs the internet when viewed).

    Returns
    -------
    folium.Map
    """
    if decile not in DECILE_INDICES:
        msg = f"unknown deprivation index {decile!r}; use {' or '.join(DECILE_INDICES)}"
        raise InputError(msg, field="decile")
    shown = venue_layer(area, configuration=configuration, venues=venues)
    method = getattr(coverage, "method", None) or getattr(gaps, "method", None)
    attribution = esc(attribution_text(area, osm=basemap or method == "network"))
    bounds = area.boundary.to_crs(settings.display_crs).total_bounds
    fmap = folium.Map(location=[(bounds[1] + bounds[3]) / 2, (bounds[0] + bounds[2]) / 2], tiles=None,
                      zoom_snap=0.25, control_scale=True, prefer_canvas=False)  # fmt: skip
    # Leaflet comes inlined from the installed package (see write_map), never from a CDN.
    fmap.default_js = []
    fmap.default_css = []
    if basemap:
        folium.TileLayer(OSM_TILES, attr=OSM_ATTRIBUTION, name="OpenStreetMap (online)", overlay=True).add_to(fmap)
    for index in DECILE_INDICES:
        _decile_layer(area, index, attribution, show=index == decile).add_to(fmap)
    ward_style = area.catalogue.layers["wards"].style if "wards" in area.catalogue.layers else {}
    _outline_layer(area.wards, [f"Ward: {esc(name)}" for name in area.wards["ward_name"]], name="Wards",
                   style={"color": ward_style.get("line_color", "#222222"), "weight": ward_style.get("line_weight", 1.5),
                          "className": "geoplan-ward"}).add_to(fmap)  # fmt: skip
    _outline_layer(area.boundary, [esc(area.name)], name="Borough boundary",
                   style={"color": "#000000", "weight": 3, "className": "geoplan-boundary"}).add_to(fmap)  # fmt: skip
    if catchments is not None and not catchments.empty:
        _bands_layer(catchments, method or "").add_to(fmap)
    if gaps is not None and not gaps.clusters.empty:
        _gaps_layer(gaps).add_to(fmap)
    if children:
        _children_layer(area).add_to(fmap)
    _venues_layer(area, shown, attribution).add_to(fmap)
    folium.LayerControl(collapsed=False, position="topright").add_to(fmap)
    heading = esc(title or f"{area.name}: early-years venues and deprivation")
    if subtitle is None and coverage is not None:
        subtitle = coverage.headline()
    sub = f'<div class="sub">{esc(subtitle)}</div>' if subtitle else ""
    fmap.add_child(HtmlControl(f"{heading}{sub}", position="topleft", css_class="geoplan-box geoplan-title"))
    legend = _legend_html(area, shown, index=decile, catchments=catchments, gaps=gaps)
    fmap.add_child(HtmlControl(legend, position="topleft", css_class="geoplan-box geoplan-legend"))
    fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    fmap.get_root().title = heading
    return fmap


def compare_maps(left: folium.Map, right: folium.Map, *, title: str) -> Figure:
    """Two maps side by side in one page, panning and zooming together."""
    figure = Figure(title=esc(title))
    for position, fmap in (("0%", left), ("50%", right)):
        fmap.width, fmap.height = (50.0, "%"), (100.0, "%")
        fmap.left, fmap.top, fmap.position = (float(position[:-1]), "%"), (0.0, "%"), "absolute"
        figure.add_child(fmap)
    figure.add_child(SyncMaps(left, right))
    return figure


def render_html(document: folium.Map | Figure) -> str:
    """The page of a map (or of two compared maps) as one self-contained HTML string."""
    figure = document if isinstance(document, Figure) else document.get_root()
    figure.header.add_child(Element(leaflet_assets()), name="geoplan_leaflet", index=0)
    return figure.render()


def write_map(document: folium.Map | Figure, out: str | os.PathLike[str]) -> int:
    """Write a self-contained map page atomically; returns its size in bytes."""
    page = render_html(document)
    write_text(out, page)
    return len(page.encode("utf-8"))


def map_summary(document: folium.Map | Figure) -> dict[str, object]:
    """Counts a reader (or a test) can check against the page: layers and features per layer."""
    maps = [document] if isinstance(document, folium.Map) else [
        child for child in document._children.values() if isinstance(child, folium.Map)
    ]  # fmt: skip
    summary = []
    for fmap in maps:
        layers = {
            child.layer_name: len(child.data["features"])
            for child in fmap._children.values()
            if isinstance(child, VectorLayer)
        }
        summary.append(layers)
    return {"maps": summary}

