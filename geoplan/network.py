"""Walking network from OpenStreetMap: build, filter, project, cache and snap to it.

A :class:`WalkNetwork` is a small typed object holding what the travel-time and catchment
engines need and nothing more: node coordinates and one record per walkable street segment
(end nodes, length in metres, geometry in EPSG:27700, whether it is a flight of steps), plus
where it came from. It is built with osmnx from a local OSM file (``.osm``, ``.osm.bz2`` or
``.osm.pbf``) or from Overpass for a polygon, keeps walkable ways only, keeps the largest
connected part (reporting what was dropped) and is cached on disk keyed by a hash of its inputs.
"""

from __future__ import annotations

import bz2
import hashlib
import json
import logging
import pickle
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from xml.sax.saxutils import quoteattr

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy import sparse
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from geoplan import settings
from geoplan.errors import InputError, NetworkUnavailableError
from geoplan.fileio import atomic_path

if TYPE_CHECKING:
    from geoplan.studyarea import StudyArea

log = logging.getLogger(__name__)

#: Bumped whenever the filter or the stored layout changes, so old cache entries are not reused.
NETWORK_VERSION = "walk-3"

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

_MINUTES_PER_HOUR = 60.0
_METRES_PER_KM = 1000.0
_CACHE_SUFFIX = ".pkl"
_OSM_SUFFIXES = (".osm", ".osm.bz2", ".osm.pbf", ".pbf")
_SNIFF_BYTES = 4096
_OSM_BASE = re.compile(r'osm_base="([^"]+)"')


# --------------------------------------------------------------------------- profiles
@dataclass(frozen=True)
class WalkProfile:
    """A walking pace.

    Attributes
    ----------
    name
        ``walk``, ``buggy`` or a custom label.
    speed_kmh
        Walking speed on paths and pavements.
    steps_extra_min
        Extra minutes added for each flight of steps (``highway=steps`` segment), e.g. to lift a buggy.
    """

    name: str
    speed_kmh: float
    steps_extra_min: float = 0.0

    @property
    def metres_per_minute(self) -> float:
        """Speed in metres per minute."""
        return self.speed_kmh * _METRES_PER_KM / _MINUTES_PER_HOUR


def get_profile(profile: str | float | WalkProfile) -> WalkProfile:
    """Resolve a profile name (``walk``, ``buggy``), a speed in km/h, or a :class:`WalkProfile`.

    Raises
    ------
    InputError
        An unknown profile name, or a speed that is not a positive number.
    """
    if isinstance(profile, WalkProfile):
        return profile
    if isinstance(profile, str) and profile in settings.walk_profiles_kmh:
        return WalkProfile(profile, settings.walk_profiles_kmh[profile], settings.steps_extra_minutes.get(profile, 0.0))
    try:
        speed = float(profile)
    except (TypeError, ValueError):
        known = ", ".join(sorted(settings.walk_profiles_kmh))
        msg = f"unknown walking profile {profile!r}; use one of {known} or a speed in km/h"
        raise InputError(msg, field="profile") from None
    if not np.isfinite(speed) or speed <= 0:
        msg = f"walking speed must be a positive number of km/h, got {profile!r}"
        raise InputError(msg, field="profile")
    return WalkProfile(f"{speed:g}kmh", speed, settings.steps_extra_minutes.get("custom", 0.0))


# --------------------------------------------------------------------------- network object
@dataclass
class Snap:
    """Where points join the network: the nearest point on the nearest edge.

    Attributes
    ----------
    edge
        Index of the nearest edge for each point (``-1`` when flagged as too far).
    fraction
        Position of the snapped point along the edge, from its ``u`` end (0) to its ``v`` end (1).
    distance_m
        Straight-line distance from the point to the snapped point (the access leg).
    x, y
        Snapped point in EPSG:27700.
    too_far
        True where the point lies farther than the snapping threshold from any walkable edge;
        such points are not joined to the network.
    """

    edge: np.ndarray
    fraction: np.ndarray
    distance_m: np.ndarray
    x: np.ndarray
    y: np.ndarray
    too_far: np.ndarray


@dataclass
class WalkNetwork:
    """A walkable street network in EPSG:27700.

    Attributes
    ----------
    node_ids
        OSM node ids.
    x, y
        Node coordinates (EPSG:27700, metres).
    edge_u, edge_v
        Positions (into ``node_ids``) of each edge's ends; the edge geometry runs from ``u`` to ``v``.
    edge_length
        Edge length in metres (osmnx's length of the way segment).
    edge_steps
        Whether the edge is a flight of steps.
    edge_geometry
        Edge geometries (shapely LineStrings, EPSG:27700).
    provenance
        Source file or polygon, its hash, OSM date, and what was dropped (ways by reason,
        nodes and edges outside the largest connected part).
    method
        Always ``"network"``: results from it are network results.
    """

    node_ids: np.ndarray
    x: np.ndarray
    y: np.ndarray
    edge_u: np.ndarray
    edge_v: np.ndarray
    edge_length: np.ndarray
    edge_steps: np.ndarray
    edge_geometry: np.ndarray
    provenance: dict[str, object] = field(default_factory=dict)
    crs: str = settings.measure_crs
    method: str = "network"
    _tree: shapely.STRtree | None = field(default=None, repr=False, compare=False)
    _weights: dict[WalkProfile, sparse.csr_array] = field(default_factory=dict, repr=False, compare=False)

    def __getstate__(self) -> dict[str, object]:
        state = dict(self.__dict__)
        state["_tree"] = None
        state["_weights"] = {}
        state.pop("_catchment_grids", None)
        state["edge_geometry"] = shapely.to_wkb(self.edge_geometry)
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        state["edge_geometry"] = shapely.from_wkb(state["edge_geometry"])
        self.__dict__.update(state)

    @property
    def n_nodes(self) -> int:
        """Number of nodes."""
        return len(self.node_ids)

    @property
    def n_edges(self) -> int:
        """Number of (undirected) edges."""
        return len(self.edge_u)

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """``(minx, miny, maxx, maxy)`` of the nodes in EPSG:27700."""
        return float(self.x.min()), float(self.y.min()), float(self.x.max()), float(self.y.max())

    def edge_minutes(self, profile: str | float | WalkProfile) -> np.ndarray:
        """Minutes to walk each edge end to end at ``profile``'s pace (steps penalty included)."""
        pace = get_profile(profile)
        return self.edge_length / pace.metres_per_minute + pace.steps_extra_min * self.edge_steps

    def weights(self, profile: str | float | WalkProfile) -> sparse.csr_array:
        """Symmetric node × node CSR matrix of walking minutes (the shortest of parallel edges)."""
        pace = get_profile(profile)
        if pace not in self._weights:
            self._weights[pace] = _symmetric_csr(self.edge_u, self.edge_v, self.edge_minutes(pace), self.n_nodes)
        return self._weights[pace]

    def lengths(self) -> sparse.csr_array:
        """Symmetric node × node CSR matrix of edge lengths in metres."""
        return _symmetric_csr(self.edge_u, self.edge_v, self.edge_length, self.n_nodes)

    def snap(self, xy: np.ndarray, *, max_snap_m: float | None = None) -> Snap:
        """Snap points (EPSG:27700, shape ``(n, 2)``) to the nearest point on the nearest edge.

        Parameters
        ----------
        xy
            Point coordinates in EPSG:27700.
        max_snap_m
            Points farther than this from every walkable edge are flagged ``too_far`` and not
            joined; default ``settings.max_snap_m``.
        """
        limit = settings.max_snap_m if max_snap_m is None else max_snap_m
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if self._tree is None:
            self._tree = shapely.STRtree(self.edge_geometry)
        points = shapely.points(xy)
        if len(points) == 0:
            empty = np.zeros(0)
            return Snap(np.zeros(0, dtype=np.int64), empty, empty, empty, empty, np.zeros(0, dtype=bool))
        # all_matches=False picks one edge when several are equally near (e.g. at a junction)
        (point_index, edge), distance = self._tree.query_nearest(points, return_distance=True, all_matches=False)
        order = np.argsort(point_index)
        edge, distance = edge[order], distance[order]
        geometry = self.edge_geometry[edge]
        along = shapely.line_locate_point(geometry, points)
        total = shapely.length(geometry)
        fraction = np.divide(along, total, out=np.zeros_like(along), where=total > 0)
        snapped = shapely.line_interpolate_point(geometry, along)
        too_far = distance > limit
        edge = np.where(too_far, -1, edge)
        return Snap(edge, fraction, distance, shapely.get_x(snapped), shapely.get_y(snapped), too_far)

    def edges_frame(self) -> pd.DataFrame:
        """One row per edge: u and v node ids, length_m, steps, geometry (for inspection and export)."""
        return pd.DataFrame(
            {
                "u": self.node_ids[self.edge_u],
                "v": self.node_ids[self.edge_v],
                "length_m": self.edge_length,
                "steps": self.edge_steps,
                "geometry": self.edge_geometry,
            }
        )

    @classmethod
    def from_graph(cls, graph: nx.MultiDiGraph, *, provenance: dict[str, object] | None = None) -> WalkNetwork:
        """Build from a projected osmnx graph (EPSG:27700), one record per undirected edge.

        The graph is taken as it is (filter and component selection are done by the caller):
        each pair of opposite directed edges of a bidirectional way becomes one edge.
        """
        crs = str(graph.graph.get("crs", ""))
        if crs.upper() != settings.measure_crs.upper():
            msg = f"graph must be projected to {settings.measure_crs}, it is in {crs or 'no CRS'}"
            raise InputError(msg, field="crs")
        node_ids = np.fromiter(graph.nodes, dtype=np.int64, count=graph.number_of_nodes())
        position = {node: index for index, node in enumerate(node_ids.tolist())}
        x = np.array([graph.nodes[n]["x"] for n in node_ids.tolist()], dtype=float)
        y = np.array([graph.nodes[n]["y"] for n in node_ids.tolist()], dtype=float)
        seen: set[tuple[int, int, float]] = set()
        us, vs, lengths, steps, geometries = [], [], [], [], []
        for u, v, data in graph.edges(data=True):
            length = round(float(data["length"]), 6)
            key = (min(u, v), max(u, v), length)
            if key in seen:
                continue
            seen.add(key)
            geometry = data.get("geometry")
            start = (graph.nodes[u]["x"], graph.nodes[u]["y"])
            if geometry is None:
                geometry = LineString([start, (graph.nodes[v]["x"], graph.nodes[v]["y"])])
            elif not np.allclose(geometry.coords[0], start):
                geometry = geometry.reverse()
            highway = data.get("highway")
            highways = highway if isinstance(highway, list) else [highway]
            us.append(position[u])
            vs.append(position[v])
            lengths.append(float(data["length"]))
            steps.append("steps" in highways)
            geometries.append(geometry)
        return cls(
            node_ids=node_ids,
            x=x,
            y=y,
            edge_u=np.asarray(us, dtype=np.int64),
            edge_v=np.asarray(vs, dtype=np.int64),
            edge_length=np.asarray(lengths, dtype=float),
            edge_steps=np.asarray(steps, dtype=bool),
            edge_geometry=np.asarray(geometries, dtype=object),
            provenance=dict(provenance or {}),
        )


def _symmetric_csr(u: np.ndarray, v: np.ndarray, weight: np.ndarray, n: int) -> sparse.csr_array:
    """Undirected CSR of ``weight``, keeping the smallest weight where edges are parallel."""
    keep = u != v
    rows = np.concatenate([u[keep], v[keep]])
    cols = np.concatenate([v[keep], u[keep]])
    data = np.concatenate([weight[keep], weight[keep]])
    order = np.lexsort((data, cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    # zero-length edges (two nodes at one place) must stay edges: csgraph reads explicit zeros as edges
    # only from a CSR built with them stored, which the constructor below keeps.
    return sparse.csr_array((data[first], (rows[first], cols[first])), shape=(n, n))


# --------------------------------------------------------------------------- tag filter
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


# --------------------------------------------------------------------------- building
def network_from_file(
    path: str | Path, *, cache: bool = True, cache_dir: Path | None = None
) -> WalkNetwork:
    """Build (or load from the cache) the walking network of a local OSM file.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` file with highway ways.
    cache
        Load from / save to ``cache_dir / "networks"`` keyed by the file's SHA-256 and the filter version.
    cache_dir
        Cache root; default ``settings.cache_dir``.

    Raises
    ------
    InputError
        The file is missing, empty, not OpenStreetMap data, or holds no walkable ways.
    """
    path = Path(path)
    if not path.is_file():
        msg = "OSM file not found"
        raise InputError(msg, path=path)
    digest = _file_sha256(path)
    key = _cache_key({"file_sha256": digest, "filter": NETWORK_VERSION})
    cached = _cache_file(key, cache_dir)
    if cache and cached.is_file():
        return _load_cached(cached)
    started = time.perf_counter()
    ways_kept, node_ids, dropped, osm_date = _scan_osm(path)
    with tempfile.TemporaryDirectory(prefix="geoplan-osm-") as tmp:
        xml = Path(tmp) / "walk.osm"
        _write_osm_xml(xml, path, ways_kept, node_ids)
        graph = _graph_from_xml(xml, source=path)
    network = _finish(
        graph,
        provenance={
            "source": str(path),
            "source_sha256": digest,
            "osm_date": osm_date,
            "ways_dropped": dropped,
            "ways_kept": len(ways_kept),
        },
        started=started,
    )
    if cache:
        save_network(network, cached)
    return network


def walk_graph_from_file(path: str | Path) -> nx.MultiDiGraph:
    """The filtered, projected osmnx graph (largest connected part) behind :func:`network_from_file`.

    Exposed so results can be checked against networkx on exactly the same graph.
    """
    path = Path(path)
    ways_kept, node_ids, _, _ = _scan_osm(path)
    with tempfile.TemporaryDirectory(prefix="geoplan-osm-") as tmp:
        xml = Path(tmp) / "walk.osm"
        _write_osm_xml(xml, path, ways_kept, node_ids)
        graph = _graph_from_xml(xml, source=path)
    import osmnx as ox

    return ox.truncate.largest_component(ox.project_graph(graph, to_crs=settings.measure_crs), strongly=False)


def network_from_polygon(
    polygon: BaseGeometry, *, margin_m: float | None = None, cache: bool = True, cache_dir: Path | None = None
) -> WalkNetwork:
    """Fetch the walking network inside ``polygon`` (EPSG:27700) plus a margin from Overpass.

    osmnx is pointed at ``settings.overpass_url`` with ``settings.overpass_timeout_s`` and caches
    Overpass responses under ``cache_dir / "overpass"``; the built network is cached like
    :func:`network_from_file`, keyed by the polygon.

    Raises
    ------
    NetworkUnavailableError
        Overpass cannot be reached or answers with an error (raised at once, without osmnx's
        60-second pause when its status endpoint is unreachable).
    """
    margin = settings.network_margin_m if margin_m is None else margin_m
    area = polygon.buffer(margin) if margin > 0 else polygon
    key = _cache_key({"polygon": shapely.to_wkt(area, rounding_precision=1), "filter": NETWORK_VERSION})
    cached = _cache_file(key, cache_dir)
    if cache and cached.is_file():
        return _load_cached(cached)
    network = _fetch_overpass(area, cache_dir=cache_dir)
    if cache:
        save_network(network, cached)
    return network


def cached_network_for_polygon(
    polygon: BaseGeometry, *, margin_m: float | None = None, cache_dir: Path | None = None
) -> WalkNetwork | None:
    """The network :func:`network_from_polygon` cached for ``polygon``, or ``None`` (never downloads)."""
    margin = settings.network_margin_m if margin_m is None else margin_m
    area = polygon.buffer(margin) if margin > 0 else polygon
    key = _cache_key({"polygon": shapely.to_wkt(area, rounding_precision=1), "filter": NETWORK_VERSION})
    cached = _cache_file(key, cache_dir)
    return _load_cached(cached) if cached.is_file() else None


def _fetch_overpass(area: BaseGeometry, *, cache_dir: Path | None) -> WalkNetwork:
    import osmnx as ox
    import requests

    started = time.perf_counter()
    root = settings.cache_dir if cache_dir is None else cache_dir
    ox.settings.overpass_url = settings.overpass_url.removesuffix("/interpreter")
    ox.settings.requests_timeout = settings.overpass_timeout_s
    # osmnx otherwise asks Overpass for a slot and waits 60 s when the status endpoint fails
    ox.settings.overpass_rate_limit = False
    ox.settings.use_cache = True
    ox.settings.cache_folder = root / "overpass"
    ox.settings.useful_tags_way = list(WAY_TAGS)
    to_lonlat = Transformer.from_crs(settings.measure_crs, settings.display_crs, always_xy=True)
    polygon_4326 = shapely.transform(area, to_lonlat.transform, interleaved=False)
    try:
        graph = ox.graph_from_polygon(
            polygon_4326, simplify=False, retain_all=True, truncate_by_edge=True, custom_filter=OVERPASS_WALK_FILTER
        )
    except requests.exceptions.RequestException as exc:
        msg = f"Overpass unreachable at {settings.overpass_url}: {type(exc).__name__}"
        raise NetworkUnavailableError(msg) from None
    except (ox._errors.InsufficientResponseError, ValueError) as exc:
        msg = f"Overpass at {settings.overpass_url} returned no usable walking network: {str(exc).splitlines()[0]}"
        raise NetworkUnavailableError(msg) from None
    dropped: dict[str, int] = {}
    doomed = []
    for u, v, k, data in graph.edges(keys=True, data=True):
        reason = walk_exclusion({tag: data[tag] for tag in WAY_TAGS if isinstance(data.get(tag), str)})
        if reason is not None:
            dropped[reason] = dropped.get(reason, 0) + 1
            doomed.append((u, v, k))
    graph.remove_edges_from(doomed)
    graph.remove_nodes_from([n for n, degree in graph.degree() if degree == 0])
    graph = _bidirectional(graph)
    graph = ox.simplify_graph(graph)
    return _finish(
        graph,
        provenance={
            "source": settings.overpass_url,
            "polygon_27700": shapely.to_wkt(area, rounding_precision=1),
            "osm_date": None,
            "edges_dropped": dropped,
        },
        started=started,
    )


def _bidirectional(graph: nx.MultiDiGraph) -> nx.MultiDiGraph:
    """Add the reverse of one-way edges: one-way rules bind vehicles, not pedestrians."""
    for u, v, data in list(graph.edges(data=True)):
        if not graph.has_edge(v, u):
            reverse = dict(data)
            reverse["reversed"] = not data.get("reversed", False)
            graph.add_edge(v, u, **reverse)
    return graph


def _finish(graph: nx.MultiDiGraph, *, provenance: dict[str, object], started: float) -> WalkNetwork:
    import osmnx as ox

    if graph.number_of_edges() == 0:
        msg = "no walkable ways in the OpenStreetMap data"
        raise InputError(msg, path=provenance.get("source"))
    projected = ox.project_graph(graph, to_crs=settings.measure_crs)
    largest = ox.truncate.largest_component(projected, strongly=False)
    network = WalkNetwork.from_graph(largest)
    network.provenance = {
        **provenance,
        "version": NETWORK_VERSION,
        "nodes": network.n_nodes,
        "edges": network.n_edges,
        "nodes_dropped_disconnected": projected.number_of_nodes() - largest.number_of_nodes(),
        "edges_dropped_disconnected": (projected.number_of_edges() - largest.number_of_edges()) // 2,
        "build_seconds": round(time.perf_counter() - started, 2),
    }
    log.info(
        "walk network: %d nodes, %d edges; dropped %d disconnected nodes",
        network.n_nodes,
        network.n_edges,
        network.provenance["nodes_dropped_disconnected"],
    )
    return network


def _graph_from_xml(xml: Path, *, source: Path) -> nx.MultiDiGraph:
    import osmnx as ox

    ox.settings.useful_tags_way = list(WAY_TAGS)
    try:
        return ox.graph_from_xml(xml, bidirectional=True, simplify=True, retain_all=True)
    except (ox._errors.InsufficientResponseError, ValueError) as exc:
        msg = f"no walkable ways in the OpenStreetMap data ({str(exc).splitlines()[0]})"
        raise InputError(msg, path=source) from None


def _sniff_osm(path: Path) -> str:
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


def _scan_osm(path: Path) -> tuple[list[tuple[int, list[int], dict[str, str]]], set[int], dict[str, int], str | None]:
    """Read highway ways with pyosmium, keep the walkable ones; return ways, their nodes and what was dropped."""
    import osmium

    if not path.name.lower().endswith(_OSM_SUFFIXES):
        msg = f"unsupported OSM file type; expected one of {', '.join(_OSM_SUFFIXES)}"
        raise InputError(msg, path=path)
    head = _sniff_osm(path)
    kept: list[tuple[int, list[int], dict[str, str]]] = []
    dropped: dict[str, int] = {}
    nodes: set[int] = set()
    newest = ""
    try:
        processor = osmium.FileProcessor(str(path), osmium.osm.WAY).with_filter(osmium.filter.KeyFilter("highway"))
        for way in processor:
            tags = {tag.k: tag.v for tag in way.tags}
            reason = walk_exclusion(tags)
            if reason is not None:
                dropped[reason] = dropped.get(reason, 0) + 1
                continue
            refs = [node.ref for node in way.nodes]
            if len(refs) < 2:
                continue
            kept.append((way.id, refs, {k: v for k, v in tags.items() if k in WAY_TAGS}))
            nodes.update(refs)
            if way.timestamp.year > 1970:
                newest = max(newest, way.timestamp.isoformat())
    except RuntimeError as exc:
        msg = f"not a readable OSM file ({str(exc).splitlines()[0]})"
        raise InputError(msg, path=path) from None
    if not kept:
        msg = "no walkable highway ways in the OSM file"
        raise InputError(msg, path=path)
    match = _OSM_BASE.search(head)
    osm_date = match.group(1) if match else (newest or None)
    return kept, nodes, dropped, osm_date


def _write_osm_xml(
    target: Path, source: Path, ways: list[tuple[int, list[int], dict[str, str]]], node_ids: set[int]
) -> None:
    """Write the kept ways and their nodes as minimal OSM XML for ``osmnx.graph_from_xml``."""
    import osmium

    found = 0
    with target.open("w", encoding="utf-8") as out:
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n<osm version="0.6" generator="geoplan">\n')
        for node in osmium.FileProcessor(str(source), osmium.osm.NODE):
            if node.id in node_ids and node.location.valid():
                out.write(f'<node id="{node.id}" lat="{node.location.lat:.7f}" lon="{node.location.lon:.7f}"/>\n')
                found += 1
        for way_id, refs, tags in ways:
            out.write(f'<way id="{way_id}">')
            out.write("".join(f'<nd ref="{ref}"/>' for ref in refs))
            out.write("".join(f"<tag k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in tags.items()))
            out.write("</way>\n")
        out.write("</osm>\n")
    if found == 0:
        msg = "the OSM file's highway ways reference no nodes with coordinates"
        raise InputError(msg, path=source)


# --------------------------------------------------------------------------- cache
def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _cache_key(inputs: dict[str, object]) -> str:
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _cache_file(key: str, cache_dir: Path | None) -> Path:
    root = settings.cache_dir if cache_dir is None else Path(cache_dir)
    return root / "networks" / f"{key}{_CACHE_SUFFIX}"


def save_network(network: WalkNetwork, path: str | Path) -> Path:
    """Write ``network`` to ``path`` atomically (pickle with WKB geometries)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(pickle.dumps(network, protocol=pickle.HIGHEST_PROTOCOL))
    return Path(path)


def load_network(path: str | Path) -> WalkNetwork:
    """Load a network written by :func:`save_network`."""
    return _load_cached(Path(path))


def _load_cached(path: Path) -> WalkNetwork:
    try:
        network = pickle.loads(path.read_bytes())  # noqa: S301 - geoplan's own cache file
    except (pickle.UnpicklingError, EOFError, AttributeError, TypeError) as exc:
        msg = f"corrupt network cache file ({exc}); delete it to rebuild"
        raise InputError(msg, path=path) from None
    if not isinstance(network, WalkNetwork) or network.provenance.get("version") != NETWORK_VERSION:
        msg = "network cache file is from another geoplan version; delete it to rebuild"
        raise InputError(msg, path=path)
    return network


def resolve_osm_file(area: StudyArea) -> Path | None:
    """The study area's configured OSM file (relative paths from the catalogue's folder, then the data mirror)."""
    configured = area.catalogue.network.osm_file
    if configured is None:
        return None
    candidates = [Path(configured)]
    if not Path(configured).is_absolute():
        if area.catalogue.path is not None:
            candidates.insert(0, Path(area.catalogue.path).parent / configured)
        if settings.data_dir is not None:
            candidates.append(Path(settings.data_dir) / configured)
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    msg = "the study area's network.osm_file does not exist"
    raise InputError(msg, path=configured, field="network.osm_file")


def study_area_network(area: StudyArea, *, fetch: bool = False) -> WalkNetwork | None:
    """The study area's walking network: its OSM file, else a cached Overpass network (fetched if ``fetch``), else ``None``."""
    osm_file = resolve_osm_file(area)
    if osm_file is not None:
        return network_from_file(osm_file)
    polygon = area.boundary.geometry.union_all()
    margin = max(settings.network_margin_m, float(area.catalogue.area.margin_m))
    if fetch:
        return network_from_polygon(polygon, margin_m=margin)
    return cached_network_for_polygon(polygon, margin_m=margin)
