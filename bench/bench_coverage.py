"""Coverage + gaps + E2SFCA for the whole study area, once the travel times exist, beside common recipes.

Peers, in the same run and on the same inputs:
- coverage: the usual GIS recipe, buffering each venue by the crow-fly reach and counting children
  with a spatial join (geopandas);
- E2SFCA: PySAL ``access`` on the same origin × venue minutes.

Run: ``GEOPLAN_DATA=../shared/data .venv/bin/python bench/bench_coverage.py``
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
from benchkit import best_of, print_table, ratio, seconds, setup

from geoplan.coverage import E2SFCA_STEPS, e2sfca, find_gaps, measure_coverage, venue_supply
from geoplan.workspace import Workspace


def main() -> None:
    setup()
    workspace = Workspace(profile="buggy")
    area = workspace.area
    travel_times = workspace.travel_times()
    configuration = workspace.baseline()
    centres = list(configuration.centre_ids)

    def geoplan_coverage_and_gaps():
        coverage = measure_coverage(area, travel_times, venue_ids=centres, bands=(10, 15, 20))
        gaps = find_gaps(area, travel_times, venue_ids=centres, minutes=15)
        return coverage, gaps

    ours, (coverage, gaps) = best_of(geoplan_coverage_and_gaps)
    coverage_only, _ = best_of(lambda: measure_coverage(area, travel_times, venue_ids=centres, bands=(10, 15, 20)))

    reach_m = 15 * travel_times.speed_kmh * 1000 / 60 / area.catalogue.network.crowfly_circuity
    venues = area.venues.set_index("venue_id").loc[centres]

    def buffer_recipe() -> int:
        covered = 0
        for band in (10, 15, 20):
            radius = band * travel_times.speed_kmh * 1000 / 60 / area.catalogue.network.crowfly_circuity
            zones = gpd.GeoDataFrame(geometry=venues.geometry.buffer(radius), crs=area.children.crs)
            joined = gpd.sjoin(area.children, zones, predicate="within")
            covered = int(area.children.loc[joined.index.unique(), "children_0_4"].sum())
        return covered

    theirs, recipe_covered = best_of(buffer_recipe)
    table = [
        ["coverage (3 bands) + gaps (LSOAs and clusters)", seconds(ours), "–", "–"],
        ["coverage (3 bands: overall, deciles, wards, groups)", seconds(coverage_only), "–", "–"],
        ["coverage (3 bands, overall only)", "–", f"buffer + spatial join {seconds(theirs)}", "–"],
    ]
    note = (
        f"20-min children covered: geoplan {int(coverage.overall.loc[20.0, 'covered']):,}, recipe {recipe_covered:,}; "
        f"15-min reach radius {reach_m:.0f} m; {len(gaps.lsoas)} LSOA gaps, {len(gaps.clusters)} clusters"
    )

    open_ids = [venue for venue in configuration.venue_ids() if venue in set(travel_times.destination_ids)]
    supply = venue_supply(configuration, open_ids)
    supply = supply[supply > 0]
    ours_e2sfca, _ = best_of(lambda: e2sfca(area, travel_times, supply=supply))
    import access

    position = {venue: index for index, venue in enumerate(travel_times.destination_ids)}
    rows = [
        (origin, venue, float(minutes))
        for venue in supply.index
        for origin, minutes in zip(area.children["origin_id"], travel_times.minutes[:, position[venue]], strict=True)
        if np.isfinite(minutes)
    ]
    cost = pd.DataFrame(rows, columns=["origin", "dest", "minutes"])

    def pysal():
        model = access.Access(
            demand_df=area.children[["origin_id", "children_0_4"]].set_index("origin_id"),
            demand_value="children_0_4",
            supply_df=supply.rename("supply").to_frame(),
            supply_value="supply",
            cost_df=cost,
            cost_origin="origin",
            cost_dest="dest",
            cost_name="minutes",
        )
        return model.enhanced_two_stage_fca(
            weight_fn=access.weights.step_fn(dict(E2SFCA_STEPS)), max_cost=E2SFCA_STEPS[-1][0]
        )

    theirs_e2sfca, _ = best_of(pysal)
    table.append(
        [
            "E2SFCA (same minutes, same steps)",
            seconds(ours_e2sfca),
            f"PySAL access {seconds(theirs_e2sfca)}",
            ratio(theirs_e2sfca, ours_e2sfca),
        ]
    )
    title = f"Coverage, gaps and E2SFCA: {area.name}, {len(area.children):,} origins × {len(travel_times.destination_ids)} venues, {travel_times.method}"
    print_table(title, ["task", "geoplan", "peer", "peer / geoplan"], table, packages=("access", "geopandas"))
    print(f"\n{note}")


if __name__ == "__main__":
    main()
