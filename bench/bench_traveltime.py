"""Nearest-venue travel times and isochrones on a real OSM extract: osmnx recipe vs pandana vs geoplan.

Same extract, same origins and venues, one run; prints the timings and the ratios.

    .venv/bin/python bench/bench_traveltime.py [--osm FILE] [--origins 5000] [--venues 30]

(a) the common osmnx recipe: nearest nodes, one networkx Dijkstra per venue, ego_graph +
    convex hull isochrones, and the osmnx example notebook's buffered ego_graph isochrones
    (nodes and whole edges buffered by the margin, unioned); (b) pandana: network build +
    precompute + nearest_pois; (c) geoplan: snapping to edges + one CSR Dijkstra (matrix and
    nearest/second-nearest), and network isochrones drawn on the catchment grid, for the sample
    venues and for all the extract's POIs. Graph building from the OSM file is not timed for (a)
    and (c) (geoplan loads its cached network); pandana's own build is timed, and so is the
    catchment grid's build (once per network) and its load from the disk cache.

Every isochrone method is scored against the exact catchment: reached and cut path pieces, each
buffered by the margin with fine round caps (16 segments per quarter circle), unioned.
"""

from __future__ import annotations

import argparse
import os
import pickle
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import networkx as nx
import numpy as np
import osmnx as ox
import shapely

from shapely.ops import substring

from geoplan import settings
from geoplan.catchgrid import catchment_grid
from geoplan.catchments import isochrones
from geoplan.network import WalkNetwork, WalkProfile, get_profile, network_from_file, walk_graph_from_file
from geoplan.traveltime import nearest_venue, source_node_minutes, travel_time_matrix

DATA = Path(os.environ.get("GEOPLAN_DATA", Path(__file__).resolve().parents[2] / "shared" / "data")) / "raw" / "osm"
BANDS = (10, 15, 20)


def timed(label: str, func, results: dict[str, float]):
    started = time.perf_counter()
    value = func()
    results[label] = time.perf_counter() - started
    print(f"  {label:<48} {results[label]:8.3f} s")
    return value


def exact_catchments(network: WalkNetwork, venues: np.ndarray, pace: WalkProfile, margin: float) -> list[shapely.Geometry]:
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
                pieces.append(substring(own, max(snap.fraction[j] - reach, 0), min(snap.fraction[j] + reach, 1), normalized=True))
            result.append(shapely.union_all(shapely.buffer(np.array(pieces, dtype=object), margin, quad_segs=16)))
    return result


def agreement(label: str, polygons: list[shapely.Geometry] | np.ndarray, exact: list[shapely.Geometry]) -> None:
    polygons, exact = np.asarray(polygons, dtype=object), np.asarray(exact, dtype=object)
    iou = shapely.area(shapely.intersection(polygons, exact)) / shapely.area(shapely.union(polygons, exact))
    ratio = shapely.area(polygons) / shapely.area(exact)
    print(f"  {label:<40} IoU median {np.median(iou):.3f} (min {iou.min():.3f}); area ratio median {np.median(ratio):.3f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--osm", type=Path, default=DATA / "newport-2023-06-13_highways.osm.bz2")
    parser.add_argument("--pois", type=Path, default=DATA / "newport-2023-06-13_pois.geojson")
    parser.add_argument("--origins", type=int, default=5000)
    parser.add_argument("--venues", type=int, default=30)
    args = parser.parse_args()
    pace = get_profile("buggy")
    times: dict[str, float] = {}

    print(f"extract: {args.osm.name}")
    network = timed("geoplan network load (cached; built if first run)", lambda: network_from_file(args.osm), times)
    network = timed("geoplan network load (cached)", lambda: network_from_file(args.osm), times)
    graph = walk_graph_from_file(args.osm)  # the same filtered graph for the osmnx recipe and pandana
    print(f"  network: {network.n_nodes:,} nodes, {network.n_edges:,} edges")

    rng = np.random.default_rng(42)
    pois = gpd.read_file(args.pois).to_crs(settings.measure_crs)
    all_venues = pois.get_coordinates().to_numpy()
    venues = all_venues[rng.choice(len(all_venues), size=args.venues, replace=False)]
    picks = rng.choice(network.n_nodes, size=args.origins)
    origins = np.column_stack([network.x[picks], network.y[picks]]) + rng.normal(0, 30, size=(args.origins, 2))
    print(f"  {args.origins:,} origins (network nodes jittered 30 m), {args.venues} venues from the extract's POIs")

    # (a) osmnx recipe
    print("(a) osmnx recipe (networkx)")
    for u, v, k, data in graph.edges(keys=True, data=True):
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
        return [shapely.MultiPoint([(d["x"], d["y"]) for _, d in sub.nodes(data=True)]).convex_hull for sub in ego_graphs()]

    hulls = timed(f"convex-hull isochrones, {args.venues} venues x 3 bands", osmnx_isochrones, times)
    margin = settings.catchment_margin_m

    def osmnx_buffered_isochrones():
        polygons = []
        for sub in ego_graphs():
            points = shapely.points([(d["x"], d["y"]) for _, d in sub.nodes(data=True)])
            lines = [
                data["geometry"] if "geometry" in data else shapely.LineString([(graph.nodes[u]["x"], graph.nodes[u]["y"]), (graph.nodes[v]["x"], graph.nodes[v]["y"])])
                for u, v, data in sub.edges(data=True)
            ]
            polygons.append(shapely.union_all(shapely.buffer(np.concatenate([points, np.array(lines, dtype=object)]), margin)))
        return polygons

    buffered = timed(f"buffered ego_graph isochrones, {args.venues} x 3", osmnx_buffered_isochrones, times)

    # (b) pandana
    print("(b) pandana")
    import pandana

    def pandana_nearest():
        nodes, edges = ox.graph_to_gdfs(graph)
        edges = edges.reset_index()
        net = pandana.Network(nodes["x"], nodes["y"], edges["u"], edges["v"], edges[["minutes"]], twoway=True)
        net.precompute(60)
        net.set_pois("venues", 60, 2, venues[:, 0], venues[:, 1])
        nearest = net.nearest_pois(60, "venues", num_pois=2)
        node_ids = net.get_node_ids(origins[:, 0], origins[:, 1])
        return nearest.loc[node_ids.to_numpy(), 1].to_numpy()

    pandana_minutes = timed("build + precompute + nearest_pois (2)", pandana_nearest, times)

    # (c) geoplan
    print("(c) geoplan")
    matrix = timed("snap + matrix + nearest/second (no cutoff)", lambda: travel_time_matrix(network, origins, venues, profile=pace).nearest(), times)
    timed("snap + matrix + nearest/second (60 min cutoff)", lambda: travel_time_matrix(network, origins, venues, profile=pace, cutoff_minutes=60).nearest(), times)
    nearest = timed("all-origins nearest venue (one multi-source Dijkstra)", lambda: nearest_venue(network, origins, venues, profile=pace), times)
    with tempfile.TemporaryDirectory() as cache:
        fresh = pickle.loads(pickle.dumps(network))  # noqa: S301 - a copy without the memoised grid
        grid = timed("catchment grid build (once per network)", lambda: catchment_grid(fresh, margin_m=margin, resolution_m=settings.catchment_resolution_m, cache_dir=Path(cache)), times)
        fresh = pickle.loads(pickle.dumps(network))  # noqa: S301
        timed("catchment grid load (disk cache)", lambda: catchment_grid(fresh, margin_m=margin, resolution_m=settings.catchment_resolution_m, cache_dir=Path(cache)), times)
        catchment_grid(network, margin_m=margin, resolution_m=settings.catchment_resolution_m, cache_dir=Path(cache))  # memoised for the runs below
    print(f"  grid: {len(grid.row):,} grid point x edge pairs, {grid.size_bytes / 1e6:.1f} MB, {settings.catchment_resolution_m:g} m")
    polygons = timed(f"network isochrones, {args.venues} venues x 3 bands", lambda: isochrones(network, venues, minutes=BANDS, profile=pace), times)
    timed("network isochrones, all venues together x 3 bands", lambda: isochrones(network, all_venues, minutes=BANDS, profile=pace, together=True), times)
    timed(f"network isochrones, all {len(all_venues)} POIs x 3 bands", lambda: isochrones(network, all_venues, minutes=BANDS, profile=pace), times)
    exact = timed(f"exact buffered paths (reference), {args.venues} x 3", lambda: exact_catchments(network, venues, pace, margin), times)

    print("agreement (minutes to nearest venue)")
    finite = np.isfinite(recipe_minutes) & matrix["minutes"].notna().to_numpy()
    print(f"  geoplan vs osmnx recipe: median |diff| {np.median(np.abs(matrix['minutes'].to_numpy()[finite] - recipe_minutes[finite])):.3f} min (nearest node vs nearest edge + access leg)")
    print(f"  geoplan matrix vs one-Dijkstra nearest: max |diff| {np.nanmax(np.abs(np.nan_to_num(nearest[0], posinf=np.nan) - matrix['minutes'].to_numpy())):.2e} min")
    print(f"  geoplan vs pandana: median |diff| {np.nanmedian(np.abs(matrix['minutes'].to_numpy() - pandana_minutes)):.3f} min")
    hull_area = np.array([h.area for h in hulls])
    print(f"  isochrone area / convex-hull area: median {np.median(polygons.geometry.area.to_numpy() / np.where(hull_area > 0, hull_area, np.nan)):.2f}")
    print("agreement with the exact catchment (reached and cut paths buffered by the margin)")
    agreement("geoplan isochrones", polygons.geometry.to_numpy(), exact)
    agreement("buffered ego_graph (osmnx notebook)", buffered, exact)
    agreement("convex hulls", hulls, exact)

    print("ratios (others / geoplan)")
    ours = times["snap + matrix + nearest/second (no cutoff)"]
    ours_nearest = times["all-origins nearest venue (one multi-source Dijkstra)"]
    print(f"  osmnx recipe / geoplan matrix+nearest:  {times['all-origins nearest venue'] / ours:8.1f}x")
    print(f"  osmnx recipe / geoplan one-Dijkstra:     {times['all-origins nearest venue'] / ours_nearest:8.1f}x")
    print(f"  pandana (incl. build) / geoplan matrix:  {times['build + precompute + nearest_pois (2)'] / ours:8.1f}x")
    ours_iso = times[f"network isochrones, {args.venues} venues x 3 bands"]
    print(f"  convex hulls / geoplan isochrones:       {times[f'convex-hull isochrones, {args.venues} venues x 3 bands'] / ours_iso:8.1f}x")
    print(f"  buffered ego_graph / geoplan isochrones: {times[f'buffered ego_graph isochrones, {args.venues} x 3'] / ours_iso:8.1f}x")
    print(f"  exact buffers / geoplan isochrones:      {times[f'exact buffered paths (reference), {args.venues} x 3'] / ours_iso:8.1f}x")


if __name__ == "__main__":
    main()
