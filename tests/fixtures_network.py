"""Walking networks of the real OSM extracts and hand-built networks, shared by the network tests.

Built networks are cached under the session's base temporary folder, so the second test
module of a session loads them from the cache instead of building them again.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from geoplan.network import WalkNetwork, network_from_file

NEWPORT = "newport-2023-06-13_highways.osm.bz2"
NEWPORT_PBF = "newport-2023-06-13.osm.pbf"
BOUNDS_GREEN = "north-london-bounds-green_highways_overpass_2026-07-26.osm"
POIS = "newport-2023-06-13_pois.geojson"
ORS = "neighbours_library-walk-isochrones_ors_librarieshacked-2025-01.geojson"


@pytest.fixture(scope="session")
def network_cache(session_cache: Path) -> Path:
    return session_cache


@pytest.fixture(scope="module")
def newport(osm_dir: Path, network_cache: Path) -> WalkNetwork:
    return network_from_file(osm_dir / NEWPORT, cache_dir=network_cache)


@pytest.fixture(scope="module")
def bounds_green(osm_dir: Path, network_cache: Path) -> WalkNetwork:
    return network_from_file(osm_dir / BOUNDS_GREEN, cache_dir=network_cache)


def hand_network(
    nodes: dict[int, tuple[float, float]], edges: list[tuple[int, int]], *, steps: set[int] = frozenset()
) -> WalkNetwork:
    """A network from node coordinates and straight edges (lengths are the straight lengths)."""
    ids = sorted(nodes)
    position = {node: i for i, node in enumerate(ids)}
    xy = np.array([nodes[n] for n in ids], dtype=float)
    u = np.array([position[a] for a, _ in edges])
    v = np.array([position[b] for _, b in edges])
    geometry = shapely.linestrings(np.stack([xy[u], xy[v]], axis=1))
    return WalkNetwork(
        node_ids=np.array(ids, dtype=np.int64),
        x=xy[:, 0],
        y=xy[:, 1],
        edge_u=u,
        edge_v=v,
        edge_length=shapely.length(geometry),
        edge_steps=np.array([i in steps for i in range(len(edges))]),
        edge_geometry=geometry,
        provenance={"source": "hand-built"},
    )


def grid(
    x0: float, y0: float, nx_: int, ny_: int, spacing: float, first_id: int
) -> tuple[dict[int, tuple[float, float]], list[tuple[int, int]]]:
    """A street grid: nodes and edges, ids from ``first_id``."""
    nodes, edges = {}, []
    for i in range(nx_):
        for j in range(ny_):
            node = first_id + i * ny_ + j
            nodes[node] = (x0 + i * spacing, y0 + j * spacing)
            if i > 0:
                edges.append((node - ny_, node))
            if j > 0:
                edges.append((node - 1, node))
    return nodes, edges
