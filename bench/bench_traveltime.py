"""Nearest-venue travel times and isochrones on a real OSM extract: osmnx recipe vs pandana vs geoplan.

Same extract, same origins and venues, one run; prints the timings and the ratios.

    .venv/bin/python bench/bench_traveltime.py [--osm FILE] [--origins 5000] [--venues 30] [--seed 42]

(a) the common osmnx recipe: nearest nodes, one networkx Dijkstra per venue, ego_graph +
    convex hull isochrones, and the osmnx example notebook's buffered ego_graph isochrones
    (nodes and whole edges buffered by the margin, unioned); (b) pandana set up as its
    documentation advises for nearest POIs (``Network``, ``set_pois``, ``nearest_pois``; no
    ``precompute``, which only aggregation queries need); (c) geoplan: snapping to edges, the
    nearest and second-nearest venue without a matrix, the origin × venue matrix, and network
    isochrones drawn on the catchment grid. One-off costs are rows of their own and treated alike:
    each side's network build from the same OSM file (osmnx's ``graph_from_xml`` graph, pandana's
    ``Network`` from it, geoplan's arrays), geoplan's cached load, and the catchment grid, which
    the isochrone ratios are shown both with (cold) and without (warm). Caches go to a temporary
    folder, never the checkout.

Every isochrone method is scored against the exact catchment: reached and cut path pieces, each
buffered by the margin with fine round caps (16 segments per quarter circle), unioned.
"""

from __future__ import annotations

import argparse
import os
import pickle
import sys
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import shapely
from shapely.ops import substring

sys.path.insert(0, str(Path(__file__).resolve().parent))
from benchkit import print_table, ratio, seconds, setup

from geoplan import settings
from geoplan.catchgrid import catchment_grid
from geoplan.catchments import isochrones
from geoplan.nearest import nearest_destinations, nearest_venue
from geoplan.network import WalkNetwork, WalkProfile, get_profile, network_from_file, walk_graph_from_file
from geoplan.traveltime import source_node_minutes, travel_time_matrix

DATA = Path(os.environ.get("GEOPLAN_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "raw" / "osm"
BANDS = (10, 15, 20)


def timed(label: str, func, results: dict[str, float]):
    started = time.perf_counter()
    value = func()
    results[label] = time.perf_counter() - started
    print(f"  {label:<48} {results[label]:8.3f} s")
    return value


def exact_catchments(
    network: WalkNetwork, venues: np.ndarray, pace: WalkProfile, margin: float
) -> list[shapely.Geometry]:
    """Reached and cut path pieces of each venue and band, buffered by the margin with fine caps, unioned."""
    snap = network.snap(venues)
    budgets = np.array(BANDS) - margin / pace.metres_per_minute
    times, _ = source_node_minutes(network, snap, pace, limit=budgets.max())
    weight = network.edge_minutes(pace)
    result = []
    for j in range(len(venues)):
        t_u, t_v = times[j, network.edge_u], times[j, network.edge_v]
        for budget in budgets:
            pieces = []
            for edge in np.flatnonzero(np.minimum(t_u, t_v) < budget):
                from_u = np.clip((budget - t_u[edge]) / weight[edge], 0, 1)
                from_v = np.clip((budget - t_v[edge]) / weight[edge], 0, 1)
                line = network.edge_geometry[edge]
                if from_u + from_v >= 1:
                    pieces.append(line)
                    continue
                pieces += [substring(line, 0, from_u, normalized=True)] if from_u > 0 else []
                pieces += [substring(line, 1 - from_v, 1, normalized=True)] if from_v > 0 else []
            own = network.edge_geometry[snap.edge[j]]
            reach = (budget - snap.distance_m[j] / pace.metres_per_minute) / weight[snap.edge[j]]
            if reach > 0:
                pieces.append(
                    substring(own, max(snap.fraction[j] - reach, 0), min(snap.fraction[j] + reach, 1), normalized=True)
                )
            result.append(shapely.union_all(shapely.buffer(np.array(pieces, dtype=object), margin, quad_segs=16)))
    return result


def agreement(label: str, polygons: list[shapely.Geometry] | np.ndarray, exact: list[shapely.Geometry]) -> None:
    polygons, exact = np.asarray(polygons, dtype=object), np.asarray(exact, dtype=object)
    iou = shapely.area(shapely.intersection(polygons, exact)) / shapely.area(shapely.union(polygons, exact))
    ratio = shapely.area(polygons) / shapely.area(exact)
    print(
        f"  {label:<40} IoU median {np.median(iou):.3f} (min {iou.min():.3f}); area ratio median {np.median(ratio):.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--osm", type=Path, default=DATA / "newport-2023-06-13_highways.osm.bz2")
    parser.add_argument("--pois", type=Path, default=DATA / "newport-2023-06-13_pois.geojson")
    parser.add_argument("--origins", type=int, default=5000)
    parser.add_argument("--venues", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    setup()
    pace = get_profile("buggy")
    times: dict[str, float] = {}

    print(f"extract: {args.osm.name}")
    network = timed("geoplan network build (cold, from the OSM file)", lambda: network_from_file(args.osm), times)
    network = timed("geoplan network load (cached)", lambda: network_from_file(args.osm), times)
    # the same filtered graph for the osmnx recipe and pandana, built the osmnx way
    graph = timed(
        "osmnx graph build (graph_from_xml, project, largest part)", lambda: walk_graph_from_file(args.osm), times
    )
    print(f"  network: {network.n_nodes:,} nodes, {network.n_edges:,} edges")

    rng = np.random.default_rng(args.seed)
    pois = gpd.read_file(args.pois).to_crs(settings.measure_crs)
    all_venues = pois.get_coordinates().to_numpy()
    venues = all_venues[rng.choice(len(all_venues), size=args.venues, replace=False)]
    picks = rng.choice(network.n_nodes, size=args.origins)
    origins = np.column_stack([network.x[picks], network.y[picks]]) + rng.normal(0, 30, size=(args.origins, 2))
    print(f"  {args.origins:,} origins (network nodes jittered 30 m), {args.venues} venues from the extract's POIs")

    # (a) osmnx recipe
    print("(a) osmnx recipe (networkx)")
    for _, _, data in graph.edges(data=True):
        data["minutes"] = data["length"] / pace.metres_per_minute

    def osmnx_nearest():
        origin_nodes = ox.distance.nearest_nodes(graph, origins[:, 0], origins[:, 1])
        venue_nodes = ox.distance.nearest_nodes(graph, venues[:, 0], venues[:, 1])
        best = {}
        for node in venue_nodes:
            for target, minutes in nx.single_source_dijkstra_path_length(graph, node, weight="minutes").items():
                if minutes < best.get(target, np.inf):
                    best[target] = minutes
        return np.array([best.get(node, np.inf) for node in origin_nodes])

    recipe_minutes = timed("all-origins nearest venue", osmnx_nearest, times)

    def ego_graphs():
        for node in ox.distance.nearest_nodes(graph, venues[:, 0], venues[:, 1]):
            for band in BANDS:
                yield nx.ego_graph(graph, node, radius=band, distance="minutes")

    def osmnx_isochrones():
        return [
            shapely.MultiPoint([(d["x"], d["y"]) for _, d in sub.nodes(data=True)]).convex_hull for sub in ego_graphs()
        ]

    hulls = timed(f"convex-hull isochrones, {args.venues} venues x 3 bands", osmnx_isochrones, times)
    margin = settings.catchment_margin_m

    def osmnx_buffered_isochrones():
        polygons = []
        for sub in ego_graphs():
            points = shapely.points([(d["x"], d["y"]) for _, d in sub.nodes(data=True)])
            lines = [
                data["geometry"]
                if "geometry" in data
                else shapely.LineString(
                    [(graph.nodes[u]["x"], graph.nodes[u]["y"]), (graph.nodes[v]["x"], graph.nodes[v]["y"])]
                )
                for u, v, data in sub.edges(data=True)
            ]
            polygons.append(
                shapely.union_all(shapely.buffer(np.concatenate([points, np.array(lines, dtype=object)]), margin))
            )
        return polygons

    buffered = timed(f"buffered ego_graph isochrones, {args.venues} x 3", osmnx_buffered_isochrones, times)

    # (b) pandana
    print("(b) pandana")
    import pandana

    def pandana_network():
        nodes, edges = ox.graph_to_gdfs(graph)
        edges = edges.reset_index()
        return pandana.Network(nodes["x"], nodes["y"], edges["u"], edges["v"], edges[["minutes"]], twoway=True)

    net = timed("pandana Network build (from the osmnx graph)", pandana_network, times)

    def pandana_nearest():
        net.set_pois("venues", 60, 2, venues[:, 0], venues[:, 1])
        nearest = net.nearest_pois(60, "venues", num_pois=2)
        node_ids = net.get_node_ids(origins[:, 0], origins[:, 1])
        return nearest.loc[node_ids.to_numpy(), 1].to_numpy()

    pandana_minutes = timed("pandana set_pois + nearest_pois (2)", pandana_nearest, times)

    # (c) geoplan
    print("(c) geoplan")
    matrix = timed(
        "geoplan nearest + second nearest (no matrix)",
        lambda: nearest_destinations(network, origins, venues, profile=pace),
        times,
    )
    timed(
        "geoplan matrix + nearest/second (60 min cutoff)",
        lambda: travel_time_matrix(network, origins, venues, profile=pace, cutoff_minutes=60).nearest(),
        times,
    )
    nearest = timed(
        "all-origins nearest venue (one multi-source Dijkstra)",
        lambda: nearest_venue(network, origins, venues, profile=pace),
        times,
    )
    margin = settings.catchment_margin_m
    fresh = pickle.loads(pickle.dumps(network))  # a copy without the memoised grid
    grid = timed(
        "catchment grid build, whole extract (once per network)",
        lambda: catchment_grid(fresh, margin_m=margin, resolution_m=settings.catchment_resolution_m, cache=False),
        times,
    )
    print(
        f"  grid: {len(grid.row):,} grid point x edge pairs, {grid.size_bytes / 1e6:.1f} MB, {settings.catchment_resolution_m:g} m"
    )
    cold = pickle.loads(pickle.dumps(network))  # no grid in memory or on disk: built by the call
    polygons = timed(
        f"network isochrones, {args.venues} venues x 3 bands (cold: grid built)",
        lambda: isochrones(cold, venues, minutes=BANDS, profile=pace),
        times,
    )
    timed(
        f"network isochrones, {args.venues} venues x 3 bands (warm: grid cached)",
        lambda: isochrones(pickle.loads(pickle.dumps(network)), venues, minutes=BANDS, profile=pace),
        times,
    )
    timed(
        "network isochrones, all venues together x 3 bands",
        lambda: isochrones(network, all_venues, minutes=BANDS, profile=pace, together=True),
        times,
    )
    timed(
        f"network isochrones, all {len(all_venues)} POIs x 3 bands",
        lambda: isochrones(network, all_venues, minutes=BANDS, profile=pace),
        times,
    )
    exact = timed(
        f"exact buffered paths (reference), {args.venues} x 3",
        lambda: exact_catchments(network, venues, pace, margin),
        times,
    )

    print("agreement (minutes to nearest venue)")
    finite = np.isfinite(recipe_minutes) & matrix["minutes"].notna().to_numpy()
    print(
        f"  geoplan vs osmnx recipe: median |diff| {np.median(np.abs(matrix['minutes'].to_numpy()[finite] - recipe_minutes[finite])):.3f} min (nearest node vs nearest edge + access leg)"
    )
    print(
        f"  geoplan matrix vs one-Dijkstra nearest: max |diff| {np.nanmax(np.abs(np.nan_to_num(nearest[0], posinf=np.nan) - matrix['minutes'].to_numpy())):.2e} min"
    )
    print(
        f"  geoplan vs pandana: median |diff| {np.nanmedian(np.abs(matrix['minutes'].to_numpy() - pandana_minutes)):.3f} min"
    )
    hull_area = np.array([h.area for h in hulls])
    print(
        f"  isochrone area / convex-hull area: median {np.median(polygons.geometry.area.to_numpy() / np.where(hull_area > 0, hull_area, np.nan)):.2f}"
    )
    print("agreement with the exact catchment (reached and cut paths buffered by the margin)")
    agreement("geoplan isochrones", polygons.geometry.to_numpy(), exact)
    agreement("buffered ego_graph (osmnx notebook)", buffered, exact)
    agreement("convex hulls", hulls, exact)

    ours = times["geoplan nearest + second nearest (no matrix)"]
    iso_cold = times[f"network isochrones, {args.venues} venues x 3 bands (cold: grid built)"]
    iso_warm = times[f"network isochrones, {args.venues} venues x 3 bands (warm: grid cached)"]
    hull = times[f"convex-hull isochrones, {args.venues} venues x 3 bands"]
    ego = times[f"buffered ego_graph isochrones, {args.venues} x 3"]
    rows = [
        [
            "network build from the OSM file (one-off)",
            seconds(times["osmnx graph build (graph_from_xml, project, largest part)"]),
            "osmnx graph + " + seconds(times["pandana Network build (from the osmnx graph)"]),
            seconds(times["geoplan network build (cold, from the OSM file)"])
            + f" (cached load {seconds(times['geoplan network load (cached)'])})",
            ratio(
                times["osmnx graph build (graph_from_xml, project, largest part)"],
                times["geoplan network build (cold, from the OSM file)"],
            ),
        ],
        [
            f"nearest + second nearest, {args.origins:,} origins × {args.venues} venues",
            seconds(times["all-origins nearest venue"]) + " (nearest only)",
            seconds(times["pandana set_pois + nearest_pois (2)"]),
            seconds(ours),
            f"osmnx {ratio(times['all-origins nearest venue'], ours)}, pandana {ratio(times['pandana set_pois + nearest_pois (2)'], ours)}",
        ],
        [
            "catchment grid, whole extract (one-off, geoplan only)",
            "–",
            "–",
            seconds(times["catchment grid build, whole extract (once per network)"]),
            "–",
        ],
        [
            f"isochrones, {args.venues} venues × 3 bands, grid built (cold)",
            f"hulls {seconds(hull)}; buffered ego_graph {seconds(ego)}",
            "–",
            seconds(iso_cold),
            f"hulls {ratio(hull, iso_cold)}, buffered {ratio(ego, iso_cold)}",
        ],
        [
            f"isochrones, {args.venues} venues × 3 bands, grid cached (warm)",
            f"hulls {seconds(hull)}; buffered ego_graph {seconds(ego)}",
            "–",
            seconds(iso_warm),
            f"hulls {ratio(hull, iso_warm)}, buffered {ratio(ego, iso_warm)}",
        ],
    ]
    print_table(
        f"Travel times and isochrones: {args.osm.name}, seed {args.seed}, buggy pace",
        ["task", "osmnx recipe (networkx)", "pandana", "geoplan", "peer / geoplan"],
        rows,
        packages=("osmnx", "networkx", "pandana", "osmium", "shapely"),
    )


if __name__ == "__main__":
    main()
