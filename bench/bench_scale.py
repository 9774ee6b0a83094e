"""geoplan at London scale: synthetic street networks of 100k, 400k and 1M walk nodes, beside the scipy floor.

Run: ``.venv/bin/python bench/bench_scale.py [--sizes 100000 400000 1000000] [--seed 17]``

Each network is generated (deterministic seed) as a jittered street grid of 60–90 m blocks with
bent streets (an interstitial node on every block side), missing segments, diagonal footpaths
(some of them steps), a river crossed by a bridge every ~900 m, and ways geoplan must drop
(a motorway, private service roads), written as OSM PBF. Every step runs in its own process, so
its time and its peak memory (``ru_maxrss``) are its own: build from the PBF, cached load,
nearest and second-nearest venue for 100k homes × 3,000 venues, the origin × venue matrix within
20 minutes, catchments of 100 venues (10/15/20 min, grid included), and the two public commands
from a cold cache (``geoplan traveltime`` with the network build; ``geoplan catchments``). The
floor is one multi-source ``scipy.sparse.csgraph.dijkstra`` on the same CSR graph. The default
sizes are those that run within about ten minutes on a 2-core machine (100k and 400k).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from benchkit import print_table  # noqa: E402

#: Street block side (m) before jitter, and the jitter of every corner (± m).
BLOCK_M, JITTER_M = 75.0, 15.0
#: Blocks per way: streets are mapped as ways of this many blocks.
BLOCKS_PER_WAY = 20
#: Shares of block sides missing, of blocks with a diagonal footpath, and of footpaths that are steps.
MISSING, FOOTPATHS, STEPS = 0.03, 0.10, 0.05
#: A bridge over the river every this many streets.
BRIDGE_EVERY = 12
#: Where the synthetic town sits (lon, lat of its south-west corner).
ORIGIN_LONLAT = (-0.45, 51.30)
METRES_PER_DEGREE = 111_320.0
HOMES, VENUES, CATCHMENT_VENUES = 100_000, 3_000, 100
BANDS, CUTOFF_MIN = "10,15,20", 20.0
DEFAULT_SIZES = (100_000, 400_000)


# --------------------------------------------------------------------------- generator
def write_network(path: Path, nodes: int, seed: int) -> dict[str, float]:
    """Write a synthetic OSM PBF whose walk network has about ``nodes`` junctions; returns its size."""
    import osmium

    rng = np.random.default_rng(seed)
    side = int(np.sqrt(nodes))
    i, j = np.meshgrid(np.arange(side), np.arange(side), indexing="ij")
    x = i * BLOCK_M + rng.uniform(-JITTER_M, JITTER_M, i.shape)
    y = j * BLOCK_M + rng.uniform(-JITTER_M, JITTER_M, j.shape)
    river = side // 2  # the river runs between columns river and river + 1
    lat0, lon0 = ORIGIN_LONLAT[1], ORIGIN_LONLAT[0]
    per_lon = METRES_PER_DEGREE * np.cos(np.deg2rad(lat0))

    def lonlat(px: np.ndarray, py: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return lon0 + px / per_lon, lat0 + py / METRES_PER_DEGREE

    corner = np.arange(side * side).reshape(side, side) + 1
    mid_h = corner + side * side  # between (i, j) and (i + 1, j)
    mid_v = mid_h + side * side  # between (i, j) and (i, j + 1)
    bend = rng.uniform(-8, 8, (2, side, side))
    ways: list[tuple[list[int], dict[str, str]]] = []
    missing_h = rng.random((side, side)) < MISSING
    missing_h[river, :] = True
    missing_h[river, ::BRIDGE_EVERY] = False
    missing_v = rng.random((side, side)) < MISSING
    for along_rows, missing, mid in ((True, missing_h, mid_h), (False, missing_v, mid_v)):
        for line in range(side):
            run: list[int] = []
            for step in range(side - 1):
                a = (step, line) if along_rows else (line, step)
                b = (step + 1, line) if along_rows else (line, step + 1)
                if missing[a] or len(run) >= 2 * BLOCKS_PER_WAY + 1:
                    if len(run) > 1:
                        ways.append((run, {"highway": "residential", "name": f"Street {len(ways)}"}))
                    run = [] if missing[a] else [run[-1]]
                    if missing[a]:
                        continue
                if not run:
                    run = [int(corner[a])]
                run += [int(mid[a]), int(corner[b])]
            if len(run) > 1:
                ways.append((run, {"highway": "residential"}))
    diagonal = np.argwhere(rng.random((side - 1, side - 1)) < FOOTPATHS)
    diagonal = diagonal[diagonal[:, 0] != river]
    for a, b in diagonal:
        kind = "steps" if rng.random() < STEPS else "footway"
        ways.append(([int(corner[a, b]), int(corner[a + 1, b + 1])], {"highway": kind}))
    # ways geoplan must drop: a motorway on its own nodes, private service roads along some streets
    for line in range(5, side, 97):
        ways.append(([int(corner[k, line]) for k in range(0, side, 5)], {"highway": "service", "access": "private"}))
    motorway_ids = np.arange(side) + 3 * side * side + 1
    with osmium.SimpleWriter(str(path)) as writer:
        lon, lat = lonlat(x.ravel(), y.ravel())
        for node, px, py in zip(corner.ravel().tolist(), lon.tolist(), lat.tolist(), strict=True):
            writer.add_node(osmium.osm.mutable.Node(id=node, location=(px, py)))
        for mid, (di, dj), k in ((mid_h, (1, 0), 0), (mid_v, (0, 1), 1)):
            far_x = np.roll(x, -di, axis=0) if di else np.roll(x, -dj, axis=1)
            far_y = np.roll(y, -di, axis=0) if di else np.roll(y, -dj, axis=1)
            mx, my = (x + far_x) / 2 + bend[k] * dj, (y + far_y) / 2 + bend[k] * di
            lon, lat = lonlat(mx.ravel(), my.ravel())
            for node, px, py in zip(mid.ravel().tolist(), lon.tolist(), lat.tolist(), strict=True):
                writer.add_node(osmium.osm.mutable.Node(id=node, location=(px, py)))
        lon, lat = lonlat(np.arange(side) * BLOCK_M, np.full(side, -300.0))
        for node, px, py in zip(motorway_ids.tolist(), lon.tolist(), lat.tolist(), strict=True):
            writer.add_node(osmium.osm.mutable.Node(id=node, location=(px, py)))
        for number, (refs, tags) in enumerate(ways, start=1):
            writer.add_way(osmium.osm.mutable.Way(id=number, nodes=refs, tags=tags))
        writer.add_way(
            osmium.osm.mutable.Way(id=len(ways) + 1, nodes=motorway_ids.tolist(), tags={"highway": "motorway"})
        )
    return {"side_m": float(side * BLOCK_M), "ways": float(len(ways) + 1)}


def write_points(folder: Path, side_m: float, seed: int) -> dict[str, Path]:
    """Homes, venues and the catchment venues as ``id,x,y`` CSVs (EPSG:27700, inside the town)."""
    from pyproj import Transformer

    rng = np.random.default_rng(seed + 1)
    to_bng = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True)
    per_lon = METRES_PER_DEGREE * np.cos(np.deg2rad(ORIGIN_LONLAT[1]))
    files = {}
    for name, count in (("homes", HOMES), ("venues", VENUES), ("catchment_venues", CATCHMENT_VENUES)):
        local = rng.uniform(BLOCK_M, side_m - 2 * BLOCK_M, (count, 2))
        x, y = to_bng.transform(
            ORIGIN_LONLAT[0] + local[:, 0] / per_lon, ORIGIN_LONLAT[1] + local[:, 1] / METRES_PER_DEGREE
        )
        path = folder / f"{name}.csv"
        with path.open("w") as out:
            out.write("id,x,y\n")
            out.writelines(f"{name[0]}{k},{px:.2f},{py:.2f}\n" for k, (px, py) in enumerate(zip(x, y, strict=True)))
        files[name] = path
    return files


# --------------------------------------------------------------------------- steps (each in its own process)
def step(name: str, pbf: str, folder: str) -> dict[str, float]:
    """Run one measured step in this process; returns seconds and what it produced."""
    from geoplan.nearest import nearest_destinations
    from geoplan.network import get_profile, network_from_file
    from geoplan.points import read_points_csv
    from geoplan.traveltime import travel_time_matrix

    pace = get_profile("buggy")
    result: dict[str, float] = {}
    started = time.perf_counter()
    network = network_from_file(pbf)
    result["load_s"] = time.perf_counter() - started
    result["nodes"] = network.n_nodes
    if name in ("build", "load"):
        result["seconds"] = result["load_s"]
        return result
    _, homes = read_points_csv(Path(folder) / "homes.csv")
    _, venues = read_points_csv(Path(folder) / "venues.csv")
    if name == "floor":
        from scipy.sparse.csgraph import dijkstra

        graph = network.weights(pace)
        sources = network.snap(venues).edge
        started = time.perf_counter()
        dijkstra(graph, directed=True, indices=np.unique(network.edge_u[sources]), limit=60.0, min_only=True)
        result["seconds"] = time.perf_counter() - started
    elif name == "nearest":
        started = time.perf_counter()
        table = nearest_destinations(network, homes, venues, profile=pace)
        result["seconds"] = time.perf_counter() - started
        result["reached"] = float(table["second_minutes"].notna().mean())
    elif name == "matrix":
        started = time.perf_counter()
        matrix = travel_time_matrix(network, homes, venues, profile=pace, cutoff_minutes=CUTOFF_MIN)
        result["seconds"] = time.perf_counter() - started
        result["pairs"] = float(matrix.table.nnz)
    elif name == "catchments":
        from geoplan.catchments import isochrones

        _, chosen = read_points_csv(Path(folder) / "catchment_venues.csv")
        started = time.perf_counter()
        frame = isochrones(network, chosen, minutes=BANDS, profile=pace)
        result["seconds"] = time.perf_counter() - started
        result["catchments"] = float(len(frame))
    return result


def run_step(name: str, pbf: Path, folder: Path, cache: Path) -> dict[str, float]:
    """One step in a fresh process: its result with its peak memory (GB)."""
    code = (
        "import json, resource, sys; sys.path.insert(0, sys.argv[1]); from bench_scale import step; "
        "result = step(sys.argv[2], sys.argv[3], sys.argv[4]); "
        "result['peak_gb'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20; print(json.dumps(result))"
    )
    env = {**os.environ, "GEOPLAN_CACHE": str(cache)}
    run = subprocess.run(
        [sys.executable, "-c", code, str(HERE), name, str(pbf), str(folder)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    if run.returncode != 0:
        return {"error": run.stderr.strip().splitlines()[-1] if run.stderr.strip() else f"exit {run.returncode}"}
    return json.loads(run.stdout.strip().splitlines()[-1])


def run_command(args: list[str], cache: Path) -> dict[str, float]:
    """A public ``geoplan`` command from a cold cache: wall time and the peak memory of its process."""
    env = {**os.environ, "GEOPLAN_CACHE": str(cache)}
    code = (
        "import atexit, resource, sys; "
        "atexit.register(lambda: print('PEAK', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)); "
        "from geoplan.cli import main; main()"
    )
    started = time.perf_counter()
    run = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, check=False)
    seconds = time.perf_counter() - started
    lines = run.stderr.strip().splitlines()
    if run.returncode != 0:
        errors = [line for line in lines if not line.startswith("PEAK")]
        return {"error": errors[-1] if errors else f"exit {run.returncode}"}
    peak = next(int(line.split()[1]) for line in lines if line.startswith("PEAK"))
    return {"seconds": seconds, "peak_gb": peak / 2**20}


def cell(result: dict[str, float], extra: str = "") -> str:
    if "error" in result:
        return f"failed: {result['error'][:60]}"
    return f"{result['seconds']:.2f} s, {result['peak_gb']:.2f} GB{extra}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--sizes", type=int, nargs="+", default=list(DEFAULT_SIZES), help="target walk nodes per network"
    )
    parser.add_argument("--seed", type=int, default=17)
    args = parser.parse_args()
    columns: dict[int, dict[str, str]] = {}
    with tempfile.TemporaryDirectory(prefix="geoplan-scale-") as tmp:
        for size in args.sizes:
            folder = Path(tmp) / str(size)
            folder.mkdir()
            pbf = folder / "town.osm.pbf"
            started = time.perf_counter()
            shape = write_network(pbf, size, args.seed)
            points = write_points(folder, shape["side_m"], args.seed)
            generated = time.perf_counter() - started
            cache = folder / "cache"
            rows: dict[str, str] = {}
            build = run_step("build", pbf, folder, cache)
            nodes = int(build.get("nodes", 0))
            rows["synthetic PBF"] = (
                f"{pbf.stat().st_size / 2**20:.0f} MB, {int(shape['ways']):,} ways, {shape['side_m'] / 1000:.0f} km square (written in {generated:.0f} s)"
            )
            rows["walk nodes"] = f"{nodes:,}"
            rows["network build from PBF"] = cell(build)
            rows["cached load"] = cell(run_step("load", pbf, folder, cache))
            floor = run_step("floor", pbf, folder, cache)
            rows["floor: csgraph multi-source `min_only`, limit 60"] = (
                "failed" if "error" in floor else f"{floor['seconds']:.2f} s"
            )
            nearest = run_step("nearest", pbf, folder, cache)
            rows[f"nearest + second nearest, {HOMES // 1000}k homes × {VENUES:,} venues"] = cell(nearest)
            matrix = run_step("matrix", pbf, folder, cache)
            rows[f"origin × venue matrix within {CUTOFF_MIN:g} min"] = cell(
                matrix, f", {int(matrix.get('pairs', 0)):,} pairs"
            )
            rows[f"catchments, {CATCHMENT_VENUES} venues × {BANDS} min (grid included)"] = cell(
                run_step("catchments", pbf, folder, cache)
            )
            cold = folder / "cold"
            out = folder / "nearest.csv"
            rows["`geoplan traveltime` (cold: build included)"] = cell(
                run_command(
                    [
                        "traveltime",
                        "--osm",
                        str(pbf),
                        "--origins",
                        str(points["homes"]),
                        "--destinations",
                        str(points["venues"]),
                        "--out",
                        str(out),
                    ],
                    cold,
                )
            )
            rows["`geoplan catchments` (network cached, grid cold)"] = cell(
                run_command(
                    [
                        "catchments",
                        "--osm",
                        str(pbf),
                        "--venues",
                        str(points["catchment_venues"]),
                        "--minutes",
                        BANDS,
                        "--out",
                        str(folder / "c.gpkg"),
                    ],
                    cold,
                )
            )
            columns[size] = rows
            print(f"done {size:,}: {json.dumps(rows)}", file=sys.stderr, flush=True)
    names = list(next(iter(columns.values())))
    header = ["step", *[f"{size // 1000}k target" for size in columns]]
    print_table(
        f"Scale (synthetic towns, seed {args.seed}, buggy pace)",
        header,
        [[name, *[columns[size][name] for size in columns]] for name in names],
        packages=("osmium", "shapely"),
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
