"""``geoplan outreach``: outreach visit plans."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer

from geoplan.cli.common import AreaOption, JsonOption, ProfileOption, app, print_json


outreach_app = typer.Typer(no_args_is_help=True, help="Outreach: which community groups to visit each month.")


app.add_typer(outreach_app, name="outreach")


@outreach_app.command("plan")
def outreach_plan(
    out: Annotated[Path, typer.Option("--out", help="Folder for visit_plan.csv/.ics/.gpkg and summary.json.")],
    months: Annotated[int, typer.Option("--months", help="Months to plan.")] = 3,
    visits_per_month: Annotated[int, typer.Option("--visits-per-month", help="Visit budget of each month.")] = 12,
    start: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--start", help="First month, YYYY-MM (default: next month)."),
    ] = None,
    rules: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--rules", help="Frequency rules by ward list (default: outreach.yaml beside the venue file)."),
    ] = None,
    group_minutes: Annotated[float, typer.Option("--group-minutes", help="Walk within which a group reaches families.")] = 15.0,
    centre_minutes: Annotated[float, typer.Option("--centre-minutes", help="Walk within which a centre already reaches families.")] = 15.0,
    near_centre_factor: Annotated[
        float, typer.Option("--near-centre-factor", help="Weight of children within reach of a centre (0-1).")
    ] = 0.0,
    repeat_value: Annotated[
        float, typer.Option("--repeat-value", help="Worth of each further month's contact with the same families (0-1).")
    ] = 0.5,
    time_limit: Annotated[
        float, typer.Option("--time-limit", help="Seconds before HiGHS stops with its best plan and gap.")
    ] = 60.0,
    area: AreaOption = None,
    profile: ProfileOption = "buggy",
    as_json: JsonOption = False,
) -> None:
    """Plan outreach visits maximising deprivation-weighted children 0-4 reached (exact MILP vs greedy)."""
    from geoplan.outreach import check_plan_size, parse_start, plan_outreach
    from geoplan.studyarea import load_study_area

    check_plan_size(months, visits_per_month)
    parse_start(start)
    study_area = load_study_area(area)
    plan = plan_outreach(
        study_area,
        months=months,
        visits_per_month=visits_per_month,
        rules=rules,
        start=start,
        profile=profile,
        group_minutes=group_minutes,
        centre_minutes=centre_minutes,
        near_centre_factor=near_centre_factor,
        repeat_value=repeat_value,
        time_limit_s=time_limit,
    )
    written = plan.write(out)
    for warning in plan.warnings:
        print(f"geoplan: warning: {warning}", file=sys.stderr)
    summary = plan.summary
    if as_json:
        print_json({**summary, "written": [str(path) for path in written]})
        return
    print(f"{study_area.name}: {months} months from {summary['start']}, up to {visits_per_month} visits a month "
          f"({summary['travel_times']['method']}, {profile})")  # fmt: skip
    print(summary["statement"])
    reached = (summary["milp"]["children_reached_at_least_once"], summary["greedy"]["children_reached_at_least_once"])
    print(f"Weighted children reached: plan {summary['objective']:,.1f}, greedy baseline {summary['greedy_objective']:,.1f} "
          f"({summary['improvement_over_greedy']:+,.1f}); children 0-4 reached at least once: "
          f"{reached[0]:,.0f} vs {reached[1]:,.0f}")  # fmt: skip
    for row in plan.visits.itertuples():
        print(f"{row.month} {row.date}  {row.name} ({row.ward_name}): {row.children_reached:,.0f} children within "
              f"{group_minutes:g} min, weighted {row.weighted_children:,.1f}")  # fmt: skip
    for path in written:
        print(f"Wrote {path}")
