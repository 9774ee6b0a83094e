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


scenario_app = typer.Typer(
    no_args_is_help=True,
    help="Reconfiguration scenarios: close, open, move sessions, redesignate; who gains and who loses access.",
)
app.add_typer(scenario_app, name="scenario")
ScenarioArgument = Annotated[str, typer.Argument(help="Scenario file, or the name of a shipped scenario.")]


@scenario_app.command("run")
def scenario_run(
    file: ScenarioArgument,
    against: Annotated[
        str, typer.Option("--against", help="Compare with 'baseline' (the venue and session files) or another scenario.")
    ] = "baseline",
    out: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--out", help="Folder for the JSON metrics, GeoPackage of changed areas and HTML report section."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Compare a scenario with the baseline or another scenario: coverage, gains and losses, equality impact."""
    from geoplan.scenarios import run_scenario

    comparison = run_scenario(file, against=against)
    written = comparison.write(out) if out is not None else []
    if as_json:
        print_json({**comparison.to_dict(), "written": [str(path) for path in written]})
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
    e2sfca = summary["e2sfca"]
    for label, before, after in [
        ("Children's centres", summary["centres_before"], summary["centres_after"]),
        (f"Children within {minutes} min of a centre", summary["covered_before"], summary["covered_after"]),
        ("  of them in IMD deciles 1-3", deprived["covered_before"], deprived["covered_after"]),
        (f"Children within {minutes} min of any session venue", summary["session_venues"]["covered_before"],
         summary["session_venues"]["covered_after"]),
    ]:  # fmt: skip
        table.add_row(label, f"{before:,.0f}", f"{after:,.0f}", f"{after - before:+,.0f}")
    table.add_row("E2SFCA (sessions/week per 1,000 children)", f"{e2sfca['before']:.2f}", f"{e2sfca['after']:.2f}",
                  f"{e2sfca['change']:+.2f}")  # fmt: skip
    console.print(table)
    console.print(
        f"{summary['children_losing']:,.0f} children lose and {summary['children_gaining']:,.0f} gain a {minutes}-minute "
        f"walk to a centre ({deprived['children_losing']:,.0f} and {deprived['children_gaining']:,.0f} in IMD deciles 1-3)."
    )
    impact = Table("IMD decile", "children", "covered before", "covered after", "losing", "gaining", "E2SFCA change")
    for row in comparison.by_imd_decile.itertuples():
        impact.add_row(str(row.imd_decile), f"{row.children:,.0f}", f"{row.covered_before:,.0f}",
                       f"{row.covered_after:,.0f}", f"{row.children_losing:,.0f}", f"{row.children_gaining:,.0f}",
                       f"{row.e2sfca_change:+.2f}")  # fmt: skip
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
def scenario_validate(files: Annotated[list[str], typer.Argument(help="Scenario files or shipped scenario names.")]) -> None:
    """Check scenario files against their study area (venue and session ids, postcodes); one line each."""
    from geoplan.scenarios import apply_scenario, resolve_scenario
    from geoplan.studyarea import load_study_area

    areas: dict[Path, object] = {}
    for file in files:
        scenario = resolve_scenario(file)
        base = scenario.base_path()
        if base not in areas:
            areas[base] = load_study_area(base)
        applied = apply_scenario(areas[base], scenario)
        print(f"ok: {scenario.path} ({scenario.name}, {len(scenario.changes)} changes, "
              f"{len(applied.configuration.centre_ids)} centres)")  # fmt: skip


@scenario_app.command("list")
def scenario_list(
    directory: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Argument(help="Folder of scenario files (default: the shipped scenarios)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Scenario files in a folder with their names, titles and number of changes."""
    from geoplan.scenarios import SCENARIO_DIR, list_scenarios

    scenarios = list_scenarios(directory or SCENARIO_DIR)
    rows = [{"name": item.name, "title": item.title, "changes": len(item.changes), "file": str(item.path)}
            for item in scenarios]  # fmt: skip
    if as_json:
        print_json(rows)
        return
    for row in rows:
        print(f"{row['name']:<40} {row['changes']:>3} changes  {row['title']}")


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


data_app = typer.Typer(
    no_args_is_help=True,
    help="Open-data sources: list the manifest, download into the cache, or import a local folder.",
)
app.add_typer(data_app, name="data")


@data_app.command("sources")
def data_sources(as_json: JsonOption = False) -> None:
    """The official sources geoplan reads: publisher, URL, licence, vintage and cached file."""
    from geoplan.download import manifest_rows

    rows = manifest_rows()
    if as_json:
        print_json(rows)
        return
    from rich.console import Console
    from rich.table import Table

    table = Table("key", "publisher", "licence", "vintage", "url")
    for row in rows:
        table.add_row(row["key"], row["publisher"], row["licence"], row["vintage"], row["url"])
    Console().print(table)


@data_app.command("fetch")
def data_fetch(
    la: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--la", help="ONS code of the local authority (default: the --area catalogue's)."),
    ] = None,
    area: AreaOption = None,
    margin: Annotated[
        Optional[float],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--margin", help="Metres beyond the LA boundary to keep (default: the catalogue's, else 2000)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Download again even if the cache covers the area.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Download the open data a local authority needs into the cache, filtered to the LA plus a margin.

    The street network comes last, for the study area of the LA's layer catalogue (--area, or the
    catalogue in layers/ with that code).
    """
    from geoplan import settings
    from geoplan.download import DEFAULT_MARGIN_M, catalogue_for, fetch_network, fetch_sources, needed_sources
    from geoplan.errors import InputError, NetworkUnavailableError
    from geoplan.layers import load_catalogue

    catalogue_path = area if la is None or area is not None else catalogue_for(la)
    if la is None and catalogue_path is None:
        catalogue_path = settings.default_area
    keys = None
    if catalogue_path is not None:
        catalogue = load_catalogue(catalogue_path)
        if la is not None and la != catalogue.area.la_code:
            msg = f"--la {la} differs from the catalogue's local authority {catalogue.area.la_code}"
            raise InputError(msg, path=catalogue_path, field="la_code")
        la = catalogue.area.la_code
        margin = catalogue.area.margin_m if margin is None else margin
        keys = needed_sources(catalogue)

    def show(result: object) -> None:
        if not as_json:
            state = "already cached" if result.skipped else ("resumed, " if result.resumed else "") + "fetched"
            print(f"{result.key:<18} {state:<16} {result.rows:>7,} rows  {result.path}")

    results = fetch_sources(la, margin_m=DEFAULT_MARGIN_M if margin is None else margin, keys=keys, force=force)
    for result in results:
        show(result)
    if catalogue_path is None:
        print(f"street network: no layer catalogue for {la} in layers/; it is fetched with the first catchment run",
              file=sys.stderr)  # fmt: skip
    network_error = None
    if catalogue_path is not None and "osm_overpass" in (keys or []):
        try:
            results.append(fetch_network(catalogue_path))
            show(results[-1])
        except NetworkUnavailableError as exc:
            # The tables are cached already: report them, then fail on the network.
            network_error = exc
    if as_json:
        print_json([result.to_dict() for result in results])
    if network_error is not None:
        raise network_error


@data_app.command("import")
def data_import(
    directory: Annotated[Path, typer.Argument(help="Folder holding the source files (e.g. ../shared/data/raw).")],
    as_json: JsonOption = False,
) -> None:
    """Copy the source files found in a local folder into the cache, after checking their columns."""
    from geoplan.download import import_sources

    report = import_sources(directory)
    if as_json:
        print_json(report.to_dict())
    else:
        for key, source, target in report.imported:
            print(f"imported {key:<18} {source} -> {target}")
        for key in report.skipped:
            print(f"skipped  {key:<18} (name the OSM extract in the layer catalogue's network.osm_file)")
    if report.missing:
        from geoplan.errors import DataSourceError
        from geoplan.sources import get_source

        missing = ", ".join(f"{key} ({get_source(key).local_patterns[0]})" for key in report.missing)
        msg = f"{report.directory} lacks {len(report.missing)} source(s): {missing}"
        raise DataSourceError(msg)


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


@app.command("serve")
def serve_command(
    area: AreaOption = None,
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 5006,
    address: Annotated[
        str, typer.Option("--address", help="Address to bind; anything but 127.0.0.1/localhost needs authentication.")
    ] = "127.0.0.1",
    basic_auth: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--basic-auth", help="Panel basic auth: a password or a JSON file of user: password."),
    ] = None,
    oauth_provider: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--oauth-provider", help="Panel OAuth provider (key and secret from PANEL_OAUTH_* variables)."),
    ] = None,
    cookie_secret: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--cookie-secret", help="Secret signing the login cookie (needed with authentication)."),
    ] = None,
    allow_websocket_origin: Annotated[
        Optional[list[str]],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--allow-websocket-origin", help="Extra host[:port] the browser may connect from."),
    ] = None,
) -> None:
    """Start the planner app (Panel) on this machine; one scenario per browser session."""
    import os

    from geoplan.planner import serve_arguments

    argv = serve_arguments(port=port, address=address, area=area, basic_auth=basic_auth,
                           oauth_provider=oauth_provider, cookie_secret=cookie_secret,
                           allow_websocket_origin=allow_websocket_origin or ())  # fmt: skip
    os.environ["GEOPLAN_AREA"] = str(Path(area).resolve()) if area else ""
    print(f"geoplan planner on http://{'localhost' if address == '127.0.0.1' else address}:{port}/planner", file=sys.stderr)
    from panel.command import main as panel_main

    sys.argv = argv
    panel_main()


DecileOption = Annotated[str, typer.Option("--decile", help="Shade LSOAs by national decile of: imd or idaci.")]


@app.command("map")
def map_command(
    out: Annotated[Path, typer.Option("--out", help="HTML file to write (self-contained, works offline).")],
    area: AreaOption = None,
    scenario: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--scenario", help="Scenario file (or shipped scenario name) to map instead of the current programme."),
    ] = None,
    compare: Annotated[
        Optional[tuple[str, str]],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--compare", help="Two scenarios (files, names or 'baseline') side by side, panning together."),
    ] = None,
    png: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--png", help="Also write a print-quality PNG of the map."),
    ] = None,
    width: Annotated[int, typer.Option("--width", help="PNG width in pixels.")] = 2339,
    height: Annotated[int, typer.Option("--height", help="PNG height in pixels.")] = 1654,
    dpi: Annotated[int, typer.Option("--dpi", help="PNG dots per inch (sets text size).")] = 200,
    decile: DecileOption = "imd",
    children: Annotated[bool, typer.Option("--children", help="Add children 0-4 per postcode (a layer, off at first).")] = False,
    basemap: Annotated[bool, typer.Option("--basemap", help="Add OpenStreetMap tiles (online only).")] = False,
    as_json: JsonOption = False,
) -> None:
    """Committee map: LSOAs by deprivation decile, wards, venues, gaps; one offline HTML file (and a PNG)."""
    from geoplan.errors import InputError
    from geoplan.figure import write_png
    from geoplan.maps import write_map
    from geoplan.report import committee_figure, committee_map, load_committee

    if scenario is not None and compare is not None:
        msg = "give --scenario or --compare, not both"
        raise InputError(msg, field="compare")
    chosen = list(compare) if compare is not None else [scenario]
    committee = load_committee([None if item == "baseline" else item for item in chosen], area=area)
    document = committee_map(committee, decile=decile, children=children, basemap=basemap)
    # Both are built before either is written, so a bad option leaves no half set of outputs.
    figure = committee_figure(committee, decile=decile, width_px=width, height_px=height, dpi=dpi) if png else None
    size = write_map(document, out)
    written = {"map": str(out), "map_bytes": size}
    if figure is not None:
        write_png(figure, png)
        written["png"] = str(png)
    if as_json:
        print_json({**written, "headline": committee.views[-1].coverage.headline()})
        return
    print(f"Map written to {out} ({size / 1e6:.1f} MB)" + (f"; figure written to {png}" if png else ""))
    print(committee.views[-1].coverage.headline())


@app.command("report")
def report_command(
    out: Annotated[Path, typer.Option("--out", help="HTML report to write (self-contained, printable).")],
    area: AreaOption = None,
    scenario: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--scenario", help="Scenario file (or shipped scenario name) to report on."),
    ] = None,
    against: Annotated[
        Optional[str],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--against", help="Compare the scenario with this one ('baseline' = current programme)."),
    ] = None,
    map_out: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--map", help="Also write the interactive map (the one embedded) to this HTML file."),
    ] = None,
    png: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--png", help="Also write the static figure (the one embedded) to this PNG file."),
    ] = None,
    decile: DecileOption = "imd",
    as_json: JsonOption = False,
) -> None:
    """Committee report: headline, coverage by decile and ward, equality impact, maps, sources, caveats."""
    from geoplan.errors import InputError
    from geoplan.figure import png_bytes
    from geoplan.fileio import write_bytes, write_text
    from geoplan.maps import render_html
    from geoplan.report import committee_figure, committee_map, committee_report, load_committee, write_report

    if against is not None and scenario is None:
        msg = "--against needs --scenario (the configuration compared with it)"
        raise InputError(msg, field="against")
    chosen = [scenario] if against is None else [against, scenario]
    committee = load_committee([None if item == "baseline" else item for item in chosen], area=area)
    map_html = render_html(committee_map(committee, decile=decile))
    figure_png = png_bytes(committee_figure(committee, decile=decile))
    size = write_report(committee_report(committee, map_html=map_html, figure_png=figure_png), out)
    written = {"report": str(out), "bytes": size}
    if map_out is not None:
        written["map"] = str(write_text(map_out, map_html))
    if png is not None:
        written["png"] = str(write_bytes(png, figure_png))
    if as_json:
        print_json({**written, "headline": committee.views[-1].coverage.headline()})
        return
    extras = "".join(f"; {name} written to {path}" for name, path in written.items() if name in ("map", "png"))
    print(f"Report written to {out} ({size / 1e6:.1f} MB){extras}")
    print(committee.views[-1].coverage.headline())


@app.command("reach")
def reach_command(
    out: Annotated[Path, typer.Option("--out", help="Folder for the CSV tables, GeoPackage, GeoJSON map layer and summary.")],
    records: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--records", help="Registration/attendance records CSV (child_id, postcode, date_of_birth or "
                     "age_band, venue, attendance_date)."),  # fmt: skip
    ] = None,
    foi: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--foi", help="Ward tables (FOI replies; a CSV, workbook or folder) to import and map instead."),
    ] = None,
    threshold: Annotated[
        Optional[int],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--threshold", help="Counts from 1 to threshold-1 are shown as X (default 5)."),
    ] = None,
    suppress_zero: Annotated[bool, typer.Option("--suppress-zero", help="Show zero counts as X too.")] = False,
    area: AreaOption = None,
    as_json: JsonOption = False,
) -> None:
    """Registration reach by LSOA, ward and deprivation decile, with small numbers suppressed (or map FOI ward tables)."""
    import warnings

    from geoplan.errors import InputError
    from geoplan.reach import ReachWarning, analyse_reach, read_ward_tables, write_ward_tables
    from geoplan.studyarea import load_study_area

    if (records is None) == (foi is None):
        msg = "give --records FILE or --foi FILE|DIR (one of them)"
        raise InputError(msg, field="records")
    study_area = load_study_area(area)
    if foi is not None:
        tables = read_ward_tables(foi)
        written = write_ward_tables(tables, study_area, out, threshold=threshold)
        rows = [{"source": table.source, "age_group": table.age_group, "layer": table.key,
                 "suppressed_cells": int(table.wards.filter(like="_suppressed").to_numpy().sum())} for table in tables]  # fmt: skip
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
    print(f"{study_area.name}: {total['registered']} children registered, {total['attended_once_or_more']} attended at "
          f"least once; reach {total['reach']} of {total['children_living']:,} children aged 0-4")  # fmt: skip
    for group in summary["deprived"].values():
        print(f"  {group['group_name']}: {group['attended_once_or_more']} attenders, share {group['share_of_attenders']}")
    print(summary["disclosure"]["rule"])
    print(f"Wrote {len(written)} files to {out}")


OsmOption = Annotated[
    Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
    typer.Option("--osm", help="OpenStreetMap file (.osm, .osm.bz2, .osm.pbf) to build the walking network from."),
]


def _network_or_area(osm: Path | None, area: Path | None) -> tuple[object, object]:
    """The walking network of ``--osm``, or the study area and its network (``None`` when only crow-fly is possible)."""
    if osm is not None:
        from geoplan.network import network_from_file

        return network_from_file(osm), None
    from geoplan.studyarea import load_study_area
    from geoplan.traveltime import study_area_network

    study_area = load_study_area(area)
    return study_area_network(study_area), study_area


@app.command("traveltime")
def traveltime_command(
    out: Annotated[Path, typer.Option("--out", help="CSV: origin_id,nearest_id,minutes,second_id,second_minutes,snap_m,too_far,method.")],
    osm: OsmOption = None,
    area: AreaOption = None,
    origins: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--origins", help="CSV with id,lon,lat or id,x,y (EPSG:27700); default: the area's children origins."),
    ] = None,
    destinations: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--destinations", help="CSV with id,lon,lat or id,x,y; default: the area's located venues."),
    ] = None,
    profile: Annotated[str, typer.Option("--profile", help="walk (4.8 km/h), buggy (4.0 km/h) or a speed in km/h.")] = "buggy",
    cutoff: Annotated[
        Optional[float],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--cutoff", help="Minutes beyond which a venue counts as unreachable (empty in the output)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Walking minutes from every origin to its nearest and second-nearest destination."""
    from geoplan.errors import InputError
    from geoplan.fileio import atomic_path
    from geoplan.network import get_profile
    from geoplan.traveltime import check_cutoff, crowfly_matrix, read_points_csv, travel_time_matrix

    pace = get_profile(profile)
    check_cutoff(cutoff)
    if osm is not None and area is not None:
        msg = "give either --osm or --area, not both"
        raise InputError(msg, field="--osm")
    if osm is not None and (origins is None or destinations is None):
        msg = "--osm needs --origins and --destinations"
        raise InputError(msg, field="--origins" if origins is None else "--destinations")
    network, study_area = _network_or_area(osm, area)
    if origins is not None:
        origin_ids, origin_xy = read_points_csv(origins, what="origins")
    else:
        origin_ids = study_area.children["origin_id"].astype(str).tolist()
        origin_xy = study_area.children.get_coordinates().to_numpy()
    if destinations is not None:
        destination_ids, destination_xy = read_points_csv(destinations, what="destinations")
    else:
        located = study_area.located_venues
        destination_ids, destination_xy = located["venue_id"].astype(str).tolist(), located.get_coordinates().to_numpy()
    if network is None:
        matrix = crowfly_matrix(
            origin_xy, destination_xy, circuity=study_area.catalogue.network.crowfly_circuity,
            origin_ids=origin_ids, destination_ids=destination_ids, profile=pace, cutoff_minutes=cutoff,
        )  # fmt: skip
    else:
        for path, ids, xy, what in [(origins, origin_ids, origin_xy, "origin"), (destinations, destination_ids, destination_xy, "destination")]:
            from geoplan.traveltime import check_extent

            check_extent(network, xy, ids, what=what, path=path)
        matrix = travel_time_matrix(
            network, origin_xy, destination_xy, origin_ids=origin_ids, destination_ids=destination_ids,
            profile=pace, cutoff_minutes=cutoff, check_bounds=False,
        )  # fmt: skip
    table = matrix.nearest()
    with atomic_path(out) as tmp:
        table.to_csv(tmp, index=False, float_format="%.4f")
    reached = int(table["minutes"].notna().sum())
    summary = {
        "out": str(out), "method": matrix.method, "profile": matrix.profile, "origins": len(table),
        "reached": reached, "too_far": int(table["too_far"].sum()),
        "median_minutes": None if reached == 0 else round(float(table["minutes"].median()), 2),
    }  # fmt: skip
    if as_json:
        print_json(summary)
    else:
        print(
            f"{summary['origins']:,} origins, {reached:,} reach a destination ({matrix.method}, {matrix.profile}); "
            f"{summary['too_far']:,} too far from any path; wrote {out}"
        )


@app.command("catchments")
def catchments_command(
    out: Annotated[Path, typer.Option("--out", help="GeoPackage of catchments (layer 'catchments', EPSG:27700).")],
    osm: OsmOption = None,
    area: AreaOption = None,
    venues: Annotated[
        Optional[Path],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--venues", help="CSV with id,lon,lat or id,x,y; default: the area's located venues."),
    ] = None,
    minutes: Annotated[str, typer.Option("--minutes", help="Bands in minutes, comma-separated.")] = "10,15,20",
    profile: Annotated[str, typer.Option("--profile", help="walk (4.8 km/h), buggy (4.0 km/h) or a speed in km/h.")] = "buggy",
    together: Annotated[bool, typer.Option("--together", help="One catchment per band for all venues together.")] = False,
    resolution: Annotated[
        Optional[float],  # noqa: UP045 - typer reads the annotation at run time
        typer.Option("--resolution", help="Grid spacing (m) the boundary is drawn on; default 10, at most the 25 m margin."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Nested walking catchments (isochrones) around venues, from the network or the crow-fly fallback."""
    from geoplan.catchments import check_bands, crowfly_isochrones, isochrones, write_catchments
    from geoplan.errors import InputError
    from geoplan.network import get_profile
    from geoplan.traveltime import check_extent, read_points_csv

    bands = check_bands(minutes)
    pace = get_profile(profile)
    if osm is not None and area is not None:
        msg = "give either --osm or --area, not both"
        raise InputError(msg, field="--osm")
    if osm is not None and venues is None:
        msg = "--osm needs --venues"
        raise InputError(msg, field="--venues")
    network, study_area = _network_or_area(osm, area)
    if venues is not None:
        ids, xy = read_points_csv(venues, what="venues")
    else:
        located = study_area.located_venues
        ids, xy = located["venue_id"].astype(str).tolist(), located.get_coordinates().to_numpy()
    if network is None:
        circuity = study_area.catalogue.network.crowfly_circuity
        frame = crowfly_isochrones(xy, circuity=circuity, venue_ids=ids, minutes=bands, profile=pace, together=together)
    else:
        check_extent(network, xy, ids, what="venue", path=venues)
        frame = isochrones(network, xy, venue_ids=ids, minutes=bands, profile=pace, together=together, resolution_m=resolution)
    write_catchments(frame, out)
    summary = {
        "out": str(out), "method": frame["method"].iloc[0], "profile": pace.name, "catchments": len(frame),
        "venues": int(frame["venue_id"].nunique()), "bands": list(bands),
    }  # fmt: skip
    if as_json:
        print_json(summary)
    else:
        print(f"{summary['catchments']} catchments ({summary['method']}, {pace.name}) for {summary['venues']} venue(s); wrote {out}")


@app.command("run")
def run_command(
    area: AreaOption = None,
    out: Annotated[Path, typer.Option("--out", help="Folder for the map, figure, report and gaps.")] = Path("out"),
    profile: ProfileOption = "buggy",
) -> None:
    """The main job: get the open data, then summary, coverage, gaps, committee map, figure and report."""
    from geoplan import settings
    from geoplan.download import ensure_sources
    from geoplan.layers import load_catalogue

    catalogue_path = area or settings.default_area
    ensure_sources(load_catalogue(catalogue_path))
    stem = catalogue_path.stem
    area_summary(area=area)
    coverage_command(area=area, profile=profile)
    gaps_command(out=out / f"{stem}-gaps.gpkg", area=area, profile=profile, top=10)
    report_command(
        out=out / f"{stem}-report.html", area=area, map_out=out / f"{stem}-map.html", png=out / f"{stem}-map.png"
    )


def main() -> None:
    """Run the CLI, turning geoplan's own errors into one-line messages."""
    try:
        app()
    except GeoplanError as exc:
        print(f"geoplan: error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
