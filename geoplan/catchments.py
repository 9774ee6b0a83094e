"""Walking catchments (isochrones) built from the reached part of the network.

A catchment of ``T`` minutes is every place within a walkable margin ``m`` of a path point
reached within ``T - m / speed`` minutes: partly reached edges count up to the exact point the
time runs out, and every place inside is itself reachable within ``T`` (the margin is walked
straight at the same pace). It is the union of the reached paths buffered by ``m`` — never a
convex hull — so parks, railways and rivers with no path across stay outside, and enclosed
blocks stay holes.

It is drawn the way Valhalla and OpenRouteService draw theirs, on a grid, but exactly at the
grid points: :mod:`geoplan.catchgrid` pairs every grid point once with the edges whose margin it
lies in, and a catchment is then the zero contour of ``max(quickest minutes to a reached path
point within the margin - (T - m / speed), distance beyond the margin of the nearest path /
speed)`` — at most 0 exactly inside — interpolated linearly between grid points (contourpy).
The field only falls as ``T`` grows, so each band contains the smaller.

Without a network, :func:`crowfly_isochrones` draws discs of radius ``speed × T / circuity``,
marked ``method="crow-fly"``; :func:`calibrate_circuity` fits the circuity factor against
OpenRouteService catchments and real network catchments.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import contourpy
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from geoplan import settings
from geoplan.bands import check_bands
from geoplan.catchgrid import OUTER_RING_STEPS, CatchmentGrid, catchment_grid
from geoplan.errors import InputError, NetworkUnavailableError
from geoplan.network import Snap, WalkNetwork, WalkProfile, get_profile, study_area_network
from geoplan.traveltime import BLOCK_BYTES, CROW_FLY, NETWORK, source_node_minutes

if TYPE_CHECKING:
    from geoplan.studyarea import StudyArea

#: Walking speed OpenRouteService's foot-walking profile uses (km/h) for its isochrones.
ORS_SPEED_KMH = 5.0
#: Circuity factors tried when fitting a disc to a catchment.
CIRCUITY_GRID = np.round(np.arange(1.0, 2.505, 0.01), 2)
#: Catchment bands (minutes) reported by the calibration.
CALIBRATION_BANDS = (10, 15, 20)
#: Label of the catchment of a set of venues taken together.
ALL_VENUES = "all"
#: Grid points up to which a network's whole grid is used (and cached): a borough's network, ~20 km square at 10 m.
WHOLE_GRID_CELLS = 4_000_000
#: Side of the square tiles venues are grouped by (m): each tile's catchments are drawn on a grid of
#: its venues' reach only, so the grid's memory follows the venues drawn, not the network's extent.
CATCHMENT_TILE_M = 5_000.0


def _reach_fields(
    grid: CatchmentGrid,
    network: WalkNetwork,
    node_minutes: np.ndarray,
    per_metre: np.ndarray,
    sources: tuple[np.ndarray, np.ndarray, np.ndarray],
    budgets: np.ndarray,
    metres_per_minute: float,
) -> tuple[int, int, np.ndarray, np.ndarray] | None:
    """The two grids each band's field is made of, on the window the reached paths touch.

    ``sources`` are the edges the venues join, how far along them (metres from ``u``) and the
    access minutes. At each grid point, ``quickest`` is the fewest minutes to a reached path point
    within the margin (``-inf`` where there is none) and ``beyond`` the distance beyond the margin
    of the nearest path, in minutes at the profile's pace. A budget's field ``max(quickest -
    budget, beyond)`` is ≤ 0 exactly inside its catchment and varies like the distance beyond the
    margin across the catchment's sides, like time along its paths. Returns the window's first
    grid row and column, ``quickest`` and ``beyond``, or ``None`` when nothing is reached.
    """
    t_u = node_minutes[network.edge_u].astype(np.float32)
    t_v = node_minutes[network.edge_v].astype(np.float32)
    is_reached = np.minimum(t_u, t_v) <= budgets.max()
    is_reached[sources[0]] = True
    reached = np.flatnonzero(is_reached)
    rows, count = grid.rows_of(reached)
    if len(rows) == 0:
        return None
    pace = np.repeat(per_metre[reached], count)
    # minutes are fewest at one end of the stretch within the margin (walked from u or from v)
    minutes = np.minimum(
        np.repeat(t_u[reached], count) + grid.from_u[rows] * pace,
        np.repeat(t_v[reached], count) + grid.to_v[rows] * pace,
    )
    # a venue's own edge is also walked straight from where the venue joins it (to the nearer end
    # of the stretch: exact unless the edge bends back within the margin of the grid point)
    first = np.cumsum(count) - count
    for edge, along, access in zip(*sources, strict=True):
        position = int(np.searchsorted(reached, edge))
        own = slice(first[position], first[position] + count[position])
        lo = grid.from_u[rows[own]]
        hi = grid.edge_length_m[edge] - grid.to_v[rows[own]]
        gap = np.maximum(0.0, np.maximum(lo - along, along - hi))
        minutes[own] = np.minimum(minutes[own], access + gap * per_metre[edge])
    # one grid point beyond the margin all round lets the contours close between grid points
    # (clipped to the grid: a window's grid ends where the edges crossing its border are cut)
    row0, col0 = max(int(grid.edge_row_min[reached].min()) - 1, 0), max(int(grid.edge_col_min[reached].min()) - 1, 0)
    n_rows = min(int(grid.edge_row_max[reached].max()) + 2, grid.beyond_m.shape[0]) - row0
    n_cols = min(int(grid.edge_col_max[reached].max()) + 2, grid.beyond_m.shape[1]) - col0
    quickest = np.full(n_rows * n_cols, np.inf, dtype=np.float32)
    np.minimum.at(quickest, grid.row[rows] * n_cols + grid.col[rows] - (row0 * n_cols + col0), minutes)
    quickest = quickest.reshape(n_rows, n_cols)
    beyond = grid.beyond_m[row0 : row0 + n_rows, col0 : col0 + n_cols] / np.float32(metres_per_minute)
    unreached = np.isinf(quickest)
    # a point within the margin of unreached paths only is outside, however near it lies to them
    beyond[unreached & (beyond <= 0)] = np.float32(grid.margin_m / metres_per_minute)
    quickest[unreached] = -np.inf
    return row0, col0, quickest, beyond


def _contours(
    grid: CatchmentGrid, row0: int, col0: int, quickest: np.ndarray, beyond: np.ndarray, budgets: np.ndarray
) -> np.ndarray:
    """The catchment of each budget, where ``max(quickest - budget, beyond) ≤ 0``: one MultiPolygon (holes kept) each."""
    n_bands = len(budgets)
    # each band's field on its own extent plus one outside point all round, stacked one above
    # the other so one contour pass draws them all
    within = beyond <= 0
    crops = []
    for budget in budgets:
        inside = within & (quickest <= budget)
        rows, cols = np.flatnonzero(inside.any(axis=1)), np.flatnonzero(inside.any(axis=0))
        crops.append((rows[0] - 1, rows[-1] + 2, cols[0] - 1, cols[-1] + 2) if len(rows) else (0, 0, 0, 0))
    heights = np.array([hi - lo for lo, hi, _, _ in crops])
    if heights.sum() == 0:
        return np.array([shapely.MultiPolygon()] * n_bands)
    top = np.cumsum(heights) - heights
    stack = np.ones((heights.sum(), max(hi - lo for _, _, lo, hi in crops)))
    for band, (row_lo, row_hi, col_lo, col_hi) in enumerate(crops):
        window = (slice(row_lo, row_hi), slice(col_lo, col_hi))
        np.maximum(
            quickest[window] - np.float32(budgets[band]),
            beyond[window],
            out=stack[top[band] : top[band] + row_hi - row_lo, : col_hi - col_lo],
        )
    x, y = np.meshgrid(np.arange(stack.shape[1], dtype=float), np.arange(stack.shape[0], dtype=float))
    generator = contourpy.SerialContourGenerator(
        x,
        y,
        stack,
        None,
        corner_mask=False,
        line_type=contourpy.LineType.Separate,
        fill_type=contourpy.FillType.ChunkCombinedOffsetOffset,
        quad_as_tri=False,
        z_interp=contourpy.ZInterp.Linear,
        x_chunk_size=0,
        y_chunk_size=0,
    )
    (points,), (ring_offsets,), (polygon_offsets,) = generator.filled(-np.inf, 0.0)
    ring_offsets, polygon_offsets = ring_offsets.astype(np.int64), polygon_offsets.astype(np.int64)
    band = np.searchsorted(top, points[ring_offsets[polygon_offsets[:-1]], 1], side="right") - 1
    # one contour pass over one chunk meets polygons row by row, so the bands' blocks come in order
    if np.any(np.diff(band) < 0):
        msg = "contourpy returned polygons out of row order; geoplan needs its serial, unchunked pass"
        raise RuntimeError(msg)
    polygon_of_band = np.searchsorted(band, np.arange(n_bands + 1))
    point_of_band = ring_offsets[polygon_offsets[polygon_of_band]]
    xy = np.empty_like(points)
    for b, (row_lo, _, col_lo, _) in enumerate(crops):
        part = slice(point_of_band[b], point_of_band[b + 1])
        xy[part, 0] = grid.x0 + (col0 + col_lo + points[part, 0]) * grid.resolution_m
        xy[part, 1] = grid.y0 + (row0 + row_lo - top[b] + points[part, 1]) * grid.resolution_m
    return shapely.from_ragged_array(
        shapely.GeometryType.MULTIPOLYGON, xy, (ring_offsets, polygon_offsets, polygon_of_band)
    )


def isochrones(
    network: WalkNetwork,
    venues: np.ndarray,
    *,
    venue_ids: list[str] | None = None,
    minutes: Any = (10, 15, 20),
    profile: str | float | WalkProfile = "walk",
    together: bool = False,
    margin_m: float | None = None,
    resolution_m: float | None = None,
    max_snap_m: float | None = None,
) -> gpd.GeoDataFrame:
    """Nested walking catchments around each venue, or around a set of venues taken together.

    Parameters
    ----------
    network
        The walking network.
    venues
        Venue coordinates ``(n, 2)`` in EPSG:27700.
    venue_ids
        Labels (default: positions as strings).
    minutes
        Bands, e.g. ``(10, 15, 20)`` or ``"10,15,20"``.
    profile
        ``walk``, ``buggy``, a speed in km/h or a :class:`WalkProfile`.
    together
        One catchment per band for all venues (the area within ``T`` of the nearest venue).
    margin_m
        Walkable margin around reached paths (default ``settings.catchment_margin_m``).
    resolution_m
        Spacing of the grid the catchment boundary is interpolated on (default
        ``settings.catchment_resolution_m``).
    max_snap_m
        Venues farther than this from any path are left out (flagged in the result's ``too_far``).

    Returns
    -------
    geopandas.GeoDataFrame
        ``venue_id, band, area_m2, method, profile, margin_m, snap_m, too_far, geometry`` (EPSG:27700,
        MultiPolygons); each band's polygon contains the smaller bands' polygons.
    """
    bands = check_bands(minutes)
    pace = get_profile(profile)
    margin = settings.catchment_margin_m if margin_m is None else float(margin_m)
    resolution = settings.catchment_resolution_m if resolution_m is None else float(resolution_m)
    venues = np.asarray(venues, dtype=float).reshape(-1, 2)
    ids = [str(i) for i in (venue_ids if venue_ids is not None else range(len(venues)))]
    snap = network.snap(venues, max_snap_m=max_snap_m)
    budgets = np.asarray(bands) - margin / pace.metres_per_minute
    limit = max(float(budgets.max()), 0.0)
    access = snap.distance_m / pace.metres_per_minute
    # a small network's whole grid is built once and cached; a large one's only around the venues drawn
    minx, miny, maxx, maxy = network.bounds
    whole = (maxx - minx) * (maxy - miny) / resolution**2 <= WHOLE_GRID_CELLS
    # no catchment reaches farther than its band's walk (access leg and margin included) from its venue
    reach = max(bands) * pace.metres_per_minute + margin + (OUTER_RING_STEPS + 2) * resolution

    edge_minutes = network.edge_minutes(pace)

    def draw(grid: CatchmentGrid, node_minutes: np.ndarray, sources: np.ndarray) -> np.ndarray:
        edge_length = grid.edge_length_m
        per_metre = np.divide(edge_minutes, edge_length, out=np.zeros(network.n_edges), where=edge_length > 0).astype(
            np.float32
        )
        joined = sources[~snap.too_far[sources]]
        along = snap.fraction[joined] * edge_length[snap.edge[joined]]
        fields = _reach_fields(
            grid,
            network,
            node_minutes,
            per_metre,
            (snap.edge[joined], along, access[joined]),
            budgets,
            pace.metres_per_minute,
        )
        return np.array([shapely.MultiPolygon()] * len(bands)) if fields is None else _contours(grid, *fields, budgets)

    def window(points: np.ndarray) -> tuple[float, float, float, float]:
        low, high = points.min(axis=0) - reach, points.max(axis=0) + reach
        return float(low[0]), float(low[1]), float(high[0]), float(high[1])

    if together:
        node_minutes, _ = source_node_minutes(network, snap, pace, limit=limit, min_only=True)
        snap_m = float(np.nanmin(snap.distance_m)) if len(ids) else np.nan
        grid = catchment_grid(
            network, margin_m=margin, resolution_m=resolution, window=window(venues) if len(ids) and not whole else None
        )
        polygons = draw(grid, node_minutes, np.arange(len(ids)))
        rows = [
            (ALL_VENUES, band, snap_m, bool(snap.too_far.all()), polygon)
            for band, polygon in zip(bands, polygons, strict=True)
        ]
    else:
        # a large network's venues are drawn tile by tile, each tile's on a grid of their reach only
        tile = np.floor(venues / CATCHMENT_TILE_M).astype(np.int64)
        groups = (
            [np.arange(len(ids))]
            if whole
            else [np.flatnonzero((tile == key).all(axis=1)) for key in np.unique(tile, axis=0)]
        )
        by_venue: dict[int, list[tuple[str, float, float, bool, shapely.Geometry]]] = {}
        per_block = max(1, BLOCK_BYTES // (8 * network.n_nodes))
        for in_tile in groups:
            grid = catchment_grid(
                network, margin_m=margin, resolution_m=resolution, window=None if whole else window(venues[in_tile])
            )
            for block in range(0, len(in_tile), per_block):
                members = in_tile[block : block + per_block]
                node_minutes, _ = source_node_minutes(network, _subset(snap, members), pace, limit=limit)
                for row, j in enumerate(members):
                    polygons = draw(grid, node_minutes[row], np.array([j]))
                    by_venue[int(j)] = [
                        (ids[j], band, float(snap.distance_m[j]), bool(snap.too_far[j]), polygon)
                        for band, polygon in zip(bands, polygons, strict=True)
                    ]
        rows = [row for j in range(len(ids)) for row in by_venue[j]]
    frame = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["venue_id", "band", "snap_m", "too_far", "geometry"]),
        geometry="geometry",
        crs=settings.measure_crs,
    )
    frame["area_m2"] = frame.geometry.area
    frame["method"] = "network"
    frame["profile"] = pace.name
    frame["margin_m"] = margin
    return frame[["venue_id", "band", "area_m2", "method", "profile", "margin_m", "snap_m", "too_far", "geometry"]]


def _subset(snap: Snap, members: np.ndarray) -> Snap:
    return Snap(
        snap.edge[members],
        snap.fraction[members],
        snap.distance_m[members],
        snap.x[members],
        snap.y[members],
        snap.too_far[members],
    )


def crowfly_isochrones(
    venues: np.ndarray,
    *,
    circuity: float,
    venue_ids: list[str] | None = None,
    minutes: Any = (10, 15, 20),
    profile: str | float | WalkProfile = "walk",
    together: bool = False,
) -> gpd.GeoDataFrame:
    """Discs of radius ``speed × T / circuity``: the crow-fly estimate, marked ``method="crow-fly"``."""
    bands = check_bands(minutes)
    pace = get_profile(profile)
    venues = np.asarray(venues, dtype=float).reshape(-1, 2)
    ids = [str(i) for i in (venue_ids if venue_ids is not None else range(len(venues)))]
    points = shapely.points(venues)
    rows = []
    for band in bands:
        discs = shapely.buffer(points, band * pace.metres_per_minute / circuity, quad_segs=16)
        if together:
            rows.append((ALL_VENUES, band, shapely.union_all(discs)))
        else:
            rows.extend((venue_id, band, disc) for venue_id, disc in zip(ids, discs, strict=True))
    frame = gpd.GeoDataFrame(
        pd.DataFrame(rows, columns=["venue_id", "band", "geometry"]), geometry="geometry", crs=settings.measure_crs
    )
    frame = frame.sort_values(["venue_id", "band"], kind="stable").reset_index(drop=True)
    frame["area_m2"] = frame.geometry.area
    frame["method"] = "crow-fly"
    frame["profile"] = pace.name
    frame["margin_m"] = np.nan
    frame["snap_m"] = np.nan
    frame["too_far"] = False
    frame["circuity"] = circuity
    return frame[
        ["venue_id", "band", "area_m2", "method", "profile", "margin_m", "snap_m", "too_far", "circuity", "geometry"]
    ]


def study_area_catchments(
    area: StudyArea,
    *,
    minutes: Any = (10, 15, 20),
    profile: str | float | WalkProfile = "buggy",
    venues: tuple[list[str], np.ndarray] | None = None,
    network: WalkNetwork | None = None,
    method: str | None = None,
    together: bool = False,
) -> gpd.GeoDataFrame:
    """Catchments of the area's located venues (or ``venues`` as ids and EPSG:27700 coordinates).

    ``method`` as in :func:`geoplan.traveltime.study_area_travel_times` (a
    :class:`~geoplan.workspace.Workspace` passes its decision): ``"network"`` draws on ``network``
    (or the area's), ``"crow-fly"`` draws discs with the area's circuity factor without looking for
    a network, ``None`` uses a network when there is one and crow-fly when the fallback is allowed.
    """
    if method not in (None, NETWORK, CROW_FLY):
        msg = f"method must be {NETWORK!r} or {CROW_FLY!r}, got {method!r}"
        raise InputError(msg, field="method")
    if venues is None:
        located = area.venues[area.venues["located"]]
        ids = located["venue_id"].astype(str).tolist()
        xy = np.column_stack([located.geometry.x.to_numpy(float), located.geometry.y.to_numpy(float)])
    else:
        ids, xy = venues
    if method != CROW_FLY and network is None:
        network = study_area_network(area)
        if network is None and (method == NETWORK or not settings.allow_crowfly_fallback):
            msg = f"no walking network for {area.name}: configure network.osm_file or run 'geoplan data fetch'"
            raise NetworkUnavailableError(msg)
    if method == CROW_FLY or network is None:
        circuity = float(area.catalogue.network.crowfly_circuity)
        return crowfly_isochrones(
            xy, circuity=circuity, venue_ids=ids, minutes=minutes, profile=profile, together=together
        )
    return isochrones(network, xy, venue_ids=ids, minutes=minutes, profile=profile, together=together)


def write_catchments(frame: gpd.GeoDataFrame, path: str | Path) -> Path:
    """Write catchments to a GeoPackage (layer ``catchments``) atomically."""
    from geoplan.fileio import atomic_path

    with atomic_path(path) as tmp:
        frame.to_file(tmp, layer="catchments", driver="GPKG")
    return Path(path)


# --------------------------------------------------------------------------- calibration
def _iou(a: shapely.Geometry | np.ndarray, b: shapely.Geometry | np.ndarray) -> np.ndarray:
    inter = shapely.area(shapely.intersection(a, b))
    union = shapely.area(a) + shapely.area(b) - inter
    return np.divide(inter, union, out=np.zeros_like(np.asarray(inter, dtype=float)), where=union > 0)


def _fit_disc(centre: shapely.Point, polygon: shapely.Geometry, reach_m: float) -> tuple[float, float, float]:
    """Circuity that best fits a disc of radius ``reach_m / k`` to ``polygon``: by area, and by IoU (with that IoU)."""
    k_area = reach_m / np.sqrt(polygon.area / np.pi)
    discs = shapely.buffer(centre, reach_m / CIRCUITY_GRID, quad_segs=16)
    scores = _iou(discs, polygon)
    best = int(np.argmax(scores))
    return float(k_area), float(CIRCUITY_GRID[best]), float(scores[best])


def calibrate_against_ors(
    path: str | Path, *, bands: tuple[int, ...] = CALIBRATION_BANDS, speed_kmh: float = ORS_SPEED_KMH
) -> pd.DataFrame:
    """Fit the circuity factor to OpenRouteService walking catchments (one row per library and band).

    For each catchment of ``T`` minutes, a disc of radius ``speed × T / k`` centred on the library
    is fitted two ways: ``k_area`` gives the disc the polygon's area; ``k_iou`` maximises the
    intersection over union (reported as ``iou``).
    """
    frame = gpd.read_file(path)
    if frame.crs is None:
        msg = "isochrone file has no CRS"
        raise InputError(msg, path=path, field="crs")
    frame = frame[frame["minutes"].isin(bands)].to_crs(settings.measure_crs)
    centres = gpd.GeoSeries(
        gpd.points_from_xy(frame["library_lon"], frame["library_lat"]), crs=settings.display_crs
    ).to_crs(settings.measure_crs)
    rows = []
    for (_, row), centre in zip(frame.iterrows(), centres, strict=True):
        reach = speed_kmh * 1000 / 60 * float(row["minutes"])
        k_area, k_iou, iou = _fit_disc(centre, row.geometry, reach)
        rows.append(
            {"library": row["library"], "minutes": int(row["minutes"]), "k_area": k_area, "k_iou": k_iou, "iou": iou}
        )
    return pd.DataFrame(rows)


def calibrate_against_network(
    network: WalkNetwork,
    *,
    n_centres: int = 40,
    n_pairs: int = 4000,
    bands: tuple[int, ...] = CALIBRATION_BANDS,
    profile: str | float | WalkProfile = "walk",
    seed: int = 0,
) -> tuple[pd.DataFrame, gpd.GeoDataFrame]:
    """Fit the circuity factor on a real network.

    Returns
    -------
    pairs, catchments
        ``pairs``: network / straight-line distance for random node pairs 300 m – 2.5 km apart.
        ``catchments``: the network catchment of random central nodes for each band
        (``minutes`` and ``band``), the centre (``centre_x``, ``centre_y``) and the disc fit
        (``k_area``, ``k_iou``, ``iou``).
    """
    pace = get_profile(profile)
    rng = np.random.default_rng(seed)
    xy = np.column_stack([network.x, network.y])
    centre = np.median(xy, axis=0)
    # central nodes, so catchments are not cut by the edge of the extract
    near_middle = np.flatnonzero(np.hypot(*(xy - centre).T) < np.percentile(np.hypot(*(xy - centre).T), 30))
    starts = rng.choice(near_middle, size=min(n_centres, len(near_middle)), replace=False)
    distance = dijkstra(network.lengths(), directed=False, indices=starts)
    rows = []
    for i, start in enumerate(starts):
        straight = np.hypot(*(xy - xy[start]).T)
        ok = np.flatnonzero((straight > 300) & (straight < 2500) & np.isfinite(distance[i]))
        pick = rng.choice(ok, size=min(n_pairs // len(starts), len(ok)), replace=False)
        rows.append(pd.DataFrame({"origin": start, "straight_m": straight[pick], "network_m": distance[i, pick]}))
    pairs = pd.concat(rows, ignore_index=True)
    pairs["ratio"] = pairs["network_m"] / pairs["straight_m"]
    catchment = isochrones(network, xy[starts], minutes=bands, profile=pace)
    centres = xy[starts[catchment["venue_id"].astype(int).to_numpy()]]
    fits = [
        _fit_disc(shapely.Point(c), polygon, pace.metres_per_minute * band)
        for c, polygon, band in zip(centres, catchment.geometry, catchment["band"], strict=True)
    ]
    catchment[["k_area", "k_iou", "iou"]] = np.asarray(fits)
    catchment["centre_x"], catchment["centre_y"] = centres[:, 0], centres[:, 1]
    return pairs, catchment.rename(columns={"band": "minutes"}).assign(band=catchment["band"])


def fallback_error(
    circuity: float, catchments: gpd.GeoDataFrame, centres: np.ndarray, *, speed_kmh: float
) -> pd.DataFrame:
    """IoU and area ratio of crow-fly discs (``circuity``) against reference catchments, by band.

    ``catchments`` has one row per centre and band (``band`` in minutes, geometry); ``centres``
    gives each row's centre in EPSG:27700.
    """
    reach = speed_kmh * 1000 / 60 * catchments["band"].to_numpy(float) / circuity
    discs = shapely.buffer(shapely.points(centres), reach, quad_segs=16)
    result = pd.DataFrame(
        {
            "band": catchments["band"].to_numpy(),
            "iou": _iou(discs, catchments.geometry.to_numpy()),
            "area_ratio": shapely.area(discs) / catchments.geometry.area.to_numpy(),
        }
    )
    return result.groupby("band").agg(
        iou_median=("iou", "median"),
        iou_p10=("iou", lambda s: s.quantile(0.1)),
        area_ratio_median=("area_ratio", "median"),
        n=("iou", "size"),
    )


def calibrate_circuity(
    *, ors_path: str | Path | None = None, networks: dict[str, WalkNetwork] | None = None, seed: int = 0
) -> dict[str, Any]:
    """Calibrate the crow-fly circuity factor against ORS catchments and real networks.

    Each reference gives one estimate: for the ORS file, the median IoU-best factor over its
    10/15/20-minute catchments; for each network, the median ratio of network to straight-line
    distance over random node pairs 300 m – 2.5 km apart (what decides whether a home is within
    reach). The recommended factor is the median of these estimates. The result also reports,
    at that factor, the fallback's error: IoU and area ratio of the discs against each reference's
    catchments by band, and for each network the share of node pairs on which crow-fly and the
    network agree about being within 10/15/20 minutes.
    """
    fits = []
    estimates: dict[str, float] = {}
    references: list[tuple[str, gpd.GeoDataFrame, np.ndarray, float]] = []
    summary: dict[str, Any] = {}
    all_pairs: dict[str, pd.DataFrame] = {}
    if ors_path is not None:
        ors = calibrate_against_ors(ors_path)
        fits.append(ors.assign(reference="ors"))
        estimates["ors_k_iou_median"] = float(ors["k_iou"].median())
        frame = gpd.read_file(ors_path)
        frame = (
            frame[frame["minutes"].isin(CALIBRATION_BANDS)]
            .to_crs(settings.measure_crs)
            .rename(columns={"minutes": "band"})
        )
        centres = gpd.GeoSeries(
            gpd.points_from_xy(frame["library_lon"], frame["library_lat"]), crs=settings.display_crs
        ).to_crs(settings.measure_crs)
        references.append(("ors", frame, shapely.get_coordinates(centres.to_numpy()), ORS_SPEED_KMH))
    for name, network in (networks or {}).items():
        pairs, catchment = calibrate_against_network(network, seed=seed)
        all_pairs[name] = pairs
        fits.append(pd.DataFrame(catchment[["minutes", "k_area", "k_iou", "iou"]]).assign(reference=name))
        estimates[f"{name}_pair_ratio_median"] = float(pairs["ratio"].median())
        summary[f"{name}_pair_ratio_iqr"] = [round(float(pairs["ratio"].quantile(q)), 3) for q in (0.25, 0.75)]
        centres = catchment[["centre_x", "centre_y"]].to_numpy()
        references.append((name, catchment, centres, get_profile("walk").speed_kmh))
    if not fits:
        msg = "give an ORS isochrone file or at least one network to calibrate against"
        raise InputError(msg, field="ors_path")
    table = pd.concat(fits, ignore_index=True)
    factor = float(np.round(np.median(list(estimates.values())), 2))
    summary["circuity"] = factor
    summary["estimates"] = {key: round(value, 3) for key, value in estimates.items()}
    summary["fits"] = table.groupby(["reference", "minutes"])[["k_area", "k_iou", "iou"]].median().round(3)
    summary["fallback_error"] = {
        name: fallback_error(factor, frame, centres, speed_kmh=speed).round(3)
        for name, frame, centres, speed in references
    }
    reach = get_profile("walk").metres_per_minute
    summary["pair_agreement"] = {
        name: {
            band: round(
                float(((pairs["network_m"] <= reach * band) == (pairs["straight_m"] * factor <= reach * band)).mean()),
                3,
            )
            for band in CALIBRATION_BANDS
        }
        for name, pairs in all_pairs.items()
    }
    return summary
