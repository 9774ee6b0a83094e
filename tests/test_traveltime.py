"""Travel times: agreement with networkx on the real extracts, hand-computed cases, crow-fly, inputs, CLI."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pytest
import shapely
from fixtures_network import BOUNDS_GREEN, NEWPORT, POIS, grid, hand_network, network_cache, newport  # noqa: F401

from geoplan import settings
from geoplan.cache import save_arrays
from geoplan.crowfly import crowfly_matrix
from geoplan.errors import CacheError, InputError, NetworkUnavailableError
from geoplan.nearest import nearest_destinations, nearest_venue
from geoplan.network import WalkNetwork, get_profile, walk_graph_from_file
from geoplan.points import read_points_csv
from geoplan.traveltime import (
    MATRIX_VERSION,
    TravelTimeMatrix,
    source_node_minutes,
    study_area_travel_times,
    travel_time_matrix,
)


@pytest.mark.parametrize("extract", [BOUNDS_GREEN, NEWPORT])
def test_node_times_agree_with_networkx_dijkstra(osm_dir: Path, extract: str) -> None:
    """The CSR engine against networkx on exactly the osmnx graph it was built from."""
    graph = walk_graph_from_file(osm_dir / extract)
    network = WalkNetwork.from_graph(graph)
    assert network.n_nodes == graph.number_of_nodes()
    pace = get_profile("buggy")
    rng = np.random.default_rng(7)
    sources = rng.choice(network.n_nodes, size=4, replace=False)
    xy = np.column_stack([network.x, network.y])
    matrix = travel_time_matrix(network, xy, xy[sources], profile=pace, cutoff_minutes=25)
    index = {int(node): i for i, node in enumerate(network.node_ids)}
    for column, source in enumerate(sources):
        reference = nx.single_source_dijkstra_path_length(graph, int(network.node_ids[source]), weight="length")
        expected = np.full(network.n_nodes, np.inf)
        for node, metres in reference.items():
            expected[index[node]] = metres / pace.metres_per_minute
        expected[expected > 25] = np.inf
        got = matrix.minutes[:, column]
        finite = np.isfinite(expected)
        assert np.array_equal(finite, np.isfinite(got))
        assert np.abs(got[finite] - expected[finite]).max() < 1e-6
        assert finite.sum() > 100


def test_points_on_edges_by_hand() -> None:
    """Square block 0-100 m; origin 30 m off the bottom edge at x=20, venue on the right edge at y=60."""
    net = hand_network({1: (0, 0), 2: (100, 0), 3: (100, 100), 4: (0, 100)}, [(1, 2), (2, 3), (3, 4), (4, 1)])
    walk = get_profile("walk")  # 80 m/min
    matrix = travel_time_matrix(net, np.array([[20.0, -30.0], [100.0, 10.0]]), np.array([[110.0, 60.0]]), profile=walk)
    # access 30 m + along the bottom 80 m to node 2 + up 60 m + venue access 10 m
    assert matrix.minutes[0, 0] == pytest.approx((30 + 80 + 60 + 10) / 80)
    # origin on the venue's edge walks straight along it: 0 access + 50 m + 10 m
    assert matrix.minutes[1, 0] == pytest.approx(60 / 80)
    assert matrix.origin_snap.distance_m == pytest.approx([30.0, 0.0])
    nearest = matrix.nearest()
    assert list(nearest.columns[:6]) == ["origin_id", "nearest_id", "minutes", "second_id", "second_minutes", "snap_m"]
    assert nearest["nearest_id"].tolist() == ["0", "0"] and nearest["second_id"].isna().all()


def test_river_with_one_bridge_routes_over_the_bridge() -> None:
    west, west_edges = grid(0, 0, 3, 6, 100, 0)
    east, east_edges = grid(400, 0, 3, 6, 100, 100)
    # bridge from (200, 500) to (400, 500); river between x=200 and x=400
    net = hand_network({**west, **east}, [*west_edges, *east_edges, (0 + 2 * 6 + 5, 100 + 5)])
    matrix = travel_time_matrix(net, np.array([[400.0, 0.0]]), np.array([[200.0, 0.0]]), profile="walk")
    # up the west bank 500 m, over 200 m, down the east bank 500 m
    assert matrix.minutes[0, 0] == pytest.approx(1200 / 80)


def test_cutoff_sparse_and_nearest(newport, osm_dir: Path) -> None:
    pois = gpd.read_file(osm_dir / POIS).to_crs(settings.measure_crs)
    venues = pois.get_coordinates().to_numpy()[:25]
    rng = np.random.default_rng(3)
    minx, miny, maxx, maxy = newport.bounds
    origins = np.column_stack([rng.uniform(minx + 2000, maxx - 2000, 800), rng.uniform(miny + 1500, maxy - 1500, 800)])
    full = travel_time_matrix(newport, origins, venues, profile="walk")
    cut = travel_time_matrix(newport, origins, venues, profile="walk", cutoff_minutes=15)
    within = np.isfinite(full.minutes) & (full.minutes <= 15)
    assert np.array_equal(np.isfinite(cut.minutes), within)
    assert np.allclose(cut.minutes[within], full.minutes[within])
    table = cut.sparse()
    assert table.nnz == within.sum() and np.allclose(table.toarray()[within], full.minutes[within])
    # nearest and second-nearest against a brute-force sort of the full matrix
    near = full.nearest()
    order = np.argsort(full.minutes, axis=1, kind="stable")
    ok = np.isfinite(full.minutes[np.arange(800), order[:, 1]])
    assert np.allclose(near["minutes"][ok], full.minutes[np.arange(800), order[:, 0]][ok])
    assert np.allclose(near["second_minutes"][ok], full.minutes[np.arange(800), order[:, 1]][ok])
    assert (near["minutes"][ok] <= near["second_minutes"][ok]).all()
    # far points are flagged, not snapped, and unreachable
    far = full.origin_snap.too_far
    assert near.loc[far, "minutes"].isna().all() and (near.loc[far, "snap_m"] > 250).all()
    assert near.loc[~far, "snap_m"].le(250).all()
    # unreachable within the cutoff: an empty value
    cut_near = cut.nearest()
    assert cut_near["minutes"].isna().sum() > near["minutes"].isna().sum()
    # the one-Dijkstra nearest venue agrees with the matrix
    minutes, _index = nearest_venue(newport, origins, venues, profile="walk")
    assert np.allclose(np.nan_to_num(minutes, posinf=-1), np.nan_to_num(near["minutes"].to_numpy(float), nan=-1))


def test_matrix_equals_the_dense_engine_to_the_last_bit(newport, osm_dir: Path) -> None:
    """The blocked sparse engine against the dense one it replaced, written out: node minutes + along the edge, then the access leg.

    Float64 and the same order of additions: equal to the last bit (float32 minutes differed by ~1e-5).
    """
    pace = get_profile("buggy")
    venues = gpd.read_file(osm_dir / POIS).to_crs(settings.measure_crs).get_coordinates().to_numpy()[:25]
    rng = np.random.default_rng(23)
    minx, miny, maxx, maxy = newport.bounds
    origins = np.vstack(
        [np.column_stack([rng.uniform(minx, maxx, 1500), rng.uniform(miny, maxy, 1500)]), venues[:5] + 3.0]
    )
    matrix = travel_time_matrix(newport, origins, venues, profile=pace, cutoff_minutes=30, check_bounds=False)
    home, venue = newport.snap(origins), newport.snap(venues)
    node_minutes, _ = source_node_minutes(newport, venue, pace, limit=30)
    edge_minutes = newport.edge_minutes(pace)
    joined = np.flatnonzero(~home.too_far)
    edge, fraction = home.edge[joined], home.fraction[joined]
    via_u = node_minutes[:, newport.edge_u[edge]] + fraction * edge_minutes[edge]
    via_v = node_minutes[:, newport.edge_v[edge]] + (1 - fraction) * edge_minutes[edge]
    expected = np.full((len(venues), len(origins)), np.inf)
    expected[:, joined] = np.minimum(via_u, via_v) + home.distance_m[joined] / pace.metres_per_minute
    for j in np.flatnonzero(~venue.too_far):
        same = joined[edge == venue.edge[j]]
        direct = (
            np.abs(home.fraction[same] - venue.fraction[j]) * edge_minutes[venue.edge[j]]
            + home.distance_m[same] / pace.metres_per_minute
            + venue.distance_m[j] / pace.metres_per_minute
        )
        expected[j, same] = np.minimum(expected[j, same], direct)
    expected[expected > 30] = np.inf
    assert np.isfinite(expected).sum() > 1000
    assert np.array_equal(matrix.minutes, expected.T)


def test_nearest_two_without_a_matrix_equals_the_matrix(newport, osm_dir: Path) -> None:
    """The two-label pass gives every home the same nearest and second-nearest minutes as the full matrix."""
    pois = gpd.read_file(osm_dir / POIS).to_crs(settings.measure_crs)
    venues = pois.get_coordinates().to_numpy()[:40]
    rng = np.random.default_rng(11)
    minx, miny, maxx, maxy = newport.bounds
    origins = np.column_stack([rng.uniform(minx, maxx, 3000), rng.uniform(miny, maxy, 3000)])
    origins = np.vstack([origins, venues[:5] + 3.0])  # homes on a venue's own edge
    for cutoff in (None, 12.0):
        expected = travel_time_matrix(
            newport, origins, venues, profile="buggy", cutoff_minutes=cutoff, check_bounds=False
        ).nearest()
        got = nearest_destinations(newport, origins, venues, profile="buggy", cutoff_minutes=cutoff)
        for column in ("minutes", "second_minutes"):
            assert np.array_equal(got[column].isna(), expected[column].isna()), column
            assert np.allclose(got[column].fillna(-1), expected[column].fillna(-1), atol=1e-4), column
        assert got["second_minutes"].notna().sum() > 100
        exact = expected["minutes"].notna() & (expected["second_minutes"] - expected["minutes"] > 1e-3)
        assert (got["nearest_id"][exact] == expected["nearest_id"][exact]).all()


def test_matrix_is_sparse_float64_and_answers_without_densifying(newport, osm_dir: Path, tmp_path: Path) -> None:
    pois = gpd.read_file(osm_dir / POIS).to_crs(settings.measure_crs)
    venues = pois.get_coordinates().to_numpy()[:30]
    rng = np.random.default_rng(5)
    minx, miny, maxx, maxy = newport.bounds
    origins = np.column_stack([rng.uniform(minx, maxx, 2000), rng.uniform(miny, maxy, 2000)])
    full = travel_time_matrix(newport, origins, venues, profile="walk", check_bounds=False)
    cut = travel_time_matrix(newport, origins, venues, profile="walk", cutoff_minutes=10, check_bounds=False)
    assert cut.table.dtype == np.float64 and cut.table.nnz == int((full.minutes <= 10).sum()) < full.table.nnz
    assert cut._dense is None
    # the engine's minutes are kept to the last bit (float32 moved them by ~1e-5 and flipped band edges)
    assert np.array_equal(cut.table.data, full.minutes[full.minutes <= 10])
    ids = [str(i) for i in range(0, 30, 3)]
    expected = full.minutes[:, [int(i) for i in ids]].min(axis=1)
    expected[expected > 10] = np.inf
    assert np.array_equal(cut.minutes_to_nearest(ids), expected) and cut._dense is None
    with pytest.raises(InputError, match="venue 'nowhere' has no travel times"):
        cut.minutes_to_nearest(["nowhere"])
    with pytest.raises(InputError, match="venue set is empty"):
        cut.minutes_to_nearest([])
    # saved and loaded through the verified cache format; a damaged file is refused and removed
    loaded = TravelTimeMatrix.load(cut.save(tmp_path / "m.npz"))
    assert (loaded.table != cut.table).nnz == 0 and loaded.cutoff_minutes == 10 and loaded.origin_ids == cut.origin_ids
    assert loaded.table.dtype == np.float64
    assert np.array_equal(loaded.origin_snap.too_far, cut.origin_snap.too_far)
    assert np.array_equal(loaded.destination_snap.distance_m, cut.destination_snap.distance_m)
    data = bytearray((tmp_path / "m.npz").read_bytes())
    data[len(data) // 2] ^= 0xFF
    (tmp_path / "m.npz").write_bytes(bytes(data))
    with pytest.raises(CacheError, match="not a usable travel-time matrix"):
        TravelTimeMatrix.load(tmp_path / "m.npz")
    assert not (tmp_path / "m.npz").exists()


def test_sparse_keeps_explicit_zeros() -> None:
    matrix = TravelTimeMatrix(["a", "b"], ["x", "y"], np.array([[0.0, np.inf], [3.0, 20.0]]), "network", "walk", 4.8)
    table = matrix.sparse(cutoff=10)
    assert table.nnz == 2 and table[0, 0] == 0.0 and matrix.reachable(10).tolist() == [[True, False], [True, False]]


def test_save_and_load(tmp_path: Path) -> None:
    matrix = crowfly_matrix(
        np.array([[0.0, 0.0]]), np.array([[300.0, 400.0], [0.0, 10.0]]), circuity=1.2, profile="buggy"
    )
    loaded = TravelTimeMatrix.load(matrix.save(tmp_path / "m.npz"))
    assert loaded.origin_ids == ["0"] and loaded.method == "crow-fly" and loaded.circuity == 1.2
    assert np.array_equal(loaded.minutes, matrix.minutes) and loaded.origin_snap is None


def test_a_matrix_of_another_version_is_not_reused(tmp_path: Path) -> None:
    """An entry of the float32 layout ("tt-2") is refused, so a stale cache cannot change results."""
    matrix = crowfly_matrix(np.array([[0.0, 0.0]]), np.array([[300.0, 400.0]]), circuity=1.2)
    path = matrix.save(tmp_path / "m.npz")
    assert TravelTimeMatrix.load(path).table.dtype == np.float64
    arrays = {
        "origin_ids": np.array(["0"]),
        "destination_ids": np.array(["0"]),
        "indptr": matrix.table.indptr,
        "indices": matrix.table.indices,
        "data": matrix.table.data.astype(np.float32),
    }
    meta = {"method": "crow-fly", "profile": "walk", "speed_kmh": 4.8, "cutoff_minutes": None, "provenance": {}}
    save_arrays(path, arrays, {"kind": "travel-times", "version": "tt-2", **meta})
    assert MATRIX_VERSION != "tt-2"
    with pytest.raises(CacheError, match="not a usable travel-time matrix"):
        TravelTimeMatrix.load(path)


def test_crowfly_minutes_by_hand() -> None:
    matrix = crowfly_matrix(
        np.array([[0.0, 0.0]]), np.array([[300.0, 400.0]]), circuity=1.3, profile="buggy", cutoff_minutes=10
    )
    assert matrix.minutes[0, 0] == pytest.approx(500 * 1.3 / (4000 / 60))
    assert matrix.method == "crow-fly"
    assert (
        crowfly_matrix(np.array([[0.0, 0.0]]), np.array([[3000.0, 4000.0]]), circuity=1.3, cutoff_minutes=10).minutes[
            0, 0
        ]
        == np.inf
    )
    with pytest.raises(InputError, match="circuity"):
        crowfly_matrix(np.zeros((1, 2)), np.zeros((1, 2)), circuity=0.5)


def _csv(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_points_csv_and_its_errors(tmp_path: Path) -> None:
    ids, xy = read_points_csv(_csv(tmp_path, "ok.csv", "id,lon,lat\na,-2.99,51.58\n"))
    assert ids == ["a"] and 330_000 < xy[0, 0] < 332_000 and 187_000 < xy[0, 1] < 189_000
    ids, xy = read_points_csv(_csv(tmp_path, "bng.csv", "id,x,y\nb,331000,188000\n"))
    assert xy.tolist() == [[331000.0, 188000.0]]
    cases = [
        ("empty.csv", "", "is empty"),
        ("cols.csv", "id,lon\na,-2.9\n", "missing coordinate columns"),
        ("noid.csv", "name,lon,lat\na,-2.9,51.5\n", "missing column 'id'"),
        ("swap.csv", "id,lon,lat\na,51.58,-2.99\n", "look swapped"),
        ("nan.csv", "id,lon,lat\na,-2.99,north\n", "not a number"),
        ("dup.csv", "id,x,y\na,1,1\na,2,2\n", "duplicate id"),
        ("far.csv", "id,lon,lat\na,10.0,40.0\n", "not in Great Britain"),
        ("deg.csv", "id,x,y\na,-2.99,51.58\n", "not an EPSG:27700"),
    ]
    for name, text, match in cases:
        with pytest.raises(InputError, match=match) as info:
            read_points_csv(_csv(tmp_path, name, text))
        assert "\n" not in str(info.value) and name in str(info.value)
    with pytest.raises(InputError, match="line 2"):
        read_points_csv(tmp_path / "swap.csv")


def test_engine_argument_errors(newport) -> None:
    xy = np.column_stack([newport.x[:3], newport.y[:3]])
    with pytest.raises(InputError, match="cutoff must be a positive"):
        travel_time_matrix(newport, xy, xy, cutoff_minutes=0)
    with pytest.raises(InputError, match="cutoff must be a positive"):
        travel_time_matrix(newport, xy, xy, cutoff_minutes=-5)
    with pytest.raises(InputError, match="unknown walking profile 'skate'"):
        travel_time_matrix(newport, xy, xy, profile="skate")
    with pytest.raises(InputError, match="outside the walking network's extent"):
        travel_time_matrix(newport, np.array([[530_000.0, 180_000.0]]), xy)


def test_traveltime_cli(tmp_path: Path, osm_dir: Path, network_cache: Path, newport) -> None:
    pois = gpd.read_file(osm_dir / POIS).to_crs(settings.measure_crs).head(5)
    destinations = tmp_path / "d.csv"
    pd.DataFrame({"id": pois["osm_id"].astype(str), "x": pois.geometry.x, "y": pois.geometry.y}).to_csv(
        destinations, index=False
    )
    lonlat = pois.to_crs(settings.display_crs)
    origins = tmp_path / "o.csv"
    pd.DataFrame(
        {"id": [f"o{i}" for i in range(5)], "lon": lonlat.geometry.x + 0.003, "lat": lonlat.geometry.y}
    ).to_csv(origins, index=False)
    out = tmp_path / "out.csv"
    env = {"GEOPLAN_CACHE": str(network_cache), "PATH": "/usr/bin:/bin"}
    base = [sys.executable, "-c", "from geoplan.cli import main; main()", "traveltime", "--osm", str(osm_dir / NEWPORT)]
    run = subprocess.run(
        [
            *base,
            "--origins",
            str(origins),
            "--destinations",
            str(destinations),
            "--profile",
            "buggy",
            "--cutoff",
            "20",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert run.returncode == 0, run.stderr
    table = pd.read_csv(out)
    assert list(table.columns[:6]) == ["origin_id", "nearest_id", "minutes", "second_id", "second_minutes", "snap_m"]
    assert (table["method"] == "network").all() and table["minutes"].between(0, 20).all()
    _ids, o_xy = read_points_csv(origins)
    _, d_xy = read_points_csv(destinations)
    expected = travel_time_matrix(newport, o_xy, d_xy, profile="buggy", cutoff_minutes=20).nearest()
    assert np.allclose(table["minutes"], expected["minutes"], atol=1e-4)
    for args, match in [
        (
            ["--origins", str(origins), "--destinations", str(destinations), "--cutoff", "0"],
            "cutoff must be a positive",
        ),
        (
            ["--origins", str(origins), "--destinations", str(destinations), "--profile", "pram"],
            "unknown walking profile",
        ),
        (
            ["--origins", str(_csv(tmp_path, "bad.csv", "id,lon\n1,2\n")), "--destinations", str(destinations)],
            "missing coordinate columns",
        ),
    ]:
        run = subprocess.run(
            [*base, *args, "--out", str(tmp_path / "x.csv")], capture_output=True, text=True, env=env, check=False
        )
        assert run.returncode == 2 and match in run.stderr and run.stderr.strip().count("\n") == 0, run.stderr
        assert not (tmp_path / "x.csv").exists()


def _stand_in(children_xy: np.ndarray, venues_xy: np.ndarray, circuity: float = 1.3) -> SimpleNamespace:
    children = gpd.GeoDataFrame(
        {"origin_id": [f"c{i}" for i in range(len(children_xy))]},
        geometry=gpd.points_from_xy(*children_xy.T),
        crs=settings.measure_crs,
    )
    venues = gpd.GeoDataFrame(
        {"venue_id": [f"v{i}" for i in range(len(venues_xy))], "located": True},
        geometry=gpd.points_from_xy(*venues_xy.T),
        crs=settings.measure_crs,
    )
    network = SimpleNamespace(osm_file=None, crowfly_circuity=circuity, crowfly_calibration="test", profile="buggy")
    catalogue = SimpleNamespace(network=network, path=None, area=SimpleNamespace(margin_m=2000))
    return SimpleNamespace(
        name="stand-in",
        children=children,
        venues=venues,
        catalogue=catalogue,
        boundary=gpd.GeoDataFrame(geometry=[shapely.box(0, 0, 1, 1)], crs=settings.measure_crs),
    )


def test_study_area_travel_times_stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newport) -> None:
    monkeypatch.setattr(settings, "cache_dir", tmp_path)
    children = np.column_stack([newport.x[::500], newport.y[::500]])
    venues = children[:3]
    area = _stand_in(children, venues)
    crow = study_area_travel_times(area, profile="buggy")
    assert crow.method == "crow-fly" and crow.minutes.shape == (len(children), 3)
    assert crow.minutes[1, 0] == pytest.approx(np.hypot(*(children[1] - children[0])) * 1.3 / (4000 / 60))
    assert list((tmp_path / "traveltimes").glob("*.npz")), "matrix cached"
    again = study_area_travel_times(area, profile="buggy")
    assert np.array_equal(again.minutes, crow.minutes)
    network = study_area_travel_times(area, profile="buggy", network=newport)
    assert network.method == "network" and (network.minutes[np.isfinite(network.minutes)] > 0).any()
    monkeypatch.setattr(settings, "allow_crowfly_fallback", False)
    with pytest.raises(NetworkUnavailableError, match="no walking network for stand-in"):
        study_area_travel_times(area, profile="buggy", use_cache=False)


def test_crow_fly_method_never_looks_for_a_network(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, newport) -> None:
    """The workspace decides: with method="crow-fly" no network is looked up; with "network" one must exist."""
    import geoplan.traveltime

    monkeypatch.setattr(settings, "cache_dir", tmp_path)
    children = np.column_stack([newport.x[::700], newport.y[::700]])
    area = _stand_in(children, children[:2])

    def no_lookup(_area: object) -> None:
        msg = "the network was looked up"
        raise AssertionError(msg)

    monkeypatch.setattr(geoplan.traveltime, "study_area_network", no_lookup)
    crow = study_area_travel_times(area, profile="buggy", method="crow-fly", use_cache=False)
    assert crow.method == "crow-fly" and crow.minutes[1, 0] == pytest.approx(
        np.hypot(*(children[1] - children[0])) * 1.3 / (4000 / 60), rel=1e-6
    )
    monkeypatch.setattr(geoplan.traveltime, "study_area_network", lambda _area: None)
    with pytest.raises(NetworkUnavailableError, match="no walking network for stand-in"):
        study_area_travel_times(area, profile="buggy", method="network", use_cache=False)
    with pytest.raises(InputError, match="method must be"):
        study_area_travel_times(area, method="bus", use_cache=False)


def test_study_area_travel_times_bexley(mirror: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from geoplan.studyarea import load_study_area

    monkeypatch.setattr(settings, "cache_dir", tmp_path)
    area = load_study_area(data_dir=mirror)
    matrix = study_area_travel_times(area, profile="buggy")
    located = area.venues[area.venues["located"]]
    assert matrix.method == "crow-fly" and matrix.minutes.shape == (len(area.children), len(located)) == (4406, 48)
    assert matrix.circuity == area.catalogue.network.crowfly_circuity
    child, venue = area.children.geometry.iloc[0], located.geometry.iloc[0]
    assert matrix.minutes[0, 0] == pytest.approx(child.distance(venue) * matrix.circuity / (4000 / 60))
