"""What the location models share: their problem, how they are built, the HiGHS call and the coverage report.

A model is built with ``from_cost_matrix`` (minutes demand × site), ``from_geodataframe``
(crow-fly minutes between two point layers in one projected CRS) or ``from_workspace`` (a study
area's children as demand and its located venues as sites, with the workspace's travel times),
each holding its inputs, checked by :mod:`geoplan.optimise.inputs`, as a :class:`LocationProblem`;
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
from geoplan.optimise.inputs import (
    DEFAULT_AGE_COLUMN,
    DEFAULT_CANDIDATE_KINDS,
    align_matrix,
    candidate_sites,
    checked_capacities,
    checked_cost,
    child_weights,
    coverage_standard,
    finite_non_negative,
    labels,
    locked_positions,
    points_xy,
    site_capacities,
    site_count,
    unique_site_labels,
)
from geoplan.solver import status_name

if TYPE_CHECKING:
    import geopandas as gpd

    from geoplan.traveltime import TravelTimeMatrix
    from geoplan.workspace import Workspace


@dataclass(frozen=True)
class LocationProblem:
    """The checked inputs of a location model (see :meth:`LocationModel.from_cost_matrix`).

    Attributes
    ----------
    cost
        Minutes from each demand point (rows) to each candidate site (columns), ``inf`` where
        unreachable.
    weights
        Demand weight of each row, finite and ≥ 0.
    facility_ids, demand_ids
        Unique labels of the columns; labels of the rows.
    locked
        Sorted column positions of the sites that must stay open.
    k
        Number of sites to choose, locked sites included.
    max_minutes
        Coverage standard in minutes (``None`` for a p-median without one).
    capacities
        Demand weight each site can serve (capacitated coverage), else ``None``.
    """

    cost: np.ndarray
    weights: np.ndarray
    facility_ids: list[str]
    demand_ids: list[str]
    locked: np.ndarray
    k: int
    max_minutes: float | None
    capacities: np.ndarray | None


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
    """Construction, solver plumbing and reporting shared by the location models.

    ``problem`` holds the checked inputs (a :class:`LocationProblem`),
    ``name`` labels the model and ``candidates`` lists the venues behind the columns when the
    model was built from a study area.
    """

    #: Whether the model needs ``max_minutes`` / ``capacities``.
    needs_max_minutes: ClassVar[bool] = True
    needs_capacities: ClassVar[bool] = False

    def __init__(self, problem: LocationProblem, *, name: str, candidates: gpd.GeoDataFrame | None = None) -> None:
        self.problem = problem
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
        self._open = np.zeros(len(problem.facility_ids), dtype=bool)
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
        if max_minutes is None and cls.needs_max_minutes:
            msg = f"{cls.__name__} needs max_minutes (the coverage standard in minutes)"
            raise InputError(msg, field="max_minutes")
        if capacities is None and cls.needs_capacities:
            msg = f"{cls.__name__} needs capacities (one per candidate site)"
            raise InputError(msg, field="capacities")
        matrix = checked_cost(cost)
        n_demand, n_facility = matrix.shape
        site_ids = unique_site_labels(facility_ids, n_facility)
        locked_sites = locked_positions(locked, site_ids, by_position=facility_ids is None)
        problem = LocationProblem(
            cost=matrix,
            weights=finite_non_negative(weights, size=n_demand, field="weights", axis="demand rows of the cost matrix"),
            facility_ids=site_ids,
            demand_ids=labels(demand_ids, n_demand, "demand_ids"),
            locked=locked_sites,
            k=site_count(k, n_locked=locked_sites.size, n_sites=n_facility),
            max_minutes=coverage_standard(max_minutes),
            capacities=checked_capacities(capacities, site_ids),
        )
        return cls(problem, name=name or cls.__name__)

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
        (:func:`geoplan.crowfly.crowfly_matrix`); use :meth:`from_workspace` for minutes
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
        from geoplan.crowfly import crowfly_matrix

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
        matrix = crowfly_matrix(points_xy(demand), points_xy(facilities), circuity=circuity, profile=profile)
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
        sites = candidate_sites(area, candidate_kinds, lock)
        matrix = travel_times if travel_times is not None else workspace.travel_times()
        children = area.children
        cost = align_matrix(matrix, children["origin_id"].astype(str), sites["venue_id"].astype(str))
        model = cls.from_cost_matrix(
            cost,
            weights=child_weights(children, age_column=age_column, deprivation_weight=deprivation_weight),
            k=k,
            max_minutes=minutes,
            facility_ids=list(sites["venue_id"].astype(str)),
            demand_ids=list(children["origin_id"].astype(str)),
            locked=list(dict.fromkeys(lock)),
            capacities=site_capacities(capacities, sites["venue_id"], area.sessions) if cls.needs_capacities else None,
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
        self.selected = [self.problem.facility_ids[j] for j in np.flatnonzero(self._open)]
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
        problem = self.problem
        n_var = c.size
        site_row = sparse.csr_array(
            (np.ones(n_binary), (np.zeros(n_binary, dtype=int), np.arange(n_binary))), shape=(1, n_var)
        )
        matrix = sparse.vstack([rows, site_row], format="csr")
        lb = np.zeros(n_var)
        lb[problem.locked] = 1.0
        ub = np.ones(n_var) if upper_bounds is None else upper_bounds
        integrality = np.zeros(n_var)
        integrality[:n_binary] = 1
        result = milp(
            c,
            constraints=LinearConstraint(matrix, np.append(lower, problem.k), np.append(upper, problem.k)),
            bounds=Bounds(lb, ub),
            integrality=integrality,
            options=self._with_time_left(options),
        )
        self.status = status_name(result.status)
        if result.x is None:
            if self.status == "infeasible":
                msg = f"{self.name}: no choice of k={problem.k} sites serves every demand point that can reach a site; raise k or the travel-time cutoff"
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
        sub = self.problem.cost[:, cols]
        best = np.argmin(sub, axis=1)
        minutes = sub[np.arange(sub.shape[0]), best]
        facility = np.where(np.isfinite(minutes), cols[best], -1)
        return facility, minutes

    def _coverage(self) -> CoverageSummary:
        facility, minutes = self._nearest_open()
        covered = self._covered_weights(facility, minutes)
        return coverage_summary(self, facility, minutes, covered)

    def _covered_weights(self, facility: np.ndarray, minutes: np.ndarray) -> np.ndarray:
        limit = np.inf if self.problem.max_minutes is None else self.problem.max_minutes
        return np.where(np.isfinite(minutes) & (minutes <= limit), self.problem.weights, 0.0)

    def _served_by_site(self) -> pd.Series:
        return self.coverage.per_demand.groupby("facility_id")["covered_weight"].sum()

    def to_dict(self) -> dict[str, object]:
        """Results as plain data: chosen sites with the weight each serves, objective and gap."""
        if self.coverage is None:
            msg = f"{self.name} has not been solved; call .solve() first"
            raise InputError(msg)
        served = self._served_by_site()
        info = self.candidates.set_index("venue_id") if self.candidates is not None else None
        locked = {self.problem.facility_ids[j] for j in self.problem.locked}
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
            "k": self.problem.k,
            "max_minutes": self.problem.max_minutes,
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
        return (
            f"<{type(self).__name__} {self.name!r} k={self.problem.k} status={self.status} objective={self.objective}>"
        )


# ---------------------------------------------------------------------- helpers
def merge_rows(rows: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Merge identical rows, summing their weights."""
    unique, inverse = np.unique(rows, axis=0, return_inverse=True)
    return unique, np.bincount(inverse.ravel(), weights=weights, minlength=unique.shape[0])


def coverage_summary(
    model: LocationModel, facility: np.ndarray, minutes: np.ndarray, covered: np.ndarray
) -> CoverageSummary:
    """The :class:`CoverageSummary` of a solved model from each demand point's site, minutes and covered weight."""
    ids = np.array(model.problem.facility_ids, dtype=object)
    per_demand = pd.DataFrame(
        {
            "demand_id": model.problem.demand_ids,
            "weight": model.problem.weights,
            "facility_id": np.where(facility >= 0, ids[np.maximum(facility, 0)], None),
            "minutes": minutes,
            "covered_weight": covered,
        }
    )
    total = float(model.problem.weights.sum())
    covered_weight = float(covered.sum())
    return CoverageSummary(
        covered_weight=covered_weight,
        total_weight=total,
        share=covered_weight / total if total > 0 else 0.0,
        per_demand=per_demand,
    )
