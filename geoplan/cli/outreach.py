"""``geoplan outreach``: outreach visit plans."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from geoplan.cli.common import AreaOption, JsonOption, ProfileOption, command_group, number_option, print_json

outreach_app = command_group("outreach", "Outreach: which community groups to visit each month.")


def _fraction(value: float) -> float:
    if not 0.0 <= value <= 1.0:  # also refuses nan, which a range check lets through
        msg = f"{value!r} is not a number from 0 to 1"
        raise typer.BadParameter(msg)
    return value


def _minutes(value: float) -> float:
    if not 0.0 < value <= MAX_MINUTES:
        msg = f"{value!r} is not a number of minutes above 0 and at most {MAX_MINUTES:g}"
        raise typer.BadParameter(msg)
    return value


def _minutes_option(flag: str, what: str) -> Any:
    """A walk in minutes, above 0 and at most :data:`MAX_MINUTES`; its help states the range."""
    return typer.Option(flag, callback=_minutes, help=f"{what} (0-{MAX_MINUTES:g} min).")


def _fraction_option(flag: str, what: str) -> Any:
    """A number from 0 to 1; its help states the range."""
    return typer.Option(flag, callback=_fraction, help=f"{what} (0-1).")


#: Ranges the outreach planner accepts (geoplan.outreach.solve and geoplan.bands hold the same).
MAX_MONTHS, MAX_VISITS_PER_MONTH, MAX_MINUTES, MAX_TIME_LIMIT_S = 24, 100, 120.0, 3600.0

# How a visit's worth is counted: the walks that decide who is reached, and the weights.
GroupMinutesOption = Annotated[float, _minutes_option("--group-minutes", "Walk within which a group reaches families")]
CentreMinutesOption = Annotated[
    float, _minutes_option("--centre-minutes", "Walk within which a centre already reaches families")
]
NearCentreFactorOption = Annotated[
    float, _fraction_option("--near-centre-factor", "Weight of children within reach of a centre")
]
RepeatValueOption = Annotated[
    float, _fraction_option("--repeat-value", "Worth of each further month's contact with the same families")
]


@outreach_app.command("plan")
def outreach_plan(
    out: Annotated[Path, typer.Option("--out", help="Folder for visit_plan.csv/.ics/.gpkg and summary.json.")],
    months: Annotated[int, number_option("--months", "Months to plan", low=1, high=MAX_MONTHS)] = 3,
    visits_per_month: Annotated[
        int, number_option("--visits-per-month", "Visit budget of each month", low=1, high=MAX_VISITS_PER_MONTH)
    ] = 12,
    start: Annotated[str | None, typer.Option("--start", help="First month, YYYY-MM (default: next month).")] = None,
    rules: Annotated[
        Path | None,
        typer.Option("--rules", help="Frequency rules by ward list (default: outreach.yaml beside the venue file)."),
    ] = None,
    group_minutes: GroupMinutesOption = 15.0,
    centre_minutes: CentreMinutesOption = 15.0,
    near_centre_factor: NearCentreFactorOption = 0.0,
    repeat_value: RepeatValueOption = 0.5,
    time_limit: Annotated[
        float,
        number_option("--time-limit", "Seconds before HiGHS stops with its best plan", low=1.0, high=MAX_TIME_LIMIT_S),
    ] = 60.0,
    area: AreaOption = None,
    profile: ProfileOption = "buggy",
    as_json: JsonOption = False,
) -> None:
    """Plan outreach visits maximising deprivation-weighted children 0-4 reached (exact MILP vs greedy)."""
    from geoplan.outreach import plan_outreach
    from geoplan.workspace import Workspace

    workspace = Workspace(area, profile=profile)
    plan = plan_outreach(
        workspace,
        months=months,
        visits_per_month=visits_per_month,
        rules=rules,
        start=start,
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
    print(
        f"{summary['area']}: {months} months from {summary['start']}, up to {visits_per_month} visits a month "
        f"({summary['travel_times']['method']}, {profile})"
    )
    print(summary["statement"])
    if plan.shortfall:
        print(plan.shortfall)
    reached = (summary["milp"]["children_reached_at_least_once"], summary["greedy"]["children_reached_at_least_once"])
    print(
        f"Weighted children reached: plan {summary['objective']:,.1f}, greedy baseline "
        f"{summary['greedy_objective']:,.1f} ({summary['improvement_over_greedy']:+,.1f}); children 0-4 reached at "
        f"least once: {reached[0]:,.0f} vs {reached[1]:,.0f}"
    )
    for row in plan.visits.itertuples():
        print(
            f"{row.weekday[:3]} {row.date:%d %b %Y}  {row.name} ({row.ward_name}): {row.children_reached:,.0f} "
            f"children within {summary['group_minutes']:g} min, weighted {row.weighted_children:,.1f}"
        )
    for path in written:
        print(f"Wrote {path}")
