"""Shared pieces of the command line: the app, option types, venue selection, JSON printing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer


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


def print_json(payload: object) -> None:
    """Print ``payload`` as indented JSON on stdout."""
    print(json.dumps(payload, indent=2, default=str))


ProfileOption = Annotated[str, typer.Option("--profile", help="Walking profile: walk (4.8 km/h) or buggy (4.0 km/h).")]


KindOption = Annotated[
    str,
    typer.Option("--kind", help="Venues that count: centres, centres+libraries, all, or kinds joined by commas."),
]


SessionTypeOption = Annotated[
    Optional[str],  # noqa: UP045 - typer reads the annotation at run time
    typer.Option("--session-type", help="Only venues hosting sessions of these types (comma-separated)."),
]


def venue_selection(area: object, kind: str, session_type: str | None) -> list[str]:
    from geoplan.programme import baseline_configuration, parse_venue_set

    configuration = baseline_configuration(area)
    session_types = [part.strip() for part in session_type.split(",")] if session_type else None
    return configuration.venue_ids(kinds=parse_venue_set(kind), session_types=session_types)


def parse_minutes(text: str) -> list[float]:
    from geoplan.bands import check_bands

    return list(check_bands(text, field="--minutes"))


DecileOption = Annotated[str, typer.Option("--decile", help="Shade LSOAs by national decile of: imd or idaci.")]


OsmOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
    typer.Option("--osm", help="OpenStreetMap file (.osm, .osm.bz2, .osm.pbf) to build the walking network from."),
]


def network_or_area(osm: Path | None, area: Path | None) -> tuple[object, object]:
    """The walking network of ``--osm``, or the study area and its network (``None`` when only crow-fly is possible)."""
    if osm is not None:
        from geoplan.network import network_from_file

        return network_from_file(osm), None
    from geoplan.studyarea import load_study_area
    from geoplan.network import study_area_network

    study_area = load_study_area(area)
    return study_area_network(study_area), study_area
