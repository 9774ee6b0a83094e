"""Walking travel times from origins to venues on a :class:`~geoplan.network.WalkNetwork`.

Points join the network at the nearest point of the nearest edge; the access leg and the part
of the edge up to its ends are walked at the profile's pace. Dijkstra (``scipy.sparse.csgraph``)
runs from the venues, a block of venues at a time and bounded by the cutoff, and only the
origin × venue pairs within it are kept (float64 minutes in a sparse table), so memory follows
the pairs that can matter, not venues × network nodes. Because walking is symmetric, running
from the venues gives the same answer as from each home (:mod:`geoplan.nearest` finds each home's
nearest and second-nearest venue without any matrix). Without a network,
:func:`geoplan.crowfly.crowfly_matrix` gives straight-line × circuity estimates, marked ``method="crow-fly"``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from geoplan import settings
from geoplan.cache import entry_path, hash_key, load_entry, read_entry, save_arrays
from geoplan.errors import InputError, NetworkUnavailableError
from geoplan.network import Snap, Snapping, WalkNetwork, WalkProfile, get_profile, study_area_network
from geoplan.points import as_points, check_extent

if TYPE_CHECKING:
    import geopandas as gpd

    from geoplan.studyarea import StudyArea

#: Columns of the nearest-venue table (and of ``geoplan traveltime``'s CSV).
NEAREST_COLUMNS = ["origin_id", "nearest_id", "minutes", "second_id", "second_minutes", "snap_m", "too_far", "method"]

#: Bumped when the matrix computation or its stored layout changes, so cached matrices are recomputed.
MATRIX_VERSION = "tt-3"

#: Bytes of working memory one block of venues may take (Dijkstra's dense venue × node rows).
BLOCK_BYTES = 256 * 2**20

#: ``method`` of a matrix from the walking network, and of one from straight lines × circuity.
NETWORK = "network"
CROW_FLY = "crow-fly"

_ENTRY_KIND = "travel-times"


@dataclass(eq=False)
class TravelTimeMatrix:
    """Minutes from origins (rows) to destinations (columns), stored for the pairs within reach.

    Attributes
    ----------
    origin_ids, destination_ids
        Row and column labels.
    table
        Origin × destination CSR of float64 minutes; a stored entry means "reachable within the
        cutoff" (a pair 0 minutes apart is an explicit zero). A dense array given here (``inf``
        where unreachable) is stored the same way.
    method
        ``"network"`` or ``"crow-fly"`` (straight line × circuity: an estimate).
    profile, speed_kmh
        The walking pace.
    cutoff_minutes
        The cutoff used, or ``None``.
    origin_snap, destination_snap
        How the origins and the destinations joined the network (``None`` for crow-fly).
    circuity
        The circuity factor of a crow-fly matrix (``None`` for a network matrix).
    provenance
        Where the network came from and how the matrix was computed.
    """

    origin_ids: list[str]
    destination_ids: list[str]
    table: sparse.csr_array | np.ndarray
    method: str
    profile: str
    speed_kmh: float
    cutoff_minutes: float | None = None
    origin_snap: Snapping | None = None
    destination_snap: Snapping | None = None
    circuity: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)
    _dense: np.ndarray | None = field(default=None, init=False, repr=False)

    def __post_init__(self) -> None:
        if not sparse.issparse(self.table):
            self.table = _csr_from_dense(np.asarray(self.table, dtype=float))
        self.table = sparse.csr_array(self.table, dtype=np.float64)

    @property
    def shape(self) -> tuple[int, int]:
        """``(origins, destinations)``."""
        return len(self.origin_ids), len(self.destination_ids)

    @property
    def minutes(self) -> np.ndarray:
        """Dense origin × destination minutes (``inf`` where unreachable); made on first use.

        Holds 8 bytes per pair: at London scale use :attr:`table`, :meth:`nearest` and
        :meth:`minutes_to_nearest` instead.
        """
        if self._dense is None:
            dense = np.full(self.shape, np.inf)
            rows = np.repeat(np.arange(self.shape[0]), np.diff(self.table.indptr))
            dense[rows, self.table.indices] = self.table.data
            self._dense = dense
        return self._dense

    def reachable(self, cutoff: float | None = None) -> np.ndarray:
        """Boolean origin × destination mask of pairs within ``cutoff`` minutes (default: the matrix's cutoff)."""
        return _stored(self.sparse(cutoff))

    def sparse(self, cutoff: float | None = None) -> sparse.csr_array:
        """Origin × destination CSR of minutes for the pairs within ``cutoff``.

        A stored entry means "reachable"; a reachable pair 0 minutes apart is stored as an
        explicit zero (test reachability with the sparsity structure, not the value).
        """
        if cutoff is None:
            return self.table
        keep = self.table.data <= cutoff
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.table.indptr))[keep]
        indptr = np.searchsorted(rows, np.arange(self.shape[0] + 1))
        return sparse.csr_array((self.table.data[keep], self.table.indices[keep], indptr), shape=self.shape)

    def minutes_to_nearest(self, venue_ids: Sequence[str] | None = None) -> np.ndarray:
        """Minutes from each origin to the nearest of ``venue_ids`` (all destinations if ``None``); ``inf`` where none is reachable.

        Raises
        ------
        InputError
            The venue set is empty or names a venue the matrix does not hold (unknown, or not located).
        """
        if venue_ids is None:
            columns = np.arange(self.shape[1])
        else:
            if len(venue_ids) == 0:
                msg = "the venue set is empty: no open venue matches the request"
                raise InputError(msg, field="venues")
            position = {venue: index for index, venue in enumerate(self.destination_ids)}
            missing = [venue for venue in venue_ids if venue not in position]
            if missing:
                msg = f"venue {missing[0]!r} has no travel times (unknown, or not located)"
                raise InputError(msg, field="venues")
            columns = np.array([position[venue] for venue in venue_ids])
        wanted = np.zeros(self.shape[1], dtype=bool)
        wanted[columns] = True
        keep = wanted[self.table.indices]
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.table.indptr))[keep]
        best = np.full(self.shape[0], np.inf)
        np.minimum.at(best, rows, self.table.data[keep])
        return best

    def nearest(self) -> pd.DataFrame:
        """For every origin: nearest and second-nearest destination and minutes (``NaN``/``None`` when unreachable).

        Ties go to the destination listed first.
        """
        rows = np.repeat(np.arange(self.shape[0]), np.diff(self.table.indptr))
        order = np.lexsort((self.table.indices, self.table.data, rows))
        rows, data, cols = rows[order], self.table.data[order], self.table.indices[order]
        first = np.searchsorted(rows, np.arange(self.shape[0]))
        count = np.diff(np.r_[first, len(rows)])
        best = np.full((self.shape[0], 2), -1)
        minutes = np.full((self.shape[0], 2), np.inf)
        for rank in (0, 1):
            has = count > rank
            best[has, rank] = cols[first[has] + rank]
            minutes[has, rank] = data[first[has] + rank]
        return nearest_frame(
            self.origin_ids, self.destination_ids, best, minutes, snap=self.origin_snap, method=self.method
        )

    def save(self, path: str | Path) -> Path:
        """Write the matrix to ``path`` as a verified :mod:`geoplan.cache` entry (``.npz``, no pickles)."""
        arrays: dict[str, np.ndarray] = {
            "origin_ids": np.asarray(self.origin_ids, dtype=str),
            "destination_ids": np.asarray(self.destination_ids, dtype=str),
            "indptr": self.table.indptr,
            "indices": self.table.indices,
            "data": self.table.data,
        }
        for side, snap in (("origin", self.origin_snap), ("destination", self.destination_snap)):
            if snap is not None:
                arrays.update({f"{side}_snap_m": snap.distance_m, f"{side}_too_far": snap.too_far})
        meta = {
            name: getattr(self, name)
            for name in ("method", "profile", "speed_kmh", "cutoff_minutes", "circuity", "provenance")
        }
        return save_arrays(path, arrays, {"kind": _ENTRY_KIND, "version": MATRIX_VERSION, **meta})

    @classmethod
    def load(cls, path: str | Path) -> TravelTimeMatrix:
        """Read a matrix written by :meth:`save`.

        Raises
        ------
        CacheError
            The file is missing, damaged or from another geoplan version (a damaged file is removed).
        """
        return _from_entry(*read_entry(path, kind=_ENTRY_KIND, version=MATRIX_VERSION, what="travel-time matrix"))


def _csr_from_dense(dense: np.ndarray) -> sparse.csr_array:
    rows, cols = np.nonzero(np.isfinite(dense))
    indptr = np.searchsorted(rows, np.arange(dense.shape[0] + 1))
    return sparse.csr_array((dense[rows, cols], cols, indptr), shape=dense.shape)


def _stored(table: sparse.csr_array) -> np.ndarray:
    mask = np.zeros(table.shape, dtype=bool)
    mask[np.repeat(np.arange(table.shape[0]), np.diff(table.indptr)), table.indices] = True
    return mask


def _from_entry(arrays: dict[str, np.ndarray], meta: dict[str, Any]) -> TravelTimeMatrix:
    shape = (len(arrays["origin_ids"]), len(arrays["destination_ids"]))
    snaps = {
        f"{side}_snap": Snapping(arrays[f"{side}_snap_m"], arrays[f"{side}_too_far"])
        for side in ("origin", "destination")
        if f"{side}_snap_m" in arrays
    }
    return TravelTimeMatrix(
        origin_ids=arrays["origin_ids"].tolist(),
        destination_ids=arrays["destination_ids"].tolist(),
        table=sparse.csr_array((arrays["data"], arrays["indices"], arrays["indptr"]), shape=shape),
        **meta,
        **snaps,
    )


def nearest_frame(
    origin_ids: Sequence[str],
    destination_ids: Sequence[str],
    best: np.ndarray,
    minutes: np.ndarray,
    *,
    snap: Snapping | None,
    method: str,
) -> pd.DataFrame:
    """The nearest-venue table from each origin's two best destination positions (``-1``: none) and minutes."""
    ids = np.asarray(list(destination_ids) or [None], dtype=object)
    frame = pd.DataFrame({"origin_id": list(origin_ids)})
    for rank, (id_column, minutes_column) in enumerate([("nearest_id", "minutes"), ("second_id", "second_minutes")]):
        found = (best[:, rank] >= 0) & np.isfinite(minutes[:, rank])
        frame[id_column] = np.where(found, ids[np.maximum(best[:, rank], 0)], None)
        frame[minutes_column] = np.where(found, minutes[:, rank], np.nan)
    frame["snap_m"] = snap.distance_m if snap is not None else np.nan
    frame["too_far"] = snap.too_far if snap is not None else False
    frame["method"] = method
    return frame[NEAREST_COLUMNS]


# --------------------------------------------------------------------------- engine
def check_cutoff(cutoff_minutes: float | None) -> float | None:
    """Validate a cutoff in minutes (``None`` means no cutoff)."""
    if cutoff_minutes is None:
        return None
    value = float(cutoff_minutes)
    if not np.isfinite(value) or value <= 0:
        msg = f"cutoff must be a positive number of minutes, got {cutoff_minutes!r}"
        raise InputError(msg, field="cutoff")
    return value


def join_points(
    network: WalkNetwork,
    origins: np.ndarray,
    destinations: np.ndarray,
    origin_ids: Sequence[object] | None,
    destination_ids: Sequence[object] | None,
    *,
    max_snap_m: float | None,
    check_bounds: bool,
) -> tuple[list[str], Snap, list[str], Snap]:
    """Origin labels and snaps, then destination labels and snaps.

    Labels default to positions; points outside the network's extent are refused if ``check_bounds``.
    """
    sides = []
    for xy, ids, what in ((origins, origin_ids, "origin"), (destinations, destination_ids, "destination")):
        xy, labels = as_points(xy, ids)
        if check_bounds:
            check_extent(network, xy, labels, what=what)
        sides.append((labels, network.snap(xy, max_snap_m=max_snap_m)))
    (origin_labels, origin_snap), (destination_labels, destination_snap) = sides
    return origin_labels, origin_snap, destination_labels, destination_snap


@dataclass
class PointLegs:
    """How joined points reach their edge's ends: the access leg, then along the edge to ``u`` or to ``v`` (minutes)."""

    joined: np.ndarray
    edge: np.ndarray
    u: np.ndarray
    v: np.ndarray
    access: np.ndarray
    along_u: np.ndarray
    along_v: np.ndarray

    @property
    def to_u(self) -> np.ndarray:
        """Minutes from each point to its edge's ``u`` end."""
        return self.access + self.along_u

    @property
    def to_v(self) -> np.ndarray:
        """Minutes from each point to its edge's ``v`` end."""
        return self.access + self.along_v

    def via_ends(self, at_u: np.ndarray, at_v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Minutes from each point through its ``u`` end and through its ``v`` end, given the minutes at those ends.

        The access leg is added last, as the dense engine did, so every sum rounds the same way
        and results equal that engine's to the last bit.
        """
        return (at_u + self.along_u) + self.access, (at_v + self.along_v) + self.access


def point_legs(network: WalkNetwork, snap: Snap, pace: WalkProfile) -> PointLegs:
    """The legs of the snapped points that join the network (``too_far`` ones are left out)."""
    joined = np.flatnonzero(~snap.too_far)
    edge = snap.edge[joined]
    edge_minutes = network.edge_minutes(pace)[edge]
    access = snap.distance_m[joined] / pace.metres_per_minute
    fraction = snap.fraction[joined]
    return PointLegs(
        joined,
        edge,
        network.edge_u[edge],
        network.edge_v[edge],
        access,
        fraction * edge_minutes,
        (1 - fraction) * edge_minutes,
    )


def source_graph(network: WalkNetwork, legs: PointLegs, pace: WalkProfile) -> sparse.csr_array:
    """The network's CSR with one virtual node per joined point appended (rows ``n, n + 1, ...``), joined to its edge's ends.

    Virtual nodes only have edges out (to both ends of their edge), so they act as sources and
    are never walked through. The rows are appended to the network's own CSR: no re-sort.
    """
    base = network.weights(pace)
    n, k = network.n_nodes, len(legs.joined)
    loop = legs.u == legs.v
    cols = np.column_stack([legs.u, legs.v])
    data = np.column_stack([np.where(loop, np.minimum(legs.to_u, legs.to_v), legs.to_u), legs.to_v])
    keep = np.column_stack([np.ones(k, dtype=bool), ~loop])
    indptr = np.concatenate([base.indptr, base.indptr[-1] + np.cumsum(keep.sum(axis=1))])
    indices = np.concatenate([base.indices, cols[keep]])
    return sparse.csr_array((np.concatenate([base.data, data[keep]]), indices, indptr), shape=(n + k, n + k))


def source_node_minutes(
    network: WalkNetwork,
    snap: Snap,
    profile: WalkProfile,
    *,
    limit: float | None = None,
    min_only: bool = False,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Minutes from snapped points to every network node.

    Each snapped point becomes a virtual node joined to both ends of its edge (access leg plus
    the part of the edge to that end). Points flagged ``too_far`` are left out.

    Returns
    -------
    times, sources
        ``times`` is ``(n_points, n_nodes)`` (``inf`` for left-out points), or ``(n_nodes,)``
        with ``min_only`` (then ``sources`` gives the nearest point's index, ``-1`` if none).
    """
    n = network.n_nodes
    legs = point_legs(network, snap, profile)
    k = len(legs.joined)
    bound = np.inf if limit is None else limit
    if min_only:
        if k == 0:
            return np.full(n, np.inf), np.full(n, -1)
        graph = source_graph(network, legs, profile)
        times, _, sources = dijkstra(
            graph, directed=True, indices=n + np.arange(k), limit=bound, min_only=True, return_predecessors=True
        )
        sources = np.where(sources[:n] >= n, legs.joined[np.clip(sources[:n] - n, 0, None)], -1)
        return times[:n], sources
    full = np.full((len(snap.edge), n), np.inf)
    if k:
        graph = source_graph(network, legs, profile)
        full[legs.joined] = dijkstra(graph, directed=True, indices=n + np.arange(k), limit=bound)[:, :n]
    return full, None


def same_edge_minutes(
    origins: PointLegs,
    origin_snap: Snap,
    destination_snap: Snap,
    destination: int,
    pace: WalkProfile,
    edge_minutes: np.ndarray,
    by_edge: tuple[np.ndarray, np.ndarray],
) -> tuple[np.ndarray, np.ndarray]:
    """Origins on the destination's own edge (positions into ``origins.joined``) and their minutes walking straight along it."""
    order, sorted_edges = by_edge
    edge = destination_snap.edge[destination]
    same = order[np.searchsorted(sorted_edges, edge, "left") : np.searchsorted(sorted_edges, edge, "right")]
    points = origins.joined[same]
    direct = (
        np.abs(origin_snap.fraction[points] - destination_snap.fraction[destination]) * edge_minutes[edge]
        + origin_snap.distance_m[points] / pace.metres_per_minute
        + destination_snap.distance_m[destination] / pace.metres_per_minute
    )
    return same, direct


def _destination_blocks(
    network: WalkNetwork, origin_snap: Snap, destination_snap: Snap, pace: WalkProfile, cutoff: float | None
) -> Iterator[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """Blocks of destination × origin pairs within the cutoff: ``(destination, origin, minutes)`` positions and values.

    Each block of destinations is one Dijkstra bounded by the cutoff; only the nodes it reached
    are expanded to the origins on their edges (through a node → origin-end index built once),
    so the work follows the pairs within reach, not destinations × origins.
    """
    origins = point_legs(network, origin_snap, pace)
    destinations = point_legs(network, destination_snap, pace)
    if len(destinations.joined) == 0 or len(origins.joined) == 0:
        return
    n = network.n_nodes
    graph = source_graph(network, destinations, pace)
    edge_minutes = network.edge_minutes(pace)
    # every origin twice, once at each end of its edge, grouped by node
    end_node = np.concatenate([origins.u, origins.v])
    by_node = np.argsort(end_node, kind="stable")
    end_origin = np.tile(origins.joined, 2)[by_node]
    end_along = np.concatenate([origins.along_u, origins.along_v])[by_node]
    end_access = np.tile(origins.access, 2)[by_node]
    end_start = np.searchsorted(end_node[by_node], np.arange(n + 1))
    order = np.argsort(origins.edge, kind="stable")
    by_edge = (order, origins.edge[order])
    size = max(1, BLOCK_BYTES // (8 * graph.shape[0]))
    bound = np.inf if cutoff is None else cutoff
    for start in range(0, len(destinations.joined), size):
        members = np.arange(start, min(start + size, len(destinations.joined)))
        times = dijkstra(graph, directed=True, indices=n + members, limit=bound)[:, :n]
        row, node = np.nonzero(times <= bound)
        reached = times[row, node]
        del times
        count = end_start[node + 1] - end_start[node]
        entry = np.repeat(end_start[node], count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        rows, points, minutes = (
            [np.repeat(row, count)],
            [end_origin[entry]],
            [(np.repeat(reached, count) + end_along[entry]) + end_access[entry]],
        )
        # an origin on the same edge as a destination can walk straight along it
        for block_row, destination in enumerate(destinations.joined[members]):
            same, direct = same_edge_minutes(
                origins, origin_snap, destination_snap, destination, pace, edge_minutes, by_edge
            )
            rows.append(np.full(len(same), block_row))
            points.append(origins.joined[same])
            minutes.append(direct)
        row, point, value = np.concatenate(rows), np.concatenate(points), np.concatenate(minutes)
        keep = value <= bound
        row, point, value = row[keep], point[keep], value[keep]
        # the quickest of each destination and origin's candidates (via u, via v, along the edge)
        key = row.astype(np.int64) * len(origin_snap.edge) + point
        order_key = np.lexsort((value, key))
        key, value = key[order_key], value[order_key]
        first = np.ones(len(key), dtype=bool)
        first[1:] = key[1:] != key[:-1]
        key, value = key[first], value[first]
        yield destinations.joined[members][key // len(origin_snap.edge)], key % len(origin_snap.edge), value


def travel_time_matrix(
    network: WalkNetwork,
    origins: np.ndarray,
    destinations: np.ndarray,
    *,
    origin_ids: list[str] | None = None,
    destination_ids: list[str] | None = None,
    profile: str | float | WalkProfile = "walk",
    cutoff_minutes: float | None = None,
    max_snap_m: float | None = None,
    check_bounds: bool = True,
) -> TravelTimeMatrix:
    """Walking minutes from every origin to every destination on ``network``, kept for the pairs within the cutoff.

    Parameters
    ----------
    network
        The walking network.
    origins, destinations
        Point coordinates ``(n, 2)`` in EPSG:27700.
    origin_ids, destination_ids
        Labels (default: positions as strings).
    profile
        ``walk``, ``buggy``, a speed in km/h or a :class:`WalkProfile`.
    cutoff_minutes
        Pairs farther apart than this are unreachable (not stored); it also bounds each venue's
        search. Give the largest band: without it every pair is stored.
    max_snap_m
        Snapping threshold (default ``settings.max_snap_m``); farther points are flagged and unreachable.
    check_bounds
        Raise :class:`InputError` for a point outside the network's extent.
    """
    pace = get_profile(profile)
    cutoff = check_cutoff(cutoff_minutes)
    origin_ids, origin_snap, destination_ids, destination_snap = join_points(
        network, origins, destinations, origin_ids, destination_ids, max_snap_m=max_snap_m, check_bounds=check_bounds
    )
    rows, cols, values = [np.zeros(0, dtype=np.int32)], [np.zeros(0, dtype=np.int32)], [np.zeros(0)]
    for destination, origin, minutes in _destination_blocks(network, origin_snap, destination_snap, pace, cutoff):
        rows.append(origin.astype(np.int32))
        cols.append(destination.astype(np.int32))
        values.append(minutes)
    shape = (len(origin_ids), len(destination_ids))
    table = sparse.coo_array(
        (np.concatenate(values), (np.concatenate(rows), np.concatenate(cols))), shape=shape
    ).tocsr()
    table.has_sorted_indices or table.sort_indices()
    return TravelTimeMatrix(
        origin_ids=origin_ids,
        destination_ids=destination_ids,
        table=table,
        method=NETWORK,
        profile=pace.name,
        speed_kmh=pace.speed_kmh,
        cutoff_minutes=cutoff,
        origin_snap=Snapping.of(origin_snap),
        destination_snap=Snapping.of(destination_snap),
        provenance={k: network.provenance.get(k) for k in ("source", "source_sha256", "osm_date", "version")},
    )


# --------------------------------------------------------------------------- study areas
def _xy(frame: gpd.GeoDataFrame) -> np.ndarray:
    return np.column_stack([frame.geometry.x.to_numpy(float), frame.geometry.y.to_numpy(float)])


def study_area_travel_times(
    area: StudyArea,
    *,
    profile: str | float | WalkProfile = "buggy",
    cutoff_minutes: float | None = None,
    network: WalkNetwork | None = None,
    method: str | None = None,
    use_cache: bool = True,
) -> TravelTimeMatrix:
    """Minutes from every origin of ``area.children`` to every located venue of ``area.venues``.

    Parameters
    ----------
    method
        ``"network"``: walk ``network`` (or, when not given, the area's network); ``"crow-fly"``:
        straight line × the area's calibrated circuity factor (``area.catalogue.network.crowfly_circuity``),
        without looking for a network. ``None``: ``network`` if given, else the area's network, else
        crow-fly when ``settings.allow_crowfly_fallback`` allows it. A
        :class:`~geoplan.workspace.Workspace` decides and passes it.

    The matrix is cached (:mod:`geoplan.cache`, kind ``traveltimes``) keyed by a hash of its inputs.

    Raises
    ------
    NetworkUnavailableError
        A network is needed (``method="network"``, or no fallback allowed) and there is none.
    """
    if method not in (None, NETWORK, CROW_FLY):
        msg = f"method must be {NETWORK!r} or {CROW_FLY!r}, got {method!r}"
        raise InputError(msg, field="method")
    pace = get_profile(profile)
    cutoff = check_cutoff(cutoff_minutes)
    if method != CROW_FLY and network is None:
        network = study_area_network(area)
        if network is None and (method == NETWORK or not settings.allow_crowfly_fallback):
            msg = f"no walking network for {area.name}: configure network.osm_file or run 'geoplan data fetch'"
            raise NetworkUnavailableError(msg)
    if method == CROW_FLY:
        network = None
    located = area.venues[area.venues["located"]] if "located" in area.venues else area.venues
    origin_ids = area.children["origin_id"].astype(str).tolist()
    venue_ids = located["venue_id"].astype(str).tolist()
    origins, venues = _xy(area.children), _xy(located)
    circuity = float(area.catalogue.network.crowfly_circuity)
    inputs = {
        "version": MATRIX_VERSION,
        "method": NETWORK if network is not None else CROW_FLY,
        "network": None
        if network is None
        else [
            network.provenance.get("source_sha256") or network.provenance.get("polygon_27700"),
            network.n_edges,
            round(float(network.edge_length.sum()), 3),
        ],
        "circuity": None if network is not None else circuity,
        "pace": [pace.name, pace.speed_kmh, pace.steps_extra_min],
        "cutoff": cutoff,
        "max_snap_m": settings.max_snap_m,
        "origins": origin_ids,
        "venues": venue_ids,
    }
    cache_file = entry_path("traveltimes", hash_key(inputs, origins, venues)) if use_cache else None
    cached = None if cache_file is None else load_entry(cache_file, kind=_ENTRY_KIND, version=MATRIX_VERSION)
    if cached is not None:
        return _from_entry(*cached)
    if network is None:
        from geoplan.crowfly import crowfly_matrix

        matrix = crowfly_matrix(
            origins,
            venues,
            circuity=circuity,
            origin_ids=origin_ids,
            destination_ids=venue_ids,
            profile=pace,
            cutoff_minutes=cutoff,
        )
        matrix.provenance["crowfly_calibration"] = area.catalogue.network.crowfly_calibration
    else:
        matrix = travel_time_matrix(
            network,
            origins,
            venues,
            origin_ids=origin_ids,
            destination_ids=venue_ids,
            profile=pace,
            cutoff_minutes=cutoff,
            check_bounds=False,
        )
    if cache_file is not None:
        matrix.save(cache_file)
    return matrix


def travel_times_to_points(
    area: StudyArea, travel_times: TravelTimeMatrix, *, points: gpd.GeoSeries, ids: list[str]
) -> np.ndarray:
    """Minutes from the rows of ``travel_times`` to extra points, with the same engine, pace and cutoff.

    Returns an ``(n_origins, len(points))`` array in the row order of ``travel_times``.
    """
    by_id = area.children.set_index(area.children["origin_id"].astype(str))
    missing = [o for o in travel_times.origin_ids if o not in by_id.index]
    if missing:
        msg = "travel-time matrix row is not an origin of the study area"
        raise InputError(msg, field="origin_ids", row=missing[0])
    origins = _xy(by_id.loc[list(travel_times.origin_ids)])
    targets = np.column_stack([np.asarray(points.x, dtype=float), np.asarray(points.y, dtype=float)])
    pace = WalkProfile(
        travel_times.profile, travel_times.speed_kmh, settings.steps_extra_minutes.get(travel_times.profile, 0.0)
    )
    if travel_times.method == CROW_FLY:
        from geoplan.crowfly import crowfly_matrix

        extra = crowfly_matrix(
            origins,
            targets,
            circuity=float(travel_times.circuity or area.catalogue.network.crowfly_circuity),
            profile=pace,
            cutoff_minutes=travel_times.cutoff_minutes,
        )
        return extra.minutes
    network = study_area_network(area)
    if network is None:
        msg = f"the matrix is a network result but no walking network is available for {area.name}"
        raise NetworkUnavailableError(msg)
    extra = travel_time_matrix(
        network,
        origins,
        targets,
        destination_ids=list(ids),
        profile=pace,
        cutoff_minutes=travel_times.cutoff_minutes,
        check_bounds=False,
    )
    return extra.minutes
