"""``geoplan data``: the source manifest, downloads and local imports."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from geoplan.cli.common import AreaOption, JsonOption, command_group, number_option, print_json

data_app = command_group(
    "data", "Open-data sources: list the manifest, download into the cache, or import a local folder."
)


@data_app.command("sources")
def data_sources(as_json: JsonOption = False) -> None:
    """The official sources geoplan reads: publisher, URL, licence, vintage and cached file."""
    from geoplan.fetch import manifest_rows

    rows = manifest_rows()
    if as_json:
        print_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("key", "publisher", "licence", "vintage", "url")
    for row in rows:
        table.add_row(row["key"], row["publisher"], row["licence"], row["vintage"], row["url"])
    Console().print(table)


@data_app.command("fetch")
def data_fetch(
    la: Annotated[
        str | None,
        typer.Option("--la", help="ONS code of the local authority (default: the --area catalogue's)."),
    ] = None,
    area: AreaOption = None,
    margin: Annotated[
        float | None,
        number_option(
            "--margin",
            "Metres beyond the LA boundary to keep",
            low=0.0,
            high=20_000.0,
            note="default: the catalogue's, else 2000",
        ),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even if the cache covers the area.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Download the open data a local authority needs into the cache, filtered to the LA plus a margin.

    The street network comes last, for the study area of the LA's layer catalogue (--area, or the shipped catalogue with that code).
    """
    from geoplan import settings
    from geoplan.errors import InputError, NetworkUnavailableError
    from geoplan.fetch import catalogue_for, fetch_sources, needed_sources
    from geoplan.layers import DEFAULT_MARGIN_M, load_catalogue
    from geoplan.workspace import Workspace

    catalogue_path = area if la is None or area is not None else catalogue_for(la)
    if la is None and catalogue_path is None:
        catalogue_path = settings.default_area
    keys = None
    if catalogue_path is not None:
        catalogue = load_catalogue(catalogue_path)
        if la is None and catalogue.area.la_code is None:
            msg = (
                f"the catalogue names its area by {catalogue.area.defined_by} and downloads go by local authority: "
                "give each authority the area lies in with --la (e.g. --la E09000010)"
            )
            raise InputError(msg, path=catalogue_path, field="area")
        if la is not None and catalogue.area.la_code is not None and la != catalogue.area.la_code:
            msg = f"--la {la} differs from the catalogue's local authority {catalogue.area.la_code}"
            raise InputError(msg, path=catalogue_path, field="la_code")
        la = la or catalogue.area.la_code
        margin = catalogue.area.margin_m if margin is None else margin
        keys = needed_sources(catalogue)

    def show(result: object) -> None:
        if not as_json:
            state = "already cached" if result.skipped else ("resumed, " if result.resumed else "") + "fetched"
            print(f"{result.key:<18} {state:<16} {result.rows:>7,} rows  {result.path}")

    results = fetch_sources(la, margin_m=DEFAULT_MARGIN_M if margin is None else margin, keys=keys, force=force)
    for result in results:
        show(result)
    if catalogue_path is None:
        print(
            f"street network: no shipped layer catalogue for {la}; it is fetched with the first catchment run",
            file=sys.stderr,
        )
    network_error = None
    if catalogue_path is not None and "osm_overpass" in (keys or []):
        try:
            results.append(Workspace(catalogue_path).download_network())
            show(results[-1])
        except NetworkUnavailableError as exc:
            # The tables are cached already: report them, then fail on the network.
            network_error = exc
    if as_json:
        print_json([result.to_dict() for result in results])
    if network_error is not None:
        raise network_error


@data_app.command("import")
def data_import(
    directory: Annotated[Path, typer.Argument(help="Folder holding the source files (e.g. ../shared/data/raw).")],
    as_json: JsonOption = False,
) -> None:
    """Copy the source files found in a local folder into the cache, after checking their columns."""
    from geoplan.fetch import import_sources

    report = import_sources(directory)
    if as_json:
        print_json(report.to_dict())
    else:
        for key, source, target in report.imported:
            print(f"imported {key:<18} {source} -> {target}")
        for key in report.skipped:
            print(f"skipped  {key:<18} (name the OSM extract in the layer catalogue's network.osm_file)")
    if report.missing:
        from geoplan.errors import DataSourceError
        from geoplan.sources import get_source

        missing = ", ".join(f"{key} ({get_source(key).local_patterns[0]})" for key in report.missing)
        msg = f"{report.directory} lacks {len(report.missing)} source(s): {missing}"
        raise DataSourceError(msg)
