"""Isochrones: exact cuts, nesting, a river crossed by one bridge, tighter than the hull, an exact
vector reference, the grid cache, crow-fly and calibration."""

from __future__ import annotations

import itertools
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from fixtures_network import NEWPORT, ORS, POIS, grid, hand_network, network_cache, newport  # noqa: F401

from geoplan import settings
from geoplan.bands import check_bands
from geoplan.catchgrid import catchment_grid
from geoplan.catchments import (
    calibrate_against_ors,
    crowfly_isochrones,
    fallback_error,
    isochrones,
    study_area_catchments,
    write_catchments,
)
from geoplan.errors import InputError
from geoplan.network import WalkNetwork, get_profile
from geoplan.traveltime import source_node_minutes

MARGIN = 40.0


def test_partly_reached_edge_is_cut_at_the_exact_point() -> None:
    net = hand_network({1: (0.0, 0.0), 2: (2000.0, 0.0)}, [(1, 2)])
    walk = get_profile("walk")  # 80 m/min
    frame = isochrones(net, np.array([[0.0, 0.0]]), minutes=[5, 10], profile=walk, margin_m=MARGIN)
    # the path is cut where the time left equals the margin's walk, then buffered by the margin
    for band, polygon in zip(frame["band"], frame.geometry, strict=True):
        reach = band * walk.metres_per_minute - MARGIN
        assert polygon.bounds[2] == pytest.approx(reach + MARGIN)
        assert polygon.bounds[0] == pytest.approx(-MARGIN)
    assert frame["method"].eq("network").all() and frame["margin_m"].eq(MARGIN).all()


def test_venue_in_the_middle_of_an_edge_reaches_both_ways() -> None:
    net = hand_network({1: (0.0, 0.0), 2: (2000.0, 0.0)}, [(1, 2)])
    frame = isochrones(net, np.array([[1000.0, 30.0]]), minutes=[5], profile="walk", margin_m=MARGIN)
    budget = 5 * 80 - MARGIN - 30  # the venue's own 30 m access leg comes first
    minx, _, maxx, _ = frame.geometry.iloc[0].bounds
    assert (minx, maxx) == pytest.approx((1000 - budget - MARGIN, 1000 + budget + MARGIN))


def test_river_crossed_by_one_bridge() -> None:
    """West bank x 0-200, east bank x 400-600, river between; the only bridge is at y=500."""
    west, west_edges = grid(0, 0, 3, 6, 100, 0)
    east, east_edges = grid(400, 0, 3, 6, 100, 100)
    bridge = (2 * 6 + 5, 100 + 5)
    venue = np.array([[200.0, 0.0]])
    opposite = shapely.Point(400, 0)  # 200 m away across the water
    bridge_end = shapely.Point(400, 500)
    with_bridge = hand_network({**west, **east}, [*west_edges, *east_edges, bridge])
    frame = isochrones(with_bridge, venue, minutes=[8, 12, 16], profile="walk", margin_m=MARGIN)
    by_band = dict(zip(frame["band"], frame.geometry, strict=True))
    # 8 min = 640 m: on foot the far bank is 500 + 200 m away at the bridge
    assert by_band[8].bounds[2] < 400 and by_band[8].intersection(shapely.box(240, -100, 400, 440)).area == 0
    # 12 min = 960 m reaches the bridge end (700 m) but not the point opposite (1200 m)
    assert by_band[12].contains(bridge_end) and not by_band[12].contains(opposite)
    # 16 min = 1280 m reaches the opposite point, walked round by the bridge
    assert by_band[16].contains(opposite)
    assert not by_band[16].contains(shapely.Point(300, 0)), "nothing in the river itself"
    without = hand_network({**west, **east}, [*west_edges, *east_edges])
    cut_off = isochrones(without, venue, minutes=[30], profile="walk", margin_m=MARGIN).geometry.iloc[0]
    assert cut_off.bounds[2] == pytest.approx(200 + MARGIN)


def test_newport_catchments_nested_with_holes_and_tighter_than_hull(newport, osm_dir: Path) -> None:
    pois = gpd.read_file(osm_dir / POIS).to_crs(settings.measure_crs)
    libraries = pois[pois["amenity"] == "library"].head(3)
    frame = isochrones(
        newport,
        libraries.get_coordinates().to_numpy(),
        venue_ids=libraries["name"].tolist(),
        minutes="10,15,20",
        profile="buggy",
    )
    assert len(frame) == 9 and frame.crs == "EPSG:27700" and frame.geometry.is_valid.all()
    for _, group in frame.groupby("venue_id"):
        polygons = group.sort_values("band").geometry.to_list()
        assert polygons[0].area < polygons[1].area < polygons[2].area
        for small, big in itertools.pairwise(polygons):
            assert small.difference(big).area < 1e-3
        largest = polygons[-1]
        hull = largest.convex_hull
        assert largest.area < 0.95 * hull.area
        assert sum(len(part.interiors) for part in shapely.get_parts(largest)) > 0, "street blocks stay holes"
        # the 20-minute catchment cannot be larger than a disc of the walkable distance plus the margin
        assert largest.area < np.pi * (20 * 4000 / 60 + settings.catchment_margin_m) ** 2
    assert frame["area_m2"].to_numpy() == pytest.approx(frame.geometry.area.to_numpy())
    together = isochrones(newport, libraries.get_coordinates().to_numpy(), minutes=[15], profile="buggy", together=True)
    union = shapely.union_all(frame[frame["band"] == 15].geometry.to_numpy())
    assert together["venue_id"].iloc[0] == "all"
    assert together.geometry.iloc[0].symmetric_difference(union).area < 0.01 * union.area


def test_catchment_agrees_with_travel_times(newport) -> None:
    """Nodes reachable within the band less the margin's walk are inside; few nodes inside are slower.

    The margin is measured in a straight line, so a node within it of a reached path but
    fenced off from it can be inside: with the default 25 m margin that stays rare.
    """
    from geoplan.traveltime import travel_time_matrix

    xy = np.column_stack([newport.x, newport.y])
    venues = xy[[2000, 5000]]
    frame = isochrones(newport, venues, minutes=[12], profile="walk")
    minutes = travel_time_matrix(newport, xy, venues, profile="walk").minutes
    budget = 12 - settings.catchment_margin_m / 80
    for column, polygon in enumerate(frame.geometry):
        inside = shapely.contains_xy(polygon, xy[:, 0], xy[:, 1])
        assert inside[minutes[:, column] <= budget].all()
        assert (minutes[inside, column] > 12).mean() < 0.05


def test_straight_path_catchment_is_the_stadium_around_the_reached_stretch() -> None:
    """From the end of a straight path: the 360 m reached within 5 min less the margin's walk, buffered by 40 m."""
    net = hand_network({1: (0.0, 0.0), 2: (2000.0, 0.0)}, [(1, 2)])
    polygon = isochrones(net, np.array([[0.0, 0.0]]), minutes=[5], profile="walk", margin_m=MARGIN).geometry.iloc[0]
    stadium_area = 2 * MARGIN * 360 + np.pi * MARGIN**2
    # the contour draws the round ends as chords between 10 m grid lines: a little inside the circle
    assert stadium_area * 0.99 < polygon.area < stadium_area
    exact = shapely.LineString([(0, 0), (360, 0)]).buffer(MARGIN, quad_segs=64)
    assert polygon.symmetric_difference(exact).area < 0.01 * stadium_area
    assert exact.buffer(0.01).contains(polygon)


def _vector_reference(network: WalkNetwork, venue: np.ndarray, band: float, pace_name: str) -> shapely.Geometry:
    """The catchment built the direct way: reached and cut path pieces, each buffered by the margin, unioned."""
    from shapely.ops import substring

    pace = get_profile(pace_name)
    margin = settings.catchment_margin_m
    budget = band - margin / pace.metres_per_minute
    snap = network.snap(venue.reshape(1, 2))
    times, _ = source_node_minutes(network, snap, pace, limit=budget)
    t_u, t_v = times[0, network.edge_u], times[0, network.edge_v]
    weight = network.edge_minutes(pace)
    pieces = []
    for edge in np.flatnonzero(np.minimum(t_u, t_v) < budget):
        line = network.edge_geometry[edge]
        from_u = np.clip((budget - t_u[edge]) / weight[edge], 0, 1)
        from_v = np.clip((budget - t_v[edge]) / weight[edge], 0, 1)
        if from_u + from_v >= 1:
            pieces.append(line)
            continue
        pieces += [substring(line, 0, from_u, normalized=True)] if from_u > 0 else []
        pieces += [substring(line, 1 - from_v, 1, normalized=True)] if from_v > 0 else []
    own, along = network.edge_geometry[snap.edge[0]], snap.fraction[0]
    reach = (budget - snap.distance_m[0] / pace.metres_per_minute) / weight[snap.edge[0]]
    pieces.append(substring(own, max(along - reach, 0), min(along + reach, 1), normalized=True))
    return shapely.union_all(shapely.buffer(np.array(pieces), margin, quad_segs=16))


def test_grid_catchments_match_an_exact_vector_reference(newport, osm_dir: Path) -> None:
    """Two Newport libraries: the grid contour against buffered path pieces, at 10 m and at 5 m."""
    pois = gpd.read_file(osm_dir / POIS).to_crs(settings.measure_crs)
    libraries = pois[pois["amenity"] == "library"].head(2).get_coordinates().to_numpy()
    for resolution, floor in ((10.0, 0.97), (5.0, 0.985)):
        frame = isochrones(newport, libraries, minutes=[10, 15], profile="buggy", resolution_m=resolution)
        for (j, band), polygon in zip(
            zip(frame["venue_id"].astype(int), frame["band"], strict=True), frame.geometry, strict=True
        ):
            reference = _vector_reference(newport, libraries[j], band, "buggy")
            iou = polygon.intersection(reference).area / polygon.union(reference).area
            assert iou > floor, (resolution, j, band, iou)
            assert polygon.area == pytest.approx(reference.area, rel=0.02)


def test_catchment_grid_is_cached_and_rebuilt_when_corrupt(tmp_path: Path) -> None:
    import pickle

    net = hand_network({1: (0.0, 0.0), 2: (500.0, 0.0), 3: (500.0, 300.0)}, [(1, 2), (2, 3)])
    grid = catchment_grid(net, margin_m=25.0, resolution_m=10.0, cache_dir=tmp_path)
    (cached,) = (tmp_path / "catchgrids").glob("*.npz")
    assert "_catchment_grids" not in pickle.loads(pickle.dumps(net)).__dict__, (
        "the grid is not pickled with the network"
    )
    # a fresh copy of the same network loads the same grid from disk
    again = catchment_grid(pickle.loads(pickle.dumps(net)), margin_m=25.0, resolution_m=10.0, cache_dir=tmp_path)
    for name in ("row", "col", "from_u", "to_v", "offsets", "beyond_m"):
        assert np.array_equal(getattr(grid, name), getattr(again, name))
    # every grid point within 25 m of the first edge is paired with it, its stretch the chord around the foot
    rows = slice(grid.offsets[0], grid.offsets[1])
    x = grid.x0 + grid.col[rows] * grid.resolution_m
    y = grid.y0 + grid.row[rows] * grid.resolution_m
    assert len(x) == sum(
        1
        for gx in np.arange(-30, 531, 10)
        for gy in np.arange(-30, 31, 10)
        if shapely.Point(gx, gy).distance(net.edge_geometry[0]) <= 25
    )
    half = np.sqrt(25.0**2 - y**2)
    assert grid.from_u[rows] == pytest.approx(np.clip(x - half, 0, 500), abs=1e-3)
    assert grid.to_v[rows] == pytest.approx(500 - np.clip(x + half, 0, 500), abs=1e-3)
    cached.write_bytes(b"not a grid")
    rebuilt = catchment_grid(pickle.loads(pickle.dumps(net)), margin_m=25.0, resolution_m=10.0, cache_dir=tmp_path)
    assert np.array_equal(rebuilt.from_u, grid.from_u) and cached.stat().st_size > 100
    for bad in ({"resolution_m": 30.0}, {"resolution_m": 0.0}, {"margin_m": -1.0}):
        with pytest.raises(InputError, match=r"resolution_m|margin_m"):
            catchment_grid(net, **{"margin_m": 25.0, "resolution_m": 10.0, **bad})


def test_window_grid_holds_the_whole_grid_there(newport) -> None:
    """A grid built for a window has exactly the whole-network grid's points, pairs and distances inside it."""
    whole = catchment_grid(newport, margin_m=25.0, resolution_m=10.0, cache=False)
    minx, miny, _, _ = newport.bounds
    window = (minx + 3_003.0, miny + 2_007.0, minx + 5_001.0, miny + 4_004.0)
    part = catchment_grid(newport, margin_m=25.0, resolution_m=10.0, window=window, cache=False)
    assert part.size_bytes < whole.size_bytes / 5

    def pairs(grid) -> pd.DataFrame:
        edge = np.repeat(np.arange(newport.n_edges), np.diff(grid.offsets))
        x, y = grid.x0 + grid.col * grid.resolution_m, grid.y0 + grid.row * grid.resolution_m
        inside = (x >= window[0]) & (x <= window[2]) & (y >= window[1]) & (y <= window[3])
        frame = pd.DataFrame(
            {"edge": edge, "x": np.round(x, 3), "y": np.round(y, 3), "from_u": grid.from_u, "to_v": grid.to_v}
        )
        return frame[inside].sort_values(["edge", "x", "y"]).reset_index(drop=True)

    assert len(pairs(part)) == len(part.row) > 1000
    pd.testing.assert_frame_equal(pairs(part), pairs(whole))
    row0, col0 = round((part.y0 - whole.y0) / 10), round((part.x0 - whole.x0) / 10)
    rows, cols = part.beyond_m.shape
    assert np.array_equal(part.beyond_m, whole.beyond_m[row0 : row0 + rows, col0 : col0 + cols])


def test_tiled_catchments_equal_whole_grid_catchments(newport, osm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A large network's catchments, drawn tile by tile on grids of their reach only, are the whole grid's."""
    import geoplan.catchments

    pois = gpd.read_file(osm_dir / POIS).to_crs(settings.measure_crs)
    venues = pois.get_coordinates().to_numpy()[::20]
    whole = isochrones(newport, venues, minutes="10,20", profile="buggy")
    monkeypatch.setattr(geoplan.catchments, "WHOLE_GRID_CELLS", 0)
    tiled = isochrones(newport, venues, minutes="10,20", profile="buggy")
    together = isochrones(newport, venues[:4], minutes="10,20", profile="buggy", together=True)
    assert len(tiled) == len(whole) > 10 and (tiled["venue_id"] == whole["venue_id"]).all()
    difference = shapely.area(shapely.symmetric_difference(tiled.geometry.to_numpy(), whole.geometry.to_numpy()))
    assert difference.max() < 1e-3 * whole["area_m2"].min()
    monkeypatch.setattr(geoplan.catchments, "WHOLE_GRID_CELLS", 10**12)
    assert (
        together.geometry.iloc[-1]
        .symmetric_difference(
            isochrones(newport, venues[:4], minutes="10,20", profile="buggy", together=True).geometry.iloc[-1]
        )
        .area
        < 1.0
    )


def test_catchments_cli(tmp_path: Path, osm_dir: Path, network_cache: Path, newport) -> None:
    import subprocess
    import sys

    pois = gpd.read_file(osm_dir / POIS).to_crs(settings.measure_crs)
    libraries = pois[pois["amenity"] == "library"].head(3)
    venues = tmp_path / "v.csv"
    pd.DataFrame({"id": libraries["name"], "x": libraries.geometry.x, "y": libraries.geometry.y}).to_csv(
        venues, index=False
    )
    env = {"GEOPLAN_CACHE": str(network_cache), "PATH": "/usr/bin:/bin"}
    base = [
        sys.executable,
        "-c",
        "from geoplan.cli import main; main()",
        "catchments",
        "--osm",
        str(osm_dir / NEWPORT),
        "--venues",
        str(venues),
    ]
    out = tmp_path / "c.gpkg"
    run = subprocess.run(
        [*base, "--minutes", "10,15", "--resolution", "5", "--out", str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    written = gpd.read_file(out, layer="catchments")
    expected = isochrones(
        newport,
        libraries.get_coordinates().to_numpy(),
        venue_ids=libraries["name"].tolist(),
        minutes=[10, 15],
        profile="buggy",
        resolution_m=5,
    )
    assert written["venue_id"].tolist() == expected["venue_id"].tolist() and written["method"].eq("network").all()
    assert written.geometry.area.to_numpy() == pytest.approx(expected["area_m2"].to_numpy(), rel=1e-9)
    for args, match in [
        (["--resolution", "40"], "must not exceed the margin"),
        (["--minutes", "0"], "positive number of minutes"),
        (["--profile", "pram"], "unknown walking profile"),
    ]:
        run = subprocess.run(
            [*base, *args, "--out", str(tmp_path / "x.gpkg")], capture_output=True, text=True, env=env, check=False
        )
        assert run.returncode == 2 and match in run.stderr and run.stderr.strip().count("\n") == 0, run.stderr
        assert not (tmp_path / "x.gpkg").exists()


def test_crowfly_discs_and_study_area(mirror: Path) -> None:
    frame = crowfly_isochrones(np.array([[0.0, 0.0]]), circuity=1.25, minutes=[10], profile="buggy")
    radius = 10 * 4000 / 60 / 1.25
    assert frame["method"].iloc[0] == "crow-fly" and frame.geometry.iloc[0].bounds[2] == pytest.approx(radius)
    from geoplan.studyarea import load_study_area

    area = load_study_area(data_dir=mirror)
    bexley = study_area_catchments(area, minutes=[10, 15, 20], profile="buggy")
    assert len(bexley) == 48 * 3 and bexley["method"].eq("crow-fly").all()
    assert bexley["circuity"].eq(area.catalogue.network.crowfly_circuity).all()


def test_write_catchments(tmp_path: Path) -> None:
    frame = crowfly_isochrones(np.array([[530_000.0, 175_000.0]]), circuity=1.3, minutes=[10, 15])
    path = write_catchments(frame, tmp_path / "c.gpkg")
    back = gpd.read_file(path, layer="catchments")
    assert back.crs == "EPSG:27700" and back["band"].tolist() == [10.0, 15.0]


def test_bad_bands() -> None:
    assert check_bands("20,10,15") == (10.0, 15.0, 20.0)
    for bad in ["10,-5", "abc", "", [0]]:
        with pytest.raises(InputError, match="minutes"):
            check_bands(bad)


def test_calibration_against_ors(osm_dir: Path) -> None:
    fits = calibrate_against_ors(osm_dir / ORS)
    assert len(fits) == 15 * 3
    assert fits["k_iou"].between(1.0, 2.5).all() and fits["iou"].between(0.3, 1.0).all()
    # k_area by hand for one catchment: the disc radius that gives the polygon's area
    ors = gpd.read_file(osm_dir / ORS).to_crs(settings.measure_crs)
    row = ors[(ors["minutes"] == 15)].iloc[0]
    expected = 5.0 * 1000 / 60 * 15 / np.sqrt(row.geometry.area / np.pi)
    got = fits[(fits["library"] == row["library"]) & (fits["minutes"] == 15)]["k_area"].iloc[0]
    assert got == pytest.approx(expected)
    error = fallback_error(
        float(fits["k_iou"].median()),
        ors[ors["minutes"] == 15].rename(columns={"minutes": "band"}),
        gpd.GeoSeries(
            gpd.points_from_xy(ors[ors["minutes"] == 15]["library_lon"], ors[ors["minutes"] == 15]["library_lat"]),
            crs=4326,
        )
        .to_crs(27700)
        .get_coordinates()
        .to_numpy(),
        speed_kmh=5.0,
    )
    assert error.loc[15.0 if 15.0 in error.index else 15, "n"] == 15
