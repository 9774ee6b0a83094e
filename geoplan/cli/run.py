"""``geoplan run``: the main job."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoplan.cli.analysis import coverage_command, gaps_command
from geoplan.cli.area import area_summary
from geoplan.cli.common import AreaOption, JsonOption, ProfileOption, app, number_option, print_json
from geoplan.cli.outputs import report_command


@app.command("run")
def run_command(
    area: AreaOption = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the map, figure, report and gaps.")] = Path("out"),
    profile: ProfileOption = "buggy",
) -> None:
    """The main job: get the open data, then summary, coverage, gaps, committee map, figure and report."""
    from geoplan import settings
    from geoplan.fetch import ensure_sources
    from geoplan.layers import load_catalogue

    catalogue_path = area or settings.default_area
    ensure_sources(load_catalogue(catalogue_path))
    stem = catalogue_path.stem
    area_summary(area=area)
    coverage_command(area=area, profile=profile)
    gaps_command(out=out / f"{stem}-gaps.gpkg", area=area, profile=profile, top=None)
    report_command(
        out=out / f"{stem}-report.html", area=area, map_out=out / f"{stem}-map.html", png=out / f"{stem}-map.png"
    )


@app.command("batch")
def batch_command(
    areas: Annotated[list[Path], typer.Argument(help="Layer catalogues, one per area (e.g. layers/*.yaml).")],
    out: Annotated[Path, typer.Option("--out", help="Folder for every area's gaps, report, map and figure.")] = Path(
        "out"
    ),
    profile: ProfileOption = "buggy",
    scheduler: Annotated[
        str | None,
        typer.Option("--scheduler", help="Address of a running Dask scheduler (default: a cluster on this machine)."),
    ] = None,
    workers: Annotated[int, number_option("--workers", "Worker processes of the local cluster", low=1, high=64)] = 2,
    steps: Annotated[
        str, typer.Option("--steps", help="What to run for each area: coverage, gaps, report (comma-separated).")
    ] = "coverage,gaps,report",
    as_json: JsonOption = False,
) -> None:
    """'geoplan run' for many areas at once on a Dask cluster: one combined table; exit 1 if any area failed."""
    from geoplan.batch import OK, run_batch

    def progress(row: object, done: int, total: int) -> None:
        outcome = f"done in {row.seconds:.0f} s" if row.status == OK else f"failed: {row.error}"
        typer.echo(f"[{done}/{total}] {row.area or row.catalogue}: {outcome}", err=True)

    result = run_batch(
        areas,
        out_dir=out,
        profile=profile,
        steps=[part.strip() for part in steps.split(",") if part.strip()],
        scheduler=scheduler,
        n_workers=workers,
        on_done=progress,
    )
    if as_json:
        print_json(result.to_dict())
    else:
        _print_batch_table(result)
    if result.failed:
        raise typer.Exit(1)


def _print_batch_table(result: object) -> None:
    from rich.console import Console
    from rich.table import Table

    from geoplan.batch import OK
    from geoplan.coverage import METHOD_WORDS

    table = Table(
        "Area",
        "Travel times",
        "Children 0-4",
        *[f"Within {band:g} min" for band in result.bands],
        "Largest gap",
        "Status",
    )
    for row in result.areas:
        if row.status == OK:
            shares = [f"{row.shares[band]:.1%}" for band in result.bands]
            where = row.top_gap.split(":")[0]  # the place; the reason is in the gaps table
            table.add_row(
                row.area, METHOD_WORDS.get(row.method, row.method), f"{row.children:,.0f}", *shares, where, "done"
            )
        else:
            blanks = [""] * len(result.bands)
            table.add_row(row.area or Path(row.catalogue).name, "", "", *blanks, "", "failed (reason below)")
    console = Console()
    console.print(table)
    for row in result.areas:
        if row.status != OK:
            console.print(f"{row.area or Path(row.catalogue).name} failed: {row.error}", markup=False, soft_wrap=True)
