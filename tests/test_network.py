"""Walk network: filter, build from the real OSM extracts, cache, snapping, profiles, Overpass failure."""

from __future__ import annotations

import http.server
import json
import socket
import threading
from pathlib import Path

import numpy as np
import pytest
import shapely
from fixtures_network import BOUNDS_GREEN, NEWPORT_PBF, bounds_green, hand_network, network_cache  # noqa: F401

from geoplan import settings
from geoplan.errors import CacheError, InputError, NetworkUnavailableError
from geoplan.network import (
    WalkNetwork,
    WalkProfile,
    get_profile,
    load_network,
    network_from_file,
    network_from_polygon,
    save_network,
    walk_graph_from_file,
)
from geoplan.osmread import walk_exclusion


def test_walk_filter_keeps_paths_and_drops_forbidden_ways() -> None:
    for tags in [
        {"highway": "footway"},
        {"highway": "path"},
        {"highway": "steps"},
        {"highway": "pedestrian"},
        {"highway": "footway", "footway": "crossing"},
        {"highway": "residential"},
        {"highway": "service", "access": "private", "foot": "yes"},
        {"highway": "cycleway", "foot": "designated"},
    ]:
        assert walk_exclusion(tags) is None, tags
    assert walk_exclusion({"highway": "motorway"}) == "highway=motorway"
    assert walk_exclusion({"highway": "motorway_link"}) == "highway=motorway_link"
    assert walk_exclusion({"highway": "residential", "access": "private"}) == "access=private"
    assert walk_exclusion({"highway": "primary", "foot": "no"}) == "foot=no"
    assert walk_exclusion({"highway": "construction"}) == "highway=construction"
    assert walk_exclusion({"building": "yes"}) == "not a highway"


def test_bounds_green_build_reports_what_was_dropped(bounds_green) -> None:
    provenance = bounds_green.provenance
    assert provenance["osm_date"] == "2026-07-26T10:58:30Z"
    assert provenance["ways_dropped"]["access=private"] == 218
    assert provenance["ways_dropped"]["foot=no"] == 15
    assert provenance["ways_kept"] == 3556
    assert bounds_green.n_nodes == provenance["nodes"] == 3750
    assert provenance["nodes_dropped_disconnected"] == 84
    assert bounds_green.method == "network" and bounds_green.crs == "EPSG:27700"
    # projected to British National Grid: north London coordinates
    minx, miny, maxx, maxy = bounds_green.bounds
    assert 525_000 < minx < maxx < 533_000 and 190_000 < miny < maxy < 195_000
    # the geometry of each edge runs from its u node to its v node, with the stated length
    start = shapely.get_coordinates(shapely.get_point(bounds_green.edge_geometry, 0))
    assert np.allclose(
        start, np.column_stack([bounds_green.x[bounds_green.edge_u], bounds_green.y[bounds_green.edge_u]])
    )
    assert np.allclose(bounds_green.edge_length, shapely.length(bounds_green.edge_geometry), rtol=0.01, atol=0.5)
    # one connected component
    from scipy.sparse.csgraph import connected_components

    assert connected_components(bounds_green.lengths(), directed=False)[0] == 1


def test_pbf_is_read_like_the_documented_extract(osm_dir: Path, network_cache: Path) -> None:
    """The PBF goes through pyosmium; SOURCES-osm.md documents the highway ways it holds."""
    from_pbf = network_from_file(osm_dir / NEWPORT_PBF, cache_dir=network_cache)
    provenance = from_pbf.provenance
    assert provenance["ways_kept"] + sum(provenance["ways_dropped"].values()) == 8965
    assert provenance["ways_dropped"]["highway=motorway"] == 44
    assert provenance["osm_date"].startswith("2023-06-12T14:30:10")
    assert from_pbf.n_nodes == 11745
    minx, miny, maxx, maxy = from_pbf.bounds
    assert 324_000 < minx < maxx < 342_000 and 180_000 < miny < maxy < 191_000


def test_cache_is_keyed_by_the_file_and_reloads(osm_dir: Path, network_cache: Path, bounds_green) -> None:
    files = sorted((network_cache / "networks").glob("*.npz"))
    assert files, "the built network was cached"
    again = network_from_file(osm_dir / BOUNDS_GREEN, cache_dir=network_cache)
    assert again.provenance["build_seconds"] == bounds_green.provenance["build_seconds"]
    assert np.array_equal(again.edge_u, bounds_green.edge_u)
    assert shapely.equals(again.edge_geometry, bounds_green.edge_geometry).all()


def test_save_and_load_roundtrip_keeps_the_adjacency(tmp_path: Path, bounds_green) -> None:
    path = save_network(bounds_green, tmp_path / "net.npz")
    loaded = load_network(path)
    assert np.array_equal(loaded.node_ids, bounds_green.node_ids)
    assert loaded.provenance == bounds_green.provenance
    assert shapely.equals(loaded.edge_geometry, bounds_green.edge_geometry).all()
    # the CSR comes from the file, not rebuilt, and equals the one built from the edges
    assert loaded._adjacency is not None
    rebuilt = WalkNetwork(
        **{
            name: getattr(loaded, name)
            for name in ("node_ids", "x", "y", "edge_u", "edge_v", "edge_length", "edge_steps", "edge_geometry")
        }
    )
    assert (loaded.weights("buggy") != rebuilt.weights("buggy")).nnz == 0


def test_damaged_network_cache_is_rebuilt_never_trusted(tmp_path: Path, osm_dir: Path) -> None:
    network = network_from_file(osm_dir / BOUNDS_GREEN, cache_dir=tmp_path)
    (entry,) = (tmp_path / "networks").glob("*.npz")
    data = bytearray(entry.read_bytes())
    data[len(data) // 2] ^= 0xFF
    entry.write_bytes(bytes(data))
    with pytest.raises(CacheError, match="not a usable network cache file"):
        load_network(entry)
    assert not entry.exists(), "the damaged entry was removed"
    (tmp_path / "networks" / entry.name).write_bytes(b"import os; os.system('echo pwned')")
    again = network_from_file(osm_dir / BOUNDS_GREEN, cache_dir=tmp_path)
    assert again.n_edges == network.n_edges and again.provenance["build_seconds"] >= 0
    assert load_network(entry).n_nodes == network.n_nodes, "rebuilt and cached again"


def test_array_build_equals_the_osmnx_build(osm_dir: Path, bounds_green) -> None:
    """The pyosmium + numpy build gives osmnx's simplified, projected, largest-part network edge for edge."""
    reference = WalkNetwork.from_graph(walk_graph_from_file(osm_dir / BOUNDS_GREEN))
    assert np.array_equal(np.sort(bounds_green.node_ids), np.sort(reference.node_ids))

    def edges(network: WalkNetwork) -> tuple[np.ndarray, np.ndarray]:
        u, v = network.node_ids[network.edge_u], network.node_ids[network.edge_v]
        key = np.column_stack([np.minimum(u, v), np.maximum(u, v), np.round(network.edge_length, 4)])
        order = np.lexsort(key.T[::-1])
        return key[order], order

    built, built_order = edges(bounds_green)
    expected, expected_order = edges(reference)
    assert np.array_equal(built, expected)
    assert np.abs(bounds_green.edge_length[built_order] - reference.edge_length[expected_order]).max() < 1e-9
    assert np.array_equal(bounds_green.edge_steps[built_order], reference.edge_steps[expected_order])
    ours, theirs = bounds_green.edge_geometry[built_order], reference.edge_geometry[expected_order]
    same = shapely.equals_exact(ours, theirs, tolerance=1e-6) | shapely.equals_exact(
        ours, shapely.reverse(theirs), tolerance=1e-6
    )
    assert same.all()


def test_snap_to_nearest_point_on_edge_by_hand() -> None:
    net = hand_network({1: (0.0, 0.0), 2: (100.0, 0.0), 3: (100.0, 300.0)}, [(1, 2), (2, 3)])
    snap = net.snap(np.array([[30.0, 40.0], [130.0, 150.0], [700.0, 700.0]]), max_snap_m=250)
    assert snap.edge[0] == 0 and snap.fraction[0] == pytest.approx(0.3) and snap.distance_m[0] == pytest.approx(40.0)
    assert (snap.x[0], snap.y[0]) == pytest.approx((30.0, 0.0))
    # nearest point on the second edge, not the nearest node
    assert snap.edge[1] == 1 and snap.fraction[1] == pytest.approx(0.5) and snap.distance_m[1] == pytest.approx(30.0)
    assert snap.too_far.tolist() == [False, False, True] and snap.edge[2] == -1
    assert snap.distance_m[2] == pytest.approx(np.hypot(600, 400))


def test_profiles() -> None:
    assert get_profile("walk").speed_kmh == 4.8
    assert get_profile("buggy").metres_per_minute == pytest.approx(4000 / 60)
    assert get_profile("5.5").speed_kmh == 5.5
    assert get_profile(3).name == "3kmh"
    custom = WalkProfile("slow", 3.0, steps_extra_min=1.5)
    assert get_profile(custom) is custom
    with pytest.raises(InputError, match="unknown walking profile 'pram'"):
        get_profile("pram")
    with pytest.raises(InputError, match="positive"):
        get_profile("0")


def test_steps_penalty_adds_time_per_flight() -> None:
    net = hand_network({1: (0.0, 0.0), 2: (80.0, 0.0), 3: (160.0, 0.0)}, [(1, 2), (2, 3)], steps={1})
    plain = net.edge_minutes("walk")
    assert plain == pytest.approx([80 / 80, 80 / 80])
    slow = net.edge_minutes(WalkProfile("buggy-steps", 4.8, steps_extra_min=2.0))
    assert slow == pytest.approx([1.0, 3.0])


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("empty.osm", b"", "OSM file is empty"),
        ("notes.osm", b"hello, this is not XML\n", "not OpenStreetMap XML"),
        ("broken.osm.pbf", b"\x00\x01garbage" * 20, "not a readable OSM file"),
        ("table.csv", b"id,lon,lat\n", "unsupported OSM file type"),
        (
            "nohighway.osm",
            b'<?xml version="1.0"?><osm version="0.6"><node id="1" lat="51" lon="0"/></osm>',
            "no walkable",
        ),
    ],
)
def test_bad_osm_files_give_one_line_errors(tmp_path: Path, name: str, content: bytes, match: str) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(InputError, match=match) as info:
        network_from_file(path, cache=False)
    assert "\n" not in str(info.value) and str(path) in str(info.value)
    with pytest.raises(InputError, match="not found"):
        network_from_file(tmp_path / "missing.osm")


def _unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_unreachable_overpass_fails_with_network_unavailable(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    port = _unused_port()
    monkeypatch.setattr(settings, "overpass_url", f"http://127.0.0.1:{port}/api/interpreter")
    monkeypatch.setattr(settings, "overpass_timeout_s", 2.0)
    polygon = shapely.box(527_000, 191_000, 528_000, 192_000)
    with pytest.raises(NetworkUnavailableError, match=f"Overpass unreachable at http://127.0.0.1:{port}"):
        network_from_polygon(polygon, margin_m=0, cache_dir=tmp_path)


def test_overpass_fetch_from_local_server_serving_real_osm(
    osm_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, bounds_green
) -> None:
    """A local Overpass stand-in answers with the real Bounds Green extract converted to Overpass JSON."""
    from osmnx._osm_xml import _overpass_json_from_xml

    data = _overpass_json_from_xml(osm_dir / BOUNDS_GREEN, "utf-8")
    # serve the real ways of a 1.2 km square, as Overpass would for that polygon
    box = (-0.125, 51.605, -0.108, 51.616)
    inside = {
        e["id"]
        for e in data["elements"]
        if e["type"] == "node" and box[0] <= e["lon"] <= box[2] and box[1] <= e["lat"] <= box[3]
    }
    ways = [e for e in data["elements"] if e["type"] == "way" and set(e["nodes"]) <= inside]
    used = {n for way in ways for n in way["nodes"]}
    nodes = [e for e in data["elements"] if e["type"] == "node" and e["id"] in used]
    payload = json.dumps({**data, "elements": nodes + ways}).encode()
    requests_seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            requests_seen.append(self.rfile.read(int(self.headers["Content-Length"])).decode())
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(settings, "overpass_url", f"http://127.0.0.1:{server.server_port}/api/interpreter")
        from pyproj import Transformer

        x, y = Transformer.from_crs("EPSG:4326", "EPSG:27700", always_xy=True).transform(
            [box[0], box[2]], [box[1], box[3]]
        )
        polygon = shapely.box(x[0], y[0], x[1], y[1])
        fetched = network_from_polygon(polygon, margin_m=0, cache_dir=tmp_path)
    finally:
        server.shutdown()
    assert requests_seen and "highway" in requests_seen[0]
    assert fetched.method == "network" and fetched.provenance["source"].startswith("http://127.0.0.1")
    assert fetched.n_nodes > 100 and fetched.edge_length.sum() > 10_000
    minx, miny, maxx, maxy = fetched.bounds
    # the served lon/lat box and its EPSG:27700 corners differ by the grid rotation, some 20 m here
    assert x[0] - 50 <= minx and maxx <= x[1] + 50 and y[0] - 50 <= miny and maxy <= y[1] + 50
    private = sum(
        1
        for way in ways
        if way["tags"].get("access") == "private" and way["tags"].get("foot") not in {"yes", "designated", "permissive"}
    )
    assert (fetched.provenance["edges_dropped"].get("access=private", 0) > 0) == (private > 0)
    # second call: served from geoplan's network cache, no request
    count = len(requests_seen)
    network_from_polygon(polygon, margin_m=0, cache_dir=tmp_path)
    assert len(requests_seen) == count
