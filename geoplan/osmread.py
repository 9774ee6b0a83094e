"""Reading OpenStreetMap files into walkable street arrays, the way osmnx would build its graph.

pyosmium reads the highway ways with their node locations; :func:`walk_exclusion` keeps the
walkable ones; :func:`simplify_ways` turns them into the simplified, projected, largest connected
network as plain arrays — the same network ``osmnx.graph_from_xml(simplify=True)``, then
``project_graph`` and ``largest_component``, give, without building a networkx graph.
"""

from __future__ import annotations

import bz2
import re
from array import array
from dataclasses import dataclass, field
from pathlib import Path
from xml.sax.saxutils import quoteattr

import numpy as np
import shapely
from pyproj import Transformer
from scipy import sparse
from scipy.sparse.csgraph import connected_components

from geoplan import settings
from geoplan.errors import InputError

#: Highway values that are never walkable (motorways, ways not yet or no longer built).
EXCLUDED_HIGHWAYS = frozenset(
    {
        "motorway",
        "motorway_link",
        "proposed",
        "construction",
        "planned",
        "abandoned",
        "disused",
        "razed",
        "raceway",
        "bus_guideway",
        "busway",
        "escape",
        "no",
    }
)
#: ``foot`` values that forbid walking; ``use_sidepath`` sends pedestrians to a separately mapped pavement.
FOOT_FORBIDDEN = frozenset({"no", "private", "use_sidepath"})
#: ``foot`` values that allow walking even where general ``access`` is restricted.
FOOT_ALLOWED = frozenset({"yes", "designated", "permissive", "destination", "official"})
#: ``access`` values that forbid walking unless ``foot`` says otherwise.
ACCESS_FORBIDDEN = frozenset({"no", "private"})
#: Way tags kept on graph edges (osmnx keeps only the tags it is told to).
WAY_TAGS = ("highway", "foot", "access", "service", "area", "name")

#: Overpass query filter: highways that may be walkable (the tag filter then decides).
OVERPASS_WALK_FILTER = '["highway"]["area"!~"yes"]["highway"!~"motorway|motorway_link|proposed|construction|abandoned|raceway|bus_guideway"]'

#: Earth radius osmnx measures way segments with (great-circle metres), so lengths match it.
EARTH_RADIUS_M = 6_371_009
#: pyosmium's fixed-point coordinate unit (degrees × 10⁷); its "undefined" marker.
_COORDINATE_SCALE = 10_000_000
_UNDEFINED_COORDINATE = 2**31 - 1
_OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.pbf", ".pbf")
_SNIFF_BYTES = 4096
_OSM_BASE = re.compile(r'osm_base="([^"]+)"')


def walk_exclusion(tags: dict[str, str]) -> str | None:
    """Why a highway way is not walkable, or ``None`` when it is.

    Keeps footways, paths, steps, pedestrian streets, crossings, cycleways that allow feet and
    ordinary streets; drops motorways, unbuilt ways, areas, ``foot=no/private/use_sidepath``,
    and ``access=no/private`` unless ``foot`` explicitly allows walking.
    """
    highway = tags.get("highway")
    if highway is None:
        return "not a highway"
    if highway in EXCLUDED_HIGHWAYS:
        return f"highway={highway}"
    if tags.get("area") == "yes":
        return "area=yes"
    foot = tags.get("foot")
    if foot in FOOT_FORBIDDEN:
        return f"foot={foot}"
    access = tags.get("access")
    if access in ACCESS_FORBIDDEN and foot not in FOOT_ALLOWED:
        return f"access={access}"
    if tags.get("service") == "private" and foot not in FOOT_ALLOWED:
        return "service=private"
    return None


@dataclass
class OsmWays:
    """The walkable ways of an OSM file as flat arrays: their node references in order, with coordinates."""

    way_ids: np.ndarray
    way_offsets: np.ndarray
    way_steps: np.ndarray
    refs: np.ndarray
    lon: np.ndarray
    lat: np.ndarray
    kept: int
    dropped: dict[str, int]
    osm_date: str | None


def read_osm(path: Path) -> OsmWays:
    """Read highway ways with pyosmium (node locations filled in by it), keeping the walkable ones."""
    import osmium

    if not path.name.lower().endswith(_OSM_SUFFIXES):
        msg = f"unsupported OSM file type; expected one of {', '.join(_OSM_SUFFIXES)}"
        raise InputError(msg, path=path)
    head = sniff_osm(path)
    way_ids, offsets, steps = array("q"), array("q", [0]), array("b")
    refs, xs, ys = array("q"), array("q"), array("q")
    dropped: dict[str, int] = {}
    newest = ""
    try:
        processor = (
            osmium.FileProcessor(str(path), osmium.osm.NODE | osmium.osm.WAY)
            .with_locations()
            .with_filter(osmium.filter.KeyFilter("highway"))
        )
        for way in processor:
            if not way.is_way():
                continue
            tags = {tag.k: tag.v for tag in way.tags}
            reason = walk_exclusion(tags)
            if reason is not None:
                dropped[reason] = dropped.get(reason, 0) + 1
                continue
            nodes = way.nodes
            if len(nodes) < 2:
                continue
            for node in nodes:
                refs.append(node.ref)
                xs.append(node.x)
                ys.append(node.y)
            way_ids.append(way.id)
            offsets.append(len(refs))
            steps.append(tags["highway"] == "steps")
            if way.timestamp.year > 1970:
                newest = max(newest, way.timestamp.isoformat())
    except RuntimeError as exc:
        msg = f"not a readable OSM file ({str(exc).splitlines()[0]})"
        raise InputError(msg, path=path) from None
    if not way_ids:
        msg = "no walkable highway ways in the OSM file"
        raise InputError(msg, path=path)
    x, y = np.frombuffer(xs, dtype=np.int64), np.frombuffer(ys, dtype=np.int64)
    located = (x != _UNDEFINED_COORDINATE) & (y != _UNDEFINED_COORDINATE)
    if not located.any():
        msg = "the OSM file's highway ways reference no nodes with coordinates"
        raise InputError(msg, path=path)
    match = _OSM_BASE.search(head)
    return OsmWays(
        way_ids=np.frombuffer(way_ids, dtype=np.int64),
        way_offsets=np.frombuffer(offsets, dtype=np.int64),
        way_steps=np.frombuffer(steps, dtype=np.int8).astype(bool),
        refs=np.frombuffer(refs, dtype=np.int64),
        lon=np.where(located, x / _COORDINATE_SCALE, np.nan),
        lat=np.where(located, y / _COORDINATE_SCALE, np.nan),
        kept=len(way_ids),
        dropped=dropped,
        osm_date=match.group(1) if match else (newest or None),
    )


def great_circle_m(lat1: np.ndarray, lon1: np.ndarray, lat2: np.ndarray, lon2: np.ndarray) -> np.ndarray:
    """Haversine metres, written as osmnx's ``great_circle`` so lengths match it to the last bit."""
    y1, y2 = np.deg2rad(lat1), np.deg2rad(lat2)
    x1, x2 = np.deg2rad(lon1), np.deg2rad(lon2)
    h = np.sin((y2 - y1) / 2) ** 2 + np.cos(y1) * np.cos(y2) * np.sin((x2 - x1) / 2) ** 2
    return 2 * np.arcsin(np.sqrt(np.minimum(1, h))) * EARTH_RADIUS_M


@dataclass
class WalkArrays:
    """A walking network as plain arrays, with what was dropped; :class:`geoplan.network.WalkNetwork` builds on it."""

    node_ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray
    edge_steps: np.ndarray
    edge_geometry: np.ndarray
    provenance: dict[str, object] = field(default_factory=dict)


def simplify_ways(ways: OsmWays, *, source: Path) -> WalkArrays:
    """Simplify, project and keep the largest connected part, as osmnx would, on arrays.

    As ``osmnx.simplify_graph`` does on a two-way graph, a node is kept (an endpoint) unless it
    has exactly two segments to two different neighbours; each run of segments between endpoints
    becomes one edge with the summed great-circle length and the nodes' line as geometry; rings
    with no endpoint are dropped; parallel edges of equal length between the same ends are one.
    """
    way_of = np.repeat(np.arange(len(ways.way_ids)), np.diff(ways.way_offsets))
    located = np.isfinite(ways.lon)
    refs, way_of = ways.refs[located], way_of[located]
    node_ids, node = np.unique(refs, return_inverse=True)
    lon = np.empty(len(node_ids))
    lat = np.empty(len(node_ids))
    lon[node], lat[node] = ways.lon[located], ways.lat[located]
    # a way's consecutive repeated nodes are one node; a segment joins two consecutive nodes of one way
    pair = np.flatnonzero((way_of[1:] == way_of[:-1]) & (node[1:] != node[:-1]))
    seg_a, seg_b, seg_steps = node[pair], node[pair + 1], ways.way_steps[way_of[pair]]
    if len(seg_a) == 0:
        msg = "no walkable ways in the OpenStreetMap data"
        raise InputError(msg, path=source)
    n, n_seg = len(node_ids), len(seg_a)
    segments_at = np.bincount(seg_a, minlength=n) + np.bincount(seg_b, minlength=n)
    distinct = np.unique(np.minimum(seg_a, seg_b) * n + np.maximum(seg_a, seg_b))
    neighbours = np.bincount(distinct // n, minlength=n) + np.bincount(distinct % n, minlength=n)
    endpoint = ~((segments_at == 2) & (neighbours == 2))
    # half-segments: h < n_seg runs a → b, h ≥ n_seg runs b → a; through an interstitial node a
    # half continues on the node's other segment
    tail, head = np.concatenate([seg_a, seg_b]), np.concatenate([seg_b, seg_a])
    half = np.arange(2 * n_seg)
    reverse = (half + n_seg) % (2 * n_seg)
    leaving = np.argsort(tail, kind="stable")
    first_leaving = np.searchsorted(tail[leaving], head)
    one, other = leaving[first_leaving], leaving[np.minimum(first_leaving + 1, len(leaving) - 1)]
    following = np.where(endpoint[head], -1, np.where(one == reverse, other, one))
    starts = np.flatnonzero(endpoint[tail])
    chain_parts, half_parts = [], []
    current, chain = starts, np.arange(len(starts))
    while len(current):
        chain_parts.append(chain)
        half_parts.append(current)
        after = following[current]
        keep = after >= 0
        current, chain = after[keep], chain[keep]
    chain_of, halves = np.concatenate(chain_parts), np.concatenate(half_parts)
    order = np.argsort(chain_of, kind="stable")
    chain_of, halves = chain_of[order], halves[order]
    chain_first = np.searchsorted(chain_of, np.arange(len(starts)))
    chain_last = np.r_[chain_first[1:], len(halves)] - 1
    # each run is found from both ends: keep the direction whose first half-segment is numbered lower
    keep_chain = starts < reverse[halves[chain_last]]
    kept_half = keep_chain[chain_of]
    chain_of, halves = chain_of[kept_half], halves[kept_half]
    new_id = np.cumsum(keep_chain) - 1
    chain_of = new_id[chain_of]
    n_chains = int(keep_chain.sum())
    chain_first = np.searchsorted(chain_of, np.arange(n_chains))
    chain_last = np.r_[chain_first[1:], len(halves)] - 1
    u, v = tail[halves[chain_first]], head[halves[chain_last]]
    segment_m = great_circle_m(lat[tail[halves]], lon[tail[halves]], lat[head[halves]], lon[head[halves]])
    length = np.add.reduceat(segment_m, chain_first)
    steps = np.logical_or.reduceat(seg_steps[halves % n_seg], chain_first)
    # parallel edges of equal length between the same ends are one edge (as in WalkNetwork.from_graph)
    key = np.column_stack([np.minimum(u, v), np.maximum(u, v), np.round(length, 6).view(np.int64)])
    _, unique_chain = np.unique(key, axis=0, return_index=True)
    unique_chain = np.sort(unique_chain)
    # largest connected part, over the endpoints
    kept_nodes = np.flatnonzero(endpoint & (segments_at > 0))
    position = np.full(n, -1)
    position[kept_nodes] = np.arange(len(kept_nodes))
    graph = sparse.coo_array((np.ones(n_chains), (position[u], position[v])), shape=(len(kept_nodes),) * 2)
    _, label = connected_components(graph, directed=False)
    largest = np.argmax(np.bincount(label))
    in_largest = label == largest
    chosen = unique_chain[in_largest[position[u[unique_chain]]]]
    nodes = kept_nodes[in_largest]
    to_27700 = Transformer.from_crs(settings.display_crs, settings.measure_crs, always_xy=True)
    x_all, y_all = to_27700.transform(lon, lat)
    index = np.full(n, -1)
    index[nodes] = np.arange(len(nodes))
    # each edge's line: its u node, then the head of each of its half-segments in order
    n_halves = chain_last[chosen] - chain_first[chosen] + 1
    block = np.cumsum(n_halves) - n_halves
    along = np.repeat(chain_first[chosen], n_halves) + np.arange(n_halves.sum()) - np.repeat(block, n_halves)
    path_nodes = np.insert(head[halves[along]], block, u[chosen])
    edge_index = np.repeat(np.arange(len(chosen)), n_halves + 1)
    geometry = shapely.linestrings(x_all[path_nodes], y_all[path_nodes], indices=edge_index)
    return WalkArrays(
        node_ids=node_ids[nodes],
        x=x_all[nodes],
        y=y_all[nodes],
        edge_u=index[u[chosen]],
        edge_v=index[v[chosen]],
        edge_length=length[chosen],
        edge_steps=steps[chosen],
        edge_geometry=geometry,
        provenance={
            "nodes": len(nodes),
            "edges": len(chosen),
            "nodes_dropped_disconnected": int(len(kept_nodes) - len(nodes)),
            "edges_dropped_disconnected": int(n_chains - in_largest[position[u]].sum()),
        },
    )


def sniff_osm(path: Path) -> str:
    """Check the file looks like OSM data; return its first bytes (decoded) for the date."""
    if path.stat().st_size == 0:
        msg = "OSM file is empty"
        raise InputError(msg, path=path)
    name = path.name.lower()
    if name.endswith(".pbf"):
        return ""
    opener = bz2.open if name.endswith(".bz2") else open
    try:
        with opener(path, "rb") as handle:
            head = handle.read(_SNIFF_BYTES).decode("utf-8", errors="replace")
    except (OSError, EOFError) as exc:
        msg = f"not a readable OSM file ({exc})"
        raise InputError(msg, path=path) from None
    if "<osm" not in head:
        msg = "not OpenStreetMap XML (no <osm> element); expected .osm, .osm.bz2 or .osm.pbf"
        raise InputError(msg, path=path)
    return head


def write_osm_xml(target: Path, ways: OsmWays) -> None:
    """Write the kept ways and their nodes as minimal OSM XML for ``osmnx.graph_from_xml``."""
    node_ids, first = np.unique(ways.refs, return_index=True)
    with target.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="geoplan">\n')
        for node, lon, lat in zip(node_ids.tolist(), ways.lon[first].tolist(), ways.lat[first].tolist(), strict=True):
            if np.isfinite(lon):
                out.write(f'<node id="{node}" lat="{lat:.7f}" lon="{lon:.7f}"/>\n')
        for way, start, end, steps in zip(
            ways.way_ids.tolist(),
            ways.way_offsets[:-1].tolist(),
            ways.way_offsets[1:].tolist(),
            ways.way_steps.tolist(),
            strict=True,
        ):
            out.write(f'<way id="{way}">')
            out.write("".join(f'<nd ref="{ref}"/>' for ref in ways.refs[start:end].tolist()))
            out.write(f'<tag k="highway" v={quoteattr("steps" if steps else "footway")}/></way>\n')
        out.write("</osm>\n")
