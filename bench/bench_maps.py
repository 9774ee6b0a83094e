"""Committee outputs for Bexley: map + PNG + report + PDF, step by step and as one command, beside folium's stock map.

Run: ``GEOPLAN_DATA=../shared/data .venv/bin/python bench/bench_maps.py``

Target: ``geoplan report --out --map --png --pdf`` (the map, the figure, the report and the
committee paper, imports and loading included) under 15 s on the 2-core bench machine.

Peer: folium's stock ``Map.save()`` of the same layers (both deprivation shadings, wards, the
boundary, walking bands, gap areas and the venues as stock markers with the same popups), whose
page loads Leaflet, jQuery and Bootstrap from CDNs and so does not open offline. geoplan's map
does more (Leaflet inlined so it opens offline, layers in fixed panes so the shading stays under
the overlays, a folding legend that follows the shading, ward and gap labels, SVG venue symbols
shared with the PNG) yet is built in less time and half the bytes: it rounds coordinates and
simplifies shapes once, in Python, instead of folium serialising every GeoJSON feature with its
style function.
Caches go to a temporary folder (benchkit.setup), outputs to another; nothing is written to the checkout.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import folium
from benchkit import best_of, print_table, ratio, seconds, setup

from geoplan import settings
from geoplan.outputs.committee import committee_figure, committee_map, load_committee
from geoplan.outputs.figure import write_png
from geoplan.outputs.leaflet import write_map
from geoplan.outputs.maps import top_gap_areas, venue_layer, venue_popup
from geoplan.outputs.pdf import write_pdf
from geoplan.outputs.report import build_report, render_report, write_report
from geoplan.outputs.style import DECILE_COLORS, DECILE_INDICES, GAP_COLOR, band_color
from geoplan.workspace import Workspace

TARGET_SECONDS = 15.0
MAX_MAP_BYTES = 5_000_000
#: Repeats of the in-process steps (the CLI run is timed once: it includes the cold start a user sees).
REPEATS = 3
GEOPLAN = Path(sys.executable).with_name("geoplan")


def stock_folium(committee: object, out: Path) -> int:
    """The same layers with folium's own classes and template (CDN assets), saved with ``Map.save``."""
    area, view = committee.area, committee.views[0]
    fmap = folium.Map(tiles=None)
    for index, (column, label) in DECILE_INDICES.items():
        lsoas = area.lsoas[["lsoa_name", column, "geometry"]].to_crs(settings.display_crs)
        folium.GeoJson(
            lsoas,
            name=label,
            overlay=False,
            show=index == "imd",
            style_function=lambda feature, column=column: {
                "fillColor": DECILE_COLORS[feature["properties"][column] - 1],
                "fillOpacity": 0.75,
                "weight": 0.5,
            },
            tooltip=folium.GeoJsonTooltip(["lsoa_name", column]),
        ).add_to(fmap)
    folium.GeoJson(
        area.wards.to_crs(settings.display_crs),
        name="Wards",
        style_function=lambda feature: {"fill": False, "weight": 1.5},
    ).add_to(fmap)
    folium.GeoJson(
        area.boundary.to_crs(settings.display_crs),
        name="Boundary",
        style_function=lambda feature: {"fill": False, "weight": 3},
    ).add_to(fmap)
    bands = view.catchments.dissolve(by="band").reset_index()
    order = sorted(bands["band"])
    folium.GeoJson(
        bands.to_crs(settings.display_crs),
        name="Walking bands",
        style_function=lambda feature: {
            "color": band_color(order.index(feature["properties"]["band"])),
            "fillOpacity": 0.12,
        },
    ).add_to(fmap)
    gaps = top_gap_areas(view.gaps, area)[["rank", "geometry"]]
    folium.GeoJson(
        gaps.to_crs(settings.display_crs),
        name="Gap areas",
        style_function=lambda feature: {"color": GAP_COLOR, "dashArray": "4 3"},
    ).add_to(fmap)
    venues = folium.FeatureGroup(name="Venues").add_to(fmap)
    shown = venue_layer(area, configuration=view.configuration, venues=view.venues)
    points = shown.to_crs(settings.display_crs)
    for (_, venue), point in zip(shown.iterrows(), points.geometry, strict=True):
        folium.Marker(
            [point.y, point.x], popup=folium.Popup(venue_popup(area, venue), max_width=340), tooltip=str(venue["name"])
        ).add_to(venues)
    folium.LayerControl().add_to(fmap)
    bounds = area.boundary.to_crs(settings.display_crs).total_bounds
    fmap.fit_bounds([[bounds[1], bounds[0]], [bounds[3], bounds[2]]])
    fmap.save(out)
    return out.stat().st_size


def main() -> None:
    cache = setup()
    out = Path(tempfile.mkdtemp(prefix="bench-maps-"))
    started = time.perf_counter()
    workspace = Workspace(settings.default_area)
    committee = load_committee(workspace, [None])
    load_seconds = time.perf_counter() - started
    map_seconds, map_bytes = best_of(lambda: write_map(committee_map(committee), out / "map.html"), REPEATS)
    png_seconds, _ = best_of(lambda: write_png(committee_figure(committee), out / "map.png"), REPEATS)
    rendered = render_report(committee)
    report_seconds, report_bytes = best_of(
        lambda: write_report(render_report(committee).page, out / "report.html"), REPEATS
    )
    paper = build_report(committee, figure_png=rendered.figure_png)
    pdf_seconds, pdf_bytes = best_of(lambda: write_pdf(paper, out / "paper.pdf", title="Bexley"), REPEATS)
    stock_seconds, stock_bytes = best_of(lambda: stock_folium(committee, out / "stock.html"), REPEATS)

    env = {**os.environ, "GEOPLAN_CACHE": cache}
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    command = [
        "report",
        "--out",
        str(out / "cli-report.html"),
        "--map",
        str(out / "cli-map.html"),
        "--png",
        str(out / "cli-map.png"),
        "--pdf",
        str(out / "cli-paper.pdf"),
    ]
    cli_seconds, _ = best_of(
        lambda: subprocess.run([str(GEOPLAN), *command], check=True, env=env, capture_output=True), 1
    )
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cli_cpu = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )

    area = committee.area
    rows = [
        [
            "load area + measure (travel times, coverage, gaps, walking bands), cold cache",
            seconds(load_seconds),
            "",
            "",
        ],
        ["committee map: build + write HTML", seconds(map_seconds), f"{map_bytes / 1e6:.2f} MB", ""],
        [
            "folium stock Map.save, same layers (CDN assets, not offline)",
            seconds(stock_seconds),
            f"{stock_bytes / 1e6:.2f} MB",
            f"geoplan map {ratio(map_seconds, stock_seconds)} its time",
        ],
        ["static figure: build + write PNG (2339×1654)", seconds(png_seconds), "", ""],
        ["report: map + figure + tables + write HTML", seconds(report_seconds), f"{report_bytes / 1e6:.2f} MB", ""],
        ["committee paper: Chromium print to A4 PDF", seconds(pdf_seconds), f"{pdf_bytes / 1e6:.2f} MB", ""],
        [
            "`geoplan report --out --map --png --pdf` (one process, imports included)",
            seconds(cli_seconds),
            "",
            f"{cli_seconds / TARGET_SECONDS:.0%} of the {TARGET_SECONDS:g} s target; CPU {seconds(cli_cpu)} "
            "(user + system, the command and Chromium: what the wall time would be on an idle machine, roughly)",
        ],
    ]
    title = (
        f"Committee outputs: {area.name}, {len(area.lsoas)} LSOAs, {len(area.located_venues)} located venues, "
        f"travel times {committee.views[0].travel.method}; load average {os.getloadavg()[0]:.2f}"
    )
    print_table(
        title, ["step", "time (best of 3)", "size", "note"], rows, packages=("folium", "matplotlib", "playwright")
    )
    if map_bytes > MAX_MAP_BYTES:
        print(f"map HTML {map_bytes / 1e6:.2f} MB is over the {MAX_MAP_BYTES / 1e6:g} MB limit")
    print(f"outputs in {out}")


if __name__ == "__main__":
    main()
