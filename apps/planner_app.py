"""The planner app: edit a scenario in a meeting and watch the map and the numbers change.

Run it with ``geoplan serve`` (which checks authentication before binding beyond 127.0.0.1) or
``panel serve apps/planner_app.py``; ``GEOPLAN_AREA`` names the layer catalogue (Bexley by default).
Each browser session builds its own :class:`geoplan.planner.PlannerSession` on the process's
shared :class:`~geoplan.workspace.Workspace`; every figure comes from the scenario engine (the
numbers of ``geoplan scenario run`` and the committee report). Every page asset is served by the
Panel server itself (no CDN), and the map is a Bokeh plot in British National Grid metres that
needs no tiles, so the app works with no internet. The scenario being edited is kept in the page
address, so a reload keeps it.
"""

from __future__ import annotations

import io
import logging
import os
import time
from collections.abc import Callable
from datetime import date

import numpy as np
import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, HoverTool, LabelSet, NumeralTickFormatter, Range1d
from bokeh.plotting import figure

from geoplan.errors import GeoplanError
from geoplan.outputs.style import DECILE_COLORS, DECILE_INDICES, GAP_COLOR, GREYED_COLOR, kind_style
from geoplan.planner import (
    MAX_OUTREACH_MONTHS,
    OUTREACH_MONTHS,
    OUTREACH_VISITS_PER_MONTH,
    TOP_GAPS,
    PlannerSession,
    check_scenario_name,
    plain_reason,
)
from geoplan.scenarios import BASELINE
from geoplan.text import esc, plural
from geoplan.workspace import Workspace

LOG = logging.getLogger(__name__)
#: Walking bands offered (minutes).
BANDS = (5, 10, 15, 20, 25, 30)
#: Walking paces offered: label → profile (a name or a speed, as in scenario files).
PACES = {"With a buggy (4 km/h)": "buggy", "Walking (4.8 km/h)": "walk"}
#: Matplotlib marker codes of the committee maps as Bokeh marker names.
BOKEH_MARKERS = {
    "*": "star",
    "s": "square",
    "D": "diamond",
    "p": "hex",
    "^": "triangle",
    "P": "plus",
    "v": "inverted_triangle",
    "h": "hex",
    "o": "circle",
}
#: Marker sizes (screen pixels) of centres, other open venues, venues the scenario closes and former venues.
CENTRE_SIZE, VENUE_SIZE, CLOSED_SIZE, FORMER_SIZE = 18, 10, 16, 6
CLOSED_COLOR = "#000000"
#: Colours of child homes by walking band to the nearest centre (first band → last, then beyond).
HOME_BAND_COLORS = ("#006d2c", "#31a354", "#74c476", "#bae4b3", "#fdae6b", "#e6550d")
#: Colours of the decile chart: this scenario and the current programme.
SCENARIO_COLOR, BASELINE_COLOR = "#2171b5", "#737373"
OUTREACH_COLOR = "#238b45"
MAP_HEIGHT = 540
LSOA_SIMPLIFY_M = 10.0
#: Table cells wrap their text instead of cutting it off.
TABLE_CSS = (
    ".tabulator-cell { white-space: normal !important; overflow-wrap: anywhere; } "
    ".tabulator-col-title { white-space: normal !important; text-overflow: clip !important; }"
)
#: Query parameter holding the scenario being edited (compressed), so a reload keeps it.
STATE_PARAMETER = "scenario"
#: Picker value of an uploaded file.
UPLOADED = "uploaded file"
TAB_NAMES = ("Scenario", "Who gains and loses", "Gaps", "Outreach")
OUTREACH_TAB = TAB_NAMES.index("Outreach")
MAX_OUTREACH_VISITS = 30
#: Page CSS: no horizontal scroll at 1280 px; tables wrap their text.
PAGE_CSS = """
body { overflow-x: hidden; }
.geoplan-error { color: #a50f15; background: #fee0d2; padding: 2px 8px; border-radius: 3px; }
.geoplan-ok { color: #00441b; background: #e5f5e0; padding: 2px 8px; border-radius: 3px; }
.geoplan-warning { color: #7f2704; background: #fff5eb; border: 1px solid #fdae6b; padding: 6px 8px; }
"""


def _polygons(geometries: object) -> tuple[list, list]:
    """Bokeh ``multi_polygons`` coordinates (exterior rings only) of polygon geometries."""
    xs, ys = [], []
    for geometry in geometries:
        parts = list(geometry.geoms) if geometry.geom_type == "MultiPolygon" else [geometry]
        xs.append([[list(np.round(part.exterior.coords.xy[0], 1))] for part in parts])
        ys.append([[list(np.round(part.exterior.coords.xy[1], 1))] for part in parts])
    return xs, ys


def _lines(geometries: object) -> tuple[list, list]:
    """Bokeh ``multi_line`` coordinates of polygon outlines."""
    xs, ys = [], []
    for geometry in geometries:
        parts = list(geometry.geoms) if geometry.geom_type == "MultiPolygon" else [geometry]
        for part in parts:
            xs.append(list(np.round(part.exterior.coords.xy[0], 1)))
            ys.append(list(np.round(part.exterior.coords.xy[1], 1)))
    return xs, ys


def _pct(value: float) -> str:
    return f"{value:.1%}" if value is not None and np.isfinite(value) else "-"


def _band_label(band: float, bands: list[float]) -> str:
    if not np.isfinite(band):
        return f"over {bands[-1]:g} min"
    index = bands.index(band)
    return f"up to {band:g} min" if index == 0 else f"{bands[index - 1]:g}-{band:g} min"


def _table(frame: pd.DataFrame | None = None, *, height: int, name: str, **options: object) -> pn.widgets.Tabulator:
    """A read-only table that fits its pane (columns share the width; long text wraps)."""
    return pn.widgets.Tabulator(
        frame if frame is not None else pd.DataFrame(),
        show_index=False,
        disabled=True,
        height=height,
        sizing_mode="stretch_width",
        layout="fit_columns",
        name=name,
        stylesheets=[TABLE_CSS],
        **options,
    )


class PlannerApp:
    """The widgets, map and figures of one browser session, bound to one :class:`PlannerSession`."""

    def __init__(self, area: str | None = None, *, state: str | None = None) -> None:
        self.workspace = Workspace.shared(area)
        self.area = self.workspace.area
        self.session = PlannerSession(self.workspace)
        self.last_update_ms = float("nan")
        self._updating = False
        self._uploaded: tuple[str, bytes] | None = None
        self._choice = BASELINE
        self._pending_choice: str | None = None
        self._build_widgets()
        self._build_map()
        self._build_chart()
        if state:
            self._act(self.session.restore, state, where="scenario")
        else:
            self.refresh()

    # ------------------------------------------------------------------------------------ widgets
    def _error_pane(self) -> pn.pane.HTML:
        return pn.pane.HTML("", visible=False, sizing_mode="stretch_width", margin=(0, 5))

    def _build_widgets(self) -> None:
        self.errors: dict[str, pn.pane.HTML] = {
            name: self._error_pane()
            for name in ("scenario", "file", "name", "band", "profile", "venue", "session", "postcode", "outreach")
        }
        choices = {"Current programme": BASELINE, **self.session.shipped_scenarios()}
        self.scenario_select = pn.widgets.Select(name="Start from", options=choices, value=BASELINE, width=330)
        self.scenario_select.param.watch(self._on_scenario, "value")
        self.reset_button = pn.widgets.Button(name="Start again", width=100, align="end")
        self.reset_button.on_click(lambda _: self._start_again())
        self.discard_note = pn.pane.HTML("", sizing_mode="stretch_width")
        self.discard_button = pn.widgets.Button(name="Discard my edits and load it", button_type="danger", width=230)
        self.keep_button = pn.widgets.Button(name="Keep editing", width=120)
        self.discard_button.on_click(lambda _: self._confirm_choice(discard=True))
        self.keep_button.on_click(lambda _: self._confirm_choice(discard=False))
        self.discard_box = pn.Column(
            self.discard_note,
            pn.Row(self.discard_button, self.keep_button),
            visible=False,
            css_classes=["geoplan-warning"],
            sizing_mode="stretch_width",
        )
        self.undo_button = pn.widgets.Button(name="Undo", width=70, align="end")
        self.redo_button = pn.widgets.Button(name="Redo", width=70, align="end")
        self.undo_button.on_click(lambda _: self._act(self.session.undo, where="scenario"))
        self.redo_button.on_click(lambda _: self._act(self.session.redo, where="scenario"))
        self.band_select = pn.widgets.Select(
            name="Walking time (minutes)", options=list(BANDS), value=int(self.session.band), width=150
        )
        self.band_select.param.watch(lambda event: self._act(self.session.set_band, event.new, where="band"), "value")
        self.profile_select = pn.widgets.Select(
            name="Walking pace", options=PACES, value=self.session.profile, width=190
        )
        self.profile_select.param.watch(
            lambda event: self._act(self.session.set_profile, event.new, where="profile"), "value"
        )

        self.venue_table = _table(
            height=260,
            name="venues",
            selectable=False,
            formatters={"Open": {"type": "tickCross"}, "Centre": {"type": "tickCross"}},
            hidden_columns=["venue_id"],
        )
        self.venue_table.on_click(self._on_venue_click)
        self.session_table = _table(height=200, name="sessions", selectable=1, hidden_columns=["session_id"])
        self.session_table.param.watch(self._on_session_selected, "selection")
        self.move_session = pn.widgets.Select(name="Session", sizing_mode="stretch_width", min_width=200)
        self.move_to = pn.widgets.Select(name="Move to", sizing_mode="stretch_width", min_width=160)
        self.move_button = pn.widgets.Button(name="Move session", button_type="primary", width=120, align="end")
        self.move_button.on_click(
            lambda _: self._act(self.session.move_session, self.move_session.value, self.move_to.value, where="session")
        )
        self.candidate_select = pn.widgets.Select(
            name="Make an existing venue a children's centre", sizing_mode="stretch_width", min_width=220
        )
        self.candidate_button = pn.widgets.Button(
            name="Make it a centre", button_type="primary", width=140, align="end"
        )
        self.candidate_button.on_click(
            lambda _: self._act(self.session.add_venue, self.candidate_select.value, where="venue")
        )
        self.postcode_input = pn.widgets.TextInput(
            name="Or open a new centre at a postcode", placeholder=self.session.area.example_postcode, width=220
        )
        self.postcode_button = pn.widgets.Button(name="Add centre", button_type="primary", width=120, align="end")
        self.postcode_button.on_click(
            lambda _: self._act(self.session.add_venue, self.postcode_input.value, where="postcode")
        )

        self.name_input = pn.widgets.TextInput(name="Save as (file name)", width=240)
        self.name_input.param.watch(lambda event: self._on_name(event.new), "value_input")
        self.save_button = pn.widgets.FileDownload(
            callback=self._scenario_file,
            filename="scenario.yaml",
            label="Save scenario",
            button_type="success",
            width=140,
            align="end",
        )
        self.saved_note = pn.pane.HTML("", sizing_mode="stretch_width", margin=(0, 5))
        self.report_button = pn.widgets.FileDownload(
            callback=self._report_file,
            filename="report.html",
            label="Committee report",
            button_type="primary",
            width=160,
            align="end",
        )
        self.upload = pn.widgets.FileInput(accept=".yaml,.yml", name="Load a scenario file", width=240)
        self.upload.param.watch(self._on_upload, "value")

        self.headline = pn.pane.HTML("", sizing_mode="stretch_width")
        self.changes = pn.pane.HTML("", sizing_mode="stretch_width")
        self.who_summary = pn.pane.HTML("", sizing_mode="stretch_width")
        self.ward_table = _table(height=260, name="who-by-ward")
        self.imd_table = _table(height=300, name="who-by-imd")
        self.idaci_table = _table(height=300, name="who-by-idaci")
        self.session_type_table = _table(height=220, name="who-by-session-type")
        self.gaps_table = _table(height=320, name="gaps")

        self.outreach_months = pn.widgets.IntInput(
            name="Months", value=OUTREACH_MONTHS, start=1, end=MAX_OUTREACH_MONTHS, width=90
        )
        self.outreach_visits = pn.widgets.IntInput(
            name="Visits a month", value=OUTREACH_VISITS_PER_MONTH, start=1, end=MAX_OUTREACH_VISITS, width=110
        )
        starts = [_month(offset) for offset in range(1, 13)]
        self.outreach_start = pn.widgets.Select(
            name="First month", options={d.strftime("%B %Y"): d for d in starts}, value=starts[0], width=150
        )
        self.outreach_button = pn.widgets.Button(name="Plan visits", button_type="primary", width=110, align="end")
        self.outreach_button.on_click(lambda _: self._update_outreach())
        self.outreach_note = pn.pane.HTML("", sizing_mode="stretch_width")
        self.outreach_table = _table(height=300, name="outreach")
        self.outreach_csv = pn.widgets.FileDownload(
            callback=self._outreach_csv, filename="visit_plan.csv", label="Download CSV", width=140, disabled=True
        )
        self.outreach_ics = pn.widgets.FileDownload(
            callback=self._outreach_ics,
            filename="visit_plan.ics",
            label="Download calendar (.ics)",
            width=200,
            disabled=True,
        )
        self._plan: object | None = None
        self.tabs: pn.Tabs | None = None

    def _venue_frame(self) -> pd.DataFrame:
        table = self.session.venues_table()
        return pd.DataFrame(
            {
                "venue_id": table["venue_id"],
                "Venue": table["name"],
                "Kind": table["kind_label"],
                "Open": table["open"],
                "Centre": table["centre"],
                "Sessions": table["sessions"],
                "Note": np.select(
                    [~table["located"], table["open"] != table["open_now"]],
                    ["no known location", "changed in this scenario"],
                    default="",
                ),
            }
        )

    def _session_frame(self) -> pd.DataFrame:
        table = self.session.sessions_table()
        names = self.session.names()
        moved = np.where(table["venue_id"] != table["baseline_venue_id"], table["baseline_venue_id"].map(names), "")
        return pd.DataFrame(
            {
                "session_id": table["session_id"],
                "Session": table["title"],
                "Type": table["session_type"],
                "Ages": table["ages"],
                "Day": table["day"],
                "Venue": table["venue"],
                "Moved from": moved,
            }
        )

    # ------------------------------------------------------------------------------------ the map
    def _build_map(self) -> None:
        area = self.area
        lsoas = area.lsoas
        key = self.workspace.area_path
        # Outlines are the same for every session: computed once per server process.
        xs, ys = pn.state.as_cached(f"geoplan-lsoas-{key}", lambda: _polygons(lsoas.geometry.simplify(LSOA_SIMPLIFY_M)))
        self.lsoa_source = ColumnDataSource(
            {
                "xs": xs,
                "ys": ys,
                "lsoa_code": list(lsoas["lsoa_code"]),
                "lsoa_name": list(lsoas["lsoa_name"]),
                "ward_name": list(lsoas["ward_name"]),
                "imd_decile": list(lsoas["imd_decile"]),
                "idaci_decile": list(lsoas["idaci_decile"]),
                "children": list(lsoas["children_0_4"]),
                "color": [DECILE_COLORS[int(d) - 1] for d in lsoas["imd_decile"]],
                "covered": [0.0] * len(lsoas),
                "gap_rank": [""] * len(lsoas),
                "gap_alpha": [0.0] * len(lsoas),
            }
        )
        minx, miny, maxx, maxy = area.boundary.total_bounds
        pad = (maxx - minx) * 0.03
        plot = figure(
            height=MAP_HEIGHT,
            sizing_mode="stretch_width",
            match_aspect=True,
            tools="pan,wheel_zoom,reset,save",
            active_scroll="wheel_zoom",
            x_range=Range1d(minx - pad, maxx + pad),
            y_range=Range1d(miny - pad, maxy + pad),
            title=self._map_title("imd"),
        )
        plot.axis.visible = False
        plot.grid.visible = False
        lsoa_renderer = plot.multi_polygons(
            "xs",
            "ys",
            source=self.lsoa_source,
            fill_color="color",
            fill_alpha=0.35,
            line_color="#888888",
            line_width=0.3,
        )
        self.home_source = ColumnDataSource({"x": [], "y": [], "color": [], "band": []})
        plot.scatter("x", "y", source=self.home_source, size=3, color="color", alpha=0.7)
        plot.multi_polygons(
            "xs",
            "ys",
            source=self.lsoa_source,
            fill_alpha=0,
            line_color=GAP_COLOR,
            line_width=3,
            line_alpha="gap_alpha",
        )
        wx, wy = pn.state.as_cached(
            f"geoplan-wards-{key}", lambda: _lines(area.wards.geometry.simplify(LSOA_SIMPLIFY_M))
        )
        plot.multi_line(wx, wy, line_color="#222222", line_width=1.2)
        bx, by = _lines(area.boundary.geometry)
        plot.multi_line(bx, by, line_color="#000000", line_width=2.5)
        points = area.wards.geometry.representative_point()
        ward_labels = ColumnDataSource(
            {"x": list(points.x), "y": list(points.y), "name": list(area.wards["ward_name"])}
        )
        plot.add_layout(
            LabelSet(
                x="x",
                y="y",
                text="name",
                source=ward_labels,
                text_font_size="8pt",
                text_color="#252525",
                text_align="center",
                background_fill_color="white",
                background_fill_alpha=0.6,
            )
        )
        plot.add_tools(
            HoverTool(
                renderers=[lsoa_renderer],
                tooltips=[
                    ("Area", "@lsoa_name (@ward_name)"),
                    ("Deprivation decile (IMD / IDACI)", "@imd_decile / @idaci_decile"),
                    ("Children aged 0-4", "@children"),
                    ("Within the walk of a centre", "@covered{0%}"),
                    ("Gap rank", "@gap_rank"),
                ],
            )
        )
        self.venue_source = ColumnDataSource(self._venue_points(open_venues=True))
        venue_renderer = plot.scatter(
            "x", "y", source=self.venue_source, marker="marker", size="size", fill_color="color", line_color="#222222"
        )
        self.closed_source = ColumnDataSource(self._venue_points(open_venues=False))
        closed_renderer = plot.scatter(
            "x",
            "y",
            source=self.closed_source,
            marker="circle_x",
            size=CLOSED_SIZE,
            fill_color="white",
            line_color=CLOSED_COLOR,
            line_width=2.5,
        )
        plot.add_tools(
            HoverTool(
                renderers=[venue_renderer, closed_renderer],
                tooltips=[
                    ("Venue", "@name"),
                    ("Kind", "@label"),
                    ("Status", "@status"),
                    ("Sessions", "@sessions"),
                ],
            )
        )
        self.outreach_source = ColumnDataSource({"x": [], "y": [], "name": [], "visits": []})
        # Rings appear once a plan is made (Outreach tab); their data, not the renderer, changes.
        self.outreach_renderer = plot.scatter(
            "x",
            "y",
            source=self.outreach_source,
            marker="circle",
            size=26,
            fill_alpha=0,
            line_color=OUTREACH_COLOR,
            line_width=3,
        )
        plot.add_tools(
            HoverTool(
                renderers=[self.outreach_renderer],
                tooltips=[
                    ("Outreach visits", "@name: @visits"),
                ],
            )
        )
        self.map_plot = plot
        self.map_pane = pn.pane.Bokeh(plot, sizing_mode="stretch_width")
        self.decile_select = pn.widgets.RadioButtonGroup(
            name="Shade areas by",
            options={"Deprivation (IMD)": "imd", "Child deprivation (IDACI)": "idaci"},
            value="imd",
        )
        self.decile_select.param.watch(self._on_decile, "value")
        self.legend = pn.pane.HTML(self._legend_html("imd"), sizing_mode="stretch_width")
        self.band_legend = pn.pane.HTML("", sizing_mode="stretch_width")

    def _map_title(self, index: str) -> str:
        return f"Homes by walk to a centre; areas by {DECILE_INDICES[index][1]}"

    def _legend_html(self, index: str) -> str:
        label = DECILE_INDICES[index][1]
        swatches = "".join(
            f'<span style="display:inline-block;width:16px;height:11px;background:{color};opacity:0.6"></span>'
            f'<span style="margin:0 5px 0 2px">{decile}</span>'
            for decile, color in enumerate(DECILE_COLORS, start=1)
        )
        kinds = sorted(set(self.session.venues_table()["kind"]))
        venues = "".join(
            f'<span style="color:{kind_style(self.area, kind)[0]};font-size:1.1em">&#9679;</span> '
            f"{esc(kind_style(self.area, kind)[2])} &nbsp;"
            for kind in kinds
        )
        return (
            f'<div class="geoplan-legend" style="font-size:0.8em"><b>{esc(label)}</b> (1 = most deprived): '
            f"{swatches}<br>Venues (large = children's centre; small grey = closed before 2021; "
            f'<span style="color:{CLOSED_COLOR};font-weight:bold">&#8855;</span> = closed in this scenario): {venues}'
            f'<br><span style="color:{GAP_COLOR};font-weight:bold">&#9633;</span> largest gaps; '
            f'<span style="color:{OUTREACH_COLOR};font-weight:bold">&#9675;</span> outreach visits (Outreach tab)</div>'
        )

    def _on_decile(self, event: object) -> None:
        column = DECILE_INDICES[event.new][0]
        deciles = self.lsoa_source.data[column]
        self.lsoa_source.patch({"color": [(slice(0, len(deciles)), [DECILE_COLORS[int(d) - 1] for d in deciles])]})
        self.map_plot.title.text = self._map_title(event.new)
        self.legend.object = self._legend_html(event.new)

    def _venue_points(self, *, open_venues: bool) -> dict[str, list]:
        """Located venues to draw: open ones (and, greyed, those closed in the venue file), or those this scenario closes."""
        table = self.session.venues_table()
        closed_here = ~table["open"] & table["open_now"]
        table = table[table["located"] & (~closed_here if open_venues else closed_here)]
        styles = [kind_style(self.area, kind) for kind in table["kind"]]
        return {
            "x": list(table["x"]),
            "y": list(table["y"]),
            "name": list(table["name"]),
            "label": list(table["kind_label"]),
            "marker": [BOKEH_MARKERS.get(style[1], "circle") for style in styles],
            "color": [
                style[0] if is_open else GREYED_COLOR for style, is_open in zip(styles, table["open"], strict=True)
            ],
            "size": [
                CENTRE_SIZE if centre else (VENUE_SIZE if is_open else FORMER_SIZE)
                for centre, is_open in zip(table["centre"], table["open"], strict=True)
            ],
            "status": [
                ("children's centre" if centre else "open")
                if is_open
                else ("closed in this scenario" if was_open else "closed before 2021 (venue file)")
                for is_open, centre, was_open in zip(table["open"], table["centre"], table["open_now"], strict=True)
            ],
            "sessions": [int(n) for n in table["sessions"]],
        }

    # ---------------------------------------------------------------------------------- the chart
    def _build_chart(self) -> None:
        self.chart_source = ColumnDataSource({"x": [], "share": [], "baseline": [], "note": []})
        labels = [f"{index} {decile}" for index in ("IMD", "IDACI") for decile in range(1, 11)]
        chart = figure(
            x_range=labels,
            height=230,
            sizing_mode="stretch_width",
            y_range=Range1d(0, 1.05),
            title="Share within the walk of a centre, by deprivation decile (1 = most deprived)",
            tools="",
            toolbar_location=None,
        )
        chart.vbar(
            x="x", top="share", width=0.8, color=SCENARIO_COLOR, legend_label="this scenario", source=self.chart_source
        )
        chart.scatter(
            x="x",
            y="baseline",
            marker="dash",
            size=20,
            line_width=3,
            color=BASELINE_COLOR,
            legend_label="current programme",
            source=self.chart_source,
        )
        chart.xaxis.major_label_orientation = 1.0
        chart.yaxis.formatter = NumeralTickFormatter(format="0%")
        chart.legend.location = "top_right"
        chart.legend.label_text_font_size = "8pt"
        chart.add_tools(
            HoverTool(
                tooltips=[
                    ("Decile", "@x"),
                    ("This scenario", "@share{0.0%}"),
                    ("Current programme", "@baseline{0.0%}"),
                    ("", "@note"),
                ]
            )
        )
        self.chart = pn.pane.Bokeh(chart, sizing_mode="stretch_width")
        self.chart_note = pn.pane.HTML("", sizing_mode="stretch_width", styles={"font-size": "0.8em"})

    # ------------------------------------------------------------------------------------ updates
    def _act(self, action: Callable[..., object], *args: object, where: str) -> None:
        """Run an edit; show its error next to the control ``where`` (the session keeps its scenario)."""
        if self._updating:
            return
        started = time.perf_counter()
        for pane in self.errors.values():
            pane.object, pane.visible = "", False
        try:
            action(*args)
        except GeoplanError as exc:
            self._show_error(where, plain_reason(exc, self.session.names()))
            self.refresh(started=started)
            return
        except Exception:
            LOG.exception("planner edit failed")
            self._show_error(where, "something went wrong on the server (it is logged); your scenario is unchanged")
            self.refresh(started=started)
            return
        self.refresh(started=started)

    def _show_error(self, where: str, message: str) -> None:
        pane = self.errors[where]
        pane.object = f'<div class="geoplan-error" role="alert" data-for="{esc(where)}">{esc(message)}</div>'
        pane.visible = True

    def refresh(self, *, started: float | None = None) -> None:
        """Push the session's state into the figures, the map and the chart, then the tables.

        The figures, map and chart go to the browser in one message as soon as they are measured;
        the tables, pickers and gaps follow on the next tick of the server's event loop, so the
        figures a planner is watching do not wait for table rows to be serialised.
        """
        started = started or time.perf_counter()
        metrics = self.session.metrics()
        with pn.io.hold():
            self._update_map()
            self._update_chart(metrics)
            self.last_update_ms = (time.perf_counter() - started) * 1000
            self._update_headline(metrics)
        document = pn.state.curdoc
        if document is not None and document.session_context is not None:
            document.add_next_tick_callback(self._refresh_tables)
        else:
            self._refresh_tables()

    def _update_map(self) -> None:
        shares = self.session.lsoa_shares()
        codes = self.lsoa_source.data["lsoa_code"]
        self.lsoa_source.patch({"covered": [(slice(0, len(codes)), [float(shares.get(code, 0.0)) for code in codes])]})
        homes = self.session.home_bands()
        bands = sorted(set(homes["band"][np.isfinite(homes["band"])]))
        order = [*bands, np.inf]
        colors = {band: HOME_BAND_COLORS[min(i, len(HOME_BAND_COLORS) - 2)] for i, band in enumerate(bands)}
        colors[np.inf] = HOME_BAND_COLORS[-1]
        homes = homes.assign(rank=homes["band"].map({band: i for i, band in enumerate(order)})).sort_values("rank")
        self.band_legend.object = (
            '<div class="geoplan-band-legend" style="font-size:0.85em">Homes by walk to the nearest centre: '
            + "".join(
                f'<span style="color:{colors[band]};font-size:1.3em">&#9679;</span> {esc(_band_label(band, bands))} &nbsp;'
                for band in order
            )
            + "</div>"
        )
        self.home_source.data = {
            "x": list(homes["x"]),
            "y": list(homes["y"]),
            "color": [colors[band] for band in homes["band"]],
            "band": [_band_label(band, bands) for band in homes["band"]],
        }
        self.venue_source.data = self._venue_points(open_venues=True)
        self.closed_source.data = self._venue_points(open_venues=False)

    def _refresh_tables(self) -> None:
        with pn.io.hold():
            self._updating = True
            try:
                self._update_widgets()
            finally:
                self._updating = False
            self._update_who()
            self._update_gaps()
            self._remember_state()
            if self.tabs is not None and self.tabs.active == OUTREACH_TAB and self._plan is not None:
                self._update_outreach()

    def _remember_state(self) -> None:
        """Keep the scenario in the page address, so a reload (or a bookmark) brings it back."""
        location = pn.state.location
        if location is not None:
            location.update_query(**{STATE_PARAMETER: self.session.state_token()})

    def _update_widgets(self) -> None:
        session = self.session
        band = int(session.band) if float(session.band).is_integer() else session.band
        if band not in self.band_select.options:
            # A loaded scenario may use a band the picker does not offer.
            self.band_select.options = sorted({*self.band_select.options, band})
        self.band_select.value = band
        if session.profile not in self.profile_select.options.values():
            self.profile_select.options = {**self.profile_select.options, f"{session.profile} km/h": session.profile}
        self.profile_select.value = session.profile
        self.undo_button.disabled = not session.can_undo
        self.redo_button.disabled = not session.can_redo
        if self.name_input.value != session.scenario.name:
            self.name_input.value = session.scenario.name
        _set_frame(self.venue_table, self._venue_frame())
        _set_frame(self.session_table, self._session_frame())
        sessions = session.sessions_table()
        venues = session.venues_table()
        targets = venues[venues["open"] & venues["located"]]
        candidates = session.candidate_venues()
        options = {
            self.move_session: {
                f"{row.title} ({row.venue}, {row.day or 'day not known'})": row.session_id
                for row in sessions.itertuples()
            },
            self.move_to: {f"{row.name} ({row.kind_label.lower()})": row.venue_id for row in targets.itertuples()},
            self.candidate_select: {
                f"{row.name} ({row.kind_label.lower()}{'' if row.open else ', closed'})": row.venue_id
                for row in candidates.itertuples()
            },
        }
        for select, choices in options.items():
            if select.options != choices:
                select.options = choices
            values = list(choices.values())
            if select.value not in values:
                select.value = values[0] if values else None

    def _update_who(self) -> None:
        metrics = self.session.metrics()
        tables = self.session.who_changes()
        band = f"{metrics['band']:g}"
        types = metrics["session_types"]
        self.who_summary.object = (
            f'<div class="geoplan-who" data-losing="{metrics["children_losing"]:.0f}" '
            f'data-gaining="{metrics["children_gaining"]:.0f}" data-types-losing="{types["children_losing"]:.0f}" '
            f'data-types-gaining="{types["children_gaining"]:.0f}">Compared with the current programme, '
            f"<b>{metrics['children_losing']:,.0f}</b> children lose and <b>{metrics['children_gaining']:,.0f}</b> "
            f"gain a {band}-minute walk to a children's centre; <b>{types['children_losing']:,.0f}</b> lose and "
            f"<b>{types['children_gaining']:,.0f}</b> gain a {band}-minute walk to at least one type of session. "
            "These are the numbers of the committee report.</div>"
        )
        _set_frame(self.ward_table, tables["ward"])
        _set_frame(self.imd_table, tables["imd"])
        _set_frame(self.idaci_table, tables["idaci"])
        _set_frame(self.session_type_table, tables["session_types"])

    def _update_gaps(self) -> None:
        gaps = self.session.gaps().head(TOP_GAPS)
        rank = dict(zip(gaps["lsoa_code"], gaps["rank"], strict=True))
        codes = self.lsoa_source.data["lsoa_code"]
        self.lsoa_source.patch(
            {
                "gap_rank": [(slice(0, len(codes)), [str(rank.get(code, "")) for code in codes])],
                "gap_alpha": [(slice(0, len(codes)), [1.0 if code in rank else 0.0 for code in codes])],
            }
        )
        table = pd.DataFrame(
            {
                "Rank": gaps["rank"],
                "Area": gaps["lsoa_name"],
                "Ward": gaps["ward_name"],
                "IMD decile": gaps["imd_decile"],
                "Children beyond the walk": gaps["children_beyond"].round().astype(int),
                "Nearest centre": gaps["nearest_name"],
                "Minutes to it": gaps["nearest_minutes"].round(0),
            }
        )
        _set_frame(self.gaps_table, table)

    def _update_outreach(self) -> None:
        """Plan outreach visits for the chosen months (the outreach planner, at the scenario's walk and pace)."""
        months, per_month = int(self.outreach_months.value), int(self.outreach_visits.value)
        start = self.outreach_start.value
        try:
            plan = self.session.outreach(visits_per_month=per_month, months=months, start=start)
        except GeoplanError as exc:
            self._show_error("outreach", plain_reason(exc, self.session.names()))
            self._plan = None
            self.outreach_csv.disabled = self.outreach_ics.disabled = True
            return
        self.errors["outreach"].visible = False
        self._plan = plan
        visits = plan.visits.reset_index(drop=True)
        table = (
            pd.DataFrame(
                {
                    "Date": [day.strftime("%a %d %b %Y") for day in visits["date"]],
                    "Group": visits["name"],
                    "Ward": visits["ward_name"],
                    "Children within the walk": visits["children_reached"].round().astype(int),
                    "Of them beyond a centre": visits["children_beyond_centres"].round().astype(int),
                    "Date chosen by": visits["date_basis"],
                }
            )
            if len(visits)
            else pd.DataFrame()
        )
        _set_frame(self.outreach_table, table)
        counts = visits.groupby("venue_id").size() if len(visits) else pd.Series(dtype=int)
        groups = plan.groups.set_index("venue_id")
        located = groups.loc[list(counts.index)]
        self.outreach_source.data = {
            "x": list(located.geometry.x),
            "y": list(located.geometry.y),
            "name": list(located["name"]),
            "visits": [int(n) for n in counts],
        }
        self.outreach_csv.disabled = self.outreach_ics.disabled = not len(visits)
        asked = months * per_month
        lines = [plan.shortfall] if plan.shortfall else []
        notes = "".join(f"<li>{esc(line)}</li>" for line in [*lines, *plan.warnings])
        first, last = (visits["date"].min(), visits["date"].max()) if len(visits) else (start, start)
        self.outreach_note.object = (
            f'<div class="geoplan-outreach" data-visits="{len(visits)}" data-asked="{asked}">'
            f"<b>{plural(len(visits), 'visit')}</b> planned against {esc(plan.summary['programme'])}, from "
            f"{first:%A %d %B %Y} to {last:%A %d %B %Y}, to "
            f"{plural(visits['venue_id'].nunique() if len(visits) else 0, 'group')} (ringed in green on the map)."
            f"<ul>{notes}</ul></div>"
        )

    def _update_chart(self, metrics: dict) -> None:
        rows = [
            (f"{index.upper()} {row['decile']}", row)
            for index in ("imd", "idaci")
            for row in metrics[f"by_{index}_decile"]
        ]
        empty = [label for label, row in rows if row["lsoas"] == 0]
        self.chart_source.data = {
            "x": [label for label, _ in rows],
            "share": [row["share"] if row["lsoas"] else 0.0 for _, row in rows],
            "baseline": [row["baseline_share"] if row["lsoas"] else float("nan") for _, row in rows],
            "note": ["no areas in this decile" if row["lsoas"] == 0 else "" for _, row in rows],
        }
        self.chart_note.object = (
            f'<div class="geoplan-chart-note">No areas of {self.area.name} are in {", ".join(empty)}: '
            "those deciles have no bar.</div>"
            if empty
            else ""
        )

    def _update_headline(self, metrics: dict) -> None:
        band = f"{metrics['band']:g}"
        deprived = metrics["most_deprived_30"]
        sessions = metrics["session_venues"]
        types = metrics["session_types"]
        change = metrics["covered"] - metrics["baseline_covered"]
        pace = next((label for label, value in PACES.items() if value == metrics["profile"]), metrics["profile"])
        method = (
            "along the street network" if metrics["method"] == "network" else "estimated from straight-line distance"
        )
        self.headline.object = (
            f'<div class="geoplan-metrics" data-band="{band}" data-share="{metrics["share"]:.6f}" '
            f'data-covered="{metrics["covered"]:.0f}" data-losing="{metrics["children_losing"]:.0f}" '
            f'data-gaining="{metrics["children_gaining"]:.0f}" data-types-losing="{types["children_losing"]:.0f}" '
            f'data-types-gaining="{types["children_gaining"]:.0f}" data-update-ms="{self.last_update_ms:.1f}">'
            f'<div style="font-size:1.6em;font-weight:bold"><span class="geoplan-share">{_pct(metrics["share"])}</span>'
            f" of children {esc(metrics['population'])} live within {band} minutes' walk of a {esc(self.area.catalogue.programme.centre_label)}</div>"
            f'<div><span class="geoplan-covered">{metrics["covered"]:,.0f}</span> of {metrics["children"]:,.0f} '
            f"children ({esc(pace.lower())}, walking times {method}); current programme "
            f"{metrics['baseline_covered']:,.0f} ({_pct(metrics['baseline_share'])}), change {change:+,.0f}.</div>"
            f'<div><b class="geoplan-losing">{metrics["children_losing"]:,.0f}</b> children lose and '
            f'<b class="geoplan-gaining">{metrics["children_gaining"]:,.0f}</b> gain that walk to a centre; '
            f"<b>{types['children_losing']:,.0f}</b> lose and <b>{types['children_gaining']:,.0f}</b> gain a walk to "
            f"a type of session (see <i>Who gains and loses</i>).</div>"
            f"<div>In the 30% most deprived areas: {deprived['covered']:,.0f} of {deprived['total']:,.0f} "
            f"children ({_pct(deprived['share'])}) within reach. Any session venue within {band} minutes: "
            f'<span class="geoplan-session-covered">{sessions["covered"]:,.0f}</span> children.</div></div>'
        )
        items = "".join(f"<li>{esc(line)}</li>" for line in metrics["changes"]) or "<li>none (current programme)</li>"
        unsaved = " <i>(unsaved edits)</i>" if self.session.unsaved else ""
        self.changes.object = (
            f'<div class="geoplan-scenario"><b>Scenario:</b> <span class="geoplan-scenario-title">'
            f'{esc(metrics["title"])}</span>{unsaved}<ul class="geoplan-changes">{items}</ul></div>'
        )

    # ---------------------------------------------------------------------------------- callbacks
    def _on_scenario(self, event: object) -> None:
        if not self._updating:
            self._choose(event.new)

    def _choose(self, choice: str) -> None:
        """Load the picker's choice, first asking before unsaved edits are discarded."""
        if self.session.unsaved:
            self._pending_choice = choice
            label = next((key for key, value in self.scenario_select.options.items() if value == choice), choice)
            self.discard_note.object = (
                f'<div class="geoplan-discard">You have unsaved edits. Loading <b>{esc(label)}</b> discards them '
                "(Undo brings them back).</div>"
            )
            self.discard_box.visible = True
            return
        self._load_choice(choice)

    def _confirm_choice(self, *, discard: bool) -> None:
        choice, self._pending_choice = self._pending_choice, None
        self.discard_box.visible = False
        if discard and choice is not None:
            self._load_choice(choice)
            return
        self._updating = True
        try:
            self.scenario_select.value = self._choice
        finally:
            self._updating = False

    def _load_choice(self, choice: str) -> None:
        def load() -> None:
            if choice == UPLOADED and self._uploaded is not None:
                filename, data = self._uploaded
                self.session.load_scenario_yaml(data, filename=filename)
            else:
                self.session.load_scenario(choice)
            self._choice = choice

        self._act(load, where="file" if choice == UPLOADED else "scenario")
        if self.scenario_select.value != self._choice:
            # A choice that could not be loaded: the picker shows what is loaded.
            self._updating = True
            try:
                self.scenario_select.value = self._choice
            finally:
                self._updating = False

    def _start_again(self) -> None:
        self._choose(self._choice)

    def _on_venue_click(self, event: object) -> None:
        """A click on a venue's *Open* cell opens or closes it."""
        if event.column != "Open":
            return
        # The session, not the table (which may be a tick behind), says whether the venue is open.
        venue_id = self.venue_table.value.iloc[event.row]["venue_id"]
        venues = self.session.venues_table().set_index("venue_id")
        self._act(self.session.toggle_venue, venue_id, not bool(venues.loc[venue_id, "open"]), where="venue")

    def _on_session_selected(self, event: object) -> None:
        if event.new:
            session_id = self.session_table.value.iloc[event.new[0]]["session_id"]
            if session_id in self.move_session.options.values():
                self.move_session.value = session_id

    def _on_upload(self, event: object) -> None:
        if event.new is None or self._updating:
            return
        filename = self.upload.filename or "uploaded.yaml"
        data = event.new

        def load() -> None:
            self.session.load_scenario_yaml(data, filename=filename)
            self._uploaded = (filename, data)
            options = {key: value for key, value in self.scenario_select.options.items() if value != UPLOADED}
            self._updating = True
            try:
                self.scenario_select.options = {**options, f"Uploaded: {filename}": UPLOADED}
                self.scenario_select.value = UPLOADED
                self._choice = UPLOADED
            finally:
                self._updating = False

        self._act(load, where="file")
        # Forget the file so choosing the same file again loads it again.
        self._updating = True
        try:
            self.upload.clear()
        finally:
            self._updating = False

    def _on_name(self, text: str) -> None:
        try:
            name = check_scenario_name(text)
        except GeoplanError as exc:
            self._show_error("name", plain_reason(exc, {}))
            self.save_button.disabled = True
            return
        self.errors["name"].visible = False
        self.save_button.disabled = False
        self.save_button.filename = f"{name}.yaml"

    def _scenario_file(self) -> io.BytesIO:
        self.session.rename(self.name_input.value_input or self.session.scenario.name)
        self.save_button.filename = f"{self.session.scenario.name}.yaml"
        self.saved_note.object = (
            f'<div class="geoplan-ok" role="status">Saved as {esc(self.save_button.filename)} in your downloads '
            "folder. Load it here again with “Load a scenario file”.</div>"
        )
        self._update_headline(self.session.metrics())
        return io.BytesIO(self.session.to_scenario_yaml().encode("utf-8"))

    def _report_file(self) -> io.BytesIO:
        self.report_button.filename = f"{self.session.scenario.name}-report.html"
        return io.BytesIO(self.session.report_html().encode("utf-8"))

    def _outreach_csv(self) -> io.BytesIO:
        return io.BytesIO(self._plan.to_csv().encode("utf-8") if self._plan is not None else b"")

    def _outreach_ics(self) -> io.BytesIO:
        return io.BytesIO(self._plan.to_ics() if self._plan is not None else b"")

    # ------------------------------------------------------------------------------------- layout
    def view(self) -> pn.viewable.Viewable:
        """The page: the map and figures on the left, the scenario editor and results in tabs on the right."""
        err = self.errors
        # FlexBox: the control groups wrap onto a new line rather than overlap or scroll sideways.
        top = pn.FlexBox(
            pn.Column(
                pn.Row(self.scenario_select, self.reset_button, self.undo_button, self.redo_button),
                err["scenario"],
                width=640,
            ),
            pn.Column(self.band_select, err["band"], width=190),
            pn.Column(self.profile_select, err["profile"], width=230),
            sizing_mode="stretch_width",
        )
        files = pn.FlexBox(
            pn.Column(pn.Row(self.name_input, self.save_button), err["name"], self.saved_note, width=420),
            pn.Column(self.upload, err["file"], width=280),
            pn.Column(pn.Spacer(height=18), self.report_button, width=200),
            sizing_mode="stretch_width",
        )
        editor = pn.Column(
            self.changes,
            pn.pane.Markdown("**Venues**: click a venue's *Open* tick to close or re-open it."),
            err["venue"],
            self.venue_table,
            pn.Row(self.candidate_select, self.candidate_button, sizing_mode="stretch_width"),
            pn.Row(self.postcode_input, self.postcode_button),
            err["postcode"],
            pn.pane.Markdown("**Sessions**: pick one (or click its row), then where it moves to."),
            self.session_table,
            pn.Row(self.move_session, self.move_to, self.move_button, sizing_mode="stretch_width"),
            err["session"],
            sizing_mode="stretch_width",
        )
        who = pn.Column(
            self.who_summary,
            pn.pane.Markdown("**By ward** (most children losing first)"),
            self.ward_table,
            pn.pane.Markdown("**By type of session**: children within the walk of a venue running it"),
            self.session_type_table,
            pn.pane.Markdown("**Equality impact by deprivation decile** (IMD, all residents)"),
            self.imd_table,
            pn.pane.Markdown("**By child deprivation decile** (IDACI)"),
            self.idaci_table,
            sizing_mode="stretch_width",
        )
        gaps = pn.Column(
            pn.pane.Markdown(
                "**Largest gaps**: areas ranked by need (children beyond the walk × deprivation × "
                "minutes beyond); outlined on the map."
            ),
            self.gaps_table,
            sizing_mode="stretch_width",
        )
        outreach = pn.Column(
            pn.pane.Markdown(
                "**Outreach visits to community groups** (libraries, community, faith and partner venues) that reach "
                "the most young children in deprived areas, following the area's visit rules. It plans against "
                "**the scenario being edited**: its open groups, and its centres for who is already near one, at "
                "its walking time and pace."
            ),
            pn.Row(self.outreach_start, self.outreach_months, self.outreach_visits, self.outreach_button),
            err["outreach"],
            self.outreach_note,
            pn.Row(self.outreach_csv, self.outreach_ics),
            self.outreach_table,
            sizing_mode="stretch_width",
        )
        self.tabs = pn.Tabs(
            *zip(TAB_NAMES, (editor, who, gaps, outreach), strict=True), dynamic=False, sizing_mode="stretch_width"
        )
        left = pn.Column(
            self.headline,
            self.map_pane,
            self.band_legend,
            pn.Row(pn.pane.HTML("Shade areas by"), self.decile_select),
            self.legend,
            self.chart,
            self.chart_note,
            sizing_mode="stretch_width",
            styles={"min-width": "0"},
        )
        right = pn.Column(self.discard_box, self.tabs, sizing_mode="stretch_width", styles={"min-width": "0"})
        return pn.Column(
            pn.pane.HTML(f"<h2 style='margin:0'>{esc(self.area.name)}: early-years planner</h2>"),
            top,
            files,
            pn.Row(left, right, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
            styles={"max-width": "100vw", "overflow-x": "hidden"},
        )


def _month(offset: int) -> date:
    today = date.today()
    month = today.month - 1 + offset
    return date(today.year + month // 12, month % 12 + 1, 1)


def _set_frame(table: pn.widgets.Tabulator, frame: pd.DataFrame) -> None:
    """Replace a table's rows only when they changed (an unchanged table sends nothing)."""
    current = table.value
    if (
        current is None
        or list(current.columns) != list(frame.columns)
        or not current.reset_index(drop=True).equals(frame.reset_index(drop=True))
    ):
        table.value = frame


def create_app(area: str | None = None, *, state: str | None = None) -> pn.viewable.Viewable:
    """A new planner page with its own scenario (one per browser session)."""
    return PlannerApp(area, state=state).view()


if pn.state.served:
    pn.extension("tabulator", sizing_mode="stretch_width", raw_css=[PAGE_CSS])
    arguments = pn.state.session_args.get(STATE_PARAMETER) or [b""]
    create_app(os.environ.get("GEOPLAN_AREA") or None, state=arguments[0].decode("ascii", "replace") or None).servable(
        title="geoplan planner"
    )
