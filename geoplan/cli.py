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


def main() -> None:
    """Run the CLI, turning geoplan's own errors into one-line messages."""
    try:
        app()
    except GeoplanError as exc:
        print(f"geoplan: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
