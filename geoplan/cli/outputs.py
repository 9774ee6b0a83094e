"""``geoplan map`` and ``geoplan report``: the committee outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoplan.cli.common import AreaOption, DecileOption, JsonOption, app, print_json

ScenarioOption = Annotated[
    str | None,
    typer.Option("--scenario", help="Scenario file (or shipped scenario name) instead of the current programme."),
]
AnalystOption = Annotated[
    bool, typer.Option("--analyst", help="Show analysts' notes (sources, geocoding doubts, venue ids) in map popups.")
]


def _committee(chosen: list[str | None], area: Path | None) -> object:
    from geoplan.outputs.committee import committee_area, load_committee
    from geoplan.workspace import Workspace

    scenarios = [None if item in (None, "baseline") else item for item in chosen]
    return load_committee(Workspace(committee_area(scenarios, area=area)), scenarios)


@app.command("map")
def map_command(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write (self-contained, works offline).")],
    area: AreaOption = None,
    scenario: ScenarioOption = None,
    compare: Annotated[
        tuple[str, str] | None,
        typer.Option("--compare", help="Two scenarios (files, names or 'baseline') side by side, panning together."),
    ] = None,
    png: Annotated[Path | None, typer.Option("--png", help="Also write a print-quality PNG of the map.")] = None,
    width: Annotated[int, typer.Option("--width", help="PNG width in pixels, 400-12000.")] = 2339,
    height: Annotated[int, typer.Option("--height", help="PNG height in pixels, 400-12000.")] = 1654,
    dpi: Annotated[int, typer.Option("--dpi", help="PNG dots per inch, 50-600 (sets text size).")] = 200,
    decile: DecileOption = "imd",
    children: Annotated[
        bool, typer.Option("--children", help="Add children 0-4 per postcode (a layer, off at first).")
    ] = False,
    basemap: Annotated[bool, typer.Option("--basemap", help="Add OpenStreetMap tiles (online only).")] = False,
    analyst: AnalystOption = False,
    as_json: JsonOption = False,
) -> None:
    """Committee map: LSOAs by deprivation decile, wards, venues, gaps; one offline HTML file (and a PNG)."""
    from geoplan.errors import InputError
    from geoplan.fileio import check_output_file
    from geoplan.outputs.committee import committee_figure, committee_map
    from geoplan.outputs.figure import write_png
    from geoplan.outputs.leaflet import write_map

    if scenario is not None and compare is not None:
        msg = "give --scenario or --compare, not both"
        raise InputError(msg, field="compare")
    for path in (out, png):
        if path is not None:
            check_output_file(path)
    committee = _committee(list(compare) if compare is not None else [scenario], area)
    document = committee_map(committee, decile=decile, children=children, basemap=basemap, analyst=analyst)
    # Both are built before either is written, so a bad option leaves no half set of outputs.
    figure = committee_figure(committee, decile=decile, width_px=width, height_px=height, dpi=dpi) if png else None
    size = write_map(document, out)
    written: dict[str, object] = {"map": str(out), "map_bytes": size}
    if figure is not None:
        write_png(figure, png)
        written["png"] = str(png)
    headline = committee.views[-1].headline()
    if as_json:
        print_json({**written, "headline": headline})
        return
    print(f"Map written to {out} ({size / 1e6:.1f} MB)" + (f"; figure written to {png}" if png else ""))
    print(headline)


@app.command("report")
def report_command(
    out: Annotated[Path | None, typer.Option("--out", help="HTML report to write (self-contained).")] = None,
    pdf: Annotated[
        Path | None, typer.Option("--pdf", help="A4 PDF committee paper to write (printed offline by Chromium).")
    ] = None,
    area: AreaOption = None,
    scenario: ScenarioOption = None,
    against: Annotated[
        str | None,
        typer.Option("--against", help="Compare the scenario with this one ('baseline' = current programme)."),
    ] = None,
    map_out: Annotated[
        Path | None, typer.Option("--map", help="Also write the interactive map (the one embedded) to this HTML file.")
    ] = None,
    png: Annotated[
        Path | None, typer.Option("--png", help="Also write the static figure (the one embedded) to this PNG file.")
    ] = None,
    decile: DecileOption = "imd",
    analyst: AnalystOption = False,
    as_json: JsonOption = False,
) -> None:
    """Committee report: headline, coverage by decile and ward, equality impact, gaps, maps, sources, caveats."""
    from geoplan.errors import InputError
    from geoplan.fileio import check_output_file, write_bytes, write_text
    from geoplan.outputs.pdf import require_printer, write_pdf
    from geoplan.outputs.report import build_report, render_report, write_report

    if against is not None and scenario is None:
        msg = "--against needs --scenario (the configuration compared with it)"
        raise InputError(msg, field="against")
    if out is None and pdf is None:
        msg = "give --out (HTML report), --pdf (committee paper) or both"
        raise InputError(msg, field="out")
    if pdf is not None:
        require_printer()
    for path in (out, pdf, map_out, png):
        if path is not None:
            check_output_file(path)
    committee = _committee([scenario] if against is None else [against, scenario], area)
    rendered = render_report(
        committee, decile=decile, analyst=analyst, interactive=out is not None or map_out is not None
    )
    written: dict[str, object] = {}
    if pdf is not None:
        # The paper carries the static figure only: the interactive map cannot be printed.
        paper = build_report(committee, figure_png=rendered.figure_png)
        written["pdf"] = str(pdf)
        written["pdf_bytes"] = write_pdf(paper, pdf, title=f"{committee.area.name}: {committee.views[-1].title}")
    if out is not None:
        written["report"] = str(out)
        written["bytes"] = write_report(rendered.page, out)
    if map_out is not None:
        written["map"] = str(write_text(map_out, rendered.map_html))
    if png is not None:
        written["png"] = str(write_bytes(png, rendered.figure_png))
    headline = committee.views[-1].headline()
    if as_json:
        print_json({**written, "headline": headline})
        return
    for name, label in (("report", "Report"), ("pdf", "Committee paper (PDF)")):
        if name in written:
            size = written["bytes" if name == "report" else "pdf_bytes"]
            print(f"{label} written to {written[name]} ({size / 1e6:.1f} MB)")
    for name in ("map", "png"):
        if name in written:
            print(f"{name} written to {written[name]}")
    print(headline)
