"""Walking network from OpenStreetMap: build, filter, project, cache and snap to it.

A :class:`WalkNetwork` is a small typed object holding what the travel-time and catchment
engines need and nothing more: node coordinates and one record per walkable street segment
(end nodes, length in metres, geometry in EPSG:27700, whether it is a flight of steps), plus
where it came from. A local OSM file (``.osm``, ``.osm.bz2`` or ``.osm.pbf``) is read with
pyosmium straight into arrays and simplified, projected and reduced to its largest connected
part with numpy and scipy, giving the same network osmnx would (``graph_from_xml`` with
``simplify=True``, then ``project_graph`` and ``largest_component``) in a fraction of its time and
memory; Overpass downloads go through osmnx. Networks are cached with :mod:`geoplan.cache`,
the node × node adjacency included, keyed by a hash of their inputs.
"""

from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from scipy import sparse
from shapely.geometry import LineString
from shapely.geometry.base import BaseGeometry

from geoplan import settings
from geoplan.cache import entry_path, file_sha256, hash_key, load_entry, read_entry, save_arrays
from geoplan.errors import InputError, NetworkUnavailableError
from geoplan.osmread import (
    OVERPASS_WALK_FILTER,
    WAY_TAGS,
    WalkArrays,
    read_osm,
    simplify_ways,
    walk_exclusion,
    write_osm_xml,
)
from geoplan.sources import search_roots

if TYPE_CHECKING:
    from geoplan.studyarea import StudyArea

log = logging.getLogger(__name__)

#: Bumped whenever the filter or the stored layout changes, so old cache entries are not reused.
NETWORK_VERSION = "walk-4"

_MINUTES_PER_HOUR = 60.0
_METRES_PER_KM = 1000.0


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


#: Range of a walking speed given as a number (km/h): a slow toddler's pace to a brisk jog.
MIN_SPEED_KMH, MAX_SPEED_KMH = 1.0, 10.0


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
    if not np.isfinite(speed) or not MIN_SPEED_KMH <= speed <= MAX_SPEED_KMH:
        msg = f"walking speed must be a positive number of km/h from {MIN_SPEED_KMH:g} to {MAX_SPEED_KMH:g}, got {profile!r}"
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


@dataclass(frozen=True, eq=False)
class Snapping:
    """How the points of one side of a matrix joined the walking network.

    Attributes
    ----------
    distance_m
        Access-leg length of each point (``NaN`` where unknown).
    too_far
        Points farther than the snapping threshold from every walkable edge (unreachable).
    """

    distance_m: np.ndarray
    too_far: np.ndarray

    @classmethod
    def of(cls, snap: Snap) -> Snapping:
        """The snapping facts of a :class:`Snap`."""
        return cls(snap.distance_m, snap.too_far)


@dataclass
class WalkNetwork(WalkArrays):
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

    crs: str = settings.measure_crs
    method: str = "network"
    _tree: shapely.STRtree | None = field(default=None, repr=False, compare=False)
    _weights: dict[WalkProfile, sparse.csr_array] = field(default_factory=dict, repr=False, compare=False)
    _adjacency: dict[str, np.ndarray] | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, object]:
        # derived, rebuilt on demand: the edge index, per-profile weights and catchment grids
        state = dict(self.__dict__)
        state["_tree"] = None
        state["_weights"] = {}
        state.pop("_catchment_grids", None)
        return state

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

    def adjacency(self) -> dict[str, np.ndarray]:
        """The node × node CSR structure, shared by every profile's weights.

        ``indptr`` and ``indices`` are the CSR of the symmetric graph (self-loops left out);
        ``edge`` lists, for the directed entries sorted by row and column, the edge each comes
        from, and ``first`` where each stored entry's parallel edges start in it.
        """
        if self._adjacency is None:
            keep = np.flatnonzero(self.edge_u != self.edge_v)
            rows = np.concatenate([self.edge_u[keep], self.edge_v[keep]])
            cols = np.concatenate([self.edge_v[keep], self.edge_u[keep]])
            order = np.lexsort((cols, rows))
            rows, cols, edge = rows[order], cols[order], np.concatenate([keep, keep])[order]
            first = np.flatnonzero(np.r_[True, (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])])
            indptr = np.searchsorted(rows[first], np.arange(self.n_nodes + 1)).astype(np.int64)
            self._adjacency = {"indptr": indptr, "indices": cols[first].astype(np.int32), "edge": edge, "first": first}
        return self._adjacency

    def weights(self, profile: str | float | WalkProfile) -> sparse.csr_array:
        """Symmetric node × node CSR matrix of walking minutes (the shortest of parallel edges).

        Zero-length edges (two nodes at one place) stay stored entries: csgraph reads them as edges.
        """
        pace = get_profile(profile)
        if pace not in self._weights:
            self._weights[pace] = self._csr(self.edge_minutes(pace))
        return self._weights[pace]

    def lengths(self) -> sparse.csr_array:
        """Symmetric node × node CSR matrix of edge lengths in metres."""
        return self._csr(self.edge_length)

    def _csr(self, edge_values: np.ndarray) -> sparse.csr_array:
        adjacency = self.adjacency()
        if len(adjacency["edge"]) == 0:
            return sparse.csr_array((self.n_nodes, self.n_nodes))
        data = np.minimum.reduceat(edge_values[adjacency["edge"]], adjacency["first"])
        return sparse.csr_array((data, adjacency["indices"], adjacency["indptr"]), shape=(self.n_nodes, self.n_nodes))

    def _edge_tree(self) -> shapely.STRtree:
        if self._tree is None:
            self._tree = shapely.STRtree(self.edge_geometry)
        return self._tree

    def edges_near(self, area: BaseGeometry) -> np.ndarray:
        """Sorted positions of the edges whose bounding box meets ``area`` (EPSG:27700)."""
        return np.sort(self._edge_tree().query(area))

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
        points = shapely.points(xy)
        if len(points) == 0:
            empty = np.zeros(0)
            return Snap(np.zeros(0, dtype=np.int64), empty, empty, empty, empty, np.zeros(0, dtype=bool))
        # all_matches=False picks one edge when several are equally near (e.g. at a junction)
        (point_index, edge), distance = self._edge_tree().query_nearest(points, return_distance=True, all_matches=False)
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


# --------------------------------------------------------------------------- building
def network_from_file(path: str | Path, *, cache: bool = True, cache_dir: Path | None = None) -> WalkNetwork:
    """Build (or load from the cache) the walking network of a local OSM file.

    Parameters
    ----------
    path
        ``.osm``, ``.osm.bz2`` or ``.osm.pbf`` file with highway ways.
    cache
        Load from / save to the ``networks`` cache keyed by the file's SHA-256 and the filter version.
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
    digest = file_sha256(path)
    cached = (
        entry_path("networks", hash_key({"file_sha256": digest, "filter": NETWORK_VERSION}), root=cache_dir)
        if cache
        else None
    )
    if cached is not None and (network := _load_entry(cached)) is not None:
        return network
    started = time.perf_counter()
    ways = read_osm(path)
    network = WalkNetwork(**vars(simplify_ways(ways, source=path)))
    network.provenance = {
        "source": str(path),
        "source_sha256": digest,
        "osm_date": ways.osm_date,
        "ways_dropped": ways.dropped,
        "ways_kept": ways.kept,
        "version": NETWORK_VERSION,
        **network.provenance,
        "build_seconds": round(time.perf_counter() - started, 2),
    }
    _log_built(network)
    if cached is not None:
        save_network(network, cached)
    return network


def walk_graph_from_file(path: str | Path) -> nx.MultiDiGraph:
    """The same network built the osmnx way: the filtered ways through ``osmnx.graph_from_xml``, projected, largest part.

    Exposed so results can be checked against osmnx and networkx (tests, benchmarks).
    """
    import osmnx as ox

    path = Path(path)
    ways = read_osm(path)
    with tempfile.TemporaryDirectory(prefix="geoplan-osm-") as tmp:
        xml = Path(tmp) / "walk.osm"
        write_osm_xml(xml, ways)
        graph = _graph_from_xml(xml, source=path)
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
    cached = entry_path(
        "networks",
        hash_key({"polygon": shapely.to_wkt(area, rounding_precision=1), "filter": NETWORK_VERSION}),
        root=cache_dir,
    )
    if cache and (network := _load_entry(cached)) is not None:
        return network
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
    return _load_entry(
        entry_path(
            "networks",
            hash_key({"polygon": shapely.to_wkt(area, rounding_precision=1), "filter": NETWORK_VERSION}),
            root=cache_dir,
        )
    )


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
    _log_built(network)
    return network


def _graph_from_xml(xml: Path, *, source: Path) -> nx.MultiDiGraph:
    import osmnx as ox

    ox.settings.useful_tags_way = list(WAY_TAGS)
    try:
        return ox.graph_from_xml(xml, bidirectional=True, simplify=True, retain_all=True)
    except (ox._errors.InsufficientResponseError, ValueError) as exc:
        msg = f"no walkable ways in the OpenStreetMap data ({str(exc).splitlines()[0]})"
        raise InputError(msg, path=source) from None


# --------------------------------------------------------------------------- cache
_GEOMETRY_ARRAYS = ("geometry_xy", "geometry_offsets")
_ENTRY_KIND = "walk-network"


def save_network(network: WalkNetwork, path: str | Path) -> Path:
    """Write ``network`` (with its adjacency, so loading needs no rebuild) as a verified cache entry."""
    coords, which = shapely.get_coordinates(network.edge_geometry, return_index=True)
    arrays = {
        "node_ids": network.node_ids,
        "x": network.x,
        "y": network.y,
        "edge_u": network.edge_u,
        "edge_v": network.edge_v,
        "edge_length": network.edge_length,
        "edge_steps": network.edge_steps,
        "geometry_xy": coords,
        "geometry_offsets": np.searchsorted(which, np.arange(network.n_edges + 1)),
        **{f"adjacency_{name}": value for name, value in network.adjacency().items()},
    }
    return save_arrays(
        path,
        arrays,
        {"kind": _ENTRY_KIND, "version": NETWORK_VERSION, "crs": network.crs, "provenance": network.provenance},
    )


def load_network(path: str | Path) -> WalkNetwork:
    """Load a network written by :func:`save_network`.

    Raises
    ------
    CacheError
        The file is missing, damaged or not a network of this geoplan version (a damaged cache entry is removed).
    """
    return _from_entry(*read_entry(path, kind=_ENTRY_KIND, version=NETWORK_VERSION, what="network cache"))


def _load_entry(path: Path) -> WalkNetwork | None:
    entry = load_entry(path, kind=_ENTRY_KIND, version=NETWORK_VERSION)
    return None if entry is None else _from_entry(*entry)


def _from_entry(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> WalkNetwork:
    offsets = arrays["geometry_offsets"]
    geometry = shapely.linestrings(
        arrays["geometry_xy"], indices=np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    )
    return WalkNetwork(
        **{name: arrays[name] for name in ("node_ids", "x", "y", "edge_u", "edge_v", "edge_length", "edge_steps")},
        edge_geometry=geometry,
        provenance=meta["provenance"],
        crs=meta["crs"],
        _adjacency={
            name.removeprefix("adjacency_"): value for name, value in arrays.items() if name.startswith("adjacency_")
        },
    )


def resolve_osm_file(area: StudyArea) -> Path | None:
    """The study area's configured OSM file (relative paths from the catalogue's folder, then the data folders)."""
    configured = area.catalogue.network.osm_file
    if configured is None:
        return None
    candidates = [Path(configured)]
    if not Path(configured).is_absolute():
        if area.catalogue.path is not None:
            candidates.insert(0, Path(area.catalogue.path).parent / configured)
        candidates += [root / configured for _, root in search_roots()]
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


def _log_built(network: WalkNetwork) -> None:
    log.info(
        "walk network: %d nodes, %d edges; dropped %d disconnected nodes",
        network.n_nodes,
        network.n_edges,
        network.provenance["nodes_dropped_disconnected"],
    )
