"""Walking catchments (isochrones) built from the reached part of the network.

A catchment of ``T`` minutes is the set of places within a short walkable margin of the paths
reached from the venue. Edges are taken whole where both ends are reached and cut at the exact
point the time runs out otherwise; the cut is made at ``T - margin / speed`` so that every place
inside the margin is itself reachable within ``T`` (the margin is walked straight at the same
pace). The polygon is the union of the buffered paths — never a convex hull — so parks,
railways and rivers with no path across stay outside, and enclosed blocks stay holes.

Without a network, :func:`crowfly_isochrones` draws discs of radius ``speed × T / circuity``,
marked ``method="crow-fly"``; :func:`calibrate_circuity` fits the circuity factor against
OpenRouteService catchments and real network catchments.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from scipy.sparse.csgraph import dijkstra

from geoplan import settings
from geoplan.errors import InputError
from geoplan.network import Snap, WalkNetwork, WalkProfile, get_profile
from geoplan.traveltime import source_node_minutes

if TYPE_CHECKING:
    from geoplan.studyarea import StudyArea

#: Segments used for a quarter circle when buffering paths (coarse on purpose: it is a 40 m margin).
BUFFER_QUAD_SEGS = 2
#: Tolerance (metres) for dropping path vertices before buffering; well below the margin.
PATH_SIMPLIFY_M = 2.0
#: Walking speed OpenRouteService's foot-walking profile uses (km/h) for its isochrones.
ORS_SPEED_KMH = 5.0
#: Circuity factors tried when fitting a disc to a catchment.
CIRCUITY_GRID = np.round(np.arange(1.0, 2.505, 0.01), 2)
#: Catchment bands (minutes) reported by the calibration.
CALIBRATION_BANDS = (10, 15, 20)
#: Label of the catchment of a set of venues taken together.
ALL_VENUES = "all"
_EPSILON = 1e-9


def check_bands(minutes: Any) -> tuple[float, ...]:
    """Parse and validate bands: ``"10,15,20"`` or a sequence of positive numbers, sorted and unique."""
    if isinstance(minutes, str):
        parts = [p.strip() for p in minutes.split(",") if p.strip()]
    else:
        parts = list(np.atleast_1d(minutes))
    try:
        values = sorted({float(p) for p in parts})
    except (TypeError, ValueError):
        msg = f"minutes must be numbers such as 10,15,20, got {minutes!r}"
        raise InputError(msg, field="minutes") from None
    if not values or values[0] <= 0 or not np.all(np.isfinite(values)):
        msg = f"minutes must be positive numbers such as 10,15,20, got {minutes!r}"
        raise InputError(msg, field="minutes")
    return tuple(values)


@dataclass
class _EdgeCoords:
    """Flat vertex arrays of every edge geometry, to cut many edges at once."""

    coords: np.ndarray
    position: np.ndarray
    base: np.ndarray
    length: np.ndarray


def _edge_coords(network: WalkNetwork) -> _EdgeCoords:
    cached = network.__dict__.get("_edge_coords")
    if cached is not None:
        return cached
    coords, index = shapely.get_coordinates(network.edge_geometry, return_index=True)
    offsets = np.searchsorted(index, np.arange(network.n_edges + 1))
    step = np.hypot(np.diff(coords[:, 0]), np.diff(coords[:, 1]))
    step[index[1:] != index[:-1]] = 0.0
    cumulative = np.concatenate([[0.0], np.cumsum(step)])
    local = cumulative - cumulative[offsets[:-1]][index]
    length = local[offsets[1:] - 1]
    # each edge gets its own stretch of one sorted axis, so one searchsorted finds vertices of any edge
    stride = float(length.max()) + 1.0
    base = np.arange(network.n_edges) * stride
    position = local + base[index]
    result = _EdgeCoords(coords, position, base, length)
    network.__dict__["_edge_coords"] = result
    return result


def _pieces(network: WalkNetwork, edge: np.ndarray, start: np.ndarray, end: np.ndarray) -> np.ndarray:
    """LineStrings of edges ``edge`` between fractions ``start`` and ``end`` (vectorised substring)."""
    keep = end - start > _EPSILON
    edge, start, end = edge[keep], start[keep], end[keep]
    if len(edge) == 0:
        return np.empty(0, dtype=object)
    flat = _edge_coords(network)
    from_m = start * flat.length[edge]
    to_m = end * flat.length[edge]
    lo = np.searchsorted(flat.position, flat.base[edge] + from_m, side="right")
    hi = np.searchsorted(flat.position, flat.base[edge] + to_m, side="left")
    hi = np.maximum(hi, lo)
    first = shapely.get_coordinates(shapely.line_interpolate_point(network.edge_geometry[edge], from_m))
    last = shapely.get_coordinates(shapely.line_interpolate_point(network.edge_geometry[edge], to_m))
    inner = hi - lo
    counts = inner + 2
    piece = np.repeat(np.arange(len(edge)), counts)
    slot = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
    coords = np.empty((counts.sum(), 2))
    is_first = slot == 0
    is_last = slot == np.repeat(counts - 1, counts)
    coords[is_first] = first
    coords[is_last] = last
    middle = ~(is_first | is_last)
    coords[middle] = flat.coords[np.repeat(lo, inner) + (slot[middle] - 1)]
    return shapely.linestrings(coords, indices=piece)


def _reached_lines(
    network: WalkNetwork,
    node_minutes: np.ndarray,
    edge_minutes: np.ndarray,
    budget: float,
    sources: Snap,
    source_minutes: np.ndarray,
) -> np.ndarray:
    """Geometries of every path (whole or cut) reachable within ``budget`` minutes."""
    t_u = node_minutes[network.edge_u]
    t_v = node_minutes[network.edge_v]
    touched = np.flatnonzero((t_u < budget) | (t_v < budget))
    t_u, t_v, weight = t_u[touched], t_v[touched], edge_minutes[touched]
    with np.errstate(divide="ignore", invalid="ignore"):
        reach_u = np.where(weight > 0, np.clip((budget - t_u) / weight, 0, 1), (t_u < budget).astype(float))
        reach_v = np.where(weight > 0, np.clip((budget - t_v) / weight, 0, 1), (t_v < budget).astype(float))
    whole = reach_u + reach_v >= 1
    geometries = [network.edge_geometry[touched[whole]]]
    part = ~whole
    edges = [touched[part & (reach_u > 0)], touched[part & (reach_v > 0)]]
    starts = [np.zeros(len(edges[0])), 1 - reach_v[part & (reach_v > 0)]]
    ends = [reach_u[part & (reach_u > 0)], np.ones(len(edges[1]))]
    # the stretch of a venue's own edge reached directly from where it joins
    joined = np.flatnonzero(~sources.too_far & (source_minutes < budget))
    if len(joined):
        own = sources.edge[joined]
        with np.errstate(divide="ignore", invalid="ignore"):
            reach = np.where(edge_minutes[own] > 0, (budget - source_minutes[joined]) / edge_minutes[own], 1.0)
        edges.append(own)
        starts.append(np.clip(sources.fraction[joined] - reach, 0, 1))
        ends.append(np.clip(sources.fraction[joined] + reach, 0, 1))
    geometries.append(_pieces(network, np.concatenate(edges), np.concatenate(starts), np.concatenate(ends)))
    return np.concatenate(geometries)


def _polygon(lines: np.ndarray, margin_m: float) -> shapely.Geometry:
    """Union of the buffered paths.

    Buffering each merged path and taking a cascaded union is far faster in GEOS than
    buffering one MultiLineString; vertices closer than ``PATH_SIMPLIFY_M`` to the path are dropped first.
    """
    if len(lines) == 0:
        return shapely.Polygon()
    merged = shapely.get_parts(shapely.line_merge(shapely.multilinestrings(lines)))
    simple = shapely.simplify(merged, PATH_SIMPLIFY_M)
    return shapely.union_all(shapely.buffer(simple, margin_m, quad_segs=BUFFER_QUAD_SEGS))


def isochrones(
    network: WalkNetwork,
    venues: np.ndarray,
    *,
    venue_ids: list[str] | None = None,
    minutes: Any = (10, 15, 20),
    profile: str | float | WalkProfile = "walk",
    together: bool = False,
    margin_m: float | None = None,
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
    max_snap_m
        Venues farther than this from any path are left out (flagged in the result's ``too_far``).

    Returns
    -------
    geopandas.GeoDataFrame
        ``venue_id, band, area_m2, method, profile, margin_m, snap_m, too_far, geometry`` (EPSG:27700);
        each band's polygon contains the smaller bands' polygons.
    """
    bands = check_bands(minutes)
    pace = get_profile(profile)
    margin = settings.catchment_margin_m if margin_m is None else float(margin_m)
    if margin <= 0:
        msg = f"catchment margin must be positive, got {margin_m!r}"
        raise InputError(msg, field="margin_m")
    venues = np.asarray(venues, dtype=float).reshape(-1, 2)
    ids = [str(i) for i in (venue_ids if venue_ids is not None else range(len(venues)))]
    snap = network.snap(venues, max_snap_m=max_snap_m)
    edge_minutes = network.edge_minutes(pace)
    access = snap.distance_m / pace.metres_per_minute
    margin_minutes = margin / pace.metres_per_minute
    limit = max(bands) - margin_minutes
    if together:
        node_minutes, _ = source_node_minutes(network, snap, pace, limit=max(limit, 0), min_only=True)
        groups = [(ALL_VENUES, node_minutes, snap, access, float(np.nanmin(snap.distance_m)) if len(ids) else np.nan, bool(snap.too_far.all()))]
    else:
        node_minutes, _ = source_node_minutes(network, snap, pace, limit=max(limit, 0))
        groups = [
            (ids[j], node_minutes[j], _one(snap, j), access[j : j + 1], float(snap.distance_m[j]), bool(snap.too_far[j]))
            for j in range(len(ids))
        ]
    def bands_of(group: tuple) -> list[tuple]:
        venue_id, times, sources, source_minutes, snap_m, too_far = group
        result, previous = [], shapely.Polygon()
        for band in bands:
            budget = band - margin_minutes
            polygon = _polygon(_reached_lines(network, times, edge_minutes, budget, sources, source_minutes), margin)
            # union with the smaller band guards nesting against buffer round-off
            polygon = shapely.union(polygon, previous) if not previous.is_empty else polygon
            result.append((venue_id, band, snap_m, too_far, polygon))
            previous = polygon
        return result

    # GEOS releases the GIL while buffering and unioning, so venues run in parallel threads
    with ThreadPoolExecutor(max_workers=settings.threads) as pool:
        rows = [row for group_rows in pool.map(bands_of, groups) for row in group_rows]
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


def _one(snap: Snap, j: int) -> Snap:
    pick = slice(j, j + 1)
    return Snap(snap.edge[pick], snap.fraction[pick], snap.distance_m[pick], snap.x[pick], snap.y[pick], snap.too_far[pick])


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
    frame = gpd.GeoDataFrame(pd.DataFrame(rows, columns=["venue_id", "band", "geometry"]), geometry="geometry", crs=settings.measure_crs)
    frame = frame.sort_values(["venue_id", "band"], kind="stable").reset_index(drop=True)
    frame["area_m2"] = frame.geometry.area
    frame["method"] = "crow-fly"
    frame["profile"] = pace.name
    frame["margin_m"] = np.nan
    frame["snap_m"] = np.nan
    frame["too_far"] = False
    frame["circuity"] = circuity
    return frame[["venue_id", "band", "area_m2", "method", "profile", "margin_m", "snap_m", "too_far", "circuity", "geometry"]]


def study_area_catchments(
    area: StudyArea,
    *,
    minutes: Any = (10, 15, 20),
    profile: str | float | WalkProfile = "buggy",
    venues: tuple[list[str], np.ndarray] | None = None,
    network: WalkNetwork | None = None,
    together: bool = False,
) -> gpd.GeoDataFrame:
    """Catchments of the area's located venues (or ``venues`` as ids and EPSG:27700 coordinates).

    Uses ``network`` or the area's network; without one, crow-fly discs with the area's circuity factor.
    """
    from geoplan.traveltime import study_area_network

    if venues is None:
        located = area.venues[area.venues["located"]]
        ids = located["venue_id"].astype(str).tolist()
        xy = np.column_stack([located.geometry.x.to_numpy(float), located.geometry.y.to_numpy(float)])
    else:
        ids, xy = venues
    network = network if network is not None else study_area_network(area)
    if network is None:
        if not settings.allow_crowfly_fallback:
            from geoplan.errors import NetworkUnavailableError

            msg = f"no walking network for {area.name}: configure network.osm_file or run 'geoplan data fetch'"
            raise NetworkUnavailableError(msg)
        circuity = float(area.catalogue.network.crowfly_circuity)
        return crowfly_isochrones(xy, circuity=circuity, venue_ids=ids, minutes=minutes, profile=profile, together=together)
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


def calibrate_against_ors(path: str | Path, *, bands: tuple[int, ...] = CALIBRATION_BANDS, speed_kmh: float = ORS_SPEED_KMH) -> pd.DataFrame:
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
    centres = gpd.GeoSeries(gpd.points_from_xy(frame["library_lon"], frame["library_lat"]), crs=settings.display_crs).to_crs(settings.measure_crs)
    rows = []
    for (_, row), centre in zip(frame.iterrows(), centres, strict=True):
        reach = speed_kmh * 1000 / 60 * float(row["minutes"])
        k_area, k_iou, iou = _fit_disc(centre, row.geometry, reach)
        rows.append({"library": row["library"], "minutes": int(row["minutes"]), "k_area": k_area, "k_iou": k_iou, "iou": iou})
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
    fits = [_fit_disc(shapely.Point(c), polygon, pace.metres_per_minute * band) for c, polygon, band in zip(centres, catchment.geometry, catchment["band"], strict=True)]
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
    return result.groupby("band").agg(iou_median=("iou", "median"), iou_p10=("iou", lambda s: s.quantile(0.1)), area_ratio_median=("area_ratio", "median"), n=("iou", "size"))


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
        frame = frame[frame["minutes"].isin(CALIBRATION_BANDS)].to_crs(settings.measure_crs).rename(columns={"minutes": "band"})
        centres = gpd.GeoSeries(gpd.points_from_xy(frame["library_lon"], frame["library_lat"]), crs=settings.display_crs).to_crs(settings.measure_crs)
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
        name: fallback_error(factor, frame, centres, speed_kmh=speed).round(3) for name, frame, centres, speed in references
    }
    reach = get_profile("walk").metres_per_minute
    summary["pair_agreement"] = {
        name: {
            band: round(float(((pairs["network_m"] <= reach * band) == (pairs["straight_m"] * factor <= reach * band)).mean()), 3)
            for band in CALIBRATION_BANDS
        }
        for name, pairs in all_pairs.items()
    }
    return summary
