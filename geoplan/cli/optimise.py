"""``geoplan optimise``: where venues or sessions should go."""

from __future__ import annotations

from typing import Annotated

import typer

from geoplan.cli.common import (
    AreaOption,
    JsonOption,
    ProfileOption,
    app,
    comma_list,
    comma_option,
    number_option,
    print_json,
)

OPTIMISE_MODELS = ("mclp", "pmedian", "capacitated")


@app.command("optimise")
def optimise_command(
    model: Annotated[str, typer.Option("--model", help="mclp (maximal covering), pmedian or capacitated.")] = "mclp",
    k: Annotated[int, number_option("--k", "Number of sites, locked ones included", low=1, high=1000)] = 5,
    minutes: Annotated[float, number_option("--minutes", "Walking standard in minutes", low=1.0, high=120.0)] = 15.0,
    lock: Annotated[str | None, comma_option("--lock", "Venue ids that must stay open")] = None,
    candidates: Annotated[
        str | None,
        comma_option(
            "--candidates", "Venue kinds that may be chosen", note="default: centres, libraries, community venues"
        ),
    ] = None,
    deprivation_weight: Annotated[
        float,
        number_option(
            "--deprivation-weight",
            "Extra weight of a child in the most deprived IDACI decile",
            low=0.0,
            high=100.0,
            note="0 = none",
        ),
    ] = 0.0,
    capacity: Annotated[
        float | None,
        number_option(
            "--capacity",
            "capacitated: children each site can serve",
            low=1.0,
            high=1_000_000.0,
            note="default: its session capacities",
        ),
    ] = None,
    time_limit: Annotated[
        float | None,
        number_option(
            "--time-limit", "Seconds before the solver stops with its best solution and gap", low=1.0, high=86_400.0
        ),
    ] = None,
    area: AreaOption = None,
    profile: ProfileOption = "buggy",
    as_json: JsonOption = False,
) -> None:
    """Choose k sites maximising children within reach (mclp, capacitated) or minimising their walk (pmedian)."""
    from geoplan import optimise
    from geoplan.errors import InputError

    classes = {
        "mclp": optimise.MaximalCovering,
        "pmedian": optimise.PMedian,
        "capacitated": optimise.CapacitatedCoverage,
    }
    if model not in classes:
        msg = f"unknown model {model!r}; choose one of {', '.join(OPTIMISE_MODELS)}"
        raise InputError(msg, field="--model")
    from geoplan.workspace import Workspace

    workspace = Workspace(area, profile=profile)
    study_area = workspace.area
    problem = (
        classes[model]
        .from_workspace(
            workspace,
            k=k,
            minutes=minutes,
            candidate_kinds=comma_list(candidates) or optimise.DEFAULT_CANDIDATE_KINDS,
            lock=comma_list(lock),
            deprivation_weight=deprivation_weight,
            capacities=capacity,
        )
        .solve(time_limit_s=time_limit)
    )
    result = problem.to_dict() | {"area": study_area.la_code, "profile": profile, "travel_times": workspace.method}
    beyond = set(study_area.venues.loc[study_area.venues["beyond_network_extent"], "venue_id"])
    for site in result["selected"]:
        site["beyond_network_extent"] = site["facility_id"] in beyond
    if as_json:
        print_json(result)
        return
    from rich.console import Console
    from rich.table import Table

    console = Console()
    objective = "child-weighted minutes" if model == "pmedian" else "children covered"
    console.print(
        f"[bold]{study_area.name}[/bold]: {model}, k={k}, {minutes:g} min ({workspace.method}, {profile}); "
        f"{objective} {problem.objective:,.1f}; status {problem.status}, gap {problem.gap:.2%}, {problem.solve_seconds:.2f} s"
    )
    table = Table("venue", "name", "kind", "locked", "children served")
    for site in result["selected"]:
        table.add_row(
            site["facility_id"],
            site["name"],
            site["kind"],
            "yes" if site["locked"] else "",
            f"{site['covered_weight']:,.1f}",
        )
    console.print(table)
    for site in result["selected"]:
        if site["beyond_network_extent"]:
            console.print(
                f"{site['name']} lies beyond the complete street network: walks to it may be longer than real."
            )
    who = "Deprivation-weighted children" if deprivation_weight else "Children"
    console.print(
        f"{who} within {minutes:g} min of a chosen site: {problem.coverage.covered_weight:,.1f} of "
        f"{problem.coverage.total_weight:,.1f} ({problem.coverage.share:.1%})"
    )
