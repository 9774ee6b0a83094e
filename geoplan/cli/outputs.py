"""``geoplan map`` and ``geoplan report``: the committee outputs."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Optional

import typer

from geoplan.cli.common import AreaOption, DecileOption, JsonOption, app, print_json


@app.command("map")
def map_command(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write (self-contained, works offline).")],
    area: AreaOption = None,
    scenario: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--scenario", help="Scenario file (or shipped scenario name) to map instead of the current programme."),
    ] = None,
    compare: Annotated[
        Optional[tuple[str, str]],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--compare", help="Two scenarios (files, names or 'baseline') side by side, panning together."),
    ] = None,
    png: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--png", help="Also write a print-quality PNG of the map."),
    ] = None,
    width: Annotated[int, typer.Option("--width", help="PNG width in pixels.")] = 2339,
    height: Annotated[int, typer.Option("--height", help="PNG height in pixels.")] = 1654,
    dpi: Annotated[int, typer.Option("--dpi", help="PNG dots per inch (sets text size).")] = 200,
    decile: DecileOption = "imd",
    children: Annotated[bool, typer.Option("--children", help="Add children 0-4 per postcode (a layer, off at first).")] = False,
    basemap: Annotated[bool, typer.Option("--basemap", help="Add OpenStreetMap tiles (online only).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Committee map: LSOAs by deprivation decile, wards, venues, gaps; one offline HTML file (and a PNG)."""
    from geoplan.errors import InputError
    from geoplan.figure import write_png
    from geoplan.maps import write_map
    from geoplan.report import committee_figure, committee_map, load_committee

    if scenario is not None and compare is not None:
        msg = "give --scenario or --compare, not both"
        raise InputError(msg, field="compare")
    chosen = list(compare) if compare is not None else [scenario]
    committee = load_committee([None if item == "baseline" else item for item in chosen], area=area)
    document = committee_map(committee, decile=decile, children=children, basemap=basemap)
    # Both are built before either is written, so a bad option leaves no half set of outputs.
    figure = committee_figure(committee, decile=decile, width_px=width, height_px=height, dpi=dpi) if png else None
    size = write_map(document, out)
    written = {"map": str(out), "map_bytes": size}
    if figure is not None:
        write_png(figure, png)
        written["png"] = str(png)
    if as_json:
        print_json({**written, "headline": committee.views[-1].coverage.headline()})
        return
    print(f"Map written to {out} ({size / 1e6:.1f} MB)" + (f"; figure written to {png}" if png else ""))
    print(committee.views[-1].coverage.headline())


@app.command("report")
def report_command(
    out: Annotated[Path, typer.Option("--out", help="HTML report to write (self-contained, printable).")],
    area: AreaOption = None,
    scenario: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--scenario", help="Scenario file (or shipped scenario name) to report on."),
    ] = None,
    against: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--against", help="Compare the scenario with this one ('baseline' = current programme)."),
    ] = None,
    map_out: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--map", help="Also write the interactive map (the one embedded) to this HTML file."),
    ] = None,
    png: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--png", help="Also write the static figure (the one embedded) to this PNG file."),
    ] = None,
    decile: DecileOption = "imd",
    as_json: JsonOption = False,
) -> None:
    """Committee report: headline, coverage by decile and ward, equality impact, maps, sources, caveats."""
    from geoplan.errors import InputError
    from geoplan.figure import png_bytes
    from geoplan.fileio import write_bytes, write_text
    from geoplan.maps import render_html
    from geoplan.report import committee_figure, committee_map, committee_report, load_committee, write_report

    if against is not None and scenario is None:
        msg = "--against needs --scenario (the configuration compared with it)"
        raise InputError(msg, field="against")
    chosen = [scenario] if against is None else [against, scenario]
    committee = load_committee([None if item == "baseline" else item for item in chosen], area=area)
    map_html = render_html(committee_map(committee, decile=decile))
    figure_png = png_bytes(committee_figure(committee, decile=decile))
    size = write_report(committee_report(committee, map_html=map_html, figure_png=figure_png), out)
    written = {"report": str(out), "bytes": size}
    if map_out is not None:
        written["map"] = str(write_text(map_out, map_html))
    if png is not None:
        written["png"] = str(write_bytes(png, figure_png))
    if as_json:
        print_json({**written, "headline": committee.views[-1].coverage.headline()})
        return
    extras = "".join(f"; {name} written to {path}" for name, path in written.items() if name in ("map", "png"))
    print(f"Report written to {out} ({size / 1e6:.1f} MB){extras}")
    print(committee.views[-1].coverage.headline())
