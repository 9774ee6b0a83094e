"""Each home's nearest and second-nearest venue on the walking network, without a travel-time matrix.

One multi-source Dijkstra (``scipy.sparse.csgraph``) labels every node with its nearest venue; a
second, label-correcting pass over the edges whose labels change gives every node its nearest
*other* venue. A home's two nearest venues are among the labels of its edge's two ends and the
venues on its own edge, so 100,000 homes × 3,000 venues take about what one Dijkstra takes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.sparse.csgraph import dijkstra

from geoplan.network import Snap, Snapping, WalkNetwork, WalkProfile, get_profile
from geoplan.traveltime import (
    NETWORK,
    PointLegs,
    check_cutoff,
    join_points,
    nearest_frame,
    point_legs,
    same_edge_minutes,
    source_graph,
    source_node_minutes,
)


def nearest_destinations(
    network: WalkNetwork,
    origins: np.ndarray,
    destinations: np.ndarray,
    *,
    origin_ids: list[str] | None = None,
    destination_ids: list[str] | None = None,
    profile: str | float | WalkProfile = "walk",
    cutoff_minutes: float | None = None,
    max_snap_m: float | None = None,
) -> pd.DataFrame:
    """Nearest and second-nearest destination of every origin (the :data:`NEAREST_COLUMNS` table), without a matrix.

    One multi-source Dijkstra labels every node with its nearest destination; a second pass
    (label-correcting, over the edges whose labels change) gives every node its nearest *other*
    destination. A home's two nearest are among the labels of its edge's two ends and the
    destinations on its own edge. Ties may go to either destination.
    """
    pace = get_profile(profile)
    cutoff = check_cutoff(cutoff_minutes)
    origin_ids, origin_snap, destination_ids, destination_snap = join_points(
        network, origins, destinations, origin_ids, destination_ids, max_snap_m=max_snap_m, check_bounds=False
    )
    best = np.full((len(origin_ids), 2), -1)
    minutes = np.full((len(origin_ids), 2), np.inf)
    legs = point_legs(network, destination_snap, pace)
    if len(legs.joined):
        first, second = _two_labels(network, legs, pace, np.inf if cutoff is None else cutoff)
        best, minutes = _two_nearest_origins(
            network, origin_snap, destination_snap, legs, pace, first, second, len(origin_ids)
        )
        if cutoff is not None:
            beyond = minutes > cutoff
            best[beyond], minutes[beyond] = -1, np.inf
    return nearest_frame(origin_ids, destination_ids, best, minutes, snap=Snapping.of(origin_snap), method=NETWORK)


def _two_labels(
    network: WalkNetwork, legs: PointLegs, pace: WalkProfile, bound: float
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Every node's (minutes, destination) to its nearest destination and to its nearest other destination."""
    n, k = network.n_nodes, len(legs.joined)
    graph = source_graph(network, legs, pace)
    d1, _, source = dijkstra(
        graph, directed=True, indices=n + np.arange(k), limit=bound, min_only=True, return_predecessors=True
    )
    s1 = np.where(source >= n, source - n, -1)
    s1[n:] = np.arange(k)
    d2, s2 = np.full(n + k, np.inf), np.full(n + k, -1)
    indptr, indices, weights = graph.indptr, graph.indices, graph.data
    active = np.flatnonzero(np.isfinite(d1))
    while len(active):
        count = indptr[active + 1] - indptr[active]
        tail = np.repeat(active, count)
        entry = np.repeat(indptr[active], count) + np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
        head = indices[entry]
        # across a border of nearest destinations a node's nearest is the other side's second; else its own second
        crossing = s1[tail] != s1[head]
        candidate = np.where(crossing, d1[tail], d2[tail]) + weights[entry]
        label = np.where(crossing, s1[tail], s2[tail])
        better = (candidate < d2[head]) & (label >= 0) & (candidate <= bound)
        head, candidate, label = head[better], candidate[better], label[better]
        order = np.lexsort((candidate, head))
        head, candidate, label = head[order], candidate[order], label[order]
        first = np.ones(len(head), dtype=bool)
        first[1:] = head[1:] != head[:-1]
        active = head[first]
        d2[active], s2[active] = candidate[first], label[first]
    return (d1[:n], s1[:n]), (d2[:n], s2[:n])


def _two_nearest_origins(
    network: WalkNetwork,
    origin_snap: Snap,
    destination_snap: Snap,
    destinations: PointLegs,
    pace: WalkProfile,
    first: tuple[np.ndarray, np.ndarray],
    second: tuple[np.ndarray, np.ndarray],
    n_origins: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Each origin's two nearest distinct destinations from its edge ends' labels and its own edge's destinations."""
    origins = point_legs(network, origin_snap, pace)
    point, label, minutes = [], [], []
    for times, sources in (first, second):
        for end, via in zip((origins.u, origins.v), origins.via_ends(times[origins.u], times[origins.v]), strict=True):
            point.append(origins.joined)
            label.append(sources[end])
            minutes.append(via)
    edge_minutes = network.edge_minutes(pace)
    order = np.argsort(origins.edge, kind="stable")
    for position, destination in enumerate(destinations.joined):
        same, direct = same_edge_minutes(
            origins, origin_snap, destination_snap, destination, pace, edge_minutes, (order, origins.edge[order])
        )
        point.append(origins.joined[same])
        label.append(np.full(len(same), position))
        minutes.append(direct)
    point, label, minutes = np.concatenate(point), np.concatenate(label), np.concatenate(minutes)
    keep = (label >= 0) & np.isfinite(minutes)
    point, label, minutes = point[keep], destinations.joined[label[keep]], minutes[keep]
    order = np.lexsort((label, minutes, point))
    point, label, minutes = point[order], label[order], minutes[order]
    # a destination counts once (at its fewest minutes): drop later rows of the same origin and destination
    pair = point.astype(np.int64) * (len(destination_snap.edge) + 1) + label
    _, once = np.unique(pair, return_index=True)
    once = np.sort(once)
    point, label, minutes = point[once], label[once], minutes[once]
    start = np.searchsorted(point, np.arange(n_origins))
    count = np.diff(np.r_[start, len(point)])
    best, best_minutes = np.full((n_origins, 2), -1), np.full((n_origins, 2), np.inf)
    for rank in (0, 1):
        has = count > rank
        best[has, rank] = label[start[has] + rank]
        best_minutes[has, rank] = minutes[start[has] + rank]
    return best, best_minutes


def nearest_venue(
    network: WalkNetwork,
    origins: np.ndarray,
    destinations: np.ndarray,
    *,
    profile: str | float | WalkProfile = "walk",
    cutoff_minutes: float | None = None,
    max_snap_m: float | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Minutes to, and index of, every origin's nearest destination with one multi-source Dijkstra.

    Cheaper than :func:`nearest_destinations` when only the nearest is wanted (index ``-1`` and
    ``inf`` minutes where none is reachable within the cutoff).
    """
    pace = get_profile(profile)
    cutoff = check_cutoff(cutoff_minutes)
    origin_snap = network.snap(np.asarray(origins, dtype=float), max_snap_m=max_snap_m)
    destination_snap = network.snap(np.asarray(destinations, dtype=float), max_snap_m=max_snap_m)
    node_times, sources = source_node_minutes(network, destination_snap, pace, limit=cutoff, min_only=True)
    origins_legs = point_legs(network, origin_snap, pace)
    minutes = np.full(len(origin_snap.edge), np.inf)
    nearest = np.full(len(origin_snap.edge), -1)
    via_u, via_v = origins_legs.via_ends(node_times[origins_legs.u], node_times[origins_legs.v])
    minutes[origins_legs.joined] = np.minimum(via_u, via_v)
    nearest[origins_legs.joined] = np.where(via_u <= via_v, sources[origins_legs.u], sources[origins_legs.v])
    edge_minutes = network.edge_minutes(pace)
    order = np.argsort(origins_legs.edge, kind="stable")
    for j in np.flatnonzero(~destination_snap.too_far):
        same, direct = same_edge_minutes(
            origins_legs, origin_snap, destination_snap, j, pace, edge_minutes, (order, origins_legs.edge[order])
        )
        points = origins_legs.joined[same]
        better = direct < minutes[points]
        minutes[points[better]] = direct[better]
        nearest[points[better]] = j
    if cutoff is not None:
        beyond = minutes > cutoff
        minutes[beyond] = np.inf
        nearest[beyond] = -1
    nearest[~np.isfinite(minutes)] = -1
    return minutes, nearest
