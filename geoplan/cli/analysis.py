"""``geoplan coverage``, ``gaps``, ``traveltime`` and ``catchments``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from geoplan.cli.common import (
    AreaOption,
    JsonOption,
    KindOption,
    OsmOption,
    ProfileOption,
    SessionTypeOption,
    app,
    number_option,
    parse_minutes,
    print_json,
    venue_selection,
)

if TYPE_CHECKING:
    import numpy as np

    from geoplan.network import WalkNetwork
    from geoplan.studyarea import StudyArea

#: Longest --cutoff of ``geoplan traveltime``: a day.
MAX_CUTOFF_MINUTES = 1440.0

BandsOption = Annotated[str, typer.Option("--minutes", help="Walking bands in minutes, comma-separated.")]
PaceOption = Annotated[str, typer.Option("--profile", help="walk (4.8 km/h), buggy (4.0 km/h) or a speed in km/h.")]


def _points_option(flag: str, default: str) -> Any:
    """A CSV of points; ``default`` names the area's points used without it."""
    return typer.Option(flag, help=f"CSV with id,lon,lat or id,x,y (EPSG:27700); default: the area's {default}.")


@app.command("coverage")
def coverage_command(
    area: AreaOption = None,
    minutes: BandsOption = "10,15,20",
    profile: ProfileOption = "buggy",
    kind: KindOption = "centres",
    session_type: SessionTypeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Children aged 0-4 within walking bands of venues: overall, by IMD/IDACI decile, by ward."""
    from geoplan.coverage import measure_coverage
    from geoplan.networkcheck import network_edge_report
    from geoplan.workspace import Workspace

    bands = parse_minutes(minutes)
    workspace = Workspace(area, profile=profile)
    study_area = workspace.area
    venue_ids = venue_selection(study_area, kind, session_type)
    result = measure_coverage(study_area, workspace.travel_times(), venue_ids=venue_ids, bands=bands)
    edge = network_edge_report(workspace, venue_ids=venue_ids, bands=bands)
    if as_json:
        print_json(
            {
                "area": study_area.la_code,
                "kind": kind,
                "session_type": session_type,
                **result.to_dict(),
                "network_edge": edge.to_dict() if edge is not None else None,
            }
        )
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{study_area.name}[/bold]: venues = {kind}; times are {result.method} ({result.profile})")
    table = Table("group", *[f"{band:g} min" for band in result.bands])
    table.add_row(
        "All children 0-4", *[f"{row.share:.1%} ({int(row.covered):,})" for row in result.overall.itertuples()]
    )
    table.add_row(
        "IMD 0-30% most deprived",
        *[f"{row.share:.1%} ({int(row.covered):,})" for row in result.most_deprived_30.itertuples()],
    )
    table.add_row(
        "IMD 0-50% most deprived",
        *[f"{row.share:.1%} ({int(row.covered):,})" for row in result.most_deprived_50.itertuples()],
    )
    for decile, rows in result.by_imd_decile.groupby("imd_decile"):
        table.add_row(f"IMD decile {decile}", *[f"{row.share:.1%}" for row in rows.itertuples()])
    for name, rows in result.by_ward.groupby("ward_name"):
        table.add_row(f"Ward: {name}", *[f"{row.share:.1%}" for row in rows.itertuples()])
    console.print(table)
    if 15.0 in result.bands:
        console.print(result.headline(15.0))
    for statement in edge.statements() if edge is not None else []:
        console.print(f"Edge of the street network: {statement}")


@app.command("gaps")
def gaps_command(
    out: Annotated[Path, typer.Option("--out", help="GeoPackage to write (a CSV is written beside it).")],
    area: AreaOption = None,
    minutes: Annotated[float, number_option("--minutes", "Walking band in minutes", low=1.0, high=120.0)] = 15.0,
    profile: ProfileOption = "buggy",
    kind: KindOption = "centres",
    top: Annotated[
        int | None,
        number_option(
            "--top",
            "How many gaps to print",
            low=0,
            high=10_000,
            note="default: as many as the map and report show",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Where children live beyond the walking band, ranked by need, written to GeoPackage + CSV."""
    from geoplan import settings
    from geoplan.coverage import find_gaps
    from geoplan.fileio import check_output_file
    from geoplan.networkcheck import network_edge_report
    from geoplan.workspace import Workspace

    for path in (out, out.with_suffix(".csv")):
        check_output_file(path)
    workspace = Workspace(area, profile=profile)
    study_area = workspace.area
    venue_ids = venue_selection(study_area, kind, None)
    result = find_gaps(study_area, workspace.travel_times(), venue_ids=venue_ids, minutes=minutes)
    result.write(out, out.with_suffix(".csv"))
    top_rows = result.lsoas.head(settings.top_gaps if top is None else top).drop(columns="geometry")
    edge = network_edge_report(workspace, venue_ids=venue_ids, bands=[minutes])
    if as_json:
        print_json(
            {
                "method": result.method,
                "minutes": minutes,
                "out": str(out),
                "gaps": top_rows.to_dict("records"),
                "network_edge": edge.to_dict() if edge is not None else None,
            }
        )
        return
    print(f"Gaps beyond {minutes:g} min ({result.method}); written to {out} and {out.with_suffix('.csv')}")
    for statement in edge.statements() if edge is not None else []:
        print(f"Edge of the street network: {statement}")
    for row in top_rows.itertuples():
        print(f"{row.rank:>3}. {row.lsoa_name} ({row.ward_name}), IDACI decile {row.idaci_decile}: {row.reason}")


def _network_and_area(
    osm: Path | None, area: Path | None, profile: str, *, osm_needs: dict[str, Path | None]
) -> tuple[WalkNetwork | None, StudyArea | None]:
    """The network of ``--osm``; else the study area with the network its workspace decides on (``None``: crow-fly).

    ``osm_needs`` gives the point files (option → value) that ``--osm``, having no study area to take points from, needs.
    """
    from geoplan.errors import InputError

    if osm is not None and area is not None:
        msg = "give either --osm or --area, not both"
        raise InputError(msg, field="--osm")
    missing = [flag for flag, path in osm_needs.items() if path is None]
    if osm is not None and missing:
        msg = f"--osm needs {' and '.join(osm_needs)}"
        raise InputError(msg, field=missing[0])
    if osm is not None:
        from geoplan.network import network_from_file

        return network_from_file(osm), None
    from geoplan.workspace import Workspace

    workspace = Workspace(area, profile=profile)
    return workspace.network, workspace.area


def _points(path: Path | None, what: str, study_area: StudyArea | None) -> tuple[list[str], np.ndarray]:
    """Ids and x, y of the ``what`` (origins, destinations or venues) in the CSV at ``path``.

    Without a CSV: the study area's children's origins (for origins) or its located venues.
    """
    from geoplan.points import read_points_csv

    if path is not None:
        return read_points_csv(path, what=what)
    layer, id_column = (
        (study_area.children, "origin_id") if what == "origins" else (study_area.located_venues, "venue_id")
    )
    return layer[id_column].astype(str).tolist(), layer.get_coordinates().to_numpy()


def _check_points(
    study_area: StudyArea | None,
    network: WalkNetwork | None,
    points: list[tuple[Path | None, list[str], np.ndarray, str]],
) -> None:
    """Refuse points of a user's CSV (path, ids, x/y, what) outside the study area, and any beyond ``network``."""
    from geoplan.points import check_extent, check_within_area

    for path, ids, xy, what in points:
        if study_area is not None and path is not None:
            check_within_area(study_area, xy, ids, what=what, path=path)
    if network is not None:
        for path, ids, xy, what in points:
            check_extent(network, xy, ids, what=what, path=path)


@app.command("traveltime")
def traveltime_command(
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            help="CSV to write, with columns origin_id, nearest_id, minutes, second_id, second_minutes, snap_m, too_far, method.",
        ),
    ],
    osm: OsmOption = None,
    area: AreaOption = None,
    origins: Annotated[Path | None, _points_option("--origins", "children origins")] = None,
    destinations: Annotated[Path | None, _points_option("--destinations", "located venues")] = None,
    profile: PaceOption = "buggy",
    cutoff: Annotated[
        float | None,
        typer.Option(
            "--cutoff",
            max=MAX_CUTOFF_MINUTES,
            help=f"Minutes beyond which a venue counts as unreachable (empty in the output; above 0, at most {MAX_CUTOFF_MINUTES:g}).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Walking minutes from every origin to its nearest and second-nearest destination."""
    from geoplan.crowfly import crowfly_matrix
    from geoplan.fileio import check_output_file, write_csv
    from geoplan.nearest import nearest_destinations
    from geoplan.network import get_profile
    from geoplan.traveltime import check_cutoff

    pace = get_profile(profile)
    check_cutoff(cutoff)
    check_output_file(out)
    network, study_area = _network_and_area(
        osm, area, profile, osm_needs={"--origins": origins, "--destinations": destinations}
    )
    origin_ids, origin_xy = _points(origins, "origins", study_area)
    destination_ids, destination_xy = _points(destinations, "destinations", study_area)
    _check_points(
        study_area,
        network,
        [(origins, origin_ids, origin_xy, "origin"), (destinations, destination_ids, destination_xy, "destination")],
    )
    if network is None:
        table = crowfly_matrix(
            origin_xy,
            destination_xy,
            circuity=study_area.catalogue.network.crowfly_circuity,
            origin_ids=origin_ids,
            destination_ids=destination_ids,
            profile=pace,
            cutoff_minutes=cutoff,
        ).nearest()
    else:
        table = nearest_destinations(
            network,
            origin_xy,
            destination_xy,
            origin_ids=origin_ids,
            destination_ids=destination_ids,
            profile=pace,
            cutoff_minutes=cutoff,
        )
    method = "network" if network is not None else "crow-fly"
    write_csv(out, table, index=False, float_format="%.4f")
    reached = int(table["minutes"].notna().sum())
    summary = {
        "out": str(out),
        "method": method,
        "profile": pace.name,
        "origins": len(table),
        "reached": reached,
        "too_far": int(table["too_far"].sum()),
        "median_minutes": None if reached == 0 else round(float(table["minutes"].median()), 2),
    }
    if as_json:
        print_json(summary)
    else:
        print(
            f"{summary['origins']:,} origins, {reached:,} reach a destination ({method}, {pace.name}); "
            f"{summary['too_far']:,} too far from any path; wrote {out}"
        )


@app.command("catchments")
def catchments_command(
    out: Annotated[Path, typer.Option("--out", help="GeoPackage of catchments (layer 'catchments', EPSG:27700).")],
    osm: OsmOption = None,
    area: AreaOption = None,
    venues: Annotated[Path | None, _points_option("--venues", "located venues")] = None,
    minutes: BandsOption = "10,15,20",
    profile: PaceOption = "buggy",
    together: Annotated[
        bool, typer.Option("--together", help="One catchment per band for all venues together.")
    ] = False,
    resolution: Annotated[
        float | None,
        typer.Option(
            "--resolution",
            min=5.0,
            help="Grid spacing (m) the boundary is drawn on; default 10, from 5 to the 25 m margin.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Nested walking catchments (isochrones) around venues, from the network or the crow-fly fallback."""
    from geoplan.bands import check_bands
    from geoplan.catchments import crowfly_isochrones, isochrones, write_catchments
    from geoplan.fileio import check_output_file
    from geoplan.network import get_profile
    from geoplan.networkcheck import reaches_extent_edge

    bands = check_bands(minutes)
    pace = get_profile(profile)
    check_output_file(out)
    network, study_area = _network_and_area(osm, area, profile, osm_needs={"--venues": venues})
    ids, xy = _points(venues, "venues", study_area)
    _check_points(study_area, network, [(venues, ids, xy, "venue")])
    if network is None:
        circuity = study_area.catalogue.network.crowfly_circuity
        frame = crowfly_isochrones(xy, circuity=circuity, venue_ids=ids, minutes=bands, profile=pace, together=together)
    else:
        frame = isochrones(
            network, xy, venue_ids=ids, minutes=bands, profile=pace, together=together, resolution_m=resolution
        )
    extent = study_area.network_extent if network is not None and study_area is not None else None
    if extent is not None:
        frame["reaches_network_edge"] = reaches_extent_edge(frame.geometry, extent)
    write_catchments(frame, out)
    summary = {
        "out": str(out),
        "method": frame["method"].iloc[0],
        "profile": pace.name,
        "catchments": len(frame),
        "venues": int(frame["venue_id"].nunique()),
        "bands": list(bands),
        "reaching_network_edge": None if extent is None else int(frame["reaches_network_edge"].sum()),
    }
    if as_json:
        print_json(summary)
    else:
        print(
            f"{summary['catchments']} catchments ({summary['method']}, {pace.name}) for {summary['venues']} venue(s); wrote {out}"
        )
        if extent is not None and summary["reaching_network_edge"]:
            print(
                f"{summary['reaching_network_edge']} of them reach the edge of the complete street network and may be "
                "smaller than real there (column reaches_network_edge)"
            )
