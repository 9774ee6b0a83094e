"""Walking travel times from origins to venues on a :class:`~geoplan.network.WalkNetwork`.

Points join the network at the nearest point of the nearest edge; the access leg and the part
of the edge up to its ends are walked at the profile's pace. One multi-source Dijkstra
(``scipy.sparse.csgraph``) from the venues, with a cutoff, gives every origin's minutes to
every venue; because walking is symmetric, running it from the venues gives the same answer as
from each home. Without a network, :func:`crowfly_matrix` gives straight-line × circuity
estimates, always marked ``method="crow-fly"``.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.sparse.csgraph import dijkstra

from geoplan import settings
from geoplan.errors import InputError, NetworkUnavailableError
from geoplan.fileio import atomic_path
from geoplan.network import Snap, WalkNetwork, WalkProfile, get_profile, study_area_network

if TYPE_CHECKING:
    from geoplan.studyarea import StudyArea

#: Columns of the nearest-venue table (and of ``geoplan traveltime``'s CSV).
NEAREST_COLUMNS = ["origin_id", "nearest_id", "minutes", "second_id", "second_minutes", "snap_m", "too_far", "method"]

#: Bumped when the matrix computation changes, so cached matrices are recomputed.
MATRIX_VERSION = "tt-1"

# Great Britain's extent in EPSG:27700 and in lon/lat: coordinates outside cannot be English points.
_BNG_MAX_X, _BNG_MAX_Y = 700_000.0, 1_300_000.0
_UK_LAT = (49.0, 61.0)
_UK_LON = (-9.0, 2.5)


@dataclass
class TravelTimeMatrix:
    """Minutes from every origin (rows) to every destination (columns).

    Attributes
    ----------
    origin_ids, destination_ids
        Row and column labels.
    minutes
        Dense ``float`` array; ``np.inf`` where the destination is not reachable within the
        cutoff, or where either point is too far from the network to be snapped.
    method
        ``"network"`` or ``"crow-fly"`` (straight line × circuity: an estimate).
    profile, speed_kmh
        The walking pace.
    cutoff_minutes
        The cutoff used, or ``None``.
    origin_snap_m, destination_snap_m
        Access-leg length of each point (``NaN`` for crow-fly).
    origin_too_far, destination_too_far
        Points farther than the snapping threshold from every walkable edge.
    circuity
        The circuity factor of a crow-fly matrix (``None`` for a network matrix).
    provenance
        Where the network came from and how the matrix was computed.
    """

    origin_ids: list[str]
    destination_ids: list[str]
    minutes: np.ndarray
    method: str
    profile: str
    speed_kmh: float
    cutoff_minutes: float | None = None
    origin_snap_m: np.ndarray | None = None
    destination_snap_m: np.ndarray | None = None
    origin_too_far: np.ndarray | None = None
    destination_too_far: np.ndarray | None = None
    circuity: float | None = None
    provenance: dict[str, Any] = field(default_factory=dict)

    def reachable(self, cutoff: float | None = None) -> np.ndarray:
        """Boolean origin × destination mask of pairs within ``cutoff`` minutes (default: the matrix's cutoff)."""
        limit = np.inf if cutoff is None else cutoff
        return np.isfinite(self.minutes) & (self.minutes <= limit)

    def sparse(self, cutoff: float | None = None) -> sparse.csr_array:
        """Origin × destination CSR of minutes for the pairs within ``cutoff``.

        A stored entry means "reachable"; a reachable pair 0 minutes apart is stored as an
        explicit zero (test reachability with the sparsity structure, not the value).
        """
        rows, cols = np.nonzero(self.reachable(cutoff))
        return sparse.csr_array((self.minutes[rows, cols], (rows, cols)), shape=self.minutes.shape)

    def nearest(self) -> pd.DataFrame:
        """For every origin: nearest and second-nearest destination and minutes (``NaN``/``None`` when unreachable)."""
        n_origins, n_destinations = self.minutes.shape
        frame = pd.DataFrame({"origin_id": self.origin_ids})
        ids = np.asarray(self.destination_ids, dtype=object)
        # stable sort: ties go to the destination listed first
        order = np.argsort(self.minutes, axis=1, kind="stable")[:, :2]
        for rank, (id_column, minutes_column) in enumerate([("nearest_id", "minutes"), ("second_id", "second_minutes")]):
            if n_destinations <= rank:
                frame[id_column] = None
                frame[minutes_column] = np.nan
                continue
            value = self.minutes[np.arange(n_origins), order[:, rank]]
            finite = np.isfinite(value)
            frame[id_column] = np.where(finite, ids[order[:, rank]], None)
            frame[minutes_column] = np.where(finite, value, np.nan)
        frame["snap_m"] = self.origin_snap_m if self.origin_snap_m is not None else np.nan
        frame["too_far"] = self.origin_too_far if self.origin_too_far is not None else False
        frame["method"] = self.method
        return frame[NEAREST_COLUMNS]

    def save(self, path: str | Path) -> Path:
        """Write the matrix to ``path`` (``.npz``) atomically."""
        meta = {
            "method": self.method,
            "profile": self.profile,
            "speed_kmh": self.speed_kmh,
            "cutoff_minutes": self.cutoff_minutes,
            "circuity": self.circuity,
            "provenance": self.provenance,
        }
        arrays: dict[str, np.ndarray] = {
            "origin_ids": np.asarray(self.origin_ids, dtype=str),
            "destination_ids": np.asarray(self.destination_ids, dtype=str),
            "minutes": self.minutes,
            "meta": np.asarray(json.dumps(meta, default=str)),
        }
        for name in ("origin_snap_m", "destination_snap_m", "origin_too_far", "destination_too_far"):
            value = getattr(self, name)
            if value is not None:
                arrays[name] = value
        with atomic_path(path) as tmp, tmp.open("wb") as handle:
            np.savez(handle, **arrays)
        return Path(path)

    @classmethod
    def load(cls, path: str | Path) -> TravelTimeMatrix:
        """Read a matrix written by :meth:`save`."""
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            optional = {
                name: data[name] if name in data else None
                for name in ("origin_snap_m", "destination_snap_m", "origin_too_far", "destination_too_far")
            }
            return cls(
                origin_ids=data["origin_ids"].tolist(),
                destination_ids=data["destination_ids"].tolist(),
                minutes=data["minutes"],
                **meta,
                **optional,
            )


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


def check_extent(network: WalkNetwork, xy: np.ndarray, ids: list[str], *, what: str, path: object = None) -> None:
    """Raise if a point lies outside the network's extent (its bounding box plus the snapping threshold)."""
    minx, miny, maxx, maxy = network.bounds
    pad = settings.max_snap_m
    outside = (xy[:, 0] < minx - pad) | (xy[:, 0] > maxx + pad) | (xy[:, 1] < miny - pad) | (xy[:, 1] > maxy + pad)
    if outside.any():
        first = int(np.flatnonzero(outside)[0])
        msg = (
            f"{what} {ids[first]!r} at ({xy[first, 0]:.0f}, {xy[first, 1]:.0f}) EPSG:27700 lies outside the walking "
            f"network's extent ({minx:.0f}, {miny:.0f}, {maxx:.0f}, {maxy:.0f}); {int(outside.sum())} point(s) outside"
        )
        raise InputError(msg, path=path, row=first + 1, field="coordinates")


def _min_csr(rows: np.ndarray, cols: np.ndarray, data: np.ndarray, n: int) -> sparse.csr_array:
    """CSR keeping the smallest of duplicate entries (scipy would add them up)."""
    order = np.lexsort((data, cols, rows))
    rows, cols, data = rows[order], cols[order], data[order]
    first = np.ones(len(rows), dtype=bool)
    first[1:] = (rows[1:] != rows[:-1]) | (cols[1:] != cols[:-1])
    return sparse.csr_array((data[first], (rows[first], cols[first])), shape=(n, n))


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
    joined = np.flatnonzero(~snap.too_far)
    k = len(joined)
    edge = snap.edge[joined]
    fraction = snap.fraction[joined]
    edge_minutes = network.edge_minutes(profile)[edge]
    access = snap.distance_m[joined] / profile.metres_per_minute
    base = network.weights(profile).tocoo()
    virtual = n + np.arange(k)
    rows = np.concatenate([base.row, virtual, virtual])
    cols = np.concatenate([base.col, network.edge_u[edge], network.edge_v[edge]])
    data = np.concatenate([base.data, access + fraction * edge_minutes, access + (1 - fraction) * edge_minutes])
    graph = _min_csr(rows.astype(np.int64), cols.astype(np.int64), data, n + k)
    bound = np.inf if limit is None else limit
    if min_only:
        if k == 0:
            return np.full(n, np.inf), np.full(n, -1)
        times, _, sources = dijkstra(graph, directed=True, indices=virtual, limit=bound, min_only=True, return_predecessors=True)
        sources = np.where(sources[:n] >= n, joined[np.clip(sources[:n] - n, 0, None)], -1)
        return times[:n], sources
    full = np.full((len(snap.edge), n), np.inf)
    if k:
        full[joined] = dijkstra(graph, directed=True, indices=virtual, limit=bound)[:, :n]
    return full, None


def _origin_minutes(
    network: WalkNetwork, node_times: np.ndarray, origins: Snap, destinations: Snap, profile: WalkProfile
) -> np.ndarray:
    """Destination × origin minutes from node times, the origins' own edges and access legs."""
    edge_minutes = network.edge_minutes(profile)
    result = np.full((node_times.shape[0], len(origins.edge)), np.inf)
    joined = np.flatnonzero(~origins.too_far)
    edge = origins.edge[joined]
    fraction = origins.fraction[joined]
    to_u = fraction * edge_minutes[edge]
    to_v = (1 - fraction) * edge_minutes[edge]
    access = origins.distance_m[joined] / profile.metres_per_minute
    via_u = node_times[:, network.edge_u[edge]] + to_u
    via_v = node_times[:, network.edge_v[edge]] + to_v
    result[:, joined] = np.minimum(via_u, via_v) + access
    # an origin on the same edge as a destination can walk straight along it
    for j in np.flatnonzero(~destinations.too_far):
        same = joined[edge == destinations.edge[j]]
        if len(same) == 0:
            continue
        e = destinations.edge[j]
        direct = (
            np.abs(origins.fraction[same] - destinations.fraction[j]) * edge_minutes[e]
            + origins.distance_m[same] / profile.metres_per_minute
            + destinations.distance_m[j] / profile.metres_per_minute
        )
        result[j, same] = np.minimum(result[j, same], direct)
    return result


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
    """Walking minutes from every origin to every destination on ``network``.

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
        Pairs farther apart than this are ``inf``; also bounds the search, which makes it faster.
    max_snap_m
        Snapping threshold (default ``settings.max_snap_m``); farther points are flagged and unreachable.
    check_bounds
        Raise :class:`InputError` for a point outside the network's extent.
    """
    pace = get_profile(profile)
    cutoff = check_cutoff(cutoff_minutes)
    origins = np.asarray(origins, dtype=float).reshape(-1, 2)
    destinations = np.asarray(destinations, dtype=float).reshape(-1, 2)
    origin_ids = [str(i) for i in (origin_ids if origin_ids is not None else range(len(origins)))]
    destination_ids = [str(i) for i in (destination_ids if destination_ids is not None else range(len(destinations)))]
    if check_bounds:
        check_extent(network, origins, origin_ids, what="origin")
        check_extent(network, destinations, destination_ids, what="destination")
    origin_snap = network.snap(origins, max_snap_m=max_snap_m)
    destination_snap = network.snap(destinations, max_snap_m=max_snap_m)
    node_times, _ = source_node_minutes(network, destination_snap, pace, limit=cutoff)
    minutes = _origin_minutes(network, node_times, origin_snap, destination_snap, pace).T
    if cutoff is not None:
        minutes[minutes > cutoff] = np.inf
    return TravelTimeMatrix(
        origin_ids=origin_ids,
        destination_ids=destination_ids,
        minutes=np.ascontiguousarray(minutes),
        method="network",
        profile=pace.name,
        speed_kmh=pace.speed_kmh,
        cutoff_minutes=cutoff,
        origin_snap_m=origin_snap.distance_m,
        destination_snap_m=destination_snap.distance_m,
        origin_too_far=origin_snap.too_far,
        destination_too_far=destination_snap.too_far,
        provenance={k: network.provenance.get(k) for k in ("source", "source_sha256", "osm_date", "version")},
    )


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

    Cheaper than :func:`travel_time_matrix` when only the nearest is wanted (index ``-1`` and
    ``inf`` minutes where none is reachable within the cutoff).
    """
    pace = get_profile(profile)
    cutoff = check_cutoff(cutoff_minutes)
    origin_snap = network.snap(np.asarray(origins, dtype=float), max_snap_m=max_snap_m)
    destination_snap = network.snap(np.asarray(destinations, dtype=float), max_snap_m=max_snap_m)
    node_times, sources = source_node_minutes(network, destination_snap, pace, limit=cutoff, min_only=True)
    edge_minutes = network.edge_minutes(pace)
    minutes = np.full(len(origin_snap.edge), np.inf)
    nearest = np.full(len(origin_snap.edge), -1)
    joined = np.flatnonzero(~origin_snap.too_far)
    edge = origin_snap.edge[joined]
    fraction = origin_snap.fraction[joined]
    via_u = node_times[network.edge_u[edge]] + fraction * edge_minutes[edge]
    via_v = node_times[network.edge_v[edge]] + (1 - fraction) * edge_minutes[edge]
    access = origin_snap.distance_m[joined] / pace.metres_per_minute
    minutes[joined] = np.minimum(via_u, via_v) + access
    nearest[joined] = np.where(via_u <= via_v, sources[network.edge_u[edge]], sources[network.edge_v[edge]])
    for j in np.flatnonzero(~destination_snap.too_far):
        same = joined[edge == destination_snap.edge[j]]
        direct = (
            np.abs(origin_snap.fraction[same] - destination_snap.fraction[j]) * edge_minutes[destination_snap.edge[j]]
            + (origin_snap.distance_m[same] + destination_snap.distance_m[j]) / pace.metres_per_minute
        )
        better = direct < minutes[same]
        minutes[same[better]] = direct[better]
        nearest[same[better]] = j
    if cutoff is not None:
        beyond = minutes > cutoff
        minutes[beyond] = np.inf
        nearest[beyond] = -1
    nearest[~np.isfinite(minutes)] = -1
    return minutes, nearest


def crowfly_matrix(
    origins: np.ndarray,
    destinations: np.ndarray,
    *,
    circuity: float,
    origin_ids: list[str] | None = None,
    destination_ids: list[str] | None = None,
    profile: str | float | WalkProfile = "walk",
    cutoff_minutes: float | None = None,
) -> TravelTimeMatrix:
    """Straight-line distance × ``circuity`` at the profile's pace: an estimate, marked ``crow-fly``."""
    pace = get_profile(profile)
    cutoff = check_cutoff(cutoff_minutes)
    if not np.isfinite(circuity) or circuity < 1:
        msg = f"circuity factor must be at least 1, got {circuity!r}"
        raise InputError(msg, field="crowfly_circuity")
    origins = np.asarray(origins, dtype=float).reshape(-1, 2)
    destinations = np.asarray(destinations, dtype=float).reshape(-1, 2)
    distance = np.hypot(origins[:, None, 0] - destinations[None, :, 0], origins[:, None, 1] - destinations[None, :, 1])
    minutes = distance * circuity / pace.metres_per_minute
    if cutoff is not None:
        minutes[minutes > cutoff] = np.inf
    return TravelTimeMatrix(
        origin_ids=[str(i) for i in (origin_ids if origin_ids is not None else range(len(origins)))],
        destination_ids=[str(i) for i in (destination_ids if destination_ids is not None else range(len(destinations)))],
        minutes=minutes,
        method="crow-fly",
        profile=pace.name,
        speed_kmh=pace.speed_kmh,
        cutoff_minutes=cutoff,
        origin_snap_m=np.full(len(origins), np.nan),
        destination_snap_m=np.full(len(destinations), np.nan),
        origin_too_far=np.zeros(len(origins), dtype=bool),
        destination_too_far=np.zeros(len(destinations), dtype=bool),
        circuity=float(circuity),
        provenance={"circuity": float(circuity)},
    )


# --------------------------------------------------------------------------- points from CSV
def read_points_csv(path: str | Path, *, what: str = "points") -> tuple[list[str], np.ndarray]:
    """Read ``id,lon,lat`` (WGS84) or ``id,x,y`` (EPSG:27700) points; return ids and EPSG:27700 coordinates.

    Raises
    ------
    InputError
        Missing file or columns, empty file, non-numeric or duplicate values, coordinates outside
        Great Britain, or latitude and longitude that look swapped.
    """
    path = Path(path)
    if not path.is_file():
        msg = f"{what} file not found"
        raise InputError(msg, path=path)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        msg = f"{what} file is empty"
        raise InputError(msg, path=path) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        msg = f"not a readable CSV ({str(exc).splitlines()[0]})"
        raise InputError(msg, path=path) from None
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    if "id" not in frame.columns:
        msg = f"missing column 'id'; expected id,lon,lat or id,x,y (found {','.join(frame.columns)})"
        raise InputError(msg, path=path, field="id")
    if {"lon", "lat"} <= set(frame.columns):
        columns, geographic = ("lon", "lat"), True
    elif {"x", "y"} <= set(frame.columns):
        columns, geographic = ("x", "y"), False
    else:
        msg = f"missing coordinate columns; expected id,lon,lat or id,x,y (found {','.join(frame.columns)})"
        raise InputError(msg, path=path, field="lon/lat")
    if frame.empty:
        msg = f"{what} file has no rows"
        raise InputError(msg, path=path)
    values = np.empty((len(frame), 2))
    for k, column in enumerate(columns):
        numbers = pd.to_numeric(frame[column].str.strip(), errors="coerce")
        bad = numbers.isna() | ~np.isfinite(numbers)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            msg = f"not a number: {frame[column].iloc[row]!r}"
            raise InputError(msg, path=path, row=row + 1, field=column)
        values[:, k] = numbers.to_numpy(float)
    ids = frame["id"].str.strip()
    if (ids == "").any():
        row = int(np.flatnonzero((ids == "").to_numpy())[0])
        raise InputError("empty id", path=path, row=row + 1, field="id")
    duplicated = ids.duplicated()
    if duplicated.any():
        row = int(np.flatnonzero(duplicated.to_numpy())[0])
        msg = f"duplicate id {ids.iloc[row]!r}"
        raise InputError(msg, path=path, row=row + 1, field="id")
    if geographic:
        return ids.tolist(), _lonlat_to_bng(values, path)
    outside = (values[:, 0] < 0) | (values[:, 0] > _BNG_MAX_X) | (values[:, 1] < 0) | (values[:, 1] > _BNG_MAX_Y)
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        msg = f"({values[row, 0]:g}, {values[row, 1]:g}) is not an EPSG:27700 coordinate in Great Britain (metres expected)"
        raise InputError(msg, path=path, row=row + 1, field="x")
    return ids.tolist(), values


def _lonlat_to_bng(values: np.ndarray, path: Path) -> np.ndarray:
    from pyproj import Transformer

    lon, lat = values[:, 0], values[:, 1]
    swapped = (lon >= _UK_LAT[0]) & (lon <= _UK_LAT[1]) & (lat >= _UK_LON[0]) & (lat <= _UK_LON[1])
    if swapped.any():
        row = int(np.flatnonzero(swapped)[0])
        msg = f"lon {lon[row]:g} and lat {lat[row]:g} look swapped (British latitudes are 49-61)"
        raise InputError(msg, path=path, row=row + 1, field="lat")
    outside = (lat < _UK_LAT[0]) | (lat > _UK_LAT[1]) | (lon < _UK_LON[0]) | (lon > _UK_LON[1])
    if outside.any():
        row = int(np.flatnonzero(outside)[0])
        msg = f"lon {lon[row]:g}, lat {lat[row]:g} is not in Great Britain (use id,x,y for EPSG:27700 metres)"
        raise InputError(msg, path=path, row=row + 1, field="lon")
    transformer = Transformer.from_crs(settings.display_crs, settings.measure_crs, always_xy=True)
    x, y = transformer.transform(lon, lat)
    return np.column_stack([x, y])


# --------------------------------------------------------------------------- study areas
def _xy(frame: Any) -> np.ndarray:
    return np.column_stack([frame.geometry.x.to_numpy(float), frame.geometry.y.to_numpy(float)])


def _matrix_key(inputs: dict[str, Any], arrays: list[np.ndarray]) -> str:
    digest = hashlib.sha256(json.dumps(inputs, sort_keys=True, default=str).encode())
    for array in arrays:
        digest.update(np.ascontiguousarray(array).tobytes())
    return digest.hexdigest()


def study_area_travel_times(
    area: StudyArea,
    *,
    profile: str | float | WalkProfile = "buggy",
    cutoff_minutes: float | None = None,
    network: WalkNetwork | None = None,
    use_cache: bool = True,
) -> TravelTimeMatrix:
    """Minutes from every origin of ``area.children`` to every located venue of ``area.venues``.

    Uses ``network`` if given, else the area's network (configured OSM file or cached Overpass
    network); without one, falls back to crow-fly with the area's calibrated circuity factor
    (``area.catalogue.network.crowfly_circuity``), marked ``method="crow-fly"``. The matrix is
    cached on disk under ``settings.cache_dir / "traveltimes"`` keyed by a hash of its inputs.

    Raises
    ------
    NetworkUnavailableError
        No network and ``settings.allow_crowfly_fallback`` is off.
    """
    pace = get_profile(profile)
    cutoff = check_cutoff(cutoff_minutes)
    network = network if network is not None else study_area_network(area)
    located = area.venues[area.venues["located"]] if "located" in area.venues else area.venues
    origin_ids = area.children["origin_id"].astype(str).tolist()
    venue_ids = located["venue_id"].astype(str).tolist()
    origins, venues = _xy(area.children), _xy(located)
    if network is None and not settings.allow_crowfly_fallback:
        msg = f"no walking network for {area.name}: configure network.osm_file or run 'geoplan data fetch'"
        raise NetworkUnavailableError(msg)
    circuity = float(area.catalogue.network.crowfly_circuity)
    inputs = {
        "version": MATRIX_VERSION,
        "method": "network" if network is not None else "crow-fly",
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
    cache_file = Path(settings.cache_dir) / "traveltimes" / f"{_matrix_key(inputs, [origins, venues])}.npz"
    if use_cache and cache_file.is_file():
        return TravelTimeMatrix.load(cache_file)
    if network is None:
        matrix = crowfly_matrix(
            origins, venues, circuity=circuity, origin_ids=origin_ids, destination_ids=venue_ids, profile=pace, cutoff_minutes=cutoff
        )
        matrix.provenance["crowfly_calibration"] = area.catalogue.network.crowfly_calibration
    else:
        matrix = travel_time_matrix(
            network, origins, venues, origin_ids=origin_ids, destination_ids=venue_ids, profile=pace, cutoff_minutes=cutoff, check_bounds=False
        )
    if use_cache:
        matrix.save(cache_file)
    return matrix


def travel_times_to_points(area: StudyArea, travel_times: TravelTimeMatrix, *, points: Any, ids: list[str]) -> np.ndarray:
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
    pace = WalkProfile(travel_times.profile, travel_times.speed_kmh, settings.steps_extra_minutes.get(travel_times.profile, 0.0))
    if travel_times.method == "crow-fly":
        extra = crowfly_matrix(origins, targets, circuity=float(travel_times.circuity or area.catalogue.network.crowfly_circuity), profile=pace, cutoff_minutes=travel_times.cutoff_minutes)
        return extra.minutes
    network = study_area_network(area)
    if network is None:
        msg = f"the matrix is a network result but no walking network is available for {area.name}"
        raise NetworkUnavailableError(msg)
    extra = travel_time_matrix(
        network, origins, targets, destination_ids=list(ids), profile=pace, cutoff_minutes=travel_times.cutoff_minutes, check_bounds=False
    )
    return extra.minutes
