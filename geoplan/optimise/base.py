"""What the location models share: inputs, validation, the HiGHS call and the coverage report.

A model is built with ``from_cost_matrix`` (minutes demand × site), ``from_geodataframe``
(crow-fly minutes between two point layers in one projected CRS) or ``from_workspace`` (a study
area's children as demand and its located venues as sites, with the workspace's travel times),
then ``solve()`` fills in ``selected``, ``objective``, ``bound``, ``gap``, ``status`` and
``coverage`` and returns the model, as spopt's ``spopt.locate`` classes do.

The number of sites ``k`` always counts the locked-in sites (existing centres that must stay),
as spopt's ``p_facilities`` counts its ``predefined_facilities_arr``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Self

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.optimize import Bounds, LinearConstraint, milp

from geoplan import settings
from geoplan.errors import InputError
from geoplan.solver import status_name

if TYPE_CHECKING:
    import geopandas as gpd

    from geoplan.studyarea import StudyArea
    from geoplan.traveltime import TravelTimeMatrix
    from geoplan.workspace import Workspace

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


@dataclass(frozen=True)
class CoverageSummary:
    """How much demand the chosen sites serve.

    Attributes
    ----------
    covered_weight
        Demand weight served (within ``max_minutes``; for capacitated coverage, within capacity).
    total_weight
        Demand weight of every demand point.
    share
        ``covered_weight / total_weight`` (0 when there is no demand).
    per_demand
        One row per demand point: ``demand_id``, ``weight``, ``facility_id`` (nearest chosen
        site, or for capacitated coverage the site serving most of it; ``None`` if none is
        reachable), ``minutes`` (to that site, ``inf`` if none) and ``covered_weight``.
    """

    covered_weight: float
    total_weight: float
    share: float
    per_demand: pd.DataFrame


class LocationModel:
    """Shared data, validation and solver plumbing of the location models."""

    #: Whether the model needs ``max_minutes`` / ``capacities``.
    needs_max_minutes: ClassVar[bool] = True
    needs_capacities: ClassVar[bool] = False

    def __init__(
        self,
        *,
        cost: np.ndarray,
        weights: np.ndarray,
        k: int,
        max_minutes: float | None,
        facility_ids: list[str],
        demand_ids: list[str],
        locked: np.ndarray,
        capacities: np.ndarray | None,
        name: str,
        candidates: gpd.GeoDataFrame | None = None,
    ) -> None:
        self.cost = cost
        self.weights = weights
        self.k = k
        self.max_minutes = max_minutes
        self.facility_ids = facility_ids
        self.demand_ids = demand_ids
        self.locked = locked
        self.capacities = capacities
        self.name = name
        #: Candidate venues (one row per facility column) when built from a study area.
        self.candidates = candidates
        self.selected: list[str] = []
        self.objective: float = math.nan
        self.bound: float = math.nan
        self.gap: float = math.nan
        self.status: str = "not solved"
        self.coverage: CoverageSummary | None = None
        self.solve_seconds: float = math.nan
        self._dual_bound: float = math.nan
        self._open = np.zeros(len(facility_ids), dtype=bool)
        self._deadline: float | None = None

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_cost_matrix(
        cls,
        cost: np.ndarray,
        *,
        weights: np.ndarray | Sequence[float],
        k: int,
        max_minutes: float | None = None,
        facility_ids: Sequence[str] | None = None,
        demand_ids: Sequence[str] | None = None,
        locked: Iterable[str | int] = (),
        capacities: np.ndarray | Sequence[float] | None = None,
        name: str | None = None,
    ) -> Self:
        """Build a model from a demand × facility matrix of travel minutes.

        Parameters
        ----------
        cost
            Minutes from each demand point (rows) to each candidate site (columns);
            ``np.inf`` where a site is unreachable.
        weights
            Non-negative demand weight of each row (e.g. children aged 0-4).
        k
            Number of sites to choose, locked sites included (1 to the number of columns).
        max_minutes
            Coverage standard: a site covers a demand point within this many minutes (> 0;
            required for coverage models; for p-median it only sets what ``.coverage`` counts
            as covered).
        facility_ids, demand_ids
            Labels of columns and rows (default: their positions as strings).
        locked
            Sites that must stay open, as facility ids (or column positions when
            ``facility_ids`` is not given).
        capacities
            Demand weight each site can serve (capacitated coverage only; ≥ 0).
        name
            Label of the model.
        """
        matrix = np.asarray(cost, dtype=float)
        if matrix.ndim != _MATRIX_AXES:
            msg = f"cost matrix must be 2-dimensional (demand × facility), got shape {matrix.shape}"
            raise InputError(msg, field="cost")
        n_demand, n_facility = matrix.shape
        if n_facility == 0:
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

        demand_weights = np.asarray(weights, dtype=float).ravel()
        if demand_weights.shape != (n_demand,):
            msg = f"{demand_weights.size} weights for {n_demand} demand rows of the cost matrix"
            raise InputError(msg, field="weights")
        bad = ~np.isfinite(demand_weights) | (demand_weights < 0)
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            msg = f"weights must be finite and non-negative, got {demand_weights[row]}"
            raise InputError(msg, field="weights", row=row)

        fac_ids = _labels(facility_ids, n_facility, "facility_ids")
        dem_ids = _labels(demand_ids, n_demand, "demand_ids")
        if len(set(fac_ids)) != len(fac_ids):
            msg = "facility ids are not unique"
            raise InputError(msg, field="facility_ids")

        locked_idx = _locked_positions(locked, fac_ids, by_position=facility_ids is None)

        if isinstance(k, bool) or int(k) != k:
            msg = f"k must be a whole number, got {k!r}"
            raise InputError(msg, field="k")
        k = int(k)
        if k < 1:
            msg = f"k must be at least 1, got {k}"
            raise InputError(msg, field="k")
        if k < locked_idx.size:
            msg = f"k={k} is fewer than the {locked_idx.size} locked sites"
            raise InputError(msg, field="k")
        if k > n_facility:
            msg = f"k={k} is more than the {n_facility} candidate sites"
            raise InputError(msg, field="k")

        if max_minutes is not None:
            max_minutes = float(max_minutes)
            if not max_minutes > 0:
                msg = f"minutes must be positive, got {max_minutes}"
                raise InputError(msg, field="max_minutes")
        elif cls.needs_max_minutes:
            msg = f"{cls.__name__} needs max_minutes (the coverage standard in minutes)"
            raise InputError(msg, field="max_minutes")

        caps = None
        if capacities is not None:
            caps = np.asarray(capacities, dtype=float).ravel()
            if caps.shape != (n_facility,):
                msg = f"{caps.size} capacities for {n_facility} facility columns"
                raise InputError(msg, field="capacities")
            bad = ~np.isfinite(caps) | (caps < 0)
            if bad.any():
                col = int(np.flatnonzero(bad)[0])
                msg = f"capacity of site {fac_ids[col]!r} must be finite and non-negative, got {caps[col]}"
                raise InputError(msg, field="capacities")
        elif cls.needs_capacities:
            msg = f"{cls.__name__} needs capacities (one per candidate site)"
            raise InputError(msg, field="capacities")

        return cls(
            cost=matrix,
            weights=demand_weights,
            k=k,
            max_minutes=max_minutes,
            facility_ids=fac_ids,
            demand_ids=dem_ids,
            locked=locked_idx,
            capacities=caps,
            name=name or cls.__name__,
        )

    @classmethod
    def from_geodataframe(
        cls,
        demand: gpd.GeoDataFrame,
        facilities: gpd.GeoDataFrame,
        *,
        weights_column: str,
        k: int,
        circuity: float = 1.0,
        profile: str | float = "walk",
        max_minutes: float | None = None,
        demand_id_column: str | None = None,
        facility_id_column: str | None = None,
        locked: Iterable[str | int] = (),
        capacities_column: str | None = None,
        name: str | None = None,
    ) -> Self:
        """Build a model from two point layers, with crow-fly minutes between them.

        Minutes are straight-line distance × ``circuity`` at the walking pace of ``profile``
        (:func:`geoplan.traveltime.crowfly_matrix`); use :meth:`from_workspace` for minutes
        along the street network.

        Parameters
        ----------
        demand, facilities
            Points (polygons are reduced to their centroids) in one projected CRS in metres,
            e.g. EPSG:27700.
        weights_column
            Column of ``demand`` holding each point's weight.
        k
            Number of sites, locked ones included.
        circuity
            Ratio of walking to straight-line distance (≥ 1; 1 = straight line, as spopt's
            euclidean distance). A study area's calibrated factor is
            ``area.catalogue.network.crowfly_circuity``.
        profile
            Walking pace: ``walk``, ``buggy`` or a speed in km/h.
        max_minutes, locked, name
            As for :meth:`from_cost_matrix`.
        demand_id_column, facility_id_column
            Columns labelling the rows (default: the frames' index).
        capacities_column
            Column of ``facilities`` with each site's capacity (capacitated coverage).
        """
        from geoplan.traveltime import crowfly_matrix

        if demand.crs is None or facilities.crs is None:
            which = "demand" if demand.crs is None else "facilities"
            msg = f"{which} layer has no CRS; set one (e.g. {settings.measure_crs}) before building a model"
            raise InputError(msg, field=which)
        if not demand.crs.equals(facilities.crs):
            msg = f"demand is in {demand.crs.to_string()} but facilities are in {facilities.crs.to_string()}; reproject one with .to_crs()"
            raise InputError(msg, field="crs")
        if not demand.crs.is_projected:
            msg = f"layers are in {demand.crs.to_string()} (degrees); reproject both to {settings.measure_crs} to measure minutes"
            raise InputError(msg, field="crs")
        if weights_column not in demand.columns:
            msg = f"demand layer has no column {weights_column!r}"
            raise InputError(msg, field="weights_column")
        for frame, column, field in (
            (demand, demand_id_column, "demand_id_column"),
            (facilities, facility_id_column, "facility_id_column"),
            (facilities, capacities_column, "capacities_column"),
        ):
            if column is not None and column not in frame.columns:
                msg = f"{field.split('_')[0]} layer has no column {column!r}"
                raise InputError(msg, field=field)
        demand_ids = list(demand[demand_id_column] if demand_id_column else demand.index)
        facility_ids = list(facilities[facility_id_column] if facility_id_column else facilities.index)
        matrix = crowfly_matrix(_points_xy(demand), _points_xy(facilities), circuity=circuity, profile=profile)
        weights = pd.to_numeric(demand[weights_column], errors="coerce").to_numpy(dtype=float)
        capacities = (
            None
            if capacities_column is None
            else pd.to_numeric(facilities[capacities_column], errors="coerce").to_numpy(dtype=float)
        )
        return cls.from_cost_matrix(
            matrix.minutes,
            weights=weights,
            k=k,
            max_minutes=max_minutes,
            facility_ids=[str(f) for f in facility_ids],
            demand_ids=[str(d) for d in demand_ids],
            locked=[str(item) for item in locked],
            capacities=capacities,
            name=name,
        )

    @classmethod
    def from_workspace(
        cls,
        workspace: Workspace,
        *,
        k: int,
        minutes: float | None = None,
        candidate_kinds: Iterable[str] = DEFAULT_CANDIDATE_KINDS,
        lock: Iterable[str] = (),
        deprivation_weight: float = 0.0,
        age_column: str = DEFAULT_AGE_COLUMN,
        capacities: Mapping[str, float] | float | None = None,
        travel_times: TravelTimeMatrix | None = None,
        name: str | None = None,
    ) -> Self:
        """Build a model for a study area: children's homes as demand, located venues as sites.

        Parameters
        ----------
        workspace
            The study area with its travel times (:class:`geoplan.workspace.Workspace`).
        k
            Number of sites, locked ones included.
        minutes
            Coverage standard in minutes (``max_minutes`` of :meth:`from_cost_matrix`).
        candidate_kinds
            Venue kinds that may be chosen; locked venues are candidates whatever their kind.
        lock
            Venue ids that must stay open.
        deprivation_weight
            Extra weight for deprived areas (≥ 0): a child counts
            ``1 + deprivation_weight * (10 - idaci_decile) / 9`` times, so a child in the
            most deprived decile counts ``1 + deprivation_weight`` and one in the least
            deprived decile counts once.
        age_column
            Column of ``area.children`` giving the number of children (``children_0_4``,
            ``under_3`` or ``under_2``).
        capacities
            Capacitated coverage only: children each site can serve, as one number for
            every site or a mapping venue id → capacity. Default: the sum of session
            capacities recorded for the venue in ``area.sessions``.
        travel_times
            Minutes from the children to the venues computed elsewhere (matched by id);
            default: ``workspace.travel_times()``.
        name
            Label of the model (default: class name and area name).
        """
        area = workspace.area
        sites = _candidate_sites(area, candidate_kinds, lock)
        matrix = travel_times if travel_times is not None else workspace.travel_times()
        children = area.children
        cost = _align_matrix(matrix, children["origin_id"].astype(str), sites["venue_id"].astype(str))
        model = cls.from_cost_matrix(
            cost,
            weights=_child_weights(children, age_column=age_column, deprivation_weight=deprivation_weight),
            k=k,
            max_minutes=minutes,
            facility_ids=list(sites["venue_id"].astype(str)),
            demand_ids=list(children["origin_id"].astype(str)),
            locked=list(dict.fromkeys(lock)),
            capacities=_site_capacities(capacities, sites["venue_id"], area.sessions) if cls.needs_capacities else None,
            name=name or f"{cls.__name__} ({area.name})",
        )
        model.candidates = sites.reset_index(drop=True)
        return model

    # ------------------------------------------------------------------ solving
    def solve(self, *, time_limit_s: float | None = None, mip_rel_gap: float = 0.0) -> Self:
        """Solve the model with HiGHS and return it with the results filled in.

        Parameters
        ----------
        time_limit_s
            Seconds (> 0) for the whole solve, preparation included; when they run out the
            best solution found is kept, ``status`` is ``"time_limit"`` and ``gap`` tells how
            far from proven it is.
        mip_rel_gap
            Relative optimality gap (≥ 0) at which the solver may stop (0 = prove optimality).
        """
        if time_limit_s is not None and not time_limit_s > 0:
            msg = f"time_limit_s must be positive, got {time_limit_s}"
            raise InputError(msg, field="time_limit_s")
        if not mip_rel_gap >= 0:
            msg = f"mip_rel_gap must be non-negative, got {mip_rel_gap}"
            raise InputError(msg, field="mip_rel_gap")
        started = time.perf_counter()
        self._deadline = None if time_limit_s is None else started + float(time_limit_s)
        self._solve({"disp": False, "mip_rel_gap": float(mip_rel_gap)})
        self.solve_seconds = time.perf_counter() - started
        self.selected = [self.facility_ids[j] for j in np.flatnonzero(self._open)]
        self.coverage = self._coverage()
        return self

    def _solve(self, options: dict[str, object]) -> None:
        raise NotImplementedError

    def _seconds_left(self) -> float | None:
        """Seconds until the deadline of the running solve (``None`` without a time limit)."""
        return None if self._deadline is None else max(self._deadline - time.perf_counter(), 0.0)

    def _with_time_left(self, options: dict[str, object]) -> dict[str, object]:
        left = self._seconds_left()
        return options if left is None else options | {"time_limit": left}

    def _run_milp(
        self,
        c: np.ndarray,
        rows: sparse.sparray,
        lower: np.ndarray,
        upper: np.ndarray,
        *,
        n_binary: int,
        options: dict[str, object],
        upper_bounds: np.ndarray | None = None,
    ) -> np.ndarray:
        """Solve ``min c·v`` with the first ``n_binary`` variables (the sites) binary.

        Adds ``sum(sites) == k`` and fixes the locked sites open; returns the variable values.
        """
        n_var = c.size
        site_row = sparse.csr_array(
            (np.ones(n_binary), (np.zeros(n_binary, dtype=int), np.arange(n_binary))), shape=(1, n_var)
        )
        matrix = sparse.vstack([rows, site_row], format="csr")
        lb = np.zeros(n_var)
        lb[self.locked] = 1.0
        ub = np.ones(n_var) if upper_bounds is None else upper_bounds
        integrality = np.zeros(n_var)
        integrality[:n_binary] = 1
        result = milp(
            c,
            constraints=LinearConstraint(matrix, np.append(lower, self.k), np.append(upper, self.k)),
            bounds=Bounds(lb, ub),
            integrality=integrality,
            options=self._with_time_left(options),
        )
        self.status = status_name(result.status)
        if result.x is None:
            if self.status == "infeasible":
                msg = f"{self.name}: no choice of k={self.k} sites serves every demand point that can reach a site; raise k or the travel-time cutoff"
                raise InputError(msg, field="k")
            msg = f"{self.name}: HiGHS found no solution ({result.message.strip()}); raise time_limit_s"
            raise InputError(msg, field="time_limit_s")
        self.gap = float(getattr(result, "mip_gap", 0.0) or 0.0)
        dual_bound = getattr(result, "mip_dual_bound", None)
        self._dual_bound = float(result.fun if dual_bound is None else dual_bound)
        self._open = np.round(result.x[:n_binary]).astype(bool)
        return result.x

    # ------------------------------------------------------------------ reporting
    def _nearest_open(self) -> tuple[np.ndarray, np.ndarray]:
        """Nearest open site of every demand point (column index, minutes; -1/inf if none)."""
        cols = np.flatnonzero(self._open)
        sub = self.cost[:, cols]
        best = np.argmin(sub, axis=1)
        minutes = sub[np.arange(sub.shape[0]), best]
        facility = np.where(np.isfinite(minutes), cols[best], -1)
        return facility, minutes

    def _coverage(self) -> CoverageSummary:
        facility, minutes = self._nearest_open()
        covered = self._covered_weights(facility, minutes)
        return coverage_summary(self, facility, minutes, covered)

    def _covered_weights(self, facility: np.ndarray, minutes: np.ndarray) -> np.ndarray:
        limit = np.inf if self.max_minutes is None else self.max_minutes
        return np.where(np.isfinite(minutes) & (minutes <= limit), self.weights, 0.0)

    def _served_by_site(self) -> pd.Series:
        return self.coverage.per_demand.groupby("facility_id")["covered_weight"].sum()

    def to_dict(self) -> dict[str, object]:
        """Results as plain data: chosen sites with the weight each serves, objective and gap."""
        if self.coverage is None:
            msg = f"{self.name} has not been solved; call .solve() first"
            raise InputError(msg)
        served = self._served_by_site()
        info = self.candidates.set_index("venue_id") if self.candidates is not None else None
        locked = {self.facility_ids[j] for j in self.locked}
        sites = []
        for site in self.selected:
            entry: dict[str, object] = {
                "facility_id": site,
                "locked": site in locked,
                "covered_weight": float(served.get(site, 0.0)),
            }
            if info is not None:
                entry |= {"name": info.at[site, "name"], "kind": info.at[site, "kind"]}
            sites.append(entry)
        return {
            "model": type(self).__name__,
            "name": self.name,
            "k": self.k,
            "max_minutes": self.max_minutes,
            "status": self.status,
            "objective": self.objective,
            "bound": self.bound,
            "gap": self.gap,
            "solve_seconds": self.solve_seconds,
            "covered_weight": self.coverage.covered_weight,
            "total_weight": self.coverage.total_weight,
            "share": self.coverage.share,
            "selected": sites,
        }

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r} k={self.k} status={self.status} objective={self.objective}>"


# ---------------------------------------------------------------------- helpers
def merge_rows(rows: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge identical rows, summing their weights."""
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    return unique, np.bincount(inverse.ravel(), weights=weights, minlength=unique.shape[0])


def coverage_summary(
    model: LocationModel, facility: np.ndarray, minutes: np.ndarray, covered: np.ndarray
) -> CoverageSummary:
    """The :class:`CoverageSummary` of a solved model from each demand point's site, minutes and covered weight."""
    ids = np.array(model.facility_ids, dtype=object)
    per_demand = pd.DataFrame(
        {
            "demand_id": model.demand_ids,
            "weight": model.weights,
            "facility_id": np.where(facility >= 0, ids[np.maximum(facility, 0)], None),
            "minutes": minutes,
            "covered_weight": covered,
        }
    )
    total = float(model.weights.sum())
    covered_weight = float(covered.sum())
    return CoverageSummary(
        covered_weight=covered_weight,
        total_weight=total,
        share=covered_weight / total if total > 0 else 0.0,
        per_demand=per_demand,
    )


def _labels(ids: Sequence[str] | None, n: int, field: str) -> list[str]:
    if ids is None:
        return [str(i) for i in range(n)]
    labels = [str(i) for i in ids]
    if len(labels) != n:
        msg = f"{len(labels)} {field} for {n} cost-matrix {'columns' if field.startswith('facility') else 'rows'}"
        raise InputError(msg, field=field)
    return labels


def _locked_positions(locked: Iterable[str | int], fac_ids: list[str], *, by_position: bool) -> np.ndarray:
    position = {fid: j for j, fid in enumerate(fac_ids)}
    out: list[int] = []
    for item in locked:
        key = str(item)
        if key not in position:
            what = "column position" if by_position else "facility id"
            msg = f"locked site {item!r} is not a candidate {what}"
            raise InputError(msg, field="locked")
        out.append(position[key])
    return np.array(sorted(set(out)), dtype=int)


def _points_xy(frame: gpd.GeoDataFrame) -> np.ndarray:
    geometry = frame.geometry
    if not (geometry.geom_type == "Point").all():
        geometry = geometry.centroid
    return np.column_stack([geometry.x.to_numpy(), geometry.y.to_numpy()])


def _candidate_sites(area: StudyArea, candidate_kinds: Iterable[str], lock: Iterable[str]) -> gpd.GeoDataFrame:
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


def _child_weights(children: pd.DataFrame, *, age_column: str, deprivation_weight: float) -> np.ndarray:
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


def _align_matrix(travel_times: TravelTimeMatrix, origin_ids: pd.Series, site_ids: pd.Series) -> np.ndarray:
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


def _site_capacities(
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
