"""``geoplan optimise``: where venues or sessions should go."""

from __future__ import annotations

from typing import Annotated

import typer

from geoplan.cli.common import AreaOption, JsonOption, ProfileOption, app, print_json

OPTIMISE_MODELS = ("mclp", "pmedian", "capacitated")


@app.command("optimise")
def optimise_command(
    model: Annotated[str, typer.Option("--model", help="mclp (maximal covering), pmedian or capacitated.")] = "mclp",
    k: Annotated[int, typer.Option("--k", min=1, max=1000, help="Number of sites, locked ones included (1-1000).")] = 5,
    minutes: Annotated[
        float, typer.Option("--minutes", min=1.0, max=120.0, help="Walking standard in minutes (1-120).")
    ] = 15.0,
    lock: Annotated[
        str | None,
        typer.Option("--lock", help="Venue ids that must stay open, comma-separated."),
    ] = None,
    candidates: Annotated[
        str | None,
        typer.Option(
            "--candidates",
            help="Venue kinds that may be chosen, comma-separated (default: centres, libraries, community venues).",
        ),
    ] = None,
    deprivation_weight: Annotated[
        float,
        typer.Option(
            "--deprivation-weight",
            min=0.0,
            max=100.0,
            help="Extra weight of a child in the most deprived IDACI decile (0 = none, at most 100).",
        ),
    ] = 0.0,
    capacity: Annotated[
        float | None,
        typer.Option(
            "--capacity",
            min=1.0,
            max=1_000_000.0,
            help="capacitated: children each site can serve (1-1000000; default: its session capacities).",
        ),
    ] = None,
    time_limit: Annotated[
        float | None,
        typer.Option(
            "--time-limit",
            min=1.0,
            max=86_400.0,
            help="Seconds before the solver stops with its best solution and gap (1-86400).",
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
    kinds = [part.strip() for part in candidates.split(",")] if candidates else optimise.DEFAULT_CANDIDATE_KINDS
    locked = [part.strip() for part in lock.split(",")] if lock else []
    problem = (
        classes[model]
        .from_workspace(
            workspace,
            k=k,
            minutes=minutes,
            candidate_kinds=kinds,
            lock=locked,
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
