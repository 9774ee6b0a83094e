"""The Leaflet pieces of the committee map: offline assets, layers in fixed panes, controls, the page.

folium assembles the page; these elements add what a committee map needs beyond folium's stock
ones: vector layers drawn in their own pane (so switching the shading never buries the walking
bands, gap outlines or wards), escaped popups sized to the screen, a legend that follows the
shading and folds away, labels shown from a suitable zoom, and two maps that pan together.
Leaflet's JavaScript and CSS come from an installed package (``django-js-lib-leaflet``, the
Leaflet 1.9 dist files) and are inlined, so the page works with no network.
"""

from __future__ import annotations

import base64
import functools
import importlib.resources
import os
import re

import folium
from branca.element import Element, Figure, MacroElement
from folium.map import Layer
from folium.template import Template

from geoplan.fileio import write_text
from geoplan.text import esc, json_safe

#: Panes (name, z-index) from the bottom up; Leaflet's own overlay pane is 400 and markers 600.
PANES: tuple[tuple[str, int], ...] = (
    ("geoplan-shading", 350),
    ("geoplan-bands", 410),
    ("geoplan-gaps", 420),
    ("geoplan-children", 425),
    ("geoplan-wards", 430),
    ("geoplan-ward-labels", 445),
    ("geoplan-labels", 450),
)
MARKER_SIZE_PX = 18
#: Popups: widest (CSS pixels) and share of the map's height they may take before scrolling.
POPUP_MAX_WIDTH_PX = 340
POPUP_MAX_HEIGHT_SHARE = 0.6
#: Room (pixels) a popup keeps from the right edge, where the layer list and the folded legend sit.
POPUP_RIGHT_MARGIN_PX = 110
#: Below this map width or height (pixels) the legend starts folded.
LEGEND_OPEN_MIN_WIDTH_PX = 900
LEGEND_OPEN_MIN_HEIGHT_PX = 560

_LEAFLET_PACKAGE = "js_lib_leaflet"
_LEAFLET_DIR = "static/js_lib_leaflet"

MAP_CSS = """
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; font: 12px/1.35 Arial, Helvetica, sans-serif; color: #111; }
body > .folium-map { flex: 1 1 0; position: relative !important; height: auto !important; width: 100% !important;
  left: 0 !important; top: 0 !important; min-height: 0; }
.geoplan-header { flex: none; padding: 6px 12px; background: #fff; border-bottom: 2px solid #081d58; }
.geoplan-title { font-size: 17px; font-weight: bold; margin: 0; }
.geoplan-header .sub { font-size: 12px; color: #333; margin-top: 2px; }
.geoplan-box { background: rgba(255,255,255,0.95); padding: 4px 8px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,0.35); font: 12px/1.35 Arial, Helvetica, sans-serif; color: #111; }
.geoplan-legend { max-width: 250px; }
.geoplan-legend summary { cursor: pointer; font-weight: bold; padding: 2px 0; }
.geoplan-legend .body { overflow-y: auto; padding-right: 4px; }
.geoplan-legend h4 { margin: 4px 0 2px; font-size: 12px; }
.geoplan-legend .row { display: flex; align-items: center; gap: 5px; margin: 1px 0; }
.geoplan-legend .swatch { width: 16px; height: 11px; border: 1px solid #777; display: inline-block; flex: none; }
.geoplan-venue { background: none; border: none; }
.geoplan-label { background: none; border: none; white-space: nowrap; pointer-events: none; color: #1a1a1a;
  font: bold 11px/1 Arial, Helvetica, sans-serif; text-align: center;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 2px #fff, 0 0 1px #fff; }
.geoplan-label span { display: inline-block; transform: translate(-50%, -50%); }
.geoplan-label.gap { color: #fff; text-shadow: none; }
.geoplan-label.gap span { min-width: 12px; padding: 2px 4px; border-radius: 9px; background: #c51b7d;
  border: 1px solid #fff; }
.geoplan-popup { overflow-wrap: anywhere; }
.geoplan-popup ul { margin: 3px 0 0; padding-left: 16px; }
.geoplan-popup li { margin: 1px 0; }
.geoplan-popup .analyst { color: #555; font-size: 11px; border-top: 1px dashed #aaa; margin-top: 4px; }
.leaflet-popup-content { overflow-y: auto; }
.leaflet-pane > svg { pointer-events: none; }
body .leaflet-container { background: #f4f4f1; font-size: 12px; }
.leaflet-control-attribution { font-size: 9px; max-width: 60vw; max-height: 2.6em; overflow: hidden; }
.leaflet-control-attribution:hover { max-height: none; }
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


class Panes(MacroElement):
    """Create the map's panes (see :data:`PANES`) before any layer is added."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        {% for name, z in this.panes %}
        {{ this._parent.get_name() }}.createPane({{ name|tojson }}).style.zIndex = {{ z }};
        {% endfor %}
        {% endmacro %}
        """
    )

    def __init__(self) -> None:
        super().__init__()
        self._name = "Panes"
        self.panes = PANES


class VectorLayer(Layer):
    """A GeoJSON layer drawn by Leaflet in one pane, with per-feature style, escaped popup and tooltip HTML.

    Each feature's properties may hold ``style`` (Leaflet path options), ``popup`` and ``tip``
    (already-escaped HTML), ``icon`` (SVG of a marker, drawn as a ``divIcon``), ``label``
    (escaped text drawn as a label), ``cls`` (CSS class of an icon or label) and ``r`` (radius of
    a circle marker in pixels).
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        var {{ this.get_name() }} = L.geoJson({{ this.data|tojson }}, {
            attribution: {{ this.attribution|tojson }},
            pane: {{ this.pane|tojson }},
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
                if (p.label) {
                    return L.marker(latlng, {icon: L.divIcon({html: p.label, className: p.cls,
                        iconSize: null}), pane: {{ this.pane|tojson }}, interactive: false, keyboard: false});
                }
                return L.circleMarker(latlng, Object.assign({}, {{ this.style|tojson }},
                    {radius: p.r, pane: {{ this.pane|tojson }}}));
            },
            onEachFeature: function (feature, layer) {
                if (feature.properties.popup) {
                    layer.bindPopup(feature.properties.popup, {
                        maxWidth: Math.min({{ this.popup_width }}, window.innerWidth - 180),
                        minWidth: Math.min(200, window.innerWidth - 48),
                        maxHeight: Math.max(140, window.innerHeight * {{ this.popup_height_share }}),
                        autoPanPaddingTopLeft: [60, 10],
                        autoPanPaddingBottomRight: [{{ this.popup_right_margin }}, 10], keepInView: true});
                }
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
        pane: str = "overlayPane",
        style: dict[str, object] | None = None,
        attribution: str = "",
        overlay: bool = True,
        show: bool = True,
    ) -> None:
        super().__init__(name=esc(name), overlay=overlay, control=True, show=show)
        self._name = "VectorLayer"
        self.data = json_safe(data)
        self.pane = pane
        self.style = style or {}
        self.attribution = attribution
        self.icon_size = MARKER_SIZE_PX
        self.popup_width = POPUP_MAX_WIDTH_PX
        self.popup_height_share = POPUP_MAX_HEIGHT_SHARE
        self.popup_right_margin = POPUP_RIGHT_MARGIN_PX


class Legend(MacroElement):
    """A folding legend (top right) whose shading heading follows the base layer shown.

    ``headings`` maps each base layer's control name to the legend heading of its shading; the
    map is fitted to ``bounds`` leaving room for the open legend, so it never hides the area.
    """

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map) {
            var control = L.control({position: "topright"});
            control.onAdd = function () {
                var div = L.DomUtil.create("details", "geoplan-box geoplan-legend");
                div.innerHTML = {{ this.content|tojson }};
                var size = map.getSize();
                div.open = size.x >= {{ this.min_width }} && size.y >= {{ this.min_height }};
                div.querySelector(".body").style.maxHeight = Math.max(120, size.y - 110) + "px";
                L.DomEvent.disableClickPropagation(div);
                L.DomEvent.disableScrollPropagation(div);
                return div;
            };
            control.addTo(map);
            var headings = {{ this.headings|tojson }};
            var folded = false;
            // A popup opened under the legend: fold the legend while the popup is open.
            map.on("popupopen", function () {
                var legend = control.getContainer();
                if (legend.open) { legend.open = false; folded = true; }
            });
            map.on("popupclose", function () {
                if (folded) { control.getContainer().open = true; folded = false; }
            });
            map.on("baselayerchange", function (event) {
                var heading = control.getContainer().querySelector(".geoplan-shading-heading");
                if (heading && headings[event.name]) { heading.textContent = headings[event.name]; }
            });
            var legend = control.getContainer();
            var room = legend.open ? legend.offsetWidth + 20 : 10;
            map.fitBounds({{ this.bounds|tojson }}, {paddingTopLeft: [10, 10], paddingBottomRight: [room, 10]});
        })({{ this._parent.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, content: str, *, headings: dict[str, str], bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "Legend"
        self.content = content
        self.headings = {esc(name): heading for name, heading in headings.items()}
        self.bounds = bounds
        self.min_width = LEGEND_OPEN_MIN_WIDTH_PX
        self.min_height = LEGEND_OPEN_MIN_HEIGHT_PX


class ZoomVisible(MacroElement):
    """Show a layer only from ``min_zoom`` up (labels that would crowd a small-scale view)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function (map, layer) {
            function update() {
                var on = map.getZoom() >= {{ this.min_zoom }};
                map.getPane({{ this.pane|tojson }}).style.display = on ? "" : "none";
            }
            map.on("zoomend", update);
            map.whenReady(update);
        })({{ this._parent.get_name() }}, {{ this.layer.get_name() }});
        {% endmacro %}
        """
    )

    def __init__(self, layer: VectorLayer, *, min_zoom: float) -> None:
        super().__init__()
        self._name = "ZoomVisible"
        self.layer = layer
        self.pane = layer.pane
        self.min_zoom = min_zoom


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


def add_header(figure: Figure, content: str) -> None:
    """Put already-escaped header HTML (title, subtitle) above the map, outside it, so it hides nothing."""
    figure.html.add_child(Element(content), name="geoplan_header", index=0)


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
    if isinstance(document, folium.Map):
        maps = [document]
    else:
        maps = [child for child in document._children.values() if isinstance(child, folium.Map)]
    summary = []
    for fmap in maps:
        layers = {
            child.layer_name: len(child.data["features"])
            for child in fmap._children.values()
            if isinstance(child, VectorLayer)
        }
        summary.append(layers)
    return {"maps": summary}
