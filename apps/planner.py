"""The planner app: edit a scenario in a meeting and watch the map and the numbers change.

Run it with ``geoplan serve`` (which checks authentication before binding beyond 127.0.0.1) or
``panel serve apps/planner.py``; ``GEOPLAN_AREA`` names the layer catalogue (Bexley by default).
Each browser session builds its own :class:`geoplan.planner.PlannerSession`; the study area
and travel times are loaded once per server process and shared read-only. Every page asset is
served by the Panel server itself (no CDN), and the map is a Bokeh plot in British National
Grid metres that needs no tiles, so the app works with no internet.
"""

from __future__ import annotations

import functools
import io
import logging
import os
import time

import numpy as np
import pandas as pd
import panel as pn
from bokeh.models import ColumnDataSource, HoverTool, Range1d
from bokeh.plotting import figure

from geoplan.errors import GeoplanError
from geoplan.maps import DECILE_COLORS, DECILE_INDICES, GAP_COLOR, GREYED_COLOR, kind_style
from geoplan.planner import OUTREACH_VISITS_PER_MONTH, PlannerSession, shared_resources
from geoplan.scenarios import BASELINE, PROFILES

LOG = logging.getLogger(__name__)
#: Walking bands offered (minutes).
BANDS = (5, 10, 15, 20, 25, 30)
#: Matplotlib marker codes of the committee maps as Bokeh marker names.
BOKEH_MARKERS = {"*": "star", "s": "square", "D": "diamond", "p": "hex", "^": "triangle", "P": "plus",
                 "v": "inverted_triangle", "h": "hex", "o": "circle"}  # fmt: skip
#: Marker sizes (screen pixels) of centres, other open venues and closed venues.
CENTRE_SIZE, VENUE_SIZE, CLOSED_SIZE = 18, 11, 8
#: Colours of the decile chart: this scenario and the baseline.
SCENARIO_COLOR, BASELINE_COLOR = "#2171b5", "#bdbdbd"
OUTREACH_COLOR = "#238b45"
MAP_HEIGHT = 620
OUTREACH_TAB = 2
MAX_OUTREACH_VISITS = 30
LSOA_SIMPLIFY_M = 10.0


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
    return f"{value:.1%}" if np.isfinite(value) else "-"


class PlannerApp:
    """The widgets, map and metrics of one browser session, bound to one :class:`PlannerSession`."""

    def __init__(self, area: str | None = None) -> None:
        self.resources = shared_resources(area)
        self.session = PlannerSession(self.resources)
        self.area = self.resources.area
        self.last_update_ms = float("nan")
        self._updating = False
        self._build_widgets()
        self._build_map()
        self._build_chart()
        self.refresh()

    # ------------------------------------------------------------------------------------ widgets
    def _build_widgets(self) -> None:
        scenarios = [BASELINE, *self.resources.shipped_scenarios()]
        self.scenario_select = pn.widgets.Select(name="Start from scenario", options=scenarios, value=BASELINE,
                                                 width=320)  # fmt: skip
        self.scenario_select.param.watch(self._on_scenario, "value")
        self.reset_button = pn.widgets.Button(name="Start again", width=110)
        self.reset_button.on_click(lambda _: self._act(self.session.load_scenario, self.scenario_select.value))
        self.band_select = pn.widgets.Select(name="Walking band (minutes)", options=list(BANDS),
                                             value=int(self.session.band), width=150)  # fmt: skip
        self.band_select.param.watch(lambda event: self._act(self.session.set_band, event.new), "value")
        self.profile_select = pn.widgets.RadioButtonGroup(name="Walking profile", options=list(PROFILES),
                                                          value=self.session.profile)  # fmt: skip
        self.profile_select.param.watch(lambda event: self._act(self.session.set_profile, event.new), "value")

        self.venue_table = pn.widgets.Tabulator(
            self._venue_frame(), show_index=False, height=300, sizing_mode="stretch_width", selectable=False,
            disabled=True, formatters={"open": {"type": "tickCross"}, "centre": {"type": "tickCross"}},
            hidden_columns=["venue_id"], name="venues",
        )
        self.venue_table.on_click(self._on_venue_click)

        self.session_table = pn.widgets.Tabulator(
            self._session_frame(), show_index=False, height=240, sizing_mode="stretch_width",
            disabled=True, selectable=1, hidden_columns=["session_id"], name="sessions",
        )  # fmt: skip
        self.session_table.param.watch(self._on_session_selected, "selection")
        self.move_session = pn.widgets.Select(name="Session", width=300)
        self.move_to = pn.widgets.Select(name="Move to", width=260)
        self.move_button = pn.widgets.Button(name="Move session", button_type="primary", width=140)
        self.move_button.on_click(lambda _: self._act(self.session.move_session, self.move_session.value,
                                                      self.move_to.value))  # fmt: skip

        self.candidate_select = pn.widgets.Select(name="Candidate venue (library, community venue, ...)", width=320)
        self.candidate_button = pn.widgets.Button(name="Make it a centre", button_type="primary", width=140)
        self.candidate_button.on_click(lambda _: self._act(self.session.add_venue, self.candidate_select.value))
        self.postcode_input = pn.widgets.TextInput(name="Or a new centre at postcode", placeholder="DA18 4DW",
                                                   width=200)  # fmt: skip
        self.postcode_button = pn.widgets.Button(name="Add centre", button_type="primary", width=140)
        self.postcode_button.on_click(lambda _: self._act(self.session.add_venue, self.postcode_input.value))

        self.save_button = pn.widgets.FileDownload(callback=self._scenario_file, filename="scenario.yaml",
                                                   label="Save scenario", button_type="success", width=160)  # fmt: skip
        self.report_button = pn.widgets.FileDownload(callback=self._report_file, filename="report.html",
                                                     label="Committee report", button_type="success", width=180)  # fmt: skip
        self.upload = pn.widgets.FileInput(accept=".yaml,.yml", name="Load scenario", width=260)
        self.upload.param.watch(self._on_upload, "value")

        self.error = pn.pane.HTML("", visible=False, sizing_mode="stretch_width",
                                  styles={"color": "#a50f15", "background": "#fee0d2", "padding": "4px 8px"})  # fmt: skip
        self.headline = pn.pane.HTML("", sizing_mode="stretch_width")
        self.changes = pn.pane.HTML("", sizing_mode="stretch_width")
        self.gaps_table = pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True, height=260,
                                               sizing_mode="stretch_width", name="gaps")  # fmt: skip
        self.outreach_table = pn.widgets.Tabulator(pd.DataFrame(), show_index=False, disabled=True, height=360,
                                                   sizing_mode="stretch_width", name="outreach")  # fmt: skip
        self.outreach_visits = pn.widgets.IntInput(name="Visits a month", value=OUTREACH_VISITS_PER_MONTH, start=1,
                                                   end=MAX_OUTREACH_VISITS, width=140)  # fmt: skip
        self.outreach_visits.param.watch(lambda _: self._update_outreach(), "value")
        self.outreach_note = pn.pane.HTML("", sizing_mode="stretch_width")
        self.tabs: pn.Tabs | None = None

    def _venue_frame(self) -> pd.DataFrame:
        table = self.session.venues_table()
        table["status"] = np.select(
            [~table["open"], table["centre"], ~table["located"]],
            ["closed", "children's centre", "open (no known location)"],
            default="open",
        )
        return table[["venue_id", "name", "kind", "open", "centre", "status", "sessions"]]

    def _session_frame(self) -> pd.DataFrame:
        table = self.session.sessions_table()
        names = self.area.venues.set_index("venue_id")["name"]
        table["moved_from"] = np.where(table["venue_id"] != table["baseline_venue_id"],
                                       table["baseline_venue_id"].map(names), "")  # fmt: skip
        return table[["session_id", "title", "session_type", "day", "venue", "moved_from"]]

    # ------------------------------------------------------------------------------------ the map
    def _build_map(self) -> None:
        area = self.area
        lsoas = area.lsoas
        # Outlines are the same for every session: computed once per server process.
        xs, ys = pn.state.as_cached(f"geoplan-lsoas-{self.resources.area_path}",
                                    lambda: _polygons(lsoas.geometry.simplify(LSOA_SIMPLIFY_M)))  # fmt: skip
        self.lsoa_source = ColumnDataSource({
            "xs": xs, "ys": ys, "lsoa_code": list(lsoas["lsoa_code"]), "lsoa_name": list(lsoas["lsoa_name"]),
            "ward_name": list(lsoas["ward_name"]), "imd_decile": list(lsoas["imd_decile"]),
            "idaci_decile": list(lsoas["idaci_decile"]), "children": list(lsoas["children_0_4"]),
            "color": [DECILE_COLORS[int(d) - 1] for d in lsoas["imd_decile"]],
            "covered": [0.0] * len(lsoas), "gap_rank": [""] * len(lsoas),
            "gap_alpha": [0.0] * len(lsoas),
        })  # fmt: skip
        minx, miny, maxx, maxy = area.boundary.total_bounds
        pad = (maxx - minx) * 0.03
        plot = figure(
            height=MAP_HEIGHT, sizing_mode="stretch_width", match_aspect=True, tools="pan,wheel_zoom,reset,save",
            active_scroll="wheel_zoom", x_range=Range1d(minx - pad, maxx + pad),
            y_range=Range1d(miny - pad, maxy + pad),
            title=f"{area.name}: LSOAs by {DECILE_INDICES['imd'][1]}, venues and gaps",
        )  # fmt: skip
        plot.axis.visible = False
        plot.grid.visible = False
        lsoa_renderer = plot.multi_polygons("xs", "ys", source=self.lsoa_source, fill_color="color", fill_alpha=0.55,
                                            line_color="#555555", line_width=0.4)  # fmt: skip
        plot.multi_polygons("xs", "ys", source=self.lsoa_source, fill_alpha=0, line_color=GAP_COLOR, line_width=3,
                            line_alpha="gap_alpha")  # fmt: skip
        wx, wy = pn.state.as_cached(f"geoplan-wards-{self.resources.area_path}",
                                    lambda: _lines(area.wards.geometry.simplify(LSOA_SIMPLIFY_M)))  # fmt: skip
        plot.multi_line(wx, wy, line_color="#222222", line_width=1.5)
        bx, by = _lines(area.boundary.geometry)
        plot.multi_line(bx, by, line_color="#000000", line_width=3)
        plot.add_tools(HoverTool(renderers=[lsoa_renderer], tooltips=[
            ("LSOA", "@lsoa_name (@ward_name)"), ("IMD / IDACI decile", "@imd_decile / @idaci_decile"),
            ("Children 0-4", "@children"), ("Within the band of a centre", "@covered{0.0%}"), ("Gap rank", "@gap_rank"),
        ]))  # fmt: skip
        self.venue_source = ColumnDataSource(self._venue_points())
        venue_renderer = plot.scatter("x", "y", source=self.venue_source, marker="marker", size="size",
                                      fill_color="color", line_color="#222222", fill_alpha="alpha")  # fmt: skip
        plot.add_tools(HoverTool(renderers=[venue_renderer], tooltips=[
            ("Venue", "@name"), ("Kind", "@label"), ("Status", "@status"), ("Sessions", "@sessions"),
        ]))  # fmt: skip
        self.outreach_source = ColumnDataSource({"x": [], "y": [], "name": [], "rank": [], "unreached": []})
        self.outreach_renderer = plot.scatter("x", "y", source=self.outreach_source, marker="circle", size=26,
                                              fill_alpha=0, line_color=OUTREACH_COLOR, line_width=3, visible=False)  # fmt: skip
        plot.add_tools(HoverTool(renderers=[self.outreach_renderer], tooltips=[
            ("Outreach visit", "#@rank @name"), ("Children beyond a centre's reach", "@unreached"),
        ]))  # fmt: skip
        self.map_plot = plot
        self.map_pane = pn.pane.Bokeh(plot, sizing_mode="stretch_width")
        self.decile_select = pn.widgets.RadioButtonGroup(name="Shade LSOAs by", options=list(DECILE_INDICES),
                                                         value="imd")  # fmt: skip
        self.decile_select.param.watch(self._on_decile, "value")
        self.legend = pn.pane.HTML(self._legend_html("imd"), sizing_mode="stretch_width")

    def _legend_html(self, index: str) -> str:
        label = DECILE_INDICES[index][1]
        swatches = "".join(
            f'<span style="display:inline-block;width:18px;height:12px;background:{color};opacity:0.7"></span>'
            f"<span style=\"margin:0 6px 0 2px\">{decile}</span>"
            for decile, color in enumerate(DECILE_COLORS, start=1)
        )
        kinds = sorted(set(self.session.venues_table()["kind"]))
        venues = "".join(
            f'<span style="color:{kind_style(self.area, kind)[0]};font-size:1.2em">&#9679;</span> '
            f"{_escape(kind_style(self.area, kind)[2])} &nbsp;"
            for kind in kinds
        )
        return (
            f'<div class="geoplan-legend" style="font-size:0.85em"><b>{_escape(label)}</b> (1 = most deprived): '
            f"{swatches}<br>Venues (large = children's centre; grey = closed): {venues}<br>"
            f'<span style="color:{GAP_COLOR};font-weight:bold">&#9633;</span> top gaps (LSOAs by need); '
            f'<span style="color:{OUTREACH_COLOR};font-weight:bold">&#9675;</span> outreach visits (Outreach tab)</div>'
        )

    def _on_decile(self, event: object) -> None:
        column = DECILE_INDICES[event.new][0]
        deciles = self.lsoa_source.data[column]
        self.lsoa_source.patch({"color": [(slice(0, len(deciles)), [DECILE_COLORS[int(d) - 1] for d in deciles])]})
        self.map_plot.title.text = f"{self.area.name}: LSOAs by {DECILE_INDICES[event.new][1]}, venues and gaps"
        self.legend.object = self._legend_html(event.new)

    def _venue_points(self) -> dict[str, list]:
        table = self.session.venues_table()
        table = table[table["located"]]
        styles = [kind_style(self.area, kind) for kind in table["kind"]]
        size = np.where(table["centre"], CENTRE_SIZE, np.where(table["open"], VENUE_SIZE, CLOSED_SIZE))
        return {
            "x": list(table["x"]), "y": list(table["y"]), "venue_id": list(table["venue_id"]),
            "name": list(table["name"]), "label": [style[2] for style in styles],
            "marker": [BOKEH_MARKERS.get(style[1], "circle") for style in styles],
            "color": [style[0] if is_open else GREYED_COLOR for style, is_open in zip(styles, table["open"])],
            "alpha": [1.0 if is_open else 0.6 for is_open in table["open"]], "size": [int(s) for s in size],
            "status": ["closed" if not o else ("children's centre" if c else "open")
                       for o, c in zip(table["open"], table["centre"])],
            "sessions": [int(n) for n in table["sessions"]],
        }  # fmt: skip

    # ---------------------------------------------------------------------------------- the chart
    def _build_chart(self) -> None:
        self.chart_source = ColumnDataSource({"x": [], "share": [], "baseline": []})
        labels = [f"{index} {decile}" for index in ("IMD", "IDACI") for decile in range(1, 11)]
        chart = figure(x_range=labels, height=260, sizing_mode="stretch_width", y_range=Range1d(0, 1),
                       title="Share of children within the band of a centre, by national decile (1 = most deprived)",
                       tools="", toolbar_location=None)  # fmt: skip
        chart.vbar(x="x", top="share", width=0.8, color=SCENARIO_COLOR, legend_label="this scenario",
                   source=self.chart_source)
        chart.scatter(x="x", y="baseline", marker="dash", size=22, line_width=3, color=BASELINE_COLOR,
                      legend_label="baseline", source=self.chart_source)
        chart.xaxis.major_label_orientation = 1.0
        chart.yaxis.formatter.use_scientific = False
        chart.legend.location = "top_right"
        chart.add_tools(HoverTool(tooltips=[("Decile", "@x"), ("This scenario", "@share{0.0%}"),
                                            ("Baseline", "@baseline{0.0%}")]))
        self.chart = pn.pane.Bokeh(chart, sizing_mode="stretch_width")

    # ------------------------------------------------------------------------------------ updates
    def _act(self, action: object, *args: object) -> None:
        """Run an edit; show its error in the app (the session keeps its previous scenario)."""
        if self._updating:
            return
        started = time.perf_counter()
        try:
            action(*args)
        except GeoplanError as exc:
            self._show_error(str(exc))
            self.refresh(show_error=False)
            return
        except Exception as exc:  # noqa: BLE001 - a bug must not end the planner's meeting; it is logged
            LOG.exception("planner edit failed")
            self._show_error(f"unexpected error (logged on the server): {exc}")
            self.refresh(show_error=False)
            return
        self.refresh(started=started)

    def _show_error(self, message: str) -> None:
        self.error.object = f'<div class="geoplan-error" role="alert">{_escape(message)}</div>'
        self.error.visible = True

    def refresh(self, *, started: float | None = None, show_error: bool = True) -> None:
        """Push the session's state into the numbers, the map and the chart, then the tables, in place.

        The numbers, map and chart go to the browser in one message as soon as they are measured;
        the tables and pickers follow on the next tick of the server's event loop, so the
        figures a planner is watching do not wait for table rows to be serialised.
        """
        started = started or time.perf_counter()
        metrics = self.session.metrics()
        with pn.io.hold():
            if show_error:
                self.error.object, self.error.visible = "", False
            self._update_lsoas(metrics)
            self._update_chart(metrics)
            self.venue_source.data = self._venue_points()
            self.last_update_ms = (time.perf_counter() - started) * 1000
            self._update_headline(metrics)
        document = pn.state.curdoc
        if document is not None and document.session_context is not None:
            document.add_next_tick_callback(lambda: self._refresh_tables(metrics))
        else:
            self._refresh_tables(metrics)

    def _refresh_tables(self, metrics: dict) -> None:
        with pn.io.hold():
            self._updating = True
            try:
                self._update_widgets()
            finally:
                self._updating = False
            gaps = pd.DataFrame(metrics["top_gaps"])
            if not gaps.empty:
                gaps = gaps[["rank", "lsoa_name", "ward_name", "imd_decile", "idaci_decile", "children_beyond",
                             "nearest_minutes"]].round({"nearest_minutes": 1})  # fmt: skip
            _set_frame(self.gaps_table, gaps)
            if self.tabs is not None and self.tabs.active == OUTREACH_TAB:
                self._update_outreach()

    def _update_widgets(self) -> None:
        session = self.session
        band = int(session.band) if float(session.band).is_integer() else session.band
        if band not in self.band_select.options:
            # A loaded scenario may use a band the picker does not offer.
            self.band_select.options = sorted({*self.band_select.options, band})
        if self.band_select.value != band:
            self.band_select.value = band
        shipped = session.scenario.name
        if shipped in self.scenario_select.options and self.scenario_select.value != shipped:
            self.scenario_select.value = shipped
        if self.profile_select.value != session.profile:
            self.profile_select.value = session.profile
        _set_frame(self.venue_table, self._venue_frame())
        _set_frame(self.session_table, self._session_frame())
        sessions = session.sessions_table()
        venues = session.venues_table()
        targets = venues[venues["open"] & venues["located"]]
        candidates = session.candidate_venues()
        options = {
            self.move_session: {f"{row.title} @ {row.venue}": row.session_id for row in sessions.itertuples()},
            self.move_to: {f"{row.name} ({row.kind})": row.venue_id for row in targets.itertuples()},
            self.candidate_select: {f"{row.name} ({row.kind}{'' if row.open else ', closed'})": row.venue_id
                                    for row in candidates.itertuples()},
        }  # fmt: skip
        for select, choices in options.items():
            if select.options != choices:
                select.options = choices
            values = list(choices.values())
            if select.value not in values:
                select.value = values[0] if values else None

    def _update_outreach(self) -> None:
        """Next month's outreach visits (computed once per band and profile on the server)."""
        try:
            plan = self.session.outreach(visits_per_month=int(self.outreach_visits.value))
        except GeoplanError as exc:
            self.outreach_note.object = f'<div class="geoplan-error" role="alert">{_escape(str(exc))}</div>'
            _set_frame(self.outreach_table, pd.DataFrame())
            self.outreach_source.data = {"x": [], "y": [], "name": [], "rank": [], "unreached": []}
            return
        visits = plan.visits.reset_index(drop=True)
        visits.insert(0, "rank", range(1, len(visits) + 1))
        columns = ["rank", "name", "kind", "ward_name", "day", "date", "children_reached", "children_beyond_centres"]
        _set_frame(self.outreach_table, visits[[c for c in columns if c in visits.columns]].astype({"date": str}))
        groups = plan.groups.set_index("venue_id")
        located = groups.loc[visits["venue_id"]]
        self.outreach_source.data = {
            "x": list(located.geometry.x), "y": list(located.geometry.y), "name": list(visits["name"]),
            "rank": list(visits["rank"]), "unreached": list(visits["children_beyond_centres"]),
        }  # fmt: skip
        summary = plan.summary
        notes = "".join(f"<li>{_escape(line)}</li>" for line in plan.warnings)
        month = str(visits["month"].iloc[0]) if len(visits) else "next month"
        status = str(summary.get("milp", {}).get("status", ""))
        self.outreach_note.object = (
            f'<div class="geoplan-outreach">{len(visits)} visits planned for {_escape(month)} ({_escape(status)}); '
            f"groups ringed in green on the map.<ul>{notes}</ul></div>"
        )

    def _update_lsoas(self, metrics: dict) -> None:
        minutes = self.session.centre_minutes()
        children = self.area.children
        population = children[self.session.population].to_numpy(dtype=float)
        frame = pd.DataFrame({"lsoa": children["lsoa_code"].to_numpy(), "children": population,
                              "covered": population * (minutes <= self.session.band)})  # fmt: skip
        sums = frame.groupby("lsoa")[["children", "covered"]].sum()
        share = (sums["covered"] / sums["children"].where(sums["children"] > 0)).fillna(0.0)
        codes = self.lsoa_source.data["lsoa_code"]
        gap_rank = {gap["lsoa_code"]: gap["rank"] for gap in metrics["top_gaps"]}
        self.lsoa_source.patch({
            "covered": [(slice(0, len(codes)), [float(share.get(code, 0.0)) for code in codes])],
            "gap_rank": [(slice(0, len(codes)), [str(gap_rank.get(code, "")) for code in codes])],
            "gap_alpha": [(slice(0, len(codes)), [1.0 if code in gap_rank else 0.0 for code in codes])],
        })  # fmt: skip

    def _update_chart(self, metrics: dict) -> None:
        rows = [(f"{index.upper()} {row['decile']}", row)
                for index in ("imd", "idaci") for row in metrics[f"by_{index}_decile"]]  # fmt: skip
        self.chart_source.data = {
            "x": [label for label, _ in rows],
            "share": [float(row["share"]) for _, row in rows],
            "baseline": [float(row["baseline_share"]) for _, row in rows],
        }

    def _update_headline(self, metrics: dict) -> None:
        band = f"{metrics['band']:g}"
        deprived = metrics["most_deprived_30"]
        sessions = metrics["session_venues"]
        change = metrics["covered"] - metrics["baseline_covered"]
        self.headline.object = (
            f'<div class="geoplan-metrics" data-band="{band}" data-share="{metrics["share"]:.6f}" '
            f'data-covered="{metrics["covered"]:.0f}" data-update-ms="{self.last_update_ms:.1f}">'
            f'<div style="font-size:2em;font-weight:bold"><span class="geoplan-share">{_pct(metrics["share"])}</span>'
            f' of children aged 0-4 within {band} minutes of a children\'s centre</div>'
            f'<div><span class="geoplan-covered">{metrics["covered"]:,.0f}</span> of '
            f'{metrics["children"]:,.0f} children '
            f'({metrics["profile"]} pace, {metrics["method"]} times); baseline {metrics["baseline_covered"]:,.0f} '
            f'({_pct(metrics["baseline_share"])}), change {change:+,.0f}.</div>'
            f'<div><span class="geoplan-gaining">{metrics["children_gaining"]:,.0f}</span> children gain and '
            f'<span class="geoplan-losing">{metrics["children_losing"]:,.0f}</span> lose a {band}-minute walk '
            f"to a centre "
            f'versus the baseline.</div>'
            f'<div>Children in the 30% most deprived LSOAs: {deprived["covered"]:,.0f} of {deprived["total"]:,.0f} '
            f'({_pct(deprived["share"])}) within reach.</div>'
            f'<div>Any session venue within {band} minutes: <span class="geoplan-session-covered">'
            f'{sessions["covered"]:,.0f}</span> children ({sessions["children_gaining"]:,.0f} gain, '
            f'{sessions["children_losing"]:,.0f} lose).</div></div>'
        )
        items = "".join(f"<li>{_escape(line)}</li>" for line in metrics["changes"])
        items = items or "<li>none (baseline programme)</li>"
        self.changes.object = (
            f'<div class="geoplan-scenario"><b>Scenario:</b> <span class="geoplan-scenario-name">'
            f'{_escape(metrics["scenario"])}</span> - {_escape(metrics["title"])}'
            f'<ul class="geoplan-changes">{items}</ul></div>'
        )

    # ---------------------------------------------------------------------------------- callbacks
    def _on_tab(self, event: object) -> None:
        self.outreach_renderer.visible = event.new == OUTREACH_TAB
        if event.new == OUTREACH_TAB:
            self._update_outreach()

    def _on_scenario(self, event: object) -> None:
        self._act(self.session.load_scenario, event.new)

    def _on_venue_click(self, event: object) -> None:
        """A click on a venue's *open* cell opens or closes it."""
        if event.column != "open":
            return
        # The session, not the table (which may be a tick behind), says whether the venue is open.
        venue_id = self.venue_table.value.iloc[event.row]["venue_id"]
        venues = self.session.venues_table().set_index("venue_id")
        self._act(self.session.toggle_venue, venue_id, not bool(venues.loc[venue_id, "open"]))

    def _on_session_selected(self, event: object) -> None:
        if event.new:
            session_id = self.session_table.value.iloc[event.new[0]]["session_id"]
            if session_id in self.move_session.options.values():
                self.move_session.value = session_id

    def _on_upload(self, event: object) -> None:
        if event.new is None or self._updating:
            return
        self._act(functools.partial(self.session.load_scenario_yaml, filename=self.upload.filename or "uploaded.yaml"),
                  event.new)

    def _scenario_file(self) -> io.BytesIO:
        self.save_button.filename = f"{self.session.scenario.name}.yaml"
        return io.BytesIO(self.session.to_scenario_yaml().encode("utf-8"))

    def _report_file(self) -> io.BytesIO:
        self.report_button.filename = f"{self.session.scenario.name}-report.html"
        return io.BytesIO(self.session.report_html().encode("utf-8"))

    # ------------------------------------------------------------------------------------- layout
    def view(self) -> pn.viewable.Viewable:
        """The page: map beside the scenario editor, metrics underneath."""
        controls = pn.Row(self.scenario_select, pn.Column(pn.Spacer(height=18), self.reset_button), self.band_select,
                          pn.Column("Walking profile", self.profile_select))  # fmt: skip
        files = pn.Row(self.save_button, self.report_button, pn.Column("Load scenario (YAML)", self.upload))
        editor = pn.Column(
            controls, files, self.error, self.changes,
            pn.pane.Markdown("**Venues** - click a venue's *open* cell to open or close it"), self.venue_table,
            pn.pane.Markdown("**Sessions**"), self.session_table,
            pn.Row(self.move_session, self.move_to, pn.Column(pn.Spacer(height=18), self.move_button)),
            pn.pane.Markdown("**Add a children's centre**"),
            pn.Row(self.candidate_select, pn.Column(pn.Spacer(height=18), self.candidate_button)),
            pn.Row(self.postcode_input, pn.Column(pn.Spacer(height=18), self.postcode_button)),
            sizing_mode="stretch_width",
        )  # fmt: skip
        gaps = pn.Column(pn.pane.Markdown("**Top gaps**: LSOAs ranked by need (children beyond the band of a "
                                          "centre x deprivation weight x minutes beyond); outlined on the map"),
                         self.gaps_table, sizing_mode="stretch_width")  # fmt: skip
        outreach = pn.Column(
            pn.pane.Markdown(
                "**Outreach: community groups to visit next month.** The outreach planner's choice of groups "
                "(libraries, community, faith and partner venues) that reach the most young children in deprived "
                "areas beyond the walking band of a children's centre, meeting the area visit rules."
            ),
            self.outreach_visits, self.outreach_note, self.outreach_table, sizing_mode="stretch_width",
        )  # fmt: skip
        self.tabs = pn.Tabs(("Scenario", editor), ("Top gaps", gaps), ("Outreach", outreach), dynamic=False,
                            sizing_mode="stretch_width")  # fmt: skip
        self.tabs.param.watch(self._on_tab, "active")
        return pn.Column(
            pn.pane.HTML(f"<h2>{_escape(self.area.name)}: early-years planner</h2>"),
            pn.Row(pn.Column(self.map_pane, pn.Row(pn.pane.HTML("Shade LSOAs by"), self.decile_select), self.legend,
                             self.headline, self.chart, sizing_mode="stretch_width"), self.tabs,
                   sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )  # fmt: skip


def _set_frame(table: pn.widgets.Tabulator, frame: pd.DataFrame) -> None:
    """Replace a table's rows only when they changed (an unchanged table sends nothing)."""
    current = table.value
    if current is None or list(current.columns) != list(frame.columns) or not current.reset_index(drop=True).equals(
        frame.reset_index(drop=True)
    ):
        table.value = frame


def _escape(text: str) -> str:
    import html

    return html.escape(str(text), quote=True)


def create_app(area: str | None = None) -> pn.viewable.Viewable:
    """A new planner page with its own scenario (one per browser session)."""
    return PlannerApp(area).view()


if pn.state.served:
    pn.extension("tabulator", sizing_mode="stretch_width")
    create_app(os.environ.get("GEOPLAN_AREA") or None).servable(title="geoplan planner")
