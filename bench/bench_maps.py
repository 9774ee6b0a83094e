"""Committee map and report for Bexley: time per step, sizes, and folium's stock output side by side.

Run: ``GEOPLAN_DATA=/work/shared/data .venv/bin/python bench/bench_maps.py``

Times, in one process after imports: loading the study area and measuring the current programme
(travel times, coverage, gaps, walking bands), building and writing the offline map, the PNG
and the report; then the commands as a user runs them (imports included): ``geoplan map --png``
and ``geoplan report`` as two processes, and ``geoplan report --map --png`` writing all three.
The load average is printed because other work on the machine stretches wall-clock times.
The peer is folium's stock ``Map.save()`` of the same LSOA choropleth with its default CDN
template (which would not open offline); the ratio shows what inlining Leaflet and drawing
every layer costs. Target: map + report under 10 s, map HTML under 5 MB.
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

from geoplan import settings
from geoplan.figure import png_bytes, write_png
from geoplan.maps import DECILE_COLORS, render_html, write_map
from geoplan.report import committee_figure, committee_map, committee_report, load_committee, write_report

TARGET_SECONDS = 10.0
MAX_MAP_BYTES = 5_000_000
GEOPLAN = Path(sys.executable).with_name("geoplan")


def _cpu_seconds() -> float:
    """CPU time of this process and of the commands it ran (unlike wall time, not stretched by other load)."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def _timed(label: str, timings: dict[str, float], work: object, cpu: dict[str, float]) -> object:
    start, start_cpu = time.perf_counter(), _cpu_seconds()
    result = work()
    timings[label] = time.perf_counter() - start
    cpu[label] = _cpu_seconds() - start_cpu
    return result


def _stock_folium(area: object, out: Path) -> int:
    lsoas = area.lsoas[["lsoa_code", "imd_decile", "geometry"]].to_crs(settings.display_crs)
    fmap = folium.Map(tiles=None)
    folium.GeoJson(
        lsoas, style_function=lambda feature: {"fillColor": DECILE_COLORS[feature["properties"]["imd_decile"] - 1]}
    ).add_to(fmap)
    fmap.save(out)
    return out.stat().st_size


def main() -> None:
    timings: dict[str, float] = {}
    cpu: dict[str, float] = {}
    out = Path(tempfile.mkdtemp(prefix="bench-maps-"))
    committee = _timed("load area + measure (travel times, coverage, gaps, bands)", timings,
                       lambda: load_committee([None]), cpu)  # fmt: skip
    area = committee.area
    map_bytes = _timed("map: build + write HTML", timings,
                       lambda: write_map(committee_map(committee), out / "bexley-map.html"), cpu)  # fmt: skip
    _timed("figure: build + write PNG", timings, lambda: write_png(committee_figure(committee), out / "bexley-map.png"),
           cpu)  # fmt: skip
    report_bytes = _timed(
        "report: map + figure + tables + write",
        timings,
        lambda: write_report(
            committee_report(committee, map_html=render_html(committee_map(committee)),
                             figure_png=png_bytes(committee_figure(committee))),
            out / "bexley-report.html",
        ),
        cpu,
    )  # fmt: skip
    stock_bytes = _timed("peer: folium stock Map.save (LSOAs only, CDN assets)", timings,
                         lambda: _stock_folium(area, out / "stock.html"), cpu)  # fmt: skip
    env = {**os.environ, "GEOPLAN_DATA": str(settings.data_dir or "")}
    commands = {
        "CLI: geoplan map --png": ["map", "--out", str(out / "cli-map.html"), "--png", str(out / "cli-map.png")],
        "CLI: geoplan report": ["report", "--out", str(out / "cli-report.html")],
        "CLI: geoplan report --map --png (all three)": ["report", "--out", str(out / "one-report.html"), "--map",
                                                        str(out / "one-map.html"), "--png", str(out / "one-map.png")],
    }  # fmt: skip
    for label, command in commands.items():
        _timed(label, timings, lambda command=command: subprocess.run([str(GEOPLAN), *command], check=True, env=env,
                                                                     capture_output=True), cpu)  # fmt: skip

    print(f"{area.name}: {len(area.lsoas)} LSOAs, {len(area.located_venues)} located venues, "
          f"travel times {committee.views[0].travel.method}; load average {os.getloadavg()[0]:.2f} on "
          f"{os.cpu_count()} CPUs")  # fmt: skip
    print(f"{'step':<62} {'wall':>7}   {'cpu':>7}")
    for label, seconds in timings.items():
        print(f"{label:<62} {seconds:>7.2f} s {cpu[label]:>7.2f} s")
    generation = sum(timings[label] for label in list(timings)[:4])
    steps = list(timings)[:4]
    generation_cpu = sum(cpu[label] for label in steps)
    two = ("CLI: geoplan map --png", "CLI: geoplan report")
    one = "CLI: geoplan report --map --png (all three)"
    for label, seconds, cpu_seconds in (
        ("map + PNG + report in process (incl. loading)", generation, generation_cpu),
        ("geoplan map --png, then geoplan report (two processes)", sum(timings[k] for k in two),
         sum(cpu[k] for k in two)),
        ("geoplan report --map --png (one process)", timings[one], cpu[one]),
    ):  # fmt: skip
        print(f"{label:<62} {seconds:>7.2f} s {cpu_seconds:>7.2f} s "
              f"(wall {seconds / TARGET_SECONDS:.0%} of the {TARGET_SECONDS:g} s target)")  # fmt: skip
    print(f"map HTML {map_bytes / 1e6:.2f} MB (limit {MAX_MAP_BYTES / 1e6:g} MB); report {report_bytes / 1e6:.2f} MB; "
          f"stock folium LSOAs-only page {stock_bytes / 1e6:.2f} MB")  # fmt: skip
    map_time = timings["map: build + write HTML"]
    stock_time = timings["peer: folium stock Map.save (LSOAs only, CDN assets)"]
    print(f"offline map vs stock folium: time ratio {map_time / stock_time:.1f}x, size ratio "
          f"{map_bytes / stock_bytes:.2f}x")  # fmt: skip
    print(f"outputs in {out}")


if __name__ == "__main__":
    main()
