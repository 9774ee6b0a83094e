"""The sampling grid that walking catchments are drawn on.

A catchment of ``T`` minutes is every place within the walkable margin ``m`` of a path point
reached within ``T - m / speed`` minutes (see :mod:`geoplan.catchments`). Whether a grid point
is in it depends only on, for each edge within ``m`` of it, the stretch of that edge within
``m`` — and because walking time along an edge is the smaller of two straight lines (from
either end), the quickest point of that stretch is one of its two ends. So the catchments of
every venue are drawn from one table built once per network: for each grid point and each edge
within the margin of it, how far the stretch's ends lie from the edge's ``u`` and ``v`` ends;
plus, for every grid point, its distance beyond the margin of the nearest edge, which places
the catchment's sides between grid points.

The grid is aligned to multiples of its resolution in EPSG:27700, so a grid built for a window
(a rectangle around the venues being drawn) holds exactly the points, pairs and distances the
whole-network grid holds there: memory follows what is drawn, not the network's extent. A grid
is memoised on the network (the last window only); the whole network's grid is also cached with
:mod:`geoplan.cache`, keyed by a hash of the network's edges, the margin and the resolution.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import shapely

from geoplan.cache import entry_path, hash_key, load_arrays, save_arrays
from geoplan.errors import InputError
from geoplan.network import WalkNetwork

#: Bumped whenever the grid's layout or meaning changes, so old cache files are not reused.
GRID_VERSION = "catchgrid-2"
_SCALARS = ("x0", "y0", "resolution_m", "margin_m")

#: The distance field reaches this many resolutions beyond the margin: far enough for every
#: neighbour (diagonal ones included) of a point inside the margin.
OUTER_RING_STEPS = 1.5
#: Candidate grid point × segment pairs screened at a time (bounds peak memory to a few hundred MB).
PAIRS_PER_CHUNK = 4_000_000


@dataclass(frozen=True)
class CatchmentGrid:
    """Grid points beside a walking network, paired with the edges whose margin they lie in.

    One row per (edge, grid point) pair with the point within ``margin_m`` of the edge, sorted
    by edge (``offsets[e]:offsets[e + 1]`` are the rows of edge ``e``).

    Attributes
    ----------
    x0, y0
        EPSG:27700 coordinates of grid column 0 and row 0 (multiples of ``resolution_m``).
    resolution_m
        Spacing of the grid points.
    margin_m
        The walkable margin the rows were built for.
    row, col
        Grid point of each pair.
    from_u, to_v
        Metres along the edge from its ``u`` end to the first point within the margin of the
        grid point, and from the last such point to the ``v`` end.
    offsets
        Row ranges of each edge.
    edge_row_min, edge_row_max, edge_col_min, edge_col_max
        Grid rows and columns each edge's pairs span.
    beyond_m
        ``(rows, cols)``: distance from each grid point to the nearest edge minus the margin
        (negative inside the margin; capped ``1.5 × resolution_m`` beyond it).
    edge_length_m
        Length of each edge geometry (the ``u``-to-``v`` scale of ``from_u`` and ``to_v``).
    """

    x0: float
    y0: float
    resolution_m: float
    margin_m: float
    row: np.ndarray
    col: np.ndarray
    from_u: np.ndarray
    to_v: np.ndarray
    offsets: np.ndarray
    edge_row_min: np.ndarray
    edge_row_max: np.ndarray
    edge_col_min: np.ndarray
    edge_col_max: np.ndarray
    beyond_m: np.ndarray
    edge_length_m: np.ndarray

    def rows_of(self, edges: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Row positions of all pairs of ``edges`` (in the order given), and their count per edge."""
        start = self.offsets[edges]
        count = self.offsets[edges + 1] - start
        first = np.cumsum(count) - count
        return np.repeat(start - first, count) + np.arange(count.sum()), count

    @property
    def size_bytes(self) -> int:
        """Memory held by the grid."""
        return sum(value.nbytes for value in vars(self).values() if isinstance(value, np.ndarray))


#: Most cells of one catchment grid (200 MB of float32): a 70 km square at 10 m, or a 35 km square at 5 m.
MAX_GRID_CELLS = 50_000_000


def catchment_grid(
    network: WalkNetwork,
    *,
    margin_m: float,
    resolution_m: float,
    window: tuple[float, float, float, float] | None = None,
    cache: bool = True,
    cache_dir: Path | None = None,
) -> CatchmentGrid:
    """The :class:`CatchmentGrid` of ``network`` for a margin and resolution, over ``window`` or the whole network.

    Parameters
    ----------
    window
        ``(minx, miny, maxx, maxy)`` in EPSG:27700: only grid points inside are kept (their pairs
        and distances are the whole grid's). ``None``: the network's extent plus the margin.
    cache
        Keep the whole network's grid in the ``catchgrids`` cache (root ``cache_dir``, default
        ``settings.cache_dir``); a window's grid is only memoised.

    Raises
    ------
    InputError
        A margin or resolution that is not a positive number, or a resolution coarser than the margin.
    """
    for name, value in (("margin_m", margin_m), ("resolution_m", resolution_m)):
        if not np.isfinite(value) or value <= 0:
            msg = f"{name} must be a positive number of metres, got {value!r}"
            raise InputError(msg, field=name)
    if resolution_m > margin_m:
        msg = f"resolution_m ({resolution_m:g} m) must not exceed the margin ({margin_m:g} m), or paths would fall between grid points"
        raise InputError(msg, field="resolution_m")
    grids = network.__dict__.setdefault("_catchment_grids", {})
    key = (float(margin_m), float(resolution_m), None if window is None else tuple(float(w) for w in window))
    if key in grids:
        return grids[key]
    # a window's grid is drawn once: only the whole network's grid is worth keeping on disk
    path = _cache_file(network, key, cache_dir) if cache and window is None else None
    grid = _load(path) if path is not None else None
    if grid is None:
        grid = _build(network, *key)
        if path is not None:
            arrays = {f.name: getattr(grid, f.name) for f in fields(grid) if f.name not in _SCALARS}
            save_arrays(path, arrays, {"version": GRID_VERSION, **{name: getattr(grid, name) for name in _SCALARS}})
    # one window at a time: a grid per drawn window would grow with everything ever drawn
    for old in [name for name in grids if name != "network_hash"]:
        del grids[old]
    grids[key] = grid
    return grid


def _cache_file(
    network: WalkNetwork, key: tuple[float, float, tuple[float, ...] | None], cache_dir: Path | None
) -> Path:
    # the network's part of the key is hashed once per network, not once per window
    memo = network.__dict__.setdefault("_catchment_grids", {})
    if "network_hash" not in memo:
        memo["network_hash"] = hash_key(network.edge_u, network.edge_v, shapely.get_coordinates(network.edge_geometry))
    return entry_path("catchgrids", hash_key(GRID_VERSION, list(key), memo["network_hash"]), root=cache_dir)


def _load(path: Path) -> CatchmentGrid | None:
    """A cached grid, or ``None`` when missing or not trustworthy (it is then rebuilt and replaced)."""
    entry = load_arrays(path)
    if entry is None:
        return None
    arrays, meta = entry
    if meta.get("version") != GRID_VERSION:
        return None
    return CatchmentGrid(**arrays, **{name: float(meta[name]) for name in _SCALARS})


@dataclass
class _Segments:
    start: np.ndarray
    end: np.ndarray
    edge: np.ndarray
    arc: np.ndarray
    length: np.ndarray


def _segments(network: WalkNetwork, edges: np.ndarray) -> tuple[_Segments, np.ndarray]:
    """Every straight piece of ``edges``, with where it starts along its edge; and every edge's length (0 if not in ``edges``)."""
    coords, local = shapely.get_coordinates(network.edge_geometry[edges], return_index=True)
    within = np.flatnonzero(local[1:] == local[:-1])
    start, end, local = coords[within], coords[within + 1], local[within]
    length = np.hypot(*(end - start).T)
    before = np.cumsum(length) - length
    first = np.searchsorted(local, np.arange(len(edges)))
    arc = before - before[np.minimum(first[local], len(before) - 1)]
    edge_length = np.zeros(network.n_edges)
    edge_length[edges] = np.bincount(local, weights=length, minlength=len(edges))
    return _Segments(start, end, edges[local], arc, length), edge_length


def _build(network: WalkNetwork, margin: float, resolution: float, window: tuple[float, ...] | None) -> CatchmentGrid:
    ring = OUTER_RING_STEPS * resolution
    reach = margin + ring
    edges = (
        np.arange(network.n_edges)
        if window is None
        else network.edges_near(shapely.box(*window).buffer(reach, join_style="mitre"))
    )
    segments, edge_length = _segments(network, edges)
    low = np.minimum(segments.start, segments.end) - reach
    high = np.maximum(segments.start, segments.end) + reach
    if window is None:
        x0, y0 = np.floor(low.min(axis=0) / resolution) * resolution
        n_cols, n_rows = (np.ceil((high.max(axis=0) - (x0, y0)) / resolution)).astype(int) + 1
    else:
        x0, y0 = np.ceil(np.asarray(window[:2]) / resolution) * resolution
        n_cols, n_rows = (np.floor((np.asarray(window[2:]) - (x0, y0)) / resolution)).astype(int) + 1
    if n_cols * n_rows > MAX_GRID_CELLS:
        msg = (
            f"a {resolution:g} m grid over this network needs {n_cols * n_rows:,} cells, more than the "
            f"{MAX_GRID_CELLS:,} geoplan allows; use a coarser resolution"
        )
        raise InputError(msg, field="resolution_m")
    col_lo = np.maximum(np.ceil((low[:, 0] - x0) / resolution).astype(np.int64), 0)
    col_hi = np.minimum(np.floor((high[:, 0] - x0) / resolution).astype(np.int64), n_cols - 1)
    row_lo = np.maximum(np.ceil((low[:, 1] - y0) / resolution).astype(np.int64), 0)
    row_hi = np.minimum(np.floor((high[:, 1] - y0) / resolution).astype(np.int64), n_rows - 1)
    width = np.maximum(col_hi - col_lo + 1, 0)
    count = width * np.maximum(row_hi - row_lo + 1, 0)
    beyond = np.full(n_rows * n_cols, ring, dtype=np.float32)
    parts = []
    ends = (
        np.searchsorted(
            np.cumsum(count), np.arange(PAIRS_PER_CHUNK, max(count.sum(), 1) + PAIRS_PER_CHUNK, PAIRS_PER_CHUNK)
        )
        + 1
    )
    for first_segment, end_segment in zip(np.r_[0, ends[:-1]], ends, strict=True):
        which = np.arange(first_segment, min(end_segment, len(count)))
        n = count[which]
        which = np.repeat(which, n)
        cell = np.arange(n.sum()) - np.repeat(np.cumsum(n) - n, n)
        col = col_lo[which] + cell % width[which]
        row = row_lo[which] + cell // width[which]
        edge, pixel, lo, hi, foot, perpendicular, distance = _screen(
            segments, which, row * n_cols + col, x0 + col * resolution, y0 + row * resolution, reach
        )
        np.minimum.at(beyond, pixel, (distance - margin).astype(np.float32))
        inside = distance <= margin
        parts.append(
            (edge[inside], pixel[inside], _stretch(lo[inside], hi[inside], foot[inside], perpendicular[inside], margin))
        )
    edge = np.concatenate([p[0] for p in parts])
    pixel = np.concatenate([p[1] for p in parts])
    lo, hi = (np.concatenate([p[2][i] for p in parts]) for i in (0, 1))
    # one row per (edge, grid point): the stretch within the margin spans all its segments' stretches
    key = edge * (n_rows * n_cols) + pixel
    order = np.argsort(key, kind="stable")
    key, lo, hi = key[order], lo[order], hi[order]
    first = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    lo, hi, key = np.minimum.reduceat(lo, first), np.maximum.reduceat(hi, first), key[first]
    edge, pixel = key // (n_rows * n_cols), key % (n_rows * n_cols)
    row, col = (pixel // n_cols).astype(np.int32), (pixel % n_cols).astype(np.int32)
    span = {}
    for name, values, reduce, empty in (
        ("row_min", row, np.minimum, n_rows),
        ("row_max", row, np.maximum, 0),
        ("col_min", col, np.minimum, n_cols),
        ("col_max", col, np.maximum, 0),
    ):
        span[name] = np.full(network.n_edges, empty, dtype=np.int32)
        reduce.at(span[name], edge, values)
    return CatchmentGrid(
        x0=float(x0),
        y0=float(y0),
        resolution_m=resolution,
        margin_m=margin,
        row=row,
        col=col,
        from_u=lo.astype(np.float32),
        to_v=(edge_length[edge] - hi).astype(np.float32),
        offsets=np.searchsorted(edge, np.arange(network.n_edges + 1)),
        edge_row_min=span["row_min"],
        edge_row_max=span["row_max"],
        edge_col_min=span["col_min"],
        edge_col_max=span["col_max"],
        beyond_m=beyond.reshape(n_rows, n_cols),
        edge_length_m=edge_length,
    )


def _screen(
    segments: _Segments, which: np.ndarray, pixel: np.ndarray, x: np.ndarray, y: np.ndarray, reach: float
) -> tuple[np.ndarray, ...]:
    """Candidate pairs within ``reach`` of their segment.

    Returns each kept pair's edge, grid point, the segment's extent along the edge (``lo``,
    ``hi``), where the perpendicular from the point meets the segment's line (``foot``, along the
    edge) and how far away (``perpendicular``), and the distance to the segment.
    """
    ax, ay = segments.start[which, 0], segments.start[which, 1]
    dx, dy = segments.end[which, 0] - ax, segments.end[which, 1] - ay
    px, py = x - ax, y - ay
    squared = dx * dx + dy * dy
    foot = (px * dx + py * dy) / np.where(squared > 0, squared, 1.0)
    clipped = np.clip(foot, 0.0, 1.0)
    distance = np.hypot(px - dx * clipped, py - dy * clipped)
    keep = np.flatnonzero(distance <= reach)
    which, foot, distance = which[keep], foot[keep], distance[keep]
    perpendicular = np.hypot(px[keep] - dx[keep] * foot, py[keep] - dy[keep] * foot)
    lo = segments.arc[which]
    length = segments.length[which]
    return segments.edge[which], pixel[keep], lo, lo + length, lo + foot * length, perpendicular, distance


def _stretch(
    lo: np.ndarray, hi: np.ndarray, foot: np.ndarray, perpendicular: np.ndarray, margin: float
) -> tuple[np.ndarray, np.ndarray]:
    """The part of each segment within the margin: a half-chord either side of the perpendicular's foot."""
    half = np.sqrt(np.clip(margin**2 - perpendicular**2, 0.0, None))
    return np.clip(foot - half, lo, hi), np.clip(foot + half, lo, hi)
