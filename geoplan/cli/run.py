"""``geoplan run``: the main job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoplan.cli.common import AreaOption, ProfileOption, app
from geoplan.cli.area import area_summary
from geoplan.cli.analysis import coverage_command, gaps_command
from geoplan.cli.outputs import report_command


@app.command("run")
def run_command(
    area: AreaOption = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the map, figure, report and gaps.")] = Path("out"),
    profile: ProfileOption = "buggy",
) -> None:
    """The main job: get the open data, then summary, coverage, gaps, committee map, figure and report."""
    from geoplan import settings
    from geoplan.download import ensure_sources
    from geoplan.layers import load_catalogue

    catalogue_path = area or settings.default_area
    ensure_sources(load_catalogue(catalogue_path))
    stem = catalogue_path.stem
    area_summary(area=area)
    coverage_command(area=area, profile=profile)
    gaps_command(out=out / f"{stem}-gaps.gpkg", area=area, profile=profile, top=10)
    report_command(
        out=out / f"{stem}-report.html", area=area, map_out=out / f"{stem}-map.html", png=out / f"{stem}-map.png"
    )
