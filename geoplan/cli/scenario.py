"""``geoplan scenario``: run, validate and list reconfiguration scenarios."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from geoplan.cli.common import AreaOption, JsonOption, command_group, print_json

scenario_app = command_group(
    "scenario", "Reconfiguration scenarios: close, open, move sessions, redesignate; who gains and who loses access."
)


ScenarioArgument = Annotated[str, typer.Argument(help="Scenario file, or the name of a shipped scenario.")]


@scenario_app.command("run")
def scenario_run(
    file: ScenarioArgument,
    against: Annotated[
        str,
        typer.Option("--against", help="Compare with 'baseline' (the venue and session files) or another scenario."),
    ] = "baseline",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Folder for the JSON metrics, GeoPackage of changed areas and HTML report section."),
    ] = None,
    area: AreaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Compare a scenario with the baseline or another scenario: coverage, gains and losses, equality impact.

    A scenario file that names no ``base`` is for ``--area``.
    """
    from geoplan.coverage import E2SFCA_STEPS
    from geoplan.scenarios import run_scenario
    from geoplan.workspace import Workspace

    comparison = run_scenario(file, against=against, workspace=Workspace(area) if area is not None else None)
    written = comparison.write(out) if out is not None else []
    if as_json:
        print_json(
            {**comparison.to_dict(), **({"written": [str(path) for path in written]} if out is not None else {})}
        )
        return
    from rich.console import Console
    from rich.table import Table

    summary = comparison.summary
    minutes = f"{comparison.headline_minutes:g}"
    console = Console()
    console.print(f"[bold]{comparison.after.scenario.title}[/bold] vs {comparison.before.scenario.title}")
    console.print(f"Walking times: {comparison.method}, {comparison.profile} pace; headline band {minutes} min")
    table = Table("measure", "before", "after", "change")
    deprived = summary["most_deprived_30"]
    e2sfca = summary["accessibility"]
    for label, before, after in [
        ("Children's centres", summary["centres_before"], summary["centres_after"]),
        (f"Children within {minutes} min of a centre", summary["covered_before"], summary["covered_after"]),
        ("  of them in IMD deciles 1-3", deprived["covered_before"], deprived["covered_after"]),
        (
            f"Children within {minutes} min of any session venue",
            summary["session_venues"]["covered_before"],
            summary["session_venues"]["covered_after"],
        ),
    ]:
        table.add_row(label, f"{before:,.0f}", f"{after:,.0f}", f"{after - before:+,.0f}")
    for label, figures in (
        ("E2SFCA in IMD deciles 1-3 (sessions/week per 1,000 children)", e2sfca["most_deprived_30"]),
        ("E2SFCA, fifth of children with least", e2sfca["lowest_fifth"]),
    ):
        table.add_row(label, f"{figures['before']:.2f}", f"{figures['after']:.2f}", f"{figures['change']:+.2f}")
    none = e2sfca["without_access"]
    table.add_row(
        f"Children with no session venue within {E2SFCA_STEPS[-1][0]:g} min",
        f"{none['before']:,.0f}",
        f"{none['after']:,.0f}",
        f"{none['change']:+,.0f}",
    )
    console.print(table)
    console.print(
        f"{summary['children_losing']:,.0f} children lose and {summary['children_gaining']:,.0f} gain a {minutes}-minute "
        f"walk to a centre ({deprived['children_losing']:,.0f} and {deprived['children_gaining']:,.0f} in IMD deciles 1-3)."
    )
    impact = Table("IMD decile", "children", "covered before", "covered after", "losing", "gaining", "E2SFCA change")
    for row in comparison.by_imd_decile.itertuples():
        impact.add_row(
            str(row.imd_decile),
            f"{row.children:,.0f}",
            f"{row.covered_before:,.0f}",
            f"{row.covered_after:,.0f}",
            f"{row.children_losing:,.0f}",
            f"{row.children_gaining:,.0f}",
            f"{row.e2sfca_change:+.2f}" if row.children else "no LSOAs",
        )
    console.print(impact)
    for row in comparison.session_types.itertuples():
        if row.children_losing or row.children_gaining:
            console.print(
                f"Children within {minutes} min of a venue hosting {row.session_type.replace('_', ' ')}: "
                f"{row.covered_before:,.0f} → {row.covered_after:,.0f} "
                f"({row.children_losing:,.0f} lose, {row.children_gaining:,.0f} gain)"
            )
    for row in comparison.after.uncounted():
        if row["role"] == "centre":
            console.print(f"Not counted: {row['note']}.")
    for path in written:
        console.print(f"Wrote {path}")


@scenario_app.command("validate")
def scenario_validate(
    files: Annotated[list[str], typer.Argument(help="Scenario files or shipped scenario names.")],
    area: AreaOption = None,
) -> None:
    """Check scenario files against their study area (venue and session ids, postcodes); one line each.

    A scenario file that names no ``base`` is checked against ``--area``.
    """
    from geoplan import settings
    from geoplan.scenarios import apply_scenario, resolve_scenario
    from geoplan.text import plural
    from geoplan.workspace import Workspace

    workspaces: dict[Path, Workspace] = {}
    for file in files:
        scenario = resolve_scenario(file).on_area(area or settings.default_area)
        base = scenario.base_path()
        if base not in workspaces:
            workspaces[base] = Workspace(base)
        applied = apply_scenario(workspaces[base].area, scenario)
        print(
            f"ok: {scenario.path} ({scenario.name}, {plural(len(scenario.changes), 'change')}, "
            f"{plural(len(applied.configuration.centre_ids), 'centre')})"
        )


@scenario_app.command("list")
def scenario_list(
    directory: Annotated[
        Path | None,
        typer.Argument(help="Folder of scenario files (default: the shipped scenarios)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Scenario files in a folder with their names, titles and number of changes."""
    from geoplan.scenarios import SCENARIO_DIR, list_scenarios
    from geoplan.text import plural

    scenarios = list_scenarios(directory or SCENARIO_DIR)
    rows = [
        {"name": item.name, "title": item.title, "changes": len(item.changes), "file": str(item.path)}
        for item in scenarios
    ]
    if as_json:
        print_json(rows)
        return
    for row in rows:
        print(f"{row['name']:<40} {plural(row['changes'], 'change'):>11}  {row['title']}")
