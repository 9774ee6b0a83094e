"""``geoplan reach``: registration reach with disclosure control."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

import typer

from geoplan.cli.common import AreaOption, JsonOption, app, print_json


@app.command("reach")
def reach_command(
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the CSV tables, GeoPackage, GeoJSON map layer and summary.")
    ],
    records: Annotated[
        Path | None,
        typer.Option(
            "--records",
            help="Registration/attendance records CSV (child_id, postcode, date_of_birth or "
            "age_band, venue, attendance_date).",
        ),
    ] = None,
    foi: Annotated[
        Path | None,
        typer.Option("--foi", help="Ward tables (FOI replies; a CSV, workbook or folder) to import and map instead."),
    ] = None,
    threshold: Annotated[
        int | None,
        typer.Option(
            "--threshold", max=1000, help="Counts from 1 to threshold-1 are shown as X (default 5, at most 1000)."
        ),
    ] = None,
    suppress_zero: Annotated[bool, typer.Option("--suppress-zero", help="Show zero counts as X too.")] = False,
    area: AreaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Registration reach by LSOA, ward and deprivation decile, with small numbers suppressed (or map FOI ward tables)."""
    import warnings

    from geoplan.errors import InputError
    from geoplan.reach import ReachWarning, analyse_reach, read_ward_tables, write_ward_tables
    from geoplan.workspace import Workspace

    if (records is None) == (foi is None):
        msg = "give --records FILE or --foi FILE|DIR (one of them)"
        raise InputError(msg, field="records")
    study_area = Workspace(area).area
    if foi is not None:
        tables = read_ward_tables(foi)
        written = write_ward_tables(tables, study_area, out, threshold=threshold)
        rows = [
            {
                "source": table.source,
                "age_group": table.age_group,
                "layer": table.key,
                "suppressed_cells": int(table.wards.filter(like="_suppressed").to_numpy().sum()),
            }
            for table in tables
        ]
        if as_json:
            print_json({"tables": rows, "written": [str(path) for path in written]})
            return
        for row in rows:
            print(f"{row['source']} ({row['age_group']}): layer {row['layer']}, {row['suppressed_cells']} cells X")
        print(f"Wrote {len(written)} files to {out}")
        return
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ReachWarning)
        result = analyse_reach(records, study_area, threshold=threshold, suppress_zero=suppress_zero)
    for warning in caught:
        if issubclass(warning.category, ReachWarning):
            print(f"geoplan: warning: {warning.message}", file=sys.stderr)
    written = result.write(out)
    summary = result.to_dict()
    if as_json:
        print_json({**summary, "written": [str(path) for path in written]})
        return
    total = summary["total"]
    print(
        f"{study_area.name}: {total['registered']} children registered, {total['attended_once_or_more']} attended at "
        f"least once; reach {total['reach']} of {total['children_living']:,} children aged 0-4"
    )
    for group in summary["deprived"].values():
        print(
            f"  {group['group_name']}: {group['attended_once_or_more']} attenders, share {group['share_of_attenders']}"
        )
    print(summary["disclosure"]["rule"])
    print(f"Wrote {len(written)} files to {out}")
