"""``geoplan area``: what a study area holds."""

from __future__ import annotations

from geoplan.cli.common import AreaOption, JsonOption, command_group, print_json

area_app = command_group("area", "Study areas: LSOAs, wards, children, deprivation, venues.")


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
    console.print(f"Data from: {'; '.join(summary['data_from'])}", highlight=False)
    table = Table("measure", "value", "source")
    for label, key, value_key in [
        ("LSOAs (2021)", "lsoas", "count"),
        ("Wards", "wards", "count"),
        ("Children aged 0-4 (Census 2021)", "children_0_4", "total"),
        ("Children 0-4 in IMD deciles 1-3", "children_0_4_in_imd_deciles_1_to_3", "total"),
        ("Children 0-4 in IDACI deciles 1-3", "children_0_4_in_idaci_deciles_1_to_3", "total"),
        ("Postcodes in the area", "postcodes", "in_area"),
    ]:
        entry = summary[key]
        source = "; ".join(f"{s['publisher']}, {s['vintage']}" for s in entry["sources"])
        table.add_row(label, f"{entry[value_key]:,}", source)
    for decile_key, label in [("children_0_4_by_imd_decile", "IMD"), ("children_0_4_by_idaci_decile", "IDACI")]:
        counts = summary[decile_key]["counts"]
        table.add_row(f"Children 0-4 by {label} decile 1..10", " ".join(str(v) for v in counts.values()), "")
    for counts in summary["venues_by_kind"]["counts"].values():
        beyond = (
            f", {counts['beyond_network_extent']} beyond the complete street network"
            if counts["beyond_network_extent"]
            else ""
        )
        table.add_row(
            f"Venues: {counts['label']}",
            f"{counts['venues']} ({counts['located']} located{beyond})",
            "venue facts file",
        )
    console.print(table)
    edge = summary["network_extent"]
    if edge is not None and edge["venues_beyond"]:
        console.print(
            f"Beyond the area where the street network is complete: {', '.join(edge['venues_beyond'])}; "
            "walks to them may be longer than they really are."
        )
