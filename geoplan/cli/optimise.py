"""``geoplan optimise``: where venues or sessions should go."""

from __future__ import annotations

from typing import Annotated, Optional

import typer

from geoplan.cli.common import AreaOption, JsonOption, ProfileOption, app, print_json


OPTIMISE_MODELS = ("mclp", "pmedian", "capacitated")


@app.command("optimise")
def optimise_command(
    model: Annotated[str, typer.Option("--model", help="mclp (maximal covering), pmedian or capacitated.")] = "mclp",
    k: Annotated[int, typer.Option("--k", help="Number of sites, locked ones included.")] = 5,
    minutes: Annotated[float, typer.Option("--minutes", help="Walking standard in minutes.")] = 15.0,
    lock: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--lock", help="Venue ids that must stay open, comma-separated."),
    ] = None,
    candidates: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--candidates", help="Venue kinds that may be chosen, comma-separated (default: centres, libraries, community venues)."),
    ] = None,
    deprivation_weight: Annotated[
        float, typer.Option("--deprivation-weight", help="Extra weight of a child in the most deprived IDACI decile (0 = none).")
    ] = 0.0,
    capacity: Annotated[
        Optional[float],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--capacity", help="capacitated: children each site can serve (default: its session capacities)."),
    ] = None,
    time_limit: Annotated[
        Optional[float],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--time-limit", help="Seconds before the solver stops with its best solution and gap."),
    ] = None,
    area: AreaOption = None,
    profile: ProfileOption = "buggy",
    as_json: JsonOption = False,
) -> None:
    """Choose k sites maximising children within reach (mclp, capacitated) or minimising their walk (pmedian)."""
    from geoplan import optimise
    from geoplan.errors import InputError

    classes = {"mclp": optimise.MaximalCovering, "pmedian": optimise.PMedian, "capacitated": optimise.CapacitatedCoverage}
    if model not in classes:
        msg = f"unknown model {model!r}; choose one of {', '.join(OPTIMISE_MODELS)}"
        raise InputError(msg, field="--model")
    from geoplan.studyarea import load_study_area
    from geoplan.traveltime import study_area_travel_times

    study_area = load_study_area(area)
    kinds = [part.strip() for part in candidates.split(",")] if candidates else optimise.DEFAULT_CANDIDATE_KINDS
    locked = [part.strip() for part in lock.split(",")] if lock else []
    travel_times = study_area_travel_times(study_area, profile=profile)
    problem = classes[model].from_study_area(
        study_area,
        travel_times,
        k=k,
        minutes=minutes,
        candidate_kinds=kinds,
        lock=locked,
        deprivation_weight=deprivation_weight,
        capacities=capacity,
    ).solve(time_limit_s=time_limit)
    result = problem.to_dict() | {"area": study_area.la_code, "profile": profile, "travel_times": travel_times.method}
    if as_json:
        print_json(result)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    objective = "child-weighted minutes" if model == "pmedian" else "children covered"
    console.print(
        f"[bold]{study_area.name}[/bold]: {model}, k={k}, {minutes:g} min ({travel_times.method}, {profile}); "
        f"{objective} {problem.objective:,.1f}; status {problem.status}, gap {problem.gap:.2%}, {problem.solve_seconds:.2f} s"
    )
    table = Table("venue", "name", "kind", "locked", "children served")
    for site in result["selected"]:
        table.add_row(site["facility_id"], site["name"], site["kind"], "yes" if site["locked"] else "", f"{site['covered_weight']:,.1f}")
    console.print(table)
    who = "Deprivation-weighted children" if deprivation_weight else "Children"
    console.print(
        f"{who} within {minutes:g} min of a chosen site: {problem.coverage.covered_weight:,.1f} of "
        f"{problem.coverage.total_weight:,.1f} ({problem.coverage.share:.1%})"
    )
