"""What a location model is built from: checks of its inputs and the study-area inputs behind them.

The checks turn what a caller gives :meth:`~geoplan.optimise.base.LocationModel.from_cost_matrix`
(a demand × site matrix of minutes, demand weights, site labels, locked sites, the number of
sites, the coverage standard, site capacities) into the fields of a
:class:`~geoplan.optimise.base.LocationProblem`, or raise a one-line :class:`InputError` naming
the field. The rest turn a study area into those inputs: its candidate sites, its children as
weighted demand, and its travel-time matrix lined up with both.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from geoplan import settings
from geoplan.errors import InputError

if TYPE_CHECKING:
    import geopandas as gpd
    from numpy.typing import ArrayLike

    from geoplan.studyarea import StudyArea
    from geoplan.traveltime import TravelTimeMatrix

#: Venue kinds offered as candidate sites when none are named: existing early-years
#: buildings and the community venues the 2021 Bexley model used for sessions.
DEFAULT_CANDIDATE_KINDS: tuple[str, ...] = (
    "childrens_centre",
    "send_hub",
    "early_years_site",
    "library",
    "community_centre",
    "faith_hall",
    "leisure_centre",
)

#: Child-population column used as demand weight by default (children aged 0-4).
DEFAULT_AGE_COLUMN = "children_0_4"

#: IDACI deciles run from 1 (most deprived) to 10 (least deprived).
_LEAST_DEPRIVED_DECILE = 10
_DECILE_SPAN = 9

#: A cost matrix has a demand axis and a facility axis.
_MATRIX_AXES = 2


# ---------------------------------------------------------------------- checks of a cost-matrix problem
def checked_cost(cost: ArrayLike) -> np.ndarray:
    """``cost`` as a float matrix with at least one column, no NaN and no negative minutes."""
    matrix = np.asarray(cost, dtype=float)
    if matrix.ndim != _MATRIX_AXES:
        msg = f"cost matrix must be 2-dimensional (demand × facility), got shape {matrix.shape}"
        raise InputError(msg, field="cost")
    if matrix.shape[1] == 0:
        msg = "candidate set is empty: no facility columns in the cost matrix"
        raise InputError(msg, field="cost")
    if np.isnan(matrix).any():
        row = int(np.argwhere(np.isnan(matrix))[0, 0])
        msg = "cost matrix holds NaN; use np.inf for unreachable pairs"
        raise InputError(msg, field="cost", row=row)
    if (matrix < 0).any():
        row = int(np.argwhere(matrix < 0)[0, 0])
        msg = "cost matrix holds negative minutes"
        raise InputError(msg, field="cost", row=row)
    return matrix


def finite_non_negative(
    values: ArrayLike, *, size: int, field: str, axis: str, subject: Callable[[int], str] | None = None
) -> np.ndarray:
    """``values`` as ``size`` floats (one per ``axis``), each finite and non-negative.

    The first bad value is named by its row, or by ``subject(position)`` when given.
    """
    vector = np.asarray(values, dtype=float).ravel()
    if vector.shape != (size,):
        msg = f"{vector.size} {field} for {size} {axis}"
        raise InputError(msg, field=field)
    bad = np.flatnonzero(~np.isfinite(vector) | (vector < 0))
    if bad.size:
        position = int(bad[0])
        what, row = (field, position) if subject is None else (subject(position), None)
        msg = f"{what} must be finite and non-negative, got {vector[position]}"
        raise InputError(msg, field=field, row=row)
    return vector


def labels(ids: Sequence[str] | None, n: int, field: str) -> list[str]:
    """``ids`` as ``n`` strings (default: the positions), for the rows or columns named by ``field``."""
    if ids is None:
        return [str(i) for i in range(n)]
    out = [str(i) for i in ids]
    if len(out) != n:
        msg = f"{len(out)} {field} for {n} cost-matrix {'columns' if field.startswith('facility') else 'rows'}"
        raise InputError(msg, field=field)
    return out


def unique_site_labels(ids: Sequence[str] | None, n: int) -> list[str]:
    """:func:`labels` of the ``n`` sites, which must differ."""
    out = labels(ids, n, "facility_ids")
    if len(set(out)) != len(out):
        msg = "facility ids are not unique"
        raise InputError(msg, field="facility_ids")
    return out


def locked_positions(locked: Iterable[str | int], facility_ids: list[str], *, by_position: bool) -> np.ndarray:
    """Sorted column positions of the locked sites, named by id (or by position when ``by_position``)."""
    position = {fid: j for j, fid in enumerate(facility_ids)}
    out: list[int] = []
    for item in locked:
        key = str(item)
        if key not in position:
            what = "column position" if by_position else "facility id"
            msg = f"locked site {item!r} is not a candidate {what}"
            raise InputError(msg, field="locked")
        out.append(position[key])
    return np.array(sorted(set(out)), dtype=int)


def site_count(k: int, *, n_locked: int, n_sites: int) -> int:
    """``k`` as a whole number from the number of locked sites (at least 1) to the number of sites."""
    if isinstance(k, bool) or int(k) != k:
        msg = f"k must be a whole number, got {k!r}"
        raise InputError(msg, field="k")
    k = int(k)
    if k < 1:
        msg = f"k must be at least 1, got {k}"
        raise InputError(msg, field="k")
    if k < n_locked:
        msg = f"k={k} is fewer than the {n_locked} locked sites"
        raise InputError(msg, field="k")
    if k > n_sites:
        msg = f"k={k} is more than the {n_sites} candidate sites"
        raise InputError(msg, field="k")
    return k


def coverage_standard(max_minutes: float | None) -> float | None:
    """``max_minutes`` as a positive float (``None`` stays ``None``)."""
    if max_minutes is None:
        return None
    minutes = float(max_minutes)
    if not minutes > 0:
        msg = f"minutes must be positive, got {minutes}"
        raise InputError(msg, field="max_minutes")
    return minutes


def checked_capacities(capacities: ArrayLike | None, facility_ids: list[str]) -> np.ndarray | None:
    """``capacities`` as one finite, non-negative float per site (``None`` stays ``None``)."""
    if capacities is None:
        return None
    return finite_non_negative(
        capacities,
        size=len(facility_ids),
        field="capacities",
        axis="facility columns",
        subject=lambda column: f"capacity of site {facility_ids[column]!r}",
    )


# ---------------------------------------------------------------------- study-area inputs
def points_xy(frame: gpd.GeoDataFrame) -> np.ndarray:
    """Coordinates of a layer's points (the centroids of other shapes), one row per feature."""
    geometry = frame.geometry
    if not (geometry.geom_type == "Point").all():
        geometry = geometry.centroid
    return np.column_stack([geometry.x.to_numpy(), geometry.y.to_numpy()])


def candidate_sites(area: StudyArea, candidate_kinds: Iterable[str], lock: Iterable[str]) -> gpd.GeoDataFrame:
    """Located venues of the candidate kinds, plus the locked venues whatever their kind."""
    children, venues = area.children, area.venues
    for label, frame in (("children", children), ("venues", venues)):
        if frame.crs is None or not frame.crs.equals(settings.measure_crs):
            msg = f"study area {label} must be in {settings.measure_crs}, got {frame.crs}"
            raise InputError(msg, field=label)
    located = venues[venues["located"].astype(bool)].set_index("venue_id", drop=False)
    lock = list(dict.fromkeys(lock))
    known = set(venues["venue_id"])
    for venue_id in lock:
        if venue_id not in known:
            msg = f"locked venue {venue_id!r} is not a venue of {area.name}"
            raise InputError(msg, field="lock")
        if venue_id not in located.index:
            msg = f"locked venue {venue_id!r} has no location"
            raise InputError(msg, field="lock")
    kinds = set(candidate_kinds)
    unknown = kinds - set(venues["kind"])
    if unknown:
        msg = (
            f"no venue of kind {sorted(unknown)[0]!r} in {area.name} (kinds: {', '.join(sorted(set(venues['kind'])))})"
        )
        raise InputError(msg, field="candidate_kinds")
    sites = located[located["kind"].isin(kinds) | located["venue_id"].isin(lock)]
    if sites.empty:
        msg = f"candidate set is empty: no located venue of kinds {sorted(kinds)} in {area.name}"
        raise InputError(msg, field="candidate_kinds")
    return sites


def child_weights(children: pd.DataFrame, *, age_column: str, deprivation_weight: float) -> np.ndarray:
    """Children of each origin, counted ``1 + deprivation_weight * (10 - idaci_decile) / 9`` times."""
    if age_column not in children.columns:
        msg = f"study area children have no column {age_column!r}"
        raise InputError(msg, field="age_column")
    if not deprivation_weight >= 0:
        msg = f"deprivation_weight must be non-negative, got {deprivation_weight}"
        raise InputError(msg, field="deprivation_weight")
    decile = pd.to_numeric(children["idaci_decile"], errors="coerce").to_numpy(dtype=float)
    demand = pd.to_numeric(children[age_column], errors="coerce").to_numpy(dtype=float)
    if deprivation_weight:
        if np.isnan(decile).any():
            row = children["origin_id"].iloc[int(np.flatnonzero(np.isnan(decile))[0])]
            msg = "children origin has no IDACI decile, needed for deprivation_weight"
            raise InputError(msg, field="idaci_decile", row=row)
        demand = demand * (1 + deprivation_weight * (_LEAST_DEPRIVED_DECILE - decile) / _DECILE_SPAN)
    if np.isnan(demand).any():
        row = children["origin_id"].iloc[int(np.flatnonzero(np.isnan(demand))[0])]
        msg = "children origin has no child count"
        raise InputError(msg, field=age_column, row=row)
    return demand


def align_matrix(travel_times: TravelTimeMatrix, origin_ids: pd.Series, site_ids: pd.Series) -> np.ndarray:
    """Reorder a travel-time matrix to the study area's children (rows) and candidate sites."""
    minutes = np.asarray(travel_times.minutes, dtype=float)
    origins = [str(o) for o in travel_times.origin_ids]
    destinations = [str(d) for d in travel_times.destination_ids]
    if minutes.shape != (len(origins), len(destinations)):
        msg = f"travel-time matrix has shape {minutes.shape} for {len(origins)} origins × {len(destinations)} destinations"
        raise InputError(msg, field="minutes")
    row_of = {o: i for i, o in enumerate(origins)}
    col_of = {d: j for j, d in enumerate(destinations)}
    missing_row = next((o for o in origin_ids if o not in row_of), None)
    if missing_row is not None:
        msg = "children origin is not a row of the travel-time matrix (was it built for another study area?)"
        raise InputError(msg, field="origin_ids", row=missing_row)
    missing_col = next((s for s in site_ids if s not in col_of), None)
    if missing_col is not None:
        msg = f"venue {missing_col!r} is not a destination of the travel-time matrix"
        raise InputError(msg, field="destination_ids")
    return minutes[np.ix_([row_of[o] for o in origin_ids], [col_of[s] for s in site_ids])]


def site_capacities(
    capacities: Mapping[str, float] | float | None, site_ids: pd.Series, sessions: pd.DataFrame
) -> np.ndarray:
    """Capacity of each candidate site: given, or summed from the sessions held there."""
    if capacities is None:
        known = sessions.dropna(subset=["capacity"])
        per_venue = known.groupby("venue_id")["capacity"].sum()
        missing = [s for s in site_ids if s not in per_venue.index]
        if missing:
            msg = f"no session capacity recorded for candidate venue {missing[0]!r} ({len(missing)} venues lack one); pass capacities (CLI: --capacity)"
            raise InputError(msg, field="capacity")
        return per_venue.reindex(site_ids).to_numpy(dtype=float)
    if isinstance(capacities, Mapping):
        missing = [s for s in site_ids if s not in capacities]
        if missing:
            msg = f"no capacity given for candidate venue {missing[0]!r}"
            raise InputError(msg, field="capacities")
        return np.array([float(capacities[s]) for s in site_ids])
    return np.full(len(site_ids), float(capacities))
