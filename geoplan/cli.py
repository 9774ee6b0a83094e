"""The ``geoplan`` command line.

Each command is a thin layer over a library function: it parses options, calls the engine
and prints or writes the result. Errors raised on purpose (:class:`geoplan.errors.GeoplanError`)
are printed as one line on stderr with exit status 2, never as a traceback.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from geoplan.errors import GeoplanError

app = typer.Typer(
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    help="Plan early-years services with walking catchments, deprivation and child population.",
)


AreaOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
    typer.Option("--area", help="Layer catalogue (default: layers/bexley.yaml)."),
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

area_app = typer.Typer(no_args_is_help=True, help="Study areas: LSOAs, wards, children, deprivation, venues.")
app.add_typer(area_app, name="area")


def print_json(payload: object) -> None:
    """Print ``payload`` as indented JSON on stdout."""
    print(json.dumps(payload, indent=2, default=str))


@area_app.command("summary")
def area_summary(area: AreaOption = None, as_json: JsonOption = False) -> None:
    """LSOAs, wards, children 0-4 (by IMD and IDACI decile) and venues by kind, with their sources."""
    from geoplan.studyarea import load_study_area, summarise

    summary = summarise(load_study_area(area))
    if as_json:
        print_json(summary)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{summary['name']}[/bold] ({summary['la_code']})")
    table = Table("measure", "value", "source")
    for label, key, value_key in [
        ("LSOAs (2021)", "lsoas", "count"),
        ("Wards", "wards", "count"),
        ("Children aged 0-4 (Census 2021)", "children_0_4", "total"),
        ("Children 0-4 in IMD deciles 1-3", "children_0_4_in_imd_deciles_1_to_3", "total"),
        ("Postcodes in the area", "postcodes", "in_area"),
    ]:
        entry = summary[key]
        source = "; ".join(f"{s['publisher']}, {s['vintage']}" for s in entry["sources"])
        table.add_row(label, f"{entry[value_key]:,}", source)
    for decile_key, label in [("children_0_4_by_imd_decile", "IMD"), ("children_0_4_by_idaci_decile", "IDACI")]:
        counts = summary[decile_key]["counts"]
        table.add_row(f"Children 0-4 by {label} decile 1..10", " ".join(str(v) for v in counts.values()), "")
    for kind, counts in summary["venues_by_kind"]["counts"].items():
        table.add_row(f"Venues: {kind}", f"{counts['venues']} ({counts['located']} located)", "venue facts file")
    console.print(table)


ProfileOption = Annotated[str, typer.Option("--profile", help="Walking profile: walk (4.8 km/h) or buggy (4.0 km/h).")]
KindOption = Annotated[
    str,
    typer.Option("--kind", help="Venues that count: centres, centres+libraries, all, or kinds joined by commas."),
]
SessionTypeOption = Annotated[
    Optional[str],  # noqa: UP045 - typer reads the annotation at run time
    typer.Option("--session-type", help="Only venues hosting sessions of these types (comma-separated)."),
]


def _venue_selection(area: object, kind: str, session_type: str | None) -> list[str]:
    from geoplan.coverage import baseline_configuration, parse_venue_set

    configuration = baseline_configuration(area)
    session_types = [part.strip() for part in session_type.split(",")] if session_type else None
    return configuration.venue_ids(kinds=parse_venue_set(kind), session_types=session_types)


@app.command("coverage")
def coverage_command(
    area: AreaOption = None,
    minutes: Annotated[str, typer.Option("--minutes", help="Walking bands in minutes, comma-separated.")] = "10,15,20",
    profile: ProfileOption = "buggy",
    kind: KindOption = "centres",
    session_type: SessionTypeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Children aged 0-4 within walking bands of venues: overall, by IMD/IDACI decile, by ward."""
    from geoplan.coverage import measure_coverage
    from geoplan.studyarea import load_study_area
    from geoplan.traveltime import study_area_travel_times

    bands = _parse_minutes(minutes)
    study_area = load_study_area(area)
    venue_ids = _venue_selection(study_area, kind, session_type)
    travel_times = study_area_travel_times(study_area, profile=profile)
    result = measure_coverage(study_area, travel_times, venue_ids=venue_ids, bands=bands)
    if as_json:
        print_json({"area": study_area.la_code, "kind": kind, "session_type": session_type, **result.to_dict()})
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.print(f"[bold]{study_area.name}[/bold]: venues = {kind}; times are {result.method} ({result.profile})")
    table = Table("group", *[f"{band:g} min" for band in result.bands])
    table.add_row("All children 0-4", *[f"{row.share:.1%} ({int(row.covered):,})" for row in result.overall.itertuples()])
    table.add_row(
        "IMD 0-30% most deprived", *[f"{row.share:.1%} ({int(row.covered):,})" for row in result.most_deprived_30.itertuples()]
    )
    table.add_row(
        "IMD 0-50% most deprived", *[f"{row.share:.1%} ({int(row.covered):,})" for row in result.most_deprived_50.itertuples()]
    )
    for decile, rows in result.by_imd_decile.groupby("imd_decile"):
        table.add_row(f"IMD decile {decile}", *[f"{row.share:.1%}" for row in rows.itertuples()])
    for name, rows in result.by_ward.groupby("ward_name"):
        table.add_row(f"Ward: {name}", *[f"{row.share:.1%}" for row in rows.itertuples()])
    console.print(table)
    if 15.0 in result.bands:
        console.print(result.headline(15.0))


def _parse_minutes(text: str) -> list[float]:
    from geoplan.coverage import check_bands
    from geoplan.errors import InputError

    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        msg = f"--minutes must be numbers separated by commas, got {text!r}"
        raise InputError(msg, field="minutes") from None
    return list(check_bands(values))


@app.command("gaps")
def gaps_command(
    out: Annotated[Path, typer.Option("--out", help="GeoPackage to write (a CSV is written beside it).")],
    area: AreaOption = None,
    minutes: Annotated[float, typer.Option("--minutes", help="Walking band in minutes.")] = 15.0,
    profile: ProfileOption = "buggy",
    kind: KindOption = "centres",
    top: Annotated[int, typer.Option("--top", help="How many gaps to print.")] = 20,
    as_json: JsonOption = False,
) -> None:
    """Where children live beyond the walking band, ranked by need, written to GeoPackage + CSV."""
    from geoplan.coverage import find_gaps
    from geoplan.studyarea import load_study_area
    from geoplan.traveltime import study_area_travel_times

    study_area = load_study_area(area)
    venue_ids = _venue_selection(study_area, kind, None)
    travel_times = study_area_travel_times(study_area, profile=profile)
    result = find_gaps(study_area, travel_times, venue_ids=venue_ids, minutes=minutes)
    result.write(out, out.with_suffix(".csv"))
    top_rows = result.lsoas.head(top).drop(columns="geometry")
    if as_json:
        print_json({"method": result.method, "minutes": minutes, "out": str(out), "gaps": top_rows.to_dict("records")})
        return
    print(f"Gaps beyond {minutes:g} min ({result.method}); written to {out} and {out.with_suffix('.csv')}")
    for row in top_rows.itertuples():
        print(f"{row.rank:>3}. {row.lsoa_name} ({row.ward_name}), IDACI decile {row.idaci_decile}: {row.reason}")


def main() -> None:
    """Run the CLI, turning geoplan's own errors into one-line messages."""
    try:
        app()
    except GeoplanError as exc:
        print(f"geoplan: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
